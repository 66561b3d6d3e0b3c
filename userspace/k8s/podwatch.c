// SPDX-License-Identifier: MIT
#include "podwatch.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "https.h"
#include "util.h"

#define LIST_BODY_MAX (64u << 20) /* a node's pods, with their specs */
#define LINE_MAX_LEN (4u << 20)	  /* one watch event */
#define WATCH_TIMEOUT_S 300	  /* the server ends a watch after this; we resume */
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 30000
#define TOKEN_MAX (64u << 10)

struct stream {
	char *buf;
	size_t len;
	size_t max;	 /* LIST: the whole body; WATCH: one line */
	bool lines;	 /* WATCH: hand out each line as it completes */
	int out_fd;
	char *rv;	 /* the last resourceVersion seen */
	bool gone;	 /* a 410 ERROR event: relist */
	atomic_bool *stop;
};

static void emit(int fd, json_t *msg)
{
	char *s = json_dumps(msg, JSON_COMPACT);
	size_t len, off = 0;

	json_decref(msg);
	if (!s)
		return;
	len = strlen(s);
	s[len++] = '\n'; /* json_dumps left room: replaces the NUL */
	while (off < len) {
		ssize_t w = write(fd, s + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	free(s);
}

static const char *str(json_t *o, const char *a, const char *b)
{
	return json_string_value(json_object_get(b ? json_object_get(o, a) : o, b ? b : a));
}

/* What the agent needs of a pod object. */
static void emit_pod(int fd, const char *event, json_t *pod)
{
	json_t *meta = json_object_get(pod, "metadata");

	if (!str(meta, "uid", NULL))
		return;
	emit(fd, json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:O?, s:O?}", "event", event, "uid",
			   str(meta, "uid", NULL), "namespace", str(meta, "namespace", NULL), "name",
			   str(meta, "name", NULL), "qos", str(pod, "status", "qosClass"), "annotations",
			   json_object_get(meta, "annotations"), "labels", json_object_get(meta, "labels")));
}

static void set_rv(struct stream *s, const char *rv)
{
	if (!rv)
		return;
	free(s->rv);
	s->rv = strdup(rv);
}

static void watch_event(struct stream *s, const char *line, size_t len)
{
	json_t *ev = json_loadb(line, len, 0, NULL), *obj = json_object_get(ev, "object");
	const char *type = str(ev, "type", NULL);

	if (!type) {
		json_decref(ev);
		return;
	}
	if (!strcmp(type, "ERROR")) {
		if (json_integer_value(json_object_get(obj, "code")) == 410)
			s->gone = true;
		else
			emit(s->out_fd, json_pack("{s:s, s:s}", "event", "ERROR", "error",
						  str(obj, "message", NULL) ?: "watch error"));
	} else {
		set_rv(s, str(obj, "metadata", "resourceVersion"));
		if (strcmp(type, "BOOKMARK"))
			emit_pod(s->out_fd, type, obj);
	}
	json_decref(ev);
}

static size_t on_data(char *data, size_t size, size_t n, void *ud)
{
	struct stream *s = ud;
	size_t add = size * n;
	char *nb, *nl;

	if (s->len + add > s->max)
		return 0; /* too big: abort the transfer */
	nb = realloc(s->buf, s->len + add + 1);
	if (!nb)
		return 0;
	s->buf = nb;
	memcpy(s->buf + s->len, data, add);
	s->len += add;
	s->buf[s->len] = '\0';
	while (s->lines && (nl = memchr(s->buf, '\n', s->len))) {
		size_t l = (size_t)(nl - s->buf) + 1;

		watch_event(s, s->buf, l - 1);
		memmove(s->buf, s->buf + l, s->len - l);
		s->len -= l;
	}
	return add;
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct stream *s = ud;

	return atomic_load(s->stop) ? 1 : 0; /* non-zero aborts */
}

/* One GET of `url` into s; 0, or -errno with `err` set. */
static int api_get(const struct podwatch_config *cfg, const char *url, struct stream *s, char *err,
		   size_t errlen)
{
	_cleanup_free_ char *token = NULL, *auth = NULL;
	struct curl_slist *hdr = NULL;
	size_t tlen;
	long status = 0;
	CURLcode cc;
	CURL *c;
	int r = read_file(cfg->token_file, TOKEN_MAX, &token, &tlen);

	if (r < 0) {
		snprintf(err, errlen, "token %s: %s", cfg->token_file, strerror(-r));
		return r;
	}
	while (tlen && (token[tlen - 1] == '\n' || token[tlen - 1] == ' '))
		token[--tlen] = '\0';
	auth = strdup_printf("Authorization: Bearer %s", token);
	c = curl_easy_init();
	if (!c || !auth) {
		snprintf(err, errlen, "out of memory");
		if (c)
			curl_easy_cleanup(c);
		return -ENOMEM;
	}
	hdr = curl_slist_append(hdr, auth);
	hdr = curl_slist_append(hdr, "Accept: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_CAINFO, cfg->ca_file);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)HTTPS_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)(s->lines ? WATCH_TIMEOUT_S + 30 : 60));
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "mcpfence");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, s);
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	curl_slist_free_all(hdr);
	if (status == 410) {
		s->gone = true;
		return 0;
	}
	if (cc != CURLE_OK) {
		snprintf(err, errlen, "%s: %s", url, curl_easy_strerror(cc));
		return -EIO;
	}
	if (status != 200) {
		snprintf(err, errlen, "%s: HTTP status %ld", url, status);
		return -EIO;
	}
	return 0;
}

static int do_list(const struct podwatch_config *cfg, struct stream *s, char *err, size_t errlen)
{
	_cleanup_free_ char *url = strdup_printf("%s/api/v1/pods?fieldSelector=spec.nodeName%%3D%s", cfg->api,
						 cfg->node);
	json_t *doc, *items, *pod;
	size_t i;
	int r;

	s->lines = false;
	s->max = LIST_BODY_MAX;
	s->len = 0;
	r = api_get(cfg, url, s, err, errlen);
	if (r < 0)
		return r;
	doc = json_loadb(s->buf ? s->buf : "", s->len, 0, NULL);
	items = json_object_get(doc, "items");
	if (!json_is_array(items) || !str(doc, "metadata", "resourceVersion")) {
		snprintf(err, errlen, "%s: not a PodList", url);
		json_decref(doc);
		return -EPROTO;
	}
	json_array_foreach(items, i, pod)
		emit_pod(s->out_fd, "ADDED", pod);
	set_rv(s, str(doc, "metadata", "resourceVersion"));
	emit(s->out_fd, json_pack("{s:s, s:I, s:s}", "event", "LISTED", "pods", (json_int_t)json_array_size(items),
				  "resource_version", s->rv));
	json_decref(doc);
	return 0;
}

static int do_watch(const struct podwatch_config *cfg, struct stream *s, char *err, size_t errlen)
{
	_cleanup_free_ char *url = strdup_printf(
		"%s/api/v1/pods?fieldSelector=spec.nodeName%%3D%s&watch=1&allowWatchBookmarks=true"
		"&resourceVersion=%s&timeoutSeconds=%d", cfg->api, cfg->node, s->rv, WATCH_TIMEOUT_S);

	s->lines = true;
	s->max = LINE_MAX_LEN;
	s->len = 0;
	return api_get(cfg, url, s, err, errlen);
}

void podwatch_run(const struct podwatch_config *cfg, int out_fd, atomic_bool *stop)
{
	struct stream s = { .out_fd = out_fd, .stop = stop };
	int backoff = BACKOFF_MIN_MS;
	bool listed = false;
	char err[512];

	https_global_init();
	while (!atomic_load(stop)) {
		int r;

		s.gone = false;
		r = listed ? do_watch(cfg, &s, err, sizeof(err)) : do_list(cfg, &s, err, sizeof(err));
		if (atomic_load(stop))
			break;
		if (r == 0 && !s.gone) {
			backoff = BACKOFF_MIN_MS;
			listed = true; /* a watch that ended resumes from s.rv */
			continue;
		}
		if (s.gone) { /* our resourceVersion is too old: the full state again */
			listed = false;
			emit(out_fd, json_pack("{s:s, s:s}", "event", "ERROR", "error",
					       "410 Gone: resourceVersion too old, listing again"));
			continue;
		}
		emit(out_fd, json_pack("{s:s, s:s}", "event", "ERROR", "error", err));
		for (int waited = 0; waited < backoff && !atomic_load(stop); waited += 100)
			usleep(100 * 1000);
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
	}
	free(s.buf);
	free(s.rv);
}
