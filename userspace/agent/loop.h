/* SPDX-License-Identifier: MIT */
/*
 * One epoll loop for the agent. A source is a descriptor with a handler; handlers must not
 * block (every descriptor is non-blocking, slow work goes to a worker thread and comes back
 * through a descriptor). Deadlines are a source too: the agent's one-second timerfd (agent.c).
 */
#ifndef MCPFENCE_LOOP_H
#define MCPFENCE_LOOP_H

#include <stdint.h>

struct loop;
struct loop_source;
typedef void (*loop_handler)(struct loop_source *s, uint32_t events);

struct loop_source {
	int fd;
	loop_handler fn;
	void *ud;
};

int loop_new(struct loop **ret);
void loop_free(struct loop *l);
int loop_add(struct loop *l, struct loop_source *s, uint32_t events);
int loop_mod(struct loop *l, struct loop_source *s, uint32_t events);
void loop_del(struct loop *l, struct loop_source *s);
/* Wait at most timeout_ms for events and run their handlers; -errno on failure. */
int loop_turn(struct loop *l, int timeout_ms);

#endif
