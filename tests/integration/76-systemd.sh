#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# systemd integration without systemd as pid 1: the agent speaks the notify protocol to a
# socket of the test's own, as systemd would hear it with Type=notify and WatchdogSec (READY
# after start, STATUS, WATCHDOG pings, RELOADING then READY with the outcome, STOPPING), and
# `mcpfence reload` (the unit's ExecReload) reports success or every error. The shipped unit
# passes `systemd-analyze verify` without a warning.
source "$(dirname "$0")/lib.sh"

NOTIFY="$WORK/notify.sock"
NOTES="$WORK/notify.log"
# the listener: one line per datagram, newlines inside it shown as '|'
/usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("READY", flush=True)
with open(sys.argv[2], "a") as out:
    while True:
        out.write(s.recv(4096).decode().replace("\n", "|") + "\n")
        out.flush()' "$NOTIFY" "$NOTES" >"$WORK/listener.out" 2>&1 &
BG_PIDS+=($!)
wait_ready "$WORK/listener.out" || { fail "systemd: the notify listener did not start"; exit 1; }

write_config '"bindings": [ { "cgroup": "'"$ROOT_REL"'/svc", "policy": "web" } ]'
write_policy web enforce '[ { "to": ["127.0.0.2"], "ports": ["8080"], "protocol": "tcp" } ]'
listen 127.0.0.2 8080 8081 || { fail "systemd: listeners"; exit 1; }
export NOTIFY_SOCKET="$NOTIFY" WATCHDOG_USEC=2000000
agent_start || { fail "systemd: agent"; exit 1; }
notes() { local n; n=$(grep -c -- "$1" "$NOTES" 2>/dev/null); echo "${n:-0}"; }
has() { [ "$(notes "$1")" -ge "${2:-1}" ]; }

wait_for 5 has 'READY=1' && pass "systemd: READY=1 once the agent enforces: $(grep -m1 READY "$NOTES")" ||
	fail "systemd: no READY=1: $(cat "$NOTES")"
grep -m1 'READY=1' "$NOTES" | grep -q "STATUS=Enforcing 1 policies on /$ROOT_REL" &&
	pass "systemd: ... with a STATUS for systemctl status" || fail "systemd: STATUS: $(head -2 "$NOTES")"
grep -q 'Enforcement canary passed' "$WORK/agent.log" && pass "systemd: ... after the enforcement canary passed" ||
	fail "systemd: no canary in the log"
n=$(notes 'WATCHDOG=1')
wait_for 5 has 'WATCHDOG=1' $((n + 3)) && pass "systemd: WATCHDOG=1 pings while the loop turns (WatchdogSec=2s: at least one a second)" ||
	fail "systemd: watchdog pings: $(notes 'WATCHDOG=1')"

# reloads: SIGHUP and `mcpfence reload`, good and refused
agent_reload
wait_for 3 has 'READY=1' 2 && grep 'RELOADING=1' "$NOTES" | grep -q 'MONOTONIC_USEC=' &&
	pass "systemd: a reload says RELOADING=1 (with MONOTONIC_USEC), then READY=1" || fail "systemd: reload: $(tail -3 "$NOTES")"
out=$("$MCPF" reload --config "$CONFIG" 2>&1); rc=$?
check "systemd: mcpfence reload (ExecReload) exits 0 when the new set is in force" "0 Reloaded: 1 policies in force" "$rc $out"
echo '{ "apiVersion": "mcpfence/v1", "kind": "EgressPolicy", "metadata": { "name": "bad" }, "spec": { "egress": [ { "to": ["300.1.1.1"] } ] } }' \
	>"$WORK/policies/bad.json"
out=$("$MCPF" reload --config "$CONFIG" 2>&1); rc=$?
[ "$rc" = 1 ] && echo "$out" | grep -q 'bad.json' && echo "$out" | grep -q 'reload refused: .*the previous policies stay in force' &&
	pass "systemd: ... exits 1 and prints the errors when the reload is refused: $(echo "$out" | head -1)" ||
	fail "systemd: refused reload: rc $rc: $out"
grep 'READY=1' "$NOTES" | tail -1 | grep -q 'READY=1|STATUS=Enforcing 1 policies .*the last reload failed' &&
	pass "systemd: ... and STATUS says the last reload failed" ||
	fail "systemd: STATUS after a refused reload: $(grep 'READY=1' "$NOTES" | tail -1)"
check "systemd: ... while the previous policy stays in force" "OK EPERM" \
	"$(in_cgroup svc bash -c "'$NETPROBE' tcp 127.0.0.2 8080; '$NETPROBE' tcp 127.0.0.2 8081" | xargs)"
rm "$WORK/policies/bad.json"
out=$("$MCPF" reload --agent-socket "$WORK/nowhere.sock" 2>&1); rc=$?
[ "$rc" = 1 ] && echo "$out" | grep -q "cannot reach the agent" && pass "systemd: mcpfence reload without an agent: exit 1, says so" ||
	fail "systemd: reload without agent: $rc $out"

agent_stop && pass "systemd: the agent exits cleanly (no sanitizer report)" || fail "systemd: agent exit status"
wait_for 3 has 'STOPPING=1' && pass "systemd: STOPPING=1 on SIGTERM: $(grep STOPPING "$NOTES")" || fail "systemd: no STOPPING=1"

# a config the agent refuses: it never says READY
n=$(notes 'READY=1')
echo '{ "cgroup_root": 7 }' >"$WORK/refused.json"
"$MCPF" agent --config "$WORK/refused.json" >/dev/null 2>&1 && fail "systemd: a bad config started" ||
	check "systemd: an agent that refuses to start never sends READY=1" "$n" "$(notes 'READY=1')"
unset NOTIFY_SOCKET WATCHDOG_USEC

# the shipped unit
if command -v systemd-analyze >/dev/null; then
	sed "s|/usr/local/sbin/mcpfence|$MCPF|g" "$REPO/deploy/mcpfence.service" >"$WORK/mcpfence.service"
	out=$(systemd-analyze verify "$WORK/mcpfence.service" 2>&1); rc=$?
	[ "$rc" = 0 ] && [ -z "$out" ] && pass "systemd: deploy/mcpfence.service passes systemd-analyze verify, no warning" ||
		fail "systemd: systemd-analyze verify: $out"
else
	skip "systemd: systemd-analyze is not installed (Debian's systemd package has it)"
fi
for d in 'Type=notify' 'NotifyAccess=main' 'WatchdogSec=' 'ExecReload=.* reload --config' 'ProtectSystem=strict' 'NoNewPrivileges=yes'; do
	grep -q "^$d" "$REPO/deploy/mcpfence.service" || missing+=" $d"
done
[ -z "${missing:-}" ] && pass "systemd: the unit is Type=notify with a watchdog, ExecReload and hardening" || fail "systemd: the unit lacks:$missing"

# the log's levels: the journal's priority prefix on its stream, words on a terminal
: >"$WORK/journal.txt"
JOURNAL_STREAM="$(stat -c '%d:%i' "$WORK/journal.txt")" "$MCPF" agent --config "$WORK/missing.json" 2>>"$WORK/journal.txt"
check "systemd: on the journal's stream (JOURNAL_STREAM) an error line starts with priority <3>" "<3>" \
	"$(head -1 "$WORK/journal.txt" | cut -c1-3)"
out=$("$MCPF" agent --config "$WORK/missing.json" 2>&1 | head -1)
case "$out" in "mcpfence: error: "*) pass "systemd: elsewhere it starts with \"mcpfence: error: \"" ;;
*) fail "systemd: the error line reads: $out" ;; esac
