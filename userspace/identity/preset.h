/* SPDX-License-Identifier: MIT */
/*
 * Trust presets: one word in a trust entry ("preset": "entra") that fills in what an identity
 * provider's tokens need (issuer form, key location, algorithms, lifetime cap, audience rules).
 * Every field the entry writes itself wins. The table is docs/identity.md#presets. Also the
 * near misses: a token refused for a reason a preset or another setting would explain (an
 * Entra v1.0 issuer where v2.0 is configured, a 90-minute Entra token under a 1-hour cap) gets
 * a sentence naming the setting.
 */
#ifndef MCPFENCE_PRESET_H
#define MCPFENCE_PRESET_H

#include <jansson.h>

#include "util.h"

struct trust;
struct trust_issuer;

/* The entry with its preset's defaults filled in (a new reference; the entry itself when it
 * names no preset), or NULL with the reason in errs. */
json_t *trust_preset_expand(json_t *entry, const char *file, const char *path, struct diag *errs);

/* Append to `detail` why a token with this iss is not any configured issuer's, when a
 * configured one is near it (another Entra version or tenant, Google's bare form, a slash). */
void trust_explain_issuer(const struct trust *t, const char *iss, char *detail, size_t len);
/* Append a hint when a known provider's token fails a check its preset would have set. */
void trust_explain_check(const struct trust_issuer *is, int error, char *detail, size_t len);

#endif
