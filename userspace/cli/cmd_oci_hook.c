// SPDX-License-Identifier: MIT
/*
 * mcpfence oci-hook: the way OCI runtimes are extended (runc, crun, podman's hooks.d, CRI-O).
 * Run as a createRuntime hook, it reads the container's state on stdin: by then the runtime has
 * made the container's cgroup and the container's init is waiting in it, but the workload has
 * not started. An annotation names what the container gets:
 *   mcpfence.io/policy: NAME       bound to policy NAME
 *   mcpfence.io/attest: required   held: allowed nothing until it attests with a token
 * A container in a kubelet-shaped pod cgroup is bound as its pod, and its annotation is the
 * pod's: the agent resolves NAME in the pod's namespace (the runtime's annotation says which)
 * or, as cluster/NAME, a ClusterEgressPolicy admitting it, and holds the pod when neither
 * resolves (policy/scope.h). A pod that has attested keeps its binding: the hook runs for
 * every container start, the sidecar's attestation must outlive them. Without either
 * annotation the hook does nothing. When it cannot do what the annotation asks it fails, and the runtime
 * then refuses to start the container: an annotated container never runs unconfined.
 */
#include <stdio.h>
#include <string.h>

#include "cgroup.h"
#include "cli.h"
#include "config.h"
#include "control.h"
#include "podcgroup.h"
#include "util.h"

#define OCI_STATE_MAX (1u << 20)
#define ANNOTATION_POLICY "mcpfence.io/policy"
#define ANNOTATION_ATTEST "mcpfence.io/attest"

/* The pod's namespace as the runtime wrote it (CRI-O's key, then containerd's), or NULL; the
 * pod's name likewise (io.kubernetes.pod.name, io.kubernetes.cri.sandbox-name). */
static const char *pod_namespace(json_t *ann)
{
	return json_string_value(json_object_get(ann, "io.kubernetes.pod.namespace")) ?:
	       json_string_value(json_object_get(ann, "io.kubernetes.cri.sandbox-namespace"));
}

static void oci_hook_help(void)
{
	printf("Usage: mcpfence oci-hook [--agent-socket PATH | --config FILE] [--json] < STATE\n\n"
	       "An OCI runtime hook (stage createRuntime). Reads the container state the\n"
	       "runtime writes to stdin and, by the container's annotations:\n"
	       "  %s=NAME        binds the container to policy NAME\n"
	       "  %s=required    holds it: nothing is allowed until it attests\n"
	       "before the container's process starts. A container in a kubelet-shaped pod\n"
	       "cgroup is bound as its pod: NAME is a policy of the pod's namespace (from the\n"
	       "runtime's io.kubernetes.pod.namespace or io.kubernetes.cri.sandbox-namespace),\n"
	       "cluster/NAME a ClusterEgressPolicy admitting it; a name neither resolves holds\n"
	       "the pod. A pod that attested keeps its binding across container starts.\n"
	       "No annotation: nothing to do (exit 0). Any failure\n"
	       "exits 1, and the runtime refuses to start the container. Talks to the agent's\n"
	       "control socket (default: the config's, else %s).\n",
	       ANNOTATION_POLICY, ANNOTATION_ATTEST, CONFIG_DEFAULT_SOCKET);
}

/* The cgroup to bind, as the hierarchy names it ("/a/b"): the container's, or its pod's (then
 * pod_uid is set, else empty). */
static int hook_target(const char *sock, pid_t pid, char **ret, char pod_uid[POD_UID_LEN + 1], char *why,
		       size_t len)
{
	_cleanup_free_ char *mount = NULL, *abs = NULL;
	json_t *ping = NULL;
	const char *root, *path;
	int r, plen;

	r = control_request(sock, json_pack("{s:s}", "op", "ping"), &ping);
	if (r < 0) {
		snprintf(why, len, "cannot reach the agent at %s: %s", sock, strerror(-r));
		return r;
	}
	root = json_string_value(json_object_get(ping, "cgroup_root_path"));
	if ((r = cgroup_mount_find(&mount)) < 0 || (r = cgroup_of_pid(mount, pid, &abs)) < 0) {
		snprintf(why, len, "cannot read the cgroup of the container's process %d: %s", (int)pid,
			 strerror(-r));
		goto out;
	}
	path = cgroup_path_display(mount, abs);
	r = -EXDEV;
	if (!root || !cgroup_is_under(root, path) || !strcmp(root, path)) {
		snprintf(why, len, "the container's cgroup %s is not below the agent's root %s: start "
			 "it under the root (docker/podman --cgroup-parent)", path, root ?: "?");
		goto out;
	}
	pod_uid[0] = '\0';
	plen = pod_cgroup_find(root, path, pod_uid);
	*ret = plen > 0 ? strndup(path, (size_t)plen) : strdup(path);
	r = *ret ? 0 : -ENOMEM;
out:
	json_decref(ping);
	return r;
}

/* What the agent names in the events of the binding: the pod (the runtime's Kubernetes
 * annotations, when there) or the container. */
static json_t *hook_workload(json_t *state, const char *pod_uid)
{
	json_t *ann = json_object_get(state, "annotations");
	const char *ns = pod_namespace(ann);
	const char *name = json_string_value(json_object_get(ann, "io.kubernetes.pod.name")) ?:
			   json_string_value(json_object_get(ann, "io.kubernetes.cri.sandbox-name"));
	const char *id = json_string_value(json_object_get(state, "id"));

	if (pod_uid[0])
		return ns && name ? json_pack("{s:s++, s:s}", "pod", ns, "/", name, "pod_uid", pod_uid)
				  : json_pack("{s:s}", "pod_uid", pod_uid);
	return id ? json_pack("{s:s%}", "container_id", id, strnlen(id, 12)) : json_object();
}

int cmd_oci_hook(int argc, char **argv)
{
	const char *sock = NULL, *config = NULL, *policy, *attest;
	const struct cli_opt opts[] = {
		{ "agent-socket", 's', true, &sock },
		{ "config", 'c', true, &config },
		{},
	};
	_cleanup_free_ char *sock_owned = NULL, *target = NULL;
	json_t *state, *ann, *reply = NULL, *req;
	json_error_t jerr;
	char why[1024], pod_uid[POD_UID_LEN + 1];
	pid_t pid;
	int args, r;

	args = cli_options(argc, argv, opts, 0, oci_hook_help);
	if (args <= 0)
		return args == 0 ? 0 : 2;
	{
		/* at most OCI_STATE_MAX bytes: a runtime's state is a few KiB */
		_cleanup_free_ char *buf = malloc(OCI_STATE_MAX + 1);
		size_t n = buf ? fread(buf, 1, OCI_STATE_MAX + 1, stdin) : 0;

		if (!buf)
			return cli_fail("oci-hook: out of memory");
		if (n > OCI_STATE_MAX)
			return cli_fail("oci-hook: the container state on stdin is over %u bytes", OCI_STATE_MAX);
		state = json_loadb(buf, n, JSON_REJECT_DUPLICATES, &jerr);
	}
	if (!state)
		return cli_fail("oci-hook: the container state on stdin: %s (line %d)", jerr.text, jerr.line);
	ann = json_object_get(state, "annotations");
	policy = json_string_value(json_object_get(ann, ANNOTATION_POLICY));
	attest = json_string_value(json_object_get(ann, ANNOTATION_ATTEST));
	pid = (pid_t)json_integer_value(json_object_get(state, "pid"));
	if (!policy && !attest) {
		json_decref(state);
		return 0;
	}
	if (attest && strcmp(attest, "required")) {
		r = cli_fail("oci-hook: annotation %s: \"%s\" (the only value is \"required\")",
			     ANNOTATION_ATTEST, attest);
		goto out;
	}
	if (pid <= 0) {
		r = cli_fail("oci-hook: the state on stdin has no \"pid\" (run as a createRuntime hook)");
		goto out;
	}
	sock = cli_agent_socket(sock, config, &sock_owned);
	if (!sock) {
		r = 1;
		goto out;
	}
	if (hook_target(sock, pid, &target, pod_uid, why, sizeof(why)) < 0) {
		r = cli_fail("oci-hook: container %s: %s",
			     json_string_value(json_object_get(state, "id")) ?: "?", why);
		goto out;
	}
	req = json_pack("{s:s, s:s, s:o, s:b}", "op", "bind", "cgroup", target, "workload", hook_workload(state, pod_uid),
			"keep_attested", 1);
	if (req && policy)
		json_object_set_new(req, "policy", json_string(policy));
	else if (req)
		json_object_set_new(req, "hold", json_true());
	if (req && pod_uid[0]) /* the agent scopes the annotation to the pod's namespace */
		json_object_set_new(req, "pod_namespace", json_string(pod_namespace(ann) ?: ""));
	r = control_request(sock, req, &reply);
	if (r < 0 || !json_is_true(json_object_get(reply, "ok"))) {
		r = cli_fail("oci-hook: container %s: binding %s: %s",
			     json_string_value(json_object_get(state, "id")) ?: "?", target,
			     r < 0 ? strerror(-r) : json_string_value(json_object_get(reply, "error")) ?: "refused");
		goto out;
	}
	if (json_string_value(json_object_get(reply, "held")))
		log_warning("oci-hook: container %s: held: %s", json_string_value(json_object_get(state, "id")) ?: "?",
			    json_string_value(json_object_get(reply, "held")));
	r = 0;
out:
	json_decref(reply);
	json_decref(state);
	return r;
}
