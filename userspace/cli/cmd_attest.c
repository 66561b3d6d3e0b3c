// SPDX-License-Identifier: MIT
/*
 * mcpfence attest: from inside a workload, present a token to the agent. The agent takes the
 * caller's cgroup from the kernel, verifies the token and binds the policy it selects until
 * the token expires. Run it again with a fresh token to renew without a gap.
 */

#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>

#include "b64url.h"
#include "cli.h"
#include "credfile.h"
#include "config.h"
#include "control.h"
#include "util.h"

#define TOKEN_FILE_MAX (64u << 10)

int attest_token_load(const char *file, char **ret)
{
	size_t len;
	char *s;
	int r = read_file(file, TOKEN_FILE_MAX, &s, &len);

	if (r < 0)
		return r;
	while (len && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' '))
		s[--len] = '\0';
	*ret = s;
	return 0;
}

/* Send the token; 0 with the reply, or the agent's refusal in `why`. */
int attest_request(const char *sock, const char *token, json_t **ret_reply, char *why, size_t len)
{
	json_t *reply = NULL;
	int r = control_request(sock, json_pack("{s:s, s:s}", "op", "attest", "token", token), &reply);

	if (r < 0) {
		snprintf(why, len, "cannot reach the agent at %s: %s", sock, strerror(-r));
		return r;
	}
	if (!json_is_true(json_object_get(reply, "ok"))) {
		const char *d = json_string_value(json_object_get(reply, "detail"));

		snprintf(why, len, "%s (%s)%s%s", json_string_value(json_object_get(reply, "message")) ?:
			 json_string_value(json_object_get(reply, "error")) ?: "refused",
			 json_string_value(json_object_get(reply, "error")) ?: "?", d && *d ? ": " : "", d ? d : "");
		*ret_reply = reply;
		return -EPERM;
	}
	*ret_reply = reply;
	return 0;
}

static void attest_text(json_t *doc)
{
	printf("attested: policy %s for cgroup %s until %s (%s)\n",
	       json_string_value(json_object_get(doc, "policy")),
	       json_string_value(json_object_get(doc, "cgroup")),
	       json_string_value(json_object_get(doc, "expires")),
	       json_string_value(json_object_get(json_object_get(doc, "identity"), "sub")));
}

static void attest_help(void)
{
	printf("Usage: mcpfence attest --token-file F [--watch] [--credential AUD=PATH]...\n"
	       "                       [--attest-socket PATH | --config FILE] [--json]\n\n"
	       "Present a workload identity token (Kubernetes projected token, GitHub OIDC\n"
	       "token, SPIFFE JWT-SVID) to the agent. The agent binds the one policy the\n"
	       "token's claims select to the caller's own cgroup, taken from the kernel,\n"
	       "until the token expires. Present a fresh token to renew. Default socket:\n"
	       "the config's attest_socket, else %s.\n\n"
	       "--watch  keep the binding alive (a sidecar): present the token again whenever\n"
	       "         the file changes (the kubelet rotates projected tokens by swapping\n"
	       "         the volume's ..data link) and at 80%% of its remaining lifetime;\n"
	       "         retry failures with backoff (1 s doubling to 30 s). One line per\n"
	       "         attestation; exits 0 on SIGTERM or SIGINT.\n"
	       "--credential AUD=PATH  after attesting, ask the agent for a credential for AUD\n"
	       "         (the bound policy's spec.credentials) and write it to PATH (0644,\n"
	       "         replaced atomically); with --watch, again before 80%% of its lifetime.\n"
	       "         Up to 8 times.\n",
	       CONFIG_DEFAULT_ATTEST_SOCKET);
}

#define WATCH_POLL_MS 10000 /* re-read the file at least this often: inotify misses bind mounts */
#define WATCH_BACKOFF_MIN_MS 1000
#define WATCH_BACKOFF_MAX_MS 30000
#define WATCH_NO_EXP_MS 60000 /* a token whose exp cannot be read is presented every minute */

static volatile sig_atomic_t watch_stop;
static void watch_on_signal(int sig)
{
	watch_stop = 1;
}

/* The token's exp, read without verifying (only to schedule renewal); 0 if unreadable. */
static int64_t token_exp_unverified(const char *token)
{
	const char *p = strchr(token, '.'), *q = p ? strchr(p + 1, '.') : NULL;
	_cleanup_free_ uint8_t *raw = NULL;
	json_t *payload;
	size_t len;
	int64_t exp = 0;

	if (!q || b64url_decode(p + 1, (size_t)(q - p - 1), &raw, &len) < 0)
		return 0;
	payload = json_loadb((const char *)raw, len, 0, NULL);
	if (json_is_integer(json_object_get(payload, "exp")))
		exp = json_integer_value(json_object_get(payload, "exp"));
	json_decref(payload);
	return exp;
}

/* The current backoff, and double it for next time. */
static int64_t backoff_take(int64_t *backoff)
{
	int64_t cur = *backoff;

	*backoff = cur * 2 > WATCH_BACKOFF_MAX_MS ? WATCH_BACKOFF_MAX_MS : cur * 2;
	return cur;
}

static int64_t ms_now(void)
{
	return (int64_t)(now_ns(CLOCK_MONOTONIC) / 1000000ULL);
}

/*
 * The sidecar loop. Wakes on the file's directory changing, on a poll timer and on the renewal
 * deadline; presents the token when it changed, when renewal is due, or after a failure once the
 * backoff has passed. The agent keeps the old binding until the new one is in place, so renewal
 * has no gap.
 */
static int attest_watch(const char *file, const char *sock, struct credfile *cf, size_t ncf)
{
	_cleanup_free_ char *dir = strdup(file), *last = NULL;
	_cleanup_close_ int ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	struct sigaction sa = { .sa_handler = watch_on_signal };
	int64_t due = 0, backoff = WATCH_BACKOFF_MIN_MS;
	char *slash;

	if (!dir)
		return cli_fail("attest: out of memory");
	slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	else
		strcpy(dir, ".");
	if (ino < 0 || inotify_add_watch(ino, dir, IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE | IN_ATTRIB |
				 IN_DELETE) < 0)
		log_info("attest: cannot watch %s (%s): polling every %d s", dir, strerror(errno),
			 WATCH_POLL_MS / 1000);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	while (!watch_stop) {
		_cleanup_free_ char *token = NULL;
		struct pollfd pfd = { .fd = ino, .events = POLLIN };
		int64_t now = ms_now(), wait_ms;
		json_t *reply = NULL;
		char why[1024];
		int r = attest_token_load(file, &token);

		if (r < 0) {
			due = now + backoff_take(&backoff);
			log_warning("attest: %s: %s (retrying in %lld ms)", file, strerror(-r), (long long)(due - now));
		} else if (!last || strcmp(token, last) || now >= due) {
			int64_t exp = token_exp_unverified(token), left;

			r = attest_request(sock, token, &reply, why, sizeof(why));
			if (r < 0) {
				/* the same token again after the backoff; a changed file at once */
				json_decref(reply);
				due = now + backoff_take(&backoff);
				log_warning("attest: %s (retrying in %lld ms)", why, (long long)(due - now));
			} else {
				if (cli_json) { /* JSON lines: one object per attestation */
					json_dumpf(reply, stdout, JSON_COMPACT);
					fputc('\n', stdout);
					json_decref(reply);
				} else {
					cli_print(reply, attest_text);
				}
				fflush(stdout);
				backoff = WATCH_BACKOFF_MIN_MS;
				for (size_t i = 0; i < ncf; i++) /* a new binding: fresh credentials now */
					cf[i].due_ms = 0;
				left = exp ? (exp - (int64_t)time(NULL)) * 1000 : 0;
				/* 80% of what is left, as the kubelet refreshes at 80% of the lifetime */
				due = now + (left > 0 ? left * 4 / 5 : WATCH_NO_EXP_MS);
			}
			free(last);
			last = TAKE_PTR(token);
		}
		wait_ms = due - ms_now();
		if (ncf) { /* the credentials, once bound; each on its own schedule */
			int64_t next = credfiles_refresh(cf, ncf, sock);

			wait_ms = next < wait_ms ? next : wait_ms;
		}
		wait_ms = wait_ms < 0 ? 0 : wait_ms > WATCH_POLL_MS ? WATCH_POLL_MS : wait_ms;
		if (poll(&pfd, ino >= 0 ? 1 : 0, (int)wait_ms) > 0) {
			char buf[4096];

			while (read(ino, buf, sizeof(buf)) > 0)
				;
			usleep(50 * 1000); /* let a rotation's renames settle before reading */
		}
	}
	return 0;
}

int cmd_attest(int argc, char **argv)
{
	const char *file = NULL, *sock = NULL, *config = NULL;
	struct cli_values creds = {};
	bool watch = false;
	const struct cli_opt opts[] = {
		{ "token-file", 't', true, &file },
		{ "watch", 'w', false, &watch },
		{ "attest-socket", 's', true, &sock },
		{ "config", 'c', true, &config },
		{ "credential", 'C', true, &creds, true },
		{},
	};
	struct credfile cf[CLI_VALUES_MAX] = {};
	_cleanup_free_ char *token = NULL, *sock_owned = NULL;
	json_t *reply = NULL;
	char why[1024];
	int args, r;

	args = cli_options(argc, argv, opts, 0, attest_help);
	if (args <= 0)
		return args == 0 ? 0 : 2;
	if (!file)
		return cli_fail("attest: --token-file F is required");
	sock = cli_attest_socket(sock, config, &sock_owned);
	if (!sock)
		return 1;
	for (size_t i = 0; i < creds.n; i++) {
		const char *bad;

		if (credfile_parse(creds.v[i], &cf[i], &bad) < 0) {
			r = cli_fail("attest: --credential %s: %s", creds.v[i], bad);
			goto out;
		}
	}
	if (watch) {
		r = attest_watch(file, sock, cf, creds.n);
		goto out;
	}
	r = attest_token_load(file, &token);
	if (r < 0) {
		r = cli_fail("attest: %s: %s", file, strerror(-r));
		goto out;
	}
	r = attest_request(sock, token, &reply, why, sizeof(why));
	if (r < 0) {
		json_decref(reply);
		r = cli_fail("attest: %s", why);
		goto out;
	}
	cli_print(reply, attest_text);
	for (size_t i = 0; i < creds.n && r == 0; i++)
		if (credfile_fetch(&cf[i], sock, why, sizeof(why)) < 0)
			r = cli_fail("attest: credential %s: %s", cf[i].audience, why);
out:
	for (size_t i = 0; i < creds.n; i++)
		credfile_clear(&cf[i]);
	return r;
}
