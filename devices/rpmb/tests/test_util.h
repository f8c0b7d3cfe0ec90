/* SPDX-License-Identifier: Apache-2.0 */
/* Minimal test helpers: CHECK records a failure and goes on; main returns the count. */
#ifndef VTRUST_TEST_UTIL_H
#define VTRUST_TEST_UTIL_H

#include <stdio.h>
#include <string.h>

static int test_failures;
static int test_checks;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		test_checks++;                                                                     \
		if (!(cond)) {                                                                     \
			test_failures++;                                                           \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
		}                                                                                  \
	} while (0)

#define CHECK_EQ(a, b)                                                                             \
	do {                                                                                       \
		long long _a = (long long)(a), _b = (long long)(b);                                \
		test_checks++;                                                                     \
		if (_a != _b) {                                                                    \
			test_failures++;                                                           \
			fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %lld, %s == %lld\n",        \
				__FILE__, __LINE__, #a, _a, #b, _b);                               \
		}                                                                                  \
	} while (0)

#define TEST_RUN(fn)                                                                               \
	do {                                                                                       \
		int _before = test_failures;                                                       \
		fn();                                                                              \
		printf("%s %s\n", test_failures == _before ? "PASS" : "FAIL", #fn);                \
	} while (0)

#define TEST_DONE()                                                                                \
	do {                                                                                       \
		printf("%d checks, %d failed\n", test_checks, test_failures);                      \
		return test_failures ? 1 : 0;                                                      \
	} while (0)

#endif
