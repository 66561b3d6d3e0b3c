/* SPDX-License-Identifier: MIT */
/*
 * A small open-addressing table from 64-bit ids (cgroup ids) to a number and an owned string:
 * the agent's caches of cgroup paths and of suppressed counts already reported. When full it
 * is cleared: everything in it can be recomputed.
 */
#ifndef MCPFENCE_IDMAP_H
#define MCPFENCE_IDMAP_H

#include <stdint.h>
#include <stdlib.h>

struct idmap_entry {
	uint64_t id; /* 0 = empty: cgroup ids are never 0 */
	uint64_t num;
	char *str;
};

struct idmap {
	size_t cap, n;
	struct idmap_entry *e;
};

struct idmap_entry *idmap_get(struct idmap *m, uint64_t id);
/* The entry for id, created empty if absent; NULL only when out of memory. */
struct idmap_entry *idmap_put(struct idmap *m, uint64_t id);
void idmap_clear(struct idmap *m);

#endif
