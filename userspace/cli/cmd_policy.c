// SPDX-License-Identifier: MIT
/* mcpfence policy check FILE|DIR...: parse, validate and compile, report every error. */

#include "cli.h"
#include "policy.h"

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

int cmd_policy(int argc, char **argv)
{
	static const struct cmd cmds[] = {
		{ "check", policy_check, "validate and compile policy files" },
		{},
	};

	return cmd_dispatch("mcpfence policy", cmds, argc - 1, argv + 1);
}
