#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Workload identity end to end on the real kernel: tokens made with openssl select different
# allowlists, a wrong-claims token gets nothing, expiry is enforced by the kernel with the agent
# dead, renewal has no gap, the backstop cuts flows at expiry, non-root workloads attest.
source "$(dirname "$0")/lib.sh"
source "$REPO/scripts/jwt.sh"

ISS="https://issuer.mcpfence.test"
jwt_keygen RS256 "$WORK/k1.pem"
jwt_keygen EdDSA "$WORK/e1.pem"
echo "{\"keys\":[$(jwt_jwk RS256 "$WORK/k1.pem" k1),$(jwt_jwk EdDSA "$WORK/e1.pem" e1)]}" >"$WORK/issuer.jwks"
ATTEST_SOCK="$WORK/attest.sock"
K8S_ISS="https://kubernetes.default.svc.mcpfence.test"
write_config '"attest_socket": "'"$ATTEST_SOCK"'",
  "bindings": [ { "cgroup": "'"$ROOT_REL"'/held", "hold": true } ],
  "trust": { "issuers": [ { "issuer": "'"$ISS"'", "jwks_file": "issuer.jwks", "algorithms": ["RS256", "EdDSA"] },
    { "issuer": "'"$K8S_ISS"'", "jwks_file": "issuer.jwks", "kubernetes": true, "require_iat": true } ] }'
ident() { # NAME SUB DST
	cat >"$WORK/policies/$1.json" <<JSON
{ "apiVersion": "mcpfence/v1", "kind": "EgressPolicy", "metadata": { "name": "$1" },
  "spec": { "identity": { "issuer": "$ISS", "audience": "mcpfence", "subject": "$2" },
            "egress": [ { "to": ["$3"], "ports": ["8080"], "protocol": "tcp" } ] } }
JSON
}
ident team-a workload-a 127.0.0.2
ident team-b workload-b 127.0.0.3
cat >"$WORK/policies/k8s.json" <<JSON
{ "apiVersion": "mcpfence/v1", "kind": "EgressPolicy", "metadata": { "name": "k8s-github" },
  "spec": { "identity": { "issuer": "$K8S_ISS", "audience": "mcpfence",
              "claims": { "kubernetes.io.namespace": "mcp", "kubernetes.io.serviceaccount.name": "github-mcp" } },
            "egress": [ { "to": ["127.0.0.2"], "ports": ["8080"], "protocol": "tcp" } ] } }
JSON
# scoped policies (issue 20) whose identity blocks forget the namespace: scope still holds
cat >"$WORK/policies/team-x.json" <<JSON
{ "apiVersion": "mcpfence/v1", "kind": "EgressPolicy", "metadata": { "name": "api", "namespace": "team-x" },
  "spec": { "identity": { "issuer": "$K8S_ISS", "audience": "mcpfence", "claims": { "kubernetes.io.serviceaccount.name": "api" } },
            "egress": [ { "to": ["127.0.0.2"], "ports": ["8080"], "protocol": "tcp" } ] } }
JSON
cat >"$WORK/policies/workers.json" <<JSON
{ "apiVersion": "mcpfence/v1", "kind": "ClusterEgressPolicy", "metadata": { "name": "workers" },
  "spec": { "namespaces": ["team-x"],
            "identity": { "issuer": "$K8S_ISS", "audience": "mcpfence", "claims": { "kubernetes.io.serviceaccount.name": "worker" } },
            "egress": [ { "to": ["127.0.0.2"], "ports": ["8080"], "protocol": "tcp" } ] } }
JSON
cat >"$WORK/policies/ns-sub.json" <<JSON
{ "apiVersion": "mcpfence/v1", "kind": "EgressPolicy", "metadata": { "name": "by-subject", "namespace": "team-x" },
  "spec": { "identity": { "issuer": "$ISS", "audience": "mcpfence", "subject": "workload-ns" },
            "egress": [ { "to": ["127.0.0.2"], "ports": ["8080"], "protocol": "tcp" } ] } }
JSON
agent_start || { fail "identity: agent start"; exit 1; }
listen 127.0.0.2 8080 8090
listen 127.0.0.3 8080
token() { jwt_sign "${4:-RS256}" "$WORK/${5:-k1}.pem" "${5:-k1}" "$(jwt_claims "$ISS" "$1" "$2" "${3:-}")" >"$WORK/$1.$2.jwt"; echo "$WORK/$1.$2.jwt"; }
A=$(token workload-a 600)
B=$(token workload-b 600 "" EdDSA e1)
C=$(token workload-c 600)

# --- two workloads, two tokens, two allowlists
check "identity: token A (RS256) selects team-a: 127.0.0.2 allowed" OK \
	"$("$MCPF" run --config "$CONFIG" --token-file "$A" -- "$NETPROBE" tcp 127.0.0.2 8080 2>&1)"
check "identity: token A: 127.0.0.3 denied" EPERM \
	"$("$MCPF" run --config "$CONFIG" --token-file "$A" -- "$NETPROBE" tcp 127.0.0.3 8080 2>&1)"
check "identity: token B (EdDSA) selects team-b: 127.0.0.3 allowed" OK \
	"$("$MCPF" run --config "$CONFIG" --token-file "$B" -- "$NETPROBE" tcp 127.0.0.3 8080 2>&1)"
check "identity: token B: 127.0.0.2 denied" EPERM \
	"$("$MCPF" run --config "$CONFIG" --token-file "$B" -- "$NETPROBE" tcp 127.0.0.2 8080 2>&1)"

# --- a valid token whose claims match no policy gets nothing
out=$("$MCPF" run --config "$CONFIG" --token-file "$C" -- "$NETPROBE" tcp 127.0.0.2 8080 2>&1); rc=$?
check "identity: wrong-claims token: run refuses to start the command" 125 "$rc"
echo "$out" | grep -q "no_matching_policy" && pass "identity: ... and says why (no_matching_policy)" ||
	fail "identity: run output: $out"
got=$(in_cgroup wl-c bash -c "'$MCPF' attest --attest-socket '$ATTEST_SOCK' --token-file '$C' >/dev/null 2>&1; '$NETPROBE' tcp 127.0.0.2 8080")
check "identity: after a rejected attestation the cgroup stays unbound (denied)" EPERM "$got"
check "identity: the rejection is an attest event with its reason" 1 \
	"$(wait_events '.type == "attest" and .result == "rejected" and .reason == "no_matching_policy" and .cgroup == "/'"$ROOT_REL"'/wl-c"' 1)"
sig=$(cut -d. -f3 "$C")
if grep -rqF "${sig:0:40}" "$EVENTS" "$WORK/agent.log"; then fail "identity: a token appears in the logs"
else pass "identity: no token is ever logged (events, agent log)"; fi
forged=$(cut -d. -f1,2 "$A").$(cut -d. -f3 "$B")
echo "$forged" >"$WORK/forged.jwt"
out=$(in_cgroup wl-f "$MCPF" attest --attest-socket "$ATTEST_SOCK" --token-file "$WORK/forged.jwt" 2>&1)
echo "$out" | grep -q "bad_signature" && pass "identity: a token with another token's signature: bad_signature" ||
	fail "identity: forged: $out"

# --- a non-root workload attests through the 0666 attestation socket
check "identity: attestation socket is world-writable, control socket is not" "666 600" \
	"$(stat -c %a "$ATTEST_SOCK") $(stat -c %a "$SOCK")"
chmod 755 "$WORK"; chmod 644 "$A"
got=$(in_cgroup wl-nobody setpriv --reuid=65534 --regid=65534 --clear-groups bash -c \
	"'$MCPF' attest --attest-socket '$ATTEST_SOCK' --token-file '$A' >/dev/null && '$NETPROBE' tcp 127.0.0.2 8080")
check "identity: an unprivileged workload attests itself and gets its allowlist" OK "$got"
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$MCPF" attest --attest-socket "$ATTEST_SOCK" --token-file "$A" 2>&1)
echo "$out" | grep -q "not_guarded" && pass "identity: a caller outside the cgroup root is refused (not_guarded)" ||
	fail "identity: outside root: $out"

# --- Kubernetes: the token's pod UID must name the pod of the calling cgroup (kubelet layout)
POD=4b8c1d2e-1111-2222-3333-444455556666
k8s_token() { # POD_UID -> token file
	jwt_sign RS256 "$WORK/k1.pem" k1 "$(jwt_claims "$K8S_ISS" "system:serviceaccount:mcp:github-mcp" 600 \
		'"kubernetes.io":{"namespace":"mcp","serviceaccount":{"name":"github-mcp"},"pod":{"name":"gh-0","uid":"'"$1"'"}}')" >"$WORK/k8s-$1.jwt"
	echo "$WORK/k8s-$1.jwt"
}
check "identity: Kubernetes token in its own pod's cgroup selects k8s-github" OK \
	"$(in_cgroup "kubepods/besteffort/pod$POD/ctr" bash -c "'$MCPF' attest --attest-socket '$ATTEST_SOCK' --token-file '$(k8s_token $POD)' >/dev/null; '$NETPROBE' tcp 127.0.0.2 8080")"
out=$(in_cgroup "kubepods/besteffort/pod00000000-9999-2222-3333-444455556666/ctr" \
	"$MCPF" attest --attest-socket "$ATTEST_SOCK" --token-file "$(k8s_token $POD)" 2>&1)
echo "$out" | grep -q "pod_mismatch" && pass "identity: the same token replayed from another pod: pod_mismatch" ||
	fail "identity: pod replay: $out"
check "identity: the binding is the pod's cgroup: another container of the pod is covered" OK \
	"$(in_cgroup "kubepods/besteffort/pod$POD/ctr2" "$NETPROBE" tcp 127.0.0.2 8080)"
out=$(in_cgroup "kubepods/besteffort/pod00000000-9999-2222-3333-444455556666/ctr/pod$POD" \
	"$MCPF" attest --attest-socket "$ATTEST_SOCK" --token-file "$(k8s_token $POD)" 2>&1)
echo "$out" | grep -q "pod_mismatch" &&
	pass "identity: a cgroup named after the victim's pod below the attacker's pod: pod_mismatch" ||
	fail "identity: nested impostor: $out"
# --- scope: a namespaced policy binds pods of its namespace only, a cluster one those it admits
sa_token() { # NAMESPACE SA POD_UID -> token file
	jwt_sign RS256 "$WORK/k1.pem" k1 "$(jwt_claims "$K8S_ISS" "system:serviceaccount:$1:$2" 600 \
		'"kubernetes.io":{"namespace":"'"$1"'","serviceaccount":{"name":"'"$2"'"},"pod":{"name":"p","uid":"'"$3"'"}}')" >"$WORK/sa-$3.jwt"
	echo "$WORK/sa-$3.jwt"
}
attest_in() { # CGROUP TOKEN -> the policy bound, or the reason refused
	local out p
	out=$(in_cgroup "$1" "$MCPF" attest --attest-socket "$ATTEST_SOCK" --token-file "$2" --json 2>&1)
	p=$(jq -r 'select(.ok == true) | .policy' <<<"$out" 2>/dev/null)
	[ -n "$p" ] && echo "$p" || grep -o '([a-z_]*)' <<<"$out" | head -1 | tr -d '()'
}
rows=""
for r in "team-x api" "team-y api" "team-x worker" "team-y worker"; do
	set -- $r
	uid=$(cat /proc/sys/kernel/random/uuid)
	rows="$rows $(attest_in "kubepods/burstable/pod$uid/ctr" "$(sa_token "$1" "$2" "$uid")")"
done
check "identity: scope: service accounts of team-x and team-y: team-x/api only for team-x's, cluster workers only for the namespace it admits" \
	" team-x/api namespace_not_admitted workers namespace_not_admitted" "$rows"
Y=$(cat /proc/sys/kernel/random/uuid)
tv() { "$MCPF" token verify --json --trust "$CONFIG" --policies "$WORK/policies" "$@" | jq -r '.policy // .error'; }
check "identity: scope: token verify says the same: team-y's token selects nothing in its namespace, team-x/api from team-x" \
	"namespace_not_admitted team-x/api" "$(tv --token-file "$(sa_token team-y api "$Y")") $(tv --namespace team-x --token-file "$WORK/sa-$Y.jwt")"
NS_TOKEN=$(token workload-ns 600)
out="$(attest_in plain-ns "$NS_TOKEN") $(attest_in "kubepods/burstable/pod$(cat /proc/sys/kernel/random/uuid)/ctr" "$NS_TOKEN")"
check "identity: scope: a non-Kubernetes token matching a namespaced policy, from outside any pod and from a pod nobody named: refused" \
	"namespace_not_admitted namespace_not_admitted" "$out"
check "identity: scope: ... each with its event, saying why" 4 \
	"$(events_where '.type == "attest" and .result == "rejected" and .reason == "namespace_not_admitted" and (.detail | test("binds only pods of namespace team-x|does not admit namespace team-y")) and .policy == null')"

for row in "kubepods/pod%s/c" "kubepods/burstable/pod%s/c" \
	"kubepods.slice/kubepods-pod%u.slice/cri-containerd-c.scope" \
	"kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod%u.slice/cri-containerd-c.scope" \
	"kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod%u.slice/cri-containerd-c.scope"; do
	uid=$(cat /proc/sys/kernel/random/uuid)
	path=$(echo "$row" | sed "s/%s/$uid/; s/%u/$(echo "$uid" | tr - _)/")
	got=$(in_cgroup "$path" bash -c "'$MCPF' attest --attest-socket '$ATTEST_SOCK' --token-file '$(k8s_token "$uid")' --json | jq -r .cgroup; '$NETPROBE' tcp 127.0.0.2 8080")
	check "identity: pod cgroup $row: the pod is bound, allowed" "/$ROOT_REL/$(dirname "$path") OK" "$(echo $got)"
done

# --- a sidecar keeps the pod bound across the kubelet's token rotations (attest --watch). The
# volume looks like a projected one: token -> ..data/token, ..data -> ..<timestamp>, swapped
# by rename. The server container's connect loop runs past the first token's expiry.
POD2=$(cat /proc/sys/kernel/random/uuid)
VOL="$WORK/vol-$POD2"
project() { # TOKEN_FILE: publish it the way the kubelet's atomic writer does
	local d="..$(date +%s%N)"
	mkdir -p "$VOL/$d" && cp "$1" "$VOL/$d/token"
	ln -sfn "$d" "$VOL/..data_tmp" && mv -T "$VOL/..data_tmp" "$VOL/..data"
	[ -L "$VOL/token" ] || ln -s ..data/token "$VOL/token"
}
k8s_short() { # POD_UID LIFETIME -> token file
	jwt_sign RS256 "$WORK/k1.pem" k1 "$(jwt_claims "$K8S_ISS" "system:serviceaccount:mcp:github-mcp" "$2" \
		'"kubernetes.io":{"namespace":"mcp","serviceaccount":{"name":"github-mcp"},"pod":{"name":"gh-1","uid":"'"$1"'"}}')" >"$WORK/k8s-$1-$2.jwt"
	echo "$WORK/k8s-$1-$2.jwt"
}
PODCG="kubepods/burstable/pod$POD2"
T2=$(k8s_short "$POD2" 600) # minted first: openssl is slow under TCG, the rotation must not be
T1=$(k8s_short "$POD2" 8)
project "$T1"
in_cgroup "$PODCG/sidecar" sh -c 'echo $$ >"$0"; exec "$@"' "$WORK/watch.pid" "$MCPF" attest --watch --json --attest-socket "$ATTEST_SOCK" --token-file "$VOL/token" \
	>"$WORK/watch.out" 2>"$WORK/watch.err" &
WATCH_PID=$!
BG_PIDS+=($WATCH_PID)
wait_for 5 grep -q '"ok": *true' "$WORK/watch.out" || fail "identity: watch: first attestation: $(cat "$WORK/watch.err")"
T1_EXP=$(jwt_claim "$T1" exp)
in_cgroup "$PODCG/server" "$NETPROBE" loop 127.0.0.2 8080 127.0.0.3 8080 $(( (T1_EXP + 3 - $(date +%s)) * 1000 )) \
	>"$WORK/podloop.out" 2>&1 &
loop_pid=$!
sleep 1 # deliberate: rotate while the server's loop runs
project "$T2"
wait_for 3 eval '[ "$(grep -c "\"ok\": *true" "$WORK/watch.out")" -ge 2 ]' &&
	pass "identity: watch: a rotated token is presented at once" || fail "identity: watch: rotation not seen: $(cat "$WORK/watch.out" "$WORK/watch.err")"
check "identity: watch: the renewed binding carries the new token's expiry" "$(jwt_claim "$T2" exp)" \
	"$(tail -1 "$WORK/watch.out" | jq -r .exp)"
wait "$loop_pid"
[ "$(date +%s)" -gt "$T1_EXP" ] && pass "identity: watch: the server's loop ran past the first token's expiry" ||
	fail "identity: watch: the loop ended before the first token expired"
wrong=$(sed -n 's/^wrong=//p' "$WORK/podloop.out")
check "identity: watch: the pod never dropped out (zero wrong verdicts in the server's loop)" 0 "$wrong"
[ "$wrong" = 0 ] || echo "watch: T1 exp $T1_EXP: $(tr '\n' ' ' <"$WORK/watch.out") | $(tr '\n' ' ' <"$WORK/watch.err") | $(tr '\n' ' ' <"$WORK/podloop.out")"
# a token that is refused is retried with backoff; fixing the file is picked up at once
project "$(k8s_short 00000000-9999-2222-3333-444455556666 600)"
wait_for 6 eval '[ "$(grep -c "retrying in" "$WORK/watch.err")" -ge 2 ]'
check "identity: watch: a refused token is retried with growing backoff (1 s, 2 s)" "1000 2000" \
	"$(grep -o 'retrying in [0-9]*' "$WORK/watch.err" | head -2 | awk '{print $3}' | xargs)"
grep -q pod_mismatch "$WORK/watch.err" && pass "identity: watch: ... and says why" || fail "identity: watch: $(cat "$WORK/watch.err")"
project "$T2"
wait_for 5 eval '[ "$(grep -c "\"ok\": *true" "$WORK/watch.out")" -ge 3 ]' &&
	pass "identity: watch: a good token after failures is presented again" || fail "identity: watch: no recovery"
kill -TERM "$(cat "$WORK/watch.pid")"
wait "$WATCH_PID"
check "identity: watch: SIGTERM ends the sidecar with status 0" 0 "$?"

# --- a held subtree (docker --cgroup-parent): nothing until a container below attests
check "identity: a container below a hold is denied before it attests" EPERM "$(in_cgroup held/c1 "$NETPROBE" tcp 127.0.0.2 8080)"
check "identity: ... attesting below the hold gets its policy" "OK EPERM" \
	"$(in_cgroup held/c1 bash -c "'$MCPF' attest --attest-socket '$ATTEST_SOCK' --token-file '$A' >/dev/null; '$NETPROBE' tcp 127.0.0.2 8080; '$NETPROBE' tcp 127.0.0.3 8080" | xargs)"
check "identity: ... and another container below it is still held" EPERM "$(in_cgroup held/c2 "$NETPROBE" tcp 127.0.0.2 8080)"
check "identity: status shows the hold" "true null" \
	"$("$MCPF" status --config "$CONFIG" --json | jq -r '.bindings[] | select(.cgroup == "/'"$ROOT_REL"'/held") | "\(.held) \(.policy)"')"

# --- identity in the events
in_cgroup wl-ev bash -c "'$MCPF' attest --attest-socket '$ATTEST_SOCK' --token-file '$A' >/dev/null; '$NETPROBE' tcp 127.0.0.9 8080" >/dev/null
wait_for 3 events_at_least '.type == "egress" and .dst == "127.0.0.9"' 1
ev=$(jq -c 'select(.type == "egress" and .dst == "127.0.0.9")' "$EVENTS" | tail -1)
check "identity: a deny event names the verified identity and the claims matched on" \
	"$ISS workload-a team-a mcpfence" \
	"$(echo "$ev" | jq -r '[.identity.iss, .identity.sub, .policy, .identity.claims.aud] | join(" ")')"
[ "$(events_where '.type == "attest" and .result == "ok" and .policy == "team-a" and (.expires | length > 0)')" -ge 1 ] &&
	pass "identity: a successful attestation is an attest event with policy and expiry" || fail "identity: attest ok event"
exp_status=$("$MCPF" status --config "$CONFIG" --json | jq -r '.bindings[] | select(.cgroup == "/'"$ROOT_REL"'/wl-ev") | [.policy, .identity.sub, (.expires | length > 0)] | join(" ")')
check "identity: status shows the binding's policy, identity and expiry" "team-a workload-a true" "$exp_status"

# --- a bound cgroup cannot be taken over by another identity
out=$(in_cgroup wl-ev "$MCPF" attest --attest-socket "$ATTEST_SOCK" --token-file "$B" 2>&1)
echo "$out" | grep -q "already_bound" && pass "identity: another identity cannot rebind an attested cgroup" ||
	fail "identity: rebind: $out"

# --- renewal without a gap: a 6 s token renewed by a fresh one; the connect loop runs past
# the first token's expiry, so a failed or late renewal shows up as wrong verdicts
E1=$(token workload-a 6)
E1_EXP=$(jwt_claim "$E1" exp)
in_cgroup wl-renew bash -c "
	'$MCPF' attest --attest-socket '$ATTEST_SOCK' --token-file '$E1' >/dev/null || exit 1
	'$NETPROBE' loop 127.0.0.2 8080 127.0.0.3 8080 \$(( ($E1_EXP + 3 - \$(date +%s)) * 1000 )) >'$WORK/renew.out' 2>'$WORK/renew.err' &
	sleep 0.5 # deliberate: renew while the loop is running, not before
	'$MCPF' attest --attest-socket '$ATTEST_SOCK' --token-file '$A' >/dev/null || echo RENEW-FAILED
	wait" >"$WORK/renew.log" 2>&1
[ "$(date +%s)" -gt "$E1_EXP" ] && pass "identity: the renewal loop ran past the first token's expiry" ||
	fail "identity: the renewal loop ended before the first token expired"
check "identity: renewing before expiry under a connect loop: zero wrong verdicts" 0 \
	"$(sed -n 's/^wrong=//p' "$WORK/renew.out")"
grep -q RENEW-FAILED "$WORK/renew.log" && fail "identity: renewal refused" || pass "identity: renewal accepted"

# --- expiry in the kernel, with the agent dead; the backstop cuts the open flow
D=$(token workload-a 4)
in_cgroup wl-exp bash -c "'$MCPF' attest --attest-socket '$ATTEST_SOCK' --token-file '$D' >/dev/null; '$NETPROBE' echo-hold 127.0.0.2 8080 8000" >"$WORK/hold.out" 2>&1 &
hold_pid=$!
wait_for 3 grep -q CONNECTED "$WORK/hold.out" || fail "identity: the flow did not come up"
check "identity: before expiry the workload connects" OK "$(in_cgroup wl-exp "$NETPROBE" tcp 127.0.0.2 8080)"
kill -9 "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null; AGENT_PID=
exp_at=$(jwt_claim "$D" exp)
[ -n "$exp_at" ] || fail "identity: cannot read exp of the short token"
denied_now() { [ "$(in_cgroup wl-exp "$NETPROBE" tcp 127.0.0.2 8080)" = EPERM ]; }
wait_for $(( ${exp_at:-0} - $(date +%s) + 3 )) denied_now
[ "$(date +%s)" -ge "${exp_at:-0}" ] || fail "identity: denied before the token's expiry"
check "identity: agent dead, token expired: the kernel denies" EPERM "$(in_cgroup wl-exp "$NETPROBE" tcp 127.0.0.2 8080)"
wait "$hold_pid"
check "identity: the established flow was cut at expiry (skb backstop)" 1 "$(sed -n "s/^cut=//p" "$WORK/hold.out")"
agent_start || fail "identity: restart"
wait_for 3 events_at_least '.type == "expired" and .cgroup == "/'"$ROOT_REL"'/wl-exp"' 1 &&
	pass "identity: expired events are delivered once the agent is back" || fail "identity: no expired event"
check "identity: a fresh token renews the expired binding" OK \
	"$(in_cgroup wl-exp bash -c "'$MCPF' attest --attest-socket '$ATTEST_SOCK' --token-file '$A' >/dev/null; '$NETPROBE' tcp 127.0.0.2 8080")"
agent_stop && pass "identity: agent exits cleanly (no sanitizer report)" || fail "identity: agent exit status $?"

# --- what events carry of a binding (its claims, its workload) lives as long as the binding: the
# test build clears its caches at 64 entries; 100 other bindings come and go around a live one
MCPF_SHIPPED=$MCPF MCPF=$MCPF_TESTHOOKS
agent_start || fail "identity: start of the test build"
in_cgroup wl-live "$MCPF" attest --attest-socket "$ATTEST_SOCK" --token-file "$A" >/dev/null 2>&1
mkdir -p "$ROOT/ctr-live"
"$NETPROBE" unix-send "$SOCK" '{"op":"bind","cgroup":"'"$ROOT_REL"'/ctr-live","policy":"team-a","workload":{"container":"live"}}' >/dev/null
for i in $(seq 100); do
	mkdir -p "$ROOT/churn-$i"
	"$NETPROBE" unix-send "$SOCK" '{"op":"bind","cgroup":"'"$ROOT_REL"'/churn-'$i'","policy":"team-a","workload":{"container":"c'$i'"}}' >/dev/null
	in_cgroup "churn-$i" "$NETPROBE" tcp 127.0.0.3 8080 >/dev/null # an event: its path is cached
	"$NETPROBE" unix-send "$SOCK" '{"op":"unbind","cgroup":"'"$ROOT_REL"'/churn-'$i'"}' >/dev/null
done
wait_events '.cgroup == "/'"$ROOT_REL"'/churn-100"' 1 >/dev/null
in_cgroup wl-live "$NETPROBE" tcp 127.0.0.3 8080 >/dev/null
in_cgroup ctr-live "$NETPROBE" tcp 127.0.0.3 8080 >/dev/null
check "identity: after 100 bindings came and went, the live attested binding's events keep its claims" 1 \
	"$(wait_events '.cgroup == "/'"$ROOT_REL"'/wl-live" and .verdict == "deny" and .identity.sub == "workload-a" and (.identity.claims | type) == "object"' 1)"
check "identity: ... and the live container's events keep its workload" 1 \
	"$(wait_events '.cgroup == "/'"$ROOT_REL"'/ctr-live" and .verdict == "deny" and .workload.container == "live"' 1)"
agent_stop && pass "identity: the test build exits cleanly" || fail "identity: test build exit status $?"
MCPF=$MCPF_SHIPPED
