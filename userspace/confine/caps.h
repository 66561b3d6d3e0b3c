/* SPDX-License-Identifier: MIT */
/* Dropping the capabilities that could undo a workload's confinement. */
#ifndef MCPFENCE_CAPS_H
#define MCPFENCE_CAPS_H

#include <stdbool.h>

/* Remove the confinement-breaking capabilities from the bounding, permitted, effective and
 * inheritable sets, clear the ambient set and set no_new_privs. `keep_setuid` keeps
 * CAP_SETUID and CAP_SETGID, for workloads that switch to an unprivileged user themselves. */
int caps_confine(bool keep_setuid);
/* The names of the dropped capabilities, for help and docs. */
extern const char caps_dropped_text[];

#endif
