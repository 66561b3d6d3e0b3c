/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * The one ABI shared by the BPF programs and the mcpfence binary: map keys and values, the event
 * record, verdict enums and limits. Fixed-width types only, explicit padding, a size assert on
 * every struct. A layout change renames the map with a _v2 suffix so that an old pinned map is
 * never read with the new layout.
 */
#ifndef MCPFENCE_ABI_H
#define MCPFENCE_ABI_H

#include <linux/types.h>

#define MCPF_MAX_PORT_RANGES 16	   /* port ranges per prefix after merging */
#define MCPF_MAX_CGROUP_WALK 16	   /* cgroup levels below the root searched for a binding */
#define MCPF_MAX_BINDINGS 65536	   /* bound cgroups */
#define MCPF_DEFAULT_PREFIXES 262144 /* trie entries per family, all policies and generations */
#define MCPF_POLICY_NAME_MAX 64
#define MCPF_IDENTITY_TEXT_MAX 256
#define MCPF_LEVEL_MAX 64	   /* cgroup levels the root-level discovery looks at */
#define MCPF_DNS_NAME_MAX 256	   /* wire-format name bytes, root label included */
#define MCPF_DNS_MSG_MAX 4096	   /* bytes of one DNS message parsed (EDNS0 replies up to 4 KiB) */
#define MCPF_DNS_ANSWERS_MAX 256   /* answer records read from one reply */
#define MCPF_DNS_CHAIN_MAX 8	   /* names on one CNAME chain, the question included */
#define MCPF_MAX_NAME_RULES 8	   /* egress rules with names, per policy */
#define MCPF_NAME_RULE_AUDIT MCPF_MAX_NAME_RULES /* learned for an unlisted name in audit mode */
#define MCPF_MAX_RESOLVERS 16
#define MCPF_DEFAULT_LEARNED 262144 /* learned addresses, all policies */
/* Bounds of the ClientHello check (bpf/tls.bpf.h), per flow, until its verdict */
#define MCPF_TLS_BYTES_MAX 65536   /* bytes read, record headers included */
#define MCPF_TLS_HELLO_MAX 16384   /* one ClientHello message (handshake length) */
#define MCPF_TLS_SEGMENTS_MAX 128  /* packets carrying payload */
#define MCPF_TLS_RECORDS_MAX 4096  /* TLS records */
#define MCPF_TLS_NAME_MAX 253	   /* a server name longer than a DNS name is not one */

/* Protocol bits in a port range. "any" is every bit: TCP, UDP and other IP protocols. */
enum mcpf_proto_bit {
	MCPF_PROTO_TCP = 1 << 0,
	MCPF_PROTO_UDP = 1 << 1,
	MCPF_PROTO_OTHER = 1 << 2, /* ICMP and the rest, seen only by the skb backstop */
	MCPF_PROTO_ANY = MCPF_PROTO_TCP | MCPF_PROTO_UDP | MCPF_PROTO_OTHER,
};

enum mcpf_mode {
	MCPF_MODE_ENFORCE = 0,
	MCPF_MODE_AUDIT = 1,
};

/* What a guarded cgroup with no binding gets (rodata knob `unbound_action`). */
enum mcpf_unbound {
	MCPF_UNBOUND_DENY = 0,
	MCPF_UNBOUND_AUDIT = 1,
	MCPF_UNBOUND_ALLOW = 2,
};

enum mcpf_verdict {
	MCPF_VERDICT_ALLOW = 0,
	MCPF_VERDICT_DENY = 1,
	MCPF_VERDICT_AUDIT = 2, /* allowed, but enforce mode would have denied */
};

enum mcpf_hook {
	MCPF_HOOK_CONNECT4 = 0,
	MCPF_HOOK_CONNECT6 = 1,
	MCPF_HOOK_SENDMSG4 = 2,
	MCPF_HOOK_SENDMSG6 = 3,
	MCPF_HOOK_SOCK_CREATE = 4,
	MCPF_HOOK_SKB = 5,
	MCPF_HOOK_SETSOCKOPT = 6,
	MCPF_HOOK_SKB_INGRESS = 7, /* DNS replies, read for learning */
	MCPF_HOOK_MAX,
};

enum mcpf_event_type {
	MCPF_EVENT_EGRESS = 0,	/* a verdict other than allow */
	MCPF_EVENT_EXPIRED = 1, /* the binding's identity had expired */
	MCPF_EVENT_SOCKET = 2,	/* a socket refused at creation (raw, ICMP, MPTCP, other protocols), or a socket option */
	MCPF_EVENT_DNS = 3,	/* a query refused, a reply not learned from, a forged reply */
	MCPF_EVENT_TLS = 4,	/* a flow allowed by a name whose ClientHello does not hold up */
};

/* Why a verdict was reached; shown in events as "reason". */
enum mcpf_reason {
	MCPF_REASON_POLICY = 0,	 /* no allowlist entry matched */
	MCPF_REASON_UNBOUND = 1, /* guarded cgroup without a binding */
	MCPF_REASON_EXPIRED = 2, /* binding past its expiry */
	MCPF_REASON_RAW = 3,	 /* raw or ICMP socket in a guarded cgroup */
	MCPF_REASON_IP_OPTIONS = 4, /* an option that can route a packet elsewhere (IPV6_RTHDR, IP_OPTIONS) */
	MCPF_REASON_MPTCP = 5,	 /* MPTCP: the kernel's subflows carry no mark */
	MCPF_REASON_DNS_NAME = 6,      /* a query for a name the policy does not list */
	MCPF_REASON_DNS_FULL = 7,      /* learning refused: the name's or the policy's cap is reached */
	MCPF_REASON_DNS_SPOOF = 8,     /* a guarded socket sending from a resolver's address and port */
	MCPF_REASON_DNS_MALFORMED = 9, /* a packet to a resolver that is not one plain query */
	MCPF_REASON_PROTOCOL = 10,     /* a socket protocol no hook judges on every send (SCTP...) */
	MCPF_REASON_DNS_TRANSPORT = 11, /* to a resolver: not UDP or TCP (UDP-Lite, ...) */
	MCPF_REASON_DNS_IP_HEADER = 12, /* to a resolver: IPv6 extension headers, IPv4 options, fragments */
	MCPF_REASON_DNS_OFFLOAD = 13,	/* to a resolver: UDP segmentation offload (several datagrams) */
	MCPF_REASON_DNS_URGENT = 14,	/* to a resolver: TCP urgent data, which servers skip */
	MCPF_REASON_DNS_EXTRA = 15,	/* a query with bytes past the question, other than one bounded OPT */
	MCPF_REASON_DNS_BUDGET = 16,	/* the policy's DNS budget (queries/s, new names/min) is spent */
	MCPF_REASON_METADATA = 17,	/* a cloud metadata endpoint that no rule names */
	MCPF_REASON_TLS_NAME = 18,	/* a server name not learned for the address under the rule */
	MCPF_REASON_TLS_NO_NAME = 19,	/* a ClientHello without a server name */
	MCPF_REASON_TLS_NOT_TLS = 20,	/* bytes that are not a TLS ClientHello */
	MCPF_REASON_TLS_BOUNDS = 21,	/* a ClientHello too large or too fragmented to read */
	MCPF_REASON_TLS_QUIC = 22,	/* UDP to a port the check covers: QUIC hides the name */
};

/*
 * The ClientHello check of a name rule's port range (mcpf_port_range.tls): a TCP flow allowed
 * only by a learned address must name, in its ClientHello, a name learned for that address under
 * that rule; UDP to the range is refused (QUIC).
 */
enum mcpf_tls_mode {
	MCPF_TLS_OFF = 0,
	MCPF_TLS_ENFORCE = 1,
	MCPF_TLS_AUDIT = 2, /* reported, let through */
};

/* Where a checked flow stands (mcpf_sock_mark.tls). */
enum mcpf_tls_phase {
	MCPF_TLS_NONE = 0,	/* not checked (yet) */
	MCPF_TLS_READING = 1,	/* its ClientHello is being read (state in tls_flows) */
	MCPF_TLS_PASSED = 2,	/* judged and let through, or opened before the check applied */
	MCPF_TLS_REFUSED = 3,	/* refused: no byte with payload leaves any more */
};

/* What an egress event knows of the names its destination was learned for (`dst_names`). */
enum mcpf_name_state {
	MCPF_NAMES_NONE = 0,	/* the policy has no names */
	MCPF_NAMES_NEVER = 1,	/* the address was never learned for this policy */
	MCPF_NAMES_VALID = 2,	/* learned and valid, but not for this port or protocol */
	MCPF_NAMES_EXPIRED = 3, /* learned, past its TTL and the grace */
	MCPF_NAMES_STALE = 4,	/* learned under a rule the policy no longer has */
	MCPF_NAMES_ALLOWED = 5, /* allowed by the name */
	MCPF_NAMES_AUDIT = 6,	/* learned in audit mode for a name the policy does not list */
	MCPF_NAMES_RESOLVER = 7, /* a configured resolver, allowed to a policy with names */
};

/* Kinds of name pattern: `example.com`, `*.example.com`, `**.example.com`. */
enum mcpf_name_kind {
	MCPF_NAME_EXACT = 0,
	MCPF_NAME_ONE = 1,   /* exactly one more label */
	MCPF_NAME_MULTI = 2, /* one or more labels */
};

/*
 * verdicts: per-CPU counts by policy, hook and verdict, for metrics. The agent gives each
 * loaded policy a row (binding.metric); row 0 counts what no policy judged (unbound, held),
 * the last row the policies beyond the others. Index: (row * MCPF_HOOK_MAX + hook) * 3 + verdict.
 * The counters' allow/deny/audit entries are these summed (the programs count once).
 */
#define MCPF_METRIC_ROWS 256
#define MCPF_METRIC_NONE 0
#define MCPF_METRIC_OTHER (MCPF_METRIC_ROWS - 1)
#define MCPF_VERDICT_KINDS 3

/*
 * bindings_gen: one counter, bumped by the agent after every change to `bindings`, so that a
 * verdict cached in a socket's mark (cache_ok) is trusted only while no binding changed.
 */

/*
 * Per-CPU counters, index into the `counters` array: one line each, X(ID, name, help). The name
 * is the key in `mcpfence status` and, as mcpfence_<name>_total, the metric with that help (the
 * verdicts allowed, denied and audited have none: mcpfence_verdicts_total counts them by policy
 * and hook). Adding a counter is a line here, at the end (the index is the ABI).
 */
#define MCPF_COUNTERS(X)                                                                           \
	X(ALLOW, "allowed", NULL)                                                                  \
	X(DENY, "denied", NULL)                                                                    \
	X(AUDIT, "audited", NULL)                                                                  \
	X(EVENTS, "events", "Events the kernel programs wrote to the ring buffer.")                \
	X(EVENTS_SUPPRESSED, "events_suppressed",                                                  \
	  "Violations not reported as events: over the per-cgroup rate limit, or the ring buffer full.") \
	X(RINGBUF_DROPS, "ringbuf_drops", "Events lost because the ring buffer was full.")         \
	X(EXPIRED, "expired", "Operations refused because the binding's identity had expired.")   \
	X(UNBOUND, "unbound", "Operations from a guarded cgroup without a binding.")               \
	X(BPF_HELPER_ERRORS, "bpf_helper_errors", "Failed BPF helper calls (map full, no memory).") \
	X(DNS_QUERIES, "dns_queries", "DNS queries let through to a resolver.")                    \
	X(DNS_REFUSED, "dns_refused", "DNS queries refused (or audited) for their name or the DNS budget.") \
	X(DNS_LEARNED, "dns_learned", "Addresses learned from DNS replies.")                       \
	X(DNS_REFRESHED, "dns_refreshed", "Learned addresses whose expiry a reply renewed.")       \
	X(DNS_CAP_REACHED, "dns_cap_reached", "Addresses not learned: a learning cap was reached.") \
	X(DNS_FORGED, "dns_forged", "Forged DNS replies refused at their sender.")                 \
	X(DNS_UNMATCHED, "dns_unmatched", "DNS replies that matched no outstanding query.")       \
	X(TLS_CHECKED, "tls_checked", "ClientHellos judged by their server name.")                 \
	X(TLS_REFUSED, "tls_refused", "Flows refused (or audited) by the ClientHello check.")

enum mcpf_counter {
#define MCPF_COUNTER_ENUM(id, name, help) MCPF_CNT_##id,
	MCPF_COUNTERS(MCPF_COUNTER_ENUM)
#undef MCPF_COUNTER_ENUM
	MCPF_CNT_MAX,
};

/*
 * bindings: cgroup id -> binding. Covers the cgroup and its descendants; the nearest bound
 * ancestor wins. Example: cgroup 4242 bound to slot 7 (policy "github-mcp", generation 3),
 * enforce mode, expiring at boot-time 1234 s: {.slot = 7, .policy_id = 2, .mode = ENFORCE,
 * .expires_ns = 1234000000000, .identity_id = 0}.
 */
struct mcpf_binding {
	__u32 slot;	   /* compiled policy generation: key prefix in the tries */
	__u32 policy_id;   /* stable id of the policy name, for events */
	__u64 expires_ns;  /* CLOCK_BOOTTIME ns; 0 = never */
	__u32 identity_id; /* 0 = bound statically by the operator */
	__u8 mode;	   /* enum mcpf_mode */
	__u8 metric;	   /* the policy's row in `verdicts` (MCPF_METRIC_NONE: a hold) */
	__u8 pad[2];
};
_Static_assert(sizeof(struct mcpf_binding) == 24, "mcpf_binding layout");

/*
 * trie4/trie6 keys: LPM prefix length first, then the policy slot, then the address, so one
 * lookup answers for one policy generation. prefixlen counts the slot's 32 bits too.
 * Example: slot 7, 10.0.4.0/24 -> {.prefixlen = 32 + 24, .slot = 7, .addr = {10, 0, 4, 0}}.
 */
struct mcpf_trie4_key {
	__u32 prefixlen;
	__u32 slot;
	__u8 addr[4];
};
_Static_assert(sizeof(struct mcpf_trie4_key) == 12, "mcpf_trie4_key layout");

struct mcpf_trie6_key {
	__u32 prefixlen;
	__u32 slot;
	__u8 addr[16];
};
_Static_assert(sizeof(struct mcpf_trie6_key) == 24, "mcpf_trie6_key layout");

/*
 * One allowed port range for a set of protocols. Ports in host byte order. `rule` says which
 * rule is credited when the range allows a flow (the most specific rule granting it, then the
 * first), for the rules' last use: the compiler writes the spec.egress index, the agent turns it
 * into that rule's slot of rule_last. MCPF_RULE_UNATTRIBUTED where ranges of several rules had
 * to be merged to fit, or no slot was free.
 */
struct mcpf_port_range {
	__u16 lo;
	__u16 hi;
	__u8 protos; /* enum mcpf_proto_bit */
	__u8 tls;    /* enum mcpf_tls_mode: name rules only */
	__u16 rule;
};
#define MCPF_RULE_UNATTRIBUTED 0xffff
_Static_assert(sizeof(struct mcpf_port_range) == 8, "mcpf_port_range layout");

/*
 * trie value: everything allowed for the longest matching prefix, covering prefixes' rules
 * already merged in by the compiler. Example: tcp/443 and any/5432 ->
 * {.nranges = 2, .ranges = {{443, 443, TCP}, {5432, 5432, ANY}}}.
 */
enum mcpf_allow_flag {
	MCPF_ALLOW_GUARD = 1 << 0, /* a cloud metadata endpoint no rule names: refused, names too */
	MCPF_ALLOW_TLS = 1 << 1,   /* a name rule: some range checks ClientHellos (mcpf_port_range.tls) */
};

struct mcpf_allow {
	__u32 nranges;
	__u32 flags; /* enum mcpf_allow_flag */
	struct mcpf_port_range ranges[MCPF_MAX_PORT_RANGES];
};
_Static_assert(sizeof(struct mcpf_allow) == 8 + 8 * MCPF_MAX_PORT_RANGES, "mcpf_allow layout");

/* ratelimit: cgroup id -> event budget of the current one-second window. */
struct mcpf_ratelimit {
	__u64 window_start_ns;
	__u64 count;	  /* events in the current window */
	__u64 suppressed; /* total violations not reported for this cgroup, only grows */
};
_Static_assert(sizeof(struct mcpf_ratelimit) == 24, "mcpf_ratelimit layout");

/*
 * socks (socket-local storage): set by an allowed connect in a guarded cgroup, read by the skb
 * backstop, which has no task context on every kernel: the connecting task's pid and comm name
 * its events. (Made at connect, not at creation: most sockets never need one.)
 */
struct mcpf_sock_mark {
	__u64 cgroup_id; /* of the task that connected the socket */
	__u32 pid;
	__u32 cache_gen; /* see cache_ok */
	char comm[16];
	/* a flow to an address allowed by a name (set by the backstop at its first packet): it
	 * lives past the TTL for as long as the rule that allowed it stays as it was */
	__u64 named_digest;
	__u8 named_addr[16];
	__u8 named;
	__u8 named_rule;
	/* the verdict for a TCP flow, trusted by the backstop while the bindings stay as they were
	 * (bindings_gen == cache_gen) and before cache_expires_s: no walk and no lookup per packet.
	 * 1: trusted; 2: judged by the connect hook, trusted once the first packet's IP header is
	 * seen plain (no options that send it elsewhere) */
	__u8 cache_ok;
	__u8 tls; /* enum mcpf_tls_phase */
	__u32 cache_expires_s;	/* boot seconds, rounded down; 0 = the binding never expires */
};
_Static_assert(sizeof(struct mcpf_sock_mark) == 64, "mcpf_sock_mark layout");

/* meta: policy slot -> name, so that status and events can name a policy after a restart. */
struct mcpf_policy_meta {
	char name[MCPF_POLICY_NAME_MAX];
	__u32 policy_id;
	__u32 generation;
	__u32 nprefixes4;
	__u32 nprefixes6;
};
_Static_assert(sizeof(struct mcpf_policy_meta) == MCPF_POLICY_NAME_MAX + 16, "meta layout");

/* identities: identity id -> verified issuer and subject, for events and status. */
struct mcpf_identity {
	char iss[MCPF_IDENTITY_TEXT_MAX];
	char sub[MCPF_IDENTITY_TEXT_MAX];
};
_Static_assert(sizeof(struct mcpf_identity) == 2 * MCPF_IDENTITY_TEXT_MAX, "identity layout");

/*
 * Ring buffer record. Example: a denied TCP connect to 203.0.113.7:443 ->
 * {.type = EGRESS, .verdict = DENY, .hook = CONNECT4, .family = 2, .protocol = 6,
 *  .dport = 443, .daddr = {203, 0, 113, 7}, ...}.
 * A refused setsockopt carries the option's level in `protocol` and its name in `dport`:
 * IPV6_RTHDR -> {.type = SOCKET, .hook = SETSOCKOPT, .protocol = 41, .dport = 57, ...}.
 */
struct mcpf_event {
	__u64 ts_boot_ns;
	__u64 cgroup_id;       /* the acting cgroup */
	__u64 bound_cgroup_id; /* the binding that applied, 0 if none */
	__u64 expires_ns;
	__u32 pid;
	__u32 policy_id;
	__u32 slot;
	__u32 identity_id;
	__u8 type;    /* enum mcpf_event_type */
	__u8 verdict; /* enum mcpf_verdict */
	__u8 hook;    /* enum mcpf_hook */
	__u8 reason;  /* enum mcpf_reason */
	__u8 family;  /* AF_INET / AF_INET6 */
	__u8 protocol; /* IPPROTO_* */
	__u8 mode;
	__u8 pad;
	__u16 dport; /* host byte order */
	__u16 pad2;
	__u32 sock_type;
	__u8 daddr[16]; /* IPv4 in the first four bytes */
	char comm[16];
	__u64 name_hash; /* dns: the question; egress: a name the address was learned for */
	__u16 qtype;	 /* dns: the question's type */
	__u8 name_state; /* egress: enum mcpf_name_state */
	__u8 pad3[5];
	/* tls: the socket, so that the agent can end the refused flow; name_hash is the server
	 * name (or 0: none, or none readable) */
	__u64 sock_cookie;
	__u8 saddr[16];
	__u16 sport;
	__u8 pad4[6];
};
_Static_assert(sizeof(struct mcpf_event) == 144, "mcpf_event layout");

/*
 * names: the policy's name patterns, in lower-case DNS wire format, right-aligned in `name` with
 * zeros before it, so that every suffix of a question is the same buffer with its leading labels
 * zeroed. `*.example.com` and `**.example.com` are stored as `example.com` with their kind.
 * Example: slot 7, rule 0 lists api.github.com -> key {7, EXACT, {0..., 3,'a','p','i',6,...,0}},
 * value {.rules = 1 << 0, .pattern = hash("api.github.com", EXACT)}.
 */
struct mcpf_name_key {
	__u32 slot;
	__u8 kind; /* enum mcpf_name_kind */
	__u8 pad[3];
	__u8 name[MCPF_DNS_NAME_MAX];
};
_Static_assert(sizeof(struct mcpf_name_key) == 8 + MCPF_DNS_NAME_MAX, "mcpf_name_key layout");

struct mcpf_name_val {
	__u32 rules; /* bit r: name rule r lists this pattern */
	__u32 pad;
	__u64 pattern; /* stable id of the pattern, the unit of the per-name cap */
};
_Static_assert(sizeof(struct mcpf_name_val) == 16, "mcpf_name_val layout");

/*
 * slot_names: policy slot -> its rules with names. A rule's digest covers its patterns, ports and
 * protocols; learned addresses carry the digest they were learned under, so a reload that changes
 * the rule (a name removed) stops them, and a restart that changes nothing keeps them.
 */
struct mcpf_name_rule {
	__u64 digest;
	struct mcpf_allow allow;
};

struct mcpf_slot_names {
	__u32 nrules;
	__u32 pad;
	struct mcpf_name_rule rules[MCPF_MAX_NAME_RULES];
};
_Static_assert(sizeof(struct mcpf_slot_names) == 8 + MCPF_MAX_NAME_RULES * (8 + sizeof(struct mcpf_allow)),
	       "mcpf_slot_names layout");

/*
 * Rules' last use, for scope audits: when a rule last allowed a new flow or datagram
 * destination, in coarse monotonic ns, written by the socket hooks at most once a second per
 * entry. Userspace makes the entries it wants counted, with the rule's digest, and starts an
 * entry afresh when its rule changes; the kernel only updates last_ns.
 *
 * rule_last (array): a policy's rules by address. Userspace gives each (policy, spec.egress
 * index) a slot and writes that slot into the trie ranges the rule is credited for
 * (mcpf_port_range.rule): one inlined array access on the judging path. The value names its
 * owner, so that a restarted agent finds the slots again.
 * Example: slot 12 -> {last_ns 81234000000000, digest, since_ns, policy_id 7, egress 2}.
 *
 * rule_use (hash): each name pattern of a name rule, keyed by the pattern's hash (as
 * mcpf_name_val.pattern), looked up where a learned address allows a flow.
 * Example: {policy_id 7, NAME, name rule 0, pattern 0x9e3779b97f4a7c15} -> {last_ns, ...}.
 */
#define MCPF_MAX_RULE_SLOTS 65535 /* MCPF_RULE_UNATTRIBUTED is none */

struct mcpf_rule_slot {
	__u64 last_ns;	  /* 0: never */
	__u64 digest;	  /* userspace's: the rule as it was counted */
	__u64 since_ns;	  /* userspace's: when counting began (same clock) */
	__u32 policy_id;  /* 0: a free slot */
	__u32 egress;	  /* the rule's spec.egress index */
};
_Static_assert(sizeof(struct mcpf_rule_slot) == 32, "mcpf_rule_slot layout");

enum mcpf_rule_kind {
	MCPF_RULE_CIDR = 0,
	MCPF_RULE_NAME = 1,
};

struct mcpf_rule_use_key {
	__u32 policy_id;
	__u8 kind; /* enum mcpf_rule_kind: NAME (the key keeps room for others) */
	__u8 pad;
	__u16 index; /* the name rule's index */
	__u64 pattern;
};
_Static_assert(sizeof(struct mcpf_rule_use_key) == 16, "mcpf_rule_use_key layout");

struct mcpf_rule_use {
	__u64 last_ns;	/* 0: never */
	__u64 digest;	/* userspace's: the name rule as it was counted */
	__u64 since_ns; /* userspace's: when counting began (same clock) */
};
_Static_assert(sizeof(struct mcpf_rule_use) == 24, "mcpf_rule_use layout");

#define MCPF_MAX_RULE_USE 65536

/* resolvers: the configured resolvers. IPv4 in the first four bytes of addr. */
struct mcpf_resolver_key {
	__u8 family;
	__u8 pad;
	__u16 port; /* host byte order */
	__u8 addr[16];
};
_Static_assert(sizeof(struct mcpf_resolver_key) == 20, "mcpf_resolver_key layout");

/* dns_ports: bit p set when some resolver listens on port p (a cheap first test per packet). */
struct mcpf_dns_ports {
	__u64 bits[1024];
};

/* pending: a query let through, waiting for its reply on the same socket. */
struct mcpf_pending_key {
	__u64 cookie; /* the socket */
	__u16 txid;
	__u16 pad[3];
};
_Static_assert(sizeof(struct mcpf_pending_key) == 16, "mcpf_pending_key layout");

struct mcpf_pending {
	__u64 qhash;   /* the question name */
	__u64 pattern; /* the pattern it matched */
	__u64 ts_ns;
	__u32 policy_id;
	__u32 slot;
	__u32 rules; /* name rules the question matched; bit MCPF_NAME_RULE_AUDIT: audit only */
	__u16 qtype;
	__u16 server_port;
	__u8 server[16];
	__u8 family;
	__u8 mode; /* the binding's, for the events of the reply */
	__u8 pad[6];
};
_Static_assert(sizeof(struct mcpf_pending) == 64, "mcpf_pending layout");

/* learned: an address taught by a reply, for one name rule of one policy (by policy id, so
 * that generation flips and restarts keep it). */
struct mcpf_learned_key {
	__u32 policy_id;
	__u8 rule;
	__u8 family;
	__u8 pad[2];
	__u8 addr[16];
};
_Static_assert(sizeof(struct mcpf_learned_key) == 24, "mcpf_learned_key layout");

struct mcpf_learned {
	__u64 expires_ns; /* CLOCK_MONOTONIC (coarse): learned time + TTL (floored and capped) */
	__u64 digest;	  /* the rule's digest when it was learned */
	__u64 name_hash;  /* the question that taught it */
	__u64 pattern;	  /* the pattern whose cap it counts against */
};
_Static_assert(sizeof(struct mcpf_learned) == 32, "mcpf_learned layout");

/*
 * learned_names: every name learned for an address under a rule, which the ClientHello check
 * looks up by the server name's hash (the question's, as mcpf_learned.name_hash).
 * Example: api.github.com and www.github.com both answered 140.82.112.5 for rule 0 of policy 7:
 * two entries {7, 0, AF_INET, {140, 82, 112, 5}, hash(...)} -> {expires, digest}.
 */
struct mcpf_learned_name_key {
	__u32 policy_id;
	__u8 rule;
	__u8 family;
	__u8 pad[2];
	__u8 addr[16];
	__u64 name_hash;
};
_Static_assert(sizeof(struct mcpf_learned_name_key) == 32, "mcpf_learned_name_key layout");

struct mcpf_learned_name {
	__u64 expires_ns; /* as mcpf_learned */
	__u64 digest;
	__u64 pattern;	  /* the pattern whose cap it counts against (kind 1) */
};
_Static_assert(sizeof(struct mcpf_learned_name) == 24, "mcpf_learned_name layout");

/*
 * tls_flows (socket storage): a checked flow's ClientHello as read so far, across its segments
 * and records. Only the fields are kept, never the bytes, except the server name. Deleted
 * when the flow's verdict is reached.
 */
struct mcpf_tls_flow {
	__u32 next_seq;	 /* TCP sequence number of the next byte to read */
	__u32 bytes;	 /* read so far, record headers included */
	__u32 hs_left;	 /* bytes left in the current handshake message */
	__u32 ext_left;	 /* bytes left in the ClientHello's extensions */
	__u32 skip;	 /* bytes to pass over before the next field */
	__u32 field;	 /* the field being read, big-endian */
	__u32 ext_len;	 /* the current extension's length */
	__u16 list_len;	 /* the server_name list's length, then the name's */
	__u16 rec_len;	 /* the record header's length field, as read */
	__u16 rec_left;	 /* bytes left in the current record */
	__u16 records;
	__u16 segments;
	__u16 ext_type;
	__u8 rec_hdr;	 /* bytes of the current record's header read (0..5) */
	__u8 rec_type;
	__u8 state;	 /* the next field (bpf/tls.bpf.h) */
	__u8 need;	 /* its size */
	__u8 got;	 /* bytes of it read */
	__u8 flags;	 /* TLS_FLOW_* (bpf/tls.bpf.h) */
	__u8 name_len;	 /* bytes of the server name read */
	__u8 pad;
	__u8 name[256];
};
_Static_assert(sizeof(struct mcpf_tls_flow) == 48 + 256, "mcpf_tls_flow layout");

/* learn_counts: learned entries per {policy, pattern}; pattern 0 counts the whole policy.
 * kind 1 counts learned_names (names per address) the same way. */
struct mcpf_count_key {
	__u32 policy_id;
	__u32 kind; /* 0: addresses (learned), 1: names per address (learned_names) */
	__u64 pattern;
};
_Static_assert(sizeof(struct mcpf_count_key) == 16, "mcpf_count_key layout");

/* dns_names: question hash -> the name, right-aligned wire format, for events. */
struct mcpf_dns_name {
	__u8 name[MCPF_DNS_NAME_MAX];
};

#endif
