// SPDX-License-Identifier: MIT
#include "cli.h"

#include <getopt.h>
#include "config.h"
#include "util.h"

bool cli_json;

int cli_fail(const char *fmt, ...)
{
	char buf[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (cli_json) {
		json_t *e = json_pack("{s:s}", "error", buf);

		json_dumpf(e, stdout, JSON_COMPACT);
		fputc('\n', stdout);
		json_decref(e);
	} else {
		log_error("%s", buf);
	}
	return 1;
}

void cli_print(json_t *doc, void (*text)(json_t *doc))
{
	if (!doc)
		return;
	if (cli_json || !text) {
		json_dumpf(doc, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
	} else {
		text(doc);
	}
	json_decref(doc);
}

int cli_config_load(const char *file, struct agent_config *cfg)
{
	struct diag errs = {};

	if (!file) {
		config_defaults(cfg);
		return 0;
	}
	if (config_load(file, cfg, &errs) < 0) {
		cli_fail("%s", errs.n ? errs.msgs[0] : "bad config");
		diag_clear(&errs);
		config_clear(cfg);
		return -EINVAL;
	}
	return 0;
}

const char *cli_attest_socket(const char *sock, const char *config, char **owned)
{
	struct agent_config cfg;

	if (sock)
		return sock;
	if (cli_config_load(config, &cfg) < 0)
		return NULL;
	*owned = strdup(cfg.attest_socket);
	config_clear(&cfg);
	return *owned;
}

const char *cli_agent_socket(const char *sock, const char *config, char **owned)
{
	struct agent_config cfg;

	if (sock)
		return sock;
	if (cli_config_load(config, &cfg) < 0)
		return NULL;
	*owned = strdup(cfg.socket);
	config_clear(&cfg);
	return *owned;
}

int cli_options(int argc, char **argv, const struct cli_opt *opts, unsigned flags,
		void (*help)(void))
{
	struct option longs[32];
	char shorts[80];
	size_t n = 0, k = 0;
	int c;

	if (flags & CLI_STOP_AT_ARG)
		shorts[k++] = '+';
	for (const struct cli_opt *o = opts; o && o->name && n < ARRAY_SIZE(longs) - 3; o++, n++) {
		longs[n] = (struct option){ o->name, o->takes_value ? required_argument : no_argument,
					    NULL, o->key ? o->key : 256 + (int)n };
		if (o->key && k < sizeof(shorts) - 8) {
			shorts[k++] = o->key;
			if (o->takes_value)
				shorts[k++] = ':';
		}
	}
	longs[n++] = (struct option){ "json", no_argument, NULL, 'j' };
	longs[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	longs[n] = (struct option){ 0 };
	memcpy(shorts + k, "jh", 3);

	optind = 1;
	while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
		const struct cli_opt *o = NULL;

		if (c == 'j') {
			cli_json = true;
			continue;
		}
		if (c == 'h') {
			help();
			return 0;
		}
		for (size_t i = 0; opts && opts[i].name; i++)
			if (c == (opts[i].key ? opts[i].key : 256 + (int)i))
				o = &opts[i];
		if (!o)
			return -1;
		if (o->many) {
			struct cli_values *vs = o->dst;

			if (vs->n == CLI_VALUES_MAX) {
				fprintf(stderr, "--%s: at most %d times\n", o->name, CLI_VALUES_MAX);
				return -1;
			}
			vs->v[vs->n++] = optarg;
		} else if (o->takes_value)
			*(const char **)o->dst = optarg;
		else
			*(bool *)o->dst = true;
	}
	return optind;
}

static void cmd_help(const char *prefix, const struct cmd *cmds)
{
	printf("Usage: %s COMMAND [ARGS...]\n\nCommands:\n", prefix);
	for (const struct cmd *c = cmds; c->name; c++)
		printf("  %-14s %s\n", c->name, c->summary);
	printf("\nRun '%s COMMAND --help' for the options of one command.\n", prefix);
}

int cmd_dispatch(const char *prefix, const struct cmd *cmds, int argc, char **argv)
{
	if (argc < 1 || !strcmp(argv[0], "-h") || !strcmp(argv[0], "--help") ||
	    !strcmp(argv[0], "help")) {
		cmd_help(prefix, cmds);
		return argc < 1 ? 2 : 0;
	}
	for (const struct cmd *c = cmds; c->name; c++)
		if (!strcmp(c->name, argv[0]))
			return c->fn(argc, argv);
	cli_fail("%s: unknown command '%s' (see '%s --help')", prefix, argv[0], prefix);
	return 2;
}
