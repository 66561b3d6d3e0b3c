/* SPDX-License-Identifier: MIT */
/*
 * The kernel side as userspace sees it: load and attach the programs (or take over the pinned
 * ones with an in-place link update, so that a restart leaves no gap), the pinned maps, and the
 * operations on them: bindings, policy slots, counters, metadata, and removal.
 */
#ifndef MCPFENCE_FENCE_H
#define MCPFENCE_FENCE_H

#include <stdint.h>
#include "mcpfence_abi.h"
#include "compiled.h"

#define FENCE_SLOT_STATE 0 /* meta key 0 holds agent state, policy slots start at 1 */
/* A hold binding: guarded and allowed nothing (slot 0 has no trie entries) until an attestation
 * or the operator binds a policy there or below. No identity, no policy name. */
#define FENCE_SLOT_HOLD FENCE_SLOT_STATE
#define fence_binding_is_hold(b) ((b)->slot == FENCE_SLOT_HOLD)

struct fence_params {
	const char *bpffs;
	int root_fd; /* the cgroup root, open O_DIRECTORY */
	uint64_t root_id;
	uint32_t root_level;
	uint8_t unbound;
	bool deny_raw;
	bool deny_mptcp;
	uint32_t rate_limit;
	uint32_t max_prefixes;
	/* names: on when resolvers are configured */
	bool dns;
	uint64_t dns_ttl_floor_ns, dns_ttl_cap_ns, dns_grace_ns;
	uint64_t dns_cap_per_name, dns_cap_per_policy;
	uint32_t dns_queries_per_second, dns_new_names_per_minute; /* 0 = unlimited */
};

/* A resolver the workloads may ask (address in network order, IPv4 in the first four bytes). */
struct fence_resolver {
	uint8_t family;
	uint16_t port;
	uint8_t addr[16];
};

/*
 * Every pinned map, one line each: FENCE_MAP_<ID>, and the name it is pinned under (the map's
 * name in bpf/, with the _vN of its layout). Adding a pinned map is a line here and its
 * definition in bpf/; opening, loading, closing and uninstalling follow from this table. (The
 * socket storages, mcpf_socks_v2 and mcpf_tls_flows, have no fd of their own; nor has mcpf_tail,
 * the tail call's table libbpf fills; the unpinned maps of bpf/dns.bpf.h and bpf/tls.bpf.h are
 * the programs'.)
 */
#define FENCE_MAPS(X)                        \
	X(BINDINGS,     "mcpf_bindings")     \
	X(TRIE4,        "mcpf_trie4")        \
	X(TRIE6,        "mcpf_trie6")        \
	X(COUNTERS,     "mcpf_counters_v2")  \
	X(RATELIMIT,    "mcpf_ratelimit")    \
	X(EVENTS,       "mcpf_events")       \
	X(META,         "mcpf_meta")         \
	X(IDENTITIES,   "mcpf_identities")   \
	X(NAMES,        "mcpf_names")        \
	X(SLOT_NAMES,   "mcpf_slot_names")   \
	X(RESOLVERS,    "mcpf_resolvers")    \
	X(DNS_PORTS,    "mcpf_dns_ports")    \
	X(LEARNED,      "mcpf_learned")      \
	X(LEARN_COUNTS, "mcpf_learn_counts") \
	X(DNS_NAMES,    "mcpf_dns_names")    \
	X(PENDING,      "mcpf_pending")      \
	X(VERDICTS,     "mcpf_verdicts")     \
	X(BINDINGS_GEN, "mcpf_bindings_gen") \
	X(RULE_USE,     "mcpf_rule_use")     \
	X(RULE_LAST,    "mcpf_rule_last")    \
	X(LEARNED_NAMES, "mcpf_learned_names")

enum fence_map {
#define FENCE_MAP_ENUM(id, name) FENCE_MAP_##id,
	FENCE_MAPS(FENCE_MAP_ENUM)
#undef FENCE_MAP_ENUM
	FENCE_MAP_MAX
};

struct fence {
	char *bpffs;
	int fd[FENCE_MAP_MAX]; /* by enum fence_map */
	bool reused_links; /* links were pinned already and updated in place */
	void *skel[3];
};

int fence_load(const struct fence_params *p, struct fence **ret);
int fence_open_pinned(const char *bpffs, struct fence **ret);
void fence_close(struct fence *f);
static inline void fence_closep(struct fence **f)
{
	fence_close(*f);
}
/* Detach every pinned link, unpin every map, remove the directory. */
int fence_uninstall(const char *bpffs);
int fence_bpffs_ensure(const char *bpffs);
/* A program reached by a tail call (mcpf_tail_*), never attached to a hook. */
struct bpf_program;
bool fence_prog_is_tail(const struct bpf_program *prog);
/* The cgroup id the pinned links are attached to, 0 if none are pinned. */
int fence_attached_root(const char *bpffs, uint64_t *ret);

/*
 * The real level of cgroup `dir_abs` (id `dir_id`) in the hierarchy, as the BPF helpers count
 * it: found by a short-lived program on a scratch child cgroup, so it is right in any cgroup
 * namespace and mount layout. Forks once. -ENOENT if the id was not among the ancestors.
 */
int fence_cgroup_real_level(const char *dir_abs, uint64_t dir_id, uint32_t *ret_level);

int fence_binding_put(struct fence *f, uint64_t cgroup_id, const struct mcpf_binding *b);
int fence_binding_get(struct fence *f, uint64_t cgroup_id, struct mcpf_binding *b);
int fence_binding_del(struct fence *f, uint64_t cgroup_id);
/* Calls fn for every binding; stops at the first negative return. */
int fence_binding_foreach(struct fence *f,
			  int (*fn)(uint64_t cgroup_id, const struct mcpf_binding *b, void *ud),
			  void *ud);

/* Write a compiled policy under `slot`; on failure nothing of the slot is left behind. */
int fence_slot_write(struct fence *f, uint32_t slot, const struct policy_compiled *c);
/* Remove a slot's entries: by key when its keys are known, else by scanning the tries. */
int fence_slot_delete(struct fence *f, uint32_t slot, const struct policy_keys *known);

int fence_meta_put(struct fence *f, uint32_t slot, const struct mcpf_policy_meta *m);
int fence_meta_get(struct fence *f, uint32_t slot, struct mcpf_policy_meta *m);
int fence_meta_del(struct fence *f, uint32_t slot);
int fence_meta_foreach(struct fence *f,
		       int (*fn)(uint32_t slot, const struct mcpf_policy_meta *m, void *ud), void *ud);

/* identities: verified issuer and subject of identity-made bindings. */
int fence_identity_put(struct fence *f, uint32_t id, const struct mcpf_identity *ident);
int fence_identity_get(struct fence *f, uint32_t id, struct mcpf_identity *ident);
void fence_identity_del(struct fence *f, uint32_t id);
/* One more than the largest identity id in use (ids survive restarts in the pinned map). */
uint32_t fence_identity_next(struct fence *f);

/* ratelimit: per-cgroup event budgets and suppressed counts, kept by the kernel. */
void fence_ratelimit_del(struct fence *f, uint64_t cgroup_id);
int fence_ratelimit_foreach(struct fence *f,
			    int (*fn)(uint64_t cgroup_id, const struct mcpf_ratelimit *rl, void *ud),
			    void *ud);

/* names: the resolvers (replacing the previous set), learned addresses, names for events. */
int fence_resolvers_set(struct fence *f, const struct fence_resolver *r, size_t n);
/* Delete learned addresses (and names of addresses) past expiry + grace, and those of policies
 * not in `live` (ids). */
int fence_learned_sweep(struct fence *f, uint64_t now_mono_ns, uint64_t grace_ns,
			const uint32_t *live, size_t nlive, size_t *ret_deleted);
size_t fence_learned_count(struct fence *f);
/* fn(hash) for every name learned for the address under the policy (for the ClientHello check). */
int fence_learned_names_of(struct fence *f, uint32_t policy_id, uint8_t family, const uint8_t addr[16],
			   void (*fn)(uint64_t name_hash, void *ud), void *ud);
/* A name the kernel saw, by its hash (wire format: name_from_wire() gives its text), or -ENOENT. */
int fence_dns_name(struct fence *f, uint64_t hash, struct mcpf_dns_name *ret);
/* Whether this kernel can learn names (bpf_loop in cgroup skb programs). */
bool fence_dns_supported(void);

/*
 * Rules' last use (mcpf_rule_use). seed: make the entry, or keep it when it was made with the
 * same digest (the rule did not change); a new or changed rule starts at "never". get: the
 * entry (-ENOENT without one). prune: delete every entry `keep` says no to.
 */
int fence_rule_use_seed(struct fence *f, const struct mcpf_rule_use_key *k, uint64_t digest);
int fence_rule_use_get(struct fence *f, const struct mcpf_rule_use_key *k, struct mcpf_rule_use *ret);
int fence_rule_use_prune(struct fence *f, bool (*keep)(const struct mcpf_rule_use_key *k, void *ud), void *ud);
/* Rules' last use by address (mcpf_rule_last): one slot, or every slot in use (policy_id set). */
int fence_rule_slot_get(struct fence *f, uint32_t slot, struct mcpf_rule_slot *ret);
int fence_rule_slot_put(struct fence *f, uint32_t slot, const struct mcpf_rule_slot *v);
int fence_rule_slots_foreach(struct fence *f, void (*fn)(uint32_t slot, const struct mcpf_rule_slot *v, void *ud),
			     void *ud);

int fence_counters_read(struct fence *f, uint64_t out[MCPF_CNT_MAX]);
const char *fence_counter_name(int idx);
/* Verdict counts by policy row, hook and verdict (see `verdicts` in mcpfence_abi.h). */
#define FENCE_VERDICTS ((size_t)MCPF_METRIC_ROWS * MCPF_HOOK_MAX * MCPF_VERDICT_KINDS)
int fence_verdicts_read(struct fence *f, uint64_t out[FENCE_VERDICTS]);
/* A map's max_entries (0 if it cannot be read). */
uint32_t fence_map_capacity(int map_fd);
/* Zero a row before it is given to another policy. */
int fence_verdicts_clear_row(struct fence *f, uint32_t row);

#endif
