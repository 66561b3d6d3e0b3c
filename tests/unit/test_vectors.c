// SPDX-License-Identifier: MIT
/*
 * Conformance of the signature layer with public vectors: every Wycheproof file for our
 * algorithms (valid must verify, invalid must not, acceptable either way), the DER-signature
 * ECDSA file (a JWS must accept none of them), and the JOSE cookbook examples.
 * Usage: test_vectors DIR   (DIR holds wycheproof/ and jose-cookbook/)
 */
#include <openssl/evp.h>

#include "testlib.h"
#include "jws.h"
#include "b64url.h"
#include "util.h"

static const char *dir;

static uint8_t *hex(const char *s, size_t *len)
{
	size_t n = strlen(s) / 2;
	uint8_t *out = malloc(n + 1);

	for (size_t i = 0; i < n; i++)
		sscanf(s + 2 * i, "%2hhx", &out[i]);
	*len = n;
	return out;
}

static json_t *load(const char *rel)
{
	char path[512];
	json_error_t e;
	json_t *j;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	j = json_load_file(path, 0, &e);
	if (!j)
		printf("    cannot load %s: %s\n", path, e.text);
	return j;
}

/* A key without its private members: the vectors ship key pairs. */
static EVP_PKEY *import_public(json_t *jwk, struct jwk *k)
{
	json_t *pub = json_deep_copy(jwk);
	static const char *const priv[] = { "d", "p", "q", "dp", "dq", "qi", "k" };

	for (size_t i = 0; i < sizeof(priv) / sizeof(priv[0]); i++)
		json_object_del(pub, priv[i]);
	if (jwk_import(pub, false, k) < 0 || k->rejected) {
		printf("    key import failed: %s\n", k->rejected ? k->rejected : "private members");
		json_decref(pub);
		return NULL;
	}
	json_decref(pub);
	return k->pkey;
}

struct wy_file {
	const char *name;
	enum jws_alg alg;
	bool der_signatures; /* the DER file: expect no acceptance at all */
};

static void wycheproof(const struct wy_file *f)
{
	char rel[256], tname[256];
	json_t *root, *groups, *g, *t;
	size_t gi, ti, total = 0, agreed = 0, accepted = 0;

	snprintf(rel, sizeof(rel), "wycheproof/%s", f->name);
	snprintf(tname, sizeof(tname), "vectors: %s as %s", f->name, jws_alg_name(f->alg));
	TEST(tname);
	root = load(rel);
	CHECK(root != NULL, "load");
	if (!root)
		return;
	groups = json_object_get(root, "testGroups");
	json_array_foreach(groups, gi, g) {
		json_t *jwk = json_object_get(g, "publicKeyJwk");
		struct jwk k = {};
		EVP_PKEY *pkey;

		if (!jwk)
			jwk = json_object_get(g, "keyJwk");
		if (jwk && !f->der_signatures) {
			pkey = import_public(jwk, &k);
		} else {
			size_t dl;
			uint8_t *der = hex(json_string_value(json_object_get(g, "publicKeyDer")), &dl);

			pkey = k.pkey = jwk_pkey_from_der(der, dl);
			free(der);
		}
		json_array_foreach(json_object_get(g, "tests"), ti, t) {
			const char *result = json_string_value(json_object_get(t, "result"));
			size_t ml, sl;
			uint8_t *msg = hex(json_string_value(json_object_get(t, "msg")), &ml);
			uint8_t *sig = hex(json_string_value(json_object_get(t, "sig")), &sl);
			int ok = pkey && jws_signature_verify(f->alg, pkey, msg, ml, sig, sl) == VERIFY_OK;
			bool agree;

			if (f->der_signatures)
				agree = !ok; /* raw r||s only: a DER signature never verifies */
			else
				agree = !strcmp(result, "acceptable") ||
					(ok == !strcmp(result, "valid"));
			total++;
			agreed += agree;
			accepted += ok;
			if (!agree)
				printf("    tcId %lld (%s, %s): we %s\n",
				       (long long)json_integer_value(json_object_get(t, "tcId")), result,
				       json_string_value(json_object_get(t, "comment")),
				       ok ? "accepted" : "rejected");
			free(msg);
			free(sig);
		}
		jwk_clear(&k);
	}
	printf("    %s: %zu/%zu agreed (%zu accepted)\n", f->name, agreed, total, accepted);
	CHECK(total > 0 && agreed == total, "%zu of %zu disagree", total - agreed, total);
	json_decref(root);
	TEST_END();
}

/* A cookbook example: verify (or refuse) its compact form against its own key. */
static void cookbook(const char *file, const char *form, int want)
{
	char rel[256], tname[256];
	json_t *root, *key;
	struct jwks set = {};
	struct jws j;
	const char *token;
	char *json_text = NULL;
	int r;

	snprintf(rel, sizeof(rel), "jose-cookbook/%s", file);
	snprintf(tname, sizeof(tname), "vectors: cookbook %s (%s) -> %s", file, form, verify_error_name(want));
	TEST(tname);
	root = load(rel);
	CHECK(root != NULL, "load");
	if (!root)
		return;
	key = json_object_get(json_object_get(root, "input"), "key");
	set.keys = calloc(1, sizeof(*set.keys));
	set.n = 1;
	if (json_string_value(json_object_get(key, "kty")) &&
	    strcmp(json_string_value(json_object_get(key, "kty")), "oct"))
		import_public(key, &set.keys[0]);
	else
		jwk_import(key, false, &set.keys[0]); /* oct: rejected, never a secret */
	if (!strcmp(form, "compact")) {
		token = json_string_value(json_object_get(json_object_get(root, "output"), "compact"));
	} else if (!strcmp(form, "json")) {
		json_text = json_dumps(json_object_get(json_object_get(root, "output"), "json"),
				       JSON_COMPACT);
		token = json_text;
	} else { /* "protected": protected header, base64url payload, signature, as compact */
		json_t *s = json_object_get(root, "signing");
		const char *pl = json_string_value(json_object_get(json_object_get(root, "input"), "payload"));
		char *p64 = b64url_encode((const uint8_t *)pl, strlen(pl));

		json_text = strdup_printf("%s.%s.%s",
					  json_string_value(json_object_get(s, "protected_b64u")), p64,
					  json_string_value(json_object_get(s, "sig")));
		free(p64);
		token = json_text;
	}
	r = token ? jws_verify(token, strlen(token), &set, &j) : -1;
	CHECK(r == want, "got %s, want %s", verify_error_name(r), verify_error_name(want));
	if (r == VERIFY_OK)
		jws_clear(&j);
	free(json_text);
	jwks_clear(&set);
	json_decref(root);
	TEST_END();
}

int main(int argc, char **argv)
{
	static const struct wy_file files[] = {
		{ "rsa_signature_2048_sha256_test.json", JWS_RS256, false },
		{ "rsa_signature_3072_sha256_test.json", JWS_RS256, false },
		{ "rsa_signature_4096_sha256_test.json", JWS_RS256, false },
		{ "rsa_signature_2048_sha384_test.json", JWS_RS384, false },
		{ "rsa_signature_2048_sha512_test.json", JWS_RS512, false },
		{ "rsa_pss_2048_sha256_mgf1_32_test.json", JWS_PS256, false },
		{ "rsa_pss_4096_sha384_mgf1_48_test.json", JWS_PS384, false },
		{ "rsa_pss_4096_sha512_mgf1_64_test.json", JWS_PS512, false },
		{ "ecdsa_secp256r1_sha256_p1363_test.json", JWS_ES256, false },
		{ "ecdsa_secp384r1_sha384_p1363_test.json", JWS_ES384, false },
		{ "ecdsa_secp521r1_sha512_p1363_test.json", JWS_ES512, false },
		{ "ecdsa_secp256r1_sha256_test.json", JWS_ES256, true },
		{ "ed25519_test.json", JWS_EDDSA, false },
	};

	dir = argc > 1 ? argv[1] : "tests/vectors";
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		wycheproof(&files[i]);
	cookbook("jws_4_1.rsa_v15_signature.json", "compact", VERIFY_OK);
	cookbook("jws_4_2.rsa-pss_signature.json", "compact", VERIFY_OK);
	cookbook("jws_4_3.ecdsa_signature.json", "compact", VERIFY_OK);
	cookbook("curve25519_jws.json", "compact", VERIFY_OK);
	cookbook("jws_4_4.hmac-sha2_integrity_protection.json", "compact", VERIFY_ALG_NOT_ALLOWED);
	cookbook("jws_4_6.protecting_specific_header_fields.json", "json", VERIFY_MALFORMED);
	cookbook("rfc7797_4.2.hmac-sha2_b64_false.json", "json", VERIFY_MALFORMED);
	cookbook("rfc7797_4.2.hmac-sha2_b64_false.json", "protected", VERIFY_HEADER_NOT_ALLOWED);
	return test_summary();
}
