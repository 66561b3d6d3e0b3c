/* SPDX-License-Identifier: MIT */
/*
 * A worker thread for the loop: jobs that block (an HTTPS fetch, a POST to a token endpoint)
 * run there one at a time, oldest first, and touch nothing shared; each finished job wakes the
 * loop through an eventfd, and the loop takes the results it wants.
 */
#ifndef MCPFENCE_WORKER_H
#define MCPFENCE_WORKER_H

#include <stdbool.h>
#include <stdint.h>

struct loop;
struct worker;

/* Embedded first in a caller's job; the worker owns it from worker_submit to worker_take. */
struct worker_job {
	struct worker_job *next;
	void (*run)(struct worker_job *j);  /* on the thread */
	void (*free)(struct worker_job *j); /* for jobs nobody took when the worker stops */
	bool running, done;
	uint64_t done_ns; /* CLOCK_MONOTONIC */
};

/* on_done(ud) runs on the loop after one or more jobs finished. */
int worker_start(struct loop *loop, void (*on_done)(void *ud), void *ud, struct worker **ret);
/* Waits for the job that runs (each bounds its own time), frees the rest. */
void worker_stop(struct worker **wp);
void worker_submit(struct worker *w, struct worker_job *j);
/* The finished jobs `want` accepts (every finished one when want is NULL), unlinked and
 * chained by ->next; the caller frees them. */
struct worker_job *worker_take(struct worker *w, bool (*want)(const struct worker_job *j, const void *arg),
			       const void *arg);
/* Whether a job `want` accepts is queued or running. */
bool worker_has(struct worker *w, bool (*want)(const struct worker_job *j, const void *arg), const void *arg);

#endif
