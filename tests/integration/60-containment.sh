#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Containment against a hostile workload (issue 8), each attack tried as a workload inside
# `mcpfence run` would try it, with a control row where the attack works without the defence:
#  1 routing options   2 reaching the agent   3 stealing sockets   4 sockets from outside
#  5 attestation below an operator binding   6 MPTCP   7 other families   8 slow clients
#  9 GC with more cgroups than the agent's caches hold
source "$(dirname "$0")/lib.sh"
source "$REPO/scripts/jwt.sh"
SLOW="$REPO/tests/slowclients.py"
PY=$(PATH=/usr/bin:/bin command -v python3) # the system one: pyenv shims are root's alone

ISS="https://issuer.mcpfence.test"
jwt_keygen EdDSA "$WORK/e1.pem"
echo "{\"keys\":[$(jwt_jwk EdDSA "$WORK/e1.pem" e1)]}" >"$WORK/issuer.jwks"
ATTEST_SOCK="$WORK/attest.sock"
config() { # EXTRA
	write_config '"attest_socket": "'"$ATTEST_SOCK"'",
  "trust": { "issuers": [ { "issuer": "'"$ISS"'", "jwks_file": "issuer.jwks", "algorithms": ["EdDSA"] } ] },
  "bindings": [ { "cgroup": "'"$ROOT_REL"'/opbound", "policy": "contain" } ]'"${1:+, $1}"
}
config
write_policy contain enforce '[
  { "to": ["127.0.0.2"], "ports": ["8080"], "protocol": "tcp" },
  { "to": ["127.0.0.2", "::1"], "ports": ["5353"], "protocol": "udp" } ]'
cat >"$WORK/policies/ident.json" <<JSON
{ "apiVersion": "mcpfence/v1", "kind": "EgressPolicy", "metadata": { "name": "wide" },
  "spec": { "identity": { "issuer": "$ISS", "audience": "mcpfence", "subject": "wide" },
            "egress": [ { "to": ["0.0.0.0/0"], "ports": ["1-65535"], "protocol": "any" } ] } }
JSON
agent_start || { fail "containment: agent start"; exit 1; }
netns_setup || { fail "containment: network namespace set-up"; exit 1; }
listen 127.0.0.2 8080 8081 5353
listen ::1 5353
ip netns exec "$NETNS" "$NETPROBE" listen 198.51.100.2 5353 >"$WORK/ns.out" 2>&1 &
BG_PIDS+=($!)
run() { "$MCPF" run --config "$CONFIG" --policy contain "$@" 2>&1; }

# --- 1. routing options: the packet must go where the hook looked
check "1 control: outside the root a routing header is accepted (the attack works there)" OK \
	"$("$NETPROBE" rthdr6 ::1 2001:db8:100::2 5353)"
check "1 rthdr: IPV6_RTHDR (segment routing) refused by cgroup/setsockopt" EPERM \
	"$(run -- "$NETPROBE" rthdr6 ::1 2001:db8:100::2 5353)"
check "1 rthdr: IP_OPTIONS (loose source route) refused by cgroup/setsockopt" EPERM \
	"$(run -- "$NETPROBE" ipopt4 127.0.0.2 198.51.100.2 5353)"
check "1 cmsg: IPv4 source routing needs CAP_NET_RAW, which run drops: the kernel refuses it" EPERM \
	"$(run -- "$NETPROBE" lsrr4-cmsg 127.0.0.2 127.0.0.2 5353)"
check "1 cmsg (--keep-caps): a source route as ancillary data is judged by the IP header (198.51.100.2)" EPERM \
	"$(run --keep-caps -- "$NETPROBE" lsrr4-cmsg 127.0.0.2 198.51.100.2 5353)"
check "1 cmsg (--keep-caps): ... and passes when the header's destination is allowed" OK \
	"$(run --keep-caps -- "$NETPROBE" lsrr4-cmsg 127.0.0.2 127.0.0.2 5353)"
check "1 plain unconnected UDP keeps its fast path and is allowed" OK \
	"$(run -- "$NETPROBE" udp-sendto 127.0.0.2 5353)"
wait_for 3 events_at_least '.hook == "setsockopt" and .reason == "ip_options" and .optname == 57 and .level == "ipv6"' 1 &&
	pass "1 events: the refused IPV6_RTHDR is a setsockopt event (level ipv6, optname 57)" ||
	fail "1 events: no setsockopt event for IPV6_RTHDR"
wait_for 3 events_at_least '.hook == "skb" and .dst == "198.51.100.2" and .dport == 5353' 1 &&
	pass "1 events: the rerouted datagram is an skb event naming the header's destination" ||
	fail "1 events: no skb event for 198.51.100.2"

# --- 2. a root workload against the agent
check "2 control socket: a bind request from a guarded cgroup is refused, even from root" yes \
	"$(in_cgroup unbound-2 "$NETPROBE" unix-send "$SOCK" '{"op":"bind","cgroup":"'"$ROOT_REL"'/unbound-2","policy":"wide"}' | grep -q 'guarded cgroup' && echo yes)"
got=$(run -- "$NETPROBE" unix-send "$SOCK" '{"op":"reload"}')
case "$got" in OK | *'"ok": true'* | *'"ok":true'*) fail "2 control socket reachable from run: $got" ;;
*) pass "2 control socket: unreachable inside run ($got)" ;; esac
check "2 pins: bpffs is empty inside run (no BPF_OBJ_GET of the tries)" HIDDEN \
	"$(run -- bash -c "test -e '$BPFFS/mcpf_trie4' && echo VISIBLE || echo HIDDEN")"
check "2 files: the config and the policies are unreadable inside run" "HIDDEN 0" \
	"$(run -- bash -c "test -s '$CONFIG' && echo VISIBLE || echo HIDDEN; ls '$WORK/policies' | wc -l" | tr '\n' ' ' | sed 's/ $//')"
check "2 files: a root workload cannot write its policy file" yes \
	"$(run -- bash -c "echo '{}' > '$WORK/policies/contain.json'" >/dev/null 2>&1 || echo yes)"
check "2 process: kill -9 of the agent from inside run finds no such process" ESRCH \
	"$(run -- bash -c "kill -9 $AGENT_PID 2>/dev/null && echo KILLED || echo ESRCH")"
kill -0 "$AGENT_PID" && pass "2 process: the agent is still running" || fail "2 process: the agent was killed"
out=$(run -- "$MCPF" uninstall --config "$CONFIG")
check "2 uninstall from inside run changes nothing: still denied" EPERM "$(run -- "$NETPROBE" tcp 127.0.0.2 8081)"
in_cgroup unbound-hup bash -c "kill -HUP $AGENT_PID"
wait_for 3 grep -q "Ignored SIGHUP from pid" "$WORK/agent.log" &&
	pass "2 signal: SIGHUP from a guarded cgroup is ignored (a unit without a PID namespace)" ||
	fail "2 signal: SIGHUP from a guarded cgroup was not ignored"

# --- 3. stealing sockets of processes outside
"$NETPROBE" hold-socket >"$WORK/hold.out" &
BG_PIDS+=($!)
wait_for 3 test -s "$WORK/hold.out"
read -r HPID HFD <"$WORK/hold.out"
check "3 control: without a PID namespace pidfd_getfd steals an unconfined socket (the attack)" OK \
	"$(in_cgroup unbound-3 "$NETPROBE" steal "$HPID" "$HFD" 127.0.0.2 8081)"
check "3 steal: inside run the process outside does not exist (PID namespace)" ESRCH \
	"$(run -- "$NETPROBE" steal "$HPID" "$HFD" 127.0.0.2 8081)"
check "3 setuid: a root workload cannot become another uid (CAP_SETUID dropped)" EPERM \
	"$(run -- "$NETPROBE" setuid 65534)"
check "3 setuid: --allow-setuid keeps it, for servers that drop privileges themselves" OK \
	"$(run --allow-setuid -- "$NETPROBE" setuid 65534)"

# --- 4. a socket created outside and passed in: a documented limit
"$NETPROBE" pass-socket "$WORK/pass.sock" >"$WORK/pass.out" 2>&1 &
BG_PIDS+=($!)
wait_for 3 grep -q READY "$WORK/pass.out"
check "4 limit (documented): a socket created outside the root and passed in is not checked" OK \
	"$(run -- "$NETPROBE" recv-socket "$WORK/pass.sock" 127.0.0.2 8081)"

# --- 5. attestation below the operator's binding
jwt_sign EdDSA "$WORK/e1.pem" e1 "$(jwt_claims "$ISS" wide 600)" >"$WORK/wide.jwt"
got=$(in_cgroup opbound/child "$MCPF" attest --attest-socket "$ATTEST_SOCK" --token-file "$WORK/wide.jwt" 2>&1)
echo "$got" | grep -q already_bound && pass "5 attest below an operator binding is refused (already_bound)" ||
	fail "5 attest below an operator binding: $got"
check "5 ... and the child keeps the operator's policy" EPERM "$(in_cgroup opbound/child "$NETPROBE" tcp 127.0.0.2 8081)"
wait_for 3 events_at_least '.type == "attest" and .reason == "already_bound" and (.detail | test("the operator bound"))' 1 &&
	pass "5 ... with an attest event that says why" || fail "5 no attest event for the refusal"
check "5 control: the same token attests in an unbound cgroup" OK \
	"$(in_cgroup free-5 bash -c "'$MCPF' attest --attest-socket '$ATTEST_SOCK' --token-file '$WORK/wide.jwt' >/dev/null 2>&1; '$NETPROBE' tcp 127.0.0.2 8081")"

# --- 6. MPTCP
check "6 control: MPTCP works outside the root" OK "$("$NETPROBE" mptcp 127.0.0.2 8080)"
check "6 MPTCP socket refused in a guarded cgroup by default" EPERM "$(run -- "$NETPROBE" mptcp 127.0.0.2 8080)"
wait_for 3 events_at_least '.hook == "sock_create" and .reason == "mptcp"' 1 &&
	pass "6 ... with a sock_create event, reason mptcp" || fail "6 no mptcp event"

# --- 7. other address families
vs=$("$NETPROBE" vsock)
if [ "$vs" = OK ]; then
	pass "7 control: AF_VSOCK sockets can be made outside the root"
else
	skip "7 control: this kernel makes no AF_VSOCK socket ($vs); AF_PACKET in 10-matrix shows the filter"
fi
check "7 AF_VSOCK refused inside run (seccomp address families)" EAFNOSUPPORT "$(run -- "$NETPROBE" vsock)"
check "7 AF_UNIX, AF_INET, AF_INET6 stay usable" "OK OK" \
	"$(run -- bash -c "'$NETPROBE' tcp 127.0.0.2 8080; '$NETPROBE' unix-send '$ATTEST_SOCK' '{\"op\":\"ping\"}' | jq -r 'if .ok then \"OK\" else . end'" | tr '\n' ' ' | sed 's/ $//')"

# --- 8. slow clients do not stall the agent: 100 of them from an unprivileged uid
chmod 711 "$WORK" # the uid may reach the attestation socket, nothing else of ours
setpriv --reuid=65534 --regid=65534 --clear-groups "$PY" "$SLOW" storm "$ATTEST_SOCK" 100 4 >"$WORK/storm.out" 2>&1 &
STORM=$!
BG_PIDS+=($STORM)
wait_for 5 grep -q CONNECTED "$WORK/storm.out" || fail "8 the storm did not connect: $(cat "$WORK/storm.out")"
# (here-strings, not process substitution: the vmtest guests have no /dev/fd)
read -r ping_ms _ <<<"$("$PY" "$SLOW" time "$SOCK" '{"op":"ping"}')"
SCALE=${MCPF_TIME_SCALE:-1} # vmtest's emulated guests are slower: their limits are scaled
awk -v t="$ping_ms" -v s="$SCALE" 'BEGIN { exit !(t < 100 * s) }' && pass "8 control socket answers during the storm in ${ping_ms} ms (< $((100 * SCALE)))" ||
	fail "8 control socket took ${ping_ms} ms"
st0=$(date +%s%N); "$MCPF" status --config "$CONFIG" --json >/dev/null; st1=$(date +%s%N)
pass "8 (measured) mcpfence status, a whole process, took $(( (st1 - st0) / 1000000 )) ms"
jwt_sign EdDSA "$WORK/e1.pem" e1 "$(jwt_claims "$ISS" wide 600)" >"$WORK/wide2.jwt"
read -r att_ms att_reply <<<"$(in_cgroup attest-8 "$PY" "$SLOW" time "$ATTEST_SOCK" "{\"op\":\"attest\",\"token\":\"$(cat "$WORK/wide2.jwt")\"}")"
echo "$att_reply" | grep -q '"ok": *true' && awk -v t="$att_ms" -v s="$SCALE" 'BEGIN { exit !(t < 10 * s) }' &&
	pass "8 attestation of a real workload during the storm: ${att_ms} ms (< $((10 * SCALE)))" ||
	fail "8 attestation during the storm: ${att_ms} ms, $att_reply"
before=$(events_where '.hook == "connect4" and .dport == 8081 and .cgroup == "/'"$ROOT_REL"'/unbound-8"')
in_cgroup unbound-8 "$NETPROBE" tcp 127.0.0.2 8081 >/dev/null
wait_for 2 events_at_least '.hook == "connect4" and .dport == 8081 and .cgroup == "/'"$ROOT_REL"'/unbound-8"' $((before + 1)) &&
	pass "8 events keep flowing during the storm" || fail "8 no event during the storm"
wait "$STORM"
read -r acc ref drop <<<"$(tail -1 "$WORK/storm.out" | tr ' ' '\n' | cut -d= -f2 | tr '\n' ' ')"
check "8 one uid gets 16 connections; the other 84 are refused at once" "16 84" "$acc $ref"
check "8 ... and the agent drops every silent or trickling one at its 2 s deadline" 16 "$drop"
agent_stop && pass "8 agent exits cleanly after the storm (no sanitizer report)" || fail "8 agent exit status $?"

# --- 6 (again). MPTCP allowed by the operator: restart with "mptcp": "allow"
config '"mptcp": "allow"'
agent_start || fail "6 agent restart with mptcp allowed"
check "6 \"mptcp\": \"allow\" lets MPTCP through (the operator's choice, documented)" OK \
	"$(run -- "$NETPROBE" mptcp 127.0.0.2 8080)"

# --- 9. GC with more cgroups than 65,536
N=${MCPF_GC_CGROUPS:-66000}
mkdir -p "$ROOT/many"
(cd "$ROOT/many" && seq 1 "$N" | sed 's/^/g/' | xargs mkdir)
bind() { "$NETPROBE" unix-send "$SOCK" '{"op":"bind","cgroup":"'"$ROOT_REL/many/$1"'","policy":"contain"}' | jq -r .cgroup_id; }
live=$(bind g1); live2=$(bind "g$N"); mkdir "$ROOT/many/gone"; gone=$(bind gone); rmdir "$ROOT/many/gone"
has_binding() { "$MCPF" status --config "$CONFIG" --json | jq -e --argjson id "$1" '[.bindings[] | select(.cgroup_id == $id)] | length == 1' >/dev/null; }
gone_gone() { ! "$MCPF" status --config "$CONFIG" --json | jq -e --argjson id "$gone" '.bindings[] | select(.cgroup_id == $id)' >/dev/null; }
wait_for 15 gone_gone && pass "9 GC removes the binding of a removed cgroup among $N live ones" ||
	fail "9 GC did not remove the binding of the removed cgroup"
has_binding "$live" && has_binding "$live2" && pass "9 ... and keeps the bindings of live cgroups" ||
	fail "9 GC removed a live binding"
check "9 ... which still enforce their policy" "OK EPERM" \
	"$(in_cgroup many/g1 bash -c "'$NETPROBE' tcp 127.0.0.2 8080; '$NETPROBE' tcp 127.0.0.2 8081" | tr '\n' ' ' | sed 's/ $//')"
(cd "$ROOT/many" && seq 1 "$N" | sed 's/^/g/' | xargs rmdir)
agent_stop && pass "containment: agent exits cleanly (no sanitizer report)" || fail "containment: agent exit status $?"
