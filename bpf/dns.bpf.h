/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * Names learned in the kernel. The skb egress program reads every packet a guarded socket sends
 * to a configured resolver: it must be one plain query (one question, no answers), for a name the
 * policy lists, or it is refused before it leaves the host. A query let through is remembered by
 * socket and transaction id. The skb ingress program reads the reply on that socket, before the
 * socket queues it: when it matches the query (resolver address and port, transaction id,
 * question name and type) the A and AAAA records on the CNAME chain from the question are learned
 * with their TTL. Nothing else teaches anything.
 *
 * Names are compared in lower-case DNS wire format. A question is copied right-aligned into the
 * key buffer, so each of its suffixes is the same buffer with the leading labels zeroed, and one
 * hash lookup per label answers `example.com`, `*.example.com` and `**.example.com`. Loops run
 * under bpf_loop so that the verifier checks each body once, whatever the message holds.
 */
#ifndef MCPFENCE_DNS_BPF_H
#define MCPFENCE_DNS_BPF_H

#include "packet.bpf.h"

#define DNS_MSG_MASK (MCPF_DNS_MSG_MAX - 1)
#define DNS_NAME_MASK (MCPF_DNS_NAME_MAX - 1)
#define DNS_HEADER 12
#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL
#define DNS_TYPE_A 1
#define DNS_TYPE_CNAME 5
#define DNS_TYPE_AAAA 28
#define DNS_TYPE_OPT 41
#define DNS_EDNS_RDATA_MAX 64	/* bytes of EDNS options a query may carry */
#define DNS_EDNS_OPTIONS_MAX 4	/* options in them */
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_URG 0x20
#define DNS_NAME_STEPS 320 /* bytes and pointers walked for one name */

struct rr_walk {
	__u32 off;
	__u32 msglen;
	__u32 count; /* answer records */
	__u32 pass;  /* 0: follow CNAMEs, 1: learn addresses */
	__u32 full;  /* a cap refused an address */
	__u64 now;		/* boot clock, for the event */
	__u64 mono;		/* coarse monotonic clock, for the learned expiry */
	struct mcpf_pending pq; /* a copy: the reply consumed it */
	__u32 nrules;		/* the slot's name rules, read once per reply */
	__u32 tls_rules;	/* bit r: rule r checks ClientHellos somewhere */
	__u64 digest[MCPF_MAX_NAME_RULES];
	struct mcpf_learned_key lk; /* the address being learned */
	struct mcpf_learned lv;
};

struct dns_scratch {
	struct rr_walk walk; /* the reply being learned from: too big for the stack */
	__u8 msg[MCPF_DNS_MSG_MAX];
	struct mcpf_name_key key;
	__u64 chain[MCPF_DNS_CHAIN_MAX];
};

/* Per CPU, not pinned: too big for the stack, and nothing outlives one packet. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dns_scratch);
} mcpf_dns_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct mcpf_pending_key);
	__type(value, struct mcpf_pending);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcpf_pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct mcpf_dns_name);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcpf_dns_names SEC(".maps");

/*
 * A TCP connection to a resolver, as the skb ingress program follows the resolver's side: the
 * sequence number where its next reply starts (known from the SYN-ACK on). A reply is read only
 * from that position, so bytes inside another message never pass for one. Not pinned: a
 * connection older than the programs is not followed (it teaches nothing).
 */
struct dns_stream {
	__u32 next_seq;
	__u32 known; /* 0: lost (a gap, a cut length prefix): nothing more is read */
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct dns_stream);
} mcpf_dns_stream SEC(".maps");

/*
 * The DNS budget of a policy: queries in the current second, new names in the current minute
 * (knobs dns_queries_per_second, dns_new_names_per_minute; 0 = unlimited). Not pinned: a
 * restarted agent starts the windows afresh.
 */
struct dns_budget {
	__u64 q_window; /* coarse monotonic ns */
	__u64 n_window;
	__u32 q_count;
	__u32 n_count;
	__u32 q_reported; /* the window's one event is out */
	__u32 n_reported;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32); /* policy id */
	__type(value, struct dns_budget);
} mcpf_dns_budget SEC(".maps");

struct dns_seen_key {
	__u32 policy_id;
	__u32 pad;
	__u64 qhash;
};

/* names a policy asked for lately: asking again is not a new name */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct dns_seen_key);
	__type(value, __u64);
} mcpf_dns_seen SEC(".maps");

/*
 * Zero, as far as the verifier knows any number. Every bpf_loop state that a body branches on
 * starts widened: newer verifiers check a body once per constant value such state takes (a
 * counter makes it once per iteration), and older ones (6.1) check it only with the first
 * call's state and remove the branches that state cannot take, although later calls take them.
 */
volatile __u32 mcpf_unknown_zero;

static __always_inline __u32 widen(__u32 v)
{
	return v + mcpf_unknown_zero;
}

static __always_inline struct dns_scratch *dns_scratch(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&mcpf_dns_scratch, &zero);
}

static __always_inline __u8 msg_u8(const struct dns_scratch *s, __u32 off)
{
	return s->msg[off & DNS_MSG_MASK];
}

static __always_inline __u16 msg_u16(const struct dns_scratch *s, __u32 off)
{
	return ((__u16)msg_u8(s, off) << 8) | msg_u8(s, off + 1);
}

static __always_inline __u32 msg_u32(const struct dns_scratch *s, __u32 off)
{
	return ((__u32)msg_u16(s, off) << 16) | msg_u16(s, off + 2);
}

static __always_inline __u8 lower(__u8 c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* The packet around a DNS message. */
struct dns_pkt {
	__u8 saddr[16], daddr[16];
	__u8 family;
	__u8 protocol;
	__u8 plain;	/* a bare IP header: no options, no extension headers, not a fragment */
	__u8 tcp_flags;
	__u16 sport, dport;
	__u32 seq;     /* TCP: the segment's sequence number */
	__u32 msg_off; /* where the message starts (after TCP's length prefix) */
	__u32 msg_len; /* the message's length (TCP: as its prefix says) */
	__u32 avail;   /* message bytes in this packet */
	__u32 payload; /* transport payload bytes: 0 for a bare TCP segment */
};

/*
 * 0: parsed (UDP, UDP-Lite or TCP, extension headers walked); -1: no transport ports to read.
 * Whether the DNS content may be read at all is the caller's question (p->plain, protocol).
 */
static __always_inline int dns_pkt_parse(struct __sk_buff *skb, struct dns_pkt *p)
{
	__u32 l4 = 0;
	int plain = 0;

	if (l4_locate(skb, &p->protocol, &l4, &plain) < 0)
		return -1;
	p->plain = plain;
	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		p->family = AF_INET;
		if (bpf_skb_load_bytes(skb, 12, p->saddr, 4) || bpf_skb_load_bytes(skb, 16, p->daddr, 4))
			return -1;
	} else {
		p->family = AF_INET6;
		if (bpf_skb_load_bytes(skb, 8, p->saddr, 16) || bpf_skb_load_bytes(skb, 24, p->daddr, 16))
			return -1;
	}
	if (p->protocol == IPPROTO_UDP || p->protocol == IPPROTO_UDPLITE) {
		__u16 h[2];

		if (bpf_skb_load_bytes(skb, l4, h, sizeof(h)))
			return -1;
		p->sport = bpf_ntohs(h[0]);
		p->dport = bpf_ntohs(h[1]);
		p->msg_off = l4 + 8;
		p->payload = skb->len > p->msg_off ? skb->len - p->msg_off : 0;
		p->msg_len = p->avail = p->payload;
		return 0;
	}
	if (p->protocol == IPPROTO_TCP) {
		__u8 t[14];
		__u32 data;

		if (bpf_skb_load_bytes(skb, l4, t, sizeof(t)))
			return -1;
		p->sport = ((__u16)t[0] << 8) | t[1];
		p->dport = ((__u16)t[2] << 8) | t[3];
		p->seq = ((__u32)t[4] << 24) | ((__u32)t[5] << 16) | ((__u32)t[6] << 8) | t[7];
		p->tcp_flags = t[13];
		data = l4 + (t[12] >> 4) * 4;
		p->payload = skb->len > data ? skb->len - data : 0;
		p->msg_off = data + 2;
		if (p->payload >= 2) {
			__u8 lp[2];

			if (bpf_skb_load_bytes(skb, data, lp, sizeof(lp)))
				return -1;
			p->msg_len = ((__u32)lp[0] << 8) | lp[1];
			p->avail = p->payload - 2;
		}
		return 0;
	}
	return -1;
}

/* Copy the message (at most MCPF_DNS_MSG_MAX bytes) into the scratch buffer; returns its length. */
static __always_inline __u32 dns_load(struct __sk_buff *skb, const struct dns_pkt *p,
				      struct dns_scratch *s)
{
	/* 64 bits: a 32-bit length is checked on a zero-extended copy the verifier cannot tie back */
	__u64 len = p->avail < p->msg_len ? p->avail : p->msg_len;

	if (len > MCPF_DNS_MSG_MAX)
		len = MCPF_DNS_MSG_MAX;
	barrier_var(len); /* the checks below bound the very register passed on */
	if (len < DNS_HEADER || len > MCPF_DNS_MSG_MAX)
		return 0;
	if (bpf_skb_load_bytes(skb, p->msg_off, s->msg, len))
		return 0;
	return len;
}

/* ---- the question ---- */

struct qname_walk {
	__u32 off;
	__u32 msglen;
	int state; /* 0 walking, 1 done, -1 bad */
};

/* One label of an uncompressed name; compression in a question is not accepted. */
static long qname_label_cb(__u32 i, void *ctx)
{
	struct qname_walk *w = ctx;
	struct dns_scratch *s = dns_scratch();
	__u8 len;

	if (!s || w->off >= MCPF_DNS_MSG_MAX || w->off >= w->msglen) {
		w->state = -1;
		return 1;
	}
	len = msg_u8(s, w->off);
	w->off += 1;
	if (len == 0) {
		w->state = 1;
		return 1;
	}
	if (len > 63) {
		w->state = -1;
		return 1;
	}
	w->off += len;
	if (w->off - DNS_HEADER >= MCPF_DNS_NAME_MAX) { /* 255 bytes with the root label */
		w->state = -1;
		return 1;
	}
	return 0;
}

struct qname_copy {
	__u32 src, dst, n;
	__u64 hash;
};

static long qname_copy_cb(__u32 i, void *ctx)
{
	struct qname_copy *c = ctx;
	struct dns_scratch *s = dns_scratch();
	__u8 ch;

	if (!s || i >= c->n)
		return 1;
	ch = lower(msg_u8(s, c->src + i)); /* length bytes are below 'A': unchanged */
	s->key.name[(c->dst + i) & DNS_NAME_MASK] = ch;
	c->hash = (c->hash ^ ch) * FNV_PRIME;
	return 0;
}

struct qname_match {
	__u32 pos;   /* the current suffix starts here in key.name */
	__u32 label; /* labels zeroed so far */
	__u32 rules;
	__u64 pattern;
};

static __always_inline void match_kind(struct dns_scratch *s, struct qname_match *m, __u8 kind)
{
	struct mcpf_name_val *v;

	s->key.kind = kind;
	v = bpf_map_lookup_elem(&mcpf_names, &s->key);
	if (!v)
		return;
	m->rules |= v->rules;
	if (!m->pattern)
		m->pattern = v->pattern; /* the most specific pattern counts the address */
}

/* key.name[pos + j] = 0 for the current label; ctx holds pos. */
static long zero_cb(__u32 j, void *ctx)
{
	struct dns_scratch *s = dns_scratch();
	__u32 pos = *(__u32 *)ctx;

	if (!s)
		return 1;
	s->key.name[(pos + j) & DNS_NAME_MASK] = 0;
	return 0;
}

/* Look the current suffix up, then zero its first label: the buffer becomes the next suffix. */
static long qname_match_cb(__u32 i, void *ctx)
{
	struct qname_match *m = ctx;
	struct dns_scratch *s = dns_scratch();
	__u32 pos = m->pos;
	__u8 len;

	if (!s || pos >= MCPF_DNS_NAME_MAX - 1)
		return 1;
	len = s->key.name[pos & DNS_NAME_MASK];
	if (len == 0 || len > 63)
		return 1;
	if (m->label == 0) {
		match_kind(s, m, MCPF_NAME_EXACT);
	} else {
		if (m->label == 1)
			match_kind(s, m, MCPF_NAME_ONE);
		match_kind(s, m, MCPF_NAME_MULTI);
	}
	bpf_loop(len + 1, zero_cb, &pos, 0);
	m->pos = pos + len + 1;
	if (m->label < 2) /* 0, 1, or more: all the lookups need to know */
		m->label++;
	return 0;
}

struct dns_question {
	__u16 txid;
	__u16 qtype;
	__u32 end; /* offset after the question */
	__u64 hash;
};

/*
 * Read the question of a message at offset 12 into key.name (right-aligned, lower case) and its
 * hash. Returns 0, or -1 when the question is not a plain name.
 */
static __always_inline int dns_question_read(struct dns_scratch *s, __u32 msglen,
					     struct dns_question *q)
{
	struct qname_walk w = { .off = widen(DNS_HEADER), .msglen = msglen };
	struct qname_copy c = { .src = DNS_HEADER, .hash = FNV_OFFSET };

	bpf_loop(MCPF_DNS_NAME_MAX / 2, qname_label_cb, &w, 0);
	if (w.state != 1 || w.off + 4 > msglen)
		return -1;
	c.n = w.off - DNS_HEADER;
	c.dst = MCPF_DNS_NAME_MAX - c.n;
	__builtin_memset(s->key.name, 0, sizeof(s->key.name));
	bpf_loop(MCPF_DNS_NAME_MAX, qname_copy_cb, &c, 0);
	q->txid = msg_u16(s, 0);
	q->qtype = msg_u16(s, w.off);
	q->end = w.off + 4;
	q->hash = c.hash;
	return 0;
}

/*
 * After the question a query holds nothing, or exactly one OPT record (EDNS) whose options are
 * a few known ones, each of a bounded size: NSID (empty), client subnet (at most an address),
 * EXPIRE and keepalive (empty), and a cookie (8 bytes, or 16 to 40 with the server's). Anything
 * else would carry bytes the name check never reads.
 */
static __always_inline int edns_option_allowed(__u16 code, __u16 len)
{
	switch (code) {
	case 3:	 /* NSID */
	case 9:	 /* EXPIRE */
	case 11: /* tcp-keepalive */
		return len == 0;
	case 8: /* client subnet: family, two prefix lengths, the address */
		return len >= 4 && len <= 20;
	case 10: /* cookie */
		return len == 8 || (len >= 16 && len <= 40);
	}
	return 0;
}

/* The walk after the question: step 0 reads the OPT record's head, each later step an option. */
struct tail_walk {
	__u32 off, end;
	int state; /* 0 walking, 1 done, -1 bad */
};

static long query_tail_cb(__u32 i, void *ctx)
{
	struct tail_walk *w = ctx;
	struct dns_scratch *s = dns_scratch();
	__u16 code, len;

	if (!s || w->off >= MCPF_DNS_MSG_MAX) {
		w->state = -1;
		return 1;
	}
	if (i == 0) {
		if (msg_u16(s, 10) == 0) { /* ARCOUNT 0: the question ends the message */
			w->state = w->off == w->end ? 1 : -1;
			return 1;
		}
		len = msg_u16(s, w->off + 9); /* the OPT record's rdata length */
		if (w->off + 11 > w->end || msg_u8(s, w->off) != 0 ||
		    msg_u16(s, w->off + 1) != DNS_TYPE_OPT || len > DNS_EDNS_RDATA_MAX ||
		    w->off + 11 + len != w->end) {
			w->state = -1;
			return 1;
		}
		w->off += 11;
	} else {
		if (w->off + 4 > w->end) {
			w->state = -1;
			return 1;
		}
		code = msg_u16(s, w->off);
		len = msg_u16(s, w->off + 2);
		w->off += 4 + len;
		if (!edns_option_allowed(code, len) || w->off > w->end) {
			w->state = -1;
			return 1;
		}
	}
	if (w->off == w->end) {
		w->state = 1;
		return 1;
	}
	return 0;
}

/* Whether the message ends with its question, or with one bounded OPT record after it. */
static __always_inline int dns_query_tail_ok(__u32 end, __u32 len)
{
	struct tail_walk w = { .off = widen(end), .end = widen(len), .state = widen(0) };

	bpf_loop(1 + DNS_EDNS_OPTIONS_MAX, query_tail_cb, &w, 0);
	return w.state == 1;
}

/*
 * The policy's budget, for a query about to leave: one more in this second, and, for a name not
 * asked lately, one more new name in this minute. A bpf_loop body of one step, so that its
 * branches end inside it: inlined in each message's check they multiplied the verifier's work.
 */
struct budget_take {
	__u32 policy_id;
	__u8 over;   /* out: 0 when it fits, else the reason */
	__u8 report; /* out: the first refusal of a window (one event per window) */
	__u64 qhash;
};

/* A window of the budget that has run its span starts again, empty and unreported. */
static __always_inline void budget_window_roll(__u64 *start, __u32 *count, __u32 *reported,
					       __u64 mono, __u64 span)
{
	if (mono - *start >= span) {
		*start = mono;
		*count = 0;
		*reported = 0;
	}
}

static long dns_budget_cb(__u32 i, void *ctx)
{
	struct budget_take *t = ctx;
	struct dns_seen_key sk = { .policy_id = t->policy_id, .qhash = t->qhash };
	struct dns_budget *bu, fresh = {};
	__u32 policy_id = t->policy_id;
	__u64 mono = bpf_ktime_get_coarse_ns();

	t->over = MCPF_REASON_DNS_BUDGET;
	bu = bpf_map_lookup_elem(&mcpf_dns_budget, &policy_id);
	if (!bu) {
		fresh.q_window = fresh.n_window = mono;
		bpf_map_update_elem(&mcpf_dns_budget, &policy_id, &fresh, BPF_NOEXIST);
		bu = bpf_map_lookup_elem(&mcpf_dns_budget, &policy_id);
		if (!bu) {
			counter_add(MCPF_CNT_BPF_HELPER_ERRORS);
			return 1; /* fail closed */
		}
	}
	budget_window_roll(&bu->q_window, &bu->q_count, &bu->q_reported, mono, NSEC_PER_SEC);
	if (dns_queries_per_second && bu->q_count >= dns_queries_per_second) {
		t->report = !bu->q_reported; /* a race may report twice: harmless */
		bu->q_reported = 1;
		return 1;
	}
	if (dns_new_names_per_minute && !bpf_map_lookup_elem(&mcpf_dns_seen, &sk)) {
		budget_window_roll(&bu->n_window, &bu->n_count, &bu->n_reported, mono,
				   60 * NSEC_PER_SEC);
		if (bu->n_count >= dns_new_names_per_minute) {
			t->report = !bu->n_reported;
			bu->n_reported = 1;
			return 1;
		}
		__sync_fetch_and_add(&bu->n_count, 1);
		bpf_map_update_elem(&mcpf_dns_seen, &sk, &mono, BPF_ANY);
	}
	__sync_fetch_and_add(&bu->q_count, 1);
	t->over = 0;
	return 1;
}

/* 0 when the query fits the policy's budget, else the reason; *report: say so in an event. */
static __always_inline __u8 dns_budget_take(__u32 policy_id, __u64 qhash, int *report)
{
	struct budget_take t = { .policy_id = policy_id, .qhash = qhash };

	if (!dns_queries_per_second && !dns_new_names_per_minute)
		return 0;
	bpf_loop(1, dns_budget_cb, &t, 0);
	*report = t.report;
	return t.over;
}

/* ---- the answers ---- */

/*
 * The walk keeps no counters of its own: bpf_loop's bound limits the steps, and pointers must
 * point backwards, so no name loops. (A counter the verifier can follow would make it check the
 * body once per value.)
 */
struct name_hash {
	__u32 pos;
	__u32 next; /* offset after the name where it is written; 0 until known */
	__u32 left; /* bytes left in the current label */
	__u32 msglen;
	__u64 hash;
	int state; /* 0 walking, 1 done, -1 bad */
};

/* One byte or pointer of a possibly compressed name. */
static long name_hash_cb(__u32 i, void *ctx)
{
	struct name_hash *n = ctx;
	struct dns_scratch *s = dns_scratch();
	__u8 b;

	/* the constant bound lets the verifier see the state repeat, whatever msglen is */
	if (!s || n->pos >= MCPF_DNS_MSG_MAX || n->pos >= n->msglen) {
		n->state = -1;
		return 1;
	}
	b = msg_u8(s, n->pos);
	if (n->left) {
		n->hash = (n->hash ^ lower(b)) * FNV_PRIME;
		n->left--;
		n->pos++;
		return 0;
	}
	if ((b & 0xc0) == 0xc0) {
		__u32 ptr;

		if (n->pos + 1 >= n->msglen) {
			n->state = -1;
			return 1;
		}
		ptr = ((__u32)(b & 0x3f) << 8) | msg_u8(s, n->pos + 1);
		if (!n->next)
			n->next = n->pos + 2;
		if (ptr >= n->pos) {
			n->state = -1;
			return 1;
		}
		n->pos = ptr;
		return 0;
	}
	if (b & 0xc0) {
		n->state = -1;
		return 1;
	}
	n->hash = (n->hash ^ b) * FNV_PRIME;
	n->pos++;
	if (b == 0) {
		if (!n->next)
			n->next = n->pos;
		n->state = 1;
		return 1;
	}
	n->left = b;
	return 0;
}

/* Hash of the name at off (decompressed, lower case); *next is where the record goes on. */
static __always_inline int name_hash_at(__u32 off, __u32 msglen, __u64 *hash, __u32 *next)
{
	struct name_hash n = { .pos = widen(off), .next = widen(0), .left = widen(0),
			       .msglen = msglen, .hash = FNV_OFFSET };

	bpf_loop(DNS_NAME_STEPS, name_hash_cb, &n, 0);
	if (n.state != 1)
		return -1;
	*hash = n.hash;
	*next = n.next;
	return 0;
}


/* The chain: hashes in s->chain, unused slots 0. No count: see struct name_hash. */
static __always_inline int chain_has(const struct dns_scratch *s, __u64 h)
{
	int found = 0;

	for (__u32 i = 0; i < MCPF_DNS_CHAIN_MAX; i++)
		found |= h && s->chain[i] == h;
	return found;
}

static __always_inline void chain_add(struct dns_scratch *s, __u64 h)
{
	for (__u32 i = 0; i < MCPF_DNS_CHAIN_MAX; i++)
		if (!s->chain[i]) {
			s->chain[i] = h;
			return;
		}
}

/* Count one more learned entry (kind 0: address, 1: name of an address) against a cap; 0 when
 * the cap is reached. */
static __always_inline int count_take(__u32 policy_id, __u32 kind, __u64 pattern, __u64 cap)
{
	struct mcpf_count_key k = { .policy_id = policy_id, .kind = kind, .pattern = pattern };
	__u64 zero = 0, *c;

	c = bpf_map_lookup_elem(&mcpf_learn_counts, &k);
	if (!c) {
		bpf_map_update_elem(&mcpf_learn_counts, &k, &zero, BPF_NOEXIST);
		c = bpf_map_lookup_elem(&mcpf_learn_counts, &k);
		if (!c)
			return 0;
	}
	if (*c >= cap)
		return 0;
	__sync_fetch_and_add(c, 1);
	return 1;
}

static __always_inline void count_give_back(__u32 policy_id, __u32 kind, __u64 pattern)
{
	struct mcpf_count_key k = { .policy_id = policy_id, .kind = kind, .pattern = pattern };
	__u64 *c = bpf_map_lookup_elem(&mcpf_learn_counts, &k);

	if (c && *c)
		__sync_fetch_and_sub(c, 1);
}

/*
 * The question's name for the address in w->lk under rule r, for the ClientHello check: kept
 * beside the address (an address serves several names), under the same caps, counted apart.
 * Returns 0 when a cap or the map is full.
 */
static __always_inline int learn_name(struct rr_walk *w, __u32 r)
{
	struct mcpf_learned_name_key k = { .policy_id = w->lk.policy_id, .rule = r,
					   .family = w->lk.family, .name_hash = w->lv.name_hash };
	struct mcpf_learned_name v = { .expires_ns = w->lv.expires_ns, .digest = w->lv.digest,
				       .pattern = w->lv.pattern };
	struct mcpf_learned_name *old;

	__builtin_memcpy(k.addr, w->lk.addr, sizeof(k.addr));
	old = bpf_map_lookup_elem(&mcpf_learned_names, &k);
	if (old) {
		old->expires_ns = v.expires_ns;
		old->digest = v.digest;
		return 1;
	}
	if (!count_take(k.policy_id, 1, w->lv.pattern, dns_cap_per_name))
		return 0;
	if (!count_take(k.policy_id, 1, 0, dns_cap_per_policy)) {
		count_give_back(k.policy_id, 1, w->lv.pattern);
		return 0;
	}
	if (bpf_map_update_elem(&mcpf_learned_names, &k, &v, BPF_NOEXIST)) {
		count_give_back(k.policy_id, 1, w->lv.pattern);
		count_give_back(k.policy_id, 1, 0);
		return 0;
	}
	return 1;
}

/* One rule's entry for the address in w->lk: refreshed, or new when the caps allow it. */
static long learn_rule_cb(__u32 r, void *ctx)
{
	struct dns_scratch *s = dns_scratch();
	struct rr_walk *w;
	struct mcpf_learned *old;
	__u32 policy_id;
	__u64 pattern;

	if (!s || r > MCPF_MAX_NAME_RULES)
		return 1;
	w = &s->walk;
	policy_id = w->pq.policy_id;
	pattern = w->pq.pattern;
	if (!(w->pq.rules & (1u << r)))
		return 0;
	if (r < MCPF_MAX_NAME_RULES) {
		if (r >= w->nrules)
			return 0; /* the policy changed since the query: learn nothing */
		__u32 idx = r;

		barrier_var(idx); /* keep the mask: the verifier needs the bound on the stack read */
		w->lv.digest = w->digest[idx & (MCPF_MAX_NAME_RULES - 1)];
	} else {
		w->lv.digest = 0;
	}
	w->lk.rule = r;
	old = bpf_map_lookup_elem(&mcpf_learned, &w->lk);
	if (old) {
		old->expires_ns = w->lv.expires_ns;
		old->digest = w->lv.digest;
		old->name_hash = w->lv.name_hash;
		counter_add(MCPF_CNT_DNS_REFRESHED);
	} else if (!count_take(policy_id, 0, pattern, dns_cap_per_name)) {
		w->full = 1;
		return 0;
	} else if (!count_take(policy_id, 0, 0, dns_cap_per_policy)) {
		count_give_back(policy_id, 0, pattern);
		w->full = 1;
		return 0;
	} else if (bpf_map_update_elem(&mcpf_learned, &w->lk, &w->lv, BPF_NOEXIST)) {
		count_give_back(policy_id, 0, pattern);
		count_give_back(policy_id, 0, 0);
		w->full = 1; /* the map itself is full */
		return 0;
	} else {
		counter_add(MCPF_CNT_DNS_LEARNED);
	}
	/* the audit-only entries name addresses in events: no ClientHello is checked for them */
	if (r < MCPF_MAX_NAME_RULES && (w->tls_rules & (1u << r)) && !learn_name(w, r))
		w->full = 1;
	return 0;
}

/* Learn the address in w->lk for every name rule the question matched. */
static __always_inline void learn(struct rr_walk *w, __u32 ttl)
{
	__u64 life = (__u64)ttl * NSEC_PER_SEC;

	if (life < dns_ttl_floor_ns)
		life = dns_ttl_floor_ns;
	if (life > dns_ttl_cap_ns)
		life = dns_ttl_cap_ns;
	w->lk.policy_id = w->pq.policy_id;
	w->lv.expires_ns = w->mono + life;
	w->lv.name_hash = w->pq.qhash;
	w->lv.pattern = w->pq.pattern;
	bpf_loop(MCPF_MAX_NAME_RULES + 1, learn_rule_cb, NULL, 0);
}

/* One answer record: follow a CNAME (pass 0) or learn an address (pass 1) on the chain. */
static long rr_cb(__u32 i, void *ctx)
{
	struct dns_scratch *s = dns_scratch();
	struct rr_walk *w;
	__u32 next, rdata, rdlen, ttl;
	__u16 type;
	__u64 owner;
	int on_chain;

	if (!s)
		return 1;
	w = &s->walk;
	if (i >= w->count || w->off >= MCPF_DNS_MSG_MAX ||
	    name_hash_at(w->off, w->msglen, &owner, &next) < 0)
		return 1;
	if (next + 10 > w->msglen)
		return 1;
	type = msg_u16(s, next);
	ttl = msg_u32(s, next + 4);
	rdlen = msg_u16(s, next + 8);
	rdata = next + 10;
	if (rdata + rdlen > w->msglen)
		return 1;
	w->off = rdata + rdlen;
	if (msg_u16(s, next + 2) != 1) /* class IN */
		return 0;
	on_chain = chain_has(s, owner);
	if (!on_chain)
		return 0;
	if (w->pass == 0) {
		__u64 target;
		__u32 after;

		if (type == DNS_TYPE_CNAME && name_hash_at(rdata, w->msglen, &target, &after) == 0 &&
		    !chain_has(s, target))
			chain_add(s, target);
		return 0;
	}
	if (ttl > 0x7fffffff) /* RFC 2181: a TTL with the top bit set means zero */
		ttl = 0;
	if (!((type == DNS_TYPE_A && rdlen == 4) || (type == DNS_TYPE_AAAA && rdlen == 16)))
		return 0;
	__builtin_memset(&w->lk, 0, sizeof(w->lk));
	w->lk.family = type == DNS_TYPE_A ? AF_INET : AF_INET6;
	for (int b = 0; b < 16; b++)
		w->lk.addr[b] = b < rdlen ? msg_u8(s, rdata + b) : 0;
	learn(w, ttl);
	return 0;
}

/* ---- the two directions ---- */

/*
 * The packet's remote port: a TCP socket's own peer, else the datagram's header (a UDP socket
 * may send elsewhere than the peer it is connected to). 0 when there is none to read.
 */
static __always_inline __u16 remote_port(struct __sk_buff *skb, struct bpf_sock *sk, int egress)
{
	__u16 ports[2];
	__u32 off = 0;
	__u8 protocol = 0;
	int plain = 0;

	if (sk->protocol == IPPROTO_TCP)
		return bpf_ntohs(sk->dst_port);
	if (l4_locate(skb, &protocol, &off, &plain) < 0 ||
	    bpf_skb_load_bytes(skb, off, ports, sizeof(ports)))
		return 0;
	return bpf_ntohs(ports[egress ? 1 : 0]);
}

static __always_inline int dns_event(struct mcpf_query *q, const struct mcpf_resolved *res,
				     const struct dns_pkt *p, __u8 verdict, __u8 reason, __u64 now)
{
	q->family = p->family;
	q->protocol = p->protocol;
	q->proto_bit = proto_bit_of(p->protocol);
	q->dport = p->dport;
	__builtin_memcpy(q->addr, p->daddr, 16);
	return verdict_finish(q, res, verdict, MCPF_EVENT_DNS, reason, now);
}

/* TCP: the next message of the segment, after the one at p->msg_off. 0 when there is one. */
static __always_inline int dns_next_message(struct __sk_buff *skb, struct dns_pkt *p)
{
	__u32 next = p->msg_off + p->msg_len;
	__u8 lp[2];

	if (p->protocol != IPPROTO_TCP || next >= skb->len)
		return -1;
	if (next + 2 > skb->len || bpf_skb_load_bytes(skb, next, lp, sizeof(lp)))
		return -2; /* a length prefix cut in two */
	p->msg_len = ((__u32)lp[0] << 8) | lp[1];
	p->msg_off = next + 2;
	p->avail = skb->len - p->msg_off;
	return 0;
}

/*
 * One query: a plain query (one question, no answers or authority, at most the EDNS record)
 * for a name the policy lists, wholly in this packet. Returns 1 to pass, 0 to drop.
 */
static __always_inline int dns_query_one(struct __sk_buff *skb, struct mcpf_query *q,
					 const struct mcpf_resolved *res, struct dns_pkt *p, __u64 now)
{
	const struct mcpf_binding *b = res->binding;
	struct mcpf_pending_key pk = {};
	struct mcpf_pending pv = {};
	struct qname_match m = { .label = widen(0), .pattern = widen(0) };
	struct dns_question dq;
	struct dns_scratch *s = dns_scratch();
	__u8 verdict = mode_verdict(b);
	__u32 slot = b->slot, len;

	if (!s)
		return 0;
	len = dns_load(skb, p, s);
	if (!len || p->avail < p->msg_len || p->msg_len > MCPF_DNS_MSG_MAX ||
	    (p->protocol == IPPROTO_UDP && p->avail != p->msg_len) ||
	    (msg_u16(s, 2) & 0xf800) != 0 /* QR=0, opcode QUERY */ || msg_u16(s, 4) != 1 ||
	    msg_u16(s, 6) != 0 || msg_u16(s, 8) != 0 || msg_u16(s, 10) > 1 ||
	    dns_question_read(s, len, &dq) < 0)
		return dns_event(q, res, p, verdict, MCPF_REASON_DNS_MALFORMED, now);
	q->name_hash = dq.hash;
	q->qtype = dq.qtype;
	if (!dns_query_tail_ok(dq.end, len))
		return dns_event(q, res, p, verdict, MCPF_REASON_DNS_EXTRA, now);
	bpf_map_update_elem(&mcpf_dns_names, &dq.hash, s->key.name, BPF_ANY);
	s->key.slot = slot;
	m.pos = widen(MCPF_DNS_NAME_MAX - (dq.end - 4 - DNS_HEADER));
	bpf_loop(MCPF_DNS_NAME_MAX / 2, qname_match_cb, &m, 0);
	if (!m.rules) {
		counter_add(MCPF_CNT_DNS_REFUSED);
		if (verdict != MCPF_VERDICT_AUDIT)
			return dns_event(q, res, p, verdict, MCPF_REASON_DNS_NAME, now);
		dns_event(q, res, p, verdict, MCPF_REASON_DNS_NAME, now);
		m.rules = 1u << MCPF_NAME_RULE_AUDIT; /* learn, only to name it in events */
		m.pattern = dq.hash | 1;	      /* capped per question name */
	}
	if (verdict != MCPF_VERDICT_AUDIT || !(m.rules & (1u << MCPF_NAME_RULE_AUDIT))) {
		int report = 0;
		__u8 over = dns_budget_take(b->policy_id, dq.hash, &report);

		if (over) {
			counter_add(MCPF_CNT_DNS_REFUSED);
			if (report)
				return dns_event(q, res, p, verdict, over, now);
			/* reported once per window: the rest are counted, not reported */
			verdict_count(b->metric, q->hook, verdict);
			return verdict == MCPF_VERDICT_AUDIT;
		}
	}
	counter_add(MCPF_CNT_DNS_QUERIES);
	pk.cookie = bpf_get_socket_cookie(skb);
	pk.txid = dq.txid;
	pv.qhash = dq.hash;
	pv.pattern = m.pattern;
	pv.ts_ns = now;
	pv.policy_id = b->policy_id;
	pv.slot = slot;
	pv.rules = m.rules;
	pv.qtype = dq.qtype;
	pv.server_port = p->dport;
	pv.family = p->family;
	pv.mode = b->mode;
	__builtin_memcpy(pv.server, p->daddr, 16);
	bpf_map_update_elem(&mcpf_pending, &pk, &pv, BPF_ANY);
	return 1;
}

#define DNS_TCP_MESSAGES 4 /* queries or replies read from one TCP segment (glibc sends A+AAAA) */

/* Whether a packet involves a resolver's port, ours or the peer's: one bitmap test each. */
static __always_inline int dns_involved(struct __sk_buff *skb, struct bpf_sock *sk)
{
	return dns_port(sk->src_port) || dns_port(remote_port(skb, sk, 1));
}

/*
 * Egress: a packet from a guarded socket that involves a resolver's port. Returns 1 to pass,
 * 0 to drop, -1 when it is an ordinary egress decision for the caller. For a policy with names,
 * every packet to a resolver is decided here: the ordinary decision never lets one pass as "a
 * resolver" (names_allow), so whatever this cannot read whole does not leave.
 */
static __always_inline int dns_egress(struct __sk_buff *skb, struct bpf_sock *sk,
				      struct mcpf_query *q)
{
	struct mcpf_resolved res = {};
	const struct mcpf_binding *b;
	struct dns_pkt p = {};
	__u64 self, now;
	__u32 slot;
	__u8 verdict, reason = 0;

	if (!dns_involved(skb, sk))
		return -1;
	q->mark = bpf_sk_storage_get(&mcpf_socks_v2, sk, 0, 0);
	q->hook = MCPF_HOOK_SKB;
	q->sock_type = sk->type;
	self = bpf_skb_cgroup_id(skb);
	if (!RESOLVE_BINDING(SKB_ANCESTOR, self, &res))
		return -1;
	if (dns_pkt_parse(skb, &p) < 0)
		return -1;
	q->cgroup_id = self;
	now = bpf_ktime_get_boot_ns();
	/* a forged reply: only a resolver may send from a resolver's address and port */
	if (resolver_is(p.family, p.saddr, p.sport)) {
		counter_add(MCPF_CNT_DNS_FORGED);
		verdict = res.binding ? mode_verdict(res.binding) : MCPF_VERDICT_DENY;
		return dns_event(q, &res, &p, verdict, MCPF_REASON_DNS_SPOOF, now);
	}
	if (!resolver_is(p.family, p.daddr, p.dport))
		return -1;
	b = res.binding;
	if (!b || (b->expires_ns && now > b->expires_ns))
		return -1;
	slot = b->slot;
	if (!bpf_map_lookup_elem(&mcpf_slot_names, &slot))
		return -1; /* no names: DNS is an ordinary destination for this policy */
	/* only what the check below reads whole may reach a resolver */
	if (p.protocol != IPPROTO_UDP && p.protocol != IPPROTO_TCP)
		reason = MCPF_REASON_DNS_TRANSPORT;
	else if (!p.plain)
		reason = MCPF_REASON_DNS_IP_HEADER;
	else if (p.protocol == IPPROTO_UDP && skb->gso_size)
		reason = MCPF_REASON_DNS_OFFLOAD; /* split into datagrams after this hook */
	else if (p.protocol == IPPROTO_TCP && (p.tcp_flags & TCP_FLAG_URG))
		reason = MCPF_REASON_DNS_URGENT; /* the server skips the urgent byte: framing shifts */
	if (reason)
		return dns_event(q, &res, &p, mode_verdict(b), reason, now);
	if (p.payload == 0)
		return 1; /* a bare TCP segment (handshake, ACK, FIN) carries no DNS */
	/* every message of the packet is judged: anything else could carry an unchecked name */
	for (int k = 0; k < DNS_TCP_MESSAGES; k++) {
		int r = dns_query_one(skb, q, &res, &p, now);

		if (r != 1)
			return r;
		r = dns_next_message(skb, &p);
		if (r == -1)
			return 1;
		if (r < 0)
			break;
	}
	return dns_event(q, &res, &p, mode_verdict(b), MCPF_REASON_DNS_MALFORMED, now);
}

/* One reply at p->msg_off: learn from it when it answers an outstanding query. */
static __always_inline void dns_reply_one(struct __sk_buff *skb, struct bpf_sock *sk,
					  const struct dns_pkt *p)
{
	struct mcpf_pending_key pk = {};
	struct mcpf_pending *pv;
	struct rr_walk *w;
	struct dns_question dq;
	struct dns_scratch *s = dns_scratch();
	__u32 len;
	__u16 flags;

	if (!s)
		return;
	len = dns_load(skb, p, s);
	if (!len)
		return;
	pk.cookie = bpf_get_socket_cookie(skb);
	pk.txid = msg_u16(s, 0);
	pv = bpf_map_lookup_elem(&mcpf_pending, &pk);
	if (!pv || pv->family != p->family || pv->server_port != p->sport ||
	    !addr_equal(pv->server, p->saddr)) {
		counter_add(MCPF_CNT_DNS_UNMATCHED);
		return;
	}
	flags = msg_u16(s, 2);
	if (!(flags & 0x8000) || msg_u16(s, 4) != 1 || dns_question_read(s, len, &dq) < 0 ||
	    dq.hash != pv->qhash || dq.qtype != pv->qtype) {
		counter_add(MCPF_CNT_DNS_UNMATCHED);
		return;
	}
	w = &s->walk;
	__builtin_memset(w, 0, sizeof(*w));
	__builtin_memcpy(&w->pq, pv, sizeof(w->pq));
	bpf_map_delete_elem(&mcpf_pending, &pk); /* one reply per query */
	if ((flags & 0x000f) != 0) /* an error: nothing to learn */
		return;
	{
		const struct mcpf_slot_names *sn;
		__u32 slot = w->pq.slot;

		sn = bpf_map_lookup_elem(&mcpf_slot_names, &slot);
		if (sn) {
			w->nrules = sn->nrules;
			for (__u32 r = 0; r < MCPF_MAX_NAME_RULES; r++) {
				w->digest[r] = sn->rules[r].digest;
				if (sn->rules[r].allow.flags & MCPF_ALLOW_TLS)
					w->tls_rules |= 1u << r;
			}
		}
	}
	w->msglen = len;
	w->count = msg_u16(s, 6);
	w->now = bpf_ktime_get_boot_ns();
	w->mono = bpf_ktime_get_coarse_ns();
	__builtin_memset(s->chain, 0, sizeof(s->chain));
	s->chain[0] = dq.hash;
	for (__u32 pass = 0; pass < 2; pass++) {
		w->pass = pass;
		w->off = widen(dq.end);
		bpf_loop(MCPF_DNS_ANSWERS_MAX, rr_cb, NULL, 0);
	}
	if (w->full) {
		struct mcpf_binding fb = { .slot = w->pq.slot, .policy_id = w->pq.policy_id,
					   .mode = w->pq.mode };
		struct mcpf_resolved res = { .binding = &fb };
		struct mcpf_query q = { .cgroup_id = bpf_skb_cgroup_id(skb), .hook = MCPF_HOOK_SKB_INGRESS,
					.name_hash = dq.hash, .qtype = dq.qtype };

		q.mark = bpf_sk_storage_get(&mcpf_socks_v2, sk, 0, 0);
		counter_add(MCPF_CNT_DNS_CAP_REACHED);
		q.family = p->family;
		q.protocol = p->protocol;
		q.dport = p->sport;
		__builtin_memcpy(q.addr, p->saddr, 16);
		event_emit(&q, &res, MCPF_EVENT_DNS, mode_verdict(&fb), MCPF_REASON_DNS_FULL, w->now);
	}
}

/*
 * A TCP segment from the resolver: the replies that start where the stream says the next one
 * starts (dns_stream), and end in this segment, are read. A reply split across segments teaches
 * nothing; the stream position moves past it all the same. Whatever cannot be followed (a
 * segment past a gap, a length prefix cut in two, more replies than read) stops the reading
 * for the connection: it teaches nothing more.
 */
static __always_inline void dns_ingress_tcp(struct __sk_buff *skb, struct bpf_sock *sk,
					    struct dns_pkt *p)
{
	struct dns_stream *st;
	__u32 skip;

	if (p->tcp_flags & TCP_FLAG_SYN) { /* the SYN-ACK: the resolver's stream starts after it */
		st = bpf_sk_storage_get(&mcpf_dns_stream, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
		if (st) {
			st->next_seq = p->seq + 1;
			st->known = p->payload == 0; /* data on a SYN (fast open) is not followed */
		}
		return;
	}
	st = bpf_sk_storage_get(&mcpf_dns_stream, sk, 0, 0);
	if (!st || !st->known || p->payload == 0)
		return;
	skip = st->next_seq - p->seq;
	if (skip >= p->payload)
		return; /* inside a reply that started earlier, or past a gap */
	if (skip + 2 > p->payload) {
		st->known = 0;
		return;
	}
	if (skip) { /* a retransmission that starts before the next reply */
		__u8 lp[2];
		__u32 data = p->msg_off - 2 + skip;

		if (bpf_skb_load_bytes(skb, data, lp, sizeof(lp))) {
			st->known = 0;
			return;
		}
		p->msg_len = ((__u32)lp[0] << 8) | lp[1];
		p->msg_off = data + 2;
		p->avail = p->payload - skip - 2;
	}
	for (int k = 0; k < DNS_TCP_MESSAGES; k++) {
		int r;

		st->next_seq += 2 + p->msg_len;
		if (p->avail < p->msg_len)
			return; /* ends in a later segment: skipped whole */
		dns_reply_one(skb, sk, p);
		r = dns_next_message(skb, p);
		if (r == -1)
			return;
		if (r < 0)
			break;
	}
	st->known = 0;
}

/* Ingress: replies from a resolver's port to a guarded socket. Always passes the packet. */
static __always_inline void dns_ingress(struct __sk_buff *skb, struct bpf_sock *sk)
{
	struct dns_pkt p = {};

	if (!dns_port(remote_port(skb, sk, 0)) || dns_pkt_parse(skb, &p) < 0 || !p.plain)
		return;
	if (p.protocol == IPPROTO_TCP)
		dns_ingress_tcp(skb, sk, &p);
	else if (p.protocol == IPPROTO_UDP && p.payload >= DNS_HEADER)
		dns_reply_one(skb, sk, &p);
}

#endif
