// SPDX-License-Identifier: MIT
#include "idmap.h"

#include <string.h>

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
	bool cache = m->cache;

	for (size_t i = 0; i < m->cap; i++)
		free(m->e[i].str);
	free(m->e);
	memset(m, 0, sizeof(*m));
	m->cache = cache;
}

void idmap_del(struct idmap *m, uint64_t id)
{
	struct idmap_entry *e = idmap_get(m, id);
	size_t hole, i;

	if (!e)
		return;
	free(e->str);
	hole = (size_t)(e - m->e);
	m->e[hole] = (struct idmap_entry){};
	m->n--;
	/* backward shift: an entry after the hole moves into it unless its home slot lies
	 * (cyclically) after the hole, so that every probe sequence stays unbroken */
	for (i = (hole + 1) & (m->cap - 1); m->e[i].id; i = (i + 1) & (m->cap - 1)) {
		size_t home = slot_of(m, m->e[i].id);

		if (((i - home) & (m->cap - 1)) >= ((i - hole) & (m->cap - 1))) {
			m->e[hole] = m->e[i];
			m->e[i] = (struct idmap_entry){};
			hole = i;
		}
	}
}

struct idmap_entry *idmap_put(struct idmap *m, uint64_t id)
{
	struct idmap_entry *e = idmap_get(m, id);
	size_t i;

	if (e || !id)
		return e;
	if (m->cache && m->n >= IDMAP_CACHE_MAX)
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
