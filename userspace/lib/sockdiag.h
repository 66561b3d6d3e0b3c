/* SPDX-License-Identifier: MIT */
/*
 * Ending a TCP connection from outside its process: SOCK_DESTROY over NETLINK_SOCK_DIAG (what
 * `ss -K` does; CONFIG_INET_DIAG_DESTROY). The kernel aborts the socket: the application's
 * next call fails with ECONNABORTED, and the peer gets a reset.
 */
#ifndef MCPFENCE_SOCKDIAG_H
#define MCPFENCE_SOCKDIAG_H

#include <stdint.h>

/* A TCP socket by its addresses (network order; IPv4 in the first four bytes), ports (host
 * order) and cookie. 0, or -errno (-ENOENT: no such socket, -EOPNOTSUPP: not built in). */
int sockdiag_destroy_tcp(uint8_t family, const uint8_t saddr[16], uint16_t sport, const uint8_t daddr[16],
			 uint16_t dport, uint64_t cookie);

#endif
