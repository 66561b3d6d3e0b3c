/* SPDX-License-Identifier: MIT */
/*
 * A small open-addressing table from 64-bit ids (cgroup ids) to a number and an owned string.
 * Two uses: a cache (.cache = true: cgroup paths, suppressed counts already reported), cleared
 * when it reaches IDMAP_CACHE_MAX entries because everything in it can be recomputed; and state
 * that cannot be (the claims of a binding, the workload it runs), which grows as it must and
 * loses an entry only by idmap_del, when its binding goes.
 */
#ifndef MCPFENCE_IDMAP_H
#define MCPFENCE_IDMAP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

struct idmap_entry {
	uint64_t id; /* 0 = empty: cgroup ids are never 0 */
	uint64_t num;
	char *str;
};

#ifndef IDMAP_CACHE_MAX
#define IDMAP_CACHE_MAX 65536 /* a test build may lower it */
#endif

struct idmap {
	size_t cap, n;
	struct idmap_entry *e;
	bool cache; /* cleared when full, rather than grown */
};

struct idmap_entry *idmap_get(struct idmap *m, uint64_t id);
/* The entry for id, created empty if absent; NULL only when out of memory. */
struct idmap_entry *idmap_put(struct idmap *m, uint64_t id);
/* Remove id's entry (its string freed); nothing when absent. */
void idmap_del(struct idmap *m, uint64_t id);
/* Free everything; the table stays usable (and keeps .cache). */
void idmap_clear(struct idmap *m);

#endif
