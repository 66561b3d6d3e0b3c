// SPDX-License-Identifier: MIT
/*
 * Learned addresses past their TTL and the grace (the kernel stops using them at that moment;
 * deleting them gives their room back under the caps), and those of policies no longer loaded.
 * Bindings of removed cgroups (a `run` killed before it could unbind, a pod deleted). Each
 * binding's cgroup is looked up by its id as a file handle: the cost follows the number of
 * bindings, not of cgroups, and nothing is remembered between sweeps. A cgroup the kernel
 * cannot vouch for either way keeps its binding.
 */
#include "agent_state.h"

#include "cgroup.h"

#define GC_LEARNED_KEEP_NS (60 * 1000000000ULL)

static int gc_one(uint64_t cg, const struct mcpf_binding *b, void *ud)
{
	struct agent *a = ud;

	if (cgroup_exists_by_id(a->mount_fd, cg) != 0)
		return 0;
	fence_binding_del(a->f, cg);
	agent_binding_forget(a, cg, b->identity_id);
	fence_ratelimit_del(a->f, cg);
	log_debug("Removed the binding of deleted cgroup %llu", (unsigned long long)cg);
	return 0;
}

void agent_gc(struct agent *a)
{
	fence_binding_foreach(a->f, gc_one, a);
	if (a->dns) {
		_cleanup_free_ uint32_t *live = calloc(a->nloaded + 1, sizeof(*live));
		size_t deleted = 0;

		if (!live)
			return;
		for (size_t i = 0; i < a->nloaded; i++)
			live[i] = a->loaded[i].policy_id;
		/* kept a minute past their end, so that a denied connect's event can still name them */
		if (fence_learned_sweep(a->f, now_ns(CLOCK_MONOTONIC), a->cfg.dns_grace_ns + GC_LEARNED_KEEP_NS, live,
					a->nloaded, &deleted) == 0 && deleted)
			log_debug("Removed %zu learned addresses past their expiry", deleted);
	}
}
