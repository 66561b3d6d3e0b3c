// SPDX-License-Identifier: MIT
#include "preset.h"

#include "providers.h"
#include "trust.h"
#include "verify_error.h"

#define ENTRA_KEYS_V1 "https://login.microsoftonline.com/%s/discovery/keys"
#define ENTRA_KEYS_V2 "https://login.microsoftonline.com/%s/discovery/v2.0/keys"
#define GOOGLE_KEYS_HOST "www.googleapis.com"

static int bad(struct diag *errs, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(struct diag *errs, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag_add(errs, "%s", msg);
	return -EINVAL;
}

static void set_tenant_url(json_t *d, const char *key, const char *fmt, const char *tenant)
{
	char buf[256];

	snprintf(buf, sizeof(buf), fmt, tenant);
	json_object_set_new(d, key, json_string(buf));
}

/* Entra ID: the issuer and key set of one tenant and token version. */
static int entra_defaults(json_t *e, json_t *d, const char *file, const char *path, struct diag *errs)
{
	json_t *tenant = json_object_get(e, "tenant"), *ver = json_object_get(e, "token_version");
	struct provider_issuer pi = provider_of_issuer(json_string_value(json_object_get(e, "issuer")));
	char tid[PROVIDER_TENANT_MAX], probe[128];
	int version = 2;

	if (json_object_get(e, "issuer") && (!pi.provider || pi.provider->id != PROVIDER_ENTRA))
		return bad(errs, "%s: %s.issuer: preset entra takes \"https://login.microsoftonline.com/TENANT/v2.0\" "
			   "or \"https://sts.windows.net/TENANT/\" (or tenant and token_version instead)",
			   file, path);
	if (ver && (!json_is_integer(ver) || (json_integer_value(ver) != 1 && json_integer_value(ver) != 2)))
		return bad(errs, "%s: %s.token_version: 1 or 2, as the resource application's manifest sets "
			   "accessTokenAcceptedVersion (null there means 1)", file, path);
	if (ver)
		version = (int)json_integer_value(ver);
	if (tenant) {
		struct provider_issuer t;

		snprintf(probe, sizeof(probe), ENTRA_V2_ISSUER, json_string_value(tenant) ?: "/");
		t = provider_of_issuer(probe);
		if (!json_is_string(tenant) || !t.provider)
			return bad(errs, "%s: %s.tenant: the directory (tenant) id, a GUID such as "
				   "\"72f988bf-86f1-41af-91ab-2d7cd011db47\"", file, path);
		snprintf(tid, sizeof(tid), "%s", t.tenant);
	} else if (pi.provider) {
		snprintf(tid, sizeof(tid), "%s", pi.tenant);
	} else {
		return bad(errs, "%s: %s.tenant: required by preset entra (the directory id), or an Entra issuer",
			   file, path);
	}
	if (pi.provider && (strcmp(pi.tenant, tid) || (ver && pi.version != version)))
		return bad(errs, "%s: %s.issuer: names tenant %s, token version %d; tenant and token_version "
			   "say %s, %d", file, path, pi.tenant, pi.version, tid, version);
	if (pi.provider)
		version = pi.version;
	set_tenant_url(d, "issuer", version == 1 ? ENTRA_V1_ISSUER : ENTRA_V2_ISSUER, tid);
	set_tenant_url(d, "jwks_uri", version == 1 ? ENTRA_KEYS_V1 : ENTRA_KEYS_V2, tid);
	json_object_set_new(d, "algorithms", json_pack("[s]", "RS256"));
	json_object_set_new(d, "max_lifetime", json_string("90m"));
	json_object_set_new(d, "single_audience", json_true());
	return 0;
}

static int google_defaults(json_t *e, json_t *d, const char *file, const char *path, struct diag *errs)
{
	const char *iss = json_string_value(json_object_get(e, "issuer"));

	if (json_object_get(e, "issuer") && (!iss || strcmp(iss, GOOGLE_ISSUER)))
		return bad(errs, "%s: %s.issuer: preset google is the issuer %s (tokens saying %s are taken "
			   "as the same)", file, path, GOOGLE_ISSUER, GOOGLE_ISSUER_BARE);
	json_object_set_new(d, "issuer", json_string(GOOGLE_ISSUER));
	json_object_set_new(d, "discovery", json_true());
	json_object_set_new(d, "jwks_host", json_string(GOOGLE_KEYS_HOST));
	json_object_set_new(d, "algorithms", json_pack("[s]", "RS256"));
	json_object_set_new(d, "max_lifetime", json_string("1h"));
	json_object_set_new(d, "single_audience", json_true());
	return 0;
}

static int aws_defaults(json_t *e, json_t *d, const char *file, const char *path, struct diag *errs)
{
	struct provider_issuer pi = provider_of_issuer(json_string_value(json_object_get(e, "issuer")));

	if (!pi.provider || pi.provider->id != PROVIDER_AWS)
		return bad(errs, "%s: %s.issuer: preset aws needs the account's issuer, "
			   "\"https://ID" AWS_ISSUER_SUFFIX "\" (aws iam "
			   "get-outbound-web-identity-federation-info)", file, path);
	json_object_set_new(d, "discovery", json_true());
	json_object_set_new(d, "algorithms", json_pack("[s, s]", "RS256", "ES384"));
	json_object_set_new(d, "max_lifetime", json_string("1h"));
	json_object_set_new(d, "max_audiences", json_integer(1));
	return 0;
}

static int github_defaults(json_t *e, json_t *d, const char *file, const char *path, struct diag *errs)
{
	const char *iss = json_string_value(json_object_get(e, "issuer"));

	if (json_object_get(e, "issuer") && (!iss || strcmp(iss, GITHUB_ISSUER)))
		return bad(errs, "%s: %s.issuer: preset github is the issuer %s", file, path, GITHUB_ISSUER);
	json_object_set_new(d, "issuer", json_string(GITHUB_ISSUER));
	json_object_set_new(d, "discovery", json_true());
	json_object_set_new(d, "algorithms", json_pack("[s]", "RS256"));
	json_object_set_new(d, "require_iat", json_true());
	json_object_set_new(d, "max_lifetime", json_string("1h"));
	return 0;
}

static int kubernetes_defaults(json_t *e, json_t *d, const char *file, const char *path, struct diag *errs)
{
	(void)e, (void)file, (void)path, (void)errs;
	json_object_set_new(d, "algorithms", json_pack("[s, s]", "RS256", "ES256"));
	json_object_set_new(d, "max_lifetime", json_string("1h"));
	json_object_set_new(d, "kubernetes", json_true());
	return 0;
}

static int spiffe_defaults(json_t *e, json_t *d, const char *file, const char *path, struct diag *errs)
{
	if (!json_object_get(e, "spiffe_trust_domain"))
		return bad(errs, "%s: %s.spiffe_trust_domain: required by preset spiffe", file, path);
	json_object_set_new(d, "algorithms", json_pack("[s, s, s]", "RS256", "ES256", "ES384"));
	json_object_set_new(d, "max_lifetime", json_string("1h"));
	return 0;
}

static const struct {
	const char *name;
	int (*defaults)(json_t *e, json_t *d, const char *file, const char *path, struct diag *errs);
	bool audience_required; /* the provider has no audience of ours by default */
} presets[] = {
	{ "entra", entra_defaults, true },	 { "google", google_defaults, true },
	{ "aws", aws_defaults, true },		 { "github", github_defaults, false },
	{ "kubernetes", kubernetes_defaults, false }, { "spiffe", spiffe_defaults, false },
};

json_t *trust_preset_expand(json_t *entry, const char *file, const char *path, struct diag *errs)
{
	const char *name = json_string_value(json_object_get(entry, "preset")), *key;
	json_t *d, *out, *v;
	size_t i;

	if (!json_object_get(entry, "preset")) {
		if (json_object_get(entry, "tenant") || json_object_get(entry, "token_version")) {
			bad(errs, "%s: %s: tenant and token_version belong to preset entra", file, path);
			return NULL;
		}
		return json_incref(entry);
	}
	for (i = 0; i < ARRAY_SIZE(presets) && (!name || strcmp(presets[i].name, name)); i++)
		;
	if (i == ARRAY_SIZE(presets)) {
		bad(errs, "%s: %s.preset: one of entra, google, aws, github, kubernetes, spiffe", file, path);
		return NULL;
	}
	if (strcmp(name, "entra") && (json_object_get(entry, "tenant") || json_object_get(entry, "token_version"))) {
		bad(errs, "%s: %s: tenant and token_version belong to preset entra", file, path);
		return NULL;
	}
	if (presets[i].audience_required && !json_object_get(entry, "audience")) {
		bad(errs, "%s: %s.audience: required by preset %s: the audience the workload asks its "
		    "provider for (Entra: the Application ID URI or client id of the resource "
		    "application)", file, path, name);
		return NULL;
	}
	d = json_object();
	if (!d || presets[i].defaults(entry, d, file, path, errs) < 0) {
		json_decref(d);
		return NULL;
	}
	out = json_deep_copy(entry);
	/* the entry's own key source replaces the preset's */
	if (json_object_get(entry, "jwks_file") || json_object_get(entry, "jwks_uri") ||
	    json_object_get(entry, "discovery")) {
		json_object_del(d, "jwks_uri");
		json_object_del(d, "discovery");
	}
	if (json_object_get(entry, "max_audiences") || json_object_get(entry, "single_audience")) {
		json_object_del(d, "single_audience");
		json_object_del(d, "max_audiences");
	}
	json_object_foreach(d, key, v)
		if (!json_object_get(out, key))
			json_object_set(out, key, v);
	json_decref(d);
	return out;
}

/* ---- near misses ---- */

#define APPEND(detail, len, ...) \
	snprintf((detail) + strlen(detail), (len) - strlen(detail), __VA_ARGS__)

void trust_explain_issuer(const struct trust *t, const char *iss, char *detail, size_t len)
{
	struct provider_issuer pi = provider_of_issuer(iss);
	size_t il = iss ? strlen(iss) : 0;

	for (size_t i = 0; iss && i < t->n; i++) {
		const char *c = t->issuers[i].issuer;
		struct provider_issuer ci = provider_of_issuer(c);
		size_t cl = strlen(c);

		if (pi.provider && ci.provider == pi.provider && pi.provider->id == PROVIDER_ENTRA) {
			if (!strcmp(pi.tenant, ci.tenant)) {
				APPEND(detail, len, "; it is Entra ID's v%d.0 issuer for tenant %s, and the "
				       "trust takes that tenant's v%d.0 tokens (%s): the resource application's "
				       "accessTokenAcceptedVersion decides the form, set token_version %d or "
				       "add an entry", pi.version, pi.tenant, ci.version, c, pi.version);
				return;
			}
			APPEND(detail, len, "; Entra ID tenant %s is not trusted (trusted: %s)", pi.tenant,
			       ci.tenant);
			return;
		}
		if (pi.provider && pi.provider->id == PROVIDER_GOOGLE && !strcmp(c, GOOGLE_ISSUER)) {
			APPEND(detail, len, "; Google signs some tokens with iss \"%s\": preset google takes "
			       "both forms", GOOGLE_ISSUER_BARE);
			return;
		}
		if (pi.provider && ci.provider == pi.provider && pi.provider->id == PROVIDER_AWS) {
			APPEND(detail, len, "; that is another AWS account's issuer than the trusted %s", c);
			return;
		}
		if ((il + 1 == cl && !strncmp(c, iss, il) && c[il] == '/') ||
		    (cl + 1 == il && !strncmp(c, iss, cl) && iss[cl] == '/')) {
			APPEND(detail, len, "; the trusted \"%s\" differs only by a trailing slash, and "
			       "issuers are compared byte for byte", c);
			return;
		}
	}
}

void trust_explain_check(const struct trust_issuer *is, int error, char *detail, size_t len)
{
	struct provider_issuer pi = provider_of_issuer(is->issuer);

	if (!pi.provider || is->preset)
		return;
	if (error == VERIFY_LIFETIME_TOO_LONG && pi.provider->id == PROVIDER_ENTRA)
		APPEND(detail, len, "; Entra ID access tokens live 60 to 90 minutes: preset entra "
		       "sets max_lifetime 90m");
	else if (error == VERIFY_ALG_NOT_ALLOWED && pi.provider->id == PROVIDER_AWS)
		APPEND(detail, len, "; AWS signs with RS256 or ES384, as the caller of "
		       "GetWebIdentityToken chose: preset aws takes both");
	else if (error == VERIFY_UNKNOWN_ISSUER || error == VERIFY_KEYS_UNAVAILABLE)
		APPEND(detail, len, "; preset %s sets the issuer's key location", pi.provider->name);
}
