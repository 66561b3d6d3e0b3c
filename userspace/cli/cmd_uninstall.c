// SPDX-License-Identifier: MIT
/*
 * mcpfence uninstall: detach the pinned links, unpin the maps, remove the `run` cgroups left
 * empty and the cgroup root if the agent created it. Refuses while an agent answers.
 */
#include <dirent.h>
#include <fcntl.h>

#include "cgroup.h"
#include "cli.h"
#include "config.h"
#include "control.h"
#include "fence.h"

static int remove_run_cgroups(const char *root_abs)
{
	DIR *d = opendir(root_abs);
	struct dirent *de;
	int left = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		_cleanup_free_ char *p = NULL;

		if (de->d_type != DT_DIR || strncmp(de->d_name, "run-", 4))
			continue;
		p = strdup_printf("%s/%s", root_abs, de->d_name);
		if (p && cgroup_remove_tree(p) < 0)
			left++;
	}
	closedir(d);
	return left;
}

static void uninstall_help(void)
{
	printf("Usage: mcpfence uninstall [--config FILE] [--json]\n\n"
	       "Detach and remove everything the agent with that config pinned or created:\n"
	       "links, maps, the bpffs directory (default %s), empty run-* cgroups\n"
	       "and the cgroup root if the agent created it. Stop the agent first.\n",
	       CONFIG_DEFAULT_BPFFS);
}

int cmd_uninstall(int argc, char **argv)
{
	const char *config = NULL;
	_cleanup_free_ char *mount = NULL, *root_abs = NULL;
	struct agent_config cfg = {};
	struct mcpf_policy_meta state = {};
	json_t *reply = NULL;
	bool root_created = false, root_removed = false;
	uint64_t root_id = 0;
	int args, r, left = 0;
	const struct cli_opt opts[] = {
		{ "config", 'c', true, &config },
		{},
	};

	args = cli_options(argc, argv, opts, 0, uninstall_help);
	if (args <= 0)
		return args == 0 ? 0 : 2;
	if (cli_config_load(config, &cfg) < 0)
		return 1;
	if (control_request(cfg.socket, json_pack("{s:s}", "op", "ping"), &reply) == 0) {
		long long pid = json_integer_value(json_object_get(reply, "pid"));

		json_decref(reply);
		config_clear(&cfg);
		return cli_fail("uninstall: the agent (pid %lld) is running; stop it first", pid);
	}

	fence_attached_root(cfg.bpffs, &root_id);
	{
		struct fence *f = NULL;

		if (fence_open_pinned(cfg.bpffs, &f) == 0) {
			root_created = fence_meta_get(f, FENCE_SLOT_STATE, &state) == 0 && state.generation;
			fence_close(f);
		}
	}
	r = fence_uninstall(cfg.bpffs);
	if (cgroup_mount_find(&mount) == 0) {
		_cleanup_close_ int mount_fd = open(mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (root_id)
			cgroup_path_of_id(mount_fd, mount, root_id, &root_abs);
		if (!root_abs)
			cgroup_path_resolve(mount, cfg.cgroup_root, &root_abs);
		if (root_abs) {
			left = remove_run_cgroups(root_abs);
			/* static-binding cgroups the agent created; rmdir keeps any still in use */
			for (size_t i = cfg.nbindings; i-- > 0;) {
				_cleanup_free_ char *abs = NULL;

				if (cgroup_path_resolve(mount, cfg.bindings[i].cgroup, &abs) == 0 &&
				    cgroup_is_under(root_abs, abs) && strcmp(abs, root_abs))
					rmdir(abs);
			}
			if (root_created && cgroup_remove(root_abs) == 0)
				root_removed = true;
		}
	}
	unlink(cfg.socket);
	if (r < 0) {
		config_clear(&cfg);
		return cli_fail("uninstall: removing %s: %s", cfg.bpffs, strerror(-r));
	}
	cli_print(json_pack("{s:b, s:s, s:s?, s:b, s:i}", "ok", 1, "bpffs", cfg.bpffs, "cgroup_root",
			    root_abs && mount ? cgroup_path_display(mount, root_abs) : NULL,
			    "cgroup_root_removed", root_removed, "cgroups_left", left),
		  NULL);
	config_clear(&cfg);
	return 0;
}
