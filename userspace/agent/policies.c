// SPDX-License-Identifier: MIT
/*
 * The loaded policies: looked up by the slot the kernel names in a record, or by the name a
 * label, annotation or operator binding gives. Written only by apply.c; read by all.
 */
#include "agent_state.h"

#include "scope.h"

struct mcpf_binding agent_binding_of(const struct loaded_policy *lp)
{
	struct mcpf_binding b = { .slot = FENCE_SLOT_HOLD, .mode = MCPF_MODE_ENFORCE };

	if (lp) {
		b.slot = lp->slot;
		b.policy_id = lp->policy_id;
		b.mode = lp->mode;
		b.metric = lp->metric;
	}
	return b;
}

const struct loaded_policy *agent_policy_by_slot(struct agent *a, uint32_t slot)
{
	for (size_t i = 0; i < a->nloaded; i++)
		if (a->loaded[i].slot == slot)
			return &a->loaded[i];
	return NULL;
}

const struct loaded_policy *agent_policy_by_name(struct agent *a, const char *name)
{
	for (size_t i = 0; i < a->nloaded; i++)
		if (!strcmp(a->loaded[i].name, name))
			return &a->loaded[i];
	return NULL;
}

bool agent_namespace_held(struct agent *a, const char *ns)
{
	for (size_t i = 0; ns && i < a->cfg.k8s_nnamespaces; i++)
		if (!strcmp(a->cfg.k8s_namespaces[i], ns))
			return true;
	return false;
}

const struct loaded_policy *agent_policy_for_pod(struct agent *a, const char *ns, const char *ref, char *why,
						 size_t len)
{
	const struct policy *p;

	if (agent_namespace_held(a, ns)) {
		snprintf(why, len, "namespace %s is held for attestation (kubernetes.namespaces): the annotation "
				   "%s=%s cannot lift the hold", ns, "mcpfence.io/policy", ref);
		return NULL;
	}
	p = policy_for_pod(&a->policies, ns, ref, why, len);
	return p ? agent_policy_by_name(a, p->name) : NULL;
}

void agent_policies_free(struct loaded_policy *l, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(l[i].name);
		policy_compiled_clear(&l[i].compiled);
		policy_keys_clear(&l[i].keys);
		audit_rules_clear(&l[i].rules);
	}
	free(l);
}
