// SPDX-License-Identifier: MIT
/*
 * The socket ops, dispatched through a table. The control socket (0600) serves every op to
 * root callers outside the guarded root; the attestation socket (0666) serves ping and attest
 * to anyone. A caller inside a guarded cgroup never controls the agent, whatever its uid: a
 * confined root workload that reaches the socket still cannot rebind, unbind or reload.
 */
#include "agent_state.h"

#include <time.h>

#include "attest.h"
#include "cgroup.h"
#include "events.h"
#include "identity.h"
#include "podcgroup.h"
#include "verify_error.h"

bool agent_pid_guarded(struct agent *a, pid_t pid)
{
	_cleanup_free_ char *abs = NULL;
	int r = pid > 0 ? cgroup_of_pid(a->mount, pid, &abs) : -ESRCH;

	if (r == -EXDEV)
		return false; /* outside what our mount shows, so outside the root it holds */
	if (r < 0)
		return true; /* cannot tell: treat it as confined */
	return cgroup_is_under(a->root_abs, abs);
}

/* What a confined workload must not reach: `run` makes these paths inaccessible. */
static json_t *protected_paths(struct agent *a)
{
	json_t *l = json_array();

	json_array_append_new(l, json_string(a->cfg.file));
	json_array_append_new(l, json_string(a->cfg.bpffs));
	json_array_append_new(l, json_string(a->cfg.socket));
	for (size_t i = 0; i < a->cfg.npolicies; i++)
		json_array_append_new(l, json_string(a->cfg.policies[i]));
	if (a->cfg.events_file)
		json_array_append_new(l, json_string(a->cfg.events_file));
	if (a->cfg.issuer_url) /* the signing keys: whoever reads them mints for anyone */
		json_array_append_new(l, json_string(a->cfg.issuer_keys));
	if (a->cfg.metrics_listen && !a->cfg.metrics_tcp.family) /* a Unix socket: its path */
		json_array_append_new(l, json_string(a->cfg.metrics_listen));
	for (size_t i = 0; i < a->trust.n; i++) {
		if (a->trust.issuers[i].jwks_file)
			json_array_append_new(l, json_string(a->trust.issuers[i].jwks_file));
	}
	return l;
}

static json_t *op_ping(struct agent *a, const struct op_caller *c, json_t *req, bool *wait_keys)
{
	json_t *reply = json_pack("{s:b, s:i, s:I, s:s, s:s, s:s}", "ok", 1, "pid", (int)getpid(),
				  "policies", (json_int_t)a->nloaded, "cgroup_root", a->root_abs,
				  "cgroup_root_path", cgroup_path_display(a->mount, a->root_abs), "bpffs",
				  a->cfg.bpffs);

	if (reply && !c->attest_socket) {
		json_object_set_new(reply, "attest_socket",
				    a->trust.n || a->creds ? json_string(a->cfg.attest_socket) : json_null());
		json_object_set_new(reply, "protected_paths", protected_paths(a));
		json_object_set_new(reply, "issuer", credentials_keys(a));
	}
	return reply;
}

/*
 * A binding from a less trusted source never sits below one from a more trusted source: no
 * attestation below the operator's binding, nor below another identity's. Otherwise the nearest
 * binding would win, and a workload could trade its allowlist for any token it holds.
 */
static int attest_check_ancestors(struct agent *a, const char *cgroup_abs,
				  const struct token *tok, char *detail, size_t len)
{
	_cleanup_free_ char *p = strdup(cgroup_abs);
	char *slash;

	if (!p)
		return VERIFY_INTERNAL;
	while ((slash = strrchr(p, '/')) && slash > p) {
		struct mcpf_binding b;
		struct mcpf_identity id;
		uint64_t cg;

		*slash = '\0';
		if (!cgroup_is_under(a->root_abs, p))
			break;
		if (cgroup_id_from_path(p, &cg) < 0 || fence_binding_get(a->f, cg, &b) < 0 ||
		    fence_binding_is_hold(&b))
			continue; /* a hold waits for exactly this */
		if (!b.identity_id) {
			snprintf(detail, len, "cgroup %s lies below %s, which the operator bound; "
				 "attestation cannot replace the operator's policy",
				 cgroup_path_display(a->mount, cgroup_abs), cgroup_path_display(a->mount, p));
			return VERIFY_ALREADY_BOUND;
		}
		if (fence_identity_get(a->f, b.identity_id, &id) < 0 || strcmp(id.iss, tok->iss) ||
		    strcmp(id.sub, tok->sub)) {
			snprintf(detail, len, "cgroup %s lies below %s, bound to another identity",
				 cgroup_path_display(a->mount, cgroup_abs), cgroup_path_display(a->mount, p));
			return VERIFY_ALREADY_BOUND;
		}
	}
	return VERIFY_OK;
}

static json_t *reply_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *reply_error(const char *fmt, ...)
{
	va_list ap;
	char buf[1024];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return json_pack("{s:b, s:s}", "ok", 0, "error", buf);
}

/* A bind's "workload": what its events name (a container, a pod), a few short strings. */
#define WORKLOAD_MAX_FIELDS 8
#define WORKLOAD_MAX_LEN 256
static bool workload_ok(json_t *w)
{
	const char *k;
	json_t *v;

	if (!json_is_object(w) || json_object_size(w) > WORKLOAD_MAX_FIELDS)
		return false;
	json_object_foreach(w, k, v)
		if (!json_is_string(v) || json_string_length(v) > WORKLOAD_MAX_LEN || strlen(k) > WORKLOAD_MAX_LEN)
			return false;
	return true;
}

/*
 * What a bind request names: a policy by its name (the operator), or, with "pod_namespace", a
 * pod's annotation, scoped to its namespace; that one never fails: a name that does not
 * resolve holds the pod, and *held_why says why.
 */
static int bind_policy(struct agent *a, json_t *req, const struct loaded_policy **ret, char *held_why, size_t len)
{
	const char *policy = json_string_value(json_object_get(req, "policy"));
	json_t *pod_ns = json_object_get(req, "pod_namespace");
	const char *ns = json_string_value(pod_ns);

	*ret = NULL;
	if (pod_ns && !json_is_string(pod_ns))
		return -EINVAL;
	if (ns && !*ns)
		ns = NULL; /* a pod whose runtime did not say */
	if (policy && pod_ns)
		*ret = agent_policy_for_pod(a, ns, policy, held_why, len);
	else if (policy && !(*ret = agent_policy_by_name(a, policy)))
		return -ENOENT;
	return 0;
}

static json_t *op_bind(struct agent *a, const struct op_caller *c, json_t *req, bool *wait_keys)
{
	const char *path = json_string_value(json_object_get(req, "cgroup"));
	const char *policy = json_string_value(json_object_get(req, "policy"));
	bool hold = json_is_true(json_object_get(req, "hold"));
	bool keep_attested = json_is_true(json_object_get(req, "keep_attested"));
	json_t *workload = json_object_get(req, "workload");
	const struct loaded_policy *lp = NULL;
	_cleanup_free_ char *abs = NULL;
	char held_why[512] = "";
	struct mcpf_binding b;
	const char *why;
	uint64_t id;
	int r;

	if (!path || !policy == !hold)
		return reply_error("bind needs \"cgroup\" and either \"policy\" or \"hold\": true");
	if (workload && !workload_ok(workload))
		return reply_error("bind: \"workload\" must be an object of at most %d strings of at most %d bytes",
				   WORKLOAD_MAX_FIELDS, WORKLOAD_MAX_LEN);
	r = bind_policy(a, req, &lp, held_why, sizeof(held_why));
	if (r == -EINVAL)
		return reply_error("bind: \"pod_namespace\" must be a string");
	if (r < 0)
		return reply_error("no policy named \"%s\"", policy);
	if (agent_resolve_cgroup(a, path, &abs, &why) < 0)
		return reply_error("cgroup \"%s\" %s", path, why);
	r = cgroup_id_from_path(abs, &id);
	if (r < 0)
		return reply_error("cgroup \"%s\": %s", path, strerror(-r));
	if (workload)
		agent_workload_set(a, id, json_incref(workload));
	if (keep_attested) { /* a selector (the OCI hook): what an attestation established stays */
		r = agent_bind_selected(a, "OCI hook", abs, id, lp, held_why[0] ? held_why : NULL);
	} else {
		b = agent_binding_of(lp);
		r = fence_binding_put(a->f, id, &b);
		if (r == 0)
			agent_emit_policy(a, lp ? "bind" : "hold", lp ? lp->name : NULL, NULL,
					  cgroup_path_display(a->mount, abs), id);
		if (r == 0 && lp)
			audit_binding_seen(a, lp->name, id, cgroup_path_display(a->mount, abs), "operator", NULL);
	}
	if (r < 0)
		return reply_error("binding cgroup \"%s\": %s", path, strerror(-r));
	return json_pack("{s:b, s:I, s:s, s:s?, s:s?}", "ok", 1, "cgroup_id", (json_int_t)id, "cgroup",
			 cgroup_path_display(a->mount, abs), "policy", lp ? lp->name : NULL, "held", held_why[0] ? held_why : NULL);
}

static json_t *op_unbind(struct agent *a, const struct op_caller *c, json_t *req, bool *wait_keys)
{
	const char *path = json_string_value(json_object_get(req, "cgroup"));
	_cleanup_free_ char *abs = NULL;
	struct mcpf_binding old;
	const char *why;
	uint64_t id;
	int r;

	/* by id: `run` unbinds after its cgroup is gone, when no path names it any more */
	if (json_is_integer(json_object_get(req, "cgroup_id"))) {
		id = (uint64_t)json_integer_value(json_object_get(req, "cgroup_id"));
	} else if (!path) {
		return reply_error("unbind needs \"cgroup\" or \"cgroup_id\"");
	} else {
		if (agent_resolve_cgroup(a, path, &abs, &why) < 0)
			return reply_error("cgroup \"%s\" %s", path, why);
		r = cgroup_id_from_path(abs, &id);
		if (r < 0)
			return reply_error("cgroup \"%s\": %s", path, strerror(-r));
	}
	agent_flush_suppressed(a); /* its rate-limit entry goes with the binding */
	if (fence_binding_get(a->f, id, &old) < 0)
		old.identity_id = 0;
	r = fence_binding_del(a->f, id);
	if (r < 0)
		return reply_error("unbinding cgroup %llu: %s", (unsigned long long)id, strerror(-r));
	agent_binding_forget(a, id, old.identity_id);
	fence_ratelimit_del(a->f, id);
	agent_emit_policy(a, "unbind", NULL, NULL, abs ? cgroup_path_display(a->mount, abs) : NULL, id);
	return json_pack("{s:b}", "ok", 1);
}

static uint64_t boot_ns_of_unix(int64_t unix_s)
{
	int64_t now_real = (int64_t)(now_ns(CLOCK_REALTIME) / 1000000000ULL);
	uint64_t boot = now_ns(CLOCK_BOOTTIME);

	if (unix_s <= now_real)
		return boot ? boot : 1; /* already past: expired from now on */
	return boot + (uint64_t)(unix_s - now_real) * 1000000000ULL;
}

static void emit_attest_event(struct agent *a, const struct attest_peer *peer, int result,
			      const char *detail, const char *policy, const struct token *tok,
			      uint64_t expires_boot)
{
	json_t *ev = event_new("attest");

	if (result >= 0 && result < VERIFY_ERROR_MAX)
		a->stats.attest[result]++;
	if (!ev)
		return;
	json_object_set_new(ev, "result", json_string(result == VERIFY_OK ? "ok" : "rejected"));
	json_object_set_new(ev, "reason", result == VERIFY_OK ? json_null() : json_string(verify_error_name(result)));
	if (detail && *detail)
		json_object_set_new(ev, "detail", json_string(detail));
	if (peer) {
		json_object_set_new(ev, "pid", json_integer(peer->pid));
		json_object_set_new(ev, "uid", json_integer(peer->uid));
		if (peer->cgroup_abs)
			json_object_set_new(ev, "cgroup", json_string(cgroup_path_display(a->mount, peer->cgroup_abs)));
	}
	if (policy)
		json_object_set_new(ev, "policy", json_string(policy));
	if (tok && tok->iss && tok->sub) /* only once verified: never claims of a forged token */
		json_object_set_new(ev, "identity", json_pack("{s:s, s:s}", "iss", tok->iss, "sub", tok->sub));
	if (expires_boot) {
		char ts[48];

		event_format_time(expires_boot, ts, sizeof(ts));
		json_object_set_new(ev, "expires", json_string(ts));
	}
	agent_emit(a, ev);
}

static json_t *attest_reply_error(int r, const char *detail)
{
	return json_pack("{s:b, s:s, s:s, s:s}", "ok", 0, "error", verify_error_name(r), "message",
			 verify_error_text(r), "detail", detail ? detail : "");
}

/*
 * The cgroup an attestation binds: the caller's own, or for a Kubernetes token the caller's
 * pod (every container of the pod, so that a sidecar's renewal covers the server), whose uid
 * must be the token's kubernetes.io.pod.uid.
 */
/*
 * The caller's pod namespace, for the policies' scope: a Kubernetes token's own (its pod is
 * checked to be the caller's), else what the pod feed or the OCI hook recorded for the pod
 * cgroup above the caller; NULL when the caller is no pod or nobody said.
 */
static const char *attest_namespace(struct agent *a, const struct attest_peer *peer, const struct token *tok,
				    char *buf, size_t len)
{
	const char *ns = token_pod_namespace(tok);
	char uid[POD_UID_LEN + 1];
	struct idmap_entry *w;
	_cleanup_free_ char *pod = NULL;
	uint64_t id;
	json_t *j;
	int plen;

	if (ns)
		return ns;
	plen = pod_cgroup_find(a->root_abs, peer->cgroup_abs, uid);
	if (plen <= 0 || !(pod = strndup(peer->cgroup_abs, (size_t)plen)) || cgroup_id_from_path(pod, &id) < 0 ||
	    !(w = idmap_get(&a->workloads, id)) || !w->str)
		return NULL;
	j = json_loads(w->str, 0, NULL);
	ns = json_string_value(json_object_get(j, "pod")); /* "NAMESPACE/NAME" */
	if (ns && strchr(ns, '/'))
		snprintf(buf, len, "%.*s", (int)(strchr(ns, '/') - ns), ns);
	json_decref(j);
	return ns && strchr(ns, '/') ? buf : NULL;
}

static int attest_target(struct agent *a, const struct attest_peer *peer, const struct token *tok,
			 char **ret, char *detail, size_t len)
{
	const char *claim = json_string_value(claim_lookup(tok->jws.payload, "kubernetes.io.pod.uid"));
	char uid[POD_UID_LEN + 1];
	int plen;

	if (!claim && !tok->issuer->kubernetes) {
		*ret = strdup(peer->cgroup_abs);
		return *ret ? VERIFY_OK : VERIFY_INTERNAL;
	}
	plen = pod_cgroup_find(a->root_abs, peer->cgroup_abs, uid);
	if (plen < 0 || !claim || strcmp(claim, uid)) {
		snprintf(detail, len, "token pod %.64s is not the pod of cgroup %s%s", claim ?: "(none)",
			 cgroup_path_display(a->mount, peer->cgroup_abs),
			 plen < 0 ? " (no kubelet-shaped pod cgroup below the root)" : "");
		return VERIFY_POD_MISMATCH;
	}
	*ret = strndup(peer->cgroup_abs, (size_t)plen);
	return *ret ? VERIFY_OK : VERIFY_INTERNAL;
}

/*
 * Bind (or renew) the target cgroup to lp for the token's identity until its expiry. A renewal
 * keeps the policy and identity; anything else over an existing binding needs the operator.
 */
static int attest_bind(struct agent *a, const struct attest_peer *peer, const struct token *tok,
		       const struct loaded_policy *lp, const char *target, uint64_t cg_id,
		       struct mcpf_binding *b, char *detail, size_t len)
{
	struct mcpf_identity ident = {}, prev;
	struct mcpf_binding old;
	int r;

	snprintf(ident.iss, sizeof(ident.iss), "%s", tok->iss);
	snprintf(ident.sub, sizeof(ident.sub), "%s", tok->sub);
	*b = agent_binding_of(lp);
	b->expires_ns = boot_ns_of_unix(tok->exp);
	if (fence_binding_get(a->f, cg_id, &old) == 0 && !fence_binding_is_hold(&old)) {
		if (!old.identity_id || fence_identity_get(a->f, old.identity_id, &prev) < 0 ||
		    old.policy_id != b->policy_id || strcmp(prev.iss, ident.iss) || strcmp(prev.sub, ident.sub)) {
			snprintf(detail, len, "cgroup %s is already bound %s; unbind it first",
				 cgroup_path_display(a->mount, target),
				 old.identity_id ? "to another identity or policy" : "by the operator");
			return VERIFY_ALREADY_BOUND;
		}
		b->identity_id = old.identity_id;
	} else {
		b->identity_id = a->next_identity++;
	}
	if (attest_peer_still_same(peer) < 0) {
		snprintf(detail, len, "the caller exited or changed while attesting");
		return VERIFY_INTERNAL;
	}
	if ((r = fence_identity_put(a->f, b->identity_id, &ident)) < 0 ||
	    (r = fence_binding_put(a->f, cg_id, b)) < 0) {
		snprintf(detail, len, "writing the binding: %s", strerror(-r));
		return VERIFY_INTERNAL;
	}
	return VERIFY_OK;
}

/* What an attestation that bound answers; the claims matched are kept for its events. */
static json_t *attest_reply_ok(struct agent *a, const char *policy, const char *target, uint64_t cg_id,
			       const struct token *tok, const struct mcpf_binding *b, json_t *matched)
{
	struct idmap_entry *ic = idmap_put(&a->identity_claims, b->identity_id);
	char ts[48];

	if (ic) {
		free(ic->str);
		ic->str = json_dumps(matched, JSON_COMPACT);
	}
	event_format_time(b->expires_ns, ts, sizeof(ts));
	audit_binding_seen(a, policy, cg_id, cgroup_path_display(a->mount, target), "token", matched);
	return json_pack("{s:b, s:s, s:s, s:s, s:I, s:o, s:O}", "ok", 1, "policy", policy, "cgroup",
			 cgroup_path_display(a->mount, target), "expires", ts, "exp", (json_int_t)tok->exp,
			 "identity", json_pack("{s:s, s:s}", "iss", tok->iss, "sub", tok->sub), "matched",
			 matched);
}

/*
 * A token, from a caller whose cgroup the kernel tells us: verify, pick exactly one policy,
 * check the pod, then bind (or renew) with the token's expiry, which the kernel enforces.
 */
static json_t *op_attest(struct agent *a, const struct op_caller *c, json_t *req, bool *wait_keys)
{
	const char *token = json_string_value(json_object_get(req, "token"));
	struct attest_peer peer;
	struct token tok = {};
	const struct policy *pol = NULL;
	const struct loaded_policy *lp;
	json_t *matched = NULL, *reply;
	struct mcpf_binding b = {};
	char detail[512] = "", ns[64];
	_cleanup_free_ char *target = NULL;
	uint64_t cg_id = 0;
	int r;

	r = attest_peer_get(c->fd, a->mount, &peer);
	if (r < 0) {
		snprintf(detail, sizeof(detail), "cannot identify the caller: %s", strerror(-r));
		emit_attest_event(a, NULL, VERIFY_INTERNAL, detail, NULL, NULL, 0);
		attest_peer_clear(&peer);
		return attest_reply_error(VERIFY_INTERNAL, detail);
	}
	if (!cgroup_is_under(a->root_abs, peer.cgroup_abs) || !strcmp(peer.cgroup_abs, a->root_abs)) {
		snprintf(detail, sizeof(detail), "the caller's cgroup %s is not below the root %s",
			 cgroup_path_display(a->mount, peer.cgroup_abs), cgroup_path_display(a->mount, a->root_abs));
		r = VERIFY_NOT_GUARDED;
		goto reject;
	}
	if (!token) {
		snprintf(detail, sizeof(detail), "the request has no \"token\"");
		r = VERIFY_MALFORMED;
		goto reject;
	}
	r = token_verify(&a->trust, token, strlen(token), (int64_t)(now_ns(CLOCK_REALTIME) / 1000000000ULL),
			 &tok, detail, sizeof(detail));
	if (r == VERIFY_KEYS_PENDING) {
		/* the keys are being fetched on the worker: the client waits, the loop does not */
		*wait_keys = true;
		attest_peer_clear(&peer);
		return NULL;
	}
	if (r)
		goto reject;
	r = identity_select(&a->policies, &tok, attest_namespace(a, &peer, &tok, ns, sizeof(ns)), &pol, &matched,
			    detail, sizeof(detail));
	if (r)
		goto reject;
	r = attest_target(a, &peer, &tok, &target, detail, sizeof(detail));
	if (r)
		goto reject;
	lp = agent_policy_by_name(a, pol->name);
	if (!lp || cgroup_id_from_path(target, &cg_id) < 0) {
		r = VERIFY_INTERNAL;
		goto reject;
	}
	r = attest_check_ancestors(a, target, &tok, detail, sizeof(detail));
	if (r)
		goto reject;
	r = attest_bind(a, &peer, &tok, lp, target, cg_id, &b, detail, sizeof(detail));
	if (r)
		goto reject;
	credentials_remember(a, b.identity_id, tok.jws.payload);
	emit_attest_event(a, &peer, VERIFY_OK, NULL, pol->name, &tok, b.expires_ns);
	reply = attest_reply_ok(a, pol->name, target, cg_id, &tok, &b, matched);
	json_decref(matched);
	token_clear(&tok);
	attest_peer_clear(&peer);
	return reply;
reject:
	/* the cgroup keeps whatever it had: unbound stays on the unbound action */
	emit_attest_event(a, &peer, r, detail, pol ? pol->name : NULL, NULL, 0);
	json_decref(matched);
	token_clear(&tok);
	attest_peer_clear(&peer);
	return attest_reply_error(r, detail);
}

static json_t *op_reload(struct agent *a, const struct op_caller *c, json_t *req, bool *wait_keys)
{
	struct diag errs = {};
	json_t *reply, *list;
	int r = agent_reload(a, &errs);

	if (r == 0) {
		diag_clear(&errs);
		return json_pack("{s:b, s:I}", "ok", 1, "policies", (json_int_t)a->nloaded);
	}
	list = json_array();
	for (size_t i = 0; i < errs.n; i++)
		json_array_append_new(list, json_string(errs.msgs[i]));
	reply = json_pack("{s:b, s:s, s:o}", "ok", 0, "error", errs.n ? errs.msgs[0] : strerror(-r),
			  "errors", list);
	agent_log_diag(&errs);
	diag_clear(&errs);
	return reply;
}


/* Subscribe: the connection stays open and carries every event line (clients.c). */
static json_t *op_events(struct agent *a, const struct op_caller *c, json_t *req, bool *wait_keys)
{
	return json_pack("{s:b, s:b}", "ok", 1, "subscribed", 1);
}

#define OP_ATTEST_SOCKET (1u << 0) /* served on the world-writable attestation socket too */
#define OP_CONTROL (1u << 1)	   /* root, from outside the guarded root */

/* A credential for one downstream audience (credentials.c): who asks is the kernel's word. */
static json_t *op_token(struct agent *a, const struct op_caller *c, json_t *req, bool *wait_keys)
{
	return credentials_op_token(a, c, req, wait_keys);
}

/* A scope audit: every loaded policy's rules with their last use, and who was bound to it
 * since `since` (Unix seconds; default: the history's whole window). */
static json_t *op_audit(struct agent *a, const struct op_caller *c, json_t *req, bool *wait_keys)
{
	json_t *since = json_object_get(req, "since"), *policy = json_object_get(req, "policy"), *reply;

	(void)c, (void)wait_keys;
	if ((since && !json_is_integer(since)) || (policy && !json_is_string(policy) && !json_is_null(policy)))
		return reply_error("audit: \"since\" is Unix seconds, \"policy\" a name");
	reply = audit_report(a, since ? json_integer_value(since) : 0, json_string_value(policy));
	return reply ? reply : reply_error("no policy named \"%s\" is loaded", json_string_value(policy));
}

static const struct op {
	const char *name;
	json_t *(*fn)(struct agent *a, const struct op_caller *c, json_t *req, bool *wait_keys);
	unsigned flags;
} ops[] = {
	{ "ping", op_ping, OP_ATTEST_SOCKET },
	{ "attest", op_attest, OP_ATTEST_SOCKET },
	{ "token", op_token, OP_ATTEST_SOCKET },
	{ "bind", op_bind, OP_CONTROL },
	{ "unbind", op_unbind, OP_CONTROL },
	{ "reload", op_reload, OP_CONTROL },
	{ "events", op_events, OP_CONTROL },
	{ "audit", op_audit, OP_CONTROL },
};

json_t *agent_dispatch(struct agent *a, const struct op_caller *c, json_t *req, bool *wait_keys)
{
	const char *name = json_string_value(json_object_get(req, "op"));

	*wait_keys = false;
	if (!name)
		return reply_error("request has no \"op\"");
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++) {
		const struct op *op = &ops[i];

		if (strcmp(op->name, name))
			continue;
		if (c->attest_socket && !(op->flags & OP_ATTEST_SOCKET))
			break;
		if (op->flags & OP_CONTROL) {
			if (c->uid != 0)
				return reply_error("\"%s\" needs a root peer (uid %u is not)", name, c->uid);
			if (agent_pid_guarded(a, c->pid)) {
				log_warning("Refused \"%s\" from pid %d: it runs in a guarded cgroup", name,
					    (int)c->pid);
				return reply_error("\"%s\" refused: the caller runs in a guarded cgroup "
						   "(confined workloads do not control the agent)", name);
			}
		}
		return op->fn(a, c, req, wait_keys);
	}
	return reply_error("unknown op \"%s\"%s", name, c->attest_socket ? " on the attestation socket" : "");
}
