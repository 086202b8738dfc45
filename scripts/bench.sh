#!/usr/bin/env bash
# make bench: signet's benchmarks, side by side with the notation CLI, the
# oras CLI and the distribution registry in the same run
# (docs/performance.md).
#
# Every comparison runs in alternating pairs (BENCH_PAIRS, at least 5): one
# run of each side, then again, so that a change in the machine's load hits
# both sides alike. Each row gives the min and median of every side, the
# ratio of the medians, the load average before and after, and flags the
# comparison when a pair's ratio is more than 25 % off the median ratio
# (the machine was too busy for that comparison to be trusted).
#
#   - Go benchmarks: JWT sign/verify per key type beside the bare crypto
#     operation (benchstat); the embedded registry's referrers listing at
#     10,000 (warm, filtered, cold, cold-nosnapshot); reading a 10,000-entry
#     sha256-<hex> index (signet's scanner beside encoding/json);
#   - verify: signet verify vs notation verify (bin/seed-tools/notation, its
#     own trust policy and store in a temporary XDG_CONFIG_HOME) on a subject
#     with 10,000 other referrers and one notation signature, on
#     distribution v3.1.2 (tag fallback) and the embedded registry, with two
#     floors beside them (internal/benchtool/floor: oras-go and notation-go
#     linked, nothing run; and the same making through oras-go only the
#     requests a verify cannot do without, nothing verified);
#   - discover at 10,000 referrers: signet's default and --depth 8 against
#     oras's default (which walks every level);
#   - the embedded registry against distribution through one Go client
#     (internal/benchtool): 256 MiB blob push and pull (disk, and
#     signet registry serve --memory against distribution on disk),
#     manifest GET and HEAD, tag listing, referrers listing at 10,000 and
#     filtered by artifactType (distribution: its stored sha256-<hex> index,
#     all a client can get there);
#   - 100 signed images: one signet verify --from-file against 100 notation
#     verify runs, and the requests per image;
#   - signet version vs oras version start-up; the walkthrough's requests;
#   - 16 concurrent push-signature processes for one subject, 20 trials on
#     each registry kind (docs/reliability.md), and oras attach beside it;
#   - registry serve --memory against --root accepting a 300 MiB blob;
#   - copy: signet copy -r vs oras cp -r of an image with 1,000 referrers
#     (BENCH_COPY_N), embedded -> distribution and back, wall time and
#     requests; signet copy vs oras cp of a 300 MiB image; the requests of
#     a repeated copy -r. BENCH_COPY_N and BENCH_COPY_MIB override
#     the referrers and the image size.
#
# Wall time of a CLI: from fork to exit; peak RSS: /usr/bin/time's maximum
# resident set size. Prints Markdown; also writes it to $BENCH_OUT (default
# bin/bench-results.md). BENCH_QUICK=1 for a smoke run (2 pairs, BENCH_N
# referrers, default 300, small blobs); BENCH_SKIP_GO=1 leaves out the Go
# benchmarks. BENCH_ONLY=SECTION[,SECTION…] runs only those sections: go,
# verify, discover, registry, many, startup, walkthrough, stress, upload, copy
# (e.g. BENCH_ONLY=verify BENCH_PAIRS=9 scripts/bench.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TOOLS="${TOOLS:-$ROOT/bin/tools}"
SEED_TOOLS="${SIGNET_SEED_TOOLS:-$ROOT/bin/seed-tools}"
SIGNET="${SIGNET:-$ROOT/bin/signet}"
ORAS="$TOOLS/oras"
NOTATION="$SEED_TOOLS/notation"
OUT="${BENCH_OUT:-$ROOT/bin/bench-results.md}"
source scripts/lib.sh

PAIRS=${BENCH_PAIRS:-5}
((PAIRS >= 5)) || PAIRS=5
N=10000
JWT_COUNT=6
BLOB_MIB=256
if [[ -n "${BENCH_QUICK:-}" ]]; then
	PAIRS=2
	N=${BENCH_N:-300}
	JWT_COUNT=2
	BLOB_MIB=16
fi
SPREAD=25 # per cent
# only SECTION: whether BENCH_ONLY (empty: everything) names SECTION.
only() { [[ -z "${BENCH_ONLY:-}" || ",$BENCH_ONLY," == *",$1,"* ]]; }

for t in "$SIGNET" "$ORAS" "$TOOLS/registry" "$NOTATION"; do
	[[ -x "$t" ]] || { echo "missing $t: run 'make build tools seed-tools'" >&2; exit 1; }
done
if [[ ! -x /usr/bin/time ]]; then
	echo "bench: installing GNU time (/usr/bin/time) with apt-get" >&2
	{ sudo -n apt-get install -y time || apt-get install -y time; } >/dev/null 2>&1 ||
		{ echo "bench: /usr/bin/time is needed for peak memory: apt-get install time" >&2; exit 1; }
fi
if [[ ! -x "$TOOLS/benchstat" ]]; then
	GOBIN="$TOOLS" go install golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da >/dev/null 2>&1 || true
fi

work=$(mktemp -d)
PIDS=()
cleanup() {
	local rc=$?
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT
go build -o "$work/benchtool" ./internal/benchtool
# the floor: oras-go, notation-go and go-digest linked, nothing run (built
# as bin/signet is: static, stripped)
CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$work/floor" ./internal/benchtool/floor
BT="$work/benchtool"

exec 3>&1
exec > >(tee "$OUT")

now() { date +%s.%N; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
fmt() { printf '%.3f' "$1"; }
ms() { printf '%.1f' "$(echo "$1 * 1000" | bc -l)"; }
ratio() { echo "scale=2; $1 / $2" | bc -l | sed 's/^\./0./'; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
minimum() { printf '%s\n' "$@" | sort -g | head -1; }

# run_side NAME: runs the command in the array NAME once (its first element
# is the side's label; SELF_TIMED=1: the command prints its own seconds on
# its last stdout line). Sets T (seconds) and M (peak RSS, KiB).
run_side() {
	local -n side=$1
	local t0 t1
	# $EPOCHREALTIME, not $(date): no fork of our own inside the timing
	t0=$EPOCHREALTIME
	if ! /usr/bin/time -f "%M" -o "$work/rss" "${side[@]:1}" >"$work/out" 2>"$work/err"; then
		echo "FAILED: ${side[*]:1}" >&2
		tail -5 "$work/err" >&2
		return 1
	fi
	t1=$EPOCHREALTIME
	T=$(echo "$t1 - $t0" | bc -l)
	if [[ -n "${SELF_TIMED:-}" ]]; then
		T=$(tail -1 "$work/out")
	fi
	M=$(tail -1 "$work/rss")
}

# compare TITLE SIDE… : PAIRS rounds, each running every side once in
# order (the first side first in odd rounds, last first in even ones).
# The last side is the baseline: each other side's ratio is baseline /
# side (above 1: that side is faster). PRE, when set, names a command run
# (untimed) before each round. Prints one table row per side.
compare() {
	local title=$1
	shift
	local sides=("$@") n=$# r i j load0 load1
	local -A times rss
	load0=$(loadavg)
	for ((r = 0; r < PAIRS; r++)); do
		if [[ -n "${PRE:-}" ]]; then $PRE || return 1; fi
		for ((j = 0; j < n; j++)); do
			i=$j
			((r % 2)) && i=$((n - 1 - j))
			run_side "${sides[$i]}"
			times[$i]+=" $T"
			((M > ${rss[$i]:-0})) && rss[$i]=$M
		done
	done
	load1=$(loadavg)
	local -a base bt
	read -ra base <<<"${times[$((n - 1))]}"
	local bmed
	bmed=$(median "${base[@]}")
	for ((i = 0; i < n; i++)); do
		local -n s=${sides[$i]}
		read -ra bt <<<"${times[$i]}"
		local med mn rr="" flagged=0 pr=() x
		med=$(median "${bt[@]}")
		mn=$(minimum "${bt[@]}")
		if ((i < n - 1)); then
			for ((r = 0; r < PAIRS; r++)); do
				pr+=("$(echo "${base[$r]} / ${bt[$r]}" | bc -l)")
			done
			local pmed
			pmed=$(median "${pr[@]}")
			for x in "${pr[@]}"; do
				if (($(echo "($x / $pmed - 1) * 100 > $SPREAD || ($x / $pmed - 1) * 100 < -$SPREAD" | bc -l))); then
					flagged=$((flagged + 1))
				fi
			done
			rr="$(ratio "$bmed" "$med")"
			if ((flagged > 0)); then
				rr="$rr ⚠ $flagged/$PAIRS pairs off by >$SPREAD %"
				FLAGGED=$((FLAGGED + 1))
			fi
			rr="$rr (pairs: $(printf '%.2f ' "${pr[@]}" | sed 's/ $//'))"
		fi
		local shown_rss="–"
		[[ -n "${NO_RSS:-}" ]] || shown_rss=$(echo "scale=1; ${rss[$i]} / 1024" | bc -l)
		echo "| $title | ${s[0]} | $(fmt "$mn") | $(fmt "$med") | $shown_rss | $rr | $load0 → $load1 |"
		RESULT_MED[$title/${s[0]}]=$med
		RESULT_RSS[$title/${s[0]}]=${rss[$i]}
	done
}
declare -A RESULT_MED RESULT_RSS
FLAGGED=0
table_head() {
	echo "| comparison | side | min (s) | median (s) | peak RSS (MiB) | baseline / side (median) | load avg before → after |"
	echo "|---|---|---:|---:|---:|---|---|"
}

echo "# signet benchmarks"
echo
echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD)"
echo "- machine: $(nproc) CPU(s), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo) RAM, $(go version | awk '{print $3}')"
echo "- load average at the start (1, 5, 15 min): $(loadavg)"
echo "- tools: oras $("$ORAS" version | awk '/^Version/ {print $2}'), distribution $("$TOOLS/registry" --version | awk '{print $3}'), notation $("$NOTATION" version | awk '/^Version/ {print $2}')"
echo "- every comparison: $PAIRS alternating rounds; min and median wall time per side; ratio = baseline (last side) / side, of the medians; ⚠ marks a comparison with a pair more than $SPREAD % off its median ratio"
echo

# --- Go benchmarks -----------------------------------------------------------
if [[ -z "${BENCH_SKIP_GO:-}" ]] && only go; then
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
echo "Median of $JWT_COUNT runs of 300 iterations each (load average now $(loadavg)). benchstat:"
echo
echo '```'
if [[ -x "$TOOLS/benchstat" ]]; then "$TOOLS/benchstat" "$work/jwt.txt" | sed -n '/sec\/op/,/geomean/p'; else grep '^Benchmark' "$work/jwt.txt"; fi
echo '```'
echo

echo "## Embedded registry referrers listing (Go benchmark, in process, disk storage)"
echo
echo "A subject with 10,001 referrers (one of a signature type) among 20,001 manifests; one GET, the body read to its end. warm: the subject listed before; filtered: ?artifactType= of the signature; cold: the first listing after a start, from the subject's referrers snapshot (docs/registry.md); cold-nosnapshot: the same without a snapshot, every entry read and checked one by one."
echo
echo '```'
go test -run '^$' -bench 'Referrers10k' -benchtime 10x ./pkg/registry/ 2>&1 | grep -E '^Benchmark' || true
echo '```'
echo
echo "## Reading a sha256-<hex> referrers index (Go benchmark, in process)"
echo
echo "What verify and discover read on a registry without the referrers API (distribution): an index of 10,000 referrers and one signature (2.5 MB), digest-checked; signet's scanner (pkg/discover/decodeindex.go) beside encoding/json (the implementation before it, kept as the tests' oracle), keeping the signatures only (verify) or every entry (discover). 5 runs of 20 iterations each."
echo
echo '```'
go test -run '^$' -bench 'DecodeIndex10k' -benchtime 20x -count 5 ./pkg/discover/ >"$work/decode.txt" 2>&1 || true
if [[ -x "$TOOLS/benchstat" ]]; then "$TOOLS/benchstat" "$work/decode.txt" | sed -n '/sec\/op/,$p'; else grep '^Benchmark' "$work/decode.txt"; fi
echo '```'
echo
fi # BENCH_SKIP_GO

# --- registries --------------------------------------------------------------
start_dist() { # start_distribution, again on another port if that one was taken
	local try
	for try in 1 2 3; do
		if start_distribution "$@"; then
			PIDS+=("$DISTRIBUTION_PID")
			return 0
		fi
		kill "$DISTRIBUTION_PID" 2>/dev/null || true
	done
	return 1
}
start_dist "$work/distribution"
DIST_DISK_PID=$DISTRIBUTION_PID
start_embedded() { # DIR|--memory: sets EMBEDDED_ADDR, EMBEDDED_PID
	local storage=(--root "$1") log="$work/embedded.out" i
	[[ $1 == --memory ]] && storage=(--memory)
	: >"$log"
	# port 0: the registry picks a free port and prints its address
	"$SIGNET" registry serve --addr 127.0.0.1:0 "${storage[@]}" >"$log" 2>"$work/embedded.err" &
	EMBEDDED_PID=$!
	PIDS+=("$EMBEDDED_PID")
	for ((i = 0; i < 300; i++)); do
		EMBEDDED_ADDR=$(grep -o -m1 '127\.0\.0\.1:[0-9]*' "$log" || true)
		[[ -n "$EMBEDDED_ADDR" ]] && break
		sleep 0.1
	done
	[[ -n "$EMBEDDED_ADDR" ]] || { echo "embedded registry did not start: $(cat "$work/embedded.err")" >&2; return 1; }
	wait_http "http://$EMBEDDED_ADDR/v2/"
}
start_embedded "$work/embedded"
EMB_DISK_PID=$EMBEDDED_PID
declare -A REG=([embedded]=$EMBEDDED_ADDR [distribution]=$DISTRIBUTION_ADDR)
LAYOUT="oci-layout:$ROOT/testdata/oci-layout:latest"
cd "$work"

# --- copy -r and copy, against oras cp -------------------------------------------
# requests_signet FILE: the request count a signet --debug run printed.
requests_signet() { sed -n 's/^debug: \([0-9]*\) HTTP request(s)$/\1/p' "$1" | tail -1; }
# requests_oras FILE: the requests an oras --debug run sent.
requests_oras() { grep -c -- '--> Request #' "$1" || true; }
bench_copy() {
	local CN=${BENCH_COPY_N:-1000} CMIB=${BENCH_COPY_MIB:-300} e=${REG[embedded]} d=${REG[distribution]}
	[[ -n "${BENCH_QUICK:-}" ]] && CMIB=${BENCH_COPY_MIB:-16} && CN=${BENCH_COPY_N:-300}
	echo "## copy: signet vs oras cp, $CN referrers and a $CMIB MiB image"
	echo
	echo "\`signet copy -r SRC DST\` and \`oras cp -r --from-plain-http --to-plain-http SRC DST\`, each round into a fresh repository (nothing there yet). The image has $CN referrers (internal/benchtool: one-layer artifacts with a subject); embedded → distribution: the referrers API at the source, the sha256-<hex> tag fallback at the destination (signet updates the index once per subject, oras once per referrer); distribution → embedded: the tag fallback at the source. oras asks each referrer for referrers of its own; signet does too while that level costs at most 1,000 requests (its default budget, as discover: about 2 per referrer on the embedded registry, which serves the links API and the referrers API, so at 1,000 referrers it stops after the first level and says so; --depth 8 follows every level)."
	echo
	"$SIGNET" copy "$LAYOUT" "$e/copysrc:latest" >/dev/null 2>&1
	"$BT" -ref "$e/copysrc:latest" -n "$CN" >/dev/null
	"$SIGNET" copy -r "$e/copysrc:latest" "$d/copysrc:latest" >/dev/null 2>&1
	head -c $((CMIB << 20)) /dev/urandom >"$work/big.bin"
	(cd "$work" && "$ORAS" push --plain-http "$e/big:latest" big.bin:application/vnd.oci.image.layer.v1.tar >/dev/null)
	CROUND=0
	copy_sides() { # a fresh destination repository each round
		CROUND=$((CROUND + 1))
		S1=("signet copy -r" "$SIGNET" copy -r "$CSRC" "$CDST/s$CROUND:latest")
		S2=("oras cp -r" "$ORAS" cp -r --from-plain-http --to-plain-http "$CSRC" "$CDST/o$CROUND:latest")
	}
	big_sides() {
		CROUND=$((CROUND + 1))
		S1=("signet copy" "$SIGNET" copy "$e/big:latest" "$d/big$CROUND:latest")
		S2=("oras cp" "$ORAS" cp --from-plain-http --to-plain-http "$e/big:latest" "$d/obig$CROUND:latest")
	}
	table_head
	CSRC="$e/copysrc:latest" CDST="$d/copy-e2d"
	PRE=copy_sides compare "copy -r, $CN referrers, embedded → distribution" S1 S2
	CSRC="$d/copysrc:latest" CDST="$e/copy-d2e"
	PRE=copy_sides compare "copy -r, $CN referrers, distribution → embedded" S1 S2
	PRE=big_sides compare "copy, $CMIB MiB image, embedded → distribution" S1 S2
	echo
	echo "Requests of one run of each (signet --debug's count; oras --debug's requests), into fresh repositories; then the same signet copy -r again (everything there: existence checks only; the graph has $((CN + 1)) manifests):"
	echo
	local src dst label
	for label in "embedded → distribution" "distribution → embedded"; do
		if [[ $label == embedded* ]]; then src="$e/copysrc:latest" dst="$d/copy-req"; else src="$d/copysrc:latest" dst="$e/copy-req"; fi
		"$SIGNET" copy -r --debug "$src" "$dst/s:latest" >/dev/null 2>"$work/c.s" || { tail -3 "$work/c.s" >&2; return 1; }
		"$ORAS" cp -r --debug --from-plain-http --to-plain-http "$src" "$dst/o:latest" >/dev/null 2>"$work/c.o" || true
		"$SIGNET" copy -r --debug "$src" "$dst/s:latest" >/dev/null 2>"$work/c.r"
		echo "- copy -r, $label: signet $(requests_signet "$work/c.s"), oras $(requests_oras "$work/c.o"); signet again: $(requests_signet "$work/c.r") ($(grep -c 'debug: #[0-9]* HEAD' "$work/c.r") HEAD, $(grep -cE 'debug: #[0-9]* (PUT|POST|PATCH|DELETE)' "$work/c.r") writes)"
	done
	"$SIGNET" copy --debug "$e/big:latest" "$d/big-req:latest" >/dev/null 2>"$work/c.s"
	"$ORAS" cp --debug --from-plain-http --to-plain-http "$e/big:latest" "$d/obig-req:latest" >/dev/null 2>"$work/c.o" || true
	echo "- copy, $CMIB MiB image: signet $(requests_signet "$work/c.s"), oras $(requests_oras "$work/c.o")"
	echo
}

# --- the subject: N other referrers and one notation signature ---------------
nota() { env XDG_CONFIG_HOME="$work/xdg" "$NOTATION" "$@"; }
nota cert generate-test --default bench-signer >/dev/null
cat >"$work/trustpolicy.json" <<EOF
{"version": "1.0", "trustPolicies": [{"name": "bench", "registryScopes": ["*"],
 "signatureVerification": {"level": "strict"}, "trustStores": ["ca:bench-signer"], "trustedIdentities": ["*"]}]}
EOF
nota policy import --force "$work/trustpolicy.json" >/dev/null
POLICY="$work/xdg/notation/trustpolicy.json"
STORE="$work/xdg/notation/truststore"
declare -A SUBJ
if only verify || only discover || only registry; then
for r in embedded distribution; do
	h=${REG[$r]}
	"$SIGNET" copy "$LAYOUT" "$h/r$N:latest" >/dev/null 2>&1
	fb=()
	[[ $r == distribution ]] && fb=(-fallback-index)
	dg=$("$BT" -ref "$h/r$N:latest" -n "$N" "${fb[@]}")
	SUBJ[$r]=$dg
	# notation's default on distribution (the tag schema: it rewrites the
	# sha256-<hex> index); the referrers API on the embedded registry.
	force=()
	[[ $r == embedded ]] && force=(--force-referrers-tag=false)
	nota sign --insecure-registry "${force[@]}" "$h/r$N@$dg" >/dev/null
	nota verify --insecure-registry "$h/r$N@$dg" >/dev/null
	"$SIGNET" verify --trust-policy "$POLICY" --trust-store "$STORE" "$h/r$N@$dg" >/dev/null
done

fi # the subject

# --- verify ------------------------------------------------------------------
if only verify; then
echo "## verify: signet vs notation, $N other referrers and one notation signature"
echo
echo "The same notation signature (JWS, notation's test key), the same trust policy and trust store (notation's, in a temporary XDG_CONFIG_HOME): \`signet verify --trust-policy … --trust-store … REF\` and \`notation verify --insecure-registry REF\`. distribution has no referrers API: both read the sha256-<hex> index ($N+1 entries); the embedded registry filters by artifactType. The floor is internal/benchtool/floor: a program that links oras-go's registry client, notation-go's verifier and go-digest and exits at once (their package initialisation and the Go runtime's start); its ratio is the most any verify built on those libraries can reach against notation on this machine. The fetch floor is the same program making, through oras-go, only the requests no verify of a notation signature can do without (resolve the subject, list its signature referrers — the referrers API filtered by artifactType, or oras-go's sha256-<hex> tag fallback —, fetch the signature manifest and its envelope, digests checked) and exiting, nothing verified."
echo
table_head
for r in embedded distribution; do
	h=${REG[$r]}
	ref="$h/r$N@${SUBJ[$r]}"
	S1=("signet verify" "$SIGNET" verify --trust-policy "$POLICY" --trust-store "$STORE" "$ref")
	# the floor: what any program linking oras-go and notation-go pays
	# before it does anything (internal/benchtool/floor)
	S0=("floor (libraries linked, nothing run)" "$work/floor")
	# the fetch floor: the same program making, through oras-go, only the
	# requests no verify can do without (resolve, signature referrers,
	# signature manifest, envelope), nothing verified
	SF=("fetch floor (4 requests, nothing verified)" "$work/floor" -fetch "$ref")
	# XDG_CONFIG_HOME set for every side (no env process timed on one)
	S2=("notation verify" "$NOTATION" verify --insecure-registry "$ref")
	XDG_CONFIG_HOME="$work/xdg" compare "verify ($r)" S1 SF S0 S2
done
echo
echo "Requests of one signet verify (--debug):"
echo
for r in embedded distribution; do
	h=${REG[$r]}
	"$SIGNET" verify --debug --trust-policy "$POLICY" --trust-store "$STORE" "$h/r$N@${SUBJ[$r]}" >/dev/null 2>"$work/dbg"
	echo "- $r: $(sed -n 's/^debug: \([0-9]*\) HTTP request(s)$/\1/p' "$work/dbg" | tail -1) requests: $(grep -o 'debug: #[0-9]* [A-Z]* [^ ]*' "$work/dbg" | awk '{print $3, $4}' | sed -E 's#http://[^/]*##; s#sha256:[0-9a-f]{64}#<digest>#g; s#sha256-[0-9a-f]{64}#sha256-<hex>#g' | paste -sd ';' | sed 's/;/; /g')"
done
echo

fi # verify

# --- discover at N -----------------------------------------------------------
if only discover; then
echo "## discover at $N referrers"
echo
echo "signet's default follows the referrers of referrers while a level costs at most 1,000 requests (here it stops after the first level); --depth 8 follows every level like oras's default, one request per referrer. Same rounds: signet default, signet --depth 8, oras discover."
echo
table_head
for r in embedded distribution; do
	h=${REG[$r]}
	ref="$h/r$N@${SUBJ[$r]}"
	S1=("signet discover" "$SIGNET" discover --format json "$ref")
	S2=("signet discover --depth 8" "$SIGNET" discover --depth 8 --format json "$ref")
	S3=("oras discover" "$ORAS" discover --plain-http --format json "$ref")
	compare "discover ($r)" S1 S2 S3
done
echo

fi # discover

# --- registry operations -----------------------------------------------------
if only registry; then
echo "## The embedded registry vs distribution"
echo
echo "One Go client (internal/benchtool) for both; times are its own (no process start-up). Manifest GET/HEAD: 500 sequential requests; tag listing ($((N / 10)) tags): 50 requests; referrers: 10 requests (distribution: GET of its stored sha256-<hex> index, which is all a client gets there, filtered or not). Blobs: a fresh $BLOB_MIB MiB blob each round (POST + monolithic PUT), pulled back (GET, bytes counted)."
echo
"$SIGNET" copy "$LAYOUT" "${REG[embedded]}/tags:latest" >/dev/null 2>&1
"$SIGNET" copy "$LAYOUT" "${REG[distribution]}/tags:latest" >/dev/null 2>&1
"$BT" -tags $((N / 10)) -ref "${REG[embedded]}/tags:latest"
"$BT" -tags $((N / 10)) -ref "${REG[distribution]}/tags:latest"
sdg=${SUBJ[embedded]}
mt=application/vnd.oci.image.manifest.v1+json
[[ $(curl -fsS -o /dev/null -w '%{content_type}' -H "Accept: $mt" "http://${REG[embedded]}/v2/r$N/manifests/$sdg") == "$mt" ]] ||
	mt=application/vnd.docker.distribution.manifest.v2+json
E="http://${REG[embedded]}/v2"
D="http://${REG[distribution]}/v2"
dfb="$D/r$N/manifests/sha256-${SUBJ[distribution]#sha256:}"
IDX=application/vnd.oci.image.index.v1+json
SELF_TIMED=1
NO_RSS=1
table_head
S1=(embedded "$BT" -hammer "$E/r$N/manifests/$sdg" -n 500 -concurrency 1 -accept "$mt")
S2=(distribution "$BT" -hammer "$D/r$N/manifests/${SUBJ[distribution]}" -n 500 -concurrency 1 -accept "$mt")
compare "manifest GET ×500" S1 S2
S1=(embedded "$BT" -hammer "$E/r$N/manifests/$sdg" -n 500 -concurrency 1 -method HEAD -accept "$mt")
S2=(distribution "$BT" -hammer "$D/r$N/manifests/${SUBJ[distribution]}" -n 500 -concurrency 1 -method HEAD -accept "$mt")
compare "manifest HEAD ×500" S1 S2
S1=(embedded "$BT" -hammer "$E/tags/tags/list" -n 50 -concurrency 1)
S2=(distribution "$BT" -hammer "$D/tags/tags/list" -n 50 -concurrency 1)
compare "tag listing ×50 ($((N / 10 + 1)) tags)" S1 S2
S1=(embedded "$BT" -hammer "$E/r$N/referrers/$sdg" -n 10 -concurrency 1 -accept "$IDX")
S2=(distribution "$BT" -hammer "$dfb" -n 10 -concurrency 1 -accept "$IDX")
compare "referrers ×10 ($N+1)" S1 S2
S1=(embedded "$BT" -hammer "$E/r$N/referrers/$sdg?artifactType=application/vnd.cncf.notary.signature" -n 10 -concurrency 1 -accept "$IDX")
S2=(distribution "$BT" -hammer "$dfb" -n 10 -concurrency 1 -accept "$IDX")
compare "referrers ×10, filtered (1 of $N+1)" S1 S2

head -c $((BLOB_MIB << 20)) /dev/urandom >"$work/blob.bin"
ROUND=0
new_blob() { # a fresh digest each round: no deduplication
	ROUND=$((ROUND + 1))
	printf '%08d' "$ROUND" | dd of="$work/blob.bin" bs=1 seek=0 conv=notrunc status=none
	BLOB_DG="sha256:$(sha256sum "$work/blob.bin" | cut -d' ' -f1)"
	S1=(embedded "$BT" -push-blob "$work/blob.bin" -digest "$BLOB_DG" -ref "$EREG/blobs")
	S2=(distribution "$BT" -push-blob "$work/blob.bin" -digest "$BLOB_DG" -ref "$DREG/blobs")
}
pull_sides() {
	S1=(embedded "$BT" -pull-blob "$BLOB_DG" -ref "$EREG/blobs")
	S2=(distribution "$BT" -pull-blob "$BLOB_DG" -ref "$DREG/blobs")
}
EREG=${REG[embedded]} DREG=${REG[distribution]}
PRE=new_blob compare "$BLOB_MIB MiB blob push, disk" S1 S2
pull_sides
compare "$BLOB_MIB MiB blob pull, disk" S1 S2

# memory: signet registry serve --memory, restarted each round (one blob
# held at a time), against distribution as deployed (filesystem storage):
# distribution's inmemory driver is for its own tests, and took over five
# minutes for one 256 MiB push here.
MEM_E_PID=""
HWM_E=0
hwm() { awk '/VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
restart_memory() {
	if [[ -n "$MEM_E_PID" ]]; then
		e=$(hwm "$MEM_E_PID")
		((e > HWM_E)) && HWM_E=$e
		kill "$MEM_E_PID" 2>/dev/null || true
		wait "$MEM_E_PID" 2>/dev/null || true
	fi
	start_embedded --memory
	MEM_E_PID=$EMBEDDED_PID EREG=$EMBEDDED_ADDR
	DREG=${REG[distribution]}
	new_blob
}
PRE=restart_memory compare "$BLOB_MIB MiB blob push, embedded --memory vs distribution (disk)" S1 S2
pull_sides
compare "$BLOB_MIB MiB blob pull, embedded --memory vs distribution (disk)" S1 S2
e=$(hwm "$MEM_E_PID")
((e > HWM_E)) && HWM_E=$e
unset SELF_TIMED NO_RSS
echo
echo "Peak RSS of the registry processes (VmHWM), after everything above: embedded (disk) $(($(hwm "$EMB_DISK_PID") / 1024)) MiB, distribution $(($(hwm "$DIST_DISK_PID") / 1024)) MiB; embedded --memory (one $BLOB_MIB MiB blob pushed and pulled per process) $((HWM_E / 1024)) MiB."
echo

fi # registry

# --- many images ---------------------------------------------------------------
if only many; then
MANY=${BENCH_MANY:-100}
[[ -n "${BENCH_QUICK:-}" ]] && MANY=${BENCH_MANY:-10}
echo "## $MANY signed images: one signet verify vs $MANY notation verify runs"
echo
echo "$MANY repositories of the embedded registry, each holding the same image signed by notation (referrers API). \`signet verify --from-file LIST\` (concurrently, at most 8 at a time, one client) against a shell loop of \`notation verify\`, one per image; the same trust policy and store."
echo
mdg=""
: >"$work/many.txt"
for ((i = 0; i < MANY; i++)); do
	mdg=$("$SIGNET" copy "$LAYOUT" "${REG[embedded]}/many$i:latest" 2>/dev/null)
	nota sign --insecure-registry --force-referrers-tag=false "${REG[embedded]}/many$i@$mdg" >/dev/null
	echo "${REG[embedded]}/many$i@$mdg" >>"$work/many.txt"
done
{
	echo 'set -e'
	while read -r ref; do
		printf 'env XDG_CONFIG_HOME=%q %q verify --insecure-registry %q >/dev/null\n' "$work/xdg" "$NOTATION" "$ref"
	done <"$work/many.txt"
} >"$work/many-notation.sh"
table_head
S1=("signet verify --from-file ($MANY)" "$SIGNET" verify --trust-policy "$POLICY" --trust-store "$STORE" --from-file "$work/many.txt")
S2=("$MANY × notation verify" bash "$work/many-notation.sh")
compare "$MANY images (embedded)" S1 S2
"$SIGNET" verify --debug --trust-policy "$POLICY" --trust-store "$STORE" --from-file "$work/many.txt" >/dev/null 2>"$work/dbg"
all=$(sed -n 's/^debug: \([0-9]*\) HTTP request(s)$/\1/p' "$work/dbg" | tail -1)
"$SIGNET" verify --debug --trust-policy "$POLICY" --trust-store "$STORE" "$(head -1 "$work/many.txt")" >/dev/null 2>"$work/dbg"
one=$(sed -n 's/^debug: \([0-9]*\) HTTP request(s)$/\1/p' "$work/dbg" | tail -1)
echo
echo "Requests: $all for the $MANY images ($(ratio "$all" "$MANY") per image); $one for one image alone."
echo

fi # many

# --- start-up ----------------------------------------------------------------
if only startup; then
echo "## Start-up"
echo
table_head
S1=("signet version" "$SIGNET" version)
S0=("notation version" "$NOTATION" version)
S2=("oras version" "$ORAS" version)
compare "version" S1 S0 S2
echo
echo "bin/signet: $(echo "scale=1; $(stat -c %s "$SIGNET") / 1048576" | bc -l) MiB."
echo

fi # startup

# --- the walkthrough ---------------------------------------------------------
if only walkthrough; then
echo "## The walkthrough: requests per step, signet vs oras"
echo
echo "signet: sign, push-signature (oci), discover, pull-signature, verify. oras: attach (the same JWT), discover, pull (the artifact). HTTP requests per step (one run; the requests are the point, not the time)."
echo
echo "| registry | tool | sign | push | discover | pull | verify | total requests |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
reqs() { # CMD…: runs it, prints its request count (signet --debug or oras --debug)
	"$@" >"$work/out" 2>"$work/err" || { echo "FAILED: $*" >&2; tail -5 "$work/err" >&2; return 1; }
	local n
	n=$(sed -n 's/^debug: \([0-9]*\) HTTP request(s)$/\1/p' "$work/err" | tail -1)
	[[ -n "$n" ]] || n=$(grep -c -- '--> Request #' "$work/err" || true)
	echo "$n"
}
"$SIGNET" generate cert --key-out ex.key --cert-out ex.crt --ip 127.0.0.1 >/dev/null 2>&1
for r in embedded distribution; do
	h=${REG[$r]}
	dg=$("$SIGNET" copy "$LAYOUT" "$h/walk:latest" 2>/dev/null)
	ref="$h/walk@$dg"
	s1=$(reqs "$SIGNET" sign --debug -k ex.key -c ex.crt -o sig.jwt "$ref")
	s2=$(reqs "$SIGNET" push-signature --debug --artifact-format oci --signature sig.jwt "$ref")
	s3=$(reqs "$SIGNET" discover --debug "$ref")
	s4=$(reqs "$SIGNET" pull-signature --debug -o pulled "$ref")
	s5=$(reqs "$SIGNET" verify --debug -c ex.crt "$ref")
	echo "| $r | signet | $s1 | $s2 | $s3 | $s4 | $s5 | $((s1 + s2 + s3 + s4 + s5)) |"
	"$SIGNET" copy "$LAYOUT" "$h/walk-oras:latest" >/dev/null 2>&1
	ref="$h/walk-oras@$dg"
	o2=$(reqs "$ORAS" attach --plain-http --debug --artifact-type application/vnd.cncf.notary.v2 "$ref" sig.jwt:application/jwt)
	o3=$(reqs "$ORAS" discover --plain-http --debug --format json "$ref")
	art=$(grep -o '"digest": *"sha256:[0-9a-f]*"' "$work/out" | tail -1 | grep -o 'sha256:[0-9a-f]*')
	o4=$(reqs "$ORAS" pull --plain-http --debug -o oras-pulled "$h/walk-oras@$art")
	echo "| $r | oras | – | $o2 | $o3 | $o4 | – | $((o2 + o3 + o4)) |"
done
echo

fi # walkthrough

# --- concurrent signers (docs/reliability.md) --------------------------------
cd "$ROOT"
if only stress; then
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

fi # stress

# --- --memory against --root (docs/performance.md) ---------------------------
if only upload; then
UPLOAD_MIB=300 UPLOAD_PAIRS=5
[[ -n "${BENCH_QUICK:-}" ]] && UPLOAD_MIB=32 UPLOAD_PAIRS=2
echo "## registry serve: accepting one ${UPLOAD_MIB} MiB blob, --memory against --root"
echo
echo "Alternating pairs (memory, root, ...), $UPLOAD_PAIRS of them, each on a freshly started \`signet registry serve\`, the blob sent by curl (POST a session, PUT the body): scripts/bench-upload.sh."
echo
"$ROOT/scripts/bench-upload.sh" "$SIGNET" "$UPLOAD_MIB" "$UPLOAD_PAIRS"
echo

fi # upload

if only copy; then
bench_copy
fi # copy

echo "## Summary"
echo
echo "- load average at the end: $(loadavg)"
echo "- comparisons flagged (a pair more than $SPREAD % off the median ratio): $FLAGGED"
for k in "${!RESULT_MED[@]}"; do
	printf '%s\t%s\t%s\n' "$k" "${RESULT_MED[$k]}" "${RESULT_RSS[$k]}"
done | sort >"$ROOT/bin/bench-results.tsv"
echo "- medians and peak RSS (KiB) of every side: bin/bench-results.tsv"
exec 1>&3
echo "results written to $OUT" >&2
