#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# mcpfence events: history from the file with filters and the text form; --follow from the
# agent's socket as events happen, across an agent restart (it says so, reconnects, and shows
# what happened while the agent was away, which the kernel kept in the pinned ring buffer).
source "$(dirname "$0")/lib.sh"

write_config '"bindings": [ { "cgroup": "'"$ROOT_REL"'/svc", "policy": "web" } ]'
write_policy web enforce '[ { "to": ["127.0.0.2"], "ports": ["8080"], "protocol": "tcp" } ]'
listen 127.0.0.2 8080 8081 || { fail "events: listeners"; exit 1; }
agent_start || { fail "events: agent"; exit 1; }

FOLLOW="$WORK/follow.out"
"$MCPF" events --config "$CONFIG" --follow --json --verdict deny --policy web >"$FOLLOW" 2>"$WORK/follow.err" &
FOLLOWER=$!
BG_PIDS+=($FOLLOWER)
lines() { [ -f "$FOLLOW" ] && wc -l <"$FOLLOW" || echo 0; }
# the subscription is in place once the agent counts a streaming client: wait for a marker deny
wait_for 5 eval 'in_cgroup svc "$NETPROBE" tcp 127.0.0.2 8081 >/dev/null; [ "$(lines)" -ge 1 ]' ||
	{ fail "events: the follower never saw an event: $(cat "$WORK/follow.err")"; exit 1; }
n0=$(lines)
in_cgroup svc "$NETPROBE" tcp 127.0.0.2 8081 >/dev/null
in_cgroup svc "$NETPROBE" tcp 127.0.0.2 8081 >/dev/null
in_cgroup svc "$NETPROBE" tcp 127.0.0.2 8080 >/dev/null # allowed: no event
in_cgroup stray "$NETPROBE" tcp 127.0.0.2 8080 >/dev/null # denied, but no policy: filtered out
wait_for 3 eval '[ "$(lines)" -ge $((n0 + 2)) ]'
check "events: --follow shows the agent's events as they happen, filtered (2 denies of policy web)" 2 "$(( $(lines) - n0 ))"
check "events: ... only what the filters let through" 0 "$(jq -c 'select(.verdict != "deny" or .policy != "web")' "$FOLLOW" | wc -l)"

# the agent restarts; a deny while it is away is kept in the pinned ring buffer
n1=$(lines)
agent_stop
wait_for 5 grep -q "the agent went away; reconnecting" "$WORK/follow.err" &&
	pass "events: --follow says when the agent goes away" || fail "events: follower stderr: $(cat "$WORK/follow.err")"
in_cgroup svc "$NETPROBE" tcp 127.0.0.2 8081 >/dev/null
agent_start || { fail "events: agent restart"; exit 1; }
wait_for 5 grep -q "reconnected to the agent" "$WORK/follow.err" && pass "events: ... and when it is back" ||
	fail "events: no reconnect: $(cat "$WORK/follow.err")"
wait_for 5 eval '[ "$(lines)" -ge $((n1 + 1)) ]' &&
	pass "events: ... and shows the deny that happened while the agent was away" ||
	fail "events: the deny during the restart is missing: $(tail -2 "$FOLLOW")"
in_cgroup svc "$NETPROBE" tcp 127.0.0.2 8081 >/dev/null
wait_for 3 eval '[ "$(lines)" -ge $((n1 + 2)) ]' && pass "events: ... then follows the new agent" ||
	fail "events: nothing after the reconnect"
check "events: ... with no event shown twice" 0 "$(jq -r .ts "$FOLLOW" | sort | uniq -d | wc -l)"
kill "$FOLLOWER"
wait "$FOLLOWER" 2>/dev/null
check "events: --follow exits 0 on SIGTERM" 0 "$?"

# history from the file: the text form and the filters
out=$("$MCPF" events --config "$CONFIG" --type egress --verdict deny --cgroup "/$ROOT_REL/svc")
echo "$out" | head -1 | grep -qE "^20[0-9-]+T[0-9:.]+Z egress deny connect4 tcp 127.0.0.2:8081 policy=web cgroup=/$ROOT_REL/svc pid=[0-9]+ comm=netprobe reason=policy" &&
	pass "events: the text form, one line each: $(echo "$out" | head -1)" || fail "events: text form: $(echo "$out" | head -2)"
check "events: --cgroup takes the cgroup and those below it, not its siblings" 0 "$(echo "$out" | grep -c stray)"
check "events: --since 1h: all of them; --since a future time: none" "yes 0" \
	"$([ "$("$MCPF" events --config "$CONFIG" --since 1h | wc -l)" -eq "$("$MCPF" events --config "$CONFIG" | wc -l)" ] && echo yes) $("$MCPF" events --config "$CONFIG" --since 2999-01-01T00:00:00Z | wc -l)"
out=$("$MCPF" events --config "$CONFIG" --verdict maybe 2>&1); rc=$?
[ "$rc" = 1 ] && echo "$out" | grep -q -- '--verdict "maybe": allow, deny or audit' && pass "events: a bad filter is refused, naming it" ||
	fail "events: bad filter: $rc $out"
out=$("$MCPF" events --agent-socket "$SOCK" 2>&1); rc=$?
[ "$rc" = 1 ] && echo "$out" | grep -q 'no events file' && pass "events: without a file and without --follow: says what is missing" ||
	fail "events: no file: $rc $out"
agent_stop && pass "events: the agent exits cleanly (no sanitizer report)" || fail "events: agent exit status $?"
