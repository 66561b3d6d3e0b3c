// SPDX-License-Identifier: MIT
/* The pods of one node (k8s/watch.h), as the agent needs them. */
#include "watch.h"

#include <stdlib.h>

#include "control.h"
#include "util.h"

static void emit_pod(int fd, const char *event, json_t *pod)
{
	json_t *meta = json_object_get(pod, "metadata");

	if (!k8s_str(meta, "uid", NULL))
		return;
	control_emit(fd, json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:O?, s:O?}", "event", event, "uid",
				   k8s_str(meta, "uid", NULL), "namespace", k8s_str(meta, "namespace", NULL), "name",
				   k8s_str(meta, "name", NULL), "qos", k8s_str(pod, "status", "qosClass"), "annotations",
				   json_object_get(meta, "annotations"), "labels", json_object_get(meta, "labels")));
}

void podwatch_run(const struct k8s_api *api, int out_fd, atomic_bool *stop)
{
	_cleanup_free_ char *selector = strdup_printf("fieldSelector=spec.nodeName%%3D%s", api->node);
	struct k8s_watch w = { .api = api, .path = "/api/v1/pods", .selector = selector, .emit = emit_pod };

	if (selector)
		k8s_watch_run(&w, out_fd, stop);
}
