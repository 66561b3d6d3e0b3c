/* SPDX-License-Identifier: MIT */
/*
 * JSON Web Keys: import of public RSA, EC (P-256/384/521) and OKP (Ed25519) keys with the
 * checklist's rules (sizes, exponent, point on curve, use/key_ops/alg), and key sets.
 * A key that fails its checks stays in the set, marked rejected, so that a token naming it
 * gets "key rejected" rather than "key not found".
 */
#ifndef MCPFENCE_JWK_H
#define MCPFENCE_JWK_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>

#define JWK_KID_MAX 256

enum jwk_kty { JWK_KTY_OTHER = 0, JWK_KTY_RSA, JWK_KTY_EC, JWK_KTY_OKP };

struct jwk {
	char *kid; /* NULL if absent */
	char *alg; /* NULL if absent */
	enum jwk_kty kty;
	int curve_nid; /* EC: NID_X9_62_prime256v1, NID_secp384r1, NID_secp521r1; OKP: NID_ED25519 */
	EVP_PKEY *pkey; /* NULL when rejected */
	const char *rejected; /* why import failed, NULL if usable */
};

struct jwks {
	size_t n;
	struct jwk *keys;
};

/* Import one key object. Returns 0 (key usable or marked rejected), -EINVAL for a set-level
 * violation (private members), -ENOMEM. `spiffe` also accepts use "jwt-svid". */
int jwk_import(json_t *obj, bool spiffe, struct jwk *ret);
void jwk_clear(struct jwk *k);

/* Parse {"keys": [...]}; duplicate kids and private members reject the whole set. */
int jwks_parse(const char *text, size_t len, bool spiffe, struct jwks *ret, char **why);
void jwks_clear(struct jwks *s);

/* Import a DER SubjectPublicKeyInfo (test vectors without a JWK). */
EVP_PKEY *jwk_pkey_from_der(const unsigned char *der, size_t len);

#endif
