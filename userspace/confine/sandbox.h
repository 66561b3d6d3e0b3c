/* SPDX-License-Identifier: MIT */
/*
 * What `mcpfence run` puts around a workload besides its cgroup, so that a workload running as
 * root cannot reach the agent or other processes:
 *   - its own mount namespace, in which the agent's files, sockets and pins, every bpffs and
 *     every cgroup v1 hierarchy are inaccessible (an empty read-only mount on top, as systemd's
 *     InaccessiblePaths= does), the cgroup2 mounts show its own subtree only, and /proc shows
 *     its own PID namespace;
 *   - its own PID namespace (made by the caller, see sandbox_pid1()): the agent and every
 *     process outside are invisible, so no kill, ptrace, pidfd_getfd or /proc/PID/mem;
 *   - a seccomp filter: socket() only for the address families the workload needs
 *     (AF_UNIX, AF_INET, AF_INET6, AF_NETLINK), no io_uring unless asked for (its SOCKET op
 *     would bypass the family filter), no syscalls of another ABI.
 */
#ifndef MCPFENCE_SANDBOX_H
#define MCPFENCE_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

struct sandbox_opts {
	char **hide; /* NULL-terminated: paths to make inaccessible; missing ones are skipped */
	bool allow_io_uring;
};

/* In the first process of the new PID namespace, after it joined its cgroup: new cgroup and
 * mount namespaces, the mounts above. Returns 0 or -errno, *step naming what failed. */
int sandbox_mounts(const struct sandbox_opts *o, const char **step);
/* In the workload process, after caps_confine() (which sets no_new_privs). */
int sandbox_seccomp(const struct sandbox_opts *o);
/* The names of the families socket() may create, for help and docs. */
extern const char sandbox_families_text[];

#endif
