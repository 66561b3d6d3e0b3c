// SPDX-License-Identifier: MIT
/*
 * mcpfence attest: from inside a workload, present a token to the agent. The agent takes the
 * caller's cgroup from the kernel, verifies the token and binds the policy it selects until
 * the token expires. Run it again with a fresh token to renew without a gap.
 */

#include "cli.h"
#include "config.h"
#include "control.h"
#include "util.h"

#define TOKEN_FILE_MAX (64u << 10)

int attest_token_load(const char *file, char **ret)
{
	size_t len;
	char *s;
	int r = read_file(file, TOKEN_FILE_MAX, &s, &len);

	if (r < 0)
		return r;
	while (len && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' '))
		s[--len] = '\0';
	*ret = s;
	return 0;
}

/* Send the token; 0 with the reply, or the agent's refusal in `why`. */
int attest_request(const char *sock, const char *token, json_t **ret_reply, char *why, size_t len)
{
	json_t *reply = NULL;
	int r = control_request(sock, json_pack("{s:s, s:s}", "op", "attest", "token", token), &reply);

	if (r < 0) {
		snprintf(why, len, "cannot reach the agent at %s: %s", sock, strerror(-r));
		return r;
	}
	if (!json_is_true(json_object_get(reply, "ok"))) {
		const char *d = json_string_value(json_object_get(reply, "detail"));

		snprintf(why, len, "%s (%s)%s%s", json_string_value(json_object_get(reply, "message")) ?:
			 json_string_value(json_object_get(reply, "error")) ?: "refused",
			 json_string_value(json_object_get(reply, "error")) ?: "?", d && *d ? ": " : "", d ? d : "");
		*ret_reply = reply;
		return -EPERM;
	}
	*ret_reply = reply;
	return 0;
}

static void attest_text(json_t *doc)
{
	printf("attested: policy %s for cgroup %s until %s (%s)\n",
	       json_string_value(json_object_get(doc, "policy")),
	       json_string_value(json_object_get(doc, "cgroup")),
	       json_string_value(json_object_get(doc, "expires")),
	       json_string_value(json_object_get(json_object_get(doc, "identity"), "sub")));
}

static void attest_help(void)
{
	printf("Usage: mcpfence attest --token-file F [--attest-socket PATH | --config FILE]"
	       " [--json]\n\n"
	       "Present a workload identity token (Kubernetes projected token, GitHub OIDC\n"
	       "token, SPIFFE JWT-SVID) to the agent. The agent binds the one policy the\n"
	       "token's claims select to the caller's own cgroup, taken from the kernel,\n"
	       "until the token expires. Present a fresh token to renew. Default socket:\n"
	       "the config's attest_socket, else %s.\n",
	       CONFIG_DEFAULT_ATTEST_SOCKET);
}

int cmd_attest(int argc, char **argv)
{
	const char *file = NULL, *sock = NULL, *config = NULL;
	const struct cli_opt opts[] = {
		{ "token-file", 't', true, &file },
		{ "attest-socket", 's', true, &sock },
		{ "config", 'c', true, &config },
		{},
	};
	_cleanup_free_ char *token = NULL, *sock_owned = NULL;
	json_t *reply = NULL;
	char why[1024];
	int args, r;

	args = cli_options(argc, argv, opts, 0, attest_help);
	if (args <= 0)
		return args == 0 ? 0 : 2;
	if (!file)
		return cli_fail("attest: --token-file F is required");
	r = attest_token_load(file, &token);
	if (r < 0)
		return cli_fail("attest: %s: %s", file, strerror(-r));
	if (!sock) {
		struct agent_config cfg;

		if (cli_config_load(config, &cfg) < 0)
			return 1;
		sock_owned = strdup(cfg.attest_socket);
		sock = sock_owned;
		config_clear(&cfg);
	}
	r = attest_request(sock, token, &reply, why, sizeof(why));
	if (r < 0) {
		json_decref(reply);
		return cli_fail("attest: %s", why);
	}
	cli_print(reply, attest_text);
	return 0;
}
