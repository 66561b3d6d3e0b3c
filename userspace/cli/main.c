// SPDX-License-Identifier: MIT
/* mcpfence: identity-gated egress enforcement for MCP servers and other workloads. */
#include <bpf/libbpf.h>

#include "agent.h"
#include "cli.h"
#include "version.h"
#include "util.h"


static void agent_help(void)
{
	printf("Usage: mcpfence agent --config FILE [--verbose]\n\n"
	       "Load the policies named by FILE, attach the kernel programs to its cgroup\n"
	       "root (or take over the pinned ones), apply its bindings, serve the control\n"
	       "socket and print events as JSON lines.\n"
	       "SIGHUP reloads policies and bindings atomically; SIGTERM stops the agent\n"
	       "and leaves enforcement in place (`mcpfence uninstall` removes it).\n\n"
	       "  --config FILE   the agent's configuration (see README, Agent configuration)\n"
	       "  --verbose       debug lines too, libbpf's and the verifier's among them\n\n"
	       "The log goes to stderr, each line with its level: \"mcpfence: error: \",\n"
	       "\"mcpfence: warning: \", \"mcpfence: \", \"mcpfence: debug: \"; on the journal's\n"
	       "stream (JOURNAL_STREAM) the journal's priority prefix <3>, <4>, <6>, <7> instead.\n");
}

int cmd_agent(int argc, char **argv)
{
	const char *config = NULL;
	bool verbose = false;
	const struct cli_opt opts[] = {
		{ "config", 'c', true, &config },
		{ "verbose", 'v', false, &verbose },
		{},
	};
	int c = cli_options(argc, argv, opts, 0, agent_help);

	if (c <= 0)
		return c == 0 ? 0 : 2;
	if (!config) {
		log_error("agent: --config FILE is required (see mcpfence agent --help)");
		return 2;
	}
	log_verbose = verbose;
	return agent_run(config);
}

/* libbpf's lines at our levels (a verifier log, line by line, with the journal's prefix too) */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum log_level l = level == LIBBPF_WARN ? LOG_LEVEL_WARNING :
			   level == LIBBPF_INFO ? LOG_LEVEL_INFO : LOG_LEVEL_DEBUG;
	_cleanup_free_ char *text = NULL;
	char *line, *save = NULL;

	if (l == LOG_LEVEL_DEBUG && !log_verbose)
		return 0;
	if (vasprintf(&text, fmt, ap) < 0) {
		text = NULL; /* undefined after a failure */
		return 0;
	}
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		log_at(l, "%s", line);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct cmd cmds[] = {
		{ "agent", cmd_agent, "load policies, enforce in the kernel, serve the socket" },
		{ "run", cmd_run, "run a command confined to a policy" },
		{ "attest", cmd_attest, "present a workload identity token to the agent" },
		{ "events", cmd_events, "show the agent's events, filtered; --follow: as they happen" },
		{ "reload", cmd_reload, "reload the agent's config and policies, report the outcome" },
		{ "status", cmd_status, "show programs, counters, policies and bindings" },
		{ "policy", cmd_policy, "policy check FILE|DIR... | policy suggest EVENTS: validate, suggest policies" },
		{ "token", cmd_token, "token verify | get: check a JWT; a credential for one audience" },
		{ "issuer", cmd_issuer, "issuer export DIR: publish the agent's issuer for relying parties" },
		{ "jws", cmd_jws, "jws verify: check the signature layer of a JWS" },
		{ "oci-hook", cmd_oci_hook, "OCI runtime hook: bind an annotated container before it starts" },
		{ "probe", cmd_probe, "what this kernel offers; whether the agent can enforce" },
		{ "uninstall", cmd_uninstall, "detach and remove everything the agent pinned" },
		{},
	};

	if (argc > 1 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version"))) {
		printf("mcpfence %s\n", MCPFENCE_VERSION);
		return 0;
	}
	libbpf_set_print(libbpf_print);
	return cmd_dispatch("mcpfence", cmds, argc - 1, argv + 1);
}
