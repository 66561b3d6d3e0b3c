/* SPDX-License-Identifier: MIT */
/*
 * Compact JWS: parsing with the checklist's limits (shape, strict base64url, duplicate-free
 * JSON, allowed header members), key selection from a JWK set by exact kid, and signature
 * verification on OpenSSL 3 EVP for RS*, PS*, ES* and EdDSA. Returns enum verify_error.
 */
#ifndef MCPFENCE_JWS_H
#define MCPFENCE_JWS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jwk.h"
#include "verify_error.h"

#define JWS_TOKEN_MAX 16384
#define JWS_HEADER_MAX 2048
#define JWS_JSON_DEPTH_MAX 16
#define JWS_HEADER_MEMBERS_MAX 64
#define JWS_CLAIMS_MAX 256

enum jws_alg {
	JWS_ALG_NONE = -1,
	JWS_RS256 = 0, JWS_RS384, JWS_RS512,
	JWS_PS256, JWS_PS384, JWS_PS512,
	JWS_ES256, JWS_ES384, JWS_ES512,
	JWS_EDDSA,
	JWS_ALG_MAX,
};

struct jws {
	json_t *header;
	json_t *payload;
	const char *signing_input; /* points into the token: "header.payload" */
	size_t signing_input_len;
	uint8_t *sig;
	size_t sig_len;
	enum jws_alg alg;
	const char *kid; /* borrowed from header, NULL if absent */
};

const char *jws_alg_name(enum jws_alg alg);
enum jws_alg jws_alg_from_name(const char *name);

/* Shape, base64url, JSON, header members and algorithm. `jwt`: the payload must be a JSON
 * object of claims (else it is only decoded: the signature layer alone). On success `out`
 * owns the parsed parts. */
int jws_parse(const char *token, size_t len, bool jwt, struct jws *out);
/* typ: the issuer's value if it names one, else absent, "JWT" or "JOSE". */
int jws_check_typ(const struct jws *j, const char *typ);
void jws_clear(struct jws *j);

/* Rule 7: the key for this token from a set, by exact kid. */
int jws_select_key(const struct jws *j, const struct jwks *set, const struct jwk **ret);
/* The signature primitive: exactly 1 from EVP_DigestVerify, after the length checks. */
int jws_signature_verify(enum jws_alg alg, EVP_PKEY *key, const uint8_t *msg, size_t msg_len,
			 const uint8_t *sig, size_t sig_len);
/* Whether a key's type and curve fit an algorithm. */
int jws_key_fits(enum jws_alg alg, const struct jwk *k);

/* Signature layer only: parse, select, verify (for `mcpfence jws verify` and conformance). */
int jws_verify(const char *token, size_t len, const struct jwks *set, struct jws *out);

#endif
