// SPDX-License-Identifier: MIT
/* Unit tests of the policy parser and compiler; no root, no kernel. */
#include <arpa/inet.h>
#include <sys/stat.h>
#include <time.h>

#include "testlib.h"
#include "policy.h"
#include "claim_path.h"
#include "metadata.h"
#include "scope.h"

static const char *wrap_fmt =
	"{\"apiVersion\":\"mcpfence/v1\",\"kind\":\"EgressPolicy\",\"metadata\":{\"name\":\"t\"},"
	"\"spec\":{%s}}";

static int parse_spec(const char *spec, struct policy **ret, struct diag *errs)
{
	char *doc = strdup_printf(wrap_fmt, spec);
	int r = policy_parse("t.json", doc, strlen(doc), ret, errs);

	free(doc);
	return r;
}

/* The error list contains a message with this text. */
static int has_error(const struct diag *d, const char *needle)
{
	for (size_t i = 0; i < d->n; i++)
		if (strstr(d->msgs[i], needle))
			return 1;
	return 0;
}

static void dump_errors(const struct diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		printf("    error: %s\n", d->msgs[i]);
}

/* What the kernel would answer: longest prefix, then port and protocol. */
static int lookup(const struct policy_compiled *c, const char *addr, uint16_t port, uint8_t proto)
{
	uint8_t a[16] = {};
	int fam = strchr(addr, ':') ? AF_INET6 : AF_INET;
	const struct policy_entry *ents = fam == AF_INET ? c->v4 : c->v6;
	size_t n = fam == AF_INET ? c->n4 : c->n6;
	const struct policy_entry *best = NULL;

	inet_pton(fam, addr, a);
	for (size_t i = 0; i < n; i++) {
		const struct policy_entry *e = &ents[i];
		unsigned bits = e->plen, full = bits / 8, rem = bits % 8;

		if (memcmp(e->addr, a, full))
			continue;
		if (rem && (e->addr[full] ^ a[full]) & (0xff00 >> rem))
			continue;
		if (!best || e->plen > best->plen)
			best = e;
	}
	if (!best)
		return 0;
	for (uint32_t i = 0; i < best->allow.nranges; i++) {
		const struct mcpf_port_range *r = &best->allow.ranges[i];

		if ((r->protos & proto) && port >= r->lo && port <= r->hi)
			return 1;
	}
	return 0;
}

static void test_valid_example(void)
{
	struct policy *p = NULL;
	struct policy_compiled c;
	struct diag e = {};
	const char *doc =
		"{\"apiVersion\":\"mcpfence/v1\",\"kind\":\"EgressPolicy\","
		"\"metadata\":{\"name\":\"github-mcp\"},\"spec\":{\"mode\":\"enforce\","
		"\"identity\":{\"issuer\":\"https://token.actions.githubusercontent.com\","
		"\"audience\":\"mcpfence\",\"subject\":\"repo:acme/github-mcp:environment:prod\","
		"\"claims\":{\"repository\":\"acme/github-mcp\",\"ref\":\"refs/heads/main\"}},"
		"\"egress\":[{\"to\":[\"140.82.112.0/20\",\"2606:50c0::/32\"],\"ports\":[\"443\"],"
		"\"protocol\":\"tcp\"},{\"to\":[\"10.0.4.17\"],\"ports\":[\"5432\",\"6000-6010\"],"
		"\"protocol\":\"any\"}]}}";

	TEST("policy: the architecture's example parses and compiles");
	CHECK(policy_parse("ex.json", doc, strlen(doc), &p, &e) == 0, "parse failed");
	dump_errors(&e);
	if (!p)
		return;
	CHECK(!strcmp(p->name, "github-mcp"), "name %s", p->name);
	CHECK(p->mode == MCPF_MODE_ENFORCE, "mode");
	CHECK(p->identity != NULL, "identity kept");
	CHECK(policy_compile(p, &c, &e) == 0, "compile");
	CHECK(c.n4 == 2 && c.n6 == 1, "n4=%zu n6=%zu", c.n4, c.n6);
	CHECK(lookup(&c, "140.82.113.5", 443, MCPF_PROTO_TCP), "github 443/tcp allowed");
	CHECK(!lookup(&c, "140.82.113.5", 443, MCPF_PROTO_UDP), "github 443/udp denied");
	CHECK(!lookup(&c, "140.82.113.5", 80, MCPF_PROTO_TCP), "github 80 denied");
	CHECK(!lookup(&c, "140.82.128.1", 443, MCPF_PROTO_TCP), "outside /20 denied");
	CHECK(lookup(&c, "2606:50c0:8000::154", 443, MCPF_PROTO_TCP), "v6 allowed");
	CHECK(lookup(&c, "10.0.4.17", 6005, MCPF_PROTO_UDP), "range udp");
	CHECK(lookup(&c, "10.0.4.17", 5432, MCPF_PROTO_TCP), "5432 tcp");
	CHECK(!lookup(&c, "10.0.4.17", 6011, MCPF_PROTO_TCP), "6011 denied");
	CHECK(!lookup(&c, "10.0.4.18", 5432, MCPF_PROTO_TCP), "other host denied");
	policy_compiled_clear(&c);
	policy_free(p);
	diag_clear(&e);
	TEST_END();
}

struct bad_case {
	const char *spec;
	const char *error;
};

static void test_errors(void)
{
	static const struct bad_case cases[] = {
		{ "\"egress\":[{\"to\":[\"10.0.0.1\"],\"ports\":[\"443\",\"70000\"]}]",
		  "t.json: spec.egress[0].ports[1]: \"70000\" is not a port or port range" },
		{ "\"egress\":[{\"to\":[\"10.0.0.1\"],\"ports\":[70000]}]",
		  "spec.egress[0].ports[0]: 70000 is not a port" },
		{ "\"egress\":[{\"to\":[\"10.0.0.1\"],\"ports\":[\"20-10\"]}]",
		  "spec.egress[0].ports[0]: \"20-10\" is not a port or port range" },
		{ "\"egress\":[{\"to\":[\"10.0.0.1\"],\"ports\":[\"-1\"]}]",
		  "spec.egress[0].ports[0]: \"-1\" is not a port" },
		{ "\"egress\":[{\"to\":[\"10.0.0.1\"],\"ports\":[\"44 3\"]}]",
		  "spec.egress[0].ports[0]: \"44 3\" is not a port" },
		{ "\"egress\":[{\"to\":[\"10.0.0.1\"],\"ports\":[]}]",
		  "spec.egress[0].ports: must be a non-empty array" },
		{ "\"egress\":[{\"to\":[\"10.0.0.256\"]}]",
		  "spec.egress[0].to[0]: \"10.0.0.256\" is not an IPv4 or IPv6 address" },
		{ "\"egress\":[{\"to\":[\"10.0.0.0/33\"]}]",
		  "spec.egress[0].to[0]: \"10.0.0.0/33\" has a bad prefix length" },
		{ "\"egress\":[{\"to\":[\"10.0.0.0/\"]}]", "has a bad prefix length" },
		{ "\"egress\":[{\"to\":[\"10.0.0.0/08\"]}]", "has a bad prefix length" },
		{ "\"egress\":[{\"to\":[\"2001:db8::/129\"]}]", "has a bad prefix length" },
		{ "\"egress\":[{\"to\":[\"10.0.0.1/8\"]}]",
		  "spec.egress[0].to[0]: \"10.0.0.1/8\" has host bits set" },
		{ "\"egress\":[{\"to\":[\"2001:db8::1/32\"]}]", "has host bits set" },
		{ "\"egress\":[{\"to\":[\"b\u00fccher.example\"]}]",
		  "spec.egress[0].to[0]: name \"b\u00fccher.example\" is not ASCII: write the name in its punycode form" },
		{ "\"egress\":[{\"to\":[\"a.*.example\"]}]", "has '*' other than as a whole first label" },
		{ "\"egress\":[{\"to\":[\"*.\"]}]", "has no domain after its wildcard" },
		{ "\"egress\":[{\"to\":[\"a..example\"]}]", "has an empty label" },
		{ "\"egress\":[{\"to\":[\"-a.example\"]}]", "starts with '-'" },
		{ "\"egress\":[{\"to\":[\"a b.example\"]}]", "has a character other than" },
		{ "\"egress\":[{\"to\":[42]}]", "spec.egress[0].to[0]: must be a string (an address, CIDR or name)" },
		{ "\"egress\":[{\"to\":[]}]", "spec.egress[0].to: required" },
		{ "\"egress\":[{\"ports\":[\"1\"]}]", "spec.egress[0].to: required" },
		{ "\"egress\":[{\"to\":[\"10.0.0.1\"],\"protocol\":\"icmp\"}]",
		  "spec.egress[0].protocol: must be \"tcp\", \"udp\" or \"any\"" },
		{ "\"egress\":[{\"to\":[\"10.0.0.1\"],\"port\":[\"1\"]}]",
		  "spec.egress[0].port: unknown field" },
		{ "\"egress\":[], \"mode\":\"block\"", "spec.mode: must be \"enforce\" or \"audit\"" },
		{ "\"egress\":[], \"extra\":1", "spec.extra: unknown field" },
		{ "\"mode\":\"enforce\"", "spec.egress: required" },
		{ "\"egress\":{}", "spec.egress: required, an array" },
		{ "\"egress\":[\"10.0.0.1\"]", "spec.egress[0]: must be an object" },
		{ "\"egress\":[], \"identity\":{\"audience\":\"x\"}", "spec.identity.issuer: required" },
		{ "\"egress\":[], \"identity\":{\"issuer\":\"https://i\",\"sub\":\"x\"}",
		  "spec.identity.sub: unknown field" },
		{ "\"egress\":[], \"identity\":{\"issuer\":\"https://i\",\"claims\":{\"a\":1}}",
		  "spec.identity.claims.a: must be a string or {\"glob\"" },
		{ "\"egress\":[], \"identity\":{\"issuer\":\"https://i\",\"subject\":{\"re\":\"x\"}}",
		  "spec.identity.subject.re: unknown field" },
		{ "\"egress\":[], \"identity\":{\"issuer\":"
		  "\"https://token.actions.githubusercontent.com\",\"audience\":\"mcpfence\"}",
		  "is shared by every GitHub repository" },
		{ "\"egress\":[], \"identity\":{\"issuer\":"
		  "\"https://token.actions.githubusercontent.com\",\"claims\":{\"repository\":{\"glob\":"
		  "\"*\"}}}",
		  "is shared by every GitHub repository" },
	};
	char name[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct policy *p = NULL;
		struct diag e = {};
		int r = parse_spec(cases[i].spec, &p, &e);

		snprintf(name, sizeof(name), "policy: bad input %zu gives \"%.60s\"", i, cases[i].error);
		TEST(name);
		CHECK(r == -EINVAL && !p, "accepted: %s", cases[i].spec);
		CHECK(has_error(&e, cases[i].error), "no error \"%s\" for %s", cases[i].error,
		      cases[i].spec);
		if (!has_error(&e, cases[i].error))
			dump_errors(&e);
		policy_free(p);
		diag_clear(&e);
		TEST_END();
	}
}

static void test_document_errors(void)
{
	static const struct bad_case cases[] = {
		{ "{\"apiVersion\":\"mcpfence/v1\",\"apiVersion\":\"mcpfence/v1\"}", "duplicate" },
		{ "[1,2]", "the document must be a JSON object" },
		{ "{\"apiVersion\":\"v2\"", "line 1" },
		{ "", "line" },
		{ "{\"apiVersion\":\"mcpfence/v2\",\"kind\":\"EgressPolicy\",\"metadata\":{\"name\":\"a\"},"
		  "\"spec\":{\"egress\":[]}}",
		  "apiVersion: must be \"mcpfence/v1\"" },
		{ "{\"apiVersion\":\"mcpfence/v1\",\"kind\":\"Policy\",\"metadata\":{\"name\":\"a\"},"
		  "\"spec\":{\"egress\":[]}}",
		  "kind: must be \"EgressPolicy\" or \"ClusterEgressPolicy\"" },
		{ "{\"apiVersion\":\"mcpfence/v1\",\"kind\":\"EgressPolicy\",\"metadata\":{\"name\":"
		  "\"Bad Name\"},\"spec\":{\"egress\":[]}}",
		  "metadata.name: required" },
		{ "{\"apiVersion\":\"mcpfence/v1\",\"kind\":\"EgressPolicy\",\"metadata\":{\"name\":"
		  "\"a\",\"labels\":{}},\"spec\":{\"egress\":[]}}",
		  "metadata.labels: unknown field" },
		{ "{\"apiVersion\":\"mcpfence/v1\",\"kind\":\"EgressPolicy\",\"metadata\":{\"name\":"
		  "\"a\"},\"spec\":{\"egress\":[]},\"status\":{}}",
		  "status: unknown field" },
	};
	char name[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct policy *p = NULL;
		struct diag e = {};
		int r = policy_parse("doc.json", cases[i].spec, strlen(cases[i].spec), &p, &e);

		snprintf(name, sizeof(name), "policy: bad document %zu gives \"%.50s\"", i,
			 cases[i].error);
		TEST(name);
		CHECK(r < 0 && !p, "accepted");
		CHECK(has_error(&e, cases[i].error), "missing \"%s\"", cases[i].error);
		if (!has_error(&e, cases[i].error))
			dump_errors(&e);
		policy_free(p);
		diag_clear(&e);
		TEST_END();
	}
}

static void test_all_errors_reported(void)
{
	struct policy *p = NULL;
	struct diag e = {};

	TEST("policy: every error of a file is reported, not just the first");
	parse_spec("\"mode\":\"x\",\"egress\":[{\"to\":[\"1.2.3.4/40\"],\"ports\":[\"99999\"]},"
		   "{\"to\":[\"::g\"]}]",
		   &p, &e);
	CHECK(e.n == 4, "expected 4 errors, got %zu", e.n);
	CHECK(has_error(&e, "spec.mode") && has_error(&e, "spec.egress[0].to[0]") &&
		      has_error(&e, "spec.egress[0].ports[0]") && has_error(&e, "spec.egress[1].to[0]"),
	      "paths");
	policy_free(p);
	diag_clear(&e);
	TEST_END();
}

static struct policy *must_parse(const char *spec)
{
	struct policy *p = NULL;
	struct diag e = {};

	if (parse_spec(spec, &p, &e) < 0) {
		printf("    unexpected parse failure of %s\n", spec);
		dump_errors(&e);
	}
	diag_clear(&e);
	return p;
}

static void test_merging(void)
{
	struct policy *p;
	struct policy_compiled c = {};
	struct diag e = {};

	TEST("compiler: covering prefixes' rules merge into more specific ones");
	p = must_parse("\"egress\":["
		       "{\"to\":[\"10.0.0.0/8\"],\"ports\":[\"53\"],\"protocol\":\"udp\"},"
		       "{\"to\":[\"10.1.0.0/16\"],\"ports\":[\"443\"],\"protocol\":\"tcp\"},"
		       "{\"to\":[\"10.1.2.3\"],\"ports\":[\"8080\"],\"protocol\":\"tcp\"},"
		       "{\"to\":[\"0.0.0.0/0\"],\"ports\":[\"123\"],\"protocol\":\"udp\"}]");
	CHECK(p && policy_compile(p, &c, &e) == 0, "compile");
	/* 4 prefixes, and the /0 brings guards for the 5 IPv4 cloud metadata endpoints */
	CHECK(c.n4 == 4 + 5, "n4 %zu", c.n4);
	CHECK(!lookup(&c, "169.254.169.254", 123, MCPF_PROTO_UDP), "/0 does not reach metadata");
	/* the /32 inherits /16, /8 and /0 */
	CHECK(lookup(&c, "10.1.2.3", 8080, MCPF_PROTO_TCP), "own rule");
	CHECK(lookup(&c, "10.1.2.3", 443, MCPF_PROTO_TCP), "from /16");
	CHECK(lookup(&c, "10.1.2.3", 53, MCPF_PROTO_UDP), "from /8");
	CHECK(lookup(&c, "10.1.2.3", 123, MCPF_PROTO_UDP), "from /0");
	CHECK(!lookup(&c, "10.1.2.3", 53, MCPF_PROTO_TCP), "53/tcp not granted");
	CHECK(!lookup(&c, "10.1.2.4", 8080, MCPF_PROTO_TCP), "sibling lacks /32's rule");
	CHECK(lookup(&c, "10.1.2.4", 443, MCPF_PROTO_TCP), "sibling gets /16");
	CHECK(lookup(&c, "10.200.0.1", 53, MCPF_PROTO_UDP), "/8 only");
	CHECK(!lookup(&c, "10.200.0.1", 443, MCPF_PROTO_TCP), "/16 rule not leaking up");
	CHECK(lookup(&c, "192.0.2.1", 123, MCPF_PROTO_UDP), "/0");
	CHECK(!lookup(&c, "192.0.2.1", 53, MCPF_PROTO_UDP), "/0 only 123");
	policy_compiled_clear(&c);
	policy_free(p);
	TEST_END();

	TEST("compiler: overlapping and adjacent ranges merge; tcp+udp share entries");
	p = must_parse("\"egress\":["
		       "{\"to\":[\"192.0.2.0/24\"],\"ports\":[\"100-200\",\"150-250\",\"251\"],"
		       "\"protocol\":\"tcp\"},"
		       "{\"to\":[\"192.0.2.0/24\"],\"ports\":[\"100-251\"],\"protocol\":\"udp\"},"
		       "{\"to\":[\"192.0.2.0/24\"],\"ports\":[\"300\"]}]");
	CHECK(p && policy_compile(p, &c, &e) == 0, "compile");
	CHECK(c.n4 == 1, "one prefix, %zu", c.n4);
	if (c.n4 == 1) {
		const struct mcpf_allow *a = &c.v4[0].allow;

		/* tcp and udp on 100-251 come from rules 0 and 1: apart, so each is credited */
		CHECK(a->nranges == 3, "nranges %u", a->nranges);
		CHECK(a->ranges[0].lo == 100 && a->ranges[0].hi == 251 &&
			      a->ranges[0].protos == MCPF_PROTO_TCP && a->ranges[0].rule == 0,
		      "range0 %u-%u/%u rule %u", a->ranges[0].lo, a->ranges[0].hi, a->ranges[0].protos,
		      a->ranges[0].rule);
		CHECK(a->ranges[1].lo == 100 && a->ranges[1].hi == 251 &&
			      a->ranges[1].protos == MCPF_PROTO_UDP && a->ranges[1].rule == 1,
		      "range1");
		CHECK(a->ranges[2].lo == 300 && a->ranges[2].hi == 300 &&
			      a->ranges[2].protos == (MCPF_PROTO_TCP | MCPF_PROTO_UDP) && a->ranges[2].rule == 2,
		      "range2");
	}
	CHECK(!lookup(&c, "192.0.2.9", 252, MCPF_PROTO_TCP), "252 denied");
	CHECK(!lookup(&c, "192.0.2.9", 300, MCPF_PROTO_OTHER), "ports exclude icmp");
	policy_compiled_clear(&c);
	policy_free(p);
	TEST_END();

	TEST("compiler: protocol any without ports also allows other IP protocols");
	p = must_parse("\"egress\":[{\"to\":[\"2001:db8::/32\"]},"
		       "{\"to\":[\"2001:db8:1::/48\"],\"ports\":[\"1-65535\"],\"protocol\":\"tcp\"}]");
	CHECK(p && policy_compile(p, &c, &e) == 0, "compile");
	CHECK(c.n6 == 2, "n6 %zu", c.n6);
	CHECK(lookup(&c, "2001:db8:1::5", 0, MCPF_PROTO_OTHER), "icmp from covering any rule");
	CHECK(lookup(&c, "2001:db8:1::5", 0, MCPF_PROTO_TCP), "port 0 tcp via any");
	CHECK(lookup(&c, "2001:db8:2::5", 9, MCPF_PROTO_UDP), "/32 udp");
	CHECK(!lookup(&c, "2001:db9::1", 9, MCPF_PROTO_UDP), "outside");
	policy_compiled_clear(&c);
	policy_free(p);
	TEST_END();

	TEST("compiler: IPv4-mapped IPv6 prefixes become IPv4 prefixes");
	p = must_parse("\"egress\":[{\"to\":[\"::ffff:198.51.100.0/120\"],\"ports\":[\"80\"]}]");
	CHECK(p && policy_compile(p, &c, &e) == 0, "compile");
	CHECK(c.n4 == 1 && c.n6 == 0, "n4 %zu n6 %zu", c.n4, c.n6);
	CHECK(c.n4 == 1 && c.v4[0].plen == 24, "plen");
	CHECK(lookup(&c, "198.51.100.7", 80, MCPF_PROTO_TCP), "mapped -> v4");
	policy_compiled_clear(&c);
	policy_free(p);
	TEST_END();

	TEST("compiler: duplicate prefixes across rules collapse into one entry");
	p = must_parse("\"egress\":[{\"to\":[\"203.0.113.5\",\"203.0.113.5/32\"],\"ports\":[\"1\"]},"
		       "{\"to\":[\"203.0.113.5\"],\"ports\":[\"2\"],\"protocol\":\"udp\"}]");
	CHECK(p && policy_compile(p, &c, &e) == 0, "compile");
	CHECK(c.n4 == 1, "n4 %zu", c.n4);
	CHECK(lookup(&c, "203.0.113.5", 1, MCPF_PROTO_TCP) &&
		      lookup(&c, "203.0.113.5", 2, MCPF_PROTO_UDP) &&
		      !lookup(&c, "203.0.113.5", 2, MCPF_PROTO_TCP),
	      "both rules");
	policy_compiled_clear(&c);
	policy_free(p);
	TEST_END();

	TEST("compiler: an empty egress list compiles to nothing (deny all)");
	p = must_parse("\"egress\":[]");
	CHECK(p && policy_compile(p, &c, &e) == 0 && c.n4 == 0 && c.n6 == 0, "empty");
	policy_compiled_clear(&c);
	policy_free(p);
	TEST_END();

	TEST("compiler: more distinct port ranges than an entry holds is an error naming the prefix");
	{
		char spec[4096] = "\"egress\":[{\"to\":[\"192.0.2.1\"],\"ports\":[";
		for (int i = 0; i < MCPF_MAX_PORT_RANGES + 1; i++)
			snprintf(spec + strlen(spec), sizeof(spec) - strlen(spec), "%s\"%d\"",
				 i ? "," : "", 1000 + 2 * i);
		strcat(spec, "]}]");
		p = must_parse(spec);
		CHECK(p && policy_compile(p, &c, &e) == -E2BIG, "too many ranges accepted");
		CHECK(has_error(&e, "192.0.2.1/32 needs more than 16 distinct port ranges"), "message");
		policy_compiled_clear(&c);
		policy_free(p);
		diag_clear(&e);
	}
	TEST_END();
}

static void test_large(void)
{
	size_t n = 100000, cap = n * 24 + 256;
	char *spec = malloc(cap), *s = spec;
	struct policy *p = NULL;
	struct policy_compiled c = {};
	struct diag e = {};
	struct timespec t0, t1;
	double ms;

	/* the time is printed, not asserted: a unit test on a shared machine (and under ASan) is no
	 * benchmark; bench/run.sh holds the load time to its target */
	TEST("compiler: 100k prefixes with port ranges compile and merge");
	s += sprintf(s, "\"egress\":[{\"ports\":[\"443\",\"8000-8100\"],\"protocol\":\"tcp\",\"to\":[");
	for (size_t i = 0; i < n; i++)
		s += sprintf(s, "%s\"10.%zu.%zu.0/24\"", i ? "," : "", (i >> 8) & 255, i & 255);
	s += sprintf(s, "]},{\"to\":[\"10.0.0.0/8\"],\"ports\":[\"53\"],\"protocol\":\"udp\"}]");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(parse_spec(spec, &p, &e) == 0, "parse");
	CHECK(p && policy_compile(p, &c, &e) == 0, "compile");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	printf("    100k prefixes: parse+compile %.1f ms, %zu entries\n", ms, c.n4);
	CHECK(c.n4 == 65536 + 1, "entries %zu (duplicates collapse: 65536 distinct /24 + /8)", c.n4);
	CHECK(lookup(&c, "10.3.4.5", 8050, MCPF_PROTO_TCP) && lookup(&c, "10.3.4.5", 53, MCPF_PROTO_UDP),
	      "merged");
	policy_compiled_clear(&c);
	policy_free(p);
	free(spec);
	TEST_END();
}

static void test_dir_loading(void)
{
	char dir[] = "/tmp/mcpf-unit-XXXXXX";
	struct policy_set set = {};
	struct diag e = {};
	char *paths[1];
	FILE *f;

	TEST("policy set: a directory loads its *.json; duplicate names are an error");
	CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	paths[0] = dir;
	for (int i = 0; i < 3; i++) {
		char *fn = strdup_printf("%s/%c.json", dir, 'a' + i);

		f = fopen(fn, "w");
		fprintf(f, wrap_fmt, "\"egress\":[]");
		fclose(f);
		free(fn);
	}
	{
		char *fn = strdup_printf("%s/ignored.txt", dir);

		f = fopen(fn, "w");
		fputs("not json", f);
		fclose(f);
		free(fn);
	}
	CHECK(policy_set_load(paths, 1, &set, &e) == -EEXIST, "duplicate accepted");
	CHECK(has_error(&e, "metadata.name: \"t\" is already defined in"), "message");
	CHECK(set.n == 1, "first kept, %zu", set.n);
	policy_set_clear(&set);
	diag_clear(&e);
	{
		char *cmd = strdup_printf("rm -rf %s", dir);

		CHECK(system(cmd) == 0, "cleanup");
		free(cmd);
	}
	TEST_END();
}

/* Names: patterns in wire form, rule bits merged, digests that change only with their rule. */
static void test_names(void)
{
	struct policy *p = NULL, *p2 = NULL;
	struct policy_compiled c, c2;
	struct diag errs = {};
	uint8_t wire[MCPF_DNS_NAME_MAX];
	char text[300];
	int r;

	TEST("names: compile");
	r = parse_spec("\"egress\":[{\"to\":[\"API.Example.com.\",\"*.cdn.example\",\"10.0.0.1\"],"
		       "\"ports\":[\"443\"],\"protocol\":\"tcp\"},"
		       "{\"to\":[\"**.cdn.example\",\"api.example.com\"],\"ports\":[\"80\"]}]",
		       &p, &errs);
	CHECK(r == 0 && p && p->nnames == 4, "parse: %d", r);
	if (r == 0)
		r = policy_compile(p, &c, &errs);
	CHECK(r == 0, "compile: %d", r);
	dump_errors(&errs);
	if (r == 0) {
		bool api = false, one = false, multi = false;

		CHECK(c.nnames == 3, "3 distinct patterns, got %zu", c.nnames);
		CHECK(c.rules.nrules == 2, "2 rules with names, got %u", c.rules.nrules);
		CHECK(c.rules.rules[0].allow.nranges == 1 && c.rules.rules[0].allow.ranges[0].lo == 443 &&
			      c.rules.rules[0].allow.ranges[0].protos == MCPF_PROTO_TCP,
		      "rule 0 is tcp/443");
		for (size_t i = 0; i < c.nnames; i++) {
			name_from_wire(c.names[i].key.name, text, sizeof(text));
			if (!strcmp(text, "api.example.com") && c.names[i].key.kind == MCPF_NAME_EXACT)
				api = c.names[i].val.rules == 3; /* listed by both rules */
			if (!strcmp(text, "cdn.example") && c.names[i].key.kind == MCPF_NAME_ONE)
				one = c.names[i].val.rules == 1;
			if (!strcmp(text, "cdn.example") && c.names[i].key.kind == MCPF_NAME_MULTI)
				multi = c.names[i].val.rules == 2;
		}
		CHECK(api && one && multi, "patterns with their rule bits");
		CHECK(c.rules.rules[0].digest != c.rules.rules[1].digest, "digests differ per rule");
		/* the second rule changed, the first did not: only the second digest changes */
		r = parse_spec("\"egress\":[{\"to\":[\"api.example.com\",\"*.cdn.example\",\"10.0.0.1\"],"
			       "\"ports\":[\"443\"],\"protocol\":\"tcp\"},"
			       "{\"to\":[\"**.cdn.example\"],\"ports\":[\"80\"]}]",
			       &p2, &errs);
		CHECK(r == 0 && policy_compile(p2, &c2, &errs) == 0, "second compile");
		if (r == 0) {
			CHECK(c2.rules.rules[0].digest == c.rules.rules[0].digest, "unchanged rule, same digest");
			CHECK(c2.rules.rules[1].digest != c.rules.rules[1].digest, "changed rule, new digest");
			policy_compiled_clear(&c2);
		}
		policy_compiled_clear(&c);
	}
	CHECK(name_to_wire("a.bc", wire) == 0 && wire[MCPF_DNS_NAME_MAX - 6] == 1 &&
		      wire[MCPF_DNS_NAME_MAX - 4] == 2 && wire[MCPF_DNS_NAME_MAX - 1] == 0 &&
		      wire[MCPF_DNS_NAME_MAX - 7] == 0,
	      "wire form is right-aligned");
	policy_free(p);
	policy_free(p2);
	diag_clear(&errs);
	TEST_END();

	TEST("names: too many rules with names");
	{
		char spec[2048] = "\"egress\":[";

		for (int i = 0; i < MCPF_MAX_NAME_RULES + 1; i++) {
			size_t l = strlen(spec);

			snprintf(spec + l, sizeof(spec) - l, "%s{\"to\":[\"n%d.example\"]}", i ? "," : "", i);
		}
		strcat(spec, "]");
		p = NULL;
		CHECK(parse_spec(spec, &p, &errs) < 0 && has_error(&errs, "more than 8 rules list names"),
		      "refused");
		policy_free(p);
		diag_clear(&errs);
	}
	TEST_END();
}

/* Namespaced and cluster policies: parsed, and which pods an annotation may bind them to. */
static void test_scope(void)
{
	static const char *const docs[] = {
		"{\"apiVersion\":\"mcpfence/v1\",\"kind\":\"EgressPolicy\",\"metadata\":{\"name\":\"web\","
		"\"namespace\":\"team-a\"},\"spec\":{\"egress\":[]}}",
		"{\"apiVersion\":\"mcpfence/v1\",\"kind\":\"EgressPolicy\",\"metadata\":{\"name\":\"web\","
		"\"namespace\":\"team-b\"},\"spec\":{\"egress\":[]}}",
		"{\"apiVersion\":\"mcpfence/v1\",\"kind\":\"ClusterEgressPolicy\",\"metadata\":{\"name\":"
		"\"shared\"},\"spec\":{\"namespaces\":[\"team-a\"],\"egress\":[]}}",
		"{\"apiVersion\":\"mcpfence/v1\",\"kind\":\"ClusterEgressPolicy\",\"metadata\":{\"name\":"
		"\"everyone\"},\"spec\":{\"namespaces\":[\"*\"],\"egress\":[]}}",
		"{\"apiVersion\":\"mcpfence/v1\",\"kind\":\"EgressPolicy\",\"metadata\":{\"name\":\"hostwide\"},"
		"\"spec\":{\"egress\":[]}}",
	};
	static const struct {
		const char *ns, *ref, *want; /* want NULL: held */
	} rows[] = {
		{ "team-a", "web", "team-a/web" },
		{ "team-b", "web", "team-b/web" },
		{ "team-c", "web", NULL },	      /* no such policy in its namespace */
		{ "team-b", "team-a/web", NULL },     /* another namespace's, named in full */
		{ "team-a", "hostwide", NULL },	      /* a host policy: never by annotation */
		{ "team-a", "cluster/shared", "shared" },
		{ "team-b", "cluster/shared", NULL }, /* not admitted */
		{ "team-b", "cluster/everyone", "everyone" },
		{ "team-a", "cluster/hostwide", NULL }, /* not a cluster policy */
		{ NULL, "web", NULL },		      /* namespace unknown */
	};
	static const struct bad_case bad[] = {
		{ "{\"apiVersion\":\"mcpfence/v1\",\"kind\":\"EgressPolicy\",\"metadata\":{\"name\":\"a\","
		  "\"namespace\":\"Team_A\"},\"spec\":{\"egress\":[]}}",
		  "metadata.namespace: a namespace name" },
		{ "{\"apiVersion\":\"mcpfence/v1\",\"kind\":\"EgressPolicy\",\"metadata\":{\"name\":"
		  "\"a-policy-name-that-is-long-enough-to-overflow\",\"namespace\":\"and-a-namespace-that-is-long-too\"},"
		  "\"spec\":{\"egress\":[]}}",
		  "NAMESPACE/NAME is at most 63 characters" },
		{ "{\"apiVersion\":\"mcpfence/v1\",\"kind\":\"ClusterEgressPolicy\",\"metadata\":{\"name\":\"a\"},"
		  "\"spec\":{\"egress\":[]}}",
		  "spec.namespaces: required for a ClusterEgressPolicy" },
		{ "{\"apiVersion\":\"mcpfence/v1\",\"kind\":\"ClusterEgressPolicy\",\"metadata\":{\"name\":\"a\","
		  "\"namespace\":\"x\"},\"spec\":{\"namespaces\":[\"x\"],\"egress\":[]}}",
		  "metadata.namespace: a ClusterEgressPolicy has none" },
		{ "{\"apiVersion\":\"mcpfence/v1\",\"kind\":\"ClusterEgressPolicy\",\"metadata\":{\"name\":\"a\"},"
		  "\"spec\":{\"namespaces\":[\"ok\", \"-bad\"],\"egress\":[]}}",
		  "spec.namespaces[1]: a namespace name" },
		{ "{\"apiVersion\":\"mcpfence/v1\",\"kind\":\"EgressPolicy\",\"metadata\":{\"name\":\"a\"},"
		  "\"spec\":{\"namespaces\":[\"x\"],\"egress\":[]}}",
		  "spec.namespaces: only a ClusterEgressPolicy lists namespaces" },
	};
	struct policy_set set = {};
	char why[256];

	TEST("scope: namespaced, cluster and host policies parse, a namespaced one named NAMESPACE/NAME");
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		struct policy *p = NULL;
		struct diag e = {};

		CHECK(policy_parse("s.json", docs[i], strlen(docs[i]), &p, &e) == 0, "doc %zu: %s", i,
		      e.n ? e.msgs[0] : "?");
		if (p && policy_set_add(&set, p, &e) < 0)
			policy_free(p);
		diag_clear(&e);
	}
	CHECK(set.n == 5 && !strcmp(set.items[0]->name, "team-a/web") && set.items[0]->scope == POLICY_NAMESPACED &&
		      set.items[2]->scope == POLICY_CLUSTER && set.items[4]->scope == POLICY_HOST,
	      "names and scopes");
	TEST_END();
	TEST("scope: an annotation binds a policy of the pod's namespace or a cluster policy admitting it, else holds");
	for (size_t i = 0; set.n == 5 && i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct policy *p = policy_for_pod(&set, rows[i].ns, rows[i].ref, why, sizeof(why));

		CHECK(rows[i].want ? p && !strcmp(p->name, rows[i].want) : !p && why[0], "%s in %s: %s (%s)", rows[i].ref,
		      rows[i].ns ?: "?", p ? p->name : "held", why);
	}
	TEST_END();
	TEST("scope: a token's policy: namespaced ones admit their namespace only, host ones anyone");
	CHECK(set.n == 5 && policy_admits(set.items[0], "team-a", why, sizeof(why)) &&
		      !policy_admits(set.items[0], "team-b", why, sizeof(why)) && strstr(why, "team-b") &&
		      !policy_admits(set.items[0], NULL, why, sizeof(why)) && policy_admits(set.items[4], NULL, why, sizeof(why)) &&
		      !policy_admits(set.items[2], "team-b", why, sizeof(why)) && policy_admits(set.items[3], "any", why, sizeof(why)),
	      "admission");
	TEST_END();
	policy_set_clear(&set);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct policy *p = NULL;
		struct diag e = {};
		int r = policy_parse("doc.json", bad[i].spec, strlen(bad[i].spec), &p, &e);

		TEST("scope: a malformed scope is refused, naming the field");
		CHECK(r < 0 && !p && has_error(&e, bad[i].error), "case %zu: %s", i, e.n ? e.msgs[0] : "accepted");
		policy_free(p);
		diag_clear(&e);
		TEST_END();
	}
}

/* Claim paths: brackets for keys with dots and slashes, the plain form's nested lookup. */
static void test_claim_paths(void)
{
	json_t *c = json_loads("{\"sub\":\"arn:aws:iam::123456789012:role/R\",\"https://sts.amazonaws.com/\":"
			       "{\"aws_account\":\"123456789012\",\"principal_tags\":{\"team\":\"data\","
			       "\"a.b\":\"dotted\"}},\"kubernetes.io\":{\"namespace\":\"mcp\"},"
			       "\"it's\":1,\"roles\":[\"A\",\"B\"]}", 0, NULL);
	static const struct {
		const char *path, *want; /* want NULL: no value */
	} rows[] = {
		{ "['https://sts.amazonaws.com/'].aws_account", "123456789012" },
		{ "['https://sts.amazonaws.com/'].principal_tags.team", "data" },
		{ "['https://sts.amazonaws.com/'].principal_tags['a.b']", "dotted" },
		{ "https://sts.amazonaws.com/.aws_account", "123456789012" }, /* plain: split at a dot */
		{ "kubernetes.io.namespace", "mcp" },
		{ "['kubernetes.io'].namespace", "mcp" },
		{ "['kubernetes'].io", NULL }, /* bracketed: no guessing */
		{ "['it\\'s']", "1" },
		{ "sub", "arn:aws:iam::123456789012:role/R" },
		{ "['https://sts.amazonaws.com/'].missing", NULL },
	};
	static const char *const bad[] = { "['unclosed", "a..b", ".a", "['']", "[\"x\"]", "a.['b'", "['x']y",
					   "['a\\q']" };
	char buf[32];

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		char nm[160];
		const char *got = claim_text(claim_lookup(c, rows[i].path), buf, sizeof(buf));

		snprintf(nm, sizeof(nm), "claim path: %s -> %s", rows[i].path, rows[i].want ?: "(none)");
		TEST(nm);
		CHECK(rows[i].want ? got && !strcmp(got, rows[i].want) : !got, "got %s", got ?: "(none)");
		TEST_END();
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct claim_path cp;
		const char *why = NULL;
		char nm[128];

		snprintf(nm, sizeof(nm), "claim path: %s is refused, with a reason", bad[i]);
		TEST(nm);
		CHECK(claim_path_parse(bad[i], &cp, &why) == -EINVAL && why, "accepted");
		TEST_END();
	}
	json_decref(c);
}

#define AWS_ISS "https://a1d2b0fd-1177-4468-9351-2fexample723.tokens.sts.global.api.aws"
#define ENTRA_V2 "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0"
#define ENTRA_V1 "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/"

/* Shared issuers need a claim that names one workload; a requester's own words select none. */
static void test_cloud_identities(void)
{
	static const struct {
		const char *identity, *error; /* error NULL: valid */
		bool machine;
	} rows[] = {
		{ "\"issuer\":\"" ENTRA_V2 "\"", "shared by every application and managed identity", false },
		{ "\"issuer\":\"" ENTRA_V1 "\",\"claims\":{\"roles\":\"Egress.Use\"}", "shared by every application", false },
		{ "\"issuer\":\"" ENTRA_V2 "\",\"claims\":{\"oid\":{\"glob\":\"*\"}}", "shared by every application", false },
		{ "\"issuer\":\"" ENTRA_V2 "\",\"claims\":{\"oid\":\"0b1c\",\"roles\":\"Egress.Use\"}", NULL, false },
		{ "\"issuer\":\"" ENTRA_V1 "\",\"claims\":{\"appid\":\"a1\"}", NULL, false },
		{ "\"issuer\":\"" ENTRA_V1 "\",\"claims\":{\"xms_mirid\":\"/subscriptions/s/resourcegroups/g/providers/Microsoft.Compute/virtualMachines/vm1\"}", NULL, true },
		{ "\"issuer\":\"https://accounts.google.com\",\"claims\":{\"google.compute_engine.project_id\":\"p\"}", "shared by every service account on Google Cloud", true },
		{ "\"issuer\":\"https://accounts.google.com\",\"subject\":\"113920350001\"", NULL, false },
		{ "\"issuer\":\"https://accounts.google.com\",\"claims\":{\"email\":\"mcp@p.iam.gserviceaccount.com\"}", NULL, false },
		{ "\"issuer\":\"https://accounts.google.com\",\"claims\":{\"email\":\"123-compute@developer.gserviceaccount.com\"}", NULL, true },
		{ "\"issuer\":\"https://accounts.google.com\",\"claims\":{\"email\":\"x@p.iam.gserviceaccount.com\",\"google.compute_engine.instance_id\":\"42\"}", NULL, true },
		{ "\"issuer\":\"" AWS_ISS "\",\"claims\":{\"['https://sts.amazonaws.com/'].aws_account\":\"123456789012\"}", "shared by every IAM role", false },
		{ "\"issuer\":\"" AWS_ISS "\",\"subject\":\"arn:aws:iam::123456789012:role/DataProcessingRole\",\"claims\":{\"['https://sts.amazonaws.com/'].principal_tags.team\":\"data\"}", NULL, false },
		{ "\"issuer\":\"" AWS_ISS "\",\"subject\":\"arn:aws:iam::123456789012:role/R\",\"claims\":{\"['https://sts.amazonaws.com/'].request_tags.job-id\":\"1\"}", "as the requester asked for it", false },
		{ "\"issuer\":\"" AWS_ISS "\",\"subject\":\"arn:aws:iam::123456789012:role/R\",\"claims\":{\"https://sts.amazonaws.com/.request_tags.priority\":\"high\"}", "as the requester asked for it", false },
		{ "\"issuer\":\"" AWS_ISS "\",\"subject\":\"arn:aws:iam::1:role/R\",\"claims\":{\"['https://sts.amazonaws.com/'].ec2_source_instance_arn\":\"arn:aws:ec2:us-east-1:1:instance/i-1\"}", NULL, true },
		{ "\"issuer\":\"https://token.actions.githubusercontent.com\"", "shared by every GitHub repository", false },
		{ "\"issuer\":\"https://issuer.test\",\"claims\":{\"['unclosed\":\"x\"}", "not a claim path", false },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		char *spec = strdup_printf("\"identity\":{%s},\"egress\":[]", rows[i].identity);
		struct policy *p = NULL;
		struct diag e = {};
		int r = parse_spec(spec, &p, &e);
		char nm[200];

		snprintf(nm, sizeof(nm), "identity: %.90s -> %s%s", rows[i].identity, rows[i].error ?: "valid",
			 rows[i].machine ? ", machine-level" : "");
		TEST(nm);
		if (rows[i].error)
			CHECK(r == -EINVAL && has_error(&e, rows[i].error), "r %d", r);
		else
			CHECK(r == 0 && p, "refused");
		if (!rows[i].error && p)
			CHECK(p->machine_identity == rows[i].machine, "machine %d", p->machine_identity);
		if (r < 0 && !rows[i].error)
			dump_errors(&e);
		TEST_END();
		policy_free(p);
		diag_clear(&e);
		free(spec);
	}
}

/* Broad rules and names never reach a cloud metadata endpoint unless a rule names it. */
static void test_metadata_guards(void)
{
	struct policy_compiled c = {};
	struct policy *p;
	struct diag e = {}, w = {};

	TEST("metadata: 0.0.0.0/0 and ::/0 reach every address but the metadata endpoints");
	p = must_parse("\"egress\":[{\"to\":[\"0.0.0.0/0\",\"::/0\"],\"ports\":[\"80\",\"443\"],\"protocol\":\"tcp\"}]");
	CHECK(p && policy_compile(p, &c, &e) == 0, "compile");
	CHECK(lookup(&c, "192.0.2.1", 80, MCPF_PROTO_TCP), "ordinary address");
	for (size_t k = 0; k < metadata_endpoints_n; k++)
		CHECK(!lookup(&c, metadata_endpoints[k].address, 80, MCPF_PROTO_TCP), "%s reachable",
		      metadata_endpoints[k].address);
	CHECK(lookup(&c, "169.254.169.253", 80, MCPF_PROTO_TCP), "the neighbour of IMDS (AWS DNS) stays");
	CHECK(c.n4 == 1 + 5 && c.n6 == 1 + 3, "n4 %zu n6 %zu", c.n4, c.n6);
	for (size_t i = 0; i < c.n4; i++)
		if (c.v4[i].plen == 32)
			CHECK(c.v4[i].allow.flags == MCPF_ALLOW_GUARD && !c.v4[i].allow.nranges, "guard entry");
	policy_compiled_clear(&c);
	policy_free(p);
	TEST_END();

	TEST("metadata: a rule naming the endpoint's address lifts that guard only");
	p = must_parse("\"egress\":[{\"to\":[\"0.0.0.0/0\"],\"ports\":[\"443\"],\"protocol\":\"tcp\"},"
		       "{\"to\":[\"169.254.169.254\"],\"ports\":[\"80\"],\"protocol\":\"tcp\"}]");
	CHECK(p && policy_compile(p, &c, &e) == 0, "compile");
	CHECK(lookup(&c, "169.254.169.254", 80, MCPF_PROTO_TCP), "named: 80");
	CHECK(lookup(&c, "169.254.169.254", 443, MCPF_PROTO_TCP), "named: the /0's 443 too");
	CHECK(!lookup(&c, "169.254.170.2", 443, MCPF_PROTO_TCP), "ECS endpoint still guarded");
	policy_compiled_clear(&c);
	policy_free(p);
	TEST_END();

	TEST("metadata: a policy with names gets guards (a name may resolve to an endpoint)");
	p = must_parse("\"egress\":[{\"to\":[\"api.example.com\"],\"ports\":[\"443\"],\"protocol\":\"tcp\"}]");
	CHECK(p && policy_compile(p, &c, &e) == 0, "compile");
	CHECK(c.n4 == 5 && c.n6 == 3, "n4 %zu n6 %zu", c.n4, c.n6);
	policy_compiled_clear(&c);
	policy_free(p);
	p = must_parse("\"egress\":[{\"to\":[\"metadata.google.internal\"],\"ports\":[\"80\"],\"protocol\":\"tcp\"}]");
	CHECK(p && policy_compile(p, &c, &e) == 0, "compile");
	CHECK(c.n4 == 4 && c.n6 == 2, "naming metadata.google.internal lifts 169.254.169.254 and fd20:ce::254: n4 %zu n6 %zu",
	      c.n4, c.n6);
	policy_compiled_clear(&c);
	policy_free(p);
	TEST_END();

	TEST("metadata: a policy without covering rules or names has no guards");
	p = must_parse("\"egress\":[{\"to\":[\"10.0.0.0/8\"]}]");
	CHECK(p && policy_compile(p, &c, &e) == 0 && c.n4 == 1 && c.n6 == 0, "n4 %zu", c.n4);
	policy_compiled_clear(&c);
	policy_free(p);
	TEST_END();

	TEST("metadata: allowing an endpoint to a machine-level identity is warned about");
	p = must_parse("\"identity\":{\"issuer\":\"https://accounts.google.com\",\"claims\":{\"email\":"
		       "\"1-compute@developer.gserviceaccount.com\"}},\"egress\":[{\"to\":[\"169.254.169.254\"]}]");
	CHECK(p, "parse");
	if (p)
		policy_warnings(p, &w);
	CHECK(w.n == 1 && has_error(&w, "machine-level identity") && has_error(&w, "169.254.169.254"), "%zu warnings", w.n);
	policy_free(p);
	diag_clear(&w);
	p = must_parse("\"identity\":{\"issuer\":\"https://accounts.google.com\",\"claims\":{\"email\":"
		       "\"mcp@p.iam.gserviceaccount.com\"}},\"egress\":[{\"to\":[\"169.254.169.254\"]}]");
	if (p)
		policy_warnings(p, &w);
	CHECK(p && w.n == 0, "a workload's own account: %zu warnings", w.n);
	policy_free(p);
	diag_clear(&w);
	diag_clear(&e);
	TEST_END();
}

/* Which rule each range credits: the most specific grant, then the first rule; merged and
 * uncredited only when telling the rules apart would not fit an entry. */
static const struct mcpf_port_range *range_of(const struct policy_compiled *c, const char *addr,
					      uint16_t port, uint8_t proto)
{
	uint8_t a[16] = {};
	const struct policy_entry *best = NULL;

	inet_pton(AF_INET, addr, a);
	for (size_t i = 0; i < c->n4; i++) {
		const struct policy_entry *e = &c->v4[i];
		unsigned full = e->plen / 8, rem = e->plen % 8;

		if (memcmp(e->addr, a, full) || (rem && (e->addr[full] ^ a[full]) & (0xff00 >> rem)))
			continue;
		if (!best || e->plen > best->plen)
			best = e;
	}
	for (uint32_t i = 0; best && i < best->allow.nranges; i++) {
		const struct mcpf_port_range *r = &best->allow.ranges[i];

		if ((r->protos & proto) && port >= r->lo && port <= r->hi)
			return r;
	}
	return NULL;
}

static void test_rule_credit(void)
{
	struct policy_compiled c = {};
	struct policy *p;
	struct diag e = {};
	const struct mcpf_port_range *r;
	char spec[8192];
	size_t off;

	TEST("credit: the most specific rule granting a port is credited, then the first");
	p = must_parse("\"egress\":[{\"to\":[\"10.0.0.0/8\"],\"ports\":[\"443\"],\"protocol\":\"tcp\"},"
		       "{\"to\":[\"10.1.0.0/16\"],\"ports\":[\"443\",\"8443\"],\"protocol\":\"tcp\"},"
		       "{\"to\":[\"10.1.0.0/16\"],\"ports\":[\"443\"],\"protocol\":\"tcp\"},"
		       "{\"to\":[\"10.0.0.0/8\"]}]");
	CHECK(p && policy_compile(p, &c, &e) == 0, "compile");
	r = range_of(&c, "10.1.2.3", 443, MCPF_PROTO_TCP);
	CHECK(r && r->rule == 1, "10.1.2.3:443 credited to %d, not the /8's rule 0", r ? r->rule : -1);
	r = range_of(&c, "10.2.0.1", 443, MCPF_PROTO_TCP);
	CHECK(r && r->rule == 0, "10.2.0.1:443 credited to %d", r ? r->rule : -1);
	r = range_of(&c, "10.1.2.3", 53, MCPF_PROTO_UDP);
	CHECK(r && r->rule == 3, "udp/53 from the any rule: %d", r ? r->rule : -1);
	r = range_of(&c, "10.1.2.3", 0, MCPF_PROTO_OTHER);
	CHECK(r && r->rule == 3, "icmp from the any rule: %d", r ? r->rule : -1);
	CHECK(c.nrules == 4 && !c.unattributed[0] && !c.unattributed[3], "all credited");
	CHECK(c.rule_digest[1] != c.rule_digest[2], "rules 1 and 2 differ, so do their digests");
	policy_compiled_clear(&c);
	policy_free(p);
	TEST_END();

	TEST("credit: a prefix whose rules need more ranges apart than an entry holds is merged, uncredited");
	off = (size_t)snprintf(spec, sizeof(spec), "\"egress\":[");
	for (int i = 0; i < 20; i++)
		off += (size_t)snprintf(spec + off, sizeof(spec) - off, "%s{\"to\":[\"192.0.2.0/24\"],\"ports\":[\"%d\"],\"protocol\":\"tcp\"}",
					i ? "," : "", 1000 + i);
	snprintf(spec + off, sizeof(spec) - off, "]");
	p = must_parse(spec);
	CHECK(p && policy_compile(p, &c, &e) == 0, "compile: ports 1000-1019 merge into one range");
	r = range_of(&c, "192.0.2.1", 1007, MCPF_PROTO_TCP);
	CHECK(r && r->rule == MCPF_RULE_UNATTRIBUTED && r->lo == 1000 && r->hi == 1019, "merged");
	CHECK(c.unattributed[0] && c.unattributed[19], "rules marked uncredited");
	policy_compiled_clear(&c);
	policy_free(p);
	diag_clear(&e);
	TEST_END();
}

/* The ClientHello check's marks on name rules' ranges (issue 21). */
static void test_tls_marks(void)
{
	struct policy_compiled c;
	struct diag errs = {};
	struct policy *p;

	TEST("tls: the default checks 443, 853, 6443 and 8443 only, cutting ranges around them");
	p = must_parse("\"egress\":[{\"to\":[\"api.example.com\"]},"
		       "{\"to\":[\"db.example.com\"],\"ports\":[\"5432\"],\"protocol\":\"tcp\"},"
		       "{\"to\":[\"s.example.com\"],\"ports\":[\"9000-9443\"],\"tls\":\"enforce\"},"
		       "{\"to\":[\"a.example.com\"],\"ports\":[\"443\"],\"tls\":\"audit\"},"
		       "{\"to\":[\"o.example.com\"],\"ports\":[\"443\"],\"tls\":\"off\"}]");
	CHECK(p && policy_compile(p, &c, &errs) == 0, "compile");
	if (p && c.rules.nrules == 5) {
		const struct mcpf_allow *all = &c.rules.rules[0].allow;
		int checked = 0, unchecked_443 = 0;

		for (uint32_t i = 0; i < all->nranges; i++) {
			const struct mcpf_port_range *r = &all->ranges[i];

			if (r->tls == MCPF_TLS_ENFORCE)
				checked += r->lo == r->hi && (r->lo == 443 || r->lo == 853 || r->lo == 6443 || r->lo == 8443);
			else if (r->lo <= 443 && r->hi >= 443)
				unchecked_443++;
		}
		CHECK(checked == 4 && unchecked_443 == 0 && all->nranges == 9 && (all->flags & MCPF_ALLOW_TLS),
		      "all ports: 4 checked ports cut out of 5 unchecked ranges (%u ranges, %d checked)", all->nranges,
		      checked);
		CHECK(c.rules.rules[1].allow.ranges[0].tls == MCPF_TLS_OFF && !(c.rules.rules[1].allow.flags & MCPF_ALLOW_TLS),
		      "5432 is not checked");
		CHECK(c.rules.rules[2].allow.nranges == 1 && c.rules.rules[2].allow.ranges[0].tls == MCPF_TLS_ENFORCE,
		      "an explicit mode covers every port of the rule");
		CHECK(c.rules.rules[3].allow.ranges[0].tls == MCPF_TLS_AUDIT, "audit");
		CHECK(c.rules.rules[4].allow.ranges[0].tls == MCPF_TLS_OFF, "off");
		policy_compiled_clear(&c);
	} else {
		CHECK(0, "5 name rules");
	}
	policy_free(p);
	diag_clear(&errs);
	TEST_END();

	TEST("tls: refused on address rules and on udp rules, with the field named");
	p = NULL;
	CHECK(parse_spec("\"egress\":[{\"to\":[\"10.0.0.0/8\"],\"tls\":\"enforce\"}]", &p, &errs) < 0 &&
		      has_error(&errs, "spec.egress[0].tls: the ClientHello check applies to rules with names"),
	      "address rule");
	policy_free(p);
	p = NULL;
	diag_clear(&errs);
	CHECK(parse_spec("\"egress\":[{\"to\":[\"a.example\"],\"protocol\":\"udp\",\"tls\":\"audit\"}]", &p,
			 &errs) < 0 && has_error(&errs, "spec.egress[0].tls: a udp rule"),
	      "udp rule");
	policy_free(p);
	p = NULL;
	diag_clear(&errs);
	CHECK(parse_spec("\"egress\":[{\"to\":[\"a.example\"],\"tls\":\"yes\"}]", &p, &errs) < 0 &&
		      has_error(&errs, "spec.egress[0].tls: must be \"enforce\""),
	      "a bad value");
	policy_free(p);
	diag_clear(&errs);
	TEST_END();
}

int main(void)
{
	test_valid_example();
	test_errors();
	test_document_errors();
	test_all_errors_reported();
	test_merging();
	test_large();
	test_dir_loading();
	test_names();
	test_scope();
	test_claim_paths();
	test_cloud_identities();
	test_metadata_guards();
	test_rule_credit();
	test_tls_marks();
	return test_summary();
}
