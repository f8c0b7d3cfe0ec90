/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Timing-loop bootstrap in the style of Whirlwind (Everspaugh et al., IEEE
 * S&P 2014): time a loop whose length depends on the previous timings and
 * whose body uses variable-latency instructions (division), and keep the
 * cycle counts. It gives a first state with no device at all; how much of
 * it is unpredictable depends on the platform (a hypervisor that traps or
 * smooths the cycle counter makes it weak), so a generator seeded only from
 * it is reported as degraded.
 */
#include <string.h>

#include "internal.h"

void vtf_whirlwind(uint8_t *out, size_t samples)
{
	uint64_t acc = vtf_cycles() | 1;

	for (size_t i = 0; i < samples; i++) {
		uint64_t t0 = vtf_cycles();
		unsigned inner = 1 + (unsigned)((t0 ^ acc ^ (acc >> 17)) & 255);
		uint64_t x = acc;

		for (unsigned j = 1; j <= inner; j++) {
			x = x / j + (t0 % (j + 1)) + (x << 7);
			/* Keep the loop: its only product is its duration. */
			__asm__ volatile("" : "+r"(x));
		}
		uint32_t dt = (uint32_t)(vtf_cycles() - t0);
		memcpy(out + 4 * i, &dt, 4);
		acc = (acc << 5 | acc >> 59) ^ dt ^ x;
	}
}
