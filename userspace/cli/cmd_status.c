// SPDX-License-Identifier: MIT
/*
 * mcpfence status: read straight from the pinned maps, so it works while the agent is down, and
 * ask the agent whether it is running. Text and JSON come from the same document.
 */
#include <fcntl.h>
#include <time.h>

#include "cgroup.h"
#include "cli.h"
#include "config.h"
#include "control.h"
#include "events.h"
#include "fence.h"

struct status_ctx {
	struct fence *f;
	const char *mount;
	json_t *list;
	const char *root_abs;
	int mount_fd; /* bindings are named by id: no walk, whatever the number of cgroups */
};

static int add_policy(uint32_t slot, const struct mcpf_policy_meta *m, void *ud)
{
	struct status_ctx *s = ud;
	char name[MCPF_POLICY_NAME_MAX + 1];

	if (slot == FENCE_SLOT_STATE)
		return 0;
	memcpy(name, m->name, sizeof(m->name));
	name[sizeof(m->name)] = '\0';
	json_array_append_new(s->list, json_pack("{s:s, s:i, s:i, s:i}", "name", name, "generation",
						 (int)slot, "prefixes4", (int)m->nprefixes4,
						 "prefixes6", (int)m->nprefixes6));
	return 0;
}

static int add_binding(uint64_t cg, const struct mcpf_binding *b, void *ud)
{
	struct status_ctx *s = ud;
	struct mcpf_policy_meta m = {};
	struct mcpf_identity id;
	_cleanup_free_ char *path = NULL;
	json_t *o;

	if (!fence_binding_is_hold(b))
		fence_meta_get(s->f, b->slot, &m);
	m.name[sizeof(m.name) - 1] = '\0';
	cgroup_path_of_id(s->mount_fd, s->root_abs ?: s->mount, cg, &path);
	o = json_pack("{s:s?, s:I, s:s?, s:s}", "cgroup", path ? cgroup_path_display(s->mount, path) : NULL,
		      "cgroup_id", (json_int_t)cg, "policy", m.name[0] ? m.name : NULL, "mode",
		      b->mode == MCPF_MODE_AUDIT ? "audit" : "enforce");
	if (!o)
		return 0;
	if (fence_binding_is_hold(b))
		json_object_set_new(o, "held", json_true()); /* denied until attested or bound */
	if (b->expires_ns) {
		char ts[48];

		event_format_time(b->expires_ns, ts, sizeof(ts));
		json_object_set_new(o, "expires", json_string(ts));
		json_object_set_new(o, "expired", json_boolean(now_ns(CLOCK_BOOTTIME) > b->expires_ns));
	}
	if (b->identity_id && fence_identity_get(s->f, b->identity_id, &id) == 0)
		json_object_set_new(o, "identity", json_pack("{s:s, s:s}", "iss", id.iss, "sub", id.sub));
	json_array_append_new(s->list, o);
	return 0;
}

static void status_text(json_t *doc)
{
	json_t *agent = json_object_get(doc, "agent"), *v;
	const char *key;
	size_t i;

	printf("agent:    %s", json_is_true(json_object_get(agent, "running")) ? "running" : "not running");
	if (json_object_get(agent, "pid"))
		printf(" (pid %lld)", (long long)json_integer_value(json_object_get(agent, "pid")));
	printf("\nstate:    %s (%s)\n", json_string_value(json_object_get(doc, "bpffs")),
	       json_is_true(json_object_get(doc, "attached")) ? "attached, enforcing" : "not attached");
	if (json_string_value(json_object_get(doc, "cgroup_root")))
		printf("root:     %s\n", json_string_value(json_object_get(doc, "cgroup_root")));
	if ((v = json_object_get(agent, "issuer"))) {
		json_t *k;

		printf("issuer:   %s (%lld minted, %lld refused)\n", json_string_value(json_object_get(v, "url")),
		       (long long)json_integer_value(json_object_get(v, "minted")),
		       (long long)json_integer_value(json_object_get(v, "refused")));
		json_array_foreach(json_object_get(v, "keys"), i, k)
			printf("  key %s, %lld s old%s\n", json_string_value(json_object_get(k, "kid")),
			       (long long)json_integer_value(json_object_get(k, "age_s")),
			       json_is_true(json_object_get(k, "signing")) ? ", signing" : "");
	}
	printf("counters:");
	json_object_foreach(json_object_get(doc, "counters"), key, v)
		printf(" %s=%lld", key, (long long)json_integer_value(v));
	printf("\nlearned:  %lld addresses from DNS replies\npolicies:\n",
	       (long long)json_integer_value(json_object_get(doc, "learned_addresses")));
	json_array_foreach(json_object_get(doc, "policies"), i, v)
		printf("  %-24s generation %lld, %lld IPv4 + %lld IPv6 prefixes\n",
		       json_string_value(json_object_get(v, "name")),
		       (long long)json_integer_value(json_object_get(v, "generation")),
		       (long long)json_integer_value(json_object_get(v, "prefixes4")),
		       (long long)json_integer_value(json_object_get(v, "prefixes6")));
	printf("bindings:\n");
	json_array_foreach(json_object_get(doc, "bindings"), i, v) {
		printf("  %-32s -> %s (%s)", json_string_value(json_object_get(v, "cgroup")) ?: "(gone)",
		       json_string_value(json_object_get(v, "policy")) ?: "held: nothing until attested",
		       json_string_value(json_object_get(v, "mode")));
		if (json_object_get(v, "expires"))
			printf(" expires %s%s", json_string_value(json_object_get(v, "expires")),
			       json_is_true(json_object_get(v, "expired")) ? " (EXPIRED)" : "");
		printf("\n");
	}
}

static void status_help(void)
{
	printf("Usage: mcpfence status [--config FILE | --bpffs DIR] [--agent-socket PATH]"
	       " [--ready] [--json]\n\n"
	       "Show whether the agent runs, the pinned programs, counters, policies and\n"
	       "bindings. Reads the pinned maps directly (default %s), so it works\n"
	       "while the agent is down.\n\n"
	       "--ready  print nothing; exit 0 when the agent answers, which it does only\n"
	       "         after its enforcement canary passed (a readiness probe), else 1\n",
	       CONFIG_DEFAULT_BPFFS);
}

int cmd_status(int argc, char **argv)
{
	const char *config = NULL, *bpffs = NULL, *sock = NULL;
	_cleanup_(fence_closep) struct fence *f = NULL;
	_cleanup_free_ char *mount = NULL, *root_abs = NULL;
	_cleanup_close_ int mount_fd = -1;
	struct agent_config cfg = {};
	uint64_t cnt[MCPF_CNT_MAX], root_id = 0;
	json_t *doc, *counters, *agent, *reply = NULL;
	struct status_ctx s;
	bool ready = false;
	int args, r;
	const struct cli_opt opts[] = {
		{ "config", 'c', true, &config },
		{ "bpffs", 'b', true, &bpffs },
		{ "agent-socket", 's', true, &sock },
		{ "ready", 'r', false, &ready },
		{},
	};

	args = cli_options(argc, argv, opts, 0, status_help);
	if (args <= 0)
		return args == 0 ? 0 : 2;
	if (cli_config_load(config, &cfg) < 0)
		return 1;
	bpffs = bpffs ?: cfg.bpffs;
	sock = sock ?: cfg.socket;

	agent = json_pack("{s:b}", "running", 0);
	if (control_request(sock, json_pack("{s:s}", "op", "ping"), &reply) == 0 &&
	    json_is_true(json_object_get(reply, "ok"))) {
		json_object_set_new(agent, "running", json_true());
		json_object_set(agent, "pid", json_object_get(reply, "pid"));
		if (json_is_object(json_object_get(reply, "issuer")))
			json_object_set(agent, "issuer", json_object_get(reply, "issuer"));
	}
	json_decref(reply);
	if (ready) {
		r = json_is_true(json_object_get(agent, "running")) ? 0 : 1;
		if (r)
			cli_fail("The agent does not answer on %s", sock);
		json_decref(agent);
		config_clear(&cfg);
		return r;
	}

	r = fence_open_pinned(bpffs, &f);
	if (r < 0) {
		/* bpffs may point into cfg: report before clearing it */
		cli_fail("No mcpfence state in %s: %s (is the agent installed?)", bpffs, strerror(-r));
		json_decref(agent);
		config_clear(&cfg);
		return 1;
	}
	fence_attached_root(bpffs, &root_id);
	cgroup_mount_find(&mount);
	if (mount)
		mount_fd = open(mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mount && root_id)
		cgroup_path_of_id(mount_fd, mount, root_id, &root_abs);

	counters = json_object();
	if (fence_counters_read(f, cnt) == 0)
		for (int i = 0; i < MCPF_CNT_MAX; i++)
			json_object_set_new(counters, fence_counter_name(i), json_integer((json_int_t)cnt[i]));
	doc = json_pack("{s:s, s:b, s:s?, s:I, s:o, s:o}", "bpffs", bpffs, "attached", root_id != 0,
			"cgroup_root", root_abs && mount ? cgroup_path_display(mount, root_abs) : NULL,
			"cgroup_root_id", (json_int_t)root_id, "agent", agent, "counters", counters);
	s = (struct status_ctx){ .f = f, .mount = mount ?: "/", .root_abs = root_abs, .mount_fd = mount_fd,
				 .list = json_array() };
	fence_meta_foreach(f, add_policy, &s);
	json_object_set_new(doc, "policies", s.list);
	json_object_set_new(doc, "learned_addresses", json_integer((json_int_t)fence_learned_count(f)));
	s.list = json_array();
	fence_binding_foreach(f, add_binding, &s);
	json_object_set_new(doc, "bindings", s.list);
	cli_print(doc, status_text);
	config_clear(&cfg);
	return 0;
}
