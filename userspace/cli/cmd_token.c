// SPDX-License-Identifier: MIT
/*
 * mcpfence jws verify: the signature layer only (conformance, debugging).
 * mcpfence token verify: signature and claims against a trust file, optionally the policy
 * the token selects. Both exit 0 only for a valid token.
 * mcpfence token get: a credential for one downstream audience, minted by the agent for the
 * calling workload (its cgroup's binding decides), never the token it attested with.
 */
#include <time.h>

#include "cli.h"
#include "config.h"
#include "control.h"
#include "identity.h"
#include "jws.h"
#include "policy.h"
#include "trust.h"

/* The token from --token-file (trimmed, as `attest` reads it) or the argument. */
static int token_read(const char *file, const char *arg, char **ret, size_t *len)
{
	int r;

	if (file)
		r = attest_token_load(file, ret);
	else if (arg)
		r = (*ret = strdup(arg)) ? 0 : -ENOMEM;
	else
		r = -EINVAL;
	if (r == 0)
		*len = strlen(*ret);
	return r;
}

static void verdict_text(json_t *doc)
{
	json_t *v;

	if (json_is_true(json_object_get(doc, "valid"))) {
		printf("valid: %s", json_string_value(json_object_get(doc, "alg")));
		if ((v = json_object_get(doc, "kid")) && json_is_string(v))
			printf(", kid %s", json_string_value(v));
		if ((v = json_object_get(doc, "policy")))
			printf(", selects policy %s", json_string_value(v));
		printf("\n");
		if ((v = json_object_get(doc, "claims"))) {
			char *s = json_dumps(v, JSON_INDENT(2) | JSON_SORT_KEYS);

			printf("%s\n", s);
			free(s);
		}
	} else {
		printf("invalid: %s (%s)%s%s\n", json_string_value(json_object_get(doc, "message")),
		       json_string_value(json_object_get(doc, "error")),
		       json_string_value(json_object_get(doc, "detail")) ? ": " : "",
		       json_string_value(json_object_get(doc, "detail")) ?: "");
	}
}

static json_t *verdict_error(int r, const char *detail)
{
	json_t *doc = json_pack("{s:b, s:s, s:s}", "valid", 0, "error", verify_error_name(r),
				"message", verify_error_text(r));

	if (detail && *detail)
		json_object_set_new(doc, "detail", json_string(detail));
	return doc;
}

static void jws_verify_help(void)
{
	printf("Usage: mcpfence jws verify --jwks FILE (--token-file F | TOKEN) [--json]\n\n"
	       "Check the signature layer of a compact JWS against a JWK set: shape,\n"
	       "base64url, header rules, key selection by kid, signature. Claims are not\n"
	       "checked (see `mcpfence token verify`). Exit 0 only for a valid signature.\n");
}

static int jws_verify_cmd(int argc, char **argv)
{
	const char *jwks_file = NULL, *token_file = NULL;
	_cleanup_free_ char *text = NULL, *token = NULL, *why = NULL;
	struct jwks set = {};
	struct jws j;
	size_t len, tlen = 0;
	int args, r;
	const struct cli_opt opts[] = {
		{ "jwks", 'k', true, &jwks_file },
		{ "token-file", 't', true, &token_file },
		{},
	};

	args = cli_options(argc, argv, opts, 0, jws_verify_help);
	if (args <= 0)
		return args == 0 ? 0 : 2;
	if (!jwks_file)
		return cli_fail("jws verify: --jwks FILE is required");
	r = token_read(token_file, args < argc ? argv[args] : NULL, &token, &tlen);
	if (r < 0)
		return cli_fail("jws verify: no token (%s)", token_file ? strerror(-r) : "give --token-file F or TOKEN");
	r = read_file(jwks_file, 1u << 20, &text, &len);
	if (r < 0)
		return cli_fail("jws verify: %s: %s", jwks_file, strerror(-r));
	r = jwks_parse(text, len, false, &set, &why);
	if (r < 0)
		return cli_fail("jws verify: %s: %s", jwks_file, why ? why : strerror(-r));
	r = jws_verify(token, tlen, &set, &j);
	if (r == VERIFY_OK) {
		cli_print(json_pack("{s:b, s:s, s:s?, s:O}", "valid", 1, "alg", jws_alg_name(j.alg),
				    "kid", j.kid, "header", j.header),
			  verdict_text);
		jws_clear(&j);
	} else {
		cli_print(verdict_error(r, NULL), verdict_text);
	}
	jwks_clear(&set);
	return r == VERIFY_OK ? 0 : 1;
}

static void token_verify_help(void)
{
	printf("Usage: mcpfence token verify --trust FILE (--token-file F | TOKEN)\n"
	       "                             [--policies DIR [--namespace NS]] [--now UNIXTIME] [--json]\n\n"
	       "Verify a JWT as the agent does: signature with the issuer's keys (JWKS file\n"
	       "or OIDC discovery) and every claim rule. FILE is an agent config (its\n"
	       "\"trust\") or {\"issuers\": [...]}. With --policies, also show the policy the\n"
	       "token selects, presented from a pod of namespace NS (default: a Kubernetes\n"
	       "token's own kubernetes.io.namespace; none: from outside any pod, where\n"
	       "namespaced and cluster policies select nothing).\n"
	       "Prints the verified claims, or the exact error. Exit 0 only\n"
	       "for a valid token. The token itself is never printed.\n");
}

static int token_verify_cmd(int argc, char **argv)
{
	const char *trust_file = NULL, *token_file = NULL, *policies = NULL, *now_text = NULL, *ns = NULL;
	_cleanup_free_ char *token = NULL;
	struct trust trust = {};
	struct policy_set set = {};
	struct diag errs = {};
	struct token tok;
	int64_t now;
	char detail[512];
	size_t tlen = 0;
	int args, r;
	const struct cli_opt opts[] = {
		{ "trust", 'T', true, &trust_file },
		{ "token-file", 't', true, &token_file },
		{ "policies", 'p', true, &policies },
		{ "namespace", 'N', true, &ns },
		{ "now", 'n', true, &now_text },
		{},
	};

	args = cli_options(argc, argv, opts, 0, token_verify_help);
	if (args <= 0)
		return args == 0 ? 0 : 2;
	now = time(NULL);
	if (now_text) {
		char *end;

		errno = 0;
		now = strtoll(now_text, &end, 10);
		if (errno || end == now_text || *end || now < 0)
			return cli_fail("token verify: --now: \"%s\" is not a Unix time in seconds", now_text);
	}
	if (!trust_file)
		return cli_fail("token verify: --trust FILE is required");
	r = token_read(token_file, args < argc ? argv[args] : NULL, &token, &tlen);
	if (r < 0)
		return cli_fail("token verify: no token (%s)", token_file ? strerror(-r) : "give --token-file F or TOKEN");
	if (trust_load_file(trust_file, &trust, &errs) < 0) {
		cli_fail("%s", errs.n ? errs.msgs[0] : "bad trust file");
		diag_clear(&errs);
		return 1;
	}
	if (policies) {
		char *paths[] = { (char *)policies };

		if (policy_set_load(paths, 1, &set, &errs) < 0) {
			cli_fail("%s", errs.n ? errs.msgs[0] : "bad policies");
			diag_clear(&errs);
			trust_clear(&trust);
			return 1;
		}
	}
	r = token_verify(&trust, token, tlen, now, &tok, detail, sizeof(detail));
	if (r == VERIFY_OK) {
		json_t *doc = json_pack("{s:b, s:s, s:s?, s:s, s:s, s:I, s:O}", "valid", 1, "alg",
					jws_alg_name(tok.jws.alg), "kid", tok.jws.kid, "iss", tok.iss,
					"sub", tok.sub, "exp", (json_int_t)tok.exp, "claims",
					tok.jws.payload);

		if (policies) {
			const struct policy *p = NULL;
			json_t *matched = NULL;

			r = identity_select(&set, &tok, ns ?: token_pod_namespace(&tok), &p, &matched, detail,
					    sizeof(detail));
			if (r == VERIFY_OK) {
				json_object_set_new(doc, "policy", json_string(p->name));
				json_object_set_new(doc, "matched", matched);
			} else {
				json_decref(doc);
				doc = verdict_error(r, detail);
			}
		}
		cli_print(doc, verdict_text);
		token_clear(&tok);
	} else {
		cli_print(verdict_error(r, detail), verdict_text);
	}
	policy_set_clear(&set);
	trust_clear(&trust);
	return r == VERIFY_OK ? 0 : 1;
}

static void token_get_help(void)
{
	printf("Usage: mcpfence token get --audience AUD [--lifetime SECONDS]\n"
	       "                         [--attest-socket PATH | --config FILE] [--json]\n\n"
	       "Ask the agent for a credential for one downstream audience: a fresh JWT signed\n"
	       "by the agent's issuer key, for exactly that audience, naming this workload.\n"
	       "The agent identifies the caller by the kernel's word (its process and cgroup);\n"
	       "the policy bound to the cgroup must list the audience in spec.credentials.\n"
	       "Prints the token alone (for $(...)), or with --json the whole reply. Refusals\n"
	       "name a stable reason: not_bound, held, audience_not_granted, lifetime_over_cap,\n"
	       "binding_expiring, rate_limited (exit 1). Default socket: the config's\n"
	       "attest_socket, else %s.\n",
	       CONFIG_DEFAULT_ATTEST_SOCKET);
}

static int token_get_cmd(int argc, char **argv)
{
	const char *aud = NULL, *life = NULL, *sock = NULL, *config = NULL;
	const struct cli_opt opts[] = {
		{ "audience", 'a', true, &aud },
		{ "lifetime", 'l', true, &life },
		{ "attest-socket", 's', true, &sock },
		{ "config", 'c', true, &config },
		{},
	};
	_cleanup_free_ char *sock_owned = NULL;
	json_t *req, *reply = NULL;
	unsigned long secs = 0;
	char *end = NULL;
	int args, r;

	args = cli_options(argc, argv, opts, 0, token_get_help);
	if (args <= 0)
		return args == 0 ? 0 : 2;
	if (!aud || !*aud)
		return cli_fail("token get: --audience AUD is required");
	if (life && ((secs = strtoul(life, &end, 10)) == 0 || *end || secs > 86400))
		return cli_fail("token get: --lifetime: a number of seconds (1 to 86400)");
	sock = cli_attest_socket(sock, config, &sock_owned);
	if (!sock)
		return 1;
	req = json_pack("{s:s, s:s}", "op", "token", "audience", aud);
	if (req && life)
		json_object_set_new(req, "lifetime", json_integer((json_int_t)secs));
	r = control_request(sock, req, &reply);
	if (r < 0)
		return cli_fail("token get: %s: %s", sock, strerror(-r));
	if (!json_is_true(json_object_get(reply, "ok"))) {
		if (cli_json) { /* the agent's reply: its reason, machine-readable */
			cli_print(reply, NULL);
			return 1;
		}
		r = cli_fail("token get: %s: %s", json_string_value(json_object_get(reply, "error")) ?: "refused",
			     json_string_value(json_object_get(reply, "detail")) ?: "");
		json_decref(reply);
		return r;
	}
	if (cli_json) {
		cli_print(reply, NULL);
		return 0;
	}
	printf("%s\n", json_string_value(json_object_get(reply, "token")));
	json_decref(reply);
	return 0;
}

int cmd_jws(int argc, char **argv)
{
	static const struct cmd cmds[] = {
		{ "verify", jws_verify_cmd, "check the signature layer of a compact JWS" },
		{},
	};

	return cmd_dispatch("mcpfence jws", cmds, argc - 1, argv + 1);
}

int cmd_token(int argc, char **argv)
{
	static const struct cmd cmds[] = {
		{ "verify", token_verify_cmd, "verify a JWT: signature, claims, policy" },
		{ "get", token_get_cmd, "a credential for one audience, minted by the agent" },
		{},
	};

	return cmd_dispatch("mcpfence token", cmds, argc - 1, argv + 1);
}
