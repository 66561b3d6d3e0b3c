// SPDX-License-Identifier: MIT
#include "idmap.h"

#include <string.h>

#define IDMAP_MAX 65536

static size_t slot_of(const struct idmap *m, uint64_t id)
{
	id ^= id >> 33;
	id *= 0xff51afd7ed558ccdULL;
	id ^= id >> 33;
	return (size_t)id & (m->cap - 1);
}

struct idmap_entry *idmap_get(struct idmap *m, uint64_t id)
{
	if (!m->cap || !id)
		return NULL;
	for (size_t i = slot_of(m, id);; i = (i + 1) & (m->cap - 1)) {
		if (m->e[i].id == id)
			return &m->e[i];
		if (!m->e[i].id)
			return NULL;
	}
}

void idmap_clear(struct idmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->e[i].str);
	free(m->e);
	memset(m, 0, sizeof(*m));
}

struct idmap_entry *idmap_put(struct idmap *m, uint64_t id)
{
	struct idmap_entry *e = idmap_get(m, id);
	size_t i;

	if (e || !id)
		return e;
	if (m->n >= IDMAP_MAX)
		idmap_clear(m);
	if ((m->n + 1) * 2 > m->cap) {
		struct idmap old = *m;

		m->cap = old.cap ? old.cap * 2 : 64;
		m->n = 0;
		m->e = calloc(m->cap, sizeof(*m->e));
		if (!m->e) {
			*m = old;
			return NULL;
		}
		for (size_t j = 0; j < old.cap; j++) {
			if (!old.e[j].id)
				continue;
			for (i = slot_of(m, old.e[j].id); m->e[i].id; i = (i + 1) & (m->cap - 1))
				;
			m->e[i] = old.e[j];
			m->n++;
		}
		free(old.e);
	}
	for (i = slot_of(m, id); m->e[i].id; i = (i + 1) & (m->cap - 1))
		;
	m->e[i].id = id;
	m->n++;
	return &m->e[i];
}
