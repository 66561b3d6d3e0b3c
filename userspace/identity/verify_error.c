// SPDX-License-Identifier: MIT
#include "verify_error.h"

static const struct {
	const char *name, *text;
} errors[VERIFY_ERROR_MAX] = {
	[VERIFY_OK] = { "ok", "valid" },
	[VERIFY_MALFORMED] = { "malformed", "malformed token" },
	[VERIFY_TOO_LARGE] = { "too_large", "malformed token: too large" },
	[VERIFY_BAD_BASE64] = { "bad_base64", "malformed token: not strict base64url" },
	[VERIFY_BAD_JSON] = { "bad_json", "malformed token: bad JSON" },
	[VERIFY_HEADER_NOT_ALLOWED] = { "header_not_allowed", "header member not allowed" },
	[VERIFY_BAD_TYP] = { "bad_typ", "typ not accepted" },
	[VERIFY_ALG_NOT_ALLOWED] = { "alg_not_allowed", "algorithm not allowed" },
	[VERIFY_KEY_NOT_FOUND] = { "key_not_found", "key not found" },
	[VERIFY_KEY_REJECTED] = { "key_rejected", "key rejected at import" },
	[VERIFY_ALG_KEY_MISMATCH] = { "alg_key_mismatch", "algorithm does not fit the key" },
	[VERIFY_BAD_SIGNATURE] = { "bad_signature", "bad signature" },
	[VERIFY_UNKNOWN_ISSUER] = { "unknown_issuer", "unknown issuer" },
	[VERIFY_BAD_AUDIENCE] = { "bad_audience", "bad audience" },
	[VERIFY_BAD_EXPIRY] = { "bad_expiry", "bad or missing expiry" },
	[VERIFY_EXPIRED] = { "expired", "expired" },
	[VERIFY_NOT_YET_VALID] = { "not_yet_valid", "not yet valid" },
	[VERIFY_LIFETIME_TOO_LONG] = { "lifetime_too_long", "lifetime too long" },
	[VERIFY_BAD_CLAIM] = { "bad_claim", "bad nbf or iat claim" },
	[VERIFY_BAD_SUBJECT] = { "bad_subject", "bad or missing subject" },
	[VERIFY_TRUST_DOMAIN] = { "trust_domain_mismatch", "subject outside the trust domain" },
	[VERIFY_NO_POLICY] = { "no_matching_policy", "authenticated, not authorized: no policy matches" },
	[VERIFY_AMBIGUOUS_POLICY] = { "ambiguous_policy", "authenticated, not authorized: several policies match" },
	[VERIFY_POD_MISMATCH] = { "pod_mismatch", "authenticated, not authorized: pod UID differs from the caller's" },
	[VERIFY_NAMESPACE_NOT_ADMITTED] = { "namespace_not_admitted",
					    "authenticated, not authorized: the policy does not admit the caller's namespace" },
	[VERIFY_KEYS_UNAVAILABLE] = { "keys_unavailable", "the issuer's keys are unavailable" },
	[VERIFY_ALREADY_BOUND] = { "already_bound", "authenticated, not authorized: the cgroup is bound already" },
	[VERIFY_NOT_GUARDED] = { "not_guarded", "the caller is not in a cgroup below the root" },
	[VERIFY_KEYS_PENDING] = { "keys_pending", "the issuer's keys are being fetched" },
	[VERIFY_INTERNAL] = { "internal", "internal error" },
};

const char *verify_error_name(int e)
{
	return e >= 0 && e < VERIFY_ERROR_MAX ? errors[e].name : "unknown";
}

const char *verify_error_text(int e)
{
	return e >= 0 && e < VERIFY_ERROR_MAX ? errors[e].text : "unknown error";
}
