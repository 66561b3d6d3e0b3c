/* SPDX-License-Identifier: MIT */
/*
 * Trusted issuers and token verification. Each issuer has its keys from a JWKS file (re-read
 * when the file changes: rotation needs no restart) or from OIDC discovery over HTTPS (cached
 * with a TTL, last good set kept on failure until a hard expiry, one refetch per 30 s on an
 * unknown kid), plus its rules: algorithms, audience, skew, lifetime cap, typ, iat, SPIFFE
 * trust domain, Kubernetes pod binding. token_verify() applies the checklist in its order.
 */
#ifndef MCPFENCE_TRUST_H
#define MCPFENCE_TRUST_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "claim_path.h"
#include "jwk.h"
#include "jws.h"
#include "util.h"

#define TRUST_DEFAULT_AUDIENCE "mcpfence"
#define TRUST_DEFAULT_SKEW 30
#define TRUST_MAX_SKEW 60
#define TRUST_DEFAULT_LIFETIME 3600
#define TRUST_MAX_LIFETIME 86400
#define TRUST_TTL_MIN 60
#define TRUST_TTL_MAX 3600
#define TRUST_TTL_DEFAULT 300
#define TRUST_HARD_EXPIRY 86400
#define TRUST_REFETCH_INTERVAL 30
#define TRUST_RETRY_INTERVAL 5 /* deferred mode: after a failed fetch, answer "unavailable" */
#define TRUST_SUB_MAX 1024
#define TRUST_MAX_AUDIENCES 100

struct trust_issuer {
	char *issuer;
	char *jwks_file;
	bool discovery;
	char *jwks_uri; /* from discovery, or configured */
	char *jwks_host; /* another host allowed for jwks_uri */
	char *ca_file;
	unsigned algs; /* bit per enum jws_alg */
	char *audience;
	char *preset;	    /* the provider preset it was written with, or NULL */
	int max_audiences;  /* most audiences a token may carry; 0: any number */
	int64_t skew;
	int64_t max_lifetime;
	bool require_iat;
	char *typ;
	char *spiffe_trust_domain;
	bool kubernetes; /* tokens carry kubernetes.io.pod.uid: it must match the caller's pod */

	/* key cache */
	struct jwks keys;
	bool have_keys;
	time_t keys_mtime;	/* jwks_file */
	int64_t checked_at;	/* jwks_file: stat at most once a second, not once a token */
	int64_t fresh_until;	/* discovery: TTL */
	int64_t hard_until;	/* discovery: last good set usable until */
	int64_t last_refetch;	/* unknown-kid refetches */
	unsigned fetches;	/* successful JWKS fetches, for status and tests */
	unsigned fetch_failures; /* failed ones, for metrics */
	time_t keys_at;		/* when the key set in use was installed (Unix time) */
	char last_error[256];

	/* deferred fetching (the agent): verification never blocks on the network */
	bool defer_fetch;	/* fetches are asked for (fetch_wanted), never done inline */
	bool fetch_wanted;	/* a verification needs a fetch: the owner should start one */
	bool fetch_inflight;	/* the owner has started one */
	int64_t failed_at;	/* when the last fetch failed; 0 after a success */
};

/*
 * One fetch of an issuer's keys, in three steps so that the network part can run on another
 * thread: prepare (copies what it needs of the issuer), run (touches nothing else), finish
 * (installs the keys, or keeps the last good set and records the error).
 */
struct trust_fetch {
	char *issuer, *jwks_uri, *jwks_host, *ca_file;
	bool discovery;
	int r;		/* 0, or -errno with `error` */
	char *body;	/* the key set */
	size_t len;
	int64_t ttl;	/* max-age or spiffe_refresh_hint; -1 if none */
	char error[256];
};

int trust_fetch_prepare(const struct trust_issuer *is, struct trust_fetch *f);
void trust_fetch_run(struct trust_fetch *f);
int trust_fetch_finish(struct trust_issuer *is, struct trust_fetch *f, int64_t now);
void trust_fetch_clear(struct trust_fetch *f);

struct trust {
	size_t n;
	struct trust_issuer *issuers;
};

/* `obj` is the config's "trust" object ({"issuers": [...]}); paths relative to base_file. */
int trust_load(json_t *obj, const char *base_file, struct trust *out, struct diag *errs);
/* A trust file: an agent config (its "trust") or a bare {"issuers": [...]}. */
int trust_load_file(const char *file, struct trust *out, struct diag *errs);
void trust_clear(struct trust *t);
struct trust_issuer *trust_find(struct trust *t, const char *iss);

struct token {
	struct jws jws; /* jws.payload holds the verified claims */
	struct trust_issuer *issuer;
	const char *iss, *sub;
	int64_t exp;
};

/* Verify a compact JWT: returns enum verify_error; `detail` (may be NULL) gets a sentence
 * for logs that never contains the token. `now` in Unix seconds. */
int token_verify(struct trust *t, const char *token, size_t len, int64_t now, struct token *out,
		 char *detail, size_t detail_len);
void token_clear(struct token *tok);

/* Make sure the issuer's keys are loaded (for status and the agent's start). */
int trust_issuer_refresh(struct trust_issuer *is, int64_t now, bool unknown_kid);

#endif
