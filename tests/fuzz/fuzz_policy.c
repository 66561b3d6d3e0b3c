// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the policy parser and compiler (names included), `policy suggest` on the
 * same bytes read as event lines, and `policy import` on them read as YAML in each format, must
 * never crash, leak or misbehave.
 */
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>

#include "import.h"
#include "policy.h"
#include "suggest.h"
#include "yamljson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy *p = NULL;
	struct diag errs = {};

	if (policy_parse("fuzz.json", (const char *)data, size, &p, &errs) == 0) {
		struct policy_compiled c;

		if (policy_compile(p, &c, &errs) == 0)
			policy_compiled_clear(&c);
		policy_free(p);
	}
	diag_clear(&errs);
	{
		char why[256];
		json_t *doc = yaml_to_json((const char *)data, size, why, sizeof(why));

		for (int fmt = IMPORT_DOCKER_MCP; doc && fmt <= IMPORT_HARDEN_RUNNER; fmt++) {
			struct diag notes = {};
			json_t *out = NULL;

			policy_import(fmt, "fuzz.yaml", doc, NULL, &out, &errs, &notes);
			json_decref(out);
			diag_clear(&errs);
			diag_clear(&notes);
		}
		json_decref(doc);
	}
	{
		FILE *in = fmemopen((void *)data, size, "r");
		struct suggest_stats st;

		if (in) {
			json_decref(policy_suggest(in, size % 2 ? "p" : NULL, "fuzz", &st));
			fclose(in);
		}
	}
	return 0;
}
