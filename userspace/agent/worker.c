// SPDX-License-Identifier: MIT
/*
 * The worker thread behind keys.c and exchange.c (see worker.h). Jobs are kept in one list,
 * newest first; the thread picks the oldest that has not run.
 */
#include "worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <string.h>
#include <unistd.h>

#include "loop.h"
#include "util.h"

struct worker {
	struct loop *loop;
	struct loop_source src; /* the eventfd: a job finished */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct worker_job *jobs; /* queued, running and finished */
	bool stop;
	void (*on_done)(void *ud);
	void *ud;
};

static struct worker_job *next_to_run(struct worker *w)
{
	struct worker_job *pick = NULL;

	for (struct worker_job *j = w->jobs; j; j = j->next)
		if (!j->done && !j->running)
			pick = j;
	return pick;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct worker_job *j;

		while (!w->stop && !(j = next_to_run(w)))
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->stop)
			break;
		j->running = true;
		pthread_mutex_unlock(&w->mu);
		j->run(j);
		pthread_mutex_lock(&w->mu);
		j->running = false;
		j->done = true;
		j->done_ns = now_ns(CLOCK_MONOTONIC);
		if (eventfd_write(w->src.fd, 1) < 0)
			log_error("worker: eventfd: %s", strerror(errno));
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static void worker_readable(struct loop_source *s, uint32_t events)
{
	struct worker *w = s->ud;
	eventfd_t n;

	if (eventfd_read(s->fd, &n) == 0)
		w->on_done(w->ud);
}

int worker_start(struct loop *loop, void (*on_done)(void *ud), void *ud, struct worker **ret)
{
	struct worker *w = calloc(1, sizeof(*w));
	int r;

	if (!w)
		return -ENOMEM;
	*w = (struct worker){ .loop = loop, .on_done = on_done, .ud = ud };
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->src = (struct loop_source){ .fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), .fn = worker_readable, .ud = w };
	r = w->src.fd < 0 ? -errno : loop_add(loop, &w->src, EPOLLIN);
	if (r == 0 && (r = -pthread_create(&w->thread, NULL, worker_main, w)) < 0)
		loop_del(loop, &w->src);
	if (r < 0) {
		if (w->src.fd >= 0)
			close(w->src.fd);
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->cv);
		free(w);
		return r;
	}
	*ret = w;
	return 0;
}

void worker_stop(struct worker **wp)
{
	struct worker *w = *wp;

	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	loop_del(w->loop, &w->src);
	close(w->src.fd);
	while (w->jobs) {
		struct worker_job *j = w->jobs;

		w->jobs = j->next;
		j->free(j);
	}
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w);
	*wp = NULL;
}

void worker_submit(struct worker *w, struct worker_job *j)
{
	j->running = j->done = false;
	pthread_mutex_lock(&w->mu);
	j->next = w->jobs;
	w->jobs = j;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

struct worker_job *worker_take(struct worker *w, bool (*want)(const struct worker_job *j, const void *arg),
			       const void *arg)
{
	struct worker_job *taken = NULL;

	pthread_mutex_lock(&w->mu);
	for (struct worker_job **pp = &w->jobs; *pp;) {
		struct worker_job *j = *pp;

		if (!j->done || (want && !want(j, arg))) {
			pp = &j->next;
			continue;
		}
		*pp = j->next;
		j->next = taken;
		taken = j;
	}
	pthread_mutex_unlock(&w->mu);
	return taken;
}

bool worker_has(struct worker *w, bool (*want)(const struct worker_job *j, const void *arg), const void *arg)
{
	bool found = false;

	pthread_mutex_lock(&w->mu);
	for (struct worker_job *j = w->jobs; j && !found; j = j->next)
		found = !j->done && want(j, arg);
	pthread_mutex_unlock(&w->mu);
	return found;
}
