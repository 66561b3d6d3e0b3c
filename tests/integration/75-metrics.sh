#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Prometheus metrics (config `metrics.listen`): the exposition passes promtool's strict check,
# a real Prometheus server (Debian's, started here) scrapes it over loopback, and the values
# move as traffic is allowed and denied, tokens are presented and policies reloaded. Counts by
# policy survive an agent restart. The Unix socket form, and requests that are not a scrape.
source "$(dirname "$0")/lib.sh"
source "$REPO/scripts/jwt.sh"

for t in promtool prometheus curl; do
	command -v "$t" >/dev/null || { skip "metrics: $t is not installed (scripts/install-deps.sh installs prometheus)"; exit 0; }
done
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
URL="http://127.0.0.1:$PORT/metrics"
ISS="https://issuer.mcpfence.test"
jwt_keygen RS256 "$WORK/k1.pem"
echo "{\"keys\":[$(jwt_jwk RS256 "$WORK/k1.pem" k1)]}" >"$WORK/issuer.jwks"
write_config '"metrics": { "listen": "127.0.0.1:'"$PORT"'" }, "attest_socket": "'"$WORK"'/attest.sock",
  "bindings": [ { "cgroup": "'"$ROOT_REL"'/svc", "policy": "web" } ],
  "trust": { "issuers": [ { "issuer": "'"$ISS"'", "jwks_file": "issuer.jwks" } ] }'
write_policy web enforce '[ { "to": ["127.0.0.2"], "ports": ["8080"], "protocol": "tcp" } ]'
listen 127.0.0.2 8080 8081 || { fail "metrics: listeners"; exit 1; }
agent_start || { fail "metrics: agent"; exit 1; }

scrape() { curl -sf "$URL"; }
# value METRIC_WITH_LABELS: the sample's value in a fresh scrape (0 when absent)
value() { scrape | awk -v m="$1" '$1 == m { v = $2 } END { print v + 0 }'; }
ALLOW='mcpfence_verdicts_total{policy="web",hook="connect4",verdict="allow"}'
DENY='mcpfence_verdicts_total{policy="web",hook="connect4",verdict="deny"}'
UNBOUND='mcpfence_verdicts_total{policy="",hook="connect4",verdict="deny"}'

out=$(curl -s -D "$WORK/headers" "$URL")
grep -qi '^content-type: text/plain; version=0.0.4' "$WORK/headers" && [ -n "$out" ] &&
	pass "metrics: GET /metrics on 127.0.0.1:$PORT answers in the text format ($(echo "$out" | grep -c '^# TYPE') families)" ||
	fail "metrics: the scrape: $(head -3 "$WORK/headers" | tr '\r\n' '  ')"
lint=$(echo "$out" | promtool check metrics 2>&1) && pass "metrics: promtool check metrics finds nothing to fault" ||
	fail "metrics: promtool: $lint"
for m in mcpfence_build_info mcpfence_verdicts_total mcpfence_events_total mcpfence_events_suppressed_total \
	mcpfence_ringbuf_drops_total mcpfence_bindings mcpfence_expired_total mcpfence_attestations_total \
	mcpfence_jwks_fetches_total mcpfence_jwks_age_seconds mcpfence_map_entries mcpfence_map_capacity \
	mcpfence_reloads_total mcpfence_reload_duration_seconds mcpfence_reload_last_success_timestamp_seconds; do
	echo "$out" | grep -q "^# TYPE $m " || missing+=" $m"
done
[ -z "${missing:-}" ] && pass "metrics: every family the operations docs list is there" || fail "metrics: missing:$missing"
echo "$out" | grep -q 'cgroup=' && fail "metrics: a label names a cgroup (unbounded cardinality)" ||
	pass "metrics: no label names a cgroup"

# --- values move with traffic
a0=$(value "$ALLOW") d0=$(value "$DENY") u0=$(value "$UNBOUND")
for _ in 1 2 3; do in_cgroup svc "$NETPROBE" tcp 127.0.0.2 8080 >/dev/null; done
for _ in 1 2; do in_cgroup svc "$NETPROBE" tcp 127.0.0.2 8081 >/dev/null; done
in_cgroup stray "$NETPROBE" tcp 127.0.0.2 8080 >/dev/null
check "metrics: 3 allowed and 2 denied connects of policy web, 1 of an unbound cgroup: the counters moved by that" \
	"3 2 1" "$(( $(value "$ALLOW") - a0 )) $(( $(value "$DENY") - d0 )) $(( $(value "$UNBOUND") - u0 ))"
check "metrics: bindings by source" "1 0" \
	"$(value 'mcpfence_bindings{source="operator"}') $(value 'mcpfence_bindings{source="identity"}')"
check "metrics: the map fill: 1 IPv4 prefix of the policy, against the trie's capacity" "1 yes" \
	"$(value 'mcpfence_map_entries{map="prefixes_ipv4"}') $([ "$(value 'mcpfence_map_capacity{map="prefixes_ipv4"}')" -gt 1000 ] && echo yes)"

# --- attestations and keys
echo "not-a-token" >"$WORK/bad.jwt"
in_cgroup wl "$MCPF" attest --attest-socket "$WORK/attest.sock" --token-file "$WORK/bad.jwt" >/dev/null 2>&1
jwt_sign RS256 "$WORK/k1.pem" k1 "$(jwt_claims "$ISS" "nobody-matches" 600)" >"$WORK/nomatch.jwt"
in_cgroup wl "$MCPF" attest --attest-socket "$WORK/attest.sock" --token-file "$WORK/nomatch.jwt" >/dev/null 2>&1
check "metrics: attestations by result and reason" "1 1" \
	"$(value 'mcpfence_attestations_total{result="rejected",reason="malformed"}') $(value 'mcpfence_attestations_total{result="rejected",reason="no_matching_policy"}')"
check "metrics: the issuer's key set: loaded once, its age known" "1 yes" \
	"$(value 'mcpfence_jwks_fetches_total{issuer="'"$ISS"'",outcome="success"}') $(scrape | grep -q '^mcpfence_jwks_age_seconds{issuer="'"$ISS"'"} [0-9]' && echo yes)"

# --- reloads
agent_reload
echo '{ broken' >"$WORK/policies/broken.json"
agent_reload
rm "$WORK/policies/broken.json"
check "metrics: reloads by result (one good, one refused)" "1 1" \
	"$(value 'mcpfence_reloads_total{result="success"}') $(value 'mcpfence_reloads_total{result="failure"}')"
check "metrics: ... and the policy's counts are its own across the reload" "3" "$(( $(value "$ALLOW") - a0 ))"

# --- a real Prometheus server scrapes it
PROM_PORT=$(free_port)
cat >"$WORK/prometheus.yml" <<YAML
global: { scrape_interval: 1s, evaluation_interval: 1s }
scrape_configs:
  - job_name: mcpfence
    static_configs: [ { targets: ["127.0.0.1:$PORT"] } ]
YAML
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/prom" \
	--web.listen-address="127.0.0.1:$PROM_PORT" >"$WORK/prometheus.log" 2>&1 &
BG_PIDS+=($!)
query() { curl -sf "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$1" | jq -r '.data.result[0].value[1] // empty'; }
if wait_for 30 eval '[ "$(query "up{job=\"mcpfence\"}")" = 1 ] && [ -n "$(query "mcpfence_verdicts_total{policy=\"web\",verdict=\"deny\",hook=\"connect4\"}")" ]'; then
	pass "metrics: Prometheus $(prometheus --version 2>&1 | awk 'NR == 1 { print $3 }') scrapes the agent (up 1) and has mcpfence_verdicts_total{policy=\"web\",verdict=\"deny\"} = $(query 'mcpfence_verdicts_total{policy="web",verdict="deny",hook="connect4"}')"
else
	fail "metrics: Prometheus did not scrape it: $(query 'up') $(tail -3 "$WORK/prometheus.log")"
fi
samples=$(curl -sf "http://127.0.0.1:$PROM_PORT/api/v1/targets" | jq -r '.data.activeTargets[0].lastError')
check "metrics: ... with no scrape error" "" "$samples"

# --- the counts by policy survive an agent restart (pinned counters, rows from the bindings)
before=$(value "$ALLOW")
agent_stop
agent_start || { fail "metrics: restart"; exit 1; }
check "metrics: after a restart the policy keeps its counts" "$before" "$(value "$ALLOW")"

# --- not a scrape
check "metrics: another path is 404, another method 405" "404 405" \
	"$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/other") $(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL")"
exec 7<>/dev/tcp/127.0.0.1/"$PORT" # a client that never finishes its request
check "metrics: a silent client does not hold up a scrape" "1" "$(scrape | grep -c '^mcpfence_build_info')"
exec 7>&-

# --- a Unix socket instead
agent_stop
sed -i "s|\"listen\": \"127.0.0.1:$PORT\"|\"listen\": \"$WORK/metrics.sock\"|" "$CONFIG"
agent_start || { fail "metrics: agent (unix socket)"; exit 1; }
curl -sf --unix-socket "$WORK/metrics.sock" http://localhost/metrics | grep -q '^mcpfence_build_info{version=' &&
	pass "metrics: served on a Unix socket (metrics.listen: a path)" || fail "metrics: the Unix socket"
agent_stop && pass "metrics: the agent exits cleanly (no sanitizer report)" || fail "metrics: agent exit status $?"
