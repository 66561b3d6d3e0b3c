// SPDX-License-Identifier: MIT
#include "providers.h"

#include <ctype.h>
#include <fnmatch.h>

#include "claim_path.h"

static const char *const none[] = { NULL };
static const char *const aws_keys[] = { AWS_CLAIMS_KEY, NULL };

static const struct provider providers[] = {
	{ PROVIDER_GITHUB, "github", "GitHub Actions", none,
	  (const char *const[]){ "repository", "repository_owner", "repository_id",
				 "repository_owner_id", NULL },
	  "repo:", none, none, NULL, "every GitHub repository",
	  "constrain claims.repository or claims.repository_owner (exact), or an exact subject "
	  "\"repo:OWNER/NAME:...\"" },
	{ PROVIDER_ENTRA, "entra", "Microsoft Entra ID", none,
	  (const char *const[]){ "oid", "azp", "appid", "sub", "xms_mirid", NULL }, "", none,
	  (const char *const[]){ "xms_mirid", "xms_az_rid", NULL }, NULL,
	  "every application and managed identity of the tenant",
	  "select the workload's object id (claims.oid), its client application (claims.azp for "
	  "v2.0 tokens, claims.appid for v1.0) or an exact subject" },
	{ PROVIDER_GOOGLE, "google", "Google", none,
	  (const char *const[]){ "sub", "azp", "email", NULL }, "", none,
	  (const char *const[]){ "google.compute_engine", NULL }, "-compute@developer.gserviceaccount.com",
	  "every service account on Google Cloud",
	  "select the service account by an exact subject (its numeric id), claims.azp or "
	  "claims.email" },
	{ PROVIDER_AWS, "aws", "AWS outbound identity federation", aws_keys,
	  (const char *const[]){ "sub", NULL }, "arn:",
	  (const char *const[]){ "['" AWS_CLAIMS_KEY "'].request_tags", NULL },
	  (const char *const[]){ "['" AWS_CLAIMS_KEY "'].ec2_*", NULL }, NULL,
	  "every IAM role and user of the account",
	  "select the IAM role by an exact subject (\"arn:aws:iam::ACCOUNT:role/NAME\")" },
};

const struct provider *provider_find(const char *name)
{
	for (size_t i = 0; name && i < ARRAY_SIZE(providers); i++)
		if (!strcmp(providers[i].name, name))
			return &providers[i];
	return NULL;
}

static const struct provider *provider_by_id(enum provider_id id)
{
	for (size_t i = 0; i < ARRAY_SIZE(providers); i++)
		if (providers[i].id == id)
			return &providers[i];
	return NULL;
}

/* A tenant or account id: letters, digits, '-' and '.', nothing that ends a path segment. */
static bool id_copy(const char *s, size_t n, char *out)
{
	if (!n || n >= PROVIDER_TENANT_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.')
			return false;
	memcpy(out, s, n);
	out[n] = '\0';
	return true;
}

struct provider_issuer provider_of_issuer(const char *iss)
{
	static const char v1[] = "https://sts.windows.net/", v2[] = "https://login.microsoftonline.com/",
			  aws[] = "https://";
	struct provider_issuer pi = {};
	size_t n, sl = strlen(AWS_ISSUER_SUFFIX);
	const char *end;

	if (!iss)
		return pi;
	if (!strcmp(iss, GITHUB_ISSUER)) {
		pi.provider = provider_by_id(PROVIDER_GITHUB);
	} else if (!strcmp(iss, GOOGLE_ISSUER) || !strcmp(iss, GOOGLE_ISSUER_BARE)) {
		pi.provider = provider_by_id(PROVIDER_GOOGLE);
	} else if (!strncmp(iss, v1, sizeof(v1) - 1)) {
		end = strchr(iss + sizeof(v1) - 1, '/');
		if (end && !end[1] && id_copy(iss + sizeof(v1) - 1, (size_t)(end - iss) - (sizeof(v1) - 1), pi.tenant)) {
			pi.provider = provider_by_id(PROVIDER_ENTRA);
			pi.version = 1;
		}
	} else if (!strncmp(iss, v2, sizeof(v2) - 1)) {
		end = strchr(iss + sizeof(v2) - 1, '/');
		if (end && !strcmp(end, "/v2.0") &&
		    id_copy(iss + sizeof(v2) - 1, (size_t)(end - iss) - (sizeof(v2) - 1), pi.tenant)) {
			pi.provider = provider_by_id(PROVIDER_ENTRA);
			pi.version = 2;
		}
	} else if (!strncmp(iss, aws, sizeof(aws) - 1) && (n = strlen(iss)) > sl + sizeof(aws) - 1 &&
		   !strcmp(iss + n - sl, AWS_ISSUER_SUFFIX) &&
		   id_copy(iss + sizeof(aws) - 1, n - sl - (sizeof(aws) - 1), pi.tenant) &&
		   !strchr(pi.tenant, '.')) {
		pi.provider = provider_by_id(PROVIDER_AWS);
	}
	return pi;
}

/* Whether the pattern's segments begin the path's ("a.b" covers "a.b" and "a.b.c"; a last
 * pattern segment "x*" covers any segment starting with x). */
static bool path_under(const struct claim_path *path, const char *pattern, const char *const *keys)
{
	struct claim_path pat;

	if (claim_path_split(pattern, keys, &pat) < 0 || pat.n > path->n)
		return false;
	for (size_t i = 0; i < pat.n; i++) {
		size_t l = strlen(pat.seg[i]);

		if (i + 1 == pat.n && l && pat.seg[i][l - 1] == '*') {
			if (strncmp(pat.seg[i], path->seg[i], l - 1))
				return false;
		} else if (strcmp(pat.seg[i], path->seg[i])) {
			return false;
		}
	}
	return true;
}

static bool path_in(const struct claim_path *path, const char *const *list, const char *const *keys,
		    bool exact)
{
	for (size_t i = 0; list[i]; i++) {
		struct claim_path pat;

		if (exact ? claim_path_split(list[i], keys, &pat) == 0 && pat.n == path->n &&
				    path_under(path, list[i], keys)
			  : path_under(path, list[i], keys))
			return true;
	}
	return false;
}

void provider_check_identity(json_t *id, const char *file, struct diag *errs, bool *machine)
{
	const char *iss = json_string_value(json_object_get(id, "issuer")), *key;
	json_t *sub = json_object_get(id, "subject"), *claims = json_object_get(id, "claims"), *m;
	struct provider_issuer pi = provider_of_issuer(iss);
	const struct provider *p = pi.provider;
	bool named;

	*machine = false;
	if (!p)
		return;
	named = json_is_string(sub) && !strncmp(json_string_value(sub), p->subject_prefix,
						 strlen(p->subject_prefix));
	json_object_foreach(claims, key, m) {
		struct claim_path path;

		if (claim_path_split(key, p->keys, &path) < 0)
			continue; /* the parser said why */
		if (json_is_string(m) && path_in(&path, p->distinguishing, p->keys, true))
			named = true;
		if (path_in(&path, p->caller_chosen, p->keys, false))
			diag_add(errs, "%s: spec.identity.claims.%s: %s tokens carry this claim as the "
				       "requester asked for it: it cannot select a workload",
				 file, key, p->title);
		if (path_in(&path, p->machine, p->keys, false))
			*machine = true;
		if (p->machine_suffix && json_is_string(m) && path_in(&path, p->distinguishing, p->keys, true)) {
			const char *v = json_string_value(m);
			size_t vl = strlen(v), sl = strlen(p->machine_suffix);

			if (vl > sl && !strcmp(v + vl - sl, p->machine_suffix))
				*machine = true;
		}
	}
	if (!named)
		diag_add(errs, "%s: spec.identity: issuer %s is shared by %s: %s", file, iss,
			 p->shared_by, p->advice);
}
