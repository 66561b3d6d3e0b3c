// SPDX-License-Identifier: MIT
/*
 * A feed: an API client (Kubernetes pods, Docker containers) on its own thread, which blocks
 * on the network as it likes, sending what it learns as JSON lines down a socket pair; the
 * loop reads the other end without blocking and hands each message to the feed's handler.
 */
#include "agent_state.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "loop.h"

#define FEED_LINE_MAX (1u << 20)

struct feed {
	struct loop_source src; /* our end */
	int wfd;		/* the worker's end */
	pthread_t thread;
	atomic_bool stop;
	feed_run_fn run;
	const void *cfg;
	feed_msg_fn on_msg;
	struct agent *a;
	char *buf;
	size_t len;
};

static void *feed_main(void *arg)
{
	struct feed *f = arg;

	f->run(f->cfg, f->wfd, &f->stop);
	return NULL;
}

static void feed_line(struct feed *f, const char *line, size_t len)
{
	json_t *m = json_loadb(line, len, 0, NULL); /* up to FEED_LINE_MAX: a pod's annotations can be large */

	if (json_is_object(m))
		f->on_msg(f->a, m);
	json_decref(m);
}

static void feed_readable(struct loop_source *s, uint32_t events)
{
	struct feed *f = s->ud;
	char chunk[16384];
	ssize_t n;

	while ((n = read(s->fd, chunk, sizeof(chunk))) > 0) {
		char *nb, *nl;

		if (f->len + (size_t)n > FEED_LINE_MAX) {
			f->len = 0; /* a line longer than any the worker writes: drop it */
			continue;
		}
		nb = realloc(f->buf, f->len + (size_t)n);
		if (!nb)
			return;
		f->buf = nb;
		memcpy(f->buf + f->len, chunk, (size_t)n);
		f->len += (size_t)n;
		while ((nl = memchr(f->buf, '\n', f->len))) {
			size_t l = (size_t)(nl - f->buf) + 1;

			feed_line(f, f->buf, l - 1);
			memmove(f->buf, f->buf + l, f->len - l);
			f->len -= l;
		}
	}
}

int feed_start(struct agent *a, feed_run_fn run, const void *cfg, feed_msg_fn on_msg, struct feed **ret)
{
	struct feed *f = calloc(1, sizeof(*f));
	int sp[2];

	if (!f || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
		free(f);
		return -errno;
	}
	fcntl(sp[0], F_SETFL, O_NONBLOCK);
	*f = (struct feed){ .src = { .fd = sp[0], .fn = feed_readable, .ud = f }, .wfd = sp[1], .run = run,
			    .cfg = cfg, .on_msg = on_msg, .a = a };
	atomic_init(&f->stop, false);
	if (loop_add(a->loop, &f->src, EPOLLIN) < 0 || pthread_create(&f->thread, NULL, feed_main, f) != 0) {
		close(sp[0]);
		close(sp[1]);
		free(f);
		return -EAGAIN;
	}
	*ret = f;
	return 0;
}

void feed_stop(struct agent *a, struct feed **fp)
{
	struct feed *f = *fp;

	if (!f)
		return;
	atomic_store(&f->stop, true);
	loop_del(a->loop, &f->src);
	close(f->src.fd); /* a worker blocked sending to a full socket gets EPIPE */
	pthread_join(f->thread, NULL); /* the clients check `stop` at least once a second */
	close(f->wfd);
	free(f->buf);
	free(f);
	*fp = NULL;
}
