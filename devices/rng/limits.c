/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per-device rate limits (bytes and requests, each a token bucket with a
 * burst) combined with the process-wide budget. A request gets between
 * min(want, burst) and want bytes, or waits (its chain stays queued and
 * the queue timer resumes it); no limit ever sleeps in a worker.
 */
#include "rng.h"

void rng_limits_init(struct rng_dev *d)
{
	uint64_t now = vt_now_ns();
	rng_bucket_init(&d->bytes_tb, d->o.rate_bytes, d->o.burst_bytes, now);
	rng_bucket_init(&d->reqs_tb, d->o.rate_requests, d->o.burst_requests, now);
	d->limited = d->o.rate_bytes || d->o.rate_requests;
}

size_t rng_limits_grant(struct rng_dev *d, size_t want, uint64_t *wait_ns)
{
	uint64_t now = vt_now_ns();
	if (!rng_bucket_unlimited(&d->reqs_tb) && rng_bucket_avail(&d->reqs_tb, now) < 1) {
		*wait_ns = rng_bucket_wait_ns(&d->reqs_tb, 1);
		atomic_fetch_add_explicit(&d->stats.throttled_requests, 1, memory_order_relaxed);
		return 0;
	}
	uint64_t n = want;
	if (!rng_bucket_unlimited(&d->bytes_tb)) {
		uint64_t need = VT_MIN(n, d->bytes_tb.burst);
		uint64_t avail = rng_bucket_avail(&d->bytes_tb, now);
		if (avail < need) {
			*wait_ns = rng_bucket_wait_ns(&d->bytes_tb, need);
			atomic_fetch_add_explicit(&d->stats.throttled_bytes, 1,
						  memory_order_relaxed);
			return 0;
		}
		n = VT_MIN(n, avail);
	}
	if (d->share) {
		uint64_t g = rng_budget_grant(d->share, n, n, now, wait_ns);
		if (g == 0) {
			atomic_fetch_add_explicit(&d->stats.throttled_budget, 1,
						  memory_order_relaxed);
			return 0;
		}
		n = g;
	}
	rng_bucket_take(&d->bytes_tb, n);
	rng_bucket_take(&d->reqs_tb, 1);
	return (size_t)n;
}
