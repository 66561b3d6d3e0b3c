// SPDX-License-Identifier: MIT
/*
 * JWKS fetching off the loop. Verification on the loop never touches the network: an issuer
 * whose keys are missing, stale or lack a kid marks itself `fetch_wanted`, the request waits,
 * and this worker thread runs the HTTPS part of the fetch (trust_fetch_run, which touches
 * nothing shared). The result comes back through an eventfd; the loop installs the keys and
 * re-runs the requests that waited. One fetch per issuer in flight at a time.
 */
#include "agent_state.h"

#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>

#include "https.h"
#include "httpstream.h"
#include "loop.h"

struct fetch_job {
	struct fetch_job *next;
	struct trust_fetch f;
};

struct keys_worker {
	struct loop_source src; /* the eventfd: done jobs are waiting */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct fetch_job *todo, *done;
	bool stop;
	void (*on_ready)(struct agent *a); /* requests parked for keys go on */
};

static void *worker_main(void *arg)
{
	struct keys_worker *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct fetch_job *j;

		while (!w->todo && !w->stop)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->stop)
			break;
		j = w->todo;
		w->todo = j->next;
		pthread_mutex_unlock(&w->mu);
		trust_fetch_run(&j->f);
		pthread_mutex_lock(&w->mu);
		j->next = w->done;
		w->done = j;
		if (eventfd_write(w->src.fd, 1) < 0)
			log_error("keys worker: eventfd: %s", strerror(errno));
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static void jobs_free(struct fetch_job *j)
{
	while (j) {
		struct fetch_job *next = j->next;

		trust_fetch_clear(&j->f);
		free(j);
		j = next;
	}
}

/* On the loop: install what the worker fetched, then wake the requests that waited. */
static void worker_done(struct loop_source *s, uint32_t events)
{
	struct agent *a = s->ud;
	struct keys_worker *w = a->keys;
	struct fetch_job *done;
	int64_t now = (int64_t)(now_ns(CLOCK_REALTIME) / 1000000000ULL);
	eventfd_t n;

	if (eventfd_read(s->fd, &n) < 0)
		return;
	pthread_mutex_lock(&w->mu);
	done = w->done;
	w->done = NULL;
	pthread_mutex_unlock(&w->mu);
	for (struct fetch_job *j = done; j; j = j->next) {
		/* a reload may have replaced the trust set meanwhile: match by issuer */
		struct trust_issuer *is = trust_find(&a->trust, j->f.issuer);

		if (!is)
			continue;
		if (trust_fetch_finish(is, &j->f, now) < 0)
			log_warning("Keys of issuer %s: %s", is->issuer, is->last_error);
		else
			log_info("Fetched the keys of issuer %s (%zu keys)", is->issuer, is->keys.n);
	}
	jobs_free(done);
	w->on_ready(a);
}

void keys_worker_kick(struct agent *a)
{
	struct keys_worker *w = a->keys;

	for (size_t i = 0; w && i < a->trust.n; i++) {
		struct trust_issuer *is = &a->trust.issuers[i];
		struct fetch_job *j;

		if (!is->fetch_wanted || is->fetch_inflight)
			continue;
		is->fetch_wanted = false;
		j = calloc(1, sizeof(*j));
		if (!j || trust_fetch_prepare(is, &j->f) < 0) {
			free(j);
			continue;
		}
		is->fetch_inflight = true;
		pthread_mutex_lock(&w->mu);
		j->next = w->todo;
		w->todo = j;
		pthread_cond_signal(&w->cv);
		pthread_mutex_unlock(&w->mu);
	}
}

void keys_warm(struct agent *a)
{
	int64_t now = (int64_t)(now_ns(CLOCK_REALTIME) / 1000000000ULL);

	for (size_t i = 0; i < a->trust.n; i++) {
		struct trust_issuer *is = &a->trust.issuers[i];

		is->defer_fetch = true;
		if (is->jwks_file && trust_issuer_refresh(is, now, false) < 0)
			log_warning("Keys of issuer %s not available yet: %s", is->issuer, is->last_error);
		else if (!is->jwks_file)
			is->fetch_wanted = true;
	}
	keys_worker_kick(a);
}

int keys_worker_start(struct agent *a, void (*on_ready)(struct agent *a))
{
	struct keys_worker *w = calloc(1, sizeof(*w));
	int r;

	if (!w)
		return -ENOMEM;
	w->on_ready = on_ready;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->src = (struct loop_source){ .fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), .fn = worker_done, .ud = a };
	r = w->src.fd < 0 ? -errno : loop_add(a->loop, &w->src, EPOLLIN);
	if (r < 0) {
		if (w->src.fd >= 0)
			close(w->src.fd);
		free(w);
		return r;
	}
	http_global_init();
	r = -pthread_create(&w->thread, NULL, worker_main, w);
	if (r < 0) {
		loop_del(a->loop, &w->src);
		close(w->src.fd);
		free(w);
		return r;
	}
	a->keys = w;
	return 0;
}

void keys_worker_stop(struct agent *a)
{
	struct keys_worker *w = a->keys;

	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL); /* at most one fetch: bounded by its 5 s timeout */
	loop_del(a->loop, &w->src);
	close(w->src.fd);
	jobs_free(w->todo);
	jobs_free(w->done);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w);
	a->keys = NULL;
}
