/* SPDX-License-Identifier: MIT */
#ifndef MCPFENCE_VERSION_H
#define MCPFENCE_VERSION_H

#define MCPFENCE_VERSION "0.1.0"

#endif
