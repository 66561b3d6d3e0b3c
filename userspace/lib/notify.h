/* SPDX-License-Identifier: MIT */
/*
 * systemd's service notification protocol (sd_notify(3)), without libsystemd: one datagram of
 * newline-separated assignments (READY=1, STATUS=..., WATCHDOG=1, RELOADING=1, STOPPING=1) to
 * the socket in $NOTIFY_SOCKET (a path, or '@' for the abstract namespace). Nothing happens
 * when the variable is unset: the agent is not run by systemd (Type=notify).
 */
#ifndef MCPFENCE_NOTIFY_H
#define MCPFENCE_NOTIFY_H

#include <stdint.h>

/* 0 sent, 0 not under systemd, -errno on failure. */
int notify_send(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The watchdog interval systemd asked for ($WATCHDOG_USEC, for this pid), 0 if none. */
uint64_t notify_watchdog_usec(void);

#endif
