// SPDX-License-Identifier: MIT
/*
 * Token exchanges (RFC 8693, RFC 7523 client assertions) on a worker thread: a POST to a
 * token endpoint over verified HTTPS must never hold up the loop. A job is keyed by the serial
 * of the client that asked; its result waits here until that client's request runs again.
 */
#include "agent_state.h"

#include "httpstream.h"
#include "worker.h"

#define EXCHANGE_TIMEOUT_MS 5000 /* within the 10 s a parked client waits */
#define EXCHANGE_REPLY_MAX (64u << 10)
#define EXCHANGE_KEEP_NS (30ULL * 1000000000ULL) /* an answer nobody came back for */

struct exchange_job {
	struct worker_job job;
	uint64_t serial;
	char *url, *ca_file, *form;
	struct exchange_result res;
};

static void job_free(struct worker_job *job)
{
	struct exchange_job *j = (struct exchange_job *)job;

	free(j->url);
	free(j->ca_file);
	free(j->form);
	free(j->res.body);
	free(j);
}

static void job_run(struct worker_job *job)
{
	struct exchange_job *j = (struct exchange_job *)job;
	struct http_body b = { .max = EXCHANGE_REPLY_MAX };

	j->res.r = http_get(&(struct http_request){ .url = j->url, .ca_file = j->ca_file, .form = j->form,
						    .timeout_ms = EXCHANGE_TIMEOUT_MS },
			    &b, j->res.error, sizeof(j->res.error));
	j->res.status = b.status;
	j->res.body = b.buf; /* the reply, or an error's body: OAuth errors come as JSON */
}

static void jobs_done(void *ud)
{
	struct agent *a = ud;

	a->on_exchange_done(a);
}

int exchange_worker_start(struct agent *a, void (*on_done)(struct agent *a))
{
	a->on_exchange_done = on_done;
	return worker_start(a->loop, jobs_done, a, &a->exchanges);
}

/* At most one exchange runs: bounded by its timeout. */
void exchange_worker_stop(struct agent *a)
{
	worker_stop(&a->exchanges);
}

int exchange_submit(struct agent *a, uint64_t serial, const char *url, const char *ca_file, char *form)
{
	struct exchange_job *j = a->exchanges ? calloc(1, sizeof(*j)) : NULL;

	if (!j || !(j->url = strdup(url)) || (ca_file && !(j->ca_file = strdup(ca_file)))) {
		if (j)
			job_free(&j->job);
		free(form);
		return -ENOMEM;
	}
	j->job.run = job_run;
	j->job.free = job_free;
	j->serial = serial;
	j->form = form;
	worker_submit(a->exchanges, &j->job);
	return 0;
}

struct claim {
	uint64_t serial, now;
};

static bool is_callers(const struct worker_job *job, const void *arg)
{
	return ((const struct exchange_job *)job)->serial == ((const struct claim *)arg)->serial;
}

/* The caller's answer, and answers whose clients went away. */
static bool is_claimed(const struct worker_job *job, const void *arg)
{
	const struct claim *c = arg;

	return is_callers(job, arg) || c->now - job->done_ns > EXCHANGE_KEEP_NS;
}

int exchange_take(struct agent *a, uint64_t serial, struct exchange_result *ret)
{
	struct claim c = { .serial = serial, .now = now_ns(CLOCK_MONOTONIC) };
	struct worker_job *taken;
	int r = -ENOENT;

	if (!a->exchanges)
		return -ENOENT;
	taken = worker_take(a->exchanges, is_claimed, &c);
	while (taken) {
		struct exchange_job *j = (struct exchange_job *)taken;

		taken = taken->next;
		if (j->serial == serial && r == -ENOENT) {
			*ret = j->res;
			j->res.body = NULL;
			r = 1;
		}
		job_free(&j->job);
	}
	if (r == -ENOENT && worker_has(a->exchanges, is_callers, &c))
		r = 0;
	return r;
}
