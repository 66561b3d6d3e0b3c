#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `mcpfence policy import` on real-shaped files of each format (tests/import/): the exact
# mapping of every construct, the refusals (with file and field, nothing written), and the
# output passing `mcpfence policy check`. No root needed.
set -u
cd "$(dirname "$0")/.."
MCPF=${MCPF:-build/mcpfence}
pass() { echo "PASS import: $*"; }
fail() { echo "FAIL import: $*"; }
check() { if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: expected '$2', got '$3'"; fi; }
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
D=tests/import
summary() { jq -c '[.[] | {name: .metadata.name, mode: .spec.mode, egress: .spec.egress}]'; }

# --- Docker MCP Gateway catalog
got=$("$MCPF" policy import --from docker-mcp "$D/docker-mcp-catalog.yaml" --json 2>"$OUT/err" | summary)
check "docker-mcp: allowHosts host:port become tcp rules per port; disableNetwork: nothing allowed" \
	'[{"name":"github-official","mode":"enforce","egress":[{"to":["api.github.com","uploads.github.com","raw.githubusercontent.com"],"ports":["443"],"protocol":"tcp"}]},{"name":"postgres","mode":"enforce","egress":[{"to":["db.internal.acme.example","10.0.4.17"],"ports":["5432"],"protocol":"tcp"}]},{"name":"sequentialthinking","mode":"enforce","egress":[]}]' "$got"
grep -q 'registry.atlassian-remote: a remote server (no container): nothing to confine, skipped' "$OUT/err" &&
	pass "docker-mcp: a remote server is skipped, with a note" || fail "docker-mcp: note: $(cat "$OUT/err")"
check "docker-mcp: --select one server" '["postgres"]' \
	"$("$MCPF" policy import --from docker-mcp "$D/docker-mcp-catalog.yaml" --select postgres --json 2>/dev/null | jq -c '[.[].metadata.name]')"
out=$("$MCPF" policy import --from docker-mcp "$D/docker-mcp-open.yaml" --out "$OUT/open" 2>&1); rc=$?
[ "$rc" = 1 ] && [ ! -e "$OUT/open" ] &&
	echo "$out" | grep -q 'docker-mcp-open.yaml: registry.fetch: no allowHosts: the gateway gives this server the whole network' &&
	echo "$out" | grep -q 'registry.brave.allowHosts\[0\]: "api.search.brave.com": expected host:port' &&
	echo "$out" | grep -q 'registry.brave.allowHosts\[1\]: "\*.brave.com:443": the gateway matches host names exactly' &&
	pass "docker-mcp: no allowHosts, a missing port, a wildcard: refused with file and field, nothing written" ||
	fail "docker-mcp: refusals: rc $rc: $out"

# --- ToolHive permission profile
got=$("$MCPF" policy import --from toolhive "$D/toolhive-github.json" --json 2>"$OUT/err" | summary)
check "toolhive: .github.com is the domain and every name below it; hosts x allow_port; allow_transport tcp" \
	'[{"name":"toolhive-github","mode":"enforce","egress":[{"to":["github.com","**.github.com","api.githubcopilot.com","140.82.112.3"],"ports":["443"],"protocol":"tcp"}]}]' "$got"
grep -q 'network.inbound: who may connect to the server, not egress: not imported' "$OUT/err" &&
	grep -q 'read, write: file system permissions, not egress: not imported' "$OUT/err" &&
	pass "toolhive: inbound rules and file system permissions are left out, with a note" || fail "toolhive: notes: $(cat "$OUT/err")"
check "toolhive: --select names the policy" '["github-mcp"]' \
	"$("$MCPF" policy import --from toolhive "$D/toolhive-github.json" --select github-mcp --json 2>/dev/null | jq -c '[.[].metadata.name]')"
out=$("$MCPF" policy import --from toolhive "$D/toolhive-open.json" 2>&1); rc=$?
[ "$rc" = 1 ] && echo "$out" | grep -q 'toolhive-open.json: network.outbound.insecure_allow_all: true allows every destination; mcpfence does not import' &&
	pass "toolhive: insecure_allow_all is refused, not widened: $(echo "$out" | head -1 | cut -c1-120)" || fail "toolhive: allow all: rc $rc: $out"
echo '{"network":{"outbound":{"allow_host":["api.github.com"]}}}' >"$OUT/noport.json"
out=$("$MCPF" policy import --from toolhive "$OUT/noport.json" 2>&1); rc=$?
[ "$rc" = 1 ] && echo "$out" | grep -q 'network.outbound.allow_port: missing' && pass "toolhive: hosts without ports are refused (no guessing)" ||
	fail "toolhive: no ports: rc $rc: $out"

# --- Harden-Runner
got=$("$MCPF" policy import --from harden-runner "$D/harden-runner-workflow.yml" --json 2>"$OUT/err" | summary)
check "harden-runner: block -> enforce, audit -> audit; *.domain -> **.domain (every subdomain, not the domain)" \
	'[{"name":"release-build","mode":"enforce","egress":[{"to":["api.github.com","github.com","objects.githubusercontent.com","**.blob.core.windows.net","registry.npmjs.org"],"ports":["443"],"protocol":"tcp"}]},{"name":"release-scan","mode":"audit","egress":[]}]' "$got"
grep -q 'jobs.build.steps\[0\].with.disable-sudo: not egress: not imported' "$OUT/err" &&
	pass "harden-runner: the step's other settings are left out, with a note" || fail "harden-runner: notes: $(cat "$OUT/err")"
printf 'jobs:\n  a:\n    steps:\n      - uses: step-security/harden-runner@v2\n        with:\n          egress-policy: block\n          allowed-endpoints: "github.com *.:443 x:99999"\n' >"$OUT/bad.yml"
out=$("$MCPF" policy import --from harden-runner "$OUT/bad.yml" 2>&1); rc=$?
[ "$rc" = 1 ] && echo "$out" | grep -q 'jobs.a.steps\[0\].with.allowed-endpoints: "github.com": expected host:port' &&
	echo "$out" | grep -q '"x:99999": expected host:port' && pass "harden-runner: malformed endpoints are refused, each named" ||
	fail "harden-runner: malformed: rc $rc: $out"

# --- what it writes is a policy
"$MCPF" policy import --from docker-mcp "$D/docker-mcp-catalog.yaml" --out "$OUT/policies" 2>/dev/null &&
	"$MCPF" policy import --from toolhive "$D/toolhive-github.json" --out "$OUT/policies" 2>/dev/null &&
	"$MCPF" policy import --from harden-runner "$D/harden-runner-workflow.yml" --out "$OUT/policies" 2>/dev/null
out=$("$MCPF" policy check "$OUT/policies" 2>&1); rc=$?
check "--out writes one file per policy, and all 6 pass mcpfence policy check" "0 6" "$rc $(ls "$OUT/policies" | wc -l)"

# --- bad input
for row in "--from kubernetes $D/toolhive-github.json|--from \"kubernetes\": docker-mcp, toolhive or harden-runner" \
	"--from toolhive $OUT/missing.json|missing.json: No such file" \
	"--from docker-mcp $D/toolhive-github.json|registry: missing" \
	"--from harden-runner $D/docker-mcp-catalog.yaml|jobs: missing"; do

	out=$("$MCPF" policy import ${row%%|*} 2>&1); rc=$?
	[ "$rc" = 1 ] && echo "$out" | grep -q -- "${row#*|}" && pass "${row%%|*}: refused, saying why" || fail "${row%%|*}: rc $rc: $out"
done
printf 'registry: &r\n  x: {allowHosts: ["a.example:443"]}\nother: *r\n' >"$OUT/alias.yaml"
out=$("$MCPF" policy import --from docker-mcp "$OUT/alias.yaml" 2>&1); rc=$?
[ "$rc" = 1 ] && echo "$out" | grep -q 'anchors and aliases are not accepted' && pass "YAML anchors and aliases are refused" ||
	fail "aliases: rc $rc: $out"
