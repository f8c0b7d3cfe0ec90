/* SPDX-License-Identifier: Apache-2.0 */
#include "ratelimit.h"

#include <string.h>

#define NS 1000000000ull

void rng_bucket_init(struct rng_bucket *b, uint64_t rate, uint64_t burst, uint64_t now_ns)
{
	memset(b, 0, sizeof(*b));
	if (burst > RNG_BUCKET_MAX_BURST)
		burst = RNG_BUCKET_MAX_BURST;
	if (rate > RNG_BUCKET_MAX_RATE)
		rate = RNG_BUCKET_MAX_RATE;
	if (burst == 0)
		burst = 1;
	b->rate = rate;
	b->burst = burst;
	b->tokens_n = burst * NS;
	b->last_ns = now_ns;
}

static void refill(struct rng_bucket *b, uint64_t now_ns)
{
	if (now_ns <= b->last_ns)
		return;
	uint64_t elapsed = now_ns - b->last_ns;
	b->last_ns = now_ns;
	uint64_t cap = b->burst * NS;
	uint64_t missing = cap - b->tokens_n;
	/* elapsed * rate would overflow only for elapsed beyond the fill time. */
	if (elapsed >= missing / b->rate + 1) {
		b->tokens_n = cap;
		return;
	}
	b->tokens_n += elapsed * b->rate;
	if (b->tokens_n > cap)
		b->tokens_n = cap;
}

void rng_bucket_set_rate(struct rng_bucket *b, uint64_t rate, uint64_t now_ns)
{
	if (b->rate)
		refill(b, now_ns);
	else
		b->last_ns = now_ns;
	if (rate > RNG_BUCKET_MAX_RATE)
		rate = RNG_BUCKET_MAX_RATE;
	b->rate = rate;
}

uint64_t rng_bucket_avail(struct rng_bucket *b, uint64_t now_ns)
{
	if (!b->rate)
		return UINT64_MAX;
	refill(b, now_ns);
	return b->tokens_n / NS;
}

void rng_bucket_take(struct rng_bucket *b, uint64_t n)
{
	if (!b->rate)
		return;
	uint64_t t = n > b->burst ? b->burst * NS : n * NS;
	b->tokens_n = t > b->tokens_n ? 0 : b->tokens_n - t;
}

uint64_t rng_bucket_wait_ns(const struct rng_bucket *b, uint64_t n)
{
	if (!b->rate)
		return 0;
	if (n > b->burst)
		n = b->burst;
	uint64_t need = n * NS;
	if (b->tokens_n >= need)
		return 0;
	uint64_t missing = need - b->tokens_n;
	return (missing + b->rate - 1) / b->rate;
}
