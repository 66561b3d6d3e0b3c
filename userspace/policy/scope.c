// SPDX-License-Identifier: MIT
#include "scope.h"

#include <stdio.h>
#include <string.h>

bool policy_admits(const struct policy *p, const char *ns, char *why, size_t len)
{
	switch (p->scope) {
	case POLICY_NAMESPACED:
		if (ns && !strcmp(ns, p->namespace))
			return true;
		snprintf(why, len, "policy %s binds only pods of namespace %s, not %s%s", p->name, p->namespace,
			 ns ? "namespace " : "", ns ?: "a workload outside a known pod");
		return false;
	case POLICY_CLUSTER:
		for (char **n = p->namespaces; ns && n && *n; n++)
			if (!strcmp(*n, "*") || !strcmp(*n, ns))
				return true;
		snprintf(why, len, "cluster policy %s does not admit %s%s (spec.namespaces)", p->name,
			 ns ? "namespace " : "", ns ?: "a workload outside a known pod");
		return false;
	default:
		return true;
	}
}

const struct policy *policy_for_pod(const struct policy_set *set, const char *ns, const char *ref, char *why,
				    size_t len)
{
	size_t cl = strlen(POLICY_CLUSTER_PREFIX);
	const struct policy *p;

	if (!ns) {
		snprintf(why, len, "the pod's namespace is unknown");
		return NULL;
	}
	if (!strncmp(ref, POLICY_CLUSTER_PREFIX, cl)) {
		p = policy_set_find(set, ref + cl);
		if (!p || p->scope != POLICY_CLUSTER) {
			snprintf(why, len, "no ClusterEgressPolicy named \"%s\"", ref + cl);
			return NULL;
		}
		return policy_admits(p, ns, why, len) ? p : NULL;
	}
	if (strchr(ref, '/')) {
		snprintf(why, len, "\"%s\" is not a policy of namespace %s: an annotation names NAME (in the "
				   "pod's namespace) or %sNAME", ref, ns, POLICY_CLUSTER_PREFIX);
		return NULL;
	}
	{
		char full[2 * 256];

		snprintf(full, sizeof(full), "%s/%s", ns, ref);
		p = policy_set_find(set, full);
	}
	if (!p)
		snprintf(why, len, "no policy \"%s\" in namespace %s", ref, ns);
	return p;
}
