// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * The socket's own life, in guarded cgroups:
 * - cgroup/sock_create: only the protocols the other hooks judge pass: TCP (connect, then the
 *   backstop), UDP and UDP-Lite (sendmsg where the kernel runs it, and the backstop for every
 *   datagram). Raw and ICMP sockets pass no connect/sendmsg hook: refused (knob deny_raw; when
 *   allowed, the backstop judges their packets). MPTCP sockets are refused (knob deny_mptcp):
 *   the kernel opens their subflows without a mark. Every other protocol (SCTP, DCCP, L2TP,
 *   SMC, whatever a module adds) is refused outright: none of them is judged on every send path
 *   (SCTP sends to new peers without a connect hook). A passing socket costs a few compares; it
 *   is marked for the backstop when a guarded task connects it (sock_addr.bpf.c), not here.
 * - cgroup/setsockopt: options that send a packet somewhere else than the address the
 *   connect/sendmsg hook judged (an IPv6 routing header, IPv4 source routing) are refused.
 */
#include "common.bpf.h"

#define CURRENT_ANCESTOR(level) bpf_get_current_ancestor_cgroup_id(level)

SEC("cgroup/sock_create")
int mcpf_sock_create(struct bpf_sock *sk)
{
	struct mcpf_resolved res = {};
	struct mcpf_query q = {};
	__u8 reason = MCPF_REASON_PROTOCOL;
	__u64 self;

	if (sk->family != AF_INET && sk->family != AF_INET6)
		return 1;
	if ((sk->type == 1 /* SOCK_STREAM */ && sk->protocol == IPPROTO_TCP) ||
	    (sk->type == 2 /* SOCK_DGRAM */ &&
	     (sk->protocol == IPPROTO_UDP || sk->protocol == IPPROTO_UDPLITE)))
		return 1; /* judged where they say where they go: nothing to do here */
	if (sk->type == 3 /* SOCK_RAW */ ||
	    (sk->type == 2 /* SOCK_DGRAM */ &&
	     (sk->protocol == IPPROTO_ICMP || sk->protocol == 58 /* IPPROTO_ICMPV6 */))) {
		if (!deny_raw)
			return 1;
		reason = MCPF_REASON_RAW;
	} else if (sk->protocol == 262 /* IPPROTO_MPTCP */) {
		if (!deny_mptcp)
			return 1;
		reason = MCPF_REASON_MPTCP;
	}
	self = bpf_get_current_cgroup_id();
	if (!RESOLVE_BINDING(CURRENT_ANCESTOR, self, &res))
		return 1;
	q.cgroup_id = self;
	q.hook = MCPF_HOOK_SOCK_CREATE;
	q.family = sk->family;
	q.protocol = sk->protocol;
	q.sock_type = sk->type;
	return refuse_in_guarded(&q, &res, reason, 1);
}

#define SOL_IP_LEVEL 0	    /* IPPROTO_IP */
#define SOL_IPV6_LEVEL 41   /* IPPROTO_IPV6 */
#define IP_OPTIONS_OPT 4
#define IPV6_2292RTHDR_OPT 5
#define IPV6_2292PKTOPTIONS_OPT 6 /* sticky ancillary data, routing headers included */
#define IPV6_RTHDR_OPT 57

/* Whether an option can make the IP header's destination differ from the socket's. */
static __always_inline int reroutes(int level, int optname)
{
	if (level == SOL_IP_LEVEL)
		return optname == IP_OPTIONS_OPT;
	if (level == SOL_IPV6_LEVEL)
		return optname == IPV6_RTHDR_OPT || optname == IPV6_2292RTHDR_OPT ||
		       optname == IPV6_2292PKTOPTIONS_OPT;
	return 0;
}

SEC("cgroup/setsockopt")
int mcpf_setsockopt(struct bpf_sockopt *ctx)
{
	int level = ctx->level, optname = ctx->optname;

	/* an empty value clears the option: harmless */
	if (reroutes(level, optname) && ctx->optlen > 0) {
		struct mcpf_resolved res = {};
		struct mcpf_query q = {};
		__u64 self = bpf_get_current_cgroup_id();

		if (RESOLVE_BINDING(CURRENT_ANCESTOR, self, &res)) {
			q.cgroup_id = self;
			q.hook = MCPF_HOOK_SETSOCKOPT;
			q.family = ctx->sk->family;
			q.protocol = (__u8)level;
			q.dport = (__u16)optname;
			q.sock_type = ctx->sk->type;
			if (!refuse_in_guarded(&q, &res, MCPF_REASON_IP_OPTIONS, 0))
				return 0;
		}
	}
	/* Passed on: the kernel takes the caller's buffer as it is (no copy, any length). */
	ctx->optlen = 0;
	return 1;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
