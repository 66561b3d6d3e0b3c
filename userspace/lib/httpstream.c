// SPDX-License-Identifier: MIT
#include "httpstream.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

#define CONNECT_TIMEOUT_MS 5000

static size_t on_data(char *data, size_t size, size_t n, void *ud)
{
	struct http_body *b = ud;
	size_t add = size * n;
	char *nb, *nl;

	if (b->len + add > b->max)
		return 0; /* too big: aborts the transfer */
	nb = realloc(b->buf, b->len + add + 1);
	if (!nb)
		return 0;
	b->buf = nb;
	memcpy(b->buf + b->len, data, add);
	b->len += add;
	b->buf[b->len] = '\0';
	while (b->on_line && (nl = memchr(b->buf, '\n', b->len))) {
		size_t l = (size_t)(nl - b->buf) + 1;

		b->on_line(b->ud, b->buf, l - 1);
		memmove(b->buf, b->buf + l, b->len - l);
		b->len -= l;
	}
	return add;
}

/* Only Cache-Control matters: how long an issuer's keys may be kept. */
static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
	struct http_body *b = ud;
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

		b->max_age = v >= 0 ? v : -1;
	}
	return len;
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	const struct http_request *req = ud;

	return req->stop && atomic_load(req->stop) ? 1 : 0; /* non-zero aborts */
}

static void global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void http_global_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, global_init);
}

int http_get(const struct http_request *req, struct http_body *b, char *err, size_t errlen)
{
	_cleanup_free_ char *auth = req->bearer ? strdup_printf("Authorization: Bearer %s", req->bearer) : NULL;
	struct curl_slist *hdr = NULL;
	CURLcode cc;
	CURL *c;

	http_global_init();
	b->len = 0;
	b->status = 0;
	b->max_age = -1;
	c = curl_easy_init();
	if (!c || (req->bearer && !auth)) {
		snprintf(err, errlen, "out of memory");
		if (c)
			curl_easy_cleanup(c);
		return -ENOMEM;
	}
	if (auth)
		hdr = curl_slist_append(hdr, auth);
	hdr = curl_slist_append(hdr, "Accept: application/json");
	if (req->form || req->json) {
		hdr = curl_slist_append(hdr, req->form ? "Content-Type: application/x-www-form-urlencoded"
						       : "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->form ?: req->json);
	}
	curl_easy_setopt(c, CURLOPT_URL, req->url);
	if (req->unix_socket) {
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, req->unix_socket);
		curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
	} else {
		curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
		if (req->ca_file)
			curl_easy_setopt(c, CURLOPT_CAINFO, req->ca_file);
	}
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, req->timeout_ms);
	if (!b->on_line) /* a stream's limit is per line: on_data */
		curl_easy_setopt(c, CURLOPT_MAXFILESIZE, (long)b->max);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "mcpfence");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, b);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, (void *)req);
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &b->status);
	curl_easy_cleanup(c);
	curl_slist_free_all(hdr);
	if (cc != CURLE_OK) {
		if (cc == CURLE_WRITE_ERROR || cc == CURLE_FILESIZE_EXCEEDED)
			snprintf(err, errlen, "%s: %s larger than %zu KiB", req->url,
				 b->on_line ? "a line" : "the body", b->max >> 10);
		else
			snprintf(err, errlen, "%s: %s", req->url, curl_easy_strerror(cc));
		return -EIO;
	}
	if (b->status != 200) {
		snprintf(err, errlen, "%s: HTTP status %ld%s", req->url, b->status,
			 b->status >= 300 && b->status < 400 ? " (redirects are not followed)" : "");
		return -EIO;
	}
	return 0;
}

void http_body_clear(struct http_body *b)
{
	free(b->buf);
	b->buf = NULL;
	b->len = 0;
}
