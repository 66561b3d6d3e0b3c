/* SPDX-License-Identifier: MIT */
/*
 * mcpfence as a small token issuer: its signing keys (ES256, P-256), kept as PEM files in one
 * directory (0700, each key 0600; only the public halves ever leave the host, in the key set),
 * rotated on a schedule, and compact JWS tokens signed with them.
 *
 * Rotation: a new key is published ISSUER_LIFETIME_MAX before it signs (relying parties that
 * cache the key set see it in time), the key before it signs until then, and stays published
 * until every token it signed has expired. A key's creation time is in its file name
 * (<unix seconds>-<kid>.pem), so the schedule survives restarts.
 */
#ifndef MCPFENCE_ISSUER_H
#define MCPFENCE_ISSUER_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#define ISSUER_LIFETIME_MAX 3600 /* seconds: no minted token lives longer */
#define ISSUER_KEYS_MAX 8
#define ISSUER_ROTATE_MIN (3LL * ISSUER_LIFETIME_MAX)
#define ISSUER_ROTATE_DEFAULT (24LL * 3600)

struct issuer_key {
	char kid[48]; /* the RFC 7638 thumbprint of the public key */
	int64_t created;
	EVP_PKEY *pkey;
};

struct issuer {
	char *url;	  /* iss of every token; the discovery document's issuer */
	char *dir;	  /* the keys */
	int64_t rotate_s; /* how long a key signs */
	size_t n;	  /* oldest first */
	struct issuer_key keys[ISSUER_KEYS_MAX];
};

/* Read the keys in dir (created 0700 if missing). No key is made here: see issuer_rotate. */
int issuer_open(const char *url, const char *dir, int64_t rotate_s, struct issuer *ret, char *err,
		size_t errlen);
/* Bring the keys to the schedule at `now`: the first key, the next one ahead of its turn, the
 * retired ones gone once their tokens have expired. Returns how many files changed, or -errno. */
int issuer_rotate(struct issuer *is, int64_t now, char *err, size_t errlen);
/* The key that signs at `now` (NULL without keys). */
const struct issuer_key *issuer_signing_key(const struct issuer *is, int64_t now);
/* A compact JWS of `claims` (typ JWT, the signing key's kid); owned string. */
int issuer_sign(const struct issuer *is, int64_t now, json_t *claims, char **ret);
/* {"keys": [...]}: the public halves, every published key. */
json_t *issuer_jwks(const struct issuer *is);
/* The OpenID discovery document that points at the key set. */
json_t *issuer_discovery(const struct issuer *is);
/* Write DIR/.well-known/openid-configuration and DIR/.well-known/jwks.json. */
int issuer_export(const struct issuer *is, const char *dir, char *err, size_t errlen);
void issuer_clear(struct issuer *is);

#endif
