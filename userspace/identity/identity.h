/* SPDX-License-Identifier: MIT */
/*
 * Which policy a verified token selects. A policy's spec.identity matches when its issuer is
 * the token's, its audience is among the token's, and its subject and named claims match:
 * byte-exact, or {"glob": ...} where written. Exactly one policy must match.
 */
#ifndef MCPFENCE_IDENTITY_H
#define MCPFENCE_IDENTITY_H

#include <jansson.h>
#include <stddef.h>

#include "policy.h"
#include "trust.h"

/* Returns VERIFY_OK with the policy and a new object of the claims it matched on, or
 * VERIFY_NO_POLICY / VERIFY_AMBIGUOUS_POLICY (detail names the candidates). */
int identity_select(const struct policy_set *set, const struct token *tok,
		    const struct policy **ret, json_t **ret_matched, char *detail, size_t detail_len);

#endif
