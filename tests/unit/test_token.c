// SPDX-License-Identifier: MIT
/*
 * The verifier's checklist (shared/identity-requirements.md), one test per rule and per
 * bad-input row, each asserting its exact error. Keys for every algorithm are generated here
 * with OpenSSL and tokens minted in-process; no network, no root.
 */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "testlib.h"
#include "../lib/jwtmint.h"
#include "b64url.h"
#include "identity.h"
#include "issuer.h"
#include "tokenop.h"
#include "jws.h"
#include "podcgroup.h"
#include "trust.h"
#include "util.h"

#define ISS "https://issuer.test"
static const int64_t NOW = 1800000000;
static char tmpdir[] = "/tmp/mcpf-token-XXXXXX";

struct keypair {
	const char *name; /* kid */
	enum jws_alg alg;
	EVP_PKEY *key;
	json_t *jwk;
};
static struct keypair keys[JWS_ALG_MAX];

static char *claims_json(const char *extra)
{
	return strdup_printf("{\"iss\":\"" ISS "\",\"aud\":\"mcpfence\",\"sub\":\"workload-a\","
			     "\"iat\":%lld,\"exp\":%lld%s%s}",
			     (long long)NOW - 10, (long long)NOW + 600, extra && *extra ? "," : "",
			     extra ? extra : "");
}

/* A token for `alg` with the default claims plus `extra` members. */
static char *mint(enum jws_alg alg, const char *extra)
{
	char *hdr = strdup_printf("{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"JWT\"}", jws_alg_name(alg),
				  keys[alg].name);
	char *pl = claims_json(extra);
	char *t = jwtmint_sign(keys[alg].key, alg, hdr, pl);

	free(hdr);
	free(pl);
	return t;
}

static struct trust trust;

/* (Re)build the trust: one issuer with every test key, plus `extra` issuer members. */
static void trust_setup(const char *extra_json, json_t *extra_keys)
{
	char *jwks_path = strdup_printf("%s/keys.jwks", tmpdir);
	json_t *set = json_array(), *root;
	struct diag errs = {};
	char *cfg;
	json_error_t je;

	for (int a = 0; a < JWS_ALG_MAX; a++)
		json_array_append(set, keys[a].jwk);
	if (extra_keys)
		json_array_extend(set, extra_keys);
	root = json_pack("{s:o}", "keys", set);
	json_dump_file(root, jwks_path, 0);
	json_decref(root);
	cfg = strdup_printf("{\"issuers\":[{\"issuer\":\"" ISS "\",\"jwks_file\":\"%s\"%s%s}]}",
			    jwks_path, extra_json ? "," : "", extra_json ? extra_json : "");
	root = json_loads(cfg, 0, &je);
	trust_clear(&trust);
	if (trust_load(root, NULL, &trust, &errs) < 0)
		for (size_t i = 0; i < errs.n; i++)
			printf("    trust: %s\n", errs.msgs[i]);
	json_decref(root);
	diag_clear(&errs);
	free(cfg);
	free(jwks_path);
}

static int verify(const char *token)
{
	struct token t;
	char detail[256];
	int r = token_verify(&trust, token, strlen(token), NOW, &t, detail, sizeof(detail));

	if (r == VERIFY_OK)
		token_clear(&t);
	return r;
}

#define EXPECT(name, tok, want)                                                                    \
	do {                                                                                       \
		char *__t = (tok);                                                                 \
		int __r = verify(__t);                                                             \
		TEST(name);                                                                        \
		CHECK(__r == (want), "got %s, want %s", verify_error_name(__r),                   \
		      verify_error_name(want));                                                    \
		TEST_END();                                                                        \
		free(__t);                                                                         \
	} while (0)

static char *with_sig_bytes(const char *token, const uint8_t *sig, size_t len)
{
	const char *last = strrchr(token, '.');
	char *s64 = b64url_encode(sig, len);
	char *t = strdup_printf("%.*s.%s", (int)(last - token), token, s64);

	free(s64);
	return t;
}

static char *sig_bytes_of(const char *token, size_t *len)
{
	uint8_t *s;
	const char *last = strrchr(token, '.');

	b64url_decode(last + 1, strlen(last + 1), &s, len);
	return (char *)s;
}

static void test_every_algorithm(void)
{
	char name[64];

	for (int a = 0; a < JWS_ALG_MAX; a++) {
		snprintf(name, sizeof(name), "token: a valid %s token verifies", jws_alg_name(a));
		EXPECT(name, mint(a, NULL), VERIFY_OK);
	}
}

static void test_parsing_rows(void)
{
	char *t = mint(JWS_ES256, NULL), *u;
	char big[17000];

	/* 1. shape and size */
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	big[100] = '.';
	big[200] = '.';
	EXPECT("token: longer than 16 KiB -> too_large, before decoding", strdup(big), VERIFY_TOO_LARGE);
	EXPECT("token: four segments -> malformed", strdup_printf("%s.AAAA", t), VERIFY_MALFORMED);
	EXPECT("token: five segments (JWE) -> malformed", strdup("a.b.c.d.e"), VERIFY_MALFORMED);
	EXPECT("token: two segments -> malformed", strdup("eyJhbGciOiJFUzI1NiJ9.e30"), VERIFY_MALFORMED);
	EXPECT("token: empty header segment -> malformed", strdup(".e30.AAAA"), VERIFY_MALFORMED);
	EXPECT("token: JSON serialization -> malformed",
	       strdup("{\"payload\":\"e30\",\"signatures\":[]}"), VERIFY_MALFORMED);
	/* 2. strict base64url */
	{
		const char *bad[] = { "+", "/", "=", " ", "\n" };

		for (size_t i = 0; i < 5; i++) {
			char nm[80];

			u = strdup(t);
			u[strlen(u) - 2] = bad[i][0];
			snprintf(nm, sizeof(nm), "token: '%s' in base64url -> bad_base64",
				 bad[i][0] == '\n' ? "\\n" : bad[i]);
			EXPECT(nm, u, VERIFY_BAD_BASE64);
		}
	}
	{
		/* "e30" is {}: "e31" has the same 16 bits but non-zero unused trailing bits */
		char *h = b64url_encode((const uint8_t *)"{\"alg\":\"ES256\"}", 15);

		EXPECT("token: non-zero trailing bits in base64url -> bad_base64",
		       strdup_printf("%s.e31.AAAA", h), VERIFY_BAD_BASE64);
		EXPECT("token: base64url length 1 mod 4 -> bad_base64",
		       strdup_printf("%s.e30AA.AAAA", h), VERIFY_BAD_BASE64);
		free(h);
	}
	/* 3. JSON */
	EXPECT("token: duplicate alg in header -> bad_json (not \"last wins\")",
	       jwtmint_sign(keys[JWS_ES256].key, JWS_ES256, "{\"alg\":\"ES256\",\"alg\":\"none\"}",
			"{\"iss\":\"" ISS "\"}"),
	       VERIFY_BAD_JSON);
	{
		char *pl = strdup_printf("{\"sub\":\"a\",\"sub\":\"b\",\"iss\":\"" ISS "\",\"aud\":\"mcpfence\",\"exp\":%lld}",
					 (long long)NOW + 60);

		EXPECT("token: duplicate claim in payload -> bad_json",
		       jwtmint_sign(keys[JWS_ES256].key, JWS_ES256, "{\"alg\":\"ES256\",\"kid\":\"es256\"}", pl),
		       VERIFY_BAD_JSON);
		free(pl);
	}
	{
		size_t depth = 3000;
		char *pl = malloc(2 * depth + 64), *p = pl;

		p += sprintf(p, "{\"iss\":\"" ISS "\",\"x\":");
		for (size_t i = 0; i < depth; i++)
			*p++ = '[';
		for (size_t i = 0; i < depth; i++)
			*p++ = ']';
		strcpy(p, "}");
		EXPECT("token: claims nested 3000 deep -> bad_json",
		       jwtmint_sign(keys[JWS_ES256].key, JWS_ES256, "{\"alg\":\"ES256\"}", pl), VERIFY_BAD_JSON);
		free(pl);
	}
	EXPECT("token: nesting 17 deep (limit 16) -> bad_json",
	       mint(JWS_ES256, "\"x\":[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]"), VERIFY_BAD_JSON);
	EXPECT("token: nesting 16 deep is fine",
	       mint(JWS_ES256, "\"x\":[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]"), VERIFY_OK);
	EXPECT("token: header is an array -> bad_json",
	       jwtmint_sign(keys[JWS_ES256].key, JWS_ES256, "[\"ES256\"]", "{}"), VERIFY_BAD_JSON);
	EXPECT("token: \\u0000 in a claim -> bad_json", mint(JWS_ES256, "\"x\":\"a\\u0000b\""),
	       VERIFY_BAD_JSON);
	EXPECT("token: invalid UTF-8 in a claim -> bad_json", mint(JWS_ES256, "\"x\":\"\xff\xfe\""),
	       VERIFY_BAD_JSON);
	{
		char hdr[2200];

		snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"kid\":\"%02100d\"}", 0);
		EXPECT("token: decoded header over 2 KiB (a 10 kB kid lands here) -> too_large",
		       jwtmint_sign(keys[JWS_ES256].key, JWS_ES256, hdr, "{}"), VERIFY_TOO_LARGE);
	}
	{
		char pl[8192] = "{\"iss\":\"" ISS "\"";

		for (int i = 0; i < 257; i++)
			snprintf(pl + strlen(pl), sizeof(pl) - strlen(pl), ",\"c%d\":1", i);
		strcat(pl, "}");
		EXPECT("token: 258 claims (limit 256) -> bad_json",
		       jwtmint_sign(keys[JWS_ES256].key, JWS_ES256, "{\"alg\":\"ES256\"}", pl), VERIFY_BAD_JSON);
	}
	/* 4. header members */
	{
		const char *forbidden[] = { "crit", "jku", "jwk", "x5u", "x5c", "x5t", "x5t#S256", "b64",
					    "zip", "enc", "cty" };

		for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++) {
			char nm[80], *hdr = strdup_printf("{\"alg\":\"ES256\",\"kid\":\"es256\",\"%s\":%s}",
							  forbidden[i],
							  !strcmp(forbidden[i], "b64") ? "false" : !strcmp(forbidden[i], "crit") ? "[\"b64\"]" : "\"https://evil.test/k\"");
			char *pl = claims_json(NULL);

			snprintf(nm, sizeof(nm), "token: header member %s -> header_not_allowed", forbidden[i]);
			EXPECT(nm, jwtmint_sign(keys[JWS_ES256].key, JWS_ES256, hdr, pl), VERIFY_HEADER_NOT_ALLOWED);
			free(hdr);
			free(pl);
		}
	}
	/* 5. typ */
	{
		char *pl = claims_json(NULL);

		EXPECT("token: typ \"at+jwt\" without issuer config -> bad_typ",
		       jwtmint_sign(keys[JWS_ES256].key, JWS_ES256, "{\"alg\":\"ES256\",\"kid\":\"es256\",\"typ\":\"at+jwt\"}", pl),
		       VERIFY_BAD_TYP);
		EXPECT("token: typ JOSE -> ok",
		       jwtmint_sign(keys[JWS_ES256].key, JWS_ES256, "{\"alg\":\"ES256\",\"kid\":\"es256\",\"typ\":\"JOSE\"}", pl),
		       VERIFY_OK);
		EXPECT("token: typ absent -> ok",
		       jwtmint_sign(keys[JWS_ES256].key, JWS_ES256, "{\"alg\":\"ES256\",\"kid\":\"es256\"}", pl),
		       VERIFY_OK);
		trust_setup("\"typ\":\"at+jwt\"", NULL);
		EXPECT("token: typ named by the issuer -> ok",
		       jwtmint_sign(keys[JWS_ES256].key, JWS_ES256, "{\"alg\":\"ES256\",\"kid\":\"es256\",\"typ\":\"at+jwt\"}", pl),
		       VERIFY_OK);
		EXPECT("token: issuer names a typ, token has JWT -> bad_typ",
		       jwtmint_sign(keys[JWS_ES256].key, JWS_ES256, "{\"alg\":\"ES256\",\"kid\":\"es256\",\"typ\":\"JWT\"}", pl),
		       VERIFY_BAD_TYP);
		trust_setup(NULL, NULL);
		free(pl);
	}
	free(t);
}

static void test_algorithm_rows(void)
{
	char *pl = claims_json(NULL);
	const char *nones[] = { "none", "None", "NONE" };

	for (int i = 0; i < 3; i++) {
		char nm[80], *hdr = strdup_printf("{\"alg\":\"%s\"}", nones[i]);
		char *h = b64url_encode((const uint8_t *)hdr, strlen(hdr));
		char *p = b64url_encode((const uint8_t *)pl, strlen(pl));

		snprintf(nm, sizeof(nm), "token: alg %s, empty signature -> alg_not_allowed", nones[i]);
		EXPECT(nm, strdup_printf("%s.%s.", h, p), VERIFY_ALG_NOT_ALLOWED);
		free(hdr);
		free(h);
		free(p);
	}
	/* HS256 "signed" with the issuer's public key bytes as the secret (the classic confusion) */
	{
		char *jwk_text = json_dumps(keys[JWS_RS256].jwk, JSON_COMPACT);
		const char *hs = "{\"alg\":\"HS256\",\"kid\":\"rs256\"}";
		char *h = b64url_encode((const uint8_t *)hs, strlen(hs));
		char *p = b64url_encode((const uint8_t *)pl, strlen(pl));
		char *input = strdup_printf("%s.%s", h, p), *s64;
		unsigned char mac[64];
		size_t ml = sizeof(mac);

		EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, jwk_text, strlen(jwk_text),
			  (unsigned char *)input, strlen(input), mac, sizeof(mac), &ml);
		s64 = b64url_encode(mac, ml);
		EXPECT("token: HS256 keyed with the issuer's public JWK -> alg_not_allowed",
		       strdup_printf("%s.%s", input, s64), VERIFY_ALG_NOT_ALLOWED);
		free(jwk_text);
		free(h);
		free(p);
		free(input);
		free(s64);
	}
	trust_setup("\"algorithms\":[\"ES256\"]", NULL);
	EXPECT("token: RS256, valid for its key but not in the issuer's list -> alg_not_allowed",
	       mint(JWS_RS256, NULL), VERIFY_ALG_NOT_ALLOWED);
	EXPECT("token: ES256, in the issuer's list -> ok", mint(JWS_ES256, NULL), VERIFY_OK);
	trust_setup(NULL, NULL);
	free(pl);
}

static void test_key_rows(void)
{
	char *pl = claims_json(NULL);
	const char *kids[] = { "../../etc/passwd", "\\\"quoted\\\"", "es256 ", "ES256" };

	for (int i = 0; i < 4; i++) {
		char nm[96], *hdr = strdup_printf("{\"alg\":\"ES256\",\"kid\":\"%s\"}", kids[i]);

		snprintf(nm, sizeof(nm), "token: kid \"%s\" (exact lookup only) -> key_not_found", kids[i]);
		EXPECT(nm, jwtmint_sign(keys[JWS_ES256].key, JWS_ES256, hdr, pl), VERIFY_KEY_NOT_FOUND);
		free(hdr);
	}
	{
		char hdr[512];

		snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"kid\":\"%0300d\"}", 0);
		EXPECT("token: kid of 300 bytes (max 256) -> key_not_found",
		       jwtmint_sign(keys[JWS_ES256].key, JWS_ES256, hdr, pl), VERIFY_KEY_NOT_FOUND);
	}
	EXPECT("token: kid absent, exactly one key fits -> ok",
	       jwtmint_sign(keys[JWS_ES256].key, JWS_ES256, "{\"alg\":\"ES256\"}", pl), VERIFY_OK);
	/* exactly one P-256 key in the set: kid may be absent. Add a second to require it. */
	{
		EVP_PKEY *k2 = EVP_EC_gen("P-256");
		json_t *extra = json_array();

		json_array_append_new(extra, jwtmint_jwk(k2, "es256-b", JWS_ES256));
		trust_setup(NULL, extra);
		EXPECT("token: kid absent, two P-256 keys -> key_not_found",
		       jwtmint_sign(keys[JWS_ES256].key, JWS_ES256, "{\"alg\":\"ES256\"}", pl), VERIFY_KEY_NOT_FOUND);
		EXPECT("token: signed by the other key of the set but naming this kid -> bad_signature",
		       jwtmint_sign(k2, JWS_ES256, "{\"alg\":\"ES256\",\"kid\":\"es256\"}", pl), VERIFY_BAD_SIGNATURE);
		json_decref(extra);
		EVP_PKEY_free(k2);
	}
	/* algorithm-key mismatches */
	EXPECT("token: ES256 header naming the P-384 key -> alg_key_mismatch",
	       jwtmint_sign(keys[JWS_ES384].key, JWS_ES256, "{\"alg\":\"ES256\",\"kid\":\"es384\"}", pl),
	       VERIFY_ALG_KEY_MISMATCH);
	EXPECT("token: RS256 header naming the EdDSA key -> alg_key_mismatch",
	       jwtmint_sign(keys[JWS_RS256].key, JWS_RS256, "{\"alg\":\"RS256\",\"kid\":\"eddsa\"}", pl),
	       VERIFY_ALG_KEY_MISMATCH);
	EXPECT("token: PS256 header naming a JWK with alg RS256 -> alg_key_mismatch",
	       jwtmint_sign(keys[JWS_RS256].key, JWS_PS256, "{\"alg\":\"PS256\",\"kid\":\"rs256\"}", pl),
	       VERIFY_ALG_KEY_MISMATCH);
	/* keys rejected at import */
	{
		EVP_PKEY *small = EVP_RSA_gen(1024);
		json_t *extra = json_array(), *e1, *bad_point, *k1, *enc, *ops;
		EVP_PKEY *e1key = NULL;

		json_array_append_new(extra, jwtmint_jwk(small, "rsa1024", JWS_RS256));
		e1 = json_deep_copy(keys[JWS_RS256].jwk);
		json_object_set_new(e1, "kid", json_string("rsa-e1"));
		json_object_set_new(e1, "e", json_string("AQ"));
		json_array_append_new(extra, e1);
		bad_point = json_deep_copy(keys[JWS_ES256].jwk);
		json_object_set_new(bad_point, "kid", json_string("offcurve"));
		{
			char *y = strdup(json_string_value(json_object_get(bad_point, "y")));

			y[5] = y[5] == 'A' ? 'B' : 'A';
			json_object_set_new(bad_point, "y", json_string(y));
			free(y);
		}
		json_array_append_new(extra, bad_point);
		k1 = json_pack("{s:s, s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "secp256k1", "kid", "k1",
			       "x", "AAAA", "y", "AAAA");
		json_array_append_new(extra, k1);
		enc = json_deep_copy(keys[JWS_ES256].jwk);
		json_object_set_new(enc, "kid", json_string("enc"));
		json_object_set_new(enc, "use", json_string("enc"));
		json_array_append_new(extra, enc);
		ops = json_deep_copy(keys[JWS_ES256].jwk);
		json_object_set_new(ops, "kid", json_string("signonly"));
		json_object_set_new(ops, "key_ops", json_pack("[s]", "sign"));
		json_array_append_new(extra, ops);
		trust_setup(NULL, extra);
		EXPECT("token: RSA 1024-bit key -> key_rejected",
		       jwtmint_sign(small, JWS_RS256, "{\"alg\":\"RS256\",\"kid\":\"rsa1024\"}", pl), VERIFY_KEY_REJECTED);
		EXPECT("token: RSA key with e=1 -> key_rejected",
		       jwtmint_sign(keys[JWS_RS256].key, JWS_RS256, "{\"alg\":\"RS256\",\"kid\":\"rsa-e1\"}", pl),
		       VERIFY_KEY_REJECTED);
		EXPECT("token: EC point not on the curve -> key_rejected",
		       jwtmint_sign(keys[JWS_ES256].key, JWS_ES256, "{\"alg\":\"ES256\",\"kid\":\"offcurve\"}", pl),
		       VERIFY_KEY_REJECTED);
		EXPECT("token: secp256k1 key -> key_rejected",
		       jwtmint_sign(keys[JWS_ES256].key, JWS_ES256, "{\"alg\":\"ES256\",\"kid\":\"k1\"}", pl),
		       VERIFY_KEY_REJECTED);
		EXPECT("token: key with use enc -> key_rejected",
		       jwtmint_sign(keys[JWS_ES256].key, JWS_ES256, "{\"alg\":\"ES256\",\"kid\":\"enc\"}", pl),
		       VERIFY_KEY_REJECTED);
		EXPECT("token: key_ops without verify -> key_rejected",
		       jwtmint_sign(keys[JWS_ES256].key, JWS_ES256, "{\"alg\":\"ES256\",\"kid\":\"signonly\"}", pl),
		       VERIFY_KEY_REJECTED);
		json_decref(extra);
		EVP_PKEY_free(small);
		EVP_PKEY_free(e1key);
		trust_setup(NULL, NULL);
	}
	/* key sets refused whole */
	{
		struct jwks s;
		char *why = NULL;
		const char *priv = "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\",\"d\":\"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\"}]}";
		const char *dup = "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"a\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"},{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"a\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}]}";

		TEST("jwks: a set holding private key material is refused whole");
		CHECK(jwks_parse(priv, strlen(priv), false, &s, &why) == -EINVAL && why && strstr(why, "private"),
		      "accepted");
		free(why);
		TEST_END();
		TEST("jwks: duplicate kids refuse the set");
		why = NULL;
		CHECK(jwks_parse(dup, strlen(dup), false, &s, &why) == -EINVAL && why && strstr(why, "duplicate kid"),
		      "accepted");
		free(why);
		TEST_END();
	}
	free(pl);
}

static void test_signature_rows(void)
{
	char *t = mint(JWS_ES256, NULL);
	uint8_t sig[132];
	size_t sl;
	char *orig = sig_bytes_of(t, &sl);
	static const uint8_t n256[32] = { 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
					  0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17,
					  0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51 };

	memset(sig, 0, 64);
	EXPECT("token: ES256 r = s = 0 (psychic signature) -> bad_signature", with_sig_bytes(t, sig, 64),
	       VERIFY_BAD_SIGNATURE);
	memcpy(sig, orig, 64);
	memset(sig, 0, 32);
	EXPECT("token: ES256 r = 0 -> bad_signature", with_sig_bytes(t, sig, 64), VERIFY_BAD_SIGNATURE);
	memcpy(sig, orig, 64);
	memcpy(sig + 32, n256, 32);
	EXPECT("token: ES256 s = n -> bad_signature", with_sig_bytes(t, sig, 64), VERIFY_BAD_SIGNATURE);
	memcpy(sig, n256, 32);
	memcpy(sig + 32, orig + 32, 32);
	EXPECT("token: ES256 r = n -> bad_signature", with_sig_bytes(t, sig, 64), VERIFY_BAD_SIGNATURE);
	EXPECT("token: ES256 signature of 63 bytes -> bad_signature",
	       with_sig_bytes(t, (uint8_t *)orig, 63), VERIFY_BAD_SIGNATURE);
	memcpy(sig, orig, 64);
	sig[64] = 0;
	EXPECT("token: ES256 signature of 65 bytes -> bad_signature", with_sig_bytes(t, sig, 65),
	       VERIFY_BAD_SIGNATURE);
	memset(sig, 0, sizeof(sig));
	memcpy(sig, orig, 64);
	memcpy(sig + 64, orig, 64);
	EXPECT("token: ES256 signature of 128 bytes -> bad_signature", with_sig_bytes(t, sig, 128),
	       VERIFY_BAD_SIGNATURE);
	{
		/* the same signature, DER-encoded: valid ECDSA, never a valid JWS */
		ECDSA_SIG *es = ECDSA_SIG_new();
		unsigned char *der = NULL;
		int dl;

		ECDSA_SIG_set0(es, BN_bin2bn((uint8_t *)orig, 32, NULL), BN_bin2bn((uint8_t *)orig + 32, 32, NULL));
		dl = i2d_ECDSA_SIG(es, &der);
		EXPECT("token: ES256 with a DER-encoded signature -> bad_signature",
		       with_sig_bytes(t, der, (size_t)dl), VERIFY_BAD_SIGNATURE);
		OPENSSL_free(der);
		ECDSA_SIG_free(es);
	}
	/* any byte of header, payload or signature changed */
	{
		size_t len = strlen(t), bad = 0;

		TEST("token: every single-character change of the token is refused");
		for (size_t i = 0; i < len; i++) {
			char *u = strdup(t);
			int r;

			if (u[i] == '.') {
				free(u);
				continue;
			}
			u[i] = u[i] == 'A' ? 'B' : 'A';
			r = verify(u);
			if (r == VERIFY_OK) {
				bad++;
				printf("    position %zu accepted\n", i);
			}
			free(u);
		}
		CHECK(bad == 0, "%zu changed tokens accepted", bad);
		TEST_END();
	}
	{
		char *r = mint(JWS_RS256, NULL);
		size_t rl;
		char *rs = sig_bytes_of(r, &rl);

		EXPECT("token: RS256 signature one byte short -> bad_signature",
		       with_sig_bytes(r, (uint8_t *)rs, rl - 1), VERIFY_BAD_SIGNATURE);
		free(rs);
		free(r);
	}
	free(orig);
	free(t);
}

static void test_claim_rows(void)
{
	const char *auds[] = { "[]", "null", "123", "[1]", "\"other\"", "[\"other\"]" };
	const char *exps[] = { "\"1800000600\"", "true", "null", "-1", "1e300", "1800000600.5" };
	char extra[256], nm[128];

	for (int i = 0; i < 6; i++) {
		char *hdr = strdup_printf("{\"alg\":\"ES256\",\"kid\":\"es256\"}");
		char *pl = strdup_printf("{\"iss\":\"" ISS "\",\"sub\":\"s\",\"aud\":%s,\"exp\":%lld}", auds[i],
					 (long long)NOW + 60);

		snprintf(nm, sizeof(nm), "token: aud %s -> bad_audience", auds[i]);
		EXPECT(nm, jwtmint_sign(keys[JWS_ES256].key, JWS_ES256, hdr, pl), VERIFY_BAD_AUDIENCE);
		free(hdr);
		free(pl);
	}
	EXPECT("token: aud array containing ours -> ok", jwtmint_sign(keys[JWS_ES256].key, JWS_ES256,
	       "{\"alg\":\"ES256\",\"kid\":\"es256\"}",
	       "{\"iss\":\"" ISS "\",\"sub\":\"s\",\"aud\":[\"x\",\"mcpfence\"],\"exp\":1800000060}"), VERIFY_OK);
	trust_setup("\"single_audience\":true", NULL);
	EXPECT("token: two audiences where the issuer requires one -> bad_audience",
	       jwtmint_sign(keys[JWS_ES256].key, JWS_ES256, "{\"alg\":\"ES256\",\"kid\":\"es256\"}",
			"{\"iss\":\"" ISS "\",\"sub\":\"s\",\"aud\":[\"x\",\"mcpfence\"],\"exp\":1800000060}"),
	       VERIFY_BAD_AUDIENCE);
	trust_setup(NULL, NULL);
	EXPECT("token: aud missing -> bad_audience", jwtmint_sign(keys[JWS_ES256].key, JWS_ES256,
	       "{\"alg\":\"ES256\",\"kid\":\"es256\"}", "{\"iss\":\"" ISS "\",\"sub\":\"s\",\"exp\":1800000060}"),
	       VERIFY_BAD_AUDIENCE);
	for (int i = 0; i < 6; i++) {
		char *pl = strdup_printf("{\"iss\":\"" ISS "\",\"sub\":\"s\",\"aud\":\"mcpfence\",\"exp\":%s}", exps[i]);

		snprintf(nm, sizeof(nm), "token: exp %s -> bad_expiry", exps[i]);
		EXPECT(nm, jwtmint_sign(keys[JWS_ES256].key, JWS_ES256, "{\"alg\":\"ES256\",\"kid\":\"es256\"}", pl),
		       VERIFY_BAD_EXPIRY);
		free(pl);
	}
	EXPECT("token: exp missing -> bad_expiry", jwtmint_sign(keys[JWS_ES256].key, JWS_ES256,
	       "{\"alg\":\"ES256\",\"kid\":\"es256\"}", "{\"iss\":\"" ISS "\",\"sub\":\"s\",\"aud\":\"mcpfence\"}"),
	       VERIFY_BAD_EXPIRY);
	EXPECT("token: exp as an integral real (1800000600.0) -> ok", jwtmint_sign(keys[JWS_ES256].key, JWS_ES256,
	       "{\"alg\":\"ES256\",\"kid\":\"es256\"}", "{\"iss\":\"" ISS "\",\"sub\":\"s\",\"aud\":\"mcpfence\",\"exp\":1800000600.0}"),
	       VERIFY_OK);
	/* time: default skew 30 s */
	snprintf(extra, sizeof(extra), "{\"iss\":\"" ISS "\",\"sub\":\"s\",\"aud\":\"mcpfence\",\"exp\":%lld}", (long long)NOW - 31);
	EXPECT("token: expired 31 s ago (skew 30) -> expired",
	       jwtmint_sign(keys[JWS_ES256].key, JWS_ES256, "{\"alg\":\"ES256\",\"kid\":\"es256\"}", extra), VERIFY_EXPIRED);
	snprintf(extra, sizeof(extra), "{\"iss\":\"" ISS "\",\"sub\":\"s\",\"aud\":\"mcpfence\",\"exp\":%lld}", (long long)NOW - 30);
	EXPECT("token: expired 30 s ago, within skew -> ok",
	       jwtmint_sign(keys[JWS_ES256].key, JWS_ES256, "{\"alg\":\"ES256\",\"kid\":\"es256\"}", extra), VERIFY_OK);
	snprintf(extra, sizeof(extra), "\"nbf\":%lld", (long long)NOW + 31);
	EXPECT("token: nbf 31 s in the future -> not_yet_valid", mint(JWS_ES256, extra), VERIFY_NOT_YET_VALID);
	{
		char *pl = strdup_printf("{\"iss\":\"" ISS "\",\"sub\":\"s\",\"aud\":\"mcpfence\",\"iat\":%lld,\"exp\":%lld}",
					 (long long)NOW + 31, (long long)NOW + 600);

		EXPECT("token: iat 31 s in the future -> not_yet_valid",
		       jwtmint_sign(keys[JWS_ES256].key, JWS_ES256, "{\"alg\":\"ES256\",\"kid\":\"es256\"}", pl),
		       VERIFY_NOT_YET_VALID);
		free(pl);
	}
	EXPECT("token: nbf a string -> bad_claim", mint(JWS_ES256, "\"nbf\":\"soon\""), VERIFY_BAD_CLAIM);
	{
		char *pl = strdup_printf("{\"iss\":\"" ISS "\",\"sub\":\"s\",\"aud\":\"mcpfence\",\"exp\":%lld}",
					 (long long)NOW + 3601);

		EXPECT("token: lifetime 3601 s above the 1 h cap -> lifetime_too_long",
		       jwtmint_sign(keys[JWS_ES256].key, JWS_ES256, "{\"alg\":\"ES256\",\"kid\":\"es256\"}", pl),
		       VERIFY_LIFETIME_TOO_LONG);
		trust_setup("\"max_lifetime\":\"2h\"", NULL);
		EXPECT("token: ... within an issuer's 2 h cap -> ok",
		       jwtmint_sign(keys[JWS_ES256].key, JWS_ES256, "{\"alg\":\"ES256\",\"kid\":\"es256\"}", pl), VERIFY_OK);
		trust_setup("\"require_iat\":true", NULL);
		EXPECT("token: iat missing where the issuer requires it -> bad_claim",
		       jwtmint_sign(keys[JWS_ES256].key, JWS_ES256, "{\"alg\":\"ES256\",\"kid\":\"es256\"}", pl), VERIFY_BAD_CLAIM);
		trust_setup(NULL, NULL);
		free(pl);
	}
	/* subject */
	EXPECT("token: sub empty -> bad_subject", jwtmint_sign(keys[JWS_ES256].key, JWS_ES256,
	       "{\"alg\":\"ES256\",\"kid\":\"es256\"}", "{\"iss\":\"" ISS "\",\"sub\":\"\",\"aud\":\"mcpfence\",\"exp\":1800000060}"),
	       VERIFY_BAD_SUBJECT);
	EXPECT("token: sub a number -> bad_subject", jwtmint_sign(keys[JWS_ES256].key, JWS_ES256,
	       "{\"alg\":\"ES256\",\"kid\":\"es256\"}", "{\"iss\":\"" ISS "\",\"sub\":7,\"aud\":\"mcpfence\",\"exp\":1800000060}"),
	       VERIFY_BAD_SUBJECT);
	{
		char *pl = malloc(1200), *p = pl;

		p += sprintf(p, "{\"iss\":\"" ISS "\",\"aud\":\"mcpfence\",\"exp\":1800000060,\"sub\":\"");
		memset(p, 's', 1025);
		strcpy(p + 1025, "\"}");
		EXPECT("token: sub of 1025 bytes -> bad_subject",
		       jwtmint_sign(keys[JWS_ES256].key, JWS_ES256, "{\"alg\":\"ES256\",\"kid\":\"es256\"}", pl), VERIFY_BAD_SUBJECT);
		free(pl);
	}
	/* issuer: byte-exact */
	{
		const char *isss[] = { ISS "/", "https://ISSUER.test", "http://issuer.test" };

		for (int i = 0; i < 3; i++) {
			char *pl = strdup_printf("{\"iss\":\"%s\",\"sub\":\"s\",\"aud\":\"mcpfence\",\"exp\":1800000060}", isss[i]);

			snprintf(nm, sizeof(nm), "token: iss %s -> unknown_issuer", isss[i]);
			EXPECT(nm, jwtmint_sign(keys[JWS_ES256].key, JWS_ES256, "{\"alg\":\"ES256\",\"kid\":\"es256\"}", pl),
			       VERIFY_UNKNOWN_ISSUER);
			free(pl);
		}
	}
	/* SPIFFE */
	trust_setup("\"spiffe_trust_domain\":\"prod.example\"", NULL);
	EXPECT("token: SPIFFE sub in the bundle's trust domain -> ok", jwtmint_sign(keys[JWS_ES256].key, JWS_ES256,
	       "{\"alg\":\"ES256\",\"kid\":\"es256\"}", "{\"iss\":\"" ISS "\",\"sub\":\"spiffe://prod.example/ns/a/sa/b\",\"aud\":\"mcpfence\",\"exp\":1800000060}"),
	       VERIFY_OK);
	EXPECT("token: SPIFFE sub in another trust domain -> trust_domain_mismatch", jwtmint_sign(keys[JWS_ES256].key, JWS_ES256,
	       "{\"alg\":\"ES256\",\"kid\":\"es256\"}", "{\"iss\":\"" ISS "\",\"sub\":\"spiffe://prod.example.evil/x\",\"aud\":\"mcpfence\",\"exp\":1800000060}"),
	       VERIFY_TRUST_DOMAIN);
	trust_setup(NULL, NULL);
}

static struct policy *policy_of(const char *name, const char *identity)
{
	struct policy *p = NULL;
	struct diag e = {};
	char *doc = strdup_printf("{\"apiVersion\":\"mcpfence/v1\",\"kind\":\"EgressPolicy\",\"metadata\":{\"name\":\"%s\"},"
				  "\"spec\":{\"identity\":%s,\"egress\":[]}}", name, identity);

	if (policy_parse("p.json", doc, strlen(doc), &p, &e) < 0)
		for (size_t i = 0; i < e.n; i++)
			printf("    %s\n", e.msgs[i]);
	diag_clear(&e);
	free(doc);
	return p;
}

/* A trust of one preset entry (keys from the test key file), and a token under it. */
static int preset_verify(const char *entry, enum jws_alg alg, const char *claims, char *detail,
			 size_t len, struct token *ret)
{
	char *cfg = strdup_printf("{\"issuers\":[{%s,\"jwks_file\":\"%s/keys.jwks\"}]}", entry, tmpdir);
	char *hdr = strdup_printf("{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"JWT\"}", jws_alg_name(alg),
				  keys[alg].name);
	char *t = jwtmint_sign(keys[alg].key, alg, hdr, claims);
	json_t *j = json_loads(cfg, 0, NULL);
	struct diag e = {};
	struct token tok;
	int r;

	trust_clear(&trust);
	r = trust_load(j, "t.json", &trust, &e);
	if (r < 0) {
		snprintf(detail, len, "%s", e.n ? e.msgs[0] : "?");
		r = -1;
	} else {
		r = token_verify(&trust, t, strlen(t), NOW, &tok, detail, len);
		if (r == VERIFY_OK && ret)
			*ret = tok;
		else if (r == VERIFY_OK)
			token_clear(&tok);
	}
	json_decref(j);
	diag_clear(&e);
	free(cfg);
	free(hdr);
	free(t);
	return r;
}

#define TENANT "72f988bf-86f1-41af-91ab-2d7cd011db47"
#define ENTRA2 "https://login.microsoftonline.com/" TENANT "/v2.0"
#define ENTRA1 "https://sts.windows.net/" TENANT "/"
#define AWSISS "https://a1d2b0fd-1177-4468-9351-2fexample723.tokens.sts.global.api.aws"

/* Presets and near misses on the providers' real token shapes (docs/identity.md#presets). */
static void test_presets(void)
{
	static const struct {
		const char *name, *entry;
		enum jws_alg alg;
		const char *claims; /* %lld: NOW */
		int want;
		const char *detail; /* in the detail, when given */
	} rows[] = {
		{ "entra: a 90-minute v2.0 token verifies under preset entra",
		  "\"preset\":\"entra\",\"tenant\":\"" TENANT "\",\"audience\":\"6e74172b-be56-4843-9ff4-e66a39bb12e3\"",
		  JWS_RS256, "{\"iss\":\"" ENTRA2 "\",\"aud\":\"6e74172b-be56-4843-9ff4-e66a39bb12e3\",\"sub\":\"AAAA\","
		  "\"oid\":\"0b1c\",\"tid\":\"" TENANT "\",\"azp\":\"c1\",\"roles\":[\"Egress.Use\"],\"ver\":\"2.0\","
		  "\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld}", VERIFY_OK, NULL },
		{ "entra: the same token under a plain entry: lifetime_too_long, naming the preset",
		  "\"issuer\":\"" ENTRA2 "\",\"audience\":\"6e74172b-be56-4843-9ff4-e66a39bb12e3\"",
		  JWS_RS256, "{\"iss\":\"" ENTRA2 "\",\"aud\":\"6e74172b-be56-4843-9ff4-e66a39bb12e3\",\"sub\":\"AAAA\","
		  "\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld}", VERIFY_LIFETIME_TOO_LONG, "preset entra sets max_lifetime 90m" },
		{ "entra: a v1.0 token where v2.0 is configured: unknown_issuer, naming the version",
		  "\"preset\":\"entra\",\"tenant\":\"" TENANT "\",\"audience\":\"api://mcpfence\"",
		  JWS_RS256, "{\"iss\":\"" ENTRA1 "\",\"aud\":\"api://mcpfence\",\"sub\":\"AAAA\",\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld}",
		  VERIFY_UNKNOWN_ISSUER, "Entra ID's v1.0 issuer for tenant " TENANT },
		{ "entra: a v1.0 token under token_version 1 verifies",
		  "\"preset\":\"entra\",\"tenant\":\"" TENANT "\",\"token_version\":1,\"audience\":\"api://mcpfence\"",
		  JWS_RS256, "{\"iss\":\"" ENTRA1 "\",\"aud\":\"api://mcpfence\",\"sub\":\"AAAA\",\"appid\":\"c1\",\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld}",
		  VERIFY_OK, NULL },
		{ "entra: another tenant's token: unknown_issuer, naming the tenant",
		  "\"preset\":\"entra\",\"tenant\":\"" TENANT "\",\"audience\":\"api://mcpfence\"",
		  JWS_RS256, "{\"iss\":\"https://login.microsoftonline.com/00000000-0000-0000-0000-000000000001/v2.0\","
		  "\"aud\":\"api://mcpfence\",\"sub\":\"AAAA\",\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld}",
		  VERIFY_UNKNOWN_ISSUER, "tenant 00000000-0000-0000-0000-000000000001 is not trusted" },
		{ "entra: ES256 is not Entra's algorithm",
		  "\"preset\":\"entra\",\"tenant\":\"" TENANT "\",\"audience\":\"api://mcpfence\"",
		  JWS_ES256, "{\"iss\":\"" ENTRA2 "\",\"aud\":\"api://mcpfence\",\"sub\":\"AAAA\",\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld}",
		  VERIFY_ALG_NOT_ALLOWED, NULL },
		{ "google: a token with iss accounts.google.com is Google's issuer",
		  "\"preset\":\"google\",\"audience\":\"https://mcpfence.example\"",
		  JWS_RS256, "{\"iss\":\"accounts.google.com\",\"aud\":\"https://mcpfence.example\",\"sub\":\"113920350001\","
		  "\"azp\":\"113920350001\",\"email\":\"mcp@p.iam.gserviceaccount.com\",\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld}",
		  VERIFY_OK, NULL },
		{ "google: ... but not under a plain entry for https://accounts.google.com (named)",
		  "\"issuer\":\"https://accounts.google.com\",\"audience\":\"https://mcpfence.example\"",
		  JWS_RS256, "{\"iss\":\"accounts.google.com\",\"aud\":\"https://mcpfence.example\",\"sub\":\"1\",\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld}",
		  VERIFY_UNKNOWN_ISSUER, "preset google takes both forms" },
		{ "aws: ES384 with principal_tags under the URL key verifies under preset aws",
		  "\"preset\":\"aws\",\"issuer\":\"" AWSISS "\",\"audience\":\"https://api.example.com\"",
		  JWS_ES384, "{\"iss\":\"" AWSISS "\",\"aud\":\"https://api.example.com\",\"sub\":\"arn:aws:iam::123456789012:role/R\","
		  "\"https://sts.amazonaws.com/\":{\"aws_account\":\"123456789012\",\"principal_tags\":{\"team\":\"data\"}},"
		  "\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld}", VERIFY_OK, NULL },
		{ "aws: three audiences under the preset's max_audiences 1: bad_audience, naming it",
		  "\"preset\":\"aws\",\"issuer\":\"" AWSISS "\",\"audience\":\"https://api.example.com\"",
		  JWS_RS256, "{\"iss\":\"" AWSISS "\",\"aud\":[\"https://a.example\",\"https://api.example.com\",\"https://c.example\"],"
		  "\"sub\":\"arn:aws:iam::1:role/R\",\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld}", VERIFY_BAD_AUDIENCE, "max_audiences" },
		{ "aws: three audiences with max_audiences 3 verify",
		  "\"preset\":\"aws\",\"issuer\":\"" AWSISS "\",\"audience\":\"https://api.example.com\",\"max_audiences\":3",
		  JWS_RS256, "{\"iss\":\"" AWSISS "\",\"aud\":[\"https://a.example\",\"https://api.example.com\",\"https://c.example\"],"
		  "\"sub\":\"arn:aws:iam::1:role/R\",\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld}", VERIFY_OK, NULL },
		{ "aws: three audiences without ours, even allowed: bad_audience",
		  "\"preset\":\"aws\",\"issuer\":\"" AWSISS "\",\"audience\":\"https://api.example.com\",\"max_audiences\":3",
		  JWS_RS256, "{\"iss\":\"" AWSISS "\",\"aud\":[\"https://a.example\",\"https://b.example\",\"https://c.example\"],"
		  "\"sub\":\"arn:aws:iam::1:role/R\",\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld}", VERIFY_BAD_AUDIENCE, "does not name" },
		{ "aws: ES384 under a plain entry with RS256 only: alg_not_allowed, naming the preset",
		  "\"issuer\":\"" AWSISS "\",\"audience\":\"https://api.example.com\",\"algorithms\":[\"RS256\"]",
		  JWS_ES384, "{\"iss\":\"" AWSISS "\",\"aud\":\"https://api.example.com\",\"sub\":\"arn:aws:iam::1:role/R\",\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld}",
		  VERIFY_ALG_NOT_ALLOWED, "preset aws takes both" },
		{ "aws: another account's issuer: unknown_issuer, saying so",
		  "\"preset\":\"aws\",\"issuer\":\"" AWSISS "\",\"audience\":\"https://api.example.com\"",
		  JWS_RS256, "{\"iss\":\"https://b2.tokens.sts.global.api.aws\",\"aud\":\"https://api.example.com\",\"sub\":\"arn:aws:iam::1:role/R\",\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld}",
		  VERIFY_UNKNOWN_ISSUER, "another AWS account's issuer" },
		{ "slash: an issuer differing by a trailing slash is named",
		  "\"issuer\":\"https://issuer.test/\"",
		  JWS_RS256, "{\"iss\":\"https://issuer.test\",\"aud\":\"mcpfence\",\"sub\":\"s\",\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld}",
		  VERIFY_UNKNOWN_ISSUER, "differs only by a trailing slash" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		/* Entra tokens: 90 minutes; the others 15 */
		long long life = strstr(rows[i].entry, "entra") || strstr(rows[i].entry, "microsoftonline") ? 5400 : 900;
		char *claims = strdup_printf(rows[i].claims, (long long)NOW, (long long)NOW, (long long)NOW + life);
		char detail[512] = "";
		int r = preset_verify(rows[i].entry, rows[i].alg, claims, detail, sizeof(detail), NULL);
		char nm[200];

		snprintf(nm, sizeof(nm), "preset: %s", rows[i].name);
		TEST(nm);
		CHECK(r == rows[i].want, "got %s (%s)", r < 0 ? "config error" : verify_error_name(r), detail);
		if (rows[i].detail)
			CHECK(strstr(detail, rows[i].detail), "detail: %s", detail);
		TEST_END();
		free(claims);
	}
	TEST("preset: google's bare iss is taken as the canonical one, which policies name");
	{
		struct token tok;
		char detail[256], *claims = strdup_printf("{\"iss\":\"accounts.google.com\",\"aud\":\"x\",\"sub\":\"1\",\"exp\":%lld}",
							  (long long)NOW + 60);

		CHECK(preset_verify("\"preset\":\"google\",\"audience\":\"x\"", JWS_RS256, claims, detail, sizeof(detail),
				    &tok) == VERIFY_OK && !strcmp(tok.iss, "https://accounts.google.com"), "%s", detail);
		token_clear(&tok);
		free(claims);
	}
	TEST_END();
	trust_setup(NULL, NULL);
}

/* Claims as the clouds shape them: arrays (roles), numbers, keys with dots and slashes. */
static void test_cloud_claims(void)
{
	struct policy *p[3];
	struct policy_set set = { .n = 3, .items = p };
	struct token tok;
	const struct policy *got = NULL;
	json_t *matched = NULL;
	char detail[256];
	char *t = mint(JWS_ES256, "\"roles\":[\"Reader\",\"Egress.Use\"],\"project_number\":123456789,"
			"\"https://sts.amazonaws.com/\":{\"principal_tags\":{\"team\":\"data\"}}");
	int r = token_verify(&trust, t, strlen(t), NOW, &tok, detail, sizeof(detail));

	p[0] = policy_of("roles", "{\"issuer\":\"" ISS "\",\"claims\":{\"roles\":\"Egress.Use\",\"project_number\":\"123456789\"}}");
	p[1] = policy_of("tags", "{\"issuer\":\"" ISS "\",\"claims\":{\"['https://sts.amazonaws.com/'].principal_tags.team\":\"ops\"}}");
	p[2] = policy_of("none", "{\"issuer\":\"" ISS "\",\"claims\":{\"roles\":\"Admin\"}}");
	TEST("identity: an array claim matches when one item does; a number by its decimal text");
	CHECK(r == VERIFY_OK, "verify %s", verify_error_name(r));
	r = identity_select(&set, &tok, NULL, &got, &matched, detail, sizeof(detail));
	CHECK(r == VERIFY_OK && got == p[0], "%s %s", verify_error_name(r), detail);
	json_decref(matched);
	TEST_END();
	TEST("identity: a bracketed path reaches into the AWS URL-named claim");
	policy_free(p[1]);
	p[1] = policy_of("tags", "{\"issuer\":\"" ISS "\",\"claims\":{\"['https://sts.amazonaws.com/'].principal_tags.team\":\"data\"}}");
	r = identity_select(&set, &tok, NULL, &got, &matched, detail, sizeof(detail));
	CHECK(r == VERIFY_AMBIGUOUS_POLICY, "%s: both roles and tags match now", verify_error_name(r));
	TEST_END();
	token_clear(&tok);
	free(t);
	for (int i = 0; i < 3; i++)
		policy_free(p[i]);
}

static void test_matching(void)
{
	struct policy_set set = {};
	struct token tok;
	const struct policy *p = NULL;
	json_t *matched = NULL;
	char detail[256];
	char *t = mint(JWS_ES256, "\"kubernetes.io\":{\"namespace\":\"mcp\",\"pod\":{\"name\":\"gh-0\",\"uid\":\"4b8c1d2e-1111-2222-3333-444455556666\"},\"serviceaccount\":{\"name\":\"github-mcp\"}},\"repository\":\"acme/github-mcp\"");
	int r;

	set.items = calloc(4, sizeof(*set.items));
	set.items[set.n++] = policy_of("k8s", "{\"issuer\":\"" ISS "\",\"audience\":\"mcpfence\",\"claims\":{\"kubernetes.io.namespace\":\"mcp\",\"kubernetes.io.serviceaccount.name\":\"github-mcp\"}}");
	set.items[set.n++] = policy_of("other-ns", "{\"issuer\":\"" ISS "\",\"claims\":{\"kubernetes.io.namespace\":\"default\"}}");
	set.items[set.n++] = policy_of("glob", "{\"issuer\":\"" ISS "\",\"subject\":{\"glob\":\"workload-*\"},\"claims\":{\"repository\":\"acme/other\"}}");
	r = token_verify(&trust, t, strlen(t), NOW, &tok, detail, sizeof(detail));
	TEST("identity: nested claims select exactly one policy and report what matched");
	CHECK(r == VERIFY_OK, "verify %s", verify_error_name(r));
	if (r == VERIFY_OK) {
		r = identity_select(&set, &tok, NULL, &p, &matched, detail, sizeof(detail));
		CHECK(r == VERIFY_OK && p && !strcmp(p->name, "k8s"), "select: %s %s", verify_error_name(r), detail);
		CHECK(matched && !strcmp(json_string_value(json_object_get(matched, "kubernetes.io.namespace")), "mcp"),
		      "matched claims");
		json_decref(matched);
		TEST_END();
		/* a glob that also matches makes it ambiguous */
		policy_free(set.items[2]);
		set.items[2] = policy_of("glob", "{\"issuer\":\"" ISS "\",\"subject\":{\"glob\":\"workload-*\"}}");
		r = identity_select(&set, &tok, NULL, &p, &matched, detail, sizeof(detail));
		TEST("identity: two matching policies -> ambiguous_policy");
		CHECK(r == VERIFY_AMBIGUOUS_POLICY && strstr(detail, "k8s, glob"), "%s %s", verify_error_name(r), detail);
		TEST_END();
		token_clear(&tok);
	}
	free(t);
	t = mint(JWS_ES256, "\"kubernetes.io\":{\"namespace\":\"elsewhere\"}");
	r = token_verify(&trust, t, strlen(t), NOW, &tok, detail, sizeof(detail));
	policy_free(set.items[2]);
	set.items[2] = policy_of("glob", "{\"issuer\":\"" ISS "\",\"subject\":{\"glob\":\"other-*\"}}");
	TEST("identity: valid token whose claims match no policy -> no_matching_policy");
	CHECK(r == VERIFY_OK && identity_select(&set, &tok, NULL, &p, &matched, detail, sizeof(detail)) == VERIFY_NO_POLICY,
	      "selected");
	TEST_END();
	TEST("identity: exact matching means no prefix or case folding");
	{
		struct policy *q = policy_of("exact", "{\"issuer\":\"" ISS "\",\"subject\":\"WORKLOAD-A\"}");
		struct policy_set one = { .n = 1, .items = &q };

		CHECK(identity_select(&one, &tok, NULL, &p, &matched, detail, sizeof(detail)) == VERIFY_NO_POLICY, "case");
		policy_free(q);
	}
	TEST_END();
	if (r == VERIFY_OK)
		token_clear(&tok);
	free(t);
	policy_set_clear(&set);
}

static void test_rotation(void)
{
	EVP_PKEY *fresh = EVP_EC_gen("P-256");
	json_t *extra = json_array();
	char *pl = claims_json(NULL), *t;
	char *path = strdup_printf("%s/keys.jwks", tmpdir);

	TEST("trust: a rewritten JWKS file is picked up without a restart (key rotation)");
	t = jwtmint_sign(fresh, JWS_ES256, "{\"alg\":\"ES256\",\"kid\":\"rotated\"}", pl);
	CHECK(verify(t) == VERIFY_KEY_NOT_FOUND, "new key known too early");
	json_array_append_new(extra, jwtmint_jwk(fresh, "rotated", JWS_ES256));
	sleep(1); /* mtime granularity */
	{
		json_t *set = json_array(), *root;

		for (int a = 0; a < JWS_ALG_MAX; a++)
			json_array_append(set, keys[a].jwk);
		json_array_extend(set, extra);
		root = json_pack("{s:o}", "keys", set);
		json_dump_file(root, path, 0);
		json_decref(root);
	}
	CHECK(verify(t) == VERIFY_OK, "rotated key not picked up");
	TEST_END();
	TEST("trust: a broken rewrite keeps the last good key set");
	{
		FILE *f = fopen(path, "w");

		fputs("{\"keys\": [", f);
		fclose(f);
		sleep(1);
		utimes(path, NULL);
	}
	CHECK(verify(t) == VERIFY_OK, "last good set dropped");
	TEST_END();
	free(t);
	free(pl);
	free(path);
	json_decref(extra);
	EVP_PKEY_free(fresh);
	trust_setup(NULL, NULL);
}

static void test_config_errors(void)
{
	const char *bad[][2] = {
		{ "{\"issuers\":[{\"preset\":\"azure\"}]}", "preset: one of entra, google, aws" },
		{ "{\"issuers\":[{\"preset\":\"entra\",\"audience\":\"a\"}]}", "tenant: required by preset entra" },
		{ "{\"issuers\":[{\"preset\":\"entra\",\"tenant\":\"t\"}]}", "audience: required by preset entra" },
		{ "{\"issuers\":[{\"preset\":\"entra\",\"tenant\":\"a/b\",\"audience\":\"a\"}]}", "tenant: the directory (tenant) id" },
		{ "{\"issuers\":[{\"preset\":\"entra\",\"tenant\":\"t\",\"token_version\":3,\"audience\":\"a\"}]}", "token_version: 1 or 2" },
		{ "{\"issuers\":[{\"preset\":\"entra\",\"issuer\":\"https://sts.windows.net/t1/\",\"tenant\":\"t2\",\"audience\":\"a\"}]}", "names tenant t1" },
		{ "{\"issuers\":[{\"preset\":\"aws\",\"issuer\":\"https://sts.amazonaws.com\",\"audience\":\"a\"}]}", "preset aws needs the account's issuer" },
		{ "{\"issuers\":[{\"preset\":\"google\",\"issuer\":\"https://google.com\",\"audience\":\"a\"}]}", "preset google is the issuer" },
		{ "{\"issuers\":[{\"preset\":\"spiffe\",\"issuer\":\"https://x\",\"discovery\":true}]}", "spiffe_trust_domain: required" },
		{ "{\"issuers\":[{\"issuer\":\"https://x\",\"discovery\":true,\"tenant\":\"t\"}]}", "belong to preset entra" },
		{ "{\"issuers\":[{\"issuer\":\"https://x\",\"discovery\":true,\"max_audiences\":0}]}", "max_audiences: a number from 1" },
		{ "{\"issuers\":[{\"issuer\":\"https://x\",\"discovery\":true,\"max_audiences\":2,\"single_audience\":true}]}", "contradicts max_audiences" },
		{ "{\"issuers\":[{\"issuer\":\"" ISS "\"}]}", "needs exactly one of jwks_file, discovery, jwks_uri" },
		{ "{\"issuers\":[{\"issuer\":\"" ISS "\",\"jwks_file\":\"k\",\"algorithms\":[\"HS256\"]}]}", "algorithms[0]: not one of" },
		{ "{\"issuers\":[{\"issuer\":\"" ISS "\",\"jwks_file\":\"k\",\"skew\":\"2m\"}]}", "skew: must be a duration" },
		{ "{\"issuers\":[{\"issuer\":\"" ISS "\",\"jwks_file\":\"k\",\"max_lifetime\":\"25h\"}]}", "max_lifetime: must be" },
		{ "{\"issuers\":[{\"issuer\":\"http://x\",\"discovery\":true}]}", "the issuer must be an https URL" },
		{ "{\"issuers\":[{\"issuer\":\"" ISS "\",\"jwks_file\":\"k\",\"secret\":\"x\"}]}", "secret: unknown field" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct trust t2;
		struct diag e = {};
		json_t *j = json_loads(bad[i][0], 0, NULL);
		char nm[128];
		bool found = false;

		snprintf(nm, sizeof(nm), "trust config: \"%.60s\" is refused", bad[i][1]);
		TEST(nm);
		CHECK(trust_load(j, "t.json", &t2, &e) == -EINVAL, "accepted");
		for (size_t k = 0; k < e.n; k++)
			found |= strstr(e.msgs[k], bad[i][1]) != NULL;
		CHECK(found, "no error \"%s\"", bad[i][1]);
		json_decref(j);
		diag_clear(&e);
		TEST_END();
	}
}

/* The kubelet's pod cgroups, both drivers, all three QoS classes; what is not one of them. */
static void test_pod_cgroups(void)
{
	static const struct {
		const char *path, *pod; /* pod: the pod cgroup's path, NULL when none */
	} rows[] = {
		{ "/r/kubepods/pod4b8c1d2e-1111-2222-3333-444455556666/c1", "/r/kubepods/pod4b8c1d2e-1111-2222-3333-444455556666" },
		{ "/r/kubepods/burstable/pod4b8c1d2e-1111-2222-3333-444455556666/c1", "/r/kubepods/burstable/pod4b8c1d2e-1111-2222-3333-444455556666" },
		{ "/r/kubepods/besteffort/pod4b8c1d2e-1111-2222-3333-444455556666", "/r/kubepods/besteffort/pod4b8c1d2e-1111-2222-3333-444455556666" },
		{ "/r/kubepods.slice/kubepods-pod4b8c1d2e_1111_2222_3333_444455556666.slice/cri-containerd-abc.scope",
		  "/r/kubepods.slice/kubepods-pod4b8c1d2e_1111_2222_3333_444455556666.slice" },
		{ "/r/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod4b8c1d2e_1111_2222_3333_444455556666.slice/x",
		  "/r/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod4b8c1d2e_1111_2222_3333_444455556666.slice" },
		{ "/r/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod4b8c1d2e_1111_2222_3333_444455556666.slice",
		  "/r/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod4b8c1d2e_1111_2222_3333_444455556666.slice" },
		/* a cgroup a workload made below its own pod, named after another pod: still its own */
		{ "/r/kubepods/besteffort/pod4b8c1d2e-1111-2222-3333-444455556666/c1/pod00000000-9999-2222-3333-444455556666",
		  "/r/kubepods/besteffort/pod4b8c1d2e-1111-2222-3333-444455556666" },
		{ "/r/kubepods/besteffort/xpod4b8c1d2e-1111-2222-3333-444455556666/c1", NULL },
		{ "/r/kubepods/besteffort/pod4B8C1D2E-1111-2222-3333-444455556666/c1", NULL }, /* the kubelet writes lowercase */
		{ "/r/kubepods/besteffort/pod4b8c1d2e_1111_2222_3333_444455556666/c1", NULL }, /* underscores are systemd's */
		{ "/r/kubepods.slice/kubepods-pod4b8c1d2e-1111-2222-3333-444455556666.slice", NULL },
		{ "/r/kubepods.slice/other-pod4b8c1d2e_1111_2222_3333_444455556666.slice", NULL },
		{ "/r/pod4b8c1d2e-1111-2222-3333-44445555666/c", NULL }, /* one digit short */
		{ "/other/kubepods/pod4b8c1d2e-1111-2222-3333-444455556666", NULL }, /* not under the root */
		{ "/r", NULL },
	};

	static const struct {
		bool systemd;
		const char *qos, *path; /* NULL: refused */
	} made[] = {
		{ false, "Guaranteed", "pod4b8c1d2e-1111-2222-3333-444455556666" },
		{ false, "Burstable", "burstable/pod4b8c1d2e-1111-2222-3333-444455556666" },
		{ false, "BestEffort", "besteffort/pod4b8c1d2e-1111-2222-3333-444455556666" },
		{ true, "Guaranteed", "kubepods-pod4b8c1d2e_1111_2222_3333_444455556666.slice" },
		{ true, "Burstable", "kubepods-burstable.slice/kubepods-burstable-pod4b8c1d2e_1111_2222_3333_444455556666.slice" },
		{ true, "BestEffort", "kubepods-besteffort.slice/kubepods-besteffort-pod4b8c1d2e_1111_2222_3333_444455556666.slice" },
		{ false, "Unknown", NULL },
		{ false, NULL, NULL },
	};

	TEST("podcgroup: the pod cgroup the kubelet makes, both drivers, every QoS class, found again");
	for (size_t i = 0; i < sizeof(made) / sizeof(made[0]); i++) {
		char rel[256], abs[300], uid[POD_UID_LEN + 1] = "";
		int r = pod_cgroup_path(made[i].systemd, made[i].qos, "4b8c1d2e-1111-2222-3333-444455556666", rel,
					sizeof(rel));

		if (!made[i].path) {
			CHECK(r == -EINVAL, "%s -> %d (want refused)", made[i].qos ?: "(none)", r);
			continue;
		}
		snprintf(abs, sizeof(abs), "/r/%s/%s/c", made[i].systemd ? "kubepods.slice" : "kubepods", rel);
		CHECK(r == 0 && !strcmp(rel, made[i].path), "%s: %s", made[i].qos, rel);
		CHECK(pod_cgroup_find("/r", abs, uid) > 0 && !strcmp(uid, "4b8c1d2e-1111-2222-3333-444455556666"),
		      "%s: found again as %s", abs, uid);
	}
	CHECK(pod_cgroup_path(false, "Burstable", "../../etc", (char[64]){ 0 }, 64) == -EINVAL, "a uid that is a path");
	TEST_END();

	TEST("podcgroup: the pod cgroup of kubelet paths, both drivers, every QoS class");
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char uid[POD_UID_LEN + 1] = "";
		int n = pod_cgroup_find("/r", rows[i].path, uid);

		if (rows[i].pod)
			CHECK(n == (int)strlen(rows[i].pod) && !strncmp(rows[i].path, rows[i].pod, (size_t)n) &&
			      !strcmp(uid, "4b8c1d2e-1111-2222-3333-444455556666"), "%s -> %d %s", rows[i].path, n, uid);
		else
			CHECK(n == -ENOENT, "%s -> %d (want none)", rows[i].path, n);
	}
	TEST_END();
}

/* The issuer's key schedule at chosen times, and what it signs verified against its own set. */
/* The token op's untrusted inputs: a workload's request, a token endpoint's answer. */
static void test_tokenop(void)
{
	static const struct {
		const char *req;
		int want;
		long long lifetime;
	} asks[] = {
		{ "{\"audience\":\"https://api.example.com\"}", 0, 0 },
		{ "{\"audience\":\"api://x\",\"lifetime\":300}", 0, 300 },
		{ "{}", -EINVAL, 0 },
		{ "{\"audience\":\"\"}", -EINVAL, 0 },
		{ "{\"audience\":7}", -EINVAL, 0 },
		{ "{\"audience\":\"a\\u0000b\"}", -EINVAL, 0 }, /* a NUL would cut it short */
		{ "{\"audience\":\"a\",\"lifetime\":0}", -EINVAL, 0 },
		{ "{\"audience\":\"a\",\"lifetime\":\"300\"}", -EINVAL, 0 },
	};
	static const struct {
		const char *body, *token, *error;
		long long expires_in;
	} answers[] = {
		{ "{\"access_token\":\"t.k.s\",\"expires_in\":3599}", "t.k.s", NULL, 3599 },
		{ "{\"access_token\":\"t\",\"expires_in\":9223372036854775807}", "t", NULL, TOKEN_ANSWER_EXPIRES_MAX },
		{ "{\"access_token\":\"t\",\"expires_in\":-5}", "t", NULL, 0 },
		{ "{\"access_token\":\"a b\"}", NULL, NULL, 0 },
		{ "{\"access_token\":\"a\\nb\"}", NULL, NULL, 0 },
		{ "{\"error\":\"invalid_grant\",\"error_description\":\"expired\"}", NULL, "invalid_grant", 0 },
		{ "{\"error\":\"x\\\"y\"}", NULL, NULL, 0 },
		{ "not json", NULL, NULL, 0 },
	};
	char why[256];

	TEST("tokenop: requests: an audience of 1-1024 characters, an optional positive lifetime");
	for (size_t i = 0; i < sizeof(asks) / sizeof(asks[0]); i++) {
		json_t *req = json_loads(asks[i].req, 0, NULL);
		struct token_ask ask;
		int r = token_ask_parse(req, &ask, why, sizeof(why));

		CHECK(r == asks[i].want && (r < 0 || ask.lifetime_s == asks[i].lifetime), "%s: %d", asks[i].req, r);
		json_decref(req);
	}
	TEST_END();
	TEST("tokenop: answers: a usable token, an OAuth error code, expires_in bounded; else nothing");
	for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
		struct token_answer a;

		token_answer_parse(answers[i].body, strlen(answers[i].body), &a);
		CHECK(!answers[i].token == !a.access_token && (!a.access_token || !strcmp(a.access_token, answers[i].token)) &&
			      !answers[i].error == !a.error && (!a.error || !strcmp(a.error, answers[i].error)) &&
			      a.expires_in == answers[i].expires_in,
		      "%s: token %s error %s expires_in %lld", answers[i].body, a.access_token ?: "-", a.error ?: "-",
		      (long long)a.expires_in);
		token_answer_clear(&a);
	}
	TEST_END();
}

static void test_issuer(void)
{
	_cleanup_free_ char *dir = strdup_printf("%s/issuer-keys", tmpdir);
	const int64_t R = ISSUER_ROTATE_DEFAULT, L = ISSUER_LIFETIME_MAX, t0 = NOW;
	struct issuer is, again;
	char err[256] = "", first[48], kid2[48];
	struct jwks set = {};
	struct jws j = {};
	char *tok = NULL, *text, *why = NULL;
	json_t *pub, *claims = json_pack("{s:s, s:s, s:I}", "iss", "https://mcpfence.test", "aud", "x", "exp",
				   (json_int_t)(t0 + 60));

	TEST("issuer: first key at once, the next published a lifetime ahead of its turn, the old kept until its tokens expire");
	CHECK(issuer_open("https://mcpfence.test", dir, R, &is, err, sizeof(err)) == 0 && is.n == 0, "%s", err);
	CHECK(issuer_rotate(&is, t0, err, sizeof(err)) == 1 && is.n == 1, "first key: %s", err);
	snprintf(first, sizeof(first), "%s", is.keys[0].kid);
	CHECK(issuer_signing_key(&is, t0) == &is.keys[0], "the first key signs at once");
	CHECK(issuer_rotate(&is, t0 + R - L - 1, err, sizeof(err)) == 0 && is.n == 1, "nothing before its time");
	CHECK(issuer_rotate(&is, t0 + R - L, err, sizeof(err)) == 1 && is.n == 2, "the next key, a lifetime ahead");
	snprintf(kid2, sizeof(kid2), "%s", is.keys[1].kid);
	CHECK(!strcmp(issuer_signing_key(&is, t0 + R - 1)->kid, first), "published, not yet signing");
	CHECK(!strcmp(issuer_signing_key(&is, t0 + R)->kid, kid2), "its turn: it signs");
	CHECK(issuer_rotate(&is, t0 + R + L - 1, err, sizeof(err)) == 0 && is.n == 2,
	      "the old key stays while its tokens may live");
	TEST_END();
	TEST("issuer: the keys and their schedule survive a restart (the files alone)");
	CHECK(issuer_open("https://mcpfence.test", dir, R, &again, err, sizeof(err)) == 0 && again.n == 2 &&
		      !strcmp(again.keys[0].kid, first) && !strcmp(again.keys[1].kid, kid2),
	      "keys survive a restart: %s", err);
	issuer_clear(&again);
	TEST_END();
	TEST("issuer: a retired key goes once every token it signed has expired");
	CHECK(issuer_rotate(&is, t0 + R + L, err, sizeof(err)) == 1 && is.n == 1 && !strcmp(is.keys[0].kid, kid2),
	      "then it goes");
	TEST_END();
	TEST("issuer: what it signs verifies against what it publishes; a changed signature does not");
	CHECK(issuer_sign(&is, t0 + R + L, claims, &tok) == 0, "sign");
	pub = issuer_jwks(&is);
	text = json_dumps(pub, JSON_COMPACT);
	json_decref(pub);
	CHECK(text && jwks_parse(text, strlen(text), false, &set, &why) == 0, "the published set parses: %s", why ?: "");
	CHECK(tok && jws_verify(tok, strlen(tok), &set, &j) == VERIFY_OK && j.kid && !strcmp(j.kid, kid2),
	      "a minted token verifies, kid %s", kid2);
	jws_clear(&j);
	tok[strlen(tok) - 2] ^= 1;
	CHECK(jws_verify(tok, strlen(tok), &set, &j) != VERIFY_OK, "a changed signature does not");
	jws_clear(&j);
	TEST_END();
	jwks_clear(&set);
	free(text);
	free(tok);
	free(why);
	json_decref(claims);
	issuer_clear(&is);
}

int main(void)
{
	static const char *const names[JWS_ALG_MAX] = { "rs256", "rs384", "rs512", "ps256", "ps384",
							"ps512", "es256", "es384", "es512", "eddsa" };

	if (!mkdtemp(tmpdir))
		return 1;
	for (int a = 0; a < JWS_ALG_MAX; a++) {
		keys[a].name = names[a];
		keys[a].alg = a;
		if (a <= JWS_PS512)
			keys[a].key = a == JWS_RS256 || a == JWS_PS256 ? EVP_RSA_gen(2048) : EVP_RSA_gen(3072);
		else if (a == JWS_EDDSA)
			keys[a].key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		else
			keys[a].key = EVP_EC_gen(a == JWS_ES256 ? "P-256" : a == JWS_ES384 ? "P-384" : "P-521");
		keys[a].jwk = jwtmint_jwk(keys[a].key, names[a], a);
	}
	trust_setup(NULL, NULL);
	test_every_algorithm();
	test_parsing_rows();
	test_algorithm_rows();
	test_key_rows();
	test_signature_rows();
	test_claim_rows();
	test_matching();
	test_presets();
	test_cloud_claims();
	test_pod_cgroups();
	test_rotation();
	test_issuer();
	test_tokenop();
	test_config_errors();
	trust_clear(&trust);
	for (int a = 0; a < JWS_ALG_MAX; a++) {
		EVP_PKEY_free(keys[a].key);
		json_decref(keys[a].jwk);
	}
	{
		char *cmd = strdup_printf("rm -rf %s", tmpdir);

		if (system(cmd) != 0)
			printf("FAIL cleanup of %s\n", tmpdir);
		free(cmd);
	}
	return test_summary();
}
