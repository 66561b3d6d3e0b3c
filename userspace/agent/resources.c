// SPDX-License-Identifier: MIT
/*
 * Policies as Kubernetes resources (config kubernetes.policies): EgressPolicy (namespaced) and
 * ClusterEgressPolicy objects, listed and watched like the pods (k8s/watch.h), are policies
 * next to the files. Each object becomes the document a file would hold (apiVersion
 * mcpfence/v1, its namespace in metadata), so it is named NAMESPACE/NAME and scoped like one.
 * A change is applied as a reload: a generation flip. An object that does not parse, or whose
 * name a file already takes, is refused on this node: its last good version stays in force,
 * the log says why, and so does a Kubernetes Event on the object (posted by a worker thread).
 * The good versions are kept in a cache file, so that a restart enforces them before the API
 * answers: a pod bound to one is never unbound in between.
 */
#include "agent_state.h"


#include "control.h"
#include "httpstream.h"
#include "watch.h"
#include "worker.h"

#define EVENT_POST_TIMEOUT_MS 5000
#define CACHE_MAX (16u << 20)

enum { RES_NAMESPACED, RES_CLUSTER, RES_KINDS };
static const char *const res_path[RES_KINDS] = { "/apis/mcpfence.io/v1/egresspolicies",
						  "/apis/mcpfence.io/v1/clusteregresspolicies" };
static const char *const res_kind[RES_KINDS] = { "EgressPolicy", "ClusterEgressPolicy" };

struct k8s_object {
	int kind;
	char *ns, *name, *uid; /* ns NULL for a cluster policy */
	json_t *doc;	       /* the policy document of its latest version */
	json_t *good;	       /* the last version that was accepted, or NULL */
	bool stale;	       /* not in the list being read */
	bool refused;	       /* the latest version is refused (reported once) */
};

struct agent_resources {
	struct k8s_object *objs;
	size_t n;
	struct feed *feeds[RES_KINDS];
	bool listed[RES_KINDS];
	struct worker *events; /* Events posted to the API */
};

struct event_job {
	struct worker_job job;
	char *url, *body;
	const struct k8s_api *api;
};

static void object_clear(struct k8s_object *o)
{
	free(o->ns);
	free(o->name);
	free(o->uid);
	json_decref(o->doc);
	json_decref(o->good);
}

/* The document of a policy file for a resource object. */
static json_t *object_doc(int kind, json_t *obj)
{
	json_t *meta = json_object_get(obj, "metadata");
	json_t *m = json_pack("{s:s?}", "name", k8s_str(meta, "name", NULL));

	if (m && kind == RES_NAMESPACED && k8s_str(meta, "namespace", NULL))
		json_object_set(m, "namespace", json_object_get(meta, "namespace"));
	return json_pack("{s:s, s:s, s:o, s:O?}", "apiVersion", "mcpfence/v1", "kind", res_kind[kind], "metadata", m,
			 "spec", json_object_get(obj, "spec"));
}

static struct k8s_object *object_find(struct agent_resources *r, int kind, const char *ns, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->objs[i].kind == kind && !strcmp(r->objs[i].name, name) &&
		    !strcmp(r->objs[i].ns ?: "", ns ?: ""))
			return &r->objs[i];
	return NULL;
}

static struct k8s_object *object_add(struct agent_resources *r, int kind, const char *ns, const char *name)
{
	struct k8s_object *n = realloc(r->objs, (r->n + 1) * sizeof(*n)), *o;

	if (!n)
		return NULL;
	r->objs = n;
	o = &r->objs[r->n];
	*o = (struct k8s_object){ .kind = kind, .ns = ns ? strdup(ns) : NULL, .name = strdup(name) };
	if (!o->name || (ns && !o->ns)) {
		object_clear(o);
		return NULL;
	}
	r->n++;
	return o;
}

static void object_remove(struct agent_resources *r, struct k8s_object *o)
{
	object_clear(o);
	*o = r->objs[--r->n];
}

/* The file name diagnostics name an object by. */
static char *object_file(const struct k8s_object *o)
{
	return o->ns ? strdup_printf("%s %s/%s", res_kind[o->kind], o->ns, o->name)
		     : strdup_printf("%s %s", res_kind[o->kind], o->name);
}

static void event_run(struct worker_job *job)
{
	struct event_job *j = (struct event_job *)job;
	_cleanup_free_ char *token = NULL;
	struct http_body b = { .max = 64u << 10 };
	char err[256];

	if (k8s_token_read(j->api, &token, err, sizeof(err)) < 0) {
		log_warning("Kubernetes: posting an Event: %s", err);
		return;
	}
	if (http_get(&(struct http_request){ .url = j->url, .ca_file = j->api->ca_file, .bearer = token,
					     .json = j->body, .timeout_ms = EVENT_POST_TIMEOUT_MS },
		     &b, err, sizeof(err)) < 0 && b.status != 201)
		log_warning("Kubernetes: posting an Event: %s", err);
	http_body_clear(&b);
}

static void event_free(struct worker_job *job)
{
	struct event_job *j = (struct event_job *)job;

	free(j->url);
	free(j->body);
	free(j);
}

static void events_done(void *ud)
{
	struct agent *a = ud;

	for (struct worker_job *j = worker_take(a->resources->events, NULL, NULL), *next; j; j = next) {
		next = j->next;
		event_free(j);
	}
}

/* A Warning Event on the object, as `kubectl describe` shows it. */
static void object_event(struct agent *a, const struct k8s_object *o, const char *reason, const char *message)
{
	struct event_job *j = a->resources->events ? calloc(1, sizeof(*j)) : NULL;
	char now[32];
	time_t t = time(NULL);
	struct tm tm;
	json_t *ev;

	if (!j)
		return;
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm) ?: &(struct tm){});
	ev = json_pack("{s:s, s:s, s:{s:s+}, s:{s:s, s:s, s:s, s:s?, s:s?}, s:s, s:s, s:s, s:{s:s, s:s?}, s:s, s:s, s:i}",
		       "apiVersion", "v1", "kind", "Event", "metadata", "generateName", o->name, ".",
		       "involvedObject", "apiVersion", "mcpfence.io/v1", "kind", res_kind[o->kind], "name", o->name,
		       "namespace", o->ns, "uid", o->uid, "reason", reason, "message", message, "type", "Warning",
		       "source", "component", "mcpfence-agent", "host", a->cfg.k8s_api.node, "firstTimestamp", now,
		       "lastTimestamp", now, "count", 1);
	j->api = &a->cfg.k8s_api;
	j->url = strdup_printf("%s/api/v1/namespaces/%s/events", a->cfg.k8s_api.api, o->ns ?: "default");
	j->body = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
	json_decref(ev);
	j->job.run = event_run;
	j->job.free = event_free;
	if (!j->url || !j->body) {
		event_free(&j->job);
		return;
	}
	worker_submit(a->resources->events, &j->job);
}

/* A version of the object (its latest, or its last good) parsed into the set; -errno with why. */
static int object_add_to(const struct k8s_object *o, json_t *doc, struct policy_set *set, char *why, size_t len)
{
	_cleanup_free_ char *file = object_file(o), *text = json_dumps(doc, JSON_COMPACT);
	struct diag errs = {};
	struct policy *p = NULL;
	int r = !file || !text ? -ENOMEM : policy_parse(file, text, strlen(text), &p, &errs);

	if (r == 0 && (r = policy_set_add(set, p, &errs)) < 0)
		policy_free(p); /* its name is taken (a file's goes first) */
	snprintf(why, len, "%s", r == 0 ? "" : errs.n ? errs.msgs[0] : strerror(-r));
	diag_clear(&errs);
	return r;
}

int resources_policies(struct agent *a, struct policy_set *set, struct diag *errs)
{
	struct agent_resources *r = a->resources;
	char why[1024];

	for (size_t i = 0; r && i < r->n; i++) {
		struct k8s_object *o = &r->objs[i];

		if (object_add_to(o, o->doc, set, why, sizeof(why)) == 0) {
			json_decref(o->good);
			o->good = json_incref(o->doc);
			o->refused = false;
			continue;
		}
		if (!o->refused) { /* once per version */
			o->refused = true;
			log_warning("Kubernetes: refused %s%s", why, o->good ? "; its last good version stays in force" : "");
			object_event(a, o, "PolicyRefused", why);
		}
		if (o->good && o->good != o->doc)
			object_add_to(o, o->good, set, why, sizeof(why));
	}
	return 0;
}

/* The good versions, for the next start (written whole, then renamed over the old). */
static void cache_write(struct agent *a)
{
	struct agent_resources *r = a->resources;
	_cleanup_free_ char *text = NULL, *dir = strdup(a->cfg.k8s_policy_cache);
	json_t *list = json_array();

	for (size_t i = 0; list && i < r->n; i++)
		if (r->objs[i].good)
			json_array_append_new(list, json_pack("{s:i, s:s?, s:O}", "kind", r->objs[i].kind, "uid",
							      r->objs[i].uid, "doc", r->objs[i].good));
	text = list ? json_dumps(list, JSON_COMPACT) : NULL;
	json_decref(list);
	if (dir && strrchr(dir, '/'))
		*strrchr(dir, '/') = '\0';
	if (!text || !dir || (*dir && mkdir_p(dir, 0700) < 0) || write_file_atomic(a->cfg.k8s_policy_cache, text, 0600) < 0)
		log_warning("Kubernetes: cannot write the policy cache %s", a->cfg.k8s_policy_cache);
}

/* Apply what the resources say now, as a reload does. */
static void resources_apply(struct agent *a)
{
	struct diag errs = {};

	if (agent_reload(a, &errs) < 0) {
		log_warning("Kubernetes: the policies could not be applied; the previous ones stay");
		agent_log_diag(&errs);
	} else {
		cache_write(a);
		pods_rebind(a); /* an annotation may resolve now, or no more */
	}
	diag_clear(&errs);
}

static int kind_of_path(const char *path)
{
	for (int k = 0; k < RES_KINDS; k++)
		if (path && !strcmp(path, res_path[k]))
			return k;
	return -1;
}

static void resources_msg(struct agent *a, json_t *m)
{
	struct agent_resources *r = a->resources;
	const char *ev = json_string_value(json_object_get(m, "event"));
	int kind = (int)json_integer_value(json_object_get(m, "kind"));
	json_t *obj = json_object_get(m, "object"), *meta = json_object_get(obj, "metadata");
	const char *name = k8s_str(meta, "name", NULL), *ns = kind == RES_NAMESPACED ? k8s_str(meta, "namespace", NULL) : NULL;
	struct k8s_object *o;

	if (!ev)
		return;
	if (!strcmp(ev, "LISTING") || !strcmp(ev, "LISTED")) {
		kind = kind_of_path(json_string_value(json_object_get(m, "resource")));
		for (size_t i = r->n; kind >= 0 && i-- > 0;) {
			if (r->objs[i].kind != kind)
				continue;
			if (ev[4] == 'I') /* LISTING: what the list does not name is gone */
				r->objs[i].stale = true;
			else if (r->objs[i].stale)
				object_remove(r, &r->objs[i]);
		}
		if (kind >= 0 && !strcmp(ev, "LISTED")) {
			r->listed[kind] = true;
			log_info("Kubernetes: %lld %s resources", (long long)json_integer_value(json_object_get(m, "count")),
				 res_kind[kind]);
			resources_apply(a);
		}
		return;
	}
	if (!strcmp(ev, "ERROR")) {
		log_warning("Kubernetes: %s", json_string_value(json_object_get(m, "error")) ?: "?");
		return;
	}
	if (kind < 0 || kind >= RES_KINDS || !name || (kind == RES_NAMESPACED && !ns))
		return;
	o = object_find(r, kind, ns, name);
	if (!strcmp(ev, "DELETED")) {
		if (o)
			object_remove(r, o);
	} else {
		json_t *doc = object_doc(kind, obj);

		if (!o)
			o = object_add(r, kind, ns, name);
		if (!o || !doc) {
			json_decref(doc);
			return;
		}
		o->stale = false;
		free(o->uid);
		o->uid = k8s_str(meta, "uid", NULL) ? strdup(k8s_str(meta, "uid", NULL)) : NULL;
		if (o->doc && json_equal(o->doc, doc)) { /* a status or label change: the policy is the same */
			json_decref(doc);
			return;
		}
		json_decref(o->doc);
		o->doc = doc;
		o->refused = false;
	}
	if (r->listed[kind]) /* during a list, LISTED applies once */
		resources_apply(a);
}

static void emit_namespaced(int fd, const char *event, json_t *obj)
{
	control_emit(fd, json_pack("{s:s, s:i, s:O}", "event", event, "kind", RES_NAMESPACED, "object", obj));
}

static void emit_cluster(int fd, const char *event, json_t *obj)
{
	control_emit(fd, json_pack("{s:s, s:i, s:O}", "event", event, "kind", RES_CLUSTER, "object", obj));
}

static void run_namespaced(const void *cfg, int out_fd, atomic_bool *stop)
{
	k8s_watch_run(&(struct k8s_watch){ .api = cfg, .path = res_path[RES_NAMESPACED], .emit = emit_namespaced },
		      out_fd, stop);
}

static void run_cluster(const void *cfg, int out_fd, atomic_bool *stop)
{
	k8s_watch_run(&(struct k8s_watch){ .api = cfg, .path = res_path[RES_CLUSTER], .emit = emit_cluster }, out_fd,
		      stop);
}

int resources_load_cache(struct agent *a, struct policy_set *set, struct diag *errs)
{
	_cleanup_free_ char *text = NULL;
	json_t *list, *e;
	size_t len, i;

	if (!a->cfg.k8s_policies)
		return 0;
	if (!(a->resources = calloc(1, sizeof(*a->resources))))
		return -ENOMEM;
	if (read_file(a->cfg.k8s_policy_cache, CACHE_MAX, &text, &len) < 0)
		return resources_policies(a, set, errs); /* none yet: a first start */
	list = json_loadb(text, len, 0, NULL);
	json_array_foreach(list, i, e) {
		json_t *doc = json_object_get(e, "doc");
		int kind = (int)json_integer_value(json_object_get(e, "kind"));
		const char *name = k8s_str(doc, "metadata", "name"), *ns = k8s_str(doc, "metadata", "namespace");
		struct k8s_object *o = (kind == RES_NAMESPACED || kind == RES_CLUSTER) && name && !object_find(a->resources, kind, ns, name)
					       ? object_add(a->resources, kind, ns, name)
					       : NULL;

		if (o) {
			o->doc = json_incref(doc);
			o->uid = k8s_str(e, "uid", NULL) ? strdup(k8s_str(e, "uid", NULL)) : NULL;
		}
	}
	json_decref(list);
	log_info("Kubernetes: %zu policy resources from the cache %s, until the API lists them", a->resources->n,
		 a->cfg.k8s_policy_cache);
	return resources_policies(a, set, errs);
}

int resources_start(struct agent *a)
{
	struct agent_resources *r = a->resources;

	if (!r)
		return 0;
	if (worker_start(a->loop, events_done, a, &r->events) < 0 ||
	    feed_start(a, run_namespaced, &a->cfg.k8s_api, resources_msg, &r->feeds[RES_NAMESPACED]) < 0 ||
	    feed_start(a, run_cluster, &a->cfg.k8s_api, resources_msg, &r->feeds[RES_CLUSTER]) < 0)
		return -EAGAIN;
	log_info("Kubernetes: watching EgressPolicy and ClusterEgressPolicy resources at %s", a->cfg.k8s_api.api);
	return 0;
}

void resources_stop(struct agent *a)
{
	struct agent_resources *r = a->resources;

	if (!r)
		return;
	for (int k = 0; k < RES_KINDS; k++)
		feed_stop(a, &r->feeds[k]);
	worker_stop(&r->events);
	for (size_t i = 0; i < r->n; i++)
		object_clear(&r->objs[i]);
	free(r->objs);
	free(r);
	a->resources = NULL;
}
