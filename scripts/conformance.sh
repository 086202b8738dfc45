#!/usr/bin/env bash
# Runs the OCI distribution-spec conformance suite against
# `signet registry serve --memory` with the suite's default settings
# (OCI 1.1, every API including referrers, sha512 data on).
#
# Prints "conformance: N passed, M failed" and exits non-zero if anything
# failed. Results (results.yaml, junit.xml, report.html) go to
# $CONFORMANCE_RESULTS (default: bin/conformance-results).
set -euo pipefail

SUITE_VERSION="${CONFORMANCE_VERSION:-v0.0.0-20260831232431-97274622c111}"
SUITE_MODULE="github.com/opencontainers/distribution-spec/conformance"
repo_root="$(cd "$(dirname "$0")/.." && pwd)"
results="${CONFORMANCE_RESULTS:-$repo_root/bin/conformance-results}"
work="$(mktemp -d)"
server_pid=""

cleanup() {
	if [[ -n "$server_pid" ]]; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

# 1. Build the suite (a main package) from the module proxy in a throw-away module.
mkdir -p "$work/suite"
(
	cd "$work/suite"
	cat >go.mod <<EOM
module signetconformance

go 1.24
EOM
	cat >tools.go <<EOM
//go:build tools

package tools

import _ "$SUITE_MODULE"
EOM
	if ! { GOFLAGS=-mod=mod go get "$SUITE_MODULE@$SUITE_VERSION" &&
		GOFLAGS=-mod=mod go build -o "$work/conformance" "$SUITE_MODULE"; } >"$work/build.log" 2>&1; then
		cat "$work/build.log" >&2
		echo "conformance: could not build the suite" >&2
		exit 1
	fi
)

# 2. Build signet (SIGNET_BIN overrides, e.g. to test a prebuilt binary).
signet="${SIGNET_BIN:-}"
if [[ -z "$signet" ]]; then
	(cd "$repo_root" && go build -o bin/signet ./cmd/signet)
	signet="$repo_root/bin/signet"
fi

# 3. Start the registry on a free port; it prints its URL once ready.
"$signet" registry serve --memory --addr 127.0.0.1:0 >"$work/url" 2>"$work/server.log" &
server_pid=$!
url=""
for _ in $(seq 1 100); do
	url="$(head -n1 "$work/url" 2>/dev/null || true)"
	[[ -n "$url" ]] && break
	if ! kill -0 "$server_pid" 2>/dev/null; then
		echo "conformance: registry failed to start:" >&2
		cat "$work/server.log" >&2
		exit 1
	fi
	sleep 0.1
done
if [[ -z "$url" ]]; then
	echo "conformance: registry did not become ready" >&2
	exit 1
fi

# 4. Run the suite.
mkdir -p "$results"
status=0
(
	cd "$work"
	export OCI_ROOT_URL="$url" \
		OCI_NAMESPACE="conformance/repo1" \
		OCI_CROSSMOUNT_NAMESPACE="conformance/repo2" \
		OCI_TEST_PULL=1 OCI_TEST_PUSH=1 OCI_TEST_CONTENT_DISCOVERY=1 OCI_TEST_CONTENT_MANAGEMENT=1 \
		OCI_RESULTS_DIR="$results"
	"$work/conformance"
) >"$work/out.txt" 2>"$work/err.txt" || status=$?

# The suite writes a tree of "name: Pass|Fail|Skip|Disabled" lines; count the leaves
# from results.yaml-independent output: lines ending in ": Pass"/": Fail".
passed=$(grep -cE ': Pass$' "$work/out.txt" || true)
failed=$(grep -cE ': Fail$' "$work/out.txt" || true)
cp "$work/out.txt" "$results/summary.txt"
if [[ "$failed" -gt 0 || "$status" -ne 0 ]]; then
	grep -E ': Fail$|^ *- ' "$work/out.txt" | head -n 80 >&2 || true
	cat "$work/err.txt" >&2 || true
fi
echo "conformance: $passed passed, $failed failed"
if [[ "$failed" -gt 0 || "$status" -ne 0 ]]; then
	exit 1
fi
