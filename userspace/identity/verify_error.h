/* SPDX-License-Identifier: MIT */
/*
 * Why a token was refused: one code per rule of the verifier's checklist, each with a stable
 * name (used in events, replies and tests) and a sentence for people.
 */
#ifndef MCPFENCE_VERIFY_ERROR_H
#define MCPFENCE_VERIFY_ERROR_H

enum verify_error {
	VERIFY_OK = 0,
	VERIFY_MALFORMED,	   /* not three non-empty segments, bad size, bad shape */
	VERIFY_TOO_LARGE,	   /* token over 16 KiB or header over 2 KiB */
	VERIFY_BAD_BASE64,	   /* not strict base64url */
	VERIFY_BAD_JSON,	   /* not an object, duplicate keys, too deep, too many members */
	VERIFY_HEADER_NOT_ALLOWED, /* crit, jku, jwk, x5u, x5c, b64, ... or any unknown member */
	VERIFY_BAD_TYP,		   /* typ other than JWT/JOSE or the issuer's */
	VERIFY_ALG_NOT_ALLOWED,	   /* none, HS*, unknown, or not in the issuer's list */
	VERIFY_KEY_NOT_FOUND,	   /* no key with that kid, or kid missing and several candidates */
	VERIFY_KEY_REJECTED,	   /* the key failed import: size, exponent, curve point, private */
	VERIFY_ALG_KEY_MISMATCH,   /* key type, curve or JWK alg does not fit the algorithm */
	VERIFY_BAD_SIGNATURE,	   /* wrong length, out-of-range ECDSA values, or does not verify */
	VERIFY_UNKNOWN_ISSUER,	   /* iss missing or not byte-exact a configured issuer */
	VERIFY_BAD_AUDIENCE,	   /* aud missing, malformed or without our audience */
	VERIFY_BAD_EXPIRY,	   /* exp missing or not an integer in [0, 2^53] */
	VERIFY_EXPIRED,		   /* now > exp + skew */
	VERIFY_NOT_YET_VALID,	   /* nbf or iat after now + skew */
	VERIFY_LIFETIME_TOO_LONG,  /* exp - max(iat, nbf, now) above the issuer's cap */
	VERIFY_BAD_CLAIM,	   /* nbf/iat of the wrong type, required iat missing */
	VERIFY_BAD_SUBJECT,	   /* sub missing, empty, not a string or over 1024 bytes */
	VERIFY_TRUST_DOMAIN,	   /* SPIFFE: sub not in the trust domain of the bundle */
	VERIFY_NO_POLICY,	   /* authenticated, not authorized: no policy matches */
	VERIFY_AMBIGUOUS_POLICY,   /* several policies match */
	VERIFY_POD_MISMATCH,	   /* Kubernetes pod UID differs from the caller's pod */
	VERIFY_NAMESPACE_NOT_ADMITTED, /* the policy that matches is another namespace's */
	VERIFY_KEYS_UNAVAILABLE,   /* the issuer's keys could not be loaded or fetched */
	VERIFY_ALREADY_BOUND,	   /* the cgroup is bound to another identity, or by the operator */
	VERIFY_NOT_GUARDED,	   /* the caller's cgroup is not below the cgroup root */
	VERIFY_KEYS_PENDING,	   /* deferred fetching: the keys are being fetched, ask again */
	VERIFY_INTERNAL,
	VERIFY_ERROR_MAX,
};

const char *verify_error_name(int e);
const char *verify_error_text(int e);

#endif
