#!/usr/bin/env bash
# Run every fuzz target for a bounded time, one after another, and print a
# summary. Usage: scripts/fuzz.sh [FUZZTIME] [TARGET-REGEX]
#   FUZZTIME      per target, as go test -fuzztime takes it (default 30s)
#   TARGET-REGEX  only targets whose name matches (default: all)
# FUZZ_PARALLEL sets the number of fuzzing workers (default 1, so that a
# shared machine stays usable). A finding is written by go test under the
# package's testdata/fuzz/<FuzzName>/; fix it and commit the input as a seed.
# A run that fails with no finding (no input written, no panic, no test
# message: a failure of Go's fuzzing engine itself) is run once more.
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
	result=FAIL
	for attempt in 1 2; do
		# -timeout 0: go test's default 10m timeout would kill a 10m fuzz run.
		if go test -timeout 0 -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -parallel "$parallel" "$pkg" >"$log" 2>&1; then
			result=ok
			break
		fi
		# Go's fuzzing engine can fail a run with no finding, e.g. "context
		# deadline exceeded" when -fuzztime expires while a worker is
		# mid-input (golang/go#75804, #51484). A finding always writes its
		# input (and says so), or panics, or carries the test's message: a
		# failure with none of those is run once more, never a finding.
		if ((attempt == 1)) && ! grep -qE 'Failing input written to|panic:|_test\.go:[0-9]+:' "$log"; then
			echo "(a failure of the fuzzing engine, no input written: $(sed -n '/--- FAIL/{n;p;q}' "$log" | sed 's/^ *//'); running $name once more)"
			continue
		fi
		break
	done
	[[ $result == ok ]] || failed=$((failed + 1))
	tail -n 3 "$log"
	if [[ $result == FAIL ]]; then
		# what go test said about the failure: from "--- FAIL" on (the
		# reason, the failing input's file), not only its last lines
		sed -n '/--- FAIL/,$p' "$log" | grep -v '^fuzz: elapsed' | head -40
		grep -E 'panic:' "$log" | head -5
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
