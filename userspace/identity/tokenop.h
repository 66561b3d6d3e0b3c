/* SPDX-License-Identifier: MIT */
/*
 * The token op's two untrusted inputs, parsed without agent state: a workload's request on
 * the attestation socket ({"op": "token", "audience": ..., "lifetime": ...}), and a token
 * endpoint's answer to an exchange (RFC 6749 5.1 and 5.2, RFC 8693 2.2). Both are fuzzed
 * (tests/fuzz/fuzz_tokenop.c).
 */
#ifndef MCPFENCE_TOKENOP_H
#define MCPFENCE_TOKENOP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define TOKEN_ANSWER_EXPIRES_MAX (366LL * 86400) /* a longer expires_in is taken as this */
#define TOKEN_ANSWER_TOKEN_MAX (16u << 10)
#define TOKEN_ANSWER_ERROR_MAX 64 /* an error code longer than this is no OAuth code */

struct token_ask {
	const char *audience; /* borrowed from the request */
	int64_t lifetime_s;   /* 0: the policy's */
};

/* 0, or -EINVAL with why saying what the request lacks. */
int token_ask_parse(json_t *req, struct token_ask *ret, char *why, size_t len);

struct token_answer {
	json_t *body; /* owns the strings below */
	const char *access_token; /* NULL: no usable one */
	const char *token_type;	  /* issued_token_type, else the RFC 8693 access-token URN */
	const char *error;	  /* an OAuth error code (RFC 6749 5.2 characters), else NULL */
	const char *error_description;
	int64_t expires_in; /* 0 unknown; at most TOKEN_ANSWER_EXPIRES_MAX */
};

/* Whatever body came (NULL too); fields a hostile endpoint got wrong are left NULL. */
void token_answer_parse(const char *body, size_t len, struct token_answer *ret);
void token_answer_clear(struct token_answer *a);

#endif
