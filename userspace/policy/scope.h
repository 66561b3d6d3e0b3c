/* SPDX-License-Identifier: MIT */
/*
 * Which pods a policy may bind, whatever selects them (an annotation through the API or the
 * OCI hook, a token presented from the pod): a namespaced EgressPolicy only pods of its own
 * namespace, a ClusterEgressPolicy only pods of the namespaces it admits. Host policies (an
 * EgressPolicy without a namespace) are never picked by a pod's annotation: a tenant who may
 * create pods must not be able to choose a policy written for someone else.
 */
#ifndef MCPFENCE_SCOPE_H
#define MCPFENCE_SCOPE_H

#include <stdbool.h>
#include <stddef.h>

#include "policy.h"

#define POLICY_CLUSTER_PREFIX "cluster/" /* an annotation naming a ClusterEgressPolicy */

/* Whether a pod of namespace ns (NULL: not a pod, or its namespace unknown) may be bound to p
 * by selection; why says what stops it. */
bool policy_admits(const struct policy *p, const char *ns, char *why, size_t len);
/* The policy a pod's mcpfence.io/policy annotation names: NAME is NAME in the pod's namespace,
 * cluster/NAME a ClusterEgressPolicy that admits it. NULL, with why, when there is none. */
const struct policy *policy_for_pod(const struct policy_set *set, const char *ns, const char *ref, char *why,
				    size_t len);

#endif
