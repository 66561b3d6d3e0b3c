// SPDX-License-Identifier: MIT
#include "policy.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "claim_path.h"
#include "metadata.h"
#include "providers.h"

#define PORT_SET_MAX 256 /* port ranges per protocol gathered for one prefix before merging */

void policy_free(struct policy *p)
{
	if (!p)
		return;
	free(p->name);
	free(p->file);
	free(p->namespace);
	strv_free(p->namespaces);
	json_decref(p->identity);
	for (size_t i = 0; i < p->negress; i++)
		free(p->egress[i].ports);
	free(p->egress);
	free(p->prefixes);
	for (size_t i = 0; i < p->nnames; i++)
		free(p->names[i].name);
	free(p->names);
	policy_credentials_free(p->credentials, p->ncredentials);
	free(p);
}

uint32_t policy_id_of(const char *name)
{
	uint32_t h = 2166136261u; /* FNV-1a: stable across restarts, no state needed */

	for (const unsigned char *s = (const unsigned char *)name; *s; s++)
		h = (h ^ *s) * 16777619u;
	return h ? h : 1;
}

static void prefix_mask(uint8_t *addr, unsigned plen, unsigned bits)
{
	for (unsigned i = 0; i < bits / 8; i++) {
		unsigned keep = plen >= (i + 1) * 8 ? 8 : plen > i * 8 ? plen - i * 8 : 0;

		addr[i] &= (uint8_t)(0xff00 >> keep);
	}
}

/*
 * "10.0.4.17", "10.0.0.0/8", "2606:50c0::/32". Host bits must be clear. IPv4-mapped IPv6
 * prefixes (::ffff:a.b.c.d/96+n) become IPv4 prefixes: the kernel checks mapped destinations
 * against the IPv4 rules.
 */
int policy_cidr_parse(const char *s, struct policy_prefix *ret, const char **why)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	struct policy_prefix p = {};
	unsigned long plen;
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	uint8_t masked[16];

	*why = "is not an IPv4 or IPv6 address or CIDR";
	if (alen == 0 || alen >= INET6_ADDRSTRLEN)
		return -EINVAL;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET, buf, p.addr) == 1)
		p.family = AF_INET;
	else if (inet_pton(AF_INET6, buf, p.addr) == 1)
		p.family = AF_INET6;
	else
		return -EINVAL;
	plen = p.family == AF_INET ? 32 : 128;
	if (slash) {
		char *end;

		if (!slash[1] || slash[1] == '-' || slash[1] == '+' || (slash[1] == '0' && slash[2])) {
			*why = "has a bad prefix length";
			return -EINVAL;
		}
		plen = strtoul(slash + 1, &end, 10);
		if (*end || plen > (p.family == AF_INET ? 32u : 128u)) {
			*why = "has a bad prefix length";
			return -EINVAL;
		}
	}
	memcpy(masked, p.addr, 16);
	prefix_mask(masked, (unsigned)plen, p.family == AF_INET ? 32 : 128);
	if (memcmp(masked, p.addr, 16)) {
		*why = "has host bits set beyond its prefix length";
		return -EINVAL;
	}
	p.plen = (uint8_t)plen;
	if (p.family == AF_INET6 && plen >= 96) {
		static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

		if (!memcmp(p.addr, mapped, 12)) {
			p.family = AF_INET;
			p.plen = (uint8_t)(plen - 96);
			memmove(p.addr, p.addr + 12, 4);
			memset(p.addr + 4, 0, 12);
		}
	}
	*ret = p;
	return 0;
}

static int port_number(const char *s, const char **end, uint16_t *ret)
{
	unsigned long v = 0;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	while (*p >= '0' && *p <= '9') {
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > 65535)
			return -ERANGE;
		p++;
	}
	*end = p;
	*ret = (uint16_t)v;
	return 0;
}

/* "443", "6000-6010" */
int policy_ports_parse(const char *s, struct policy_ports *ret)
{
	const char *end;
	uint16_t lo, hi;

	if (port_number(s, &end, &lo) < 0)
		return -EINVAL;
	hi = lo;
	if (*end == '-') {
		if (port_number(end + 1, &end, &hi) < 0)
			return -EINVAL;
	}
	if (*end || hi < lo)
		return -EINVAL;
	ret->lo = lo;
	ret->hi = hi;
	return 0;
}

/* Walking context: the file name and a JSON path for messages. */
struct walk {
	const char *file;
	struct diag *errs;
	bool machine_identity; /* the identity block selects a machine (providers.h) */
};

#define BAD(w, fmt, ...) diag_add((w)->errs, "%s: " fmt, (w)->file, ##__VA_ARGS__)


static const char *json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

/* A claim matcher: a string (byte-exact) or {"glob": "..."}. */
static void check_matcher(struct walk *w, json_t *v, const char *path)
{
	json_t *g;

	if (json_is_string(v)) {
		if (!json_string_length(v))
			BAD(w, "%s: must not be empty", path);
		return;
	}
	if (!json_is_object(v)) {
		BAD(w, "%s: must be a string or {\"glob\": \"...\"}, not %s", path, json_type_name(v));
		return;
	}
	diag_unknown_fields(w->errs, w->file, v, path, (const char *const[]){ "glob", NULL });
	g = json_object_get(v, "glob");
	if (!json_is_string(g) || !json_string_length(g))
		BAD(w, "%s.glob: must be a non-empty string", path);
}

static void check_identity(struct walk *w, json_t *id)
{
	json_t *iss, *aud, *sub, *claims;
	const char *key;
	json_t *v;

	if (!json_is_object(id)) {
		BAD(w, "spec.identity: must be an object, not %s", json_type_name(id));
		return;
	}
	diag_unknown_fields(w->errs, w->file, id, "spec.identity",
		      (const char *const[]){ "issuer", "audience", "subject", "claims", NULL });
	iss = json_object_get(id, "issuer");
	aud = json_object_get(id, "audience");
	sub = json_object_get(id, "subject");
	claims = json_object_get(id, "claims");
	if (!json_is_string(iss) || !json_string_length(iss))
		BAD(w, "spec.identity.issuer: required, a non-empty string");
	if (aud && (!json_is_string(aud) || !json_string_length(aud)))
		BAD(w, "spec.identity.audience: must be a non-empty string");
	if (sub)
		check_matcher(w, sub, "spec.identity.subject");
	if (claims && !json_is_object(claims)) {
		BAD(w, "spec.identity.claims: must be an object, not %s", json_type_name(claims));
		claims = NULL;
	}
	json_object_foreach(claims, key, v) {
		_cleanup_free_ char *path = strdup_printf("spec.identity.claims.%s", key);
		struct claim_path cp;
		const char *why = NULL;

		if (!path)
			continue;
		if (claim_path_parse(key, &cp, &why) < 0)
			BAD(w, "%s: not a claim path: %s (a key with dots or slashes is written "
			       "['KEY'], e.g. ['https://sts.amazonaws.com/'].aws_account)", path, why);
		check_matcher(w, v, path);
	}
	/* A shared issuer signs for every workload on it: demand one be named. */
	if (json_is_string(iss))
		provider_check_identity(id, w->file, w->errs, &w->machine_identity);
}

static int port_item(struct walk *w, json_t *v, const char *path, struct policy_ports *ret)
{
	if (json_is_integer(v)) {
		json_int_t n = json_integer_value(v);

		if (n < 0 || n > 65535) {
			BAD(w, "%s: %lld is not a port", path, (long long)n);
			return -EINVAL;
		}
		ret->lo = ret->hi = (uint16_t)n;
		return 0;
	}
	if (!json_is_string(v)) {
		BAD(w, "%s: must be a port string such as \"443\" or \"6000-6010\", not %s", path,
		    json_type_name(v));
		return -EINVAL;
	}
	if (policy_ports_parse(json_string_value(v), ret) < 0) {
		BAD(w, "%s: \"%s\" is not a port or port range", path, json_string_value(v));
		return -EINVAL;
	}
	return 0;
}

static int parse_egress(struct walk *w, json_t *eg, struct policy *p)
{
	size_t i, total = 0, name_rules = 0;
	bool has_names;
	json_t *rule;

	if (!json_is_array(eg)) {
		BAD(w, "spec.egress: required, an array of rules");
		return -EINVAL;
	}
	json_array_foreach(eg, i, rule) {
		json_t *to = json_object_get(rule, "to");

		if (json_is_array(to))
			total += json_array_size(to);
	}
	if (total > POLICY_PREFIXES_MAX) {
		BAD(w, "spec.egress: %zu prefixes, more than the limit of %u", total,
		    POLICY_PREFIXES_MAX);
		return -E2BIG;
	}
	p->egress = calloc(json_array_size(eg) + 1, sizeof(*p->egress));
	p->prefixes = calloc(total + 1, sizeof(*p->prefixes));
	p->names = calloc(total + 1, sizeof(*p->names));
	if (!p->egress || !p->prefixes || !p->names)
		return -ENOMEM;

	json_array_foreach(eg, i, rule) {
		struct policy_egress *e = &p->egress[p->negress++];
		json_t *to, *ports, *proto, *v;
		size_t j;

		e->protos = MCPF_PROTO_ANY;
		e->tls = POLICY_TLS_DEFAULT;
		e->all_ports = true;
		if (!json_is_object(rule)) {
			BAD(w, "spec.egress[%zu]: must be an object, not %s", i, json_type_name(rule));
			continue;
		}
		{
			_cleanup_free_ char *path = strdup_printf("spec.egress[%zu]", i);

			diag_unknown_fields(w->errs, w->file, rule, path ? path : "spec.egress",
				      (const char *const[]){ "to", "ports", "protocol", "tls", NULL });
		}
		proto = json_object_get(rule, "protocol");
		if (proto) {
			static const uint8_t bits[] = { MCPF_PROTO_TCP, MCPF_PROTO_UDP, MCPF_PROTO_ANY };
			int k = str_choice(json_string_value(proto),
					   (const char *const[]){ "tcp", "udp", "any", NULL });

			if (k < 0)
				BAD(w, "spec.egress[%zu].protocol: must be \"tcp\", \"udp\" or \"any\"",
				    i);
			else
				e->protos = bits[k];
		}
		v = json_object_get(rule, "tls");
		if (v) {
			static const uint8_t modes[] = { MCPF_TLS_ENFORCE, MCPF_TLS_AUDIT, MCPF_TLS_OFF };
			int k = str_choice(json_string_value(v),
					   (const char *const[]){ "enforce", "audit", "off", NULL });

			if (k < 0)
				BAD(w, "spec.egress[%zu].tls: must be \"enforce\", \"audit\" or \"off\"", i);
			else
				e->tls = modes[k];
		}
		ports = json_object_get(rule, "ports");
		if (ports && (!json_is_array(ports) || !json_array_size(ports))) {
			BAD(w, "spec.egress[%zu].ports: must be a non-empty array (omit it for all ports)",
			    i);
		} else if (ports) {
			e->all_ports = false;
			e->ports = calloc(json_array_size(ports), sizeof(*e->ports));
			if (!e->ports)
				return -ENOMEM;
			json_array_foreach(ports, j, v) {
				char path[64];

				snprintf(path, sizeof(path), "spec.egress[%zu].ports[%zu]", i, j);
				if (port_item(w, v, path, &e->ports[e->nports]) == 0)
					e->nports++;
			}
		}
		to = json_object_get(rule, "to");
		if (!json_is_array(to) || !json_array_size(to)) {
			BAD(w, "spec.egress[%zu].to: required, a non-empty array of addresses, CIDRs "
			       "or names", i);
			continue;
		}
		has_names = false;
		json_array_foreach(to, j, v) {
			struct policy_prefix *pp = &p->prefixes[p->nprefixes];
			const char *why;

			if (!json_is_string(v)) {
				BAD(w, "spec.egress[%zu].to[%zu]: must be a string (an address, CIDR or "
				       "name), not %s", i, j, json_type_name(v));
				continue;
			}
			if (name_is_name(json_string_value(v))) {
				struct policy_name *pn = &p->names[p->nnames];
				int r = name_pattern_parse(json_string_value(v), &pn->kind, &pn->name, &why);

				if (r == -ENOMEM)
					return r;
				if (r < 0) {
					BAD(w, "spec.egress[%zu].to[%zu]: name \"%s\" %s", i, j,
					    json_string_value(v), why);
					continue;
				}
				pn->egress = (uint32_t)(p->negress - 1);
				p->nnames++;
				has_names = true;
				continue;
			}
			if (policy_cidr_parse(json_string_value(v), pp, &why) < 0) {
				BAD(w, "spec.egress[%zu].to[%zu]: \"%s\" %s", i, j, json_string_value(v),
				    why);
				continue;
			}
			pp->egress = (uint32_t)(p->negress - 1);
			p->nprefixes++;
			e->naddresses++;
		}
		if (e->tls != POLICY_TLS_DEFAULT && e->tls != MCPF_TLS_OFF && !has_names)
			BAD(w, "spec.egress[%zu].tls: the ClientHello check applies to rules with names "
			       "(addresses and CIDRs are not checked)", i);
		else if (e->tls != POLICY_TLS_DEFAULT && e->tls != MCPF_TLS_OFF && e->protos == MCPF_PROTO_UDP)
			BAD(w, "spec.egress[%zu].tls: a udp rule carries no TLS over TCP to check (set "
			       "\"protocol\" to \"tcp\" or \"any\", or drop \"tls\")", i);
		if (has_names && ++name_rules == MCPF_MAX_NAME_RULES + 1)
			BAD(w, "spec.egress[%zu]: more than %d rules list names (put the names that share "
			       "ports and protocol in one rule)", i, MCPF_MAX_NAME_RULES);
	}
	return 0;
}

static bool name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= MCPF_POLICY_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      (i > 0 && (c == '-' || c == '_' || c == '.'))))
			return false;
	}
	return true;
}

/* A Kubernetes namespace name: an RFC 1123 DNS label. */
static bool namespace_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

/*
 * Who may select the policy: metadata.namespace makes an EgressPolicy namespaced (its name
 * becomes NAMESPACE/NAME); a ClusterEgressPolicy lists the namespaces whose pods it admits.
 */
static int parse_scope(struct walk *w, bool cluster, json_t *meta, json_t *spec, struct policy *p)
{
	json_t *ns = json_object_get(meta, "namespace"), *list = json_object_get(spec, "namespaces"), *v;
	size_t i;

	if (cluster) {
		p->scope = POLICY_CLUSTER;
		if (ns)
			BAD(w, "metadata.namespace: a ClusterEgressPolicy has none (it lists the namespaces it "
			       "admits in spec.namespaces)");
		if (!json_is_array(list) || !json_array_size(list) || json_array_size(list) > POLICY_NAMESPACES_MAX) {
			BAD(w, "spec.namespaces: required for a ClusterEgressPolicy: 1-%d namespace names, or "
			       "[\"*\"] for every namespace", POLICY_NAMESPACES_MAX);
			return 0;
		}
		p->namespaces = calloc(json_array_size(list) + 1, sizeof(char *));
		if (!p->namespaces)
			return -ENOMEM;
		json_array_foreach(list, i, v) {
			const char *n = json_string_value(v);

			if (!n || (strcmp(n, "*") && !namespace_name_valid(n)))
				BAD(w, "spec.namespaces[%zu]: a namespace name (a DNS label of 1-63 characters) or \"*\"", i);
			else if (!(p->namespaces[i] = strdup(n)))
				return -ENOMEM;
		}
		return 0;
	}
	if (list)
		BAD(w, "spec.namespaces: only a ClusterEgressPolicy lists namespaces (an EgressPolicy "
		       "names its own in metadata.namespace)");
	if (!ns)
		return 0;
	if (!json_is_string(ns) || !namespace_name_valid(json_string_value(ns))) {
		BAD(w, "metadata.namespace: a namespace name (a DNS label of 1-63 characters)");
		return 0;
	}
	p->scope = POLICY_NAMESPACED;
	if (!(p->namespace = strdup(json_string_value(ns))))
		return -ENOMEM;
	if (p->name) {
		char *full = strdup_printf("%s/%s", p->namespace, p->name);

		if (!full)
			return -ENOMEM;
		free(p->name);
		p->name = full;
		if (strlen(full) >= MCPF_POLICY_NAME_MAX)
			BAD(w, "metadata: \"%s\": a namespaced policy's NAMESPACE/NAME is at most %d characters",
			    full, MCPF_POLICY_NAME_MAX - 1);
	}
	return 0;
}

int policy_parse(const char *file, const char *text, size_t len, struct policy **ret,
		 struct diag *errs)
{
	_cleanup_(policy_freep) struct policy *p = NULL;
	struct walk w = { .file = file, .errs = errs };
	size_t nerr = errs->n;
	json_error_t jerr;
	json_t *root, *meta, *spec, *v;
	bool cluster = false;
	int r;

	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		BAD(&w, "line %d column %d: %s", jerr.line, jerr.column, jerr.text);
		return -EINVAL;
	}
	p = calloc(1, sizeof(*p));
	if (!p || !(p->file = strdup(file))) {
		json_decref(root);
		return -ENOMEM;
	}
	if (!json_is_object(root)) {
		BAD(&w, "the document must be a JSON object");
		json_decref(root);
		return -EINVAL;
	}
	diag_unknown_fields(w.errs, w.file, root, "",
		      (const char *const[]){ "apiVersion", "kind", "metadata", "spec", NULL });
	v = json_object_get(root, "apiVersion");
	if (!json_is_string(v) || strcmp(json_string_value(v), "mcpfence/v1"))
		BAD(&w, "apiVersion: must be \"mcpfence/v1\"");
	v = json_object_get(root, "kind");
	cluster = json_is_string(v) && !strcmp(json_string_value(v), "ClusterEgressPolicy");
	if (!cluster && !(json_is_string(v) && !strcmp(json_string_value(v), "EgressPolicy")))
		BAD(&w, "kind: must be \"EgressPolicy\" or \"ClusterEgressPolicy\"");

	meta = json_object_get(root, "metadata");
	if (!json_is_object(meta)) {
		BAD(&w, "metadata: required, an object with a name");
	} else {
		diag_unknown_fields(w.errs, w.file, meta, "metadata",
			      (const char *const[]){ "name", "namespace", "description", NULL });
		v = json_object_get(meta, "name");
		if (!json_is_string(v) || !name_valid(json_string_value(v)))
			BAD(&w, "metadata.name: required: 1-%d characters of a-z, 0-9, '-', '_', '.', "
				"starting with a letter or digit",
			    MCPF_POLICY_NAME_MAX - 1);
		else if (!(p->name = strdup(json_string_value(v)))) {
			json_decref(root);
			return -ENOMEM;
		}
		v = json_object_get(meta, "description");
		if (v && !json_is_string(v))
			BAD(&w, "metadata.description: must be a string");
	}

	spec = json_object_get(root, "spec");
	if (!json_is_object(spec)) {
		BAD(&w, "spec: required, an object");
	} else {
		diag_unknown_fields(w.errs, w.file, spec, "spec",
			      (const char *const[]){ "mode", "identity", "egress", "credentials", "namespaces", NULL });
		v = json_object_get(spec, "mode");
		if (json_is_string(v) && !strcmp(json_string_value(v), "audit"))
			p->mode = MCPF_MODE_AUDIT;
		else if (v && !(json_is_string(v) && !strcmp(json_string_value(v), "enforce")))
			BAD(&w, "spec.mode: must be \"enforce\" or \"audit\"");
		v = json_object_get(spec, "identity");
		if (v) {
			check_identity(&w, v);
			p->identity = json_incref(v);
			p->machine_identity = w.machine_identity;
		}
		r = parse_scope(&w, cluster, meta, spec, p);
		if (r == 0)
			r = parse_egress(&w, json_object_get(spec, "egress"), p);
		if (r == 0) /* after egress: a credential's hosts are checked against it */
			r = policy_credentials_parse(file, errs, json_object_get(spec, "credentials"), p);
		if (r == -ENOMEM) {
			json_decref(root);
			return r;
		}
	}
	json_decref(root);
	if (errs->n != nerr)
		return -EINVAL;
	*ret = TAKE_PTR(p);
	return 0;
}

void policy_warnings(const struct policy *p, struct diag *warnings)
{
	for (size_t k = 0; k < metadata_endpoints_n && p->machine_identity; k++)
		if (metadata_named(p, &metadata_endpoints[k]))
			diag_add(warnings, "%s: spec.egress: allows the metadata endpoint %s (%s) to a "
					   "policy that selects a machine-level identity: a workload bound "
					   "to it can mint that machine's tokens for itself or others",
				 p->file, metadata_endpoints[k].address, metadata_endpoints[k].what);
}

int policy_parse_file(const char *file, struct policy **ret, struct diag *errs)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r;

	r = read_file(file, POLICY_FILE_MAX, &text, &len);
	if (r == -EFBIG) {
		diag_add(errs, "%s: larger than the limit of %u MiB", file, POLICY_FILE_MAX >> 20);
		return r;
	}
	if (r < 0) {
		diag_add(errs, "%s: %s", file, strerror(-r));
		return r;
	}
	return policy_parse(file, text, len, ret, errs);
}

void policy_set_clear(struct policy_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		policy_free(set->items[i]);
	free(set->items);
	set->items = NULL;
	set->n = 0;
}

void policy_set_drop_rules(struct policy_set *set)
{
	for (size_t i = 0; i < set->n; i++) {
		struct policy *p = set->items[i];

		free(p->prefixes);
		p->prefixes = NULL;
		p->nprefixes = 0;
	}
}

struct policy *policy_set_find(const struct policy_set *set, const char *name)
{
	for (size_t i = 0; i < set->n; i++)
		if (!strcmp(set->items[i]->name, name))
			return set->items[i];
	return NULL;
}

int policy_set_add(struct policy_set *set, struct policy *p, struct diag *errs)
{
	struct policy **n, *other = policy_set_find(set, p->name);

	if (other) {
		diag_add(errs, "%s: metadata.name: \"%s\" is already defined in %s", p->file, p->name,
			 other->file);
		return -EEXIST;
	}
	for (size_t i = 0; i < set->n; i++)
		if (policy_id_of(set->items[i]->name) == policy_id_of(p->name)) {
			diag_add(errs, "%s: metadata.name: \"%s\" collides with \"%s\"; rename one",
				 p->file, p->name, set->items[i]->name);
			return -EEXIST;
		}
	n = realloc(set->items, (set->n + 1) * sizeof(struct policy *));
	if (!n)
		return -ENOMEM;
	set->items = n;
	set->items[set->n++] = p;
	return 0;
}

static int set_add_file(struct policy_set *set, const char *file, struct diag *errs)
{
	_cleanup_(policy_freep) struct policy *p = NULL;
	int r;

	r = policy_parse_file(file, &p, errs);
	if (r == 0 && (r = policy_set_add(set, p, errs)) == 0)
		p = NULL; /* the set's now */
	return r;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int policy_set_load(char *const *paths, size_t npaths, struct policy_set *set, struct diag *errs)
{
	int r = 0;

	for (size_t i = 0; i < npaths; i++) {
		struct stat st;
		struct dirent *de;
		char **names = NULL;
		size_t nnames = 0;
		DIR *d;

		if (stat(paths[i], &st) < 0) {
			diag_add(errs, "%s: %s", paths[i], strerror(errno));
			r = -errno;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			int k = set_add_file(set, paths[i], errs);

			if (k < 0 && r == 0)
				r = k;
			continue;
		}
		d = opendir(paths[i]);
		if (!d) {
			diag_add(errs, "%s: %s", paths[i], strerror(errno));
			r = -errno;
			continue;
		}
		while ((de = readdir(d))) {
			size_t l = strlen(de->d_name);
			char **nn;

			if (de->d_name[0] == '.' || l < 6 || strcmp(de->d_name + l - 5, ".json"))
				continue;
			nn = realloc(names, (nnames + 1) * sizeof(*nn));
			if (!nn)
				break;
			names = nn;
			names[nnames] = strdup_printf("%s/%s", paths[i], de->d_name);
			if (names[nnames])
				nnames++;
		}
		closedir(d);
		if (nnames)
			qsort(names, nnames, sizeof(*names), cmp_str);
		for (size_t j = 0; j < nnames; j++) {
			int k = set_add_file(set, names[j], errs);

			if (k < 0 && r == 0)
				r = k;
			free(names[j]);
		}
		free(names);
	}
	return r;
}

/* ---- compiler ---- */

void policy_compiled_clear(struct policy_compiled *c)
{
	free(c->v4);
	free(c->v6);
	free(c->names);
	free(c->rule_digest);
	free(c->unattributed);
	memset(c, 0, sizeof(*c));
}

int policy_compiled_keys(const struct policy_compiled *c, struct policy_keys *out)
{
	memset(out, 0, sizeof(*out));
	out->v4 = calloc(c->n4 + 1, sizeof(*out->v4));
	out->v6 = calloc(c->n6 + 1, sizeof(*out->v6));
	out->names = calloc(c->nnames + 1, sizeof(*out->names));
	if (!out->v4 || !out->v6 || !out->names) {
		policy_keys_clear(out);
		return -ENOMEM;
	}
	for (size_t i = 0; i < c->n4; i++) {
		out->v4[i].plen = c->v4[i].plen;
		memcpy(out->v4[i].addr, c->v4[i].addr, 16);
	}
	for (size_t i = 0; i < c->n6; i++) {
		out->v6[i].plen = c->v6[i].plen;
		memcpy(out->v6[i].addr, c->v6[i].addr, 16);
	}
	for (size_t i = 0; i < c->nnames; i++)
		out->names[i] = c->names[i].key;
	out->n4 = c->n4;
	out->n6 = c->n6;
	out->nnames = c->nnames;
	return 0;
}

void policy_keys_clear(struct policy_keys *k)
{
	free(k->v4);
	free(k->v6);
	free(k->names);
	memset(k, 0, sizeof(*k));
}

/* Unique prefixes of one family, sorted by (addr, plen), each with its direct rules. */
struct uprefix {
	uint8_t plen;
	uint8_t addr[16];
	size_t first, count; /* range in the sorted prefix array */
};

/* qsort_r order: address (of *addr_bytes bytes), then prefix length */
static int cmp_prefix(const void *a, const void *b, void *addr_bytes)
{
	const struct policy_prefix *x = a, *y = b;
	int c = memcmp(x->addr, y->addr, *(const size_t *)addr_bytes);

	if (c)
		return c;
	return (int)x->plen - (int)y->plen;
}

/* Open-addressing table of unique prefixes keyed by (plen, addr). */
struct ptable {
	size_t cap;
	uint32_t *slots; /* index + 1 into the uprefix array, 0 = empty */
};

static uint64_t prefix_hash(uint8_t plen, const uint8_t *addr, size_t nb)
{
	uint64_t h = 1469598103934665603ULL ^ plen;

	for (size_t i = 0; i < nb; i++)
		h = (h ^ addr[i]) * 1099511628211ULL;
	return h ^ (h >> 29);
}

static void ptable_put(struct ptable *t, const struct uprefix *u, size_t idx, size_t nb)
{
	size_t i = prefix_hash(u[idx].plen, u[idx].addr, nb) & (t->cap - 1);

	while (t->slots[i])
		i = (i + 1) & (t->cap - 1);
	t->slots[i] = (uint32_t)idx + 1;
}

static const struct uprefix *ptable_get(const struct ptable *t, const struct uprefix *u,
					uint8_t plen, const uint8_t *addr, size_t nb)
{
	size_t i = prefix_hash(plen, addr, nb) & (t->cap - 1);

	while (t->slots[i]) {
		const struct uprefix *c = &u[t->slots[i] - 1];

		if (c->plen == plen && !memcmp(c->addr, addr, nb))
			return c;
		i = (i + 1) & (t->cap - 1);
	}
	return NULL;
}

/* Port ranges of one protocol, gathered then merged into sorted disjoint ranges. */
/* Ports a prefix allows for one protocol, each with the rule granting it and that rule's rank
 * (the length of the prefix it names: the most specific grant is the one credited). */
struct port_grant {
	uint16_t lo, hi;
	uint32_t rule; /* spec.egress index */
	uint8_t rank;
};

struct port_set {
	size_t n;
	struct port_grant r[PORT_SET_MAX];
};

static int cmp_grants(const void *a, const void *b)
{
	const struct port_grant *x = a, *y = b;

	if (x->rule != y->rule)
		return x->rule < y->rule ? -1 : 1;
	if (x->rank != y->rank)
		return (int)x->rank - (int)y->rank;
	return x->lo != y->lo ? (int)x->lo - (int)y->lo : (int)x->hi - (int)y->hi;
}

static int port_set_add(struct port_set *s, uint16_t lo, uint16_t hi, uint32_t rule, uint8_t rank)
{
	if (s->n == PORT_SET_MAX)
		return -E2BIG;
	s->r[s->n] = (struct port_grant){ .lo = lo, .hi = hi, .rule = rule, .rank = rank };
	s->n++;
	return 0;
}

/* Join overlapping and adjacent ranges of one rule at one rank. */
static void port_set_merge(struct port_set *s)
{
	size_t out = 0;

	if (!s->n)
		return;
	qsort(s->r, s->n, sizeof(s->r[0]), cmp_grants);
	for (size_t i = 1; i < s->n; i++) {
		struct port_grant *o = &s->r[out];

		if (s->r[i].rule == o->rule && s->r[i].rank == o->rank &&
		    (uint32_t)s->r[i].lo <= (uint32_t)o->hi + 1) {
			if (s->r[i].hi > o->hi)
				o->hi = s->r[i].hi;
		} else {
			s->r[++out] = s->r[i];
		}
	}
	s->n = out + 1;
}

/* The grant credited for a port: the most specific, then the first rule; NULL if none. */
static const struct port_grant *port_set_best(const struct port_set *s, uint32_t port)
{
	const struct port_grant *best = NULL;

	for (size_t i = 0; i < s->n; i++)
		if (port >= s->r[i].lo && port <= s->r[i].hi &&
		    (!best || s->r[i].rank > best->rank ||
		     (s->r[i].rank == best->rank && s->r[i].rule < best->rule)))
			best = &s->r[i];
	return best;
}

/* What a prefix gathers from its covering prefixes' rules. */
struct grants {
	struct port_set tcp, udp;
	bool other;		/* some rule allows every protocol on every port */
	uint32_t other_rule;	/* ... the one credited for it */
	uint8_t other_rank;
};

static int gather(const struct policy *p, const struct policy_prefix *sorted, const struct uprefix *u,
		  struct grants *g)
{
	for (size_t k = 0; k < u->count; k++) {
		uint32_t rule = sorted[u->first + k].egress;
		const struct policy_egress *e = &p->egress[rule];

		if (e->protos == MCPF_PROTO_ANY && e->all_ports &&
		    (!g->other || u->plen > g->other_rank ||
		     (u->plen == g->other_rank && rule < g->other_rule))) {
			g->other = true;
			g->other_rule = rule;
			g->other_rank = u->plen;
		}
		for (size_t j = 0; j < (e->all_ports ? 1 : e->nports); j++) {
			uint16_t lo = e->all_ports ? 0 : e->ports[j].lo;
			uint16_t hi = e->all_ports ? 65535 : e->ports[j].hi;

			if ((e->protos & MCPF_PROTO_TCP) && port_set_add(&g->tcp, lo, hi, rule, u->plen) < 0)
				return -E2BIG;
			if ((e->protos & MCPF_PROTO_UDP) && port_set_add(&g->udp, lo, hi, rule, u->plen) < 0)
				return -E2BIG;
		}
	}
	return 0;
}

/* Extend the last range with these bits and rule when it ends just before lo, else add one. */
static int range_put(struct mcpf_allow *out, uint32_t lo, uint32_t hi, uint8_t bits, uint16_t rule)
{
	/* a sweep step adds at most two ranges (TCP and UDP apart): look back that far */
	for (uint32_t k = out->nranges; k > 0 && k + 2 > out->nranges; k--) {
		struct mcpf_port_range *r = &out->ranges[k - 1];

		if (r->protos == bits && r->rule == rule && (uint32_t)r->hi + 1 == lo) {
			r->hi = (uint16_t)hi;
			return 0;
		}
	}
	if (out->nranges == MCPF_MAX_PORT_RANGES)
		return -E2BIG;
	out->ranges[out->nranges++] = (struct mcpf_port_range){ .lo = (uint16_t)lo, .hi = (uint16_t)hi,
								 .protos = bits, .rule = rule };
	return 0;
}

/*
 * Turn the gathered TCP and UDP grants into (lo, hi, protocols, rule) ranges: a sweep over every
 * boundary, each elementary range credited to its most specific rule per protocol, neighbours
 * joined when protocols and rule agree. With `attribute` false the rules are not told apart
 * (the fewest ranges, each MCPF_RULE_UNATTRIBUTED): the fallback when attribution needs more
 * ranges than an entry holds.
 */
static int allow_build(const struct grants *g, bool attribute, struct mcpf_allow *out)
{
	uint32_t pts[4 * PORT_SET_MAX + 2];
	size_t npts = 0;
	int r = 0;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < g->tcp.n; i++) {
		pts[npts++] = g->tcp.r[i].lo;
		pts[npts++] = (uint32_t)g->tcp.r[i].hi + 1;
	}
	for (size_t i = 0; i < g->udp.n; i++) {
		pts[npts++] = g->udp.r[i].lo;
		pts[npts++] = (uint32_t)g->udp.r[i].hi + 1;
	}
	/* insertion sort: a few dozen points at most */
	for (size_t i = 1; i < npts; i++)
		for (size_t j = i; j > 0 && pts[j - 1] > pts[j]; j--) {
			uint32_t tmp = pts[j];

			pts[j] = pts[j - 1];
			pts[j - 1] = tmp;
		}
	for (size_t i = 0; i + 1 < npts && r == 0; i++) {
		uint32_t lo = pts[i], hi = pts[i + 1] - 1;
		const struct port_grant *t, *u;
		uint16_t tr, ur;

		if (pts[i] == pts[i + 1])
			continue;
		t = port_set_best(&g->tcp, lo);
		u = port_set_best(&g->udp, lo);
		tr = t && attribute ? (uint16_t)(t->rule < MCPF_RULE_UNATTRIBUTED ? t->rule : MCPF_RULE_UNATTRIBUTED)
				    : MCPF_RULE_UNATTRIBUTED;
		ur = u && attribute ? (uint16_t)(u->rule < MCPF_RULE_UNATTRIBUTED ? u->rule : MCPF_RULE_UNATTRIBUTED)
				    : MCPF_RULE_UNATTRIBUTED;
		if (t && u && tr == ur) {
			r = range_put(out, lo, hi, MCPF_PROTO_TCP | MCPF_PROTO_UDP, tr);
			continue;
		}
		if (t)
			r = range_put(out, lo, hi, MCPF_PROTO_TCP, tr);
		if (u && r == 0)
			r = range_put(out, lo, hi, MCPF_PROTO_UDP, ur);
	}
	if (r == 0 && g->other)
		r = range_put(out, 0, 0, MCPF_PROTO_OTHER,
			      attribute && g->other_rule < MCPF_RULE_UNATTRIBUTED ? (uint16_t)g->other_rule
										  : MCPF_RULE_UNATTRIBUTED);
	return r;
}

static const char *prefix_str(uint8_t family, const uint8_t *addr, uint8_t plen, char *buf,
			      size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(family, addr, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, plen);
	return buf;
}

static int compile_family(const struct policy *p, uint8_t family, struct policy_entry **ret,
			  size_t *ret_n, bool *unattributed, struct diag *errs)
{
	const size_t nb = family == AF_INET ? 4 : 16;
	const unsigned maxlen = family == AF_INET ? 32 : 128;
	_cleanup_free_ struct policy_prefix *sorted = NULL;
	_cleanup_free_ struct uprefix *u = NULL;
	_cleanup_free_ struct policy_entry *out = NULL;
	struct ptable t = {};
	bool used_len[129] = {};
	size_t n = 0, nu = 0;
	int r = 0;

	struct policy_prefix guards[METADATA_ENDPOINTS_MAX];
	size_t nguards = metadata_guards(p, family, guards);

	for (size_t i = 0; i < p->nprefixes; i++)
		n += p->prefixes[i].family == family;
	*ret = NULL;
	*ret_n = 0;
	n += nguards;
	if (!n)
		return 0;
	sorted = malloc(n * sizeof(*sorted));
	u = malloc(n * sizeof(*u));
	if (!sorted || !u)
		return -ENOMEM;
	n = 0;
	for (size_t i = 0; i < p->nprefixes; i++)
		if (p->prefixes[i].family == family)
			sorted[n++] = p->prefixes[i];
	memcpy(sorted + n, guards, nguards * sizeof(*guards));
	n += nguards;
	qsort_r(sorted, n, sizeof(*sorted), cmp_prefix, (void *)&nb);
	for (size_t i = 0; i < n; i++) {
		if (nu && u[nu - 1].plen == sorted[i].plen &&
		    !memcmp(u[nu - 1].addr, sorted[i].addr, nb)) {
			u[nu - 1].count++;
			continue;
		}
		u[nu].plen = sorted[i].plen;
		memcpy(u[nu].addr, sorted[i].addr, 16);
		u[nu].first = i;
		u[nu].count = 1;
		used_len[sorted[i].plen] = true;
		nu++;
	}
	for (t.cap = 16; t.cap < nu * 2; t.cap <<= 1)
		;
	t.slots = calloc(t.cap, sizeof(*t.slots));
	out = calloc(nu, sizeof(*out));
	if (!t.slots || !out) {
		free(t.slots);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nu; i++)
		ptable_put(&t, u, i, nb);

	/* Each prefix gets its own rules plus those of every shorter prefix covering it. */
	for (size_t i = 0; i < nu && r == 0; i++) {
		struct grants g;

		g.tcp.n = g.udp.n = 0;
		g.other = false;
		out[i].plen = u[i].plen;
		memcpy(out[i].addr, u[i].addr, 16);
		if (sorted[u[i].first].egress == POLICY_EGRESS_GUARD) {
			/* a metadata endpoint no rule names: nothing of the rules covering it */
			out[i].allow.flags = MCPF_ALLOW_GUARD;
			continue;
		}
		for (unsigned len = 0; len <= u[i].plen && r == 0; len++) {
			uint8_t a[16];
			const struct uprefix *anc;

			if (!used_len[len])
				continue;
			memcpy(a, u[i].addr, 16);
			prefix_mask(a, len, maxlen);
			anc = len == u[i].plen ? &u[i] : ptable_get(&t, u, (uint8_t)len, a, nb);
			if (anc)
				r = gather(p, sorted, anc, &g);
		}
		if (r == 0) {
			port_set_merge(&g.tcp);
			port_set_merge(&g.udp);
			r = allow_build(&g, true, &out[i].allow);
			if (r == -E2BIG) { /* too many to tell the rules apart: merged, uncredited */
				r = allow_build(&g, false, &out[i].allow);
				for (size_t k = 0; k < g.tcp.n + g.udp.n && r == 0 && unattributed; k++)
					unattributed[k < g.tcp.n ? g.tcp.r[k].rule : g.udp.r[k - g.tcp.n].rule] = true;
				if (g.other && unattributed)
					unattributed[g.other_rule] = true;
			}
		}
		if (r < 0) {
			char buf[64];

			diag_add(errs, "%s: spec.egress: %s needs more than %d distinct port ranges",
				 p->file, prefix_str(family, u[i].addr, u[i].plen, buf, sizeof(buf)),
				 MCPF_MAX_PORT_RANGES);
			break;
		}
	}
	free(t.slots);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(out);
	*ret_n = nu;
	return 0;
}

static int cmp_name_entry(const void *a, const void *b)
{
	const struct policy_name_entry *x = a, *y = b;

	return memcmp(&x->key, &y->key, sizeof(x->key));
}

static int cmp_policy_name(const void *a, const void *b)
{
	const struct policy_name *x = a, *y = b;

	return x->kind != y->kind ? (int)x->kind - (int)y->kind : strcmp(x->name, y->name);
}

const char *policy_tls_name(uint8_t mode)
{
	return mode == MCPF_TLS_ENFORCE ? "enforce" : mode == MCPF_TLS_AUDIT ? "audit" : "off";
}

/*
 * The ClientHello check on a name rule's ranges: an explicit mode on every range (its TCP ports:
 * the mode is said of the rule, and a range it marks refuses UDP, QUIC), the default on the
 * usual TLS ports only, cutting ranges around them. -E2BIG when the cuts need more ranges.
 */
static int tls_mark(const struct policy_egress *eg, struct mcpf_allow *a)
{
	static const uint16_t usual[] = POLICY_TLS_PORTS;
	struct mcpf_allow out = { .flags = a->flags };

	if (eg->tls == MCPF_TLS_OFF || !(eg->protos & MCPF_PROTO_TCP))
		return 0;
	if (eg->tls != POLICY_TLS_DEFAULT) {
		for (uint32_t i = 0; i < a->nranges; i++)
			a->ranges[i].tls = eg->tls;
		a->flags |= MCPF_ALLOW_TLS;
		return 0;
	}
	for (uint32_t i = 0; i < a->nranges; i++) {
		struct mcpf_port_range r = a->ranges[i];
		uint32_t lo = r.lo;

		for (size_t u = 0; u < sizeof(usual) / sizeof(usual[0]) && lo <= r.hi; u++) {
			if (usual[u] < lo || usual[u] > r.hi || !(r.protos & MCPF_PROTO_TCP))
				continue;
			if (out.nranges + 2 > MCPF_MAX_PORT_RANGES)
				return -E2BIG;
			if (usual[u] > lo) {
				out.ranges[out.nranges] = r;
				out.ranges[out.nranges].lo = (uint16_t)lo;
				out.ranges[out.nranges++].hi = usual[u] - 1;
			}
			out.ranges[out.nranges] = r;
			out.ranges[out.nranges].lo = out.ranges[out.nranges].hi = usual[u];
			out.ranges[out.nranges++].tls = MCPF_TLS_ENFORCE;
			out.flags |= MCPF_ALLOW_TLS;
			lo = (uint32_t)usual[u] + 1;
		}
		if (lo <= r.hi) {
			if (out.nranges == MCPF_MAX_PORT_RANGES)
				return -E2BIG;
			out.ranges[out.nranges] = r;
			out.ranges[out.nranges++].lo = (uint16_t)lo;
		}
	}
	*a = out;
	return 0;
}

/*
 * Names: one kernel entry per distinct pattern, with a bit for every rule that lists it, and per
 * rule its ports and a digest of its patterns, ports and protocols (so that learned addresses
 * survive a restart or an unrelated reload, and stop when their rule changes).
 */
static int compile_names(const struct policy *p, struct policy_compiled *out, struct diag *errs)
{
	_cleanup_free_ struct policy_name *sorted = NULL;
	size_t n = 0;

	/* audit mode learns every name (only to name addresses in events, for `policy suggest`) */
	out->has_names = p->nnames || p->mode == MCPF_MODE_AUDIT;
	if (!p->nnames)
		return 0;
	out->names = calloc(p->nnames, sizeof(*out->names));
	sorted = calloc(p->nnames, sizeof(*sorted));
	if (!out->names || !sorted)
		return -ENOMEM;
	memcpy(sorted, p->names, p->nnames * sizeof(*sorted));
	qsort(sorted, p->nnames, sizeof(*sorted), cmp_policy_name);
	for (size_t e = 0; e < p->negress; e++) {
		const struct policy_egress *eg = &p->egress[e];
		struct mcpf_name_rule *rule;
		struct grants g = { 0 };
		uint64_t digest = NAME_FNV_OFFSET;
		uint32_t r = out->rules.nrules;
		bool listed = false;

		for (size_t i = 0; i < p->nnames; i++) {
			const struct policy_name *pn = &sorted[i];

			if (pn->egress != e)
				continue;
			listed = true;
			digest = name_fnv(&pn->kind, 1, digest);
			digest = name_fnv(pn->name, strlen(pn->name) + 1, digest);
		}
		if (!listed)
			continue;
		if (r == MCPF_MAX_NAME_RULES)
			return -E2BIG; /* the parser refused this already */
		rule = &out->rules.rules[r];
		for (size_t j = 0; j < (eg->all_ports ? 1 : eg->nports); j++) {
			uint16_t lo = eg->all_ports ? 0 : eg->ports[j].lo;
			uint16_t hi = eg->all_ports ? 65535 : eg->ports[j].hi;

			if (((eg->protos & MCPF_PROTO_TCP) && port_set_add(&g.tcp, lo, hi, (uint32_t)e, 0) < 0) ||
			    ((eg->protos & MCPF_PROTO_UDP) && port_set_add(&g.udp, lo, hi, (uint32_t)e, 0) < 0))
				return -E2BIG;
		}
		port_set_merge(&g.tcp);
		port_set_merge(&g.udp);
		/* a name rule's uses are counted per pattern (mcpf_rule_use): its ranges credit none */
		if (allow_build(&g, false, &rule->allow) < 0) {
			diag_add(errs, "%s: spec.egress[%zu]: more than %d port ranges", p->file, e,
				 MCPF_MAX_PORT_RANGES);
			return -E2BIG;
		}
		if (tls_mark(eg, &rule->allow) < 0) {
			diag_add(errs, "%s: spec.egress[%zu]: more than %d port ranges once the ClientHello "
				       "check's ports (443, 853, 6443, 8443) are cut out: list the ports, or set "
				       "\"tls\"", p->file, e, MCPF_MAX_PORT_RANGES);
			return -E2BIG;
		}
		digest = name_fnv(&rule->allow, sizeof(rule->allow), digest);
		rule->digest = digest ? digest : 1;
		for (size_t i = 0; i < p->nnames; i++) {
			const struct policy_name *pn = &sorted[i];
			struct policy_name_entry *ne = &out->names[n];

			if (pn->egress != e)
				continue;
			memset(ne, 0, sizeof(*ne));
			ne->key.kind = pn->kind;
			if (name_to_wire(pn->name, ne->key.name) < 0)
				return -EINVAL;
			ne->val.rules = 1u << r;
			ne->val.pattern = name_fnv(&pn->kind, 1, NAME_FNV_OFFSET);
			ne->val.pattern = name_fnv(pn->name, strlen(pn->name), ne->val.pattern) | 1;
			n++;
		}
		out->rules.nrules = r + 1;
		out->name_rule_egress[r] = (uint32_t)e;
	}
	/* the same pattern in two rules: one entry, both rule bits */
	qsort(out->names, n, sizeof(*out->names), cmp_name_entry);
	out->nnames = 0;
	for (size_t i = 0; i < n; i++) {
		if (out->nnames &&
		    !memcmp(&out->names[out->nnames - 1].key, &out->names[i].key, sizeof(out->names[i].key))) {
			out->names[out->nnames - 1].val.rules |= out->names[i].val.rules;
			continue;
		}
		out->names[out->nnames++] = out->names[i];
	}
	return 0;
}

json_t *policy_rule_json(const struct policy *p, size_t e)
{
	const struct policy_egress *eg = &p->egress[e];
	json_t *rule = json_object(), *to = json_array(), *ports;
	char buf[INET6_ADDRSTRLEN + 8];

	for (size_t i = 0; i < p->nprefixes; i++) {
		const struct policy_prefix *pp = &p->prefixes[i];

		if (pp->egress != e)
			continue;
		prefix_str(pp->family, pp->addr, pp->plen, buf, sizeof(buf));
		if (pp->plen == (pp->family == AF_INET ? 32 : 128))
			*strrchr(buf, '/') = '\0'; /* an address as one writes it */
		json_array_append_new(to, json_string(buf));
	}
	for (size_t i = 0; i < p->nnames; i++)
		if (p->names[i].egress == e) {
			_cleanup_free_ char *n = strdup_printf("%s%s", name_kind_prefix(p->names[i].kind),
							       p->names[i].name);

			json_array_append_new(to, json_string(n ? n : ""));
		}
	json_object_set_new(rule, "to", to);
	json_object_set_new(rule, "addresses", json_integer((json_int_t)eg->naddresses));
	if (!eg->all_ports) {
		ports = json_array();
		for (size_t j = 0; j < eg->nports; j++) {
			if (eg->ports[j].lo == eg->ports[j].hi)
				snprintf(buf, sizeof(buf), "%u", eg->ports[j].lo);
			else
				snprintf(buf, sizeof(buf), "%u-%u", eg->ports[j].lo, eg->ports[j].hi);
			json_array_append_new(ports, json_string(buf));
		}
		json_object_set_new(rule, "ports", ports);
	}
	json_object_set_new(rule, "protocol", json_string(eg->protos == MCPF_PROTO_TCP ? "tcp" :
							  eg->protos == MCPF_PROTO_UDP ? "udp" : "any"));
	if (eg->tls != POLICY_TLS_DEFAULT)
		json_object_set_new(rule, "tls", json_string(policy_tls_name(eg->tls)));
	return rule;
}

uint64_t policy_rule_digest(const struct policy *p, size_t e)
{
	const struct policy_egress *eg = &p->egress[e];
	uint64_t d = name_fnv(&eg->protos, 1, NAME_FNV_OFFSET);

	d = name_fnv(&eg->all_ports, 1, d);
	if (eg->tls != POLICY_TLS_DEFAULT) /* so that digests of rules without it stay as they were */
		d = name_fnv(&eg->tls, 1, d);
	d = name_fnv(eg->ports, eg->nports * sizeof(*eg->ports), d);
	for (size_t i = 0; i < p->nprefixes; i++)
		if (p->prefixes[i].egress == e) {
			d = name_fnv(&p->prefixes[i].family, 1, d);
			d = name_fnv(&p->prefixes[i].plen, 1, d);
			d = name_fnv(p->prefixes[i].addr, sizeof(p->prefixes[i].addr), d);
		}
	for (size_t i = 0; i < p->nnames; i++)
		if (p->names[i].egress == e) {
			d = name_fnv(&p->names[i].kind, 1, d);
			d = name_fnv(p->names[i].name, strlen(p->names[i].name) + 1, d);
		}
	return d ? d : 1;
}

int policy_compile(const struct policy *p, struct policy_compiled *out, struct diag *errs)
{
	int r;

	memset(out, 0, sizeof(*out));
	out->nrules = p->negress;
	out->unattributed = calloc(p->negress + 1, sizeof(*out->unattributed));
	out->rule_digest = calloc(p->negress + 1, sizeof(*out->rule_digest));
	if (!out->unattributed || !out->rule_digest) {
		policy_compiled_clear(out);
		return -ENOMEM;
	}
	for (size_t e = 0; e < p->negress; e++)
		out->rule_digest[e] = policy_rule_digest(p, e);
	r = compile_family(p, AF_INET, &out->v4, &out->n4, out->unattributed, errs);
	if (r == 0)
		r = compile_family(p, AF_INET6, &out->v6, &out->n6, out->unattributed, errs);
	if (r == 0)
		r = compile_names(p, out, errs);
	if (r < 0)
		policy_compiled_clear(out);
	return r;
}
