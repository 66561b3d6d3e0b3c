// SPDX-License-Identifier: MIT
#include "loop.h"
#include "util.h"

#include <sys/epoll.h>

struct loop {
	int epfd;
};

int loop_new(struct loop **ret)
{
	struct loop *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		int r = -errno;

		free(l);
		return r;
	}
	*ret = l;
	return 0;
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	close(l->epfd);
	free(l);
}

static int loop_ctl(struct loop *l, int op, struct loop_source *s, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = s };

	return epoll_ctl(l->epfd, op, s->fd, &ev) < 0 ? -errno : 0;
}

int loop_add(struct loop *l, struct loop_source *s, uint32_t events)
{
	return loop_ctl(l, EPOLL_CTL_ADD, s, events);
}

int loop_mod(struct loop *l, struct loop_source *s, uint32_t events)
{
	return loop_ctl(l, EPOLL_CTL_MOD, s, events);
}

void loop_del(struct loop *l, struct loop_source *s)
{
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, s->fd, NULL);
}

/*
 * One handler may free another ready source (a client closed while the ring was drained), so
 * the batch is one event: the rest stay queued in the kernel for the next turn.
 */
int loop_turn(struct loop *l, int timeout_ms)
{
	struct epoll_event ev;
	int n = epoll_wait(l->epfd, &ev, 1, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	if (n == 1) {
		struct loop_source *s = ev.data.ptr;

		s->fn(s, ev.events);
	}
	return 0;
}
