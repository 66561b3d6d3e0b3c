// SPDX-License-Identifier: MIT
/*
 * The enforcement canary: after attaching (or taking over) and applying, the agent proves that
 * the kernel really guards its root before it says it is ready. A scratch child cgroup of the
 * root gets one process that connects a UDP socket to 127.0.0.1:9. Our connect4 program must
 * count that connect (it guarded the cgroup), and, where the root itself is not bound, the
 * verdict must be the configured `unbound` action. Anything else (a root level that misses, a
 * program that is not attached) and the agent refuses to run rather than claim enforcement.
 */
#include "agent_state.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include "cgroup.h"

enum { CANARY_OK = 0, CANARY_EPERM = 1, CANARY_OTHER = 2 };

static uint64_t judged(struct fence *f)
{
	uint64_t c[MCPF_CNT_MAX];

	if (fence_counters_read(f, c) < 0)
		return 0;
	return c[MCPF_CNT_ALLOW] + c[MCPF_CNT_DENY] + c[MCPF_CNT_AUDIT];
}

static int canary_child(void *ud)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(9),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd;

	(void)ud;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return CANARY_OTHER;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return CANARY_OK;
	return errno == EPERM ? CANARY_EPERM : CANARY_OTHER;
}

int agent_canary(struct agent *a, char *why, size_t len)
{
	_cleanup_free_ char *cg = strdup_printf("%s/.mcpfence-canary-%d", a->root_abs, (int)getpid());
	struct mcpf_binding rb;
	uint64_t before, after;
	int r, got, want = -1;

	if (!cg)
		return -ENOMEM;
	r = cgroup_create(cg);
	if (r < 0) {
		snprintf(why, len, "cannot create the canary cgroup %s: %s", cg, strerror(-r));
		return r;
	}
	if (fence_binding_get(a->f, a->root_id, &rb) < 0) /* else its policy decides: not checked */
		want = a->cfg.unbound == MCPF_UNBOUND_DENY ? CANARY_EPERM : CANARY_OK;
	cgroup_id_from_path(cg, &a->canary_cgroup_id);
	before = judged(a->f);
	got = cgroup_run_child(cg, canary_child, NULL);
	after = judged(a->f);
	cgroup_remove(cg);
	if (got < 0) {
		snprintf(why, len, "fork: %s", strerror(-got));
		return got;
	}
	if (got == 126) {
		snprintf(why, len, "cannot move a process into %s: " AGENT_CGROUPNS_HINT,
			 cgroup_path_display(a->mount, cg));
		return -EXDEV;
	}
	if (after <= before) {
		snprintf(why, len, "a connect from %s was not seen by the programs (root level %u, id %llu): "
			 "the kernel does not guard this root",
			 cgroup_path_display(a->mount, cg), a->root_level, (unsigned long long)a->root_id);
		return -EPROTO;
	}
	if (want >= 0 && got != want) {
		snprintf(why, len, "a connect from the unbound canary cgroup %s, expected %s, got %s",
			 cgroup_path_display(a->mount, cg), want == CANARY_EPERM ? "EPERM" : "success",
			 got == CANARY_OK ? "success" : got == CANARY_EPERM ? "EPERM" : "another error");
		return -EPROTO;
	}
	return 0;
}
