#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The ClientHello check's cost (issue 21), side by side in one run, configurations interleaved
# round by round, one agent, one policy with two name rules on port 443 of two addresses of the
# same kind: "check" (the default: enforce) and "off" ("tls": "off").
#   1. time to first byte of an HTTPS request (connect, TLS 1.3 handshake, GET, first byte of
#      the answer) from the guarded cgroup, Python's ssl against a local TLS server
#   2. the kernel's own time (kernel.bpf_stats_enabled): the skb program per request, the check's
#      tail call included (its cost per handshake is the difference), and per later packet of an
#      established flow (1-byte writes, TCP_NODELAY)
# Writes bench/RESULTS-tls.md, or with --smoke a tiny run into tests/out/bench-tls-smoke.md.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
SMOKE=0
OUT=bench/RESULTS-tls.md
[ "${1:-}" = --smoke ] && { SMOKE=1; OUT=${TEST_OUT:-tests/out}/bench-tls-smoke.md; mkdir -p "$(dirname "$OUT")"; }
MCPF=build/mcpfence
PEER=tests/tlspeer.py
ROUNDS=${ROUNDS:-5}
N=${N:-300}   # HTTPS requests per configuration and round
NP=${NP:-5000} # later packets per configuration and round
if [ "$SMOKE" = 1 ]; then ROUNDS=1 N=20 NP=200; fi
RES=127.0.0.173
ON=127.0.50.1
OFF=127.0.50.2

CG_MOUNT=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
[ -n "$CG_MOUNT" ] || CG_MOUNT=$(awk '{ for (i = 1; i < NF; i++) if ($i == "-" && $(i+1) == "cgroup2") { print $5; exit } }' /proc/self/mountinfo)
ROOT_REL=mcpf-bench-tls-$$
CG="$CG_MOUNT/$ROOT_REL"
BPFFS=/sys/fs/bpf/$ROOT_REL
WORK=$(mktemp -d /tmp/mcpf-bench-tls.XXXX)
PIDS=()
AGENT=
STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled)
log() { echo "bench-tls: $*" >&2; }

cleanup() {
	set +e
	sysctl -qw kernel.bpf_stats_enabled="$STATS_WAS"
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	[ -n "$AGENT" ] && { kill "$AGENT"; wait "$AGENT"; } 2>/dev/null
	"$MCPF" uninstall --config "$WORK/agent.json" >/dev/null 2>&1
	rm -rf "$BPFFS"
	if [ -d "$CG" ]; then
		find "$CG" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -9 2>/dev/null
		sleep 0.1
		find "$CG" -depth -type d -exec rmdir {} + 2>/dev/null
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT
guarded() {
	mkdir -p "$CG/w"
	bash -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$CG/w" \
		unshare -m sh -c 'mount -o bind "$0" /etc/resolv.conf && exec "$@"' "$WORK/resolv.conf" "$@"
}

# --- certificates, the zone, the servers
C="$WORK/certs"
mkdir -p "$C" "$WORK/nsd"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "/CN=bench CA" \
	-keyout "$C/ca.key" -out "$C/ca.crt" >/dev/null 2>&1
for n in on.tls.bench off.tls.bench default; do
	echo "subjectAltName=DNS:$n" >"$C/$n.ext"
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$n" -keyout "$C/$n.key" -out "$C/$n.csr" >/dev/null 2>&1
	openssl x509 -req -in "$C/$n.csr" -CA "$C/ca.crt" -CAkey "$C/ca.key" -CAcreateserial -days 1 \
		-extfile "$C/$n.ext" -out "$C/$n.crt" >/dev/null 2>&1
	cat "$C/$n.crt" "$C/$n.key" >"$C/$n.pem"
done
{
	echo '$ORIGIN tls.bench.'
	echo '@ 3600 IN SOA ns.tls.bench. admin.tls.bench. 1 3600 600 86400 60'
	echo '@ 3600 IN NS ns.tls.bench.'
	echo "ns 3600 IN A $RES"
	echo "on 3600 IN A $ON"
	echo "off 3600 IN A $OFF"
} >"$WORK/nsd/tls.bench.zone"
scripts/nsd-conf.sh "$WORK/nsd" tls.bench "$RES"
nsd -d -c "$WORK/nsd/nsd.conf" >"$WORK/nsd.out" 2>&1 &
PIDS+=($!)
for a in $ON $OFF; do
	python3 "$PEER" front $a 443 "$C" >"$WORK/front.$a" 2>&1 &
	PIDS+=($!)
	python3 "$PEER" raw $a 8443 /dev/null >"$WORK/raw.$a" 2>&1 &
	PIDS+=($!)
done
echo "nameserver $RES" >"$WORK/resolv.conf"
for f in "$WORK"/front.* "$WORK"/raw.*; do
	for _ in $(seq 100); do grep -q READY "$f" && break; sleep 0.05; done
done

mkdir -p "$WORK/policies"
cat >"$WORK/policies/bench.json" <<JSON
{ "apiVersion": "mcpfence/v1", "kind": "EgressPolicy", "metadata": { "name": "bench" },
  "spec": { "mode": "enforce", "egress": [
    { "to": ["on.tls.bench"], "ports": ["443", "8443"], "protocol": "tcp", "tls": "enforce" },
    { "to": ["off.tls.bench"], "ports": ["443", "8443"], "protocol": "tcp", "tls": "off" } ] } }
JSON
cat >"$WORK/agent.json" <<JSON
{ "cgroup_root": "$ROOT_REL", "bpffs": "$BPFFS", "socket": "$WORK/agent.sock", "policies": ["policies/"],
  "events": { "stdout": false }, "bindings": [ { "cgroup": "$ROOT_REL/w", "policy": "bench" } ],
  "dns": { "resolvers": ["$RES"] } }
JSON
"$MCPF" agent --config "$WORK/agent.json" >"$WORK/agent.log" 2>&1 &
AGENT=$!
for _ in $(seq 200); do "$MCPF" status --config "$WORK/agent.json" --json 2>/dev/null | grep -q '"running": true' && break; sleep 0.05; done

# the measuring client: TTFB of N requests, or NP one-byte packets on one checked flow
cat >"$WORK/client.py" <<'PY'
import socket, ssl, statistics, sys, time
sys.path.insert(0, sys.argv[1])
import tlspeer
mode, name, n, ca = sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
addr = socket.getaddrinfo(name, 443, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
if mode == "ttfb":
    ctx = ssl.create_default_context(cafile=ca)
    ts = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        s = socket.create_connection((addr, 443))
        t = ctx.wrap_socket(s, server_hostname=name)
        t.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        t.recv(1)
        ts.append(time.perf_counter_ns() - t0)
        t.close()
    print(int(statistics.median(ts)), int(sorted(ts)[len(ts) * 99 // 100]))
else:  # later packets: a ClientHello, then application data, then n one-byte writes
    s = socket.create_connection((addr, 8443))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(tlspeer.records(22, tlspeer.client_hello(name)) + tlspeer.records(23, b"x"))
    time.sleep(0.05)
    for _ in range(n):
        s.send(b"x")
    s.close()
    print("done")
PY
client() { guarded python3 "$WORK/client.py" "$REPO/tests" "$@" "$C/ca.crt"; }
# run_stats PROG: run_time_ns and run_cnt of one of our programs
prog_stats() {
	bpftool -j prog show | jq -r --arg n "$1" '[.[] | select(.name == $n)] | map(.run_time_ns // 0) as $t | map(.run_cnt // 0) as $c | "\($t | add) \($c | add)"'
}
client ttfb on.tls.bench 2 >/dev/null && client ttfb off.tls.bench 2 >/dev/null || { log "a warm-up request failed: $(tail -3 "$WORK/agent.log")"; exit 1; }
sysctl -qw kernel.bpf_stats_enabled=1

declare -A med p99 hs pkt
for r in $(seq "$ROUNDS"); do
	for cfg in on off; do
		read -r m p < <(client ttfb $cfg.tls.bench "$N")
		med[$cfg]+="$m " p99[$cfg]+="$p "
		# a tail call's time is its caller's: the skb program's, summed over a request's packets
		read -r t0 c0 < <(prog_stats mcpf_skb_egress)
		client ttfb $cfg.tls.bench "$N" >/dev/null
		read -r t1 c1 < <(prog_stats mcpf_skb_egress)
		hs[$cfg]+="$(( (t1 - t0) / N )) "
		read -r t0 c0 < <(prog_stats mcpf_skb_egress)
		client packets $cfg.tls.bench "$NP" >/dev/null
		read -r t1 c1 < <(prog_stats mcpf_skb_egress)
		pkt[$cfg]+="$(( (t1 - t0) / (c1 - c0 > 0 ? c1 - c0 : 1) )) "
	done
	log "round $r/$ROUNDS"
done
mid() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b ? a / b : 0 }'; }
{
	echo "# The ClientHello check: measured results"
	echo
	echo "\`bench/tls.sh\` on $(uname -r), $(nproc) cpus, $(date -u +%Y-%m-%d); $ROUNDS rounds, the two configurations"
	echo "interleaved in each; medians over rounds. Same policy, same agent: \"check\" is a name rule on 443 with the"
	echo "ClientHello check (the default for 443), \"off\" the same rule with \`\"tls\": \"off\"\`. The kernel's time is"
	echo "from \`kernel.bpf_stats_enabled\` (run_time_ns / run_cnt)."
	echo
	echo "| measure | check | off | check / off |"
	echo "|---|---|---|---|"
	echo "| HTTPS time to first byte, median (µs; $N requests a round, Python ssl, TLS 1.3) | $(( $(mid "${med[on]}") / 1000 )) | $(( $(mid "${med[off]}") / 1000 )) | $(ratio "$(mid "${med[on]}")" "$(mid "${med[off]}")") |"
	echo "| HTTPS time to first byte, p99 (µs) | $(( $(mid "${p99[on]}") / 1000 )) | $(( $(mid "${p99[off]}") / 1000 )) | $(ratio "$(mid "${p99[on]}")" "$(mid "${p99[off]}")") |"
	echo "| the skb program per HTTPS request, all its packets (ns; with the check: its tail call into mcpf_tail_tls for the SYN, the ClientHello and the client's records to its first application data) | $(mid "${hs[on]}") | $(mid "${hs[off]}") | $(ratio "$(mid "${hs[on]}")" "$(mid "${hs[off]}")") |"
	echo "| the check's own cost per handshake (ns: the difference) | $(( $(mid "${hs[on]}") - $(mid "${hs[off]}") )) | - | - |"
	echo "| the skb program per later packet of an established flow (ns, mcpf_skb_egress, $NP one-byte packets) | $(mid "${pkt[on]}") | $(mid "${pkt[off]}") | $(ratio "$(mid "${pkt[on]}")" "$(mid "${pkt[off]}")") |"
	echo
	echo "Per round (check/off): TTFB medians ${med[on]}/ ${med[off]}ns; skb per request ${hs[on]}/ ${hs[off]}ns; per packet ${pkt[on]}/ ${pkt[off]}ns."
} >"$OUT"
cat "$OUT"
