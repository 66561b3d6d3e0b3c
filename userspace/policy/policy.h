/* SPDX-License-Identifier: MIT */
/*
 * Egress policies: parse and validate the JSON format (every error with file and JSON path), and
 * compile the egress rules into LPM trie entries where each prefix carries the merged port
 * ranges of every rule covering it, so one longest-prefix lookup is the complete answer.
 */
#ifndef MCPFENCE_POLICY_H
#define MCPFENCE_POLICY_H

#include <jansson.h>
#include <stdint.h>
#include "util.h"
#include "mcpfence_abi.h"
#include "names.h"
#include "compiled.h"
#include "credentials.h"

#define POLICY_FILE_MAX (64u << 20)   /* bytes of JSON per policy file */
#define POLICY_PREFIXES_MAX 1000000u /* prefixes per policy */

struct policy_ports {
	uint16_t lo, hi;
};

/* A name rule's ClientHello check (spec.egress[].tls); unset: on for the usual TLS ports. */
#define POLICY_TLS_DEFAULT 0xff
/* The ports where an unset `tls` checks ClientHellos: HTTPS, the Kubernetes API, DNS over TLS. */
#define POLICY_TLS_PORTS { 443, 853, 6443, 8443 }

struct policy_egress {
	uint8_t protos; /* enum mcpf_proto_bit */
	uint8_t tls;	/* enum mcpf_tls_mode, or POLICY_TLS_DEFAULT */
	size_t naddresses; /* addresses and CIDRs in its `to` (kept when the prefixes are dropped) */
	bool all_ports;
	size_t nports;
	struct policy_ports *ports;
};

struct policy_prefix {
	uint8_t family; /* AF_INET / AF_INET6 */
	uint8_t plen;
	uint8_t addr[16];
	uint32_t egress; /* index into policy.egress */
};

#define POLICY_NAMESPACES_MAX 64 /* a ClusterEgressPolicy's spec.namespaces */

/* Who may be bound to a policy by selection (policy/scope.c); the operator may bind any. */
enum policy_scope {
	POLICY_HOST = 0,   /* EgressPolicy without a namespace: hosts, containers, tokens */
	POLICY_NAMESPACED, /* EgressPolicy with metadata.namespace: that namespace's pods only */
	POLICY_CLUSTER,	   /* ClusterEgressPolicy: pods of the namespaces it admits */
};

struct policy {
	char *name; /* NAMESPACE/NAME for a namespaced policy */
	char *file;
	uint8_t scope;	     /* enum policy_scope */
	char *namespace;     /* POLICY_NAMESPACED */
	char **namespaces;   /* POLICY_CLUSTER: spec.namespaces, NULL-terminated ("*": every one) */
	uint8_t mode; /* enum mcpf_mode */
	json_t *identity; /* spec.identity, NULL if bound only statically */
	bool machine_identity; /* it selects a machine-level identity (a VM's, not a workload's) */
	size_t negress;
	struct policy_egress *egress;
	size_t nprefixes;
	struct policy_prefix *prefixes;
	size_t nnames;
	struct policy_name *names;
	size_t ncredentials;
	struct policy_credential *credentials; /* spec.credentials */
};

struct policy_set {
	size_t n;
	struct policy **items;
};

void policy_free(struct policy *p);
static inline void policy_freep(struct policy **p)
{
	policy_free(*p);
}

/* Parse one policy document; appends every problem to `errs` as "FILE: PATH: message". */
int policy_parse(const char *file, const char *text, size_t len, struct policy **ret,
		 struct diag *errs);
int policy_parse_file(const char *file, struct policy **ret, struct diag *errs);

/* Load files and directories (their *.json, sorted); names must be unique. */
int policy_set_load(char *const *paths, size_t npaths, struct policy_set *set, struct diag *errs);
void policy_set_clear(struct policy_set *set);
/* Take p into the set, unless its name (or its policy id) is taken: -EEXIST, said in errs. */
int policy_set_add(struct policy_set *set, struct policy *p, struct diag *errs);
/* Drop the egress rules of every policy (kept: names, modes, identity blocks). */
void policy_set_drop_rules(struct policy_set *set);
struct policy *policy_set_find(const struct policy_set *set, const char *name);

int policy_compile(const struct policy *p, struct policy_compiled *out, struct diag *errs);
/* spec.egress[e] as JSON, in the policy format ({"to", "ports", "protocol"}), normalised, with
 * "addresses": how many addresses and CIDRs it lists (`to` holds them only while the policy
 * keeps its prefixes: the agent drops them once they are in the kernel). */
json_t *policy_rule_json(const struct policy *p, size_t e);
/* "enforce", "audit" or "off". */
const char *policy_tls_name(uint8_t mode);
/* A digest of spec.egress[e] (addresses, names, ports, protocol): equal while the rule is. */
uint64_t policy_rule_digest(const struct policy *p, size_t e);
void policy_compiled_clear(struct policy_compiled *c);
/* Advice that does not make the policy invalid, one sentence per line into `warnings`. */
void policy_warnings(const struct policy *p, struct diag *warnings);
int policy_compiled_keys(const struct policy_compiled *c, struct policy_keys *out);
void policy_keys_clear(struct policy_keys *k);

uint32_t policy_id_of(const char *name);
int policy_cidr_parse(const char *s, struct policy_prefix *ret, const char **why);
int policy_ports_parse(const char *s, struct policy_ports *ret);

#endif
