// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * cgroup_skb/egress, the backstop: re-checks every packet of sockets created in a guarded cgroup,
 * so that flows which were allowed when they were opened are cut after a policy change, an
 * unbinding or the binding's expiry. Sockets without a mark (accepted connections of a server,
 * sockets older than the attachment) are passed: their peers came to us. So are unconnected
 * UDP sockets, whose every datagram the sendmsg hook has just checked.
 */
#define MCPF_NO_TASK_CONTEXT 1
#include "common.bpf.h"
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>

#define SKB_ANCESTOR(level) bpf_skb_ancestor_cgroup_id(skb, level)

static __always_inline int skb_parse(struct __sk_buff *skb, struct mcpf_query *q)
{
	__u32 l4_off;
	__u16 ports[2];

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;

		if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)))
			return -1;
		q->family = AF_INET;
		q->protocol = ip.protocol;
		__builtin_memcpy(q->addr, &ip.daddr, 4);
		if (ip.frag_off & bpf_htons(0x1fff)) /* later fragment: no ports */
			return 1;
		l4_off = ip.ihl * 4;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6;

		if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)))
			return -1;
		q->family = AF_INET6;
		q->protocol = ip6.nexthdr;
		__builtin_memcpy(q->addr, &ip6.daddr, 16);
		l4_off = sizeof(ip6);
	} else {
		return -1;
	}
	q->proto_bit = proto_bit_of(q->protocol);
	if (q->proto_bit == MCPF_PROTO_OTHER)
		return 0;
	if (bpf_skb_load_bytes(skb, l4_off, ports, sizeof(ports)))
		return -1;
	q->dport = bpf_ntohs(ports[1]);
	return 0;
}

SEC("cgroup_skb/egress")
int mcpf_skb_egress(struct __sk_buff *skb)
{
	struct mcpf_resolved res = {};
	struct mcpf_query q = {};
	struct bpf_sock *sk = skb->sk;
	struct mcpf_sock_mark *mark;
	__u64 self;

	if (!sk)
		return 1;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return 1;
	/* An unconnected UDP socket (state TCP_CLOSE) only sends with a destination, and the
	 * sendmsg hook checked that very datagram: checking it twice buys nothing. */
	if (sk->protocol == IPPROTO_UDP && sk->state == 7 /* TCP_CLOSE */)
		return 1;
	mark = bpf_sk_storage_get(&mcpf_socks, sk, 0, 0);
	if (!mark)
		return 1;
	self = bpf_skb_cgroup_id(skb);
	if (!RESOLVE_BINDING(SKB_ANCESTOR, self, &res))
		return 1;
	q.cgroup_id = self;
	q.mark = mark;
	q.hook = MCPF_HOOK_SKB;
	q.sock_type = sk->type;
	if (skb_parse(skb, &q) < 0)
		return 1;
	return policy_decide(&q, &res);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
