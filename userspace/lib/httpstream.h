/* SPDX-License-Identifier: MIT */
/*
 * The one HTTP client, libcurl underneath, for whatever runs on the agent's worker threads:
 * issuers' keys, the Kubernetes API over HTTPS, the Docker Engine API over its Unix socket. A
 * whole body up to a limit, or a stream handed out line by line as each line completes (watch
 * and events streams). No redirects, no proxy; HTTPS peers and host names verified against the
 * system's or the given CA. A set `stop` flag ends the transfer within about a second.
 */
#ifndef MCPFENCE_HTTPSTREAM_H
#define MCPFENCE_HTTPSTREAM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct http_request {
	const char *url;
	const char *unix_socket; /* connect here instead of the URL's host (http:// URLs) */
	const char *ca_file;	 /* https: the peer's CA */
	const char *bearer;	 /* an Authorization: Bearer token, or NULL */
	long timeout_ms;	 /* the whole transfer */
	atomic_bool *stop;
	const char *form; /* POST this application/x-www-form-urlencoded body (else GET) */
	const char *json; /* POST this application/json body (else GET) */
};

struct http_body {
	size_t max; /* the whole body; with on_line, the longest line */
	void (*on_line)(void *ud, const char *line, size_t len); /* NULL: keep the whole body */
	void *ud;
	char *buf; /* the body (NUL-terminated), or the incomplete last line */
	size_t len;
	long status;
	int64_t max_age; /* the reply's Cache-Control max-age in seconds, -1 if absent */
};

/* libcurl's global state, once per process (any thread; http_get calls it too). */
void http_global_init(void);
/* 0 for a 200 reply; otherwise -errno with err set (status kept in b->status, and a reply's
 * body in b->buf: an OAuth error is read from it). */
int http_get(const struct http_request *req, struct http_body *b, char *err, size_t errlen);
void http_body_clear(struct http_body *b);

#endif
