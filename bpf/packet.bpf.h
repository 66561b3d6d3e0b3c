/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * Reading an outgoing or incoming IP packet in a cgroup_skb program (skb->data starts at the IP
 * header): where its transport header is, and what stands between the two.
 */
#ifndef MCPFENCE_PACKET_BPF_H
#define MCPFENCE_PACKET_BPF_H

#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>

#define IPV6_EXT_MAX 6 /* extension headers walked to find the ports */

/*
 * The IPv6 upper-layer header: walk the extension headers. Its protocol comes back in bits
 * 32..39 (0xff, judged as an "other" protocol without ports, when the chain is too deep or
 * cannot be read) and its offset in the low 32 bits. A global function: the verifier checks the
 * walk once, not again inside each caller (three in the skb egress program).
 */
__attribute__((noinline)) __u64 mcpf_ipv6_upper(struct __sk_buff *skb, __u32 nexthdr, __u32 off)
{
	for (int i = 0; i < IPV6_EXT_MAX; i++) {
		__u8 h[2];

		switch (nexthdr) {
		case 0:	 /* hop-by-hop */
		case 43: /* routing */
		case 60: /* destination options */
			if (bpf_skb_load_bytes(skb, off, h, sizeof(h)))
				goto opaque;
			nexthdr = h[0];
			off += ((__u32)h[1] + 1) * 8;
			break;
		case 44: /* fragment: later fragments have no ports */
			if (bpf_skb_load_bytes(skb, off, h, sizeof(h)))
				goto opaque;
			nexthdr = h[0];
			off += 8;
			break;
		case 51: /* authentication header */
			if (bpf_skb_load_bytes(skb, off, h, sizeof(h)))
				goto opaque;
			nexthdr = h[0];
			off += ((__u32)h[1] + 2) * 4;
			break;
		default:
			return ((__u64)nexthdr << 32) | off;
		}
	}
opaque:
	return (0xffULL << 32) | off;
}

static __always_inline void ipv6_skip_ext(struct __sk_buff *skb, __u8 *nexthdr, __u32 *off)
{
	__u64 r = mcpf_ipv6_upper(skb, *nexthdr, *off);

	*nexthdr = (__u8)(r >> 32);
	*off = (__u32)r;
}

/*
 * The transport header: its protocol and offset. *plain is 0 when anything stands between it
 * and a bare IP header (IPv4 options, IPv6 extension headers) or the packet is a fragment.
 * Returns -1 when there is no transport header to read (a later fragment, an unreadable chain).
 */
static __always_inline int l4_locate(struct __sk_buff *skb, __u8 *protocol, __u32 *off, int *plain)
{
	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr ip; /* one load: this runs for every UDP packet where names are on */

		if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)))
			return -1;
		*protocol = ip.protocol;
		*off = ip.ihl * 4;
		*plain = ip.ihl == 5 && !(ip.frag_off & bpf_htons(0x3fff));
		return ip.frag_off & bpf_htons(0x1fff) ? -1 : 0; /* a later fragment has no ports */
	}
	if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		if (bpf_skb_load_bytes(skb, 6, protocol, 1))
			return -1;
		*off = sizeof(struct ipv6hdr);
		*plain = *protocol == IPPROTO_TCP || *protocol == IPPROTO_UDP ||
			 *protocol == IPPROTO_UDPLITE;
		if (!*plain)
			ipv6_skip_ext(skb, protocol, off);
		return *protocol == 0xff || *protocol == 44 ? -1 : 0;
	}
	return -1;
}

#endif
