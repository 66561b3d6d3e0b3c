/* SPDX-License-Identifier: MIT */
/*
 * Credentials kept in files for long-running servers (`attest --watch`, `run`): `AUD=PATH`
 * asks the agent for a credential for AUD and writes it to PATH, replaced atomically (a new
 * file renamed over the old) before 80 % of its lifetime has passed, the way the kubelet keeps
 * a projected service-account token fresh. The request is made from the caller's own cgroup:
 * the agent decides from the kernel's word who asks.
 */
#ifndef MCPFENCE_CREDFILE_H
#define MCPFENCE_CREDFILE_H

#include <stddef.h>
#include <stdint.h>

struct credfile {
	const char *audience;
	char *path;
	int64_t due_ms;	 /* CLOCK_MONOTONIC: when to ask again */
	int64_t backoff_ms;
};

/* "AUD=PATH" (split at the last '='; PATH absolute). -EINVAL with *why. */
int credfile_parse(const char *spec, struct credfile *ret, const char **why);
/* Ask and write now: 0, or -errno with why set (the agent's reason, or the file's error). */
int credfile_fetch(struct credfile *c, const char *sock, char *why, size_t len);
/* Every file whose time has come, fetched; failures logged and retried with backoff. Returns
 * the milliseconds until the next one is due. */
int64_t credfiles_refresh(struct credfile *c, size_t n, const char *sock);
void credfile_clear(struct credfile *c);

#endif
