// SPDX-License-Identifier: MIT
#include "podcgroup.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cgroup.h"

int pod_uid_valid(const char *s, size_t len, char sep)
{
	if (len != POD_UID_LEN)
		return 0;
	for (size_t i = 0; i < len; i++) {
		int dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != sep : !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	}
	return 1;
}

/* One path component: the uid it names in pod form, or 0. */
static int pod_component(const char *c, size_t len, char uid[POD_UID_LEN + 1])
{
	static const char *const slices[] = { "kubepods-pod", "kubepods-burstable-pod",
					      "kubepods-besteffort-pod" };
	const char *u = NULL;
	char sep = '-';

	if (len == 3 + POD_UID_LEN && !strncmp(c, "pod", 3)) {
		u = c + 3;
	} else {
		for (size_t i = 0; i < sizeof(slices) / sizeof(slices[0]); i++) {
			size_t pl = strlen(slices[i]);

			if (len == pl + POD_UID_LEN + 6 && !strncmp(c, slices[i], pl) &&
			    !strncmp(c + len - 6, ".slice", 6)) {
				u = c + pl;
				sep = '_';
			}
		}
	}
	if (!u || !pod_uid_valid(u, POD_UID_LEN, sep))
		return 0;
	for (size_t i = 0; i < POD_UID_LEN; i++)
		uid[i] = u[i] == '_' ? '-' : u[i];
	uid[POD_UID_LEN] = '\0';
	return 1;
}

int pod_cgroup_find(const char *root, const char *path, char uid[POD_UID_LEN + 1])
{
	size_t rl = strlen(root);
	const char *c;

	if (!cgroup_is_under(root, path))
		return -ENOENT;
	for (c = path + rl; *c == '/';) {
		const char *end = strchr(c + 1, '/');
		size_t len = end ? (size_t)(end - c - 1) : strlen(c + 1);

		if (pod_component(c + 1, len, uid))
			return (int)(c + 1 + len - path);
		if (!end)
			break;
		c = end;
	}
	return -ENOENT;
}

int pod_cgroup_path(bool systemd, const char *qos, const char *uid, char *buf, size_t len)
{
	const char *class = !qos ? NULL : !strcmp(qos, "Guaranteed") ? "" : !strcmp(qos, "Burstable") ? "burstable"
			  : !strcmp(qos, "BestEffort") ? "besteffort" : NULL;
	char u[POD_UID_LEN + 1];
	int n;

	if (!class || !uid || !pod_uid_valid(uid, strlen(uid), '-'))
		return -EINVAL;
	for (size_t i = 0; i <= POD_UID_LEN; i++)
		u[i] = uid[i] == '-' ? '_' : uid[i];
	if (!systemd)
		n = snprintf(buf, len, "%s%spod%s", class, *class ? "/" : "", uid);
	else if (!*class)
		n = snprintf(buf, len, "kubepods-pod%s.slice", u);
	else
		n = snprintf(buf, len, "kubepods-%s.slice/kubepods-%s-pod%s.slice", class, class, u);
	return n > 0 && (size_t)n < len ? 0 : -ENAMETOOLONG;
}
