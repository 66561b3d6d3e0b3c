/* SPDX-License-Identifier: MIT */
/*
 * DNS name patterns in policies: `example.com` (exact), `*.example.com` (exactly one more
 * label), `**.example.com` (one or more labels). Parsed to lower case without the trailing dot,
 * and written in the kernel's form: DNS wire format, right-aligned in MCPF_DNS_NAME_MAX bytes.
 */
#ifndef MCPFENCE_NAMES_H
#define MCPFENCE_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mcpfence_abi.h"

struct policy_name {
	uint8_t kind;	 /* enum mcpf_name_kind */
	char *name;	 /* lower case, without the wildcard labels and the trailing dot */
	uint32_t egress; /* index into policy.egress */
};

/* Whether a `to` entry is meant as a name (not an address or CIDR, even a malformed one). */
bool name_is_name(const char *s);
/* Parse a pattern; on error *why says what is wrong. */
int name_pattern_parse(const char *s, uint8_t *kind, char **ret_name, const char **why);
/* The pattern as written in a policy: "*." or "**." before the name. */
const char *name_kind_prefix(uint8_t kind);
/* Lower-case wire format, right-aligned with zeros before it. */
int name_to_wire(const char *name, uint8_t out[MCPF_DNS_NAME_MAX]);
/* Back to text ("api.github.com"); a name with bytes outside the hostname set is escaped. */
int name_from_wire(const uint8_t wire[MCPF_DNS_NAME_MAX], char *out, size_t len);
/* FNV-1a, 64 bits: the hash the kernel uses for names (over lower-case wire bytes). */
uint64_t name_fnv(const void *p, size_t n, uint64_t h);
#define NAME_FNV_OFFSET 0xcbf29ce484222325ULL

#endif
