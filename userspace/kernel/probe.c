// SPDX-License-Identifier: MIT
#include "probe.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include <linux/magic.h>

#include "fence.h"
#include "cgroup.h"
#include "util.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

#include "sock_addr.skel.h"
#include "sock_create.skel.h"
#include "skb.skel.h"

int probe_have_peerpidfd(void)
{
	int sv[2], pidfd = -1, ok;
	socklen_t len = sizeof(pidfd);

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return 0;
	ok = getsockopt(sv[0], SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) == 0 && pidfd >= 0;
	if (pidfd >= 0)
		close(pidfd);
	close(sv[0]);
	close(sv[1]);
	return ok;
}

static void feature(json_t *f, const char *name, bool ok, bool required, const char *detail)
{
	json_t *o = json_pack("{s:b, s:b}", "ok", ok, "required", required);

	if (detail && *detail)
		json_object_set_new(o, "detail", json_string(detail));
	json_object_set_new(f, name, o);
}

static int silent(enum libbpf_print_level l, const char *fmt, va_list ap)
{
	(void)l;
	(void)fmt;
	(void)ap;
	return 0;
}

static void unpin_all(struct bpf_object *obj)
{
	struct bpf_map *m;

	bpf_object__for_each_map(m, obj)
		bpf_map__set_pin_path(m, NULL);
}

/*
 * The verifier's work per program (BPF_LOG_STATS: its last line only), so that `probe --json`
 * and the benchmark record what each program costs to load on this kernel.
 */
#define PROBE_PROGS_MAX 8
#define PROBE_STATS_LEN 2048 /* global functions add a line each: a log cut short fails the load */

static void verifier_stats_ask(struct bpf_object *obj, char bufs[PROBE_PROGS_MAX][PROBE_STATS_LEN])
{
	struct bpf_program *prog;
	int i = 0;

	bpf_object__for_each_program(prog, obj) {
		if (i == PROBE_PROGS_MAX)
			break;
		bufs[i][0] = '\0';
		bpf_program__set_log_buf(prog, bufs[i++], PROBE_STATS_LEN);
		bpf_program__set_log_level(prog, 4); /* BPF_LOG_STATS */
	}
}

/* verifier: {"PROGRAM[ suffix]": {"insns": N, "states": N}} from the logs verifier_stats_ask set */
static void verifier_stats_put(json_t *verifier, struct bpf_object *obj, const char *suffix,
			       char bufs[PROBE_PROGS_MAX][PROBE_STATS_LEN])
{
	struct bpf_program *prog;
	int i = 0;

	bpf_object__for_each_program(prog, obj) {
		const char *p, *q;
		unsigned long insns, states = 0;
		char name[96], *end;

		if (i == PROBE_PROGS_MAX)
			break;
		p = NULL;
		for (const char *at = strstr(bufs[i], "processed "); at; at = strstr(at + 1, "processed "))
			p = at; /* the last: the whole program's */
		i++;
		if (!p)
			continue;
		insns = strtoul(p + strlen("processed "), &end, 10);
		if (end == p + strlen("processed "))
			continue;
		q = strstr(p, "total_states ");
		if (q)
			states = strtoul(q + strlen("total_states "), NULL, 10);
		snprintf(name, sizeof(name), "%s%s", bpf_program__name(prog), suffix);
		json_object_set_new(verifier, name, json_pack("{s:i, s:i}", "insns", (int)insns, "states", (int)states));
	}
}

/* Load each object (no pinning), optionally attach every program to a scratch cgroup. */
#define PROBE_OBJECT(skel_t, f, verifier, attach, cg_fd)                                           \
	do {                                                                                       \
		struct skel_t *s = skel_t##__open();                                               \
		struct bpf_program *prog;                                                          \
		char why[160] = "", stats[PROBE_PROGS_MAX][PROBE_STATS_LEN];                        \
		int err = s ? 0 : -errno;                                                          \
		if (!err) {                                                                        \
			unpin_all(s->obj); /* never touch the agent's pinned maps */               \
			verifier_stats_ask(s->obj, stats);                                         \
			err = skel_t##__load(s);                                                   \
			if (!err)                                                                  \
				verifier_stats_put(verifier, s->obj, "", stats);                   \
		}                                                                                  \
		if (err)                                                                           \
			snprintf(why, sizeof(why), "load failed: %s", strerror(-err));             \
		bpf_object__for_each_program(prog, s ? s->obj : NULL) {                             \
			char name[96], d[200];                                                     \
			bool ok = !err;                                                            \
			if (fence_prog_is_tail(prog))                                              \
				continue;                                                          \
			snprintf(name, sizeof(name), "hook %s", bpf_program__section_name(prog)); \
			snprintf(d, sizeof(d), "%s", why);                                         \
			if (ok && (attach)) {                                                      \
				struct bpf_link *l = bpf_program__attach_cgroup(prog, cg_fd);      \
				ok = l != NULL;                                                    \
				if (!l)                                                            \
					snprintf(d, sizeof(d), "bpf link attach failed: %s",       \
						 strerror(errno));                                 \
				bpf_link__destroy(l);                                              \
			}                                                                          \
			feature(f, name, ok, true, d);                                             \
		}                                                                                  \
		skel_t##__destroy(s);                                                              \
	} while (0)

int probe_run(bool attach, bool names, json_t **ret)
{
	_cleanup_free_ char *mount = NULL, *scratch = NULL, *base = NULL;
	libbpf_print_fn_t old = libbpf_set_print(silent);
	json_t *f = json_object(), *verifier = json_object(), *doc, *v;
	struct utsname u;
	struct statfs sfs;
	struct stat st;
	const char *key;
	bool all = true;
	int cg_fd = -1, nsd;

	uname(&u);
	cgroup_mount_find(&mount);
	feature(f, "cgroup2 mount", mount != NULL, true, mount);
	nsd = mount ? cgroup_mount_nsdelegate(mount, false) : -1;
	feature(f, "cgroup2 nsdelegate", nsd == 1, false,
		nsd == 1 ? "set" : "not set: the agent sets it at start (root confinement needs it)");
	feature(f, "bpffs", statfs("/sys/fs/bpf", &sfs) == 0 && sfs.f_type == BPF_FS_MAGIC, false,
		"/sys/fs/bpf (the agent mounts it when absent)");
	feature(f, "BTF", stat("/sys/kernel/btf/vmlinux", &st) == 0, false, "/sys/kernel/btf/vmlinux");
	feature(f, "map ringbuf", libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) == 1, true, NULL);
	feature(f, "map lpm_trie", libbpf_probe_bpf_map_type(BPF_MAP_TYPE_LPM_TRIE, NULL) == 1, true, NULL);
	feature(f, "map sk_storage", libbpf_probe_bpf_map_type(BPF_MAP_TYPE_SK_STORAGE, NULL) == 1, true, NULL);
	feature(f, "helper bpf_ktime_get_boot_ns",
		libbpf_probe_bpf_helper(BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_FUNC_ktime_get_boot_ns, NULL) == 1,
		true, "token expiry in the kernel");
	feature(f, "helper bpf_get_current_ancestor_cgroup_id",
		libbpf_probe_bpf_helper(BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
					BPF_FUNC_get_current_ancestor_cgroup_id, NULL) == 1,
		true, "nearest bound ancestor");
	feature(f, "SO_PEERPIDFD", probe_have_peerpidfd(), false,
		"pins the attesting process (Linux 6.5+); start time and uid checks otherwise");

	/* scratch cgroups at the mount's root, or below our own cgroup where the root is not ours
	 * to write (a container without CAP_DAC_OVERRIDE, a read-only root directory) */
	if (attach && mount && access(mount, W_OK) < 0 && cgroup_of_pid(mount, getpid(), &base) < 0)
		base = NULL;
	if (attach && mount) {
		scratch = strdup_printf("%s/mcpfence-probe-%d", base ?: mount, (int)getpid());
		if (scratch && cgroup_create(scratch) == 0)
			cg_fd = open(scratch, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (attach && mount) {
		uint64_t base_id = 0;
		uint32_t level = 0;
		char d[200];
		int k = cgroup_id_from_path(base ?: mount, &base_id);

		if (k == 0)
			k = fence_cgroup_real_level(base ?: mount, base_id, &level);
		if (k == 0 && base)
			level -= (uint32_t)cgroup_level(mount, base); /* the mount's, from ours */
		if (k < 0)
			snprintf(d, sizeof(d), "could not be found: %s", strerror(-k));
		else if (level == 0)
			snprintf(d, sizeof(d), "the cgroup2 mount is the hierarchy's root");
		else
			snprintf(d, sizeof(d), "the cgroup2 mount starts at level %u (a cgroup namespace); "
				 "the agent counts the root's level from the real root", level);
		feature(f, "cgroup level discovery", k == 0, true, d);
	}
	PROBE_OBJECT(sock_addr_bpf, f, verifier, attach && cg_fd >= 0, cg_fd);
	PROBE_OBJECT(sock_create_bpf, f, verifier, attach && cg_fd >= 0, cg_fd);
	PROBE_OBJECT(skb_bpf, f, verifier, attach && cg_fd >= 0, cg_fd);
	if (names) {
		/* the programs above load with names off: load them again with the DNS code in */
		bool loop = fence_dns_supported();
		struct skb_bpf *s = loop ? skb_bpf__open() : NULL;
		int err = loop ? (s ? 0 : -errno) : -ENOTSUP;
		char d[160], stats[PROBE_PROGS_MAX][PROBE_STATS_LEN];

		if (s) {
			unpin_all(s->obj);
			s->rodata->dns_enabled = 1;
			verifier_stats_ask(s->obj, stats);
			err = skb_bpf__load(s);
			if (!err)
				verifier_stats_put(verifier, s->obj, " (names)", stats);
		}
		if (!loop)
			snprintf(d, sizeof(d), "needs bpf_loop in cgroup skb programs (Linux 5.17): "
					       "policies that list names are refused");
		else if (err)
			snprintf(d, sizeof(d), "the DNS programs do not load: %s", strerror(-err));
		else
			snprintf(d, sizeof(d), "DNS queries checked and replies learned in the kernel");
		feature(f, "names (FQDN rules)", err == 0, false, d);
		/* in the same object: the ClientHello check is a tail call of the skb program */
		feature(f, "server names in ClientHellos (name rules' TLS check)", err == 0, false,
			err ? "comes with names: policies that list names are refused"
			    : "a name rule's TLS flows must name, in their ClientHello, a name learned for the address");
		skb_bpf__destroy(s);
	}
	if (cg_fd >= 0)
		close(cg_fd);
	if (scratch)
		rmdir(scratch);
	libbpf_set_print(old);

	json_object_foreach(f, key, v)
		if (json_is_true(json_object_get(v, "required")) && !json_is_true(json_object_get(v, "ok")))
			all = false;
	doc = json_pack("{s:s, s:s, s:o, s:b, s:b, s:o}", "kernel", u.release, "machine", u.machine,
			"features", f, "attach_tested", attach && cg_fd >= 0, "can_enforce", all,
			"verifier", verifier);
	*ret = doc;
	return all ? 0 : -ENOTSUP;
}

char *probe_missing(json_t *result)
{
	const char *key;
	json_t *v;
	char *out = strdup("");

	json_object_foreach(json_object_get(result, "features"), key, v) {
		char *n;

		if (!json_is_true(json_object_get(v, "required")) || json_is_true(json_object_get(v, "ok")))
			continue;
		n = strdup_printf("%s%s%s", out, *out ? ", " : "", key);
		free(out);
		out = n;
		if (!out)
			return NULL;
	}
	return out;
}
