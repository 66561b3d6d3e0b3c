#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Pods selected through the Kubernetes API (issue 10, item 4): the agent lists and watches the
# pods of its node and binds the pod cgroups of those selected by namespace (held until they
# attest) or by annotation (their policy), making the cgroup first when the kubelet has not.
# The API is tests/k8s_api.py over HTTPS: the real list/watch formats, bookmarks, 410 Gone,
# ended watches. A real API server cannot be installed here. An annotation is scoped (issue 20):
# NAME is a policy of the pod's own namespace, cluster/NAME a ClusterEgressPolicy admitting it;
# anything else, or a namespace held for attestation, leaves the pod held with a reason.
source "$(dirname "$0")/lib.sh"
# The API client, the annotations' scope and the policy resources are userspace logic that no
# kernel changes; the host runs this suite on its kernel, the guests keep their time for the
# suites that differ by kernel.
[ -n "${MCPF_VMTEST:-}" ] && { skip "$(basename "$0" .sh): kernel-independent (the Kubernetes API client), run on the host only"; exit 0; }

k8s_api_start k8s-api $((20000 + $$ % 20000)) || exit 1
pod() { # NAME NAMESPACE NODE QOS [ANNOTATIONS_JSON] -> uid
	local uid
	uid=$(cat /proc/sys/kernel/random/uuid)
	api -X POST --data-binary @- "$API/test/pod" >/dev/null <<JSON
{ "kind": "Pod", "apiVersion": "v1",
  "metadata": { "name": "$1", "namespace": "$2", "uid": "$uid", "annotations": ${5:-{\}} },
  "spec": { "nodeName": "$3" }, "status": { "qosClass": "$4" } }
JSON
	echo "$uid"
}

write_config '"unbound": "allow",
  "kubernetes": { "api": "'"$API"'", "token_file": "'"$WORK/sa.token"'", "ca_file": "'"$WORK/api.crt"'",
                  "node_name": "node-a", "namespaces": ["mcp"] }'
sed -i "s|\"cgroup_root\": \"$ROOT_REL\"|\"cgroup_root\": \"$ROOT_REL/kubepods\"|" "$CONFIG"
ns_policy() { # NAMESPACE NAME
	cat >"$WORK/policies/$1-$2.json" <<JSON
{ "apiVersion": "mcpfence/v1", "kind": "EgressPolicy", "metadata": { "name": "$2", "namespace": "$1" },
  "spec": { "egress": [ { "to": ["127.0.0.2"], "ports": ["8080"], "protocol": "tcp" } ] } }
JSON
}
ns_policy default annotated
ns_policy team-b wide
ns_policy mcp annotated
write_policy hostwide enforce '[ { "to": ["0.0.0.0/0"], "protocol": "any" } ]'
cat >"$WORK/policies/shared.json" <<JSON
{ "apiVersion": "mcpfence/v1", "kind": "ClusterEgressPolicy", "metadata": { "name": "shared" },
  "spec": { "namespaces": ["team-a"], "egress": [ { "to": ["127.0.0.2"], "ports": ["8080"], "protocol": "tcp" } ] } }
JSON
listen 127.0.0.2 8080 8081

A=$(pod server-a mcp node-a Burstable)
X=$(pod server-x mcp node-b Burstable)
agent_start || { fail "k8s-api: agent start"; exit 1; }
held() { "$MCPF" status --config "$CONFIG" --json | jq -e --arg cg "/$ROOT_REL/kubepods/$1" '.bindings[] | select(.cgroup == $cg and .held == true)' >/dev/null; }
bound() { "$MCPF" status --config "$CONFIG" --json | jq -e --arg cg "/$ROOT_REL/kubepods/$1" --arg p "$2" '.bindings[] | select(.cgroup == $cg and .policy == $p)' >/dev/null; }

wait_for 10 held "burstable/pod$A" && pass "k8s-api: listed: a pod of a selected namespace is held (its cgroup made by the agent)" ||
	fail "k8s-api: pod A not held: $(grep Kubernetes "$WORK/agent.log" | tail -3)"
check "k8s-api: ... a container in it is denied before the pod attests" EPERM \
	"$(in_cgroup "kubepods/burstable/pod$A/ctr" "$NETPROBE" tcp 127.0.0.2 8080)"
[ -e "$ROOT/kubepods/burstable/pod$X" ] && fail "k8s-api: a pod of another node got a cgroup" ||
	pass "k8s-api: a pod of another node is not touched (fieldSelector spec.nodeName)"

B=$(pod server-b default node-a BestEffort '{"mcpfence.io/policy": "annotated"}')
wait_for 10 bound "besteffort/pod$B" default/annotated && pass "k8s-api: watched: an annotated pod is bound to the policy of that name in its namespace" ||
	fail "k8s-api: pod B not bound: $(grep Kubernetes "$WORK/agent.log" | tail -3)"
check "k8s-api: ... allowed where its policy allows, denied elsewhere" "OK EPERM" \
	"$(in_cgroup "kubepods/besteffort/pod$B/ctr" bash -c "'$NETPROBE' tcp 127.0.0.2 8080; '$NETPROBE' tcp 127.0.0.2 8081" | xargs)"
n=$(wait_events '.type == "egress" and .dport == 8081 and .workload.pod == "default/server-b" and .workload.pod_uid == "'"$B"'"' 1)
[ "$n" -ge 1 ] && pass "k8s-api: ... the deny event names the pod: $(jq -c 'select(.type == "egress" and .dport == 8081) | .workload' "$EVENTS" | tail -1)" ||
	fail "k8s-api: no deny event naming the pod: $(tail -1 "$EVENTS")"
C=$(pod server-c default node-a Guaranteed)
D=$(pod server-d mcp node-a Guaranteed) # a marker: once D is held, C has been seen too
wait_for 10 held "pod$D" && pass "k8s-api: a Guaranteed pod of a selected namespace is held (kubepods/pod<uid>)" ||
	fail "k8s-api: pod D not held"
[ -e "$ROOT/kubepods/pod$C" ] && fail "k8s-api: an unselected pod got a cgroup from the agent" ||
	pass "k8s-api: a pod nobody selected is left alone"
check "k8s-api: ... its containers reach anything" "OK OK" \
	"$(in_cgroup "kubepods/pod$C/ctr" bash -c "'$NETPROBE' tcp 127.0.0.2 8080; '$NETPROBE' tcp 127.0.0.2 8081" | xargs)"

# --- scope: rows of (namespace, annotation) -> bound policy or held, with the hold's reason
scope_rows=(
	"team-a wide -"	# team-b's policy, by its short name: none in team-a
	"team-a team-b/wide -"	# ... or by its full name
	"team-a hostwide -"	# a host policy: never chosen by a pod
	"team-a cluster/shared shared"
	"team-b cluster/shared -"	# the cluster policy does not admit team-b
	"team-b wide team-b/wide"
	"mcp annotated -"	# a namespace held for attestation: the annotation cannot lift it
)
declare -A SCOPE_UID
i=0
for row in "${scope_rows[@]}"; do
	set -- $row
	i=$((i + 1))
	SCOPE_UID[$i]=$(pod "scope-$i" "$1" node-a Burstable '{"mcpfence.io/policy": "'"$2"'"}')
done
got=""
for j in $(seq 1 $i); do
	set -- ${scope_rows[$((j - 1))]}
	cg="burstable/pod${SCOPE_UID[$j]}"
	if [ "$3" = - ]; then
		wait_for 10 held "$cg" && got="$got held" || got="$got not-held"
	else
		wait_for 10 bound "$cg" "$3" && got="$got $3" || got="$got not-bound"
	fi
done
check "k8s-api: scope: (namespace, annotation) -> ${scope_rows[*]}" \
	" held held held shared held team-b/wide held" "$got"
reasons=$(jq -r 'select(.type == "policy" and .action == "hold" and .reason != null) | .reason' "$EVENTS")
n=0
for want in 'no policy "wide" in namespace team-a' '"team-b/wide" is not a policy of namespace team-a' \
	'no policy "hostwide" in namespace team-a' 'cluster policy shared does not admit namespace team-b' \
	'namespace mcp is held for attestation (kubernetes.namespaces): the annotation mcpfence.io/policy=annotated cannot lift the hold'; do
	grep -qF "$want" <<<"$reasons" && n=$((n + 1)) || echo "    missing hold reason: $want"
done
check "k8s-api: scope: each held pod's policy event says why" 5 "$n"
check "k8s-api: scope: a pod annotated with another namespace's policy is denied what that policy allows" EPERM \
	"$(in_cgroup "kubepods/burstable/pod${SCOPE_UID[1]}/ctr" "$NETPROBE" tcp 127.0.0.2 8080)"

# a watch that ends is resumed from the last resourceVersion (a bookmark's), without a relist
sleep 1.5 # deliberate: a bookmark is sent after a second of quiet
lists() { api "$API/test/log" | jq '[.[] | select(.query.watch == null)] | length'; }
n_lists=$(lists)
api -X POST "$API/test/close" >/dev/null
E=$(pod server-e mcp node-a BestEffort)
wait_for 10 held "besteffort/pod$E" && pass "k8s-api: after the watch ended, a new pod is still seen (resumed)" ||
	fail "k8s-api: pod E not held after the watch ended"
check "k8s-api: ... resumed without listing again" "$n_lists" "$(lists)"
last_watch_rv=$(api "$API/test/log" | jq -r '[.[] | select(.query.watch == "1")] | .[-1].query.resourceVersion')
first_rv=$(api "$API/test/log" | jq -r '[.[] | select(.query.watch == "1")] | .[0].query.resourceVersion')
[ "$last_watch_rv" -gt "$first_rv" ] && pass "k8s-api: ... from a later resourceVersion ($first_rv -> $last_watch_rv: events and bookmarks)" ||
	fail "k8s-api: resumed from $last_watch_rv (first watch $first_rv)"

# 410 Gone: the history is gone, the agent lists again and catches up
api -X POST "$API/test/compact" >/dev/null
F=$(pod server-f mcp node-a Burstable)
wait_for 10 held "burstable/pod$F" && pass "k8s-api: after 410 Gone the agent lists again and catches up" ||
	fail "k8s-api: pod F not held after 410: $(grep Kubernetes "$WORK/agent.log" | tail -3)"
[ "$(lists)" -gt "$n_lists" ] && grep -q "410 Gone" "$WORK/agent.log" &&
	pass "k8s-api: ... (a second list, and the agent says why)" || fail "k8s-api: no relist after 410"
check "k8s-api: every request carried the service-account token" "true" \
	"$(api "$API/test/log" | jq '[.[] | .authorized] | all')"
check "k8s-api: ... and selected this node's pods" "true" \
	"$(api "$API/test/log" | jq '[.[] | .query.fieldSelector == "spec.nodeName=node-a"] | all')"

# the token is read for every request: a rotated token is used on the next one
echo "sa-token-2" >"$WORK/sa.token"
api -X POST "$API/test/close" >/dev/null
G=$(pod server-g mcp node-a Burstable)
wait_for 10 held "burstable/pod$G" && pass "k8s-api: a rotated service-account token is used from the next request" ||
	fail "k8s-api: pod G not held after the token rotated"
api -X POST --data "{\"uid\": \"$G\"}" "$API/test/delete" >/dev/null
wait_for 10 eval '[ ! -e "$ROOT/kubepods/burstable/pod$G" ]' &&
	pass "k8s-api: a deleted pod that never started here: the cgroup the agent made is removed" ||
	fail "k8s-api: pod G's cgroup is still there"
agent_stop && pass "k8s-api: agent exits cleanly, the watch thread with it" || fail "k8s-api: agent exit status $?"
