// SPDX-License-Identifier: MIT
#include "https.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "httpstream.h"

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
	struct https_reply *r = ud;
	size_t add = size * n;
	char *nb;

	if (r->len + add > HTTPS_BODY_MAX)
		return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
	nb = realloc(r->body, r->len + add + 1);
	if (!nb)
		return 0;
	r->body = nb;
	memcpy(r->body + r->len, data, add);
	r->len += add;
	r->body[r->len] = '\0';
	return add;
}

static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
	struct https_reply *r = ud;
	size_t len = size * n;
	char line[512];
	const char *p;

	if (len >= sizeof(line) || strncasecmp(data, "cache-control:", 14))
		return len;
	memcpy(line, data, len);
	line[len] = '\0';
	p = strcasestr(line, "max-age=");
	if (p) {
		long long v = strtoll(p + 8, NULL, 10);

		r->max_age = v >= 0 ? v : -1;
	}
	return len;
}

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
	CURL *c;
	CURLcode cc;
	char host[256];

	memset(out, 0, sizeof(*out));
	out->max_age = -1;
	if (https_url_host(url, host, sizeof(host)) < 0) {
		snprintf(out->error, sizeof(out->error), "not an https URL: %.200s", url);
		return -EINVAL;
	}
	http_global_init();
	c = curl_easy_init();
	if (!c)
		return -ENOMEM;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L); /* a redirect is a failure */
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)HTTPS_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE, (long)HTTPS_BODY_MAX);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "mcpfence");
	curl_easy_setopt(c, CURLOPT_PROXY, ""); /* key fetches never go through a proxy */
	if (ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, ca_file);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	curl_easy_cleanup(c);
	if (cc != CURLE_OK) {
		snprintf(out->error, sizeof(out->error), "%s: %s", url,
			 cc == CURLE_WRITE_ERROR || cc == CURLE_FILESIZE_EXCEEDED
				 ? "body larger than 64 KiB"
				 : curl_easy_strerror(cc));
		https_reply_clear(out);
		return -EIO;
	}
	if (out->status != 200 || !out->body) {
		snprintf(out->error, sizeof(out->error), "%s: HTTP status %ld%s", url, out->status,
			 out->status >= 300 && out->status < 400 ? " (redirects are not followed)" : "");
		https_reply_clear(out);
		return -EIO;
	}
	return 0;
}

void https_reply_clear(struct https_reply *r)
{
	free(r->body);
	r->body = NULL;
	r->len = 0;
}
