#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The ClientHello check (issue 21): one loopback address plays a shared front door, a real TLS
# server choosing its certificate by server name for an allowed name and an unlisted one; the
# suite's NSD resolves the names. Real clients (curl, Python's ssl, Node's https) and crafted
# ClientHellos (tests/tlspeer.py) against a raw server that records whether application data
# arrived. Every refusal has its control row: the same client, the same address, a learned name.
source "$(dirname "$0")/lib.sh"

PEER="$REPO/tests/tlspeer.py"
RES=127.0.0.163	 # NSD
FRONT=127.0.40.1 # the TLS front door: api, www (listed), other (not) on port 443
RAW=127.0.40.2	 # the raw server: raw (listed), raw2 (not) on 443
AUD=127.0.40.3	 # audit.tls.mcpf: a rule with "tls": "audit", on 8443
PLAIN=127.0.40.4 # plain.tls.mcpf: a name rule on 8080, not a TLS port: not checked
command -v nsd >/dev/null && command -v curl >/dev/null && command -v openssl >/dev/null ||
	{ fail "tls: nsd, curl or openssl is missing (scripts/install-deps.sh installs them)"; exit 0; }
[ -e /etc/resolv.conf ] || : >/etc/resolv.conf

# --- a test CA and a certificate per name
C="$WORK/certs"
mkdir -p "$C"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "/CN=mcpf test CA" \
	-keyout "$C/ca.key" -out "$C/ca.crt" >/dev/null 2>&1 || { fail "tls: openssl could not make the CA"; exit 0; }
for n in api.tls.mcpf www.tls.mcpf node.tls.mcpf other.tls.mcpf default; do
	echo "subjectAltName=DNS:$n" >"$C/$n.ext" # a file: the vmtest guests have no /dev/fd
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$n" -keyout "$C/$n.key" \
		-out "$C/$n.csr" >/dev/null 2>&1 &&
		openssl x509 -req -in "$C/$n.csr" -CA "$C/ca.crt" -CAkey "$C/ca.key" -CAcreateserial -days 1 \
			-extfile "$C/$n.ext" -out "$C/$n.crt" >/dev/null 2>&1 &&
		cat "$C/$n.crt" "$C/$n.key" >"$C/$n.pem"
done

# --- the zone, the servers
Z="$WORK/nsd"
mkdir -p "$Z"
{
	echo '$ORIGIN tls.mcpf.'
	echo '@ 300 IN SOA ns.tls.mcpf. admin.tls.mcpf. 1 3600 600 86400 60'
	echo '@ 300 IN NS ns.tls.mcpf.'
	echo "ns 300 IN A $RES"
	for n in api www other node; do echo "$n 300 IN A $FRONT"; done
	for n in raw raw2; do echo "$n 300 IN A $RAW"; done
	echo "audit 300 IN A $AUD"
	echo "plain 300 IN A $PLAIN"
} >"$Z/tls.mcpf.zone"
"$REPO/scripts/nsd-conf.sh" "$Z" tls.mcpf "$RES"
nsd -d -c "$Z/nsd.conf" >"$Z/nsd.out" 2>&1 &
BG_PIDS+=($!)
python3 "$PEER" front $FRONT 443 "$C" >"$WORK/front.out" 2>&1 &
BG_PIDS+=($!)
python3 "$PEER" raw $RAW 443 "$WORK/raw.log" >"$WORK/raw.out" 2>&1 &
BG_PIDS+=($!)
python3 "$PEER" raw $AUD 8443 "$WORK/raw.log" >"$WORK/aud.out" 2>&1 &
BG_PIDS+=($!)
python3 "$PEER" raw $PLAIN 8080 "$WORK/raw.log" >"$WORK/plain.out" 2>&1 &
BG_PIDS+=($!)
for f in front raw aud plain; do wait_ready "$WORK/$f.out" || { fail "tls: the $f server did not start: $(cat "$WORK/$f.out")"; exit 0; }; done
command -v dig >/dev/null && { wait_for 5 eval "dig +short +time=1 +tries=1 @$RES api.tls.mcpf | grep -q $FRONT" ||
	{ fail "tls: nsd did not start: $(tail -3 "$Z/nsd.out")"; exit 0; }; }
echo "nameserver $RES" >"$WORK/resolv.conf"

write_config "\"bindings\": [ { \"cgroup\": \"$ROOT_REL/w\", \"policy\": \"front\" } ],
  \"dns\": { \"resolvers\": [\"$RES\"], \"grace\": \"0s\" }"
POLICY='[
  { "to": ["api.tls.mcpf", "www.tls.mcpf", "node.tls.mcpf", "raw.tls.mcpf"], "ports": ["443"] },
  { "to": ["audit.tls.mcpf"], "ports": ["8443"], "protocol": "tcp", "tls": "audit" },
  { "to": ["plain.tls.mcpf"], "ports": ["8080"], "protocol": "tcp" } ]'
write_policy front enforce "$POLICY"
agent_start || exit 1

# w CMD...: run CMD in the bound cgroup, with the suite's resolver in its resolv.conf
w() { in_cgroup w unshare -m sh -c 'mount -o bind "$0" /etc/resolv.conf && exec "$@"' "$WORK/resolv.conf" "$@"; }
get() { w python3 "$PEER" get "$1" 443 "$C/ca.crt" ${2:+"$2"} 2>&1; }
hello() { w python3 "$PEER" hello "$@" 2>&1; }
# marker SPORT: whether the raw server saw the application data of the connection from SPORT
marker() {
	wait_for 8 grep -q "^PORT $1 " "$WORK/raw.log"
	awk -v p="$1" '$2 == p { print $6 }' "$WORK/raw.log" | tail -1
}
# refused ROW SPORT-OUTCOME-MS REASON [SNI]: a crafted row refused: the connection aborted, no
# application data at the server, and a tls event with the reason
refused() {
	local sport outcome ms
	read -r _ sport outcome ms <<<"$2"
	check "tls: $1: aborted" ECONNABORTED "$outcome"
	check "tls: $1: no application data reached the server" no "$(marker "$sport")"
	check "tls: $1: a tls event ($3)" 1 \
		"$(wait_events 'select(.type=="tls" and .verdict=="deny" and .reason=="'"$3"'" and .dport==443 and .sport=='"$sport"''"${4:+ and .server_name==\"$4\"}"' and .flow_ended==true)' 1)"
}
allowed() {
	local sport outcome
	read -r _ sport outcome _ <<<"$2"
	check "tls: $1: through" OK "$outcome"
	check "tls: $1: its application data reached the server" yes "$(marker "$sport")"
}
reset_events() { : >"$EVENTS"; }

# --- real clients at the front door
check "tls: curl reaches the allowed name" "served api.tls.mcpf" \
	"$(w curl -sS --max-time 5 --cacert "$C/ca.crt" https://api.tls.mcpf/ 2>&1)"
check "tls: Python's ssl reaches the allowed name" "served api.tls.mcpf" "$(get api.tls.mcpf)"
check "tls: Python's ssl reaches another listed name on the same address" "served www.tls.mcpf" "$(get www.tls.mcpf)"
check "tls: control: the unlisted name is not resolved (its query never leaves)" NORESOLVE "$(get other.tls.mcpf)"
t0=$(date +%s%N)
out=$(w curl -sS --max-time 10 --cacert "$C/ca.crt" --resolve other.tls.mcpf:443:$FRONT https://other.tls.mcpf/ 2>&1)
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
case "$out" in *served*) fail "tls: curl aimed at the learned address with an unlisted name got through: $out" ;;
*) pass "tls: curl aimed at the learned address with an unlisted name is refused (${ms} ms: $(echo "$out" | head -1))" ;; esac
[ "$ms" -lt $((2000 * ${MCPF_TIME_SCALE:-1})) ] && pass "tls: ... and ends within 2 s ($ms ms), not when TCP gives up" ||
	fail "tls: curl's refused flow took $ms ms to end"
check "tls: ... a tls event names the server name, the address, its learned names and the policy" 1 \
	"$(wait_events 'select(.type=="tls" and .verdict=="deny" and .reason=="server_name_not_learned" and .server_name=="other.tls.mcpf" and .dst=="'$FRONT'" and .dport==443 and .policy=="front" and (.learned_names|index("api.tls.mcpf")) != null and (.learned_names|index("www.tls.mcpf")) != null and .flow_ended==true)' 1)"
check "tls: Python's ssl with the unlisted name as server_hostname is refused" ECONNABORTED \
	"$(get api.tls.mcpf other.tls.mcpf)"
check "tls: server names compare case-insensitively, a trailing dot ignored" "served api.tls.mcpf" \
	"$(w curl -sS --max-time 5 --cacert "$C/ca.crt" https://API.Tls.Mcpf./ 2>&1)"
out=$(w curl -sS --max-time 10 -k https://$FRONT/ 2>&1)
case "$out" in *served*) fail "tls: an IP literal (no server name) got through" ;;
*) pass "tls: an IP literal (curl sends no server name) is refused" ;; esac
check "tls: ... as no_server_name" 1 \
	"$(wait_events 'select(.type=="tls" and .reason=="no_server_name" and .dst=="'$FRONT'" and .server_name==null)' 1)"
if command -v node >/dev/null; then
	nodeget() {
		w env NODE_EXTRA_CA_CERTS="$C/ca.crt" node -e '
const https = require("https"), dns = require("dns");
dns.lookup(process.argv[1], { family: 4 }, (e, addr) => {
  if (e) { console.log("NORESOLVE"); return; }
  https.get({ host: addr, servername: process.argv[2], headers: { Host: "x" }, timeout: 5000 }, r => {
    let b = ""; r.on("data", d => b += d); r.on("end", () => console.log(b.trim()));
  }).on("error", e => console.log(e.code || e.message));
});' "$1" "$2" 2>&1
	}
	check "tls: Node's https reaches the allowed name" "served node.tls.mcpf" "$(nodeget node.tls.mcpf node.tls.mcpf)"
	check "tls: Node's https with servername other.tls.mcpf on the learned address is refused" ECONNABORTED \
		"$(nodeget node.tls.mcpf other.tls.mcpf)"
else
	skip "tls: Node rows: node is not installed (scripts/install-deps.sh installs it; vmtest guests have none)"
fi

# --- crafted ClientHellos against the raw server (listed raw, unlisted raw2, same address)
# one process for the lot: a Python start is seconds in the emulated vmtest guests
# (through a file: the vmtest guests have no /dev/fd for a process substitution)
w python3 "$PEER" hellos raw.tls.mcpf 443 plain,raw.tls.mcpf plain,raw2.tls.mcpf \
	second,raw.tls.mcpf second,raw2.tls.mcpf shuffled,raw.tls.mcpf shuffled,raw2.tls.mcpf \
	records1,raw.tls.mcpf records1,raw2.tls.mcpf hrr,raw.tls.mcpf,raw.tls.mcpf hrr,raw.tls.mcpf,raw2.tls.mcpf \
	ech,raw.tls.mcpf ech,raw2.tls.mcpf nosni notls huge,raw.tls.mcpf >"$WORK/hellos.out" 2>&1
mapfile -t R <"$WORK/hellos.out"
allowed "one record, one segment (control)" "${R[0]:-}"
refused "one record, an unlisted name" "${R[1]:-}" server_name_not_learned raw2.tls.mcpf
allowed "the name in the second segment, after a 3000-byte extension" "${R[2]:-}"
refused "the unlisted name in the second segment" "${R[3]:-}" server_name_not_learned raw2.tls.mcpf
allowed "extensions in random order" "${R[4]:-}"
refused "extensions in random order, an unlisted name" "${R[5]:-}" server_name_not_learned raw2.tls.mcpf
allowed "one-byte TLS records" "${R[6]:-}"
refused "one-byte TLS records, an unlisted name" "${R[7]:-}" server_name_not_learned raw2.tls.mcpf
allowed "a second ClientHello (after a HelloRetryRequest) with the same name" "${R[8]:-}"
refused "a second ClientHello with another name" "${R[9]:-}" server_name_not_learned raw2.tls.mcpf
allowed "ECH with a listed outer name" "${R[10]:-}"
refused "ECH with an unlisted outer name" "${R[11]:-}" server_name_not_learned raw2.tls.mcpf
refused "a ClientHello without a server name" "${R[12]:-}" no_server_name
refused "bytes that are not TLS on 443" "${R[13]:-}" not_tls
refused "a ClientHello of 17000 bytes" "${R[14]:-}" client_hello_bounds
# Fast Open: the client may put data in its SYN without a cookie, the server takes it
tfo_was=$(sysctl -n net.ipv4.tcp_fastopen)
CLEANUP_FIRST+=("sysctl -qw net.ipv4.tcp_fastopen=$tfo_was")
sysctl -qw net.ipv4.tcp_fastopen=$((0x207))
tfo_active() { awk '/^TcpExt:/ { if (!h) { for (i = 1; i <= NF; i++) k[i] = $i; h = 1 } else for (i = 1; i <= NF; i++) if (k[i] == "TCPFastOpenActive") print $i }' /proc/net/netstat; }
n0=$(tfo_active)
allowed "the ClientHello in a Fast Open SYN" "$(hello raw.tls.mcpf 443 tfo raw.tls.mcpf)"
check "tls: ... the allowed one's SYN carried its data (TCPFastOpenActive)" 1 $(( $(tfo_active) - n0 ))
# refused in the SYN: the kernel falls back to a plain SYN, and the data it resends is refused
refused "an unlisted name in a Fast Open SYN" "$(hello raw.tls.mcpf 443 tfo raw2.tls.mcpf)" server_name_not_learned raw2.tls.mcpf
sysctl -qw net.ipv4.tcp_fastopen="$tfo_was"
check "tls: QUIC: UDP to the rule's TLS port is refused" EPERM "$(w python3 "$PEER" quic raw.tls.mcpf 443)"
check "tls: ... with a tls event (quic)" 1 "$(wait_events 'select(.type=="tls" and .reason=="quic" and .protocol=="udp" and .dst=="'$RAW'")' 1)"
# the knob: audit reports and lets through; a name rule on a plain port is not checked
out=$(hello audit.tls.mcpf 8443 plain raw2.tls.mcpf)
read -r _ sport outcome _ <<<"$out"
check "tls: \"tls\": \"audit\": an unlisted name goes through" "OK yes" "$outcome $(marker "$sport")"
check "tls: ... reported as audit" 1 \
	"$(wait_events 'select(.type=="tls" and .verdict=="audit" and .reason=="server_name_not_learned" and .dport==8443)' 1)"
out=$(hello plain.tls.mcpf 8080 notls)
read -r _ sport outcome _ <<<"$out"
check "tls: a name rule on port 8080 (not a TLS port) is not checked: plain HTTP goes through" "OK yes" \
	"$outcome $(marker "$sport")"
check "tls: the kernel counted the ClientHellos it judged" true \
	"$("$MCPF" status --config "$CONFIG" --json | jq '.counters.tls_checked >= 10 and .counters.tls_refused >= 10')"

# --- the agent SIGKILLed: the kernel holds both kinds of rows (nobody ends the refused flow:
# it sends nothing more, and ends when the application or TCP gives up)
kill -9 "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
AGENT_PID=
check "tls: agent dead: the allowed name still goes through" "served api.tls.mcpf" "$(get api.tls.mcpf)"
allowed "agent dead: a listed name" "$(hello raw.tls.mcpf 443 plain raw.tls.mcpf)"
out=$(hello raw.tls.mcpf 443 plain raw2.tls.mcpf)
read -r _ sport outcome _ <<<"$out"
check "tls: agent dead: an unlisted name is refused (the client waits: its 3 s timeout)" "TIMEOUT" "$outcome"
check "tls: agent dead: ... and no application data reached the server" no "$(marker "$sport")"
agent_start || exit 1
reset_events
check "tls: restarted: the allowed name goes through" "served api.tls.mcpf" "$(get api.tls.mcpf)"
refused "restarted: an unlisted name" "$(hello raw.tls.mcpf 443 plain raw2.tls.mcpf)" server_name_not_learned raw2.tls.mcpf

# --- reload: www.tls.mcpf removed from the rule stops new flows that present it
write_policy front enforce '[
  { "to": ["api.tls.mcpf", "node.tls.mcpf", "raw.tls.mcpf"], "ports": ["443"] },
  { "to": ["audit.tls.mcpf"], "ports": ["8443"], "protocol": "tcp", "tls": "audit" },
  { "to": ["plain.tls.mcpf"], "ports": ["8080"], "protocol": "tcp" } ]'
agent_reload
check "tls: reload: the remaining name resolves and goes through" "served api.tls.mcpf" "$(get api.tls.mcpf)"
check "tls: reload: the removed name, presented on the address learned for the other, is refused" ECONNABORTED \
	"$(get api.tls.mcpf www.tls.mcpf)"
check "tls: reload: \"tls\": \"off\" turns the check off for the rule" OK "$(
	write_policy front enforce '[ { "to": ["api.tls.mcpf", "raw.tls.mcpf"], "ports": ["443"], "tls": "off" } ]'
	agent_reload
	hello raw.tls.mcpf 443 notls | awk '{ print $3 }')"

agent_stop || fail "tls: the agent exited with an error (sanitizer report?): $(tail -5 "$WORK/agent.log")"
