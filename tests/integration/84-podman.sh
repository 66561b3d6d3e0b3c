#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# podman with the hooks.d entry this project ships (deploy/podman/mcpfence.json): the OCI hook
# binds an annotated container before its process starts. podman runs here with runc and the
# cgroupfs manager (crun refuses this machine's hybrid cgroups), its own storage, no events
# journal; the MCP server image is the locally built one. The MCP server's very first calls,
# made as it starts, already meet its policy.
source "$(dirname "$0")/lib.sh"

for t in podman runc skopeo umoci node; do
	command -v "$t" >/dev/null || { skip "podman: $t is not installed (scripts/install-deps.sh installs it; the vmtest guests have no container runtime)"; exit 0; }
done
"$REPO/tests/mcp/image.sh" "$REPO/build/image-mcp" >"$WORK/image-mcp.log" 2>&1 ||
	{ fail "podman: MCP server image: $(tail -5 "$WORK/image-mcp.log")"; exit 1; }
PODMAN=(podman --root "$WORK/podman" --runroot "$WORK/podman-run" --storage-driver vfs --runtime runc
	--cgroup-manager cgroupfs --events-backend none --hooks-dir "$WORK/hooks.d")
CLEANUP_FIRST+=('"${PODMAN[@]}" rm -a -f >/dev/null 2>&1; "${PODMAN[@]}" rmi -a -f >/dev/null 2>&1; rm -rf "$WORK/podman" 2>/dev/null')
# the shipped hooks.d entry, pointed at this build and this agent's socket
mkdir -p "$WORK/hooks.d"
jq --arg path "$MCPF" --arg sock "$SOCK" '.hook.path = $path | .hook.args[3] = $sock' \
	"$REPO/deploy/podman/mcpfence.json" >"$WORK/hooks.d/mcpfence.json"
skopeo copy -q "oci:$REPO/build/image-mcp/oci:latest" "oci-archive:$WORK/mcp.tar:mcpfence-test-mcp:latest" &&
	"${PODMAN[@]}" load -q -i "$WORK/mcp.tar" >/dev/null || { fail "podman: loading the MCP server image"; exit 1; }

netns_setup || { fail "podman: netns"; exit 1; }
http_servers 198.51.100.1 8080 8081 || { fail "podman: the HTTP servers did not start"; exit 1; }
write_config '"unbound": "allow"'
write_policy web enforce '[ { "to": ["198.51.100.1"], "ports": ["8080"], "protocol": "tcp" } ]'
agent_start || { fail "podman: agent"; exit 1; }

# mcp_run NAME [podman run options...]: the MCP server in a new container under the root, asked
# at once for the allowed and the denied endpoint; prints the two answers, or the exit status
mcp_run() {
	local name=$1 rc
	shift
	printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}' \
		'{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"http_get","arguments":{"url":"http://198.51.100.1:8080/"}}}' \
		'{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"http_get","arguments":{"url":"http://198.51.100.1:8081/"}}}' |
		timeout 60 "${PODMAN[@]}" run -i --rm --name "$name" --network host --cgroup-parent "/$ROOT_REL/podman" \
			--ulimit nofile="$(ulimit -Hn):$(ulimit -Hn)" --ulimit nproc=4096:4096 "$@" \
			mcpfence-test-mcp:latest >"$WORK/$name.out" 2>"$WORK/$name.err"
	rc=$?
	[ "$rc" -eq 0 ] || { echo "exit=$rc $(tr '\n' ' ' <"$WORK/$name.err" | head -c 300)"; return; }
	jq -s -r 'map(select(.id == 2 or .id == 3)) | sort_by(.id)[] | .result.content[0].text' "$WORK/$name.out" | xargs
}

check "podman: annotated mcpfence.io/policy=web, the hook binds it before it starts: its first calls meet the policy" \
	"HTTP 200 EPERM" "$(mcp_run mcpf-web --annotation mcpfence.io/policy=web)"
n=$(wait_events '.type == "policy" and .action == "bind" and .policy == "web" and (.cgroup | contains("/podman/libpod-"))' 1)
[ "$n" -ge 1 ] && pass "podman: ... the bind event names the container's cgroup" || fail "podman: no bind event: $(tail -2 "$EVENTS")"
n=$(wait_events '.type == "egress" and .dport == 8081 and .policy == "web" and (.workload.container_id | length) == 12' 1)
[ "$n" -ge 1 ] && pass "podman: ... its deny event names the container: $(jq -c 'select(.type == "egress" and .dport == 8081) | .workload' "$EVENTS" | tail -1)" ||
	fail "podman: no deny event naming the container: $(tail -1 "$EVENTS")"
check "podman: annotated mcpfence.io/attest=required and no token: held, denied everything" \
	"EPERM EPERM" "$(mcp_run mcpf-held --annotation mcpfence.io/attest=required)"
check "podman: no annotation: the hook does not run, the container is left alone (unbound: allow)" \
	"HTTP 200 HTTP 200" "$(mcp_run mcpf-plain)"
got=$(mcp_run mcpf-unknown --annotation mcpfence.io/policy=no-such-policy)
echo "$got" | grep -q "^exit=" && pass "podman: a policy that is not loaded: the hook fails and podman does not start the container" ||
	fail "podman: the container with an unknown policy ran: $got"
agent_stop
got=$(mcp_run mcpf-down --annotation mcpfence.io/policy=web)
echo "$got" | grep -q "^exit=" && pass "podman: with the agent down, an annotated container is refused (the hook exits 1): ${got:0:120}" ||
	fail "podman: an annotated container ran without the agent: $got"
