// SPDX-License-Identifier: MIT
/* mcpfence probe: what this kernel offers, and whether the agent can enforce here. */

#include "cgroup.h"
#include "cli.h"
#include "probe.h"
#include "util.h"

static void probe_text(json_t *doc)
{
	const char *key;
	json_t *v;

	printf("kernel %s (%s)\n", json_string_value(json_object_get(doc, "kernel")),
	       json_string_value(json_object_get(doc, "machine")));
	json_object_foreach(json_object_get(doc, "features"), key, v) {
		const char *d = json_string_value(json_object_get(v, "detail"));

		printf("  %-4s %-46s%s%s%s\n", json_is_true(json_object_get(v, "ok")) ? "yes" : "NO", key,
		       json_is_true(json_object_get(v, "required")) ? "" : " (optional)", d ? "  " : "",
		       d ? d : "");
	}
	printf("can enforce: %s%s\n", json_is_true(json_object_get(doc, "can_enforce")) ? "yes" : "NO",
	       json_is_true(json_object_get(doc, "attach_tested")) ? " (programs loaded and attached)" :
								    " (programs loaded; run as root to test attaching)");
}

static void probe_help(void)
{
	printf("Usage: mcpfence probe [--json] [--no-attach]\n\n"
	       "Report what the running kernel offers: each cgroup hook (our programs are\n"
	       "loaded by the verifier and, as root, attached with bpf links to a scratch\n"
	       "cgroup), ring buffer, LPM trie, socket storage, bpf_ktime_get_boot_ns,\n"
	       "ancestor cgroup ids, BTF, cgroup2/nsdelegate, bpffs and SO_PEERPIDFD.\n"
	       "--json adds \"verifier\": per program, the instructions the verifier\n"
	       "processed and the states it kept.\n"
	       "Exit 0 when the agent can enforce here, 1 otherwise.\n");
}

int cmd_probe(int argc, char **argv)
{
	bool no_attach = false;
	const struct cli_opt opts[] = {
		{ "no-attach", 'n', false, &no_attach },
		{},
	};
	bool attach;
	json_t *doc = NULL;
	int args, r, ns;

	args = cli_options(argc, argv, opts, 0, probe_help);
	if (args <= 0)
		return args == 0 ? 0 : 2;
	attach = geteuid() == 0 && !no_attach;
	ns = cgroup_ns_join_initial(); /* as the agent does: a container's own hides the pods */
	r = probe_run(attach, true, &doc);
	json_object_set_new(json_object_get(doc, "features"), "cgroup namespace",
			    json_pack("{s:b, s:b, s:s}", "ok", ns >= 0, "required", 0, "detail",
				      ns == 0 ? "the host's" : ns > 0 ? "joined the host's (from a container's own)"
				      : "a container's own, and no host process to join the host's through: "
					"give it the host's PID namespace"));
	cli_print(doc, probe_text);
	return r == 0 ? 0 : 1;
}
