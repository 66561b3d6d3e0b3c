/* SPDX-License-Identifier: MIT */
/*
 * The agent's Unix socket protocol: one JSON object per line each way.
 * Requests: {"op":"ping"}, {"op":"bind","cgroup":PATH,"policy":NAME | "hold":true
 * [,"workload":{..}]} (workload: a few strings its events name), {"op":"unbind","cgroup":PATH},
 * {"op":"reload"}, {"op":"attest","token":JWT}. Replies:
 * {"ok":true,...} or {"ok":false,"error":"..."}. On the control socket, ping also names the
 * paths a confined workload must not reach ("protected_paths", hidden by `run`).
 */
#ifndef MCPFENCE_CONTROL_H
#define MCPFENCE_CONTROL_H

#include <jansson.h>

#define CONTROL_LINE_MAX (64u << 10)

/* Send one request (stolen: callers pass json_pack() directly) and read the reply. */
int control_request(const char *socket_path, json_t *req, json_t **ret_reply);
/* Read one line (at most CONTROL_LINE_MAX) and parse it. */
int control_read(int fd, json_t **ret);
int control_write(int fd, json_t *msg);
/* control_write, then drop the reference (for json_pack() results); for the API clients'
 * worker threads, whose reader going away is not their error to report. */
void control_emit(int fd, json_t *msg);
/* The same, for callers that do their own non-blocking I/O. */
int control_parse(const char *buf, size_t len, json_t **ret);
char *control_format(json_t *msg, size_t *ret_len); /* one line, with its newline; free() it */

#endif
