// SPDX-License-Identifier: MIT
#include "suggest.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

#define PORT_BITMAP (65536 / 8)

/* One destination: "tcp api.example.com" -> the set of ports seen. */
struct dest {
	char *proto, *to;
	uint8_t *ports; /* PORT_BITMAP bytes */
};

struct dest_set {
	struct dest *items;
	size_t n;
};

static struct dest *dest_get(struct dest_set *s, const char *proto, const char *to)
{
	struct dest *items, *d;

	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->items[i].proto, proto) && !strcmp(s->items[i].to, to))
			return &s->items[i];
	items = realloc(s->items, (s->n + 1) * sizeof(*items));
	if (!items)
		return NULL;
	s->items = items;
	d = &items[s->n];
	d->proto = strdup(proto);
	d->to = strdup(to);
	d->ports = calloc(1, PORT_BITMAP);
	if (!d->proto || !d->to || !d->ports) {
		free(d->proto);
		free(d->to);
		free(d->ports);
		return NULL;
	}
	s->n++;
	return d;
}

/* "80", "443", "6000-6010" from the port bitmap, as the policy writes them. */
static json_t *ports_json(const struct dest *d)
{
	json_t *a = json_array();

	for (uint32_t p = 1; p < 65536; p++) {
		uint32_t hi = p;

		if (!(d->ports[p / 8] & (1u << (p % 8))))
			continue;
		while (hi + 1 < 65536 && (d->ports[(hi + 1) / 8] & (1u << ((hi + 1) % 8))))
			hi++;
		json_array_append_new(a, hi == p ? json_sprintf("%u", p) : json_sprintf("%u-%u", p, hi));
		p = hi;
	}
	return a;
}

static int cmp_dest(const void *a, const void *b)
{
	const struct dest *x = a, *y = b;
	int c = strcmp(x->proto, y->proto);

	if (!c)
		c = memcmp(x->ports, y->ports, PORT_BITMAP);
	return c ? c : strcmp(x->to, y->to);
}

json_t *policy_suggest(FILE *in, const char *policy, const char *name, struct suggest_stats *st)
{
	struct dest_set set = {};
	char *line = NULL;
	size_t cap = 0;
	json_t *egress = json_array(), *rule = NULL;

	memset(st, 0, sizeof(*st));
	while (getline(&line, &cap, in) > 0) {
		json_t *ev = json_loads(line, 0, NULL), *names;
		const char *type, *verdict, *proto, *to, *pol, *state;
		json_int_t port;
		struct dest *d;

		st->lines++;
		type = json_string_value(json_object_get(ev, "type"));
		verdict = json_string_value(json_object_get(ev, "verdict"));
		proto = json_string_value(json_object_get(ev, "protocol"));
		pol = json_string_value(json_object_get(ev, "policy"));
		state = json_string_value(json_object_get(ev, "dst_names_state"));
		port = json_integer_value(json_object_get(ev, "dport"));
		to = json_string_value(json_object_get(ev, "dst"));
		/* flows judged at connect or send; the backstop's packets repeat them */
		if (!type || strcmp(type, "egress") || !verdict ||
		    (policy && (!pol || strcmp(pol, policy))) ||
		    !strcmp(json_string_value(json_object_get(ev, "hook")) ?: "", "skb") ||
		    (state && !strcmp(state, "resolver"))) {
			json_decref(ev);
			continue;
		}
		if (!proto || (strcmp(proto, "tcp") && strcmp(proto, "udp")) || !to || port < 1 || port > 65535) {
			st->skipped++;
			json_decref(ev);
			continue;
		}
		names = json_object_get(ev, "dst_names");
		if (json_array_size(names) && json_is_string(json_object_get(json_array_get(names, 0), "name")))
			to = json_string_value(json_object_get(json_array_get(names, 0), "name"));
		d = dest_get(&set, proto, to);
		if (d) {
			d->ports[port / 8] |= (uint8_t)(1u << (port % 8));
			st->flows++;
		}
		json_decref(ev);
	}
	free(line);
	if (set.n)
		qsort(set.items, set.n, sizeof(*set.items), cmp_dest);
	for (size_t i = 0; i < set.n; i++) {
		const struct dest *d = &set.items[i];

		/* destinations with the same protocol and ports share one rule */
		if (!i || strcmp(d->proto, set.items[i - 1].proto) ||
		    memcmp(d->ports, set.items[i - 1].ports, PORT_BITMAP)) {
			rule = json_pack("{s:[], s:o, s:s}", "to", "ports", ports_json(d), "protocol", d->proto);
			json_array_append_new(egress, rule);
		}
		json_array_append_new(json_object_get(rule, "to"), json_string(d->to));
	}
	for (size_t i = 0; i < set.n; i++) {
		free(set.items[i].proto);
		free(set.items[i].to);
		free(set.items[i].ports);
	}
	free(set.items);
	return json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:o}}", "apiVersion", "mcpfence/v1", "kind",
			 "EgressPolicy", "metadata", "name", name, "spec", "mode", "enforce", "egress",
			 egress);
}
