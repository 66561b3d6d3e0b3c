// SPDX-License-Identifier: MIT
#include "dockerwatch.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "httpstream.h"
#include "util.h"

#define API "http://docker"	       /* the host part is not used on a Unix socket */
#define LIST_BODY_MAX (16u << 20)      /* every running container, without sizes */
#define INSPECT_BODY_MAX (4u << 20)    /* one container's inspect document */
#define EVENT_LINE_MAX (1u << 20)      /* one event */
#define REQUEST_TIMEOUT_S 30
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 30000
/* {"type":["container"],"event":["start"]}, URL-encoded */
#define START_FILTER "%7B%22type%22%3A%5B%22container%22%5D%2C%22event%22%3A%5B%22start%22%5D%7D"

struct watch {
	const struct dockerwatch_config *cfg;
	int out_fd;
	atomic_bool *stop;
};

/* Engine IDs are 64 hex digits; anything else is not put into a URL. */
static bool container_id_ok(const char *id)
{
	size_t n = id ? strlen(id) : 0;

	return n >= 12 && n <= 64 && strspn(id, "0123456789abcdef") == n;
}

static int api_get(struct watch *w, const char *path, struct http_body *b, long timeout_s, char *err,
		   size_t errlen)
{
	_cleanup_free_ char *url = strdup_printf("%s%s", API, path);
	int r;

	if (!url) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r = http_get(&(struct http_request){ .url = url, .unix_socket = w->cfg->socket, .timeout_ms = timeout_s * 1000,
					     .stop = w->stop },
		     b, err, errlen);
	if (r < 0 && !strncmp(err, url, strlen(url))) { /* "URL: why" -> "GET PATH on SOCKET: why" */
		_cleanup_free_ char *why = strdup(err + strlen(url));

		snprintf(err, errlen, "GET %.*s on %s%s", (int)strcspn(path, "?"), path, w->cfg->socket, why ?: "");
	}
	return r;
}

/* Inspect one container and report it when it runs. A container gone by now is not an error. */
static void report(struct watch *w, const char *id)
{
	_cleanup_free_ char *path = strdup_printf("/containers/%s/json", id);
	struct http_body b = { .max = INSPECT_BODY_MAX };
	json_t *doc, *cfg, *state;
	char err[512];

	if (!path || !container_id_ok(id))
		return;
	if (api_get(w, path, &b, REQUEST_TIMEOUT_S, err, sizeof(err)) < 0) {
		if (b.status != 404)
			control_emit(w->out_fd, json_pack("{s:s, s:s}", "event", "ERROR", "error", err));
		http_body_clear(&b);
		return;
	}
	doc = json_loadb(b.buf ? b.buf : "", b.len, 0, NULL);
	http_body_clear(&b);
	cfg = json_object_get(doc, "Config");
	state = json_object_get(doc, "State");
	if (json_is_true(json_object_get(state, "Running")) && json_integer_value(json_object_get(state, "Pid")) > 0 &&
	    container_id_ok(json_string_value(json_object_get(doc, "Id")))) {
		const char *name = json_string_value(json_object_get(doc, "Name"));

		control_emit(w->out_fd,
			     json_pack("{s:s, s:s, s:s?, s:s?, s:I, s:O?}", "event", "start", "id",
				       json_string_value(json_object_get(doc, "Id")), "name",
				       name && name[0] == '/' ? name + 1 : name, "image",
				       json_string_value(json_object_get(cfg, "Image")), "pid",
				       json_integer_value(json_object_get(state, "Pid")), "labels",
				       json_object_get(cfg, "Labels")));
	}
	json_decref(doc);
}

static int do_list(struct watch *w, char *err, size_t errlen)
{
	struct http_body b = { .max = LIST_BODY_MAX };
	json_t *doc, *c;
	size_t i, n;
	int r = api_get(w, "/containers/json", &b, REQUEST_TIMEOUT_S, err, errlen);

	if (r < 0) {
		http_body_clear(&b);
		return r;
	}
	doc = json_loadb(b.buf ? b.buf : "", b.len, 0, NULL);
	http_body_clear(&b);
	if (!json_is_array(doc)) {
		snprintf(err, errlen, "GET /containers/json: not a list of containers");
		json_decref(doc);
		return -EPROTO;
	}
	n = json_array_size(doc);
	json_array_foreach(doc, i, c)
		report(w, json_string_value(json_object_get(c, "Id")));
	control_emit(w->out_fd, json_pack("{s:s, s:I}", "event", "LISTED", "containers", (json_int_t)n));
	json_decref(doc);
	return 0;
}

static void on_event(void *ud, const char *line, size_t len)
{
	struct watch *w = ud;
	json_t *ev = json_loadb(line, len, 0, NULL);
	const char *type = json_string_value(json_object_get(ev, "Type"));
	const char *action = json_string_value(json_object_get(ev, "Action"));

	if (type && action && !strcmp(type, "container") && !strcmp(action, "start"))
		report(w, json_string_value(json_object_get(json_object_get(ev, "Actor"), "ID")));
	json_decref(ev);
}

/* Follows the events from `since` until the stream ends (or *stop); says why in err. */
static void follow_events(struct watch *w, time_t since, char *err, size_t errlen)
{
	_cleanup_free_ char *path = strdup_printf("/events?since=%lld&filters=%s", (long long)since, START_FILTER);
	struct http_body b = { .max = EVENT_LINE_MAX, .on_line = on_event, .ud = w };

	if (!path) {
		snprintf(err, errlen, "out of memory");
		return;
	}
	if (api_get(w, path, &b, 0 /* a stream: no limit */, err, errlen) == 0)
		snprintf(err, errlen, "the daemon at %s ended the events stream", w->cfg->socket);
	else
		snprintf(err + strlen(err), errlen - strlen(err), " (the events stream was lost)");
	http_body_clear(&b);
}

void dockerwatch_run(const struct dockerwatch_config *cfg, int out_fd, atomic_bool *stop)
{
	struct watch w = { .cfg = cfg, .out_fd = out_fd, .stop = stop };
	int backoff = BACKOFF_MIN_MS;
	char err[512];

	while (!atomic_load(stop)) {
		time_t since = time(NULL) - 1; /* events from before the list: none falls between */

		if (do_list(&w, err, sizeof(err)) == 0) {
			backoff = BACKOFF_MIN_MS;
			follow_events(&w, since, err, sizeof(err));
		}
		if (atomic_load(stop))
			break;
		control_emit(out_fd, json_pack("{s:s, s:s}", "event", "ERROR", "error", err));
		for (int waited = 0; waited < backoff && !atomic_load(stop); waited += 100)
			usleep(100 * 1000);
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
	}
}
