/* SPDX-License-Identifier: MIT */
/*
 * Who is on the other end of the attestation socket, from the kernel only: SO_PEERCRED for
 * pid and uid, SO_PEERPIDFD (Linux 6.5+) to pin the process, its start time and uid from
 * /proc, and its cgroup. Never from the token. attest_peer_still_same() closes the PID-reuse
 * window: the process must be the one that connected when the binding is written.
 */
#ifndef MCPFENCE_ATTEST_H
#define MCPFENCE_ATTEST_H

#include <stdint.h>
#include <sys/types.h>

struct attest_peer {
	pid_t pid;
	uid_t uid;
	int pidfd; /* -1 where SO_PEERPIDFD is not available */
	uint64_t start_time; /* clock ticks since boot, /proc/PID/stat field 22 */
	char *cgroup_abs;    /* absolute path under the cgroup2 mount */
};

int attest_peer_get(int fd, const char *cgroup_mount, struct attest_peer *out);
/* 0 if the peer process is still alive and still the one that connected. */
int attest_peer_still_same(const struct attest_peer *p);
void attest_peer_clear(struct attest_peer *p);
/* Whether this kernel offers SO_PEERPIDFD (for `probe` and logs). */


#endif
