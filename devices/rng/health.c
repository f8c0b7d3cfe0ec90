/* SPDX-License-Identifier: Apache-2.0 */
#include "health.h"

#include <string.h>

void rng_health_init(struct rng_health *h)
{
	memset(h, 0, sizeof(*h));
}

enum rng_health_result rng_health_feed(struct rng_health *h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t x = p[i];
		h->samples++;
		/* Repetition count test. */
		if (h->rct_run && x == h->rct_sym) {
			if (++h->rct_run >= RNG_HEALTH_RCT_CUTOFF)
				return RNG_HEALTH_RCT_FAIL;
		} else {
			h->rct_sym = x;
			h->rct_run = 1;
		}
		/* Adaptive proportion test: the first sample of a window is the reference. */
		if (h->apt_pos == 0) {
			h->apt_sym = x;
			h->apt_count = 1;
			h->apt_pos = 1;
			continue;
		}
		if (x == h->apt_sym && ++h->apt_count >= RNG_HEALTH_APT_CUTOFF)
			return RNG_HEALTH_APT_FAIL;
		if (++h->apt_pos == RNG_HEALTH_APT_WINDOW)
			h->apt_pos = 0;
	}
	return RNG_HEALTH_OK;
}

const char *rng_health_result_name(enum rng_health_result r)
{
	switch (r) {
	case RNG_HEALTH_OK:
		return "ok";
	case RNG_HEALTH_RCT_FAIL:
		return "repetition count test failed";
	case RNG_HEALTH_APT_FAIL:
		return "adaptive proportion test failed";
	}
	return "?";
}
