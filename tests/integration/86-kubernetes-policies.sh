#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Policies as Kubernetes resources (issue 20, item 4): the agent lists and watches EgressPolicy
# and ClusterEgressPolicy objects (tests/k8s_api.py serves them in the real list/watch formats)
# and enforces them next to its files, scoped like them. An edit under a connect loop flips
# without a wrong verdict; a resource that does not parse gets a Kubernetes Event and its last
# good version stays; a deleted policy holds its pods; a restart enforces the cached resources
# before the API answers, and resumes without listing in a storm.
source "$(dirname "$0")/lib.sh"
# The API client, the annotations' scope and the policy resources are userspace logic that no
# kernel changes; the host runs this suite on its kernel, the guests keep their time for the
# suites that differ by kernel.
[ -n "${MCPF_VMTEST:-}" ] && { skip "$(basename "$0" .sh): kernel-independent (the Kubernetes API client), run on the host only"; exit 0; }

k8s_api_start k8s-policies $((20000 + ($$ + 7919) % 20000)) || exit 1
pod() { # NAME NAMESPACE ANNOTATIONS_JSON [UID: change that pod] -> uid
	local uid=${4:-$(cat /proc/sys/kernel/random/uuid)}
	api -X POST --data-binary @- "$API/test/pod" >/dev/null <<JSON
{ "kind": "Pod", "apiVersion": "v1",
  "metadata": { "name": "$1", "namespace": "$2", "uid": "$uid", "annotations": $3 },
  "spec": { "nodeName": "node-a" }, "status": { "qosClass": "Burstable" } }
JSON
	echo "$uid"
}
resource() { # PLURAL UID NAME NAMESPACE SPEC_JSON: add or change a policy resource
	local ns=""
	[ -n "$4" ] && ns=", \"namespace\": \"$4\""
	api -X POST --data-binary @- "$API/test/object" >/dev/null <<JSON
{ "resource": "$1", "object": { "apiVersion": "mcpfence.io/v1", "kind": "$( [ "$1" = egresspolicies ] && echo EgressPolicy || echo ClusterEgressPolicy)",
  "metadata": { "name": "$3", "uid": "$2"$ns, "generation": 1 }, "spec": $5 } }
JSON
}
rule() { echo '{ "egress": [ { "to": ["127.0.0.2"], "ports": ["'"$1"'"], "protocol": "tcp" } ]'"${2:-}"' }'; }

write_config '"unbound": "allow",
  "kubernetes": { "api": "'"$API"'", "token_file": "'"$WORK/sa.token"'", "ca_file": "'"$WORK/api.crt"'",
                  "node_name": "node-a", "policies": true, "policy_cache": "'"$WORK/cache/k8s-policies.json"'" }'
sed -i "s|\"cgroup_root\": \"$ROOT_REL\"|\"cgroup_root\": \"$ROOT_REL/kubepods\"|" "$CONFIG"
write_policy filed enforce '[ { "to": ["127.0.0.3"], "ports": ["9000"], "protocol": "tcp" } ]'
cat >"$WORK/policies/moved.json" <<JSON
{ "apiVersion": "mcpfence/v1", "kind": "EgressPolicy", "metadata": { "name": "moved", "namespace": "team-c" },
  "spec": { "egress": [ { "to": ["127.0.0.2"], "ports": ["8080"], "protocol": "tcp" } ] } }
JSON
listen 127.0.0.2 8080 8081 8082

resource egresspolicies u-web web team-a "$(rule 8080)"
resource clusteregresspolicies u-shared shared "" "$(rule 8081 ', "namespaces": ["team-b"]')"
A=$(pod web-0 team-a '{"mcpfence.io/policy": "web"}')
B=$(pod shared-0 team-b '{"mcpfence.io/policy": "cluster/shared"}')
agent_start || { fail "k8s-policies: agent start"; exit 1; }
status() { "$MCPF" status --config "$CONFIG" --json; }
bound() { status | jq -e --arg cg "/$ROOT_REL/kubepods/burstable/pod$1" --arg p "$2" '.bindings[] | select(.cgroup == $cg and .policy == $p)' >/dev/null; }
held() { status | jq -e --arg cg "/$ROOT_REL/kubepods/burstable/pod$1" '.bindings[] | select(.cgroup == $cg and .held == true)' >/dev/null; }
probe() { in_cgroup "kubepods/burstable/pod$1/ctr" bash -c "for p in ${*:2}; do '$NETPROBE' tcp 127.0.0.2 \$p; done" | xargs; }

wait_for 10 bound "$A" team-a/web && pass "k8s-policies: an EgressPolicy resource binds the pod of its namespace that names it" ||
	fail "k8s-policies: pod A not bound: $(grep Kubernetes "$WORK/agent.log" | tail -3)"
wait_for 10 bound "$B" shared && pass "k8s-policies: a ClusterEgressPolicy resource binds a pod of a namespace it admits" ||
	fail "k8s-policies: pod B not bound"
check "k8s-policies: ... each enforced as written (web: 8080; shared: 8081)" "OK EPERM EPERM | EPERM OK EPERM" \
	"$(probe "$A" 8080 8081 8082) | $(probe "$B" 8080 8081 8082)"
check "k8s-policies: file policies are loaded next to them" "filed shared team-a/web team-c/moved" \
	"$(status | jq -r '[.policies[].name] | sort | join(" ")')"

# --- an edit under a connect loop: every pair of connects sees the old or the new policy
loop() { # POD SECONDS OUT: rounds of connects to 8080 8081 8082 from the pod, in the background
	in_cgroup "kubepods/burstable/pod$1/ctr" bash -c "end=\$((\$(date +%s) + $2)); while [ \$(date +%s) -lt \$end ]; do
	echo \"\$('$NETPROBE' tcp 127.0.0.2 8080) \$('$NETPROBE' tcp 127.0.0.2 8081) \$('$NETPROBE' tcp 127.0.0.2 8082)\"; done" >"$3" &
	LOOP=$!
}
rounds() { sort "$1" | uniq -c | awk '{ print $2 "/" $3 "/" $4 "=" $1 }' | xargs; }
loop "$A" 6 "$WORK/loop.txt"
sleep 2 # deliberate: the loop runs on the old policy first
t0=$(date +%s%N)
resource egresspolicies u-web web team-a "$(rule 8081)"
wait_for 10 eval '[ "$(probe "$A" 8080 8081)" = "EPERM OK" ]' && t1=$(date +%s%N)
wait "$LOOP"
pairs=$(rounds "$WORK/loop.txt")
wrong=$(grep -cvE '^(OK EPERM|EPERM OK|OK OK) EPERM$' "$WORK/loop.txt")
check "k8s-policies: edited under a connect loop ($(wc -l <"$WORK/loop.txt") rounds of 8080/8081/8082: $pairs): 0 wrong verdicts" 0 "$wrong"
grep -q "^EPERM OK EPERM" "$WORK/loop.txt" && grep -q "^OK EPERM EPERM" "$WORK/loop.txt" &&
	pass "k8s-policies: ... the loop saw both versions; enforced $(( (t1 - t0) / 1000000 )) ms after the change reached the API" ||
	fail "k8s-policies: the loop did not see both versions: $pairs"

# --- how long from a change reaching the API to the verdict on the node: 20 edits
lat=()
for i in $(seq 1 20); do
	port=$((8080 + i % 2))
	t0=$(date +%s%N)
	resource egresspolicies u-web web team-a "$(rule $port)"
	wait_for 10 eval '[ "$(in_cgroup "kubepods/burstable/pod$A/ctr" "$NETPROBE" tcp 127.0.0.2 $port)" = OK ]' || break
	lat+=($(( ($(date +%s%N) - t0) / 1000000 )))
done
stats=$(printf '%s\n' "${lat[@]}" | sort -n | awk '{ v[NR] = $1 } END { printf "%d %d %d", NR, v[int((NR + 1) / 2)], v[NR] }')
set -- $stats
[ "$1" -eq 20 ] && [ "$3" -lt 5000 ] &&
	pass "k8s-policies: from a change at the API to its verdict on the node, 20 edits: p50 $2 ms, p99 (max of 20) $3 ms (polled by connects)" ||
	fail "k8s-policies: edits enforced: $stats"
resource egresspolicies u-web web team-a "$(rule 8081)"
wait_for 10 eval '[ "$(probe "$A" 8081)" = OK ]'

# --- a resource that does not parse: an Event on it, its last good version stays, nothing else moves
resource egresspolicies u-web web team-a '{ "egress": [ { "to": ["10.0.0.1/8"] } ] }'
wait_for 10 eval 'api "$API/test/events" | jq -e "length > 0" >/dev/null'
ev=$(api "$API/test/events" | jq -c '.[0] | {namespace, reason: .event.reason, type: .event.type, object: .event.involvedObject, message: .event.message}')
echo "$ev" | jq -e '.namespace == "team-a" and .reason == "PolicyRefused" and .type == "Warning" and .object.kind == "EgressPolicy" and .object.name == "web" and .object.uid == "u-web" and (.message | contains("spec.egress[0].to"))' >/dev/null &&
	pass "k8s-policies: a malformed resource gets a Warning Event on it, with the JSON path: $(echo "$ev" | jq -r .message)" ||
	fail "k8s-policies: no Event: $ev"
check "k8s-policies: ... its last good version stays in force, the others too" "EPERM OK | EPERM OK" \
	"$(probe "$A" 8080 8081) | $(probe "$B" 8080 8081)"
check "k8s-policies: ... the Event was posted once, with the agent's token" "1 true" \
	"$(api "$API/test/events" | jq length) $(api "$API/test/log" | jq '[.[] | select(.method == "POST") | .authorized] | all')"

# --- a name a file takes: refused; a namespace's policy for another namespace's pod: never
resource clusteregresspolicies u-filed filed "" "$(rule 8082 ', "namespaces": ["team-a"]')"
wait_for 10 eval 'api "$API/test/events" | jq -e "[.[] | select(.event.involvedObject.name == \"filed\")] | length == 1" >/dev/null' &&
	pass "k8s-policies: a resource whose name a file takes is refused, with its Event" || fail "k8s-policies: no Event for filed"

# --- renamed under a connect loop: web-v2 made, the pod's annotation moved to it, web deleted
loop "$A" 5 "$WORK/rename.txt"
sleep 1 # deliberate: the loop runs before the rename
resource egresspolicies u-web2 web-v2 team-a "$(rule 8081)"
pod web-0 team-a '{"mcpfence.io/policy": "web-v2"}' "$A" >/dev/null
wait_for 10 bound "$A" team-a/web-v2 || fail "k8s-policies: pod A did not follow the rename"
api -X POST --data '{"uid": "u-web"}' "$API/test/delete" >/dev/null
wait "$LOOP"
check "k8s-policies: renamed under a connect loop ($(rounds "$WORK/rename.txt")): 0 wrong verdicts, the pod now on team-a/web-v2" \
	"0 team-a/web-v2" "$(grep -cv '^EPERM OK EPERM$' "$WORK/rename.txt") $(status | jq -r --arg cg "/$ROOT_REL/kubepods/burstable/pod$A" '.bindings[] | select(.cgroup == $cg) | .policy')"

# --- deleted under a connect loop: its pods are held, never widened to the unbound action
loop "$B" 4 "$WORK/delete.txt"
sleep 1 # deliberate: the loop runs on the policy first
api -X POST --data '{"uid": "u-shared"}' "$API/test/delete" >/dev/null
wait "$LOOP"
wait_for 10 held "$B" && pass "k8s-policies: a deleted ClusterEgressPolicy: its pod is held" || fail "k8s-policies: pod B not held"
check "k8s-policies: ... under a connect loop ($(rounds "$WORK/delete.txt")): 0 wrong verdicts (each round the policy's or nothing; never the unbound action)" \
	"0 yes" "$(grep -cvE '^(EPERM OK|EPERM EPERM) EPERM$' "$WORK/delete.txt") $(tail -1 "$WORK/delete.txt" | grep -q '^EPERM EPERM EPERM$' && echo yes)"

# --- a ConfigMap policy moved to a resource (docs/kubernetes.md, Upgrading): no window
M=$(pod moved-0 team-c '{"mcpfence.io/policy": "moved"}')
wait_for 10 bound "$M" team-c/moved || fail "k8s-policies: pod M not bound to the file policy"
resource egresspolicies u-moved moved team-c "$(rule 8082)"
wait_for 10 eval 'api "$API/test/events" | jq -e "[.[] | select(.event.involvedObject.name == \"moved\")] | length == 1" >/dev/null' &&
	pass "k8s-policies: upgrade: the resource of the same name waits while the file is there (its Event says the file goes first)" ||
	fail "k8s-policies: no Event for the resource named like the file"
check "k8s-policies: ... meanwhile the file's version is enforced" "OK EPERM" "$(probe "$M" 8080 8082)"
rm "$WORK/policies/moved.json"
agent_reload || fail "k8s-policies: reload"
check "k8s-policies: upgrade: the file removed, the resource's version takes over in the same flip" "EPERM OK" "$(probe "$M" 8080 8082)"
check "k8s-policies: ... the pod was never unbound or held meanwhile" 0 \
	"$(events_where '.type == "policy" and (.action == "unbind" or .action == "hold") and (.cgroup | contains("'"$M"'"))')"

# --- restart: the cache enforces before the API answers; the watch resumes without a storm
lists() { api "$API/test/log" | jq --arg p "$1" '[.[] | select(.path == $p and .query.watch == null)] | length'; }
before="$(lists /apis/mcpfence.io/v1/egresspolicies) $(lists /apis/mcpfence.io/v1/clusteregresspolicies)"
agent_stop
agent_start || fail "k8s-policies: agent restart"
sleep 2.5 # deliberate: time for a storm to show (two bookmarks' worth)
check "k8s-policies: restarted with the API up: one list per resource, then watches (no relist storm)" "1 1" \
	"$(( $(lists /apis/mcpfence.io/v1/egresspolicies) - ${before% *} )) $(( $(lists /apis/mcpfence.io/v1/clusteregresspolicies) - ${before#* } ))"
check "k8s-policies: ... the pods keep their bindings through it" "EPERM OK" "$(probe "$A" 8080 8081)"
agent_stop
kill "${BG_PIDS[0]}" 2>/dev/null # the API is down while the agent starts
agent_start || fail "k8s-policies: agent restart"
check "k8s-policies: restarted with the API down: the cached policy (web-v2) still binds its pod" "EPERM OK" "$(probe "$A" 8080 8081)"
grep -q "policy resources from the cache" "$WORK/agent.log" && pass "k8s-policies: ... read from $(basename "$WORK/cache/k8s-policies.json") (mode $(stat -c %a "$WORK/cache/k8s-policies.json"))" ||
	fail "k8s-policies: no cache read"
agent_stop && pass "k8s-policies: agent exits cleanly, its watches with it" || fail "k8s-policies: agent exit status $?"
