// SPDX-License-Identifier: MIT
/*
 * The agent: loads policies, attaches (or takes over) the kernel programs, applies bindings,
 * serves the control socket and turns ring-buffer records into JSON lines.
 *
 * Policy changes are generation flips: every policy is compiled and written under a fresh slot,
 * each binding is switched to its policy's new slot with one map update, and only then are the
 * old slots deleted. A binding always points at a complete policy.
 */
#include "agent.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>

#include "attest.h"
#include "cgroup.h"
#include "config.h"
#include "identity.h"
#include "trust.h"
#include "control.h"
#include "events.h"
#include "fence.h"
#include "idmap.h"
#include "policy.h"
#include "probe.h"

#define GC_EVERY_TICKS 5 /* seconds between sweeps for bindings of removed cgroups */

struct loaded_policy {
	char *name;
	uint32_t slot;
	uint32_t policy_id;
	uint8_t mode;
	struct policy_compiled compiled; /* until written */
	struct policy_keys keys;	 /* after: enough to delete the slot */
};

struct agent {
	struct agent_config cfg;
	char *mount;
	char *root_abs;
	uint64_t root_id;
	uint32_t root_level;
	int root_fd;
	struct fence *f;
	struct loaded_policy *loaded;
	size_t nloaded;
	struct policy_set policies; /* the running set, for identity matching */
	struct trust trust;
	uint32_t next_identity;
	struct idmap identity_claims; /* identity id -> JSON of the claims its policy matched on */
	int attest_fd;
	uint32_t next_slot;
	FILE *events_file;
	int listen_fd;
	struct ring_buffer *rb;
	struct idmap cgroup_paths; /* cgroup id -> display path */
	struct idmap reported;	   /* cgroup id -> suppressed count already reported */
	unsigned ticks;
	bool created_root_pending; /* record in the pinned state that we made the root */
	bool stop;
};

static void agent_emit(struct agent *a, json_t *ev)
{
	if (!ev)
		return;
	event_write(ev, a->cfg.events_stdout ? stdout : NULL, a->events_file);
	json_decref(ev);
}

static const char *agent_cgroup_path(struct agent *a, uint64_t id)
{
	struct idmap_entry *e = idmap_get(&a->cgroup_paths, id);
	_cleanup_free_ char *abs = NULL;

	if (e)
		return e->str;
	if (cgroup_path_from_id(a->root_abs, id, &abs) < 0)
		return NULL;
	e = idmap_put(&a->cgroup_paths, id);
	if (!e)
		return NULL;
	e->str = strdup(cgroup_path_display(a->mount, abs));
	return e->str;
}

static const struct loaded_policy *loaded_by_slot(struct agent *a, uint32_t slot)
{
	for (size_t i = 0; i < a->nloaded; i++)
		if (a->loaded[i].slot == slot)
			return &a->loaded[i];
	return NULL;
}

static const struct loaded_policy *loaded_by_name(struct agent *a, const char *name)
{
	for (size_t i = 0; i < a->nloaded; i++)
		if (!strcmp(a->loaded[i].name, name))
			return &a->loaded[i];
	return NULL;
}

static void loaded_free(struct loaded_policy *l, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(l[i].name);
		policy_compiled_clear(&l[i].compiled);
		policy_keys_clear(&l[i].keys);
	}
	free(l);
}

static int handle_record(void *ctx, void *data, size_t size)
{
	struct agent *a = ctx;
	const struct mcpf_event *e = data;
	struct event_context ec = {};
	struct mcpf_policy_meta meta;
	struct mcpf_identity ident;
	const struct loaded_policy *lp;

	if (size < sizeof(*e))
		return 0;
	ec.cgroup = agent_cgroup_path(a, e->cgroup_id);
	lp = e->slot ? loaded_by_slot(a, e->slot) : NULL;
	if (lp)
		ec.policy = lp->name;
	else if (e->slot && fence_meta_get(a->f, e->slot, &meta) == 0) {
		meta.name[sizeof(meta.name) - 1] = '\0';
		ec.policy = meta.name;
	}
	if (e->identity_id &&
	    bpf_map_lookup_elem(a->f->identities_fd, &e->identity_id, &ident) == 0) {
		ident.iss[sizeof(ident.iss) - 1] = ident.sub[sizeof(ident.sub) - 1] = '\0';
		ec.identity = &ident;
	}
	{
		json_t *ev = event_to_json(e, &ec);
		struct idmap_entry *ic = e->identity_id ? idmap_get(&a->identity_claims, e->identity_id) : NULL;

		if (ev && ic && ic->str)
			json_object_set_new(json_object_get(ev, "identity"), "claims",
					    json_loads(ic->str, 0, NULL));
		agent_emit(a, ev);
	}
	return 0;
}

/* Report, per cgroup, the violations the kernel counted but did not send. */
static void flush_suppressed(struct agent *a)
{
	uint64_t key, next;
	void *prev = NULL;

	while (bpf_map_get_next_key(a->f->ratelimit_fd, prev, &next) == 0) {
		struct mcpf_ratelimit rl;
		struct idmap_entry *rep;
		json_t *ev;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(a->f->ratelimit_fd, &key, &rl) < 0 || !rl.suppressed)
			continue;
		rep = idmap_put(&a->reported, key);
		if (!rep || rep->num >= rl.suppressed)
			continue;
		ev = event_new("suppressed");
		if (ev) {
			const char *path = agent_cgroup_path(a, key);

			json_object_set_new(ev, "cgroup", path ? json_string(path) : json_null());
			json_object_set_new(ev, "cgroup_id", json_integer((json_int_t)key));
			json_object_set_new(ev, "count", json_integer((json_int_t)(rl.suppressed - rep->num)));
			json_object_set_new(ev, "total", json_integer((json_int_t)rl.suppressed));
		}
		rep->num = rl.suppressed;
		agent_emit(a, ev);
	}
}

static void emit_policy_event(struct agent *a, const char *action, const char *policy,
			      const char *cgroup, uint64_t cgroup_id)
{
	json_t *ev = event_new("policy");

	if (!ev)
		return;
	json_object_set_new(ev, "action", json_string(action));
	if (policy)
		json_object_set_new(ev, "policy", json_string(policy));
	if (cgroup)
		json_object_set_new(ev, "cgroup", json_string(cgroup));
	if (cgroup_id)
		json_object_set_new(ev, "cgroup_id", json_integer((json_int_t)cgroup_id));
	agent_emit(a, ev);
}

/* ---- applying policies and bindings ---- */

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

	if (fence_meta_get(fc->a->f, b->slot, &meta) < 0) {
		log_error("Binding of cgroup %llu names unknown slot %u; leaving it",
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
		if (fence_binding_put(fc->a->f, cg, &nb) < 0)
			fc->r = -errno;
		return 0;
	}
	/* its policy is gone: the cgroup falls back to the unbound action */
	log_info("Policy '%s' was removed; unbinding cgroup %s", meta.name,
		 agent_cgroup_path(fc->a, cg) ?: "?");
	fence_binding_del(fc->a->f, cg);
	emit_policy_event(fc->a, "unbind", meta.name, agent_cgroup_path(fc->a, cg), cg);
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

static int resolve_binding_cgroup(struct agent *a, const char *path, char **ret_abs,
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
		const struct loaded_policy *lp = loaded_by_name(a, cb->policy);
		_cleanup_free_ char *abs = NULL;
		struct mcpf_binding b = {};
		const char *why;
		uint64_t id = 0;
		int r;

		if (!lp || resolve_binding_cgroup(a, cb->cgroup, &abs, &why) < 0)
			continue; /* validated before anything was written */
		r = cgroup_create(abs);
		if (r == 0)
			r = cgroup_id_from_path(abs, &id);
		if (r < 0) {
			log_error("Failed to create cgroup '%s' of bindings[%zu]: %s", abs, i,
				  strerror(-r));
			return r;
		}
		b.slot = lp->slot;
		b.policy_id = lp->policy_id;
		b.mode = lp->mode;
		r = fence_binding_put(a->f, id, &b);
		if (r < 0)
			return r;
		emit_policy_event(a, "bind", lp->name, cgroup_path_display(a->mount, abs), id);
	}
	return 0;
}

/*
 * Make `set` (and cfg's static bindings) the running state. Validation and compilation happen
 * before the first map write; a failure while writing removes what was written. Returns 0, or
 * -errno with `errs` explaining.
 */
static int agent_apply(struct agent *a, const struct agent_config *cfg, struct policy_set *set,
		       struct diag *errs)
{
	struct loaded_policy *next = calloc(set->n + 1, sizeof(*next));
	struct slot_list old = {};
	struct flip_ctx fc = { .a = a };
	size_t written = 0, prefixes = 0;
	uint64_t t0 = now_ns(CLOCK_MONOTONIC), t_compiled, t_written;
	int r = 0;

	if (!next)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->nbindings; i++) {
		_cleanup_free_ char *abs = NULL;
		const char *why;

		if (!policy_set_find(set, cfg->bindings[i].policy))
			diag_add(errs, "%s: bindings[%zu].policy: no policy named \"%s\"", cfg->file,
				 i, cfg->bindings[i].policy);
		if (resolve_binding_cgroup(a, cfg->bindings[i].cgroup, &abs, &why) < 0)
			diag_add(errs, "%s: bindings[%zu].cgroup: \"%s\" %s", cfg->file, i,
				 cfg->bindings[i].cgroup, why);
	}
	if (errs->n) {
		free(next);
		return -EINVAL;
	}
	for (size_t i = 0; i < set->n && r == 0; i++) {
		next[i].name = strdup(set->items[i]->name);
		next[i].policy_id = policy_id_of(set->items[i]->name);
		next[i].mode = set->items[i]->mode;
		r = next[i].name ? policy_compile(set->items[i], &next[i].compiled, errs) : -ENOMEM;
	}
	if (r < 0)
		goto fail;
	t_compiled = now_ns(CLOCK_MONOTONIC);

	r = fence_meta_foreach(a->f, collect_slot, &old);
	if (r < 0)
		goto fail;
	for (size_t i = 0; i < old.n; i++)
		if (old.slots[i] >= a->next_slot)
			a->next_slot = old.slots[i] + 1;

	for (written = 0; written < set->n; written++) {
		struct loaded_policy *l = &next[written];
		struct mcpf_policy_meta m = {};

		l->slot = a->next_slot++;
		snprintf(m.name, sizeof(m.name), "%s", l->name);
		m.policy_id = l->policy_id;
		m.generation = l->slot;
		m.nprefixes4 = (uint32_t)l->compiled.n4;
		m.nprefixes6 = (uint32_t)l->compiled.n6;
		r = fence_slot_write(a->f, l->slot, &l->compiled);
		if (r < 0) {
			diag_add(errs, "%s: writing %zu+%zu prefixes to the kernel: %s%s", l->name,
				 l->compiled.n4, l->compiled.n6, strerror(-r),
				 r == -E2BIG || r == -ENOSPC ? " (raise max_prefixes)" : "");
			goto fail;
		}
		r = policy_compiled_keys(&l->compiled, &l->keys);
		if (r == 0)
			r = fence_meta_put(a->f, l->slot, &m);
		if (r < 0) {
			fence_slot_delete(a->f, l->slot, l->keys.v4 ? &l->keys : NULL);
			diag_add(errs, "%s: writing policy metadata: %s", l->name, strerror(-r));
			goto fail;
		}
		policy_compiled_clear(&l->compiled); /* the agent keeps 17 bytes a prefix, not 153 */
	}

	t_written = now_ns(CLOCK_MONOTONIC);
	/* the flip: every binding moves to its policy's new slot in one update each */
	fc.next = next;
	fc.nnext = set->n;
	r = fence_binding_foreach(a->f, flip_one, &fc);
	if (r == 0)
		r = fc.r;
	if (r < 0) {
		diag_add(errs, "switching bindings to the new policies: %s", strerror(-r));
		/* bindings already switched keep working: their new slots stay */
		free(old.slots);
		loaded_free(a->loaded, a->nloaded);
		a->loaded = next;
		a->nloaded = set->n;
		return r;
	}

	/* previous generation: no binding points there any more */
	for (size_t i = 0; i < old.n; i++) {
		const struct loaded_policy *lp = loaded_by_slot(a, old.slots[i]);

		fence_slot_delete(a->f, old.slots[i], lp ? &lp->keys : NULL);
		fence_meta_del(a->f, old.slots[i]);
	}
	free(old.slots);
	loaded_free(a->loaded, a->nloaded);
	a->loaded = next;
	a->nloaded = set->n;
	for (size_t i = 0; i < a->nloaded; i++)
		prefixes += next[i].keys.n4 + next[i].keys.n6;
	log_info("Applied %zu policies, %zu prefixes in %.1f ms (compile %.1f ms, kernel write %.1f ms, "
		 "flip and cleanup %.1f ms)",
		 a->nloaded, prefixes, (double)(now_ns(CLOCK_MONOTONIC) - t0) / 1e6,
		 (double)(t_compiled - t0) / 1e6, (double)(t_written - t_compiled) / 1e6,
		 (double)(now_ns(CLOCK_MONOTONIC) - t_written) / 1e6);
	for (size_t i = 0; i < a->nloaded; i++) {
		json_t *ev = event_new("policy");

		if (!ev)
			continue;
		json_object_set_new(ev, "action", json_string("loaded"));
		json_object_set_new(ev, "policy", json_string(next[i].name));
		json_object_set_new(ev, "generation", json_integer(next[i].slot));
		json_object_set_new(ev, "prefixes", json_integer((json_int_t)next[i].keys.n4 +
									     (json_int_t)next[i].keys.n6));
		agent_emit(a, ev);
	}
	return apply_static_bindings(a, cfg);

fail:
	for (size_t i = 0; i < written; i++) {
		fence_slot_delete(a->f, next[i].slot, next[i].keys.v4 ? &next[i].keys : NULL);
		fence_meta_del(a->f, next[i].slot);
	}
	free(old.slots);
	loaded_free(next, set->n);
	return r;
}

static void log_diag(const struct diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		log_error("%s", d->msgs[i]);
}

/* Re-read the config's policies and bindings; on any error the running state stays. */
static int agent_reload(struct agent *a, struct diag *errs)
{
	struct agent_config cfg;
	struct policy_set set = {};
	struct trust trust = {};
	int r;

	r = config_load(a->cfg.file, &cfg, errs);
	if (r == 0)
		r = policy_set_load(cfg.policies, cfg.npolicies, &set, errs);
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
	return r;
}

/* ---- control socket ---- */

static json_t *reply_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *reply_error(const char *fmt, ...)
{
	va_list ap;
	char buf[1024];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return json_pack("{s:b, s:s}", "ok", 0, "error", buf);
}

static json_t *op_bind(struct agent *a, json_t *req)
{
	const char *path = json_string_value(json_object_get(req, "cgroup"));
	const char *policy = json_string_value(json_object_get(req, "policy"));
	const struct loaded_policy *lp;
	_cleanup_free_ char *abs = NULL;
	struct mcpf_binding b = {};
	const char *why;
	uint64_t id;
	int r;

	if (!path || !policy)
		return reply_error("bind needs \"cgroup\" and \"policy\"");
	lp = loaded_by_name(a, policy);
	if (!lp)
		return reply_error("no policy named \"%s\"", policy);
	if (resolve_binding_cgroup(a, path, &abs, &why) < 0)
		return reply_error("cgroup \"%s\" %s", path, why);
	r = cgroup_id_from_path(abs, &id);
	if (r < 0)
		return reply_error("cgroup \"%s\": %s", path, strerror(-r));
	b.slot = lp->slot;
	b.policy_id = lp->policy_id;
	b.mode = lp->mode;
	r = fence_binding_put(a->f, id, &b);
	if (r < 0)
		return reply_error("binding cgroup \"%s\": %s", path, strerror(-r));
	emit_policy_event(a, "bind", lp->name, cgroup_path_display(a->mount, abs), id);
	return json_pack("{s:b, s:I, s:s}", "ok", 1, "cgroup_id", (json_int_t)id, "cgroup",
			 cgroup_path_display(a->mount, abs));
}

static json_t *op_unbind(struct agent *a, json_t *req)
{
	const char *path = json_string_value(json_object_get(req, "cgroup"));
	_cleanup_free_ char *abs = NULL;
	const char *why;
	uint64_t id;
	int r;

	/* by id: `run` unbinds after its cgroup is gone, when no path names it any more */
	if (json_is_integer(json_object_get(req, "cgroup_id"))) {
		id = (uint64_t)json_integer_value(json_object_get(req, "cgroup_id"));
	} else if (!path) {
		return reply_error("unbind needs \"cgroup\" or \"cgroup_id\"");
	} else {
		if (resolve_binding_cgroup(a, path, &abs, &why) < 0)
			return reply_error("cgroup \"%s\" %s", path, why);
		r = cgroup_id_from_path(abs, &id);
		if (r < 0)
			return reply_error("cgroup \"%s\": %s", path, strerror(-r));
	}
	flush_suppressed(a); /* its rate-limit entry goes with the binding */
	{
		struct mcpf_binding old;

		if (fence_binding_get(a->f, id, &old) == 0 && old.identity_id)
			bpf_map_delete_elem(a->f->identities_fd, &old.identity_id);
	}
	r = fence_binding_del(a->f, id);
	if (r < 0)
		return reply_error("unbinding cgroup %llu: %s", (unsigned long long)id, strerror(-r));
	bpf_map_delete_elem(a->f->ratelimit_fd, &id);
	emit_policy_event(a, "unbind", NULL, abs ? cgroup_path_display(a->mount, abs) : NULL, id);
	return json_pack("{s:b}", "ok", 1);
}

/* ---- attestation ---- */

static uint64_t boot_ns_of_unix(int64_t unix_s)
{
	int64_t now_real = (int64_t)(now_ns(CLOCK_REALTIME) / 1000000000ULL);
	uint64_t boot = now_ns(CLOCK_BOOTTIME);

	if (unix_s <= now_real)
		return boot ? boot : 1; /* already past: expired from now on */
	return boot + (uint64_t)(unix_s - now_real) * 1000000000ULL;
}

static void emit_attest_event(struct agent *a, const struct attest_peer *peer, int result,
			      const char *detail, const char *policy, const struct token *tok,
			      uint64_t expires_boot)
{
	json_t *ev = event_new("attest");

	if (!ev)
		return;
	json_object_set_new(ev, "result", json_string(result == VERIFY_OK ? "ok" : "rejected"));
	json_object_set_new(ev, "reason", result == VERIFY_OK ? json_null() : json_string(verify_error_name(result)));
	if (detail && *detail)
		json_object_set_new(ev, "detail", json_string(detail));
	if (peer) {
		json_object_set_new(ev, "pid", json_integer(peer->pid));
		json_object_set_new(ev, "uid", json_integer(peer->uid));
		if (peer->cgroup_abs)
			json_object_set_new(ev, "cgroup", json_string(cgroup_path_display(a->mount, peer->cgroup_abs)));
	}
	if (policy)
		json_object_set_new(ev, "policy", json_string(policy));
	if (tok && tok->iss && tok->sub) /* only once verified: never claims of a forged token */
		json_object_set_new(ev, "identity", json_pack("{s:s, s:s}", "iss", tok->iss, "sub", tok->sub));
	if (expires_boot) {
		char ts[48];

		event_format_time(expires_boot, ts, sizeof(ts));
		json_object_set_new(ev, "expires", json_string(ts));
	}
	agent_emit(a, ev);
}

static json_t *attest_reply_error(int r, const char *detail)
{
	return json_pack("{s:b, s:s, s:s, s:s}", "ok", 0, "error", verify_error_name(r), "message",
			 verify_error_text(r), "detail", detail ? detail : "");
}

/*
 * A token, from a caller whose cgroup the kernel tells us: verify, pick exactly one policy,
 * check the pod, then bind (or renew) with the token's expiry, which the kernel enforces.
 */
static json_t *op_attest(struct agent *a, int fd, json_t *req)
{
	const char *token = json_string_value(json_object_get(req, "token"));
	struct attest_peer peer;
	struct token tok = {};
	const struct policy *pol = NULL;
	const struct loaded_policy *lp;
	json_t *matched = NULL, *reply;
	struct mcpf_binding b = {}, old;
	struct mcpf_identity ident = {};
	char detail[512] = "";
	uint64_t cg_id = 0;
	int r;

	r = attest_peer_get(fd, a->mount, &peer);
	if (r < 0) {
		snprintf(detail, sizeof(detail), "cannot identify the caller: %s", strerror(-r));
		emit_attest_event(a, NULL, VERIFY_INTERNAL, detail, NULL, NULL, 0);
		attest_peer_clear(&peer);
		return attest_reply_error(VERIFY_INTERNAL, detail);
	}
	if (!cgroup_is_under(a->root_abs, peer.cgroup_abs) || !strcmp(peer.cgroup_abs, a->root_abs)) {
		snprintf(detail, sizeof(detail), "the caller's cgroup %s is not below the root %s",
			 cgroup_path_display(a->mount, peer.cgroup_abs), cgroup_path_display(a->mount, a->root_abs));
		r = VERIFY_NOT_GUARDED;
		goto reject;
	}
	if (!token) {
		snprintf(detail, sizeof(detail), "the request has no \"token\"");
		r = VERIFY_MALFORMED;
		goto reject;
	}
	r = token_verify(&a->trust, token, strlen(token), (int64_t)(now_ns(CLOCK_REALTIME) / 1000000000ULL),
			 &tok, detail, sizeof(detail));
	if (r)
		goto reject;
	r = identity_select(&a->policies, &tok, &pol, &matched, detail, sizeof(detail));
	if (r)
		goto reject;
	if (token_claim(tok.jws.payload, "kubernetes.io.pod.uid") || tok.issuer->kubernetes) {
		if (!identity_pod_matches(&tok, peer.cgroup_abs)) {
			snprintf(detail, sizeof(detail), "token pod %.64s is not the pod of cgroup %s",
				 json_string_value(token_claim(tok.jws.payload, "kubernetes.io.pod.uid")) ?: "(none)",
				 cgroup_path_display(a->mount, peer.cgroup_abs));
			r = VERIFY_POD_MISMATCH;
			goto reject;
		}
	}
	lp = loaded_by_name(a, pol->name);
	if (!lp || cgroup_id_from_path(peer.cgroup_abs, &cg_id) < 0) {
		r = VERIFY_INTERNAL;
		goto reject;
	}
	snprintf(ident.iss, sizeof(ident.iss), "%s", tok.iss);
	snprintf(ident.sub, sizeof(ident.sub), "%s", tok.sub);
	b.slot = lp->slot;
	b.policy_id = lp->policy_id;
	b.mode = lp->mode;
	b.expires_ns = boot_ns_of_unix(tok.exp);
	if (fence_binding_get(a->f, cg_id, &old) == 0) {
		struct mcpf_identity prev;

		/* renewal: same policy and identity; anything else needs the operator */
		if (!old.identity_id ||
		    bpf_map_lookup_elem(a->f->identities_fd, &old.identity_id, &prev) < 0 ||
		    old.policy_id != b.policy_id || strcmp(prev.iss, ident.iss) || strcmp(prev.sub, ident.sub)) {
			snprintf(detail, sizeof(detail), "cgroup %s is already bound %s; unbind it first",
				 cgroup_path_display(a->mount, peer.cgroup_abs),
				 old.identity_id ? "to another identity or policy" : "by the operator");
			r = VERIFY_ALREADY_BOUND;
			goto reject;
		}
		b.identity_id = old.identity_id;
	} else {
		b.identity_id = a->next_identity++;
	}
	if (attest_peer_still_same(&peer) < 0) {
		snprintf(detail, sizeof(detail), "the caller exited or changed while attesting");
		r = VERIFY_INTERNAL;
		goto reject;
	}
	if (bpf_map_update_elem(a->f->identities_fd, &b.identity_id, &ident, BPF_ANY) < 0 ||
	    fence_binding_put(a->f, cg_id, &b) < 0) {
		snprintf(detail, sizeof(detail), "writing the binding: %s", strerror(errno));
		r = VERIFY_INTERNAL;
		goto reject;
	}
	{
		struct idmap_entry *ic = idmap_put(&a->identity_claims, b.identity_id);

		if (ic) {
			free(ic->str);
			ic->str = json_dumps(matched, JSON_COMPACT);
		}
	}
	emit_attest_event(a, &peer, VERIFY_OK, NULL, pol->name, &tok, b.expires_ns);
	{
		char ts[48];

		event_format_time(b.expires_ns, ts, sizeof(ts));
		reply = json_pack("{s:b, s:s, s:s, s:s, s:I, s:o, s:O}", "ok", 1, "policy", pol->name,
				  "cgroup", cgroup_path_display(a->mount, peer.cgroup_abs), "expires", ts,
				  "exp", (json_int_t)tok.exp,
				  "identity", json_pack("{s:s, s:s}", "iss", tok.iss, "sub", tok.sub),
				  "matched", matched);
	}
	json_decref(matched);
	token_clear(&tok);
	attest_peer_clear(&peer);
	return reply;
reject:
	/* the cgroup keeps whatever it had: unbound stays on the unbound action */
	emit_attest_event(a, &peer, r, detail, pol ? pol->name : NULL, NULL, 0);
	json_decref(matched);
	token_clear(&tok);
	attest_peer_clear(&peer);
	return attest_reply_error(r, detail);
}

static int next_identity_of(uint32_t *ret, int fd)
{
	uint32_t key, next, max = 0;
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (key > max)
			max = key;
	}
	*ret = max + 1;
	return 0;
}

static json_t *op_reload(struct agent *a)
{
	struct diag errs = {};
	json_t *reply, *list;
	int r = agent_reload(a, &errs);

	if (r == 0) {
		diag_clear(&errs);
		return json_pack("{s:b, s:I}", "ok", 1, "policies", (json_int_t)a->nloaded);
	}
	list = json_array();
	for (size_t i = 0; i < errs.n; i++)
		json_array_append_new(list, json_string(errs.msgs[i]));
	reply = json_pack("{s:b, s:s, s:o}", "ok", 0, "error", errs.n ? errs.msgs[0] : strerror(-r),
			  "errors", list);
	log_diag(&errs);
	diag_clear(&errs);
	return reply;
}

/* `attest_only`: the world-writable attestation socket serves ping and attest, nothing else. */
static void serve_client(struct agent *a, int fd, bool attest_only)
{
	struct timeval tv = { .tv_sec = 2 };
	struct ucred cred;
	socklen_t len = sizeof(cred);
	json_t *req = NULL, *reply;
	const char *op;
	bool root;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return;
	root = cred.uid == 0;
	if (control_read(fd, &req) < 0) {
		reply = reply_error("malformed request: one JSON object per line expected");
		goto out;
	}
	op = json_string_value(json_object_get(req, "op"));
	if (!op)
		reply = reply_error("request has no \"op\"");
	else if (!strcmp(op, "ping"))
		reply = json_pack("{s:b, s:i, s:I, s:s, s:s}", "ok", 1, "pid", (int)getpid(),
				  "policies", (json_int_t)a->nloaded, "cgroup_root", a->root_abs,
				  "bpffs", a->cfg.bpffs);
	else if (!strcmp(op, "attest"))
		reply = op_attest(a, fd, req);
	else if (attest_only || (strcmp(op, "bind") && strcmp(op, "unbind") && strcmp(op, "reload")))
		reply = reply_error("unknown op \"%s\"%s", op, attest_only ? " on the attestation socket" : "");
	else if (!root)
		reply = reply_error("\"%s\" needs a root peer (uid %u is not)", op, cred.uid);
	else if (!strcmp(op, "bind"))
		reply = op_bind(a, req);
	else if (!strcmp(op, "unbind"))
		reply = op_unbind(a, req);
	else
		reply = op_reload(a);
out:
	if (reply)
		control_write(fd, reply);
	json_decref(reply);
	json_decref(req);
}

static int listen_unix(const char *path, mode_t mode, int *ret)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_free_ char *dir = NULL;
	_cleanup_close_ int fd = -1;
	mode_t old;
	int r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	dir = strdup(path);
	if (!dir)
		return -ENOMEM;
	*strrchr(dir, '/') = '\0';
	if (*dir && (r = mkdir_p(dir, 0755)) < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* a socket file left by a dead agent: nobody answers on it */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return -EADDRINUSE;
	close(fd);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	old = umask(0177); /* created 0600; the attestation socket is opened up below */
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || listen(fd, 64) < 0 || chmod(path, mode) < 0)
		return -errno;
	*ret = TAKE_FD(fd);
	return 0;
}

/* ---- binding housekeeping ---- */

struct gc_ctx {
	struct agent *a;
	struct idmap live;
};

static int gc_collect(uint64_t id, const char *abs, void *ud)
{
	struct gc_ctx *g = ud;

	(void)abs;
	return idmap_put(&g->live, id) ? 0 : -ENOMEM;
}

static int gc_one(uint64_t cg, const struct mcpf_binding *b, void *ud)
{
	struct gc_ctx *g = ud;

	if (!idmap_get(&g->live, cg)) {
		if (b->identity_id)
			bpf_map_delete_elem(g->a->f->identities_fd, &b->identity_id);
		fence_binding_del(g->a->f, cg);
		bpf_map_delete_elem(g->a->f->ratelimit_fd, &cg);
		log_debug("Removed the binding of deleted cgroup %llu", (unsigned long long)cg);
	}
	return 0;
}

/* Drop bindings whose cgroup is gone (a `run` killed before it could unbind). */
static void agent_gc(struct agent *a)
{
	struct gc_ctx g = { .a = a };

	if (cgroup_walk(a->root_abs, gc_collect, &g) == 0)
		fence_binding_foreach(a->f, gc_one, &g);
	idmap_clear(&g.live);
}

/* ---- startup ---- */

static int agent_setup_root(struct agent *a)
{
	bool created = false;
	struct stat st;
	int r;

	r = cgroup_mount_find(&a->mount);
	if (r < 0) {
		log_error("No cgroup2 file system is mounted (see /proc/self/mountinfo)");
		return r;
	}
	r = cgroup_mount_nsdelegate(a->mount, true);
	if (r <= 0) {
		log_error("Failed to enable nsdelegate on %s (%s): without it a root workload can "
			  "move itself out of its cgroup namespace",
			  a->mount, r < 0 ? strerror(-r) : "not set after remount");
		return r < 0 ? r : -EOPNOTSUPP;
	}
	r = cgroup_path_resolve(a->mount, a->cfg.cgroup_root, &a->root_abs);
	if (r < 0) {
		log_error("%s: cgroup_root: \"%s\" is not a valid cgroup path", a->cfg.file,
			  a->cfg.cgroup_root);
		return r;
	}
	if (stat(a->root_abs, &st) < 0) {
		r = cgroup_create(a->root_abs);
		if (r < 0) {
			log_error("Failed to create cgroup root %s: %s", a->root_abs, strerror(-r));
			return r;
		}
		created = true;
	}
	r = cgroup_id_from_path(a->root_abs, &a->root_id);
	if (r < 0) {
		log_error("%s is not a cgroup2 directory: %s", a->root_abs, strerror(-r));
		return r;
	}
	a->root_level = (uint32_t)cgroup_level(a->mount, a->root_abs);
	a->root_fd = open(a->root_abs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (a->root_fd < 0)
		return -errno;
	a->created_root_pending = created;
	return 0;
}

int agent_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct agent a = { .root_fd = -1, .listen_fd = -1, .attest_fd = -1, .next_slot = 1 };
	const char *config = NULL;
	struct policy_set set = {};
	struct diag errs = {};
	struct fence_params fp;
	struct epoll_event ev;
	int c, r, epfd = -1, sigfd = -1, tfd = -1;
	sigset_t mask;

	while ((c = getopt_long(argc, argv, "c:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'v':
			log_verbose = 1;
			break;
		case 'h':
			printf("Usage: mcpfence agent --config FILE [--verbose]\n\n"
			       "Load the policies named by FILE, attach the kernel programs to its cgroup\n"
			       "root (or take over the pinned ones), apply its bindings, serve the control\n"
			       "socket and print events as JSON lines.\n"
			       "SIGHUP reloads policies and bindings atomically; SIGTERM stops the agent\n"
			       "and leaves enforcement in place (`mcpfence uninstall` removes it).\n");
			return 0;
		default:
			return 2;
		}
	}
	if (!config) {
		log_error("agent: --config FILE is required (see mcpfence agent --help)");
		return 2;
	}

	r = config_load(config, &a.cfg, &errs);
	if (r == 0)
		r = policy_set_load(a.cfg.policies, a.cfg.npolicies, &set, &errs);
	if (r == 0)
		r = trust_load(a.cfg.trust, a.cfg.file, &a.trust, &errs);
	if (r < 0) {
		log_diag(&errs);
		log_error("Failed to load the configuration; nothing was changed");
		r = 1;
		goto out;
	}
	{
		json_t *pr = NULL;

		if (probe_run(false, &pr) < 0) {
			_cleanup_free_ char *missing = probe_missing(pr);

			log_error("This kernel (%s) lacks what enforcement needs: %s. Refusing to start "
				  "rather than run without enforcement (see `mcpfence probe`)",
				  json_string_value(json_object_get(pr, "kernel")), missing ? missing : "?");
			json_decref(pr);
			r = 1;
			goto out;
		}
		json_decref(pr);
	}
	if (agent_setup_root(&a) < 0) {
		r = 1;
		goto out;
	}

	fp = (struct fence_params){
		.bpffs = a.cfg.bpffs,
		.root_fd = a.root_fd,
		.root_id = a.root_id,
		.root_level = a.root_level,
		.unbound = a.cfg.unbound,
		.deny_raw = a.cfg.deny_raw,
		.rate_limit = a.cfg.rate_limit,
		.max_prefixes = a.cfg.max_prefixes,
	};
	r = fence_load(&fp, &a.f);
	if (r < 0) {
		if (r == -EXDEV)
			log_error("The programs pinned in %s are attached to another cgroup than %s; "
				  "run `mcpfence uninstall` first",
				  a.cfg.bpffs, a.root_abs);
		else
			log_error("Failed to load and attach the BPF programs (%s): %s", a.cfg.bpffs,
				  strerror(-r));
		r = 1;
		goto out;
	}
	log_info("%s programs on %s (cgroup id %llu, level %u), state in %s",
		 a.f->reused_links ? "Took over pinned" : "Attached", a.root_abs,
		 (unsigned long long)a.root_id, a.root_level, a.cfg.bpffs);
	if (a.created_root_pending) {
		struct mcpf_policy_meta state = { .generation = 1 };

		snprintf(state.name, sizeof(state.name), "%s", "(agent: created cgroup root)");
		fence_meta_put(a.f, FENCE_SLOT_STATE, &state);
	}

	r = agent_apply(&a, &a.cfg, &set, &errs);
	if (r < 0) {
		log_diag(&errs);
		log_error("Failed to apply policies: %s", strerror(-r));
		r = 1;
		goto out;
	}
	if (a.cfg.events_file) {
		_cleanup_free_ char *dir = strdup(a.cfg.events_file);

		if (dir && strrchr(dir, '/')) {
			*strrchr(dir, '/') = '\0';
			mkdir_p(dir, 0755);
		}
		a.events_file = fopen(a.cfg.events_file, "ae");
		if (!a.events_file) {
			log_error("Failed to open events file %s: %s", a.cfg.events_file,
				  strerror(errno));
			r = 1;
			goto out;
		}
	}
	policy_set_drop_rules(&set); /* written to the kernel; matching needs identities only */
	a.policies = set;
	set = (struct policy_set){};
	next_identity_of(&a.next_identity, a.f->identities_fd);
	for (size_t i = 0; i < a.trust.n; i++) /* warm the key caches; tokens retry lazily */
		if (trust_issuer_refresh(&a.trust.issuers[i], (int64_t)(now_ns(CLOCK_REALTIME) / 1000000000ULL), false) < 0)
			log_error("Keys of issuer %s not available yet: %s", a.trust.issuers[i].issuer,
				  a.trust.issuers[i].last_error);
	r = listen_unix(a.cfg.socket, 0600, &a.listen_fd);
	if (r == 0 && a.trust.n)
		r = listen_unix(a.cfg.attest_socket, 0666, &a.attest_fd);
	if (r < 0) {
		log_error("Failed to listen on %s: %s", a.listen_fd < 0 ? a.cfg.socket : a.cfg.attest_socket,
			  strerror(-r));
		r = 1;
		goto out;
	}

	a.rb = ring_buffer__new(a.f->events_fd, handle_record, &a, NULL);
	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigfd = signalfd(-1, &mask, SFD_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!a.rb || sigfd < 0 || tfd < 0 || epfd < 0) {
		log_error("Failed to set up the event loop: %s", strerror(errno));
		r = 1;
		goto out;
	}
	timerfd_settime(tfd, 0,
			&(struct itimerspec){ .it_interval = { .tv_sec = 1 }, .it_value = { .tv_sec = 1 } },
			NULL);
	ev = (struct epoll_event){ .events = EPOLLIN, .data.u32 = 0 };
	epoll_ctl(epfd, EPOLL_CTL_ADD, ring_buffer__epoll_fd(a.rb), &ev);
	ev.data.u32 = 1;
	epoll_ctl(epfd, EPOLL_CTL_ADD, a.listen_fd, &ev);
	ev.data.u32 = 2;
	epoll_ctl(epfd, EPOLL_CTL_ADD, sigfd, &ev);
	ev.data.u32 = 3;
	epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &ev);
	if (a.attest_fd >= 0) {
		ev.data.u32 = 4;
		epoll_ctl(epfd, EPOLL_CTL_ADD, a.attest_fd, &ev);
	}
	log_info("Agent ready: %zu policies, socket %s", a.nloaded, a.cfg.socket);

	while (!a.stop) {
		struct epoll_event evs[8];
		int n = epoll_wait(epfd, evs, ARRAY_SIZE(evs), -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_error("epoll_wait: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			switch (evs[i].data.u32) {
			case 0:
				ring_buffer__consume(a.rb);
				break;
			case 1:
			case 4: {
				int lfd = evs[i].data.u32 == 1 ? a.listen_fd : a.attest_fd;

				/* events first: a client waiting on us should not starve the ring */
				ring_buffer__consume(a.rb);
				for (;;) {
					int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

					if (cfd < 0)
						break;
					serve_client(&a, cfd, lfd == a.attest_fd);
					close(cfd);
				}
				break;
			}
			case 2: {
				struct signalfd_siginfo si;

				if (read(sigfd, &si, sizeof(si)) != sizeof(si))
					break;
				if (si.ssi_signo == SIGHUP) {
					struct diag rerrs = {};

					log_info("SIGHUP: reloading policies");
					if (agent_reload(&a, &rerrs) < 0) {
						log_diag(&rerrs);
						log_error("Reload failed; the previous policies stay in "
							  "force");
					} else {
						log_info("Reloaded: %zu policies", a.nloaded);
					}
					diag_clear(&rerrs);
				} else {
					log_info("Signal %u: stopping; enforcement stays in place",
						 si.ssi_signo);
					a.stop = true;
				}
				break;
			}
			case 3: {
				uint64_t exp;

				if (read(tfd, &exp, sizeof(exp)) < 0)
					break;
				ring_buffer__consume(a.rb);
				flush_suppressed(&a);
				if (++a.ticks % GC_EVERY_TICKS == 0)
					agent_gc(&a);
				break;
			}
			}
		}
	}
	ring_buffer__consume(a.rb);
	flush_suppressed(&a);
	r = 0;
out:
	if (a.listen_fd >= 0) {
		close(a.listen_fd);
		unlink(a.cfg.socket);
	}
	if (a.attest_fd >= 0) {
		close(a.attest_fd);
		unlink(a.cfg.attest_socket);
	}
	policy_set_clear(&a.policies);
	trust_clear(&a.trust);
	idmap_clear(&a.identity_claims);
	ring_buffer__free(a.rb);
	if (epfd >= 0)
		close(epfd);
	if (sigfd >= 0)
		close(sigfd);
	if (tfd >= 0)
		close(tfd);
	if (a.events_file)
		fclose(a.events_file);
	fence_close(a.f);
	if (a.root_fd >= 0)
		close(a.root_fd);
	loaded_free(a.loaded, a.nloaded);
	idmap_clear(&a.cgroup_paths);
	idmap_clear(&a.reported);
	policy_set_clear(&set);
	diag_clear(&errs);
	config_clear(&a.cfg);
	free(a.mount);
	free(a.root_abs);
	return r;
}
