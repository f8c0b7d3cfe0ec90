/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test helpers for fortuna/tests: CHECK records a failure and goes on;
 * TEST_RUN prints PASS/FAIL per test; TEST_DONE returns non-zero on failure.
 */
#ifndef VTF_TUTIL_H
#define VTF_TUTIL_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "vtrust/fortuna.h"

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

/* Byte-array equality; prints the first difference. */
#define CHECK_MEM(a, b, n)                                                                         \
	do {                                                                                       \
		test_checks++;                                                                     \
		const uint8_t *_x = (const uint8_t *)(a), *_y = (const uint8_t *)(b);              \
		for (size_t _i = 0; _i < (size_t)(n); _i++) {                                      \
			if (_x[_i] != _y[_i]) {                                                    \
				test_failures++;                                                   \
				fprintf(stderr, "%s:%d: CHECK_MEM %s vs %s: differ at byte %zu\n", \
					__FILE__, __LINE__, #a, #b, _i);                           \
				break;                                                             \
			}                                                                          \
		}                                                                                  \
	} while (0)

#define TEST_RUN(fn)                                                                               \
	do {                                                                                       \
		int _before = test_failures;                                                       \
		fn();                                                                              \
		printf("%s %s\n", test_failures == _before ? "PASS" : "FAIL", #fn);                \
		fflush(stdout);                                                                    \
	} while (0)

#define TEST_DONE()                                                                                \
	do {                                                                                       \
		printf("%d checks, %d failed\n", test_checks, test_failures);                      \
		return test_failures ? 1 : 0;                                                      \
	} while (0)

/* No automatic inputs at all: output depends only on what the test feeds. */
#define DET_FLAGS                                                                                  \
	(VTF_OPT_NO_RDRAND | VTF_OPT_NO_GETRANDOM | VTF_OPT_NO_JITTER | VTF_OPT_NO_BOOTSTRAP)

static inline struct vtf_ctx *new_ctx(uint32_t flags)
{
	struct vtf_options o = {.flags = flags};
	struct vtf_ctx *c = NULL;
	int r = vtf_new(&o, &c);
	if (r < 0) {
		fprintf(stderr, "vtf_new(0x%x): %s\n", flags, vtf_strerror(r));
		return NULL;
	}
	return c;
}

static inline uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static inline void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0)
		;
}

#endif
