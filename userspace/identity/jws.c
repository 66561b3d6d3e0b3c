// SPDX-License-Identifier: MIT
#include "jws.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/rsa.h>

#include "b64url.h"
#include "util.h"

static const struct alg_info {
	const char *name;
	enum jwk_kty kty;
	int curve_nid;	     /* EC/OKP */
	const char *md;	     /* NULL for EdDSA */
	size_t ec_half;	     /* ECDSA: bytes of r and of s */
	bool pss;
} algs[JWS_ALG_MAX] = {
	[JWS_RS256] = { "RS256", JWK_KTY_RSA, 0, "SHA256", 0, false },
	[JWS_RS384] = { "RS384", JWK_KTY_RSA, 0, "SHA384", 0, false },
	[JWS_RS512] = { "RS512", JWK_KTY_RSA, 0, "SHA512", 0, false },
	[JWS_PS256] = { "PS256", JWK_KTY_RSA, 0, "SHA256", 0, true },
	[JWS_PS384] = { "PS384", JWK_KTY_RSA, 0, "SHA384", 0, true },
	[JWS_PS512] = { "PS512", JWK_KTY_RSA, 0, "SHA512", 0, true },
	[JWS_ES256] = { "ES256", JWK_KTY_EC, NID_X9_62_prime256v1, "SHA256", 32, false },
	[JWS_ES384] = { "ES384", JWK_KTY_EC, NID_secp384r1, "SHA384", 48, false },
	[JWS_ES512] = { "ES512", JWK_KTY_EC, NID_secp521r1, "SHA512", 66, false },
	[JWS_EDDSA] = { "EdDSA", JWK_KTY_OKP, NID_ED25519, NULL, 0, false },
};

const char *jws_alg_name(enum jws_alg alg)
{
	return alg >= 0 && alg < JWS_ALG_MAX ? algs[alg].name : "none";
}

/* Exact, case-sensitive: "None", "none", "HS256" and the rest are simply not ours. */
enum jws_alg jws_alg_from_name(const char *name)
{
	for (int i = 0; name && i < JWS_ALG_MAX; i++)
		if (!strcmp(algs[i].name, name))
			return (enum jws_alg)i;
	return JWS_ALG_NONE;
}

void jws_clear(struct jws *j)
{
	json_decref(j->header);
	json_decref(j->payload);
	free(j->sig);
	memset(j, 0, sizeof(*j));
	j->alg = JWS_ALG_NONE;
}

/* Nesting of containers: {} is 1, {"a": [1]} is 2; scalars add nothing. */
static int json_depth(json_t *v, int depth)
{
	const char *key;
	json_t *child;
	size_t i;
	int max = depth;

	if (depth > JWS_JSON_DEPTH_MAX)
		return depth;
	if (json_is_object(v)) {
		json_object_foreach(v, key, child) {
			int d = json_is_object(child) || json_is_array(child) ? json_depth(child, depth + 1) : depth;

			if (d > max)
				max = d;
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, child) {
			int d = json_is_object(child) || json_is_array(child) ? json_depth(child, depth + 1) : depth;

			if (d > max)
				max = d;
		}
	}
	return max;
}

/* Decode a segment and parse it as a duplicate-free JSON object within the limits. */
static int segment_json(const char *s, size_t len, size_t max_decoded, size_t max_members,
			json_t **ret)
{
	_cleanup_free_ uint8_t *raw = NULL;
	size_t raw_len;
	json_t *v;

	if (b64url_decode(s, len, &raw, &raw_len) < 0)
		return VERIFY_BAD_BASE64;
	if (max_decoded && raw_len > max_decoded)
		return VERIFY_TOO_LARGE;
	/* jansson rejects invalid UTF-8 and \u0000 (no JSON_ALLOW_NUL) by itself */
	v = json_loadb((const char *)raw, raw_len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(v) || json_object_size(v) > max_members ||
	    json_depth(v, 1) > JWS_JSON_DEPTH_MAX) {
		json_decref(v);
		return VERIFY_BAD_JSON;
	}
	*ret = v;
	return VERIFY_OK;
}

int jws_check_typ(const struct jws *j, const char *typ)
{
	json_t *v = json_object_get(j->header, "typ");
	const char *t = json_string_value(v);

	if (!v)
		return typ ? VERIFY_BAD_TYP : VERIFY_OK;
	if (!t || (typ ? strcmp(t, typ) : strcmp(t, "JWT") && strcmp(t, "JOSE")))
		return VERIFY_BAD_TYP;
	return VERIFY_OK;
}

int jws_parse(const char *token, size_t len, bool jwt, struct jws *out)
{
	static const char *const allowed[] = { "alg", "kid", "typ" };
	const char *d1, *d2, *key;
	bool empty_sig;
	json_t *v;
	int r;

	memset(out, 0, sizeof(*out));
	out->alg = JWS_ALG_NONE;
	/* 1. size and shape, before any decoding */
	if (len > JWS_TOKEN_MAX)
		return VERIFY_TOO_LARGE;
	d1 = memchr(token, '.', len);
	d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
	if (!d1 || !d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)) || d1 == token ||
	    d2 == d1 + 1 || memchr(token, '\0', len))
		return VERIFY_MALFORMED;
	/* an empty signature is malformed, but "alg":"none" tokens get the more telling answer */
	empty_sig = d2 + 1 == token + len;

	/* 2-3. base64url and JSON */
	r = segment_json(token, (size_t)(d1 - token), JWS_HEADER_MAX, JWS_HEADER_MEMBERS_MAX,
			 &out->header);
	if (r)
		return r;
	if (jwt) {
		r = segment_json(d1 + 1, (size_t)(d2 - d1 - 1), 0, JWS_CLAIMS_MAX, &out->payload);
		if (r)
			goto fail;
	} else {
		_cleanup_free_ uint8_t *raw = NULL;
		size_t raw_len;

		if (b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), &raw, &raw_len) < 0) {
			r = VERIFY_BAD_BASE64;
			goto fail;
		}
	}
	if (b64url_decode(d2 + 1, len - (size_t)(d2 + 1 - token), &out->sig, &out->sig_len) < 0) {
		r = VERIFY_BAD_BASE64;
		goto fail;
	}
	out->signing_input = token;
	out->signing_input_len = (size_t)(d2 - token);

	/* 4. only alg, kid, typ: keys never come from the token, nothing is critical */
	json_object_foreach(out->header, key, v) {
		bool ok = false;

		for (size_t i = 0; i < ARRAY_SIZE(allowed); i++)
			ok |= !strcmp(key, allowed[i]);
		if (!ok) {
			r = VERIFY_HEADER_NOT_ALLOWED;
			goto fail;
		}
	}
	/* 6. the algorithm: ours, named exactly */
	out->alg = jws_alg_from_name(json_string_value(json_object_get(out->header, "alg")));
	if (out->alg == JWS_ALG_NONE) {
		r = VERIFY_ALG_NOT_ALLOWED;
		goto fail;
	}
	if (empty_sig) {
		r = VERIFY_MALFORMED;
		goto fail;
	}
	v = json_object_get(out->header, "kid");
	if (v) {
		out->kid = json_string_value(v);
		if (!out->kid) {
			r = VERIFY_KEY_NOT_FOUND;
			goto fail;
		}
	}
	return VERIFY_OK;
fail:
	jws_clear(out);
	return r;
}

int jws_key_fits(enum jws_alg alg, const struct jwk *k)
{
	if (alg < 0 || alg >= JWS_ALG_MAX || k->kty != algs[alg].kty)
		return 0;
	if (algs[alg].curve_nid && k->curve_nid != algs[alg].curve_nid)
		return 0;
	return !k->alg || !strcmp(k->alg, algs[alg].name);
}

static bool kid_acceptable(const char *kid)
{
	size_t n = strlen(kid);

	if (n == 0 || n > JWK_KID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)kid[i] < 0x20 || (unsigned char)kid[i] > 0x7e)
			return false;
	return true;
}

int jws_select_key(const struct jws *j, const struct jwks *set, const struct jwk **ret)
{
	const struct jwk *found = NULL;
	size_t candidates = 0;

	if (j->kid) {
		if (!kid_acceptable(j->kid))
			return VERIFY_KEY_NOT_FOUND;
		for (size_t i = 0; i < set->n && !found; i++)
			if (set->keys[i].kid && !strcmp(set->keys[i].kid, j->kid))
				found = &set->keys[i];
		if (!found)
			return VERIFY_KEY_NOT_FOUND;
		if (found->rejected)
			return VERIFY_KEY_REJECTED;
		if (!jws_key_fits(j->alg, found))
			return VERIFY_ALG_KEY_MISMATCH;
		*ret = found;
		return VERIFY_OK;
	}
	/* no kid: only when exactly one usable key fits */
	for (size_t i = 0; i < set->n; i++)
		if (!set->keys[i].rejected && jws_key_fits(j->alg, &set->keys[i])) {
			candidates++;
			found = &set->keys[i];
		}
	if (candidates != 1)
		return candidates ? VERIFY_KEY_NOT_FOUND : VERIFY_ALG_KEY_MISMATCH;
	*ret = found;
	return VERIFY_OK;
}

/*
 * Per-process caches of what does not change between tokens: the group order of each curve
 * and the fetched digests. Building an EC_GROUP or fetching "SHA256" by name costs as much as
 * a quarter of an ECDSA verification.
 */
static const BIGNUM *curve_order(int nid)
{
	static struct {
		int nid;
		BIGNUM *order;
	} cache[3];

	for (size_t i = 0; i < ARRAY_SIZE(cache); i++) {
		if (cache[i].nid == nid)
			return cache[i].order;
		if (!cache[i].nid) {
			EC_GROUP *g = EC_GROUP_new_by_curve_name(nid);

			if (!g)
				return NULL;
			cache[i].order = BN_dup(EC_GROUP_get0_order(g));
			EC_GROUP_free(g);
			if (!cache[i].order)
				return NULL;
			cache[i].nid = nid;
			return cache[i].order;
		}
	}
	return NULL;
}

static EVP_MD *digest_of(const char *name)
{
	static EVP_MD *md[3];
	static const char *const names[3] = { "SHA256", "SHA384", "SHA512" };

	for (size_t i = 0; name && i < ARRAY_SIZE(names); i++)
		if (!strcmp(name, names[i])) {
			if (!md[i])
				md[i] = EVP_MD_fetch(NULL, names[i], NULL);
			return md[i];
		}
	return NULL;
}

static void ECDSA_SIG_freep(ECDSA_SIG **s)
{
	ECDSA_SIG_free(*s);
}

/*
 * JWS carries r||s; OpenSSL wants DER. Check the exact length and 1 <= r, s <= n-1 first
 * ("psychic signatures": r = s = 0 must never reach the math), then encode with i2d.
 */
static int ecdsa_to_der(const struct alg_info *a, const uint8_t *sig, size_t len,
			unsigned char **der, int *der_len)
{
	_cleanup_(ECDSA_SIG_freep) ECDSA_SIG *es = NULL;
	const BIGNUM *order;
	BIGNUM *r, *s;
	int ok;

	if (len != 2 * a->ec_half)
		return VERIFY_BAD_SIGNATURE;
	order = curve_order(a->curve_nid);
	r = BN_bin2bn(sig, (int)a->ec_half, NULL);
	s = BN_bin2bn(sig + a->ec_half, (int)a->ec_half, NULL);
	ok = order && r && s && !BN_is_zero(r) && !BN_is_zero(s) && BN_cmp(r, order) < 0 &&
	     BN_cmp(s, order) < 0;
	if (!ok) {
		BN_free(r);
		BN_free(s);
		return VERIFY_BAD_SIGNATURE;
	}
	es = ECDSA_SIG_new();
	if (!es || !ECDSA_SIG_set0(es, r, s)) {
		BN_free(r);
		BN_free(s);
		return VERIFY_INTERNAL;
	}
	*der = NULL;
	*der_len = i2d_ECDSA_SIG(es, der);
	return *der_len > 0 ? VERIFY_OK : VERIFY_INTERNAL;
}

int jws_signature_verify(enum jws_alg alg, EVP_PKEY *key, const uint8_t *msg, size_t msg_len,
			 const uint8_t *sig, size_t sig_len)
{
	const struct alg_info *a;
	EVP_MD_CTX *ctx;
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *der = NULL;
	int der_len = 0, r, ok;

	if (alg < 0 || alg >= JWS_ALG_MAX || !key)
		return VERIFY_ALG_KEY_MISMATCH;
	a = &algs[alg];
	switch (a->kty) {
	case JWK_KTY_RSA:
		if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA)
			return VERIFY_ALG_KEY_MISMATCH;
		if (sig_len != (size_t)EVP_PKEY_get_size(key))
			return VERIFY_BAD_SIGNATURE;
		break;
	case JWK_KTY_EC:
		if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC)
			return VERIFY_ALG_KEY_MISMATCH;
		r = ecdsa_to_der(a, sig, sig_len, &der, &der_len);
		if (r)
			return r;
		sig = der;
		sig_len = (size_t)der_len;
		break;
	case JWK_KTY_OKP:
		if (EVP_PKEY_get_base_id(key) != EVP_PKEY_ED25519)
			return VERIFY_ALG_KEY_MISMATCH;
		if (sig_len != 64)
			return VERIFY_BAD_SIGNATURE;
		break;
	default:
		return VERIFY_ALG_KEY_MISMATCH;
	}

	ctx = EVP_MD_CTX_new();
	ok = ctx && EVP_DigestVerifyInit(ctx, &pctx, digest_of(a->md), NULL, key) == 1;
	/* PSS: salt exactly as long as the hash (the verify default would accept any length);
	 * MGF1 defaults to the signature's hash, and PKCS#1 v1.5 is RSA's default padding: the
	 * Wycheproof files check both (different MGF1 hashes and paddings are invalid there). */
	if (ok && a->pss)
		ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
		     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
	r = ok ? EVP_DigestVerify(ctx, sig, sig_len, msg, msg_len) : -1;
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	if (!ok)
		return VERIFY_INTERNAL;
	return r == 1 ? VERIFY_OK : VERIFY_BAD_SIGNATURE;
}

int jws_verify(const char *token, size_t len, const struct jwks *set, struct jws *out)
{
	const struct jwk *key = NULL;
	int r = jws_parse(token, len, false, out);

	if (r == VERIFY_OK)
		r = jws_check_typ(out, NULL);
	if (r) {
		jws_clear(out);
		return r;
	}
	r = jws_select_key(out, set, &key);
	if (r == VERIFY_OK)
		r = jws_signature_verify(out->alg, key->pkey, (const uint8_t *)out->signing_input,
					 out->signing_input_len, out->sig, out->sig_len);
	if (r)
		jws_clear(out);
	return r;
}
