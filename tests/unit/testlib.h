/* SPDX-License-Identifier: MIT */
/*
 * A minimal unit-test harness: each check prints "PASS name" or "FAIL name: why"; tests/run.sh
 * counts those lines across every suite.
 */
#ifndef MCPFENCE_TESTLIB_H
#define MCPFENCE_TESTLIB_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int t_passed, t_failed, t_mark;
static const char *t_name = "?";

#define TEST(name) (t_name = (name), t_mark = t_failed)

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (cond) {                                                                        \
			t_passed++;                                                                \
		} else {                                                                           \
			t_failed++;                                                                \
			printf("FAIL %s (%s:%d): ", t_name, __FILE__, __LINE__);                   \
			printf(__VA_ARGS__);                                                       \
			printf("\n");                                                              \
		}                                                                                  \
	} while (0)

/* One PASS line per test case, however many checks it made. */
#define TEST_END()                                                                                 \
	do {                                                                                       \
		if (t_failed == t_mark)                                                            \
			printf("PASS %s\n", t_name);                                               \
	} while (0)

static inline int test_summary(void)
{
	return t_failed ? 1 : 0;
}

#endif
