// SPDX-License-Identifier: MIT
#include "attest.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "cgroup.h"
#include "util.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

/* Field 22 of /proc/PID/stat; the comm field may hold spaces and parentheses. */
static int proc_start_time(pid_t pid, uint64_t *ret)
{
	char path[64];
	_cleanup_free_ char *text = NULL;
	const char *p;
	int field = 2;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_file(path, 4096, &text, NULL) < 0)
		return -ESRCH;
	p = strrchr(text, ')');
	if (!p)
		return -EINVAL;
	for (p++; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	*ret = strtoull(p, NULL, 10);
	return 0;
}

static int proc_uid(pid_t pid, uid_t *ret)
{
	char path[64];
	_cleanup_free_ char *text = NULL;
	const char *p;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (read_file(path, 16384, &text, NULL) < 0)
		return -ESRCH;
	p = strstr(text, "\nUid:");
	if (!p)
		return -EINVAL;
	*ret = (uid_t)strtoul(p + 5, NULL, 10); /* the real uid */
	return 0;
}

int attest_peer_get(int fd, const char *cgroup_mount, struct attest_peer *out)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	uid_t uid;
	int r;

	memset(out, 0, sizeof(*out));
	out->pidfd = -1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	if (cred.pid <= 0)
		return -ESRCH; /* a peer in another pid namespace we cannot see */
	out->pid = cred.pid;
	out->uid = cred.uid;
	len = sizeof(out->pidfd);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &out->pidfd, &len) < 0)
		out->pidfd = -1;
	r = proc_start_time(out->pid, &out->start_time);
	if (r < 0)
		return r;
	r = proc_uid(out->pid, &uid);
	if (r < 0)
		return r;
	if (uid != out->uid)
		return -ESRCH; /* not the process that connected */
	r = cgroup_of_pid(cgroup_mount, out->pid, &out->cgroup_abs);
	if (r < 0)
		return r;
	return attest_peer_still_same(out);
}

int attest_peer_still_same(const struct attest_peer *p)
{
	uint64_t st;
	uid_t uid;

	/* the pidfd pins the process: ESRCH once it exited (the pid may be reused). EPERM is an
	 * answer too: it lives, and we may not signal it (an agent without CAP_KILL) */
	if (p->pidfd >= 0 && syscall(SYS_pidfd_send_signal, p->pidfd, 0, NULL, 0) < 0 && errno == ESRCH)
		return -ESRCH;
	if (proc_start_time(p->pid, &st) < 0 || st != p->start_time)
		return -ESRCH;
	if (proc_uid(p->pid, &uid) < 0 || uid != p->uid)
		return -ESRCH;
	return 0;
}

void attest_peer_clear(struct attest_peer *p)
{
	if (p->pidfd >= 0)
		close(p->pidfd);
	free(p->cgroup_abs);
	memset(p, 0, sizeof(*p));
	p->pidfd = -1;
}

