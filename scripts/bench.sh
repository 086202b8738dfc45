#!/usr/bin/env bash
# make bench: signet's benchmarks, side by side with the oras CLI and the
# distribution registry in the same run (docs/performance.md).
#
#   - Go benchmarks: JWT sign/verify per key type beside the bare crypto
#     operation (benchstat), the embedded registry's 256 MiB push/pull and
#     referrers listing at 10,000;
#   - end to end, on the embedded registry and on distribution v3.1.2
#     (bin/tools/registry, no referrers API: the tag fallback): the
#     walkthrough with signet and with oras, discover at 100, 1,000 and
#     10,000 referrers (default and --depth 1, signet and oras), verify at
#     10,000; wall time (median), peak RSS and HTTP request counts;
#   - signet version start-up time and binary size;
#   - registry serve --memory against --root accepting a 300 MiB blob;
#   - 16 concurrent push-signature processes for one subject, 20 trials on
#     each registry kind (docs/reliability.md), and oras attach beside it;
#   - 256 MiB blob push/pull through the same client (oras) against both
#     registries, and the referrers listing time at 100/1,000/10,000.
#
# Prints Markdown; also writes it to $BENCH_OUT (default bin/bench-results.md).
# Bounded: well under 15 minutes on 2 cores. BENCH_QUICK=1 for a smoke run.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TOOLS="${TOOLS:-$ROOT/bin/tools}"
SIGNET="${SIGNET:-$ROOT/bin/signet}"
ORAS="$TOOLS/oras"
OUT="${BENCH_OUT:-$ROOT/bin/bench-results.md}"
source scripts/lib.sh

SIZES=(100 1000 10000)
RUNS=3
JWT_COUNT=6
BLOB_MIB=256
if [[ -n "${BENCH_QUICK:-}" ]]; then
	SIZES=(100 1000)
	RUNS=1
	JWT_COUNT=2
	BLOB_MIB=32
fi

for t in "$SIGNET" "$ORAS" "$TOOLS/registry"; do
	[[ -x "$t" ]] || { echo "missing $t: run 'make build tools'" >&2; exit 1; }
done
if [[ ! -x "$TOOLS/benchstat" ]]; then
	GOBIN="$TOOLS" go install golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da >/dev/null 2>&1 || true
fi

work=$(mktemp -d)
DISTRIBUTION_PID=""
EMBEDDED_PID=""
cleanup() {
	local rc=$?
	for pid in "$DISTRIBUTION_PID" "$EMBEDDED_PID"; do
		if [[ -n "$pid" ]]; then
			kill "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
		fi
	done
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT
go build -o "$work/benchtool" ./internal/benchtool

exec 3>&1
exec > >(tee "$OUT")

now() { date +%s.%N; }

# measure RUNS CMD...: runs CMD RUNS times (output discarded); sets
# MED (median wall seconds), RSS (peak RSS in MiB, the largest run) and
# REQ (HTTP requests of the last run: signet's "debug: N HTTP request(s)"
# or oras's "--> Request #" lines, when the command was given --debug).
measure() {
	local runs=$1 i t0 t1 rss=0 m
	shift
	local times=()
	for ((i = 0; i < runs; i++)); do
		t0=$(now)
		/usr/bin/time -f "%M" -o "$work/rss" "$@" >"$work/out" 2>"$work/err" || { echo "FAILED: $*" >&2; tail -5 "$work/err" >&2; return 1; }
		t1=$(now)
		times+=("$(echo "$t1 - $t0" | bc -l)")
		m=$(tail -1 "$work/rss")
		((m > rss)) && rss=$m
	done
	MED=$(printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
	RSS=$(echo "scale=1; $rss / 1024" | bc -l)
	REQ=$(sed -n 's/^debug: \([0-9]*\) HTTP request(s)$/\1/p' "$work/err" | tail -1)
	if [[ -z "$REQ" ]]; then
		REQ=$(grep -c -- '--> Request #' "$work/err" || true)
	fi
}
fmt() { printf '%.3f' "$1"; }
ratio() { echo "scale=2; $1 / $2" | bc -l | sed 's/^\./0./'; }

echo "# signet benchmarks"
echo
echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD)"
echo "- machine: $(nproc) CPU(s), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo) RAM, $(go version | awk '{print $3}')"
echo "- tools: oras $("$ORAS" version | awk '/^Version/ {print $2}'), distribution $("$TOOLS/registry" --version | awk '{print $3}')"
echo "- timings: median of $RUNS run(s); peak RSS is the largest of the runs (/usr/bin/time %M)"
echo

# --- Go benchmarks -----------------------------------------------------------
echo "## JWT sign and verify beside the bare crypto operation"
echo
go test -run '^$' -bench . -benchtime 300x -count "$JWT_COUNT" ./pkg/signature/jwt/ >"$work/jwt.txt" 2>&1
# median per benchmark (the CPUs are shared: medians resist the outliers)
awk '/^Benchmark/ {n=$1; sub(/^Benchmark/, "", n); sub(/-[0-9]+$/, "", n); print n, $3}' "$work/jwt.txt" | sort -k1,1 -k2n |
	awk '{v[$1]=v[$1] " " $2; c[$1]++} END {for (k in v) {split(substr(v[k], 2), a, " "); printf "%s %s\n", k, a[int((c[k] + 1) / 2)]}}' | sort >"$work/jwt.avg"
get() { awk -v k="$1" '$1==k {print $2}' "$work/jwt.avg"; }
pct() { echo "($1 - $2) * 100 / $2" | bc -l; }
echo "Overhead is the JWT against signing (verifying) a message of the same length, hashing included: what any signature over those bytes costs. The bare operation on a precomputed digest is shown too."
echo
echo "| key | JWT sign (ns) | hash+sign | overhead | sign of a digest | JWT verify (ns) | hash+verify | overhead | verify of a digest |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for k in RSA-2048 RSA-3072 EC-P256 EC-P384; do
	raw=RawRSA
	[[ $k == EC-* ]] && raw=RawECDSA
	s=$(get "SignJWT/$k") ms=$(get "RawSignMessage/$k") rs=$(get "${raw}Sign/$k")
	v=$(get "VerifyJWT/$k") mv=$(get "RawVerifyMessage/$k") rv=$(get "${raw}Verify/$k")
	printf '| %s | %s | %s | %+.1f%% | %s | %s | %s | %+.1f%% | %s |\n' "$k" "$s" "$ms" "$(pct "$s" "$ms")" "$rs" "$v" "$mv" "$(pct "$v" "$mv")" "$rv"
done
echo
echo "Median of $JWT_COUNT runs of 300 iterations each. benchstat:"
echo
echo '```'
if [[ -x "$TOOLS/benchstat" ]]; then "$TOOLS/benchstat" "$work/jwt.txt" | sed -n '/sec\/op/,/geomean/p'; else grep '^Benchmark' "$work/jwt.txt"; fi
echo '```'
echo

echo "## Embedded registry (Go benchmarks, in process)"
echo
echo '```'
go test -run '^$' -bench 'Push256MiB|Pull256MiB|Referrers10k' -benchtime 1x -count "$RUNS" ./pkg/registry/ 2>&1 | grep -E '^Benchmark' || true
echo '```'
echo

# --- registries --------------------------------------------------------------
start_distribution "$work/distribution"
port=$(free_port)
"$SIGNET" registry serve --addr "127.0.0.1:$port" --root "$work/embedded" >"$work/embedded.log" 2>&1 &
EMBEDDED_PID=$!
EMBEDDED_ADDR="127.0.0.1:$port"
wait_http "http://$EMBEDDED_ADDR/v2/"
declare -A REG=([embedded]=$EMBEDDED_ADDR [distribution]=$DISTRIBUTION_ADDR)
LAYOUT="oci-layout:$ROOT/testdata/oci-layout:latest"

# --- the walkthrough ---------------------------------------------------------
cd "$work"
"$SIGNET" generate cert --key-out ex.key --cert-out ex.crt --ip 127.0.0.1 >/dev/null 2>&1
echo "## The walkthrough: requests and time, signet vs oras"
echo
echo "signet: sign, push-signature (oci), discover, pull-signature, verify. oras: attach (the same JWT), discover, pull (the artifact). Requests per step; time is the whole sequence."
echo
echo "| registry | tool | sign | push | discover | pull | verify | total requests | total time (s) |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
for r in embedded distribution; do
	h=${REG[$r]}
	"$SIGNET" copy "$LAYOUT" "$h/walk:latest" >"$work/dg" 2>/dev/null
	dg=$(cat "$work/dg")
	ref="$h/walk@$dg"
	t0=$(now)
	measure 1 "$SIGNET" sign --debug -k ex.key -c ex.crt -o sig.jwt "$ref"; s1=$REQ
	measure 1 "$SIGNET" push-signature --debug --artifact-format oci --signature sig.jwt "$ref"; s2=$REQ
	measure 1 "$SIGNET" discover --debug "$ref"; s3=$REQ
	measure 1 "$SIGNET" pull-signature --debug -o pulled "$ref"; s4=$REQ
	measure 1 "$SIGNET" verify --debug -c ex.crt "$ref"; s5=$REQ
	t1=$(now)
	echo "| $r | signet | $s1 | $s2 | $s3 | $s4 | $s5 | $((s1 + s2 + s3 + s4 + s5)) | $(fmt "$(echo "$t1 - $t0" | bc -l)") |"
	"$SIGNET" copy "$LAYOUT" "$h/walk-oras:latest" >"$work/dg" 2>/dev/null
	ref="$h/walk-oras@$dg"
	t0=$(now)
	measure 1 "$ORAS" attach --plain-http --debug --artifact-type application/vnd.cncf.notary.v2 "$ref" sig.jwt:application/jwt; o2=$REQ
	measure 1 "$ORAS" discover --plain-http --debug --format json "$ref"; o3=$REQ
	art=$(grep -o '"digest": *"sha256:[0-9a-f]*"' "$work/out" | tail -1 | grep -o 'sha256:[0-9a-f]*')
	measure 1 "$ORAS" pull --plain-http --debug -o oras-pulled "$h/walk-oras@$art"; o4=$REQ
	t1=$(now)
	echo "| $r | oras | – | $o2 | $o3 | $o4 | – | $((o2 + o3 + o4)) | $(fmt "$(echo "$t1 - $t0" | bc -l)") |"
done
echo

# --- discover at scale -------------------------------------------------------
echo "## discover at 100, 1,000 and 10,000 referrers"
echo
echo "The subject's referrers are artifacts of one non-signature type, pushed by internal/benchtool (concurrently; on distribution the sha256-<hex> index is then written once). Default settings (signet: up to 8 levels while a level costs at most 1,000 requests; oras: all levels), signet --depth 8 (every level, like oras's default), then --depth 1."
echo
echo "| registry | referrers | command | time (s) | peak RSS (MiB) | requests | oras / signet time |"
echo "|---|---:|---|---:|---:|---:|---:|"
for r in embedded distribution; do
	h=${REG[$r]}
	for n in "${SIZES[@]}"; do
		"$SIGNET" copy "$LAYOUT" "$h/r$n:latest" >/dev/null 2>&1
		fb=()
		[[ $r == distribution ]] && fb=(-fallback-index)
		dg=$("$work/benchtool" -ref "$h/r$n:latest" -n "$n" "${fb[@]}")
		ref="$h/r$n@$dg"
		oruns=$RUNS
		((n >= 10000)) && oruns=1 # oras default at 10,000 takes seconds per run
		measure "$RUNS" "$SIGNET" discover --debug --format json "$ref"
		st=$MED sr=$RSS sq=$REQ
		measure "$oruns" "$ORAS" discover --plain-http --debug --format json "$ref"
		ot=$MED or=$RSS oq=$REQ
		measure "$RUNS" "$SIGNET" discover --debug --depth 8 --format json "$ref"
		echo "| $r | $n | signet discover | $(fmt "$st") | $sr | $sq | |"
		echo "| $r | $n | signet discover --depth 8 | $(fmt "$MED") | $RSS | $REQ | |"
		echo "| $r | $n | oras discover | $(fmt "$ot") | $or | $oq | $(ratio "$ot" "$st") (--depth 8: $(ratio "$ot" "$MED")) |"
		measure "$RUNS" "$SIGNET" discover --debug --depth 1 --format json "$ref"
		st=$MED sr=$RSS sq=$REQ
		measure "$RUNS" "$ORAS" discover --plain-http --debug --depth 1 --format json "$ref"
		echo "| $r | $n | signet discover --depth 1 | $(fmt "$st") | $sr | $sq | |"
		echo "| $r | $n | oras discover --depth 1 | $(fmt "$MED") | $RSS | $REQ | $(ratio "$MED" "$st") |"
	done
done
echo

# --- verify at scale ---------------------------------------------------------
n=${SIZES[-1]}
echo "## verify with $n other referrers and one signature"
echo
echo "| registry | time (s) | peak RSS (MiB) | requests |"
echo "|---|---:|---:|---:|"
for r in embedded distribution; do
	h=${REG[$r]}
	ref="$h/r$n@$dg"
	"$SIGNET" sign -k ex.key -c ex.crt -o vsig.jwt "$ref" >/dev/null 2>&1
	"$SIGNET" push-signature --artifact-format oci --signature vsig.jwt "$ref" >/dev/null 2>&1
	measure "$RUNS" "$SIGNET" verify --debug -c ex.crt "$ref"
	echo "| $r | $(fmt "$MED") | $RSS | $REQ |"
done
echo

# --- referrers listing -------------------------------------------------------
echo "## Listing the referrers of a subject (one HTTP GET, curl)"
echo
echo "embedded: GET /v2/<repo>/referrers/<digest> (the referrers API); distribution: GET of the sha256-<hex> tag-fallback index."
echo
echo "| referrers | embedded (ms) | distribution (ms) | bytes (embedded) | distribution / embedded |"
echo "|---:|---:|---:|---:|---:|"
for n in "${SIZES[@]}"; do
	e_url="http://${REG[embedded]}/v2/r$n/referrers/$dg"
	d_url="http://${REG[distribution]}/v2/r$n/manifests/sha256-${dg#sha256:}"
	measure 5 curl -fsS -o /dev/null "$e_url"; et=$MED
	measure 5 curl -fsS -o /dev/null -H 'Accept: application/vnd.oci.image.index.v1+json' "$d_url"; dt=$MED
	bytes=$(curl -fsS "$e_url" | wc -c)
	echo "| $n | $(fmt "$(echo "$et * 1000" | bc -l)") | $(fmt "$(echo "$dt * 1000" | bc -l)") | $bytes | $(ratio "$dt" "$et") |"
done
echo

# --- throughput --------------------------------------------------------------
echo "## ${BLOB_MIB} MiB blob push and pull (oras CLI against both registries)"
echo
head -c $((BLOB_MIB << 20)) /dev/urandom >"$work/blob.bin"
echo "| registry | push (s) | push MiB/s | pull (s) | pull MiB/s |"
echo "|---|---:|---:|---:|---:|"
declare -A PUSH PULL
for r in embedded distribution; do
	h=${REG[$r]}
	i=0
	pt=()
	lt=()
	for ((i = 0; i < RUNS; i++)); do
		# a fresh repository and fresh bytes' digest each run: no dedup
		printf '%08d' "$i" | dd of="$work/blob.bin" bs=1 seek=0 conv=notrunc status=none
		cd "$work"
		measure 1 "$ORAS" push --plain-http "$h/blob$i:v1" blob.bin
		pt+=("$MED")
		rm -rf "$work/pull"
		measure 1 "$ORAS" pull --plain-http -o "$work/pull" "$h/blob$i:v1"
		lt+=("$MED")
	done
	PUSH[$r]=$(printf '%s\n' "${pt[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
	PULL[$r]=$(printf '%s\n' "${lt[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
	echo "| $r | $(fmt "${PUSH[$r]}") | $(fmt "$(echo "$BLOB_MIB / ${PUSH[$r]}" | bc -l)") | $(fmt "${PULL[$r]}") | $(fmt "$(echo "$BLOB_MIB / ${PULL[$r]}" | bc -l)") |"
done
echo
echo "Throughput ratio embedded/distribution: push $(ratio "${PUSH[distribution]}" "${PUSH[embedded]}"), pull $(ratio "${PULL[distribution]}" "${PULL[embedded]}")."
echo

# --- concurrent signers (docs/reliability.md) --------------------------------
cd "$ROOT"
STRESS_TRIALS=20
[[ -n "${BENCH_QUICK:-}" ]] && STRESS_TRIALS=2
echo "## Concurrent signers: 16 push-signature processes for one subject"
echo
echo "$STRESS_TRIALS trials per registry of 16 \`bin/signet push-signature --artifact-format oci\` processes started at once (internal/stresstest); every trial must leave all 16 artifacts listed by discover and by the registry."
echo
rm -f "$work/stress.txt"
if SIGNET_BIN="$SIGNET" SIGNET_STRESS_TRIALS=$STRESS_TRIALS SIGNET_TEST_REGISTRY="$DISTRIBUTION_ADDR" SIGNET_STRESS_REPORT="$work/stress.txt" \
	go test -count=1 -timeout 30m -run TestConcurrentSigners ./internal/stresstest >"$work/stress.log" 2>&1; then
	sed 's/^/- /' "$work/stress.txt"
else
	echo "FAILED:"
	echo '```'
	tail -40 "$work/stress.log"
	echo '```'
fi
echo
# The same race with the oras CLI (oras-go maintains the tag index without
# conditions or verification), for comparison: artifacts listed out of 16.
echo "Baseline, 16 concurrent \`oras attach\` on distribution (tag fallback), artifacts listed afterwards:"
echo
layout_img="$ROOT/testdata/oci-layout"
for ((trial = 0; trial < 3; trial++)); do
	repo="$DISTRIBUTION_ADDR/oras-race/t$trial"
	"$SIGNET" copy "oci-layout:$layout_img:latest" "$repo:latest" >/dev/null 2>&1
	pids=()
	for ((i = 0; i < 16; i++)); do
		echo "sig $trial $i $RANDOM" >"$work/att$i.txt"
		(cd "$work" && "$ORAS" attach --plain-http --artifact-type application/x-race "$repo:latest" "att$i.txt" >/dev/null 2>&1) &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || true; done
	n=$("$ORAS" discover --plain-http --format json "$repo:latest" 2>/dev/null | grep -o '"artifactType": *"application/x-race"' | wc -l)
	echo "- trial $((trial + 1)): $n of 16"
done
echo

# --- --memory against --root (docs/performance.md) ---------------------------
UPLOAD_MIB=300 UPLOAD_PAIRS=5
[[ -n "${BENCH_QUICK:-}" ]] && UPLOAD_MIB=32 UPLOAD_PAIRS=2
echo "## registry serve: accepting one ${UPLOAD_MIB} MiB blob, --memory against --root"
echo
echo "Alternating pairs (memory, root, ...), $UPLOAD_PAIRS of them, each on a freshly started \`signet registry serve\`, the blob sent by curl (POST a session, PUT the body): scripts/bench-upload.sh."
echo
"$ROOT/scripts/bench-upload.sh" "$SIGNET" "$UPLOAD_MIB" "$UPLOAD_PAIRS"
echo

# --- start-up and size -------------------------------------------------------
echo "## signet version start-up and binary size"
echo
measure 21 "$SIGNET" version
echo "| binary | size (MiB) | \`signet version\` (ms, median of 21) | peak RSS (MiB) |"
echo "|---|---:|---:|---:|"
echo "| bin/signet | $(echo "scale=1; $(stat -c %s "$SIGNET") / 1048576" | bc -l) | $(fmt "$(echo "$MED * 1000" | bc -l)") | $RSS |"
echo
exec 1>&3
echo "results written to $OUT" >&2
