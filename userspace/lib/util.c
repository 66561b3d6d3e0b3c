// SPDX-License-Identifier: MIT
#include "util.h"

#include <fcntl.h>
#include <libgen.h>
#include <sys/stat.h>
#include <time.h>

int log_verbose;

/* Whether stderr is the journal's stream: JOURNAL_STREAM is "DEVICE:INODE" of that stream. */
static bool log_to_journal(void)
{
	static int cached = -1;

	if (cached < 0) {
		const char *e = getenv("JOURNAL_STREAM");
		char *colon = NULL, *end = NULL;
		unsigned long long dev = e ? strtoull(e, &colon, 10) : 0, ino;
		struct stat st;

		ino = colon && *colon == ':' ? strtoull(colon + 1, &end, 10) : 0;
		cached = end && end > colon + 1 && !*end && fstat(STDERR_FILENO, &st) == 0 &&
			 (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
	}
	return cached;
}

void log_vat(enum log_level level, const char *fmt, va_list ap)
{
	static const char *const words[8] = { [LOG_LEVEL_ERROR] = "error: ", [LOG_LEVEL_WARNING] = "warning: ",
					       [LOG_LEVEL_INFO] = "", [LOG_LEVEL_DEBUG] = "debug: " };

	if (level == LOG_LEVEL_DEBUG && !log_verbose)
		return;
	if (log_to_journal())
		fprintf(stderr, "<%d>", (int)level);
	else
		fprintf(stderr, "mcpfence: %s", words[level & 7] ? words[level & 7] : "");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void log_at(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vat(level, fmt, ap);
	va_end(ap);
}

int str_choice(const char *s, const char *const *names)
{
	for (int i = 0; s && names[i]; i++)
		if (!strcmp(s, names[i]))
			return i;
	return -1;
}

char *strdup_printf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

void diag_add(struct diag *d, const char *fmt, ...)
{
	va_list ap;
	char *s, **n;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s)
		return;
	n = realloc(d->msgs, (d->n + 1) * sizeof(*n));
	if (!n) {
		free(s);
		return;
	}
	d->msgs = n;
	d->msgs[d->n++] = s;
}

size_t diag_unknown_fields(struct diag *d, const char *file, json_t *obj, const char *path,
			   const char *const *known)
{
	const char *key;
	size_t n = 0;
	json_t *v;

	json_object_foreach(obj, key, v) {
		const char *const *k = known;

		while (*k && strcmp(*k, key))
			k++;
		if (*k)
			continue;
		diag_add(d, "%s: %s%s%s: unknown field", file, path, *path ? "." : "", key);
		n++;
	}
	return n;
}

void diag_clear(struct diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->msgs[i]);
	free(d->msgs);
	d->msgs = NULL;
	d->n = 0;
}

int read_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 0;

	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t k;

		if (len + 4096 + 1 > cap) {
			char *nb;

			cap = cap ? cap * 2 : 8192;
			nb = realloc(buf, cap);
			if (!nb)
				return -ENOMEM;
			buf = nb;
		}
		k = read(fd, buf + len, cap - len - 1);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			break;
		len += (size_t)k;
		if (len > max)
			return -EFBIG;
	}
	buf[len] = '\0';
	if (ret_len)
		*ret_len = len;
	*ret = TAKE_PTR(buf);
	return 0;
}

int write_file(const char *path, const char *text)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(text);

	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len)
		return -errno;
	return 0;
}

int write_file_atomic(const char *path, const char *text, unsigned mode)
{
	_cleanup_free_ char *tmp = strdup_printf("%s.new", path);
	size_t len = strlen(text);
	int fd, r = 0;

	if (!tmp)
		return -ENOMEM;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) < 0)
		r = errno ? -errno : -EIO;
	close(fd);
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

int mkdir_p(const char *path, unsigned mode)
{
	_cleanup_free_ char *p = strdup(path);

	if (!p)
		return -ENOMEM;
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Resolve `path` relative to the directory holding `base_file` (absolute paths stay). */
int path_join_relative(const char *base_file, const char *path, char **ret)
{
	_cleanup_free_ char *copy = NULL;

	if (path[0] == '/' || !base_file) {
		*ret = strdup(path);
		return *ret ? 0 : -ENOMEM;
	}
	copy = strdup(base_file);
	if (!copy)
		return -ENOMEM;
	*ret = strdup_printf("%s/%s", dirname(copy), path);
	return *ret ? 0 : -ENOMEM;
}

/* "30s", "5m", "1h", "250ms", "24h"; a bare number is seconds. */
int parse_duration_ns(const char *s, uint64_t *ret)
{
	char *end;
	unsigned long long v;
	uint64_t mul;

	if (!s || !*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	if (!*end || !strcmp(end, "s"))
		mul = 1000000000ULL;
	else if (!strcmp(end, "ms"))
		mul = 1000000ULL;
	else if (!strcmp(end, "m"))
		mul = 60ULL * 1000000000ULL;
	else if (!strcmp(end, "h"))
		mul = 3600ULL * 1000000000ULL;
	else if (!strcmp(end, "d"))
		mul = 86400ULL * 1000000000ULL;
	else
		return -EINVAL;
	if (v > UINT64_MAX / mul)
		return -ERANGE;
	*ret = v * mul;
	return 0;
}

uint64_t now_ns(int clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}
