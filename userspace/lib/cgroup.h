/* SPDX-License-Identifier: MIT */
/* cgroup v2 helpers: find the mount, resolve paths, ids, create/enter/kill/remove. */
#ifndef MCPFENCE_CGROUP_H
#define MCPFENCE_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

int cgroup_mount_find(char **ret);
/* Where in the hierarchy the mount starts, as /proc/PID/cgroup would name it ("/" for all). */
int cgroup_mount_root(const char *mount, char **ret);
/*
 * Join the initial (the host's) cgroup namespace through any process we can see in it (with the
 * host's PID namespace: the kubelet, the runtime): a DaemonSet's private cgroup namespace hides
 * the pods' cgroups from /proc/PID/cgroup and forbids moving a process into them. 1 if joined,
 * 0 if already there, -ENOENT when no visible process is in it, -errno.
 */
int cgroup_ns_join_initial(void);
int cgroup_mount_nsdelegate(const char *mount_path, bool ensure);
/* An absolute path inside the cgroup2 mount for `path` (relative paths are relative to it). */
int cgroup_path_resolve(const char *mount, const char *path, char **ret);
/* The path as the kernel shows it: relative to the mount, with a leading '/'. */
const char *cgroup_path_display(const char *mount, const char *abs);
int cgroup_id_from_path(const char *abs, uint64_t *ret);
int cgroup_level(const char *mount, const char *abs);
int cgroup_is_under(const char *root_abs, const char *abs);
int cgroup_create(const char *abs);
int cgroup_enter(const char *abs, pid_t pid);
int cgroup_of_pid(const char *mount, pid_t pid, char **ret_abs);
int cgroup_kill_all(const char *abs);
/* Fork a child that joins cgroup `abs` and exits with fn(ud) (fn returning 0-125); waits for it.
 * Returns the child's exit status, 126 if it could not join, or -errno. */
int cgroup_run_child(const char *abs, int (*fn)(void *ud), void *ud);
int cgroup_remove(const char *abs);
int cgroup_remove_tree(const char *abs);
int cgroup_walk(const char *root_abs, int (*fn)(uint64_t id, const char *abs, void *ud), void *ud);
/* By walking the tree below root_abs: for callers that hold no cgroup2 mount fd. */
int cgroup_path_from_id(const char *root_abs, uint64_t id, char **ret_abs);
/*
 * By the id alone, as a file handle on the mount (open_by_handle_at: needs
 * CAP_DAC_READ_SEARCH): no walk, whatever the number of cgroups. exists: 1, 0 (removed) or
 * -errno when the kernel cannot say (then assume it exists).
 */
int cgroup_exists_by_id(int mount_fd, uint64_t id);
int cgroup_path_by_id(int mount_fd, uint64_t id, char **ret_abs);
/* By id where the kernel can answer (mount_fd >= 0), else by walking below `walk_abs`;
 * -ENOENT for a cgroup that is gone. */
int cgroup_path_of_id(int mount_fd, const char *walk_abs, uint64_t id, char **ret_abs);

#endif
