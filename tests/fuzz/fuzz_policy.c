// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the policy parser and compiler (names included), and `policy suggest` on
 * the same bytes read as event lines, must never crash, leak or misbehave.
 */
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>

#include "policy.h"
#include "suggest.h"

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
		FILE *in = fmemopen((void *)data, size, "r");
		struct suggest_stats st;

		if (in) {
			json_decref(policy_suggest(in, size % 2 ? "p" : NULL, "fuzz", &st));
			fclose(in);
		}
	}
	return 0;
}
