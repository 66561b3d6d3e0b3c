#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Names learned in the kernel (issue 9): a real authoritative server (NSD) on loopback serving a
# zone built here, real clients (glibc getaddrinfo through Python and curl, dig over UDP and TCP),
# and a hostile resolver. Every refusal has a control row that shows the same thing working.
source "$(dirname "$0")/lib.sh"

DNSCLIENT="$REPO/tests/dnsclient.py"
RES=127.0.0.153 # NSD, the configured resolver
FAKE=127.0.0.154 # the lying resolver, configured too
SILENT=127.0.0.155 # configured, nothing listens: the workload forges its replies
command -v nsd >/dev/null && command -v dig >/dev/null && command -v curl >/dev/null ||
	{ fail "names: nsd, dig or curl is missing (scripts/install-deps.sh installs them)"; exit 0; }
[ -e /etc/resolv.conf ] || : >/etc/resolv.conf # a bind-mount target (vmtest guests have none)

# --- the zone
Z="$WORK/nsd"
mkdir -p "$Z"
{
	echo '$ORIGIN test.mcpf.'
	echo '@ 300 IN SOA ns.test.mcpf. admin.test.mcpf. 1 3600 600 86400 60'
	echo '@ 300 IN NS ns.test.mcpf.'
	echo 'ns 300 IN A 127.0.0.153'
	echo 'api 300 IN A 127.0.10.1'
	echo 'other 300 IN A 127.0.10.2'
	echo 'evilwild 300 IN A 127.0.10.9'
	echo 'wild 300 IN A 127.0.11.3'
	echo 'a.wild 300 IN A 127.0.11.1'
	echo 'imds.wild 300 IN A 169.254.169.254'
	echo 'b.a.wild 300 IN A 127.0.11.2'
	echo 'deep 300 IN A 127.0.12.3'
	echo 'x.deep 300 IN A 127.0.12.1'
	echo 'y.x.deep 300 IN A 127.0.12.2'
	echo 'alias 300 IN CNAME hop1'
	echo 'hop1 300 IN CNAME hop2'
	echo 'hop2 300 IN A 127.0.13.1'
	echo 'ttl2 2 IN A 127.0.14.1'
	echo 'ttl0 0 IN A 127.0.14.2'
	echo 'v6only 300 IN AAAA ::1'
	for i in $(seq 1 128); do echo "many 300 IN A 127.0.20.$i"; done
	for i in $(seq 1 140); do echo "n$i.flood 300 IN A 127.0.30.$i"; done
	echo 'late 300 IN A 127.0.15.1'
} >"$Z/test.mcpf.zone"
"$REPO/scripts/nsd-conf.sh" "$Z" test.mcpf "$RES" ::1
nsd -d -c "$Z/nsd.conf" >"$Z/nsd.out" 2>&1 &
BG_PIDS+=($!)
wait_for 5 eval "dig +short +time=1 +tries=1 @$RES api.test.mcpf | grep -q 127.0.10.1" ||
	{ fail "names: nsd did not start: $(tail -3 "$Z/nsd.out" "$Z/nsd.log" 2>/dev/null)"; exit 0; }
python3 "$DNSCLIENT" echo-server 8080 >"$WORK/echo.out" 2>&1 &
BG_PIDS+=($!)
python3 "$DNSCLIENT" fake-server "$FAKE" 53 >"$WORK/fake.out" 2>&1 &
BG_PIDS+=($!)
wait_ready "$WORK/echo.out" && wait_ready "$WORK/fake.out" || { fail "names: helpers did not start"; exit 0; }
echo "nameserver $RES" >"$WORK/resolv.conf"
echo "nameserver ::1" >"$WORK/resolv6.conf"

DNS_CFG='"dns": { "resolvers": ["'$RES'", "[::1]:53", "'$FAKE':53", "'$SILENT'"], "ttl_floor": "1s", "grace": "0s",
  "max_addresses_per_name": 130, "max_addresses_per_policy": 1000 }'
write_config "\"bindings\": [ { \"cgroup\": \"$ROOT_REL/web\", \"policy\": \"web\" } ], $DNS_CFG"
write_policy web enforce '[
  { "to": ["api.test.mcpf", "*.wild.test.mcpf", "**.deep.test.mcpf",
           "ttl2.test.mcpf", "ttl0.test.mcpf", "many.test.mcpf", "v6only.test.mcpf",
           "*.flood.test.mcpf", "*.x", "late.test.mcpf"], "ports": ["8080"], "protocol": "tcp" },
  { "to": ["alias.test.mcpf"], "ports": ["8080"], "protocol": "tcp" },
  { "to": ["127.0.0.1/32"], "ports": ["9"], "protocol": "tcp" },
  { "to": ["127.0.0.1/32"], "protocol": "udp" } ]'
agent_start || exit 1

# w CMD...: run CMD in the bound cgroup, with the test resolver in its resolv.conf
w() {
	in_cgroup web unshare -m sh -c 'mount -o bind "$0" /etc/resolv.conf && exec "$@"' "$WORK/resolv.conf" "$@"
}
w6() {
	in_cgroup web unshare -m sh -c 'mount -o bind "$0" /etc/resolv.conf && exec "$@"' "$WORK/resolv6.conf" "$@"
}
rc() { w python3 "$DNSCLIENT" resolve-connect "$@" 2>&1; }

# --- learning and refusing (glibc getaddrinfo, then connect at once: no race)
out=$(rc api.test.mcpf 8080)
if [ "$out" = "OK 127.0.10.1" ]; then
	pass "names: an exact name resolves and its address connects at once"
else # what the kernel saw, for whoever reads the failure
	fail "names: an exact name resolves and its address connects at once: got '$out'; kernel counters" \
		"$("$MCPF" status --config "$CONFIG" --json | jq -c '.counters | with_entries(select(.key | startswith("dns")))')," \
		"pending $(bpftool -j map dump pinned "$BPFFS/mcpf_pending" | jq -c 'length')," \
		"learned $(bpftool -j map dump pinned "$BPFFS/mcpf_learned" | jq -c 'length')"
fi
ok=0
for _ in $(seq 20); do [ "$(rc api.test.mcpf 8080)" = "OK 127.0.10.1" ] && ok=$((ok + 1)); done
check "names: ... twenty times in a row" 20 "$ok"
check "names: the learned address on another port is denied" EPERM "$(w python3 "$DNSCLIENT" connect 127.0.10.1 9)"
check "names: an address never resolved is denied" EPERM "$(w python3 "$DNSCLIENT" connect 127.0.10.2 8080)"
check "names: ... and its event says it was never learned" 1 \
	"$(wait_events 'select(.type=="egress" and .dst=="127.0.10.2" and .dst_names_state=="never_learned")' 1)"
check "names: an unlisted name is not resolved (the query never leaves)" "NORESOLVE" \
	"$(rc other.test.mcpf 8080 | cut -d' ' -f1)"
n=$(wait_events 'select(.type=="dns" and .verdict=="deny" and .qname=="other.test.mcpf" and .qtype=="A" and .reason=="name_not_listed" and .policy=="web")' 1)
[ "$n" -ge 1 ] && pass "names: ... a dns event names the query ($n: glibc retries)" || fail "names: no dns event for other.test.mcpf"
check "names: dig of an unlisted name fails at once" 1 \
	"$(w dig +time=1 +tries=1 @$RES other.test.mcpf 2>&1 | grep -c -i -E 'permitted|communications error|network')"
check "names: label boundary: evilwild.test.mcpf is not *.wild.test.mcpf" NORESOLVE "$(rc evilwild.test.mcpf 8080 | cut -d' ' -f1)"
check "names: *.wild: one more label" "OK 127.0.11.1" "$(rc a.wild.test.mcpf 8080)"
# a listed name that resolves to a cloud metadata endpoint (DNS rebinding) teaches nothing that
# reaches it: the metadata guard stops names too (refused at connect, no packet leaves)
check "names: a listed name resolving to 169.254.169.254 is refused" "EPERM 169.254.169.254" "$(rc imds.wild.test.mcpf 8080)"
check "names: ... with a metadata_endpoint event" 1 \
	"$(wait_events 'select(.type=="egress" and .dst=="169.254.169.254" and .reason=="metadata_endpoint" and .policy=="web")' 1)"
check "names: *.wild: not two more labels" NORESOLVE "$(rc b.a.wild.test.mcpf 8080 | cut -d' ' -f1)"
check "names: *.wild: not the apex" NORESOLVE "$(rc wild.test.mcpf 8080 | cut -d' ' -f1)"
check "names: **.deep: one more label" "OK 127.0.12.1" "$(rc x.deep.test.mcpf 8080)"
check "names: **.deep: two more labels" "OK 127.0.12.2" "$(rc y.x.deep.test.mcpf 8080)"
check "names: **.deep: not the apex" NORESOLVE "$(rc deep.test.mcpf 8080 | cut -d' ' -f1)"
check "names: case-insensitive, trailing dot" "OK 127.0.10.1" "$(rc API.Test.MCPF. 8080)"
check "names: a CNAME chain of two hops teaches the final address" "OK 127.0.13.1" "$(rc alias.test.mcpf 8080)"
check "names: control: before many.test.mcpf is resolved, its 128th address is denied" EPERM \
	"$(w python3 "$DNSCLIENT" connect 127.0.20.128 8080)"
check "names: 128 A records (truncated over UDP, retried over TCP by glibc) resolve" "OK" \
	"$(rc many.test.mcpf 8080 | cut -d' ' -f1)"
check "names: ... the 128th address connects" OK "$(w python3 "$DNSCLIENT" connect 127.0.20.128 8080)"
check "names: dig +tcp learns too" "127.0.14.1" "$(w dig +tcp +short +time=2 +tries=1 @$RES ttl2.test.mcpf)"
check "names: dig over UDP with EDNS0 (4 KiB) returns the 128 records" 128 \
	"$(w dig +bufsize=4096 +short +time=2 +tries=1 @$RES many.test.mcpf | wc -l)"
# the echo listener answers curl's request with the request: curl connected, and says so (exit 8)
curl_rc=$(w curl -s -o /dev/null --max-time 3 http://api.test.mcpf:8080/; echo $?)
case $curl_rc in 6 | 7 | 28) fail "names: curl by name did not connect (exit $curl_rc)" ;;
*) pass "names: curl by name connects (exit $curl_rc: the echo is no HTTP reply)" ;; esac
check "names: curl to an unlisted name cannot resolve it (exit 6)" 6 \
	"$(w curl -s -o /dev/null --max-time 3 http://other.test.mcpf:8080/; echo $?)"
check "names: an AAAA-only name through an IPv6 resolver" "OK ::1" \
	"$(w6 python3 "$DNSCLIENT" resolve-connect v6only.test.mcpf 8080 2>&1)"

# Node: dns.lookup (getaddrinfo on libuv's pool) and dns.resolve4 (c-ares, its own resolver)
if command -v node >/dev/null; then
	js='const dns = require("dns"), net = require("net");
const [how, name] = process.argv.slice(1);
const go = (err, a) => {
  if (err) { console.log("NORESOLVE " + err.code); return; }
  const addr = Array.isArray(a) ? a[0] : a;
  net.connect(8080, addr).on("connect", function () { console.log("OK " + addr); this.destroy(); })
    .on("error", (e) => console.log(e.code + " " + addr));
};
how === "lookup" ? dns.lookup(name, { family: 4 }, go) : dns.resolve4(name, go);'
	check "names: node dns.lookup then connect" "OK 127.0.10.1" "$(w node -e "$js" lookup api.test.mcpf 2>&1)"
	check "names: node dns.resolve4 (c-ares) then connect" "OK 127.0.11.1" "$(w node -e "$js" resolve4 a.wild.test.mcpf 2>&1)"
	check "names: node dns.resolve4 of an unlisted name fails" NORESOLVE "$(w node -e "$js" resolve4 other.test.mcpf 2>&1 | cut -d' ' -f1)"
elif [ -n "${MCPF_TIME_SCALE:-}" ]; then
	skip "names: Node clients: this vmtest guest has no nodejs (the host runs them)"
else
	fail "names: node is missing (scripts/install-deps.sh installs nodejs)"
fi

# --- TTL: a flow opened while valid lives on; a new one after TTL (+ grace 0) is denied
out=$(w python3 "$DNSCLIENT" hold ttl2.test.mcpf 8080 3.5)
check "names: TTL 2: the held connection lives on, a new one is denied" "HELD OK NEW EPERM" "$out"
check "names: ... the deny says the name expired" 1 \
	"$(wait_events 'select(.type=="egress" and .dst=="127.0.14.1" and (.dst_names[0].state=="expired") and .dst_names[0].name=="ttl2.test.mcpf")' 1)"
check "names: TTL 0 gets the floor: resolve then connect works" "OK 127.0.14.2" "$(rc ttl0.test.mcpf 8080)"

# --- spoofing (the policy lets the workload send UDP to 127.0.0.1, its own query socket's address)
out=$(w python3 "$DNSCLIENT" forge "$SILENT" 53 forged.x 127.0.40.9)
check "names: a forged reply from the workload is refused at its sender" "FORGER EPERM" "$(echo "$out" | sed -n 1p)"
check "names: ... and teaches nothing" "CONNECT EPERM" "$(echo "$out" | sed -n 2p)"
check "names: ... reported" 1 "$(wait_events 'select(.type=="dns" and .reason=="forged_reply")' 1)"
check "names: control: the lying resolver's correct reply teaches" "127.0.40.1" "$(w python3 "$DNSCLIENT" query $FAKE 53 right.x)"
check "names: ... its address connects" OK "$(w python3 "$DNSCLIENT" connect 127.0.40.1 8080)"
w python3 "$DNSCLIENT" query $FAKE 53 txid.x >/dev/null
check "names: a reply with the wrong transaction id teaches nothing" EPERM "$(w python3 "$DNSCLIENT" connect 127.0.40.2 8080)"
w python3 "$DNSCLIENT" query $FAKE 53 question.x >/dev/null
check "names: a reply about another question teaches nothing" EPERM "$(w python3 "$DNSCLIENT" connect 127.0.40.3 8080)"
w python3 "$DNSCLIENT" query $FAKE 53 extra.x >/dev/null
check "names: control: the answer section teaches" OK "$(w python3 "$DNSCLIENT" connect 127.0.40.6 8080)"
check "names: the authority section teaches nothing" EPERM "$(w python3 "$DNSCLIENT" connect 127.0.40.8 8080)"
check "names: the additional section teaches nothing" EPERM "$(w python3 "$DNSCLIENT" connect 127.0.40.7 8080)"
w python3 "$DNSCLIENT" query $FAKE 53 offchain.x >/dev/null
check "names: control: an answer owned by the question teaches" OK "$(w python3 "$DNSCLIENT" connect 127.0.40.10 8080)"
check "names: an answer owned by a name off the CNAME chain teaches nothing" EPERM \
	"$(w python3 "$DNSCLIENT" connect 127.0.40.9 8080)"
w python3 "$DNSCLIENT" query $FAKE 53 twice.x >/dev/null
check "names: control: the first reply to a query teaches" OK "$(w python3 "$DNSCLIENT" connect 127.0.40.4 8080)"
check "names: a second, unsolicited reply teaches nothing" EPERM "$(w python3 "$DNSCLIENT" connect 127.0.40.5 8080)"
check "names: a resolver of its own is an ordinary destination (denied)" EPERM \
	"$(w python3 "$DNSCLIENT" query 127.0.0.2 5353 api.test.mcpf)"

# --- caps: 130 per name; a flood of 140 names under one wildcard fails closed at 130, without
# evicting other names' addresses or stopping other names from learning
printf 'n%s.flood.test.mcpf\n' $(seq 1 140) >"$WORK/flood.txt"
w dig +short +time=1 +tries=1 @$RES -f "$WORK/flood.txt" >/dev/null
learned_flood=$(bpftool -j map dump pinned "$BPFFS/mcpf_learned" | jq '[.[] | select(.formatted.key.addr[0:3] == [127,0,30])] | length')
check "names: a flood of 140 names under one wildcard learns up to the cap of 130" 130 "$learned_flood"
n=$(wait_events 'select(.type=="dns" and .reason=="learning_cap" and .verdict=="deny")' 10)
check "names: ... the other 10 are reported (learning_cap)" 10 "$n"
check "names: ... past the cap a flood name's address is denied" EPERM "$(w python3 "$DNSCLIENT" connect 127.0.30.140 8080)"
check "names: ... the other names' addresses are still there" OK "$(w python3 "$DNSCLIENT" connect 127.0.10.1 8080)"
check "names: ... and another name still learns" "OK 127.0.15.1" "$(rc late.test.mcpf 8080)"

# --- the agent dead: lookups keep working and keep failing
kill -9 "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
AGENT_PID=
check "names: agent SIGKILLed: a new lookup of an allowed name connects" "OK 127.0.12.1" "$(rc x.deep.test.mcpf 8080)"
check "names: agent SIGKILLed: an unlisted name is still refused" NORESOLVE "$(rc other.test.mcpf 8080 | cut -d' ' -f1)"
out=$(w python3 "$DNSCLIENT" hold ttl2.test.mcpf 8080 3.5)
check "names: agent SIGKILLed: expiry still applies" "HELD OK NEW EPERM" "$out"
before=$(bpftool -j map dump pinned "$BPFFS/mcpf_learned" | jq length)
agent_start || exit 1
grep -q "learned addresses kept from before" "$WORK/agent.log" && pass "names: a restarted agent takes the learned state over" ||
	fail "names: no take-over message"
check "names: ... an address learned before the restart still connects, without a new lookup" OK \
	"$(w python3 "$DNSCLIENT" connect 127.0.12.1 8080)"
[ "$before" -gt 0 ] && pass "names: ... ($before learned entries were pinned)" || fail "names: nothing was pinned"

# --- reload: removing a name stops its addresses for new connections
write_policy web enforce '[ { "to": ["*.wild.test.mcpf", "**.deep.test.mcpf"], "ports": ["8080"], "protocol": "tcp" },
  { "to": ["alias.test.mcpf"], "ports": ["8080"], "protocol": "tcp" } ]'
agent_reload
check "names: after a reload without api.test.mcpf its learned address is denied" EPERM \
	"$(w python3 "$DNSCLIENT" connect 127.0.10.1 8080)"
check "names: ... and the event says the name left the policy" 1 \
	"$(wait_events 'select(.type=="egress" and .dst=="127.0.10.1" and .dst_names[0].state=="removed_from_policy")' 1)"
check "names: ... a name of an unchanged rule still connects without a new lookup" OK \
	"$(w python3 "$DNSCLIENT" connect 127.0.13.1 8080)"
check "names: ... a name of the changed rule must be looked up again" EPERM \
	"$(w python3 "$DNSCLIENT" connect 127.0.12.2 8080)"
check "names: ... and then connects" "OK 127.0.12.2" "$(rc y.x.deep.test.mcpf 8080)"

# --- suggest: run in audit mode, suggest, enforce the suggestion: the same run has no denials
write_policy web audit '[ { "to": ["127.0.0.1/32"], "ports": ["9"], "protocol": "tcp" } ]'
agent_reload
workload() {
	rc api.test.mcpf 8080
	rc x.deep.test.mcpf 8080
	w python3 "$DNSCLIENT" connect 127.0.0.1 9 # allowed already: nothing listens (REFUSED)
	w python3 "$DNSCLIENT" connect 127.0.0.2 8080 # an address never looked up
}
n0=$(wc -l <"$EVENTS")
check "names: suggest: the workload runs in audit mode" "OK 127.0.10.1|OK 127.0.12.1|REFUSED|OK" "$(workload | tr '\n' '|' | sed 's/|$//')"
wait_events 'select(.type=="egress" and .dst=="127.0.0.2")' 1 >/dev/null
tail -n +"$((n0 + 1))" "$EVENTS" >"$WORK/audit.jsonl"
check "names: suggest: audit events name the looked-up addresses" 1 \
	"$(jq -c 'select(.type=="egress" and .verdict=="audit" and .dst=="127.0.10.1" and .dst_names[0].name=="api.test.mcpf" and .dst_names[0].state=="not_listed")' "$WORK/audit.jsonl" | head -1 | wc -l)"
"$MCPF" policy suggest --policy web "$WORK/audit.jsonl" >"$WORK/suggested.json" 2>"$WORK/suggest.err"
check "names: suggest: names with their ports, plain addresses only where nothing was resolved" \
	'[{"to":["127.0.0.2","api.test.mcpf","x.deep.test.mcpf"],"ports":["8080"],"protocol":"tcp"},{"to":["127.0.0.1"],"ports":["9"],"protocol":"tcp"}]' \
	"$(jq -c .spec.egress "$WORK/suggested.json")"
check "names: suggest: deterministic (the events shuffled give the same policy)" "$(cat "$WORK/suggested.json")" \
	"$(sort -R "$WORK/audit.jsonl" | "$MCPF" policy suggest --policy web - 2>/dev/null)"
check "names: suggest: --json gives the same document on one line" "$(jq -c . "$WORK/suggested.json")" \
	"$("$MCPF" policy suggest --json --policy web "$WORK/audit.jsonl" 2>/dev/null)"
cp "$WORK/suggested.json" "$WORK/policies/web.json"
"$MCPF" policy check "$WORK/policies/web.json" >/dev/null && pass "names: suggest: the suggestion passes policy check" ||
	fail "names: suggest: policy check refused the suggestion"
agent_reload
n1=$(wc -l <"$EVENTS")
check "names: suggest: enforced, the same workload runs" "OK 127.0.10.1|OK 127.0.12.1|REFUSED|OK" "$(workload | tr '\n' '|' | sed 's/|$//')"
check "names: suggest: ... with zero denials" 0 \
	"$(tail -n +"$((n1 + 1))" "$EVENTS" | jq -c 'select(.verdict=="deny")' | wc -l)"
check "names: suggest: a name outside it is refused" NORESOLVE "$(rc other.test.mcpf 8080 | cut -d' ' -f1)"
check "names: suggest: an address outside it is denied" EPERM "$(w python3 "$DNSCLIENT" connect 127.0.10.2 8080)"

# --- bad input changes nothing
write_policy bad enforce '[ { "to": ["bücher.example"], "ports": ["443"] } ]'
out=$("$MCPF" policy check "$WORK/policies/bad.json" 2>&1)
echo "$out" | grep -q 'spec.egress\[0\].to\[0\]: name "bücher.example" is not ASCII: write the name in its punycode form' &&
	pass "names: policy check refuses a non-ASCII name, pointing at punycode" || fail "names: policy check said: $out"
for bad in '*' 'a.*.example' '-a.example' 'a..example' '***.example'; do
	write_policy bad enforce "[ { \"to\": [\"$bad\"] } ]"
	"$MCPF" policy check "$WORK/policies/bad.json" >/dev/null 2>&1 && fail "names: \"$bad\" was accepted" ||
		pass "names: \"$bad\" is refused"
done
rm -f "$WORK/policies/bad.json"

agent_stop && pass "names: agent exits cleanly (no sanitizer report)" || fail "names: agent exit status"

# --- no resolver configured: a policy with names is refused at start, with the reason
"$MCPF" uninstall --config "$CONFIG" >/dev/null
write_policy web enforce '[ { "to": ["api.test.mcpf"], "ports": ["8080"], "protocol": "tcp" } ]'
write_config "\"bindings\": [ { \"cgroup\": \"$ROOT_REL/web\", \"policy\": \"web\" } ], \"dns\": { \"resolvers\": [] }"
"$MCPF" agent --config "$CONFIG" >"$WORK/agent-nodns.log" 2>&1
check "names: without resolvers the agent refuses a policy with names" 1 "$?"
grep -q 'web.json: spec.egress lists names ("api.test.mcpf"), but no resolvers are configured' "$WORK/agent-nodns.log" &&
	pass "names: ... and says why" || fail "names: ... the log said: $(tail -2 "$WORK/agent-nodns.log")"
check "names: ... before attaching or pinning anything" "0 no" \
	"$(bpftool cgroup show "$ROOT" 2>/dev/null | grep -c mcpf) $([ -e "$BPFFS/link_mcpf_connect4" ] && echo yes || echo no)"
