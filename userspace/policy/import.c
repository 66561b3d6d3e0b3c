// SPDX-License-Identifier: MIT
/*
 * Allowlists written for other tools, as mcpfence policies. Each construct is mapped to what
 * means the same here, or refused with the reason; nothing is widened. The mapping tables are
 * in docs/importers.md.
 *   docker-mcp     Docker MCP Gateway catalog: registry.<server>.allowHosts ["host:port"],
 *                  disableNetwork; remote servers (type: remote, or a remote.url) skipped
 *   toolhive       ToolHive permission profile: network.outbound.{allow_host, allow_port,
 *                  allow_transport, insecure_allow_all}; its egress was an HTTP/CONNECT
 *                  proxy, so what comes out is TCP only. Found alone, in a legacy registry
 *                  (servers.NAME.permissions) or in today's upstream entries (server.json,
 *                  data.servers[]: _meta's publisher-provided io.github.stacklok permissions)
 *   harden-runner  GitHub workflow steps uses: step-security/harden-runner, with:
 *                  {egress-policy (default block), allowed-endpoints ("host" is host:443)}
 */
#include "import.h"

#include <arpa/inet.h>
#include <ctype.h>

#define BAD(fmt, ...) diag_add(errs, "%s: " fmt, file, ##__VA_ARGS__)
#define NOTE(fmt, ...) diag_add(notes, "%s: " fmt, file, ##__VA_ARGS__)

static const char *const format_names[] = { "docker-mcp", "toolhive", "harden-runner", NULL };

int import_format_parse(const char *s)
{
	return str_choice(s, format_names);
}

/* Rules grouped by (protocol, port), in the order first seen. */
struct rules {
	json_t *list; /* the egress array */
	json_t *index; /* "tcp/443" -> the rule's "to" array */
};

static void rule_add(struct rules *r, const char *to, const char *proto, const char *port)
{
	_cleanup_free_ char *key = strdup_printf("%s/%s", proto, port);
	json_t *dst = key ? json_object_get(r->index, key) : NULL;
	size_t i;
	json_t *v;

	if (!key)
		return;
	if (!dst) {
		dst = json_array();
		json_array_append_new(r->list, json_pack("{s:O, s:[s], s:s}", "to", dst, "ports", port, "protocol", proto));
		json_object_set_new(r->index, key, dst); /* the rule holds the other reference */
	}
	json_array_foreach(dst, i, v)
		if (!strcmp(json_string_value(v), to))
			return;
	json_array_append_new(dst, json_string(to));
}

static bool is_ip(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* A DNS name as the other tool writes it: letters, digits, hyphens, dots, no empty label. */
static bool is_name(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 253 || s[0] == '.' || s[n - 1] == '.' || strstr(s, ".."))
		return false;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.')
			return false;
	return true;
}

/* A service-discovery name (a label starting with "_", as in _http._tcp.deb.debian.org): looked
 * up for SRV records, never a connect target. */
static bool is_srv_name(const char *s)
{
	return s[0] == '_' || strstr(s, "._");
}

static bool is_port(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	return *s && !*end && v >= 1 && v <= 65535;
}

/* "host:port", "[v6]:port": host and port into the buffers; false if it is not that shape.
 * With default_port, a plain "host" is that port. */
static bool split_endpoint(const char *s, char *host, size_t hlen, char *port, size_t plen, const char *default_port)
{
	const char *colon = s[0] == '[' ? strstr(s, "]:") : strrchr(s, ':');
	size_t n;

	if (!colon && default_port && s[0] != '[' && strlen(s) < hlen) {
		snprintf(host, hlen, "%s", s);
		snprintf(port, plen, "%s", default_port);
		return true;
	}
	if (!colon || (s[0] != '[' && strchr(s, ':') != colon))
		return false;
	n = (size_t)(colon - s) - (s[0] == '[');
	if (n == 0 || n >= hlen || strlen(colon + 1 + (s[0] == '[')) >= plen)
		return false;
	memcpy(host, s + (s[0] == '['), n);
	host[n] = '\0';
	snprintf(port, plen, "%s", colon + 1 + (s[0] == '['));
	return is_port(port);
}

static json_t *policy_doc(const char *name, const char *mode, json_t *egress)
{
	return json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:o}}", "apiVersion", "mcpfence/v1", "kind", "EgressPolicy",
			 "metadata", "name", name, "spec", "mode", mode, "egress", egress);
}

/* A policy name from another tool's name: lower case, [a-z0-9-], at most 63 bytes. */
static char *name_of(const char *s)
{
	char *out = strndup(s, 63);

	for (char *p = out; p && *p; p++)
		*p = isalnum((unsigned char)*p) ? (char)tolower((unsigned char)*p) : '-';
	return out;
}

/* --- Docker MCP Gateway ------------------------------------------------------------------ */

static void docker_server(const char *file, const char *at, const char *server, json_t *s, json_t *out,
			  struct diag *errs, struct diag *notes)
{
	json_t *hosts = json_object_get(s, "allowHosts"), *h;
	struct rules r = { json_array(), json_object() };
	_cleanup_free_ char *name = name_of(server);
	size_t i, nerr = errs->n;

	if (json_is_true(json_object_get(s, "disableNetwork"))) {
		if (json_array_size(hosts))
			BAD("%s: disableNetwork with allowHosts: contradictory, not imported", at);
		else
			json_array_append_new(out, policy_doc(name, "enforce", json_incref(r.list)));
		goto out;
	}
	if (!json_is_array(hosts) || !json_array_size(hosts)) {
		BAD("%s: no allowHosts: the gateway gives this server the whole network; mcpfence does not "
		    "import an allow-everything policy (write one by hand if that is meant)", at);
		goto out;
	}
	json_array_foreach(hosts, i, h) {
		char host[256], port[8];
		const char *e = json_string_value(h);

		if (!e || !split_endpoint(e, host, sizeof(host), port, sizeof(port), NULL)) {
			BAD("%s.allowHosts[%zu]: \"%s\": expected host:port", at, i, e ?: "(not a string)");
			continue;
		}
		if (strchr(host, '*')) {
			BAD("%s.allowHosts[%zu]: \"%s\": the gateway matches host names exactly; a wildcard has "
			    "no defined meaning there, so it is not guessed", at, i, e);
			continue;
		}
		if (!is_ip(host) && !is_name(host)) {
			BAD("%s.allowHosts[%zu]: \"%s\": not a host name or address", at, i, e);
			continue;
		}
		rule_add(&r, host, "tcp", port); /* the gateway's proxy carries TCP */
	}
	if (errs->n == nerr)
		json_array_append_new(out, policy_doc(name, "enforce", json_incref(r.list)));
out:
	json_decref(r.list);
	json_decref(r.index);
}

/* The entries of a catalog or registry that did not map: reported, when others did; the
 * import's refusal, when none did. */
static void skipped_report(struct diag *skipped, bool some_imported, struct diag *errs, struct diag *notes)
{
	for (size_t k = 0; k < skipped->n; k++)
		if (some_imported)
			diag_add(notes, "not imported: %s", skipped->msgs[k]);
		else
			diag_add(errs, "%s", skipped->msgs[k]);
	diag_clear(skipped);
}

/* A server the gateway runs elsewhere (type: remote, or a remote.url whatever its type). */
static bool docker_remote(json_t *s)
{
	return !strcmp(json_string_value(json_object_get(s, "type")) ?: "", "remote") ||
	       json_is_string(json_object_get(json_object_get(s, "remote"), "url"));
}

/*
 * One server, in a catalog's registry or on its own: the registry's per-server server.yaml
 * keeps allowHosts and disableNetwork under run:, a flat catalog entry at its top level.
 */
static void docker_one(const char *file, const char *at, const char *server, json_t *s, json_t *out,
		       struct diag *errs, struct diag *notes)
{
	json_t *run = json_object_get(s, "run");

	if (docker_remote(s)) {
		NOTE("%s: a remote server (no container): nothing to confine, skipped", at);
		return;
	}
	if (json_is_object(run) && !json_object_get(s, "allowHosts") && !json_object_get(s, "disableNetwork"))
		s = run;
	docker_server(file, at, server, s, out, errs, notes);
}

static int import_docker(const char *file, json_t *doc, const char *only, json_t *out, struct diag *errs,
			 struct diag *notes)
{
	json_t *reg = json_object_get(doc, "registry"), *s;
	struct diag skipped = {}; /* a whole catalog imports what maps; what does not is reported */
	size_t before = json_array_size(out);
	const char *server;

	if (!json_is_object(reg)) {
		const char *name = json_string_value(json_object_get(doc, "name"));

		if (!name || (!json_object_get(doc, "image") && !json_object_get(doc, "type"))) {
			BAD("registry: missing: a Docker MCP catalog has registry: {SERVER: {allowHosts: [...]}}, a "
			    "server entry has name: and image:");
			return -EINVAL;
		}
		docker_one(file, name, only ?: name, doc, out, errs, notes);
		return 0;
	}
	if (only && !json_object_get(reg, only)) {
		BAD("registry.%s: no such server", only);
		return -EINVAL;
	}
	json_object_foreach(reg, server, s) {
		_cleanup_free_ char *at = strdup_printf("registry.%s", server);

		if (!only || !strcmp(server, only))
			docker_one(file, at ?: server, server, s, out, only ? errs : &skipped, notes);
	}
	skipped_report(&skipped, json_array_size(out) > before, errs, notes);
	return 0;
}

/* --- ToolHive ------------------------------------------------------------------------ */

static int import_toolhive(const char *file, json_t *doc, const char *name, json_t *out, struct diag *errs,
			   struct diag *notes)
{
	json_t *net = json_object_get(doc, "network"), *o = json_object_get(net, "outbound");
	json_t *hosts = json_object_get(o, "allow_host"), *ports = json_object_get(o, "allow_port");
	json_t *transports = json_object_get(o, "allow_transport"), *v, *pv;
	struct rules r = { json_array(), json_object() };
	const char *proto = "tcp"; /* its proxy carried nothing else */
	size_t i, j, nerr = errs->n;

	if (json_object_get(doc, "read") || json_object_get(doc, "write"))
		NOTE("read, write: file system permissions, not egress: not imported");
	if (json_object_get(net, "inbound"))
		NOTE("network.inbound: who may connect to the server, not egress: not imported");
	if (!json_is_object(o)) {
		BAD("network.outbound: missing: nothing to import");
		goto out;
	}
	if (json_is_true(json_object_get(o, "insecure_allow_all"))) {
		BAD("network.outbound.insecure_allow_all: true allows every destination; mcpfence does not import an "
		    "allow-everything policy (write one by hand if that is meant)");
		goto out;
	}
	json_array_foreach(transports, i, v) {
		const char *t = json_string_value(v) ?: "";

		if (strcasecmp(t, "tcp") && strcasecmp(t, "udp"))
			BAD("network.outbound.allow_transport[%zu]: \"%s\": tcp or udp", i, t);
	}
	if (json_array_size(transports))
		NOTE("network.outbound.allow_transport: ToolHive's egress is an HTTP/CONNECT proxy, which only ever "
		     "carried TCP: the rules are TCP whatever the list says (never UDP)");
	if (!json_array_size(hosts) && json_array_size(ports))
		BAD("network.outbound.allow_port without allow_host: ToolHive then allows every host on those ports; "
		    "mcpfence does not import an allow-every-host policy (name the hosts)");
	else if (!json_array_size(hosts))
		NOTE("network.outbound.allow_host: empty: the policy allows nothing");
	if (json_array_size(hosts) && !json_array_size(ports))
		BAD("network.outbound.allow_port: missing: ToolHive's proxy then allows every port; name the ports "
		    "(mcpfence does not import an allow-every-port rule)");
	json_array_foreach(ports, j, pv)
		if (!json_is_integer(pv) || json_integer_value(pv) < 1 || json_integer_value(pv) > 65535)
			BAD("network.outbound.allow_port[%zu]: a port number from 1 to 65535", j);
	json_array_foreach(hosts, i, v) {
		const char *h = json_string_value(v) ?: "";
		bool sub = h[0] == '.';

		if (strchr(h, '*')) {
			BAD("network.outbound.allow_host[%zu]: \"%s\": ToolHive has no wildcards (a leading dot means "
			    "the domain and its subdomains)", i, h);
			continue;
		}
		if (!is_ip(h) && !is_name(h + sub)) {
			BAD("network.outbound.allow_host[%zu]: \"%s\": not a host name or address", i, h);
			continue;
		}
		json_array_foreach(ports, j, pv) {
			char port[8];
			_cleanup_free_ char *all = sub ? strdup_printf("**.%s", h + 1) : NULL;

			snprintf(port, sizeof(port), "%lld", (long long)json_integer_value(pv));
			/* ".github.com" is squid's dstdomain: the domain itself and every name below it */
			rule_add(&r, h + sub, proto, port);
			if (all)
				rule_add(&r, all, proto, port);
		}
	}
	if (errs->n == nerr)
		json_array_append_new(out, policy_doc(name, "enforce", json_incref(r.list)));
out:
	json_decref(r.list);
	json_decref(r.index);
	return 0;
}

/*
 * A ToolHive registry (servers.NAME.permissions: a profile per server): every entry that maps
 * becomes a policy named after it, and each that does not is reported and skipped, so a whole
 * registry imports in one go; --select NAME takes that entry only, and then its refusal refuses.
 */
static int import_toolhive_registry(const char *file, json_t *servers, const char *only, json_t *out,
				    struct diag *errs, struct diag *notes)
{
	struct diag skipped = {};
	size_t before = json_array_size(out);
	const char *server;
	json_t *s;

	if (only && !json_object_get(servers, only)) {
		BAD("servers.%s: no such server", only);
		return -EINVAL;
	}
	json_object_foreach(servers, server, s) {
		_cleanup_free_ char *at = strdup_printf("%s: servers.%s.permissions", file, server), *name = name_of(server);
		struct diag *to = only ? errs : &skipped;

		if (only && strcmp(server, only))
			continue;
		if (!json_is_object(json_object_get(s, "permissions")))
			diag_add(to, "%s: missing: ToolHive gives this server its default profile; nothing here says "
				     "what it may reach", at ?: file);
		else
			import_toolhive(at ?: file, json_object_get(s, "permissions"), name, out, to, notes);
	}
	skipped_report(&skipped, json_array_size(out) > before, errs, notes);
	return 0;
}

/*
 * ToolHive's registries today (its docs/arch/06-registry-system.md): entries in the upstream MCP
 * server format, one per server.json or a list under data.servers, ToolHive's own fields under
 * _meta["io.modelcontextprotocol.registry/publisher-provided"]["io.github.stacklok"][IMAGE or
 * URL], permissions among them. A server with remotes and no packages runs elsewhere: skipped.
 */
#define UPSTREAM_EXT "io.modelcontextprotocol.registry/publisher-provided"
#define TOOLHIVE_PUBLISHER "io.github.stacklok"

static bool upstream_server(json_t *doc)
{
	return json_is_object(doc) && (json_object_get(doc, "packages") || json_object_get(doc, "remotes")) &&
	       json_is_string(json_object_get(doc, "name"));
}

/* The policy name of an upstream entry: the last part of "io.github.stacklok/github". */
static char *upstream_name(json_t *server)
{
	const char *n = json_string_value(json_object_get(server, "name")) ?: "server";

	return name_of(strrchr(n, '/') ? strrchr(n, '/') + 1 : n);
}

static void toolhive_upstream_server(const char *file, size_t idx, json_t *server, json_t *out, struct diag *to,
				     struct diag *notes)
{
	json_t *ext = json_object_get(json_object_get(json_object_get(server, "_meta"), UPSTREAM_EXT), TOOLHIVE_PUBLISHER);
	_cleanup_free_ char *name = upstream_name(server);
	_cleanup_free_ char *at = idx == SIZE_MAX ? strdup(file) : strdup_printf("%s: data.servers[%zu]", file, idx);
	const char *key;
	json_t *v, *perm = NULL;

	if (json_array_size(json_object_get(server, "remotes")) && !json_array_size(json_object_get(server, "packages"))) {
		diag_add(to, "%s: %s: a remote server (remotes[]): ToolHive proxies to it, nothing runs here to "
			     "confine", at ?: file, json_string_value(json_object_get(server, "name")) ?: "?");
		return;
	}
	json_object_foreach(ext, key, v) /* keyed by the image (or URL) it describes */
		if (json_is_object(json_object_get(v, "permissions")))
			perm = json_object_get(v, "permissions");
	if (!perm) {
		diag_add(to, "%s: %s: no _meta[\"" UPSTREAM_EXT "\"][\"" TOOLHIVE_PUBLISHER "\"][IMAGE].permissions: "
			     "ToolHive gives it its default profile; nothing here says what it may reach",
			 at ?: file, json_string_value(json_object_get(server, "name")) ?: "?");
		return;
	}
	{
		_cleanup_free_ char *where = strdup_printf("%s: %s permissions", at ?: file,
							  json_string_value(json_object_get(server, "name")) ?: "?");

		import_toolhive(where ?: file, perm, name, out, to, notes);
	}
}

/* One server.json, or a registry's data.servers: what maps is imported, the rest reported. */
static int import_toolhive_upstream(const char *file, json_t *doc, const char *only, json_t *out, struct diag *errs,
				    struct diag *notes)
{
	json_t *list = json_object_get(json_object_get(doc, "data"), "servers"), *s;
	struct diag skipped = {};
	size_t before = json_array_size(out), i;
	bool found = false;

	if (upstream_server(doc)) {
		toolhive_upstream_server(file, SIZE_MAX, doc, out, errs, notes);
		return 0;
	}
	json_array_foreach(list, i, s) {
		_cleanup_free_ char *name = upstream_name(s);

		if (only && (!name || (strcmp(name, only) && strcmp(json_string_value(json_object_get(s, "name")) ?: "", only))))
			continue;
		found = true;
		toolhive_upstream_server(file, i, s, out, only ? errs : &skipped, notes);
	}
	if (only && !found) {
		BAD("data.servers: no server named \"%s\"", only);
		return -EINVAL;
	}
	skipped_report(&skipped, json_array_size(out) > before, errs, notes);
	return 0;
}

/* --- Harden-Runner ----------------------------------------------------------------------- */

static void harden_step(const char *file, const char *workflow, const char *job, size_t si, json_t *with, json_t *out,
			struct diag *errs, struct diag *notes)
{
	/* Harden-Runner's default (its action.yml) is block */
	const char *policy = json_string_value(json_object_get(with, "egress-policy")) ?: "block";
	const char *list = json_string_value(json_object_get(with, "allowed-endpoints")) ?: "";
	struct rules r = { json_array(), json_object() };
	_cleanup_free_ char *full = workflow ? strdup_printf("%s-%s", workflow, job) : strdup(job);
	_cleanup_free_ char *copy = strdup(list), *name = name_of(full ?: job);
	const char *key;
	json_t *v;
	size_t nerr = errs->n, k = 0;
	char *save = NULL;

	json_object_foreach(with, key, v) {
		if (!strcmp(key, "policy") || !strcmp(key, "use-policy-store")) {
			BAD("jobs.%s.steps[%zu].with.%s: the endpoints live in Harden-Runner's remote policy store, not in "
			    "the workflow: nothing to import from here", job, si, key);
			goto out;
		}
		if (strcmp(key, "egress-policy") && strcmp(key, "allowed-endpoints"))
			NOTE("jobs.%s.steps[%zu].with.%s: not egress: not imported", job, si, key);
	}
	if (strstr(list, "${{")) {
		BAD("jobs.%s.steps[%zu].with.allowed-endpoints: an expression (${{ ... }}): the endpoints are known only "
		    "when the workflow runs", job, si);
		goto out;
	}
	if (strcmp(policy, "block") && strcmp(policy, "audit")) {
		BAD("jobs.%s.steps[%zu].with.egress-policy: \"%s\": block or audit", job, si, policy);
		goto out;
	}
	if (!strcmp(policy, "audit") && !*list)
		NOTE("jobs.%s: egress-policy audit with no allowed-endpoints: an audit policy that reports every "
		     "destination", job);
	for (char *e = strtok_r(copy, " \t\r\n,", &save); e; e = strtok_r(NULL, " \t\r\n,", &save), k++) {
		char host[256], port[8];
		bool wild = !strncmp(e, "*.", 2);

		/* Harden-Runner takes a plain host as host:443 */
		if (!split_endpoint(e, host, sizeof(host), port, sizeof(port), "443")) {
			BAD("jobs.%s.steps[%zu].with.allowed-endpoints: \"%s\": expected host or host:port", job, si, e);
			continue;
		}
		if (is_srv_name(host + (wild ? 2 : 0))) {
			NOTE("jobs.%s.steps[%zu].with.allowed-endpoints: \"%s\": a service-discovery (SRV) name, never a "
			     "connect target: left out", job, si, e);
			continue;
		}
		if (strchr(host + (wild ? 2 : 0), '*') || (!is_ip(host) && !is_name(host + (wild ? 2 : 0)))) {
			BAD("jobs.%s.steps[%zu].with.allowed-endpoints: \"%s\": a host name, an address, or *.domain", job,
			    si, e);
			continue;
		}
		if (wild) { /* Harden-Runner's *.domain: every subdomain, at any depth; not the domain */
			_cleanup_free_ char *all = strdup_printf("**.%s", host + 2);

			rule_add(&r, all, "tcp", port);
		} else {
			rule_add(&r, host, "tcp", port);
		}
	}
	if (errs->n == nerr)
		json_array_append_new(out, policy_doc(name, !strcmp(policy, "block") ? "enforce" : "audit",
						      json_incref(r.list)));
out:
	json_decref(r.list);
	json_decref(r.index);
}

static int import_harden(const char *file, json_t *doc, const char *only, json_t *out, struct diag *errs,
			 struct diag *notes)
{
	json_t *jobs = json_object_get(doc, "jobs"), *j, *step;
	const char *job;
	size_t si, found = 0;

	if (!json_is_object(jobs)) {
		BAD("jobs: missing: a GitHub Actions workflow has jobs: {JOB: {steps: [...]}}");
		return -EINVAL;
	}
	json_object_foreach(jobs, job, j) {
		if (only && strcmp(job, only))
			continue;
		json_array_foreach(json_object_get(j, "steps"), si, step) {
			const char *uses = json_string_value(json_object_get(step, "uses"));

			if (!uses || strncmp(uses, "step-security/harden-runner@", 28))
				continue;
			found++;
			harden_step(file, json_string_value(json_object_get(doc, "name")), job, si,
				    json_object_get(step, "with"), out, errs, notes);
			break; /* the first one in a job is the one in force */
		}
	}
	if (!found)
		BAD("jobs%s%s: no step uses step-security/harden-runner", only ? "." : "", only ?: "");
	return found ? 0 : -EINVAL;
}

int policy_import(int format, const char *file, json_t *doc, const char *select, json_t **ret, struct diag *errs,
		  struct diag *notes)
{
	json_t *out = json_array();
	size_t nerr = errs->n;
	int r;

	if (!out)
		return -ENOMEM;
	switch (format) {
	case IMPORT_DOCKER_MCP:
		r = import_docker(file, doc, select, out, errs, notes);
		break;
	case IMPORT_TOOLHIVE: {
		_cleanup_free_ char *base = NULL;

		if (json_is_object(json_object_get(doc, "servers"))) {
			r = import_toolhive_registry(file, json_object_get(doc, "servers"), select, out, errs, notes);
			break;
		}
		if (upstream_server(doc) || json_is_array(json_object_get(json_object_get(doc, "data"), "servers"))) {
			r = import_toolhive_upstream(file, doc, select, out, errs, notes);
			break;
		}
		if (!select && json_is_string(json_object_get(doc, "name"))) { /* the profile's own name */
			base = name_of(json_string_value(json_object_get(doc, "name")));
		} else if (!select) { /* a profile without a name: the file's */
			const char *b = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;

			base = name_of(b);
			if (base && strrchr(base, '-') && (!strcmp(strrchr(base, '-'), "-json") || !strcmp(strrchr(base, '-'), "-yaml")))
				*strrchr(base, '-') = '\0';
		}
		r = import_toolhive(file, doc, select ?: base, out, errs, notes);
		break;
	}
	case IMPORT_HARDEN_RUNNER:
		r = import_harden(file, doc, select, out, errs, notes);
		break;
	default:
		r = -EINVAL;
	}
	if (r < 0 || errs->n > nerr) {
		json_decref(out);
		return r < 0 ? r : -EINVAL;
	}
	{
		/* where it came from: --out replaces only what the same source wrote */
		_cleanup_free_ char *from = strdup_printf("imported from %s (%s) by mcpfence policy import", file,
							  format_names[format]);
		size_t i;
		json_t *p;

		json_array_foreach(out, i, p)
			json_object_set_new(json_object_get(p, "metadata"), "description", json_string(from ?: ""));
	}
	*ret = out;
	return 0;
}
