#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The verdict matrix on the real kernel: one row per (socket operation, destination, port),
# run through `mcpfence run` in a fresh cgroup, with the errno each row expects.
source "$(dirname "$0")/lib.sh"

write_config '"unbound": "deny"'
write_policy matrix enforce '[
  { "to": ["127.0.0.2"], "ports": ["8080"], "protocol": "tcp" },
  { "to": ["127.0.0.2"], "ports": ["5353"], "protocol": "udp" },
  { "to": ["127.0.0.3/32"], "ports": ["9000-9010"], "protocol": "any" },
  { "to": ["127.10.0.0/16"], "ports": ["7000"], "protocol": "tcp" },
  { "to": ["127.10.1.0/24"], "ports": ["7001"], "protocol": "tcp" },
  { "to": ["::1"], "ports": ["8080"], "protocol": "tcp" },
  { "to": ["198.51.100.2", "2001:db8:100::2"], "ports": ["8080"], "protocol": "tcp" }
]'
write_policy watch audit '[ { "to": ["127.0.0.2"], "ports": ["8080"], "protocol": "tcp" } ]'
# cloud metadata endpoints: a broad rule does not reach them, a rule naming one does
write_policy wide enforce '[ { "to": ["0.0.0.0/0", "::/0"], "ports": ["80"], "protocol": "tcp" } ]'
write_policy imds enforce '[ { "to": ["0.0.0.0/0"], "ports": ["80"], "protocol": "tcp" },
  { "to": ["169.254.169.254", "fd00:ec2::254"], "ports": ["80"], "protocol": "tcp" } ]'
agent_start || { fail "matrix: agent start"; exit 1; }
netns_setup || { fail "matrix: network namespace set-up"; exit 1; }
listen 127.0.0.2 8080 8081 5353 5354
listen 127.0.0.3 9005 9011
listen 127.10.1.5 7000 7001
listen 127.10.2.5 7000 7001
listen ::1 8080 8081
ip netns exec "$NETNS" "$NETPROBE" listen 198.51.100.2 8080 8081 >"$WORK/ns4.out" 2>&1 &
BG_PIDS+=($!)
ip netns exec "$NETNS" "$NETPROBE" listen 2001:db8:100::2 8080 8081 >"$WORK/ns6.out" 2>&1 &
BG_PIDS+=($!)
wait_ready "$WORK/ns4.out" && wait_ready "$WORK/ns6.out" || fail "matrix: namespace listeners did not start"
# the metadata addresses live in the namespace only (its lo), so nothing leaves this machine
for a in 169.254.169.254/32 169.254.169.253/32 fd00:ec2::254/128; do ip -n "$NETNS" addr add "$a" dev lo; done
for a in 169.254.169.254 169.254.169.253 fd00:ec2::254; do
	ip netns exec "$NETNS" "$NETPROBE" listen "$a" 80 >"$WORK/md.$a.out" 2>&1 &
	BG_PIDS+=($!)
	wait_ready "$WORK/md.$a.out" || fail "matrix: metadata listener $a did not start"
done

# probe CMD...: CMD's output, or "exit N: output" when it failed: a crashed or misused netprobe
# (`run` passes its status on) never matches an expected errno
probe() {
	local out rc
	out=$("$@" 2>&1)
	rc=$?
	[ "$rc" -eq 0 ] && echo "$out" || echo "exit $rc: $out"
}
check "matrix: a misused probe fails its row (the harness itself)" "exit 2: netprobe: bad arguments (see the comment at the top of netprobe.c)" \
	"$(probe "$MCPF" run --config "$CONFIG" --policy matrix -- "$NETPROBE" tcp 127.0.0.2)"
check "matrix: a crashed probe fails its row (the harness itself)" "exit 139: " \
	"$(probe "$MCPF" run --config "$CONFIG" --policy matrix -- bash -c 'kill -SEGV $$')"

# op  addr  port  [port2]  expected
rows=(
	"tcp 127.0.0.2 8080 - OK"
	"tcp 127.0.0.2 8081 - EPERM"
	"tcp 127.0.0.4 8080 - EPERM"
	"udp-connect 127.0.0.2 5353 - OK"
	"udp-connect 127.0.0.2 5354 - EPERM"
	"udp-sendto 127.0.0.2 5353 - OK"
	"udp-sendto 127.0.0.2 5354 - EPERM"
	"udp-sendto 127.0.0.2 8080 - EPERM"
	"udp-sendto 127.0.0.3 9010 - OK"
	"tcp 127.0.0.3 9005 - OK"
	"tcp 127.0.0.3 9011 - EPERM"
	"sendmmsg 127.0.0.2 5353 5354 SENT=1"
	"sendmmsg 127.0.0.2 5354 5353 EPERM"
	"sendmmsg 127.0.0.2 5353 5353 SENT=2"
	"tfo 127.0.0.2 8080 - OK"
	"tfo 127.0.0.2 8081 - EPERM"
	"uring 127.0.0.2 8080 - OK"
	"uring 127.0.0.2 8081 - EPERM"
	"fork-tcp 127.0.0.2 8080 - OK"
	"fork-tcp 127.0.0.2 8081 - EPERM"
	"tcp ::1 8080 - OK"
	"tcp ::1 8081 - EPERM"
	"udp-sendto ::1 8080 - EPERM"
	"tcp ::ffff:127.0.0.2 8080 - OK"
	"tcp ::ffff:127.0.0.2 8081 - EPERM"
	"udp-connect ::ffff:127.0.0.2 5353 - OK"
	"udp6-sendto-mapped 127.0.0.2 5353 - OK"
	"udp6-sendto-mapped 127.0.0.2 5354 - EPERM"
	"tcp 127.10.1.5 7000 - OK"
	"tcp 127.10.1.5 7001 - OK"
	"tcp 127.10.2.5 7000 - OK"
	"tcp 127.10.2.5 7001 - EPERM"
	"tcp 198.51.100.2 8080 - OK"
	"tcp 198.51.100.2 8081 - EPERM"
	"udp-sendto 198.51.100.2 8080 - EPERM"
	"tcp 2001:db8:100::2 8080 - OK"
	"tcp 2001:db8:100::2 8081 - EPERM"
)
for row in "${rows[@]}"; do
	read -r op addr port port2 want <<<"$row"
	args=("$op" "$addr" "$port")
	[ "$port2" != - ] && args+=("$port2")
	extra=()
	[ "$op" = uring ] && extra=(--allow-io-uring) # io_uring is off by default (seccomp)
	got=$(probe "$MCPF" run --config "$CONFIG" --policy matrix "${extra[@]}" -- "$NETPROBE" "${args[@]}")
	check "matrix: $op $addr ${port}${port2/#-/} -> $want" "$want" "$got"
done

check "matrix: io_uring is refused unless --allow-io-uring (seccomp)" ENOSYS \
	"$(probe "$MCPF" run --config "$CONFIG" --policy matrix -- "$NETPROBE" uring 127.0.0.2 8080)"

# sockets that pass no connect/sendmsg hook
check "matrix: AF_PACKET socket possible outside the root (the control for the rows below)" OK \
	"$(probe "$NETPROBE" packet)"
check "matrix: AF_PACKET socket refused (seccomp address families)" EAFNOSUPPORT \
	"$(probe "$MCPF" run --config "$CONFIG" --policy matrix -- "$NETPROBE" packet)"
check "matrix: AF_PACKET socket refused with --keep-caps too (the family filter stays)" EAFNOSUPPORT \
	"$(probe "$MCPF" run --config "$CONFIG" --policy matrix --keep-caps -- "$NETPROBE" packet)"
before=$(events_where '.hook == "sock_create"')
check "matrix: raw IPv4 socket refused by sock_create even with CAP_NET_RAW" EPERM \
	"$(probe "$MCPF" run --config "$CONFIG" --policy matrix --keep-caps -- "$NETPROBE" raw4)"
check "matrix: raw IPv6 socket refused by sock_create even with CAP_NET_RAW" EPERM \
	"$(probe "$MCPF" run --config "$CONFIG" --policy matrix --keep-caps -- "$NETPROBE" raw6)"
old_ping=$(sysctl -n net.ipv4.ping_group_range)
sysctl -qw net.ipv4.ping_group_range="0 2147483647"
check "matrix: ICMP (ping) socket refused by sock_create" EPERM \
	"$(probe "$MCPF" run --config "$CONFIG" --policy matrix --keep-caps -- "$NETPROBE" icmp4)"
sysctl -qw net.ipv4.ping_group_range="$old_ping"
check "matrix: each refused raw/ICMP socket has a sock_create event" 3 \
	$(( $(wait_events '.hook == "sock_create" and .reason == "raw_socket"' $((before + 3))) - before ))

# a root workload trying to leave its cgroup: its cgroup2 mount shows its own subtree only, and
# nsdelegate stops a migration across the namespace boundary
check "matrix: the workload's cgroup2 mount does not show the guarded root" HIDDEN \
	"$(probe "$MCPF" run --config "$CONFIG" --policy matrix -- bash -c "test -e '$CG_MOUNT/$ROOT_REL' && echo VISIBLE || echo HIDDEN")"
got=$("$MCPF" run --config "$CONFIG" --policy matrix -- bash -c \
	"$NETPROBE escape $CG_MOUNT/cgroup.procs >/dev/null; grep ^0:: /proc/self/cgroup; $NETPROBE tcp 127.0.0.2 8081" 2>&1)
check "matrix: after an escape attempt the workload is still in its own cgroup and denied" "0::/ EPERM" "$(echo $got)"
got=$("$MCPF" run --config "$CONFIG" --policy matrix --keep-caps -- bash -c \
	"$NETPROBE escape $CG_MOUNT/cgroup.procs >/dev/null; $NETPROBE tcp 127.0.0.2 8081" 2>&1)
check "matrix: even with every capability, an escape attempt leaves the workload confined" EPERM "$got"

# cloud metadata endpoints, probed from inside the namespace (nsenter: the mounts stay ours)
md_rows=(
	"wide tcp 169.254.169.254 EPERM"
	"wide tcp ::ffff:169.254.169.254 EPERM"
	"wide tcp fd00:ec2::254 EPERM"
	"wide tcp 169.254.170.2 EPERM"
	"wide tcp 169.254.169.253 OK"
	"imds tcp 169.254.169.254 OK"
	"imds tcp fd00:ec2::254 OK"
	"imds tcp 169.254.170.2 EPERM"
)
for row in "${md_rows[@]}"; do
	read -r pol op addr want <<<"$row"
	what="0.0.0.0/0 and ::/0"
	[ "$pol" = imds ] && what="0.0.0.0/0 and the endpoints by address"
	check "matrix: metadata: $what, $op $addr:80 -> $want" "$want" \
		"$(probe nsenter --net="/run/netns/$NETNS" "$MCPF" run --config "$CONFIG" --policy "$pol" -- "$NETPROBE" "$op" "$addr" 80)"
done
check "matrix: metadata: each refusal's event says metadata_endpoint" 4 \
	"$(wait_events '.type == "egress" and .reason == "metadata_endpoint" and .policy == "wide"' 4)"

# the unbound default: a guarded cgroup nobody bound
check "matrix: unbound guarded cgroup gets the unbound action (deny)" EPERM \
	"$(in_cgroup unbound-x "$NETPROBE" tcp 127.0.0.2 8080)"
check "matrix: a cgroup outside the root is not guarded" OK \
	"$("$NETPROBE" tcp 127.0.0.2 8081)"

# audit mode: allowed, and reported as what enforce would have denied
before=$(events_where '.verdict == "audit" and .policy == "watch"')
check "matrix: audit mode lets a violation through" OK \
	"$("$MCPF" run --config "$CONFIG" --policy watch -- "$NETPROBE" tcp 127.0.0.2 8081)"
check "matrix: audit mode reports the violation as verdict audit" 1 \
	$(( $(wait_events '.verdict == "audit" and .policy == "watch" and .dport == 8081' $((before + 1))) - before ))

# nearest bound ancestor wins, bounded walk: nest -> matrix, nest/inner -> watch (audit)
write_config '"bindings": [ { "cgroup": "'"$ROOT_REL"'/nest", "policy": "matrix" },
  { "cgroup": "'"$ROOT_REL"'/nest/inner", "policy": "watch" } ]'
agent_reload
check "matrix: nested: child of a bound cgroup inherits its policy" EPERM \
	"$(in_cgroup nest/other/deeper "$NETPROBE" tcp 127.0.0.2 8081)"
check "matrix: nested: the nearest bound ancestor wins" OK \
	"$(in_cgroup nest/inner/deeper "$NETPROBE" tcp 127.0.0.2 8081)"
check "matrix: nested: the bound cgroup itself" OK \
	"$(in_cgroup nest "$NETPROBE" tcp 127.0.0.2 8080)"

# run cleans up after itself: no run-* cgroup is left
left=$(find "$ROOT" -maxdepth 1 -name 'run-*' | wc -l)
check "matrix: run removes its cgroups" 0 "$left"
agent_stop && pass "matrix: agent exits cleanly (no sanitizer report)" || fail "matrix: agent exit status $?"
