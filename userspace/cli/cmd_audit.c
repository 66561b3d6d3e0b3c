// SPDX-License-Identifier: MIT
/*
 * mcpfence policy audit: a scope audit from the running agent. Per policy, each rule with when
 * it last allowed a flow (kept in the kernel), who was bound to it in the window (the agent's
 * binding history), and a narrowed policy without the rules unused in the window.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "control.h"
#include "util.h"

#define AUDIT_DEFAULT_SINCE "30d"

static void audit_help(void)
{
	printf("Usage: mcpfence policy audit [--since DURATION] [--policy NAME] [--out DIR]\n"
	       "                             [--agent-socket PATH | --config FILE] [--json]\n\n"
	       "A scope audit: for each loaded policy (or NAME), each rule with when it last\n"
	       "allowed a new flow or datagram destination (and each name pattern), the\n"
	       "identities and workloads bound to it, and a narrowed policy without the rules\n"
	       "not used in the window.\n\n"
	       "  --since DURATION  the window, e.g. 7d, 30d, 12h (default %s)\n"
	       "  --policy NAME     one policy\n"
	       "  --out DIR         write each narrowed policy to DIR/NAME.json (then check it\n"
	       "                    with `mcpfence policy check`)\n\n"
	       "A rule is kept when it was used in the window, when its use cannot be credited\n"
	       "to it (ports merged with other rules'), or when counting began inside the window\n"
	       "(the policy loaded or the rule changed since). A name pattern unused in the\n"
	       "window leaves a rule that other entries keep. Exits 0, or 1 when the agent\n"
	       "cannot be reached or NAME is not loaded.\n",
	       AUDIT_DEFAULT_SINCE);
}

/* A pattern as the report writes it: lower case, no trailing dot. */
static bool same_name(const char *written, const char *reported)
{
	size_t n = strlen(written);

	if (n && written[n - 1] == '.')
		n--;
	return strlen(reported) == n && !strncasecmp(written, reported, n);
}

static bool rule_kept(json_t *rule, int64_t cut)
{
	return json_integer_value(json_object_get(rule, "last_used")) >= cut ||
	       !json_is_true(json_object_get(rule, "credited")) ||
	       json_integer_value(json_object_get(rule, "counted_since")) > cut;
}

/* The `to` entries of a kept rule less its name patterns unused in the window (all of them
 * when that would leave none). */
static json_t *narrow_to(json_t *to, json_t *rule, int64_t cut)
{
	json_t *out = json_array(), *v, *n;
	size_t i, j;

	json_array_foreach(to, i, v) {
		bool drop = false;

		json_array_foreach(json_object_get(rule, "names"), j, n)
			if (json_is_string(v) && same_name(json_string_value(v), json_string_value(json_object_get(n, "pattern"))) &&
			    json_integer_value(json_object_get(n, "last_used")) < cut &&
			    json_integer_value(json_object_get(rule, "counted_since")) <= cut)
				drop = true;
		if (!drop)
			json_array_append(out, v);
	}
	if (!json_array_size(out)) {
		json_decref(out);
		return json_incref(to);
	}
	return out;
}

/* The policy document: the file the agent loaded it from, when it is one; else rebuilt. */
static json_t *policy_source(json_t *pol)
{
	const char *file = json_string_value(json_object_get(pol, "file")), *name;
	json_t *doc = file && *file == '/' ? json_load_file(file, JSON_REJECT_DUPLICATES, NULL) : NULL, *egress, *r;
	const char *ns = json_string_value(json_object_get(pol, "namespace"));
	size_t i;

	name = json_string_value(json_object_get(pol, "name"));
	if (ns && !strncmp(name, ns, strlen(ns)) && name[strlen(ns)] == '/')
		name += strlen(ns) + 1;
	if (doc && json_is_array(json_object_get(json_object_get(doc, "spec"), "egress")) &&
	    !strcmp(json_string_value(json_object_get(json_object_get(doc, "metadata"), "name")) ?: "", name))
		return doc;
	json_decref(doc);
	json_array_foreach(json_object_get(pol, "rules"), i, r)
		if (json_integer_value(json_object_get(r, "addresses")) &&
		    json_array_size(json_object_get(r, "to")) < (size_t)json_integer_value(json_object_get(r, "addresses")))
			return NULL; /* the agent keeps no copy of its addresses: the file is needed */
	egress = json_array();
	json_array_foreach(json_object_get(pol, "rules"), i, r)
		json_array_append_new(egress, json_pack("{s:O, s:O*, s:O}", "to", json_object_get(r, "to"),
							"ports", json_object_get(r, "ports"), "protocol",
							json_object_get(r, "protocol")));
	return json_pack("{s:s, s:s, s:{s:s, s:s*}, s:{s:O, s:O*, s:o}}", "apiVersion", "mcpfence/v1", "kind",
			 json_is_true(json_object_get(pol, "cluster")) ? "ClusterEgressPolicy" : "EgressPolicy",
			 "metadata", "name", name, "namespace", ns, "spec", "mode", json_object_get(pol, "mode"),
			 "identity", json_object_get(pol, "identity"), "egress", egress);
}

/* The policy without the rules unused since `cut`; sets "removed" in pol to their indexes. */
static json_t *narrow(json_t *pol, int64_t cut)
{
	json_t *doc = policy_source(pol), *spec = json_object_get(doc, "spec"), *egress, *kept, *removed, *r;
	size_t i;

	if (!doc) {
		json_object_set_new(pol, "narrowed_why", json_string("its file is not readable here, and the agent keeps no "
								      "copy of its addresses"));
		return NULL;
	}
	egress = json_object_get(spec, "egress");
	kept = json_array();
	removed = json_array();
	json_array_foreach(json_object_get(pol, "rules"), i, r) {
		json_t *orig = json_array_get(egress, i), *copy;

		if (!orig)
			continue;
		if (!rule_kept(r, cut)) {
			json_array_append_new(removed, json_integer((json_int_t)i));
			continue;
		}
		copy = json_deep_copy(orig);
		json_object_set_new(copy, "to", narrow_to(json_object_get(orig, "to"), r, cut));
		json_array_append_new(kept, copy);
	}
	json_object_set_new(spec, "egress", kept);
	json_object_set_new(pol, "removed", removed);
	return doc;
}

static void when(int64_t t, char *buf, size_t len)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (!t || !gmtime_r(&tt, &tm))
		snprintf(buf, len, "never");
	else
		strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void rule_text(json_t *r)
{
	char last[32], since[32], *to = json_dumps(json_object_get(r, "to"), JSON_COMPACT), addrs[48] = "";
	json_int_t na = json_integer_value(json_object_get(r, "addresses"));
	json_t *n;
	size_t i;

	when(json_integer_value(json_object_get(r, "last_used")), last, sizeof(last));
	when(json_integer_value(json_object_get(r, "counted_since")), since, sizeof(since));
	if (na && json_array_size(json_object_get(r, "to")) < (size_t)na)
		snprintf(addrs, sizeof(addrs), "%lld address%s%s", (long long)na, na == 1 ? "" : "es",
			 json_array_size(json_object_get(r, "to")) ? " and " : "");
	printf("  rule %lld: %s%s %s%s%s: last used %s (counted since %s)%s\n",
	       (long long)json_integer_value(json_object_get(r, "index")), addrs,
	       json_array_size(json_object_get(r, "to")) || !*addrs ? to ?: "?" : "",
	       json_string_value(json_object_get(r, "protocol")) ?: "", json_object_get(r, "ports") ? " " : "",
	       json_object_get(r, "ports") ? json_string_value(json_array_get(json_object_get(r, "ports"), 0)) : "",
	       last, since, json_is_true(json_object_get(r, "credited")) ? "" : " [ports merged with other rules': not credited]");
	free(to);
	json_array_foreach(json_object_get(r, "names"), i, n) {
		when(json_integer_value(json_object_get(n, "last_used")), last, sizeof(last));
		printf("    %s: last used %s\n", json_string_value(json_object_get(n, "pattern")), last);
	}
}

static void audit_text(json_t *doc)
{
	json_t *pol, *r, *b;
	size_t i, j;

	json_array_foreach(json_object_get(doc, "policies"), i, pol) {
		char first[32], last[32];

		printf("policy %s (%s, %s)\n", json_string_value(json_object_get(pol, "name")),
		       json_string_value(json_object_get(pol, "mode")), json_string_value(json_object_get(pol, "file")));
		json_array_foreach(json_object_get(pol, "rules"), j, r)
			rule_text(r);
		printf("  bound in the window: %zu\n", json_array_size(json_object_get(pol, "bindings")));
		json_array_foreach(json_object_get(pol, "bindings"), j, b) {
			when(json_integer_value(json_object_get(b, "first_seen")), first, sizeof(first));
			when(json_integer_value(json_object_get(b, "last_seen")), last, sizeof(last));
			printf("    %s%s%s%s%s: %s, first %s, last %s (%lld time%s)\n",
			       json_string_value(json_object_get(b, "source")), json_object_get(b, "issuer") ? " " : "",
			       json_string_value(json_object_get(b, "issuer")) ?: "", json_object_get(b, "subject") ? " " : "",
			       json_string_value(json_object_get(b, "subject")) ?: "",
			       json_string_value(json_object_get(b, "cgroup")) ?: "", first, last,
			       (long long)json_integer_value(json_object_get(b, "count")),
			       json_integer_value(json_object_get(b, "count")) == 1 ? "" : "s");
		}
		if (json_object_get(pol, "narrowed_why"))
			printf("  narrowed: none: %s\n", json_string_value(json_object_get(pol, "narrowed_why")));
		else
			printf("  narrowed: %zu of %zu rules removed\n", json_array_size(json_object_get(pol, "removed")),
			       json_array_size(json_object_get(pol, "rules")));
	}
}

static int write_narrowed(const char *dir, json_t *pol, json_t *doc)
{
	_cleanup_free_ char *name = strdup(json_string_value(json_object_get(pol, "name")) ?: "policy");
	_cleanup_free_ char *path = NULL, *text = NULL;

	if (!name)
		return -ENOMEM;
	for (char *c = name; *c; c++)
		if (*c == '/')
			*c = '_'; /* NAMESPACE/NAME */
	path = strdup_printf("%s/%s.json", dir, name);
	text = json_dumps(doc, JSON_INDENT(2));
	if (!path || !text)
		return -ENOMEM;
	return write_file_atomic(path, text, 0644);
}

int policy_audit_cmd(int argc, char **argv)
{
	const char *sock = NULL, *config = NULL, *since_text = AUDIT_DEFAULT_SINCE, *policy = NULL, *out = NULL;
	_cleanup_free_ char *sock_owned = NULL;
	const struct cli_opt opts[] = {
		{ "since", 'S', true, &since_text }, { "policy", 'p', true, &policy }, { "out", 'o', true, &out },
		{ "agent-socket", 's', true, &sock }, { "config", 'c', true, &config }, {},
	};
	json_t *reply = NULL, *pol, *narrowed;
	uint64_t since_ns;
	int64_t cut;
	size_t i;
	int args, r;

	args = cli_options(argc, argv, opts, 0, audit_help);
	if (args <= 0)
		return args == 0 ? 0 : 2;
	if (parse_duration_ns(since_text, &since_ns) < 0)
		return cli_fail("policy audit: --since \"%s\": a duration such as 7d, 30d or 12h", since_text);
	sock = cli_agent_socket(sock, config, &sock_owned);
	if (!sock)
		return 1;
	cut = (int64_t)time(NULL) - (int64_t)(since_ns / 1000000000ULL);
	r = control_request(sock, json_pack("{s:s, s:I, s:s*}", "op", "audit", "since", (json_int_t)cut, "policy", policy),
			    &reply);
	if (r < 0)
		return cli_fail("policy audit: cannot reach the agent at %s: %s", sock, strerror(-r));
	if (!json_is_true(json_object_get(reply, "ok"))) {
		r = cli_fail("policy audit: %s", json_string_value(json_object_get(reply, "error")) ?: "refused");
		json_decref(reply);
		return r;
	}
	if (out && mkdir(out, 0755) < 0 && errno != EEXIST) {
		r = cli_fail("policy audit: --out %s: %s", out, strerror(errno));
		json_decref(reply);
		return r;
	}
	narrowed = json_object();
	json_array_foreach(json_object_get(reply, "policies"), i, pol) {
		json_t *doc = narrow(pol, cut);

		if (!doc)
			continue;
		if (out && (r = write_narrowed(out, pol, doc)) < 0)
			log_warning("policy audit: writing %s's narrowed policy: %s",
				    json_string_value(json_object_get(pol, "name")), strerror(-r));
		json_object_set_new(narrowed, json_string_value(json_object_get(pol, "name")), doc);
	}
	json_object_set_new(reply, "narrowed", narrowed);
	json_object_set_new(reply, "window", json_string(since_text));
	cli_print(reply, audit_text);
	return 0;
}
