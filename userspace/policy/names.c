// SPDX-License-Identifier: MIT
#include "names.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool name_is_name(const char *s)
{
	bool letter = false;

	for (const char *c = s; *c; c++) {
		if (*c == ':' || *c == '/')
			return false;
		if (!(*c >= '0' && *c <= '9') && *c != '.')
			letter = true;
	}
	return letter;
}

const char *name_kind_prefix(uint8_t kind)
{
	return kind == MCPF_NAME_ONE ? "*." : kind == MCPF_NAME_MULTI ? "**." : "";
}

static bool label_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

int name_pattern_parse(const char *s, uint8_t *kind, char **ret_name, const char **why)
{
	size_t n, label = 0;
	char *name;

	for (const char *c = s; *c; c++)
		if ((unsigned char)*c >= 0x80) {
			*why = "is not ASCII: write the name in its punycode form (xn--...)";
			return -EINVAL;
		}
	*kind = MCPF_NAME_EXACT;
	if (!strncmp(s, "**.", 3)) {
		*kind = MCPF_NAME_MULTI;
		s += 3;
	} else if (!strncmp(s, "*.", 2)) {
		*kind = MCPF_NAME_ONE;
		s += 2;
	}
	n = strlen(s);
	if (n && s[n - 1] == '.')
		n--;
	if (!n) {
		*why = "has no domain after its wildcard";
		return -EINVAL;
	}
	if (n > 253) {
		*why = "is longer than 253 characters";
		return -EINVAL;
	}
	name = strndup(s, n);
	if (!name)
		return -ENOMEM;
	for (size_t i = 0; i <= n; i++) {
		char c = name[i];

		if (c >= 'A' && c <= 'Z')
			c = name[i] = (char)(c - 'A' + 'a');
		if (c == '.' || c == '\0') {
			if (!label) {
				*why = "has an empty label";
				goto bad;
			}
			if (name[i - 1] == '-') {
				*why = "has a label that ends with '-'";
				goto bad;
			}
			label = 0;
			continue;
		}
		if (c == '*') {
			*why = "has '*' other than as a whole first label (\"*.\" or \"**.\")";
			goto bad;
		}
		if (!label_char(c)) {
			*why = "has a character other than letters, digits, '-', '_' and '.'";
			goto bad;
		}
		if (!label && c == '-') {
			*why = "has a label that starts with '-'";
			goto bad;
		}
		if (++label > 63) {
			*why = "has a label longer than 63 characters";
			goto bad;
		}
	}
	*ret_name = name;
	return 0;
bad:
	free(name);
	return -EINVAL;
}

int name_to_wire(const char *name, uint8_t out[MCPF_DNS_NAME_MAX])
{
	uint8_t tmp[MCPF_DNS_NAME_MAX];
	size_t n = 0;
	const char *p = name;

	while (*p) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);

		if (!len || len > 63 || n + 1 + len + 1 > MCPF_DNS_NAME_MAX - 1)
			return -EINVAL;
		tmp[n++] = (uint8_t)len;
		for (size_t i = 0; i < len; i++) {
			char c = p[i];

			tmp[n++] = (uint8_t)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
		}
		p += len;
		if (*p == '.')
			p++;
	}
	tmp[n++] = 0;
	memset(out, 0, MCPF_DNS_NAME_MAX);
	memcpy(out + MCPF_DNS_NAME_MAX - n, tmp, n);
	return 0;
}

int name_from_wire(const uint8_t wire[MCPF_DNS_NAME_MAX], char *out, size_t len)
{
	size_t i = 0, o = 0;

	while (i < MCPF_DNS_NAME_MAX && wire[i] == 0)
		i++;
	if (i >= MCPF_DNS_NAME_MAX - 1) {
		snprintf(out, len, ".");
		return 0;
	}
	while (i < MCPF_DNS_NAME_MAX && wire[i]) {
		size_t l = wire[i++];

		if (l > 63 || i + l > MCPF_DNS_NAME_MAX)
			return -EINVAL;
		if (o && o + 1 < len)
			out[o++] = '.';
		for (size_t k = 0; k < l; k++, i++) {
			uint8_t c = wire[i];
			char esc[5];

			if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
				if (o + 1 < len)
					out[o++] = (char)c;
				continue;
			}
			snprintf(esc, sizeof(esc), "\\%03u", c); /* RFC 1035 master-file escape */
			for (char *e = esc; *e && o + 1 < len; e++)
				out[o++] = *e;
		}
	}
	if (len)
		out[o < len ? o : len - 1] = '\0';
	return 0;
}

uint64_t name_fnv(const void *p, size_t n, uint64_t h)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}
