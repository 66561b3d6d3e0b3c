// SPDX-License-Identifier: MIT
/*
 * mcpfence run: a fresh cgroup under the root, bound through the agent before anything runs in
 * it. The child is the first process of a new PID namespace: it joins the cgroup, attests if
 * asked, enters new cgroup and mount namespaces with the agent's paths hidden (sandbox.h), and
 * stays as the namespace's init: it starts the command, forwards signals, reaps orphans and
 * exits with the command's status. The command drops the capabilities that could undo the
 * confinement, sets no_new_privs and a seccomp filter, and execs. When it exits, whatever it
 * left behind is killed and the cgroup removed.
 */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "caps.h"
#include "sandbox.h"
#include "cgroup.h"
#include "cli.h"
#include "credfile.h"
#include "config.h"
#include "control.h"
#include "util.h"

static pid_t child_pid; /* in `run`: the namespace's init; in the init: the command */

static void forward_signal(int sig)
{
	if (child_pid > 0)
		kill(child_pid, sig);
}

struct run_opts {
	const char *cg_abs, *sock, *token;
	bool keep_caps, keep_setuid;
	struct sandbox_opts sandbox;
	char **hide;	   /* owned: the sandbox's list of what the workload must not reach */
	char *attest_sock; /* credentials are asked for here: the control socket is hidden */
	struct credfile creds[CLI_VALUES_MAX];
	size_t ncreds;
};

static void run_opts_clear(struct run_opts *o)
{
	for (size_t i = 0; i < o->ncreds; i++)
		credfile_clear(&o->creds[i]);
	strv_free(o->hide);
	free(o->attest_sock);
}

static void on_alarm(int sig)
{
	/* only to interrupt wait(): a credential is due */
}

/*
 * In the workload's mount namespace: each credential's directory becomes a private tmpfs (only
 * this namespace sees the files), and the first credentials are written before the command
 * starts, so a server finds them as it would a projected token.
 */
static int credentials_place(const struct run_opts *o, char *why, size_t len)
{
	for (size_t i = 0; i < o->ncreds; i++) {
		_cleanup_free_ char *dir = strdup(o->creds[i].path);
		bool mounted = false;
		int r;

		if (!dir)
			return -ENOMEM;
		*strrchr(dir, '/') = '\0';
		for (size_t j = 0; j < i; j++) /* one tmpfs per directory */
			mounted |= !strncmp(o->creds[j].path, dir, strlen(dir)) &&
				   o->creds[j].path[strlen(dir)] == '/' &&
				   !strchr(o->creds[j].path + strlen(dir) + 1, '/');
		if (!*dir) {
			snprintf(why, len, "%s: put credentials in a directory of their own", o->creds[i].path);
			return -EINVAL;
		}
		if (!mounted) {
			r = mkdir_p(dir, 0755);
			if (r == 0 && mount("mcpfence-credentials", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
					    "mode=0755,size=1m") < 0)
				r = -errno;
			if (r < 0) {
				snprintf(why, len, "a private tmpfs on %s: %s", dir, strerror(-r));
				return r;
			}
		}
		r = credfile_fetch((struct credfile *)&o->creds[i], o->attest_sock, why, len);
		if (r < 0)
			return r;
	}
	return 0;
}

static void run_help(void)
{
	printf("Usage: mcpfence run (--policy NAME | --token-file F) [OPTIONS] -- CMD [ARGS...]\n\n"
	       "Run CMD in a fresh cgroup under the agent's cgroup root, bound before CMD starts:\n"
	       "to policy NAME, or, with --token-file, to the policy the token's verified claims\n"
	       "select (the child attests from inside the cgroup; the binding expires with the\n"
	       "token, enforced by the kernel). Everything CMD spawns stays confined; when CMD exits its\n"
	       "leftover processes are killed and the cgroup is removed. Needs root.\n\n"
	       "The command runs in its own PID, mount and cgroup namespaces, in which the agent's\n"
	       "files, sockets and pins, bpffs and the cgroup v1 hierarchies are inaccessible. Before\n"
	       "exec it sets no_new_privs, a seccomp filter (socket() for %s only;\n"
	       "no io_uring) and drops\n%s\nfrom its bounding, permitted, effective and inheritable sets.\n\n"
	       "Options:\n"
	       "  --policy NAME         the policy to bind\n"
	       "  --token-file F        attest with this identity token instead\n"
	       "  --agent-socket PATH   the agent's socket (default: the config's, else %s)\n"
	       "  --config FILE         read the socket path from this agent config\n"
	       "  --keep-caps           do not drop capabilities or set no_new_privs (opt-out: a root\n"
	       "                        workload can then undo its confinement)\n"
	       "  --allow-setuid        keep CAP_SETUID and CAP_SETGID (a server that switches to\n"
	       "                        an unprivileged user itself)\n"
	       "  --allow-io-uring      allow io_uring (its connects are checked like connect(), but\n"
	       "                        its SOCKET op bypasses the address-family filter)\n"
	       "  --credential AUD=PATH a credential for AUD (the policy's spec.credentials), minted\n"
	       "                        by the agent, in file PATH before CMD starts and replaced\n"
	       "                        before 80%% of its lifetime; PATH's directory is a private\n"
	       "                        tmpfs only CMD's mount namespace sees (up to 8 times)\n"
	       "  --json                errors as {\"error\": ...}\n"
	       "Exit status: CMD's, 128+N if it died of signal N, 125 if mcpfence failed, 127 if\n"
	       "CMD could not be executed.\n",
	       sandbox_families_text, caps_dropped_text, CONFIG_DEFAULT_SOCKET);
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

/* The command: confined, then exec'd. Failures go to `run` through the CLOEXEC pipe. */
static void command_exec(const struct run_opts *o, char **argv, int errpipe)
{
	const char *step = "dropping capabilities";
	int err = o->keep_caps ? 0 : -caps_confine(o->keep_setuid);

	if (!err) {
		step = "installing the seccomp filter";
		err = -sandbox_seccomp(&o->sandbox);
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

/*
 * PID 1 of the workload's namespace: join, attest, sandbox, start the command, then forward
 * signals and reap until the command exits. Its exit takes every process of the namespace.
 */
static void init_main(const struct run_opts *o, char **argv, int errpipe)
{
	const char *step = "joining the cgroup";
	int err, status;
	pid_t pid;

	err = -cgroup_enter(o->cg_abs, 0);
	if (!err && o->token) {
		json_t *reply = NULL;
		char why[1024];

		if (attest_request(o->sock, o->token, &reply, why, sizeof(why)) < 0) {
			dprintf(errpipe, "A %s", why);
			_exit(125);
		}
		json_decref(reply);
	}
	if (!err)
		err = -sandbox_mounts(&o->sandbox, &step);
	if (err) {
		dprintf(errpipe, "%d %s", err, step);
		_exit(125);
	}
	if (o->ncreds) {
		char why[512];
		struct sigaction sa = { .sa_handler = on_alarm }; /* no SA_RESTART: wait() returns */

		if (credentials_place(o, why, sizeof(why)) < 0) {
			dprintf(errpipe, "A credential: %s", why);
			_exit(125);
		}
		sigaction(SIGALRM, &sa, NULL);
	}
	child_pid = fork();
	if (child_pid < 0) {
		dprintf(errpipe, "%d starting the command", errno);
		_exit(125);
	}
	if (child_pid == 0)
		command_exec(o, argv, errpipe);
	close(errpipe);
	for (;;) {
		if (o->ncreds) {
			int64_t next = credfiles_refresh((struct credfile *)o->creds, o->ncreds, o->attest_sock);

			alarm((unsigned)(next / 1000 + 1));
		}
		pid = wait(&status);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0)
			_exit(125);
		if (pid == child_pid)
			_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	}
}

/* What the agent's ping tells `run`: where the cgroup goes (*ret_cg_abs), what the workload
 * must not reach, and where credentials are asked for. 0, or 125 once reported. */
static int run_prepare(const char *sock, struct run_opts *ro, char **ret_cg_abs)
{
	json_t *ping = NULL, *paths, *v;
	const char *as;
	char name[64];
	size_t i, n = 0;

	if (agent_call(sock, json_pack("{s:s}", "op", "ping"), &ping))
		return 125;
	snprintf(name, sizeof(name), "run-%d-%llx", (int)getpid(),
		 (unsigned long long)(now_ns(CLOCK_MONOTONIC) & 0xffffff));
	*ret_cg_abs = strdup_printf("%s/%s", json_string_value(json_object_get(ping, "cgroup_root")), name);
	/* what the workload must not reach: the agent's files and its control socket */
	paths = json_object_get(ping, "protected_paths");
	ro->hide = calloc(json_array_size(paths) + 1, sizeof(*ro->hide));
	json_array_foreach(paths, i, v)
		if (ro->hide && json_is_string(v))
			ro->hide[n++] = strdup(json_string_value(v)); /* NULL on ENOMEM ends it */
	ro->sandbox.hide = ro->hide;
	as = json_string_value(json_object_get(ping, "attest_socket"));
	if (ro->ncreds && (!as || !json_is_object(json_object_get(ping, "issuer")))) {
		json_decref(ping);
		return cli_fail("run: --credential: the agent mints no credentials (no issuer section in its "
				"configuration)") ? 125 : 0;
	}
	if (ro->ncreds)
		ro->attest_sock = strdup(as);
	json_decref(ping);
	return !*ret_cg_abs || !ro->hide || (ro->ncreds && !ro->attest_sock) ? 125 : 0;
}

/* The namespace's init started, its failure to start reported: CMD's exit status, or -errno. */
static int run_command(struct run_opts *ro, char **argv)
{
	int status, pipefd[2];
	char errbuf[1100];
	ssize_t n;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	signal(SIGINT, forward_signal);
	signal(SIGTERM, forward_signal);
	signal(SIGHUP, forward_signal);
	/*
	 * The child is the first process of a new PID namespace. clone() rather than
	 * unshare(CLONE_NEWPID) + fork(): `run` itself keeps making its threads and children in
	 * its own namespace (a sanitizer's leak checker, for one, must see its parent).
	 */
	child_pid = (pid_t)syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, NULL, NULL, NULL, NULL);
	if (child_pid < 0) {
		int r = -errno;

		close(pipefd[0]);
		close(pipefd[1]);
		return r;
	}
	if (child_pid == 0) {
		close(pipefd[0]);
		init_main(ro, argv, pipefd[1]);
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
		cli_fail("run: %s failed while %s: %s", argv[0], step + 1, strerror(err));
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int cmd_run(int argc, char **argv)
{
	const char *policy = NULL, *sock = NULL, *config = NULL, *token_file = NULL;
	_cleanup_free_ char *cg_abs = NULL, *sock_owned = NULL, *token = NULL;
	json_t *bound = NULL;
	json_int_t cg_id = 0;
	_cleanup_(run_opts_clear) struct run_opts ro = {};
	struct cli_values creds = {};
	int args, r;
	const struct cli_opt opts[] = {
		{ "policy", 'p', true, &policy },
		{ "agent-socket", 's', true, &sock },
		{ "config", 'c', true, &config },
		{ "token-file", 't', true, &token_file },
		{ "keep-caps", 'k', false, &ro.keep_caps },
		{ "allow-setuid", 'u', false, &ro.keep_setuid },
		{ "allow-io-uring", 'i', false, &ro.sandbox.allow_io_uring },
		{ "credential", 'C', true, &creds, true },
		{},
	};

	args = cli_options(argc, argv, opts, CLI_STOP_AT_ARG, run_help);
	if (args <= 0)
		return args == 0 ? 0 : 125;
	if (!policy == !token_file)
		return cli_fail("run: give exactly one of --policy NAME and --token-file F (see mcpfence run --help)") ? 125 : 0;
	if (token_file && (r = attest_token_load(token_file, &token)) < 0)
		return cli_fail("run: %s: %s", token_file, strerror(-r)) ? 125 : 0;
	if (args >= argc)
		return cli_fail("run: no command given after --") ? 125 : 0;
	for (; ro.ncreds < creds.n; ro.ncreds++) {
		const char *bad;

		if (credfile_parse(creds.v[ro.ncreds], &ro.creds[ro.ncreds], &bad) < 0)
			return cli_fail("run: --credential %s: %s", creds.v[ro.ncreds], bad) ? 125 : 0;
	}
	sock = cli_agent_socket(sock, config, &sock_owned);
	if (!sock)
		return 125;
	if (run_prepare(sock, &ro, &cg_abs))
		return 125;
	if (!ro.keep_caps) {
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
	ro.cg_abs = cg_abs;
	ro.sock = sock;
	ro.token = token;
	r = run_command(&ro, argv + args);

	/* leftovers first: the binding must outlive every process of the cgroup */
	cgroup_kill_all(cg_abs);
	{
		int k = cgroup_remove(cg_abs);

		if (k < 0)
			log_warning("Failed to remove cgroup %s: %s", cg_abs, strerror(-k));
	}
	agent_call(sock, json_pack("{s:s, s:I}", "op", "unbind", "cgroup_id", cg_id), NULL);

	if (r < 0)
		return cli_fail("run: %s", strerror(-r)) ? 125 : 0;
	return r;
}
