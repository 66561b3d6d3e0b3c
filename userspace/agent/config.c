// SPDX-License-Identifier: MIT
#include "config.h"
#include "issuer.h"
#include "mcpfence_abi.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#define CONFIG_FILE_MAX (1u << 20)
#define BAD(fmt, ...) diag_add(errs, "%s: " fmt, file, ##__VA_ARGS__)

void config_clear(struct agent_config *cfg)
{
	free(cfg->file);
	free(cfg->cgroup_root);
	free(cfg->bpffs);
	free(cfg->socket);
	free(cfg->attest_socket);
	for (size_t i = 0; i < cfg->npolicies; i++)
		free(cfg->policies[i]);
	free(cfg->policies);
	free(cfg->events_file);
	json_decref(cfg->trust);
	for (size_t i = 0; i < cfg->nbindings; i++) {
		free(cfg->bindings[i].cgroup);
		free(cfg->bindings[i].policy);
	}
	free(cfg->bindings);
	free(cfg->k8s_api.api);
	free(cfg->k8s_api.token_file);
	free(cfg->k8s_api.ca_file);
	free(cfg->k8s_api.node);
	free(cfg->k8s_policy_cache);
	free(cfg->audit_history);
	for (size_t i = 0; i < cfg->k8s_nnamespaces; i++)
		free(cfg->k8s_namespaces[i]);
	free(cfg->k8s_namespaces);
	free(cfg->docker_api.socket);
	free(cfg->metrics_listen);
	free(cfg->issuer_url);
	free(cfg->issuer_keys);
	memset(cfg, 0, sizeof(*cfg));
}

void config_defaults(struct agent_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->cgroup_root = strdup(CONFIG_DEFAULT_ROOT);
	cfg->bpffs = strdup(CONFIG_DEFAULT_BPFFS);
	cfg->socket = strdup(CONFIG_DEFAULT_SOCKET);
	cfg->attest_socket = strdup(CONFIG_DEFAULT_ATTEST_SOCKET);
	cfg->unbound = MCPF_UNBOUND_DENY;
	cfg->deny_raw = true;
	cfg->deny_mptcp = true;
	cfg->events_stdout = true;
	cfg->rate_limit = CONFIG_DEFAULT_RATE;
	cfg->max_prefixes = MCPF_DEFAULT_PREFIXES;
	cfg->dns_ttl_floor_ns = CONFIG_DEFAULT_TTL_FLOOR_S * 1000000000ULL;
	cfg->dns_ttl_cap_ns = CONFIG_DEFAULT_TTL_CAP_S * 1000000000ULL;
	cfg->dns_grace_ns = CONFIG_DEFAULT_GRACE_S * 1000000000ULL;
	cfg->dns_per_name = CONFIG_DEFAULT_PER_NAME;
	cfg->dns_per_policy = CONFIG_DEFAULT_PER_POLICY;
	cfg->dns_queries_per_second = CONFIG_DEFAULT_DNS_QPS;
	cfg->dns_new_names_per_minute = CONFIG_DEFAULT_DNS_NEW_NAMES;
	cfg->audit_history = strdup(CONFIG_AUDIT_HISTORY);
	cfg->audit_retention_ns = CONFIG_AUDIT_RETENTION_NS;
	cfg->audit_max_bindings = CONFIG_AUDIT_MAX_BINDINGS;
}

int config_resolver_parse(const char *s, struct fence_resolver *ret)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *port = NULL, *end;
	size_t n;

	memset(ret, 0, sizeof(*ret));
	ret->port = 53;
	if (s[0] == '[') {
		end = strchr(s, ']');
		if (!end || (end[1] && end[1] != ':'))
			return -EINVAL;
		n = (size_t)(end - s - 1);
		if (n >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, n);
		host[n] = '\0';
		port = end[1] ? end + 2 : NULL;
	} else {
		const char *colon = strchr(s, ':');

		n = strlen(s);
		if (colon && !strchr(colon + 1, ':')) { /* one colon: IPv4 with a port */
			n = (size_t)(colon - s);
			port = colon + 1;
		}
		if (n >= sizeof(host))
			return -EINVAL;
		memcpy(host, s, n);
		host[n] = '\0';
	}
	if (inet_pton(AF_INET, host, ret->addr) == 1)
		ret->family = AF_INET;
	else if (inet_pton(AF_INET6, host, ret->addr) == 1)
		ret->family = AF_INET6;
	else
		return -EINVAL;
	if (ret->family == AF_INET6 && !memcmp(ret->addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12)) {
		memmove(ret->addr, ret->addr + 12, 4); /* v4-mapped: the kernel sees IPv4 packets */
		memset(ret->addr + 4, 0, 12);
		ret->family = AF_INET;
	}
	if (port) {
		char *e;
		unsigned long v = strtoul(port, &e, 10);

		if (!*port || *e || v == 0 || v > 65535)
			return -EINVAL;
		ret->port = (uint16_t)v;
	}
	return 0;
}

int config_resolvers_from_file(const char *path, struct fence_resolver *out, size_t *n)
{
	_cleanup_free_ char *text = NULL;
	char *save = NULL;
	size_t len;
	int r = read_file(path, 1u << 20, &text, &len);

	*n = 0;
	if (r < 0)
		return r;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char addr[INET6_ADDRSTRLEN + 1];

		/* "nameserver ADDR": resolv.conf has no ports, and zone ids are not for us */
		if (sscanf(line, " nameserver %46s", addr) != 1 || strchr(addr, '%'))
			continue;
		if (*n < MCPF_MAX_RESOLVERS && config_resolver_parse(addr, &out[*n]) == 0)
			(*n)++;
	}
	return 0;
}

/* A duration member ("30s", "5m", "1h"), bounded. */
static void take_duration(const char *file, struct diag *errs, json_t *obj, const char *key,
			  const char *path, uint64_t max_ns, uint64_t *dst)
{
	json_t *v = json_object_get(obj, key);
	uint64_t ns;

	if (!v)
		return;
	if (!json_is_string(v) || parse_duration_ns(json_string_value(v), &ns) < 0 || ns > max_ns)
		BAD("%s: must be a duration such as \"30s\", \"5m\" or \"1h\", at most %llus", path,
		    (unsigned long long)(max_ns / 1000000000ULL));
	else
		*dst = ns;
}

static void take_count(const char *file, struct diag *errs, json_t *obj, const char *key,
		       const char *path, uint64_t max, uint64_t *dst)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		return;
	if (!json_is_integer(v) || json_integer_value(v) < 1 || (uint64_t)json_integer_value(v) > max)
		BAD("%s: must be an integer from 1 to %llu", path, (unsigned long long)max);
	else
		*dst = (uint64_t)json_integer_value(v);
}

/* A rate: 0 (unlimited) to CONFIG_DNS_BUDGET_MAX. */
static void take_rate(const char *file, struct diag *errs, json_t *obj, const char *key,
		      const char *path, uint32_t *dst)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		return;
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > CONFIG_DNS_BUDGET_MAX)
		BAD("%s: must be an integer from 0 (unlimited) to %d", path, CONFIG_DNS_BUDGET_MAX);
	else
		*dst = (uint32_t)json_integer_value(v);
}

static void take_dns(const char *file, struct diag *errs, json_t *v, struct agent_config *cfg)
{
	json_t *res, *item;
	size_t i;

	if (!v) {
		cfg->resolvers_from_resolv_conf = true;
		return;
	}
	if (!json_is_object(v)) {
		BAD("dns: must be an object");
		return;
	}
	diag_unknown_fields(errs, file, v, "dns",
			    (const char *const[]){ "resolvers", "ttl_floor", "ttl_cap", "grace",
						   "max_addresses_per_name",
						   "max_addresses_per_policy", "queries_per_second",
						   "new_names_per_minute", NULL });
	res = json_object_get(v, "resolvers");
	if (!res) {
		cfg->resolvers_from_resolv_conf = true;
	} else if (!json_is_array(res) || json_array_size(res) > MCPF_MAX_RESOLVERS) {
		BAD("dns.resolvers: must be an array of at most %d addresses (\"127.0.0.53\", "
		    "\"[::1]:53\")", MCPF_MAX_RESOLVERS);
	} else {
		json_array_foreach(res, i, item) {
			if (!json_is_string(item) ||
			    config_resolver_parse(json_string_value(item), &cfg->resolvers[cfg->nresolvers]) < 0) {
				BAD("dns.resolvers[%zu]: must be an address with an optional port "
				    "(\"127.0.0.53\", \"10.0.0.2:5353\", \"[::1]:53\")", i);
				continue;
			}
			cfg->nresolvers++;
		}
	}
	take_duration(file, errs, v, "ttl_floor", "dns.ttl_floor", 86400ULL * 1000000000ULL,
		      &cfg->dns_ttl_floor_ns);
	take_duration(file, errs, v, "ttl_cap", "dns.ttl_cap", 7 * 86400ULL * 1000000000ULL,
		      &cfg->dns_ttl_cap_ns);
	take_duration(file, errs, v, "grace", "dns.grace", 86400ULL * 1000000000ULL, &cfg->dns_grace_ns);
	take_count(file, errs, v, "max_addresses_per_name", "dns.max_addresses_per_name",
		   MCPF_DEFAULT_LEARNED, &cfg->dns_per_name);
	take_count(file, errs, v, "max_addresses_per_policy", "dns.max_addresses_per_policy",
		   MCPF_DEFAULT_LEARNED, &cfg->dns_per_policy);
	take_rate(file, errs, v, "queries_per_second", "dns.queries_per_second",
		  &cfg->dns_queries_per_second);
	take_rate(file, errs, v, "new_names_per_minute", "dns.new_names_per_minute",
		  &cfg->dns_new_names_per_minute);
	if (cfg->dns_ttl_floor_ns > cfg->dns_ttl_cap_ns)
		BAD("dns.ttl_floor: must not exceed dns.ttl_cap");
}

static void take_string(const char *file, struct diag *errs, json_t *obj, const char *key,
			const char *path, char **dst);
static void take_path(const char *file, struct diag *errs, json_t *obj, const char *key, const char *path,
		      char **dst);

/* kubernetes: the API (in-cluster defaults from the pod's environment), the node, the driver */
static void take_kubernetes(const char *file, struct diag *errs, json_t *v, struct agent_config *cfg)
{
	struct k8s_api *k = &cfg->k8s_api;
	const char *host = getenv("KUBERNETES_SERVICE_HOST"), *port = getenv("KUBERNETES_SERVICE_PORT");
	const char *node = getenv("NODE_NAME");
	_cleanup_free_ char *driver = NULL;
	json_t *ns, *item;
	size_t i;

	if (!v)
		return;
	if (!json_is_object(v)) {
		BAD("kubernetes: must be an object");
		return;
	}
	diag_unknown_fields(errs, file, v, "kubernetes",
			    (const char *const[]){ "api", "token_file", "ca_file", "node_name",
						   "cgroup_driver", "namespaces", "policies", "policy_cache", NULL });
	cfg->k8s = true;
	if (host && port)
		k->api = strdup_printf(strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host, port);
	k->token_file = strdup(CONFIG_K8S_TOKEN);
	k->ca_file = strdup(CONFIG_K8S_CA);
	if (node)
		k->node = strdup(node);
	take_string(file, errs, v, "api", "kubernetes.api", &k->api);
	take_path(file, errs, v, "token_file", "kubernetes.token_file", &k->token_file);
	take_path(file, errs, v, "ca_file", "kubernetes.ca_file", &k->ca_file);
	take_string(file, errs, v, "node_name", "kubernetes.node_name", &k->node);
	take_string(file, errs, v, "cgroup_driver", "kubernetes.cgroup_driver", &driver);
	if (!k->api || strncmp(k->api, "https://", 8))
		BAD("kubernetes.api: an https URL is required (in a pod: KUBERNETES_SERVICE_HOST and _PORT)");
	if (!k->node || strspn(k->node, "abcdefghijklmnopqrstuvwxyz0123456789-.") != strlen(k->node))
		BAD("kubernetes.node_name: required, a node name (in a pod: NODE_NAME from spec.nodeName)");
	if (driver && strcmp(driver, "cgroupfs") && strcmp(driver, "systemd"))
		BAD("kubernetes.cgroup_driver: \"cgroupfs\" or \"systemd\"");
	cfg->k8s_systemd = driver && !strcmp(driver, "systemd");
	item = json_object_get(v, "policies");
	if (item && !json_is_boolean(item))
		BAD("kubernetes.policies: true (EgressPolicy and ClusterEgressPolicy resources are policies too) or false");
	cfg->k8s_policies = json_is_true(item);
	take_path(file, errs, v, "policy_cache", "kubernetes.policy_cache", &cfg->k8s_policy_cache);
	if (!cfg->k8s_policy_cache && !(cfg->k8s_policy_cache = strdup(CONFIG_K8S_POLICY_CACHE)))
		BAD("kubernetes.policy_cache: out of memory");
	ns = json_object_get(v, "namespaces");
	if (ns && !json_is_array(ns)) {
		BAD("kubernetes.namespaces: must be an array of namespace names");
		return;
	}
	cfg->k8s_namespaces = calloc(json_array_size(ns) + 1, sizeof(char *));
	if (!cfg->k8s_namespaces) {
		BAD("kubernetes.namespaces: out of memory");
		return;
	}
	json_array_foreach(ns, i, item) {
		if (!json_is_string(item) || !json_string_length(item)) {
			BAD("kubernetes.namespaces[%zu]: must be a namespace name", i);
			continue;
		}
		cfg->k8s_namespaces[cfg->k8s_nnamespaces++] = strdup(json_string_value(item));
	}
}

/* metrics: a Unix socket, or a loopback address with a port; never the network */
static void take_metrics(const char *file, struct diag *errs, json_t *v, struct agent_config *cfg)
{
	const char *l;
	struct fence_resolver *t = &cfg->metrics_tcp;
	static const uint8_t lo6[16] = { [15] = 1 };

	if (!v)
		return;
	if (!json_is_object(v)) {
		BAD("metrics: must be an object");
		return;
	}
	diag_unknown_fields(errs, file, v, "metrics", (const char *const[]){ "listen", NULL });
	take_string(file, errs, v, "listen", "metrics.listen", &cfg->metrics_listen);
	l = cfg->metrics_listen;
	if (!l) {
		BAD("metrics.listen: required: a Unix socket path or a loopback address with a port");
		return;
	}
	if (l[0] == '/') {
		if (strlen(l) >= 108)
			BAD("metrics.listen: a Unix socket path shorter than 108 bytes");
		return;
	}
	if (config_resolver_parse(l, t) < 0 || !(l[0] == '[' ? strstr(l, "]:") : strchr(l, ':')) || !t->port ||
	    !((t->family == AF_INET && t->addr[0] == 127) || (t->family == AF_INET6 && !memcmp(t->addr, lo6, 16))))
		BAD("metrics.listen: \"%s\": a Unix socket path, or a loopback address with a port "
		    "(127.0.0.1:9464, [::1]:9464); metrics are not served to the network", l);
}

/* docker: the Engine API's socket */
static void take_docker(const char *file, struct diag *errs, json_t *v, struct agent_config *cfg)
{
	struct dockerwatch_config *d = &cfg->docker_api;

	if (!v)
		return;
	if (!json_is_object(v)) {
		BAD("docker: must be an object");
		return;
	}
	diag_unknown_fields(errs, file, v, "docker", (const char *const[]){ "socket", NULL });
	cfg->docker = true;
	d->socket = strdup(CONFIG_DOCKER_SOCKET);
	take_string(file, errs, v, "socket", "docker.socket", &d->socket);
	if (!d->socket || d->socket[0] != '/' || strlen(d->socket) >= 108)
		BAD("docker.socket: an absolute path to the daemon's Unix socket, shorter than 108 bytes");
}

static void take_string(const char *file, struct diag *errs, json_t *obj, const char *key,
			const char *path, char **dst)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		return;
	if (!json_is_string(v) || !json_string_length(v)) {
		BAD("%s: must be a non-empty string", path);
		return;
	}
	free(*dst);
	*dst = strdup(json_string_value(v));
}

/* A string naming a file: a relative one is relative to the config file. */
static void take_path(const char *file, struct diag *errs, json_t *obj, const char *key, const char *path,
		      char **dst)
{
	char *abs = NULL;

	take_string(file, errs, obj, key, path, dst);
	if (*dst && (*dst)[0] != '/' && path_join_relative(file, *dst, &abs) == 0) {
		free(*dst);
		*dst = abs;
	}
}

/* A "deny" | "allow" member: *deny set accordingly, untouched when absent. */
static void take_deny(const char *file, struct diag *errs, json_t *obj, const char *key, bool *deny)
{
	json_t *v = json_object_get(obj, key);
	int k;

	if (!v)
		return;
	k = str_choice(json_string_value(v), (const char *const[]){ "allow", "deny", NULL });
	if (k < 0)
		BAD("%s: must be \"deny\" or \"allow\"", key);
	else
		*deny = k == 1;
}

/* Policy files and directories, relative to the config file. */
static void take_policies(const char *file, struct diag *errs, json_t *v, struct agent_config *cfg)
{
	size_t i;
	json_t *item;

	if (v && !json_is_array(v))
		BAD("policies: must be an array of files or directories");
	cfg->policies = calloc(json_array_size(v) + 1, sizeof(char *));
	if (!cfg->policies)
		BAD("policies: out of memory");
	else json_array_foreach(v, i, item) {
		if (!json_is_string(item)) {
			BAD("policies[%zu]: must be a string", i);
			continue;
		}
		if (path_join_relative(file, json_string_value(item),
				       &cfg->policies[cfg->npolicies]) == 0)
			cfg->npolicies++;
	}
}

/* Where events go, and how many a cgroup may cause. */
static void take_events(const char *file, struct diag *errs, json_t *v, struct agent_config *cfg)
{
	if (v && !json_is_object(v)) {
		BAD("events: must be an object");
	} else if (v) {
		json_t *s = json_object_get(v, "stdout"), *rl;

		diag_unknown_fields(errs, file, v, "events",
			    (const char *const[]){ "stdout", "file", "rate_limit_per_cgroup", NULL });
		if (s && !json_is_boolean(s))
			BAD("events.stdout: must be true or false");
		else if (s)
			cfg->events_stdout = json_is_true(s);
		take_path(file, errs, v, "file", "events.file", &cfg->events_file);
		rl = json_object_get(v, "rate_limit_per_cgroup");
		if (rl && (!json_is_integer(rl) || json_integer_value(rl) < 0 ||
			   json_integer_value(rl) > 1000000))
			BAD("events.rate_limit_per_cgroup: must be an integer from 0 (unlimited) to "
			    "1000000");
		else if (rl)
			cfg->rate_limit = (uint32_t)json_integer_value(rl);
	}
}

/* audit: the binding history's file, how long an entry is kept, how many are. */
static void take_audit(const char *file, struct diag *errs, json_t *v, struct agent_config *cfg)
{
	if (v && !json_is_object(v)) {
		BAD("audit: must be an object");
		return;
	}
	if (!v)
		return;
	diag_unknown_fields(errs, file, v, "audit",
			    (const char *const[]){ "history", "retention", "max_bindings", NULL });
	take_path(file, errs, v, "history", "audit.history", &cfg->audit_history);
	take_duration(file, errs, v, "retention", "audit.retention", 3650ULL * 86400 * 1000000000ULL,
		      &cfg->audit_retention_ns);
	take_count(file, errs, v, "max_bindings", "audit.max_bindings", 1000000, &cfg->audit_max_bindings);
}

/* issuer: the iss of minted credentials, where the signing keys live, how long each signs. */
static void take_issuer(const char *file, struct diag *errs, json_t *v, struct agent_config *cfg)
{
	uint64_t per_second = CONFIG_ISSUER_PER_SECOND;
	json_t *alg;

	if (!v)
		return;
	if (!json_is_object(v)) {
		BAD("issuer: must be an object");
		return;
	}
	diag_unknown_fields(errs, file, v, "issuer",
			    (const char *const[]){ "url", "keys", "algorithm", "rotation", "requests_per_second", NULL });
	take_string(file, errs, v, "url", "issuer.url", &cfg->issuer_url);
	if (!cfg->issuer_url || strncmp(cfg->issuer_url, "https://", 8) || strlen(cfg->issuer_url) < 9 ||
	    strlen(cfg->issuer_url) > 255 || strpbrk(cfg->issuer_url, "?# "))
		BAD("issuer.url: required, an https URL without query or fragment (the \"iss\" of "
		    "minted credentials, where relying parties find its discovery document)");
	take_path(file, errs, v, "keys", "issuer.keys", &cfg->issuer_keys);
	if (!cfg->issuer_keys && !(cfg->issuer_keys = strdup(CONFIG_ISSUER_KEYS)))
		BAD("issuer.keys: out of memory");
	alg = json_object_get(v, "algorithm");
	if (alg && !(json_is_string(alg) && !strcmp(json_string_value(alg), "ES256")))
		BAD("issuer.algorithm: must be \"ES256\" (the only one this version signs with)");
	take_count(file, errs, v, "requests_per_second", "issuer.requests_per_second", 1000000, &per_second);
	cfg->issuer_per_second = (uint32_t)per_second;
	cfg->issuer_rotate_ns = ISSUER_ROTATE_DEFAULT * 1000000000ULL;
	take_duration(file, errs, v, "rotation", "issuer.rotation", 365 * 86400ULL * 1000000000ULL,
		      &cfg->issuer_rotate_ns);
	if (cfg->issuer_rotate_ns < ISSUER_ROTATE_MIN * 1000000000ULL)
		BAD("issuer.rotation: at least %llds (three times the longest credential lifetime)",
		    (long long)ISSUER_ROTATE_MIN);
}

/* Operator bindings: a cgroup to a policy, or held until it attests. */
static void take_bindings(const char *file, struct diag *errs, json_t *v, struct agent_config *cfg)
{
	size_t i;
	json_t *item;

	if (v && !json_is_array(v))
		BAD("bindings: must be an array");
	cfg->bindings = calloc(json_array_size(v) + 1, sizeof(*cfg->bindings));
	if (!cfg->bindings)
		BAD("bindings: out of memory");
	else json_array_foreach(v, i, item) {
		json_t *cg = json_object_get(item, "cgroup"), *pol = json_object_get(item, "policy");
		char path[64];

		snprintf(path, sizeof(path), "bindings[%zu]", i);
		if (!json_is_object(item)) {
			BAD("%s: must be an object {\"cgroup\": PATH, \"policy\": NAME}", path);
			continue;
		}
		diag_unknown_fields(errs, file, item, path, (const char *const[]){ "cgroup", "policy", "hold", NULL });
		if (!json_is_string(cg) || !json_string_length(cg)) {
			BAD("%s.cgroup: required, a cgroup path", path);
			continue;
		}
		if (json_object_get(item, "hold") && !json_is_boolean(json_object_get(item, "hold"))) {
			BAD("%s.hold: must be true or false", path);
			continue;
		}
		if (json_is_true(json_object_get(item, "hold")) == !!pol) {
			BAD("%s: needs either \"policy\": NAME or \"hold\": true (deny until attested)", path);
			continue;
		}
		if (pol && (!json_is_string(pol) || !json_string_length(pol))) {
			BAD("%s.policy: must be a policy name", path);
			continue;
		}
		cfg->bindings[cfg->nbindings].cgroup = strdup(json_string_value(cg));
		cfg->bindings[cfg->nbindings].policy = pol ? strdup(json_string_value(pol)) : NULL;
		cfg->nbindings++;
	}
}

/* What the kernel programs do besides the allowlists: unbound cgroups, raw and MPTCP sockets, map sizes. */
static void take_kernel_knobs(const char *file, struct diag *errs, json_t *root, struct agent_config *cfg)
{
	json_t *v;

	v = json_object_get(root, "unbound");
	if (v) { /* the order of enum mcpf_unbound */
		int k = str_choice(json_string_value(v), (const char *const[]){ "deny", "audit", "allow", NULL });

		if (k < 0)
			BAD("unbound: must be \"deny\", \"audit\" or \"allow\"");
		else
			cfg->unbound = (uint8_t)k;
	}
	take_deny(file, errs, root, "raw_sockets", &cfg->deny_raw);
	take_deny(file, errs, root, "mptcp", &cfg->deny_mptcp);
	v = json_object_get(root, "max_prefixes");
	if (v) {
		json_int_t n = json_integer_value(v);

		if (!json_is_integer(v) || n < 1024 || n > 16777216)
			BAD("max_prefixes: must be an integer from 1024 to 16777216");
		else
			cfg->max_prefixes = (uint32_t)n;
	}
}

int config_load(const char *file, struct agent_config *cfg, struct diag *errs)
{
	_cleanup_free_ char *text = NULL;
	size_t len, nerr = errs->n;
	json_error_t jerr;
	json_t *root, *v;
	int r;

	config_defaults(cfg);
	cfg->file = strdup(file);
	r = read_file(file, CONFIG_FILE_MAX, &text, &len);
	if (r < 0) {
		BAD("%s", strerror(-r));
		return r;
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		BAD("line %d column %d: %s", jerr.line, jerr.column, jerr.text);
		return -EINVAL;
	}
	if (!json_is_object(root)) {
		BAD("the configuration must be a JSON object");
		json_decref(root);
		return -EINVAL;
	}
	diag_unknown_fields(errs, file, root, "",
		    (const char *const[]){ "cgroup_root", "bpffs", "socket", "attest_socket", "policies", "unbound",
					   "raw_sockets", "mptcp", "events", "trust", "bindings",
					   "max_prefixes", "dns", "kubernetes", "docker", "metrics", "issuer", "audit",
					   NULL });
	take_string(file, errs, root, "cgroup_root", "cgroup_root", &cfg->cgroup_root);
	take_string(file, errs, root, "bpffs", "bpffs", &cfg->bpffs);
	take_path(file, errs, root, "socket", "socket", &cfg->socket);
	take_path(file, errs, root, "attest_socket", "attest_socket", &cfg->attest_socket);
	if (cfg->bpffs && cfg->bpffs[0] != '/')
		BAD("bpffs: must be an absolute path under a bpf filesystem");

	take_policies(file, errs, json_object_get(root, "policies"), cfg);

	take_kernel_knobs(file, errs, root, cfg);

	take_events(file, errs, json_object_get(root, "events"), cfg);

	take_dns(file, errs, json_object_get(root, "dns"), cfg);
	take_kubernetes(file, errs, json_object_get(root, "kubernetes"), cfg);
	take_docker(file, errs, json_object_get(root, "docker"), cfg);
	take_metrics(file, errs, json_object_get(root, "metrics"), cfg);
	take_issuer(file, errs, json_object_get(root, "issuer"), cfg);
	take_audit(file, errs, json_object_get(root, "audit"), cfg);

	v = json_object_get(root, "trust");
	if (v && !json_is_object(v))
		BAD("trust: must be an object");
	else if (v)
		cfg->trust = json_incref(v);

	take_bindings(file, errs, json_object_get(root, "bindings"), cfg);
	json_decref(root);
	return errs->n == nerr ? 0 : -EINVAL;
}
