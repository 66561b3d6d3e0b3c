// SPDX-License-Identifier: MIT
/*
 * The loaded policies: looked up by the slot the kernel names in a record, or by the name a
 * label, annotation or operator binding gives. Written only by apply.c; read by all.
 */
#include "agent_state.h"

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

void agent_policies_free(struct loaded_policy *l, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(l[i].name);
		policy_compiled_clear(&l[i].compiled);
		policy_keys_clear(&l[i].keys);
	}
	free(l);
}
