/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * Maps and the verdict logic shared by every mcpfence program. Each object (sock_addr, sock_create,
 * skb) includes this file; the maps are pinned by name, so all objects share one instance of each.
 */
#ifndef MCPFENCE_COMMON_BPF_H
#define MCPFENCE_COMMON_BPF_H

#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "mcpfence_abi.h"

#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif
#define NSEC_PER_SEC 1000000000ULL

/* Load-time knobs, written by the agent between open and load. */
const volatile __u64 root_cgroup_id = 0; /* cgroup the programs are attached to */
const volatile __u32 root_level = 0;	  /* its depth in the cgroup2 hierarchy */
const volatile __u32 unbound_action = MCPF_UNBOUND_DENY;
const volatile __u32 deny_raw = 1;	/* refuse raw and ICMP sockets in guarded cgroups */
const volatile __u32 rate_limit = 100; /* events per cgroup per second, 0 = unlimited */
const volatile __u32 deny_mptcp = 1;	/* refuse MPTCP sockets in guarded cgroups */
const volatile __u32 dns_enabled = 0;	/* resolvers are configured: names are learned */
const volatile __u64 dns_ttl_floor_ns = 5 * NSEC_PER_SEC;
const volatile __u64 dns_ttl_cap_ns = 3600 * NSEC_PER_SEC;
const volatile __u64 dns_grace_ns = 5 * NSEC_PER_SEC; /* a learned address outlives its TTL by this */
const volatile __u64 dns_cap_per_name = 256;	       /* learned addresses per pattern */
const volatile __u64 dns_cap_per_policy = 4096;	       /* learned addresses per policy */
const volatile __u32 dns_queries_per_second = 200;     /* per policy, 0 = unlimited */
const volatile __u32 dns_new_names_per_minute = 300;   /* per policy, 0 = unlimited */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MCPF_MAX_BINDINGS);
	__type(key, __u64);
	__type(value, struct mcpf_binding);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcpf_bindings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, MCPF_DEFAULT_PREFIXES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mcpf_trie4_key);
	__type(value, struct mcpf_allow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcpf_trie4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, MCPF_DEFAULT_PREFIXES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mcpf_trie6_key);
	__type(value, struct mcpf_allow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcpf_trie6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MCPF_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcpf_counters_v2 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct mcpf_ratelimit);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcpf_ratelimit SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcpf_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct mcpf_sock_mark);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcpf_socks_v2 SEC(".maps");

/* Names (see the ABI header): patterns per slot, rules per slot, resolvers, learned addresses. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mcpf_name_key);
	__type(value, struct mcpf_name_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcpf_names SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct mcpf_slot_names);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcpf_slot_names SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MCPF_MAX_RESOLVERS);
	__type(key, struct mcpf_resolver_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcpf_resolvers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mcpf_dns_ports);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcpf_dns_ports SEC(".maps");

/* Rules' last use (scope audits): entries made by userspace, only updated here. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MCPF_MAX_RULE_SLOTS);
	__type(key, __u32);
	__type(value, struct mcpf_rule_slot);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcpf_rule_last SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MCPF_MAX_RULE_USE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mcpf_rule_use_key);
	__type(value, struct mcpf_rule_use);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcpf_rule_use SEC(".maps");

/* Not LRU: a flood of lookups must fail to learn, never push out what other names learned. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MCPF_DEFAULT_LEARNED);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mcpf_learned_key);
	__type(value, struct mcpf_learned);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcpf_learned SEC(".maps");

/* Names per learned address, for the ClientHello check; not LRU either. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MCPF_DEFAULT_LEARNED);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mcpf_learned_name_key);
	__type(value, struct mcpf_learned_name);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcpf_learned_names SEC(".maps");

/* A checked flow's ClientHello as read so far: pinned, so a restart does not lose it. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct mcpf_tls_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcpf_tls_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mcpf_count_key);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcpf_learn_counts SEC(".maps");

/* Userspace-only metadata, pinned with the rest so that a restarted agent can read it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct mcpf_policy_meta);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcpf_meta SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MCPF_MAX_BINDINGS);
	__type(key, __u32);
	__type(value, struct mcpf_identity);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcpf_identities SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MCPF_METRIC_ROWS * MCPF_HOOK_MAX * MCPF_VERDICT_KINDS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcpf_verdicts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcpf_bindings_gen SEC(".maps");

static __always_inline void verdict_count(__u32 row, __u8 hook, __u8 verdict)
{
	__u32 idx = (row * MCPF_HOOK_MAX + hook) * MCPF_VERDICT_KINDS + verdict;
	__u64 *n = bpf_map_lookup_elem(&mcpf_verdicts, &idx);

	if (n)
		*n += 1;
}

static __always_inline void counter_add(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&mcpf_counters_v2, &idx);

	if (v)
		*v += 1;
}

/* What a sock_addr/sock/skb program asks about one destination. */
struct mcpf_query {
	__u64 cgroup_id;
	__u8 family;
	__u8 protocol; /* IPPROTO_* */
	__u8 proto_bit;
	__u8 hook;
	__u16 dport;
	__u16 pad;
	__u32 sock_type;
	__u8 addr[16];
	const struct mcpf_sock_mark *mark; /* skb: who connected the socket */
	__u32 gen;			   /* bindings_gen before the binding was resolved */
	__u8 trie_allowed;		   /* set by the decision: allowed by the trie (cacheable) */
	/* names: filled by the decision, for the event */
	__u64 name_hash;
	__u16 qtype;
	__u8 name_state;
	/* names, socket hooks: the ClientHello check of the range that allowed (mcpf_tls_mode) */
	__u8 tls;
};

/* The binding that applies to a cgroup, found by walking its ancestors below the root. */
struct mcpf_resolved {
	struct mcpf_binding *binding;
	__u64 bound_cgroup_id;
};

/*
 * The cgroup's own binding first: it is the deepest there can be, and the agent binds only
 * cgroups under the root, so one lookup settles the common case (a bound container or service).
 * Otherwise walk from the root's level downwards, keeping the deepest binding seen, up to the
 * cgroup's parent. ancestor(level) returns 0 past the cgroup's own depth. Returns 0 when the
 * cgroup is not under the root (not guarded), 1 otherwise.
 */
#define RESOLVE_BINDING(ancestor, self_id, out)                                                   \
	({                                                                                         \
		__u64 __self = (self_id);                                                          \
		struct mcpf_binding *__b = bpf_map_lookup_elem(&mcpf_bindings, &__self);          \
		int __guarded = 0;                                                                 \
		__u64 __id = root_cgroup_id; /* level 0 of the walk: fetched once, by the guard */ \
		if (__b) {                                                                         \
			__guarded = 1;                                                             \
			(out)->binding = __b;                                                      \
			(out)->bound_cgroup_id = __self;                                           \
		} else if (ancestor(root_level) == root_cgroup_id) {                              \
			__guarded = 1;                                                             \
			for (__u32 __i = 0; __i <= MCPF_MAX_CGROUP_WALK; __i++) {                  \
				if (__i)                                                           \
					__id = ancestor(root_level + __i);                         \
				if (!__id || __id == __self)                                       \
					break;                                                     \
				__b = bpf_map_lookup_elem(&mcpf_bindings, &__id);                 \
				if (__b) {                                                         \
					(out)->binding = __b;                                      \
					(out)->bound_cgroup_id = __id;                             \
				}                                                                  \
			}                                                                          \
		}                                                                                  \
		__guarded;                                                                         \
	})

/* The range that allows the port and protocol, or NULL. */
static __always_inline const struct mcpf_port_range *ports_match(const struct mcpf_allow *allow,
								  __u16 dport, __u8 proto_bit)
{
	for (__u32 i = 0; i < MCPF_MAX_PORT_RANGES; i++) {
		const struct mcpf_port_range *r;

		if (i >= allow->nranges)
			break;
		r = &allow->ranges[i];
		if ((r->protos & proto_bit) && dport >= r->lo && dport <= r->hi)
			return r;
	}
	return NULL;
}

/*
 * The ClientHello check of the range that allows the port and protocol (enum mcpf_tls_mode), or
 * -1 when none does. A number, not the range: a pointer kept across the caller's checks would
 * differ per range and keep the verifier's paths apart.
 */
static __always_inline int ports_tls(const struct mcpf_allow *allow, __u16 dport, __u8 proto_bit)
{
	const struct mcpf_port_range *r = ports_match(allow, dport, proto_bit);

	return r ? r->tls : -1;
}

/* A rule's last use: the coarse clock, written at most once a second per entry. */
static __always_inline void last_use_note(__u64 *last_ns)
{
	__u64 now = bpf_ktime_get_coarse_ns();

	if (now - *last_ns >= NSEC_PER_SEC)
		*last_ns = now;
}

/*
 * A name pattern allowed a new flow or datagram destination. Only entries userspace made are
 * counted (one lookup, no insert).
 */
static __always_inline void rule_use_note(__u32 policy_id, __u16 index, __u64 pattern)
{
	struct mcpf_rule_use_key k = { .policy_id = policy_id, .kind = MCPF_RULE_NAME, .index = index,
				       .pattern = pattern };
	struct mcpf_rule_use *u = bpf_map_lookup_elem(&mcpf_rule_use, &k);

	if (u)
		last_use_note(&u->last_ns);
}

/* The same for a rule by address: its slot, from the range that allowed (an array access). */
static __always_inline void rule_slot_note(__u16 slot)
{
	__u32 k = slot;
	struct mcpf_rule_slot *u;

	if (slot == MCPF_RULE_UNATTRIBUTED)
		return;
	u = bpf_map_lookup_elem(&mcpf_rule_last, &k);
	if (u)
		last_use_note(&u->last_ns);
}

static __always_inline int is_v4_mapped(const __u8 *a)
{
	const __u32 *w = (const __u32 *)a;

	return w[0] == 0 && w[1] == 0 && w[2] == bpf_htonl(0x0000ffff);
}

/*
 * One LPM lookup in the family's trie; v4-mapped IPv6 goes to the IPv4 trie. 1: the trie
 * allows it (*rule: the credited rule); 0: it does not; -1: a metadata guard refuses it, names
 * included.
 */
static __always_inline int policy_allows(__u32 slot, const struct mcpf_query *q, __u16 *rule)
{
	const struct mcpf_port_range *r;
	struct mcpf_allow *allow;

	if (q->family == AF_INET || is_v4_mapped(q->addr)) {
		struct mcpf_trie4_key k4 = { .prefixlen = 64, .slot = slot };
		const __u8 *src = q->family == AF_INET ? q->addr : q->addr + 12;

		__builtin_memcpy(k4.addr, src, 4);
		allow = bpf_map_lookup_elem(&mcpf_trie4, &k4);
	} else {
		struct mcpf_trie6_key k6 = { .prefixlen = 32 + 128, .slot = slot };

		__builtin_memcpy(k6.addr, q->addr, 16);
		allow = bpf_map_lookup_elem(&mcpf_trie6, &k6);
	}
	if (!allow)
		return 0;
	if (allow->flags & MCPF_ALLOW_GUARD)
		return -1;
	r = ports_match(allow, q->dport, q->proto_bit);
	if (!r)
		return 0;
	*rule = r->rule;
	return 1;
}

/*
 * Report a violation, at most rate_limit per cgroup per second. Every violation is either
 * written to the ring buffer (EVENTS) or counted as suppressed (SUPPRESSED), never both, so
 * delivered + suppressed = violations.
 */
/* The socket of a refused TLS flow, for the agent to end it (event_write's optional part). */
struct event_sock {
	__u64 cookie;
	__u8 saddr[16];
	__u16 sport;
};

/*
 * The event, with the task named by `mark` where programs have no task context, and `sock` when
 * given. One function with early returns, not a reserve handed back to callers: every caller
 * inlines it, and a pointer returned, tested again by each, costs the verifier tens of
 * thousands of instructions in the skb program.
 */
static __always_inline void event_write(const struct mcpf_query *q, const struct mcpf_resolved *res,
					const struct mcpf_sock_mark *mark, const struct event_sock *sock,
					__u8 type, __u8 verdict, __u8 reason, __u64 now)
{
	struct mcpf_ratelimit *rl, fresh = { .window_start_ns = now };
	struct mcpf_event *e;
	__u64 cg = q->cgroup_id;

	if (rate_limit) {
		rl = bpf_map_lookup_elem(&mcpf_ratelimit, &cg);
		if (!rl) {
			bpf_map_update_elem(&mcpf_ratelimit, &cg, &fresh, BPF_NOEXIST);
			rl = bpf_map_lookup_elem(&mcpf_ratelimit, &cg);
			if (!rl) {
				counter_add(MCPF_CNT_BPF_HELPER_ERRORS);
				counter_add(MCPF_CNT_EVENTS_SUPPRESSED);
				return;
			}
		}
		if (now - rl->window_start_ns >= NSEC_PER_SEC) {
			rl->window_start_ns = now;
			rl->count = 0;
		}
		if (__sync_fetch_and_add(&rl->count, 1) >= rate_limit) {
			__sync_fetch_and_add(&rl->suppressed, 1);
			counter_add(MCPF_CNT_EVENTS_SUPPRESSED);
			return;
		}
	}

	e = bpf_ringbuf_reserve(&mcpf_events, sizeof(*e), 0);
	if (!e) {
		counter_add(MCPF_CNT_RINGBUF_DROPS);
		counter_add(MCPF_CNT_EVENTS_SUPPRESSED);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_boot_ns = now;
	e->cgroup_id = cg;
#ifdef MCPF_NO_TASK_CONTEXT
	/* cgroup_skb may run in softirq, and 6.1 offers it no task helpers */
	if (mark) {
		const struct mcpf_sock_mark *m = mark;

		barrier_var(m); /* no address of it taken before the test: the verifier refuses that */
		e->pid = m->pid;
		__builtin_memcpy(e->comm, m->comm, sizeof(e->comm));
	}
#else
	e->pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
#endif
	if (res->binding) {
		e->bound_cgroup_id = res->bound_cgroup_id;
		e->policy_id = res->binding->policy_id;
		e->slot = res->binding->slot;
		e->identity_id = res->binding->identity_id;
		e->expires_ns = res->binding->expires_ns;
		e->mode = res->binding->mode;
	}
	e->type = type;
	e->verdict = verdict;
	e->hook = q->hook;
	e->reason = reason;
	e->family = q->family;
	e->protocol = q->protocol;
	e->dport = q->dport;
	e->sock_type = q->sock_type;
	e->name_hash = q->name_hash;
	e->qtype = q->qtype;
	e->name_state = q->name_state;
	__builtin_memcpy(e->daddr, q->addr, 16);
	if (sock) {
		e->sock_cookie = sock->cookie;
		__builtin_memcpy(e->saddr, sock->saddr, 16);
		e->sport = sock->sport;
	}
	bpf_ringbuf_submit(e, 0);
	counter_add(MCPF_CNT_EVENTS);
}

static __always_inline void event_emit(const struct mcpf_query *q, const struct mcpf_resolved *res,
				       __u8 type, __u8 verdict, __u8 reason, __u64 now)
{
	event_write(q, res, q->mark, NULL, type, verdict, reason, now);
}

/* The boot clock as read earlier on this path, or now: a path reads it once, and only if needed. */
static __always_inline __u64 clock_or(__u64 now)
{
	return now ? now : bpf_ktime_get_boot_ns();
}

/* Count and report a verdict reached for a guarded cgroup; returns 1 to let it pass. */
static __always_inline int verdict_finish(const struct mcpf_query *q,
					  const struct mcpf_resolved *res, __u8 verdict,
					  __u8 type, __u8 reason, __u64 now)
{
	verdict_count(res->binding ? res->binding->metric : MCPF_METRIC_NONE, q->hook, verdict);
	if (verdict == MCPF_VERDICT_ALLOW)
		return 1;
	/* an audited flow was reported at connect/sendmsg; its packets are not news */
	if (verdict == MCPF_VERDICT_AUDIT && q->hook == MCPF_HOOK_SKB && type == MCPF_EVENT_EGRESS)
		return 1;
	event_emit(q, res, type, verdict, reason, clock_or(now));
	return verdict == MCPF_VERDICT_AUDIT;
}

static __always_inline __u8 unbound_verdict(void)
{
	if (unbound_action == MCPF_UNBOUND_ALLOW)
		return MCPF_VERDICT_ALLOW;
	return unbound_action == MCPF_UNBOUND_AUDIT ? MCPF_VERDICT_AUDIT : MCPF_VERDICT_DENY;
}

static __always_inline __u8 mode_verdict(const struct mcpf_binding *b)
{
	return b->mode == MCPF_MODE_AUDIT ? MCPF_VERDICT_AUDIT : MCPF_VERDICT_DENY;
}

/*
 * A socket or option refused outright in a guarded cgroup (raw, MPTCP, routing options): the
 * binding's mode decides deny or audit; unbound cgroups get the unbound action, except that
 * `unbound: allow` does not open what the backstop cannot follow (`strict`).
 */
static __always_inline int refuse_in_guarded(struct mcpf_query *q, const struct mcpf_resolved *res,
					     __u8 reason, int strict)
{
	__u8 verdict = res->binding ? mode_verdict(res->binding) : unbound_verdict();

	if (verdict == MCPF_VERDICT_ALLOW && strict)
		verdict = MCPF_VERDICT_DENY;
	return verdict_finish(q, res, verdict, MCPF_EVENT_SOCKET, reason, bpf_ktime_get_boot_ns());
}

/* A destination's family and address as the resolvers and learned maps key them. */
static __always_inline __u8 addr_normalize(const struct mcpf_query *q, __u8 out[16])
{
	if (q->family == AF_INET6 && is_v4_mapped(q->addr)) {
		__builtin_memcpy(out, q->addr + 12, 4);
		return AF_INET;
	}
	if (q->family == AF_INET)
		__builtin_memcpy(out, q->addr, 4);
	else
		__builtin_memcpy(out, q->addr, 16);
	return q->family;
}

static __always_inline int addr_equal(const __u8 *a, const __u8 *b)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;

	return x[0] == y[0] && x[1] == y[1];
}

/* Whether some resolver listens on this port: one inlined array lookup, before any hash. */
static __always_inline int dns_port(__u16 port)
{
	__u32 zero = 0;
	struct mcpf_dns_ports *p = bpf_map_lookup_elem(&mcpf_dns_ports, &zero);

	return p && ((p->bits[(port >> 6) & 1023] >> (port & 63)) & 1);
}

static __always_inline int resolver_is(__u8 family, const __u8 *addr, __u16 port)
{
	struct mcpf_resolver_key k = { .family = family, .port = port };

	if (family == AF_INET)
		__builtin_memcpy(k.addr, addr, 4);
	else
		__builtin_memcpy(k.addr, addr, 16);
	return bpf_map_lookup_elem(&mcpf_resolvers, &k) != NULL;
}

/*
 * The names half of a decision (after the trie said no): a connect or sendmsg to a configured
 * resolver over UDP or TCP is allowed to a policy with names (the skb program judges each
 * packet), and an address learned for one of
 * the policy's name rules is allowed on that rule's ports until its TTL plus the grace; a flow
 * whose first packet left while the address was valid keeps going (its socket's mark says so).
 * Whatever the outcome, q learns what the names said about the address, for the event.
 */
static __always_inline int names_allow(const struct mcpf_binding *b, struct mcpf_query *q, int guarded)
{
	struct mcpf_learned_key k = { .policy_id = b->policy_id };
	const struct mcpf_slot_names *sn;
	__u32 slot = b->slot;

	if (!dns_enabled)
		return 0;
	sn = bpf_map_lookup_elem(&mcpf_slot_names, &slot);
	if (!sn)
		return 0;
	k.family = addr_normalize(q, k.addr);
	/* at the backstop a packet to a resolver was judged by its content already (dns_egress):
	 * one that reaches this is not a query it could read, and is not let through as DNS */
	if (q->hook != MCPF_HOOK_SKB &&
	    (q->protocol == IPPROTO_TCP || q->protocol == IPPROTO_UDP) && dns_port(q->dport) &&
	    resolver_is(k.family, k.addr, q->dport)) {
		q->name_state = MCPF_NAMES_RESOLVER;
		return 1;
	}
	q->name_state = MCPF_NAMES_NEVER;
	if (guarded)
		return 0; /* a metadata endpoint: no name learned for it lets it through */
	if (q->hook == MCPF_HOOK_SKB && q->mark && q->mark->named) {
		/* a flow opened while its address was valid lives on past the TTL, for as long as
		 * the rule that allowed it stays as it was */
		const struct mcpf_sock_mark *m = q->mark;
		__u32 r = m->named_rule & (MCPF_MAX_NAME_RULES - 1);

		if (r < sn->nrules && m->named_digest == sn->rules[r].digest &&
		    addr_equal(m->named_addr, k.addr) &&
		    ports_match(&sn->rules[r].allow, q->dport, q->proto_bit)) {
			q->name_state = MCPF_NAMES_ALLOWED;
			return 1;
		}
	}
	for (__u32 r = 0; r <= MCPF_MAX_NAME_RULES; r++) {
		const struct mcpf_name_rule *rule;
		struct mcpf_learned *l;
		int tls;

		if (r < MCPF_MAX_NAME_RULES ? r >= sn->nrules : b->mode != MCPF_MODE_AUDIT)
			continue; /* the audit-only entries matter to audit mode's events */
		k.rule = r;
		l = bpf_map_lookup_elem(&mcpf_learned, &k);
		if (!l)
			continue;
		q->name_hash = l->name_hash;
		if (r == MCPF_NAME_RULE_AUDIT) {
			q->name_state = MCPF_NAMES_AUDIT;
			continue;
		}
		rule = &sn->rules[r];
		if (l->digest != rule->digest) {
			q->name_state = MCPF_NAMES_STALE;
			continue;
		}
		tls = ports_tls(&rule->allow, q->dport, q->proto_bit);
		if (tls < 0) {
			q->name_state = MCPF_NAMES_VALID;
			continue;
		}
		/* the coarse clock (a tick's precision) is plenty for TTLs of seconds and costs a
		 * fraction of the boot clock: a learned address costs no more than a CIDR one */
		if (bpf_ktime_get_coarse_ns() > l->expires_ns + dns_grace_ns) {
			q->name_state = MCPF_NAMES_EXPIRED;
			continue;
		}
		q->name_state = MCPF_NAMES_ALLOWED;
		/* the range's ClientHello check, for the socket hooks' caller, which refuses UDP to
		 * it (QUIC). The skb program leaves TCP to bpf/tls.bpf.h, which finds the rule in the
		 * mark: it stores nothing here (a store per name rule costs its verification dearly) */
		if (q->hook != MCPF_HOOK_SKB)
			q->tls = (__u8)tls;
		if (q->hook != MCPF_HOOK_SKB)
			rule_use_note(b->policy_id, (__u16)r, l->pattern);
		if (q->hook == MCPF_HOOK_SKB && q->mark) {
			/* the flow's first packet marks its socket: from now on the flow outlives the
			 * TTL (marked here, not at connect, to keep sk storage off the connect path) */
			struct mcpf_sock_mark *m = (struct mcpf_sock_mark *)q->mark;

			m->named_rule = r;
			m->named_digest = rule->digest;
			__builtin_memcpy(m->named_addr, k.addr, sizeof(m->named_addr));
			m->named = 1;
		}
		return 1;
	}
	return 0;
}

/*
 * The lookup precedence, for a guarded cgroup with its binding resolved:
 *   1. not guarded                          -> allow (checked by the caller)
 *   2. no binding                           -> the `unbound` action
 *   3. binding expired                      -> deny (audit in audit mode), `expired` event
 *   4. trie match with port and protocol    -> allow (q->trie_allowed: the caller may cache it)
 *      a metadata guard (a cloud metadata endpoint no rule names) -> only a resolver passes
 *   5. a resolver, or an address learned for one of the policy's names, on that rule's ports
 *                                           -> allow
 *   6. otherwise the binding's mode decides -> deny or audit
 * In audit mode the allowed flows are reported too (verdict allow), so that `policy suggest`
 * sees everything the workload did. The clock is read only when something needs it (an
 * expiring binding, names, an event): on an allowed path without expiry it costs nothing.
 * Returns 1 to let the operation pass, 0 to refuse it.
 */
static __always_inline int policy_decide(struct mcpf_query *q, const struct mcpf_resolved *res)
{
	const struct mcpf_binding *b = res->binding;
	__u64 now = 0;
	__u16 rule = 0;
	int allowed;

	if (!b) {
		counter_add(MCPF_CNT_UNBOUND);
		return verdict_finish(q, res, unbound_verdict(), MCPF_EVENT_EGRESS,
				      MCPF_REASON_UNBOUND, now);
	}
	if (b->expires_ns) {
		now = bpf_ktime_get_boot_ns();
		if (now > b->expires_ns) {
			counter_add(MCPF_CNT_EXPIRED);
			return verdict_finish(q, res, mode_verdict(b), MCPF_EVENT_EXPIRED,
					      MCPF_REASON_EXPIRED, now);
		}
	}
	allowed = policy_allows(b->slot, q, &rule);
	if (allowed > 0) {
		q->trie_allowed = 1;
		if (q->hook != MCPF_HOOK_SKB) /* a flow or datagram judged in full, not a packet */
			rule_slot_note(rule);
		if (b->mode == MCPF_MODE_AUDIT && q->hook != MCPF_HOOK_SKB)
			event_emit(q, res, MCPF_EVENT_EGRESS, MCPF_VERDICT_ALLOW, MCPF_REASON_POLICY,
				   clock_or(now));
		return verdict_finish(q, res, MCPF_VERDICT_ALLOW, 0, 0, now);
	}
	if (names_allow(b, q, allowed < 0)) {
		if (q->tls && q->proto_bit != MCPF_PROTO_TCP) {
			/* QUIC would carry the server name out of sight: refused at connect and send
			 * where the range checks ClientHellos */
			counter_add(MCPF_CNT_TLS_REFUSED);
			return verdict_finish(q, res, q->tls == MCPF_TLS_AUDIT ? MCPF_VERDICT_AUDIT : mode_verdict(b),
					      MCPF_EVENT_TLS, MCPF_REASON_TLS_QUIC, now);
		}
		if (b->mode == MCPF_MODE_AUDIT && q->hook != MCPF_HOOK_SKB)
			event_emit(q, res, MCPF_EVENT_EGRESS, MCPF_VERDICT_ALLOW, MCPF_REASON_POLICY,
				   clock_or(now));
		return verdict_finish(q, res, MCPF_VERDICT_ALLOW, 0, 0, now);
	}
	return verdict_finish(q, res, mode_verdict(b), MCPF_EVENT_EGRESS,
			      allowed < 0 ? MCPF_REASON_METADATA : MCPF_REASON_POLICY, now);
}

/*
 * Keep an allow verdict of the trie in the socket's mark, for a TCP flow (whose destination
 * cannot change): the slot is immutable and bindings_gen says when any binding changes, so the
 * verdict holds until then or until a second before the binding's expiry. state 2 asks the
 * backstop to see the flow's first IP header before trusting it (see mcpf_sock_mark).
 */
static __always_inline void verdict_cache_store(struct mcpf_sock_mark *m, const struct mcpf_query *q,
						const struct mcpf_binding *b, __u8 state)
{
	if (b->expires_ns && b->expires_ns < NSEC_PER_SEC) {
		m->cache_ok = 0;
		return;
	}
	m->cache_gen = q->gen;
	m->cache_expires_s = (__u32)(b->expires_ns / NSEC_PER_SEC);
	m->cache_ok = state;
}

/* Whether a cached verdict still holds: no binding changed, and the expiry is a second away. */
static __always_inline int verdict_cache_valid(const struct mcpf_sock_mark *m, __u32 gen)
{
	/* floor(now / 1e9) < s  <=>  now < s * 1e9: a multiply, not a division per packet */
	return m->cache_gen == gen &&
	       (!m->cache_expires_s ||
		bpf_ktime_get_boot_ns() < (__u64)m->cache_expires_s * NSEC_PER_SEC);
}

/* bindings_gen now: read before a binding is resolved, so a change during it stales the cache. */
static __always_inline __u32 bindings_gen_read(void)
{
	__u32 zero = 0, *gen = bpf_map_lookup_elem(&mcpf_bindings_gen, &zero);

	return gen ? *gen : 0; /* an array's element always exists */
}

static __always_inline __u8 proto_bit_of(__u32 protocol)
{
	if (protocol == IPPROTO_TCP)
		return MCPF_PROTO_TCP;
	if (protocol == IPPROTO_UDP || protocol == IPPROTO_UDPLITE)
		return MCPF_PROTO_UDP;
	return MCPF_PROTO_OTHER;
}

#endif
