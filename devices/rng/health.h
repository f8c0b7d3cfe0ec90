/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Continuous health tests on seed bytes, in the style of NIST SP 800-90B
 * §4.4: the repetition count test (RCT) and the adaptive proportion test
 * (APT), with one byte as the sample.
 *
 * Cutoffs are derived for a claimed min-entropy of H = 6 bits per byte
 * (getrandom() output claims 8; 6 leaves margin) and a false-positive rate
 * of alpha = 2^-40 per sample:
 *   RCT: C = 1 + ceil(40 / 6) = 8 identical bytes in a row fail;
 *   APT: window W = 512, C = 1 + CRITBINOM(512, 2^-6, 1 - 2^-40) = 35
 *        occurrences of the window's first byte fail.
 * A stuck source fails the RCT after 8 bytes; a source that degraded to a
 * small alphabet fails the APT within one window. Before first use (and
 * after every failure) RNG_HEALTH_STARTUP_SAMPLES bytes must pass both
 * tests (the 90B start-up test) and are then discarded.
 */
#ifndef VTRUST_RNG_HEALTH_H
#define VTRUST_RNG_HEALTH_H

#include <stddef.h>
#include <stdint.h>

#define RNG_HEALTH_RCT_CUTOFF 8u
#define RNG_HEALTH_APT_WINDOW 512u
#define RNG_HEALTH_APT_CUTOFF 35u
#define RNG_HEALTH_STARTUP_SAMPLES 1024u

enum rng_health_result {
	RNG_HEALTH_OK = 0,
	RNG_HEALTH_RCT_FAIL = 1,
	RNG_HEALTH_APT_FAIL = 2,
};

struct rng_health {
	/* RCT */
	uint8_t rct_sym;
	uint32_t rct_run; /* 0: no sample yet */
	/* APT */
	uint8_t apt_sym;
	uint32_t apt_count;
	uint32_t apt_pos; /* samples seen in the current window; 0: none */
	uint64_t samples;
};

void rng_health_init(struct rng_health *h);
/* Feeds n samples; stops at the first failure. */
enum rng_health_result rng_health_feed(struct rng_health *h, const uint8_t *p, size_t n);
const char *rng_health_result_name(enum rng_health_result r);

#endif
