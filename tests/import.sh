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
summary() { jq -c 'if type == "array" then [.[] | {name: .metadata.name, mode: .spec.mode, egress: .spec.egress}] else . end'; }

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
[ "$rc" = 1 ] && echo "$out" | grep -q "network.outbound.allow_port: missing: ToolHive's proxy then allows every port" &&
	pass "toolhive: hosts without ports are refused (ToolHive allows every port then)" || fail "toolhive: no ports: rc $rc: $out"
echo '{"network":{"outbound":{"allow_port":[443]}}}' >"$OUT/nohost.json"
out=$("$MCPF" policy import --from toolhive "$OUT/nohost.json" 2>&1); rc=$?
[ "$rc" = 1 ] && echo "$out" | grep -q "allow_port without allow_host: ToolHive then allows every host on those ports" &&
	pass "toolhive: ports without hosts are refused as allow-every-host, not imported as an empty policy" ||
	fail "toolhive: no hosts: rc $rc: $out"
echo '{"network":{"outbound":{"allow_host":["api.github.com"],"allow_port":[443],"allow_transport":["tcp","udp"]}}}' >"$OUT/udp.json"
check "toolhive: allow_transport tcp+udp stays TCP (its egress was an HTTP/CONNECT proxy), with a note" \
	'[{"name":"udp","mode":"enforce","egress":[{"to":["api.github.com"],"ports":["443"],"protocol":"tcp"}]}] 1' \
	"$("$MCPF" policy import --from toolhive "$OUT/udp.json" --json 2>"$OUT/udp.err" | summary) $(grep -c 'never UDP' "$OUT/udp.err")"

# --- Harden-Runner
got=$("$MCPF" policy import --from harden-runner "$D/harden-runner-workflow.yml" --json 2>"$OUT/err" | summary)
check "harden-runner: block -> enforce, audit -> audit; *.domain -> **.domain (every subdomain, not the domain)" \
	'[{"name":"release-build","mode":"enforce","egress":[{"to":["api.github.com","github.com","objects.githubusercontent.com","**.blob.core.windows.net","registry.npmjs.org"],"ports":["443"],"protocol":"tcp"}]},{"name":"release-scan","mode":"audit","egress":[]}]' "$got"
grep -q 'jobs.build.steps\[0\].with.disable-sudo: not egress: not imported' "$OUT/err" &&
	pass "harden-runner: the step's other settings are left out, with a note" || fail "harden-runner: notes: $(cat "$OUT/err")"
printf 'jobs:\n  a:\n    steps:\n      - uses: step-security/harden-runner@v2\n        with:\n          egress-policy: block\n          allowed-endpoints: "github.com:443 *.:443 x:99999"\n' >"$OUT/bad.yml"
out=$("$MCPF" policy import --from harden-runner "$OUT/bad.yml" 2>&1); rc=$?
[ "$rc" = 1 ] && echo "$out" | grep -q 'jobs.a.steps\[0\].with.allowed-endpoints: "\*.:443": a host name, an address, or \*.domain' &&
	echo "$out" | grep -q '"x:99999": expected host or host:port' && pass "harden-runner: malformed endpoints are refused, each named" ||
	fail "harden-runner: malformed: rc $rc: $out"
# hr ENDPOINTS [WITH_EXTRA]: a one-step workflow's import, as summary JSON (or the refusal)
hr() {
	printf 'jobs:\n  a:\n    steps:\n      - uses: step-security/harden-runner@v2\n        with:\n          allowed-endpoints: "%s"\n%s' "$1" "${2:-}" >"$OUT/hr.yml"
	"$MCPF" policy import --from harden-runner "$OUT/hr.yml" --json 2>"$OUT/hr.err" | summary
}
check "harden-runner: no egress-policy is block (its action.yml default): enforce; a host without a port is host:443" \
	'[{"name":"a","mode":"enforce","egress":[{"to":["ghcr.io","api.github.com"],"ports":["443"],"protocol":"tcp"}]}]' \
	"$(hr "ghcr.io api.github.com:443")"
check "harden-runner: SRV names (_http._tcp...) are left out, with a note; the rest imports" \
	'[{"name":"a","mode":"enforce","egress":[{"to":["deb.debian.org"],"ports":["80"],"protocol":"tcp"}]}] 1' \
	"$(hr "_http._tcp.deb.debian.org:443 deb.debian.org:80") $(grep -c 'SRV) name, never a connect target' "$OUT/hr.err")"
hr '${{ matrix.allowed-endpoints }}' >/dev/null
check "harden-runner: an expression is one reason: known only when the workflow runs" "1 1" \
	"$(grep -c 'allowed-endpoints: an expression' "$OUT/hr.err") $(grep -c '^mcpfence: /' "$OUT/hr.err")"
hr "" '          policy: my-store-policy\n' >/dev/null
grep -q "with.policy: the endpoints live in Harden-Runner's remote policy store" "$OUT/hr.err" &&
	pass "harden-runner: policy: (the remote policy store) is refused, not taken as no egress" || fail "harden-runner: policy: $(cat "$OUT/hr.err")"

# Docker's real sources: a catalog imports what maps and reports the rest; server.yaml; a flat entry
printf 'registry:\n  good:\n    allowHosts: ["api.example.com:443"]\n  open:\n    image: mcp/open\n' >"$OUT/mixed.yaml"
check "docker-mcp: a catalog imports each server that maps and reports each that does not (one refused server no longer refuses all)" \
	'["good"] 1' "$("$MCPF" policy import --from docker-mcp "$OUT/mixed.yaml" --json 2>"$OUT/mixed.err" | jq -c '[.[].metadata.name]') $(grep -c 'not imported: .*registry.open: no allowHosts' "$OUT/mixed.err")"
printf 'name: fetch\nimage: mcp/fetch\ntype: server\nmeta:\n  category: search\nrun:\n  allowHosts:\n    - "example.com:443"\n    - "example.com:80"\n' >"$OUT/server.yaml"
check "docker-mcp: the registry's per-server server.yaml (run.allowHosts), named by its name" \
	'[{"name":"fetch","mode":"enforce","egress":[{"to":["example.com"],"ports":["443"],"protocol":"tcp"},{"to":["example.com"],"ports":["80"],"protocol":"tcp"}]}]' \
	"$("$MCPF" policy import --from docker-mcp "$OUT/server.yaml" --json 2>/dev/null | summary)"
printf '{"name": "flat", "image": "mcp/flat", "allowHosts": ["10.0.0.5:5432"]}' >"$OUT/flat.json"
check "docker-mcp: a flat single-server entry" '["flat"]' \
	"$("$MCPF" policy import --from docker-mcp "$OUT/flat.json" --json 2>/dev/null | jq -c '[.[].metadata.name]')"

# a ToolHive registry: servers.NAME.permissions, each entry its policy; a profile's own name
cat >"$OUT/thv-registry.json" <<'JSON'
{ "version": "1.0.0", "servers": {
  "fetch": { "image": "ghcr.io/stackloklabs/gofetch/server:latest", "permissions": { "network": { "outbound": { "insecure_allow_all": true } } } },
  "github": { "image": "ghcr.io/github/github-mcp-server:latest",
              "permissions": { "network": { "outbound": { "allow_host": [".github.com", ".githubusercontent.com"], "allow_port": [443] } } } },
  "plain": { "image": "example/plain:latest" } } }
JSON
check "toolhive: a registry imports each entry that maps, named after it; the others are reported, each with its reason" \
	'[{"name":"github","mode":"enforce","egress":[{"to":["github.com","**.github.com","githubusercontent.com","**.githubusercontent.com"],"ports":["443"],"protocol":"tcp"}]}] 2' \
	"$("$MCPF" policy import --from toolhive "$OUT/thv-registry.json" --json 2>"$OUT/thv.err" | summary) $(grep -cE 'not imported: .*servers\.(fetch|plain)\.permissions' "$OUT/thv.err")"
out=$("$MCPF" policy import --from toolhive "$OUT/thv-registry.json" --select fetch 2>&1); rc=$?
[ "$rc" = 1 ] && echo "$out" | grep -q 'servers.fetch.permissions: network.outbound.insecure_allow_all' &&
	pass "toolhive: --select picks a registry entry; its refusal then refuses" || fail "toolhive: registry select: rc $rc: $out"
echo '{"name": "Network Profile", "network": {"outbound": {"allow_host": ["api.example.com"], "allow_port": [443]}}}' >"$OUT/named.json"
check "toolhive: a profile's own name names the policy" '["network-profile"]' \
	"$("$MCPF" policy import --from toolhive "$OUT/named.json" --json 2>/dev/null | jq -c '[.[].metadata.name]')"
printf 'registry:\n  r:\n    remote: {url: "https://mcp.example.com/sse"}\n  p:\n    allowHosts: ["a.example:443"]\n' >"$OUT/remote.yaml"
check "docker-mcp: a server with remote.url and no type is remote: skipped with a note, the rest imports" '["p"] 1' \
	"$("$MCPF" policy import --from docker-mcp "$OUT/remote.yaml" --json 2>"$OUT/remote.err" | jq -c '[.[].metadata.name]') $(grep -c 'registry.r: a remote server' "$OUT/remote.err")"

# --- --out replaces only what the same source wrote
mkdir -p "$OUT/same"
"$MCPF" policy import --from toolhive "$OUT/udp.json" --out "$OUT/same" 2>/dev/null
echo '{"network":{"outbound":{"allow_host":["evil.example"],"allow_port":[443]}}}' >"$OUT/other.json"
out=$("$MCPF" policy import --from toolhive "$OUT/other.json" --select udp --out "$OUT/same" 2>&1); rc=$?
[ "$rc" = 1 ] && grep -q api.github.com "$OUT/same/udp.json" && echo "$out" | grep -q "udp.json exists and was not imported from" &&
	pass "--out: a policy of the same name from another file is not replaced (nothing written, saying why)" ||
	fail "--out overwrite: rc $rc: $out"
"$MCPF" policy import --from toolhive "$OUT/udp.json" --out "$OUT/same" 2>/dev/null &&
	pass "--out: importing the same file again replaces its own policy" || fail "--out: re-import refused"

# --- a directory: each file on its own, then a summary
mkdir -p "$OUT/many"
cp "$OUT/mixed.yaml" "$OUT/server.yaml" "$OUT/flat.json" "$D/docker-mcp-open.yaml" "$OUT/many/"
out=$("$MCPF" policy import --from docker-mcp "$OUT/many" --out "$OUT/many-out" 2>/dev/null); rc=$?
check "a directory: each file imported or refused on its own, a summary line, exit 1 as one was refused" \
	"1|4 files: 3 imported (3 policies), 1 refused|fetch.json flat.json good.json" \
	"$rc|$(echo "$out" | tail -1)|$(ls "$OUT/many-out" | xargs)"
check "a directory, --json: a report per file" '[["docker-mcp-open.yaml",false],["flat.json",true],["mixed.yaml",true],["server.yaml",true]]' \
	"$("$MCPF" policy import --from docker-mcp "$OUT/many" --json 2>/dev/null | jq -c '[.files[] | [(.file | split("/") | last), .imported]]')"

# --- real files (tests/import/real/*/ORIGIN.md: repository, commit, licence)
R=$D/real/docker-mcp-registry
check "real: Docker's MCP registry server.yaml files, as a directory: the exact summary" \
	"imported $R/asana.yaml -> (nothing to confine)|imported $R/duckduckgo.yaml -> duckduckgo|refused  $R/fetch.yaml: fetch: no allowHosts: the gateway gives this server the whole network; mcpfence does not import an allow-everything policy (write one by hand if that is meant)|imported $R/github-official.yaml -> github-official|refused  $R/kafka-schema-reg-mcp.yaml: kafka-schema-reg-mcp.allowHosts[0]: \"*:8081\": the gateway matches host names exactly; a wildcard has no defined meaning there, so it is not guessed|5 files: 3 imported (2 policies), 2 refused" \
	"$("$MCPF" policy import --from docker-mcp "$R" 2>/dev/null | paste -sd'|')"
check "real: github-official's server.yaml, the exact policy" \
	'[{"name":"github-official","mode":"enforce","egress":[{"to":["api.github.com","github.com","raw.githubusercontent.com"],"ports":["443"],"protocol":"tcp"}]}]' \
	"$("$MCPF" policy import --from docker-mcp "$R/github-official.yaml" --json 2>/dev/null | summary)"

R=$D/real/toolhive
check "real: ToolHive's registry entry for context7 (upstream server.json, permissions under _meta), the exact policy" \
	'[{"name":"context7","mode":"enforce","egress":[{"to":["context7.com"],"ports":["443"],"protocol":"tcp"}]}]' \
	"$("$MCPF" policy import --from toolhive "$R/context7-server.json" --json 2>/dev/null | summary)"
out=$("$MCPF" policy import --from toolhive "$R/registry-with-remote-servers.json" 2>&1); rc=$?
[ "$rc" = 1 ] && [[ "$out" == *"data.servers[0]: io.github.stacklok/example-container: no _meta"*"default profile"* &&
	"$out" == *"data.servers[1]: io.github.stacklok/example-remote: a remote server (remotes[])"* ]] &&
	pass "real: ToolHive's example registry (data.servers): a container without permissions and a remote server, each refused saying why" ||
	fail "real: ToolHive example registry: rc $rc: $out"

R=$D/real/harden-runner
check "real: Harden-Runner's own runs-on.yml: four jobs, block as enforce and audit as audit" \
	'[["runson-tests-test-host-outbound","audit"],["runson-tests-test-docker-outbound","enforce"],["runson-tests-test-docker-build-outbound","audit"],["runson-tests-test-long-running-docker","enforce"]]' \
	"$("$MCPF" policy import --from harden-runner "$R/runs-on.yml" --json 2>/dev/null | jq -c '[.[] | [.metadata.name, .spec.mode]]')"
check "real: ... test-docker-outbound, the exact policy (ports 80 and 443, *.docker.io as **.docker.io)" \
	'[{"to":["archive.ubuntu.com","security.ubuntu.com"],"ports":["80"],"protocol":"tcp"},{"to":["github.com","goreleaser.com","production.cloudflare.docker.com","docker-images-prod.6aa30f8b08e16409b46e0173d6de2f56.r2.cloudflarestorage.com","**.docker.io"],"ports":["443"],"protocol":"tcp"}]' \
	"$("$MCPF" policy import --from harden-runner "$R/runs-on.yml" --select test-docker-outbound --json 2>/dev/null | jq -c '.[0].spec.egress')"
check "real: Scorecard's lint.yml (audit, no endpoints): an audit policy with no rules, and the note" \
	'golangci-lint-golangci audit 0|1' \
	"$("$MCPF" policy import --from harden-runner "$R/scorecard-lint.yml" --json 2>/dev/null | jq -r '.[0] | "\(.metadata.name) \(.spec.mode) \(.spec.egress | length)"')|$("$MCPF" policy import --from harden-runner "$R/scorecard-lint.yml" 2>&1 >/dev/null | grep -c 'audit with no allowed-endpoints')"

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
