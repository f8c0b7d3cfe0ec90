/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Minimal assertions for the probe's unit tests: report file:line and exit 1
 * (later steps of a test usually depend on earlier ones). Prints PASS name
 * like core/tests/test_util.h.
 */
#ifndef VTRUST_PROBE_TEST_UTIL_H
#define VTRUST_PROBE_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

#define CHECK_EQ(a, b)                                                                             \
	do {                                                                                       \
		long long _a = (long long)(a), _b = (long long)(b);                                \
		if (_a != _b) {                                                                    \
			fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %lld, %s == %lld\n",        \
				__FILE__, __LINE__, #a, _a, #b, _b);                               \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

#define TEST(name) static void test_##name(void)
#define RUN(name)                                                                                  \
	do {                                                                                       \
		test_##name();                                                                     \
		printf("PASS %s\n", #name);                                                        \
	} while (0)

#endif
