/* SPDX-License-Identifier: MIT */
/* Event records from the ring buffer, enriched in userspace and written as JSON lines. */
#ifndef MCPFENCE_EVENTS_H
#define MCPFENCE_EVENTS_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include "mcpfence_abi.h"

/* What userspace adds to a kernel record; any field may be NULL. */
struct event_context {
	const char *cgroup;
	const char *policy;
	const struct mcpf_identity *identity;
	const char *name; /* the name behind e->name_hash, NULL if unknown */
	json_t *learned_names; /* tls: the names learned for the address (borrowed) */
};

const char *event_hook_name(unsigned hook);
const char *event_verdict_name(unsigned verdict);
const char *event_reason_name(unsigned reason);
/* Wall-clock ISO-8601 time (microseconds, UTC) of a CLOCK_BOOTTIME timestamp. */
void event_format_time(uint64_t boot_ns, char *buf, size_t len);
json_t *event_to_json(const struct mcpf_event *e, const struct event_context *ctx);
json_t *event_new(const char *type); /* an event with "ts" and "type" set to now */
/* Write one JSON line to each open sink, flushed. */
void event_write(json_t *ev, FILE *a, FILE *b);

#endif
