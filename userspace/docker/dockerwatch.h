/* SPDX-License-Identifier: MIT */
/*
 * The running containers of a Docker daemon, from its Engine API on the Unix socket: list the
 * running containers, then follow GET /events (container start events) from just before the
 * list, so that none is missed in between. Each started container is inspected for its labels
 * and main process. A stream that ends (the daemon restarted) is followed by a new list; errors
 * back off 1 s doubling to 30 s. Runs on its own thread; what it learns goes out as JSON lines:
 *   {"event":"start","id":..,"name":..,"image":..,"pid":N,"labels":{..}}
 *   {"event":"LISTED","containers":N}                       after each list
 *   {"event":"ERROR","error":".."}                          a failure, before the backoff
 */
#ifndef MCPFENCE_DOCKERWATCH_H
#define MCPFENCE_DOCKERWATCH_H

#include <stdatomic.h>
#include <stdbool.h>

struct dockerwatch_config {
	char *socket; /* the daemon's API socket, /var/run/docker.sock */
};

/* Until *stop: list, follow events, list again. Returns when *stop is set (within about 1 s). */
void dockerwatch_run(const struct dockerwatch_config *cfg, int out_fd, atomic_bool *stop);

#endif
