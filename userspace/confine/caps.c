// SPDX-License-Identifier: MIT
#include "caps.h"
#include "util.h"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif
#ifndef CAP_CHECKPOINT_RESTORE
#define CAP_CHECKPOINT_RESTORE 40
#endif

/*
 * NET_RAW: AF_PACKET sockets pass no cgroup hook. NET_ADMIN, BPF, PERFMON, SYS_ADMIN: detach or
 * replace our programs, edit maps, leave the cgroup namespace, undo the mounts that hide the
 * agent. SYS_PTRACE: tamper with other processes. SYS_MODULE, SYS_RAWIO, MKNOD: the kernel
 * and the raw disk. DAC_READ_SEARCH: open_by_handle_at reaches files the mount namespace
 * hides. CHECKPOINT_RESTORE: set_tid/ns games. KILL: signal other users' processes. SYS_BOOT:
 * reboot the host. The last two, SETUID and SETGID (become another uid, whose processes ptrace
 * would reach), go unless `keep_setuid`.
 */
static const int dropped[] = {
	CAP_NET_RAW,	 CAP_NET_ADMIN, CAP_SYS_ADMIN,	 CAP_BPF,      CAP_PERFMON,
	CAP_SYS_PTRACE,	 CAP_SYS_MODULE, CAP_SYS_RAWIO,	 CAP_MKNOD,    CAP_DAC_READ_SEARCH,
	CAP_CHECKPOINT_RESTORE, CAP_KILL, CAP_SYS_BOOT, CAP_SETUID,   CAP_SETGID,
};
#define NDROPPED_ALWAYS (ARRAY_SIZE(dropped) - 2)

const char caps_dropped_text[] = "CAP_NET_RAW CAP_NET_ADMIN CAP_SYS_ADMIN CAP_BPF CAP_PERFMON "
				 "CAP_SYS_PTRACE CAP_SYS_MODULE CAP_SYS_RAWIO CAP_MKNOD "
				 "CAP_DAC_READ_SEARCH CAP_CHECKPOINT_RESTORE CAP_KILL CAP_SYS_BOOT "
				 "CAP_SETUID CAP_SETGID";

int caps_confine(bool keep_setuid)
{
	size_t n = keep_setuid ? NDROPPED_ALWAYS : ARRAY_SIZE(dropped);

	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	for (size_t i = 0; i < n; i++)
		if (prctl(PR_CAPBSET_DROP, dropped[i], 0, 0, 0) < 0 && errno != EINVAL)
			return -errno; /* EINVAL: the kernel does not know that capability */
	if (syscall(SYS_capget, &hdr, data) < 0)
		return -errno;
	for (size_t i = 0; i < n; i++) {
		unsigned idx = (unsigned)dropped[i] / 32, bit = 1u << (dropped[i] % 32);

		data[idx].effective &= ~bit;
		data[idx].permitted &= ~bit;
		data[idx].inheritable &= ~bit;
	}
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -errno;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -errno;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	return 0;
}
