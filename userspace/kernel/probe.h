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
 * "can_enforce": bool}; returns 0 if every required feature is there, -ENOTSUP otherwise. */
int probe_run(bool attach, json_t **ret);
/* The required features that are missing, comma-separated (for the agent's refusal). */
char *probe_missing(json_t *result);

#endif
