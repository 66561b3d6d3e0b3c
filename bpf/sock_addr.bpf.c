// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * connect4/connect6 (TCP, connected UDP, TCP fast open, io_uring connects) and sendmsg4/sendmsg6
 * (unconnected UDP, checked per destination). These hooks run in the calling task, so the
 * binding is resolved from the task's cgroup: forked children and io_uring workers share it.
 */
#include "common.bpf.h"

#define CURRENT_ANCESTOR(level) bpf_get_current_ancestor_cgroup_id(level)

/* v6 is a constant at every call site, so each program reads only its own family's fields. */
static __always_inline int sock_addr_check(struct bpf_sock_addr *ctx, __u8 hook, int v6)
{
	struct mcpf_resolved res = {};
	struct mcpf_query q = {};
	__u64 self = bpf_get_current_cgroup_id();

	if (!RESOLVE_BINDING(CURRENT_ANCESTOR, self, &res))
		return 1;

	q.cgroup_id = self;
	q.hook = hook;
	q.family = v6 ? AF_INET6 : AF_INET;
	q.protocol = ctx->protocol;
	q.proto_bit = proto_bit_of(ctx->protocol);
	q.sock_type = ctx->type;
	q.dport = bpf_ntohs(ctx->user_port);
	if (!v6) {
		__u32 ip4 = ctx->user_ip4;

		__builtin_memcpy(q.addr, &ip4, 4);
	} else {
		/* one load per field: the verifier refuses a ctx pointer moved by arithmetic */
		__u32 *dst = (__u32 *)q.addr;

		dst[0] = ctx->user_ip6[0];
		barrier_var(ctx);
		dst[1] = ctx->user_ip6[1];
		barrier_var(ctx);
		dst[2] = ctx->user_ip6[2];
		barrier_var(ctx);
		dst[3] = ctx->user_ip6[3];
	}
	return policy_decide(&q, &res);
}

SEC("cgroup/connect4")
int mcpf_connect4(struct bpf_sock_addr *ctx)
{
	return sock_addr_check(ctx, MCPF_HOOK_CONNECT4, 0);
}

SEC("cgroup/connect6")
int mcpf_connect6(struct bpf_sock_addr *ctx)
{
	return sock_addr_check(ctx, MCPF_HOOK_CONNECT6, 1);
}

SEC("cgroup/sendmsg4")
int mcpf_sendmsg4(struct bpf_sock_addr *ctx)
{
	return sock_addr_check(ctx, MCPF_HOOK_SENDMSG4, 0);
}

SEC("cgroup/sendmsg6")
int mcpf_sendmsg6(struct bpf_sock_addr *ctx)
{
	return sock_addr_check(ctx, MCPF_HOOK_SENDMSG6, 1);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
