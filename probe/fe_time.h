/* SPDX-License-Identifier: Apache-2.0 */
/* Monotonic deadlines for every wait in the front-end (nothing waits forever). */
#ifndef VTRUST_PROBE_FE_TIME_H
#define VTRUST_PROBE_FE_TIME_H

#include <stdint.h>
#include <time.h>

#include "clock.h"

/* timeout_ms < 0 means "no deadline". */
static inline uint64_t fe_deadline(int timeout_ms)
{
	if (timeout_ms < 0)
		return UINT64_MAX;
	return vt_now_ns() + (uint64_t)timeout_ms * 1000000ull;
}

/* Milliseconds left for poll(): -1 for no deadline, 0 when passed (rounded up). */
static inline int fe_remaining_ms(uint64_t deadline)
{
	if (deadline == UINT64_MAX)
		return -1;
	uint64_t now = vt_now_ns();
	if (now >= deadline)
		return 0;
	uint64_t ms = (deadline - now + 999999ull) / 1000000ull;
	return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

#endif
