// SPDX-License-Identifier: MIT
/*
 * mcpfence events: the agent's events, filtered, as one readable line each or as JSON lines.
 * History comes from the events file; --follow then subscribes to the agent (the `events` op
 * on its control socket). When the agent goes away, the command says so, reconnects every
 * second, and on reconnecting replays from the file what it missed (events with a later ts).
 */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "cli.h"
#include "config.h"
#include "control.h"

struct filter {
	const char *type, *verdict, *policy, *cgroup;
	char since[40]; /* a ts: events at or after it */
};

struct follow {
	struct filter f;
	char last_ts[40]; /* the newest event shown: the replay starts after it */
};

static volatile sig_atomic_t stopping;

static void on_stop(int sig)
{
	stopping = 1;
}

static void events_help(void)
{
	printf("Usage: mcpfence events [--follow] [--since WHEN] [--type T] [--verdict V] [--policy P]\n"
	       "                       [--cgroup PATH] [--file F] [--agent-socket PATH | --config FILE] [--json]\n\n"
	       "The agent's events that match every filter given, one line each (--json: the JSON\n"
	       "lines as the agent writes them). History comes from the events file (the config's\n"
	       "events.file, or --file); --follow then shows new events as the agent emits them,\n"
	       "from its socket, until interrupted. If the agent goes away, --follow says so,\n"
	       "reconnects every second, and replays from the file what it missed.\n\n"
	       "--since WHEN    a duration back from now (30s, 10m, 2h) or a time as the events\n"
	       "                write it (2026-11-27T05:00:00Z); default: everything\n"
	       "--type T        egress, expired, socket, attest, policy, dns, suppressed, lost\n"
	       "--verdict V     allow, deny or audit\n"
	       "--policy P      the policy's name\n"
	       "--cgroup PATH   the cgroup, or a cgroup below it (/mcpfence/run-1234)\n");
}

static bool matches(const struct filter *f, json_t *ev)
{
	const char *ts = json_string_value(json_object_get(ev, "ts"));
	const char *cg = json_string_value(json_object_get(ev, "cgroup"));
	size_t n = f->cgroup ? strlen(f->cgroup) : 0;

#define FIELD_IS(name, want) (!(want) || !strcmp(json_string_value(json_object_get(ev, name)) ?: "", want))
	return FIELD_IS("type", f->type) && FIELD_IS("verdict", f->verdict) && FIELD_IS("policy", f->policy) &&
	       (!f->since[0] || (ts && strcmp(ts, f->since) >= 0)) &&
	       (!f->cgroup || (cg && !strncmp(cg, f->cgroup, n) && (cg[n] == '/' || !cg[n])));
#undef FIELD_IS
}

/* One line a person reads: when, what, where to, who. */
static void print_text(json_t *ev)
{
	static const char *const keys[] = { "policy", "cgroup", "pid", "comm", "reason", "action", "result",
					    "qname", "count", NULL };
	const char *dst = json_string_value(json_object_get(ev, "dst"));
	json_t *wl = json_object_get(ev, "workload"), *id = json_object_get(ev, "identity"), *v;
	const char *k;

	printf("%s %s", json_string_value(json_object_get(ev, "ts")) ?: "-",
	       json_string_value(json_object_get(ev, "type")) ?: "?");
	if (json_object_get(ev, "verdict"))
		printf(" %s", json_string_value(json_object_get(ev, "verdict")));
	if (json_object_get(ev, "hook"))
		printf(" %s", json_string_value(json_object_get(ev, "hook")));
	if (dst)
		printf(" %s %s%s%s:%lld", json_string_value(json_object_get(ev, "protocol")) ?: "", strchr(dst, ':') ? "[" : "",
		       dst, strchr(dst, ':') ? "]" : "", (long long)json_integer_value(json_object_get(ev, "dport")));
	for (size_t i = 0; keys[i]; i++) {
		v = json_object_get(ev, keys[i]);
		if (json_is_string(v))
			printf(" %s=%s", keys[i], json_string_value(v));
		else if (json_is_integer(v))
			printf(" %s=%lld", keys[i], (long long)json_integer_value(v));
	}
	json_object_foreach(wl, k, v)
		printf(" %s=%s", k, json_string_value(v) ?: "?");
	if (json_is_string(json_object_get(id, "sub")))
		printf(" sub=%s", json_string_value(json_object_get(id, "sub")));
	putchar('\n');
}

static void show(struct follow *fo, const char *line, size_t len)
{
	json_t *ev = json_loadb(line, len, 0, NULL);
	const char *ts = json_string_value(json_object_get(ev, "ts"));

	if (json_is_object(ev) && matches(&fo->f, ev)) {
		if (cli_json)
			printf("%.*s\n", (int)len, line);
		else
			print_text(ev);
		fflush(stdout);
	}
	if (ts && strcmp(ts, fo->last_ts) > 0)
		snprintf(fo->last_ts, sizeof(fo->last_ts), "%s", ts);
	json_decref(ev);
}

/* The file's events after `after` (a ts; "" for all). */
static void replay_file(struct follow *fo, const char *file, const char *after)
{
	_cleanup_fclose_ FILE *fp = file ? fopen(file, "r") : NULL;
	_cleanup_free_ char *line = NULL;
	char floor[40];
	size_t cap = 0;
	ssize_t n;

	if (!fp)
		return;
	snprintf(floor, sizeof(floor), "%s", after);
	while ((n = getline(&line, &cap, fp)) > 0) {
		json_t *ev = json_loadb(line, (size_t)n, 0, NULL);
		const char *ts = json_string_value(json_object_get(ev, "ts"));
		bool newer = ts && strcmp(ts, floor) > 0;

		json_decref(ev);
		if (newer)
			show(fo, line, (size_t)(line[n - 1] == '\n' ? n - 1 : n));
	}
}

static int subscribe(const char *sock)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	json_t *reply = NULL, *req;
	bool ok;
	int r;

	if (fd < 0 || strlen(sock) >= sizeof(sa.sun_path))
		return -EINVAL;
	strcpy(sa.sun_path, sock);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	req = json_pack("{s:s}", "op", "events");
	r = req ? control_write(fd, req) : -ENOMEM;
	json_decref(req);
	if (r < 0)
		return r;
	{ /* the reply line alone, byte by byte: the events that follow it are the stream's */
		char line[4096];
		size_t n = 0;

		while (n < sizeof(line) - 1 && read(fd, line + n, 1) == 1 && line[n] != '\n')
			n++;
		if (control_parse(line, n, &reply) < 0)
			return -EPROTO;
	}
	ok = json_is_true(json_object_get(reply, "subscribed"));
	if (!ok)
		fprintf(stderr, "mcpfence: events: the agent refused: %s\n",
			json_string_value(json_object_get(reply, "error")) ?: "?");
	json_decref(reply);
	return ok ? TAKE_FD(fd) : -EPERM;
}

/* Lines from the agent until it goes away (0) or we are interrupted (1). */
static int stream(struct follow *fo, int fd)
{
	char buf[65536];
	size_t len = 0;

	while (!stopping) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t k;
		char *nl;

		if (poll(&p, 1, 500) <= 0)
			continue;
		k = read(fd, buf + len, sizeof(buf) - len);
		if (k <= 0)
			return 0;
		len += (size_t)k;
		while ((nl = memchr(buf, '\n', len))) {
			size_t l = (size_t)(nl - buf) + 1;

			show(fo, buf, l - 1);
			memmove(buf, buf + l, len - l);
			len -= l;
		}
		if (len == sizeof(buf))
			len = 0; /* a line longer than any event: dropped */
	}
	return 1;
}

static int since_parse(const char *s, char out[40])
{
	uint64_t ns;
	time_t t;
	struct tm tm;

	if (s[0] >= '0' && s[0] <= '9' && strchr(s, 'T')) { /* a time: compared as the events write it */
		snprintf(out, 40, "%s", s);
		return 0;
	}
	if (parse_duration_ns(s, &ns) < 0)
		return -EINVAL;
	t = time(NULL) - (time_t)(ns / 1000000000ULL);
	gmtime_r(&t, &tm);
	strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
	return 0;
}

int cmd_events(int argc, char **argv)
{
	const char *sock = NULL, *config = NULL, *file = NULL, *since = NULL;
	struct follow fo = {};
	bool follow = false, warned = false;
	const struct cli_opt opts[] = {
		{ "follow", 'f', false, &follow },   { "since", 'S', true, &since },
		{ "type", 't', true, &fo.f.type },   { "verdict", 'V', true, &fo.f.verdict },
		{ "policy", 'p', true, &fo.f.policy }, { "cgroup", 'g', true, &fo.f.cgroup },
		{ "file", 'F', true, &file },	     { "agent-socket", 's', true, &sock },
		{ "config", 'c', true, &config },    {},
	};
	_cleanup_free_ char *sock_owned = NULL, *file_owned = NULL;
	struct agent_config cfg;
	int args;

	args = cli_options(argc, argv, opts, 0, events_help);
	if (args <= 0)
		return args == 0 ? 0 : 2;
	if (since && since_parse(since, fo.f.since) < 0)
		return cli_fail("events: --since \"%s\": a duration (30s, 10m, 2h) or a time (2026-11-27T05:00:00Z)", since);
	if (fo.f.verdict && strcmp(fo.f.verdict, "allow") && strcmp(fo.f.verdict, "deny") && strcmp(fo.f.verdict, "audit"))
		return cli_fail("events: --verdict \"%s\": allow, deny or audit", fo.f.verdict);
	if (cli_config_load(config, &cfg) < 0)
		return 1;
	sock_owned = strdup(cfg.socket);
	file_owned = cfg.events_file ? strdup(cfg.events_file) : NULL;
	config_clear(&cfg);
	sock = sock ?: sock_owned;
	file = file ?: file_owned;
	if (!follow && !file)
		return cli_fail("events: no events file (the config has no events.file; give --file, or --follow)");
	replay_file(&fo, file, "");
	if (!follow)
		return 0;
	signal(SIGINT, on_stop);
	signal(SIGTERM, on_stop);
	signal(SIGPIPE, SIG_IGN);
	while (!stopping) {
		int fd = subscribe(sock);

		if (fd < 0) {
			if (!warned)
				fprintf(stderr, "mcpfence: events: cannot reach the agent at %s (%s); retrying every second\n",
					sock, strerror(-fd));
			warned = true;
			sleep(1);
			continue;
		}
		if (warned) {
			fprintf(stderr, "mcpfence: events: reconnected to the agent%s\n",
				file ? "; replaying what the file holds since the last event shown" : "");
			replay_file(&fo, file, fo.last_ts);
			warned = false;
		}
		if (stream(&fo, fd) == 0 && !stopping) {
			fprintf(stderr, "mcpfence: events: the agent went away; reconnecting\n");
			warned = true;
		}
		close(fd);
	}
	return 0;
}
