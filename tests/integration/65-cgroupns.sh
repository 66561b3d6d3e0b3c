#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The agent in a private cgroup namespace with its own cgroup2 mount, as containerd starts a
# DaemonSet's container on cgroup v2 (issue 10, item 1). A level counted from that mount misses
# the real hierarchy, so every guard check failed and guarded cgroups were not enforced (fail
# open). The agent now finds the root's real level with a BPF probe, and proves enforcement with
# a canary before it says it is ready; with the old computation forced, the canary refuses.
source "$(dirname "$0")/lib.sh"

CTR="$ROOT/ctr" # the "container's" cgroup: the root of the agent's cgroup namespace
mkdir -p "$CTR"
write_config
# inside the namespace the mount starts at $CTR: the guarded root is $CTR/guarded
sed -i "s|\"cgroup_root\": \"$ROOT_REL\"|\"cgroup_root\": \"guarded\"|" "$CONFIG"
write_policy web enforce '[ { "to": ["127.0.0.2"], "ports": ["8080"], "protocol": "tcp" } ]'
listen 127.0.0.2 8080 8081

# ns_agent [ENV...]: the agent in new cgroup and mount namespaces, cgroup2 mounted from inside;
# with ENV (a test hook's switch) the test build that reads it
ns_agent() {
	bash -c 'echo $$ > "$0/cgroup.procs" && exec env "$@"' "$CTR" "$@" \
		unshare --cgroup --mount --propagation private sh -c \
		'umount -l "$0" && mount -t cgroup2 cgroup2 "$0" && exec "$1" agent --config "$2"' "$CG_MOUNT" \
		"$([ $# -gt 0 ] && echo "$MCPF_TESTHOOKS" || echo "$MCPF")" "$CONFIG" \
		>>"$WORK/agent.log" 2>&1 &
	AGENT_PID=$!
}
running() { "$MCPF" status --config "$CONFIG" --json 2>/dev/null | grep -q '"running": true'; }

# refuses WHAT CGROUP PATTERN START...: the agent START runs must exit 1, log PATTERN (why),
# and leave nothing attached to CGROUP or pinned
refuses() {
	local what=$1 cg=$2 pattern=$3 rc
	shift 3
	"$@"
	wait "$AGENT_PID"
	rc=$?
	AGENT_PID=
	check "$what: the agent refuses to run" 1 "$rc"
	grep -q "$pattern" "$WORK/agent.log" && pass "$what: ... and says why" || fail "$what: $(tail -3 "$WORK/agent.log")"
	check "$what: ... and leaves nothing attached or pinned" "0 no" \
		"$(bpftool cgroup show "$cg" 2>/dev/null | grep -c mcpf) $([ -e "$BPFFS" ] && echo yes || echo no)"
}

# --- the old computation, forced: the canary must refuse to run
refuses "cgroupns: with the level counted from the mount (the old way)" "$CTR/guarded" \
	"Enforcement canary failed: a connect from .* was not seen by the programs" ns_agent MCPF_TEST_LEVEL_FROM_PATH=1

# --- the shipped binary has no test hooks: the same switch changes nothing
grep -q MCPF_TEST "$MCPF" && fail "cgroupns: the shipped binary reads a test switch" ||
	pass "cgroupns: the shipped binary has no test switch (only build/mcpfence-testhooks reads them)"

# --- the real level: enforced (the switch of the row above given to the shipped binary)
bash -c 'echo $$ > "$0/cgroup.procs" && exec env MCPF_TEST_LEVEL_FROM_PATH=1 "$@"' "$CTR" \
	unshare --cgroup --mount --propagation private sh -c \
	'umount -l "$0" && mount -t cgroup2 cgroup2 "$0" && exec "$1" agent --config "$2"' "$CG_MOUNT" "$MCPF" "$CONFIG" \
	>>"$WORK/agent.log" 2>&1 &
AGENT_PID=$!
# 30 s: the vmtest guests run on qemu's TCG, where verifying the programs alone takes seconds
wait_for 30 running || { fail "cgroupns: agent start: $(tail -5 "$WORK/agent.log")"; exit 1; }
real=$(( $(echo "$CTR" | sed "s|^$CG_MOUNT||" | tr -cd / | wc -c) + 1 ))
grep -q "cgroup root .* is at level $real of the hierarchy" "$WORK/agent.log" &&
	pass "cgroupns: the agent finds the root's real level ($real), not the mount's (1)" ||
	fail "cgroupns: level: $(grep -i level "$WORK/agent.log" | tail -2)"
grep -q "Enforcement canary passed" "$WORK/agent.log" && pass "cgroupns: the canary passed before ready" ||
	fail "cgroupns: no canary"
check "cgroupns: an unbound guarded cgroup is denied (it got ECONNREFUSED: fail open)" EPERM \
	"$(in_cgroup ctr/guarded/unbound "$NETPROBE" tcp 127.0.0.2 8081)"
mkdir -p "$CTR/guarded/web"
"$NETPROBE" unix-send "$SOCK" '{"op":"bind","cgroup":"guarded/web","policy":"web"}' >/dev/null
check "cgroupns: a bound cgroup gets its policy: allowed" OK "$(in_cgroup ctr/guarded/web "$NETPROBE" tcp 127.0.0.2 8080)"
check "cgroupns: ... and denied" EPERM "$(in_cgroup ctr/guarded/web "$NETPROBE" tcp 127.0.0.2 8081)"
out=$(bash -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$CTR" unshare --cgroup --mount --propagation private \
	sh -c 'umount -l "$0" && mount -t cgroup2 cgroup2 "$0" && exec "$1" probe --json' "$CG_MOUNT" "$MCPF" 2>&1)
echo "$out" | jq -r '.features["cgroup level discovery"].detail' | grep -q "starts at level $((real - 1))" &&
	pass "cgroupns: probe reports where the namespace's mount starts" ||
	fail "cgroupns: probe: $(echo "$out" | jq -c '.features["cgroup level discovery"]' 2>&1 | head -c 300)"
agent_stop && pass "cgroupns: agent exits cleanly (no sanitizer report)" || fail "cgroupns: agent exit status $?"
bash -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$CTR" unshare --cgroup --mount --propagation private \
	sh -c 'umount -l "$0" && mount -t cgroup2 cgroup2 "$0" && exec "$1" uninstall --config "$2"' "$CG_MOUNT" "$MCPF" "$CONFIG" \
	>/dev/null 2>&1 || fail "cgroupns: uninstall in the namespace"

# --- the DaemonSet layout: a private cgroup namespace (the agent's container), the host's
# cgroupfs mounted as it is, and the guarded root outside the namespace (the pods are not below
# the agent's own pod). /proc/PID/cgroup of a pod then reads "/../..", and no process can be
# moved into the root: the agent joins pid 1's cgroup namespace (it has the host's PIDs).
write_config
sed -i "s|\"cgroup_root\": \"$ROOT_REL\"|\"cgroup_root\": \"$ROOT_REL/pods\"|" "$CONFIG"
ds_agent() {
	bash -c 'echo $$ > "$0/cgroup.procs" && exec env "$@"' "$CTR" "$@" \
		unshare --cgroup "$([ $# -gt 0 ] && echo "$MCPF_TESTHOOKS" || echo "$MCPF")" agent --config "$CONFIG" \
		>>"$WORK/agent.log" 2>&1 &
	AGENT_PID=$!
}
: >"$WORK/agent.log"
refuses "cgroupns/daemonset: staying in the private namespace (the old way)" "$ROOT/pods" \
	"Cannot move a process into cgroup root .* outside our cgroup namespace" ds_agent MCPF_TEST_NO_CGROUPNS_JOIN=1
ds_agent
wait_for 30 running || { fail "cgroupns/daemonset: agent start: $(tail -5 "$WORK/agent.log")"; exit 1; }
grep -q "Joined the host.s cgroup namespace" "$WORK/agent.log" && grep -q "Enforcement canary passed" "$WORK/agent.log" &&
	pass "cgroupns/daemonset: the agent joins the host's cgroup namespace and its canary passes" ||
	fail "cgroupns/daemonset: $(tail -5 "$WORK/agent.log")"
check "cgroupns/daemonset: an unbound pod is denied" EPERM "$(in_cgroup pods/unbound "$NETPROBE" tcp 127.0.0.2 8081)"
mkdir -p "$ROOT/pods/web"
out=$("$NETPROBE" unix-send "$SOCK" '{"op":"bind","cgroup":"'"$ROOT_REL"'/pods/web","policy":"web"}')
echo "$out" | grep -q '"ok": *true' && pass "cgroupns/daemonset: the host's root binds a pod over the control socket" ||
	fail "cgroupns/daemonset: bind: $out"
check "cgroupns/daemonset: the bound pod: allowed" OK "$(in_cgroup pods/web "$NETPROBE" tcp 127.0.0.2 8080)"
check "cgroupns/daemonset: ... and denied" EPERM "$(in_cgroup pods/web "$NETPROBE" tcp 127.0.0.2 8081)"
out=$(in_cgroup pods/web "$NETPROBE" unix-send "$SOCK" '{"op":"unbind","cgroup":"'"$ROOT_REL"'/pods/web"}')
echo "$out" | grep -q "needs a root peer\|guarded\|not allowed" && pass "cgroupns/daemonset: a pod's root is still no operator" ||
	fail "cgroupns/daemonset: unbind from the pod: $out"
agent_stop && pass "cgroupns/daemonset: agent exits cleanly" || fail "cgroupns/daemonset: agent exit status $?"
