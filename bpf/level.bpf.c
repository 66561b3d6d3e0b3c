// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * Where the cgroup root really is. bpf_get_current_ancestor_cgroup_id(level) counts levels from
 * the real root of the hierarchy, while a path counts from the cgroup2 mount the agent sees: in
 * a private cgroup namespace (a container) the two differ, and a level taken from the path
 * would make every guard check miss (fail open). This program, attached for a moment to a
 * scratch cgroup below the root that holds one process, records the ancestor ids of that
 * process's socket creation; the root's level is the index at which the root's id appears.
 * Never pinned, never left attached.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "mcpfence_abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MCPF_LEVEL_MAX);
	__type(key, __u32);
	__type(value, __u64);
} mcpf_level_ids SEC(".maps");

SEC("cgroup/sock_create")
int mcpf_level_probe(struct bpf_sock *sk)
{
	/* unrolled: constant levels and keys, nothing for the verifier to iterate */
#pragma unroll
	for (int i = 0; i < MCPF_LEVEL_MAX; i++) {
		__u32 key = i;
		__u64 id = bpf_get_current_ancestor_cgroup_id(i);
		__u64 *slot = bpf_map_lookup_elem(&mcpf_level_ids, &key);

		if (slot)
			*slot = id;
		if (!id)
			break;
	}
	return 1;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
