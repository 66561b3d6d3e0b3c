// SPDX-License-Identifier: MIT
#include "trust.h"

#include <math.h>
#include <sys/stat.h>

#include "https.h"
#include "preset.h"
#include "providers.h"

#define JWKS_FILE_MAX (1u << 20)

void trust_clear(struct trust *t)
{
	for (size_t i = 0; i < t->n; i++) {
		struct trust_issuer *is = &t->issuers[i];

		free(is->issuer);
		free(is->jwks_file);
		free(is->jwks_uri);
		free(is->jwks_host);
		free(is->ca_file);
		free(is->audience);
		free(is->preset);
		free(is->typ);
		free(is->spiffe_trust_domain);
		jwks_clear(&is->keys);
	}
	free(t->issuers);
	memset(t, 0, sizeof(*t));
}

struct trust_issuer *trust_find(struct trust *t, const char *iss)
{
	for (size_t i = 0; iss && i < t->n; i++)
		if (!strcmp(t->issuers[i].issuer, iss)) /* byte-exact: no slash or case folding */
			return &t->issuers[i];
	/* Google signs some ID tokens with its issuer's bare host name (OpenID Connect Core 3.1.3.7
	 * as Google documents it): the same issuer, when the entry says it is Google's */
	for (size_t i = 0; iss && i < t->n; i++)
		if (t->issuers[i].preset && !strcmp(t->issuers[i].preset, "google") &&
		    !strcmp(iss, GOOGLE_ISSUER_BARE))
			return &t->issuers[i];
	return NULL;
}

static int opt_string(json_t *o, const char *key, char **dst, const char *path,
		      struct diag *errs, const char *file)
{
	json_t *v = json_object_get(o, key);

	if (!v)
		return 0;
	if (!json_is_string(v) || !json_string_length(v)) {
		diag_add(errs, "%s: %s.%s: must be a non-empty string", file, path, key);
		return -EINVAL;
	}
	*dst = strdup(json_string_value(v));
	return *dst ? 0 : -ENOMEM;
}

static int opt_bool(json_t *o, const char *key, bool *dst, const char *path, struct diag *errs,
		    const char *file)
{
	json_t *v = json_object_get(o, key);

	if (!v)
		return 0;
	if (!json_is_boolean(v)) {
		diag_add(errs, "%s: %s.%s: must be true or false", file, path, key);
		return -EINVAL;
	}
	*dst = json_is_true(v);
	return 0;
}

static int opt_duration(json_t *o, const char *key, int64_t *dst, int64_t max, const char *path,
			struct diag *errs, const char *file)
{
	json_t *v = json_object_get(o, key);
	uint64_t ns;

	if (!v)
		return 0;
	if (!json_is_string(v) || parse_duration_ns(json_string_value(v), &ns) < 0 ||
	    ns / 1000000000ULL > (uint64_t)max) {
		diag_add(errs, "%s: %s.%s: must be a duration such as \"30s\" or \"1h\", at most %llds",
			 file, path, key, (long long)max);
		return -EINVAL;
	}
	*dst = (int64_t)(ns / 1000000000ULL);
	return 0;
}

static void load_issuer(json_t *o, const char *base_file, struct trust_issuer *is,
			const char *path, struct diag *errs)
{
	static const char *const known[] = { "issuer", "jwks_file", "discovery", "jwks_uri",
					     "jwks_host", "ca_file", "algorithms", "audience",
					     "single_audience", "skew", "max_lifetime",
					     "require_iat", "typ", "spiffe_trust_domain",
					     "kubernetes", "preset", "tenant", "token_version",
					     "max_audiences", NULL };
	const char *file = base_file ? base_file : "trust";
	json_t *v, *algs;
	size_t i;
	int sources;
	bool single = false;

	is->skew = TRUST_DEFAULT_SKEW;
	is->max_lifetime = TRUST_DEFAULT_LIFETIME;
	is->algs = (1u << JWS_ALG_MAX) - 1;
	diag_unknown_fields(errs, file, o, path, known);
	if (!json_is_string(json_object_get(o, "issuer")) || !json_string_length(json_object_get(o, "issuer")))
		diag_add(errs, "%s: %s.issuer: required, the exact iss of the tokens", file, path);
	else
		is->issuer = strdup(json_string_value(json_object_get(o, "issuer")));
	opt_string(o, "jwks_file", &is->jwks_file, path, errs, file);
	opt_string(o, "jwks_uri", &is->jwks_uri, path, errs, file);
	opt_string(o, "jwks_host", &is->jwks_host, path, errs, file);
	opt_string(o, "ca_file", &is->ca_file, path, errs, file);
	opt_string(o, "audience", &is->audience, path, errs, file);
	opt_string(o, "typ", &is->typ, path, errs, file);
	opt_string(o, "spiffe_trust_domain", &is->spiffe_trust_domain, path, errs, file);
	opt_bool(o, "discovery", &is->discovery, path, errs, file);
	opt_string(o, "preset", &is->preset, path, errs, file);
	opt_bool(o, "single_audience", &single, path, errs, file);
	v = json_object_get(o, "max_audiences");
	if (v && (!json_is_integer(v) || json_integer_value(v) < 1 ||
		  json_integer_value(v) > TRUST_MAX_AUDIENCES))
		diag_add(errs, "%s: %s.max_audiences: a number from 1 to %d", file, path, TRUST_MAX_AUDIENCES);
	else if (v)
		is->max_audiences = (int)json_integer_value(v);
	if (single && v && is->max_audiences != 1)
		diag_add(errs, "%s: %s.single_audience: contradicts max_audiences", file, path);
	else if (single)
		is->max_audiences = 1;
	opt_bool(o, "require_iat", &is->require_iat, path, errs, file);
	opt_bool(o, "kubernetes", &is->kubernetes, path, errs, file);
	opt_duration(o, "skew", &is->skew, TRUST_MAX_SKEW, path, errs, file);
	opt_duration(o, "max_lifetime", &is->max_lifetime, TRUST_MAX_LIFETIME, path, errs, file);
	if (!is->audience)
		is->audience = strdup(TRUST_DEFAULT_AUDIENCE);
	sources = !!is->jwks_file + is->discovery + !!is->jwks_uri;
	if (sources != 1)
		diag_add(errs, "%s: %s: needs exactly one of jwks_file, discovery, jwks_uri", file,
			 path);
	if (is->discovery && is->issuer && strncmp(is->issuer, "https://", 8))
		diag_add(errs, "%s: %s.discovery: the issuer must be an https URL", file, path);
	if (is->jwks_uri && strncmp(is->jwks_uri, "https://", 8))
		diag_add(errs, "%s: %s.jwks_uri: must be an https URL", file, path);
	if (is->jwks_file && is->jwks_file[0] != '/') {
		char *abs = NULL;

		if (path_join_relative(base_file, is->jwks_file, &abs) == 0) {
			free(is->jwks_file);
			is->jwks_file = abs;
		}
	}
	if (is->ca_file && is->ca_file[0] != '/') {
		char *abs = NULL;

		if (path_join_relative(base_file, is->ca_file, &abs) == 0) {
			free(is->ca_file);
			is->ca_file = abs;
		}
	}
	algs = json_object_get(o, "algorithms");
	if (algs) {
		if (!json_is_array(algs) || !json_array_size(algs))
			diag_add(errs, "%s: %s.algorithms: must be a non-empty array", file, path);
		is->algs = 0;
		json_array_foreach(algs, i, v) {
			enum jws_alg a = jws_alg_from_name(json_string_value(v));

			if (a == JWS_ALG_NONE)
				diag_add(errs, "%s: %s.algorithms[%zu]: not one of RS256 RS384 RS512 "
					       "PS256 PS384 PS512 ES256 ES384 ES512 EdDSA (never none "
					       "or HS*)",
					 file, path, i);
			else
				is->algs |= 1u << a;
		}
	}
}

int trust_load(json_t *obj, const char *base_file, struct trust *out, struct diag *errs)
{
	json_t *list = json_object_get(obj, "issuers"), *v, *x;
	size_t nerr = errs->n, i;
	const char *file = base_file ? base_file : "trust";

	memset(out, 0, sizeof(*out));
	if (!obj)
		return 0;
	if (!json_is_array(list)) {
		diag_add(errs, "%s: trust.issuers: must be an array", file);
		return -EINVAL;
	}
	out->issuers = calloc(json_array_size(list) + 1, sizeof(*out->issuers));
	if (!out->issuers)
		return -ENOMEM;
	json_array_foreach(list, i, v) {
		char path[64];

		snprintf(path, sizeof(path), "trust.issuers[%zu]", i);
		if (!json_is_object(v)) {
			diag_add(errs, "%s: %s: must be an object", file, path);
			continue;
		}
		x = trust_preset_expand(v, file, path, errs);
		if (!x)
			continue;
		load_issuer(x, base_file, &out->issuers[out->n++], path, errs);
		json_decref(x);
		for (size_t j = 0; j + 1 < out->n; j++)
			if (out->issuers[j].issuer && out->issuers[out->n - 1].issuer &&
			    !strcmp(out->issuers[j].issuer, out->issuers[out->n - 1].issuer))
				diag_add(errs, "%s: %s.issuer: listed twice", file, path);
	}
	if (errs->n != nerr) {
		trust_clear(out);
		return -EINVAL;
	}
	return 0;
}

int trust_load_file(const char *file, struct trust *out, struct diag *errs)
{
	json_error_t jerr;
	json_t *root = json_load_file(file, JSON_REJECT_DUPLICATES, &jerr), *obj;
	int r;

	if (!root) {
		diag_add(errs, "%s: line %d: %s", file, jerr.line, jerr.text);
		return -EINVAL;
	}
	obj = json_object_get(root, "trust") ?: root;
	r = trust_load(obj, file, out, errs);
	json_decref(root);
	return r;
}

/* ---- keys ---- */

static void issuer_error(struct trust_issuer *is, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void issuer_error(struct trust_issuer *is, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(is->last_error, sizeof(is->last_error), fmt, ap);
	va_end(ap);
}

static int keys_install(struct trust_issuer *is, const char *text, size_t len)
{
	struct jwks fresh;
	char *why = NULL;
	int r = jwks_parse(text, len, is->spiffe_trust_domain != NULL, &fresh, &why);

	if (r < 0) {
		issuer_error(is, "bad JWKS: %s", why ? why : strerror(-r));
		free(why);
		return r;
	}
	jwks_clear(&is->keys);
	is->keys = fresh;
	is->have_keys = true;
	is->keys_at = time(NULL);
	return 0;
}

static int refresh_file(struct trust_issuer *is)
{
	_cleanup_free_ char *text = NULL;
	int64_t now = (int64_t)(now_ns(CLOCK_MONOTONIC) / 1000000000ULL);
	struct stat st;
	size_t len;
	int r;

	if (is->have_keys && now == is->checked_at)
		return 0;
	is->checked_at = now;
	if (stat(is->jwks_file, &st) < 0) {
		issuer_error(is, "%s: %s", is->jwks_file, strerror(errno));
		return is->have_keys ? 0 : -errno;
	}
	if (is->have_keys && st.st_mtime == is->keys_mtime)
		return 0;
	r = read_file(is->jwks_file, JWKS_FILE_MAX, &text, &len);
	if (r == 0)
		r = keys_install(is, text, len);
	else
		issuer_error(is, "%s: %s", is->jwks_file, strerror(-r));
	if (r == 0) {
		is->keys_mtime = st.st_mtime;
		is->fetches++;
	} else {
		is->fetch_failures++;
	}
	return is->have_keys ? 0 : r; /* a broken rewrite keeps the last good set */
}

static int64_t clamp_ttl(int64_t v)
{
	if (v < 0)
		return TRUST_TTL_DEFAULT;
	return v < TRUST_TTL_MIN ? TRUST_TTL_MIN : v > TRUST_TTL_MAX ? TRUST_TTL_MAX : v;
}

void trust_fetch_clear(struct trust_fetch *f)
{
	if (!f)
		return;
	free(f->issuer);
	free(f->jwks_uri);
	free(f->jwks_host);
	free(f->ca_file);
	free(f->body);
	memset(f, 0, sizeof(*f));
}

int trust_fetch_prepare(const struct trust_issuer *is, struct trust_fetch *f)
{
	memset(f, 0, sizeof(*f));
	f->issuer = strdup(is->issuer);
	f->discovery = is->discovery;
	f->jwks_uri = is->jwks_uri ? strdup(is->jwks_uri) : NULL;
	f->jwks_host = is->jwks_host ? strdup(is->jwks_host) : NULL;
	f->ca_file = is->ca_file ? strdup(is->ca_file) : NULL;
	if (!f->issuer || (is->jwks_uri && !f->jwks_uri) || (is->jwks_host && !f->jwks_host) ||
	    (is->ca_file && !f->ca_file)) {
		trust_fetch_clear(f);
		return -ENOMEM;
	}
	return 0;
}

#define FETCH_ERROR(f, ...) snprintf((f)->error, sizeof((f)->error), __VA_ARGS__)

/*
 * Discovery document, then the key set: issuer byte-exact, jwks_uri https on the same host.
 * Touches nothing but `f`, so that it may run on a worker thread.
 */
void trust_fetch_run(struct trust_fetch *f)
{
	struct https_reply rep;
	json_t *doc, *hint;

	f->r = 0;
	if (f->discovery) {
		size_t il = strlen(f->issuer);
		int slash = il && f->issuer[il - 1] == '/';
		_cleanup_free_ char *url = strdup_printf("%.*s/.well-known/openid-configuration",
							 (int)(il - (size_t)slash), f->issuer);
		const char *iss, *uri;
		char ih[256], jh[256];

		if (!url) {
			f->r = -ENOMEM;
			return;
		}
		f->r = https_get(url, f->ca_file, &rep);
		if (f->r < 0) {
			FETCH_ERROR(f, "discovery: %.200s", rep.error);
			return;
		}
		doc = json_loadb(rep.body, rep.len, JSON_REJECT_DUPLICATES, NULL);
		https_reply_clear(&rep);
		iss = json_string_value(json_object_get(doc, "issuer"));
		uri = json_string_value(json_object_get(doc, "jwks_uri"));
		if (!iss || strcmp(iss, f->issuer)) {
			FETCH_ERROR(f, "discovery: document names issuer \"%.100s\", not \"%.100s\"",
				    iss ? iss : "(none)", f->issuer);
			json_decref(doc);
			f->r = -EPERM;
			return;
		}
		if (!uri || https_url_host(uri, jh, sizeof(jh)) < 0 ||
		    https_url_host(f->issuer, ih, sizeof(ih)) < 0 ||
		    (strcmp(ih, jh) && !(f->jwks_host && !strcmp(f->jwks_host, jh)))) {
			FETCH_ERROR(f, "discovery: jwks_uri \"%.100s\" is not https on %s",
				    uri ? uri : "(none)",
				    f->jwks_host ? "the issuer's or the allowed host" : "the issuer's host");
			json_decref(doc);
			f->r = -EPERM;
			return;
		}
		free(f->jwks_uri);
		f->jwks_uri = strdup(uri);
		json_decref(doc);
		if (!f->jwks_uri) {
			f->r = -ENOMEM;
			return;
		}
	}
	f->r = https_get(f->jwks_uri, f->ca_file, &rep);
	if (f->r < 0) {
		FETCH_ERROR(f, "jwks: %.200s", rep.error);
		return;
	}
	f->ttl = rep.max_age;
	doc = json_loadb(rep.body, rep.len, 0, NULL);
	hint = json_object_get(doc, "spiffe_refresh_hint");
	if (json_is_integer(hint))
		f->ttl = json_integer_value(hint);
	json_decref(doc);
	f->body = TAKE_PTR(rep.body);
	f->len = rep.len;
	https_reply_clear(&rep);
}

int trust_fetch_finish(struct trust_issuer *is, struct trust_fetch *f, int64_t now)
{
	int r = f->r;

	is->failed_at = r < 0 ? now : 0;
	is->fetch_inflight = false;
	if (r < 0)
		issuer_error(is, "%s", f->error);
	if (r == 0 && f->jwks_uri && (!is->jwks_uri || strcmp(is->jwks_uri, f->jwks_uri))) {
		free(is->jwks_uri);
		is->jwks_uri = TAKE_PTR(f->jwks_uri);
	}
	if (r == 0)
		r = keys_install(is, f->body, f->len);
	if (r == 0) {
		is->fresh_until = now + clamp_ttl(f->ttl);
		is->hard_until = now + TRUST_HARD_EXPIRY;
		is->fetches++;
		is->last_error[0] = '\0';
		return 0;
	}
	is->fetch_failures++;
	if (is->have_keys && now >= is->hard_until) {
		jwks_clear(&is->keys); /* past its hard expiry: trust nothing */
		is->have_keys = false;
	}
	return r;
}

static int fetch_remote(struct trust_issuer *is, int64_t now)
{
	struct trust_fetch f;
	int r = trust_fetch_prepare(is, &f);

	if (r < 0)
		return r;
	trust_fetch_run(&f);
	r = trust_fetch_finish(is, &f, now);
	trust_fetch_clear(&f);
	return r;
}

/* Deferred mode: note that a fetch is wanted, unless one failed a moment ago. */
static int want_fetch(struct trust_issuer *is, int64_t now)
{
	if (is->failed_at && now - is->failed_at < TRUST_RETRY_INTERVAL && !is->fetch_inflight)
		return -EIO; /* the last attempt failed just now: say so rather than wait again */
	is->fetch_wanted = true;
	return -EAGAIN;
}

int trust_issuer_refresh(struct trust_issuer *is, int64_t now, bool unknown_kid)
{
	bool usable = is->have_keys && now < is->hard_until;
	int r;

	if (is->jwks_file)
		return refresh_file(is);
	if (unknown_kid) {
		/* at most one refetch per window */
		if (is->last_refetch && now - is->last_refetch < TRUST_REFETCH_INTERVAL)
			return is->have_keys ? 0 : -EAGAIN;
		is->last_refetch = now;
		if (is->defer_fetch)
			return want_fetch(is, now);
	} else if (is->have_keys && now < is->fresh_until) {
		return 0;
	} else if (is->defer_fetch) {
		/* stale but usable: use it, and refresh in the background */
		if (usable) {
			if (!is->fetch_inflight &&
			    (!is->failed_at || now - is->failed_at >= TRUST_RETRY_INTERVAL))
				is->fetch_wanted = true;
			return 0;
		}
		return want_fetch(is, now);
	}
	r = fetch_remote(is, now);
	if (r < 0 && usable)
		return 0; /* last good set */
	return r;
}

/* ---- claims ---- */

/* A NumericDate: JSON integer, or a real with no fraction, in [0, 2^53]. */
static int numeric_date(json_t *v, int64_t *ret)
{
	double d;

	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);

		if (i < 0 || i > (1LL << 53))
			return -EINVAL;
		*ret = i;
		return 0;
	}
	if (!json_is_real(v))
		return -EINVAL;
	d = json_real_value(v);
	if (!isfinite(d) || d < 0 || d > 9007199254740992.0 || floor(d) != d)
		return -EINVAL;
	*ret = (int64_t)d;
	return 0;
}

/* VERIFY_OK when aud names our audience, within the issuer's number of audiences. */
static int check_audience(const struct trust_issuer *is, json_t *aud, char *detail, size_t detail_len)
{
	size_t i, n = 0;
	json_t *v;
	bool found = false;

	if (json_is_string(aud)) {
		found = !strcmp(json_string_value(aud), is->audience);
		n = 1;
	} else if (json_is_array(aud) && json_array_size(aud)) {
		json_array_foreach(aud, i, v) {
			if (!json_is_string(v))
				break;
			found |= !strcmp(json_string_value(v), is->audience);
			n++;
		}
	}
	if (!n || (json_is_array(aud) && n != json_array_size(aud))) {
		snprintf(detail, detail_len, "aud must be a string or a non-empty array of strings");
		return VERIFY_BAD_AUDIENCE;
	}
	if (!found) {
		snprintf(detail, detail_len, "aud does not name \"%s\"", is->audience);
		return VERIFY_BAD_AUDIENCE;
	}
	if (is->max_audiences && n > (size_t)is->max_audiences) {
		snprintf(detail, detail_len, "aud names %zu audiences; this issuer takes tokens with at "
			 "most %d (max_audiences)", n, is->max_audiences);
		return VERIFY_BAD_AUDIENCE;
	}
	return VERIFY_OK;
}

#define DETAIL(...) (detail ? snprintf(detail, detail_len, __VA_ARGS__) : 0)

static int check_claims(const struct trust_issuer *is, json_t *c, int64_t now, struct token *out,
			char *detail, size_t detail_len)
{
	json_t *sub = json_object_get(c, "sub"), *nbf_j = json_object_get(c, "nbf"),
	       *iat_j = json_object_get(c, "iat");
	int64_t exp, nbf = 0, iat = 0, start;
	int r;

	/* 13. audience */
	char why[256];

	r = check_audience(is, json_object_get(c, "aud"), why, sizeof(why));
	if (r) {
		DETAIL("%s", why);
		return r;
	}
	/* 14. expiry */
	if (numeric_date(json_object_get(c, "exp"), &exp) < 0) {
		DETAIL("exp must be an integer NumericDate");
		return VERIFY_BAD_EXPIRY;
	}
	if (now > exp + is->skew) {
		DETAIL("expired %lld s ago (skew %lld s)", (long long)(now - exp), (long long)is->skew);
		return VERIFY_EXPIRED;
	}
	/* 15. nbf, iat */
	if (nbf_j && numeric_date(nbf_j, &nbf) < 0) {
		DETAIL("nbf must be an integer NumericDate");
		return VERIFY_BAD_CLAIM;
	}
	if (iat_j && numeric_date(iat_j, &iat) < 0) {
		DETAIL("iat must be an integer NumericDate");
		return VERIFY_BAD_CLAIM;
	}
	if (!iat_j && is->require_iat) {
		DETAIL("iat is required by this issuer");
		return VERIFY_BAD_CLAIM;
	}
	if (nbf_j && nbf > now + is->skew) {
		DETAIL("nbf is %lld s in the future", (long long)(nbf - now));
		return VERIFY_NOT_YET_VALID;
	}
	if (iat_j && iat > now + is->skew) {
		DETAIL("iat is %lld s in the future", (long long)(iat - now));
		return VERIFY_NOT_YET_VALID;
	}
	/* 16. lifetime cap */
	start = now;
	if (iat_j && iat > start)
		start = iat;
	if (nbf_j && nbf > start)
		start = nbf;
	if (exp - start > is->max_lifetime) {
		DETAIL("lifetime %lld s exceeds the cap of %lld s", (long long)(exp - start),
		       (long long)is->max_lifetime);
		return VERIFY_LIFETIME_TOO_LONG;
	}
	/* 17. subject */
	if (!json_is_string(sub) || !json_string_length(sub) ||
	    json_string_length(sub) > TRUST_SUB_MAX) {
		DETAIL("sub must be a non-empty string of at most %d bytes", TRUST_SUB_MAX);
		return VERIFY_BAD_SUBJECT;
	}
	/* 12 (SPIFFE): the subject lives in the trust domain whose bundle verified it */
	if (is->spiffe_trust_domain) {
		size_t tl = strlen(is->spiffe_trust_domain);
		const char *s = json_string_value(sub);

		if (strncmp(s, "spiffe://", 9) || strncmp(s + 9, is->spiffe_trust_domain, tl) ||
		    s[9 + tl] != '/') {
			DETAIL("sub is not in trust domain %s", is->spiffe_trust_domain);
			return VERIFY_TRUST_DOMAIN;
		}
	}
	out->exp = exp;
	out->sub = json_string_value(sub);
	return VERIFY_OK;
}

void token_clear(struct token *tok)
{
	jws_clear(&tok->jws);
	memset(tok, 0, sizeof(*tok));
}

int token_verify(struct trust *t, const char *token, size_t len, int64_t now, struct token *out,
		 char *detail, size_t detail_len)
{
	const struct jwk *key = NULL;
	struct trust_issuer *is;
	int r;

	memset(out, 0, sizeof(*out));
	if (detail && detail_len)
		detail[0] = '\0';
	/* 1-4. shape, base64url, JSON, header members */
	r = jws_parse(token, len, true, &out->jws);
	if (r)
		return r;
	/* 12. the issuer, the one claim used before the signature: it picks the key set */
	out->iss = json_string_value(json_object_get(out->jws.payload, "iss"));
	is = trust_find(t, out->iss);
	if (!is) {
		DETAIL("iss \"%.200s\" is not a configured issuer", out->iss ? out->iss : "(none)");
		if (detail)
			trust_explain_issuer(t, out->iss, detail, detail_len);
		r = VERIFY_UNKNOWN_ISSUER;
		goto fail;
	}
	out->issuer = is;
	out->iss = is->issuer; /* the entry's form, which policies name */
	/* 5-6. typ and algorithm for this issuer */
	r = jws_check_typ(&out->jws, is->typ);
	if (r)
		goto fail;
	if (!(is->algs & (1u << out->jws.alg))) {
		DETAIL("%s is not among this issuer's algorithms", jws_alg_name(out->jws.alg));
		r = VERIFY_ALG_NOT_ALLOWED;
		goto fail;
	}
	/* 7. the key: from the issuer's set only, refetched once per window on an unknown kid */
	r = trust_issuer_refresh(is, now, false);
	if (r == -EAGAIN && is->defer_fetch) {
		r = VERIFY_KEYS_PENDING;
		goto fail;
	}
	if (r < 0) {
		DETAIL("keys of %s: %s", is->issuer, is->last_error);
		r = VERIFY_KEYS_UNAVAILABLE;
		goto fail;
	}
	r = jws_select_key(&out->jws, &is->keys, &key);
	if (r == VERIFY_KEY_NOT_FOUND && !is->jwks_file) {
		int k = trust_issuer_refresh(is, now, true);

		if (k == -EAGAIN && is->defer_fetch) {
			r = VERIFY_KEYS_PENDING;
			goto fail;
		}
		if (k == 0)
			r = jws_select_key(&out->jws, &is->keys, &key);
	}
	if (r)
		goto fail;
	/* 9-11. the signature */
	r = jws_signature_verify(out->jws.alg, key->pkey, (const uint8_t *)out->jws.signing_input,
				 out->jws.signing_input_len, out->jws.sig, out->jws.sig_len);
	if (r)
		goto fail;
	/* 13-17. claims of a verified payload */
	r = check_claims(is, out->jws.payload, now, out, detail, detail_len);
	if (r)
		goto fail;
	return VERIFY_OK;
fail:
	if (detail && out->issuer)
		trust_explain_check(out->issuer, r, detail, detail_len);
	token_clear(out);
	return r;
}
