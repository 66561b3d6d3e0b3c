#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The programs are specialised by load-time knobs (constants the verifier sees), so each setting
# is a different program for the verifier: the agent must load and pass its canary under the
# knobs that change code (unbound action, raw and MPTCP sockets, the event rate limit, names on
# or off). The default (unbound deny) runs in every other suite, with names and without; these
# four cover unbound allow and audit with and without names, and each value of the other knobs:
# a CI run found that the verifier refused all four while the defaults loaded.
source "$(dirname "$0")/lib.sh"

DNS='"dns": { "resolvers": ["127.0.0.53"] }'
n=0 bad=()
# unbound raw+mptcp rate_limit names
for combo in "allow allow 0 off" "audit deny 0 off" "allow deny 100 on" "audit allow 100 on"; do
	read -r unbound sockets RATE_LIMIT names <<<"$combo"
	extra="\"unbound\": \"$unbound\", \"raw_sockets\": \"$sockets\", \"mptcp\": \"$sockets\""
	[ "$names" = on ] && extra="$extra, $DNS"
	write_config "$extra"
	write_policy p enforce '[ { "to": ["127.0.0.2"], "ports": ["8080"], "protocol": "tcp" } ]'
	: >"$WORK/agent.log"
	n=$((n + 1))
	if agent_start >/dev/null && grep -q "canary passed" "$WORK/agent.log"; then
		agent_stop || bad+=("[$combo]: exit status $?")
	else
		bad+=("[$combo]: $(grep -m1 -o "failed to load.*\|Failed.*\|canary failed.*" "$WORK/agent.log")")
		agent_stop
	fi
	"$MCPF" uninstall --config "$CONFIG" >/dev/null 2>&1
done
[ "${#bad[@]}" -eq 0 ] && pass "knobs: the programs load and guard under $n knob combinations" ||
	fail "knobs: ${#bad[@]} of $n combinations failed (unbound raw+mptcp rate_limit names): ${bad[*]}"
