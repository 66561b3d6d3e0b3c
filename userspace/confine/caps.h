/* SPDX-License-Identifier: MIT */
/* Dropping the capabilities that could undo a workload's confinement. */
#ifndef MCPFENCE_CAPS_H
#define MCPFENCE_CAPS_H

/* Remove the confinement-breaking capabilities from the bounding, permitted, effective and
 * inheritable sets, clear the ambient set and set no_new_privs. */
int caps_confine(void);
/* The names of the dropped capabilities, for help and docs. */
extern const char caps_dropped_text[];

#endif
