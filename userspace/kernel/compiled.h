/* SPDX-License-Identifier: MIT */
/*
 * A policy as the kernel's maps hold it: what policy/ compiles and kernel/ (fence.c) writes under
 * a slot, and what stays of it afterwards to delete it. Here, below both, so that the kernel
 * layer needs nothing of the policy layer above it.
 */
#ifndef MCPFENCE_COMPILED_H
#define MCPFENCE_COMPILED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mcpfence_abi.h"

/* A compiled policy: the trie entries for each family (slot filled in when written). */
struct policy_entry {
	uint8_t plen;
	uint8_t addr[16];
	struct mcpf_allow allow;
};

/* One name pattern as the kernel keys it (slot filled in when written). */
struct policy_name_entry {
	struct mcpf_name_key key;
	struct mcpf_name_val val;
};

struct policy_compiled {
	size_t n4, n6;
	struct policy_entry *v4, *v6;
	bool has_names;			/* names, or audit mode: DNS is read and learned from */
	size_t nnames;
	struct policy_name_entry *names; /* one per distinct pattern, rules merged */
	struct mcpf_slot_names rules;	/* the rules with names, in order, with their digests */
	uint32_t name_rule_egress[MCPF_MAX_NAME_RULES]; /* each name rule's spec.egress index */
	size_t nrules;			/* spec.egress */
	uint64_t *rule_digest;		/* per rule: what it says, so a changed rule counts afresh */
	bool *unattributed;		/* per rule: shares merged ranges, so uses are not credited */
};

/* What stays of a written policy: its keys, enough to delete it (17 bytes, not 153, a prefix). */
struct policy_key {
	uint8_t plen;
	uint8_t addr[16];
};

struct policy_keys {
	size_t n4, n6;
	struct policy_key *v4, *v6;
	size_t nnames;
	struct mcpf_name_key *names;
};

#endif
