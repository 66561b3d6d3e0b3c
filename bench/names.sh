#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Names benchmark (issue 9), side by side in one run, configurations interleaved round by round:
#   1. a connect to an address learned from DNS, next to a CIDR-allowed one in the same policy,
#      the floor (allow-all programs) and no enforcement; then again with 100k learned addresses
#   2. the added latency of a DNS reply passing the learning program (median and p99): queries
#      from a guarded cgroup next to the same queries from an unguarded one
# Writes bench/RESULTS-names.md, or with --smoke a tiny run into tests/out/bench-names-smoke.md.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
SMOKE=0
OUT=bench/RESULTS-names.md
[ "${1:-}" = --smoke ] && { SMOKE=1; OUT=${TEST_OUT:-tests/out}/bench-names-smoke.md; mkdir -p "$(dirname "$OUT")"; }
B=build
NB=$B/netbench
MCPF=$B/mcpfence
DNSCLIENT=tests/dnsclient.py
ROUNDS=${ROUNDS:-7}
N=${N:-20000}          # connects per measurement
NQ=${NQ:-2000}         # DNS queries per measurement
BULK=${BULK:-1000}     # names of 100 addresses each: 100k learned addresses
if [ "$SMOKE" = 1 ]; then ROUNDS=1 N=200 NQ=50 BULK=5; fi
RES=127.0.0.163

CG_MOUNT=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
[ -n "$CG_MOUNT" ] || CG_MOUNT=$(awk '{ for (i = 1; i < NF; i++) if ($i == "-" && $(i+1) == "cgroup2") { print $5; exit } }' /proc/self/mountinfo)
ROOT_REL=mcpf-bench-names-$$
CG="$CG_MOUNT/$ROOT_REL"
BPFFS=/sys/fs/bpf/$ROOT_REL
ALLOW_PIN=/sys/fs/bpf/mcpf-bench-names-allow-$$
WORK=$(mktemp -d /tmp/mcpf-bench-names.XXXX)
PIDS=()
AGENT=
log() { echo "bench-names: $*" >&2; }

cleanup() {
	set +e
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	[ -n "$AGENT" ] && { kill "$AGENT"; wait "$AGENT"; } 2>/dev/null
	"$MCPF" uninstall --config "$WORK/agent.json" >/dev/null 2>&1
	for t in connect4 connect6 sendmsg4 sendmsg6 sock_create egress; do
		bpftool cgroup detach "$CG_MOUNT/mcpf-bench-names-allow-$$" "$t" pinned "$ALLOW_PIN/allow_${t/egress/skb}" 2>/dev/null
	done
	rm -rf "$ALLOW_PIN" "$BPFFS"
	for d in "$CG" "$CG_MOUNT/mcpf-bench-names-allow-$$" "$CG_MOUNT/mcpf-bench-names-none-$$"; do
		[ -d "$d" ] || continue
		find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -9 2>/dev/null
		sleep 0.1
		find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
in_cg() { local cg=$1; shift; mkdir -p "$cg"; bash -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$cg" "$@"; }
# guarded: the names cgroup, with the test resolver in resolv.conf
guarded() { in_cg "$CG/names" unshare -m sh -c 'mount -o bind "$0" /etc/resolv.conf && exec "$@"' "$WORK/resolv.conf" "$@"; }

# --- the zone: one name for the connect, one of 128 records, BULK names of 100 records
mkdir -p "$WORK/nsd"
{
	echo '$ORIGIN bench.mcpf.'
	echo '@ 3600 IN SOA ns.bench.mcpf. admin.bench.mcpf. 1 3600 600 86400 60'
	echo '@ 3600 IN NS ns.bench.mcpf.'
	echo 'ns 3600 IN A 127.0.0.163'
	echo 'learned 3600 IN A 127.0.0.5'
	for i in $(seq 1 128); do echo "many 3600 IN A 10.255.0.$i"; done
	for i in $(seq 1 "$BULK"); do
		for j in $(seq 1 100); do echo "b$i.bulk 3600 IN A 10.$((i / 256)).$((i % 256)).$j"; done
	done
} >"$WORK/nsd/bench.mcpf.zone"
scripts/nsd-conf.sh "$WORK/nsd" bench.mcpf "$RES"
nsd -d -c "$WORK/nsd/nsd.conf" >"$WORK/nsd/out" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do dig +short +time=1 +tries=1 @$RES learned.bench.mcpf 2>/dev/null | grep -q 127.0.0.5 && break; sleep 0.1; done
echo "nameserver $RES" >"$WORK/resolv.conf"

# --- the agent: one policy with a name rule and a CIDR rule on the same port
mkdir -p "$WORK/policies"
cat >"$WORK/policies/p.json" <<EOF
{ "apiVersion": "mcpfence/v1", "kind": "EgressPolicy", "metadata": { "name": "p" },
  "spec": { "egress": [
    { "to": ["learned.bench.mcpf", "many.bench.mcpf", "*.bulk.bench.mcpf"], "ports": ["9001"] },
    { "to": ["127.0.0.6/32"], "ports": ["9001"] } ] } }
EOF
cat >"$WORK/agent.json" <<EOF
{ "cgroup_root": "$ROOT_REL", "bpffs": "$BPFFS", "socket": "$WORK/agent.sock",
  "policies": ["policies/"], "events": { "stdout": false },
  "bindings": [ { "cgroup": "$ROOT_REL/names", "policy": "p" } ],
  "dns": { "resolvers": ["$RES"], "ttl_cap": "2h", "max_addresses_per_name": 200000,
           "max_addresses_per_policy": 200000,
           "queries_per_second": 1000000, "new_names_per_minute": 1000000 } }
EOF
# (the budget at its maximum: its code runs on every query, as it does by default, but the
# round-trip loop and the bulk learning, far beyond what clients ask, are not refused)
"$MCPF" agent --config "$WORK/agent.json" >"$WORK/agent.log" 2>&1 &
AGENT=$!
for _ in $(seq 100); do "$MCPF" status --config "$WORK/agent.json" --json 2>/dev/null | grep -q '"running": true' && break; sleep 0.05; done
mkdir -p "$CG_MOUNT/mcpf-bench-names-allow-$$/w" "$CG_MOUNT/mcpf-bench-names-none-$$"
bpftool prog loadall $B/allow_all.bpf.o "$ALLOW_PIN" >/dev/null
for t in connect4 connect6 sendmsg4 sendmsg6 sock_create egress; do
	bpftool cgroup attach "$CG_MOUNT/mcpf-bench-names-allow-$$" "$t" pinned "$ALLOW_PIN/allow_${t/egress/skb}" multi
done
for a in 127.0.0.1 127.0.0.5 127.0.0.6; do $NB listen $a 9001 >/dev/null 2>&1 & PIDS+=($!); done
sleep 0.3
[ "$(guarded python3 $DNSCLIENT resolve-connect learned.bench.mcpf 9001)" = "OK 127.0.0.5" ] ||
	{ log "learning failed: $(tail -3 "$WORK/agent.log")"; exit 1; }
learned_count() { bpftool -j map dump pinned "$BPFFS/mcpf_learned" | jq length; }

# --- 1. connects: none, allow-all floor, CIDR-allowed, learned (few, then 100k learned)
CONFIGS=("none:$CG_MOUNT/mcpf-bench-names-none-$$:127.0.0.1" "allow-all:$CG_MOUNT/mcpf-bench-names-allow-$$/w:127.0.0.1"
	"cidr:$CG/names:127.0.0.6" "learned:$CG/names:127.0.0.5")
: >"$WORK/samples"
measure() { # PHASE
	for _ in $(seq "$ROUNDS"); do
		for c in "${CONFIGS[@]}"; do
			IFS=: read -r name cg addr <<<"$c"
			for op in udp-connect tcp; do
				v=$(in_cg "$cg" $NB "$op" "$addr" 9001 "$N" allow) || { log "$name $op failed"; exit 1; }
				echo "$1 $name $op $v" >>"$WORK/samples"
			done
		done
	done
}
log "connects with $(learned_count) learned addresses: $ROUNDS rounds"
measure few
for i in $(seq 1 "$BULK"); do echo "b$i.bulk.bench.mcpf"; done >"$WORK/bulk.txt"
t0=$(date +%s%N)
guarded dig +time=2 +tries=1 +bufsize=4096 @$RES -f "$WORK/bulk.txt" >/dev/null || true # counted below
LEARN_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
NLEARNED=$(learned_count)
log "connects with $NLEARNED learned addresses"
measure bulk

# --- 2. DNS reply latency: guarded (query check + learning) vs unguarded
: >"$WORK/dns"
for _ in $(seq "$ROUNDS"); do
	for name in learned.bench.mcpf many.bench.mcpf; do
		guarded python3 $DNSCLIENT query-times $RES 53 $name "$NQ" | sed "s/^/guarded $name /" >>"$WORK/dns"
		in_cg "$CG_MOUNT/mcpf-bench-names-none-$$" python3 $DNSCLIENT query-times $RES 53 $name "$NQ" |
			sed "s/^/none $name /" >>"$WORK/dns"
	done
done

# --- the report
python3 - "$WORK/samples" "$WORK/dns" "$NLEARNED" "$LEARN_MS" "$BULK" "$ROUNDS" "$N" "$NQ" "$SMOKE" >"$OUT" <<'PY'
import statistics, sys, platform, subprocess
samples, dns, nlearned, learn_ms, bulk, rounds, n, nq, smoke = sys.argv[1:]
rows = {}
for line in open(samples):
    phase, name, op, v = line.split()
    rows.setdefault((phase, op, name), []).append(int(v))
med = lambda k: statistics.median(rows[k])
print("# Names benchmark%s\n" % (" (smoke: one tiny round, numbers meaningless)" if smoke == "1" else ""))
print("`bench/names.sh` on %s, kernel %s, %s rounds interleaved; %s connects per cell, %s DNS queries per cell.\n"
      % (platform.node(), platform.release(), rounds, n, nq))
print("## Connect to a learned address\n")
print("ns per operation, median [min..max] across rounds. `learned` and `cidr` are the same policy and cgroup;")
print("the goal is `learned` within 1.05x of `cidr`.\n")
print("| learned addresses | op | none | allow-all (floor) | cidr | learned | learned / cidr | learned / floor |")
print("|---|---|---|---|---|---|---|---|")
for phase, label in (("few", "a few"), ("bulk", nlearned)):
    for op in ("udp-connect", "tcp"):
        cell = lambda c: "%d [%d..%d]" % (med((phase, op, c)), min(rows[(phase, op, c)]), max(rows[(phase, op, c)]))
        print("| %s | %s | %s | %s | %s | %s | %.3f | %.3f |" % (label, op, cell("none"), cell("allow-all"), cell("cidr"),
              cell("learned"), med((phase, op, "learned")) / med((phase, op, "cidr")),
              med((phase, op, "learned")) / med((phase, op, "allow-all"))))
print("\n%s names of 100 A records each were looked up from the guarded cgroup in %s ms (dig, one at a time):"
      " %s learned addresses.\n" % (bulk, learn_ms, nlearned))
lat = {}
for line in open(dns):
    who, name, v = line.split()
    lat.setdefault((who, name), []).append(int(v))
print("## DNS reply latency through the learning program\n")
print("Round trip of one A query over UDP to a local authoritative server (NSD), in microseconds:"
      " from the guarded cgroup (query checked, reply learned from) and from an unguarded one.\n")
print("| name | records | unguarded median | guarded median | added median | unguarded p99 | guarded p99 | added p99 |")
print("|---|---|---|---|---|---|---|---|")
for name, recs in (("learned.bench.mcpf", 1), ("many.bench.mcpf", 128)):
    g, u = sorted(lat[("guarded", name)]), sorted(lat[("none", name)])
    p = lambda a, q: a[min(len(a) - 1, int(len(a) * q))] / 1000
    print("| %s | %d | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f |" % (name, recs, p(u, .5), p(g, .5), p(g, .5) - p(u, .5),
          p(u, .99), p(g, .99), p(g, .99) - p(u, .99)))
PY
log "wrote $OUT"
