// SPDX-License-Identifier: MIT
/*
 * The agent's two Unix sockets. Every client is a small state machine on the loop:
 *   reading  -> one request line, non-blocking, however slowly it arrives
 *   keys     -> (attest only) parked while the worker fetches the issuer's keys
 *   writing  -> the reply, non-blocking
 * with one deadline for the whole request, so that a silent or trickling client costs a
 * descriptor and a little memory, never the loop's time. Clients are capped per uid and per
 * socket; a refused connection gets a one-line error and is closed at once.
 */
#include "agent_state.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>

#include "control.h"
#include "loop.h"

#define CLIENT_DEADLINE_MS 2000	      /* read, handle and write one request */
#define CLIENT_KEYS_DEADLINE_MS 10000 /* a request waiting for a key fetch (https: 5 s each) */
#define CLIENTS_PER_SOCKET 128
#define CLIENTS_PER_UID 16

enum client_state { CLIENT_READING, CLIENT_KEYS, CLIENT_WRITING };

struct client {
	struct loop_source src; /* .ud: the agent */
	struct client *next;
	struct op_caller who;
	enum client_state state;
	uint64_t deadline_ns; /* CLOCK_MONOTONIC */
	char *in;
	size_t in_len;
	json_t *req; /* while parked */
	char *out;
	size_t out_len, out_off;
};

/* The listening sockets are loop sources too; .ud is the agent. */
static struct loop_source listen_src[2];

static uint64_t deadline_in(unsigned ms)
{
	return now_ns(CLOCK_MONOTONIC) + (uint64_t)ms * 1000000ULL;
}

static void client_free(struct agent *a, struct client *c)
{
	struct client **pp;

	for (pp = &a->clients; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	a->nclients[c->who.attest_socket]--;
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
			loop_mod(a->loop, &c->src, EPOLLOUT);
			return;
		}
		if (k <= 0)
			break; /* the peer went away: nothing more to say */
		c->out_off += (size_t)k;
	}
	client_free(a, c);
}

/* Hand the reply to the client; `reply` is consumed. */
static void client_reply(struct agent *a, struct client *c, json_t *reply)
{
	c->out = reply ? control_format(reply, &c->out_len) : NULL;
	json_decref(reply);
	if (!c->out) {
		client_free(a, c);
		return;
	}
	c->state = CLIENT_WRITING;
	c->out_off = 0;
	client_write_some(a, c);
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
	client_reply(a, c, reply);
}

static void client_read(struct agent *a, struct client *c)
{
	char *nl;
	int r;

	if (!c->in && !(c->in = malloc(CONTROL_LINE_MAX + 1))) {
		client_free(a, c);
		return;
	}
	for (;;) {
		ssize_t k = recv(c->src.fd, c->in + c->in_len, CONTROL_LINE_MAX - c->in_len, MSG_DONTWAIT);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return; /* the rest later, within the deadline */
		if (k < 0 || (k == 0 && c->in_len == 0)) {
			client_free(a, c);
			return;
		}
		c->in_len += (size_t)k;
		nl = memchr(c->in + c->in_len - (size_t)k, '\n', (size_t)k);
		if (nl || k == 0 || c->in_len >= CONTROL_LINE_MAX)
			break;
	}
	r = control_parse(c->in, c->in_len, &c->req);
	free(c->in);
	c->in = NULL;
	if (r < 0) {
		client_reply(a, c, error_reply(r == -EMSGSIZE ? "request too long (64 KiB at most)"
							       : "malformed request: one JSON object per line expected"));
		return;
	}
	client_handle(a, c);
}

static void client_event(struct loop_source *s, uint32_t events)
{
	struct client *c = (struct client *)s;
	struct agent *a = s->ud;

	if (c->state == CLIENT_READING)
		client_read(a, c);
	else if (c->state == CLIENT_WRITING)
		client_write_some(a, c);
}

static unsigned clients_of_uid(struct agent *a, uid_t uid, bool attest_socket)
{
	unsigned n = 0;

	for (struct client *c = a->clients; c; c = c->next)
		n += c->who.uid == uid && c->who.attest_socket == attest_socket;
	return n;
}

/* Best effort, never blocking: the refused client learns why. */
static void refuse(int fd, const char *why)
{
	size_t len;
	json_t *e = error_reply(why);
	_cleanup_free_ char *line = e ? control_format(e, &len) : NULL;

	json_decref(e);
	if (line && send(fd, line, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("refused client: %s", strerror(errno));
	close(fd);
}

static void accept_clients(struct loop_source *s, uint32_t events)
{
	struct agent *a = s->ud;
	bool attest = s == &listen_src[1];

	/* events first: a client waiting on us should not starve the ring */
	ring_buffer__consume(a->rb);
	for (;;) {
		int fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		struct ucred cred;
		socklen_t len = sizeof(cred);
		struct client *c;

		if (fd < 0)
			return;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
			close(fd);
			continue;
		}
		if (a->nclients[attest] >= CLIENTS_PER_SOCKET) {
			refuse(fd, "too many clients; try again");
			continue;
		}
		if (clients_of_uid(a, cred.uid, attest) >= CLIENTS_PER_UID) {
			refuse(fd, "too many clients of this uid; try again");
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->src = (struct loop_source){ .fd = fd, .fn = client_event, .ud = a };
		c->who = (struct op_caller){ .fd = fd, .uid = cred.uid, .pid = cred.pid, .attest_socket = attest };
		c->deadline_ns = deadline_in(CLIENT_DEADLINE_MS);
		if (loop_add(a->loop, &c->src, EPOLLIN) < 0) {
			close(fd);
			free(c);
			continue;
		}
		c->next = a->clients;
		a->clients = c;
		a->nclients[attest]++;
	}
}

/* Called every turn of the loop: clients past their deadline are answered or dropped. */
void agent_clients_expire(struct agent *a)
{
	uint64_t now = now_ns(CLOCK_MONOTONIC);
	struct client *c = a->clients, *next;

	for (; c; c = next) {
		next = c->next;
		if (c->deadline_ns > now)
			continue;
		if (c->state == CLIENT_KEYS) {
			json_decref(c->req);
			c->req = NULL;
			c->deadline_ns = deadline_in(CLIENT_DEADLINE_MS);
			client_reply(a, c, json_pack("{s:b, s:s, s:s}", "ok", 0, "error", "keys_unavailable",
						     "detail", "the issuer's keys did not arrive in time"));
		} else {
			client_free(a, c); /* a silent reader, or a reader that does not read */
		}
	}
}

void agent_clients_keys_ready(struct agent *a)
{
	struct client *c = a->clients, *next;

	for (; c; c = next) {
		next = c->next; /* handling may free c */
		if (c->state == CLIENT_KEYS)
			client_handle(a, c);
	}
}

bool agent_clients_pending(struct agent *a)
{
	return a->clients != NULL;
}

void agent_clients_close(struct agent *a)
{
	while (a->clients)
		client_free(a, a->clients);
	for (int i = 0; i < 2; i++) {
		const char *path = i ? a->cfg.attest_socket : a->cfg.socket;
		int *fd = i ? &a->attest_fd : &a->listen_fd;

		if (*fd < 0)
			continue;
		loop_del(a->loop, &listen_src[i]);
		close(*fd);
		unlink(path);
		*fd = -1;
	}
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

int agent_listen(struct agent *a)
{
	int r = listen_unix(a->cfg.socket, 0600, &a->listen_fd);

	if (r < 0) {
		log_error("Failed to listen on %s: %s", a->cfg.socket, strerror(-r));
		return r;
	}
	listen_src[0] = (struct loop_source){ .fd = a->listen_fd, .fn = accept_clients, .ud = a };
	r = loop_add(a->loop, &listen_src[0], EPOLLIN);
	if (r == 0 && a->trust.n) {
		r = listen_unix(a->cfg.attest_socket, 0666, &a->attest_fd);
		if (r < 0) {
			log_error("Failed to listen on %s: %s", a->cfg.attest_socket, strerror(-r));
			return r;
		}
		listen_src[1] = (struct loop_source){ .fd = a->attest_fd, .fn = accept_clients, .ud = a };
		r = loop_add(a->loop, &listen_src[1], EPOLLIN);
	}
	return r;
}
