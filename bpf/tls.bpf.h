/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * The ClientHello check. A TCP flow that only a learned address allowed, on a port range of a
 * name rule that checks ClientHellos (mcpf_port_range.tls), must open with a TLS ClientHello
 * whose server name was itself learned for that address under that rule (learned_names): an
 * address serves only the names the workload resolved to it.
 *
 * The flow's bytes are read from its SYN on (a Fast Open SYN's data included), in sequence
 * order, as TLS records whose handshake bytes go through a small parser, field by field: only
 * the fields are kept between segments (tls_flows, per socket), never the bytes, except the
 * server name. Records may be of any size down to one byte, the ClientHello may span segments
 * and its extensions come in any order; the bounds are in mcpfence_abi.h (MCPF_TLS_*). After a
 * ClientHello is let through, the client's records are followed header by header until its
 * first application data: a second ClientHello (after a HelloRetryRequest) is judged again.
 * Then the flow takes the fast path (mark->tls PASSED). A refused flow sends no byte of payload
 * any more; its event carries the socket, so that the agent ends it at once.
 */
#ifndef MCPFENCE_TLS_BPF_H
#define MCPFENCE_TLS_BPF_H

#define TLS_CHUNK 2048 /* bytes copied from the packet at a time */
#define TLS_CHUNK_MASK (TLS_CHUNK - 1)
#define TLS_ROUNDS 40 /* chunks and verdicts per packet: past MCPF_TLS_BYTES_MAX */
#define TLS_REC_CCS 20
#define TLS_REC_ALERT 21
#define TLS_REC_HANDSHAKE 22
#define TLS_REC_APPDATA 23
#define TLS_RECORD_MAX (16384 + 2048) /* a protected record's most (RFC 8446 5.2) */
#define TLS_HELLO_MIN 38	      /* version, random, and three length bytes */

/* The next field of the handshake parser. */
enum tls_field {
	T_HS_TYPE,
	T_HS_LEN,
	T_VERSION,
	T_SID_LEN,
	T_CS_LEN,
	T_COMP_LEN,
	T_EXTS_LEN,
	T_EXT_TYPE,
	T_EXT_LEN,
	T_SNI_LIST,
	T_SNI_TYPE,
	T_SNI_LEN,
	T_SNI_NAME,
	T_MSG_SKIP,
};

/* Each field's size, two bits per field in enum order: 1 3 2 1 2 1 2 2 2 2 1 2 1 1. */
#define TLS_FIELD_SIZES                                                                            \
	(1ULL | 3ULL << 2 | 2ULL << 4 | 1ULL << 6 | 2ULL << 8 | 1ULL << 10 | 2ULL << 12 | 2ULL << 14 | \
	 2ULL << 16 | 2ULL << 18 | 1ULL << 20 | 2ULL << 22 | 1ULL << 24 | 1ULL << 26)

enum tls_flow_flag {
	F_BODY = 1 << 0,   /* in a handshake message's body: hs_left counts */
	F_EXTS = 1 << 1,   /* in the ClientHello's extensions: ext_left counts */
	F_SNI = 1 << 2,	   /* its server_name extension was read */
	F_LONG = 1 << 3,   /* ... with a name longer than a DNS name */
	F_JUDGED = 1 << 4, /* a ClientHello was let through: records followed to application data */
	F_CCS = 1 << 5,	   /* the client changed cipher spec: handshake records are encrypted now */
	F_OTHER = 1 << 6,  /* the current handshake message is not a ClientHello: passed over */
};

enum tls_outcome {
	TLS_GO = 0, /* more to read */
	TLS_JUDGE,  /* a ClientHello was read whole: its name is judged */
	TLS_DONE,   /* application data: the flow is through */
	TLS_REFUSE, /* scratch.reason says why */
};

struct tls_scratch {
	__u8 buf[TLS_CHUNK];
	struct mcpf_tls_flow f; /* the flow's state while a packet is read */
	__u32 pos, len;		/* in buf */
	__u8 outcome;
	__u8 reason;
	__u8 pad[2];
	__u8 wire[MCPF_DNS_NAME_MAX]; /* the server name in wire format, right-aligned */
	/* mcpf_tls_check's own, kept off the stack (the program's frame counts with its own) */
	struct dns_pkt p;
	struct mcpf_query q;
	struct mcpf_learned_name_key base;
};

/* Per CPU, not pinned: nothing in it outlives one packet. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tls_scratch);
} mcpf_tls_scratch SEC(".maps");

static __always_inline struct tls_scratch *tls_scratch(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&mcpf_tls_scratch, &zero);
}

static __always_inline int tls_refuse(struct tls_scratch *s, __u8 reason)
{
	s->outcome = TLS_REFUSE;
	s->reason = reason;
	return 1;
}

/* Bytes that cannot be a ClientHello: refused, unless the client encrypts by now (TLS 1.2's
 * Finished follows its ChangeCipherSpec), then its handshake is over. */
static __always_inline int tls_not_hello(struct tls_scratch *s)
{
	if (s->f.flags & F_CCS) {
		s->outcome = TLS_DONE;
		return 1;
	}
	return tls_refuse(s, MCPF_REASON_TLS_NOT_TLS);
}

/* Pass over n bytes of the message, then read `next`. */
static __always_inline int tls_skip(struct tls_scratch *s, __u32 n, __u8 next)
{
	struct mcpf_tls_flow *f = &s->f;

	if (n > f->hs_left || ((f->flags & F_EXTS) && n > f->ext_left))
		return tls_refuse(s, MCPF_REASON_TLS_NOT_TLS);
	f->skip = n;
	f->state = next;
	return 0;
}

/* A field read whole: check it and say what comes next. 1 stops the walk (s->outcome). */
static __always_inline int tls_field(struct tls_scratch *s)
{
	struct mcpf_tls_flow *f = &s->f;
	__u32 v = f->field;

	f->field = 0;
	f->got = 0;
	switch (f->state) {
	case T_HS_TYPE:
		if (v == 1) { /* client_hello */
			f->flags &= ~(F_SNI | F_LONG | F_OTHER);
			f->state = T_HS_LEN;
			return 0;
		}
		if (!(f->flags & F_JUDGED))
			return tls_refuse(s, MCPF_REASON_TLS_NOT_TLS);
		if (f->flags & F_CCS) { /* encrypted: the handshake is over */
			s->outcome = TLS_DONE;
			return 1;
		}
		f->flags |= F_OTHER; /* ClientKeyExchange, Certificate...: passed over */
		f->state = T_HS_LEN;
		return 0;
	case T_HS_LEN:
		f->hs_left = v;
		f->flags |= F_BODY;
		if (f->flags & F_OTHER) {
			f->skip = v;
			f->state = T_MSG_SKIP;
			return 0;
		}
		if (v > MCPF_TLS_HELLO_MAX)
			return (f->flags & F_CCS) ? tls_not_hello(s) : tls_refuse(s, MCPF_REASON_TLS_BOUNDS);
		if (v < TLS_HELLO_MIN)
			return tls_not_hello(s);
		f->state = T_VERSION;
		return 0;
	case T_VERSION:
		if ((v >> 8) != 3)
			return tls_not_hello(s);
		return tls_skip(s, 32, T_SID_LEN); /* random */
	case T_SID_LEN:
		if (v > 32)
			return tls_refuse(s, MCPF_REASON_TLS_NOT_TLS);
		return tls_skip(s, v, T_CS_LEN);
	case T_CS_LEN:
		if (v < 2 || (v & 1))
			return tls_refuse(s, MCPF_REASON_TLS_NOT_TLS);
		return tls_skip(s, v, T_COMP_LEN);
	case T_COMP_LEN:
		if (v < 1)
			return tls_refuse(s, MCPF_REASON_TLS_NOT_TLS);
		return tls_skip(s, v, T_EXTS_LEN);
	case T_EXTS_LEN:
		if (v != f->hs_left)
			return tls_refuse(s, MCPF_REASON_TLS_NOT_TLS);
		f->ext_left = v;
		f->flags |= F_EXTS;
		f->state = T_EXT_TYPE;
		return 0;
	case T_EXT_TYPE:
		f->ext_type = (__u16)v;
		f->state = T_EXT_LEN;
		return 0;
	case T_EXT_LEN:
		if (v > f->ext_left)
			return tls_refuse(s, MCPF_REASON_TLS_NOT_TLS);
		f->ext_len = v;
		if (f->ext_type != 0) /* ECH (0xfe0d) too: its outer name is the server_name */
			return tls_skip(s, v, T_EXT_TYPE);
		if (f->flags & F_SNI) /* two server_name extensions */
			return tls_refuse(s, MCPF_REASON_TLS_NOT_TLS);
		f->flags |= F_SNI;
		f->state = T_SNI_LIST;
		return 0;
	case T_SNI_LIST:
		if (v + 2 != f->ext_len)
			return tls_refuse(s, MCPF_REASON_TLS_NOT_TLS);
		f->list_len = (__u16)v;
		f->state = T_SNI_TYPE;
		return 0;
	case T_SNI_TYPE:
		if (v != 0) /* host_name, the only type there is */
			return tls_refuse(s, MCPF_REASON_TLS_NOT_TLS);
		f->state = T_SNI_LEN;
		return 0;
	case T_SNI_LEN:
		if (v == 0 || v + 3 != f->list_len) /* exactly one name */
			return tls_refuse(s, MCPF_REASON_TLS_NOT_TLS);
		f->list_len = (__u16)v;
		f->name_len = 0;
		if (v > MCPF_TLS_NAME_MAX) {
			f->flags |= F_LONG;
			return tls_skip(s, v, T_EXT_TYPE);
		}
		f->state = T_SNI_NAME;
		return 0;
	case T_SNI_NAME:
		f->name[f->name_len] = (__u8)v;
		f->name_len++;
		if (f->name_len == f->list_len)
			f->state = T_EXT_TYPE;
		return 0;
	}
	return tls_refuse(s, MCPF_REASON_TLS_NOT_TLS);
}

/* At a field's start: where a handshake message ends, what next. 1 stops the walk. */
static __always_inline int tls_boundary(struct tls_scratch *s)
{
	struct mcpf_tls_flow *f = &s->f;

	if (!(f->flags & F_BODY) || f->hs_left)
		return 0;
	f->flags &= ~(F_BODY | F_EXTS);
	if (f->flags & F_OTHER) {
		f->flags &= ~F_OTHER;
		f->state = T_HS_TYPE;
		return 0;
	}
	if (f->state == T_EXTS_LEN || (f->state == T_EXT_TYPE && f->ext_left == 0)) {
		f->state = T_HS_TYPE;
		s->outcome = TLS_JUDGE;
		return 1;
	}
	return tls_refuse(s, MCPF_REASON_TLS_NOT_TLS);
}

/* One byte of a record header; the record is checked when its fifth arrives. */
static __always_inline int tls_record_byte(struct tls_scratch *s, __u8 b)
{
	struct mcpf_tls_flow *f = &s->f;

	switch (f->rec_hdr++) {
	case 0:
		f->rec_type = b;
		return 0;
	case 1:
		return b == 3 ? 0 : tls_not_hello(s);
	case 2:
		return 0;
	case 3:
		f->rec_len = (__u16)b << 8;
		return 0;
	}
	f->rec_hdr = 0;
	f->rec_len |= b;
	if (++f->records > MCPF_TLS_RECORDS_MAX)
		return tls_refuse(s, MCPF_REASON_TLS_BOUNDS);
	if (f->rec_type == TLS_REC_APPDATA && (f->flags & F_JUDGED)) {
		s->outcome = TLS_DONE;
		return 1;
	}
	if (f->rec_len == 0 || f->rec_len > TLS_RECORD_MAX)
		return tls_refuse(s, MCPF_REASON_TLS_NOT_TLS);
	if (f->rec_type != TLS_REC_HANDSHAKE &&
	    !((f->flags & F_JUDGED) && (f->rec_type == TLS_REC_CCS || f->rec_type == TLS_REC_ALERT)))
		return tls_refuse(s, MCPF_REASON_TLS_NOT_TLS);
	if (f->rec_type == TLS_REC_CCS)
		f->flags |= F_CCS;
	f->rec_left = f->rec_len;
	return 0;
}

/* One step of the walk over buf: a record header byte, a field byte, or a run passed over. */
static long tls_step(__u32 i, void *ctx)
{
	struct tls_scratch *s = tls_scratch();
	struct mcpf_tls_flow *f;
	__u32 pos, n;

	if (!s)
		return 1;
	f = &s->f;
	if (!f->skip && !f->got && f->rec_type == TLS_REC_HANDSHAKE && tls_boundary(s))
		return 1;
	pos = s->pos;
	if (pos >= s->len || pos >= TLS_CHUNK)
		return 1;
	if (f->bytes >= MCPF_TLS_BYTES_MAX)
		return tls_refuse(s, MCPF_REASON_TLS_BOUNDS);
	if (!f->rec_left) {
		s->pos = pos + 1;
		f->bytes++;
		return tls_record_byte(s, s->buf[pos & TLS_CHUNK_MASK]);
	}
	n = s->len - pos;
	if (n > f->rec_left)
		n = f->rec_left;
	if (f->rec_type != TLS_REC_HANDSHAKE || f->skip) {
		if (f->rec_type == TLS_REC_HANDSHAKE && n > f->skip)
			n = f->skip;
		if (f->rec_type == TLS_REC_HANDSHAKE)
			f->skip -= n;
	} else {
		__u32 need = (TLS_FIELD_SIZES >> (2 * (f->state & 15))) & 3;

		if ((f->flags & F_BODY) && !f->hs_left)
			return tls_refuse(s, MCPF_REASON_TLS_NOT_TLS); /* a field past its message */
		n = 1;
		f->field = (f->field << 8) | s->buf[pos & TLS_CHUNK_MASK];
		f->got++;
		if (f->got >= need) {
			s->pos = pos + 1;
			f->bytes++;
			f->rec_left--;
			if (f->flags & F_BODY)
				f->hs_left--;
			if (f->flags & F_EXTS)
				f->ext_left--;
			return tls_field(s);
		}
	}
	s->pos = pos + n;
	f->bytes += n;
	f->rec_left -= n;
	if (f->rec_type == TLS_REC_HANDSHAKE) {
		if (f->flags & F_BODY)
			f->hs_left -= n;
		if (f->flags & F_EXTS)
			f->ext_left -= n;
	}
	return 0;
}

struct tls_wire {
	__u32 len;   /* of the name */
	__u32 pos;   /* next byte written in wire, downwards */
	__u32 label; /* bytes of the label being written */
};

/* The server name into wire format, from its last byte: a dot becomes the label's length. */
static long tls_wire_cb(__u32 i, void *ctx)
{
	struct tls_wire *w = ctx;
	struct tls_scratch *s = tls_scratch();
	__u8 c;

	if (!s || i >= w->len || w->pos == 0)
		return 1;
	c = lower(s->f.name[(w->len - 1 - i) & 255]);
	if (c == '.') {
		s->wire[w->pos & 255] = (__u8)w->label;
		w->label = 0;
	} else {
		s->wire[w->pos & 255] = c;
		w->label++;
	}
	w->pos--;
	return 0;
}

struct tls_hash {
	__u32 pos;
	__u64 hash;
};

static long tls_hash_cb(__u32 i, void *ctx)
{
	struct tls_hash *h = ctx;
	struct tls_scratch *s = tls_scratch();

	if (!s || h->pos + i > 255)
		return 1;
	h->hash = (h->hash ^ s->wire[(h->pos + i) & 255]) * FNV_PRIME;
	return 0;
}

/*
 * The name of the ClientHello just read, against the names learned for the address under the
 * rule: 0 when it is one of them (valid, under the rule as it is), else the reason. *hash: the
 * name's, as questions are hashed (lower-case wire format, a trailing dot ignored), 0 if none;
 * the name is kept in dns_names for the event.
 */
static __always_inline __u8 tls_name_judge(struct tls_scratch *s, const struct mcpf_learned_name_key *base,
					   __u64 digest, __u64 *hash)
{
	struct mcpf_learned_name_key k = *base;
	struct tls_wire w = { .pos = widen(MCPF_DNS_NAME_MAX - 2), .label = widen(0) };
	struct tls_hash h = { .hash = FNV_OFFSET };
	struct mcpf_learned_name *v;
	__u32 len = s->f.name_len;

	*hash = 0;
	if (!(s->f.flags & F_SNI))
		return MCPF_REASON_TLS_NO_NAME;
	if (s->f.flags & F_LONG)
		return MCPF_REASON_TLS_NAME;
	if (len && s->f.name[(len - 1) & 255] == '.')
		len--;
	if (!len)
		return MCPF_REASON_TLS_NAME;
	__builtin_memset(s->wire, 0, sizeof(s->wire));
	w.len = len;
	bpf_loop(MCPF_TLS_NAME_MAX, tls_wire_cb, &w, 0);
	s->wire[w.pos & 255] = (__u8)w.label;
	h.pos = w.pos & 255;
	bpf_loop(MCPF_DNS_NAME_MAX, tls_hash_cb, &h, 0);
	*hash = h.hash;
	bpf_map_update_elem(&mcpf_dns_names, &h.hash, s->wire, BPF_ANY);
	k.name_hash = h.hash;
	v = bpf_map_lookup_elem(&mcpf_learned_names, &k);
	if (!v || v->digest != digest || bpf_ktime_get_coarse_ns() > v->expires_ns + dns_grace_ns)
		return MCPF_REASON_TLS_NAME;
	return 0;
}

/* A packet's payload as tls_round reads it. */
struct tls_read {
	struct __sk_buff *skb;
	const struct mcpf_learned_name_key *base; /* the flow's policy, rule and address */
	__u64 digest;				  /* the rule's */
	__u64 hash;				  /* of the name judged */
	__u32 off, left;			  /* the payload not yet copied */
	__u8 reason;				  /* a refusal's */
};

/* One round: the next chunk copied when the last is read, then walked up to its end or an
 * outcome; a ClientHello read whole is judged here. */
static long tls_round(__u32 i, void *ctx)
{
	struct tls_read *rd = ctx;
	struct tls_scratch *s = tls_scratch();

	if (!s)
		return 1;
	if (s->pos >= s->len) {
		__u64 n = rd->left < TLS_CHUNK ? rd->left : TLS_CHUNK;

		if (!n)
			return 1;
		/* n itself, in a form whose bounds [1, TLS_CHUNK] every verifier sees (6.1 does not
		 * learn n >= 1 from the test above) */
		n = ((n - 1) & TLS_CHUNK_MASK) + 1;
		if (bpf_skb_load_bytes(rd->skb, rd->off, s->buf, n))
			return 1;
		rd->off += n;
		rd->left -= n;
		s->pos = 0;
		s->len = n;
	}
	bpf_loop(TLS_CHUNK + 1, tls_step, NULL, 0);
	if (s->outcome == TLS_JUDGE) {
		counter_add(MCPF_CNT_TLS_CHECKED);
		rd->reason = tls_name_judge(s, rd->base, rd->digest, &rd->hash);
		if (rd->reason)
			return 1;
		s->f.flags |= F_JUDGED;
		s->outcome = TLS_GO;
	}
	return s->outcome != TLS_GO;
}

/*
 * A packet of a flow whose range checks ClientHellos (the caller saw mark->tls short of
 * PASSED): read what it adds, judge any ClientHello it completes. Returns 1 to let it pass.
 */
static __always_inline int tls_check(struct __sk_buff *skb, __u64 bound_cgroup_id)
{
	struct tls_read rd = {};
	struct mcpf_resolved res = {};
	const struct mcpf_slot_names *sn;
	struct bpf_sock *sk = skb->sk;
	struct mcpf_sock_mark *mark;
	struct mcpf_tls_flow *f;
	struct tls_scratch *s;
	struct mcpf_binding *b;
	struct event_sock es = {};
	struct mcpf_query *q;
	struct dns_pkt *p;
	const struct mcpf_port_range *pr = NULL;
	__u32 data_seq, end, off, left, slot, rule;
	__u8 tls_mode;
	__u64 digest = 0, hash = 0;
	__u8 reason = 0, verdict;

	if (!sk)
		return 1;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return 1;
	mark = bpf_sk_storage_get(&mcpf_socks_v2, sk, 0, 0);
	if (!mark)
		return 1;
	s = tls_scratch();
	if (!s)
		return 0;
	p = &s->p;
	__builtin_memset(p, 0, sizeof(*p));
	if (dns_pkt_parse(skb, p) < 0 || p->protocol != IPPROTO_TCP)
		return mark->tls == MCPF_TLS_NONE;
	if (mark->tls == MCPF_TLS_REFUSED)
		return p->payload == 0; /* bare ACKs and FINs: the flow ends the sooner */
	b = bpf_map_lookup_elem(&mcpf_bindings, &bound_cgroup_id);
	if (!b)
		return 1; /* unbound meanwhile: the caller's decision stands */
	res.binding = b;
	res.bound_cgroup_id = bound_cgroup_id;
	/* the name rule that allowed the flow, as the egress program marked it at the first packet,
	 * and the mode of its range for this port */
	rule = mark->named_rule & (MCPF_MAX_NAME_RULES - 1);
	slot = b->slot;
	sn = bpf_map_lookup_elem(&mcpf_slot_names, &slot);
	if (sn) {
		pr = ports_match(&sn->rules[rule].allow, p->dport, MCPF_PROTO_TCP);
		digest = sn->rules[rule].digest;
	}
	tls_mode = pr ? pr->tls : MCPF_TLS_OFF;
	if (tls_mode == MCPF_TLS_OFF) {
		mark->tls = MCPF_TLS_PASSED; /* its range does not check: never again asked */
		return 1;
	}
	if (mark->tls == MCPF_TLS_NONE) {
		if (!(p->tcp_flags & TCP_FLAG_SYN)) {
			/* opened before the check applied to it (a reload turned it on): its
			 * first bytes are gone, it is not judged */
			mark->tls = MCPF_TLS_PASSED;
			return 1;
		}
		f = bpf_sk_storage_get(&mcpf_tls_flows, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
		if (!f) {
			reason = MCPF_REASON_TLS_BOUNDS; /* no memory to follow it */
			goto refuse;
		}
		__builtin_memset(f, 0, sizeof(*f));
		f->next_seq = p->seq + 1;
		mark->tls = MCPF_TLS_READING;
	} else {
		f = bpf_sk_storage_get(&mcpf_tls_flows, sk, 0, 0);
		if (!f) {
			reason = MCPF_REASON_TLS_BOUNDS;
			goto refuse;
		}
	}
	if (!p->payload)
		return 1;
	data_seq = p->seq + ((p->tcp_flags & TCP_FLAG_SYN) ? 1 : 0);
	end = data_seq + p->payload;
	if ((__s32)(end - f->next_seq) <= 0)
		return 1; /* a retransmission of bytes read */
	if ((__s32)(data_seq - f->next_seq) > 0 || ++f->segments > MCPF_TLS_SEGMENTS_MAX) {
		reason = MCPF_REASON_TLS_BOUNDS; /* a gap, or too many segments */
		goto refuse;
	}
	off = p->msg_off - 2 + (f->next_seq - data_seq); /* dns_pkt_parse: msg_off is data + 2 */
	left = end - f->next_seq;
	f->next_seq = end;
	__builtin_memset(&s->base, 0, sizeof(s->base));
	s->base.policy_id = b->policy_id;
	s->base.rule = rule;
	s->base.family = p->family;
	__builtin_memcpy(s->base.addr, p->daddr, 16);
	__builtin_memcpy(&s->f, f, sizeof(s->f));
	s->outcome = TLS_GO;
	s->pos = s->len = 0;
	rd.skb = skb;
	rd.off = off;
	rd.left = left;
	rd.digest = digest;
	rd.base = &s->base;
	bpf_loop(TLS_ROUNDS, tls_round, &rd, 0);
	reason = rd.reason;
	hash = rd.hash;
	left = rd.left;
	if (!reason && s->outcome == TLS_REFUSE)
		reason = s->reason;
	if (!reason && s->outcome == TLS_GO && (left || s->pos < s->len))
		reason = MCPF_REASON_TLS_BOUNDS; /* more than a packet's rounds */
	if (reason)
		goto refuse;
	if (s->outcome == TLS_DONE) {
		mark->tls = MCPF_TLS_PASSED;
		bpf_sk_storage_delete(&mcpf_tls_flows, sk);
		return 1;
	}
	__builtin_memcpy(f, &s->f, sizeof(*f));
	f->next_seq = end;
	return 1;

refuse:
	q = &s->q;
	__builtin_memset(q, 0, sizeof(*q));
	q->cgroup_id = bpf_skb_cgroup_id(skb); /* q->mark unset: a map keeps no pointer */
	q->hook = MCPF_HOOK_SKB;
	q->sock_type = sk->type;
	q->family = p->family;
	q->protocol = IPPROTO_TCP;
	q->dport = p->dport;
	__builtin_memcpy(q->addr, p->daddr, 16);
	q->name_hash = hash;
	q->name_state = MCPF_NAMES_ALLOWED;
	verdict = (tls_mode == MCPF_TLS_AUDIT || b->mode == MCPF_MODE_AUDIT) ? MCPF_VERDICT_AUDIT
									    : MCPF_VERDICT_DENY;
	counter_add(MCPF_CNT_TLS_REFUSED);
	verdict_count(b->metric, MCPF_HOOK_SKB, verdict);
	es.cookie = bpf_get_socket_cookie(skb);
	__builtin_memcpy(es.saddr, p->saddr, 16);
	es.sport = p->sport;
	event_write(q, &res, mark, &es, MCPF_EVENT_TLS, verdict, reason, bpf_ktime_get_boot_ns());
	bpf_sk_storage_delete(&mcpf_tls_flows, sk);
	if (verdict == MCPF_VERDICT_AUDIT) {
		mark->tls = MCPF_TLS_PASSED; /* reported once; the flow goes on unread */
		return 1;
	}
	mark->tls = MCPF_TLS_REFUSED;
	return 0;
}

/*
 * The check as a program of its own, reached by a tail call from mcpf_skb_egress (tls_hand_over):
 * a fresh stack and its own verification, apart from the DNS code's. The skb's control block
 * carries the binding the caller resolved (its cgroup); the mark, the name rule.
 */
SEC("cgroup_skb/egress")
int mcpf_tail_tls(struct __sk_buff *skb)
{
	__u64 bound = ((__u64)skb->cb[1] << 32) | skb->cb[0];

	return tls_check(skb, bound) ? 1 : 0;
}

/* Hand the packet over to mcpf_tail_tls; a tail call that fails (it cannot, once loaded)
 * refuses it: nothing unread passes. */
static __always_inline int tls_hand_over(struct __sk_buff *skb, __u64 bound)
{
	skb->cb[0] = (__u32)bound;
	skb->cb[1] = (__u32)(bound >> 32);
	bpf_tail_call(skb, &mcpf_tail, MCPF_TAIL_TLS);
	return 0;
}

#endif
