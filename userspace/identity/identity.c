// SPDX-License-Identifier: MIT
#include "identity.h"

#include <fnmatch.h>

#include "scope.h"

/* A matcher is a string (byte-exact) or {"glob": PATTERN}. */
static bool matcher_matches(json_t *m, const char *value)
{
	if (!value)
		return false;
	if (json_is_string(m))
		return !strcmp(json_string_value(m), value);
	if (json_is_object(m) && json_is_string(json_object_get(m, "glob")))
		return fnmatch(json_string_value(json_object_get(m, "glob")), value, 0) == 0;
	return false;
}

/* A claim matches as text (string, integer, boolean); an array when one of its items does
 * (Entra's roles, a list of groups). */
static bool claim_matches(json_t *m, json_t *claim)
{
	char buf[32];
	size_t i;
	json_t *v;

	if (!json_is_array(claim))
		return matcher_matches(m, claim_text(claim, buf, sizeof(buf)));
	json_array_foreach(claim, i, v)
		if (matcher_matches(m, claim_text(v, buf, sizeof(buf))))
			return true;
	return false;
}

static bool audience_contains(json_t *aud, const char *want)
{
	size_t i;
	json_t *v;

	if (json_is_string(aud))
		return !strcmp(json_string_value(aud), want);
	json_array_foreach(aud, i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), want))
			return true;
	return false;
}

/* NULL if the policy does not match; else the claims it matched on. */
static json_t *policy_matches(const struct policy *p, const struct token *tok)
{
	json_t *id = p->identity, *claims = tok->jws.payload, *m, *matched, *cv;
	const char *iss = json_string_value(json_object_get(id, "issuer")), *key;
	const char *aud = json_string_value(json_object_get(id, "audience"));

	if (!id || !iss || strcmp(iss, tok->iss))
		return NULL;
	if (aud && !audience_contains(json_object_get(claims, "aud"), aud))
		return NULL;
	m = json_object_get(id, "subject");
	if (m && !matcher_matches(m, tok->sub))
		return NULL;
	json_object_foreach(json_object_get(id, "claims"), key, m) {
		cv = claim_lookup(claims, key);
		if (!claim_matches(m, cv))
			return NULL;
	}
	matched = json_pack("{s:s, s:s}", "iss", tok->iss, "sub", tok->sub);
	if (aud)
		json_object_set_new(matched, "aud", json_string(aud));
	json_object_foreach(json_object_get(id, "claims"), key, m)
		json_object_set(matched, key, claim_lookup(claims, key));
	return matched;
}

const char *token_pod_namespace(const struct token *tok)
{
	if (!(tok->issuer && tok->issuer->kubernetes) && !json_is_string(claim_lookup(tok->jws.payload, "kubernetes.io.pod.uid")))
		return NULL;
	return json_string_value(claim_lookup(tok->jws.payload, "kubernetes.io.namespace"));
}

int identity_select(const struct policy_set *set, const struct token *tok, const char *ns,
		    const struct policy **ret, json_t **ret_matched, char *detail, size_t detail_len)
{
	const struct policy *found = NULL;
	json_t *matched = NULL;
	size_t n = 0, refused = 0;
	char names[256] = "", why[256] = "";

	for (size_t i = 0; i < set->n; i++) {
		json_t *m = policy_matches(set->items[i], tok);

		if (m && !policy_admits(set->items[i], ns, why, sizeof(why))) {
			json_decref(m); /* another namespace's: not a candidate */
			refused++;
			continue;
		}
		if (!m)
			continue;
		n++;
		if (strlen(names) + strlen(set->items[i]->name) + 3 < sizeof(names))
			snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
				 n > 1 ? ", " : "", set->items[i]->name);
		if (found) {
			json_decref(m);
			continue;
		}
		found = set->items[i];
		matched = m;
	}
	if (n == 1) {
		*ret = found;
		*ret_matched = matched;
		return VERIFY_OK;
	}
	json_decref(matched);
	if (!n && refused) {
		if (detail)
			snprintf(detail, detail_len, "%s", why);
		return VERIFY_NAMESPACE_NOT_ADMITTED;
	}
	if (detail)
		snprintf(detail, detail_len,
			 n ? "policies %s all match; identity blocks must select exactly one"
			   : "no policy's identity matches iss %s, sub %s",
			 n ? names : tok->iss, tok->sub);
	return n ? VERIFY_AMBIGUOUS_POLICY : VERIFY_NO_POLICY;
}

