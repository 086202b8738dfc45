#!/usr/bin/env bash
# The test suite `make test` runs: go test -race over every package
# (unit tests, the embedded registry's tests, the testscripts against the
# embedded registry), with the OCI-format testscripts and the oras interop
# tests also run against a real distribution registry (v3, no referrers API:
# the tag-fallback path) started here on a loopback port, and the tests against
# the genuine seed tools (bin/seed-tools, `make seed-tools`) given
# SIGNET_SEED_TOOLS; internal/stresstest runs 16 concurrent push-signature
# processes against it too (3 trials).
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS="${TOOLS:-$PWD/bin/tools}"
source scripts/lib.sh

work=$(mktemp -d)
DISTRIBUTION_PID=""
cleanup() {
	local rc=$?
	if [[ -n "$DISTRIBUTION_PID" ]]; then
		kill "$DISTRIBUTION_PID" 2>/dev/null || true
		wait "$DISTRIBUTION_PID" 2>/dev/null || true
	fi
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT

start_distribution "$work/distribution"
echo "distribution $("$TOOLS/registry" --version 2>/dev/null | awk '{print $3}') on $DISTRIBUTION_ADDR"

export SIGNET_TEST_REGISTRY="$DISTRIBUTION_ADDR"
export SIGNET_ORAS_BIN="$TOOLS/oras"
export SIGNET_SEED_TOOLS="${SIGNET_SEED_TOOLS:-$PWD/bin/seed-tools}"
export PATH="$TOOLS:$PATH"
go test -race -count=1 -timeout 30m ./... "$@"
