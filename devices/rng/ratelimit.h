/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Token bucket: `rate` units per second refill a bucket of `burst` units.
 * rate 0 means unlimited. Time is CLOCK_MONOTONIC in ns, passed in, so
 * tests drive it by hand. Tokens are kept in units of 1e-9 (unit x ns / s)
 * so refills never lose fractions; no overflow for burst ≤ 2^30 units and
 * any rate (elapsed time is capped at the time to fill the bucket).
 * Not locked: the owner serialises access.
 */
#ifndef VTRUST_RNG_RATELIMIT_H
#define VTRUST_RNG_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#define RNG_BUCKET_MAX_BURST (1ull << 30)
#define RNG_BUCKET_MAX_RATE (1ull << 40)

struct rng_bucket {
	uint64_t rate;	   /* units per second; 0 = unlimited */
	uint64_t burst;	   /* units */
	uint64_t tokens_n; /* units x 1e9 */
	uint64_t last_ns;
};

/* Starts full. */
void rng_bucket_init(struct rng_bucket *b, uint64_t rate, uint64_t burst, uint64_t now_ns);
/* Changes the rate, keeping the tokens (refilled to now at the old rate). */
void rng_bucket_set_rate(struct rng_bucket *b, uint64_t rate, uint64_t now_ns);
static inline bool rng_bucket_unlimited(const struct rng_bucket *b)
{
	return b->rate == 0;
}
/* Whole units available now (UINT64_MAX when unlimited). */
uint64_t rng_bucket_avail(struct rng_bucket *b, uint64_t now_ns);
/* Removes n units (n ≤ what rng_bucket_avail returned). */
void rng_bucket_take(struct rng_bucket *b, uint64_t n);
/* ns until n units (n ≤ burst) will be available; 0 if they are now. */
uint64_t rng_bucket_wait_ns(const struct rng_bucket *b, uint64_t n);

#endif
