/* SPDX-License-Identifier: MIT */
/*
 * YAML (1.1, through libyaml) read into jansson values, for the files other tools write
 * (Docker MCP catalogs, GitHub workflows): mappings become objects, sequences arrays. A plain
 * scalar that is a decimal integer becomes an integer, true/false booleans, null/~ null; every
 * other scalar (and every quoted one) a string. Anchors and aliases are refused: nothing
 * imported needs them, and they are how a small file becomes a huge one. A JSON file is YAML.
 */
#ifndef MCPFENCE_YAMLJSON_H
#define MCPFENCE_YAMLJSON_H

#include <jansson.h>
#include <stddef.h>

/* The first document of `text`; NULL with `err` set ("line N: why"). */
json_t *yaml_to_json(const char *text, size_t len, char *err, size_t errlen);

#endif
