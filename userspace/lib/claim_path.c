// SPDX-License-Identifier: MIT
#include "claim_path.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* One ['...'] segment at *p (just past the '['); advances past the closing ']'. */
static int bracket_segment(const char **p, char *out, const char **why)
{
	const char *s = *p;
	size_t n = 0;

	if (*s != '\'') {
		*why = "a bracketed segment is ['...'], in single quotes";
		return -EINVAL;
	}
	for (s++; *s && *s != '\''; s++) {
		if (*s == '\\') {
			if (s[1] != '\'' && s[1] != '\\') {
				*why = "inside ['...'] only \\' and \\\\ are escapes";
				return -EINVAL;
			}
			s++;
		}
		if (n + 1 >= CLAIM_PATH_MAX) {
			*why = "a segment is too long";
			return -EINVAL;
		}
		out[n++] = *s;
	}
	out[n] = '\0';
	if (s[0] != '\'' || s[1] != ']') {
		*why = "a bracketed segment is not closed with ']";
		return -EINVAL;
	}
	if (!n) {
		*why = "an empty segment";
		return -EINVAL;
	}
	*p = s + 2;
	return 0;
}

int claim_path_parse(const char *path, struct claim_path *out, const char **why)
{
	const char *p = path;
	static const char *ignored;

	why = why ? why : &ignored;
	memset(out, 0, sizeof(*out));
	if (!path || !*path || strlen(path) >= CLAIM_PATH_MAX) {
		*why = !path || !*path ? "an empty path" : "a path of 512 bytes or more";
		return -EINVAL;
	}
	out->bracketed = strchr(path, '[') || strchr(path, ']');
	if (!out->bracketed) {
		/* legacy: one name, resolved at lookup (exact member, then nested at any dot) */
		out->n = 1;
		snprintf(out->seg[0], sizeof(out->seg[0]), "%s", path);
		if (path[0] == '.' || path[strlen(path) - 1] == '.' || strstr(path, "..")) {
			*why = "an empty segment (a dot at an end, or two dots)";
			return -EINVAL;
		}
		return 0;
	}
	while (*p) {
		char *seg;
		size_t n = 0;

		if (out->n == CLAIM_PATH_SEGMENTS) {
			*why = "more than 16 segments";
			return -EINVAL;
		}
		seg = out->seg[out->n++];
		if (*p == '[') {
			p++;
			if (bracket_segment(&p, seg, why) < 0)
				return -EINVAL;
		} else {
			while (*p && *p != '.' && *p != '[') {
				if (*p == ']' || *p == '\'') {
					*why = "']' or a quote outside ['...']";
					return -EINVAL;
				}
				seg[n++] = *p++;
			}
			seg[n] = '\0';
			if (!n) {
				*why = "an empty segment";
				return -EINVAL;
			}
		}
		if (*p == '.') {
			p++;
			if (!*p) {
				*why = "a path ends with a dot";
				return -EINVAL;
			}
		} else if (*p && *p != '[') {
			*why = "segments are joined by dots";
			return -EINVAL;
		}
	}
	return 0;
}

/* Legacy resolution: the exact member, else split at each dot in turn and descend. */
static json_t *lookup_dotted(json_t *claims, const char *path, unsigned depth)
{
	json_t *v = json_object_get(claims, path);

	if (v || !json_is_object(claims) || depth >= CLAIM_PATH_SEGMENTS)
		return v;
	for (const char *dot = strchr(path, '.'); dot; dot = strchr(dot + 1, '.')) {
		char prefix[CLAIM_PATH_MAX];
		size_t n = (size_t)(dot - path);
		json_t *inner;

		if (n >= sizeof(prefix))
			break;
		memcpy(prefix, path, n);
		prefix[n] = '\0';
		inner = json_object_get(claims, prefix);
		if (json_is_object(inner) && (v = lookup_dotted(inner, dot + 1, depth + 1)))
			return v;
	}
	return NULL;
}

json_t *claim_lookup(json_t *claims, const char *path)
{
	struct claim_path cp;
	json_t *v = claims;

	if (claim_path_parse(path, &cp, NULL) < 0)
		return NULL;
	if (!cp.bracketed)
		return lookup_dotted(claims, path, 0);
	for (size_t i = 0; i < cp.n && v; i++)
		v = json_object_get(v, cp.seg[i]);
	return v;
}

int claim_path_split(const char *path, const char *const *keys, struct claim_path *out)
{
	char rest[CLAIM_PATH_MAX];
	const char *p;
	size_t n = 0;
	int r = claim_path_parse(path, out, NULL);

	if (r < 0 || out->bracketed)
		return r;
	/* a known member whose name has dots is one segment; the rest splits at every dot */
	snprintf(rest, sizeof(rest), "%s", path);
	p = rest;
	out->n = 0;
	for (size_t i = 0; keys && keys[i]; i++) {
		size_t kl = strlen(keys[i]);

		if (!strncmp(rest, keys[i], kl) && (rest[kl] == '.' || !rest[kl])) {
			snprintf(out->seg[out->n++], CLAIM_PATH_MAX, "%s", keys[i]);
			p = rest[kl] ? rest + kl + 1 : rest + kl;
			break;
		}
	}
	while (*p && out->n < CLAIM_PATH_SEGMENTS) {
		const char *dot = strchr(p, '.');

		n = dot ? (size_t)(dot - p) : strlen(p);
		snprintf(out->seg[out->n++], CLAIM_PATH_MAX, "%.*s", (int)n, p);
		p += n + (dot != NULL);
	}
	return 0;
}

const char *claim_text(json_t *v, char *buf, size_t len)
{
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
		return buf;
	}
	if (json_is_boolean(v))
		return json_is_true(v) ? "true" : "false";
	return NULL;
}
