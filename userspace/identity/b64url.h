/* SPDX-License-Identifier: MIT */
/* Strict base64url (RFC 7515 §2): alphabet A-Za-z0-9-_, no padding, no whitespace, no
 * length of 1 mod 4, unused trailing bits zero. Anything else is refused. */
#ifndef MCPFENCE_B64URL_H
#define MCPFENCE_B64URL_H

#include <stddef.h>
#include <stdint.h>

/* Decode into a new buffer (NUL-terminated for convenience). -EINVAL on any deviation. */
int b64url_decode(const char *in, size_t len, uint8_t **ret, size_t *ret_len);
/* Encode (for tests and tools): returns a new string. */
char *b64url_encode(const uint8_t *in, size_t len);

#endif
