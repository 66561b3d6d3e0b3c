// SPDX-License-Identifier: MIT
/*
 * Prometheus metrics: the text exposition format (version 0.0.4), served by the agent on the
 * `metrics.listen` socket (clients.c does the I/O). Everything is read at scrape time from the
 * pinned maps and the agent's own counters; label sets are bounded (policies, hooks, verdicts,
 * verification reasons, configured issuers; never a cgroup).
 *
 * Verdicts by policy: each loaded policy gets a row of the kernel's `verdicts` counters, named
 * in its bindings (binding.metric). Rows follow names across reloads and are recovered from the
 * bindings after a restart; a row given to another policy is zeroed first.
 */
#include "agent_state.h"

#include <time.h>

#include "events.h"
#include "verify_error.h"
#include "version.h"

/* --- rows of the verdict counters ------------------------------------------------------- */

static int recover_row(uint64_t cg, const struct mcpf_binding *b, void *ud)
{
	struct agent *a = ud;
	struct mcpf_policy_meta meta;

	(void)cg;
	if (b->metric == MCPF_METRIC_NONE || b->metric == MCPF_METRIC_OTHER || a->metric_rows[b->metric] ||
	    fence_binding_is_hold(b) || fence_meta_get(a->f, b->slot, &meta) < 0)
		return 0;
	meta.name[sizeof(meta.name) - 1] = '\0';
	a->metric_rows[b->metric] = strdup(meta.name);
	return 0;
}

void metrics_rows_recover(struct agent *a)
{
	fence_binding_foreach(a->f, recover_row, a);
}

uint8_t metrics_row_of(struct agent *a, const char *name)
{
	uint32_t free_row = 0;

	for (uint32_t i = 1; i < MCPF_METRIC_OTHER; i++) {
		if (a->metric_rows[i] && !strcmp(a->metric_rows[i], name))
			return (uint8_t)i;
		if (!a->metric_rows[i] && !free_row)
			free_row = i;
	}
	if (!free_row || fence_verdicts_clear_row(a->f, free_row) < 0 || !(a->metric_rows[free_row] = strdup(name)))
		return MCPF_METRIC_OTHER; /* counted with the others, never dropped */
	return (uint8_t)free_row;
}

void metrics_rows_keep(struct agent *a)
{
	for (uint32_t i = 1; i < MCPF_METRIC_OTHER; i++) {
		bool loaded = false;

		for (size_t j = 0; a->metric_rows[i] && j < a->nloaded && !loaded; j++)
			loaded = !strcmp(a->loaded[j].name, a->metric_rows[i]);
		if (!loaded) {
			free(a->metric_rows[i]);
			a->metric_rows[i] = NULL;
		}
	}
}

void metrics_rows_free(struct agent *a)
{
	for (uint32_t i = 0; i < MCPF_METRIC_ROWS; i++) {
		free(a->metric_rows[i]);
		a->metric_rows[i] = NULL;
	}
}

/* --- the exposition ------------------------------------------------------------------- */

struct text {
	char *buf;
	size_t len, cap;
	bool failed;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	char *nb;
	int n;

	if (t->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->buf ? t->buf + t->len : NULL, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->failed = true;
			return;
		}
		if ((size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		t->cap = (t->cap + (size_t)n + 1) * 2;
		nb = realloc(t->buf, t->cap);
		if (!nb) {
			t->failed = true;
			return;
		}
		t->buf = nb;
	}
}

static void family(struct text *t, const char *name, const char *type, const char *help)
{
	put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value: backslash, double quote and newline escaped. */
static void put_label(struct text *t, const char *v)
{
	for (; v && *v; v++) {
		if (*v == '\\' || *v == '"')
			put(t, "\\%c", *v);
		else if (*v == '\n')
			put(t, "\\n");
		else
			put(t, "%c", *v);
	}
}

struct binding_tally {
	uint64_t source[3]; /* operator, identity, hold */
	uint64_t expired;
	uint64_t now;
};

static int tally_binding(uint64_t cg, const struct mcpf_binding *b, void *ud)
{
	struct binding_tally *bt = ud;

	(void)cg;
	bt->source[fence_binding_is_hold(b) ? 2 : b->identity_id ? 1 : 0]++;
	bt->expired += b->expires_ns && bt->now > b->expires_ns;
	return 0;
}

static void put_verdicts(struct agent *a, struct text *t)
{
	static const char *const verdicts[MCPF_VERDICT_KINDS] = { "allow", "deny", "audit" };
	_cleanup_free_ uint64_t *v = calloc(FENCE_VERDICTS, sizeof(*v));

	family(t, "mcpfence_verdicts_total", "counter",
	       "Verdicts of the kernel programs by policy (empty: unbound or held; _other: beyond 254 policies), hook and verdict.");
	if (!v || fence_verdicts_read(a->f, v) < 0)
		return;
	for (uint32_t row = 0; row < MCPF_METRIC_ROWS; row++) {
		const char *name = row == MCPF_METRIC_NONE ? "" : row == MCPF_METRIC_OTHER ? "_other" : a->metric_rows[row];
		uint64_t sum = 0;

		for (uint32_t i = 0; i < MCPF_HOOK_MAX * MCPF_VERDICT_KINDS; i++)
			sum += v[row * MCPF_HOOK_MAX * MCPF_VERDICT_KINDS + i];
		if (!name || (row == MCPF_METRIC_OTHER && !sum))
			continue; /* a row no policy holds; the overflow row until it counts */
		for (uint32_t h = 0; h < MCPF_HOOK_MAX; h++)
			for (uint32_t k = 0; k < MCPF_VERDICT_KINDS; k++) {
				put(t, "mcpfence_verdicts_total{policy=\"");
				put_label(t, name);
				put(t, "\",hook=\"%s\",verdict=\"%s\"} %llu\n", event_hook_name(h), verdicts[k],
				    (unsigned long long)v[(row * MCPF_HOOK_MAX + h) * MCPF_VERDICT_KINDS + k]);
			}
	}
}

/* One series of a rule (pattern NULL: the rule as a whole) of a policy. */
static void put_rule_series(struct text *t, const char *fam, const char *policy, uint32_t rule,
			    const char *pattern, int64_t v)
{
	put(t, "%s{policy=\"", fam);
	put_label(t, policy);
	put(t, "\",rule=\"%u\"", rule);
	if (pattern) {
		put(t, ",pattern=\"");
		put_label(t, pattern);
		put(t, "\"");
	}
	put(t, "} %lld\n", (long long)v);
}

/* Each rule's last use (the latest of its parts), each name pattern's, and when counting began:
 * a rule unused for N days is one whose max(last_used, counted_since) is N days old
 * (docs/operations.md has the alerting rule). */
/* Each entry is read once (a map lookup each), then both families are written from the copy:
 * the exposition format wants a family's series together. */
static void put_rule_use(struct agent *a, struct text *t)
{
	static const char *const fam[2] = { "mcpfence_rule_last_used_timestamp_seconds",
					    "mcpfence_rule_counted_since_timestamp_seconds" };
	_cleanup_free_ int64_t *when = NULL; /* per entry: last, since */
	size_t total = 0, k;

	for (size_t i = 0; i < a->nloaded; i++)
		total += a->loaded[i].rules.n;
	when = calloc(2 * total + 1, sizeof(*when));
	if (!when) {
		t->failed = true;
		return;
	}
	k = 0;
	for (size_t i = 0; i < a->nloaded; i++)
		for (size_t j = 0; j < a->loaded[i].rules.n; j++, k += 2)
			when[k] = audit_last_used(a, &a->loaded[i].rules.v[j], &when[k + 1]);
	for (int f = 0; f < 2; f++) {
		family(t, fam[f], "gauge",
		       f ? "When counting the use of each rule (and name pattern) began: its policy loaded or the rule changed (Unix time)."
			 : "When each rule (and each name pattern of a name rule) last allowed a new flow or datagram destination (Unix time; 0: not since counting began).");
		k = 0;
		for (size_t i = 0; i < a->nloaded; i++) {
			const struct audit_rules *r = &a->loaded[i].rules;

			for (size_t e = 0; e < r->nrules; e++) {
				int64_t best = 0;

				for (size_t j = 0; j < r->n; j++) {
					int64_t v = when[k + 2 * j + (size_t)f];

					if (r->v[j].egress != e)
						continue;
					if (v > best)
						best = v;
					if (r->v[j].pattern)
						put_rule_series(t, fam[f], a->loaded[i].name, (uint32_t)e, r->v[j].pattern, v);
				}
				put_rule_series(t, fam[f], a->loaded[i].name, (uint32_t)e, NULL, best);
			}
			k += 2 * r->n;
		}
	}
}

static void put_kernel_counters(struct agent *a, struct text *t)
{
	static const char *const help[MCPF_CNT_MAX] = {
#define MCPF_COUNTER_HELP(id, name, h) [MCPF_CNT_##id] = h,
		MCPF_COUNTERS(MCPF_COUNTER_HELP)
#undef MCPF_COUNTER_HELP
	};
	uint64_t cnt[MCPF_CNT_MAX] = {};

	if (fence_counters_read(a->f, cnt) < 0)
		return;
	for (int i = 0; i < MCPF_CNT_MAX; i++) {
		char name[64];

		if (!help[i])
			continue; /* a verdict: mcpfence_verdicts_total has it by policy */
		snprintf(name, sizeof(name), "mcpfence_%s_total", fence_counter_name(i));
		family(t, name, "counter", help[i]);
		put(t, "%s %llu\n", name, (unsigned long long)cnt[i]);
	}
}

static void put_maps(struct agent *a, struct text *t)
{
	struct binding_tally bt = { .now = now_ns(CLOCK_BOOTTIME) };
	static const char *const sources[3] = { "operator", "identity", "hold" };
	uint64_t n4 = 0, n6 = 0;

	fence_binding_foreach(a->f, tally_binding, &bt);
	family(t, "mcpfence_bindings", "gauge", "Bound cgroups by source: operator (config, bind, labels), identity (attested), hold.");
	for (int i = 0; i < 3; i++)
		put(t, "mcpfence_bindings{source=\"%s\"} %llu\n", sources[i], (unsigned long long)bt.source[i]);
	family(t, "mcpfence_bindings_expired", "gauge", "Bindings whose identity has expired (denied until renewed or collected).");
	put(t, "mcpfence_bindings_expired %llu\n", (unsigned long long)bt.expired);
	for (size_t i = 0; i < a->nloaded; i++) {
		n4 += a->loaded[i].keys.n4;
		n6 += a->loaded[i].keys.n6;
	}
	family(t, "mcpfence_map_entries", "gauge", "Entries in use in the kernel's maps.");
	put(t, "mcpfence_map_entries{map=\"bindings\"} %llu\n",
	    (unsigned long long)bt.source[0] + bt.source[1] + bt.source[2]);
	put(t, "mcpfence_map_entries{map=\"prefixes_ipv4\"} %llu\n", (unsigned long long)n4);
	put(t, "mcpfence_map_entries{map=\"prefixes_ipv6\"} %llu\n", (unsigned long long)n6);
	put(t, "mcpfence_map_entries{map=\"learned_addresses\"} %zu\n", fence_learned_count(a->f));
	family(t, "mcpfence_map_capacity", "gauge", "Capacity of the kernel's maps (prefixes: all policies and the generation being loaded).");
	put(t, "mcpfence_map_capacity{map=\"bindings\"} %u\n", fence_map_capacity(a->f->fd[FENCE_MAP_BINDINGS]));
	put(t, "mcpfence_map_capacity{map=\"prefixes_ipv4\"} %u\n", fence_map_capacity(a->f->fd[FENCE_MAP_TRIE4]));
	put(t, "mcpfence_map_capacity{map=\"prefixes_ipv6\"} %u\n", fence_map_capacity(a->f->fd[FENCE_MAP_TRIE6]));
	put(t, "mcpfence_map_capacity{map=\"learned_addresses\"} %u\n", fence_map_capacity(a->f->fd[FENCE_MAP_LEARNED]));
}

static void credential_row(void *ud, const char *policy, const char *audience, const char *result, uint64_t n)
{
	struct text *t = ud;

	put(t, "mcpfence_credentials_total{policy=\"");
	put_label(t, policy);
	put(t, "\",audience=\"");
	put_label(t, audience);
	put(t, "\",result=\"%s\"} %llu\n", result, (unsigned long long)n);
}

/* The issuer's requests by policy, audience and result, and its keys' ages (with an issuer). */
static void put_credentials(struct agent *a, struct text *t)
{
	json_t *keys = credentials_keys(a), *k;
	size_t i;

	if (!json_is_object(keys)) {
		json_decref(keys);
		return;
	}
	family(t, "mcpfence_credentials_total", "counter",
	       "Credential requests (the token op) by policy, audience (where the policy grants it) and result.");
	credentials_metrics(a, credential_row, t);
	family(t, "mcpfence_issuer_key_age_seconds", "gauge",
	       "Age of each published signing key, by kid; signing=\"true\" on the one that signs.");
	json_array_foreach(json_object_get(keys, "keys"), i, k)
		put(t, "mcpfence_issuer_key_age_seconds{kid=\"%s\",signing=\"%s\"} %lld\n",
		    json_string_value(json_object_get(k, "kid")),
		    json_is_true(json_object_get(k, "signing")) ? "true" : "false",
		    (long long)json_integer_value(json_object_get(k, "age_s")));
	json_decref(keys);
}

static void put_agent(struct agent *a, struct text *t)
{
	const struct agent_stats *s = &a->stats;
	time_t now = time(NULL);

	family(t, "mcpfence_attestations_total", "counter", "Attestations by result and reason (ok, or why a token was refused).");
	for (int r = 0; r < VERIFY_ERROR_MAX; r++)
		if (s->attest[r] || r == VERIFY_OK)
			put(t, "mcpfence_attestations_total{result=\"%s\",reason=\"%s\"} %llu\n",
			    r == VERIFY_OK ? "ok" : "rejected", r == VERIFY_OK ? "" : verify_error_name(r),
			    (unsigned long long)s->attest[r]);
	family(t, "mcpfence_jwks_fetches_total", "counter",
	       "Key set loads by issuer and outcome (files and HTTPS; since the trust configuration was last loaded).");
	for (size_t i = 0; i < a->trust.n; i++) {
		const struct trust_issuer *is = &a->trust.issuers[i];

		for (int ok = 1; ok >= 0; ok--) {
			put(t, "mcpfence_jwks_fetches_total{issuer=\"");
			put_label(t, is->issuer);
			put(t, "\",outcome=\"%s\"} %u\n", ok ? "success" : "failure", ok ? is->fetches : is->fetch_failures);
		}
	}
	family(t, "mcpfence_jwks_age_seconds", "gauge", "Age of the key set in use, by issuer (absent: no keys yet).");
	for (size_t i = 0; i < a->trust.n; i++) {
		const struct trust_issuer *is = &a->trust.issuers[i];

		if (!is->have_keys || !is->keys_at)
			continue;
		put(t, "mcpfence_jwks_age_seconds{issuer=\"");
		put_label(t, is->issuer);
		put(t, "\"} %lld\n", (long long)(now - is->keys_at));
	}
	family(t, "mcpfence_policies", "gauge", "Policies loaded.");
	put(t, "mcpfence_policies %zu\n", a->nloaded);
	family(t, "mcpfence_reloads_total", "counter", "Reloads (SIGHUP, the reload op) by result.");
	put(t, "mcpfence_reloads_total{result=\"success\"} %llu\n", (unsigned long long)s->reloads_ok);
	put(t, "mcpfence_reloads_total{result=\"failure\"} %llu\n", (unsigned long long)s->reloads_failed);
	family(t, "mcpfence_reload_duration_seconds", "gauge", "How long the last reload took.");
	put(t, "mcpfence_reload_duration_seconds %.6f\n", (double)s->reload_duration_ns / 1e9);
	family(t, "mcpfence_reload_last_success_timestamp_seconds", "gauge",
	       "When the policies were last applied successfully (start or reload), Unix time.");
	put(t, "mcpfence_reload_last_success_timestamp_seconds %lld\n", (long long)s->applied_at);
	family(t, "mcpfence_start_time_seconds", "gauge", "When the agent started, Unix time.");
	put(t, "mcpfence_start_time_seconds %lld\n", (long long)s->started_at);
}

char *metrics_text(struct agent *a, size_t *ret_len)
{
	struct text t = {};

	family(&t, "mcpfence_build_info", "gauge", "The agent's version; always 1.");
	put(&t, "mcpfence_build_info{version=\"%s\"} 1\n", MCPFENCE_VERSION);
	put_verdicts(a, &t);
	put_kernel_counters(a, &t);
	put_maps(a, &t);
	put_rule_use(a, &t);
	put_agent(a, &t);
	put_credentials(a, &t);
	if (t.failed) {
		free(t.buf);
		return NULL;
	}
	*ret_len = t.len;
	return t.buf;
}

/* The whole HTTP reply to one request (HTTP/1.0 semantics: one reply, then close). */
char *metrics_http_reply(struct agent *a, const char *req, size_t len, size_t *ret_len)
{
	_cleanup_free_ char *body = NULL;
	const char *status = "200 OK", *type = "text/plain; version=0.0.4; charset=utf-8";
	size_t blen = 0;
	char *reply;

	size_t plen = len > 4 ? strcspn(req + 4, " ?\r\n") : 0;
	const char *path = req + 4;

#define PATH_IS(p) (plen == strlen(p) && !strncmp(path, (p), plen))
	if (len < 4 || strncmp(req, "GET ", 4)) {
		status = "405 Method Not Allowed";
	} else if (a->creds && (PATH_IS("/.well-known/openid-configuration") || PATH_IS("/.well-known/jwks.json"))) {
		/* the issuer's documents, for a reverse proxy that publishes them at the issuer URL */
		json_t *doc = credentials_document(a, PATH_IS("/.well-known/openid-configuration"));

		type = "application/json";
		body = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
		blen = body ? strlen(body) : 0;
		json_decref(doc);
		if (!body)
			status = "500 Internal Server Error";
	} else if (!PATH_IS("/metrics")) {
		status = "404 Not Found";
	} else if (!(body = metrics_text(a, &blen))) {
		status = "500 Internal Server Error";
	}
#undef PATH_IS
	if (!body) {
		type = "text/plain; charset=utf-8";
		body = strdup_printf("%s: GET /metrics%s\n", status,
				     a->creds ? ", /.well-known/openid-configuration or /.well-known/jwks.json"
					      : " is all there is");
		blen = body ? strlen(body) : 0;
	}
	reply = strdup_printf("HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%.*s",
				    status, type, blen, (int)blen, body ? body : "");

	if (reply)
		*ret_len = strlen(reply);
	return reply;
}
