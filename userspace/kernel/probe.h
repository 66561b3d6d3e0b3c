/* SPDX-License-Identifier: MIT */
/*
 * What the running kernel offers mcpfence: each cgroup hook (the real programs loaded and,
 * with attach, attached to a scratch cgroup with bpf links), map types, helpers, BTF, the
 * cgroup2 and bpffs mounts, SO_PEERPIDFD. Built as JSON so text and --json agree.
 */
#ifndef MCPFENCE_PROBE_H
#define MCPFENCE_PROBE_H

#include <jansson.h>
#include <stdbool.h>

/* Fills `ret` with {"kernel":..., "features": {name: {"ok":bool,"required":bool,"detail":...}},
 * "can_enforce": bool}; returns 0 if every required feature is there, -ENOTSUP otherwise.
 * names: also load the DNS programs (optional; the agent, which loads them itself right after,
 * skips it: verifying them is the slowest part of a start). */
int probe_run(bool attach, bool names, json_t **ret);
/* Whether SO_PEERPIDFD works here (Linux 6.5+): attestation pins the caller by it. */
int probe_have_peerpidfd(void);
/* The required features that are missing, comma-separated (for the agent's refusal). */
char *probe_missing(json_t *result);

#endif
