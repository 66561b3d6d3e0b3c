// SPDX-License-Identifier: MIT
/*
 * The agent: loads policies, attaches (or takes over) the kernel programs, applies bindings,
 * and runs one event loop over the ring buffer, the two Unix sockets, signals, a one-second
 * tick and the key worker. The parts are listed in agent_state.h.
 */
#include "agent.h"
#include "agent_state.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>

#include "cgroup.h"
#include "loop.h"
#include "notify.h"
#include "probe.h"

#define GC_EVERY_TICKS 5 /* seconds between sweeps for bindings of removed cgroups */

struct agent_sources {
	struct loop_source ring, signals, tick;
	unsigned ticks;
};

static void on_ring(struct loop_source *s, uint32_t events)
{
	struct agent *a = s->ud;

	ring_buffer__consume(a->rb);
}

static void on_tick(struct loop_source *s, uint32_t events)
{
	struct agent *a = s->ud;
	struct agent_sources *src = (struct agent_sources *)((char *)s - offsetof(struct agent_sources, tick));
	uint64_t exp;

	if (read(s->fd, &exp, sizeof(exp)) < 0)
		return;
	ring_buffer__consume(a->rb);
	agent_flush_suppressed(a);
	if (++src->ticks % GC_EVERY_TICKS == 0)
		agent_gc(a);
	credentials_tick(a);
	audit_tick(a);
	if (a->watchdog) /* the loop turns: systemd's watchdog may keep waiting */
		notify_send("WATCHDOG=1");
}

static void on_signal(struct loop_source *s, uint32_t events)
{
	struct agent *a = s->ud;
	struct signalfd_siginfo si;
	struct diag errs = {};

	if (read(s->fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo != SIGHUP) {
		log_info("Signal %u: stopping; enforcement stays in place", si.ssi_signo);
		notify_send("STOPPING=1\nSTATUS=Stopping; enforcement stays in place");
		a->stop = true;
		return;
	}
	/* a unit or container without its own PID namespace could signal us from a guarded cgroup */
	if (si.ssi_pid && agent_pid_guarded(a, (pid_t)si.ssi_pid)) {
		log_warning("Ignored SIGHUP from pid %u: it runs in a guarded cgroup", si.ssi_pid);
		return;
	}
	log_info("SIGHUP: reloading policies");
	if (agent_reload(a, &errs) < 0) {
		agent_log_diag(&errs);
		log_error("Reload failed; the previous policies stay in force");
	} else {
		log_info("Reloaded: %zu policies", a->nloaded);
	}
	diag_clear(&errs);
}

static int agent_setup_root(struct agent *a)
{
	bool created = false;
	uint32_t path_level;
	struct stat st;
	int r;

	r = cgroup_mount_find(&a->mount);
	if (r < 0) {
		log_error("No cgroup2 file system is mounted (see /proc/self/mountinfo)");
		return r;
	}
	r = cgroup_mount_nsdelegate(a->mount, true);
	if (r <= 0) {
		log_error("Failed to enable nsdelegate on %s (%s): without it a root workload can "
			  "move itself out of its cgroup namespace",
			  a->mount, r < 0 ? strerror(-r) : "not set after remount");
		return r < 0 ? r : -EOPNOTSUPP;
	}
	r = cgroup_path_resolve(a->mount, a->cfg.cgroup_root, &a->root_abs);
	if (r < 0) {
		log_error("%s: cgroup_root: \"%s\" is not a valid cgroup path", a->cfg.file,
			  a->cfg.cgroup_root);
		return r;
	}
	if (stat(a->root_abs, &st) < 0) {
		r = cgroup_create(a->root_abs);
		if (r < 0) {
			log_error("Failed to create cgroup root %s: %s", a->root_abs, strerror(-r));
			return r;
		}
		created = true;
	}
	r = cgroup_id_from_path(a->root_abs, &a->root_id);
	if (r < 0) {
		log_error("%s is not a cgroup2 directory: %s", a->root_abs, strerror(-r));
		return r;
	}
	/* the level as the BPF helpers count it, from the real root: a path counts from our mount */
	r = fence_cgroup_real_level(a->root_abs, a->root_id, &a->root_level);
	if (r == -EXDEV) {
		log_error("Cannot move a process into cgroup root %s: " AGENT_CGROUPNS_HINT, a->root_abs);
		return r;
	}
	if (r < 0) {
		log_error("Failed to find the level of cgroup root %s in the hierarchy: %s", a->root_abs,
			  strerror(-r));
		return r;
	}
	path_level = (uint32_t)cgroup_level(a->mount, a->root_abs);
	if (a->root_level != path_level)
		log_info("cgroup root %s is at level %u of the hierarchy; the cgroup2 mount we see "
			 "starts below the real root (a cgroup namespace)",
			 a->root_abs, a->root_level);
#ifdef MCPF_TEST_HOOKS /* build/mcpfence-testhooks only: the old, namespace-blind way */
	if (getenv("MCPF_TEST_LEVEL_FROM_PATH"))
		a->root_level = path_level;
#endif
	a->root_fd = open(a->root_abs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	a->mount_fd = open(a->mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (a->root_fd < 0 || a->mount_fd < 0)
		return -errno;
	a->created_root_pending = created;
	return 0;
}

/* The configuration, its policies and issuers: read and checked before anything is touched. */
static int agent_load_config(struct agent *a, const char *config, struct policy_set *set)
{
	struct diag errs = {};
	int r = config_load(config, &a->cfg, &errs);

	if (r == 0)
		r = policy_set_load(a->cfg.policies, a->cfg.npolicies, set, &errs);
	if (r == 0)
		r = resources_load_cache(a, set, &errs);
	if (r == 0 && a->resources)
		a->more_policies = resources_policies;
	if (r == 0)
		r = trust_load(a->cfg.trust, a->cfg.file, &a->trust, &errs);
	if (r < 0) {
		agent_log_diag(&errs);
		log_error("Failed to load the configuration; nothing was changed");
	}
	diag_clear(&errs);
	return r;
}

/* The host's cgroup namespace (the probe joins too, silently): a mount's root is named relative
 * to our cgroup namespace. Then the kernel must have what enforcement needs. */
static int agent_check_kernel(void)
{
	json_t *pr = NULL;
	int r;

#ifdef MCPF_TEST_HOOKS /* build/mcpfence-testhooks only: the old way, staying in our namespace */
	r = getenv("MCPF_TEST_NO_CGROUPNS_JOIN") ? 0 : cgroup_ns_join_initial();
#else
	r = cgroup_ns_join_initial();
#endif
	if (r > 0)
		log_info("Joined the host's cgroup namespace: the cgroups we guard lie outside a "
			 "container's own namespace");
	else if (r < 0)
		log_info("Staying in our own cgroup namespace: cannot join the host's (%s)", strerror(-r));
	r = probe_run(false, false, &pr);
	if (r < 0) {
		_cleanup_free_ char *missing = probe_missing(pr);

		log_error("This kernel (%s) lacks what enforcement needs: %s. Refusing to start "
			  "rather than run without enforcement (see `mcpfence probe`)",
			  json_string_value(json_object_get(pr, "kernel")), missing ? missing : "?");
	}
	json_decref(pr);
	return r;
}

/* Whether names are learned, and if not why; policies that list names are refused without. */
static int agent_decide_dns(struct agent *a, const struct policy_set *set)
{
	struct diag errs = {};
	int r;

	if (a->cfg.resolvers_from_resolv_conf &&
	    config_resolvers_from_file(CONFIG_DEFAULT_RESOLV_CONF, a->cfg.resolvers, &a->cfg.nresolvers) < 0)
		a->cfg.nresolvers = 0;
	a->dns = a->cfg.nresolvers > 0 && fence_dns_supported();
	if (!a->cfg.nresolvers)
		a->dns_off_why = "no resolvers are configured (dns.resolvers, else the nameservers of "
				 CONFIG_DEFAULT_RESOLV_CONF ")";
	else if (!a->dns)
		a->dns_off_why = "this kernel cannot learn names (no bpf_loop for cgroup skb programs, "
				 "Linux 5.17 and later; see `mcpfence probe`)";
	r = agent_check_names(a, set, &errs);
	if (r < 0) {
		agent_log_diag(&errs);
		log_error("Failed to load the configuration; nothing was changed");
	}
	diag_clear(&errs);
	return r;
}

static void agent_log_resolvers(struct agent *a)
{
	char list[MCPF_MAX_RESOLVERS * 50] = "";

	for (size_t i = 0; i < a->cfg.nresolvers; i++) {
		const struct fence_resolver *res = &a->cfg.resolvers[i];
		char ad[INET6_ADDRSTRLEN];
		size_t l = strlen(list);

		inet_ntop(res->family, res->addr, ad, sizeof(ad));
		snprintf(list + l, sizeof(list) - l, "%s%s%s%s:%u", i ? ", " : "",
			 res->family == AF_INET6 ? "[" : "", ad, res->family == AF_INET6 ? "]" : "", res->port);
	}
	log_info("Names are learned from replies of %s (%zu learned addresses kept from before)", list,
		 fence_learned_count(a->f));
}

/* The kernel programs loaded and attached, or the pinned ones taken over. */
static int agent_attach(struct agent *a)
{
	const struct agent_config *c = &a->cfg;
	struct fence_params fp = {
		.bpffs = c->bpffs,
		.root_fd = a->root_fd,
		.root_id = a->root_id,
		.root_level = a->root_level,
		.unbound = c->unbound,
		.deny_raw = c->deny_raw,
		.deny_mptcp = c->deny_mptcp,
		.rate_limit = c->rate_limit,
		.max_prefixes = c->max_prefixes,
		.dns = a->dns,
		.dns_ttl_floor_ns = c->dns_ttl_floor_ns,
		.dns_ttl_cap_ns = c->dns_ttl_cap_ns,
		.dns_grace_ns = c->dns_grace_ns,
		.dns_cap_per_name = c->dns_per_name,
		.dns_cap_per_policy = c->dns_per_policy,
		.dns_queries_per_second = c->dns_queries_per_second,
		.dns_new_names_per_minute = c->dns_new_names_per_minute,
	};
	int r = fence_load(&fp, &a->f);

	if (r == -EXDEV) {
		log_error("The programs pinned in %s are attached to another cgroup than %s; "
			  "run `mcpfence uninstall` first", c->bpffs, a->root_abs);
		return r;
	}
	if (r < 0) {
		log_error("Failed to load and attach the BPF programs (%s): %s", c->bpffs, strerror(-r));
		return r;
	}
	metrics_rows_recover(a); /* the policies' rows of the verdict counters, from their bindings */
	a->stats.started_at = time(NULL);
	r = fence_resolvers_set(a->f, c->resolvers, a->dns ? c->nresolvers : 0);
	if (r < 0) {
		log_error("Failed to write the resolvers to the kernel: %s", strerror(-r));
		return r;
	}
	if (a->dns)
		agent_log_resolvers(a);
	log_info("%s programs on %s (cgroup id %llu, level %u), state in %s",
		 a->f->reused_links ? "Took over pinned" : "Attached", a->root_abs,
		 (unsigned long long)a->root_id, a->root_level, c->bpffs);
	if (a->created_root_pending) {
		struct mcpf_policy_meta state = { .generation = 1 };

		snprintf(state.name, sizeof(state.name), "%s", "(agent: created cgroup root)");
		fence_meta_put(a->f, FENCE_SLOT_STATE, &state);
	}
	return 0;
}

/* The events file, and the ring buffer drained of what happened while no agent ran, before
 * the generation it happened under is replaced. */
static int agent_open_events(struct agent *a)
{
	if (a->cfg.events_file) {
		_cleanup_free_ char *dir = strdup(a->cfg.events_file);

		if (dir && strrchr(dir, '/')) {
			*strrchr(dir, '/') = '\0';
			mkdir_p(dir, 0755);
		}
		a->events_file = fopen(a->cfg.events_file, "ae");
		if (!a->events_file) {
			int r = -errno;

			log_error("Failed to open events file %s: %s", a->cfg.events_file, strerror(-r));
			return r;
		}
	}
	a->rb = ring_buffer__new(a->f->fd[FENCE_MAP_EVENTS], agent_record_handle, a, NULL);
	if (!a->rb) {
		int r = -errno;

		log_error("Failed to read the events ring buffer: %s", strerror(-r));
		return r;
	}
	ring_buffer__consume(a->rb);
	return 0;
}

/* The policies applied, and the canary's proof that the kernel judges as configured. */
static int agent_enforce(struct agent *a, struct policy_set *set)
{
	struct diag errs = {};
	char why[512];
	int r = audit_start(a);

	if (r == 0)
		r = agent_apply(a, &a->cfg, set, &errs);

	if (r < 0) {
		agent_log_diag(&errs);
		log_error("Failed to apply policies: %s", strerror(-r));
		diag_clear(&errs);
		return r;
	}
	r = agent_canary(a, why, sizeof(why));
	if (r < 0) {
		log_error("Enforcement canary failed: %s. Refusing to run rather than claim "
			  "enforcement (see `mcpfence probe`)", why);
		/* what we attached ourselves does not enforce: leave nothing behind */
		if (!a->f->reused_links && fence_uninstall(a->cfg.bpffs) == 0)
			log_error("Detached and removed what this start attached (%s)", a->cfg.bpffs);
		return r;
	}
	log_info("Enforcement canary passed: a guarded cgroup is judged as configured");
	policy_set_drop_rules(set); /* written to the kernel; matching needs identities only */
	a->policies = *set;
	*set = (struct policy_set){};
	a->next_identity = fence_identity_next(a->f);
	return 0;
}

/* The loop and its sources: ring, signals, tick, key worker, API feeds, then the sockets. */
static int agent_loop_setup(struct agent *a, struct agent_sources *src)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	src->ring = (struct loop_source){ .fd = ring_buffer__epoll_fd(a->rb), .fn = on_ring, .ud = a };
	src->signals = (struct loop_source){ .fd = signalfd(-1, &mask, SFD_CLOEXEC), .fn = on_signal, .ud = a };
	src->tick = (struct loop_source){ .fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC), .fn = on_tick, .ud = a };
	if (src->signals.fd < 0 || src->tick.fd < 0 || loop_new(&a->loop) < 0 ||
	    loop_add(a->loop, &src->ring, EPOLLIN) < 0 || loop_add(a->loop, &src->signals, EPOLLIN) < 0 ||
	    loop_add(a->loop, &src->tick, EPOLLIN) < 0 || keys_worker_start(a, agent_clients_keys_ready) < 0 ||
	    exchange_worker_start(a, agent_clients_keys_ready) < 0 ||
	    pods_feed_start(a) < 0 || docker_feed_start(a) < 0 ||
	    resources_start(a) < 0) {
		log_error("Failed to set up the event loop: %s", strerror(errno));
		return -1;
	}
	timerfd_settime(src->tick.fd, 0,
			&(struct itimerspec){ .it_interval = { .tv_sec = 1 }, .it_value = { .tv_sec = 1 } },
			NULL);
	keys_warm(a); /* key files now; remote key sets on the worker */
	if (credentials_start(a) < 0 || agent_listen(a) < 0)
		return -1;
	a->on_event = agent_clients_publish;
	return 0;
}

/* Until a signal stops us; the kernel keeps enforcing after. */
static int agent_serve(struct agent *a)
{
	log_info("Agent ready: %zu policies, socket %s", a->nloaded, a->cfg.socket);
	a->watchdog = notify_watchdog_usec() != 0;
	if (a->watchdog && notify_watchdog_usec() < 2000000)
		log_error("WatchdogSec is under 2 s: the agent pings once a second, set it to 2 s or more");
	agent_notify_ready(a, NULL);
	while (!a->stop) {
		/* a deadline is at most 100 ms late; an idle agent wakes once a second */
		int r = loop_turn(a->loop, agent_clients_pending(a) ? 100 : 1000);

		if (r < 0) {
			log_error("epoll_wait: %s", strerror(-r));
			break;
		}
		agent_clients_expire(a);
	}
	ring_buffer__consume(a->rb);
	agent_flush_suppressed(a);
	return 0;
}

/* Whatever the start reached, undone in reverse; the pinned kernel state stays. */
static void agent_free(struct agent *a, struct agent_sources *src)
{
	if (a->loop) {
		agent_clients_close(a);
		feed_stop(a, &a->pods);
		json_decref(a->pods_named);
		a->pods_named = NULL;
		feed_stop(a, &a->docker);
		resources_stop(a);
		keys_worker_stop(a);
		exchange_worker_stop(a);
	}
	loop_free(a->loop);
	credentials_stop(a);
	audit_stop(a);
	policy_set_clear(&a->policies);
	trust_clear(&a->trust);
	idmap_clear(&a->identity_claims);
	idmap_clear(&a->workloads);
	metrics_rows_free(a);
	ring_buffer__free(a->rb);
	if (src->signals.fd >= 0)
		close(src->signals.fd);
	if (src->tick.fd >= 0)
		close(src->tick.fd);
	if (a->events_file)
		fclose(a->events_file);
	fence_close(a->f);
	if (a->root_fd >= 0)
		close(a->root_fd);
	if (a->mount_fd >= 0)
		close(a->mount_fd);
	agent_policies_free(a->loaded, a->nloaded);
	idmap_clear(&a->cgroup_paths);
	idmap_clear(&a->reported);
	config_clear(&a->cfg);
	free(a->mount);
	free(a->root_abs);
}

int agent_run(const char *config)
{
	struct agent a = { .root_fd = -1, .mount_fd = -1, .next_slot = 1,
			   .cgroup_paths = { .cache = true }, .reported = { .cache = true } };
	struct agent_sources src = { .ring.fd = -1, .signals.fd = -1, .tick.fd = -1 };
	struct policy_set set = {};
	int r;

	r = agent_load_config(&a, config, &set);
	if (r == 0)
		r = agent_check_kernel();
	if (r == 0)
		r = agent_decide_dns(&a, &set); /* before anything is attached */
	if (r == 0)
		r = agent_setup_root(&a);
	if (r == 0)
		r = agent_attach(&a);
	if (r == 0)
		r = agent_open_events(&a);
	if (r == 0)
		r = agent_enforce(&a, &set);
	if (r == 0)
		r = agent_loop_setup(&a, &src);
	if (r == 0)
		r = agent_serve(&a);
	policy_set_clear(&set);
	agent_free(&a, &src);
	return r < 0 ? 1 : 0;
}
