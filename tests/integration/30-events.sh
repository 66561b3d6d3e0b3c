#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Events: one denied connect gives exactly one deny event with the documented fields; a flood
# is rate-limited in the kernel with an exact suppressed count while the agent stays responsive.
source "$(dirname "$0")/lib.sh"

RATE_LIMIT=100
write_config '"bindings": [ { "cgroup": "'"$ROOT_REL"'/svc", "policy": "ev" } ]'
write_policy ev enforce '[ { "to": ["127.0.0.2"], "ports": ["8080"], "protocol": "tcp" } ]'
agent_start || { fail "events: agent start"; exit 1; }

t_before=$(date +%s)
in_cgroup svc "$NETPROBE" tcp 127.0.0.2 8443 >/dev/null
t_after=$(date +%s)
check "events: one denied connect gives exactly one deny event" 1 \
	"$(wait_events '.type == "egress" and .dport == 8443' 1)"
ev=$(jq -c 'select(.type == "egress" and .dport == 8443)' "$EVENTS" | head -1)
cg_id=$(stat -c %i "$ROOT/svc")
for f in ts type verdict hook protocol dst dport pid comm cgroup cgroup_id policy mode; do
	[ "$(echo "$ev" | jq "has(\"$f\")")" = true ] && pass "events: deny event has field $f" ||
		fail "events: deny event lacks $f: $ev"
done
check "events: field values" \
	"egress deny connect4 tcp 127.0.0.2 8443 netprobe /$ROOT_REL/svc $cg_id ev enforce policy" \
	"$(echo "$ev" | jq -r '[.type,.verdict,.hook,.protocol,.dst,.dport,.comm,.cgroup,.cgroup_id,.policy,.mode,.reason] | join(" ")')"
echo "$ev" | jq -r .ts | grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$' &&
	pass "events: ts is RFC 3339 UTC with microseconds" || fail "events: ts format: $ev"
ts_epoch=$(date -d "$(echo "$ev" | jq -r .ts)" +%s)
[ "$ts_epoch" -ge $((t_before - 1)) ] && [ "$ts_epoch" -le $((t_after + 1)) ] &&
	pass "events: ts is the wall-clock time of the event" ||
	fail "events: ts is off: $ev (event $ts_epoch, connect between $t_before and $t_after)"

# --- flood: 20000 denied connects as fast as possible, 100 events per second per cgroup
sleep 1.1 # deliberate: a fresh one-second rate-limit window for the cgroup
before_st=$("$MCPF" status --config "$CONFIG" --json)
in_cgroup svc "$NETPROBE" flood 127.0.0.2 9 20000 >"$WORK/flood.out" &
flood_pid=$!
worst=0
while kill -0 "$flood_pid" 2>/dev/null; do # the agent must answer while the flood runs
	t0=$(date +%s%N)
	"$MCPF" status --config "$CONFIG" --json >/dev/null || fail "events: status failed during the flood"
	dt=$(( ($(date +%s%N) - t0) / 1000000 ))
	[ "$dt" -gt "$worst" ] && worst=$dt
	sleep 0.1 # deliberate: the pace of the status probes during the flood
done
wait "$flood_pid"
attempts=$(sed -n 's/^attempts=//p' "$WORK/flood.out")
eperm=$(sed -n 's/^eperm=//p' "$WORK/flood.out")
# the agent reports suppressed counts once a second: wait until every attempt is accounted for
accounted() {
	[ $(( $(events_where '.type == "egress" and .dport == 9 and .cgroup_id == '"$cg_id"'') +
		$(jq -s '[.[] | select(.type == "suppressed" and .cgroup_id == '"$cg_id"') | .count] | add // 0' "$EVENTS") )) -ge "$attempts" ]
}
wait_for 5 accounted
flood_ms=$(sed -n 's/^ms=//p' "$WORK/flood.out")
check "events: every flood connect was denied" "$attempts" "$eperm"
delivered=$(events_where '.type == "egress" and .dport == 9 and .cgroup_id == '"$cg_id"'')
suppressed=$(jq -s '[.[] | select(.type == "suppressed" and .cgroup_id == '"$cg_id"') | .count] | add // 0' "$EVENTS")
echo "    flood: $attempts denied in ${flood_ms} ms, $delivered events, $suppressed suppressed, status worst ${worst} ms"
check "events: delivered + suppressed = denied attempts" "$attempts" $((delivered + suppressed))
max_delivered=$(( (flood_ms / 1000 + 2) * RATE_LIMIT ))
[ "$delivered" -le "$max_delivered" ] && [ "$delivered" -ge "$RATE_LIMIT" ] &&
	pass "events: the kernel rate limit held ($delivered events in ${flood_ms} ms, limit $RATE_LIMIT/s)" ||
	fail "events: $delivered events for a ${flood_ms} ms flood at $RATE_LIMIT/s"
after_st=$("$MCPF" status --config "$CONFIG" --json)
check "events: counters: denied grew by the attempts" "$attempts" \
	$(( $(echo "$after_st" | jq .counters.denied) - $(echo "$before_st" | jq .counters.denied) ))
check "events: counters: events + suppressed grew by the attempts" "$attempts" \
	$(( $(echo "$after_st" | jq '.counters.events + .counters.events_suppressed') - $(echo "$before_st" | jq '.counters.events + .counters.events_suppressed') ))
# 1 s; 3 s in the emulated vmtest guests, where starting the status command alone takes most of it
limit=$(( ${MCPF_TIME_SCALE:-1} > 1 ? 3000 : 1000 ))
[ "$worst" -lt "$limit" ] && pass "events: the agent answered status within ${worst} ms during the flood" ||
	fail "events: status took ${worst} ms during the flood (limit $limit ms)"
agent_stop && pass "events: agent exits cleanly (no sanitizer report)" || fail "events: agent exit status $?"
