#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Keys from a real HTTPS issuer on loopback: OIDC discovery with peer verification against a
# CA from the config, issuer and host pinning, size limit, key rotation without a restart, the
# unknown-kid refetch limit (1000 random kids, at most one fetch a window), last-good fallback.
source "$(dirname "$0")/lib.sh"
[ -n "${MCPF_VMTEST:-}" ] && { skip "$(basename "$0" .sh): kernel-independent (key fetching over HTTPS), run on the host only"; exit 0; }
source "$REPO/scripts/jwt.sh"

PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
SRV="$WORK/srv"
mkdir -p "$SRV"
# a CA, and a server certificate for 127.0.0.1 signed by it
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/ca.key" \
	-out "$WORK/ca.pem" -subj /CN=mcpfence-test-ca -days 1 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/srv.key" \
	-out "$WORK/srv.csr" -subj /CN=127.0.0.1 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >"$WORK/san.ext"
openssl x509 -req -in "$WORK/srv.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" -CAcreateserial \
	-out "$WORK/srv.pem" -days 1 -extfile "$WORK/san.ext" 2>/dev/null
jwt_keygen RS256 "$WORK/k1.pem"
jwt_keygen RS256 "$WORK/k2.pem"
"$PY" "$REPO/tests/issuer_server.py" "$SRV" "$WORK/srv.pem" "$WORK/srv.key" >"$WORK/srv.out" 2>&1 &
BG_PIDS+=($!)
wait_ready "$WORK/srv.out"
grep -q READY "$WORK/srv.out" || { fail "discovery: the test issuer did not start: $(cat "$WORK/srv.out")"; exit 1; }
PORT=$(awk '/READY/ { print $2 }' "$WORK/srv.out")
ISS="https://127.0.0.1:$PORT"
printf '{"issuer":"%s","jwks_uri":"%s/jwks.json"}' "$ISS" "$ISS" >"$SRV/openid-configuration"
echo "{\"keys\":[$(jwt_jwk RS256 "$WORK/k1.pem" k1)]}" >"$SRV/jwks.json"
hits() { grep -c "^$1" "$SRV/hits.log" 2>/dev/null; true; }

trust() { # EXTRA issuer members
	printf '{"issuers":[{"issuer":"%s","discovery":true,"ca_file":"%s"%s}]}' "$ISS" "$WORK/ca.pem" "${1:+,$1}" >"$WORK/trust.json"
}
tok() { jwt_sign RS256 "$WORK/$1.pem" "$1" "$(jwt_claims "$ISS" "${2:-workload-a}" 600)"; }
verify() { "$MCPF" token verify --json --trust "$WORK/trust.json" "$1" | jq -r 'if .valid then "ok" else .error end'; }

trust
check "discovery: a token verifies with keys from discovery over HTTPS" ok "$(verify "$(tok k1)")"
check "discovery: one discovery document and one JWKS fetched" "1 1" \
	"$(hits /.well-known) $(hits /jwks.json)"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/other.key" \
	-out "$WORK/other-ca.pem" -subj /CN=another-ca -days 1 2>/dev/null
printf '{"issuers":[{"issuer":"%s","discovery":true,"ca_file":"%s"}]}' "$ISS" "$WORK/other-ca.pem" >"$WORK/trust.json"
check "discovery: a CA that did not sign the issuer's certificate: keys unavailable" keys_unavailable "$(verify "$(tok k1)")"
out=$("$MCPF" token verify --trust "$WORK/trust.json" "$(tok k1)")
echo "$out" | grep -qi "certificate" && pass "discovery: ... and the detail names the certificate problem" ||
	fail "discovery: TLS detail: $out"
trust
printf '{"issuer":"%s/","jwks_uri":"%s/jwks.json"}' "$ISS" "$ISS" >"$SRV/openid-configuration"
check "discovery: a document naming another issuer (trailing slash) is refused" keys_unavailable "$(verify "$(tok k1)")"
printf '{"issuer":"%s","jwks_uri":"https://localhost:%s/jwks.json"}' "$ISS" "$PORT" >"$SRV/openid-configuration"
check "discovery: a jwks_uri on another host is refused" keys_unavailable "$(verify "$(tok k1)")"
printf '{"issuer":"%s","jwks_uri":"%s/big.json"}' "$ISS" "$ISS" >"$SRV/openid-configuration"
head -c $((70 << 10)) /dev/zero | tr '\0' ' ' >"$SRV/big.json"
check "discovery: a key set over 64 KiB is refused" keys_unavailable "$(verify "$(tok k1)")"
printf '{"issuer":"%s","jwks_uri":"%s/jwks.json"}' "$ISS" "$ISS" >"$SRV/openid-configuration"
check "discovery: a token by a key the issuer does not publish: key_not_found" key_not_found "$(verify "$(tok k2)")"

# --- the agent: rotation, refetch limit, last-good fallback
ATTEST_SOCK="$WORK/attest.sock"
write_config '"attest_socket": "'"$ATTEST_SOCK"'", "trust": '"$(cat "$WORK/trust.json")"
cat >"$WORK/policies/a.json" <<JSON
{ "apiVersion": "mcpfence/v1", "kind": "EgressPolicy", "metadata": { "name": "a" },
  "spec": { "identity": { "issuer": "$ISS", "subject": "workload-a" },
            "egress": [ { "to": ["127.0.0.2"], "ports": ["8080"], "protocol": "tcp" } ] } }
JSON
: >"$SRV/hits.log"
agent_start || { fail "discovery: agent start"; exit 1; }
attest() { # TOKEN_FILE -> ok or the error name
	in_cgroup "${2:-wl}" "$MCPF" attest --json --attest-socket "$ATTEST_SOCK" --token-file "$1" 2>/dev/null |
		jq -r 'if .ok then "ok" else .error end'
}
tok k1 >"$WORK/k1.jwt"
check "discovery: the agent attests a token with fetched keys" ok "$(attest "$WORK/k1.jwt" wl1)"
base=$(hits /jwks.json)
echo "{\"keys\":[$(jwt_jwk RS256 "$WORK/k1.pem" k1),$(jwt_jwk RS256 "$WORK/k2.pem" k2)]}" >"$SRV/jwks.json"
tok k2 >"$WORK/k2.jwt"
check "discovery: key rotation: a token by a new kid makes the running agent refetch" ok \
	"$(attest "$WORK/k2.jwt" wl2)"
check "discovery: ... with exactly one more JWKS fetch" $((base + 1)) "$(hits /jwks.json)"
# 1000 tokens with random kids: the refetch happened just now, so no more fetches this window
in_cgroup wl-random "$PY" - "$ATTEST_SOCK" "$ISS" >"$WORK/random.out" <<'PY'
import base64, json, os, socket, sys
b = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()
results = {}
for i in range(1000):
    tok = b({"alg": "RS256", "kid": os.urandom(8).hex()}) + "." + b({"iss": sys.argv[2], "sub": "x", "aud": "mcpfence", "exp": 9999999999}) + ".AAAA"
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
    s.sendall((json.dumps({"op": "attest", "token": tok}) + "\n").encode())
    r = json.loads(s.makefile().readline()); s.close()
    results[r.get("error", "ok")] = results.get(r.get("error", "ok"), 0) + 1
print(json.dumps(results))
PY
check "discovery: 1000 tokens with random kids are refused as key_not_found" '{"key_not_found": 1000}' \
	"$(cat "$WORK/random.out")"
check "discovery: ... and cause no fetch within the 30 s window" $((base + 1)) "$(hits /jwks.json)"
touch "$SRV/fail"
check "discovery: the issuer fails: the last good key set stays in use" ok "$(attest "$WORK/k1.jwt" wl3)"
rm -f "$SRV/fail"
agent_stop && pass "discovery: agent exits cleanly (no sanitizer report)" || fail "discovery: agent exit status $?"
