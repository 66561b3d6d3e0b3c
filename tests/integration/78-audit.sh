#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Scope audits (issue 26): a workload bound by its token uses some rules of its policy (TCP and
# UDP by address, one name of a name rule) and not others; `policy audit` marks exactly those,
# with the binding; last use survives an agent SIGKILL and restart; a reload that changes one
# rule resets only that rule; the narrowed policy passes `policy check` and, enforced, still
# lets the workload do what it did (and no more); a real Prometheus scrapes the last-use metric
# and the documented alerting rule loads.
source "$(dirname "$0")/lib.sh"
source "$REPO/scripts/jwt.sh"

DNSCLIENT="$REPO/tests/dnsclient.py"
RES=127.0.0.163
command -v nsd >/dev/null && command -v dig >/dev/null ||
	{ fail "audit: nsd or dig is missing (scripts/install-deps.sh installs them)"; exit 0; }
[ -e /etc/resolv.conf ] || : >/etc/resolv.conf # a bind-mount target (vmtest guests have none)
Z="$WORK/nsd"
mkdir -p "$Z"
printf '%s\n' '$ORIGIN test.mcpf.' '@ 300 IN SOA ns.test.mcpf. admin.test.mcpf. 1 3600 600 86400 60' \
	'@ 300 IN NS ns.test.mcpf.' 'ns 300 IN A 127.0.0.163' 'api 300 IN A 127.0.10.1' 'docs 300 IN A 127.0.10.2' \
	'other 300 IN A 127.0.10.3' >"$Z/test.mcpf.zone"
"$REPO/scripts/nsd-conf.sh" "$Z" test.mcpf "$RES"
nsd -d -c "$Z/nsd.conf" >"$Z/nsd.out" 2>&1 &
BG_PIDS+=($!)
wait_for 5 eval "dig +short +time=1 +tries=1 @$RES api.test.mcpf | grep -q 127.0.10.1" ||
	{ fail "audit: nsd did not start: $(tail -3 "$Z/nsd.out")"; exit 0; }
echo "nameserver $RES" >"$WORK/resolv.conf"

ISS="https://issuer.audit.test"
jwt_keygen RS256 "$WORK/k1.pem"
echo "{\"keys\":[$(jwt_jwk RS256 "$WORK/k1.pem" k1)]}" >"$WORK/issuer.jwks"
jwt_sign RS256 "$WORK/k1.pem" k1 "$(jwt_claims "$ISS" workload-a 3600)" >"$WORK/a.jwt"
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
write_config '"attest_socket": "'"$WORK/attest.sock"'", "metrics": { "listen": "127.0.0.1:'"$PORT"'" },
  "trust": { "issuers": [ { "issuer": "'"$ISS"'", "jwks_file": "issuer.jwks" } ] },
  "dns": { "resolvers": ["'"$RES"'"], "ttl_floor": "1s", "grace": "0s" }'
scoped() { # RULE1_PORTS
	cat >"$WORK/policies/scoped.json" <<JSON
{ "apiVersion": "mcpfence/v1", "kind": "EgressPolicy", "metadata": { "name": "scoped" },
  "spec": { "identity": { "issuer": "$ISS", "subject": "workload-a" },
    "egress": [
      { "to": ["127.0.0.2"], "ports": ["8080"], "protocol": "tcp" },
      { "to": ["127.0.0.2"], "ports": [$1], "protocol": "udp" },
      { "to": ["127.0.0.3"], "ports": ["9000"], "protocol": "tcp" },
      { "to": ["api.test.mcpf", "docs.test.mcpf"], "ports": ["8080"], "protocol": "tcp" },
      { "to": ["other.test.mcpf"], "ports": ["8080"], "protocol": "tcp" } ] } }
JSON
}
scoped '"5353"'
agent_start || exit 1
python3 "$DNSCLIENT" echo-server 8080 >"$WORK/echo.out" 2>&1 & # every address: 127.0.0.2 and the names
BG_PIDS+=($!)
wait_ready "$WORK/echo.out" || { fail "audit: the echo server did not start"; exit 1; }

# the workload: attests with its token, then does what it does (in its own cgroup)
workload() { # ACTIONS (shell, with $NETPROBE and $DNSCLIENT)
	in_cgroup wl unshare -m sh -c 'mount -o bind "$0" /etc/resolv.conf && "$1" attest --attest-socket "$2" --token-file "$3" >/dev/null && eval "$4"' \
		"$WORK/resolv.conf" "$MCPF" "$WORK/attest.sock" "$WORK/a.jwt" "$1" 2>&1
}
uses='NETPROBE='"$NETPROBE"' DNSCLIENT='"$DNSCLIENT"'; echo $($NETPROBE tcp 127.0.0.2 8080) $($NETPROBE udp-sendto 127.0.0.2 5353) $(python3 $DNSCLIENT resolve-connect api.test.mcpf 8080)'
report() { "$MCPF" policy audit --config "$CONFIG" --json --since "$1" "${@:2}"; }
used() { jq -c '[.policies[0].rules[] | .last_used > 0]'; }
window() { echo "$(( $(date +%s) - T1 + 1 ))s"; } # from just before the uses to now

check "audit: before any use, no rule has been used" '[false,false,false,false,false]' "$(report 1h | used)"
sleep 3 # counting began at least 3 s before the uses: the window below starts after it
T1=$(date +%s)
check "audit: the workload's TCP, UDP and name uses pass" "OK OK OK 127.0.10.1" "$(workload "$uses")"
rep=$(report "$(window)")
check "audit: exactly the rules used are marked (TCP, UDP, the name rule; not 127.0.0.3, not other.test.mcpf)" \
	'[true,true,false,true,false]' "$(echo "$rep" | used)"
check "audit: ... and of the name rule's patterns, api.test.mcpf only" '[["api.test.mcpf",true],["docs.test.mcpf",false]]' \
	"$(echo "$rep" | jq -c '[.policies[0].rules[3].names[] | [.pattern, .last_used > 0]] | sort')"
check "audit: the binding: by token, its issuer and subject, its cgroup" "token $ISS workload-a /$ROOT_REL/wl" \
	"$(echo "$rep" | jq -r '.policies[0].bindings[0] | "\(.source) \(.issuer) \(.subject) \(.cgroup)"')"
check "audit: the narrowed policy drops rules 2 and 4, and docs.test.mcpf" '[2,4] ["api.test.mcpf"]' \
	"$(echo "$rep" | jq -c '.policies[0].removed') $(echo "$rep" | jq -c '.narrowed.scoped.spec.egress[2].to')"
text=$("$MCPF" policy audit --config "$CONFIG" --since "$(window)")
[ -d "$REPO/tests/out" ] && echo "$text" >"$REPO/tests/out/audit-report.txt" # a report to read
[[ "$text" == *"rule 2: 1 address tcp 9000: last used never"* && "$text" == *"docs.test.mcpf: last used never"* &&
	"$text" == *"narrowed: 2 of 5 rules removed"* ]] &&
	pass "audit: the text report says the same" || fail "audit: text report: $text"
check "audit: an unknown policy is refused, naming it (exit 1)" "1 1" \
	"$("$MCPF" policy audit --config "$CONFIG" --policy nope 2>&1 | grep -c 'no policy named "nope" is loaded') $("$MCPF" policy audit --config "$CONFIG" --policy nope >/dev/null 2>&1; echo $?)"

# --- the metric, scraped
scrape() { curl -sf "http://127.0.0.1:$PORT/metrics"; }
val() { scrape | awk -v m="$1" '$1 == m { v = $2 } END { print v + 0 }'; }
check "audit: metric: rule 0 used, rule 2 not, pattern api used, docs not" "yes 0 yes 0" \
	"$([ "$(val 'mcpfence_rule_last_used_timestamp_seconds{policy="scoped",rule="0"}')" -ge "$T1" ] && echo yes) $(val 'mcpfence_rule_last_used_timestamp_seconds{policy="scoped",rule="2"}') $([ "$(val 'mcpfence_rule_last_used_timestamp_seconds{policy="scoped",rule="3",pattern="api.test.mcpf"}')" -ge "$T1" ] && echo yes) $(val 'mcpfence_rule_last_used_timestamp_seconds{policy="scoped",rule="3",pattern="docs.test.mcpf"}')"

# --- SIGKILL and restart: the kernel's last use and the history on disk survive
before=$(echo "$rep" | jq -c '[.policies[0].rules[] | .last_used]')
wait_for 3 test -s "$WORK/bindings.json" || fail "audit: the binding history was not written"
kill -KILL "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
AGENT_PID=
agent_start || { fail "audit: restart"; exit 1; }
rep=$(report "$(window)")
check "audit: after SIGKILL and a restart, each rule's last use is as it was" "$before" \
	"$(echo "$rep" | jq -c '[.policies[0].rules[] | .last_used]')"
check "audit: ... and the binding is still in the history" "token workload-a 1" \
	"$(echo "$rep" | jq -r '.policies[0].bindings[0] | "\(.source) \(.subject) \(.count)"')"

# --- a reload that changes rule 1 starts it afresh, the others keep theirs
scoped '"5353", "5354"'
agent_reload
rep=$(report "$(window)")
check "audit: a reload changing rule 1 resets rule 1 only" "[$(echo "$before" | jq -c '.[0]'),0,0,$(echo "$before" | jq -c '.[3]'),0]" \
	"$(echo "$rep" | jq -c '[.policies[0].rules[] | .last_used]')"
check "audit: ... and its counting starts at the reload (kept by the narrowed policy: too new to judge)" "true [2,4]" \
	"$(echo "$rep" | jq -c '.policies[0].rules[1].counted_since >= '"$T1"'') $(echo "$rep" | jq -c '.policies[0].removed')"

# --- the narrowed policy: valid, and enough for what the workload did
"$MCPF" policy audit --config "$CONFIG" --since "$(window)" --out "$WORK/narrowed" >/dev/null
check "audit: the narrowed policy passes policy check" 0 \
	"$("$MCPF" policy check "$WORK/narrowed/scoped.json" >/dev/null 2>&1; echo $?)"
cp "$WORK/narrowed/scoped.json" "$WORK/policies/scoped.json"
agent_reload
check "audit: enforced, it lets the workload do what it did" "OK OK OK 127.0.10.1" "$(workload "$uses")"
check "audit: ... and not what it never did" "EPERM NORESOLVE" \
	"$(workload 'echo $('"$NETPROBE"' tcp 127.0.0.3 9000) $(python3 '"$DNSCLIENT"' resolve-connect docs.test.mcpf 8080 | cut -d" " -f1)')"

# --- a real Prometheus scrapes the metric; the documented alerting rule loads
if command -v prometheus >/dev/null && command -v promtool >/dev/null; then
	sed -n '/^# BEGIN scope-audit-rule/,/^# END scope-audit-rule/p' "$REPO/docs/operations.md" | sed '1d;$d' >"$WORK/rules.yml"
	check "audit: promtool accepts the alerting rule of docs/operations.md" 0 \
		"$(promtool check rules "$WORK/rules.yml" >/dev/null 2>&1; echo $?)"
	PROM_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	printf 'global: { scrape_interval: 1s, evaluation_interval: 1s }\nrule_files: ["%s"]\nscrape_configs:\n  - job_name: mcpfence\n    static_configs: [ { targets: ["127.0.0.1:%s"] } ]\n' \
		"$WORK/rules.yml" "$PORT" >"$WORK/prometheus.yml"
	prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/prom" \
		--web.listen-address="127.0.0.1:$PROM_PORT" >"$WORK/prometheus.log" 2>&1 &
	BG_PIDS+=($!)
	query() { curl -sf "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$1" | jq -r '.data.result[0].value[1] // empty'; }
	q='mcpfence_rule_last_used_timestamp_seconds{policy="scoped",rule="0"}'
	if wait_for 30 eval '[ -n "$(query "$q")" ]'; then
		check "audit: Prometheus has the last use of rule 0 (after the workload's use)" yes \
			"$([ "$(query "$q" | cut -d. -f1)" -ge "$T1" ] && echo yes)"
	else
		fail "audit: Prometheus did not scrape the metric: $(tail -3 "$WORK/prometheus.log")"
	fi
else
	skip "audit: prometheus or promtool is not installed (scripts/install-deps.sh installs prometheus)"
fi
agent_stop || fail "audit: the agent exited uncleanly"
