/* SPDX-License-Identifier: MIT */
#ifndef MCPFENCE_AGENT_H
#define MCPFENCE_AGENT_H

/* Run the agent with this config until SIGTERM/SIGINT; the process exit status. */
int agent_run(const char *config);

#endif
