// SPDX-License-Identifier: MIT
/*
 * Token exchanges (RFC 8693, RFC 7523 client assertions) on a worker thread: a POST to a
 * token endpoint over verified HTTPS must never hold up the loop. A job is keyed by the serial
 * of the client that asked; its result waits here until that client's request runs again.
 */
#include "agent_state.h"

#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include "httpstream.h"
#include "loop.h"

#define EXCHANGE_TIMEOUT_MS 5000 /* within the 10 s a parked client waits */
#define EXCHANGE_REPLY_MAX (64u << 10)
#define EXCHANGE_KEEP_NS (30ULL * 1000000000ULL) /* an answer nobody came back for */

struct exchange_job {
	struct exchange_job *next;
	uint64_t serial;
	char *url, *ca_file, *form;
	bool done;
	uint64_t done_ns;
	struct exchange_result res;
};

struct exchange_worker {
	struct loop_source src; /* the eventfd: a job finished */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct exchange_job *jobs; /* every job, queued, running or done */
	bool stop;
	void (*on_done)(struct agent *a);
};

static void job_free(struct exchange_job *j)
{
	free(j->url);
	free(j->ca_file);
	free(j->form);
	free(j->res.body);
	free(j);
}

static struct exchange_job *job_next(struct exchange_worker *w)
{
	struct exchange_job *pick = NULL;

	for (struct exchange_job *j = w->jobs; j; j = j->next)
		if (!j->done && !j->res.running)
			pick = j; /* the oldest: jobs are pushed at the front */
	return pick;
}

static void *worker_main(void *arg)
{
	struct exchange_worker *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct exchange_job *j;
		struct http_body b = { .max = EXCHANGE_REPLY_MAX };
		char err[256] = "";
		int r;

		while (!w->stop && !(j = job_next(w)))
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->stop)
			break;
		j->res.running = true;
		pthread_mutex_unlock(&w->mu);
		r = http_get(&(struct http_request){ .url = j->url, .ca_file = j->ca_file, .form = j->form,
						     .timeout_ms = EXCHANGE_TIMEOUT_MS },
			     &b, err, sizeof(err));
		pthread_mutex_lock(&w->mu);
		j->res.r = r;
		j->res.status = b.status;
		j->res.body = b.buf; /* the reply, or an error's body: OAuth errors come as JSON */
		snprintf(j->res.error, sizeof(j->res.error), "%s", err);
		j->done = true;
		j->done_ns = now_ns(CLOCK_MONOTONIC);
		eventfd_write(w->src.fd, 1);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static void worker_done(struct loop_source *s, uint32_t events)
{
	struct agent *a = s->ud;
	eventfd_t n;

	if (eventfd_read(s->fd, &n) == 0)
		a->exchanges->on_done(a);
}

int exchange_worker_start(struct agent *a, void (*on_done)(struct agent *a))
{
	struct exchange_worker *w = calloc(1, sizeof(*w));
	int r;

	if (!w)
		return -ENOMEM;
	w->on_done = on_done;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->src = (struct loop_source){ .fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), .fn = worker_done, .ud = a };
	r = w->src.fd < 0 ? -errno : loop_add(a->loop, &w->src, EPOLLIN);
	if (r == 0)
		r = -pthread_create(&w->thread, NULL, worker_main, w);
	if (r < 0) {
		if (w->src.fd >= 0) {
			loop_del(a->loop, &w->src);
			close(w->src.fd);
		}
		free(w);
		return r;
	}
	a->exchanges = w;
	return 0;
}

void exchange_worker_stop(struct agent *a)
{
	struct exchange_worker *w = a->exchanges;

	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL); /* at most one exchange: bounded by its timeout */
	loop_del(a->loop, &w->src);
	close(w->src.fd);
	while (w->jobs) {
		struct exchange_job *j = w->jobs;

		w->jobs = j->next;
		job_free(j);
	}
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w);
	a->exchanges = NULL;
}

int exchange_submit(struct agent *a, uint64_t serial, const char *url, const char *ca_file, char *form)
{
	struct exchange_worker *w = a->exchanges;
	struct exchange_job *j = w ? calloc(1, sizeof(*j)) : NULL;

	if (!j || !(j->url = strdup(url)) || (ca_file && !(j->ca_file = strdup(ca_file)))) {
		if (j)
			job_free(j);
		free(form);
		return -ENOMEM;
	}
	j->serial = serial;
	j->form = form;
	pthread_mutex_lock(&w->mu);
	j->next = w->jobs;
	w->jobs = j;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

int exchange_take(struct agent *a, uint64_t serial, struct exchange_result *ret)
{
	struct exchange_worker *w = a->exchanges;
	uint64_t now = now_ns(CLOCK_MONOTONIC);
	int r = -ENOENT;

	if (!w)
		return -ENOENT;
	pthread_mutex_lock(&w->mu);
	for (struct exchange_job **pp = &w->jobs; *pp;) {
		struct exchange_job *j = *pp;

		if (j->serial == serial && r == -ENOENT) {
			r = j->done;
			if (!j->done) {
				pp = &j->next;
				continue;
			}
			*ret = j->res;
			j->res.body = NULL;
		} else if (!(j->done && now - j->done_ns > EXCHANGE_KEEP_NS)) {
			pp = &j->next;
			continue;
		}
		*pp = j->next; /* taken, or an answer whose client went away */
		job_free(j);
	}
	pthread_mutex_unlock(&w->mu);
	return r;
}
