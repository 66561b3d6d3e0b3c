// SPDX-License-Identifier: MIT
/*
 * The agent as a small issuer: a bound workload asks, over the attestation socket, for a
 * credential for one downstream audience its policy grants, and gets a fresh, short-lived,
 * single-audience JWT signed with the agent's own key. The caller is who the kernel says it is
 * (peer credentials, its cgroup, the binding of its nearest bound ancestor); the request carries
 * no identity, and the token the workload attested with never leaves the agent.
 */
#include "agent_state.h"

#include <curl/curl.h>
#include <openssl/rand.h>

#include "attest.h"
#include "b64url.h"
#include "cgroup.h"
#include "events.h"
#include "issuer.h"
#include "tokenop.h"

#define CREDENTIAL_EXPIRING_S 30 /* a binding about to expire gets nothing */
#define CREDENTIAL_SOURCE_MAX 16384
#define CREDENTIAL_METRIC_ROWS 256 /* (policy, audience, result) rows; the rest count as one */

/* One row of mcpfence_credentials_total. The audience is labelled only where a policy grants
 * it: a caller's made-up audiences must not grow the label set. */
struct credential_count {
	char *policy, *audience;
	int result;
	uint64_t n;
};

struct agent_credentials {
	struct issuer issuer;
	struct idmap source;  /* identity id -> the source token's claims (JSON) */
	struct idmap windows; /* cgroup id -> requests this second: (second << 20) | count */
	char node[256];	      /* this host, named in the act claim */
	unsigned per_second;
	uint64_t minted, refused;
	struct credential_count counts[CREDENTIAL_METRIC_ROWS];
	size_t ncounts;
};

/* Why a request gets no credential: stable names, for events, metrics and callers. */
#define CREDENTIAL_REASONS(X)                                                                      \
	X(OK, "ok")                                                                                \
	X(NOT_BOUND, "not_bound")                                                                  \
	X(HELD, "held")                                                                            \
	X(AUDIENCE_NOT_GRANTED, "audience_not_granted")                                           \
	X(LIFETIME_OVER_CAP, "lifetime_over_cap")                                                  \
	X(BINDING_EXPIRING, "binding_expiring")                                                    \
	X(RATE_LIMITED, "rate_limited")                                                            \
	X(MALFORMED, "malformed")                                                                  \
	X(EXCHANGE_FAILED, "exchange_failed")                                                      \
	X(INTERNAL, "internal")

enum credential_result {
#define X(id, name) CRED_##id,
	CREDENTIAL_REASONS(X)
#undef X
};

static const char *const result_names[] = {
#define X(id, name) name,
	CREDENTIAL_REASONS(X)
#undef X
};

int credentials_start(struct agent *a)
{
	struct agent_credentials *c;
	char err[512] = "";
	int64_t now = (int64_t)(now_ns(CLOCK_REALTIME) / 1000000000ULL);
	int r;

	if (!a->cfg.issuer_url)
		return 0;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->per_second = a->cfg.issuer_per_second;
	c->windows.cache = true; /* one second's counts: losing them when full costs nothing */
	if (gethostname(c->node, sizeof(c->node) - 1) < 0)
		snprintf(c->node, sizeof(c->node), "localhost");
	r = issuer_open(a->cfg.issuer_url, a->cfg.issuer_keys,
			(int64_t)(a->cfg.issuer_rotate_ns / 1000000000ULL), &c->issuer, err, sizeof(err));
	if (r == 0)
		r = issuer_rotate(&c->issuer, now, err, sizeof(err));
	if (r < 0) {
		log_error("Issuer: %s", err);
		issuer_clear(&c->issuer);
		free(c);
		return r;
	}
	log_info("Issuer %s: %zu signing keys in %s, signing with %s", c->issuer.url, c->issuer.n,
		 c->issuer.dir, issuer_signing_key(&c->issuer, now)->kid);
	a->creds = c;
	return 0;
}

void credentials_stop(struct agent *a)
{
	struct agent_credentials *c = a->creds;

	if (!c)
		return;
	issuer_clear(&c->issuer);
	idmap_clear(&c->source);
	idmap_clear(&c->windows);
	for (size_t i = 0; i < c->ncounts; i++) {
		free(c->counts[i].policy);
		free(c->counts[i].audience);
	}
	free(c);
	a->creds = NULL;
}

void credentials_tick(struct agent *a)
{
	struct agent_credentials *c = a->creds;
	char err[512] = "";
	int r;

	if (!c)
		return;
	r = issuer_rotate(&c->issuer, (int64_t)(now_ns(CLOCK_REALTIME) / 1000000000ULL), err, sizeof(err));
	if (r < 0)
		log_warning("Issuer: key rotation: %s (the current key keeps signing)", err);
	else if (r > 0)
		log_info("Issuer: keys rotated, %zu published", c->issuer.n);
}

void credentials_remember(struct agent *a, uint32_t identity_id, json_t *claims)
{
	struct idmap_entry *e;
	char *s;

	if (!a->creds || !identity_id)
		return;
	s = json_dumps(claims, JSON_COMPACT);
	if (!s || strlen(s) > CREDENTIAL_SOURCE_MAX || !(e = idmap_put(&a->creds->source, identity_id))) {
		free(s);
		return;
	}
	free(e->str);
	e->str = s;
}

void credentials_forget(struct agent *a, uint32_t identity_id)
{
	if (a->creds)
		idmap_del(&a->creds->source, identity_id);
}

json_t *credentials_keys(struct agent *a)
{
	struct agent_credentials *c = a->creds;
	int64_t now = (int64_t)(now_ns(CLOCK_REALTIME) / 1000000000ULL);
	const struct issuer_key *signing;
	json_t *keys;

	if (!c)
		return json_null();
	signing = issuer_signing_key(&c->issuer, now);
	keys = json_array();
	for (size_t i = 0; keys && i < c->issuer.n; i++)
		json_array_append_new(keys, json_pack("{s:s, s:I, s:I, s:b}", "kid", c->issuer.keys[i].kid,
						       "created", (json_int_t)c->issuer.keys[i].created,
						       "age_s", (json_int_t)(now - c->issuer.keys[i].created),
						       "signing", &c->issuer.keys[i] == signing));
	return json_pack("{s:s, s:o, s:I, s:I}", "url", c->issuer.url, "keys", keys ? keys : json_array(),
			 "minted", (json_int_t)c->minted, "refused", (json_int_t)c->refused);
}

json_t *credentials_document(struct agent *a, bool discovery)
{
	if (!a->creds)
		return NULL;
	return discovery ? issuer_discovery(&a->creds->issuer) : issuer_jwks(&a->creds->issuer);
}

/* The binding of the caller's cgroup or its nearest bound ancestor below the root. */
static int binding_nearest(struct agent *a, const char *cgroup_abs, uint64_t *ret_id,
			   struct mcpf_binding *ret)
{
	_cleanup_free_ char *p = strdup(cgroup_abs);
	size_t root_len = strlen(a->root_abs);

	while (p && strlen(p) > root_len && cgroup_is_under(a->root_abs, p)) {
		char *slash;

		if (cgroup_id_from_path(p, ret_id) == 0 && fence_binding_get(a->f, *ret_id, ret) == 0)
			return 0;
		slash = strrchr(p, '/');
		if (!slash)
			break;
		*slash = '\0';
	}
	return -ENOENT;
}

static bool rate_ok(struct agent_credentials *c, uint64_t cgroup_id)
{
	uint64_t sec = now_ns(CLOCK_MONOTONIC) / 1000000000ULL;
	struct idmap_entry *e = idmap_put(&c->windows, cgroup_id);

	if (!e)
		return false;
	if (e->num >> 20 != sec)
		e->num = sec << 20;
	if ((e->num & 0xfffff) >= c->per_second)
		return false;
	e->num++;
	return true;
}

/* What a request asks for and what it is answered with, for the event. */
struct credential_request {
	const char *audience;
	int64_t lifetime_s; /* asked for; 0: the policy's */
	const struct attest_peer *peer;
	const char *policy;
	uint64_t cgroup_id;
	struct mcpf_binding b;
	struct mcpf_identity ident;
	int64_t exp;
	char jti[32];
	char detail[256];
	const char *oauth_error; /* an exchange's: the token endpoint's error code */
};

static void count_result(struct agent_credentials *c, const char *policy, const char *audience, int result)
{
	size_t i;

	policy = policy ?: "";
	audience = audience ?: "";
	for (i = 0; i < c->ncounts; i++)
		if (c->counts[i].result == result && !strcmp(c->counts[i].policy, policy) &&
		    !strcmp(c->counts[i].audience, audience))
			break;
	if (i == c->ncounts && i < CREDENTIAL_METRIC_ROWS - 1) {
		c->counts[i] = (struct credential_count){ .policy = strdup(policy), .audience = strdup(audience),
							  .result = result };
		if (!c->counts[i].policy || !c->counts[i].audience) {
			free(c->counts[i].policy);
			free(c->counts[i].audience);
			i = CREDENTIAL_METRIC_ROWS - 1;
		} else {
			c->ncounts++;
		}
	} else if (i == c->ncounts) {
		i = CREDENTIAL_METRIC_ROWS - 1; /* the overflow row: no labels */
	}
	c->counts[i].result = i == CREDENTIAL_METRIC_ROWS - 1 ? -1 : result;
	c->counts[i].n++;
}

void credentials_metrics(struct agent *a, credentials_row_fn row, void *ud)
{
	struct agent_credentials *c = a->creds;

	for (size_t i = 0; c && i < CREDENTIAL_METRIC_ROWS; i++) {
		const struct credential_count *k = &c->counts[i];

		if (i < c->ncounts)
			row(ud, k->policy, k->audience, result_names[k->result], k->n);
		else if (i == CREDENTIAL_METRIC_ROWS - 1 && k->n)
			row(ud, "", "", "other", k->n);
	}
}

static void emit_credential(struct agent *a, const struct credential_request *q, int result)
{
	json_t *ev = event_new("credential");
	bool granted = result == CRED_OK || result == CRED_LIFETIME_OVER_CAP || result == CRED_BINDING_EXPIRING;

	if (result == CRED_OK)
		a->creds->minted++;
	else
		a->creds->refused++;
	count_result(a->creds, q->policy, granted ? q->audience : NULL, result);
	if (!ev)
		return;
	json_object_set_new(ev, "result", json_string(result_names[result]));
	if (q->audience)
		json_object_set_new(ev, "audience", json_string(q->audience));
	if (q->detail[0])
		json_object_set_new(ev, "detail", json_string(q->detail));
	if (q->oauth_error)
		json_object_set_new(ev, "oauth_error", json_string(q->oauth_error));
	if (q->peer) {
		json_object_set_new(ev, "pid", json_integer(q->peer->pid));
		json_object_set_new(ev, "cgroup", json_string(cgroup_path_display(a->mount, q->peer->cgroup_abs)));
	}
	if (q->policy)
		json_object_set_new(ev, "policy", json_string(q->policy));
	if (q->ident.iss[0])
		json_object_set_new(ev, "identity", json_pack("{s:s, s:s}", "iss", q->ident.iss, "sub", q->ident.sub));
	if (result == CRED_OK)
		json_object_set_new(ev, "jti", json_string(q->jti));
	if (result == CRED_OK)
		json_object_set_new(ev, "exp", json_integer(q->exp));
	agent_emit(a, ev);
}

/*
 * The subject, stable per workload: an attested workload's source subject, qualified by its
 * issuer when that issuer is not the usual one for its kind; an operator binding's policy and
 * the container or pod it runs, else its cgroup.
 */
static char *subject_of(struct agent *a, const struct credential_request *q, json_t *source,
			const char *cgroup_abs)
{
	struct idmap_entry *w;

	/* whole: the kernel's copy stops at 255 bytes */
	if (json_is_string(json_object_get(source, "sub")))
		return strdup(json_string_value(json_object_get(source, "sub")));
	/* after a restart only the kernel's copy is left: refused where it may be cut short (two
	 * long subjects must not mint the same sub); the next attestation brings the claims back */
	if (q->ident.sub[0])
		return strlen(q->ident.sub) < sizeof(q->ident.sub) - 1 ? strdup(q->ident.sub) : NULL;
	w = idmap_get(&a->workloads, q->cgroup_id);
	if (w && w->str) {
		json_t *j = json_loads(w->str, 0, NULL);
		const char *kind = json_object_get(j, "pod") ? "pod" : "container";
		json_t *v = json_object_get(j, kind);
		char *s = json_is_string(v) ? strdup_printf("mcpfence:%s:%s:%s", q->policy, kind, json_string_value(v)) : NULL;

		json_decref(j);
		if (s)
			return s;
	}
	return strdup_printf("mcpfence:%s:cgroup:%s", q->policy, cgroup_path_display(a->mount, cgroup_abs));
}

/* The claims of the minted token: never the source token, only what the policy lists. */
static json_t *claims_of(struct agent *a, struct credential_request *q, const struct policy_credential *pc,
			 json_t *source, const char *sub, int64_t now)
{
	json_t *picked = json_object();
	uint8_t rnd[16];
	_cleanup_free_ char *jti = NULL;
	json_t *claims;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1 || !(jti = b64url_encode(rnd, sizeof(rnd))) || !picked) {
		json_decref(picked);
		return NULL;
	}
	snprintf(q->jti, sizeof(q->jti), "%s", jti);
	for (size_t i = 0; source && i < pc->nclaims; i++) {
		json_t *v = json_object_get(source, pc->claims[i]);

		if (v)
			json_object_set(picked, pc->claims[i], v);
	}
	claims = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:{s:s}, s:s}", "iss", a->creds->issuer.url,
			   "aud", q->audience, "sub", sub, "iat", (json_int_t)now, "nbf", (json_int_t)now,
			   "exp", (json_int_t)q->exp, "jti", q->jti, "act", "sub", a->creds->node,
			   "mcpfence_policy", q->policy);
	if (claims && json_object_size(picked))
		json_object_set(claims, "src", picked);
	if (claims && q->ident.iss[0])
		json_object_set_new(claims, "src_iss", json_string(q->ident.iss));
	json_decref(picked);
	return claims;
}

/* The binding's expiry in Unix seconds (0: none). */
static int64_t binding_exp_unix(const struct mcpf_binding *b)
{
	int64_t now = (int64_t)(now_ns(CLOCK_REALTIME) / 1000000000ULL);
	uint64_t boot = now_ns(CLOCK_BOOTTIME);

	if (!b->expires_ns)
		return 0;
	return b->expires_ns <= boot ? now : now + (int64_t)((b->expires_ns - boot) / 1000000000ULL);
}

/* The caller's binding, its policy's name and its identity into q; -1 when it has none. */
static int request_binding(struct agent *a, struct credential_request *q, const char *cgroup_abs)
{
	const struct loaded_policy *lp;

	if (binding_nearest(a, cgroup_abs, &q->cgroup_id, &q->b) < 0)
		return -1;
	lp = agent_policy_by_slot(a, q->b.slot);
	q->policy = lp ? lp->name : NULL;
	if (q->b.identity_id)
		fence_identity_get(a->f, q->b.identity_id, &q->ident);
	return 0;
}

/* The source token's claims, whole, as the attestation left them (NULL for operator bindings
 * and after a restart). */
static json_t *source_claims(struct agent *a, const struct credential_request *q)
{
	struct idmap_entry *src = q->b.identity_id ? idmap_get(&a->creds->source, q->b.identity_id) : NULL;

	return src && src->str ? json_loads(src->str, 0, NULL) : NULL;
}

/* Which of the refusals applies, or CRED_OK with q filled for minting. */
static int credential_check(struct agent *a, struct credential_request *q, const char *cgroup_abs,
			    const struct policy_credential **ret, int64_t now)
{
	const struct policy *p;
	int64_t bexp;

	if (request_binding(a, q, cgroup_abs) < 0) {
		snprintf(q->detail, sizeof(q->detail), "cgroup %s is not bound",
			 cgroup_path_display(a->mount, cgroup_abs));
		return CRED_NOT_BOUND;
	}
	if (!rate_ok(a->creds, q->cgroup_id))
		return CRED_RATE_LIMITED;
	if (fence_binding_is_hold(&q->b))
		return CRED_HELD;
	p = q->policy ? policy_set_find(&a->policies, q->policy) : NULL;
	if (!p)
		return CRED_INTERNAL;
	*ret = policy_credential_find(p, q->audience);
	if (!*ret) {
		snprintf(q->detail, sizeof(q->detail), "policy %s grants no credential for this audience", p->name);
		return CRED_AUDIENCE_NOT_GRANTED;
	}
	if (q->lifetime_s > (*ret)->lifetime_s) {
		snprintf(q->detail, sizeof(q->detail), "at most %llds for this audience",
			 (long long)(*ret)->lifetime_s);
		return CRED_LIFETIME_OVER_CAP;
	}
	bexp = binding_exp_unix(&q->b);
	if (bexp && bexp < now + CREDENTIAL_EXPIRING_S)
		return CRED_BINDING_EXPIRING;
	q->exp = now + (q->lifetime_s ? q->lifetime_s : (*ret)->lifetime_s);
	if (bexp && bexp < q->exp) /* the source token's expiry: the binding's */
		q->exp = bexp;
	return CRED_OK;
}

static json_t *reply_refused(int result, const char *detail)
{
	return json_pack("{s:b, s:s, s:s}", "ok", 0, "error", result_names[result], "detail",
			 detail && *detail ? detail : result_names[result]);
}

/* out += "&name=value", value form-escaped unless it is already (a JWT is base64url). */
static int form_add(CURL *c, char **out, const char *name, const char *value, bool escape)
{
	char *v = escape ? curl_easy_escape(c, value, 0) : (char *)value;
	char *next = v ? strdup_printf("%s%s%s=%s", *out ? *out : "", *out ? "&" : "", name, v) : NULL;

	if (escape)
		curl_free(v);
	free(*out);
	*out = next;
	return next ? 0 : -ENOMEM;
}

/* The form body of an exchange: the minted token as the subject (RFC 8693) or as the client's
 * assertion (RFC 7523), with the configured audience and scope. */
static char *exchange_form(const struct policy_credential *pc, const char *token)
{
	CURL *c = curl_easy_init();
	char *out = NULL;
	int r;

	if (!c)
		return NULL;
	if (pc->form == EXCHANGE_CLIENT_ASSERTION) {
		r = form_add(c, &out, "grant_type", "client_credentials", false);
		if (r == 0)
			r = form_add(c, &out, "client_assertion_type",
				     "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", true);
		if (r == 0)
			r = form_add(c, &out, "client_id", pc->client_id, true);
		if (r == 0)
			r = form_add(c, &out, "client_assertion", token, false);
	} else {
		r = form_add(c, &out, "grant_type", "urn:ietf:params:oauth:grant-type:token-exchange", true);
		if (r == 0)
			r = form_add(c, &out, "subject_token_type", "urn:ietf:params:oauth:token-type:jwt", true);
		if (r == 0)
			r = form_add(c, &out, "requested_token_type", "urn:ietf:params:oauth:token-type:access_token",
				     true);
		if (r == 0)
			r = form_add(c, &out, "subject_token", token, false);
		if (r == 0 && pc->exchange_audience)
			r = form_add(c, &out, "audience", pc->exchange_audience, true);
	}
	if (r == 0 && pc->scope)
		r = form_add(c, &out, "scope", pc->scope, true);
	curl_easy_cleanup(c);
	if (r < 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* What the token endpoint said, as the workload's reply: only its access token, or its
 * OAuth error code. */
static json_t *exchange_reply(struct agent *a, struct credential_request *q, struct exchange_result *x)
{
	struct token_answer ans;
	int64_t now = (int64_t)(now_ns(CLOCK_REALTIME) / 1000000000ULL);
	json_t *reply;

	token_answer_parse(x->body, x->body ? strlen(x->body) : 0, &ans);
	if (x->r == 0 && ans.access_token) {
		q->exp = now + ans.expires_in;
		emit_credential(a, q, CRED_OK);
		reply = json_pack("{s:b, s:s, s:s, s:s, s:I, s:I, s:s, s:b}", "ok", 1, "token", ans.access_token,
				  "token_type", ans.token_type, "audience", q->audience, "exp", (json_int_t)q->exp,
				  "expires_in", (json_int_t)ans.expires_in, "policy", q->policy, "exchanged", 1);
	} else {
		/* an OAuth error reaches the workload by its code; anything else is exchange_failed */
		const char *why = ans.error ? (ans.error_description ?: ans.error)
			      : x->error[0]  ? x->error
					     : "the token endpoint's reply has no usable access_token";

		snprintf(q->detail, sizeof(q->detail), "%s%.200s", ans.error ? "token endpoint: " : "", why);
		q->oauth_error = ans.error;
		emit_credential(a, q, CRED_EXCHANGE_FAILED);
		reply = json_pack("{s:b, s:s, s:s}", "ok", 0, "error", ans.error ?: "exchange_failed", "detail", q->detail);
	}
	token_answer_clear(&ans);
	free(x->body);
	return reply;
}

json_t *credentials_op_token(struct agent *a, const struct op_caller *c, json_t *req, bool *wait)
{
	struct credential_request q = {};
	const struct policy_credential *pc = NULL;
	int64_t now = (int64_t)(now_ns(CLOCK_REALTIME) / 1000000000ULL);
	struct token_ask ask;
	json_t *claims, *reply = NULL;
	_cleanup_free_ char *sub = NULL, *token = NULL;
	struct exchange_result x = {};
	struct attest_peer peer;
	int r;

	if (!a->creds)
		return json_pack("{s:b, s:s, s:s}", "ok", 0, "error", "no_issuer", "detail",
				 "this agent mints no credentials (no issuer section in its configuration)");
	r = exchange_take(a, c->serial, &x);
	if (r == 0) { /* its exchange is still on the worker */
		*wait = true;
		return NULL;
	}
	if (attest_peer_get(c->fd, a->mount, &peer) < 0) {
		free(x.body);
		snprintf(q.detail, sizeof(q.detail), "cannot identify the caller");
		emit_credential(a, &q, CRED_INTERNAL);
		return reply_refused(CRED_INTERNAL, q.detail);
	}
	q.peer = &peer;
	if (token_ask_parse(req, &ask, q.detail, sizeof(q.detail)) < 0) {
		r = CRED_MALFORMED;
	} else if (r == 1) { /* the exchange came back: its binding is looked up again for the event */
		q.audience = ask.audience;
		q.lifetime_s = ask.lifetime_s;
		request_binding(a, &q, peer.cgroup_abs);
		reply = exchange_reply(a, &q, &x);
		attest_peer_clear(&peer);
		return reply;
	} else {
		q.audience = ask.audience;
		q.lifetime_s = ask.lifetime_s;
		r = credential_check(a, &q, peer.cgroup_abs, &pc, now);
	}
	if (r == CRED_OK && attest_peer_still_same(&peer) < 0) {
		snprintf(q.detail, sizeof(q.detail), "the caller exited or changed while asking");
		r = CRED_INTERNAL;
	}
	if (r == CRED_OK) {
		json_t *source = source_claims(a, &q);

		sub = subject_of(a, &q, source, peer.cgroup_abs);
		claims = sub ? claims_of(a, &q, pc, source, sub, now) : NULL;
		if (!claims || issuer_sign(&a->creds->issuer, now, claims, &token) < 0)
			r = CRED_INTERNAL;
		json_decref(claims);
		json_decref(source);
	}
	if (r == CRED_OK && pc->form != EXCHANGE_NONE) {
		/* the minted token goes to the token endpoint, never to the workload */
		char *form = exchange_form(pc, token);

		if (form && exchange_submit(a, c->serial, pc->token_endpoint, pc->ca_file, form) == 0) {
			attest_peer_clear(&peer);
			*wait = true;
			return NULL;
		}
		r = CRED_INTERNAL;
	}
	emit_credential(a, &q, r);
	if (r == CRED_OK)
		reply = json_pack("{s:b, s:s, s:s, s:s, s:I, s:I, s:s}", "ok", 1, "token", token,
				  "token_type", "urn:ietf:params:oauth:token-type:jwt", "audience", q.audience,
				  "exp", (json_int_t)q.exp, "expires_in", (json_int_t)(q.exp - now), "policy",
				  q.policy);
	attest_peer_clear(&peer);
	return reply ? reply : reply_refused(r, q.detail);
}
