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
	for _ in $(seq 1 300); do
		if curl -fsS -o /dev/null "$1" 2>/dev/null; then
			return 0
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
	local dir="$1" port storage
	port=$(free_port)
	mkdir -p "$dir/root"
	storage="  filesystem:
    rootdirectory: $dir/root"
	if [[ "${2:-}" == inmemory ]]; then
		storage="  inmemory: {}"
	fi
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
	wait_http "http://$DISTRIBUTION_ADDR/v2/"
}
