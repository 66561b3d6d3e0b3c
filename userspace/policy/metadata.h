/* SPDX-License-Identifier: MIT */
/*
 * Cloud metadata endpoints. Whatever can reach one can ask it for the machine's identity (a
 * token naming the VM, the instance role's keys), so a guarded workload must not reach them
 * through a broad rule (0.0.0.0/0, 169.254.0.0/16) or a name that happens to resolve to one.
 * The compiler puts a guard entry for each endpoint into every policy that could otherwise
 * reach it; a guard refuses the address in the kernel, names learned for it included. A rule
 * that names the endpoint itself (its exact address, or its host name) lifts the guard.
 */
#ifndef MCPFENCE_METADATA_H
#define MCPFENCE_METADATA_H

#include <stdbool.h>
#include <stddef.h>

#include "policy.h"

#define POLICY_EGRESS_GUARD UINT32_MAX /* a policy_prefix that is a metadata guard */
#define METADATA_ENDPOINTS_MAX 16

struct metadata_endpoint {
	const char *address;
	const char *what;		/* who answers there */
	const char *const *names;	/* host names that resolve to it */
};

extern const struct metadata_endpoint metadata_endpoints[];
extern const size_t metadata_endpoints_n;

/* Whether one of the policy's rules names this endpoint (address or host name). */
bool metadata_named(const struct policy *p, const struct metadata_endpoint *m);
/* The guards of one family the policy needs, appended to `out` (room for every endpoint):
 * endpoints it does not name that one of its prefixes covers, or any when it has names. */
size_t metadata_guards(const struct policy *p, uint8_t family, struct policy_prefix *out);

#endif
