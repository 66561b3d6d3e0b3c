/* SPDX-License-Identifier: MIT */
/*
 * Claim paths: where a policy finds a value inside a token's claims. A path is segments joined
 * by dots; a segment written ['...'] may hold any character, dots and slashes included (\' and
 * \\ escaped), for keys such as AWS's "https://sts.amazonaws.com/":
 *     ['https://sts.amazonaws.com/'].principal_tags.team
 * A path without brackets is first taken as one member name, then as nested members split at
 * any of its dots ("kubernetes.io.namespace" -> {"kubernetes.io": {"namespace": ...}}).
 */
#ifndef MCPFENCE_CLAIM_PATH_H
#define MCPFENCE_CLAIM_PATH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define CLAIM_PATH_MAX 512	/* bytes of a path */
#define CLAIM_PATH_SEGMENTS 16	/* segments of a bracketed path */

struct claim_path {
	bool bracketed;	/* written with ['...'] segments: resolved segment by segment only */
	size_t n;
	char seg[CLAIM_PATH_SEGMENTS][CLAIM_PATH_MAX];
};

/* 0, or -EINVAL with `why` saying what is wrong with the path. */
int claim_path_parse(const char *path, struct claim_path *out, const char **why);
/* The value at `path` in `claims`, or NULL (also for a path that does not parse). */
json_t *claim_lookup(json_t *claims, const char *path);
/* The path's segments, for judging what a policy selects on: a bracketed path as written; a
 * plain one split at its dots, except that a leading member named in `keys` (NULL-terminated,
 * names with dots such as "https://sts.amazonaws.com/") stays one segment. */
int claim_path_split(const char *path, const char *const *keys, struct claim_path *out);

/* A claim's value as text for matching: a string, an integer in decimal, true or false; NULL
 * for anything else (objects, reals, null). */
const char *claim_text(json_t *v, char *buf, size_t len);

#endif
