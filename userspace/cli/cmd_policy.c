// SPDX-License-Identifier: MIT
/*
 * mcpfence policy check FILE|DIR...: parse, validate and compile, report every error.
 * mcpfence policy suggest EVENTS.jsonl: a minimal policy from what a workload did.
 */

#include "cli.h"
#include "import.h"
#include "policy.h"
#include "suggest.h"
#include "yamljson.h"

static void check_text(json_t *doc)
{
	size_t i;
	json_t *v;

	json_array_foreach(json_object_get(doc, "policies"), i, v)
		printf("ok: %s (%s): %s, %lld IPv4 + %lld IPv6 prefixes after merging\n",
		       json_string_value(json_object_get(v, "name")),
		       json_string_value(json_object_get(v, "file")),
		       json_string_value(json_object_get(v, "mode")),
		       (long long)json_integer_value(json_object_get(v, "prefixes4")),
		       (long long)json_integer_value(json_object_get(v, "prefixes6")));
	json_array_foreach(json_object_get(doc, "errors"), i, v)
		fprintf(stderr, "error: %s\n", json_string_value(v));
}

static void policy_check_help(void)
{
	printf("Usage: mcpfence policy check [--json] FILE|DIR...\n\n"
	       "Validate policy files (a directory: its *.json files) and compile them\n"
	       "as the agent would. Every error is reported with its file and JSON path.\n"
	       "Exit status 0 when all are valid, 1 otherwise.\n");
}

static int policy_check(int argc, char **argv)
{
	struct policy_set set = {};
	struct diag errs = {};
	json_t *doc, *list, *elist;
	bool ok;
	int args;
	const struct cli_opt opts[] = {

		{},
	};

	args = cli_options(argc, argv, opts, 0, policy_check_help);
	if (args <= 0)
		return args == 0 ? 0 : 2;
	if (args >= argc)
		return cli_fail("policy check: name at least one file or directory");
	policy_set_load(argv + args, (size_t)(argc - args), &set, &errs);
	list = json_array();
	for (size_t i = 0; i < set.n; i++) {
		struct policy_compiled pc;
		const struct policy *p = set.items[i];

		if (policy_compile(p, &pc, &errs) < 0)
			continue;
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:I, s:I, s:b}", "name",
						      p->name, "file", p->file, "mode",
						      p->mode == MCPF_MODE_AUDIT ? "audit" : "enforce",
						      "prefixes4", (json_int_t)pc.n4, "prefixes6",
						      (json_int_t)pc.n6, "identity", p->identity != NULL));
		policy_compiled_clear(&pc);
	}
	elist = json_array();
	for (size_t i = 0; i < errs.n; i++)
		json_array_append_new(elist, json_string(errs.msgs[i]));
	ok = errs.n == 0;
	doc = json_pack("{s:b, s:o, s:o}", "ok", ok, "policies", list, "errors", elist);
	cli_print(doc, check_text);
	diag_clear(&errs);
	policy_set_clear(&set);
	return ok ? 0 : 1;
}

static void policy_suggest_help(void)
{
	printf("Usage: mcpfence policy suggest [--policy NAME] [--name NAME] [--json] EVENTS.jsonl|-\n\n"
	       "Turn what a workload did (the agent's events, best from a run in audit mode)\n"
	       "into a minimal policy: the names its addresses were learned for, with their\n"
	       "ports and protocols, and plain addresses only where no name was resolved.\n"
	       "Destinations with the same protocol and ports share a rule; the output does\n"
	       "not depend on the order of the events.\n\n"
	       "  --policy NAME   only events of this policy\n"
	       "  --name NAME     metadata.name of the suggestion (default: --policy, else\n"
	       "                  \"suggested\")\n"
	       "  --json          one line of JSON instead of indented JSON\n\n"
	       "The suggestion is in enforce mode and has no identity block: add one, and\n"
	       "check it with `mcpfence policy check`. Lines that are not events are ignored;\n"
	       "flows of protocols a rule cannot name (ICMP) are counted on stderr.\n");
}

static int policy_suggest_cmd(int argc, char **argv)
{
	const char *policy = NULL, *name = NULL;
	struct suggest_stats st;
	FILE *in;
	json_t *doc;
	char *text;
	int args;
	const struct cli_opt opts[] = {
		{ "policy", 'p', true, &policy },
		{ "name", 'n', true, &name },
		{},
	};

	args = cli_options(argc, argv, opts, 0, policy_suggest_help);
	if (args <= 0)
		return args == 0 ? 0 : 2;
	if (args != argc - 1)
		return cli_fail("policy suggest: name one events file (or - for standard input)");
	in = strcmp(argv[args], "-") ? fopen(argv[args], "re") : stdin;
	if (!in)
		return cli_fail("policy suggest: %s: %s", argv[args], strerror(errno));
	doc = policy_suggest(in, policy, name ? name : policy ? policy : "suggested", &st);
	if (in != stdin)
		fclose(in);
	if (!doc)
		return cli_fail("policy suggest: out of memory");
	text = json_dumps(doc, cli_json ? JSON_COMPACT : JSON_INDENT(2));
	if (text)
		puts(text);
	free(text);
	json_decref(doc);
	if (!cli_json || st.skipped)
		fprintf(stderr, "%zu flows from %zu lines%s%zu skipped (not TCP or UDP)\n", st.flows,
			st.lines, ", ", st.skipped);
	return 0;
}

static void policy_import_help(void)
{
	printf("Usage: mcpfence policy import --from FORMAT FILE [--select NAME] [--out DIR] [--json]\n\n"
	       "Convert an allowlist written for another tool into mcpfence policies. Each\n"
	       "construct is mapped to what means the same here (docs/importers.md has the\n"
	       "tables); one that has no equivalent is refused with the reason, never widened.\n"
	       "A refusal names the file and field, and then nothing is written (exit 1).\n\n"
	       "FORMAT          docker-mcp     a Docker MCP Gateway catalog (registry: servers\n"
	       "                               with allowHosts host:port, disableNetwork)\n"
	       "                toolhive       a ToolHive permission profile (network.outbound)\n"
	       "                harden-runner  a GitHub workflow using step-security/harden-runner\n"
	       "                               (egress-policy, allowed-endpoints)\n"
	       "--select NAME   the one server (docker-mcp) or job (harden-runner) to convert; for\n"
	       "                toolhive, the policy's name (default: the file's name)\n"
	       "--out DIR       write each policy to DIR/NAME.json (default: print them)\n\n"
	       "FILE is YAML or JSON. Every policy produced passes `mcpfence policy check`.\n");
}

static int policy_import_cmd(int argc, char **argv)
{
	const char *from = NULL, *select = NULL, *out = NULL;
	const struct cli_opt opts[] = {
		{ "from", 'f', true, &from },
		{ "select", 's', true, &select },
		{ "out", 'o', true, &out },
		{},
	};
	_cleanup_free_ char *text = NULL;
	struct diag errs = {}, notes = {};
	json_t *doc = NULL, *pols = NULL, *pol;
	char why[256];
	size_t len, i;
	int args, fmt, r = 1;

	args = cli_options(argc, argv, opts, 0, policy_import_help);
	if (args <= 0)
		return args == 0 ? 0 : 2;
	if (args != argc - 1)
		return cli_fail("policy import: name one file (see --help)");
	if ((fmt = import_format_parse(from)) < 0)
		return cli_fail("policy import: --from \"%s\": docker-mcp, toolhive or harden-runner", from ?: "");
	if ((r = read_file(argv[args], 4u << 20, &text, &len)) < 0)
		return cli_fail("policy import: %s: %s", argv[args], strerror(-r));
	doc = yaml_to_json(text, len, why, sizeof(why));
	if (!doc)
		return cli_fail("policy import: %s: %s", argv[args], why);
	r = policy_import(fmt, argv[args], doc, select, &pols, &errs, &notes);
	/* what it made must be a policy here too, by the same parser the agent uses */
	json_array_foreach(pols, i, pol) {
		_cleanup_free_ char *t = json_dumps(pol, JSON_INDENT(2));
		struct policy *p = NULL;

		if (!t || policy_parse(json_string_value(json_object_get(json_object_get(pol, "metadata"), "name")), t,
				       strlen(t), &p, &errs) < 0)
			r = -EINVAL;
		policy_free(p);
	}
	for (i = 0; i < notes.n; i++)
		fprintf(stderr, "note: %s\n", notes.msgs[i]);
	if (r < 0 || errs.n) {
		for (i = 0; i < errs.n; i++)
			fprintf(stderr, "mcpfence: %s\n", errs.msgs[i]);
		r = cli_fail("policy import: %s: refused (%zu %s); nothing written", argv[args], errs.n,
			     errs.n == 1 ? "reason" : "reasons");
		goto done;
	}
	r = 0;
	json_array_foreach(pols, i, pol) {
		const char *name = json_string_value(json_object_get(json_object_get(pol, "metadata"), "name"));
		_cleanup_free_ char *t = json_dumps(pol, JSON_INDENT(2)), *path = NULL;

		if (!out) {
			if (!cli_json)
				printf("%s\n", t ?: "");
			continue;
		}
		FILE *f = NULL;

		path = strdup_printf("%s/%s.json", out, name);
		if (!t || !path || mkdir_p(out, 0755) < 0 || !(f = fopen(path, "we")) || fprintf(f, "%s\n", t) < 0 ||
		    fclose(TAKE_PTR(f)) != 0) {
			r = cli_fail("policy import: writing %s: %s", path ?: out, strerror(errno));
			if (f)
				fclose(f);
			goto done;
		}
		if (!cli_json)
			fprintf(stderr, "wrote %s\n", path);
	}
	if (cli_json)
		cli_print(json_incref(pols), NULL);
done:
	json_decref(pols);
	json_decref(doc);
	diag_clear(&errs);
	diag_clear(&notes);
	return r;
}

int cmd_policy(int argc, char **argv)
{
	static const struct cmd cmds[] = {
		{ "check", policy_check, "validate and compile policy files" },
		{ "suggest", policy_suggest_cmd, "a minimal policy from a workload's events" },
		{ "import", policy_import_cmd, "convert Docker MCP Gateway, ToolHive, Harden-Runner allowlists" },
		{},
	};

	return cmd_dispatch("mcpfence policy", cmds, argc - 1, argv + 1);
}
