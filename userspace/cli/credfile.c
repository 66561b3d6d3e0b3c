// SPDX-License-Identifier: MIT
#include "credfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "util.h"

#define CREDFILE_BACKOFF_MIN_MS 1000
#define CREDFILE_BACKOFF_MAX_MS 30000

static int64_t ms_now(void)
{
	return (int64_t)(now_ns(CLOCK_MONOTONIC) / 1000000ULL);
}

int credfile_parse(const char *spec, struct credfile *ret, const char **why)
{
	const char *eq = strrchr(spec, '=');

	memset(ret, 0, sizeof(*ret));
	if (!eq || eq == spec || eq[1] != '/') {
		*why = "must be AUDIENCE=/absolute/path";
		return -EINVAL;
	}
	ret->audience = strndup(spec, (size_t)(eq - spec));
	ret->path = strdup(eq + 1);
	ret->backoff_ms = CREDFILE_BACKOFF_MIN_MS;
	if (!ret->audience || !ret->path) {
		credfile_clear(ret);
		*why = "out of memory";
		return -ENOMEM;
	}
	return 0;
}

void credfile_clear(struct credfile *c)
{
	free((char *)c->audience);
	free(c->path);
	memset(c, 0, sizeof(*c));
}

int credfile_fetch(struct credfile *c, const char *sock, char *why, size_t len)
{
	json_t *reply = NULL;
	const char *token;
	int64_t left;
	int r = control_request(sock, json_pack("{s:s, s:s}", "op", "token", "audience", c->audience), &reply);

	if (r < 0) {
		snprintf(why, len, "%s: %s", sock, strerror(-r));
		return r;
	}
	token = json_string_value(json_object_get(reply, "token"));
	if (!json_is_true(json_object_get(reply, "ok")) || !token) {
		snprintf(why, len, "%s: %s", json_string_value(json_object_get(reply, "error")) ?: "refused",
			 json_string_value(json_object_get(reply, "detail")) ?: "");
		json_decref(reply);
		return -EPERM;
	}
	{
		_cleanup_free_ char *line = strdup_printf("%s\n", token);

		/* 0644: the server may run as another user */
		r = line ? write_file_atomic(c->path, line, 0644) : -ENOMEM;
	}
	if (r < 0)
		snprintf(why, len, "%s: %s", c->path, strerror(-r));
	left = json_integer_value(json_object_get(reply, "expires_in")) * 1000;
	/* 80% of its lifetime, as the kubelet refreshes projected tokens */
	c->due_ms = ms_now() + (left > 0 ? left * 4 / 5 : 60000);
	json_decref(reply);
	return r;
}

int64_t credfiles_refresh(struct credfile *c, size_t n, const char *sock)
{
	int64_t now = ms_now(), next = INT64_MAX;

	for (size_t i = 0; i < n; i++) {
		char why[512];

		if (now >= c[i].due_ms) {
			if (credfile_fetch(&c[i], sock, why, sizeof(why)) < 0) {
				c[i].due_ms = now + c[i].backoff_ms;
				log_warning("credential %s: %s (retrying in %lld ms)", c[i].audience, why,
					    (long long)c[i].backoff_ms);
				c[i].backoff_ms = c[i].backoff_ms * 2 > CREDFILE_BACKOFF_MAX_MS ? CREDFILE_BACKOFF_MAX_MS
												 : c[i].backoff_ms * 2;
			} else {
				c[i].backoff_ms = CREDFILE_BACKOFF_MIN_MS;
			}
		}
		if (c[i].due_ms - now < next)
			next = c[i].due_ms - now;
	}
	return next < 0 ? 0 : next;
}
