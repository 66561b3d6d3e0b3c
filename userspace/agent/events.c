// SPDX-License-Identifier: MIT
#include "events.h"
#include "util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>

static const char *const hook_names[MCPF_HOOK_MAX] = {
	[MCPF_HOOK_CONNECT4] = "connect4", [MCPF_HOOK_CONNECT6] = "connect6",
	[MCPF_HOOK_SENDMSG4] = "sendmsg4", [MCPF_HOOK_SENDMSG6] = "sendmsg6",
	[MCPF_HOOK_SOCK_CREATE] = "sock_create", [MCPF_HOOK_SKB] = "skb",
	[MCPF_HOOK_SETSOCKOPT] = "setsockopt", [MCPF_HOOK_SKB_INGRESS] = "skb_ingress",
};

const char *event_hook_name(unsigned hook)
{
	return hook < MCPF_HOOK_MAX ? hook_names[hook] : "unknown";
}

const char *event_verdict_name(unsigned verdict)
{
	switch (verdict) {
	case MCPF_VERDICT_ALLOW:
		return "allow";
	case MCPF_VERDICT_DENY:
		return "deny";
	case MCPF_VERDICT_AUDIT:
		return "audit";
	}
	return "unknown";
}

const char *event_reason_name(unsigned reason)
{
	switch (reason) {
	case MCPF_REASON_POLICY:
		return "policy";
	case MCPF_REASON_UNBOUND:
		return "unbound";
	case MCPF_REASON_EXPIRED:
		return "expired";
	case MCPF_REASON_RAW:
		return "raw_socket";
	case MCPF_REASON_IP_OPTIONS:
		return "ip_options";
	case MCPF_REASON_MPTCP:
		return "mptcp";
	case MCPF_REASON_DNS_NAME:
		return "name_not_listed";
	case MCPF_REASON_DNS_FULL:
		return "learning_cap";
	case MCPF_REASON_DNS_SPOOF:
		return "forged_reply";
	case MCPF_REASON_DNS_MALFORMED:
		return "not_a_plain_query";
	case MCPF_REASON_PROTOCOL:
		return "protocol";
	case MCPF_REASON_DNS_TRANSPORT:
		return "dns_transport";
	case MCPF_REASON_DNS_IP_HEADER:
		return "dns_ip_header";
	case MCPF_REASON_DNS_OFFLOAD:
		return "dns_offload";
	case MCPF_REASON_DNS_URGENT:
		return "dns_urgent";
	case MCPF_REASON_DNS_EXTRA:
		return "dns_extra_data";
	case MCPF_REASON_DNS_BUDGET:
		return "dns_budget";
	case MCPF_REASON_METADATA:
		return "metadata_endpoint";
	case MCPF_REASON_TLS_NAME:
		return "server_name_not_learned";
	case MCPF_REASON_TLS_NO_NAME:
		return "no_server_name";
	case MCPF_REASON_TLS_NOT_TLS:
		return "not_tls";
	case MCPF_REASON_TLS_BOUNDS:
		return "client_hello_bounds";
	case MCPF_REASON_TLS_QUIC:
		return "quic";
	}
	return "unknown";
}

static const char *protocol_name(unsigned p)
{
	switch (p) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_UDPLITE:
		return "udplite";
	case IPPROTO_ICMP:
		return "icmp";
	case IPPROTO_ICMPV6:
		return "icmpv6";
	case IPPROTO_RAW:
	case 0:
		return "raw";
	}
	return "other";
}

static const char *name_state_name(unsigned s)
{
	switch (s) {
	case MCPF_NAMES_NEVER:
		return "never_learned";
	case MCPF_NAMES_VALID:
		return "other_port";
	case MCPF_NAMES_EXPIRED:
		return "expired";
	case MCPF_NAMES_STALE:
		return "removed_from_policy";
	case MCPF_NAMES_ALLOWED:
		return "allowed";
	case MCPF_NAMES_AUDIT:
		return "not_listed";
	case MCPF_NAMES_RESOLVER:
		return "resolver";
	}
	return "unknown";
}

static json_t *qtype_json(unsigned t)
{
	switch (t) {
	case 1:
		return json_string("A");
	case 5:
		return json_string("CNAME");
	case 28:
		return json_string("AAAA");
	case 33:
		return json_string("SRV");
	case 16:
		return json_string("TXT");
	case 65:
		return json_string("HTTPS");
	}
	return json_integer(t);
}

void event_format_time(uint64_t boot_ns, char *buf, size_t len)
{
	uint64_t wall = now_ns(CLOCK_REALTIME) - (now_ns(CLOCK_BOOTTIME) - boot_ns);
	time_t secs = (time_t)(wall / 1000000000ULL);
	struct tm tm;
	char base[32];

	gmtime_r(&secs, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%06lluZ", base, (unsigned long long)(wall % 1000000000ULL) / 1000);
}

json_t *event_new(const char *type)
{
	char ts[48];

	event_format_time(now_ns(CLOCK_BOOTTIME), ts, sizeof(ts));
	return json_pack("{s:s, s:s}", "ts", ts, "type", type);
}

json_t *event_to_json(const struct mcpf_event *e, const struct event_context *ctx)
{
	char ts[48], addr[INET6_ADDRSTRLEN] = "", comm[sizeof(e->comm) + 1];
	const char *type = e->type == MCPF_EVENT_EXPIRED ? "expired" :
			   e->type == MCPF_EVENT_DNS	 ? "dns" :
			   e->type == MCPF_EVENT_TLS	 ? "tls" :
							   "egress";
	json_t *ev;

	event_format_time(e->ts_boot_ns, ts, sizeof(ts));
	memcpy(comm, e->comm, sizeof(e->comm));
	comm[sizeof(e->comm)] = '\0';
	for (char *c = comm; *c; c++) /* a task names itself: keep the JSON valid UTF-8 */
		if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
			*c = '?';
	ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:I, s:s, s:s}", "ts", ts, "type", type,
		       "verdict", event_verdict_name(e->verdict), "hook", event_hook_name(e->hook),
		       "protocol", protocol_name(e->protocol), "pid", (json_int_t)e->pid, "comm",
		       comm, "cgroup_id", (json_int_t)e->cgroup_id, "reason",
		       event_reason_name(e->reason), "mode",
		       e->mode == MCPF_MODE_AUDIT ? "audit" : "enforce");
	if (!ev)
		return NULL;
	if (e->hook == MCPF_HOOK_SETSOCKOPT) {
		json_object_set_new(ev, "level", json_string(e->protocol == IPPROTO_IPV6 ? "ipv6" : "ip"));
		json_object_set_new(ev, "optname", json_integer(e->dport));
	} else if (e->hook != MCPF_HOOK_SOCK_CREATE) {
		inet_ntop(e->family == AF_INET ? AF_INET : AF_INET6, e->daddr, addr, sizeof(addr));
		json_object_set_new(ev, "dst", json_string(addr));
		json_object_set_new(ev, "dport", json_integer(e->dport));
	} else {
		json_object_set_new(ev, "family", json_string(e->family == AF_INET ? "inet" : "inet6"));
		json_object_set_new(ev, "sock_type", json_integer(e->sock_type));
	}
	json_object_set_new(ev, "cgroup", ctx->cgroup ? json_string(ctx->cgroup) : json_null());
	json_object_set_new(ev, "policy", ctx->policy ? json_string(ctx->policy) : json_null());
	if (e->bound_cgroup_id)
		json_object_set_new(ev, "bound_cgroup_id", json_integer((json_int_t)e->bound_cgroup_id));
	if (ctx->identity)
		json_object_set_new(ev, "identity",
				    json_pack("{s:s, s:s}", "iss", ctx->identity->iss, "sub",
					      ctx->identity->sub));
	if (e->type == MCPF_EVENT_DNS) {
		json_object_set_new(ev, "qname", ctx->name ? json_string(ctx->name) : json_null());
		json_object_set_new(ev, "qtype", qtype_json(e->qtype));
	} else if (e->type == MCPF_EVENT_TLS) {
		/* the server name the ClientHello asked for (null: none, or none readable), and the
		 * names the workload resolved to this address; QUIC is refused before any name */
		if (e->reason != MCPF_REASON_TLS_QUIC)
			json_object_set_new(ev, "server_name", ctx->name && e->reason != MCPF_REASON_TLS_NO_NAME
									? json_string(ctx->name) : json_null());
		json_object_set_new(ev, "learned_names",
				    ctx->learned_names ? json_incref(ctx->learned_names) : json_array());
		if (e->sock_cookie) { /* the flow's own end, to tell it from others to the address */
			char src[INET6_ADDRSTRLEN] = "";

			inet_ntop(e->family == AF_INET ? AF_INET : AF_INET6, e->saddr, src, sizeof(src));
			json_object_set_new(ev, "src", json_string(src));
			json_object_set_new(ev, "sport", json_integer(e->sport));
		}
	} else if (e->name_state != MCPF_NAMES_NONE) {
		/* what the names said about this address: which name taught it, and its state */
		json_t *names = json_array();

		if (e->name_state != MCPF_NAMES_NEVER && e->name_state != MCPF_NAMES_RESOLVER)
			json_array_append_new(names, json_pack("{s:o, s:s}", "name",
							       ctx->name ? json_string(ctx->name) : json_null(),
							       "state", name_state_name(e->name_state)));
		json_object_set_new(ev, "dst_names", names);
		if (e->name_state == MCPF_NAMES_NEVER || e->name_state == MCPF_NAMES_RESOLVER)
			json_object_set_new(ev, "dst_names_state", json_string(name_state_name(e->name_state)));
	}
	if (e->type == MCPF_EVENT_EXPIRED) {
		char exp[48];

		event_format_time(e->expires_ns, exp, sizeof(exp));
		json_object_set_new(ev, "expired_at", json_string(exp));
	}
	return ev;
}

void event_write(json_t *ev, FILE *a, FILE *b)
{
	char *line = json_dumps(ev, JSON_COMPACT);
	FILE *sinks[2] = { a, b };

	if (!line)
		return;
	for (int i = 0; i < 2; i++) {
		if (!sinks[i])
			continue;
		fputs(line, sinks[i]);
		fputc('\n', sinks[i]);
		fflush(sinks[i]);
	}
	free(line);
}
