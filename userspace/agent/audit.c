// SPDX-License-Identifier: MIT
/*
 * Scope audits: what each grant of a policy was used for, and who held it.
 *
 * Rules' last use lives in the kernel, pinned: a slot of mcpf_rule_last per rule of a loaded
 * policy (its addresses; the slot is written into the trie ranges credited to the rule) and an
 * entry of mcpf_rule_use per name pattern of a name rule. Made here when the policy is written,
 * kept while the rule stays as it was (same digest), started afresh when it changes, freed when
 * the rule or the policy goes. The kernel updates them on the paths that judge a flow or
 * datagram in full. A restarted agent finds its slots again by their owners.
 *
 * The binding history lives on disk (config audit.history): one entry per policy, identity
 * (issuer, subject and the claims that selected it) and workload, with first and last seen,
 * kept for audit.retention and at most audit.max_bindings entries (the oldest go first).
 */
#include <time.h>

#include "agent_state.h"
#include "names.h"

#define AUDIT_WRITE_INTERVAL_NS (1000000000ULL) /* the history is written at most once a second */

/* A slot of mcpf_rule_last as the agent knows it (the kernel value names the same owner). */
struct rule_owner {
	uint32_t policy_id; /* 0: free */
	uint32_t egress;
	uint64_t digest;
};

struct agent_audit {
	json_t *bindings; /* array of entries, see audit_binding_seen() */
	bool dirty;
	uint64_t written_ns;
	struct rule_owner *slots; /* MCPF_MAX_RULE_SLOTS */
	uint32_t next_free;	  /* where the search for a free slot starts */
};

void audit_rules_clear(struct audit_rules *r)
{
	for (size_t i = 0; r->v && i < r->n; i++)
		free(r->v[i].pattern);
	free(r->v);
	free(r->unattributed);
	memset(r, 0, sizeof(*r));
}

static void rules_add(struct audit_rules *out, uint32_t policy_id, uint8_t kind, uint16_t index,
		      uint64_t pattern, uint64_t digest, uint32_t egress, char *text)
{
	struct audit_rule *r = &out->v[out->n++];

	memset(r, 0, sizeof(*r));
	r->key = (struct mcpf_rule_use_key){ .policy_id = policy_id, .kind = kind, .index = index,
					     .pattern = pattern };
	r->slot = MCPF_RULE_UNATTRIBUTED;
	r->digest = digest;
	r->egress = egress;
	r->pattern = text;
}

/* The slot of (policy, rule): the one it had, started afresh when its digest changed, else a
 * free one; MCPF_RULE_UNATTRIBUTED when none is left. */
static uint16_t slot_take(struct agent *a, uint32_t policy_id, uint32_t egress, uint64_t digest, uint32_t had)
{
	struct agent_audit *au = a->audit;
	struct mcpf_rule_slot v = { .digest = digest, .since_ns = now_ns(CLOCK_MONOTONIC), .policy_id = policy_id,
				    .egress = egress };
	uint32_t s = had;

	if (s < MCPF_MAX_RULE_SLOTS && au->slots[s].digest == digest)
		return (uint16_t)s;
	for (uint32_t n = 0; s == MCPF_MAX_RULE_SLOTS && n < MCPF_MAX_RULE_SLOTS; n++) {
		uint32_t i = (au->next_free + n) % MCPF_MAX_RULE_SLOTS;

		if (!au->slots[i].policy_id) {
			s = i;
			au->next_free = (i + 1) % MCPF_MAX_RULE_SLOTS;
		}
	}
	if (s == MCPF_MAX_RULE_SLOTS || fence_rule_slot_put(a->f, s, &v) < 0)
		return MCPF_RULE_UNATTRIBUTED;
	au->slots[s] = (struct rule_owner){ policy_id, egress, digest };
	return (uint16_t)s;
}

/* The compiled ranges credit spec.egress indexes; the kernel wants the rules' slots. */
static void ranges_to_slots(struct policy_compiled *c, const struct audit_rules *r)
{
	for (int fam = 0; fam < 2; fam++) {
		struct policy_entry *v = fam ? c->v6 : c->v4;
		size_t n = fam ? c->n6 : c->n4;

		for (size_t i = 0; i < n; i++)
			for (uint32_t k = 0; k < v[i].allow.nranges && k < MCPF_MAX_PORT_RANGES; k++) {
				struct mcpf_port_range *pr = &v[i].allow.ranges[k];

				pr->rule = pr->rule < r->nrules ? r->v[pr->rule].slot : MCPF_RULE_UNATTRIBUTED;
			}
	}
}

/*
 * The entries a compiled policy counts: each rule's addresses (a slot, which its ranges now
 * name) and each (name rule, pattern). Before the policy is written: it changes c's ranges.
 */
int audit_rules_make(struct agent *a, struct policy_compiled *c, uint32_t policy_id, struct audit_rules *out)
{
	size_t cap = c->nrules;
	uint32_t *had;
	bool full = false;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < c->nnames; i++)
		cap += (size_t)__builtin_popcount(c->names[i].val.rules);
	out->v = calloc(cap + 1, sizeof(*out->v));
	out->unattributed = calloc(c->nrules + 1, sizeof(*out->unattributed));
	if (!out->v || !out->unattributed) {
		audit_rules_clear(out);
		return -ENOMEM;
	}
	out->nrules = c->nrules;
	had = calloc(c->nrules + 1, sizeof(*had));
	if (!had) {
		audit_rules_clear(out);
		return -ENOMEM;
	}
	for (size_t e = 0; e < c->nrules; e++)
		had[e] = MCPF_MAX_RULE_SLOTS;
	for (uint32_t i = 0; a->audit && i < MCPF_MAX_RULE_SLOTS; i++) /* the slots it had */
		if (a->audit->slots[i].policy_id == policy_id && a->audit->slots[i].egress < c->nrules)
			had[a->audit->slots[i].egress] = i;
	/* the rules first, in order: entry e is rule e, as ranges_to_slots() reads them */
	for (size_t e = 0; e < c->nrules; e++) {
		out->unattributed[e] = c->unattributed[e];
		rules_add(out, policy_id, MCPF_RULE_CIDR, 0, 0, c->rule_digest[e], (uint32_t)e, NULL);
		if (a->audit && e < MCPF_RULE_UNATTRIBUTED)
			out->v[e].slot = slot_take(a, policy_id, (uint32_t)e, c->rule_digest[e], had[e]);
		full |= out->v[e].slot == MCPF_RULE_UNATTRIBUTED;
	}
	free(had);
	if (full)
		log_warning("Scope audit: %s: no free slot for some rules' last use (%u at most): not counted",
			    "a policy", MCPF_MAX_RULE_SLOTS);
	ranges_to_slots(c, out);
	for (size_t i = 0; i < c->nnames; i++) {
		const struct policy_name_entry *ne = &c->names[i];
		char name[256];

		if (name_from_wire(ne->key.name, name, sizeof(name)) < 0)
			continue;
		for (uint32_t r = 0; r < c->rules.nrules; r++) {
			char *text;

			if (!(ne->val.rules & (1u << r)))
				continue;
			text = strdup_printf("%s%s", name_kind_prefix(ne->key.kind), name);
			if (!text) {
				audit_rules_clear(out);
				return -ENOMEM;
			}
			rules_add(out, policy_id, MCPF_RULE_NAME, (uint16_t)r, ne->val.pattern,
				  c->rules.rules[r].digest, c->name_rule_egress[r], text);
		}
	}
	return 0;
}

/* After the policy is written: its name patterns' entries (its rules' slots are made). */
void audit_rules_seed(struct agent *a, const struct audit_rules *r)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->v[i].pattern && fence_rule_use_seed(a->f, &r->v[i].key, r->v[i].digest) < 0) {
			log_warning("Scope audit: no room to count a name pattern (%u entries at most)", MCPF_MAX_RULE_USE);
			return;
		}
}

static bool rule_loaded(const struct mcpf_rule_use_key *k, void *ud)
{
	struct agent *a = ud;

	for (size_t i = 0; i < a->nloaded; i++) {
		const struct audit_rules *r = &a->loaded[i].rules;

		if (a->loaded[i].policy_id != k->policy_id)
			continue;
		for (size_t j = 0; j < r->n; j++)
			if (r->v[j].pattern && !memcmp(&r->v[j].key, k, sizeof(*k)))
				return true;
	}
	return false;
}

/* After a flip: the entries of rules and policies no longer loaded go, their slots freed. */
void audit_rules_prune(struct agent *a)
{
	static const struct mcpf_rule_slot zero;
	bool *kept;

	fence_rule_use_prune(a->f, rule_loaded, a);
	if (!a->audit || !(kept = calloc(MCPF_MAX_RULE_SLOTS, sizeof(*kept))))
		return;
	for (size_t i = 0; i < a->nloaded; i++)
		for (size_t j = 0; j < a->loaded[i].rules.n; j++)
			if (a->loaded[i].rules.v[j].slot < MCPF_MAX_RULE_SLOTS)
				kept[a->loaded[i].rules.v[j].slot] = true;
	for (uint32_t s = 0; s < MCPF_MAX_RULE_SLOTS; s++)
		if (a->audit->slots[s].policy_id && !kept[s] && fence_rule_slot_put(a->f, s, &zero) == 0)
			a->audit->slots[s] = (struct rule_owner){ 0 };
	free(kept);
}

/* Unix seconds of a kernel time (coarse monotonic ns): the clocks' offset taken in ns, so two
 * readings of one time agree. */
static int64_t unix_of_mono(uint64_t mono_ns)
{
	uint64_t real = now_ns(CLOCK_REALTIME), mono = now_ns(CLOCK_MONOTONIC);

	if (!mono_ns)
		return 0;
	return (int64_t)((mono_ns + (real - mono)) / 1000000000ULL);
}

int64_t audit_last_used(struct agent *a, const struct audit_rule *r, int64_t *ret_since)
{
	struct mcpf_rule_use u;
	struct mcpf_rule_slot s;
	int k;

	if (r->pattern) {
		k = fence_rule_use_get(a->f, &r->key, &u);
		s = (struct mcpf_rule_slot){ .last_ns = u.last_ns, .since_ns = u.since_ns };
	} else {
		k = r->slot < MCPF_MAX_RULE_SLOTS ? fence_rule_slot_get(a->f, r->slot, &s) : -ENOENT;
	}
	if (k < 0) {
		if (ret_since)
			*ret_since = (int64_t)time(NULL);
		return 0;
	}
	if (ret_since)
		*ret_since = unix_of_mono(s.since_ns);
	return unix_of_mono(s.last_ns);
}

/* ---- the binding history ---- */

static void slot_found(uint32_t slot, const struct mcpf_rule_slot *v, void *ud)
{
	struct agent_audit *au = ud;

	if (slot < MCPF_MAX_RULE_SLOTS)
		au->slots[slot] = (struct rule_owner){ v->policy_id, v->egress, v->digest };
}

int audit_start(struct agent *a)
{
	json_t *doc, *list;

	a->audit = calloc(1, sizeof(*a->audit));
	if (!a->audit || !(a->audit->slots = calloc(MCPF_MAX_RULE_SLOTS, sizeof(*a->audit->slots))))
		return -ENOMEM;
	fence_rule_slots_foreach(a->f, slot_found, a->audit); /* a restart: the slots in use */
	doc = json_load_file(a->cfg.audit_history, JSON_REJECT_DUPLICATES, NULL);
	list = json_object_get(doc, "bindings");
	a->audit->bindings = json_is_array(list) ? json_incref(list) : json_array();
	if (!list && access(a->cfg.audit_history, F_OK) == 0)
		log_warning("Scope audit: %s is not a binding history; starting a new one", a->cfg.audit_history);
	json_decref(doc);
	return a->audit->bindings ? 0 : -ENOMEM;
}

static bool same_member(json_t *x, json_t *y, const char *key)
{
	return json_equal(json_object_get(x, key), json_object_get(y, key)) ||
	       (!json_object_get(x, key) && !json_object_get(y, key));
}

/*
 * A workload was bound to `policy`: by a token (claims: what its policy matched on, with iss
 * and sub), or by the operator, a label or an annotation (`source`). Recorded in the history.
 */
void audit_binding_seen(struct agent *a, const char *policy, uint64_t cgroup_id, const char *cgroup,
			const char *source, json_t *claims)
{
	struct idmap_entry *w = idmap_get(&a->workloads, cgroup_id);
	json_t *entry, *v;
	int64_t now = (int64_t)time(NULL);
	size_t i;

	if (!a->audit || !policy)
		return;
	entry = json_pack("{s:s, s:s, s:s?, s:s?, s:O?, s:s}", "policy", policy, "source", source,
			  "issuer", json_string_value(json_object_get(claims, "iss")), "subject",
			  json_string_value(json_object_get(claims, "sub")), "claims", claims, "cgroup",
			  cgroup ? cgroup : "");
	if (!entry)
		return;
	if (w && w->str)
		json_object_set_new(entry, "workload", json_loads(w->str, 0, NULL));
	json_array_foreach(a->audit->bindings, i, v) {
		static const char *const keys[] = { "policy", "source", "claims", "workload", "cgroup" };
		bool same = true;

		for (size_t k = 0; k < ARRAY_SIZE(keys) && same; k++)
			same = same_member(v, entry, keys[k]);
		if (!same)
			continue;
		json_object_set_new(v, "last_seen", json_integer(now));
		json_object_set_new(v, "count", json_integer(json_integer_value(json_object_get(v, "count")) + 1));
		json_decref(entry);
		a->audit->dirty = true;
		return;
	}
	json_object_set_new(entry, "first_seen", json_integer(now));
	json_object_set_new(entry, "last_seen", json_integer(now));
	json_object_set_new(entry, "count", json_integer(1));
	json_array_append_new(a->audit->bindings, entry);
	a->audit->dirty = true;
}

struct history_ref {
	json_t *entry;
	json_int_t last_seen;
};

static int cmp_last_seen(const void *x, const void *y)
{
	json_int_t a = ((const struct history_ref *)x)->last_seen, b = ((const struct history_ref *)y)->last_seen;

	return a < b ? 1 : a > b ? -1 : 0;
}

/* Entries past the retention go; beyond the cap, the least recently seen. */
static void history_trim(struct agent *a)
{
	int64_t horizon = (int64_t)time(NULL) - (int64_t)(a->cfg.audit_retention_ns / 1000000000ULL);
	size_t n = json_array_size(a->audit->bindings), keep = 0;
	struct history_ref *v = calloc(n + 1, sizeof(*v));
	json_t *fresh;

	if (!v)
		return;
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(a->audit->bindings, i);
		json_int_t seen = json_integer_value(json_object_get(e, "last_seen"));

		if (seen >= horizon)
			v[keep++] = (struct history_ref){ e, seen };
	}
	qsort(v, keep, sizeof(*v), cmp_last_seen);
	if (keep > a->cfg.audit_max_bindings)
		keep = a->cfg.audit_max_bindings;
	fresh = json_array();
	for (size_t i = 0; fresh && i < keep; i++)
		json_array_append(fresh, v[i].entry);
	free(v);
	if (!fresh)
		return;
	json_decref(a->audit->bindings);
	a->audit->bindings = fresh;
}

static void history_write(struct agent *a)
{
	json_t *doc = json_pack("{s:i, s:O}", "version", 1, "bindings", a->audit->bindings);
	_cleanup_free_ char *text = doc ? json_dumps(doc, JSON_INDENT(1)) : NULL;
	int r = text ? write_file_atomic(a->cfg.audit_history, text, 0600) : -ENOMEM;

	json_decref(doc);
	if (r < 0)
		log_warning("Scope audit: writing %s: %s", a->cfg.audit_history, strerror(-r));
	a->audit->dirty = false;
	a->audit->written_ns = now_ns(CLOCK_MONOTONIC);
}

/* Every tick: the history on disk, at most once a second, when it changed. */
void audit_tick(struct agent *a)
{
	if (!a->audit || !a->audit->dirty || now_ns(CLOCK_MONOTONIC) - a->audit->written_ns < AUDIT_WRITE_INTERVAL_NS)
		return;
	history_trim(a);
	history_write(a);
}

void audit_stop(struct agent *a)
{
	if (!a->audit)
		return;
	if (a->audit->dirty) {
		history_trim(a);
		history_write(a);
	}
	json_decref(a->audit->bindings);
	free(a->audit->slots);
	free(a->audit);
	a->audit = NULL;
}

/* ---- the report ---- */

/* One rule: as written, its last use (the later of its CIDR part and its patterns). */
static json_t *rule_report(struct agent *a, const struct policy *p, const struct audit_rules *r, size_t e)
{
	json_t *rule = policy_rule_json(p, e), *names = json_array();
	int64_t last = 0, since = 0;

	for (size_t j = 0; j < r->n; j++) {
		const struct audit_rule *ar = &r->v[j];
		int64_t t, s;

		if (ar->egress != e)
			continue;
		t = audit_last_used(a, ar, &s);
		if (t > last)
			last = t;
		if (s > since) /* the latest start: the rule as a whole is counted since then */
			since = s;
		if (ar->pattern)
			json_array_append_new(names, json_pack("{s:s, s:I}", "pattern", ar->pattern,
							       "last_used", (json_int_t)t));
	}
	json_object_set_new(rule, "index", json_integer((json_int_t)e));
	json_object_set_new(rule, "last_used", json_integer(last));
	json_object_set_new(rule, "counted_since", json_integer(since));
	json_object_set_new(rule, "credited", json_boolean(!(e < r->nrules && r->unattributed[e])));
	if (json_array_size(names))
		json_object_set_new(rule, "names", names);
	else
		json_decref(names);
	return rule;
}

static json_t *policy_report(struct agent *a, const struct loaded_policy *lp, const struct policy *p,
			     int64_t since)
{
	json_t *rules = json_array(), *bindings = json_array(), *v;
	size_t i;

	for (size_t e = 0; e < p->negress; e++)
		json_array_append_new(rules, rule_report(a, p, &lp->rules, e));
	json_array_foreach(a->audit ? a->audit->bindings : NULL, i, v)
		if (!strcmp(json_string_value(json_object_get(v, "policy")) ?: "", lp->name) &&
		    json_integer_value(json_object_get(v, "last_seen")) >= since)
			json_array_append(bindings, v);
	return json_pack("{s:s, s:s, s:s, s:s?, s:b, s:O?, s:o, s:o}", "name", lp->name, "file", p->file ?: "",
			 "mode", lp->mode == MCPF_MODE_AUDIT ? "audit" : "enforce", "namespace", p->namespace,
			 "cluster", p->scope == POLICY_CLUSTER, "identity", p->identity, "rules", rules,
			 "bindings", bindings);
}

/* The audit op's answer: each loaded policy (or the one named), its rules and bindings. */
json_t *audit_report(struct agent *a, int64_t since, const char *policy)
{
	json_t *list = json_array();

	for (size_t i = 0; i < a->nloaded; i++) {
		const struct loaded_policy *lp = &a->loaded[i];
		const struct policy *p = lp->name ? policy_set_find(&a->policies, lp->name) : NULL;

		if (!p || (policy && strcmp(policy, lp->name)))
			continue;
		json_array_append_new(list, policy_report(a, lp, p, since));
	}
	if (policy && !json_array_size(list)) {
		json_decref(list);
		return NULL;
	}
	return json_pack("{s:b, s:I, s:I, s:o}", "ok", 1, "now", (json_int_t)time(NULL), "since",
			 (json_int_t)since, "policies", list);
}
