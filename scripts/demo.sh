#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make demo`: start an agent on a private cgroup root, confine a workload to one endpoint,
# show one connection allowed and one denied with the deny event, then remove everything.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "demo: run as root (BPF and cgroups)" >&2; exit 1; }
M=build/mcpfence NP=build/netprobe
D=$(mktemp -d /tmp/mcpfence-demo.XXXX)
CFG=$D/agent.json
agent=
cleanup() {
	[ -n "$agent" ] && kill "$agent" 2>/dev/null && wait "$agent" 2>/dev/null
	kill %1 %2 2>/dev/null || true
	$M uninstall --config "$CFG" >/dev/null 2>&1 || true
	rm -rf "$D"
}
trap cleanup EXIT

cat >"$CFG" <<JSON
{ "cgroup_root": "mcpfence-demo", "bpffs": "/sys/fs/bpf/mcpfence-demo",
  "socket": "$D/agent.sock", "policies": ["$PWD/policies/demo-mcp.json"],
  "events": { "stdout": false, "file": "$D/events.jsonl" } }
JSON
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "policy: demo-mcp may reach 127.0.0.2:8443/tcp and [::1]:8443/tcp, nothing else"
$M policy check policies/demo-mcp.json
say "start the agent (programs attach to cgroup /mcpfence-demo, state pinned in bpffs)"
$M agent --config "$CFG" 2>"$D/agent.log" &
agent=$!
for _ in $(seq 50); do [ -S "$D/agent.sock" ] && break; sleep 0.1; done
cat "$D/agent.log"
$NP listen 127.0.0.2 8443 >/dev/null &
$NP listen 127.0.0.3 8443 >/dev/null &
sleep 0.3

say "a confined workload: one allowed API, one attempt to reach elsewhere"
$M run --config "$CFG" --policy demo-mcp -- bash -c '
	exec 3<>/dev/tcp/127.0.0.2/8443 && echo "connect 127.0.0.2:8443  -> allowed"
	{ exec 4<>/dev/tcp/127.0.0.3/8443; } 2>/dev/null && echo "connect 127.0.0.3:8443  -> allowed?!" ||
		echo "connect 127.0.0.3:8443  -> denied (Operation not permitted)"
	python3 -c "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b\"x\", (\"127.0.0.2\", 53))" 2>/dev/null &&
		echo "udp 127.0.0.2:53        -> allowed?!" || echo "udp 127.0.0.2:53        -> denied (Operation not permitted)"'
sleep 1.2

say "the events (JSON lines, $D/events.jsonl)"
grep -v '"type":"policy"' "$D/events.jsonl" | jq -c '{ts, verdict, hook, protocol, dst, dport, comm, cgroup, policy}'

say "status"
$M status --config "$CFG"

say "done: stopping the agent and uninstalling"
