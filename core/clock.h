/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Monotonic time in nanoseconds: the one clock behind every timer, deadline,
 * rate limit and latency figure of the host side (core, devices, daemon,
 * probe, benchmarks). The guest library (fortuna/) keeps its own: it depends
 * on nothing host-side.
 */
#ifndef VTRUST_CLOCK_H
#define VTRUST_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t vt_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif
