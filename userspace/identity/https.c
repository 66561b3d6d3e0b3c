// SPDX-License-Identifier: MIT
#include "https.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpstream.h"

int https_url_host(const char *url, char *buf, size_t len)
{
	const char *h, *end;

	if (strncmp(url, "https://", 8))
		return -EINVAL;
	h = url + 8;
	end = h + strcspn(h, "/?#");
	if (end == h || (size_t)(end - h) >= len || memchr(h, '@', (size_t)(end - h)))
		return -EINVAL;
	memcpy(buf, h, (size_t)(end - h));
	buf[end - h] = '\0';
	return 0;
}

int https_get(const char *url, const char *ca_file, struct https_reply *out)
{
	struct http_body b = { .max = HTTPS_BODY_MAX };
	char host[256];
	int r;

	memset(out, 0, sizeof(*out));
	out->max_age = -1;
	if (https_url_host(url, host, sizeof(host)) < 0) {
		snprintf(out->error, sizeof(out->error), "not an https URL: %.200s", url);
		return -EINVAL;
	}
	r = http_get(&(struct http_request){ .url = url, .ca_file = ca_file, .timeout_ms = HTTPS_TIMEOUT_MS },
		     &b, out->error, sizeof(out->error));
	out->status = b.status;
	if (r == 0 && !b.buf) {
		snprintf(out->error, sizeof(out->error), "%s: an empty reply", url);
		r = -EIO;
	}
	if (r < 0) {
		http_body_clear(&b);
		return r;
	}
	out->body = b.buf;
	out->len = b.len;
	out->max_age = b.max_age;
	return 0;
}

void https_reply_clear(struct https_reply *r)
{
	free(r->body);
	r->body = NULL;
	r->len = 0;
}
