/* SPDX-License-Identifier: MIT */
/*
 * Kubelet-shaped cgroups. The kubelet puts each pod in one cgroup, by QoS class and driver:
 *   cgroupfs: kubepods/pod<uid>, kubepods/burstable/pod<uid>, kubepods/besteffort/pod<uid>
 *   systemd:  kubepods.slice/kubepods-pod<u>.slice, .../kubepods-burstable-pod<u>.slice, ...
 *             where <u> is the uid with '_' for '-'
 * and each container in a child of it. The pod's cgroup is the first path component of that
 * shape: a workload that names a cgroup of its own "pod<other uid>" below its pod stays in its
 * own pod.
 */
#ifndef MCPFENCE_PODCGROUP_H
#define MCPFENCE_PODCGROUP_H

#include <stdbool.h>
#include <stddef.h>

#define POD_UID_LEN 36 /* 8-4-4-4-12 hex digits and dashes */

/*
 * Find the pod cgroup in `path` (absolute, under `root`). Returns the length of the prefix of
 * `path` that is the pod's cgroup and writes the uid (with dashes) to uid[POD_UID_LEN + 1];
 * -ENOENT when no component below `root` has the kubelet's shape.
 */
int pod_cgroup_find(const char *root, const char *path, char uid[POD_UID_LEN + 1]);

/*
 * The pod cgroup the kubelet makes for a pod, relative to its kubepods cgroup (cgroupfs:
 * "kubepods", systemd: "kubepods.slice"), from the pod's status.qosClass. -EINVAL for a uid or
 * QoS class that is not the kubelet's.
 */
int pod_cgroup_path(bool systemd, const char *qos, const char *uid, char *buf, size_t len);

/* 1 when s is a pod uid in the kubelet's spelling (dashes, or underscores for systemd). */
int pod_uid_valid(const char *s, size_t len, char sep);

#endif
