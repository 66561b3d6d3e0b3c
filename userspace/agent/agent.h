/* SPDX-License-Identifier: MIT */
#ifndef MCPFENCE_AGENT_H
#define MCPFENCE_AGENT_H

int agent_main(int argc, char **argv);

#endif
