// SPDX-License-Identifier: MIT
#include "jwk.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "b64url.h"
#include "util.h"

#define RSA_BITS_MIN 2048
#define RSA_BITS_MAX 16384

static void BN_freep(BIGNUM **b)
{
	BN_free(*b);
}

static int b64_member(json_t *obj, const char *name, uint8_t **ret, size_t *len)
{
	json_t *v = json_object_get(obj, name);

	if (!json_is_string(v))
		return -ENOENT;
	return b64url_decode(json_string_value(v), json_string_length(v), ret, len);
}

static EVP_PKEY *pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *pkey = NULL;

	if (params && ctx && EVP_PKEY_fromdata_init(ctx) == 1 &&
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
	OSSL_PARAM_free(params);
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

static const char *import_rsa(json_t *obj, struct jwk *k)
{
	_cleanup_free_ uint8_t *n = NULL, *e = NULL;
	_cleanup_(BN_freep) BIGNUM *bn = NULL, *be = NULL;
	OSSL_PARAM_BLD *bld;
	size_t nl, el;
	int bits;

	if (b64_member(obj, "n", &n, &nl) < 0 || b64_member(obj, "e", &e, &el) < 0)
		return "RSA key needs n and e in base64url";
	if (nl == 0 || n[0] == 0 || el == 0 || el > 8 || e[0] == 0)
		return "RSA n or e has leading zero bytes or a bad length";
	bn = BN_bin2bn(n, (int)nl, NULL);
	be = BN_bin2bn(e, (int)el, NULL);
	if (!bn || !be)
		return "out of memory";
	bits = BN_num_bits(bn);
	if (bits < RSA_BITS_MIN || bits > RSA_BITS_MAX)
		return "RSA modulus outside 2048-16384 bits";
	if (!BN_is_odd(be) || BN_cmp(be, BN_value_one()) <= 0)
		return "RSA exponent must be odd and at least 3";
	bld = OSSL_PARAM_BLD_new();
	if (!bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be)) {
		OSSL_PARAM_BLD_free(bld);
		return "out of memory";
	}
	k->pkey = pkey_fromdata("RSA", bld);
	OSSL_PARAM_BLD_free(bld);
	return k->pkey ? NULL : "RSA key import failed";
}

static const char *import_ec(json_t *obj, struct jwk *k)
{
	static const struct {
		const char *crv, *group;
		int nid;
		size_t len;
	} curves[] = {
		{ "P-256", "prime256v1", NID_X9_62_prime256v1, 32 },
		{ "P-384", "secp384r1", NID_secp384r1, 48 },
		{ "P-521", "secp521r1", NID_secp521r1, 66 },
	};
	const char *crv = json_string_value(json_object_get(obj, "crv"));
	_cleanup_free_ uint8_t *x = NULL, *y = NULL;
	uint8_t point[1 + 2 * 66];
	OSSL_PARAM_BLD *bld;
	EVP_PKEY_CTX *check;
	size_t xl, yl, i;
	int ok;

	for (i = 0; i < ARRAY_SIZE(curves); i++)
		if (crv && !strcmp(crv, curves[i].crv))
			break;
	if (i == ARRAY_SIZE(curves))
		return "EC curve not supported (P-256, P-384, P-521 only)";
	if (b64_member(obj, "x", &x, &xl) < 0 || b64_member(obj, "y", &y, &yl) < 0)
		return "EC key needs x and y in base64url";
	if (xl != curves[i].len || yl != curves[i].len)
		return "EC coordinates must be exactly the field length";
	point[0] = 0x04; /* uncompressed */
	memcpy(point + 1, x, xl);
	memcpy(point + 1 + xl, y, yl);
	bld = OSSL_PARAM_BLD_new();
	if (!bld ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, curves[i].group, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * xl)) {
		OSSL_PARAM_BLD_free(bld);
		return "out of memory";
	}
	k->pkey = pkey_fromdata("EC", bld);
	OSSL_PARAM_BLD_free(bld);
	if (!k->pkey)
		return "EC point not on the curve";
	check = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
	ok = check && EVP_PKEY_public_check(check) == 1;
	EVP_PKEY_CTX_free(check);
	if (!ok) {
		EVP_PKEY_free(k->pkey);
		k->pkey = NULL;
		return "EC point not on the curve";
	}
	k->curve_nid = curves[i].nid;
	return NULL;
}

static const char *import_okp(json_t *obj, struct jwk *k)
{
	const char *crv = json_string_value(json_object_get(obj, "crv"));
	_cleanup_free_ uint8_t *x = NULL;
	size_t xl;

	if (!crv || strcmp(crv, "Ed25519"))
		return "OKP curve not supported (Ed25519 only)";
	if (b64_member(obj, "x", &x, &xl) < 0 || xl != 32)
		return "Ed25519 x must be exactly 32 bytes of base64url";
	k->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, xl);
	k->curve_nid = NID_ED25519;
	return k->pkey ? NULL : "Ed25519 key import failed";
}

static bool has_private_member(json_t *obj)
{
	static const char *const private[] = { "d", "p", "q", "dp", "dq", "qi", "oth", "k" };

	for (size_t i = 0; i < ARRAY_SIZE(private); i++)
		if (json_object_get(obj, private[i]))
			return true;
	return false;
}

static const char *check_usage(json_t *obj, bool spiffe)
{
	json_t *use = json_object_get(obj, "use"), *ops = json_object_get(obj, "key_ops"), *v;
	bool verify = false;
	size_t i;

	if (use) {
		const char *u = json_string_value(use);

		if (!u || (strcmp(u, "sig") && !(spiffe && !strcmp(u, "jwt-svid"))))
			return "key use is not sig";
	}
	if (ops) {
		if (!json_is_array(ops))
			return "key_ops is not an array";
		json_array_foreach(ops, i, v)
			verify |= json_is_string(v) && !strcmp(json_string_value(v), "verify");
		if (!verify)
			return "key_ops lacks verify";
	}
	return NULL;
}

void jwk_clear(struct jwk *k)
{
	free(k->kid);
	free(k->alg);
	EVP_PKEY_free(k->pkey);
	memset(k, 0, sizeof(*k));
}

int jwk_import(json_t *obj, bool spiffe, struct jwk *k)
{
	const char *kty, *kid, *alg;

	memset(k, 0, sizeof(*k));
	if (!json_is_object(obj))
		return -EINVAL;
	if (has_private_member(obj))
		return -EINVAL;
	kid = json_string_value(json_object_get(obj, "kid"));
	alg = json_string_value(json_object_get(obj, "alg"));
	if ((kid && !(k->kid = strdup(kid))) || (alg && !(k->alg = strdup(alg))))
		return -ENOMEM;
	if (json_object_get(obj, "alg") && !alg) {
		k->rejected = "alg is not a string";
		return 0;
	}
	kty = json_string_value(json_object_get(obj, "kty"));
	k->rejected = check_usage(obj, spiffe);
	if (k->rejected)
		return 0;
	if (kty && !strcmp(kty, "RSA")) {
		k->kty = JWK_KTY_RSA;
		k->rejected = import_rsa(obj, k);
	} else if (kty && !strcmp(kty, "EC")) {
		k->kty = JWK_KTY_EC;
		k->rejected = import_ec(obj, k);
	} else if (kty && !strcmp(kty, "OKP")) {
		k->kty = JWK_KTY_OKP;
		k->rejected = import_okp(obj, k);
	} else {
		k->rejected = "key type not supported (RSA, EC, OKP only; never oct)";
	}
	return 0;
}

void jwks_clear(struct jwks *s)
{
	for (size_t i = 0; i < s->n; i++)
		jwk_clear(&s->keys[i]);
	free(s->keys);
	memset(s, 0, sizeof(*s));
}

int jwks_parse(const char *text, size_t len, bool spiffe, struct jwks *ret, char **why)
{
	json_error_t jerr;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr), *keys, *v;
	struct jwks s = {};
	size_t i;
	int r = 0;

	*why = NULL;
	if (!json_is_object(root)) {
		*why = strdup_printf("not a JSON object: %s", root ? "wrong type" : jerr.text);
		json_decref(root);
		return -EINVAL;
	}
	keys = json_object_get(root, "keys");
	if (!json_is_array(keys)) {
		*why = strdup("no \"keys\" array");
		json_decref(root);
		return -EINVAL;
	}
	s.keys = calloc(json_array_size(keys) + 1, sizeof(*s.keys));
	if (!s.keys) {
		json_decref(root);
		return -ENOMEM;
	}
	json_array_foreach(keys, i, v) {
		struct jwk *k = &s.keys[s.n];

		r = jwk_import(v, spiffe, k);
		if (r == -EINVAL) {
			*why = strdup_printf("keys[%zu] holds private key material", i);
			break;
		}
		if (r < 0)
			break;
		s.n++;
		for (size_t j = 0; k->kid && j + 1 < s.n; j++)
			if (s.keys[j].kid && !strcmp(s.keys[j].kid, k->kid)) {
				*why = strdup_printf("duplicate kid \"%.64s\"", k->kid);
				r = -EINVAL;
			}
		if (r < 0)
			break;
	}
	json_decref(root);
	if (r < 0) {
		jwks_clear(&s);
		return r;
	}
	*ret = s;
	return 0;
}

EVP_PKEY *jwk_pkey_from_der(const unsigned char *der, size_t len)
{
	return d2i_PUBKEY(NULL, &der, (long)len);
}
