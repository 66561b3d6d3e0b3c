// SPDX-License-Identifier: MIT
/*
 * JWKS fetching off the loop. Verification on the loop never touches the network: an issuer
 * whose keys are missing, stale or lack a kid marks itself `fetch_wanted`, the request waits,
 * and a worker thread (worker.c) runs the HTTPS part of the fetch (trust_fetch_run, which touches
 * nothing shared). The result comes back through an eventfd; the loop installs the keys and
 * re-runs the requests that waited. One fetch per issuer in flight at a time.
 */
#include "agent_state.h"

#include <time.h>

#include "https.h"
#include "httpstream.h"
#include "worker.h"

struct fetch_job {
	struct worker_job job;
	struct trust_fetch f;
};

static void fetch_run(struct worker_job *job)
{
	trust_fetch_run(&((struct fetch_job *)job)->f);
}

static void fetch_free(struct worker_job *job)
{
	struct fetch_job *j = (struct fetch_job *)job;

	trust_fetch_clear(&j->f);
	free(j);
}

/* On the loop: install what the worker fetched, then wake the requests that waited. */
static void fetches_done(void *ud)
{
	struct agent *a = ud;
	int64_t now = (int64_t)(now_ns(CLOCK_REALTIME) / 1000000000ULL);
	struct worker_job *done = worker_take(a->keys, NULL, NULL);

	while (done) {
		struct fetch_job *j = (struct fetch_job *)done;
		/* a reload may have replaced the trust set meanwhile: match by issuer */
		struct trust_issuer *is = trust_find(&a->trust, j->f.issuer);

		done = done->next;
		if (is && trust_fetch_finish(is, &j->f, now) < 0)
			log_warning("Keys of issuer %s: %s", is->issuer, is->last_error);
		else if (is)
			log_info("Fetched the keys of issuer %s (%zu keys)", is->issuer, is->keys.n);
		fetch_free(&j->job);
	}
	a->on_keys_ready(a);
}

void keys_worker_kick(struct agent *a)
{
	for (size_t i = 0; a->keys && i < a->trust.n; i++) {
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
		j->job.run = fetch_run;
		j->job.free = fetch_free;
		worker_submit(a->keys, &j->job);
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
	a->on_keys_ready = on_ready;
	http_global_init();
	return worker_start(a->loop, fetches_done, a, &a->keys);
}

/* At most one fetch runs: bounded by its 5 s timeout. */
void keys_worker_stop(struct agent *a)
{
	worker_stop(&a->keys);
}
