// SPDX-License-Identifier: MIT
/*
 * Pods selected through the Kubernetes API. A thread runs the list/watch client
 * (k8s/podwatch.c) and sends what it learns as JSON lines down a pipe; here, on the loop, each
 * pod of this node that is selected gets its pod cgroup bound:
 *   annotation mcpfence.io/policy: NAME      -> policy NAME (an unknown name: held)
 *   annotation mcpfence.io/attest: required,
 *   or a namespace in kubernetes.namespaces  -> held: nothing until the pod attests
 * The agent makes the pod cgroup itself when the kubelet has not yet (the kubelet accepts one
 * that exists), so a pod the API names before its cgroup exists is held from its first packet.
 * An attested pod keeps its binding. Pods nobody selected are left alone.
 */
#include "agent_state.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/epoll.h>

#include "cgroup.h"
#include "loop.h"
#include "podcgroup.h"
#include "podwatch.h"

#define PODS_LINE_MAX (1u << 20)

struct pods_worker {
	struct loop_source src; /* the pipe's read end */
	int wfd;
	pthread_t thread;
	atomic_bool stop;
	const struct podwatch_config *cfg;
	char *buf;
	size_t len;
};

static void *pods_main(void *arg)
{
	struct pods_worker *w = arg;

	podwatch_run(w->cfg, w->wfd, &w->stop);
	return NULL;
}

static bool pod_selected(struct agent *a, const char *ns, const char *policy, const char *attest)
{
	if (policy || (attest && !strcmp(attest, "required")))
		return true;
	for (size_t i = 0; ns && i < a->cfg.k8s_nnamespaces; i++)
		if (!strcmp(a->cfg.k8s_namespaces[i], ns))
			return true;
	return false;
}

/* The pod's cgroup as the kubelet names it under our root; NULL for a uid or QoS class the
 * kubelet would not use (or no memory). */
static char *pod_abs(struct agent *a, json_t *pod)
{
	char rel[256];

	if (pod_cgroup_path(a->cfg.k8s_systemd, json_string_value(json_object_get(pod, "qos")),
			    json_string_value(json_object_get(pod, "uid")), rel, sizeof(rel)) < 0)
		return NULL;
	return strdup_printf("%s/%s", a->root_abs, rel);
}

static void pod_bind(struct agent *a, json_t *pod)
{
	json_t *ann = json_object_get(pod, "annotations");
	const char *ns = json_string_value(json_object_get(pod, "namespace"));
	const char *policy = json_string_value(json_object_get(ann, "mcpfence.io/policy"));
	const char *attest = json_string_value(json_object_get(ann, "mcpfence.io/attest"));
	const struct loaded_policy *lp = policy ? agent_policy_by_name(a, policy) : NULL;
	struct mcpf_binding b = agent_binding_of(lp), old;
	_cleanup_free_ char *abs = NULL;
	uint64_t id;
	int r;

	if (!pod_selected(a, ns, policy, attest))
		return;
	abs = pod_abs(a, pod);
	if (!abs) {
		log_error("Kubernetes: pod %s/%s: no QoS class or uid the kubelet would use; not bound", ns ?: "?",
			  json_string_value(json_object_get(pod, "name")) ?: "?");
		return;
	}
	if (policy && !lp)
		log_error("Kubernetes: pod %s/%s names policy \"%s\", which is not loaded: held instead", ns ?: "?",
			  json_string_value(json_object_get(pod, "name")) ?: "?", policy);
	if ((r = cgroup_create(abs)) < 0 || (r = cgroup_id_from_path(abs, &id)) < 0) {
		log_error("Kubernetes: pod cgroup %s: %s", abs, strerror(-r));
		return;
	}
	if (fence_binding_get(a->f, id, &old) == 0 && (old.identity_id || old.slot == b.slot))
		return; /* attested since, or nothing changed */
	if (fence_binding_put(a->f, id, &b) < 0) {
		log_error("Kubernetes: binding %s: %s", abs, strerror(errno));
		return;
	}
	agent_emit_policy(a, lp ? "bind" : "hold", lp ? lp->name : NULL, cgroup_path_display(a->mount, abs), id);
}

/* A deleted pod: the kubelet removes the cgroups it made, and GC drops their bindings; one we
 * made for a pod that never started here is removed now (rmdir fails while anything is in it). */
static void pod_forget(struct agent *a, json_t *pod)
{
	_cleanup_free_ char *abs = pod_abs(a, pod);

	if (abs && cgroup_remove(abs) == 0)
		log_debug("Kubernetes: removed the cgroup of deleted pod %s", cgroup_path_display(a->mount, abs));
}

static void pods_line(struct agent *a, const char *line, size_t len)
{
	json_t *m = json_loadb(line, len, 0, NULL);
	const char *ev = json_string_value(json_object_get(m, "event"));

	if (!ev) {
	} else if (!strcmp(ev, "ADDED") || !strcmp(ev, "MODIFIED")) {
		pod_bind(a, m);
	} else if (!strcmp(ev, "DELETED")) {
		pod_forget(a, m);
	} else if (!strcmp(ev, "LISTED")) {
		log_info("Kubernetes: %lld pods on node %s (resourceVersion %s)",
			 (long long)json_integer_value(json_object_get(m, "pods")), a->cfg.k8s_api.node,
			 json_string_value(json_object_get(m, "resource_version")) ?: "?");
	} else if (!strcmp(ev, "ERROR")) {
		log_error("Kubernetes: %s", json_string_value(json_object_get(m, "error")) ?: "?");
	}
	json_decref(m);
}

static void pods_readable(struct loop_source *s, uint32_t events)
{
	struct agent *a = s->ud;
	struct pods_worker *w = a->pods;
	char chunk[16384];
	ssize_t n;

	while ((n = read(s->fd, chunk, sizeof(chunk))) > 0) {
		char *nb, *nl;

		if (w->len + (size_t)n > PODS_LINE_MAX) {
			w->len = 0; /* a line longer than any the worker writes: drop it */
			continue;
		}
		nb = realloc(w->buf, w->len + (size_t)n);
		if (!nb)
			return;
		w->buf = nb;
		memcpy(w->buf + w->len, chunk, (size_t)n);
		w->len += (size_t)n;
		while ((nl = memchr(w->buf, '\n', w->len))) {
			size_t l = (size_t)(nl - w->buf) + 1;

			pods_line(a, w->buf, l - 1);
			memmove(w->buf, w->buf + l, w->len - l);
			w->len -= l;
		}
	}
}

int pods_worker_start(struct agent *a)
{
	struct pods_worker *w;
	int p[2];

	if (!a->cfg.k8s)
		return 0;
	w = calloc(1, sizeof(*w));
	if (!w || pipe2(p, O_CLOEXEC) < 0) {
		free(w);
		return -errno;
	}
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	w->src = (struct loop_source){ .fd = p[0], .fn = pods_readable, .ud = a };
	w->wfd = p[1];
	w->cfg = &a->cfg.k8s_api;
	atomic_init(&w->stop, false);
	if (loop_add(a->loop, &w->src, EPOLLIN) < 0 || pthread_create(&w->thread, NULL, pods_main, w) != 0) {
		close(p[0]);
		close(p[1]);
		free(w);
		return -EAGAIN;
	}
	a->pods = w;
	log_info("Kubernetes: watching the pods of node %s at %s", w->cfg->node, w->cfg->api);
	return 0;
}

void pods_worker_stop(struct agent *a)
{
	struct pods_worker *w = a->pods;

	if (!w)
		return;
	atomic_store(&w->stop, true);
	loop_del(a->loop, &w->src);
	close(w->src.fd); /* a worker blocked writing to a full pipe gets EPIPE */
	pthread_join(w->thread, NULL); /* the client checks `stop` at least once a second */
	close(w->wfd);
	free(w->buf);
	free(w);
	a->pods = NULL;
}
