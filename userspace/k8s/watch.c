// SPDX-License-Identifier: MIT
#include "watch.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control.h"
#include "httpstream.h"
#include "util.h"

#define LIST_BODY_MAX (64u << 20) /* a node's pods, with their specs */
#define LINE_MAX_LEN (4u << 20)	  /* one watch event */
#define WATCH_TIMEOUT_S 300	  /* the server ends a watch after this; we resume */
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 30000
#define TOKEN_MAX (64u << 10)

struct stream {
	const struct k8s_watch *w;
	struct http_body body;
	int out_fd;
	char *rv;	 /* the last resourceVersion seen */
	bool gone;	 /* a 410 ERROR event: relist */
	atomic_bool *stop;
};

const char *k8s_str(json_t *o, const char *a, const char *b)
{
	return json_string_value(json_object_get(b ? json_object_get(o, a) : o, b ? b : a));
}

static void set_rv(struct stream *s, const char *rv)
{
	if (!rv)
		return;
	free(s->rv);
	s->rv = strdup(rv);
}

static void watch_event(void *ud, const char *line, size_t len)
{
	struct stream *s = ud;
	json_t *ev = json_loadb(line, len, 0, NULL), *obj = json_object_get(ev, "object");
	const char *type = k8s_str(ev, "type", NULL);

	if (!type) {
		json_decref(ev);
		return;
	}
	if (!strcmp(type, "ERROR")) {
		if (json_integer_value(json_object_get(obj, "code")) == 410)
			s->gone = true;
		else
			control_emit(s->out_fd, json_pack("{s:s, s:s}", "event", "ERROR", "error",
						  k8s_str(obj, "message", NULL) ?: "watch error"));
	} else {
		set_rv(s, k8s_str(obj, "metadata", "resourceVersion"));
		if (strcmp(type, "BOOKMARK"))
			s->w->emit(s->out_fd, type, obj);
	}
	json_decref(ev);
}

int k8s_token_read(const struct k8s_api *api, char **ret, char *err, size_t errlen)
{
	size_t tlen;
	int r = read_file(api->token_file, TOKEN_MAX, ret, &tlen);

	if (r < 0) {
		snprintf(err, errlen, "token %s: %s", api->token_file, strerror(-r));
		return r;
	}
	while (tlen && ((*ret)[tlen - 1] == '\n' || (*ret)[tlen - 1] == ' '))
		(*ret)[--tlen] = '\0';
	return 0;
}

/* One GET of `url` into s->body; 0 (also for 410 Gone, with s->gone set), or -errno with
 * `err` set. The token is read for each request: the kubelet rotates it. */
static int api_get(const struct k8s_api *cfg, const char *url, struct stream *s, bool watch,
		   char *err, size_t errlen)
{
	_cleanup_free_ char *token = NULL;
	int r = k8s_token_read(cfg, &token, err, errlen);

	if (r < 0)
		return r;
	s->body.max = watch ? LINE_MAX_LEN : LIST_BODY_MAX;
	s->body.on_line = watch ? watch_event : NULL;
	s->body.ud = s;
	r = http_get(&(struct http_request){ .url = url, .ca_file = cfg->ca_file, .bearer = token,
					     .timeout_ms = (watch ? WATCH_TIMEOUT_S + 30 : 60) * 1000L, .stop = s->stop },
		     &s->body, err, errlen);
	if (s->body.status == 410) {
		s->gone = true;
		return 0;
	}
	return r;
}

static char *resource_url(const struct k8s_watch *w, const char *more)
{
	return strdup_printf("%s%s?%s%s%s", w->api->api, w->path, w->selector ?: "", w->selector && *more ? "&" : "",
			     more);
}

static int do_list(const struct k8s_watch *w, struct stream *s, char *err, size_t errlen)
{
	_cleanup_free_ char *url = resource_url(w, "");
	json_t *doc, *items, *obj;
	size_t i;
	int r;

	control_emit(s->out_fd, json_pack("{s:s, s:s}", "event", "LISTING", "resource", w->path));
	r = api_get(w->api, url, s, false, err, errlen);
	if (r < 0 || s->gone)
		return r;
	doc = json_loadb(s->body.buf ? s->body.buf : "", s->body.len, 0, NULL);
	items = json_object_get(doc, "items");
	if (!json_is_array(items) || !k8s_str(doc, "metadata", "resourceVersion")) {
		snprintf(err, errlen, "%s: not a list", url);
		json_decref(doc);
		return -EPROTO;
	}
	json_array_foreach(items, i, obj)
		w->emit(s->out_fd, "ADDED", obj);
	set_rv(s, k8s_str(doc, "metadata", "resourceVersion"));
	control_emit(s->out_fd, json_pack("{s:s, s:s, s:I, s:s}", "event", "LISTED", "resource", w->path, "count",
				  (json_int_t)json_array_size(items), "resource_version", s->rv));
	json_decref(doc);
	return 0;
}

static int do_watch(const struct k8s_watch *w, struct stream *s, char *err, size_t errlen)
{
	_cleanup_free_ char *more = strdup_printf("watch=1&allowWatchBookmarks=true&resourceVersion=%s&timeoutSeconds=%d",
						  s->rv, WATCH_TIMEOUT_S);
	_cleanup_free_ char *url = more ? resource_url(w, more) : NULL;

	return url ? api_get(w->api, url, s, true, err, errlen) : -ENOMEM;
}

void k8s_watch_run(const struct k8s_watch *w, int out_fd, atomic_bool *stop)
{
	struct stream s = { .w = w, .out_fd = out_fd, .stop = stop };
	int backoff = BACKOFF_MIN_MS;
	bool listed = false;
	char err[512];

	while (!atomic_load(stop)) {
		int r;

		s.gone = false;
		r = listed ? do_watch(w, &s, err, sizeof(err)) : do_list(w, &s, err, sizeof(err));
		if (atomic_load(stop))
			break;
		if (r == 0 && !s.gone) {
			backoff = BACKOFF_MIN_MS;
			listed = true; /* a watch that ended resumes from s.rv */
			continue;
		}
		if (s.gone) { /* our resourceVersion is too old: the full state again */
			listed = false;
			control_emit(out_fd, json_pack("{s:s, s:s}", "event", "ERROR", "error",
					       "410 Gone: resourceVersion too old, listing again"));
			continue;
		}
		control_emit(out_fd, json_pack("{s:s, s:s}", "event", "ERROR", "error", err));
		for (int waited = 0; waited < backoff && !atomic_load(stop); waited += 100)
			usleep(100 * 1000);
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
	}
	http_body_clear(&s.body);
	free(s.rv);
}
