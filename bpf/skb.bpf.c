// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * cgroup_skb/egress, the backstop: re-checks every packet of the flows that guarded tasks
 * connected (their sockets carry a mark, made by the connect hook), and of every socket that is
 * not TCP (UDP, UDP-Lite, raw where allowed), so
 * that flows which were allowed when they were opened are cut after a policy change, an
 * unbinding or the binding's expiry. TCP sockets without a mark (accepted connections of a
 * server, sockets connected before the attachment) are passed: their peers came to us. So are
 * datagrams of unconnected UDP sockets that the sendmsg hook has just checked, as long as their
 * IP header is plain (no IPv4 options, no IPv6 extension headers): only then is its destination
 * the one the hook saw. Anything else is judged by the destination in its own IP header. A TCP
 * flow's allow verdict, cached in its mark by the connect hook, is trusted until any binding
 * changes (bindings_gen) or the binding's expiry is near, once the flow's first IP header has
 * been seen plain: its packets cost a lookup in the socket, not a walk and a trie.
 */
#define MCPF_NO_TASK_CONTEXT 1
#include "common.bpf.h"
#include "packet.bpf.h"

#define SKB_ANCESTOR(level) bpf_skb_ancestor_cgroup_id(skb, level)

#include "dns.bpf.h"

/*
 * The egress program in three, joined by tail calls, so that each is verified on its own (the
 * DNS check alone is most of the verifier's 1M instructions on 6.1): mcpf_skb_egress judges
 * packets and hands those involving a resolver's port to mcpf_tail_dns, which gives the ones it
 * does not decide back (skb->cb[3] says so); mcpf_tail_tls reads ClientHellos (tls.bpf.h).
 */
enum { MCPF_TAIL_TLS = 0, MCPF_TAIL_DNS = 1, MCPF_TAIL_EGRESS = 2 };
#define DNS_DONE 0x4d434446 /* skb->cb[3]: the DNS program saw this packet and left it alone */
int mcpf_tail_tls(struct __sk_buff *skb);
int mcpf_tail_dns(struct __sk_buff *skb);
int mcpf_skb_egress(struct __sk_buff *skb);

/*
 * The tail calls' table, filled by libbpf at every load (a restarted agent puts its programs
 * in). Pinned: the kernel empties a program array when its last file is closed, and the
 * programs must outlive the agent.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, int(struct __sk_buff *));
} mcpf_tail SEC(".maps") = {
	.values = { [MCPF_TAIL_TLS] = (void *)&mcpf_tail_tls, [MCPF_TAIL_DNS] = (void *)&mcpf_tail_dns,
		    [MCPF_TAIL_EGRESS] = (void *)&mcpf_skb_egress },
};

#include "tls.bpf.h"

/* Whether the IP header is plain, so that its destination is the socket's destination. */
static __always_inline int ip_header_plain(struct __sk_buff *skb)
{
	__u8 b;

	if (skb->protocol == bpf_htons(ETH_P_IP))
		return bpf_skb_load_bytes(skb, 0, &b, 1) == 0 && (b & 0x0f) == 5;
	if (skb->protocol == bpf_htons(ETH_P_IPV6))
		return bpf_skb_load_bytes(skb, 6 /* nexthdr */, &b, 1) == 0 &&
		       (b == IPPROTO_UDP || b == IPPROTO_UDPLITE);
	return 0;
}

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
		__u8 nexthdr = ip6.nexthdr;

		q->family = AF_INET6;
		__builtin_memcpy(q->addr, &ip6.daddr, 16);
		l4_off = sizeof(ip6);
		if (nexthdr != IPPROTO_TCP && nexthdr != IPPROTO_UDP && nexthdr != IPPROTO_UDPLITE)
			ipv6_skip_ext(skb, &nexthdr, &l4_off); /* a call: only where headers chain */
		q->protocol = nexthdr;
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

/* Whether a TCP packet's IP header is plain: then its destination is the one connect judged. */
static __always_inline int tcp_header_plain(struct __sk_buff *skb)
{
	__u8 b;

	if (skb->protocol == bpf_htons(ETH_P_IP))
		return bpf_skb_load_bytes(skb, 0, &b, 1) == 0 && (b & 0x0f) == 5;
	return skb->protocol == bpf_htons(ETH_P_IPV6) &&
	       bpf_skb_load_bytes(skb, 6 /* nexthdr */, &b, 1) == 0 && b == IPPROTO_TCP;
}

SEC("cgroup_skb/egress")
int mcpf_skb_egress(struct __sk_buff *skb)
{
	struct mcpf_resolved res = {};
	struct mcpf_query q = {};
	struct bpf_sock *sk = skb->sk;
	struct mcpf_sock_mark *mark;
	__u64 self;
	int pass;

	if (!sk)
		return 1;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return 1;
	/* DNS to and from the resolvers' ports first, whatever the socket's protocol: queries are
	 * judged by their names, and nothing else reaches a resolver. A tail call that fails (it
	 * cannot, once loaded) refuses the packet. */
	if (dns_enabled && skb->cb[3] != DNS_DONE && dns_involved(skb, sk)) {
		bpf_tail_call(skb, &mcpf_tail, MCPF_TAIL_DNS);
		return 0;
	}
	/* An unconnected UDP socket (state TCP_CLOSE) only sends with a destination, and the
	 * sendmsg hook checked that very datagram: checking it twice buys nothing, unless options
	 * (a routing header, source routing) put another destination in the IP header. */
	if (sk->protocol == IPPROTO_UDP && sk->state == 7 /* TCP_CLOSE */ && ip_header_plain(skb))
		return 1;
	mark = bpf_sk_storage_get(&mcpf_socks_v2, sk, 0, 0);
	/* TCP sockets without a mark were never connected by a guarded task (accepted
	 * connections, sockets from before the attachment): their peers came to us. Every other
	 * socket is judged mark or not: no datagram socket accepts, UDP-Lite runs no connect
	 * hook, and raw sockets (where the operator allows them) run none at all. */
	if (!mark && sk->protocol == IPPROTO_TCP)
		return 1;
	q.gen = bindings_gen_read();
	if (mark && mark->cache_ok) {
		/* not counted: the verdict counters count judgements (a per-CPU counter per packet
		 * would cost more than the rest of this path) */
		if (verdict_cache_valid(mark, q.gen)) {
			if (mark->cache_ok == 1)
				return 1;
			if (tcp_header_plain(skb)) {
				mark->cache_ok = 1;
				return 1;
			}
		}
		mark->cache_ok = 0; /* a binding changed, the expiry is near, or options: judge */
	}
	self = bpf_skb_cgroup_id(skb);
	if (!RESOLVE_BINDING(SKB_ANCESTOR, self, &res))
		return 1;
	q.cgroup_id = self;
	q.mark = mark;
	q.hook = MCPF_HOOK_SKB;
	q.sock_type = sk->type;
	if (skb_parse(skb, &q) < 0)
		return 1;
	pass = policy_decide(&q, &res);
	if (pass && q.trie_allowed && res.binding && mark && sk->protocol == IPPROTO_TCP)
		verdict_cache_store(mark, &q, res.binding, 1);
	/* a TCP flow a name allowed: the check reads its first bytes where its range checks
	 * ClientHellos, and marks it through otherwise (one tail call, at its first packet) */
	if (pass && mark && mark->named && mark->tls != MCPF_TLS_PASSED && !q.trie_allowed &&
	    sk->protocol == IPPROTO_TCP)
		return tls_hand_over(skb, res.bound_cgroup_id);
	return pass;
}

/* Packets to or from a resolver's port: dns_egress decides them, or gives them back. */
SEC("cgroup_skb/egress")
int mcpf_tail_dns(struct __sk_buff *skb)
{
	struct mcpf_query q = {};
	struct bpf_sock *sk = skb->sk;
	int r;

	if (!dns_enabled || !sk) /* only reached with names: none of it loads without */
		return 1;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return 1;
	r = dns_egress(skb, sk, &q);
	if (r >= 0)
		return r ? 1 : 0;
	skb->cb[3] = DNS_DONE;
	bpf_tail_call(skb, &mcpf_tail, MCPF_TAIL_EGRESS);
	return 0;
}

/* Replies from the resolvers teach their addresses before the socket can read them. */
SEC("cgroup_skb/ingress")
int mcpf_skb_ingress(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;

	if (!dns_enabled || !sk)
		return 1;
	sk = bpf_sk_fullsock(sk);
	if (sk && (sk->protocol == IPPROTO_UDP || sk->protocol == IPPROTO_TCP))
		dns_ingress(skb, sk);
	return 1;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
