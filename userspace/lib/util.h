/* SPDX-License-Identifier: MIT */
/* Small shared helpers: cleanup attributes, ownership transfer, logging, string helpers. */
#ifndef MCPFENCE_UTIL_H
#define MCPFENCE_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fclosep)

static inline void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

/* A NULL-terminated array of owned strings. */
static inline void strv_free(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}
static inline void strv_freep(char ***v)
{
	strv_free(*v);
}

/* Hand ownership out of a cleanup-guarded variable. */
#define TAKE_PTR(p)                                                                                \
	({                                                                                         \
		__typeof__(p) __p = (p);                                                           \
		(p) = NULL;                                                                        \
		__p;                                                                               \
	})
#define TAKE_FD(fd)                                                                                \
	({                                                                                         \
		int __fd = (fd);                                                                   \
		(fd) = -1;                                                                         \
		__fd;                                                                              \
	})

/*
 * Logging: the command layer logs; library-like modules return errors. Levels as syslog numbers
 * them: on the journal's stream (systemd's JOURNAL_STREAM names our stderr) each line starts with
 * "<N>", which the journal reads as its priority; elsewhere "mcpfence: error: ", "mcpfence:
 * warning: ", "mcpfence: " or "mcpfence: debug: ". Debug lines only with --verbose.
 */
enum log_level { LOG_LEVEL_ERROR = 3, LOG_LEVEL_WARNING = 4, LOG_LEVEL_INFO = 6, LOG_LEVEL_DEBUG = 7 };
extern int log_verbose;
void log_at(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vat(enum log_level level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
#define log_error(...) log_at(LOG_LEVEL_ERROR, __VA_ARGS__)	 /* what failed, and stopped */
#define log_warning(...) log_at(LOG_LEVEL_WARNING, __VA_ARGS__) /* refused or skipped; we go on */
#define log_info(...) log_at(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_at(LOG_LEVEL_DEBUG, __VA_ARGS__)

/* Owned, growable list of error messages (e.g. every problem found in a policy file). */
struct diag {
	char **msgs;
	size_t n;
};
void diag_add(struct diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void diag_clear(struct diag *d);
/* Every member of `obj` not named in `known` (NULL-terminated) becomes an error
 * "FILE: PATH.KEY: unknown field" (no "PATH." at the top level). Returns how many. */
size_t diag_unknown_fields(struct diag *d, const char *file, json_t *obj, const char *path,
			   const char *const *known);

/* The index of `s` in a NULL-terminated list of names, or -1 (also for NULL). */
int str_choice(const char *s, const char *const *names);
char *strdup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int read_file(const char *path, size_t max, char **ret, size_t *ret_len);
int write_file(const char *path, const char *text);
/* text into a new PATH.new (mode), synced, then renamed over PATH: readers see old or new. */
int write_file_atomic(const char *path, const char *text, unsigned mode);
int mkdir_p(const char *path, unsigned mode);
int path_join_relative(const char *base_file, const char *path, char **ret);
int parse_duration_ns(const char *s, uint64_t *ret);
uint64_t now_ns(int clock);

#endif
