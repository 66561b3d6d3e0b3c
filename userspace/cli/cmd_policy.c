// SPDX-License-Identifier: MIT
/*
 * mcpfence policy check FILE|DIR...: parse, validate and compile, report every error.
 * mcpfence policy suggest EVENTS.jsonl: a minimal policy from what a workload did.
 */

#include <dirent.h>
#include <sys/stat.h>

#include "cli.h"
#include "import.h"
#include "policy.h"
#include "preset.h"
#include "trust.h"
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
	json_array_foreach(json_object_get(doc, "warnings"), i, v)
		fprintf(stderr, "warning: %s\n", json_string_value(v));
	json_array_foreach(json_object_get(doc, "errors"), i, v)
		fprintf(stderr, "error: %s\n", json_string_value(v));
}

static void policy_check_help(void)
{
	printf("Usage: mcpfence policy check [--trust FILE] [--json] FILE|DIR...\n\n"
	       "Validate policy files (a directory: its *.json files) and compile them\n"
	       "as the agent would. Every error is reported with its file and JSON path;\n"
	       "warnings (advice that does not make a policy invalid) too.\n\n"
	       "  --trust FILE  also check that each policy's identity.issuer is one the trust\n"
	       "                (an agent config or {\"issuers\": [...]}) verifies, naming a\n"
	       "                near miss (another Entra ID version or tenant, a trailing slash)\n\n"
	       "Exit status 0 when all are valid, 1 otherwise.\n");
}

/* Each policy's issuer against the trust: one it verifies, or an error naming the near miss. */
static void check_issuers(const struct policy_set *set, struct trust *trust, struct diag *errs)
{
	for (size_t i = 0; i < set->n; i++) {
		const char *iss = json_string_value(json_object_get(set->items[i]->identity, "issuer"));
		char detail[512];

		if (!iss || trust_find(trust, iss))
			continue;
		snprintf(detail, sizeof(detail), "%s: spec.identity.issuer: \"%s\" is not an issuer of the trust",
			 set->items[i]->file, iss);
		trust_explain_issuer(trust, iss, detail, sizeof(detail));
		diag_add(errs, "%s", detail);
	}
}

static int policy_check(int argc, char **argv)
{
	struct policy_set set = {};
	struct diag errs = {}, warnings = {};
	struct trust trust = {};
	const char *trust_file = NULL;
	json_t *doc, *list, *elist, *wlist;
	bool ok;
	int args;
	const struct cli_opt opts[] = {
		{ "trust", 'T', true, &trust_file },
		{},
	};

	args = cli_options(argc, argv, opts, 0, policy_check_help);
	if (args <= 0)
		return args == 0 ? 0 : 2;
	if (args >= argc)
		return cli_fail("policy check: name at least one file or directory");
	if (trust_file && trust_load_file(trust_file, &trust, &errs) < 0) {
		cli_fail("%s", errs.n ? errs.msgs[0] : "bad trust file");
		diag_clear(&errs);
		return 1;
	}
	policy_set_load(argv + args, (size_t)(argc - args), &set, &errs);
	if (trust_file)
		check_issuers(&set, &trust, &errs);
	list = json_array();
	for (size_t i = 0; i < set.n; i++) {
		struct policy_compiled pc;
		const struct policy *p = set.items[i];

		policy_warnings(p, &warnings);
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
	wlist = json_array();
	for (size_t i = 0; i < warnings.n; i++)
		json_array_append_new(wlist, json_string(warnings.msgs[i]));
	ok = errs.n == 0;
	doc = json_pack("{s:b, s:o, s:o, s:o}", "ok", ok, "policies", list, "errors", elist,
			"warnings", wlist);
	cli_print(doc, check_text);
	diag_clear(&errs);
	diag_clear(&warnings);
	policy_set_clear(&set);
	trust_clear(&trust);
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

/*
 * Whether --out would replace a policy that did not come from this source: one written by hand,
 * or imported from another file under the same name. Said for each; then nothing is written.
 */
static bool import_out_taken(const char *out, json_t *pols, const char *source)
{
	bool taken = false;
	size_t i;
	json_t *pol;

	json_array_foreach(pols, i, pol) {
		const char *name = json_string_value(json_object_get(json_object_get(pol, "metadata"), "name"));
		const char *mine = json_string_value(json_object_get(json_object_get(pol, "metadata"), "description"));
		_cleanup_free_ char *path = strdup_printf("%s/%s.json", out, name), *text = NULL;
		json_t *old;
		size_t len;

		if (!path || read_file(path, 64u << 20, &text, &len) < 0)
			continue; /* nothing there to replace */
		old = json_loadb(text, len, 0, NULL);
		if (!mine || !json_equal(json_object_get(json_object_get(old, "metadata"), "description"),
					 json_object_get(json_object_get(pol, "metadata"), "description"))) {
			cli_fail("policy import: %s exists and was not imported from %s (%s): choose another name "
				 "(--select) or remove it; nothing written", path, source,
				 json_string_value(json_object_get(json_object_get(old, "metadata"), "description")) ?:
					 "no description");
			taken = true;
		}
		json_decref(old);
	}
	return taken;
}

static void policy_import_help(void)
{
	printf("Usage: mcpfence policy import --from FORMAT (FILE | DIR) [--select NAME] [--out DIR] [--json]\n\n"
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
	       "FILE is YAML or JSON. Every policy produced passes `mcpfence policy check`.\n"
	       "DIR: every .json, .yaml and .yml file in it, each imported or refused on its\n"
	       "own, then a summary (imported/refused per file; --json: a report); exit 0 only\n"
	       "when every file imported.\n");
}

/* One file's policies into *ret, each checked by the parser the agent uses; notes and reasons
 * go to stderr. 0, or 1 when the file is refused (nothing of it is to be written). */
static int import_file(int fmt, const char *path, const char *select, json_t **ret, json_t **ret_reasons)
{
	_cleanup_free_ char *text = NULL;
	struct diag errs = {}, notes = {};
	json_t *doc, *pols = NULL, *pol;
	char why[256];
	size_t len, i;
	int r = read_file(path, 4u << 20, &text, &len);

	if (r < 0)
		diag_add(&errs, "%s: %s", path, strerror(-r));
	doc = r < 0 ? NULL : yaml_to_json(text, len, why, sizeof(why));
	if (r == 0 && !doc)
		diag_add(&errs, "%s: %s", path, why);
	if (doc)
		r = policy_import(fmt, path, doc, select, &pols, &errs, &notes);
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
	*ret_reasons = json_array();
	for (i = 0; i < errs.n; i++) {
		fprintf(stderr, "mcpfence: %s\n", errs.msgs[i]);
		json_array_append_new(*ret_reasons, json_string(errs.msgs[i]));
	}
	r = r < 0 || errs.n;
	if (r) {
		json_decref(pols);
		pols = NULL;
	}
	*ret = pols;
	json_decref(doc);
	diag_clear(&errs);
	diag_clear(&notes);
	return r;
}

/* Each policy to OUT/NAME.json (or, without out, printed when print); 0, or 1 once said why. */
static int import_write(const char *out, json_t *pols, const char *source, bool print)
{
	size_t i;
	json_t *pol;

	if (out && import_out_taken(out, pols, source))
		return 1;
	json_array_foreach(pols, i, pol) {
		const char *name = json_string_value(json_object_get(json_object_get(pol, "metadata"), "name"));
		_cleanup_free_ char *t = json_dumps(pol, JSON_INDENT(2)), *path = NULL;
		FILE *f = NULL;

		if (!out) {
			if (!cli_json && print)
				printf("%s\n", t ?: "");
			continue;
		}
		path = strdup_printf("%s/%s.json", out, name);
		if (!t || !path || mkdir_p(out, 0755) < 0 || !(f = fopen(path, "we")) || fprintf(f, "%s\n", t) < 0 ||
		    fclose(TAKE_PTR(f)) != 0) {
			if (f)
				fclose(f);
			return cli_fail("policy import: writing %s: %s", path ?: out, strerror(errno));
		}
		if (!cli_json)
			fprintf(stderr, "wrote %s\n", path);
	}
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Every YAML or JSON file of a directory, for a bulk migration: each file imported or refused
 * on its own (what one file maps is written even when another is refused), then a summary.
 * 0 when every file imported.
 */
static int import_dir(int fmt, const char *dir, const char *out)
{
	_cleanup_(strv_freep) char **files = NULL;
	json_t *report = json_array();
	size_t n = 0, ok = 0, npol = 0;
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d || !report) {
		json_decref(report);
		return cli_fail("policy import: %s: %s", dir, strerror(errno));
	}
	while ((de = readdir(d))) {
		const char *dot = strrchr(de->d_name, '.');
		char **nf;

		if (de->d_name[0] == '.' || !dot || (strcmp(dot, ".json") && strcmp(dot, ".yaml") && strcmp(dot, ".yml")))
			continue;
		if (!(nf = realloc(files, (n + 2) * sizeof(*files))))
			break;
		files = nf;
		files[n++] = strdup_printf("%s/%s", dir, de->d_name);
		files[n] = NULL;
	}
	closedir(d);
	if (n)
		qsort(files, n, sizeof(*files), name_cmp);
	for (size_t i = 0; i < n && files[i]; i++) {
		json_t *pols = NULL, *reasons = NULL, *names = json_array(), *p;
		size_t k;
		int r = import_file(fmt, files[i], NULL, &pols, &reasons);

		if (r == 0) /* without --out, a dry run: the summary only */
			r = import_write(out, pols, files[i], false);
		json_array_foreach(pols, k, p)
			json_array_append(names, json_object_get(json_object_get(p, "metadata"), "name"));
		ok += r == 0;
		npol += r == 0 ? json_array_size(names) : 0;
		if (!cli_json && r) {
			const char *why = json_string_value(json_array_get(reasons, 0)) ?: "not written";
			size_t fl = strlen(files[i]);

			if (!strncmp(why, files[i], fl) && !strncmp(why + fl, ": ", 2))
				why += fl + 2; /* the file is named already */
			printf("refused  %s: %s\n", files[i], why);
		} else if (!cli_json) {
			printf("imported %s ->", files[i]);
			json_array_foreach(names, k, p)
				printf(" %s", json_string_value(p));
			printf("%s\n", json_array_size(names) ? "" : " (nothing to confine)");
		}
		json_array_append_new(report, json_pack("{s:s, s:b, s:o, s:o}", "file", files[i], "imported", r == 0,
							"policies", names, "reasons", reasons));
		json_decref(pols);
	}
	if (cli_json)
		cli_print(json_pack("{s:o, s:I, s:I, s:I}", "files", report, "imported", (json_int_t)ok, "refused",
				    (json_int_t)(n - ok), "policies", (json_int_t)npol),
			  NULL);
	else {
		printf("%zu files: %zu imported (%zu policies), %zu refused\n", n, ok, npol, n - ok);
		json_decref(report);
	}
	return ok == n ? 0 : 1;
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
	json_t *pols = NULL, *reasons = NULL;
	struct stat st;
	int args, fmt, r;

	args = cli_options(argc, argv, opts, 0, policy_import_help);
	if (args <= 0)
		return args == 0 ? 0 : 2;
	if (args != argc - 1)
		return cli_fail("policy import: name one file or directory (see --help)");
	if ((fmt = import_format_parse(from)) < 0)
		return cli_fail("policy import: --from \"%s\": docker-mcp, toolhive or harden-runner", from ?: "");
	if (stat(argv[args], &st) == 0 && S_ISDIR(st.st_mode)) {
		if (select)
			return cli_fail("policy import: --select picks within one file, not a directory");
		return import_dir(fmt, argv[args], out);
	}
	r = import_file(fmt, argv[args], select, &pols, &reasons);
	if (r)
		r = cli_fail("policy import: %s: refused (%zu %s); nothing written", argv[args], json_array_size(reasons),
			     json_array_size(reasons) == 1 ? "reason" : "reasons");
	else
		r = import_write(out, pols, argv[args], true);
	if (r == 0 && cli_json)
		cli_print(json_incref(pols), NULL);
	json_decref(pols);
	json_decref(reasons);
	return r;
}

int cmd_policy(int argc, char **argv)
{
	static const struct cmd cmds[] = {
		{ "check", policy_check, "validate and compile policy files" },
		{ "suggest", policy_suggest_cmd, "a minimal policy from a workload's events" },
		{ "import", policy_import_cmd, "convert Docker MCP Gateway, ToolHive, Harden-Runner allowlists" },
		{ "audit", policy_audit_cmd, "a scope audit: each rule's last use, who was bound, a narrowed policy" },
		{},
	};

	return cmd_dispatch("mcpfence policy", cmds, argc - 1, argv + 1);
}
