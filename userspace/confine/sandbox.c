// SPDX-License-Identifier: MIT
#include "sandbox.h"
#include "util.h"

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

const char sandbox_families_text[] = "AF_UNIX AF_INET AF_INET6 AF_NETLINK";

/* An empty, read-only, mode-000 file system on a directory; /dev/null on anything else. */
static int hide_path(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (S_ISLNK(st.st_mode))
		return 0; /* its target is hidden where it is listed itself */
	if (S_ISDIR(st.st_mode)) {
		if (mount("mcpfence-hidden", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  "mode=000,size=4k") < 0)
			return -errno;
		return 0;
	}
	if (mount("/dev/null", path, NULL, MS_BIND, NULL) < 0 ||
	    mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL) < 0)
		return -errno;
	return 0;
}

/* Mount points of one file system type, from our mountinfo (field 5; type after " - "). */
static int mounts_of_type(const char *type, char ***ret)
{
	size_t n = 0;
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;

	*ret = calloc(1, sizeof(char *));
	if (!f || !*ret)
		return f ? -ENOMEM : -errno;
	while (getline(&line, &cap, f) > 0) {
		char mnt[4096], fstype[64];
		const char *sep = strstr(line, " - ");
		char **grown;

		if (!sep || sscanf(sep + 3, "%63s", fstype) != 1 || strcmp(fstype, type) ||
		    sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
			continue;
		grown = realloc(*ret, (n + 2) * sizeof(char *));
		if (!grown)
			return -ENOMEM;
		*ret = grown;
		(*ret)[n + 1] = NULL;
		(*ret)[n] = strdup(mnt);
		if (!(*ret)[n])
			return -ENOMEM;
		n++;
	}
	return 0;
}

/* Hide every mount of a type (bpffs, cgroup v1), or remount it from inside our namespaces. */
static int each_mount(const char *type, bool remount)
{
	_cleanup_(strv_freep) char **mnts = NULL;
	int r = mounts_of_type(type, &mnts);

	for (size_t i = 0; r == 0 && mnts[i]; i++) {
		if (remount) /* the same super block on the same point is EBUSY: detach it first */
			r = umount2(mnts[i], MNT_DETACH) < 0 ||
					    mount(type, mnts[i], type, MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0
				    ? -errno
				    : 0;
		else
			r = hide_path(mnts[i]);
	}
	return r;
}

int sandbox_mounts(const struct sandbox_opts *o, const char **step)
{
	int r;

	*step = "entering new cgroup and mount namespaces";
	if (unshare(CLONE_NEWCGROUP | CLONE_NEWNS) < 0)
		return -errno;
	*step = "making the mounts private to the workload";
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return -errno;
	*step = "hiding the agent's files";
	for (char **p = o->hide; p && *p; p++)
		if ((r = hide_path(*p)) < 0)
			return r;
	*step = "hiding bpffs";
	if ((r = each_mount("bpf", false)) < 0)
		return r;
	*step = "hiding the cgroup v1 hierarchies";
	if ((r = each_mount("cgroup", false)) < 0)
		return r;
	/* from inside the cgroup namespace: the mount shows our own subtree, nothing above */
	*step = "mounting cgroup2 for the workload's namespace";
	if ((r = each_mount("cgroup2", true)) < 0)
		return r;
	*step = "mounting /proc for the workload's PID namespace";
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return -errno;
	return 0;
}

#if defined(__x86_64__)
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_X86_64
#define SANDBOX_X32_BIT 0x40000000u
#elif defined(__aarch64__)
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#define __NR_io_uring_enter 426
#define __NR_io_uring_register 427
#endif

#define LOAD(field) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, field))
#define RET(v) BPF_STMT(BPF_RET | BPF_K, (v))
#define ERRNO(e) RET(SECCOMP_RET_ERRNO | ((e) & SECCOMP_RET_DATA))

int sandbox_seccomp(const struct sandbox_opts *o)
{
#ifdef SANDBOX_AUDIT_ARCH
	struct sock_filter f[] = {
		/* another ABI (i386, x32) would reach socket() through socketcall: refused */
		LOAD(arch),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SANDBOX_AUDIT_ARCH, 1, 0),
		ERRNO(ENOSYS),
		LOAD(nr),
#ifdef SANDBOX_X32_BIT
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, SANDBOX_X32_BIT, 0, 1),
		ERRNO(ENOSYS),
#endif
		/* io_uring: its SOCKET op creates sockets without socket() */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
		RET(o->allow_io_uring ? SECCOMP_RET_ALLOW : SECCOMP_RET_ERRNO | ENOSYS),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 1, 0),
		RET(SECCOMP_RET_ALLOW),
		/* socket(family, ...): the families a workload needs, nothing that passes no hook */
		LOAD(args[0]),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1 /* AF_UNIX */, 4, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 2 /* AF_INET */, 3, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 10 /* AF_INET6 */, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 16 /* AF_NETLINK */, 1, 0),
		ERRNO(EAFNOSUPPORT),
		RET(SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = ARRAY_SIZE(f), .filter = f };

	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
		return -errno;
	return 0;
#else
	(void)o;
	return -EOPNOTSUPP;
#endif
}
