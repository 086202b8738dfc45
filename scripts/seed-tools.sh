#!/usr/bin/env bash
# Builds the genuine tools signet is tested against into DEST (default
# bin/seed-tools), keeping any binary already there:
#
#   proto-registry, nv2, nv2-fixed   the 2021 walkthrough's registry and nv2 before and after
#                                    its port fix: their sources are not on the Go module proxy;
#                                    they are built by ../shared/seed-tools/build.sh where that
#                                    folder exists (SIGNET_SHARED_SEED_TOOLS names another), and
#                                    skipped otherwise (the tests that need them skip, naming
#                                    `make seed-tools`; under CI=true they fail).
#   docker-generate, notation        shizhMSFT/docker-generate v0.1.0 and notaryproject/notation
#                                    v1.3.2, always, from the Go module proxy through a throw-away
#                                    module of our own (`go install x@v` is refused here: it asks
#                                    the proxy for the module's version list).
#
# Usage: scripts/seed-tools.sh [DEST]       (make seed-tools)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEST=${1:-$root/bin/seed-tools}
mkdir -p "$DEST"
DEST=$(cd "$DEST" && pwd)
shared=${SIGNET_SHARED_SEED_TOOLS:-$root/../shared/seed-tools}

DOCKER_GENERATE_VERSION=v0.1.0
NOTATION_VERSION=v1.3.2

# The 2021 tools: only from their source tarballs.
if [ -x "$shared/build.sh" ]; then
	"$shared/build.sh" "$DEST" proto-registry nv2 nv2-fixed
else
	for n in proto-registry nv2 nv2-fixed; do
		if [ -x "$DEST/$n" ]; then
			echo "kept  $DEST/$n"
		else
			echo "skip  $n: $shared is absent (its sources are not on the Go module proxy); the tests that need it will skip"
		fi
	done
fi

# docker-generate and notation: from the module proxy, whatever ../shared holds.
need=()
for n in docker-generate notation; do
	if [ -x "$DEST/$n" ]; then echo "kept  $DEST/$n"; else need+=("$n"); fi
done
if [ ${#need[@]} -gt 0 ]; then
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
	cat >"$work/go.mod" <<MOD
module signet.local/seedtools

go 1.22

require (
	github.com/notaryproject/notation $NOTATION_VERSION
	github.com/shizhMSFT/docker-generate $DOCKER_GENERATE_VERSION
)
MOD
	for n in "${need[@]}"; do
		case $n in
		docker-generate) pkg=github.com/shizhMSFT/docker-generate/cmd/docker-generate ;;
		notation) pkg=github.com/notaryproject/notation/cmd/notation ;;
		esac
		(cd "$work" && CGO_ENABLED=0 GOFLAGS=-mod=mod GOWORK=off go build -trimpath -o "$DEST/$n" "$pkg")
		echo "built $DEST/$n"
	done
fi
