// SPDX-License-Identifier: MIT
/*
 * Policies and bindings made the running state. Policy changes are generation flips: every
 * policy is compiled and written under a fresh slot, each binding is switched to its policy's
 * new slot with one map update, and only then are the old slots deleted. A binding always
 * points at a complete policy.
 */
#include "agent_state.h"

#include "cgroup.h"
#include "events.h"
#include "notify.h"

int agent_bind_selected(struct agent *a, const char *who, const char *abs, uint64_t id,
			const struct loaded_policy *lp, const char *why)
{
	struct mcpf_binding b = agent_binding_of(lp), old;
	int r;

	if (fence_binding_get(a->f, id, &old) == 0 && (old.identity_id || old.slot == b.slot))
		return 0; /* attested since, or nothing changed */
	if ((r = fence_binding_put(a->f, id, &b)) < 0) {
		log_warning("%s: binding %s: %s", who, cgroup_path_display(a->mount, abs), strerror(-r));
		return r;
	}
	log_info("%s: %s %s%s%s", who, lp ? "bound to" : "held", lp ? lp->name : "until it attests", why ? ": " : "",
		 why ?: "");
	agent_emit_policy(a, lp ? "bind" : "hold", lp ? lp->name : NULL, why, cgroup_path_display(a->mount, abs), id);
	if (lp)
		audit_binding_seen(a, lp->name, id, cgroup_path_display(a->mount, abs), "selector", NULL);
	return 1;
}

static void agent_binding_forget_identity(struct agent *a, uint32_t identity_id)
{
	if (identity_id) {
		fence_identity_del(a->f, identity_id);
		idmap_del(&a->identity_claims, identity_id);
		credentials_forget(a, identity_id);
	}
}

void agent_binding_forget(struct agent *a, uint64_t cgroup_id, uint32_t identity_id)
{
	agent_binding_forget_identity(a, identity_id);
	idmap_del(&a->workloads, cgroup_id);
}

/* Whether the pod feed or the OCI hook recorded a pod in this cgroup. */
static bool workload_is_pod(struct agent *a, uint64_t cgroup_id)
{
	struct idmap_entry *w = idmap_get(&a->workloads, cgroup_id);
	json_t *j = w && w->str ? json_loads(w->str, 0, NULL) : NULL;
	bool pod = json_object_get(j, "pod_uid") != NULL;

	json_decref(j);
	return pod;
}

struct flip_ctx {
	struct agent *a;
	const struct loaded_policy *next;
	size_t nnext;
	int r;
};

static int flip_one(uint64_t cg, const struct mcpf_binding *b, void *ud)
{
	struct flip_ctx *fc = ud;
	struct mcpf_policy_meta meta;
	struct mcpf_binding nb = *b;

	if (fence_binding_is_hold(b))
		return 0; /* no policy to follow */
	if (fence_meta_get(fc->a->f, b->slot, &meta) < 0) {
		log_warning("Binding of cgroup %llu names unknown slot %u; leaving it",
			    (unsigned long long)cg, b->slot);
		return 0;
	}
	meta.name[sizeof(meta.name) - 1] = '\0';
	for (size_t i = 0; i < fc->nnext; i++) {
		if (strcmp(fc->next[i].name, meta.name))
			continue;
		if (b->slot == fc->next[i].slot)
			return 0;
		nb.slot = fc->next[i].slot;
		nb.policy_id = fc->next[i].policy_id;
		nb.mode = fc->next[i].mode;
		nb.metric = fc->next[i].metric;
		if (fence_binding_put(fc->a->f, cg, &nb) < 0)
			fc->r = -errno;
		return 0;
	}
	if (workload_is_pod(fc->a, cg)) {
		/* a pod selected it (annotation, token): held, never widened to the unbound action */
		_cleanup_free_ char *why = strdup_printf("its policy %s was removed", meta.name);

		nb = agent_binding_of(NULL);
		if (fence_binding_put(fc->a->f, cg, &nb) < 0)
			fc->r = -errno;
		log_info("Policy '%s' was removed; holding pod cgroup %s", meta.name, agent_cgroup_path(fc->a, cg) ?: "?");
		agent_binding_forget_identity(fc->a, b->identity_id);
		agent_emit_policy(fc->a, "hold", NULL, why, agent_cgroup_path(fc->a, cg), cg);
		return 0;
	}
	/* its policy is gone: the cgroup falls back to the unbound action */
	log_info("Policy '%s' was removed; unbinding cgroup %s", meta.name,
		 agent_cgroup_path(fc->a, cg) ?: "?");
	fence_binding_del(fc->a->f, cg);
	agent_binding_forget(fc->a, cg, b->identity_id);
	agent_emit_policy(fc->a, "unbind", meta.name, NULL, agent_cgroup_path(fc->a, cg), cg);
	return 0;
}

struct slot_list {
	uint32_t *slots;
	size_t n;
};

static int collect_slot(uint32_t slot, const struct mcpf_policy_meta *m, void *ud)
{
	struct slot_list *l = ud;
	uint32_t *n;

	(void)m;
	if (slot == FENCE_SLOT_STATE)
		return 0;
	n = realloc(l->slots, (l->n + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	l->slots = n;
	l->slots[l->n++] = slot;
	return 0;
}

int agent_resolve_cgroup(struct agent *a, const char *path, char **ret_abs,
				  const char **why)
{
	_cleanup_free_ char *abs = NULL;

	*why = "is not a valid cgroup path";
	if (cgroup_path_resolve(a->mount, path, &abs) < 0)
		return -EINVAL;
	if (!cgroup_is_under(a->root_abs, abs)) {
		*why = "is not under the cgroup root";
		return -EPERM;
	}
	*ret_abs = TAKE_PTR(abs);
	return 0;
}

static int apply_static_bindings(struct agent *a, const struct agent_config *cfg)
{
	for (size_t i = 0; i < cfg->nbindings; i++) {
		const struct config_binding *cb = &cfg->bindings[i];
		const struct loaded_policy *lp = cb->policy ? agent_policy_by_name(a, cb->policy) : NULL;
		_cleanup_free_ char *abs = NULL;
		struct mcpf_binding b = agent_binding_of(lp), old;
		const char *why;
		uint64_t id = 0;
		int r;

		if ((cb->policy && !lp) || agent_resolve_cgroup(a, cb->cgroup, &abs, &why) < 0)
			continue; /* validated before anything was written */
		r = cgroup_create(abs);
		if (r == 0)
			r = cgroup_id_from_path(abs, &id);
		if (r < 0) {
			log_error("Failed to create cgroup '%s' of bindings[%zu]: %s", abs, i,
				  strerror(-r));
			return r;
		}
		if (!lp && fence_binding_get(a->f, id, &old) == 0 && old.identity_id) {
			continue; /* attested since: a hold gives way to the identity it waited for */
		}
		r = fence_binding_put(a->f, id, &b);
		if (r < 0)
			return r;
		agent_emit_policy(a, lp ? "bind" : "hold", lp ? lp->name : NULL, NULL, cgroup_path_display(a->mount, abs), id);
		if (lp)
			audit_binding_seen(a, lp->name, id, cgroup_path_display(a->mount, abs), "operator", NULL);
	}
	return 0;
}

int agent_check_names(const struct agent *a, const struct policy_set *set, struct diag *errs)
{
	int r = 0;

	for (size_t i = 0; i < set->n && !a->dns; i++) {
		const struct policy *p = set->items[i];

		if (!p->nnames)
			continue;
		diag_add(errs, "%s: spec.egress lists names (\"%s%s\"), but %s", p->file,
			 name_kind_prefix(p->names[0].kind), p->names[0].name,
			 a->dns_off_why ? a->dns_off_why : "names are off");
		r = -EINVAL;
	}
	return r;
}

/* The config's bindings name loaded policies and cgroups under the root. */
static int check_bindings(struct agent *a, const struct agent_config *cfg,
			  const struct policy_set *set, struct diag *errs)
{
	for (size_t i = 0; i < cfg->nbindings; i++) {
		_cleanup_free_ char *abs = NULL;
		const char *why;

		if (cfg->bindings[i].policy && !policy_set_find(set, cfg->bindings[i].policy))
			diag_add(errs, "%s: bindings[%zu].policy: no policy named \"%s\"", cfg->file,
				 i, cfg->bindings[i].policy);
		if (agent_resolve_cgroup(a, cfg->bindings[i].cgroup, &abs, &why) < 0)
			diag_add(errs, "%s: bindings[%zu].cgroup: \"%s\" %s", cfg->file, i,
				 cfg->bindings[i].cgroup, why);
	}
	return errs->n ? -EINVAL : 0;
}

static int compile_all(struct agent *a, const struct policy_set *set, struct loaded_policy *next,
		       struct diag *errs)
{
	int r = agent_check_names(a, set, errs);

	for (size_t i = 0; i < set->n && r == 0; i++) {
		next[i].name = strdup(set->items[i]->name);
		next[i].policy_id = policy_id_of(set->items[i]->name);
		next[i].mode = set->items[i]->mode;
		next[i].metric = next[i].name ? metrics_row_of(a, next[i].name) : MCPF_METRIC_NONE;
		r = next[i].name ? policy_compile(set->items[i], &next[i].compiled, errs) : -ENOMEM;
	}
	return r;
}

/* One policy under a fresh slot: its prefixes, then its metadata. */
static int write_one(struct agent *a, struct loaded_policy *l, struct diag *errs)
{
	struct mcpf_policy_meta m = {};
	int r;

	l->slot = a->next_slot++;
	snprintf(m.name, sizeof(m.name), "%s", l->name);
	m.policy_id = l->policy_id;
	m.generation = l->slot;
	m.nprefixes4 = (uint32_t)l->compiled.n4;
	m.nprefixes6 = (uint32_t)l->compiled.n6;
	r = audit_rules_make(a, &l->compiled, l->policy_id, &l->rules); /* credits rules' slots */
	if (r == 0)
		r = fence_slot_write(a->f, l->slot, &l->compiled);
	if (r < 0) {
		diag_add(errs, "%s: writing %zu+%zu prefixes to the kernel: %s%s", l->name,
			 l->compiled.n4, l->compiled.n6, strerror(-r),
			 r == -E2BIG || r == -ENOSPC ? " (raise max_prefixes)" : "");
		return r;
	}
	r = policy_compiled_keys(&l->compiled, &l->keys);
	if (r == 0)
		r = fence_meta_put(a->f, l->slot, &m);
	if (r < 0) {
		fence_slot_delete(a->f, l->slot, l->keys.v4 ? &l->keys : NULL);
		diag_add(errs, "%s: writing policy metadata: %s", l->name, strerror(-r));
		return r;
	}
	audit_rules_seed(a, &l->rules);
	policy_compiled_clear(&l->compiled); /* the agent keeps 17 bytes a prefix, not 153 */
	return 0;
}

/* `next` becomes the loaded set; the previous one's slots go unless a binding may still use
 * them (a flip that failed half way: the bindings already switched keep working). */
static void take_loaded(struct agent *a, struct loaded_policy *next, size_t n,
			const struct slot_list *old, bool delete_old)
{
	for (size_t i = 0; delete_old && i < old->n; i++) {
		const struct loaded_policy *lp = agent_policy_by_slot(a, old->slots[i]);

		fence_slot_delete(a->f, old->slots[i], lp ? &lp->keys : NULL);
		fence_meta_del(a->f, old->slots[i]);
	}
	agent_policies_free(a->loaded, a->nloaded);
	a->loaded = next;
	a->nloaded = n;
	audit_rules_prune(a);
}

static void log_applied(struct agent *a, uint64_t t0, uint64_t t_compiled, uint64_t t_written)
{
	size_t prefixes = 0;

	for (size_t i = 0; i < a->nloaded; i++)
		prefixes += a->loaded[i].keys.n4 + a->loaded[i].keys.n6;
	log_info("Applied %zu policies, %zu prefixes in %.1f ms (compile %.1f ms, kernel write %.1f ms, "
		 "flip and cleanup %.1f ms)",
		 a->nloaded, prefixes, (double)(now_ns(CLOCK_MONOTONIC) - t0) / 1e6,
		 (double)(t_compiled - t0) / 1e6, (double)(t_written - t_compiled) / 1e6,
		 (double)(now_ns(CLOCK_MONOTONIC) - t_written) / 1e6);
	for (size_t i = 0; i < a->nloaded; i++) {
		const struct loaded_policy *l = &a->loaded[i];
		json_t *ev = event_new("policy");

		if (!ev)
			continue;
		json_object_set_new(ev, "action", json_string("loaded"));
		json_object_set_new(ev, "policy", json_string(l->name));
		json_object_set_new(ev, "generation", json_integer(l->slot));
		json_object_set_new(ev, "prefixes", json_integer((json_int_t)l->keys.n4 + (json_int_t)l->keys.n6));
		agent_emit(a, ev);
	}
}

/*
 * Make `set` (and cfg's static bindings) the running state. Validation and compilation happen
 * before the first map write; a failure while writing removes what was written. Returns 0, or
 * -errno with `errs` explaining.
 */
int agent_apply(struct agent *a, const struct agent_config *cfg, struct policy_set *set,
		struct diag *errs)
{
	struct loaded_policy *next = calloc(set->n + 1, sizeof(*next));
	struct slot_list old = {};
	struct flip_ctx fc = { .a = a, .next = next, .nnext = set->n };
	size_t written = 0;
	uint64_t t0 = now_ns(CLOCK_MONOTONIC), t_compiled, t_written;
	int r;

	if (!next)
		return -ENOMEM;
	r = check_bindings(a, cfg, set, errs);
	if (r == 0)
		r = compile_all(a, set, next, errs);
	t_compiled = now_ns(CLOCK_MONOTONIC);
	if (r == 0)
		r = fence_meta_foreach(a->f, collect_slot, &old);
	for (size_t i = 0; r == 0 && i < old.n; i++)
		if (old.slots[i] >= a->next_slot)
			a->next_slot = old.slots[i] + 1;
	while (r == 0 && written < set->n) {
		r = write_one(a, &next[written], errs);
		if (r == 0)
			written++;
	}
	if (r < 0)
		goto fail;
	t_written = now_ns(CLOCK_MONOTONIC);
	/* the flip: every binding moves to its policy's new slot in one update each */
	r = fence_binding_foreach(a->f, flip_one, &fc);
	if (r == 0)
		r = fc.r;
	take_loaded(a, next, set->n, &old, r == 0);
	free(old.slots);
	if (r < 0) {
		diag_add(errs, "switching bindings to the new policies: %s", strerror(-r));
		return r;
	}
	metrics_rows_keep(a);
	a->stats.applied_at = time(NULL);
	log_applied(a, t0, t_compiled, t_written);
	return apply_static_bindings(a, cfg);

fail:
	for (size_t i = 0; i < written; i++) {
		fence_slot_delete(a->f, next[i].slot, next[i].keys.v4 ? &next[i].keys : NULL);
		fence_meta_del(a->f, next[i].slot);
	}
	free(old.slots);
	agent_policies_free(next, set->n);
	return r;
}

void agent_log_diag(const struct diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		log_error("%s", d->msgs[i]);
}

/* Re-read the config's policies and bindings; on any error the running state stays. */
int agent_reload(struct agent *a, struct diag *errs)
{
	struct agent_config cfg;
	struct policy_set set = {};
	struct trust trust = {};
	uint64_t t0 = now_ns(CLOCK_MONOTONIC);
	int r;

	notify_send("RELOADING=1\nMONOTONIC_USEC=%llu", (unsigned long long)(t0 / 1000));
	r = config_load(a->cfg.file, &cfg, errs);
	if (r == 0)
		r = policy_set_load(cfg.policies, cfg.npolicies, &set, errs);
	if (r == 0 && a->more_policies)
		r = a->more_policies(a, &set, errs);
	if (r == 0)
		r = trust_load(cfg.trust, cfg.file, &trust, errs);
	if (r == 0)
		r = agent_apply(a, &cfg, &set, errs);
	if (r == 0) {
		policy_set_clear(&a->policies);
		policy_set_drop_rules(&set); /* written to the kernel; matching needs identities only */
		a->policies = set;
		set = (struct policy_set){};
		trust_clear(&a->trust);
		a->trust = trust;
		trust = (struct trust){};
		keys_warm(a);
		/* policies and bindings follow the file; root, bpffs, socket need a restart */
		for (size_t i = 0; i < a->cfg.nbindings; i++) {
			free(a->cfg.bindings[i].cgroup);
			free(a->cfg.bindings[i].policy);
		}
		free(a->cfg.bindings);
		a->cfg.bindings = TAKE_PTR(cfg.bindings);
		a->cfg.nbindings = cfg.nbindings;
		cfg.nbindings = 0;
	}
	policy_set_clear(&set);
	trust_clear(&trust);
	config_clear(&cfg);
	a->stats.reload_duration_ns = now_ns(CLOCK_MONOTONIC) - t0;
	if (r == 0)
		a->stats.reloads_ok++;
	else
		a->stats.reloads_failed++;
	agent_notify_ready(a, r == 0 ? NULL : "the last reload failed, the previous policies stay (see the log)");
	return r;
}

void agent_notify_ready(struct agent *a, const char *note)
{
	int r = notify_send("READY=1\nSTATUS=Enforcing %zu policies on %s%s%s", a->nloaded,
			    cgroup_path_display(a->mount, a->root_abs), note ? "; " : "", note ?: "");

	if (r < 0)
		log_warning("Failed to notify systemd ($NOTIFY_SOCKET): %s", strerror(-r));
}
