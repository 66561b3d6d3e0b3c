// SPDX-License-Identifier: MIT
/*
 * Pods selected through the Kubernetes API. A feed runs the list/watch client (k8s/podwatch.c)
 * on its own thread; here, on the loop, each pod of this node that is selected gets its pod
 * cgroup bound:
 *   annotation mcpfence.io/policy: NAME      -> policy NAME of the pod's namespace, or with
 *                                               cluster/NAME a ClusterEgressPolicy admitting it
 *                                               (policy/scope.h); none such: held, with why
 *   annotation mcpfence.io/attest: required,
 *   or a namespace in kubernetes.namespaces  -> held: nothing until the pod attests (an
 *                                               annotation naming a policy cannot lift that)
 * The agent makes the pod cgroup itself when the kubelet has not yet (the kubelet accepts one
 * that exists), so a pod the API names before its cgroup exists is held from its first packet.
 * An attested pod keeps its binding. Pods nobody selected are left alone.
 */
#include "agent_state.h"

#include "cgroup.h"
#include "podcgroup.h"
#include "watch.h"

static void pods_run(const void *cfg, int out_fd, atomic_bool *stop)
{
	podwatch_run(cfg, out_fd, stop);
}

static bool pod_selected(struct agent *a, const char *ns, const char *policy, const char *attest)
{
	return policy || (attest && !strcmp(attest, "required")) || agent_namespace_held(a, ns);
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
	const struct loaded_policy *lp = NULL;
	_cleanup_free_ char *abs = NULL, *who = NULL;
	char why[512] = "";
	uint64_t id;
	int r;

	if (!pod_selected(a, ns, policy, attest))
		return;
	abs = pod_abs(a, pod);
	if (!abs) {
		log_warning("Kubernetes: pod %s/%s: no QoS class or uid the kubelet would use; not bound", ns ?: "?",
			    json_string_value(json_object_get(pod, "name")) ?: "?");
		return;
	}
	if (policy)
		lp = agent_policy_for_pod(a, ns, policy, why, sizeof(why));
	if ((r = cgroup_create(abs)) < 0 || (r = cgroup_id_from_path(abs, &id)) < 0) {
		log_warning("Kubernetes: pod cgroup %s: %s", abs, strerror(-r));
		return;
	}
	agent_workload_set(a, id, json_pack("{s:s++, s:s?}", "pod", ns ?: "?", "/",
					    json_string_value(json_object_get(pod, "name")) ?: "?", "pod_uid",
					    json_string_value(json_object_get(pod, "uid"))));
	who = strdup_printf("Kubernetes: pod %s/%s", ns ?: "?", json_string_value(json_object_get(pod, "name")) ?: "?");
	agent_bind_selected(a, who ?: "Kubernetes", abs, id, lp, why[0] ? why : NULL);
}

/* A deleted pod: the kubelet removes the cgroups it made, and GC drops their bindings; one we
 * made for a pod that never started here is removed now (rmdir fails while anything is in it). */
static void pod_forget(struct agent *a, json_t *pod)
{
	_cleanup_free_ char *abs = pod_abs(a, pod);

	if (abs && cgroup_remove(abs) == 0)
		log_debug("Kubernetes: removed the cgroup of deleted pod %s", cgroup_path_display(a->mount, abs));
}

/* The pods that name a policy, by uid: their annotation is resolved again when policies change. */
static void pod_remember(struct agent *a, json_t *pod, bool deleted)
{
	const char *uid = json_string_value(json_object_get(pod, "uid"));
	bool names = json_is_string(json_object_get(json_object_get(pod, "annotations"), "mcpfence.io/policy"));

	if (!uid || (!a->pods_named && !(a->pods_named = json_object())))
		return;
	if (names && !deleted)
		json_object_set(a->pods_named, uid, pod);
	else
		json_object_del(a->pods_named, uid);
}

void pods_rebind(struct agent *a)
{
	const char *uid;
	json_t *pod;

	json_object_foreach(a->pods_named, uid, pod)
		pod_bind(a, pod);
}

static void pods_msg(struct agent *a, json_t *m)
{
	const char *ev = json_string_value(json_object_get(m, "event"));

	if (!ev) {
	} else if (!strcmp(ev, "ADDED") || !strcmp(ev, "MODIFIED")) {
		pod_remember(a, m, false);
		pod_bind(a, m);
	} else if (!strcmp(ev, "DELETED")) {
		pod_remember(a, m, true);
		pod_forget(a, m);
	} else if (!strcmp(ev, "LISTED")) {
		log_info("Kubernetes: %lld pods on node %s (resourceVersion %s)",
			 (long long)json_integer_value(json_object_get(m, "count")), a->cfg.k8s_api.node,
			 json_string_value(json_object_get(m, "resource_version")) ?: "?");
	} else if (!strcmp(ev, "ERROR")) {
		log_warning("Kubernetes: %s", json_string_value(json_object_get(m, "error")) ?: "?");
	}
}

int pods_feed_start(struct agent *a)
{
	int r;

	if (!a->cfg.k8s)
		return 0;
	r = feed_start(a, pods_run, &a->cfg.k8s_api, pods_msg, &a->pods);
	if (r == 0)
		log_info("Kubernetes: watching the pods of node %s at %s", a->cfg.k8s_api.node, a->cfg.k8s_api.api);
	return r;
}
