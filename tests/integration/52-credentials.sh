#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# No secrets past the fence (issue 19): the agent mints a bound workload a credential for one
# downstream audience its policy grants, never the token the workload attested with. Minted
# tokens are checked by independent verifiers (Debian's PyJWT and jwcrypto, npm's jose) that
# see only what `mcpfence issuer export` wrote; every refusal has its reason and its event.
source "$(dirname "$0")/lib.sh"
[ -n "${MCPF_VMTEST:-}" ] && { skip "$(basename "$0" .sh): kernel-independent (minting, exchanges, coupling; binding on every kernel is 50-identity), run on the host only"; exit 0; }
source "$REPO/scripts/jwt.sh"
PY=/usr/bin/python3 # Debian's, with python3-jwt and python3-jwcrypto
CHECK="$REPO/tests/jwtcheck.py"

ISS="https://issuer.mcpfence.test"
MINT_ISS="https://mcpfence.test/node"
jwt_keygen RS256 "$WORK/k1.pem"
echo "{\"keys\":[$(jwt_jwk RS256 "$WORK/k1.pem" k1)]}" >"$WORK/issuer.jwks"
ATTEST_SOCK="$WORK/attest.sock"
write_config '"attest_socket": "'"$ATTEST_SOCK"'",
  "issuer": { "url": "'"$MINT_ISS"'", "keys": "issuer-keys", "requests_per_second": 20 },
  "metrics": { "listen": "'"$WORK/metrics.sock"'" },
  "bindings": [ { "cgroup": "'"$ROOT_REL"'/held", "hold": true },
                { "cgroup": "'"$ROOT_REL"'/static", "policy": "static-c" } ],
  "trust": { "issuers": [ { "issuer": "'"$ISS"'", "jwks_file": "issuer.jwks", "algorithms": ["RS256"] } ] }'
cat >"$WORK/policies/a.json" <<JSON
{ "apiVersion": "mcpfence/v1", "kind": "EgressPolicy", "metadata": { "name": "creds-a" },
  "spec": { "identity": { "issuer": "$ISS", "audience": "mcpfence", "subject": "workload-a" },
            "egress": [ { "to": ["127.0.0.2"], "ports": ["8080"], "protocol": "tcp" } ],
            "credentials": [
              { "audience": "https://127.0.0.2:8080", "lifetime": "10m", "claims": ["repository", "environment"] },
              { "audience": "api://downstream-b", "lifetime": "5m", "hosts": ["127.0.0.2:8080"] },
              { "audience": "https://sts.test/subject", "hosts": ["127.0.0.2:8080"],
                "exchange": { "token_endpoint": "https://127.0.0.8:8443/token", "audience": "//iam.test/pools/p",
                              "scope": "read", "ca_file": "../ds.crt" } },
              { "audience": "api://AzureADTokenExchange", "hosts": ["127.0.0.2:8080"],
                "exchange": { "token_endpoint": "https://127.0.0.8:8443/token", "form": "client-assertion",
                              "client_id": "entra-client", "scope": "https://graph.test/.default", "ca_file": "../ds.crt" } },
              { "audience": "https://sts.test/other-target", "hosts": ["127.0.0.2:8080"],
                "exchange": { "token_endpoint": "https://127.0.0.8:8443/token", "audience": "//iam.test/pools/other",
                              "ca_file": "../ds.crt" } },
              { "audience": "https://sts.test/down", "hosts": ["127.0.0.2:8080"],
                "exchange": { "token_endpoint": "https://127.0.0.9:8443/token", "ca_file": "../ds.crt" } } ] } }
JSON
cat >"$WORK/policies/e2e.json" <<JSON
{ "apiVersion": "mcpfence/v1", "kind": "EgressPolicy", "metadata": { "name": "e2e" },
  "spec": { "egress": [ { "to": ["127.0.0.6", "127.0.0.7"], "ports": ["8443"], "protocol": "tcp" } ],
            "credentials": [ { "audience": "https://127.0.0.6:8443" } ] } }
JSON
cat >"$WORK/policies/c.json" <<JSON
{ "apiVersion": "mcpfence/v1", "kind": "EgressPolicy", "metadata": { "name": "static-c" },
  "spec": { "egress": [ { "to": ["127.0.0.4"], "ports": ["9000"], "protocol": "tcp" } ],
            "credentials": [ { "audience": "https://127.0.0.4:9000" } ] } }
JSON

# --- the coupling: a credential only for a host the same policy's egress reaches
cat >"$WORK/bad.json" <<JSON
{ "apiVersion": "mcpfence/v1", "kind": "EgressPolicy", "metadata": { "name": "bad" },
  "spec": { "egress": [ { "to": ["127.0.0.2"], "ports": ["8080"], "protocol": "tcp" } ],
            "credentials": [ { "audience": "https://127.0.0.9" }, { "audience": "api://x", "hosts": ["127.0.0.2:8081"] },
                             { "audience": "https://127.0.0.2:8080" } ] } }
JSON
out=$("$MCPF" policy check "$WORK/bad.json" 2>&1); rc=$?
check "credentials: policy check refuses an audience its egress cannot reach" 1 "$rc"
echo "$out" | grep -q "bad.json: spec.credentials\[0\]: 127.0.0.9 port 443 is not reachable" &&
	echo "$out" | grep -q "spec.credentials\[1\].hosts\[0\]: 127.0.0.2 port 8081 is not reachable" &&
	! echo "$out" | grep -q "credentials\[2\]" &&
	pass "credentials: ... naming file and JSON path, and only the unreachable ones" ||
	fail "credentials: policy check said: $out"
check "credentials: the same policy's reachable credentials pass (control)" 0 \
	"$("$MCPF" policy check "$WORK/policies/a.json" "$WORK/policies/c.json" >/dev/null 2>&1; echo $?)"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=downstream \
	-addext "subjectAltName=IP:127.0.0.6,IP:127.0.0.7,IP:127.0.0.3,IP:127.0.0.8" -keyout "$WORK/ds.key" -out "$WORK/ds.crt" 2>/dev/null
agent_start || { fail "credentials: agent start"; exit 1; }
"$MCPF" issuer export "$WORK/pub" --config "$CONFIG" >/dev/null || fail "credentials: issuer export"
check "credentials: signing keys are private to the agent (0700 directory, 0600 keys)" "700 600" \
	"$(stat -c %a "$WORK/issuer-keys") $(stat -c %a "$WORK"/issuer-keys/*.pem | sort -u | tr '\n' ' ' | sed 's/ $//')"
now=$(date +%s)
tok() { jwt_sign RS256 "$WORK/k1.pem" k1 "$(jwt_claims "$ISS" "$1" "$2" "${3:-}")" >"$WORK/$4.jwt"; echo "$WORK/$4.jwt"; }
A=$(tok workload-a 900 '"repository":"acme/mcp-server","environment":"prod","secret_hint":"do-not-pass"' a)
get() { # CGROUP AUDIENCE [more token get options]: the reply as JSON
	local cg=$1 aud=$2
	shift 2
	in_cgroup "$cg" "$MCPF" token get --attest-socket "$ATTEST_SOCK" --audience "$aud" --json "$@" 2>&1
}

# --- an attested workload asks for a credential
in_cgroup wl-a "$MCPF" attest --attest-socket "$ATTEST_SOCK" --token-file "$A" >/dev/null 2>&1 ||
	fail "credentials: attest A"
r=$(get wl-a https://127.0.0.2:8080)
T=$(echo "$r" | jq -r .token)
check "credentials: a bound workload gets a credential for an audience its policy grants" "true" \
	"$(echo "$r" | jq -r .ok)"
claims=$($PY "$CHECK" verify "$WORK/pub" https://127.0.0.2:8080 "$T"); rc=$?
check "credentials: PyJWT and jwcrypto verify it from the exported documents alone" 0 "$rc"
check "credentials: iss, aud (exactly the one asked for), sub (the attested subject)" \
	"$MINT_ISS https://127.0.0.2:8080 workload-a" "$(echo "$claims" | jq -r '"\(.iss) \(.aud) \(.sub)"')"
src_exp=$(jwt_claim "$A" exp)
check "credentials: exp within the policy's lifetime (600 s) and not after the source token's" "yes" \
	"$(echo "$claims" | jq -r --argjson s "$src_exp" --argjson n "$now" \
		'if .exp <= .iat + 600 and .exp <= $s and .exp > $n and .nbf == .iat then "yes" else "no: \(.)" end')"
check "credentials: only the source claims the policy lists, under src; an act claim names the node" \
	'{"environment":"prod","repository":"acme/mcp-server"} true' \
	"$(echo "$claims" | jq -c .src) $(echo "$claims" | jq '.act.sub | length > 0')"
check "credentials: never the source token: no signature of it, no unlisted claim" "ok" \
	"$(grep -qF "$(cut -d. -f3 "$A" | cut -c1-40)" <<<"$T$claims" && echo leaked ||
		(echo "$claims" | grep -q do-not-pass && echo leaked || echo ok))"
T2=$(get wl-a https://127.0.0.2:8080 | jq -r .token)
check "credentials: every credential is fresh (another jti)" "yes" \
	"$([ "$(jwt_claim <(echo "$T2") jti)" != "$(echo "$claims" | jq -r .jti)" ] && echo yes || echo no)"

# --- independent verifiers refuse what they should
out=$($PY "$CHECK" verify "$WORK/pub" https://other.example "$T")
echo "$out" | grep -q InvalidAudience && pass "credentials: PyJWT refuses it for another audience" ||
	fail "credentials: other audience: $out"
out=$($PY "$CHECK" verify "$WORK/pub" https://127.0.0.2:8080 "$T" --later 700)
echo "$out" | grep -q ExpiredSignature && pass "credentials: ... and once expired (clock 700 s on)" ||
	fail "credentials: expired: $out"
payload=$(cut -d. -f2 <<<"$T" | tr -- '-_' '+/' | base64 -d 2>/dev/null | sed 's/workload-a/workload-b/' | jwt_b64)
tampered="$(cut -d. -f1 <<<"$T").$payload.$(cut -d. -f3 <<<"$T")"
out=$($PY "$CHECK" verify "$WORK/pub" https://127.0.0.2:8080 "$tampered")
echo "$out" | grep -qi "signature" && pass "credentials: ... and tampered (sub changed)" ||
	fail "credentials: tampered: $out"
out=$($PY "$CHECK" verify "$WORK/pub" https://127.0.0.2:8080 "$T" --drop-kid)
echo "$out" | grep -q "no key" && pass "credentials: ... and with its key removed from the set" ||
	fail "credentials: key removed: $out"
NODE_DIR="$REPO/build/npm"
if command -v node >/dev/null && { [ -d "$NODE_DIR/node_modules/jose" ] ||
	(mkdir -p "$NODE_DIR" && cd "$NODE_DIR" && timeout 120 npm install --no-audit --no-fund --silent jose@5 >/dev/null 2>&1); }; then
	cp "$REPO/tests/jwtcheck.mjs" "$NODE_DIR/"
	check "credentials: Node jose verifies it too" "workload-a" \
		"$(node "$NODE_DIR/jwtcheck.mjs" "$WORK/pub" https://127.0.0.2:8080 "$T" | jq -r .sub)"
	out=$(node "$NODE_DIR/jwtcheck.mjs" "$WORK/pub" https://other.example "$T")
	echo "$out" | grep -q ERR_JWT_CLAIM_VALIDATION_FAILED && pass "credentials: ... and refuses another audience" ||
		fail "credentials: jose other audience: $out"
	out=$(node "$NODE_DIR/jwtcheck.mjs" "$WORK/pub" https://127.0.0.2:8080 "$tampered")
	echo "$out" | grep -q ERR_JWS_SIGNATURE_VERIFICATION_FAILED && pass "credentials: ... and a tampered one" ||
		fail "credentials: jose tampered: $out"
else
	skip "credentials: Node jose rows: no node, or npm could not install jose into build/npm"
fi

# --- exchanges: the agent trades the minted token at a token endpoint (an independent STS)
$PY "$REPO/tests/sts.py" 127.0.0.8 8443 "$WORK/pub" "https://sts.test/subject,api://AzureADTokenExchange,https://sts.test/other-target" \
	//iam.test/pools/p entra-client "$WORK/ds.crt" "$WORK/ds.key" >"$WORK/sts.out" 2>&1 &
BG_PIDS+=($!)
wait_ready "$WORK/sts.out" || fail "credentials: the STS did not start: $(cat "$WORK/sts.out")"
r=$(get wl-a https://sts.test/subject)
check "credentials: RFC 8693 exchange: the workload gets only the STS's access token and its lifetime" \
	"true sts- true 300 urn:ietf:params:oauth:token-type:access_token" \
	"$(echo "$r" | jq -r '"\(.ok) \(.token[0:4]) \(.exchanged) \(.expires_in) \(.token_type)"')"
r=$(get wl-a api://AzureADTokenExchange)
check "credentials: RFC 7523 client assertion (Entra's form): the same" "true sts-" \
	"$(echo "$r" | jq -r '"\(.ok) \(.token[0:4])"')"
r=$(get wl-a https://sts.test/other-target)
check "credentials: an STS error reaches the workload by its OAuth code" "false invalid_target" \
	"$(echo "$r" | jq -r '"\(.ok) \(.error)"')"
check "credentials: ... with a credential event naming it" 1 \
	"$(wait_events '.type == "credential" and .result == "exchange_failed" and .oauth_error == "invalid_target"' 1)"
r=$(get wl-a https://sts.test/down)
check "credentials: a token endpoint that does not answer: exchange_failed" "false exchange_failed" \
	"$(echo "$r" | jq -r '"\(.ok) \(.error)"')"

# --- a non-URL audience, and an operator binding
r=$(get wl-a api://downstream-b)
check "credentials: a non-URL audience (its hosts reachable) is granted" "api://downstream-b" \
	"$($PY "$CHECK" verify "$WORK/pub" api://downstream-b "$(echo "$r" | jq -r .token)" | jq -r .aud)"
r=$(get static https://127.0.0.4:9000)
check "credentials: an operator-bound cgroup's subject names its policy and cgroup" \
	"mcpfence:static-c:cgroup:/$ROOT_REL/static" \
	"$($PY "$CHECK" verify "$WORK/pub" https://127.0.0.4:9000 "$(echo "$r" | jq -r .token)" | jq -r .sub)"

# --- refusals: a reason each, an event each, no token
refused() { # NAME REASON REPLY
	if [ "$(echo "$3" | jq -r '"\(.ok) \(.error) \(.token)"')" = "false $2 null" ] &&
		[ "$(wait_events '.type == "credential" and .result == "'"$2"'"' 1)" -ge 1 ]; then
		pass "credentials: $1: $2, with a credential event, no token"
	else
		fail "credentials: $1: expected $2, got $3"
	fi
}
refused "an unbound cgroup" not_bound "$(get wl-none https://127.0.0.2:8080)"
refused "a held cgroup" held "$(get held https://127.0.0.2:8080)"
refused "an audience the policy does not grant" audience_not_granted "$(get wl-a https://127.0.0.4:9000)"
refused "another workload's audience from another cgroup" audience_not_granted "$(get wl-a https://127.0.0.4:9000)"
refused "a lifetime over the policy's" lifetime_over_cap "$(get wl-a https://127.0.0.2:8080 --lifetime 7200)"
S=$(tok workload-a 20 "" short)
in_cgroup wl-short "$MCPF" attest --attest-socket "$ATTEST_SOCK" --token-file "$S" >/dev/null 2>&1
refused "a binding that expires within 30 s" binding_expiring "$(get wl-short https://127.0.0.2:8080)"
in_cgroup wl-rate "$MCPF" attest --attest-socket "$ATTEST_SOCK" --token-file "$A" >/dev/null 2>&1
rl=$(in_cgroup wl-rate "$PY" - "$ATTEST_SOCK" <<'PY'
import collections, json, socket, sys
seen = collections.Counter()
for _ in range(60):  # back to back, one connection each
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
    s.sendall(b'{"op": "token", "audience": "https://127.0.0.2:8080"}\n')
    seen[json.loads(s.makefile().readline()).get("error", "ok")] += 1; s.close()
print(" ".join("%s=%d" % kv for kv in sorted(seen.items())))
PY
)
echo "$rl" | grep -q "rate_limited=" && echo "$rl" | grep -q "ok=" &&
	[ "$(wait_events '.type == "credential" and .result == "rate_limited"' 1)" -ge 1 ] &&
	pass "credentials: 60 requests back to back from one cgroup at 20 a second: the first minted, then rate_limited ($rl)" ||
	fail "credentials: rate limit: $rl"
out=$(in_cgroup wl-a "$PY" - "$ATTEST_SOCK" <<'PY'
import json, socket, sys
bad = [{"op": "token"}, {"op": "token", "audience": 7}, {"op": "token", "audience": ""},
       {"op": "token", "audience": "x" * 5000}, {"op": "token", "audience": "https://127.0.0.2:8080", "lifetime": "1h"},
       {"op": "token", "audience": "https://127.0.0.2:8080", "lifetime": -5}, {"op": "token", "audience": ["a"]}]
out = []
for req in bad:
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall((json.dumps(req) + "\n").encode())
    out.append(json.loads(s.makefile().readline()).get("error")); s.close()
print(" ".join(out))
PY
)
check "credentials: malformed requests are refused as malformed" \
	"malformed malformed malformed malformed malformed malformed malformed" "$out"
"$MCPF" status --config "$CONFIG" --json >/dev/null && pass "credentials: the agent is alive after them" ||
	fail "credentials: agent gone"

# --- end to end: a server with no secret calls a downstream with its minted credential
for ds in "127.0.0.6 https://127.0.0.6:8443" "127.0.0.7 https://127.0.0.7:8443" "127.0.0.3 https://127.0.0.3:8443"; do
	set -- $ds
	$PY "$REPO/tests/downstream.py" "$1" 8443 "$2" "$WORK/pub" "$WORK/ds.crt" "$WORK/ds.key" >"$WORK/ds.$1.out" 2>&1 &
	BG_PIDS+=($!)
	wait_ready "$WORK/ds.$1.out" || fail "credentials: downstream $1 did not start"
done
cat >"$WORK/server.sh" <<'SH'
# the MCP server's side: no secret in its environment or files; its credential from mcpfence
env | cut -d= -f1 | grep -iE 'token|secret|key|pass' && echo "SECRET IN ENV"
cat "$IDIR"/*.pem >/dev/null 2>&1 && echo "KEYS READABLE" # hidden under a tmpfs
t=$("$MCPF" token get --attest-socket "$SOCKP" --audience https://127.0.0.6:8443) || exit 3
for u in https://127.0.0.6:8443/ https://127.0.0.7:8443/; do
	curl -s --cacert "$CA" -H "Authorization: Bearer $t" -o /dev/null -w "%{http_code} " "$u"
done
curl -s --cacert "$CA" -H "Authorization: Bearer $t" --max-time 5 https://127.0.0.3:8443/ -o /dev/null; echo "curl=$?"
SH
out=$(env -i PATH="$PATH" MCPF="$MCPF" SOCKP="$ATTEST_SOCK" CA="$WORK/ds.crt" IDIR="$WORK/issuer-keys" \
	"$MCPF" run --config "$CONFIG" --policy e2e -- bash "$WORK/server.sh" 2>&1)
check "credentials: end to end under run (no secret in its environment, the signing keys hidden from it): its own downstream accepts (200), another refuses the same token (401), a host outside the policy is denied by the kernel (curl 7)" \
	"200 401 curl=7" "$out"
check "credentials: ... and the downstream saw the workload's subject" 1 \
	"$(wait_events '.type == "credential" and .result == "ok" and .policy == "e2e" and .audience == "https://127.0.0.6:8443"' 1)"
out=$(curl -s --cacert "$WORK/ds.crt" -o /dev/null -w "%{http_code}" https://127.0.0.3:8443/)
check "credentials: ... the denied host answers outside the fence (control: 401 without a token)" 401 "$out"

# --- metrics: per policy, audience and result; the audience only where a policy grants it
m=$(curl -s --unix-socket "$WORK/metrics.sock" http://agent/metrics)
check "credentials: metrics count by policy, audience and result" "ok ok ok" \
	"$(echo "$m" | grep -q '^mcpfence_credentials_total{policy="creds-a",audience="https://127.0.0.2:8080",result="ok"} [1-9]' && echo ok)\
 $(echo "$m" | grep -q '^mcpfence_credentials_total{policy="creds-a",audience="",result="audience_not_granted"} 2$' && echo ok)\
 $(echo "$m" | grep -q '^mcpfence_issuer_key_age_seconds{kid="[A-Za-z0-9_-]*",signing="true"} [0-9]' && echo ok)"

served=$(curl -s --unix-socket "$WORK/metrics.sock" http://agent/.well-known/jwks.json | jq -c '[.keys[].kid]')
check "credentials: the agent serves its key set and discovery document beside the metrics (for a TLS proxy)" \
	"$(jq -c '[.keys[].kid]' "$WORK/pub/.well-known/jwks.json") $MINT_ISS" \
	"$served $(curl -s --unix-socket "$WORK/metrics.sock" http://agent/.well-known/openid-configuration | jq -r .issuer)"

# --- credentials kept in files for long-running servers
mkdir -p "$WORK/creds"
in_cgroup wl-file "$MCPF" attest --attest-socket "$ATTEST_SOCK" --token-file "$A" \
	--credential "https://127.0.0.2:8080=$WORK/creds/a.jwt" >/dev/null 2>&1
check "credentials: attest --credential AUD=PATH writes a credential for AUD to PATH" "workload-a" \
	"$($PY "$CHECK" verify "$WORK/pub" https://127.0.0.2:8080 "$(cat "$WORK/creds/a.jwt" 2>/dev/null)" | jq -r .sub)"
cp "$A" "$WORK/watched.jwt"
in_cgroup wl-watch "$MCPF" attest --watch --attest-socket "$ATTEST_SOCK" --token-file "$WORK/watched.jwt" \
	--credential "api://downstream-b=$WORK/creds/b.jwt" >"$WORK/watch.out" 2>&1 &
BG_PIDS+=($!)
wait_for 10 test -s "$WORK/creds/b.jwt" || fail "credentials: --watch wrote no credential"
jti1=$(jwt_claim "$WORK/creds/b.jwt" jti)
tok workload-a 900 '"repository":"acme/mcp-server"' rotated >/dev/null
mv "$WORK/rotated.jwt" "$WORK/watched.jwt" # the kubelet's way: a rename over the old file
wait_for 15 eval '[ "$(jwt_claim "$WORK/creds/b.jwt" jti)" != "$jti1" ]'
check "credentials: attest --watch replaces the file (atomically, a rename) when the binding is renewed" "api://downstream-b yes" \
	"$($PY "$CHECK" verify "$WORK/pub" api://downstream-b "$(cat "$WORK/creds/b.jwt")" | jq -r .aud) $([ "$(jwt_claim "$WORK/creds/b.jwt" jti)" != "$jti1" ] && echo yes || echo no)"
mkdir -p "$WORK/run-creds"
out=$("$MCPF" run --config "$CONFIG" --policy static-c --credential "https://127.0.0.4:9000=$WORK/run-creds/c.jwt" -- \
	bash -c 'cat "$0"; ls -A "$(dirname "$0")"' "$WORK/run-creds/c.jwt" 2>&1)
check "credentials: run --credential: the command finds its credential at start" "mcpfence:static-c" \
	"$($PY "$CHECK" verify "$WORK/pub" https://127.0.0.4:9000 "$(echo "$out" | head -1)" | jq -r .sub | cut -d: -f1,2)"
check "credentials: ... in a private tmpfs: the host's directory stays empty" "c.jwt|" \
	"$(echo "$out" | tail -1)|$(ls -A "$WORK/run-creds")"

# --- status shows the keys; they survive a restart
kid=$("$MCPF" status --config "$CONFIG" --json | jq -r '.agent.issuer.keys[] | select(.signing) | .kid')
check "credentials: status names the signing key (the exported set's)" "$(jq -r '.keys[0].kid' "$WORK/pub/.well-known/jwks.json")" "$kid"
agent_stop || { fail "credentials: the agent exits cleanly (no sanitizer report)"
	grep -E -A25 "ERROR: |runtime error|LeakSanitizer" "$WORK/agent.log" | head -60; }
agent_start || fail "credentials: agent restart"
in_cgroup wl-a "$MCPF" attest --attest-socket "$ATTEST_SOCK" --token-file "$A" >/dev/null 2>&1
T3=$(get wl-a https://127.0.0.2:8080 | jq -r .token)
check "credentials: after a restart the same key signs, and the old export still verifies" "$kid workload-a" \
	"$("$MCPF" status --config "$CONFIG" --json | jq -r '.agent.issuer.keys[] | select(.signing) | .kid') $($PY "$CHECK" verify "$WORK/pub" https://127.0.0.2:8080 "$T3" | jq -r .sub)"
grep -qF "$(cut -d. -f3 <<<"$T3")" "$EVENTS" "$WORK/agent.log" && fail "credentials: a minted token was logged" ||
	pass "credentials: no minted token is ever logged"
agent_stop || fail "credentials: the agent exits cleanly after the restart"
