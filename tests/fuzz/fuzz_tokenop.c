// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the token op's untrusted inputs: the bytes as a workload's request
 * line on the attestation socket (parsed as the agent's clients parse every line, then as a
 * token request), and as a token endpoint's answer to an exchange. Nothing may crash or leak,
 * and what the parsers let through must keep their promises.
 */
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "credentials.h"
#include "tokenop.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct token_answer ans;
	struct token_ask ask;
	json_t *req = NULL;
	char why[256];

	if (control_parse((const char *)data, size, &req) == 0) {
		if (token_ask_parse(req, &ask, why, sizeof(why)) == 0 &&
		    (!*ask.audience || strlen(ask.audience) > CREDENTIAL_AUDIENCE_MAX || ask.lifetime_s < 0))
			abort();
		json_decref(req);
	}
	token_answer_parse((const char *)data, size, &ans);
	if ((ans.expires_in < 0 || ans.expires_in > TOKEN_ANSWER_EXPIRES_MAX) ||
	    (ans.access_token && (strlen(ans.access_token) > TOKEN_ANSWER_TOKEN_MAX || strpbrk(ans.access_token, " \"\\\n"))) ||
	    (ans.error && strlen(ans.error) > TOKEN_ANSWER_ERROR_MAX))
		abort();
	token_answer_clear(&ans);
	return 0;
}
