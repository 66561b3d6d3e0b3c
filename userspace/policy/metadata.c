// SPDX-License-Identifier: MIT
#include "metadata.h"

#include <sys/socket.h>

static const char *const none[] = { NULL };

/* docs/identity.md#metadata-endpoints lists these with their sources */
const struct metadata_endpoint metadata_endpoints[] = {
	{ "169.254.169.254", "AWS EC2, Google Cloud, Azure, Oracle Cloud, OpenStack, DigitalOcean, Hetzner",
	  (const char *const[]){ "metadata.google.internal", "metadata.goog", "instance-data.ec2.internal",
				 "instance-data", NULL } },
	{ "fd00:ec2::254", "AWS EC2 (IPv6)", (const char *const[]){ "instance-data.ec2.internal", NULL } },
	{ "fd20:ce::254", "Google Cloud (IPv6)", (const char *const[]){ "metadata.google.internal", NULL } },
	{ "169.254.170.2", "AWS ECS task metadata and credentials", none },
	{ "169.254.170.23", "EKS Pod Identity agent", none },
	{ "fd00:ec2::23", "EKS Pod Identity agent (IPv6)", none },
	{ "168.63.129.16", "Azure WireServer", none },
	{ "100.100.100.200", "Alibaba Cloud", none },
};
const size_t metadata_endpoints_n = ARRAY_SIZE(metadata_endpoints);
_Static_assert(ARRAY_SIZE(metadata_endpoints) <= METADATA_ENDPOINTS_MAX, "metadata_guards() callers size for this");

static bool endpoint_prefix(const struct metadata_endpoint *m, struct policy_prefix *ret)
{
	const char *why;

	return policy_cidr_parse(m->address, ret, &why) == 0;
}

bool metadata_named(const struct policy *p, const struct metadata_endpoint *m)
{
	struct policy_prefix e;

	if (!endpoint_prefix(m, &e))
		return false;
	for (size_t i = 0; i < p->nprefixes; i++)
		if (p->prefixes[i].family == e.family && p->prefixes[i].plen == e.plen &&
		    !memcmp(p->prefixes[i].addr, e.addr, 16))
			return true;
	for (size_t i = 0; i < p->nnames; i++)
		for (size_t k = 0; m->names[k]; k++)
			if (p->names[i].kind == MCPF_NAME_EXACT && !strcmp(p->names[i].name, m->names[k]))
				return true;
	return false;
}

static bool covers(const struct policy_prefix *outer, const struct policy_prefix *inner)
{
	unsigned full = outer->plen / 8, rest = outer->plen % 8;

	if (outer->family != inner->family || outer->plen > inner->plen ||
	    memcmp(outer->addr, inner->addr, full))
		return false;
	return !rest || !((outer->addr[full] ^ inner->addr[full]) & (0xff00 >> rest));
}

size_t metadata_guards(const struct policy *p, uint8_t family, struct policy_prefix *out)
{
	size_t n = 0;

	for (size_t k = 0; k < metadata_endpoints_n; k++) {
		struct policy_prefix e;
		bool reachable = p->nnames > 0;

		if (!endpoint_prefix(&metadata_endpoints[k], &e) || e.family != family ||
		    metadata_named(p, &metadata_endpoints[k]))
			continue;
		for (size_t i = 0; i < p->nprefixes && !reachable; i++)
			reachable = covers(&p->prefixes[i], &e);
		if (!reachable)
			continue;
		e.egress = POLICY_EGRESS_GUARD;
		out[n++] = e;
	}
	return n;
}
