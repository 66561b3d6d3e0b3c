// SPDX-License-Identifier: MIT
/*
 * mcpfence issuer export DIR: the agent's issuer published for relying parties, as files for
 * static hosting (or for the key-set upload some providers accept): the OpenID discovery
 * document and the public key set it points to. Reads the key directory the agent's config
 * names; makes the first key if there is none yet (the agent would make the same at start).
 */
#include <time.h>

#include "cli.h"
#include "config.h"
#include "issuer.h"

static void issuer_export_help(void)
{
	printf("Usage: mcpfence issuer export DIR [--config FILE] [--json]\n\n"
	       "Write DIR/.well-known/openid-configuration and DIR/.well-known/jwks.json: the\n"
	       "discovery document of the issuer the config's `issuer` section names, and the\n"
	       "public halves of its signing keys (every key published now: the one signing,\n"
	       "the next one ahead of its turn, retired ones until their tokens expire).\n"
	       "Serve DIR at the issuer URL over HTTPS, or upload the key set where a provider\n"
	       "takes one. Export again after each rotation (`mcpfence status` shows the keys).\n");
}

static void export_text(json_t *doc)
{
	printf("exported issuer %s: %s and %s (%zu keys)\n", json_string_value(json_object_get(doc, "issuer")),
	       json_string_value(json_object_get(doc, "discovery")),
	       json_string_value(json_object_get(doc, "jwks")),
	       json_array_size(json_object_get(doc, "kids")));
}

static int issuer_export_cmd(int argc, char **argv)
{
	const char *config = NULL;
	const struct cli_opt opts[] = {
		{ "config", 'c', true, &config },
		{},
	};
	struct agent_config cfg;
	struct issuer is = {};
	char err[512] = "";
	int64_t now = (int64_t)time(NULL);
	json_t *kids;
	int args, r;

	args = cli_options(argc, argv, opts, 0, issuer_export_help);
	if (args <= 0)
		return args == 0 ? 0 : 2;
	if (args != argc - 1)
		return cli_fail("issuer export: one DIR is required");
	if (cli_config_load(config, &cfg) < 0)
		return 1;
	if (!cfg.issuer_url) {
		config_clear(&cfg);
		return cli_fail("issuer export: %s has no issuer section", cfg.file ? cfg.file : "the configuration");
	}
	r = issuer_open(cfg.issuer_url, cfg.issuer_keys, (int64_t)(cfg.issuer_rotate_ns / 1000000000ULL), &is,
			err, sizeof(err));
	if (r == 0 && is.n == 0)
		r = issuer_rotate(&is, now, err, sizeof(err));
	if (r >= 0)
		r = issuer_export(&is, argv[args], err, sizeof(err));
	config_clear(&cfg);
	if (r < 0) {
		issuer_clear(&is);
		return cli_fail("issuer export: %s", err);
	}
	kids = json_array();
	for (size_t i = 0; i < is.n; i++)
		json_array_append_new(kids, json_string(is.keys[i].kid));
	cli_print(json_pack("{s:s, s:s+, s:s+, s:o}", "issuer", is.url, "discovery", argv[args],
			    "/.well-known/openid-configuration", "jwks", argv[args], "/.well-known/jwks.json",
			    "kids", kids),
		  export_text);
	issuer_clear(&is);
	return 0;
}

int cmd_issuer(int argc, char **argv)
{
	static const struct cmd cmds[] = {
		{ "export", issuer_export_cmd, "write the discovery document and key set for relying parties" },
		{},
	};

	return cmd_dispatch("mcpfence issuer", cmds, argc - 1, argv + 1);
}
