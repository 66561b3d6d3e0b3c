/* SPDX-License-Identifier: MIT */
/*
 * The agent's state and the parts it is made of, shared by the files of agent/ only. Each file
 * owns (writes) the fields marked with its name in struct agent; the others read them. Calls go
 * down this list, never up (scripts/check-agent.py, run by `make lint`, fails on a circle):
 * what must travel up is a callback agent.c passes down (keys arrived, an event to publish).
 *
 *   agent.c       start-up in stages, the loop's ring, signal and tick sources, teardown;
 *                 owns the cgroup root, the loop and the callbacks
 *   clients.c     the three sockets (control, attestation, metrics): each client a small state
 *                 machine with a deadline; owns struct agent_clients
 *   ops.c         the socket ops (ping, bind, unbind, attest, reload, events), by a table
 *   apply.c       policies and bindings made the running state (generation flips), reloads,
 *                 telling systemd; owns the loaded policies, the bindings' side tables
 *   policies.c    the loaded policies looked up by slot or name, and the binding each gives
 *   gc.c          bindings of removed cgroups, learned addresses past their expiry
 *   emit.c        ring-buffer records and agent happenings as JSON lines; owns the events file
 *                 and the display caches
 *   events.c, events.h: one kernel record or agent happening as a JSON event (no agent state)
 *   metrics.c     the verdict counters' rows per policy, and the Prometheus text of a scrape
 *   audit.c       scope audits: the rules' last-use entries in the kernel, the binding history
 *                 on disk, the audit op's report; owns struct agent_audit
 *   keys.c        JWKS fetching on a worker thread
 *   feed.c        an API client's thread whose JSON lines reach the loop; owns struct feed
 *   pods.c        the Kubernetes list/watch feed: pods bound by annotation
 *   docker.c      the Docker events feed: containers bound by label
 *   resources.c   policies as Kubernetes resources (EgressPolicy, ClusterEgressPolicy): their
 *                 watches, their last good versions and cache, Events; owns struct agent_resources
 *   credentials.c the agent as an issuer: per-audience credentials for bound workloads (the
 *                 token op), its signing keys; owns struct agent_credentials
 *   exchange.c    token exchanges (RFC 8693, client assertions) on a worker thread
 *   canary.c      the proof, before ready, that the kernel guards the root
 *   config.c, config.h: the agent's configuration file, parsed and checked (no agent state)
 *   loop.c, loop.h: one epoll loop: descriptors with handlers, nothing that blocks
 *   worker.c, worker.h: a thread for the loop's blocking jobs (no agent state)
 *   agent.h       the entry point for the CLI: agent_run()
 *   agent_state.h this file
 */
#ifndef MCPFENCE_AGENT_STATE_H
#define MCPFENCE_AGENT_STATE_H

#include <bpf/libbpf.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "config.h"
#include "fence.h"
#include "idmap.h"
#include "policy.h"
#include "verify_error.h"
#include "trust.h"

/* Why a cgroup below the root can be out of reach, and what fixes it (agent start, canary). */
#define AGENT_CGROUPNS_HINT                                                                        \
	"it lies outside our cgroup namespace and no process of the host's namespace is visible "  \
	"to join it through (run the agent with the host's PID namespace: hostPID)"

/* One counted entry of a policy's rules' last use (audit.c): a rule's CIDR part, or one name
 * pattern of a name rule (pattern: as written). */
struct audit_rule {
	struct mcpf_rule_use_key key; /* a name pattern's entry */
	uint16_t slot;		      /* a rule's slot of mcpf_rule_last (MCPF_RULE_UNATTRIBUTED: none) */
	uint64_t digest;
	uint32_t egress; /* spec.egress index */
	char *pattern;	 /* NULL for the CIDR part */
};

struct audit_rules {
	size_t n;
	struct audit_rule *v;
	size_t nrules;	   /* spec.egress */
	bool *unattributed; /* per rule: uses on merged ranges are not credited to it */
};

struct loaded_policy {
	char *name;
	uint32_t slot;
	uint32_t policy_id;
	uint8_t mode;
	uint8_t metric; /* its row of the kernel's verdict counters */
	struct policy_compiled compiled; /* until written */
	struct policy_keys keys;	 /* after: enough to delete the slot */
	struct audit_rules rules;	 /* its rules' last-use entries (audit.c) */
};

struct loop;
struct agent_clients;
struct agent_credentials;
struct worker;
struct agent_resources;
struct agent_audit;
struct feed;

/* The agent's own counters, for metrics. */
struct agent_stats {
	uint64_t attest[VERIFY_ERROR_MAX]; /* by result: VERIFY_OK or the reason */
	uint64_t reloads_ok, reloads_failed;
	uint64_t reload_duration_ns; /* the last one */
	time_t started_at, applied_at;
};

struct agent {
	/* agent.c: the configuration and the cgroup root, fixed after start (cfg's bindings
	 * follow a reload: apply.c) */
	struct agent_config cfg;
	char *mount;	  /* the cgroup2 mount as this agent sees it */
	int mount_fd;	  /* open on it: cgroups by id (open_by_handle_at) */
	char *root_abs;
	uint64_t root_id;
	uint32_t root_level;
	int root_fd;
	bool created_root_pending; /* record in the pinned state that we made the root */
	bool dns;		   /* names are learned: resolvers configured, kernel able */
	const char *dns_off_why;   /* why not, for a policy that lists names */
	struct fence *f;	   /* the kernel objects; every file writes through kernel/fence.h */
	struct loop *loop;
	struct ring_buffer *rb;
	void (*on_event)(struct agent *a, json_t *ev); /* the events op's feed (clients.c) */
	void (*on_keys_ready)(struct agent *a);	       /* parked requests go on (clients.c) */
	void (*on_exchange_done)(struct agent *a);     /* the same, after a token exchange */
	/* policies besides the files', added to each reload's set (resources.c) */
	int (*more_policies)(struct agent *a, struct policy_set *set, struct diag *errs);
	bool watchdog; /* systemd asked for WATCHDOG=1 pings */
	bool stop;

	/* apply.c: what runs, and what each binding needs besides its map entry */
	struct loaded_policy *loaded;
	size_t nloaded;
	uint32_t next_slot;
	struct policy_set policies; /* the running set, for identity matching */
	struct trust trust;
	uint32_t next_identity;	      /* ops.c takes the next one for an attestation */
	struct idmap identity_claims; /* identity id -> JSON of the claims its policy matched on */
	struct idmap workloads; /* bound cgroup id -> JSON naming its container or pod, for events */

	/* emit.c: where events go, and its display caches */
	FILE *events_file;
	struct idmap cgroup_paths; /* cache: cgroup id -> display path */
	struct idmap reported;	   /* cgroup id -> suppressed count already reported */
	uint64_t canary_cgroup_id; /* canary.c: its deny is the canary's proof, not news */

	/* opaque, each owned by its file */
	struct agent_clients *clients; /* clients.c: the sockets and their clients */
	struct worker *keys;	       /* keys.c: JWKS fetches on a thread */
	struct feed *pods;	       /* pods.c: Kubernetes API selection, when configured */
	json_t *pods_named;	       /* pods.c: uid -> the pod, for those naming a policy */
	struct feed *docker;	       /* docker.c: Docker Engine API selection, when configured */
	struct agent_resources *resources; /* resources.c: policies as Kubernetes resources */
	struct agent_credentials *creds; /* credentials.c: the issuer, when configured */
	struct worker *exchanges;	 /* exchange.c: token exchanges on a thread */
	struct agent_audit *audit;	 /* audit.c: the binding history */

	/* metrics.c */
	char *metric_rows[MCPF_METRIC_ROWS]; /* policy name of each row of the verdict counters */
	struct agent_stats stats;	     /* counted by apply.c and ops.c */
};

/* emit.c */
void agent_emit(struct agent *a, json_t *ev);
const char *agent_cgroup_path(struct agent *a, uint64_t id);
int agent_record_handle(void *ctx, void *data, size_t size);
void agent_flush_suppressed(struct agent *a);
void agent_emit_policy(struct agent *a, const char *action, const char *policy, const char *reason, const char *cgroup,
		       uint64_t cgroup_id);

/* policies.c */
const struct loaded_policy *agent_policy_by_slot(struct agent *a, uint32_t slot);
const struct loaded_policy *agent_policy_by_name(struct agent *a, const char *name);
/* The binding to a loaded policy, or with none a hold (nothing allowed until attested). */
struct mcpf_binding agent_binding_of(const struct loaded_policy *lp);
/* Whether the configuration holds namespace ns for attestation (kubernetes.namespaces). */
bool agent_namespace_held(struct agent *a, const char *ns);
/* The policy a pod annotation names, scoped (policy/scope.h); NULL with why: hold the pod. */
const struct loaded_policy *agent_policy_for_pod(struct agent *a, const char *ns, const char *ref, char *why,
						 size_t len);
void agent_policies_free(struct loaded_policy *l, size_t n);

/* apply.c */
/* Bind what a label or annotation selected (lp NULL: a hold, `why` says why when not asked
 * for), unless it attested since; logged as `who` ("Docker: container x"), with a policy event.
 * 1 written, 0 kept, -errno. */
int agent_bind_selected(struct agent *a, const char *who, const char *abs, uint64_t id,
			const struct loaded_policy *lp, const char *why);
int agent_resolve_cgroup(struct agent *a, const char *path, char **ret_abs, const char **why);
int agent_apply(struct agent *a, const struct agent_config *cfg, struct policy_set *set,
		struct diag *errs);
/* Policies that list names need resolvers and a kernel that learns: refused otherwise. */
int agent_check_names(const struct agent *a, const struct policy_set *set, struct diag *errs);
int agent_reload(struct agent *a, struct diag *errs);
void agent_log_diag(const struct diag *d);

/* gc.c */
void agent_gc(struct agent *a);

/* ops.c: a request's reply, or NULL with *wait_keys set when it must wait for a key fetch. */
struct op_caller {
	uint64_t serial; /* this connection's, unique for the agent's life */
	int fd;
	uid_t uid;
	pid_t pid;
	bool attest_socket; /* the world-writable socket: ping and attest only */
};
json_t *agent_dispatch(struct agent *a, const struct op_caller *c, json_t *req, bool *wait_keys);
/* Whether a process lies in a guarded cgroup (under the root): such callers get no control. */
bool agent_pid_guarded(struct agent *a, pid_t pid);

/* clients.c */
int agent_listen(struct agent *a);
void agent_clients_close(struct agent *a);
/* Every turn of the loop: answer or drop clients past their deadline. */
void agent_clients_expire(struct agent *a);
bool agent_clients_pending(struct agent *a);
/* An event for the clients that asked for them (the events op). */
void agent_clients_publish(struct agent *a, json_t *ev);
/* Keys arrived (or failed): re-run the requests that waited for them. */
void agent_clients_keys_ready(struct agent *a);

/* canary.c: 0, or -errno with `why` saying what the kernel did instead */
int agent_canary(struct agent *a, char *why, size_t len);

/* keys.c */
/* on_ready: keys arrived (or failed), run on the loop */
int keys_worker_start(struct agent *a, void (*on_ready)(struct agent *a));
/* feed.c: an API client's thread, its JSON lines handed to on_msg on the loop */
typedef void (*feed_run_fn)(const void *cfg, int out_fd, atomic_bool *stop);
typedef void (*feed_msg_fn)(struct agent *a, json_t *msg);
int feed_start(struct agent *a, feed_run_fn run, const void *cfg, feed_msg_fn on_msg, struct feed **ret);
void feed_stop(struct agent *a, struct feed **f);
/* pods.c: the Kubernetes list/watch feed (nothing without a `kubernetes` section) */
int pods_feed_start(struct agent *a);
/* Resolve every pod's policy annotation again: the policies changed. */
void pods_rebind(struct agent *a);
/* resources.c: nothing without kubernetes.policies. load_cache (at start, before the first
 * apply) and policies (every apply) add the resources' policies to set. */
int resources_load_cache(struct agent *a, struct policy_set *set, struct diag *errs);
int resources_policies(struct agent *a, struct policy_set *set, struct diag *errs);
int resources_start(struct agent *a);
void resources_stop(struct agent *a);
/* docker.c: the Docker events feed (nothing without a `docker` section) */
int docker_feed_start(struct agent *a);
/* apply.c: tell systemd (Type=notify) the agent enforces, with a note for `systemctl status` */
void agent_notify_ready(struct agent *a, const char *note);
/* metrics.c: rows of the verdict counters, and the HTTP reply to a scrape */
void metrics_rows_recover(struct agent *a);
uint8_t metrics_row_of(struct agent *a, const char *name);
void metrics_rows_keep(struct agent *a);
void metrics_rows_free(struct agent *a);
char *metrics_http_reply(struct agent *a, const char *req, size_t len, size_t *ret_len);
/* What a bound cgroup runs, named in its events ({"container":..} or {"pod":..}); owned. */
void agent_workload_set(struct agent *a, uint64_t cgroup_id, json_t *workload);
/* apply.c: a binding is gone (its cgroup unbound or removed, its policy dropped): what only it
 * needed goes too (its identity, kernel and agent side, and its workload). */
void agent_binding_forget(struct agent *a, uint64_t cgroup_id, uint32_t identity_id);
void keys_worker_stop(struct agent *a);
/* Start fetches for every issuer whose verification asked for one (trust_issuer.fetch_wanted). */
void keys_worker_kick(struct agent *a);
/* The running trust set: fetches deferred to the worker, key files read, remote keys asked for. */
void keys_warm(struct agent *a);

/* exchange.c: a POST to a token endpoint per job, keyed by the asking client's serial */
struct exchange_result {
	int r;	     /* 0: a 200 reply; -errno otherwise */
	long status; /* HTTP */
	char *body;  /* the reply's body (an OAuth error's too); the taker frees it */
	char error[256];
};
int exchange_worker_start(struct agent *a, void (*on_done)(struct agent *a));
void exchange_worker_stop(struct agent *a);
/* form: owned by the job from here */
int exchange_submit(struct agent *a, uint64_t serial, const char *url, const char *ca_file, char *form);
/* 1 with the finished result, 0 while it runs, -ENOENT when serial has none. */
int exchange_take(struct agent *a, uint64_t serial, struct exchange_result *ret);

/* audit.c: rules' last use (kernel) and the binding history (disk) */
int audit_rules_make(struct agent *a, struct policy_compiled *c, uint32_t policy_id, struct audit_rules *out);
void audit_rules_clear(struct audit_rules *r);
void audit_rules_seed(struct agent *a, const struct audit_rules *r);
void audit_rules_prune(struct agent *a);
/* Unix seconds of the entry's last use, 0: never (or no entry); *ret_since (may be NULL): when
 * counting began. */
int64_t audit_last_used(struct agent *a, const struct audit_rule *r, int64_t *ret_since);
int audit_start(struct agent *a);
void audit_binding_seen(struct agent *a, const char *policy, uint64_t cgroup_id, const char *cgroup,
			const char *source, json_t *claims);
void audit_tick(struct agent *a);
void audit_stop(struct agent *a);
/* The audit op's reply (uses since `since`, Unix seconds); NULL when `policy` is not loaded. */
json_t *audit_report(struct agent *a, int64_t since, const char *policy);

/* credentials.c: nothing without an issuer section */
int credentials_start(struct agent *a);
void credentials_stop(struct agent *a);
/* Every second: keys published ahead of their turn, retired ones dropped when safe. */
void credentials_tick(struct agent *a);
/* The token op: a credential for the caller, or the reason it gets none; NULL with *wait set
 * while an exchange for it runs. */
json_t *credentials_op_token(struct agent *a, const struct op_caller *c, json_t *req, bool *wait);
/* An attested identity's source claims, kept for the claims its policy passes on; and gone. */
void credentials_remember(struct agent *a, uint32_t identity_id, json_t *claims);
void credentials_forget(struct agent *a, uint32_t identity_id);
/* For status: the issuer's URL, its keys and their ages, counts; null without an issuer. */
json_t *credentials_keys(struct agent *a);
/* The discovery document (or the key set): served beside the metrics, for a reverse proxy. */
json_t *credentials_document(struct agent *a, bool discovery);
/* For metrics: each (policy, audience, result) count; the audience only where granted. */
typedef void (*credentials_row_fn)(void *ud, const char *policy, const char *audience, const char *result,
				   uint64_t n);
void credentials_metrics(struct agent *a, credentials_row_fn row, void *ud);

#endif
