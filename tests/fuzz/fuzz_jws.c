// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the verifier: the input is a token checked against a fixed trust (one
 * P-256 and one Ed25519 key), then the same bytes as a JWK set, then as a trust configuration
 * (presets expanded, every field checked). Nothing may crash or leak.
 */
#include <stdint.h>
#include <stddef.h>

#include "jws.h"
#include "trust.h"

static struct jwks keys;

static void setup(void)
{
	static const char set[] =
		"{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"ec\","
		"\"x\":\"KSexBRK64-3c_kZ4KBKLrSkDJpkZ9whgacjE32xzKDg\","
		"\"y\":\"x3h5ZOqsAOWSH7FJimD0YGdms9loUAFVjRqXTnNBUT4\"},"
		"{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"ed\","
		"\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}]}";
	char *why = NULL;

	jwks_parse(set, sizeof(set) - 1, false, &keys, &why);
	free(why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jws j;
	struct jwks s;
	char *why = NULL;

	if (!keys.n)
		setup();
	if (jws_verify((const char *)data, size, &keys, &j) == VERIFY_OK)
		jws_clear(&j);
	if (jws_parse((const char *)data, size, true, &j) == VERIFY_OK)
		jws_clear(&j);
	if (jwks_parse((const char *)data, size, size & 1, &s, &why) == 0)
		jwks_clear(&s);
	free(why);
	{
		json_t *cfg = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
		struct diag errs = {};
		struct trust t;

		if (cfg && trust_load(cfg, "fuzz.json", &t, &errs) == 0)
			trust_clear(&t);
		diag_clear(&errs);
		json_decref(cfg);
	}
	return 0;
}
