// SPDX-License-Identifier: MIT
#include "credentials.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "policy.h"

#define BAD(fmt, ...) diag_add(errs, "%s: " fmt, file, ##__VA_ARGS__)

void policy_credentials_free(struct policy_credential *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(c[i].audience);
		for (size_t j = 0; j < c[i].nclaims; j++)
			free(c[i].claims[j]);
		free(c[i].claims);
		free(c[i].token_endpoint);
		free(c[i].exchange_audience);
		free(c[i].scope);
		free(c[i].client_id);
		free(c[i].ca_file);
	}
	free(c);
}

const struct policy_credential *policy_credential_find(const struct policy *p, const char *audience)
{
	for (size_t i = 0; i < p->ncredentials; i++)
		if (p->credentials[i].audience && !strcmp(p->credentials[i].audience, audience))
			return &p->credentials[i];
	return NULL;
}

static bool port_allowed(const struct policy_egress *e, uint16_t port)
{
	if (!(e->protos & MCPF_PROTO_TCP))
		return false;
	if (e->all_ports)
		return true;
	for (size_t i = 0; i < e->nports; i++)
		if (port >= e->ports[i].lo && port <= e->ports[i].hi)
			return true;
	return false;
}

/* How many labels host has before `suffix` ("a.b.example.com", "example.com": 2), -1 if it
 * does not end in ".suffix". */
static int labels_before(const char *host, const char *suffix)
{
	size_t hl = strlen(host), sl = strlen(suffix);
	int n = 1;

	if (hl <= sl + 1 || strcmp(host + hl - sl, suffix) || host[hl - sl - 1] != '.')
		return -1;
	for (const char *c = strchr(host, '.'); c && c < host + hl - sl - 1; c = strchr(c + 1, '.'))
		n++;
	return n;
}

static bool prefix_covers(const struct policy_prefix *px, int family, const uint8_t *addr)
{
	unsigned bits = px->plen;
	size_t bytes = bits / 8;

	if (px->family != family)
		return false;
	if (memcmp(px->addr, addr, bytes))
		return false;
	return bits % 8 == 0 || ((px->addr[bytes] ^ addr[bytes]) & (0xff << (8 - bits % 8))) == 0;
}

bool policy_reaches(const struct policy *p, const char *host, uint16_t port)
{
	uint8_t addr[16];
	char lower[256] = "";
	size_t i;

	if (inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1) {
		int family = strchr(host, ':') ? AF_INET6 : AF_INET;

		for (i = 0; i < p->nprefixes; i++)
			if (prefix_covers(&p->prefixes[i], family, addr) &&
			    port_allowed(&p->egress[p->prefixes[i].egress], port))
				return true;
		return false;
	}
	for (i = 0; host[i] && i < sizeof(lower) - 1; i++)
		lower[i] = (char)tolower((unsigned char)host[i]);
	lower[i] = '\0';
	if (i && lower[i - 1] == '.')
		lower[i - 1] = '\0';
	for (i = 0; i < p->nnames; i++) {
		const struct policy_name *n = &p->names[i];
		int k = n->kind == MCPF_NAME_EXACT ? (strcmp(lower, n->name) ? -1 : 0)
						   : labels_before(lower, n->name);

		if (k < 0 || (n->kind == MCPF_NAME_ONE && k != 1) || (n->kind == MCPF_NAME_MULTI && k < 1))
			continue;
		if (port_allowed(&p->egress[n->egress], port))
			return true;
	}
	return false;
}

/* "https://host[:port][/path]": host (brackets dropped for IPv6) and port; 0 if a URL. */
static int url_host_port(const char *url, char *host, size_t len, uint16_t *port)
{
	const char *h, *end, *colon;
	size_t hl;

	if (!strncmp(url, "https://", 8)) {
		h = url + 8;
		*port = 443;
	} else if (!strncmp(url, "http://", 7)) {
		h = url + 7;
		*port = 80;
	} else {
		return -1;
	}
	end = h + strcspn(h, "/?#");
	if (memchr(h, '@', (size_t)(end - h)))
		return -1;
	if (*h == '[') {
		const char *rb = memchr(h, ']', (size_t)(end - h));

		if (!rb)
			return -1;
		hl = (size_t)(rb - h - 1);
		colon = rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
		h++;
	} else {
		colon = memchr(h, ':', (size_t)(end - h));
		hl = (size_t)((colon ? colon : end) - h);
	}
	if (!hl || hl >= len)
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (colon) {
		char *e;
		unsigned long v = strtoul(colon + 1, &e, 10);

		if (e != end || v == 0 || v > 65535)
			return -1;
		*port = (uint16_t)v;
	}
	return 0;
}

/* "host:port" or "[v6]:port" of a non-URL audience's `hosts`. */
static int host_port_parse(const char *s, char *host, size_t len, uint16_t *port)
{
	_cleanup_free_ char *url = strdup_printf("https://%s", s);

	if (!url || !strchr(s, ':') || url_host_port(url, host, len, port) < 0 || strchr(s, '/'))
		return -1;
	return 0;
}

static void check_reach(const char *file, struct diag *errs, const struct policy *p, const char *path,
			const char *host, uint16_t port)
{
	if (!policy_reaches(p, host, port))
		BAD("%s: %s port %u is not reachable under this policy's spec.egress (a TCP rule "
		    "listing the name or an address range): a credential may only travel towards "
		    "the service it is for",
		    path, host, port);
}

static void take_claims(const char *file, struct diag *errs, json_t *v, const char *path,
			struct policy_credential *c)
{
	size_t j;
	json_t *item;

	if (!v)
		return;
	if (!json_is_array(v) || json_array_size(v) > CREDENTIAL_CLAIMS_MAX) {
		BAD("%s.claims: must be an array of at most %d claim names", path, CREDENTIAL_CLAIMS_MAX);
		return;
	}
	c->claims = calloc(json_array_size(v) + 1, sizeof(char *));
	json_array_foreach(v, j, item) {
		const char *s = json_string_value(item);

		if (!s || !*s || strlen(s) > 64) {
			BAD("%s.claims[%zu]: must be a claim name (1-64 characters)", path, j);
			continue;
		}
		if (c->claims && (c->claims[c->nclaims] = strdup(s)))
			c->nclaims++;
	}
}

static char *dup_string(json_t *v)
{
	return json_is_string(v) ? strdup(json_string_value(v)) : NULL;
}

/*
 * exchange: {"token_endpoint": https URL, "audience", "scope", "client_id", "form", "ca_file"}.
 * The agent makes the exchange itself: the workload needs no route to the endpoint, so the
 * endpoint is not coupled to egress.
 */
static void take_exchange(const char *file, struct diag *errs, json_t *v, const char *path,
			  struct policy_credential *c)
{
	const char *form, *ep;
	int k;

	if (!v)
		return;
	if (!json_is_object(v)) {
		BAD("%s.exchange: must be an object", path);
		return;
	}
	diag_unknown_fields(errs, file, v, path,
			    (const char *const[]){ "token_endpoint", "audience", "scope", "client_id", "form",
						   "ca_file", NULL });
	ep = json_string_value(json_object_get(v, "token_endpoint"));
	if (!ep || strncmp(ep, "https://", 8) || strlen(ep) < 9 || strlen(ep) > 1024)
		BAD("%s.exchange.token_endpoint: required, an https URL", path);
	form = json_string_value(json_object_get(v, "form"));
	k = form ? str_choice(form, (const char *const[]){ "token-exchange", "client-assertion", NULL }) : 0;
	if (k < 0 || (json_object_get(v, "form") && !form))
		BAD("%s.exchange.form: \"token-exchange\" (RFC 8693) or \"client-assertion\" (RFC 7523)", path);
	for (const char *const *f = (const char *const[]){ "audience", "scope", "client_id", "ca_file", NULL }; *f; f++) {
		json_t *s = json_object_get(v, *f);

		if (s && (!json_is_string(s) || !json_string_length(s) || json_string_length(s) > 1024))
			BAD("%s.exchange.%s: must be a string of 1-1024 characters", path, *f);
	}
	c->form = k == 1 ? EXCHANGE_CLIENT_ASSERTION : EXCHANGE_TOKEN_EXCHANGE;
	if (c->form == EXCHANGE_CLIENT_ASSERTION && !json_object_get(v, "client_id"))
		BAD("%s.exchange.client_id: required for the client-assertion form", path);
	c->token_endpoint = ep ? strdup(ep) : NULL;
	c->exchange_audience = dup_string(json_object_get(v, "audience"));
	c->scope = dup_string(json_object_get(v, "scope"));
	c->client_id = dup_string(json_object_get(v, "client_id"));
	if (json_is_string(json_object_get(v, "ca_file")))
		path_join_relative(file, json_string_value(json_object_get(v, "ca_file")), &c->ca_file);
}

static void take_one(const char *file, struct diag *errs, json_t *item, size_t i, struct policy *p)
{
	struct policy_credential *c = &p->credentials[p->ncredentials];
	_cleanup_free_ char *path = strdup_printf("spec.credentials[%zu]", i);
	json_t *aud = json_object_get(item, "audience"), *life = json_object_get(item, "lifetime"),
	       *hosts = json_object_get(item, "hosts"), *h;
	const char *a = json_string_value(aud);
	char host[256];
	uint16_t port;
	uint64_t ns = 0;
	size_t j;

	if (!path || !json_is_object(item)) {
		BAD("%s: must be an object {\"audience\": ..., \"lifetime\": ..., \"claims\": [...]}",
		    path ? path : "spec.credentials");
		return;
	}
	diag_unknown_fields(errs, file, item, path,
			    (const char *const[]){ "audience", "lifetime", "claims", "hosts", "exchange", NULL });
	if (!a || !*a || strlen(a) > CREDENTIAL_AUDIENCE_MAX) {
		BAD("%s.audience: required, a string of 1-%d characters", path, CREDENTIAL_AUDIENCE_MAX);
		return;
	}
	if (policy_credential_find(p, a))
		BAD("%s.audience: \"%s\" is listed twice", path, a);
	c->lifetime_s = CREDENTIAL_LIFETIME_DEFAULT;
	if (life && (!json_is_string(life) || parse_duration_ns(json_string_value(life), &ns) < 0 ||
		     ns < 60000000000ULL || ns > CREDENTIAL_LIFETIME_MAX * 1000000000ULL))
		BAD("%s.lifetime: must be a duration from \"1m\" to \"1h\"", path);
	else if (life)
		c->lifetime_s = (int64_t)(ns / 1000000000ULL);
	if (!json_object_get(item, "exchange") && url_host_port(a, host, sizeof(host), &port) == 0) {
		if (hosts)
			BAD("%s.hosts: the audience is a URL: its own host is where the credential goes", path);
		check_reach(file, errs, p, path, host, port);
	} else if (!json_is_array(hosts) || !json_array_size(hosts)) {
		BAD("%s.hosts: required for an audience that is not an http(s) URL, and for an exchanged "
		    "credential: the \"host:port\" entries the credential (or the token it is exchanged "
		    "for) is meant for",
		    path);
	} else {
		json_array_foreach(hosts, j, h) {
			_cleanup_free_ char *hp = strdup_printf("%s.hosts[%zu]", path, j);

			if (!json_is_string(h) || host_port_parse(json_string_value(h), host, sizeof(host), &port) < 0)
				BAD("%s: must be \"host:port\"", hp ? hp : path);
			else
				check_reach(file, errs, p, hp ? hp : path, host, port);
		}
	}
	take_claims(file, errs, json_object_get(item, "claims"), path, c);
	take_exchange(file, errs, json_object_get(item, "exchange"), path, c);
	c->audience = strdup(a);
	if (c->audience)
		p->ncredentials++;
}

int policy_credentials_parse(const char *file, struct diag *errs, json_t *v, struct policy *p)
{
	size_t i;
	json_t *item;

	if (!v)
		return 0;
	if (!json_is_array(v) || json_array_size(v) > CREDENTIALS_MAX) {
		BAD("spec.credentials: must be an array of at most %d credentials", CREDENTIALS_MAX);
		return -EINVAL;
	}
	p->credentials = calloc(json_array_size(v) + 1, sizeof(*p->credentials));
	if (!p->credentials)
		return -ENOMEM;
	json_array_foreach(v, i, item)
		take_one(file, errs, item, i, p);
	return 0;
}
