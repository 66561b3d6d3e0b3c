/* SPDX-License-Identifier: MIT */
/*
 * Which policy a verified token selects. A policy's spec.identity matches when its issuer is
 * the token's, its audience is among the token's, and its subject and named claims match:
 * byte-exact, or {"glob": ...} where written. Exactly one policy must match, among those that
 * admit the caller's namespace (policy/scope.h): another tenant's policy that happens to match
 * neither binds the caller nor makes its choice ambiguous.
 */
#ifndef MCPFENCE_IDENTITY_H
#define MCPFENCE_IDENTITY_H

#include <jansson.h>
#include <stddef.h>

#include "policy.h"
#include "trust.h"

/* Returns VERIFY_OK with the policy and a new object of the claims it matched on, or
 * VERIFY_NO_POLICY / VERIFY_AMBIGUOUS_POLICY (detail names the candidates), or
 * VERIFY_NAMESPACE_NOT_ADMITTED when only policies that do not admit ns matched. ns: the
 * caller's pod namespace, NULL when it is no pod or its namespace is unknown. */
int identity_select(const struct policy_set *set, const struct token *tok, const char *ns,
		    const struct policy **ret, json_t **ret_matched, char *detail, size_t detail_len);
/* A Kubernetes token's namespace claim (kubernetes.io.namespace) when it names a pod the
 * caller must be in (its pod UID claim, or an issuer marked kubernetes); else NULL. */
const char *token_pod_namespace(const struct token *tok);

#endif
