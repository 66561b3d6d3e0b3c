#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The benchmarks (bench/README.md): data plane side by side with the alternatives, control
# plane, event storm, identity. Writes bench/RESULTS.md, or with --smoke runs one tiny
# iteration of everything into tests/out/bench-smoke.md (make test runs that). --quick: only the
# data plane at 100k prefixes next to the two baselines, the profile and the building blocks,
# printed (for working on the programs; ROUNDS=3 unless given).
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
SMOKE=0 QUICK=0
OUT=bench/RESULTS.md
[ "${1:-}" = --smoke ] && { SMOKE=1; OUT=${TEST_OUT:-tests/out}/bench-smoke.md; mkdir -p "$(dirname "$OUT")"; }
[ "${1:-}" = --quick ] && { QUICK=1; OUT=${TEST_OUT:-tests/out}/bench-quick.md; mkdir -p "$(dirname "$OUT")"; }
if [ "$QUICK" = 1 ]; then
	ROUNDS=${ROUNDS:-3} N_TCP=${N_TCP:-3000} N_UDP=${N_UDP:-30000} SIZES="100000"
elif [ "$SMOKE" = 1 ]; then
	ROUNDS=1 N_TCP=50 N_UDP=200 SIZES="10" STORM_MS=1000 VERIFY_S=0.2 VERIFY_ROUNDS=1
	ATTEST_RATE=100 ATTEST_S=0.5 NBIND=10
else
	ROUNDS=${ROUNDS:-7} N_TCP=${N_TCP:-3000} N_UDP=${N_UDP:-30000} SIZES="10 10000 100000"
	STORM_MS=10000 VERIFY_S=1 VERIFY_ROUNDS=5 ATTEST_RATE=1000 ATTEST_S=5 NBIND=1000
fi
B=build
M=$B/mcpfence NB=$B/netbench NP=$B/netprobe
[ "$(id -u)" -eq 0 ] || { echo "bench: run as root" >&2; exit 1; }
for f in $M $NB $NP $B/bench_verify $B/allow_all.bpf.o $B/primitives.bpf.o; do
	[ -e "$f" ] || { echo "bench: $f missing (make all)" >&2; exit 1; }
done
CG=$(awk '{ for (i = 1; i < NF; i++) if ($i == "-" && $(i+1) == "cgroup2") { print $5; exit } }' /proc/self/mountinfo)
WORK=$(mktemp -d /tmp/mcpf-bench.XXXX)
AGENT=
PIDS=()
ALLOW_PIN=/sys/fs/bpf/mcpf-bench-allow
PRIM_PIN=/sys/fs/bpf/mcpf-bench-prim
log() { echo "bench: $*" >&2; }

cleanup() {
	set +e
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	[ -n "$AGENT" ] && kill "$AGENT" 2>/dev/null && wait "$AGENT" 2>/dev/null
	$M uninstall --config "$WORK/agent.json" >/dev/null 2>&1
	$M uninstall --config "$WORK/agent100k.json" >/dev/null 2>&1
	for n in $SIZES; do nft delete table inet mcpf_bench_$n 2>/dev/null; done
	iptables -D OUTPUT -m cgroup --path mcpf-bench-ipt -j MCPF_BENCH 2>/dev/null
	iptables -F MCPF_BENCH 2>/dev/null; iptables -X MCPF_BENCH 2>/dev/null
	for c in "$CG"/mcpf-bench-allow; do
		for t in connect4 connect6 sendmsg4 sendmsg6 sock_create egress; do
			bpftool cgroup detach "$c" "$t" pinned "$ALLOW_PIN/allow_${t/egress/skb}" 2>/dev/null
		done
	done
	rm -rf "$ALLOW_PIN" "$PRIM_PIN"
	for d in "$CG"/mcpf-bench*; do
		[ -d "$d" ] || continue
		find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -9 2>/dev/null
		sleep 0.1
		find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

in_cg() { local cg="$CG/$1"; shift; mkdir -p "$cg"; bash -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$cg" "$@"; }

# --- policies: N prefixes, half IPv4 and half IPv6, each with two port ranges; plus the
# loopback targets the measurements use (127.0.0.1 and ::1, ports 9000-9010)
gen_policy() { # SIZE SEED NAME
	python3 - "$1" "$2" "$3" <<'PY'
import json, random, sys
n, seed, name = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rnd = random.Random(seed)
v4 = set(); v6 = set()
while len(v4) < (n + 1) // 2:
    v4.add("10.%d.%d.%d/32" % (rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)) if rnd.random() < 0.5 else
           "10.%d.%d.0/24" % (rnd.randrange(256), rnd.randrange(256)))
while len(v6) < n // 2:
    v6.add("2001:db8:%x:%x::/64" % (rnd.randrange(65536), rnd.randrange(65536)))
doc = {"apiVersion": "mcpfence/v1", "kind": "EgressPolicy", "metadata": {"name": name},
       "spec": {"egress": [
           {"to": sorted(v4) + sorted(v6), "ports": ["443", "8000-8100"], "protocol": "tcp"},
           {"to": ["127.0.0.1", "::1"], "ports": ["9000-9010"], "protocol": "any"}]}}
print(json.dumps(doc))
PY
}
mkdir -p "$WORK/policies" "$WORK/p100k"
for n in $SIZES; do gen_policy "$n" 1 "p$n" >"$WORK/policies/p$n.json"; done
"$B/bench_verify" mint "$WORK" >"$WORK/iss"
ISS=$(cat "$WORK/iss")
cat >"$WORK/policies/attest.json" <<JSON
{ "apiVersion": "mcpfence/v1", "kind": "EgressPolicy", "metadata": { "name": "attest" },
  "spec": { "identity": { "issuer": "$ISS", "subject": "bench" },
            "egress": [ { "to": ["127.0.0.1"], "ports": ["9001"], "protocol": "tcp" } ],
            "credentials": [ { "audience": "https://127.0.0.1:9001" } ] } }
JSON
bindings=$(for n in $SIZES; do printf '{"cgroup":"mcpf-bench/p%s","policy":"p%s"},' "$n" "$n"; done)
# the storm gets a cgroup of its own, so that its counts are only its own
bindings="$bindings{\"cgroup\":\"mcpf-bench/storm\",\"policy\":\"p$(echo "$SIZES" | awk '{ print $1 }')\"},"
cat >"$WORK/agent.json" <<JSON
{ "cgroup_root": "mcpf-bench", "bpffs": "/sys/fs/bpf/mcpf-bench", "socket": "$WORK/agent.sock",
  "attest_socket": "$WORK/attest.sock", "policies": ["policies/"],
  "events": { "stdout": false, "file": "$WORK/events.jsonl", "rate_limit_per_cgroup": 100 },
  "trust": { "issuers": [ { "issuer": "$ISS", "jwks_file": "issuer.jwks" } ] },
  "issuer": { "url": "https://mcpfence.bench/node", "keys": "issuer-keys", "requests_per_second": 1000000 },
  "bindings": [ ${bindings%,} ] }
JSON
agent_rss_kb() { awk '/VmRSS/ { print $2 }' /proc/"$AGENT"/status; }
agent_cpu_ticks() { awk '{ print $14 + $15 }' /proc/"$AGENT"/stat; }
start_agent() { # CONFIG LOG
	$M agent --config "$1" >/dev/null 2>"$2" &
	AGENT=$!
	for _ in $(seq 600); do
		grep -q "Agent ready" "$2" && return 0
		kill -0 "$AGENT" 2>/dev/null || break
		sleep 0.1
	done
	log "agent did not start: $(cat "$2")"; exit 1
}
stop_agent() { kill "$AGENT" 2>/dev/null; wait "$AGENT" 2>/dev/null; AGENT=; }
# "N ms (compile N ms, kernel write N ms)" from the agent's last "Applied" line
applied_ms() { grep -o 'prefixes in [0-9.]* ms (compile [0-9.]* ms, kernel write [0-9.]* ms' "$1" | tail -1 | sed 's/^prefixes in //; s/$/)/'; }

if [ "$QUICK" = 0 ]; then
# --- control plane: a policy of 100k prefixes compiled and loaded by a fresh agent
BIG=100000
[ "$SMOKE" = 1 ] && BIG=1000
gen_policy "$BIG" 7 big >"$WORK/p100k/big.json"
cat >"$WORK/agent100k.json" <<JSON
{ "cgroup_root": "mcpf-bench-cp", "bpffs": "/sys/fs/bpf/mcpf-bench-cp", "socket": "$WORK/cp.sock",
  "policies": ["p100k/"], "events": { "stdout": false },
  "bindings": [ { "cgroup": "mcpf-bench-cp/w", "policy": "big" } ] }
JSON
log "control plane: loading $BIG prefixes"
start_agent "$WORK/agent100k.json" "$WORK/cp.log"
CP_LOAD=$(applied_ms "$WORK/cp.log")
# reload under a connect loop: a different 100k policy that still allows the loop's target
# it must outlive the whole run (the default 300 s did not, on a slow day); killed at the end
NETPROBE_LISTEN_SECONDS=7200 $NP listen 127.0.0.1 9001 9050 >/dev/null 2>&1 &
PIDS+=($!)
sleep 0.3
in_cg mcpf-bench-cp/w $NP loop 127.0.0.1 9001 127.0.0.1 9050 6000 >"$WORK/reload-loop.out" 2>&1 &
loop=$!
sleep 1
gen_policy "$BIG" 8 big >"$WORK/p100k/big.json"
kill -HUP "$AGENT"
for _ in $(seq 200); do [ "$(grep -c 'Applied' "$WORK/cp.log")" -ge 2 ] && break; sleep 0.05; done
wait "$loop"
CP_RELOAD=$(applied_ms "$WORK/cp.log")
RELOAD_WRONG=$(sed -n 's/^wrong=//p' "$WORK/reload-loop.out")
RELOAD_ATTEMPTS=$(sed -n 's/^attempts=//p' "$WORK/reload-loop.out")
RSS_100K=$(agent_rss_kb)
# 1000 bindings on top: bound through the control socket
python3 - "$WORK/cp.sock" "$CG" "$NBIND" <<'PY'
import json, os, socket, sys
sock, cg, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
for i in range(n):
    os.makedirs("%s/mcpf-bench-cp/b%d" % (cg, i), exist_ok=True)
    s = socket.socket(socket.AF_UNIX); s.connect(sock)
    s.sendall((json.dumps({"op": "bind", "cgroup": "mcpf-bench-cp/b%d" % i, "policy": "big"}) + "\n").encode())
    r = json.loads(s.makefile().readline()); s.close()
    assert r.get("ok"), r
PY
RSS_BINDINGS=$(agent_rss_kb)
stop_agent
$M uninstall --config "$WORK/agent100k.json" >/dev/null 2>&1

fi
# --- the configurations under test
log "setting up: agent, allow-all programs, nftables sets, iptables chain"
start_agent "$WORK/agent.json" "$WORK/agent.log"
mkdir -p "$CG/mcpf-bench-none" "$CG/mcpf-bench-allow/w" "$CG/mcpf-bench-ipt"
bpftool prog loadall $B/allow_all.bpf.o "$ALLOW_PIN" >/dev/null
for t in connect4 connect6 sendmsg4 sendmsg6 sock_create egress; do
	bpftool cgroup attach "$CG/mcpf-bench-allow" "$t" pinned "$ALLOW_PIN/allow_${t/egress/skb}" multi
done
if [ "$QUICK" = 0 ]; then
NFT_LOAD=
for n in $SIZES; do
	mkdir -p "$CG/mcpf-bench-nft-$n"
	# nft resolves cgroupv2 paths below /sys/fs/cgroup, wherever cgroup2 is mounted (hybrid
	# hosts: /sys/fs/cgroup/unified); the level is given explicitly
	nft_cg="${CG#/sys/fs/cgroup}/mcpf-bench-nft-$n"
	# the table, then the elements in chunks: one netlink batch of 100k elements overflows
	# the socket buffer (ENOBUFS), so large sets are loaded as an operator would have to
	python3 - "$WORK/policies/p$n.json" "$n" "${nft_cg#/}" "$WORK/nft-$n" >"$WORK/nft-$n.nft" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1])); n = sys.argv[2]; cgpath = sys.argv[3]; chunks = sys.argv[4]
import ipaddress
v4, v6 = [], []
for rule in doc["spec"]["egress"]:
    nets = [ipaddress.ip_network(t) for t in rule["to"]]
    # interval sets refuse overlapping elements: drop prefixes covered by a shorter one of the
    # same rule (same ports, so nothing is lost); mcpfence's compiler merges these itself
    wide = {net for net in nets if net.prefixlen < net.max_prefixlen}
    for net in nets:
        if net.prefixlen == net.max_prefixlen and net.supernet(new_prefix=24 if net.version == 4 else 64) in wide:
            continue
        (v6 if net.version == 6 else v4).extend("%s . %s" % (net, p) for p in rule["ports"])
k = 0
for name, elems in (("a4", v4), ("a6", v6)):
    for i in range(0, len(elems), 1000):
        with open("%s.%03d.nft" % (chunks, k), "w") as f:
            f.write("add element inet mcpf_bench_%s %s { %s }\n" % (n, name, ", ".join(elems[i:i + 1000])))
        k += 1
print("table inet mcpf_bench_%s {" % n)
print(" set a4 { type ipv4_addr . inet_service; flags interval; }")
print(" set a6 { type ipv6_addr . inet_service; flags interval; }")
print(" chain out {")
print("  type filter hook output priority 0; policy accept;")
print('  socket cgroupv2 level 1 "%s" jump check' % cgpath)
print(" }")
print(" chain check {")
print("  meta l4proto { tcp, udp } ip daddr . th dport @a4 accept")
print("  meta l4proto { tcp, udp } ip6 daddr . th dport @a6 accept")
print("  meta l4proto tcp reject with tcp reset")  # a dropped SYN would retransmit, not fail
print("  drop")
print(" }")
print("}")
PY
	t0=$(date +%s%N)
	nft -f "$WORK/nft-$n.nft" || { log "nft set-up for $n prefixes failed"; exit 1; }
	for f in "$WORK"/nft-"$n".[0-9]*.nft; do
		nft -f "$f" || { log "nft load of $n prefixes failed at $f"; exit 1; }
	done
	NFT_LOAD="$NFT_LOAD $n:$(( ($(date +%s%N) - t0) / 1000000 ))"
done
{
	echo "*filter"
	echo ":MCPF_BENCH - [0:0]"
	for i in $(seq 0 999); do echo "-A MCPF_BENCH -d 10.$((i / 256)).$((i % 256)).0/24 -p tcp --dport 443 -j ACCEPT"; done
	echo "-A MCPF_BENCH -d 127.0.0.1/32 -p tcp --dport 9000:9010 -j ACCEPT"
	echo "-A MCPF_BENCH -d 127.0.0.1/32 -p udp --dport 9000:9010 -j ACCEPT"
	echo "-A MCPF_BENCH -p tcp -j REJECT --reject-with tcp-reset"
	echo "-A MCPF_BENCH -j DROP"
	echo "-I OUTPUT -m cgroup --path mcpf-bench-ipt -j MCPF_BENCH"
	echo "COMMIT"
} | iptables-restore --noflush || { log "iptables set-up failed"; exit 1; }
fi
$NB listen 127.0.0.1 9001 >/dev/null 2>&1 &
PIDS+=($!)
$NB sink 127.0.0.1 9002 >/dev/null 2>&1 &
PIDS+=($!)
sleep 0.5

# name:cgroup:paths  (paths: the verdicts this configuration can give)
CONFIGS=("none:mcpf-bench-none:allow" "allow-all:mcpf-bench-allow/w:allow")
for n in $SIZES; do CONFIGS+=("mcpfence-$n:mcpf-bench/p$n:allow deny"); done
if [ "$QUICK" = 0 ]; then
	for n in $SIZES; do CONFIGS+=("nft-$n:mcpf-bench-nft-$n:allow deny"); done
	CONFIGS+=("iptables-1k:mcpf-bench-ipt:allow deny")
fi
OPS=("tcp:$N_TCP" "udp-connect:$N_UDP" "udp-sendto:$N_UDP" "tcp-send:$N_UDP")
: >"$WORK/samples"
log "data plane: $ROUNDS rounds, configurations interleaved"
for r in $(seq "$ROUNDS"); do
	for c in "${CONFIGS[@]}"; do
		IFS=: read -r name cg paths <<<"$c"
		for o in "${OPS[@]}"; do
			IFS=: read -r op n <<<"$o"
			for path in $paths; do
				# nftables and iptables never see a UDP connect(): no deny path to time
				[ "$op" = udp-connect ] && [ "$path" = deny ] && [ "${name%%-*}" != mcpfence ] && continue
				# a refused flow has no packets to time
				[ "$op" = tcp-send ] && [ "$path" = deny ] && continue
				port=9001 verdict=$path
				[ "$op" = tcp-send ] && port=9002
				[ "$path" = deny ] && port=9050
				# mcpfence must refuse with EPERM; the others reject (RST) or drop (EPERM)
				[ "$path" = deny ] && [ "${name%%-*}" != mcpfence ] && verdict=fail
				v=$(in_cg "$cg" $NB "$op" 127.0.0.1 "$port" "$n" "$verdict" 2>"$WORK/err") ||
					{ log "$name $op $path: $(cat "$WORK/err")"; exit 1; }
				echo "$name $op $path $v" >>"$WORK/samples"
			done
		done
	done
done

# --- the profile: what each program costs per call, from the kernel's own BPF run-time stats
log "profile: kernel.bpf_stats_enabled"
old_stats=$(sysctl -n kernel.bpf_stats_enabled)
sysctl -qw kernel.bpf_stats_enabled=1
BIGGEST=$(echo "$SIZES" | awk '{ print $NF }')
: >"$WORK/profile"
for o in "udp-connect:$N_UDP" "udp-sendto:$N_UDP" "tcp:$N_TCP" "tcp-send:$N_UDP"; do
	IFS=: read -r op n <<<"$o"
	port=9001
	[ "$op" = tcp-send ] && port=9002
	for cg in "mcpf-bench/p$BIGGEST" mcpf-bench-allow/w; do
		before=$(bpftool -j prog show | jq -c '[.[] | select(.name | test("^(mcpf|allow)_")) | {name, ns: (.run_time_ns // 0), cnt: (.run_cnt // 0)}]')
		in_cg "$cg" $NB "$op" 127.0.0.1 "$port" "$n" allow >/dev/null
		after=$(bpftool -j prog show | jq -c '[.[] | select(.name | test("^(mcpf|allow)_")) | {name, ns: (.run_time_ns // 0), cnt: (.run_cnt // 0)}]')
		jq -n -c --argjson b "$before" --argjson a "$after" --arg op "$op" --arg cg "$cg" \
			'[$a[] as $x | ($b[] | select(.name == $x.name)) as $y | select($x.cnt > $y.cnt) |
			  {op: $op, cgroup: $cg, prog: $x.name, calls: ($x.cnt - $y.cnt), ns_per_call: (($x.ns - $y.ns) / ($x.cnt - $y.cnt))}] | .[]' >>"$WORK/profile"
	done
done

# --- building blocks: each primitive alone on its hook, next to the empty program of that hook,
# rounds interleaved; what the programs are made of costs this much on this machine
log "building blocks"
bpftool prog loadall $B/primitives.bpf.o "$PRIM_PIN" >/dev/null
: >"$WORK/prims"
PRIMS=("empty_connect4 connect4 udp-connect" "cgroup_id connect4 udp-connect" "ancestor_id connect4 udp-connect"
	"hash_lookup connect4 udp-connect" "percpu_count connect4 udp-connect" "clock_boot connect4 udp-connect"
	"clock_coarse connect4 udp-connect"
	"sk_storage_create connect4 udp-connect" "empty_connect4 connect4 tcp" "sk_storage_create connect4 tcp"
	"empty_skb egress tcp-send" "skb_fullsock egress tcp-send" "skb_sk_storage egress tcp-send"
	"skb_cgroup egress tcp-send")
prog_stats() { bpftool -j prog show pinned "$1" | jq -r '"\(.run_time_ns // 0) \(.run_cnt // 0)"'; }
for r in $(seq "$ROUNDS"); do
	for p in "${PRIMS[@]}"; do
		read -r prog hook op <<<"$p"
		n=$N_UDP port=9001
		[ "$op" = tcp ] && n=$N_TCP
		[ "$op" = tcp-send ] && port=9002
		# a cgroup per run: nothing else is attached to it
		mkdir -p "$CG/mcpf-bench-prim"
		bpftool cgroup attach "$CG/mcpf-bench-prim" "$hook" pinned "$PRIM_PIN/$prog"
		read -r t0 c0 <<<"$(prog_stats "$PRIM_PIN/$prog")"
		in_cg mcpf-bench-prim $NB "$op" 127.0.0.1 "$port" "$n" allow >/dev/null
		read -r t1 c1 <<<"$(prog_stats "$PRIM_PIN/$prog")"
		bpftool cgroup detach "$CG/mcpf-bench-prim" "$hook" pinned "$PRIM_PIN/$prog"
		rmdir "$CG/mcpf-bench-prim"
		[ "$c1" -gt "$c0" ] && echo "$prog $op $(( (t1 - t0) / (c1 - c0) ))" >>"$WORK/prims"
	done
done
rm -rf "$PRIM_PIN"
sysctl -qw kernel.bpf_stats_enabled="$old_stats"

if [ "$QUICK" = 0 ]; then
# --- event storm: denied connects as fast as possible, rate limit 100/s per cgroup
log "event storm: ${STORM_MS} ms"
STORM_CG=mcpf-bench/storm
storm_cg_id=$(stat -c %i "$CG/$STORM_CG")
rss0=$(agent_rss_kb) cpu0=$(agent_cpu_ticks) t0=$(date +%s%N)
in_cg "$STORM_CG" $NB storm 127.0.0.1 9050 "$STORM_MS" >"$WORK/storm.out" &
storm=$!
: >"$WORK/status-ms"
rss_max=$rss0
while kill -0 "$storm" 2>/dev/null; do
	s0=$(date +%s%N)
	$M status --config "$WORK/agent.json" --json >/dev/null
	echo $(( ($(date +%s%N) - s0) / 1000 )) >>"$WORK/status-ms"
	r=$(agent_rss_kb); [ "$r" -gt "$rss_max" ] && rss_max=$r
	sleep 0.2
done
wait "$storm"
cpu1=$(agent_cpu_ticks) t1=$(date +%s%N)
sleep 2.5 # the agent reports suppressed counts every second
rss1=$(agent_rss_kb)
STORM_ATTEMPTS=$(sed -n 's/^attempts=//p' "$WORK/storm.out")
STORM_EPERM=$(sed -n 's/^eperm=//p' "$WORK/storm.out")
STORM_DELIVERED=$(jq -c "select(.type == \"egress\" and .cgroup_id == $storm_cg_id and .dport == 9050)" "$WORK/events.jsonl" | wc -l)
STORM_SUPPRESSED=$(jq -s "[.[] | select(.type == \"suppressed\" and .cgroup_id == $storm_cg_id) | .count] | add // 0" "$WORK/events.jsonl")
STORM_CPU=$(python3 -c "print('%.1f' % (100.0 * ($cpu1 - $cpu0) / $(getconf CLK_TCK) / (($t1 - $t0) / 1e9)))")
STATUS_P50=$(sort -n "$WORK/status-ms" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
STATUS_MAX=$(sort -n "$WORK/status-ms" | tail -1)

# --- identity
log "identity: verification rates and attestation latency"
"$B/bench_verify" rates "$VERIFY_S" "$VERIFY_ROUNDS" >"$WORK/verify.jsonl" || { log "verify bench failed"; exit 1; }
openssl speed -seconds "${VERIFY_S%.*}" rsa2048 ecdsap256 ed25519 2>/dev/null >"$WORK/speed.txt" ||
	openssl speed -seconds 1 rsa2048 ecdsap256 ed25519 2>/dev/null >"$WORK/speed.txt"
SPEED_RSA=$(awk '/^rsa 2048 bits/ { print $NF }' "$WORK/speed.txt")
SPEED_EC=$(awk '/ecdsa \(nistp256\)/ { print $NF }' "$WORK/speed.txt")
SPEED_ED=$(awk '/EdDSA \(Ed25519\)/ { print $NF }' "$WORK/speed.txt")
in_cg mcpf-bench/attest "$B/bench_verify" attest "$WORK/attest.sock" "$WORK/token.jwt" "$ATTEST_RATE" "$ATTEST_S" \
	>"$WORK/attest.json" || { log "attestation bench failed: $(cat "$WORK/attest.json")"; exit 1; }
in_cg mcpf-bench/attest "$B/bench_verify" token "$WORK/attest.sock" https://127.0.0.1:9001 "$ATTEST_RATE" "$ATTEST_S" \
	>"$WORK/token.json" || { log "credential bench failed: $(cat "$WORK/token.json")"; exit 1; }
fi
stop_agent
if [ "$QUICK" = 1 ]; then # what the report's later sections would read
	RSS_100K=0 RSS_BINDINGS=0 STORM_DELIVERED=0 STORM_SUPPRESSED=0 STORM_ATTEMPTS=0
	rss0=0 rss_max=0 rss1=0 STATUS_P50=0 STATUS_MAX=0
	set +u # the sections the quick run skipped are never printed
fi

# --- the report
python3 - "$WORK" "$OUT" <<PY
import json, os, statistics, sys, platform, datetime
work, out = sys.argv[1], sys.argv[2]
samples = {}
for line in open(os.path.join(work, "samples")):
    name, op, path, v = line.split()
    samples.setdefault((name, op, path), []).append(float(v))
def stat(k):
    v = sorted(samples[k]); return v[len(v) // 2], v[0], v[-1]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
L = []
L.append("# mcpfence benchmark results\n")
L.append("Recorded by \`make bench\` (\`bench/run.sh\`) on %s UTC. Kernel %s, %s, %d CPUs. "
         "Every figure in a table comes from one run, with the configurations interleaved round by round "
         "(%s rounds), because this machine is shared and noisy. Each cell is the median [min..max] across rounds."
         % (datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"), platform.release(), cpu, os.cpu_count(), "$ROUNDS"))
L.append("\n## Data plane: ns per operation from a process in the cgroup\n")
L.append("Allowed: 127.0.0.1:9001, in every policy. Denied: 127.0.0.1:9050. The baselines are (a) no enforcement "
         "and (b) allow-all programs on the same six hooks, which is the floor any cgroup hook pays. "
         "mcpfence-N enforces a policy of N prefixes (half IPv4 /24-/32, half IPv6 /64, each with tcp 443 and "
         "8000-8100), plus the loopback rule. nft-N is an nftables \`ipv4_addr . inet_service\` interval set "
         "of the same prefixes and ports (minus host prefixes covered by a /24 of the set: interval sets refuse "
         "overlapping elements), in an output chain matched by \`socket cgroupv2\`; denied TCP gets a reset "
         "(a dropped SYN would retransmit rather than fail). iptables-1k is a "
         "linear chain of 1000 non-matching rules before the accept. TCP: socket+connect+close "
         "(N_TCP=$N_TCP). UDP: connect() or sendto() on one socket (N_UDP=$N_UDP). TCP send: send() of one byte "
         "with TCP_NODELAY on one established allowed connection, one packet each (N_UDP sends): the per-packet "
         "cost of a flow the backstop watches.\n")
L.append("| configuration | path | TCP connect | x(a) | x(b) | UDP connect | x(a) | x(b) | UDP sendto | x(a) | x(b) | TCP send | x(a) | x(b) |")
L.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
names = []
for k in samples:
    if k[0] not in names: names.append(k[0])
for name in names:
    for path in ("allow", "deny"):
        if not any((name, op, path) in samples for op in ("tcp", "udp-connect", "udp-sendto")): continue
        row = ["%s" % name, path]
        for op in ("tcp", "udp-connect", "udp-sendto", "tcp-send"):
            k = (name, op, path)
            if k not in samples:
                row += ["n/a", "", ""]; continue
            m, lo, hi = stat(k)
            a = stat(("none", op, "allow"))[0]; b = stat(("allow-all", op, "allow"))[0]
            row += ["%.0f [%.0f..%.0f]" % (m, lo, hi), "%.2f" % (m / a), "%.2f" % (m / b)]
        L.append("| " + " | ".join(row) + " |")
L.append("\nnftables and iptables never see a UDP \`connect()\` (no packet is sent), so they have no deny path there: "
         "that is one of the gaps mcpfence's connect hooks close.\n")
L.append("### Profile: ns per program call\n")
L.append("From the kernel's own BPF run-time statistics (\`kernel.bpf_stats_enabled\`), over one allowed run of each operation: "
         "mcpfence with the largest policy next to the allow-all floor. Only programs that ran are listed; the counts "
         "include every packet the skb program saw.\n")
L.append("| operation | program | calls | ns per call |")
L.append("|---|---|---|---|")
for line in open(os.path.join(work, "profile")):
    p = json.loads(line)
    L.append("| %s | %s | %d | %.0f |" % (p["op"], p["prog"], p["calls"], p["ns_per_call"]))
prims = {}
for line in open(os.path.join(work, "prims")):
    prog, op, ns = line.split()
    prims.setdefault((prog, op), []).append(float(ns))
what = {"cgroup_id": "the caller's cgroup id (bpf_get_current_cgroup_id)",
        "ancestor_id": "one ancestor's cgroup id (bpf_get_current_ancestor_cgroup_id)",
        "hash_lookup": "a hash map lookup that finds its u64 key (the bindings map's size)",
        "percpu_count": "a per-CPU counter increment (the verdict counters' size)",
        "clock_boot": "the boot clock (bpf_ktime_get_boot_ns)",
        "clock_coarse": "the coarse monotonic clock (bpf_ktime_get_coarse_ns)",
        "sk_storage_create": "the socket's storage, found",
        "skb_fullsock": "the full socket of a packet (bpf_sk_fullsock)",
        "skb_sk_storage": "the full socket and its storage, found",
        "skb_cgroup": "the socket's cgroup id (bpf_skb_cgroup_id)"}
L.append("\n### Building blocks: ns per call of each primitive alone\n")
L.append("Each primitive the programs are built of, in a program of its own attached alone to a cgroup, timed by the same "
         "kernel statistics next to an empty program on the same hook and operation, rounds interleaved (median of %s). "
         "The difference is what the primitive costs on this machine.\n" % "$ROUNDS")
L.append("| primitive | hook (operation) | ns per call | over the empty program |")
L.append("|---|---|---|---|")
def med(k):
    v = sorted(prims.get(k, [])); return v[len(v) // 2] if v else None
for (prog, op) in prims:
    if prog.startswith("empty"): continue
    hook = "skb egress" if op == "tcp-send" else "connect4"
    base = med(("empty_skb" if op == "tcp-send" else "empty_connect4", op))
    label = what.get(prog, prog)
    if prog == "sk_storage_create" and op == "tcp":
        label = "the socket's storage, created (a new socket each call: an allocation)"
    m = med((prog, op))
    L.append("| %s | %s (%s) | %.0f | %+.0f |" % (label, hook, op, m, m - base if base is not None else float("nan")))
if "$QUICK" == "1":
    open(out, "w").write("\n".join(L) + "\n")
    sys.exit(0)
L.append("\n## Control plane\n")
L.append("| measure | result |")
L.append("|---|---|")
L.append("| compile and load a policy of $BIG prefixes (fresh agent) | $CP_LOAD |")
L.append("| reload it (generation flip) under a connect loop | $CP_RELOAD |")
L.append("| wrong verdicts during that reload | ${RELOAD_WRONG:-?} of ${RELOAD_ATTEMPTS:-?} connects |")
L.append("| agent RSS with $BIG prefixes | %.1f MiB |" % ($RSS_100K / 1024))
L.append("| agent RSS with $BIG prefixes and $NBIND bindings | %.1f MiB |" % ($RSS_BINDINGS / 1024))
L.append("| nftables load time of the same sets (\`nft -f\`), prefixes:ms |$NFT_LOAD |")
L.append("\n## Event storm\n")
L.append("A confined workload makes denied TCP connects as fast as it can for $STORM_MS ms, with the rate limit at 100 events per second per cgroup.\n")
L.append("| measure | result |")
L.append("|---|---|")
L.append("| denied attempts | $STORM_ATTEMPTS (all EPERM: $STORM_EPERM) |")
L.append("| events delivered | $STORM_DELIVERED |")
L.append("| suppressed (reported in \`suppressed\` events) | $STORM_SUPPRESSED |")
L.append("| delivered + suppressed = attempts | %s |" % ("yes" if $STORM_DELIVERED + $STORM_SUPPRESSED == $STORM_ATTEMPTS else "NO"))
L.append("| agent CPU during the storm | $STORM_CPU % of one core |")
L.append("| agent RSS before / peak / after | %.1f / %.1f / %.1f MiB |" % ($rss0 / 1024, $rss_max / 1024, $rss1 / 1024))
L.append("| \`mcpfence status\` latency during the storm, p50 / max | %.1f / %.1f ms |" % ($STATUS_P50 / 1000, $STATUS_MAX / 1000))
L.append("\n## Identity\n")
L.append("Tokens verified per second on one core through the full \`token_verify()\` path (parse, key selection, signature, claims), "
         "next to the raw \`EVP_DigestVerify\` rate of the same key and message, measured alternately (%s rounds each). "
         "\`openssl speed\` from the same run is shown for reference.\n" % "$VERIFY_ROUNDS")
L.append("| algorithm | mcpfence tokens/s | raw EVP verify/s | ratio | openssl speed verify/s |")
L.append("|---|---|---|---|---|")
speed = {"RS256": "$SPEED_RSA", "PS256": "$SPEED_RSA (rsa2048)", "ES256": "$SPEED_EC", "EdDSA": "$SPEED_ED"}
for line in open(os.path.join(work, "verify.jsonl")):
    v = json.loads(line)
    L.append("| %s | %d [%d..%d] | %d [%d..%d] | %.2f | %s |" % (v["alg"], v["ours_median"], v["ours_min"], v["ours_max"],
             v["raw_median"], v["raw_min"], v["raw_max"], v["ratio"], speed.get(v["alg"], "")))
a = json.load(open(os.path.join(work, "attest.json")))
c = json.load(open(os.path.join(work, "token.json")))
L.append("\nAttestation through the agent's socket (connect, send the ES256 token, verify, bind, reply), offered at %d/s for $ATTEST_S s: "
         "%d of %d succeeded at %d/s achieved; latency p50 %d µs, p99 %d µs, max %d µs.\n"
         % (a["offered_per_s"], a["ok"], a["attestations"], a["achieved_per_s"], a["p50_us"], a["p99_us"], a["max_us"]))
L.append("Credentials through the same socket in the same run (the token op: connect, identify the caller from the kernel, "
         "find its binding, mint and sign an ES256 JWT, reply), offered at %d/s for $ATTEST_S s: %d of %d minted at %d/s "
         "achieved; latency p50 %d µs, p99 %d µs, max %d µs (%.2fx the attestation's p50).\n"
         % (c["offered_per_s"], c["ok"], c["credentials"], c["achieved_per_s"], c["p50_us"], c["p99_us"], c["max_us"],
            c["p50_us"] / max(a["p50_us"], 1)))
open(out, "w").write("\n".join(L) + "\n")
PY
log "wrote $OUT"
if [ "$QUICK" = 1 ]; then cat "$OUT"; fi
