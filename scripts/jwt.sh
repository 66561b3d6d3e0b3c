# SPDX-License-Identifier: MIT
# Mint JWKs and JWTs with the openssl command line, for the tests and the demo (test issuers
# only: a real issuer is Kubernetes, GitHub or SPIRE). Sourced, not run.

jwt_b64() { basenc --base64url -w0 | tr -d '='; }

# jwt_keygen ALG FILE: RS256 (RSA 2048) or EdDSA (Ed25519) private key in PEM
jwt_keygen() {
	case "$1" in
	RS256) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$2" 2>/dev/null ;;
	EdDSA) openssl genpkey -algorithm ED25519 -out "$2" 2>/dev/null ;;
	*) echo "jwt_keygen: $1 not supported here" >&2; return 1 ;;
	esac
}

# jwt_jwk ALG FILE KID: the public JWK of a key
jwt_jwk() {
	local n x
	case "$1" in
	RS256)
		n=$(openssl rsa -in "$2" -noout -modulus 2>/dev/null | cut -d= -f2 | xxd -r -p | jwt_b64)
		printf '{"kty":"RSA","kid":"%s","alg":"RS256","use":"sig","n":"%s","e":"AQAB"}' "$3" "$n" ;;
	EdDSA)
		x=$(openssl pkey -in "$2" -pubout -outform DER 2>/dev/null | tail -c 32 | jwt_b64)
		printf '{"kty":"OKP","crv":"Ed25519","kid":"%s","alg":"EdDSA","x":"%s"}' "$3" "$x" ;;
	esac
}

# jwt_sign ALG FILE KID CLAIMS_JSON: a compact JWS
jwt_sign() {
	local hdr input sig tmp
	hdr=$(printf '{"alg":"%s","kid":"%s","typ":"JWT"}' "$1" "$3" | jwt_b64)
	input="$hdr.$(printf '%s' "$4" | jwt_b64)"
	case "$1" in
	RS256) sig=$(printf '%s' "$input" | openssl dgst -sha256 -sign "$2" | jwt_b64) ;;
	EdDSA)
		tmp=$(mktemp)
		printf '%s' "$input" >"$tmp"
		sig=$(openssl pkeyutl -sign -rawin -inkey "$2" -in "$tmp" | jwt_b64)
		rm -f "$tmp" ;;
	esac
	printf '%s.%s' "$input" "$sig"
}

# jwt_claim TOKEN_FILE NAME: one claim of a token's payload (unverified: for tests only)
jwt_claim() {
	local p
	p=$(cut -d. -f2 "$1")
	while [ $((${#p} % 4)) -ne 0 ]; do p="$p="; done
	printf '%s' "$p" | basenc --base64url -d | jq -r ".$2"
}

# jwt_claims ISS SUB LIFETIME_S [EXTRA_JSON_MEMBERS]
jwt_claims() {
	local now
	now=$(date +%s)
	printf '{"iss":"%s","aud":"mcpfence","sub":"%s","iat":%d,"exp":%d%s}' "$1" "$2" "$now" \
		$((now + $3)) "${4:+,$4}"
}
