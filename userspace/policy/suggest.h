/* SPDX-License-Identifier: MIT */
/*
 * `policy suggest`: what a workload did (its events, in audit mode) as a minimal policy. Flows are
 * grouped by destination (the name its address was learned for, else the address itself) and
 * protocol; destinations with the same protocol and ports share a rule. Deterministic: the same
 * events in any order give the same policy.
 */
#ifndef MCPFENCE_SUGGEST_H
#define MCPFENCE_SUGGEST_H

#include <jansson.h>
#include <stdio.h>

struct suggest_stats {
	size_t lines, flows, skipped; /* skipped: not JSON, or a protocol a rule cannot name */
};

/* Read event lines from `in`; only events of `policy` when it is not NULL. Returns the policy
 * document (mode enforce), named `name`. */
json_t *policy_suggest(FILE *in, const char *policy, const char *name, struct suggest_stats *st);

#endif
