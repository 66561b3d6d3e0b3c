// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * connect4/connect6 (TCP, connected UDP, TCP fast open, io_uring connects) and sendmsg4/sendmsg6
 * (unconnected UDP, checked per destination). These hooks run in the calling task, so the
 * binding is resolved from the task's cgroup: forked children and io_uring workers share it.
 * An allowed connect marks its socket for the backstop (skb.bpf.c).
 */
#include "common.bpf.h"

#define CURRENT_ANCESTOR(level) bpf_get_current_ancestor_cgroup_id(level)

/*
 * A socket connected by a guarded task gets its mark here, on the allowed path only: the
 * backstop re-checks its packets, and its events name this task. A TCP socket also gets the
 * verdict, to be trusted from its first packet on: the kernel runs this hook under the socket
 * lock and only while the socket is unconnected, so the verdict is that of the flow it opens
 * (the state test keeps it so, should a path ever run the hook on a connected socket). UDP
 * verdicts are never cached: a UDP socket can be connected again, elsewhere.
 */
static __always_inline void mark_connected(struct bpf_sock_addr *ctx, const struct mcpf_query *q,
					   const struct mcpf_resolved *res)
{
	struct bpf_sock *sk = ctx->sk;
	struct mcpf_sock_mark *m;

	if (!sk)
		return;
	/* a UDP socket connected before keeps the mark its first connect made: nothing to add */
	if (ctx->protocol == IPPROTO_UDP && sk->state == 1 /* TCP_ESTABLISHED */)
		return;
	m = bpf_sk_storage_get(&mcpf_socks_v2, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!m) {
		counter_add(MCPF_CNT_BPF_HELPER_ERRORS);
		return;
	}
	if (m->cgroup_id != q->cgroup_id) {
		m->cgroup_id = q->cgroup_id;
		m->pid = bpf_get_current_pid_tgid() >> 32;
		bpf_get_current_comm(m->comm, sizeof(m->comm));
	}
	if (q->trie_allowed && res->binding && ctx->protocol == IPPROTO_TCP &&
	    sk->state == 7 /* TCP_CLOSE */)
		verdict_cache_store(m, q, res->binding, 2);
	else
		m->cache_ok = 0;
}

/* v6 is a constant at every call site, so each program reads only its own family's fields. */
static __always_inline int sock_addr_check(struct bpf_sock_addr *ctx, __u8 hook, int v6)
{
	struct mcpf_resolved res = {};
	struct mcpf_query q = {};
	__u64 self = bpf_get_current_cgroup_id();
	int pass;

	if (hook == MCPF_HOOK_CONNECT4 || hook == MCPF_HOOK_CONNECT6)
		q.gen = bindings_gen_read(); /* only a connect caches (mark_connected) */
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
	pass = policy_decide(&q, &res);
	if (pass && (hook == MCPF_HOOK_CONNECT4 || hook == MCPF_HOOK_CONNECT6))
		mark_connected(ctx, &q, &res);
	return pass;
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
