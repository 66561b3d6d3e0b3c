#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Docker containers confined by their labels, with a real dockerd (started here by hand, its own
# roots, no bridge, no iptables) and the agent following its Engine API (config `docker`). The
# containers run the locally built MCP server image (Debian's node + tests/mcp/server.js) under
# --cgroup-parent in a held cgroup of the root, and ask it for an allowed and a denied endpoint:
#   - mcpfence.io/policy=NAME: bound to NAME; deny events name the container
#   - labelled while the agent is down: denied from its first packet, bound once the agent is back
#   - mcpfence.io/attest=required: held; presenting a token through the mounted socket binds it
#   - a policy that is not loaded: held; no label: left alone; outside the root: not bound, logged
#   - the daemon restarted: the agent follows the new one
source "$(dirname "$0")/lib.sh"
source "$REPO/scripts/jwt.sh"

for t in containerd dockerd skopeo umoci node; do
	command -v "$t" >/dev/null || { skip "docker: $t is not installed (scripts/install-deps.sh installs it; the vmtest guests have no container runtime)"; exit 0; }
done
"$REPO/tests/mcp/image.sh" "$REPO/build/image-mcp" >"$WORK/image-mcp.log" 2>&1 ||
	{ fail "docker: MCP server image: $(tail -5 "$WORK/image-mcp.log")"; exit 1; }
docker_start >"$WORK/daemons.log" 2>&1 || { fail "docker: $(cat "$WORK/daemons.log")"; exit 1; }
skopeo copy -q "oci:$REPO/build/image-mcp/oci:latest" "docker-archive:$WORK/mcp.tar:mcpfence-test-mcp:latest" &&
	"${DOCKER[@]}" load -q -i "$WORK/mcp.tar" >/dev/null || { fail "docker: loading the MCP server image"; exit 1; }

# --- the endpoints (on the far side of a veth), keys, policies, the agent
netns_setup || { fail "docker: netns"; exit 1; }
mkdir -p "$WORK/attest" "$WORK/tokens"
http_servers 198.51.100.1 8080 8081 || { fail "docker: the HTTP servers did not start"; exit 1; }
ISS="https://issuer.mcpfence.test"
jwt_keygen RS256 "$WORK/k1.pem"
echo "{\"keys\":[$(jwt_jwk RS256 "$WORK/k1.pem" k1)]}" >"$WORK/issuer.jwks"
jwt_sign RS256 "$WORK/k1.pem" k1 "$(jwt_claims "$ISS" "docker:attested" 600)" >"$WORK/tokens/mcpfence"
write_config '"unbound": "allow", "attest_socket": "'"$WORK"'/attest/attest.sock",
  "bindings": [ { "cgroup": "'"$ROOT_REL"'/held", "hold": true } ],
  "trust": { "issuers": [ { "issuer": "'"$ISS"'", "jwks_file": "issuer.jwks" } ] },
  "docker": { "socket": "'"$DOCKER_SOCK"'" }'
ALLOW='[ { "to": ["198.51.100.1"], "ports": ["8080"], "protocol": "tcp" } ]'
write_policy web enforce "$ALLOW"
cat >"$WORK/policies/attested.json" <<JSON
{ "apiVersion": "mcpfence/v1", "kind": "EgressPolicy", "metadata": { "name": "attested" },
  "spec": { "identity": { "issuer": "$ISS", "audience": "mcpfence", "subject": "docker:attested" },
            "egress": $ALLOW } }
JSON
agent_start || { fail "docker: agent"; exit 1; }

# run NAME [docker run options...]: the MCP server, detached with stdin open, in the held cgroup
run() {
	local name=$1
	shift
	"${DOCKER[@]}" run -d -i --name "$name" --network host --cgroup-parent "/$ROOT_REL/held" "$@" \
		mcpfence-test-mcp:latest >"$WORK/$name.id" 2>"$WORK/$name.err" || { cat "$WORK/$name.err"; return 1; }
}
# mcp_call NAME: a second MCP server process in the container (docker exec: the container's
# cgroup), asked to fetch the allowed and the denied endpoint; prints the two answers
mcp_call() {
	printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}' \
		'{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"http_get","arguments":{"url":"http://198.51.100.1:8080/"}}}' \
		'{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"http_get","arguments":{"url":"http://198.51.100.1:8081/"}}}' |
		timeout 30 "${DOCKER[@]}" exec -i "$1" /usr/bin/node /app/server.js 2>"$WORK/$1.exec.err" |
		jq -s -r 'map(select(.id == 2 or .id == 3)) | sort_by(.id)[] | .result.content[0].text' | xargs
}
bound_to() { # NAME POLICY: a bind event for the container's cgroup
	events_at_least '.type == "policy" and .action == "bind" and .policy == "'"$2"'" and (.cgroup | endswith("'"$(cat "$WORK/$1.id")"'"))' 1
}
ts_ns() { date -d "$1" +%s%N; }

# --- labelled: bound to its policy; the time from docker run to the binding
t0=$(date +%s%N)
run mcpf-web --label mcpfence.io/policy=web || { fail "docker: docker run"; exit 1; }
if wait_for 10 bound_to mcpf-web web; then
	ts=$(jq -r 'select(.type == "policy" and .action == "bind" and .policy == "web") | .ts' "$EVENTS" | tail -1)
	pass "docker: a container labelled mcpfence.io/policy=web is bound $(( ($(ts_ns "$ts") - t0) / 1000000 )) ms after docker run was called"
else
	fail "docker: no binding for the labelled container: $(grep Docker "$WORK/agent.log" | tail -3 | tr '\n' ' ')"
fi
check "docker: ... its MCP server reaches the allowed endpoint and is denied the other" "HTTP 200 EPERM" "$(mcp_call mcpf-web)"
n=$(wait_events '.type == "egress" and .verdict == "deny" and .dport == 8081 and .workload.container == "mcpf-web" and .policy == "web"' 1)
[ "$n" -ge 1 ] && pass "docker: ... the deny event names the container: $(jq -c 'select(.type == "egress" and .dport == 8081) | .workload' "$EVENTS" | tail -1)" ||
	fail "docker: no deny event naming the container: $(tail -2 "$EVENTS")"

# --- labelled while the agent is down: held (the pinned hold) from its first packet until bound
agent_stop
run mcpf-early --label mcpfence.io/policy=web || fail "docker: docker run while the agent is down"
check "docker: with the agent down, a labelled container under the held parent is denied everything" "EPERM EPERM" "$(mcp_call mcpf-early)"
agent_start || { fail "docker: agent restart"; exit 1; }
wait_for 10 bound_to mcpf-early web && pass "docker: ... the agent, back, finds it running (list) and binds it" ||
	fail "docker: the running container was not bound after the restart: $(grep Docker "$WORK/agent.log" | tail -3 | tr '\n' ' ')"
check "docker: ... then it reaches the allowed endpoint only" "HTTP 200 EPERM" "$(mcp_call mcpf-early)"
check "docker: ... and the first one kept its binding" "HTTP 200 EPERM" "$(mcp_call mcpf-web)"

# --- attest=required: held until its server presents a token through the mounted socket
run mcpf-attest --label mcpfence.io/attest=required -v "$WORK/attest:/run/mcpfence-attest:ro" \
	-v "$WORK/tokens:/var/run/secrets/tokens:ro" -e MCPF_ATTEST_SOCKET=/run/mcpfence-attest/attest.sock \
	-e MCPF_TOKEN_FILE=/var/run/secrets/tokens/mcpfence || fail "docker: docker run (attest)"
wait_for 10 events_at_least '.type == "attest" and .result == "ok" and .policy == "attested"' 1 &&
	pass "docker: a container labelled attest=required attested with a token through the mounted socket" ||
	fail "docker: no attestation: $("${DOCKER[@]}" logs mcpf-attest 2>&1 | tail -2 | tr '\n' ' ') $(tail -2 "$EVENTS")"
check "docker: ... and reaches what its identity's policy allows (the label's hold gave way)" "HTTP 200 EPERM" "$(mcp_call mcpf-attest)"
run mcpf-held --label mcpfence.io/attest=required || fail "docker: docker run (held)"
wait_for 10 events_at_least '.type == "policy" and .action == "hold" and (.cgroup | endswith("'"$(cat "$WORK/mcpf-held.id")"'"))' 1 &&
	pass "docker: a container labelled attest=required that does not attest is held" || fail "docker: no hold event"
check "docker: ... and denied everything" "EPERM EPERM" "$(mcp_call mcpf-held)"

# --- an unknown policy: held; no label: left alone; outside the root: logged, not bound
run mcpf-unknown --label mcpfence.io/policy=no-such-policy || fail "docker: docker run (unknown)"
wait_for 10 grep -q 'container mcpf-unknown names policy "no-such-policy", which is not loaded: held instead' "$WORK/agent.log" &&
	pass "docker: a label naming a policy that is not loaded: held, and the log says why" || fail "docker: no log line for the unknown policy"
check "docker: ... denied everything" "EPERM EPERM" "$(mcp_call mcpf-unknown)"
OUTSIDE="/$ROOT_REL-outside" # a cgroup parent beside the root (docker's default, /docker, would stay behind)
CLEANUP_FIRST+=('for h in "$(dirname "$CG_MOUNT")"/*/ "$CG_MOUNT/"; do rmdir "$h$OUTSIDE" 2>/dev/null; done')
"${DOCKER[@]}" run -d -i --name mcpf-plain --network host --cgroup-parent "$OUTSIDE" mcpfence-test-mcp:latest >/dev/null
check "docker: a container without labels, outside the root, is left alone" "HTTP 200 HTTP 200" "$(mcp_call mcpf-plain)"
"${DOCKER[@]}" run -d -i --name mcpf-outside --network host --cgroup-parent "$OUTSIDE" --label mcpfence.io/policy=web mcpfence-test-mcp:latest >/dev/null
wait_for 10 grep -q 'container mcpf-outside is in .* not under the guarded root' "$WORK/agent.log" &&
	pass "docker: a labelled container outside the root is not bound, and the log says to use --cgroup-parent" ||
	fail "docker: no log line for the container outside the root: $(grep Docker "$WORK/agent.log" | tail -2 | tr '\n' ' ')"

# --- the daemon restarted: the events stream ends, the agent lists the new daemon's containers
"${DOCKER[@]}" ps -aq | xargs -r "${DOCKER[@]}" rm -f >/dev/null
dockerd_stop
dockerd_start >>"$WORK/daemons.log" 2>&1 || fail "docker: dockerd restart: $(tail -3 "$WORK/daemons.log")"
run mcpf-after --label mcpfence.io/policy=web || fail "docker: docker run after the daemon's restart"
wait_for 40 bound_to mcpf-after web && pass "docker: after the daemon restarted, the agent follows the new one and binds its containers" ||
	fail "docker: not bound after the daemon's restart: $(grep Docker "$WORK/agent.log" | tail -3 | tr '\n' ' ')"
check "docker: ... which reach the allowed endpoint only" "HTTP 200 EPERM" "$(mcp_call mcpf-after)"
line=$(grep -m1 'Docker: .*events stream' "$WORK/agent.log")
[ -n "$line" ] && pass "docker: ... the lost stream was logged: ${line#mcpfence: }" || fail "docker: the lost daemon was not logged"

agent_stop && pass "docker: the agent exits cleanly (no sanitizer report)" || fail "docker: agent exit status $?"
