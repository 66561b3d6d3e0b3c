// SPDX-License-Identifier: MIT
#include "control.h"
#include "util.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

int control_parse(const char *buf, size_t len, json_t **ret)
{
	json_t *msg;

	if (len == 0)
		return -ECONNRESET;
	if (len >= CONTROL_LINE_MAX)
		return -EMSGSIZE;
	msg = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DISABLE_EOF_CHECK, NULL);
	if (!json_is_object(msg)) {
		json_decref(msg);
		return -EBADMSG;
	}
	*ret = msg;
	return 0;
}

char *control_format(json_t *msg, size_t *ret_len)
{
	char *s = json_dumps(msg, JSON_COMPACT);
	size_t len;

	if (!s)
		return NULL;
	len = strlen(s);
	s[len++] = '\n'; /* json_dumps leaves room: the terminator becomes the newline */
	*ret_len = len;
	return s;
}

int control_read(int fd, json_t **ret)
{
	_cleanup_free_ char *buf = malloc(CONTROL_LINE_MAX + 1);
	size_t len = 0;

	if (!buf)
		return -ENOMEM;
	while (len < CONTROL_LINE_MAX) {
		ssize_t k = read(fd, buf + len, CONTROL_LINE_MAX - len);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			break;
		len += (size_t)k;
		if (memchr(buf + len - k, '\n', (size_t)k))
			break;
	}
	return control_parse(buf, len, ret);
}

int control_write(int fd, json_t *msg)
{
	size_t len, off = 0;
	_cleanup_free_ char *s = control_format(msg, &len);

	if (!s)
		return -ENOMEM;
	while (off < len) {
		ssize_t k = send(fd, s + off, len - off, MSG_NOSIGNAL);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		off += (size_t)k;
	}
	return 0;
}

void control_emit(int fd, json_t *msg)
{
	if (msg)
		control_write(fd, msg);
	json_decref(msg);
}

int control_request(const char *socket_path, json_t *req, json_t **ret_reply)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 30 };
	_cleanup_(json_decrefp) json_t *owned = req;
	_cleanup_close_ int fd = -1;
	int r;

	if (!req)
		return -ENOMEM;
	if (strlen(socket_path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	r = control_write(fd, req);
	if (r < 0)
		return r;
	return control_read(fd, ret_reply);
}
