// SPDX-License-Identifier: MIT
#include "tokenop.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "credentials.h"

int token_ask_parse(json_t *req, struct token_ask *ret, char *why, size_t len)
{
	json_t *aud = json_object_get(req, "audience"), *life = json_object_get(req, "lifetime");

	*ret = (struct token_ask){};
	if (!json_is_string(aud) || !json_string_length(aud) || json_string_length(aud) > CREDENTIAL_AUDIENCE_MAX ||
	    strlen(json_string_value(aud)) != json_string_length(aud) ||
	    (life && (!json_is_integer(life) || json_integer_value(life) < 1))) {
		snprintf(why, len, "the request needs \"audience\" (a string of 1-%d characters) and an optional "
				   "positive \"lifetime\" in seconds", CREDENTIAL_AUDIENCE_MAX);
		return -EINVAL;
	}
	ret->audience = json_string_value(aud);
	ret->lifetime_s = life ? json_integer_value(life) : 0;
	return 0;
}

/* A string member of at most max bytes, printable ASCII only (what goes to events and replies). */
static const char *printable(json_t *body, const char *key, size_t max)
{
	json_t *v = json_object_get(body, key);
	const char *s = json_string_value(v);

	if (!s || !*s || json_string_length(v) > max || strlen(s) != json_string_length(v))
		return NULL;
	for (const char *p = s; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			return NULL;
	return s;
}

void token_answer_parse(const char *body, size_t len, struct token_answer *ret)
{
	json_t *in;
	json_int_t e;

	*ret = (struct token_answer){ .token_type = "urn:ietf:params:oauth:token-type:access_token" };
	ret->body = body ? json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
	if (!json_is_object(ret->body))
		return;
	ret->access_token = printable(ret->body, "access_token", TOKEN_ANSWER_TOKEN_MAX);
	if (ret->access_token && strpbrk(ret->access_token, " \"\\"))
		ret->access_token = NULL; /* a bearer token is a token68-like string */
	ret->token_type = printable(ret->body, "issued_token_type", 256) ?: ret->token_type;
	ret->error = printable(ret->body, "error", TOKEN_ANSWER_ERROR_MAX);
	if (ret->error && strpbrk(ret->error, "\"\\"))
		ret->error = NULL; /* RFC 6749 5.2: %x20-21 / %x23-5B / %x5D-7E */
	ret->error_description = printable(ret->body, "error_description", 512);
	in = json_object_get(ret->body, "expires_in");
	e = json_is_integer(in) ? json_integer_value(in) : 0;
	ret->expires_in = e < 0 ? 0 : e > TOKEN_ANSWER_EXPIRES_MAX ? TOKEN_ANSWER_EXPIRES_MAX : e;
}

void token_answer_clear(struct token_answer *a)
{
	json_decref(a->body);
	*a = (struct token_answer){};
}
