#!/usr/bin/env bash
# Run every fuzz target for a bounded time, one after another, and print a
# summary. Usage: scripts/fuzz.sh [FUZZTIME] [TARGET-REGEX]
#   FUZZTIME      per target, as go test -fuzztime takes it (default 30s)
#   TARGET-REGEX  only targets whose name matches (default: all)
# FUZZ_PARALLEL sets the number of fuzzing workers (default 1, so that a
# shared machine stays usable). A finding is written by go test under the
# package's testdata/fuzz/<FuzzName>/; fix it and commit the input as a seed.
set -uo pipefail
cd "$(dirname "$0")/.."

fuzztime=${1:-30s}
only=${2:-.}
parallel=${FUZZ_PARALLEL:-1}

# package:target, in the order they run (the verifier first).
targets=(
	./pkg/signature/jwt:FuzzVerify
	./pkg/signature/jwt:FuzzParse
	./pkg/registry:FuzzRoutes
	./pkg/registry:FuzzManifestPut
	./pkg/registry:FuzzDecodeSnapshot
	./pkg/discover:FuzzReferrersIndex
	./pkg/discover:FuzzDecodeIndex
	./pkg/artifact:FuzzParse
	./pkg/manifest:FuzzManifest
	./pkg/manifest:FuzzValidDigest
	./pkg/remote:FuzzDecodeLinks
	./pkg/dockerarchive:FuzzOpen
	./pkg/signature/jwt:FuzzStrictJSON
)

summary=()
failed=0
for t in "${targets[@]}"; do
	pkg=${t%%:*}
	name=${t##*:}
	[[ $name =~ $only ]] || continue
	echo "=== $name ($pkg) for $fuzztime"
	start=$(date +%s)
	log=$(mktemp)
	# -timeout 0: go test's default 10m timeout would kill a 10m fuzz run.
	if go test -timeout 0 -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -parallel "$parallel" "$pkg" >"$log" 2>&1; then
		result=ok
	else
		result=FAIL
		failed=$((failed + 1))
	fi
	tail -n 3 "$log"
	if [[ $result == FAIL ]]; then
		grep -E 'Failing input written to|--- FAIL|panic:' "$log" | head -5
	fi
	execs=$(grep -oE 'execs: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2)
	rm -f "$log"
	summary+=("$(printf '%-20s %-24s %-5s %6ss %12s execs' "$name" "$pkg" "$result" "$(($(date +%s) - start))" "${execs:-?}")")
done

echo
echo "fuzz summary (fuzztime $fuzztime each, $parallel worker(s)):"
printf '  %s\n' "${summary[@]}"
if ((failed > 0)); then
	echo "$failed target(s) found a failure" >&2
	exit 1
fi
