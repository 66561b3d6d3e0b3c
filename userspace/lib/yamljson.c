// SPDX-License-Identifier: MIT
#include "yamljson.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define YAML_DEPTH_MAX 64

struct reader {
	yaml_parser_t p;
	char *err;
	size_t errlen;
};

static json_t *scalar(const yaml_event_t *ev)
{
	const char *v = (const char *)ev->data.scalar.value;
	size_t n = ev->data.scalar.length;

	if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
		if (!strcmp(v, "true") || !strcmp(v, "false"))
			return json_boolean(v[0] == 't');
		if (!strcmp(v, "null") || !strcmp(v, "~") || n == 0)
			return json_null();
		if (n && n < 19 && strspn(v + (v[0] == '-'), "0123456789") == n - (v[0] == '-') && n > (size_t)(v[0] == '-'))
			return json_integer(strtoll(v, NULL, 10));
	}
	return json_stringn(v, n);
}

static json_t *node(struct reader *r, yaml_event_t *ev, int depth);

static bool fail(struct reader *r, const yaml_event_t *ev, const char *why)
{
	snprintf(r->err, r->errlen, "line %zu: %s", ev ? ev->start_mark.line + 1 : r->p.problem_mark.line + 1,
		 why ? why : r->p.problem ? r->p.problem : "not YAML");
	return false;
}

/* The children of a mapping or sequence, up to its end event. */
static json_t *collection(struct reader *r, bool mapping, int depth)
{
	json_t *out = mapping ? json_object() : json_array();
	yaml_event_t ev;

	for (;;) {
		json_t *key = NULL, *val;

		if (!yaml_parser_parse(&r->p, &ev)) {
			fail(r, NULL, NULL);
			break;
		}
		if (ev.type == (mapping ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT)) {
			yaml_event_delete(&ev);
			return out;
		}
		if (mapping) {
			key = ev.type == YAML_SCALAR_EVENT ? json_stringn((const char *)ev.data.scalar.value, ev.data.scalar.length) : NULL;
			if (!key) {
				fail(r, &ev, "a mapping key that is not a scalar");
				yaml_event_delete(&ev);
				break;
			}
			yaml_event_delete(&ev);
			if (!yaml_parser_parse(&r->p, &ev)) {
				json_decref(key);
				fail(r, NULL, NULL);
				break;
			}
		}
		val = node(r, &ev, depth + 1);
		yaml_event_delete(&ev);
		if (!val) {
			json_decref(key);
			break;
		}
		if (mapping) {
			json_object_set_new(out, json_string_value(key), val);
			json_decref(key);
		} else {
			json_array_append_new(out, val);
		}
	}
	json_decref(out);
	return NULL;
}

static json_t *node(struct reader *r, yaml_event_t *ev, int depth)
{
	if (depth > YAML_DEPTH_MAX) {
		fail(r, ev, "nested too deep");
		return NULL;
	}
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		if (ev->data.scalar.anchor)
			break;
		return scalar(ev);
	case YAML_SEQUENCE_START_EVENT:
		if (ev->data.sequence_start.anchor)
			break;
		return collection(r, false, depth);
	case YAML_MAPPING_START_EVENT:
		if (ev->data.mapping_start.anchor)
			break;
		return collection(r, true, depth);
	case YAML_ALIAS_EVENT:
		break;
	default:
		fail(r, ev, "unexpected YAML structure");
		return NULL;
	}
	fail(r, ev, "anchors and aliases are not accepted");
	return NULL;
}

json_t *yaml_to_json(const char *text, size_t len, char *err, size_t errlen)
{
	struct reader r = { .err = err, .errlen = errlen };
	json_t *doc = NULL;
	yaml_event_t ev;

	snprintf(err, errlen, "empty document");
	if (!yaml_parser_initialize(&r.p))
		return NULL;
	yaml_parser_set_input_string(&r.p, (const unsigned char *)text, len);
	while (yaml_parser_parse(&r.p, &ev)) {
		yaml_event_type_t t = ev.type;

		if (t == YAML_SCALAR_EVENT || t == YAML_SEQUENCE_START_EVENT || t == YAML_MAPPING_START_EVENT ||
		    t == YAML_ALIAS_EVENT) {
			doc = node(&r, &ev, 0);
			yaml_event_delete(&ev);
			break;
		}
		yaml_event_delete(&ev);
		if (t == YAML_STREAM_END_EVENT)
			break;
	}
	if (!doc && r.p.error != YAML_NO_ERROR)
		fail(&r, NULL, NULL);
	yaml_parser_delete(&r.p);
	return doc;
}
