// SPDX-License-Identifier: MIT
/* Ring-buffer records and the agent's own happenings, as JSON lines to stdout and the file. */
#include "agent_state.h"

#include "cgroup.h"
#include "events.h"
#include "sockdiag.h"

void agent_emit(struct agent *a, json_t *ev)
{
	if (!ev)
		return;
	event_write(ev, a->cfg.events_stdout ? stdout : NULL, a->events_file);
	if (a->on_event) /* the events op's subscribers */
		a->on_event(a, ev);
	json_decref(ev);
}

void agent_workload_set(struct agent *a, uint64_t cgroup_id, json_t *workload)
{
	struct idmap_entry *e = workload ? idmap_put(&a->workloads, cgroup_id) : NULL;

	if (e) {
		free(e->str);
		e->str = json_dumps(workload, JSON_COMPACT);
	}
	json_decref(workload);
}

/* Display path of a cgroup id, cached; NULL once it is gone. */
const char *agent_cgroup_path(struct agent *a, uint64_t id)
{
	struct idmap_entry *e = idmap_get(&a->cgroup_paths, id);
	_cleanup_free_ char *abs = NULL;

	if (e)
		return e->str;
	if (cgroup_path_of_id(a->mount_fd, a->root_abs, id, &abs) < 0)
		return NULL;
	e = idmap_put(&a->cgroup_paths, id);
	if (!e)
		return NULL;
	e->str = strdup(cgroup_path_display(a->mount, abs));
	return e->str;
}

/* The names learned for a tls event's address under its policy, sorted (the kernel's order is
 * a hash's). */
struct agent_names_walk {
	struct agent *a;
	json_t *names;
};

static void learned_name_add(uint64_t hash, void *ud)
{
	struct agent_names_walk *w = ud;
	struct mcpf_dns_name wire;
	char name[1024];

	if (fence_dns_name(w->a->f, hash, &wire) == 0 && name_from_wire(wire.name, name, sizeof(name)) == 0)
		json_array_append_new(w->names, json_string(name));
}

static int str_cmp(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static json_t *tls_learned_names(struct agent *a, const struct mcpf_event *e)
{
	struct agent_names_walk w = { a, json_array() };
	const char **v;
	json_t *sorted;
	size_t n, i;

	if (!w.names || fence_learned_names_of(a->f, e->policy_id, e->family, e->daddr, learned_name_add, &w) < 0)
		return w.names;
	n = json_array_size(w.names);
	v = calloc(n + 1, sizeof(const char *));
	sorted = json_array();
	if (!v || !sorted) {
		free(v);
		json_decref(sorted);
		return w.names;
	}
	for (i = 0; i < n; i++)
		v[i] = json_string_value(json_array_get(w.names, i));
	qsort(v, n, sizeof(const char *), str_cmp);
	for (i = 0; i < n; i++)
		if (!i || strcmp(v[i], v[i - 1]))
			json_array_append_new(sorted, json_string(v[i]));
	free(v);
	json_decref(w.names);
	return sorted;
}

/* A refused flow is ended at once: its application sees ECONNABORTED, its peer a reset, rather
 * than TCP retrying the dropped bytes for minutes. The event says whether it worked. */
static void tls_flow_end(const struct mcpf_event *e, json_t *ev)
{
	int r = sockdiag_destroy_tcp(e->family, e->saddr, e->sport, e->daddr, e->dport, e->sock_cookie);

	if (ev)
		json_object_set_new(ev, "flow_ended", r == 0 ? json_true() : json_string(strerror(-r)));
}

int agent_record_handle(void *ctx, void *data, size_t size)
{
	struct agent *a = ctx;
	const struct mcpf_event *e = data;
	struct event_context ec = {};
	struct mcpf_policy_meta meta;
	struct mcpf_identity ident;
	const struct loaded_policy *lp;
	struct idmap_entry *ic, *wl;
	struct mcpf_dns_name wire;
	char name[1024];
	json_t *ev;

	if (size < sizeof(*e) || (a->canary_cgroup_id && e->cgroup_id == a->canary_cgroup_id))
		return 0;
	ec.cgroup = agent_cgroup_path(a, e->cgroup_id);
	lp = e->slot ? agent_policy_by_slot(a, e->slot) : NULL;
	if (lp) {
		ec.policy = lp->name;
	} else if (e->slot && fence_meta_get(a->f, e->slot, &meta) == 0) {
		meta.name[sizeof(meta.name) - 1] = '\0';
		ec.policy = meta.name;
	}
	if (e->identity_id && fence_identity_get(a->f, e->identity_id, &ident) == 0)
		ec.identity = &ident;
	if (e->name_hash && fence_dns_name(a->f, e->name_hash, &wire) == 0 &&
	    name_from_wire(wire.name, name, sizeof(name)) == 0)
		ec.name = name;
	if (e->type == MCPF_EVENT_TLS)
		ec.learned_names = tls_learned_names(a, e);
	ev = event_to_json(e, &ec);
	json_decref(ec.learned_names);
	if (e->type == MCPF_EVENT_TLS && e->verdict == MCPF_VERDICT_DENY && e->sock_cookie)
		tls_flow_end(e, ev);
	ic = e->identity_id ? idmap_get(&a->identity_claims, e->identity_id) : NULL;
	if (ev && ic && ic->str)
		json_object_set_new(json_object_get(ev, "identity"), "claims",
				    json_loads(ic->str, 0, NULL));
	wl = idmap_get(&a->workloads, e->bound_cgroup_id);
	if (ev && wl && wl->str)
		json_object_set_new(ev, "workload", json_loads(wl->str, 0, NULL));
	agent_emit(a, ev);
	return 0;
}

static int report_suppressed(uint64_t cg, const struct mcpf_ratelimit *rl, void *ud)
{
	struct agent *a = ud;
	struct idmap_entry *rep;
	const char *path;
	json_t *ev;

	if (!rl->suppressed)
		return 0;
	rep = idmap_put(&a->reported, cg);
	if (!rep || rep->num >= rl->suppressed)
		return 0;
	ev = event_new("suppressed");
	if (ev) {
		path = agent_cgroup_path(a, cg);
		json_object_set_new(ev, "cgroup", path ? json_string(path) : json_null());
		json_object_set_new(ev, "cgroup_id", json_integer((json_int_t)cg));
		json_object_set_new(ev, "count", json_integer((json_int_t)(rl->suppressed - rep->num)));
		json_object_set_new(ev, "total", json_integer((json_int_t)rl->suppressed));
	}
	rep->num = rl->suppressed;
	agent_emit(a, ev);
	return 0;
}

/* Report, per cgroup, the violations the kernel counted but did not send. */
void agent_flush_suppressed(struct agent *a)
{
	fence_ratelimit_foreach(a->f, report_suppressed, a);
}

void agent_emit_policy(struct agent *a, const char *action, const char *policy, const char *reason,
		       const char *cgroup, uint64_t cgroup_id)
{
	json_t *ev = event_new("policy");

	if (!ev)
		return;
	json_object_set_new(ev, "action", json_string(action));
	if (policy)
		json_object_set_new(ev, "policy", json_string(policy));
	if (reason)
		json_object_set_new(ev, "reason", json_string(reason));
	if (cgroup)
		json_object_set_new(ev, "cgroup", json_string(cgroup));
	if (cgroup_id)
		json_object_set_new(ev, "cgroup_id", json_integer((json_int_t)cgroup_id));
	agent_emit(a, ev);
}
