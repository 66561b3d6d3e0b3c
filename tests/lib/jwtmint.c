// SPDX-License-Identifier: MIT
#include "jwtmint.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>

#include "b64url.h"
#include "util.h"

static char *bn_b64(const BIGNUM *bn, int pad)
{
	unsigned char buf[1024];
	int n = pad ? BN_bn2binpad(bn, buf, pad) : BN_bn2bin(bn, buf);

	return b64url_encode(buf, (size_t)n);
}

json_t *jwtmint_jwk(EVP_PKEY *k, const char *kid, enum jws_alg alg)
{
	json_t *j = json_pack("{s:s, s:s}", "kid", kid, "alg", jws_alg_name(alg));
	BIGNUM *a = NULL, *b = NULL;
	char *x, *y;

	if (EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA) {
		EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &a);
		EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &b);
		x = bn_b64(a, 0);
		y = bn_b64(b, 0);
		json_object_set_new(j, "kty", json_string("RSA"));
		json_object_set_new(j, "n", json_string(x));
		json_object_set_new(j, "e", json_string(y));
	} else if (EVP_PKEY_get_base_id(k) == EVP_PKEY_EC) {
		int bits = EVP_PKEY_get_bits(k), len = (bits + 7) / 8;

		EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, &a);
		EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, &b);
		x = bn_b64(a, len);
		y = bn_b64(b, len);
		json_object_set_new(j, "kty", json_string("EC"));
		json_object_set_new(j, "crv", json_string(bits == 256 ? "P-256" : bits == 384 ? "P-384" : "P-521"));
		json_object_set_new(j, "x", json_string(x));
		json_object_set_new(j, "y", json_string(y));
	} else {
		unsigned char raw[32];
		size_t rl = sizeof(raw);

		EVP_PKEY_get_raw_public_key(k, raw, &rl);
		x = b64url_encode(raw, rl);
		y = NULL;
		json_object_set_new(j, "kty", json_string("OKP"));
		json_object_set_new(j, "crv", json_string("Ed25519"));
		json_object_set_new(j, "x", json_string(x));
	}
	free(x);
	free(y);
	BN_free(a);
	BN_free(b);
	return j;
}

static const char *md_of(enum jws_alg a)
{
	switch (a) {
	case JWS_RS256: case JWS_PS256: case JWS_ES256: return "SHA256";
	case JWS_RS384: case JWS_PS384: case JWS_ES384: return "SHA384";
	case JWS_RS512: case JWS_PS512: case JWS_ES512: return "SHA512";
	default: return NULL;
	}
}

/* Sign header.payload (both JSON text, encoded here) with `alg`'s rules. */
char *jwtmint_sign(EVP_PKEY *key, enum jws_alg alg, const char *header, const char *payload)
{
	char *h = b64url_encode((const uint8_t *)header, strlen(header));
	char *p = b64url_encode((const uint8_t *)payload, strlen(payload));
	char *input = strdup_printf("%s.%s", h, p), *sig64, *tok;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char sig[1024];
	size_t sl = sizeof(sig);

	EVP_DigestSignInit_ex(ctx, &pctx, md_of(alg), NULL, NULL, key, NULL);
	if (alg >= JWS_PS256 && alg <= JWS_PS512) {
		EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
		EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
	}
	EVP_DigestSign(ctx, sig, &sl, (const unsigned char *)input, strlen(input));
	EVP_MD_CTX_free(ctx);
	if (alg >= JWS_ES256 && alg <= JWS_ES512) { /* DER -> r||s */
		const unsigned char *d = sig;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &d, (long)sl);
		int half = alg == JWS_ES256 ? 32 : alg == JWS_ES384 ? 48 : 66;
		unsigned char raw[132];

		BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, half);
		BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + half, half);
		ECDSA_SIG_free(es);
		memcpy(sig, raw, (size_t)(2 * half));
		sl = (size_t)(2 * half);
	}
	sig64 = b64url_encode(sig, sl);
	tok = strdup_printf("%s.%s", input, sig64);
	free(h);
	free(p);
	free(input);
	free(sig64);
	return tok;
}

