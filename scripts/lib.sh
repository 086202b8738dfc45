# Shared helpers for the scripts in this directory. Source it.

# free_port prints a TCP port on 127.0.0.1 that nothing listens on.
free_port() {
	local p
	for _ in $(seq 1 200); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	echo "no free port found" >&2
	return 1
}

# wait_http URL waits (at most 30 s) until URL answers.
wait_http() {
	# wait_http URL [PID]: until URL answers (60 s at most), or PID exits.
	for _ in $(seq 1 600); do
		if curl -fsS -o /dev/null "$1" 2>/dev/null; then
			return 0
		fi
		if [[ -n "${2:-}" ]] && ! kill -0 "$2" 2>/dev/null; then
			echo "the server for $1 exited" >&2
			return 1
		fi
		sleep 0.1
	done
	echo "timed out waiting for $1" >&2
	return 1
}

# start_distribution DIR [inmemory]: starts the distribution registry
# (bin/tools/registry) on a free loopback port with a throw-away config and
# root under DIR (or its in-memory storage driver), sets DISTRIBUTION_ADDR
# and DISTRIBUTION_PID.
start_distribution() {
	local dir="$1" port storage attempt
	mkdir -p "$dir/root"
	storage="  filesystem:
    rootdirectory: $dir/root"
	if [[ "${2:-}" == inmemory ]]; then
		storage="  inmemory: {}"
	fi
	# A port found free can be taken by another process before the registry
	# binds it (parallel test runs): then the registry exits, and another
	# port is tried. A registry that never answers shows its log.
	for attempt in 1 2 3; do
		port=$(free_port)
		cat >"$dir/config.yml" <<EOC
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
$storage
http:
  addr: 127.0.0.1:$port
EOC
		"$TOOLS/registry" serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
		DISTRIBUTION_PID=$!
		DISTRIBUTION_ADDR="127.0.0.1:$port"
		if wait_http "http://$DISTRIBUTION_ADDR/v2/" "$DISTRIBUTION_PID"; then
			return 0
		fi
		kill "$DISTRIBUTION_PID" 2>/dev/null || true
		wait "$DISTRIBUTION_PID" 2>/dev/null || true
		echo "distribution on $DISTRIBUTION_ADDR (attempt $attempt) did not answer; its log:" >&2
		sed 's/^/  /' "$dir/registry.log" >&2
	done
	return 1
}
