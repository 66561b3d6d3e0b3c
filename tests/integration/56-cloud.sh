#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Cloud workload identities on their real shapes: Entra ID (v1.0 and v2.0 issuers of a tenant),
# Google (keys on www.googleapis.com, the full-format compute token) and AWS outbound identity
# federation (an account issuer, ES384, three audiences, context under a URL-named claim).
# Claims from the providers' published examples (tests/cloud/ORIGIN.md) are re-signed by an
# independent signer (python3-jwcrypto); the key servers answer at the providers' own host
# names and paths over HTTPS (tests/cloud/idp.py), which a private /etc/hosts points at a
# loopback address. Accepted with the presets, refused without them where today's defaults
# refuse, every near miss named; then attestation end to end under `mcpfence run`.
source "$(dirname "$0")/lib.sh"
# token shapes and key locations do not depend on the kernel; binding does, and 50-identity
# covers it on every kernel
[ -n "${MCPF_VMTEST:-}" ] && { skip "$(basename "$0" .sh): kernel-independent (token shapes, key servers), run on the host only"; exit 0; }

PY=/usr/bin/python3
CLOUD="$REPO/tests/cloud"
SIGN=("$PY" "$CLOUD/sign.py")
TID=72f988bf-86f1-41af-91ab-2d7cd011db47
ENTRA_V2="https://login.microsoftonline.com/$TID/v2.0"
ENTRA_V1="https://sts.windows.net/$TID/"
ENTRA_AUD=6e74172b-be56-4843-9ff4-e66a39bb12e3
AWS_HOST=abc123-def456-ghi789-jkl012.tokens.sts.global.api.aws
AWS_ISS="https://$AWS_HOST"
IDP=127.0.9.1
"$PY" -c 'import jwcrypto' 2>/dev/null || { fail "cloud: python3-jwcrypto is missing (scripts/install-deps.sh installs it)"; exit 0; }

# --- the providers' key servers, at their own names
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/ca.key" \
	-out "$WORK/ca.pem" -subj /CN=mcpfence-cloud-test-ca -days 1 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/idp.key" \
	-out "$WORK/idp.csr" -subj /CN=login.microsoftonline.com 2>/dev/null
printf 'subjectAltName=DNS:login.microsoftonline.com,DNS:sts.windows.net,DNS:accounts.google.com,DNS:www.googleapis.com,DNS:%s\n' \
	"$AWS_HOST" >"$WORK/san.ext"
openssl x509 -req -in "$WORK/idp.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" -CAcreateserial \
	-out "$WORK/idp.pem" -days 1 -extfile "$WORK/san.ext" 2>/dev/null
cp -r "$CLOUD/www" "$WORK/www"
mkdir -p "$WORK/keys" "$WORK/www/login.microsoftonline.com/$TID/discovery/v2.0" \
	"$WORK/www/www.googleapis.com/oauth2/v3"
"${SIGN[@]}" keys "$WORK/keys"
cp "$WORK/keys/rsa.jwks" "$WORK/www/login.microsoftonline.com/$TID/discovery/v2.0/keys"
cp "$WORK/keys/rsa.jwks" "$WORK/www/login.microsoftonline.com/$TID/discovery/keys"
cp "$WORK/keys/rsa.jwks" "$WORK/www/www.googleapis.com/oauth2/v3/certs"
cp "$WORK/keys/aws.jwks" "$WORK/www/$AWS_HOST/.well-known/jwks.json"
printf '127.0.0.1 localhost\n%s login.microsoftonline.com sts.windows.net accounts.google.com www.googleapis.com %s\n' \
	"$IDP" "$AWS_HOST" >"$WORK/hosts"
"$PY" "$CLOUD/idp.py" "$WORK/www" "$IDP" "$WORK/idp.pem" "$WORK/idp.key" >"$WORK/idp.out" 2>&1 &
BG_PIDS+=($!)
wait_ready "$WORK/idp.out" || { fail "cloud: the key servers did not start: $(cat "$WORK/idp.out")"; exit 1; }

# with_hosts CMD...: CMD with the providers' names pointing at the stand-in (its own mounts)
with_hosts() { unshare -m sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' "$WORK/hosts" "$@"; }
tok() { "${SIGN[@]}" sign "$WORK/keys" "$@"; } # ALG FIXTURE [NAME=JSON]...
# verify TRUST TOKEN: "ok", or the error and its detail
verify() {
	with_hosts "$MCPF" token verify --json --trust "$WORK/$1.json" "$2" |
		jq -r 'if .valid then "ok" else .error + ": " + (.detail // "") end'
}
trust() { # NAME ENTRY...
	local name=$1
	shift
	(IFS=,; printf '{"issuers":[%s]}\n' "$*") >"$WORK/$name.json"
}
CA='"ca_file":"'"$WORK/ca.pem"'"'
trust presets '{"preset":"entra","tenant":"'$TID'","audience":"'$ENTRA_AUD'",'"$CA"'}' \
	'{"preset":"entra","tenant":"'$TID'","token_version":1,"audience":"api://mcpfence",'"$CA"'}' \
	'{"preset":"google","audience":"https://mcpfence.example",'"$CA"'}' \
	'{"preset":"aws","issuer":"'$AWS_ISS'","audience":"https://api.example.com","max_audiences":3,'"$CA"'}'
trust v2only '{"preset":"entra","tenant":"'$TID'","audience":"'$ENTRA_AUD'",'"$CA"'}'
trust aws1 '{"preset":"aws","issuer":"'$AWS_ISS'","audience":"https://api.example.com",'"$CA"'}'
# what a user writes without presets, with today's defaults
trust plain '{"issuer":"'$ENTRA_V2'","jwks_uri":"https://login.microsoftonline.com/'$TID'/discovery/v2.0/keys","audience":"'$ENTRA_AUD'",'"$CA"'}' \
	'{"issuer":"https://accounts.google.com","discovery":true,"audience":"https://mcpfence.example",'"$CA"'}' \
	'{"issuer":"'$AWS_ISS'","discovery":true,"audience":"https://api.example.com","algorithms":["RS256"],'"$CA"'}'

E2=$(tok RS256 "$CLOUD/entra-v2.json" life=5400)
E1=$(tok RS256 "$CLOUD/entra-v1.json" life=5400)
G=$(tok RS256 "$CLOUD/google.json" life=3600)
GB=$(tok RS256 "$CLOUD/google.json" life=3600 'iss="accounts.google.com"')
A3=$(tok RS256 "$CLOUD/aws.json" 'aud=["https://a.example","https://api.example.com","https://c.example"]')
A384=$(tok ES384 "$CLOUD/aws.json")

# --- Entra ID
check "cloud: entra: a 90-minute v2.0 app token verifies under preset entra" ok "$(verify presets "$E2")"
check "cloud: entra: ... with keys from the tenant's own path" 1 \
	"$(grep -c "^login.microsoftonline.com /$TID/discovery/v2.0/keys$" "$WORK/www/hits.log")"
got=$(verify plain "$E2")
check "cloud: entra: ... and is refused under a plain entry's 1-hour cap" lifetime_too_long "${got%%:*}"
[[ "$got" == *"preset entra sets max_lifetime 90m"* ]] && pass "cloud: entra: ... the refusal names the preset" ||
	fail "cloud: entra: lifetime detail: $got"
check "cloud: entra: a 90-minute v1.0 token verifies under token_version 1" ok "$(verify presets "$E1")"
got=$(verify v2only "$E1")
check "cloud: entra: a v1.0 token where only v2.0 is configured is refused" unknown_issuer "${got%%:*}"
[[ "$got" == *"Entra ID's v1.0 issuer for tenant $TID"*"token_version 1"* ]] &&
	pass "cloud: entra: ... and the near miss is named (version, tenant, the setting)" || fail "cloud: entra: near miss: $got"

# --- Google
check "cloud: google: a full-format compute token verifies under preset google" ok "$(verify presets "$G")"
check "cloud: google: ... its keys came from www.googleapis.com after discovery on accounts.google.com" "1 1" \
	"$(grep -c '^accounts.google.com /.well-known/openid-configuration$' "$WORK/www/hits.log") $(grep -c '^www.googleapis.com /oauth2/v3/certs$' "$WORK/www/hits.log")"
got=$(verify plain "$G")
check "cloud: google: a plain discovery entry refuses keys on another host" keys_unavailable "${got%%:*}"
[[ "$got" == *"jwks_uri"*"www.googleapis.com"* ]] && pass "cloud: google: ... naming the key location" ||
	fail "cloud: google: detail: $got"
check "cloud: google: iss accounts.google.com (without https://) is Google's issuer under the preset" ok "$(verify presets "$GB")"

# --- AWS
check "cloud: aws: three audiences with principal_tags verify where max_audiences allows 3" ok "$(verify presets "$A3")"
check "cloud: aws: ... discovery and keys at the account issuer's well-known paths" "1 1" \
	"$(grep -c "^$AWS_HOST /.well-known/openid-configuration$" "$WORK/www/hits.log") $(grep -c "^$AWS_HOST /.well-known/jwks.json$" "$WORK/www/hits.log")"
got=$(verify aws1 "$A3")
check "cloud: aws: ... and are refused under the preset's default of 1" bad_audience "${got%%:*}"
[[ "$got" == *"names 3 audiences"*"max_audiences"* ]] && pass "cloud: aws: ... naming max_audiences" || fail "cloud: aws: detail: $got"
check "cloud: aws: an ES384 token verifies under preset aws" ok "$(verify presets "$A384")"
got=$(verify plain "$A384")
check "cloud: aws: ... and an RS256-only entry names the preset" "alg_not_allowed yes" \
	"${got%%:*} $([[ "$got" == *"preset aws takes both"* ]] && echo yes)"

# --- policies against the trust: near misses by name, shared issuers
write_config '"attest_socket": "'"$WORK/attest.sock"'", "trust": '"$(cat "$WORK/presets.json")"
policy() { # NAME IDENTITY DST
	cat >"$WORK/policies/$1.json" <<JSON
{ "apiVersion": "mcpfence/v1", "kind": "EgressPolicy", "metadata": { "name": "$1" },
  "spec": { "identity": $2, "egress": [ { "to": ["$3"], "ports": ["8080"], "protocol": "tcp" } ] } }
JSON
}
mkdir -p "$WORK/bad"
cat >"$WORK/bad/v1.json" <<JSON
{ "apiVersion": "mcpfence/v1", "kind": "EgressPolicy", "metadata": { "name": "v1" },
  "spec": { "identity": { "issuer": "$ENTRA_V1", "claims": { "oid": "690222be-ff1a-4d56-abd1-7e4f7d38e474" } }, "egress": [] } }
JSON
got=$("$MCPF" policy check --trust "$WORK/v2only.json" "$WORK/bad/v1.json" 2>&1)
[[ "$got" == *"spec.identity.issuer"*"Entra ID's v1.0 issuer"* ]] &&
	pass "cloud: policy check --trust names a policy's v1.0 issuer where v2.0 is trusted" || fail "cloud: policy check: $got"
policy entra-mcp '{ "issuer": "'$ENTRA_V2'", "audience": "'$ENTRA_AUD'",
  "claims": { "tid": "'$TID'", "oid": "690222be-ff1a-4d56-abd1-7e4f7d38e474", "roles": "Egress.Use" } }' 127.0.0.2
policy google-mcp '{ "issuer": "https://accounts.google.com", "audience": "https://mcpfence.example",
  "claims": { "email": "github-mcp@mcp-prod.iam.gserviceaccount.com", "google.compute_engine.project_id": "mcp-prod" } }' 127.0.0.3
policy aws-mcp '{ "issuer": "'$AWS_ISS'", "subject": "arn:aws:iam::123456789012:role/DataProcessingRole",
  "claims": { "['"'"'https://sts.amazonaws.com/'"'"'].aws_account": "123456789012",
              "['"'"'https://sts.amazonaws.com/'"'"'].principal_tags.team": "data-engineering" } }' 127.0.0.4
check "cloud: the three policies pass policy check against the preset trust" 0 \
	"$("$MCPF" policy check --trust "$WORK/presets.json" "$WORK/policies" >/dev/null 2>&1; echo $?)"

# --- attestation end to end: each provider's token selects its own allowlist
# exec all the way down: $! is the agent itself, which agent_stop signals and waits for
unshare -m sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' "$WORK/hosts" "$MCPF" agent --config "$CONFIG" >>"$WORK/agent.log" 2>&1 &
AGENT_PID=$!
wait_for 10 eval '"$MCPF" status --config "$CONFIG" --json 2>/dev/null | grep -q "\"running\": true"' ||
	{ fail "cloud: agent did not start: $(tail -5 "$WORK/agent.log")"; exit 1; }
listen 127.0.0.2 8080 && listen 127.0.0.3 8080 && listen 127.0.0.4 8080 || exit 1
run_as() { # TOKEN DST
	echo "$1" >"$WORK/t.jwt"
	"$MCPF" run --config "$CONFIG" --token-file "$WORK/t.jwt" -- "$NETPROBE" tcp "$2" 8080 2>&1
}
G1=$(tok RS256 "$CLOUD/google.json" life=3600)
for row in "entra E2 127.0.0.2 127.0.0.3" "google G1 127.0.0.3 127.0.0.4" "aws(ES384) A384 127.0.0.4 127.0.0.2"; do
	read -r who var mine other <<<"$row"
	check "cloud: run: a $who token reaches its policy's destination" OK "$(run_as "${!var}" "$mine")"
	check "cloud: run: ... and not another provider's" EPERM "$(run_as "${!var}" "$other")"
done
check "cloud: run: each attestation bound its own policy" "aws-mcp entra-mcp google-mcp" \
	"$(jq -r 'select(.type == "attest" and .result == "ok") | .policy' "$EVENTS" | sort -u | xargs)"
WRONG=$(tok RS256 "$CLOUD/entra-v2.json" life=5400 'roles=["Reader"]')
check "cloud: run: an Entra token without the Egress.Use role binds nothing" 1 \
	"$(run_as "$WRONG" 127.0.0.2 | grep -c 'no_matching_policy')"
agent_stop || fail "cloud: the agent exited uncleanly"
