/* SPDX-License-Identifier: MIT */
/*
 * spec.credentials: the credentials a policy lets its workloads ask the agent for, one per
 * downstream audience. Coupled to egress: the hosts a credential is meant for (an https URL
 * audience's own host and port, or `hosts` for any other audience) must be reachable under
 * the same policy's egress rules (TCP), so a minted credential can only travel towards the
 * service it is for.
 */
#ifndef MCPFENCE_CREDENTIALS_H
#define MCPFENCE_CREDENTIALS_H

#include <jansson.h>
#include <stdint.h>

#include "util.h"

#define CREDENTIAL_LIFETIME_DEFAULT 600 /* seconds */
#define CREDENTIAL_LIFETIME_MAX 3600
#define CREDENTIALS_MAX 64
#define CREDENTIAL_CLAIMS_MAX 16
#define CREDENTIAL_AUDIENCE_MAX 1024

struct policy;

enum credential_exchange_form {
	EXCHANGE_NONE = 0,
	EXCHANGE_TOKEN_EXCHANGE,   /* RFC 8693: the minted token as subject_token */
	EXCHANGE_CLIENT_ASSERTION, /* RFC 7523 client credentials (Entra ID federated credentials) */
};

struct policy_credential {
	char *audience;
	int64_t lifetime_s;
	size_t nclaims;
	char **claims; /* source claims passed on, under the "src" claim */
	/* exchange: the agent trades the minted token at token_endpoint and hands back only the
	 * access token it gets */
	uint8_t form; /* enum credential_exchange_form */
	char *token_endpoint, *exchange_audience, *scope, *client_id, *ca_file;
};

/* Parse spec.credentials (v may be NULL) into p, checking every host against p's egress rules,
 * which must be parsed already. Problems go to errs as "FILE: spec.credentials[i]...: ...". */
int policy_credentials_parse(const char *file, struct diag *errs, json_t *v, struct policy *p);
void policy_credentials_free(struct policy_credential *c, size_t n);
const struct policy_credential *policy_credential_find(const struct policy *p, const char *audience);
/* Whether the policy's egress rules let a TCP connect reach host (a name or an address) on
 * port: a name by an exact or wildcard name rule, an address by a CIDR. */
bool policy_reaches(const struct policy *p, const char *host, uint16_t port);

#endif
