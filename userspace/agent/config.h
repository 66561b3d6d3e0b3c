/* SPDX-License-Identifier: MIT */
/* The agent's configuration file (README, "Agent configuration"), with documented defaults. */
#ifndef MCPFENCE_CONFIG_H
#define MCPFENCE_CONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include "util.h"
#include "fence.h"
#include "dockerwatch.h"
#include "watch.h"

#define CONFIG_DEFAULT_ROOT "mcpfence"
#define CONFIG_DEFAULT_BPFFS "/sys/fs/bpf/mcpfence"
#define CONFIG_DEFAULT_SOCKET "/run/mcpfence/agent.sock"
#define CONFIG_DEFAULT_ATTEST_SOCKET "/run/mcpfence/attest.sock"
#define CONFIG_DEFAULT_RATE 100
#define CONFIG_DEFAULT_RESOLV_CONF "/etc/resolv.conf" /* resolvers when `dns` names none */
#define CONFIG_DEFAULT_TTL_FLOOR_S 5
#define CONFIG_DEFAULT_TTL_CAP_S 3600
#define CONFIG_DEFAULT_GRACE_S 5
#define CONFIG_DEFAULT_PER_NAME 256
#define CONFIG_DEFAULT_PER_POLICY 4096
/* the DNS budget per policy: far above what resolver libraries ask, far below a tunnel's rate */
#define CONFIG_DEFAULT_DNS_QPS 200
#define CONFIG_DEFAULT_DNS_NEW_NAMES 300 /* per minute */
#define CONFIG_DNS_BUDGET_MAX 1000000

struct config_binding {
	char *cgroup;
	char *policy;
};

struct agent_config {
	char *file;
	char *cgroup_root; /* as written: relative to the cgroup2 mount unless absolute */
	char *bpffs;
	char *socket;
	char *attest_socket; /* 0666: any local workload may present a token */
	char **policies; /* files or directories, resolved relative to the config file */
	size_t npolicies;
	uint8_t unbound; /* enum mcpf_unbound */
	bool deny_raw;
	bool deny_mptcp; /* MPTCP subflows escape the skb backstop: refused unless "mptcp": "allow" */
	bool events_stdout;
	char *events_file;
	uint32_t rate_limit;
	uint32_t max_prefixes; /* trie entries per family */
	json_t *trust;	       /* trust.issuers, checked by the identity module */
	struct config_binding *bindings;
	size_t nbindings;
	/* dns: the resolvers workloads may ask, and how long what they teach lasts */
	struct fence_resolver resolvers[MCPF_MAX_RESOLVERS];
	size_t nresolvers;
	bool resolvers_from_resolv_conf;
	uint64_t dns_ttl_floor_ns, dns_ttl_cap_ns, dns_grace_ns;
	uint64_t dns_per_name, dns_per_policy;
	uint32_t dns_queries_per_second, dns_new_names_per_minute; /* 0 = unlimited */
	/* kubernetes: pods of this node selected through the API (off without the section) */
	bool k8s;
	struct k8s_api k8s_api;
	bool k8s_systemd; /* the kubelet's cgroup driver: systemd's names, else cgroupfs's */
	char **k8s_namespaces; /* every pod of these is held until attested */
	bool k8s_policies;     /* EgressPolicy and ClusterEgressPolicy resources are policies too */
	char *k8s_policy_cache; /* the last good of them, for a restart before the API answers */
	size_t k8s_nnamespaces;
	/* metrics: where Prometheus scrapes (off without it): a Unix socket path, or loopback TCP */
	char *metrics_listen;
	struct fence_resolver metrics_tcp; /* family 0: a Unix socket */
	/* issuer: the agent mints per-audience credentials (off without the section) */
	char *issuer_url;
	char *issuer_keys;	    /* the signing keys' directory */
	uint64_t issuer_rotate_ns; /* how long a key signs */
	uint32_t issuer_per_second; /* credential requests per cgroup and second */
	/* audit: who was bound to which policy, kept on disk for scope audits */
	char *audit_history;
	uint64_t audit_retention_ns;
	uint64_t audit_max_bindings;
	/* docker: containers labelled mcpfence.io/policy or /attest, from the Engine API */
	bool docker;
	struct dockerwatch_config docker_api;
};

#define CONFIG_K8S_TOKEN "/var/run/secrets/kubernetes.io/serviceaccount/token"
#define CONFIG_K8S_CA "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
#define CONFIG_ISSUER_KEYS "/var/lib/mcpfence/issuer"
#define CONFIG_K8S_POLICY_CACHE "/var/lib/mcpfence/k8s-policies.json"
#define CONFIG_ISSUER_PER_SECOND 50
#define CONFIG_AUDIT_HISTORY "/var/lib/mcpfence/bindings.json"
#define CONFIG_AUDIT_RETENTION_NS (90ULL * 86400 * 1000000000ULL)
#define CONFIG_AUDIT_MAX_BINDINGS 10000
#define CONFIG_DOCKER_SOCKET "/var/run/docker.sock"

/* "127.0.0.53", "10.0.0.2:5353", "::1", "[::1]:53" -> resolver (port 53 unless given). */
int config_resolver_parse(const char *s, struct fence_resolver *ret);
/* The nameserver lines of a resolv.conf file (at most MCPF_MAX_RESOLVERS). */
int config_resolvers_from_file(const char *path, struct fence_resolver *out, size_t *n);

int config_load(const char *file, struct agent_config *cfg, struct diag *errs);
void config_defaults(struct agent_config *cfg);
void config_clear(struct agent_config *cfg);

#endif
