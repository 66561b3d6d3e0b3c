/* SPDX-License-Identifier: MIT */
/* Other tools' allowlists as mcpfence policies (`mcpfence policy import`); see import.c. */
#ifndef MCPFENCE_IMPORT_H
#define MCPFENCE_IMPORT_H

#include <jansson.h>

#include "util.h"

enum import_format { IMPORT_DOCKER_MCP, IMPORT_TOOLHIVE, IMPORT_HARDEN_RUNNER };

/* "docker-mcp", "toolhive", "harden-runner" -> enum import_format; -1 otherwise. */
int import_format_parse(const char *s);
/*
 * `doc` (the file, read as JSON or YAML) into an array of policy documents in *ret. `select`
 * names the one server (docker-mcp), job (harden-runner) or policy name (toolhive) wanted.
 * Refusals go to errs, naming the file and field, and then nothing is returned (-EINVAL);
 * constructs that are not egress and were left out go to notes.
 */
int policy_import(int format, const char *file, json_t *doc, const char *select, json_t **ret, struct diag *errs,
		  struct diag *notes);

#endif
