// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * cgroup/sock_create: raw and ICMP sockets pass no connect/sendmsg hook, so they are refused at
 * creation in guarded cgroups (knob deny_raw). Every other inet socket created in a guarded
 * cgroup is marked in socket storage, which tells the skb backstop which flows to re-check.
 */
#include "common.bpf.h"

#define CURRENT_ANCESTOR(level) bpf_get_current_ancestor_cgroup_id(level)

SEC("cgroup/sock_create")
int mcpf_sock_create(struct bpf_sock *sk)
{
	struct mcpf_resolved res = {};
	struct mcpf_query q = {};
	struct mcpf_sock_mark *mark;
	__u64 self = bpf_get_current_cgroup_id();
	int raw;

	if (sk->family != AF_INET && sk->family != AF_INET6)
		return 1;
	if (!RESOLVE_BINDING(CURRENT_ANCESTOR, self, &res))
		return 1;

	raw = sk->type == 3 /* SOCK_RAW */ ||
	      (sk->type == 2 /* SOCK_DGRAM */ &&
	       (sk->protocol == IPPROTO_ICMP || sk->protocol == 58 /* IPPROTO_ICMPV6 */));
	if (raw && deny_raw) {
		__u8 verdict = res.binding ? mode_verdict(res.binding) : unbound_verdict();

		q.cgroup_id = self;
		q.hook = MCPF_HOOK_SOCK_CREATE;
		q.family = sk->family;
		q.protocol = sk->protocol;
		q.sock_type = sk->type;
		if (verdict == MCPF_VERDICT_ALLOW)
			verdict = MCPF_VERDICT_DENY; /* unbound allow does not open raw sockets */
		return verdict_finish(&q, &res, verdict, MCPF_EVENT_SOCKET, MCPF_REASON_RAW,
				      bpf_ktime_get_boot_ns());
	}

	mark = bpf_sk_storage_get(&mcpf_socks, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (mark) {
		mark->created_cgroup_id = self;
		mark->pid = bpf_get_current_pid_tgid() >> 32;
		bpf_get_current_comm(mark->comm, sizeof(mark->comm));
	} else
		counter_add(MCPF_CNT_HELPER_ERR);
	return 1;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
