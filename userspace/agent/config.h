/* SPDX-License-Identifier: MIT */
/* The agent's configuration file (see ARCHITECTURE.md), with documented defaults. */
#ifndef MCPFENCE_CONFIG_H
#define MCPFENCE_CONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include "util.h"

#define CONFIG_DEFAULT_ROOT "mcpfence"
#define CONFIG_DEFAULT_BPFFS "/sys/fs/bpf/mcpfence"
#define CONFIG_DEFAULT_SOCKET "/run/mcpfence/agent.sock"
#define CONFIG_DEFAULT_ATTEST_SOCKET "/run/mcpfence/attest.sock"
#define CONFIG_DEFAULT_RATE 100

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
};

int config_load(const char *file, struct agent_config *cfg, struct diag *errs);
void config_defaults(struct agent_config *cfg);
void config_clear(struct agent_config *cfg);

#endif
