// SPDX-License-Identifier: MIT
/*
 * Bindings of removed cgroups (a `run` killed before it could unbind, a pod deleted). Each
 * binding's cgroup is looked up by its id as a file handle: the cost follows the number of
 * bindings, not of cgroups, and nothing is remembered between sweeps. A cgroup the kernel
 * cannot vouch for either way keeps its binding.
 */
#include "agent_state.h"

#include "cgroup.h"

static int gc_one(uint64_t cg, const struct mcpf_binding *b, void *ud)
{
	struct agent *a = ud;

	if (cgroup_exists_by_id(a->mount_fd, cg) != 0)
		return 0;
	if (b->identity_id)
		fence_identity_del(a->f, b->identity_id);
	fence_binding_del(a->f, cg);
	fence_ratelimit_del(a->f, cg);
	log_debug("Removed the binding of deleted cgroup %llu", (unsigned long long)cg);
	return 0;
}

void agent_gc(struct agent *a)
{
	fence_binding_foreach(a->f, gc_one, a);
}
