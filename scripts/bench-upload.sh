#!/usr/bin/env bash
# bench-upload.sh [SIGNET] [MIB] [PAIRS]: how long `signet registry serve`
# takes to accept one MIB (default 300) MiB blob with --memory and with
# --root, measured in alternating pairs (memory, root, memory, root, ...;
# PAIRS pairs, default 5), each run on a freshly started registry, the blob
# sent by curl as distribution clients do (POST a session, PUT the body
# with ?digest=). Prints the min and median of each (docs/performance.md).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
SIGNET="${1:-$PWD/bin/signet}"
MIB="${2:-300}"
PAIRS="${3:-5}"
work=$(mktemp -d)
PID=""
cleanup() {
	if [[ -n "$PID" ]]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
head -c "$((MIB << 20))" /dev/urandom >"$work/blob"
digest="sha256:$(sha256sum "$work/blob" | cut -d' ' -f1)"

run() { # run memory|root: prints the seconds the upload took
	# (in a command substitution: the EXIT trap does not reach it, so a
	# failure stops its registry itself)
	local mode=$1 url loc t0 t1 code
	trap 'if [[ -n "$PID" ]]; then kill "$PID" 2>/dev/null || true; fi' EXIT
	local args=(--memory)
	[[ $mode == root ]] && { rm -rf "$work/root"; args=(--root "$work/root"); }
	rm -f "$work/url"
	"$SIGNET" registry serve --addr 127.0.0.1:0 "${args[@]}" >"$work/url" 2>"$work/log" &
	PID=$!
	for _ in $(seq 1 600); do [[ -s "$work/url" ]] && break; sleep 0.05; done
	url=$(head -1 "$work/url")
	[[ -n "$url" ]] || { echo "registry serve --$mode did not start:" >&2; cat "$work/log" >&2; exit 1; }
	t0=$(date +%s.%N)
	loc=$(curl -fsS -X POST -D - -o /dev/null "$url/v2/bench/blobs/uploads/" | tr -d '\r' | awk -F': ' 'tolower($1)=="location" {print $2}')
	code=$(curl -sS -o /dev/null -w "%{http_code}" -T "$work/blob" -H "Content-Type: application/octet-stream" "$loc&digest=$digest")
	t1=$(date +%s.%N)
	[[ $code == 201 ]] || { echo "upload to --$mode answered $code" >&2; exit 1; }
	kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
	echo "$t1 - $t0" | bc -l
}
mem=() root=()
for ((i = 0; i < PAIRS; i++)); do
	mem+=("$(run memory)")
	root+=("$(run root)")
done
stats() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {printf "min %.3f s, median %.3f s (runs:", a[1], a[int((NR+1)/2)]; for (i=1;i<=NR;i++) printf " %.3f", a[i]; print ")"}'; }
echo "- \`--memory\`: $(stats "${mem[@]}")"
echo "- \`--root\`:   $(stats "${root[@]}")"
