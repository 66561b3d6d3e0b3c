/* SPDX-License-Identifier: MIT */
/*
 * Identity providers whose tokens need more than an issuer and a subject to be selected safely:
 * GitHub Actions (one issuer for every repository), Microsoft Entra ID (two issuer forms per
 * tenant), Google (one issuer for every service account on Google Cloud) and AWS outbound
 * identity federation (one issuer per account, context nested under a URL-named claim). For
 * each: how its issuers look, which claims name one workload, which ones the token's requester
 * writes itself, and which ones name a machine rather than a workload. `policy check` refuses
 * a policy that selects every workload of such an issuer, or selects on a requester's words.
 */
#ifndef MCPFENCE_PROVIDERS_H
#define MCPFENCE_PROVIDERS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "util.h"

enum provider_id {
	PROVIDER_OTHER = 0,
	PROVIDER_GITHUB,
	PROVIDER_ENTRA,
	PROVIDER_GOOGLE,
	PROVIDER_AWS,
};

#define ENTRA_V1_ISSUER "https://sts.windows.net/%s/"
#define ENTRA_V2_ISSUER "https://login.microsoftonline.com/%s/v2.0"
#define GOOGLE_ISSUER "https://accounts.google.com"
#define GOOGLE_ISSUER_BARE "accounts.google.com" /* Google signs some ID tokens with this iss */
#define GITHUB_ISSUER "https://token.actions.githubusercontent.com"
#define AWS_ISSUER_SUFFIX ".tokens.sts.global.api.aws"
#define AWS_CLAIMS_KEY "https://sts.amazonaws.com/"
#define PROVIDER_TENANT_MAX 64

struct provider {
	enum provider_id id;
	const char *name;  /* the trust preset's name */
	const char *title; /* for people */
	const char *const *keys;	   /* top-level members whose names hold dots */
	const char *const *distinguishing; /* claim paths that name one workload, when exact */
	const char *subject_prefix;	   /* an exact subject with this prefix names one too */
	const char *const *caller_chosen;  /* paths (and all below) the requester writes */
	const char *const *machine;	   /* paths (and all below) that name a machine */
	const char *machine_suffix;	   /* ... and a machine's default account, by suffix */
	const char *shared_by;		   /* whom one issuer signs for */
	const char *advice;		   /* what to select on instead */
};

struct provider_issuer {
	const struct provider *provider; /* NULL: not one of these */
	char tenant[PROVIDER_TENANT_MAX]; /* Entra: the tenant; AWS: the issuer's own id */
	int version;			  /* Entra: 1 or 2 */
};

/* Which provider issues tokens with this iss, by its shape; .provider NULL for others. */
struct provider_issuer provider_of_issuer(const char *iss);
const struct provider *provider_find(const char *name);

/*
 * Judge a policy's spec.identity against its issuer's provider: an error (in errs, with file
 * and path) when it would select every workload of a shared issuer or selects on claims the
 * requester chooses. *machine says whether it selects on a machine-level identity.
 */
void provider_check_identity(json_t *id, const char *file, struct diag *errs, bool *machine);

#endif
