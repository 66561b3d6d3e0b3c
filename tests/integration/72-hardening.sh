#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Hardening (issue 23): the red team's tries, each as a hostile workload would make it, with a
# control row that shows the mechanism working where the defence is absent (outside the guarded
# cgroup, or the same bytes framed honestly):
#  1 every socket protocol the kernel offers   2 UDP-Lite to a resolver   3 UDP segmentation
#  4 a connected socket's sendto to a resolver   5 TCP urgent data   6 IPv6 extension headers
#  7 bytes past the question   8 a forged reply inside a split TCP reply   9 the metrics socket
#  10 the DNS budget, with the exfiltration rate before and after
source "$(dirname "$0")/lib.sh"

ATT="$REPO/tests/dnsattack.py"
SLOW="$REPO/tests/slowclients.py"
PY=$(PATH=/usr/bin:/bin command -v python3)
RES=127.0.0.163   # NSD, the configured resolver (and [::1]:53)
SPLIT=127.0.0.164 # a TCP resolver that writes some replies in two segments
SINK=127.0.0.165  # a resolver that counts what reaches it
command -v nsd >/dev/null || { fail "hardening: nsd is missing (scripts/install-deps.sh installs it)"; exit 0; }

Z="$WORK/nsd"
mkdir -p "$Z"
{
	echo '$ORIGIN hard.test.'
	echo '@ 300 IN SOA ns.hard.test. admin.hard.test. 1 3600 600 86400 60'
	echo '@ 300 IN NS ns.hard.test.'
	echo 'api 300 IN A 127.0.51.1'
	echo 'evl 300 IN A 127.0.51.2'
} >"$Z/hard.test.zone"
"$REPO/scripts/nsd-conf.sh" "$Z" hard.test "$RES" ::1
nsd -d -c "$Z/nsd.conf" >"$Z/nsd.out" 2>&1 &
BG_PIDS+=($!)
"$PY" "$ATT" split-server "$SPLIT" 53 >"$WORK/split.out" 2>&1 &
BG_PIDS+=($!)
"$PY" "$REPO/tests/dnsclient.py" echo-server 8080 >"$WORK/echo.out" 2>&1 &
BG_PIDS+=($!)
wait_ready "$WORK/split.out" && wait_ready "$WORK/echo.out" || { fail "hardening: the helpers did not start"; exit 0; }
wait_for 5 eval "dig +short +time=1 +tries=1 @$RES api.hard.test | grep -q 127.0.51.1" ||
	{ fail "hardening: nsd did not start: $(tail -3 "$Z/nsd.out" "$Z/nsd.log" 2>/dev/null)"; exit 0; }

METRICS="$WORK/metrics.sock"
config() { # EXTRA DNS MEMBERS
	write_config "\"bindings\": [ { \"cgroup\": \"$ROOT_REL/web\", \"policy\": \"web\" } ],
  \"metrics\": { \"listen\": \"$METRICS\" },
  \"dns\": { \"resolvers\": [\"$RES\", \"[::1]:53\", \"$SPLIT\", \"$SINK\"], \"ttl_floor\": \"1s\"${1:+, $1} }"
}
config
write_policy web enforce '[
  { "to": ["api.hard.test", "**.exfil.test", "**.split.test"], "ports": ["8080"], "protocol": "tcp" },
  { "to": ["127.0.0.1/32"], "ports": ["9999"], "protocol": "udp" } ]'
agent_start || exit 1
w() { in_cgroup web "$@" 2>&1; }
dns_events() { wait_events "select(.type==\"dns\" and .reason==\"$1\")" "${2:-1}"; }
at_least() { # NAME N ACTUAL
	if [ "$3" -ge "$2" ]; then pass "$1 ($3)"; else fail "$1: expected at least $2, got $3"; fi
}

# --- 1. every protocol the kernel offers: refused at creation, or judged on every send path
mkdir -p "$ROOT/web"
"$PY" "$ATT" protocols - 127.0.0.3 ::1 >"$WORK/proto.ctl"
"$PY" "$ATT" protocols "$ROOT/web/cgroup.procs" 127.0.0.3 ::1 >"$WORK/proto.web"
n=$(wc -l <"$WORK/proto.ctl")
[ "$n" -ge 6 ] && pass "1 this kernel offers $n (family, type, protocol) sockets: $(cut -d' ' -f1 "$WORK/proto.ctl" | tr '\n' ' ')" ||
	fail "1 too few protocols found: $(cat "$WORK/proto.ctl")"
while read -r label verdict rest; do
	ctl=$(grep "^$label " "$WORK/proto.ctl" | cut -d' ' -f2)
	case "$verdict" in
	refused | judged)
		if [ "$ctl" = delivered ]; then
			pass "1 $label: control delivered outside; in the cgroup $verdict $rest"
		else
			fail "1 $label: $verdict in the cgroup, but the control did not deliver ($ctl): the row proves nothing"
		fi ;;
	*) fail "1 $label: $verdict $rest (control: $ctl)" ;;
	esac
done <"$WORK/proto.web"
grep -q '^inet/dgram/136 judged' "$WORK/proto.web" && pass "1 UDP-Lite: connect passes, every datagram is judged by the backstop" ||
	fail "1 UDP-Lite: $(grep '^inet/dgram/136' "$WORK/proto.web")"
check "1 ... with an skb event naming UDP-Lite" 1 \
	"$(wait_events 'select(.hook=="skb" and .protocol=="udplite" and .dst=="127.0.0.3")' 1)"

# --- 2. UDP-Lite to a resolver's address and port
udplite() { # connect|sendto
	w "$PY" - "$1" <<EOF
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, 136)
try:
    if sys.argv[1] == "connect":
        s.connect(("$RES", 53)); s.send(b"x" * 1000)
    else:
        s.sendto(b"x" * 1000, ("$RES", 53))
    print("SENT")
except PermissionError:
    print("EPERM")
EOF
}
check "2 UDP-Lite sendto the resolver's address and port: refused by sendmsg4 (not DNS)" EPERM "$(udplite sendto)"
check "2 ... an egress event names UDP-Lite" 1 \
	"$(wait_events 'select(.hook=="sendmsg4" and .protocol=="udplite" and .dst=="'$RES'")' 1)"
check "2 UDP-Lite connected to it (no connect hook runs): refused by the backstop" EPERM "$(udplite connect)"
at_least "2 ... a dns event says dns_transport" 1 "$(dns_events dns_transport)"

# --- 3. UDP segmentation offload: one send, two datagrams
check "3 control: outside the cgroup one UDP_SEGMENT send reaches the resolver as two queries" \
	"SEND OK ANSWERED api.hard.test evl.hard.test" "$("$PY" "$ATT" gso "$RES" 53 api.hard.test evl.hard.test)"
check "3 UDP_SEGMENT with an allowed and an unlisted query: refused whole" "SEND EPERM ANSWERED none" \
	"$(w "$PY" "$ATT" gso "$RES" 53 api.hard.test evl.hard.test)"
check "3 ... a dns event says dns_offload" 1 "$(dns_events dns_offload)"

# --- 4. a UDP socket connected to an allowed destination sends to the resolver (the sink)
peer_sendto() { # NAME -> "SEND x RECEIVED n"
	"$PY" "$ATT" sink "$SINK" 53 >"$WORK/sink4.out" 2>&1 &
	local sink=$!
	BG_PIDS+=($sink)
	wait_ready "$WORK/sink4.out"
	local c
	c=$(w "$PY" "$ATT" peer-sendto 127.0.0.1 9999 "$SINK" 53 "$1" | cut -d' ' -f1-2)
	kill -TERM "$sink"
	wait "$sink"
	echo "$c $(tail -1 "$WORK/sink4.out" | cut -d' ' -f1-2)"
}
check "4 control: that socket's query for a listed name reaches the resolver" "SEND OK RECEIVED 1" \
	"$(peer_sendto api.hard.test)"
check "4 ... its query for an unlisted name is refused (the packet's port, not the peer's)" "SEND EPERM RECEIVED 0" \
	"$(peer_sendto evl.hard.test)"
check "4 ... a dns event names it" 1 \
	"$(wait_events 'select(.type=="dns" and .reason=="name_not_listed" and .qname=="evl.hard.test")' 1)"

# --- 5. TCP urgent data to a resolver
check "5 control: a framed TCP query without urgent data is answered" "ANSWERED yes" \
	"$(w "$PY" "$ATT" urgent "$RES" 53 api.hard.test 0)"
check "5 control: outside the cgroup NSD skips the urgent byte and answers the query the resent bytes complete (framing one byte off)" "ANSWERED yes" \
	"$("$PY" "$ATT" urgent "$RES" 53 api.hard.test 1)"
check "5 the segment carrying urgent data is refused (and so is all after it): no answer" "ANSWERED no" \
	"$(w "$PY" "$ATT" urgent "$RES" 53 api.hard.test 1)"
at_least "5 ... a dns event says dns_urgent (one per retransmission)" 1 "$(dns_events dns_urgent)"

# --- 6. IPv6 extension headers (CAP_NET_RAW, Docker's default set)
check "6 control: outside the cgroup a query with a destination options header is answered" "SEND OK ANSWERED yes" \
	"$("$PY" "$ATT" dstopts ::1 53 evl.hard.test)"
check "6 with a destination options header an unlisted query is refused" "SEND EPERM ANSWERED no" \
	"$(w "$PY" "$ATT" dstopts ::1 53 evl.hard.test)"
check "6 ... even a listed one (the check cannot read past the header)" "SEND EPERM ANSWERED no" \
	"$(w "$PY" "$ATT" dstopts ::1 53 api.hard.test)"
at_least "6 ... a dns event says dns_ip_header" 2 "$(dns_events dns_ip_header 2)"

# --- 7. bytes past the question
check "7 control: a plain query is answered" "SEND OK ANSWERED yes" "$(w "$PY" "$ATT" extra "$RES" 53 api.hard.test none)"
check "7 control: with an 8-byte EDNS cookie (dig's default) it is answered" "SEND OK ANSWERED yes" \
	"$(w "$PY" "$ATT" extra "$RES" 53 api.hard.test cookie)"
for kind in trailing txt edns-big; do
	check "7 control: outside the cgroup a query with $kind (3900 bytes) reaches the resolver" "SEND OK" \
		"$("$PY" "$ATT" extra "$RES" 53 api.hard.test "$kind" | cut -d' ' -f1-2)"
	check "7 $kind: refused" "SEND EPERM ANSWERED no" "$(w "$PY" "$ATT" extra "$RES" 53 api.hard.test "$kind")"
done
check "7 ... each with a dns event saying dns_extra_data" 3 "$(dns_events dns_extra_data 3)"

# --- 8. a forged reply at the start of a TCP reply's second segment
check "8 control: an honest TCP reply in its own segment teaches" "CONNECT OK" \
	"$(w "$PY" "$ATT" split-client "$SPLIT" 53 ok 127.0.50.3)"
check "8 control: the forged bytes, sent by the resolver as a message of their own, would teach" "CONNECT OK" \
	"$(w "$PY" "$ATT" split-client "$SPLIT" 53 fwd 127.0.50.2)"
check "8 control: the address the attack forges is not known before it" EPERM "$(w "$NETPROBE" tcp 127.0.50.1 8080)"
check "8 the same bytes inside the echo of a reply split across segments teach nothing" "CONNECT EPERM" \
	"$(w "$PY" "$ATT" split-client "$SPLIT" 53 cut 127.0.50.1)"

# --- 9. the metrics socket
check "9 control: the metrics socket answers outside run" REACHED \
	"$(curl -s --max-time 2 --unix-socket "$METRICS" http://localhost/metrics | grep -q '^mcpfence_' && echo REACHED || echo UNREACHABLE)"
check "9 the metrics socket is hidden inside run" UNREACHABLE \
	"$("$MCPF" run --config "$CONFIG" --policy web -- sh -c "curl -s --max-time 2 --unix-socket '$METRICS' http://localhost/metrics | grep -q '^mcpfence_' && echo REACHED || echo UNREACHABLE")"
chmod 711 "$WORK" # the flooding uid may reach the sockets, nothing else of ours
setpriv --reuid=65534 --regid=65534 --clear-groups "$PY" "$SLOW" storm "$METRICS" 200 3 >"$WORK/storm.out" 2>&1 &
STORM=$!
BG_PIDS+=($STORM)
wait_for 5 grep -q CONNECTED "$WORK/storm.out" || fail "9 the storm did not connect: $(cat "$WORK/storm.out")"
ok=0
for _ in 1 2 3 4 5 6 7 8; do
	curl -s --max-time 2 --unix-socket "$METRICS" http://localhost/metrics | grep -q '^mcpfence_' && ok=$((ok + 1))
done
check "9 during a flood of 200 connections from one uid, 8 of 8 scrapes are answered" 8 "$ok"
wait "$STORM"
read -r acc ref _ <<<"$(tail -1 "$WORK/storm.out" | tr ' ' '\n' | cut -d= -f2 | tr '\n' ' ')"
check "9 ... the flooding uid holds 16 connections; the other 184 are refused at once" "16 184" "$acc $ref"

# --- 10. the DNS budget: fresh names under an allowed wildcard, with the defaults (the agent
# started with them), then unbounded (the control: one restart, the slowest step in the guests)
exfil_run() { # -> "sent refused received label_bytes"
	"$PY" "$ATT" sink "$SINK" 53 >"$WORK/sink.out" 2>&1 &
	local sink=$!
	BG_PIDS+=($sink)
	wait_ready "$WORK/sink.out"
	local c
	c=$(w "$PY" "$ATT" exfil "$SINK" 53 exfil.test 3)
	sleep 0.3 # the last datagrams reach the sink
	kill -TERM "$sink"
	wait "$sink"
	echo "$(echo "$c" | awk '{ print $2, $4 }') $(tail -1 "$WORK/sink.out" | awk '{ print $2, $4 }')"
}
check "10 a listed name asked before the flood" 127.0.51.1 "$(w dig +short +time=1 +tries=1 @$RES api.hard.test)"
e0=$(events_where '.type=="dns" and .reason=="dns_budget"')
read -r s1 r1 n1 b1 <<<"$(exfil_run)"
[ "${n1:-0}" -le 300 ] && [ "${n1:-0}" -ge 100 ] &&
	pass "10 with the default budget $n1 fresh names reached the resolver in 3 s ($((b1 / 3)) bytes/s of labels; $r1 sends refused)" ||
	fail "10 with the default budget ${n1:-0} queries reached the resolver (refused $r1)"
e1=$(( $(wait_events '.type=="dns" and .reason=="dns_budget"' $((e0 + 1))) - e0 ))
[ "$e1" -ge 1 ] && [ "$e1" -le 4 ] && pass "10 ... reported by $e1 dns_budget event(s), one per window" ||
	fail "10 ... $e1 dns_budget events for $r1 refusals"
check "10 ... the name asked before is still resolved after it (not a new name)" 127.0.51.1 \
	"$(w dig +short +time=1 +tries=1 @$RES api.hard.test)"
config '"queries_per_second": 0, "new_names_per_minute": 0'
agent_stop
agent_start || exit 1
read -r s0 r0 n0 b0 <<<"$(exfil_run)"
[ "${n0:-0}" -gt 900 ] &&
	pass "10 control: without a budget $n0 fresh names reached it in 3 s ($((b0 / 3)) bytes/s of labels)" ||
	fail "10 control: only ${n0:-0} queries reached the resolver without a budget (sent $s0)"

agent_stop && pass "hardening: agent exits cleanly (no sanitizer report)" || fail "hardening: agent exit status"
