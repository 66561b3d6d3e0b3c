// SPDX-License-Identifier: MIT
/*
 * Containers selected by their Docker labels. A feed runs the Engine API client
 * (docker/dockerwatch.c) on its own thread; here, on the loop, each running container labelled
 *   mcpfence.io/policy=NAME       -> its cgroup is bound to policy NAME (unknown: held)
 *   mcpfence.io/attest=required   -> its cgroup is held: nothing until it attests
 * and every other container is left alone. Docker reports a container once it runs, so the
 * label alone would leave a window; the container is started with --cgroup-parent under a
 * held cgroup of the root (a `hold` binding), which denies everything from its first packet
 * until this binds it. Deny events name the container.
 */
#include "agent_state.h"

#include "cgroup.h"
#include "dockerwatch.h"

static void docker_run(const void *cfg, int out_fd, atomic_bool *stop)
{
	dockerwatch_run(cfg, out_fd, stop);
}

/* The container's cgroup under our root, from its main process; NULL (logged) if it has none
 * there. The cgroup's name must carry the container's id (cgroupfs: <id>, systemd:
 * docker-<id>.scope): a pid reused since the inspect does not bind someone else. */
static char *container_cgroup(struct agent *a, const char *name, const char *id, pid_t pid)
{
	_cleanup_free_ char *abs = NULL;
	const char *base;
	int r = cgroup_of_pid(a->mount, pid, &abs);

	if (r < 0) {
		log_warning("Docker: container %s: the cgroup of its process %d: %s", name, (int)pid, strerror(-r));
		return NULL;
	}
	base = strrchr(abs, '/');
	if (!base || !strstr(base, id)) {
		log_warning("Docker: container %s: process %d is in %s, not the container's cgroup", name, (int)pid,
			    cgroup_path_display(a->mount, abs));
		return NULL;
	}
	if (!cgroup_is_under(a->root_abs, abs) || !strcmp(abs, a->root_abs)) {
		log_warning("Docker: container %s is in %s, not under the guarded root %s: not bound (start it with "
			    "--cgroup-parent under the root's held cgroup)", name, cgroup_path_display(a->mount, abs),
			    cgroup_path_display(a->mount, a->root_abs));
		return NULL;
	}
	return TAKE_PTR(abs);
}

static void container_start(struct agent *a, json_t *m)
{
	json_t *labels = json_object_get(m, "labels");
	const char *policy = json_string_value(json_object_get(labels, "mcpfence.io/policy"));
	const char *attest = json_string_value(json_object_get(labels, "mcpfence.io/attest"));
	const char *id = json_string_value(json_object_get(m, "id"));
	const char *name = json_string_value(json_object_get(m, "name")) ?: id;
	pid_t pid = (pid_t)json_integer_value(json_object_get(m, "pid"));
	const struct loaded_policy *lp = policy ? agent_policy_by_name(a, policy) : NULL;
	_cleanup_free_ char *abs = NULL, *who = NULL;
	uint64_t cgid;
	int r;

	if ((!policy && !(attest && !strcmp(attest, "required"))) || !id || pid <= 0)
		return;
	abs = container_cgroup(a, name, id, pid);
	if (!abs)
		return;
	if (policy && !lp)
		log_warning("Docker: container %s names policy \"%s\", which is not loaded: held instead", name, policy);
	if ((r = cgroup_id_from_path(abs, &cgid)) < 0) {
		log_warning("Docker: container %s: %s: %s", name, abs, strerror(-r));
		return;
	}
	agent_workload_set(a, cgid, json_pack("{s:s, s:s%, s:s?}", "container", name, "container_id", id, (size_t)12,
					      "image", json_string_value(json_object_get(m, "image"))));
	who = strdup_printf("Docker: container %s", name);
	agent_bind_selected(a, who ?: "Docker", abs, cgid, lp, NULL);
}

static void docker_msg(struct agent *a, json_t *m)
{
	const char *ev = json_string_value(json_object_get(m, "event"));

	if (!ev) {
	} else if (!strcmp(ev, "start")) {
		container_start(a, m);
	} else if (!strcmp(ev, "LISTED")) {
		log_info("Docker: listed %lld running containers",
			 (long long)json_integer_value(json_object_get(m, "containers")));
	} else if (!strcmp(ev, "ERROR")) {
		log_warning("Docker: %s", json_string_value(json_object_get(m, "error")) ?: "?");
	}
}

int docker_feed_start(struct agent *a)
{
	int r;

	if (!a->cfg.docker)
		return 0;
	r = feed_start(a, docker_run, &a->cfg.docker_api, docker_msg, &a->docker);
	if (r == 0)
		log_info("Docker: following the containers of %s", a->cfg.docker_api.socket);
	return r;
}
