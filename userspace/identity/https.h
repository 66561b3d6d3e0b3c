/* SPDX-License-Identifier: MIT */
/* HTTPS GET with libcurl: bytes only, peer and host verified, no redirects, size and time
 * limits. Parsing stays in our own code. */
#ifndef MCPFENCE_HTTPS_H
#define MCPFENCE_HTTPS_H

#include <stddef.h>
#include <stdint.h>

#define HTTPS_BODY_MAX (64u << 10)
#define HTTPS_TIMEOUT_MS 5000

struct https_reply {
	char *body;
	size_t len;
	long status;
	int64_t max_age; /* Cache-Control max-age in seconds, -1 if absent */
	char error[256];
};

/* 0 when a 200 reply with a body within the limit arrived; else -errno with `error` set. */
int https_get(const char *url, const char *ca_file, struct https_reply *out);
void https_reply_clear(struct https_reply *r);
/* The host[:port] part of an https URL into buf; -EINVAL if not https. */
int https_url_host(const char *url, char *buf, size_t len);

#endif
