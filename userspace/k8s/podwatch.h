/* SPDX-License-Identifier: MIT */
/*
 * The pods of one node, from the Kubernetes API: LIST /api/v1/pods with a spec.nodeName field
 * selector, then WATCH from the list's resourceVersion with bookmarks. A watch that ends is
 * resumed from the last resourceVersion seen; 410 Gone (too old) means LIST again; errors back
 * off 1 s doubling to 30 s. The service-account token is read again for every request (the
 * kubelet rotates it). Runs on its own thread; what it learns goes out as JSON lines on a file
 * descriptor:
 *   {"event":"ADDED"|"MODIFIED"|"DELETED","uid":..,"namespace":..,"name":..,"qos":..,
 *    "annotations":{..},"labels":{..}}
 *   {"event":"LISTED","pods":N,"resource_version":RV}       after each (re)list
 *   {"event":"ERROR","error":".."}                          a failure, before the backoff
 */
#ifndef MCPFENCE_PODWATCH_H
#define MCPFENCE_PODWATCH_H

#include <stdatomic.h>
#include <stdbool.h>

struct podwatch_config {
	char *api;	  /* https://host:port */
	char *token_file; /* bearer token */
	char *ca_file;	  /* the API server's CA */
	char *node;	  /* spec.nodeName */
};

/* Until *stop: list, watch, resume, relist. Returns when *stop is set (within about 1 s). */
void podwatch_run(const struct podwatch_config *cfg, int out_fd, atomic_bool *stop);

#endif
