/* SPDX-License-Identifier: MIT */
/*
 * One resource of the Kubernetes API, listed and watched: LIST PATH?SELECTOR, then WATCH from
 * the list's resourceVersion with bookmarks. A watch that ends is resumed from the last
 * resourceVersion seen; 410 Gone (too old) means LIST again; errors back off 1 s doubling to
 * 30 s. The service-account token is read again for every request (the kubelet rotates it).
 * Runs on its own thread; what it learns goes out as JSON lines on a file descriptor:
 *   {"event":"LISTING","resource":PATH}                                  before each (re)list
 *   what emit() writes for each object ADDED, MODIFIED or DELETED
 *   {"event":"LISTED","resource":PATH,"count":N,"resource_version":RV}   after each (re)list
 *   {"event":"ERROR","error":".."}                                       before the backoff
 */
#ifndef MCPFENCE_WATCH_H
#define MCPFENCE_WATCH_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>

struct k8s_api {
	char *api;	  /* https://host:port */
	char *token_file; /* bearer token */
	char *ca_file;	  /* the API server's CA */
	char *node;	  /* this node: spec.nodeName */
};

struct k8s_watch {
	const struct k8s_api *api;
	const char *path;     /* "/api/v1/pods" */
	const char *selector; /* "fieldSelector=spec.nodeName%3Dnode-a", or NULL */
	/* one line (control_emit) for an object and its watch event type */
	void (*emit)(int fd, const char *event, json_t *obj);
};

/* A member of o (a) or of o's member a (b), when it is a string. */
const char *k8s_str(json_t *o, const char *a, const char *b);
/* The bearer token, read afresh (the kubelet rotates it), trailing newline cut; -errno with err. */
int k8s_token_read(const struct k8s_api *api, char **ret, char *err, size_t errlen);

/* Until *stop: list, watch, resume, relist. Returns when *stop is set (within about 1 s). */
void k8s_watch_run(const struct k8s_watch *w, int out_fd, atomic_bool *stop);

/* The pods of api->node: {"event":..,"uid":..,"namespace":..,"name":..,"qos":..,
 * "annotations":{..},"labels":{..}} for each. */
void podwatch_run(const struct k8s_api *api, int out_fd, atomic_bool *stop);

#endif
