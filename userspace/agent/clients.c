// SPDX-License-Identifier: MIT
/*
 * The agent's sockets: control and attestation (Unix, JSON lines), and metrics (HTTP, Unix or
 * loopback TCP). Every client is a small state machine on the loop:
 *   reading  -> one request line (metrics: the request head), non-blocking, however slowly
 *   keys     -> (attest only) parked while the worker fetches the issuer's keys
 *   writing  -> the reply, non-blocking
 *   streaming -> (the events op) every event line from then on, until the client hangs up; a
 *               client that does not read loses lines, and is told how many
 * with one deadline for the whole request, so that a silent or trickling client costs a
 * descriptor and a little memory, never the loop's time. Clients are capped per uid and per
 * socket; a refused connection gets a one-line error and is closed at once.
 */
#include "agent_state.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>

#include "control.h"
#include "loop.h"

#define CLIENT_DEADLINE_MS 2000	      /* read, handle and write one request */
#define CLIENT_KEYS_DEADLINE_MS 10000 /* a request waiting for a key fetch (https: 5 s each) */
#define CLIENTS_PER_SOCKET 128
#define CLIENTS_PER_UID 16
#define METRICS_REQUEST_MAX 8192 /* the request line and headers of a scrape */
#define STREAM_BUFFER_MAX (1u << 20) /* unread event lines kept for a streaming client */

enum client_kind { KIND_CONTROL, KIND_ATTEST, KIND_METRICS, KIND_MAX };
enum client_state { CLIENT_READING, CLIENT_KEYS, CLIENT_WRITING, CLIENT_STREAMING };

struct client {
	struct loop_source src; /* .ud: the agent */
	struct client *next;
	struct op_caller who;
	enum client_kind kind;
	enum client_state state;
	uint64_t deadline_ns; /* CLOCK_MONOTONIC */
	char *in;
	size_t in_len;
	json_t *req; /* while parked */
	char *out;
	size_t out_len, out_off;
	uint64_t lost; /* streaming: event lines dropped since the last one delivered */
};

/* What this file owns: struct agent holds only the pointer. */
struct agent_clients {
	struct client *list; /* connected, in no particular order */
	unsigned n[KIND_MAX];
	struct loop_source listen[KIND_MAX]; /* one listening socket per kind (fd -1: none); .ud: the agent */
	uint64_t serial;		     /* of the last accepted connection */
};

static uint64_t deadline_in(unsigned ms)
{
	return now_ns(CLOCK_MONOTONIC) + (uint64_t)ms * 1000000ULL;
}

static void client_free(struct agent *a, struct client *c)
{
	struct client **pp;

	for (pp = &a->clients->list; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	a->clients->n[c->kind]--;
	loop_del(a->loop, &c->src);
	close(c->src.fd);
	json_decref(c->req);
	free(c->in);
	free(c->out);
	free(c);
}

static void client_write_some(struct agent *a, struct client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t k = send(c->src.fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			loop_mod(a->loop, &c->src, EPOLLOUT | (c->state == CLIENT_STREAMING ? EPOLLIN : 0));
			return;
		}
		if (k <= 0)
			break; /* the peer went away: nothing more to say */
		c->out_off += (size_t)k;
	}
	if (c->state == CLIENT_STREAMING && c->out_off == c->out_len) {
		c->out_len = c->out_off = 0; /* all sent: wait for the next event, or the hangup */
		loop_mod(a->loop, &c->src, EPOLLIN);
		return;
	}
	client_free(a, c);
}

/* Queue a line for a streaming client; a client whose backlog is full loses it (counted). */
static void stream_line(struct agent *a, struct client *c, const char *line, size_t len)
{
	char lost[96];
	size_t lost_len = 0, pending = c->out_len - c->out_off;
	char *nb;

	if (c->lost)
		lost_len = (size_t)snprintf(lost, sizeof(lost), "{\"type\":\"lost\",\"count\":%llu}\n",
					    (unsigned long long)c->lost);
	if (pending + lost_len + len > STREAM_BUFFER_MAX) {
		c->lost++;
		return;
	}
	if (c->out_off) { /* keep the unsent part only */
		memmove(c->out, c->out + c->out_off, pending);
		c->out_len = pending;
		c->out_off = 0;
	}
	nb = realloc(c->out, c->out_len + lost_len + len);
	if (!nb) {
		c->lost++;
		return;
	}
	c->out = nb;
	memcpy(c->out + c->out_len, lost, lost_len);
	memcpy(c->out + c->out_len + lost_len, line, len);
	c->out_len += lost_len + len;
	c->lost = 0;
	if (pending == 0)
		client_write_some(a, c);
}

void agent_clients_publish(struct agent *a, json_t *ev)
{
	_cleanup_free_ char *line = NULL;
	struct client *c, *next;
	size_t len;

	for (c = a->clients->list; c; c = next) {
		next = c->next; /* a client that went away is freed while writing */
		if (c->state != CLIENT_STREAMING)
			continue;
		if (!line && !(line = control_format(ev, &len)))
			return;
		stream_line(a, c, line, len);
	}
}

/* Send `out` (taken; NULL: out of memory, the client is dropped), then close the connection
 * (CLIENT_WRITING) or keep streaming events (CLIENT_STREAMING). */
static void client_send(struct agent *a, struct client *c, char *out, size_t len, enum client_state then)
{
	if (!out) {
		client_free(a, c);
		return;
	}
	c->out = out;
	c->out_len = len;
	c->out_off = 0;
	c->state = then;
	client_write_some(a, c);
}

/* Hand the reply to the client; `reply` is consumed. */
static void client_reply(struct agent *a, struct client *c, json_t *reply, enum client_state then)
{
	size_t len = 0;
	char *out = reply ? control_format(reply, &len) : NULL;

	json_decref(reply);
	client_send(a, c, out, len, then);
}

static json_t *error_reply(const char *msg)
{
	return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

static void client_handle(struct agent *a, struct client *c)
{
	bool wait_keys = false;
	json_t *reply = agent_dispatch(a, &c->who, c->req, &wait_keys);

	if (wait_keys) {
		if (c->state != CLIENT_KEYS) {
			c->state = CLIENT_KEYS;
			c->deadline_ns = deadline_in(CLIENT_KEYS_DEADLINE_MS);
			loop_mod(a->loop, &c->src, 0);
		}
		keys_worker_kick(a);
		return;
	}
	json_decref(c->req);
	c->req = NULL;
	if (json_is_true(json_object_get(reply, "subscribed"))) {
		c->deadline_ns = UINT64_MAX; /* after the reply, every event until it hangs up */
		client_reply(a, c, reply, CLIENT_STREAMING);
		return;
	}
	client_reply(a, c, reply, CLIENT_WRITING);
}

/* A scrape: the head read, the exposition sent, the connection closed. */
static void metrics_reply(struct agent *a, struct client *c)
{
	size_t len = 0;
	char *out;

	c->in[c->in_len] = '\0';
	out = metrics_http_reply(a, c->in, c->in_len, &len);
	free(c->in);
	c->in = NULL;
	client_send(a, c, out, len, CLIENT_WRITING);
}

static void client_read(struct agent *a, struct client *c)
{
	size_t max = c->kind == KIND_METRICS ? METRICS_REQUEST_MAX : CONTROL_LINE_MAX;
	char *nl;
	int r;

	if (!c->in && !(c->in = malloc(max + 1))) {
		client_free(a, c);
		return;
	}
	for (;;) {
		ssize_t k = recv(c->src.fd, c->in + c->in_len, max - c->in_len, MSG_DONTWAIT);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return; /* the rest later, within the deadline */
		if (k < 0 || (k == 0 && c->in_len == 0)) {
			client_free(a, c);
			return;
		}
		c->in_len += (size_t)k;
		if (c->kind == KIND_METRICS) {
			c->in[c->in_len] = '\0';
			if (strstr(c->in, "\r\n\r\n") || strstr(c->in, "\n\n") || k == 0 || c->in_len >= max) {
				metrics_reply(a, c);
				return;
			}
			continue;
		}
		nl = memchr(c->in + c->in_len - (size_t)k, '\n', (size_t)k);
		if (nl || k == 0 || c->in_len >= CONTROL_LINE_MAX)
			break;
	}
	r = control_parse(c->in, c->in_len, &c->req);
	free(c->in);
	c->in = NULL;
	if (r < 0) {
		client_reply(a, c, error_reply(r == -EMSGSIZE ? "request too long (64 KiB at most)"
							       : "malformed request: one JSON object per line expected"),
			     CLIENT_WRITING);
		return;
	}
	client_handle(a, c);
}

static void client_event(struct loop_source *s, uint32_t events)
{
	struct client *c = (struct client *)s;
	struct agent *a = s->ud;

	char sink[256];

	if (c->state == CLIENT_READING) {
		client_read(a, c);
	} else if (c->state == CLIENT_WRITING) {
		client_write_some(a, c);
	} else if (c->state == CLIENT_STREAMING) {
		/* a subscriber says nothing more: readable means it hung up (or talks: ignored) */
		ssize_t k = (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) ? recv(c->src.fd, sink, sizeof(sink), MSG_DONTWAIT) : 1;

		if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR))
			client_free(a, c);
		else if (events & EPOLLOUT)
			client_write_some(a, c);
	}
}

static unsigned clients_of_uid(struct agent *a, uid_t uid, enum client_kind kind)
{
	unsigned n = 0;

	for (struct client *c = a->clients->list; c; c = c->next)
		n += c->who.uid == uid && c->kind == kind;
	return n;
}

/* Best effort, never blocking: the refused client learns why (a scraper: 503, and why). */
static void refuse(int fd, enum client_kind kind, const char *why)
{
	_cleanup_free_ char *line = NULL;
	size_t len = 0;

	if (kind == KIND_METRICS) {
		line = strdup_printf("HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
				     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s\n",
				     strlen(why) + 1, why);
		len = line ? strlen(line) : 0;
	} else {
		json_t *e = error_reply(why);

		line = e ? control_format(e, &len) : NULL;
		json_decref(e);
	}
	if (line && send(fd, line, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("refused client: %s", strerror(errno));
	close(fd);
}

static void accept_clients(struct loop_source *s, uint32_t events)
{
	struct agent *a = s->ud;
	enum client_kind kind = (enum client_kind)(s - a->clients->listen);

	/* events first: a client waiting on us should not starve the ring */
	ring_buffer__consume(a->rb);
	for (;;) {
		int fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		struct ucred cred;
		socklen_t len = sizeof(cred);
		struct client *c;

		if (fd < 0)
			return;
		if (kind == KIND_METRICS && a->cfg.metrics_tcp.family) {
			/* loopback TCP has no peer credentials: all its scrapers count as one uid */
			cred = (struct ucred){ .uid = (uid_t)-1, .pid = 0 };
		} else if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
			close(fd);
			continue;
		}
		if (a->clients->n[kind] >= CLIENTS_PER_SOCKET) {
			refuse(fd, kind, "too many clients; try again");
			continue;
		}
		/* a uid that floods a socket holds its share, never every slot: the others still get in */
		if (!(kind == KIND_METRICS && a->cfg.metrics_tcp.family) &&
		    clients_of_uid(a, cred.uid, kind) >= CLIENTS_PER_UID) {
			refuse(fd, kind, "too many clients of this uid; try again");
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->src = (struct loop_source){ .fd = fd, .fn = client_event, .ud = a };
		c->kind = kind;
		c->who = (struct op_caller){ .serial = ++a->clients->serial, .fd = fd, .uid = cred.uid, .pid = cred.pid, .attest_socket = kind == KIND_ATTEST };
		c->deadline_ns = deadline_in(CLIENT_DEADLINE_MS);
		if (loop_add(a->loop, &c->src, EPOLLIN) < 0) {
			close(fd);
			free(c);
			continue;
		}
		c->next = a->clients->list;
		a->clients->list = c;
		a->clients->n[kind]++;
	}
}

/* Called every turn of the loop: clients past their deadline are answered or dropped. */
void agent_clients_expire(struct agent *a)
{
	uint64_t now = now_ns(CLOCK_MONOTONIC);
	struct client *c = a->clients->list, *next;

	for (; c; c = next) {
		next = c->next;
		if (c->deadline_ns > now)
			continue;
		if (c->state == CLIENT_KEYS) {
			json_decref(c->req);
			c->req = NULL;
			c->deadline_ns = deadline_in(CLIENT_DEADLINE_MS);
			client_reply(a, c, json_pack("{s:b, s:s, s:s}", "ok", 0, "error", "keys_unavailable",
						     "detail", "the issuer's keys did not arrive in time"),
				     CLIENT_WRITING);
		} else {
			client_free(a, c); /* a silent reader, or a reader that does not read */
		}
	}
}

void agent_clients_keys_ready(struct agent *a)
{
	struct client *c = a->clients->list, *next;

	for (; c; c = next) {
		next = c->next; /* handling may free c */
		if (c->state == CLIENT_KEYS)
			client_handle(a, c);
	}
}

bool agent_clients_pending(struct agent *a)
{
	for (struct client *c = a->clients->list; c; c = c->next)
		if (c->state != CLIENT_STREAMING)
			return true; /* a deadline to watch */
	return false;
}

void agent_clients_close(struct agent *a)
{
	struct agent_clients *cs = a->clients;

	if (!cs)
		return;
	while (cs->list)
		client_free(a, cs->list);
	for (int i = 0; i < KIND_MAX; i++) {
		const char *path = i == KIND_CONTROL ? a->cfg.socket : i == KIND_ATTEST ? a->cfg.attest_socket
							: a->cfg.metrics_tcp.family ? NULL : a->cfg.metrics_listen;

		if (cs->listen[i].fd < 0)
			continue;
		loop_del(a->loop, &cs->listen[i]);
		close(cs->listen[i].fd);
		if (path)
			unlink(path);
	}
	free(cs);
	a->clients = NULL;
}

static int listen_unix(const char *path, mode_t mode, int *ret)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_free_ char *dir = NULL;
	_cleanup_close_ int fd = -1;
	mode_t old;
	int r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	dir = strdup(path);
	if (!dir)
		return -ENOMEM;
	*strrchr(dir, '/') = '\0';
	if (*dir && (r = mkdir_p(dir, 0755)) < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* a socket file left by a dead agent: nobody answers on it */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return -EADDRINUSE;
	close(fd);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	old = umask(0177); /* created 0600; the attestation socket is opened up below */
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || listen(fd, 256) < 0 || chmod(path, mode) < 0)
		return -errno;
	*ret = TAKE_FD(fd);
	return 0;
}

static int listen_tcp(const struct fence_resolver *at, int *ret)
{
	struct sockaddr_storage ss = {};
	socklen_t len;
	_cleanup_close_ int fd = socket(at->family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int one = 1;

	if (fd < 0)
		return -errno;
	if (at->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(at->port);
		memcpy(&sin->sin_addr, at->addr, 4);
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(at->port);
		memcpy(&sin6->sin6_addr, at->addr, 16);
		len = sizeof(*sin6);
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 64) < 0)
		return -errno;
	*ret = TAKE_FD(fd);
	return 0;
}

/* One listening socket of a kind on the loop. */
static int listen_kind(struct agent *a, enum client_kind kind, int fd)
{
	a->clients->listen[kind] = (struct loop_source){ .fd = fd, .fn = accept_clients, .ud = a };
	return loop_add(a->loop, &a->clients->listen[kind], EPOLLIN);
}

int agent_listen(struct agent *a)
{
	int fd = -1, r;

	a->clients = calloc(1, sizeof(*a->clients));
	if (!a->clients)
		return -ENOMEM;
	for (int i = 0; i < KIND_MAX; i++)
		a->clients->listen[i].fd = -1;
	r = listen_unix(a->cfg.socket, 0600, &fd);
	if (r < 0) {
		log_error("Failed to listen on %s: %s", a->cfg.socket, strerror(-r));
		return r;
	}
	r = listen_kind(a, KIND_CONTROL, fd);
	if (r == 0 && (a->trust.n || a->creds)) { /* attestation, credentials */
		r = listen_unix(a->cfg.attest_socket, 0666, &fd);
		if (r < 0) {
			log_error("Failed to listen on %s: %s", a->cfg.attest_socket, strerror(-r));
			return r;
		}
		r = listen_kind(a, KIND_ATTEST, fd);
	}
	if (r == 0 && a->cfg.metrics_listen) {
		r = a->cfg.metrics_tcp.family ? listen_tcp(&a->cfg.metrics_tcp, &fd)
					      : listen_unix(a->cfg.metrics_listen, 0666, &fd);
		if (r < 0) {
			log_error("Failed to serve metrics on %s: %s", a->cfg.metrics_listen, strerror(-r));
			return r;
		}
		r = listen_kind(a, KIND_METRICS, fd);
		if (r == 0)
			log_info("Metrics on %s (GET /metrics)", a->cfg.metrics_listen);
	}
	return r;
}
