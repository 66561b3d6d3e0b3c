# SPDX-License-Identifier: MIT
# Shared set-up for the integration suites: a private cgroup root, bpffs directory, agent
# socket, listeners and network namespace per suite, all removed on exit even after a failure.
set -u
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# The suites run the ASan+UBSan build when there is one: the suite is the sanitizer run.
if [ -x "$REPO/build-san/mcpfence" ] && [ "${MCPF_NO_SAN:-0}" != 1 ]; then
	MCPF="$REPO/build-san/mcpfence"
else
	MCPF="$REPO/build/mcpfence"
fi
MCPF_TESTHOOKS="$(dirname "$MCPF")/mcpfence-testhooks" # the agent with its test hooks (Makefile)
NETPROBE="$REPO/build/netprobe"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=99}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=98}

ID="mcpf-it-$(basename "$0" .sh)-$$"
WORK=$(mktemp -d "/tmp/$ID.XXXX")
CG_MOUNT=$(awk '$9 == "cgroup2" { print $5; exit }' FS=' ' /proc/self/mountinfo)
[ -n "$CG_MOUNT" ] || CG_MOUNT=$(awk '{ for (i = 1; i < NF; i++) if ($i == "-" && $(i+1) == "cgroup2") { print $5; exit } }' /proc/self/mountinfo)
ROOT_REL="$ID"
ROOT="$CG_MOUNT/$ROOT_REL"
BPFFS="/sys/fs/bpf/$ID"
SOCK="$WORK/agent.sock"
EVENTS="$WORK/events.jsonl"
CONFIG="$WORK/config.json"
AGENT_PID=
BG_PIDS=()
NETNS=

pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; }
skip() { echo "SKIP $*"; }
# check NAME EXPECTED ACTUAL
check() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: expected '$2', got '$3'"; fi
}

CLEANUP_FIRST=() # commands a suite adds, run first (its containers, before their daemons go)
cleanup() {
	set +e
	for c in "${CLEANUP_FIRST[@]}"; do eval "$c"; done
	for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	agent_stop
	"$MCPF" uninstall --config "$CONFIG" >/dev/null 2>&1
	# whatever is left: processes in our cgroups, the cgroups, pins, namespace, files
	if [ -d "$ROOT" ]; then
		find "$ROOT" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -9 2>/dev/null
		sleep 0.1
		find "$ROOT" -depth -type d -exec rmdir {} + 2>/dev/null
	fi
	# on a hybrid machine, container runtimes make our cgroups in every v1 hierarchy too
	if [ "$(basename "$CG_MOUNT")" = unified ]; then
		for h in "$(dirname "$CG_MOUNT")"/*/; do
			[ -d "$h$ROOT_REL" ] && find "$h$ROOT_REL" -depth -type d -exec rmdir {} + 2>/dev/null
		done
	fi
	[ -d "$BPFFS" ] && rm -rf "$BPFFS"
	[ -n "$NETNS" ] && ip netns del "$NETNS" 2>/dev/null
	ip link del "mf$$h" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# write_config [EXTRA JSON MEMBERS]: config with our root, bpffs, socket and policies dir
write_config() {
	mkdir -p "$WORK/policies"
	cat >"$CONFIG" <<JSON
{ "cgroup_root": "$ROOT_REL", "bpffs": "$BPFFS", "socket": "$SOCK",
  "policies": ["policies/"], "events": { "stdout": false, "file": "$EVENTS",
  "rate_limit_per_cgroup": ${RATE_LIMIT:-100} }, "audit": { "history": "$WORK/bindings.json" }${1:+, $1} }
JSON
}

# write_policy NAME MODE EGRESS_JSON
write_policy() {
	cat >"$WORK/policies/$1.json" <<JSON
{ "apiVersion": "mcpfence/v1", "kind": "EgressPolicy", "metadata": { "name": "$1" },
  "spec": { "mode": "$2", "egress": $3 } }
JSON
}

agent_start() {
	"$MCPF" agent --config "$CONFIG" >>"$WORK/agent.log" 2>&1 &
	AGENT_PID=$!
	# 5 s; in the emulated vmtest guests (MCPF_TIME_SCALE) verifying the programs takes longer
	for _ in $(seq $((100 * ${MCPF_TIME_SCALE:-1}))); do
		if "$MCPF" status --config "$CONFIG" --json 2>/dev/null | grep -q '"running": true'; then
			return 0
		fi
		kill -0 "$AGENT_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "agent did not start:"; cat "$WORK/agent.log"
	return 1
}

# agent_stop: SIGTERM and wait; returns the agent's exit status (sanitizer reports are failures)
agent_stop() {
	local rc=0
	[ -n "$AGENT_PID" ] || return 0
	kill "$AGENT_PID" 2>/dev/null
	wait "$AGENT_PID" 2>/dev/null || rc=$?
	AGENT_PID=
	return $rc
}

# in_cgroup REL_PATH CMD...: run CMD inside cgroup ROOT/REL_PATH (created if needed)
in_cgroup() {
	local cg="$ROOT/$1"
	shift
	mkdir -p "$cg"
	bash -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$cg" "$@"
}

listen() { # ADDR PORT...
	"$NETPROBE" listen "$@" >"$WORK/listen.$1.out" 2>&1 &
	BG_PIDS+=($!)
	wait_ready "$WORK/listen.$1.out" && return 0
	echo "listener on $1 did not start:"; cat "$WORK/listen.$1.out"
	return 1
}

# A network namespace with a veth pair: host side 198.51.100.1 / 2001:db8:100::1, namespace
# side 198.51.100.2 / 2001:db8:100::2. Documentation prefixes, reachable only through the veth.
netns_setup() {
	NETNS="$ID"
	local h="mf$$h" n="mf$$n"
	ip netns add "$NETNS" || return 1
	ip link add "$h" type veth peer name "$n" || return 1
	ip link set "$n" netns "$NETNS"
	ip addr add 198.51.100.1/24 dev "$h"
	ip -6 addr add 2001:db8:100::1/64 dev "$h" nodad
	ip link set "$h" up
	ip -n "$NETNS" addr add 198.51.100.2/24 dev "$n"
	ip -n "$NETNS" -6 addr add 2001:db8:100::2/64 dev "$n" nodad
	ip -n "$NETNS" link set "$n" up
	ip -n "$NETNS" link set lo up
}

# http_servers ADDR PORT...: real HTTP servers (python's) on ADDR, the downstream APIs of
# the container suites; 1 if one does not answer within 5 s
http_servers() {
	local addr=$1 port
	shift
	mkdir -p "$WORK/www"
	for port in "$@"; do
		python3 -m http.server --bind "$addr" "$port" --directory "$WORK/www" >"$WORK/http.$port.log" 2>&1 &
		BG_PIDS+=($!)
	done
	for port in "$@"; do
		wait_for 5 curl -s -o /dev/null "http://$addr:$port/" || return 1
	done
}

# k8s_api_start SUITE PORT: tests/k8s_api.py over HTTPS on 127.0.0.1:PORT, a CA in $WORK/api.crt,
# the service-account token in $WORK/sa.token; sets API and api() (curl with its CA); 1 if not up
k8s_api_start() {
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=kube-apiserver" \
		-addext "subjectAltName=IP:127.0.0.1" -keyout "$WORK/api.key" -out "$WORK/api.crt" >/dev/null 2>&1 ||
		{ fail "$1: openssl could not make a certificate"; return 1; }
	echo "sa-token-1" >"$WORK/sa.token"
	python3 "$REPO/tests/k8s_api.py" "$2" "$WORK/api.crt" "$WORK/api.key" "$WORK/sa.token" >"$WORK/api.log" 2>&1 &
	BG_PIDS+=($!)
	wait_ready "$WORK/api.log" || { fail "$1: the API server did not start: $(cat "$WORK/api.log")"; return 1; }
	API="https://127.0.0.1:$2"
}
api() { curl -s --cacert "$WORK/api.crt" "$@"; }

# events_where JQ_FILTER: count event lines matching a jq boolean
events_where() {
	[ -f "$EVENTS" ] || { echo 0; return; }
	jq -c "select($1)" "$EVENTS" 2>/dev/null | wc -l
}

# wait_for SECONDS CMD...: poll CMD until it succeeds; 1 if the deadline passes first. The
# suites wait on conditions, never for a fixed time.
wait_for() {
	local end=$(( $(date +%s%N) + $(echo "$1" | awk '{ printf "%.0f", $1 * 1000000000 }') ))
	shift
	until "$@"; do
		[ "$(date +%s%N)" -ge "$end" ] && return 1
		sleep 0.05
	done
}

events_at_least() { [ "$(events_where "$1")" -ge "$2" ]; }

# wait_events JQ_FILTER N: wait (3 s at most) until N events match; prints how many do
wait_events() {
	wait_for "${3:-3}" events_at_least "$1" "$2"
	events_where "$1"
}

# agent_reload: SIGHUP, then wait until the agent says the reload succeeded or failed
agent_reload() {
	local n
	n=$(grep -c -E 'Reloaded:|Reload failed' "$WORK/agent.log")
	kill -HUP "$AGENT_PID"
	wait_for 10 eval '[ "$(grep -c -E "Reloaded:|Reload failed" "$WORK/agent.log")" -gt '"$n"' ]'
}

# wait_ready FILE: a listener started in the background has printed READY
wait_ready() { wait_for 5 grep -q READY "$1"; }

# docker_start: containerd and dockerd of our own, private roots and sockets, no bridge and no
# iptables rules, so nothing of the machine's is touched. Sets DOCKER (the client, as an array)
# and DOCKER_SOCK; its containers are removed on exit. dockerd_start (again) after a kill.
docker_start() {
	containerd --root "$WORK/ctrd/root" --state "$WORK/ctrd/state" --address "$WORK/ctrd.sock" \
		>"$WORK/containerd.log" 2>&1 &
	BG_PIDS+=($!)
	wait_for 20 ctr --address "$WORK/ctrd.sock" version >/dev/null 2>&1 ||
		{ echo "containerd did not start: $(tail -3 "$WORK/containerd.log")"; return 1; }
	DOCKER_SOCK="$WORK/docker.sock"
	DOCKER=("$([ -x /usr/bin/docker ] && echo /usr/bin/docker || echo docker)" --host "unix://$DOCKER_SOCK")
	CLEANUP_FIRST+=('"${DOCKER[@]}" ps -aq | xargs -r "${DOCKER[@]}" rm -f >/dev/null 2>&1; dockerd_stop')
	dockerd_start
}
dockerd_start() {
	dockerd --data-root "$WORK/docker" --exec-root "$WORK/docker-exec" --pidfile "$WORK/docker.pid" \
		--host "unix://$DOCKER_SOCK" --bridge none --iptables=false --ip6tables=false \
		--containerd "$WORK/ctrd.sock" >>"$WORK/dockerd.log" 2>&1 &
	DOCKERD_PID=$!
	wait_for 30 "${DOCKER[@]}" version >/dev/null 2>&1 ||
		{ echo "dockerd did not start: $(tail -3 "$WORK/dockerd.log")"; return 1; }
}
dockerd_stop() {
	[ -n "$DOCKERD_PID" ] || return 0
	kill "$DOCKERD_PID" 2>/dev/null
	wait "$DOCKERD_PID" 2>/dev/null
	DOCKERD_PID=
	umount "$WORK/docker-exec/netns/default" 2>/dev/null # the host's netns, which dockerd pins
}
