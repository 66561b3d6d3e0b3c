// SPDX-License-Identifier: MIT
/*
 * mcpfence run: a fresh cgroup under the root, bound through the agent before anything runs in
 * it; the child joins it, enters a new cgroup namespace (so even root cannot migrate out of its
 * subtree), sets no_new_privs, drops the capabilities that could undo the confinement and execs.
 * When the command exits, whatever it left behind is killed and the cgroup removed.
 */
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "caps.h"
#include "cgroup.h"
#include "cli.h"
#include "config.h"
#include "control.h"
#include "util.h"

static pid_t child_pid;

static void forward_signal(int sig)
{
	if (child_pid > 0)
		kill(child_pid, sig);
}

static void run_help(void)
{
	printf("Usage: mcpfence run (--policy NAME | --token-file F) [OPTIONS] -- CMD [ARGS...]\n\n"
	       "Run CMD in a fresh cgroup under the agent's cgroup root, bound before CMD starts:\n"
	       "to policy NAME, or, with --token-file, to the policy the token's verified claims\n"
	       "select (the child attests from inside the cgroup; the binding expires with the\n"
	       "token, enforced by the kernel). Everything CMD spawns stays confined; when CMD exits its\n"
	       "leftover processes are killed and the cgroup is removed. Needs root.\n\n"
	       "Before exec the child enters a new cgroup namespace, sets no_new_privs and drops\n"
	       "%s\nfrom its bounding, permitted, effective and inheritable sets.\n\n"
	       "Options:\n"
	       "  --policy NAME         the policy to bind\n"
	       "  --token-file F        attest with this identity token instead\n"
	       "  --agent-socket PATH   the agent's socket (default: the config's, else %s)\n"
	       "  --config FILE         read the socket path from this agent config\n"
	       "  --keep-caps           do not drop capabilities or set no_new_privs (opt-out: the\n"
	       "                        workload can then escape, e.g. with AF_PACKET sockets)\n"
	       "  --json                errors as {\"error\": ...}\n"
	       "Exit status: CMD's, 128+N if it died of signal N, 125 if mcpfence failed, 127 if\n"
	       "CMD could not be executed.\n",
	       caps_dropped_text, CONFIG_DEFAULT_SOCKET);
}

static int agent_call(const char *sock, json_t *req, json_t **ret)
{
	json_t *reply = NULL;
	int r = control_request(sock, req, &reply);

	if (r < 0)
		return cli_fail("Failed to reach the agent at %s: %s", sock, strerror(-r));
	if (!json_is_true(json_object_get(reply, "ok"))) {
		cli_fail("The agent refused: %s",
			 json_string_value(json_object_get(reply, "error")) ?: "no reason given");
		json_decref(reply);
		return 1;
	}
	if (ret)
		*ret = reply;
	else
		json_decref(reply);
	return 0;
}

/* In the child: join, confine, exec. Failures go to the parent through the CLOEXEC pipe. */
static void child_exec(const char *cg_abs, bool keep_caps, char **argv, int errpipe,
		       const char *sock, const char *token)
{
	const char *step;
	int err;

	step = "joining the cgroup";
	err = -cgroup_enter(cg_abs, 0);
	if (!err && token) {
		json_t *reply = NULL;
		char why[1024];

		if (attest_request(sock, token, &reply, why, sizeof(why)) < 0) {
			dprintf(errpipe, "A %s", why);
			_exit(125);
		}
		json_decref(reply);
	}
	if (!err) {
		step = "entering a new cgroup namespace";
		err = unshare(CLONE_NEWCGROUP) < 0 ? errno : 0;
	}
	if (!err && !keep_caps) {
		step = "dropping capabilities";
		err = -caps_confine();
	}
	if (!err) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		execvp(argv[0], argv);
		step = "executing the command";
		err = errno;
	}
	dprintf(errpipe, "%d %s", err, step);
	_exit(err == ENOENT || err == EACCES ? 127 : 125);
}

int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "agent-socket", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "token-file", required_argument, NULL, 't' },
		{ "keep-caps", no_argument, NULL, 'k' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *policy = NULL, *sock = NULL, *config = NULL, *token_file = NULL;
	_cleanup_free_ char *cg_abs = NULL, *sock_owned = NULL, *token = NULL;
	struct agent_config cfg = {};
	json_t *ping = NULL, *bound = NULL;
	json_int_t cg_id = 0;
	bool keep_caps = false;
	int c, r, status, pipefd[2];
	char errbuf[1100];
	ssize_t n;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+p:s:c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			policy = optarg;
			break;
		case 's':
			sock = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case 't':
			token_file = optarg;
			break;
		case 'k':
			keep_caps = true;
			break;
		case 'j':
			cli_json = true;
			break;
		case 'h':
			run_help();
			return 0;
		default:
			return 125;
		}
	}
	if (!policy == !token_file)
		return cli_fail("run: give exactly one of --policy NAME and --token-file F (see mcpfence run --help)") ? 125 : 0;
	if (token_file && (r = attest_token_load(token_file, &token)) < 0)
		return cli_fail("run: %s: %s", token_file, strerror(-r)) ? 125 : 0;
	if (optind >= argc)
		return cli_fail("run: no command given after --") ? 125 : 0;
	if (!sock) {
		if (cli_config_load(config, &cfg) < 0)
			return 125;
		sock_owned = strdup(cfg.socket);
		sock = sock_owned;
		config_clear(&cfg);
	}

	if (agent_call(sock, json_pack("{s:s}", "op", "ping"), &ping))
		return 125;
	{
		char name[64];

		snprintf(name, sizeof(name), "run-%d-%llx", (int)getpid(),
			 (unsigned long long)(now_ns(CLOCK_MONOTONIC) & 0xffffff));
		cg_abs = strdup_printf("%s/%s",
				       json_string_value(json_object_get(ping, "cgroup_root")), name);
		json_decref(ping);
	}
	if (!cg_abs)
		return 125;
	if (!keep_caps) {
		_cleanup_free_ char *mount = NULL;

		if (cgroup_mount_find(&mount) < 0 || cgroup_mount_nsdelegate(mount, false) != 1)
			return cli_fail("run: the cgroup2 mount lacks nsdelegate, so the workload could "
					"leave its cgroup; start the agent (it sets nsdelegate) or pass "
					"--keep-caps to run unconfined against root") ? 125 : 0;
	}
	r = cgroup_create(cg_abs);
	if (r < 0)
		return cli_fail("Failed to create cgroup %s: %s", cg_abs, strerror(-r)) ? 125 : 0;
	if (token) {
		/* bound by attestation, from inside the cgroup, before exec */
		uint64_t id = 0;

		cgroup_id_from_path(cg_abs, &id);
		cg_id = (json_int_t)id;
	} else {
		if (agent_call(sock, json_pack("{s:s, s:s, s:s}", "op", "bind", "cgroup", cg_abs, "policy",
					       policy),
			       &bound)) {
			cgroup_remove(cg_abs);
			return 125;
		}
		cg_id = json_integer_value(json_object_get(bound, "cgroup_id"));
		json_decref(bound);
	}

	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		r = -errno;
		goto cleanup;
	}
	signal(SIGINT, forward_signal);
	signal(SIGTERM, forward_signal);
	signal(SIGHUP, forward_signal);
	child_pid = fork();
	if (child_pid < 0) {
		r = -errno;
		close(pipefd[0]);
		close(pipefd[1]);
		goto cleanup;
	}
	if (child_pid == 0) {
		close(pipefd[0]);
		child_exec(cg_abs, keep_caps, argv + optind, pipefd[1], sock, token);
	}
	close(pipefd[1]);
	n = read(pipefd[0], errbuf, sizeof(errbuf) - 1);
	close(pipefd[0]);
	while (waitpid(child_pid, &status, 0) < 0 && errno == EINTR)
		;
	if (n > 0 && errbuf[0] == 'A') {
		errbuf[n] = '\0';
		cli_fail("run: attestation refused: %s", errbuf + 2);
	} else if (n > 0) {
		int err = 0;
		char *step;

		errbuf[n] = '\0';
		err = (int)strtol(errbuf, &step, 10);
		cli_fail("run: %s failed while %s: %s", argv[optind], step + 1, strerror(err));
	}
	r = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);

cleanup:
	/* leftovers first: the binding must outlive every process of the cgroup */
	cgroup_kill_all(cg_abs);
	{
		int k = cgroup_remove(cg_abs);

		if (k < 0)
			log_error("Failed to remove cgroup %s: %s", cg_abs, strerror(-k));
	}
	agent_call(sock, json_pack("{s:s, s:I}", "op", "unbind", "cgroup_id", cg_id), NULL);
	if (r < 0)
		return cli_fail("run: %s", strerror(-r)) ? 125 : 0;
	return r;
}
