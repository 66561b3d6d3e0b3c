// SPDX-License-Identifier: MIT
/* libFuzzer target: the policy parser and compiler must never crash, leak or misbehave. */
#include <stdint.h>
#include <stddef.h>

#include "policy.h"

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
	return 0;
}
