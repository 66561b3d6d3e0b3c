// SPDX-License-Identifier: MIT
/*
 * mcpfence reload: ask the running agent to re-read its config, policies and trust, and say
 * whether the new set is in force (systemd's ExecReload, scripts). A refused reload leaves the
 * previous set in force; every error is printed.
 */
#include <stdio.h>

#include "cli.h"
#include "config.h"
#include "control.h"

static void reload_help(void)
{
	printf("Usage: mcpfence reload [--agent-socket PATH | --config FILE] [--json]\n\n"
	       "Ask the running agent to reload its config file, policies and trusted issuers,\n"
	       "as SIGHUP does, and wait for the outcome. Exits 0 when the new set is in\n"
	       "force; 1 when it was refused (every error is printed; the previous policies\n"
	       "stay in force) or the agent cannot be reached. Default socket: the config's\n"
	       "socket, else %s.\n",
	       CONFIG_DEFAULT_SOCKET);
}

static void reload_text(json_t *doc)
{
	printf("Reloaded: %lld policies in force\n", (long long)json_integer_value(json_object_get(doc, "policies")));
}

int cmd_reload(int argc, char **argv)
{
	const char *sock = NULL, *config = NULL;
	_cleanup_free_ char *sock_owned = NULL;
	const struct cli_opt opts[] = {
		{ "agent-socket", 's', true, &sock },
		{ "config", 'c', true, &config },
		{},
	};
	json_t *reply = NULL, *e;
	size_t i;
	int args, r;

	args = cli_options(argc, argv, opts, 0, reload_help);
	if (args <= 0)
		return args == 0 ? 0 : 2;
	sock = cli_agent_socket(sock, config, &sock_owned);
	if (!sock)
		return 1;
	r = control_request(sock, json_pack("{s:s}", "op", "reload"), &reply);
	if (r < 0)
		return cli_fail("reload: cannot reach the agent at %s: %s", sock, strerror(-r));
	if (json_is_true(json_object_get(reply, "ok"))) {
		cli_print(reply, reload_text);
		return 0;
	}
	if (cli_json) {
		cli_print(reply, NULL);
		return 1;
	}
	json_array_foreach(json_object_get(reply, "errors"), i, e)
		fprintf(stderr, "mcpfence: %s\n", json_string_value(e) ?: "?");
	r = cli_fail("reload refused: %s; the previous policies stay in force",
		     json_string_value(json_object_get(reply, "error")) ?: "unknown error");
	json_decref(reply);
	return r;
}
