// SPDX-License-Identifier: MIT
#include "b64url.h"

#include <errno.h>
#include <stdlib.h>

static int sextet(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

int b64url_decode(const char *in, size_t len, uint8_t **ret, size_t *ret_len)
{
	size_t out_len = len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0), o = 0;
	uint32_t acc = 0;
	unsigned bits = 0;
	uint8_t *out;

	if (len % 4 == 1)
		return -EINVAL;
	out = malloc(out_len + 1);
	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		int v = sextet(in[i]);

		if (v < 0) {
			free(out);
			return -EINVAL;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0) { /* non-canonical: the unused trailing bits must be zero */
		free(out);
		return -EINVAL;
	}
	out[o] = 0;
	*ret = out;
	*ret_len = o;
	return 0;
}

char *b64url_encode(const uint8_t *in, size_t len)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char *out = malloc(len / 3 * 4 + 5), *p = out;
	size_t i;

	if (!out)
		return NULL;
	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		*p++ = alphabet[v >> 18];
		*p++ = alphabet[(v >> 12) & 63];
		*p++ = alphabet[(v >> 6) & 63];
		*p++ = alphabet[v & 63];
	}
	if (len - i == 1) {
		*p++ = alphabet[in[i] >> 2];
		*p++ = alphabet[(in[i] & 3) << 4];
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 8 | in[i + 1];

		*p++ = alphabet[v >> 10];
		*p++ = alphabet[(v >> 4) & 63];
		*p++ = alphabet[(v & 15) << 2];
	}
	*p = 0;
	return out;
}
