/* SPDX-License-Identifier: Apache-2.0 */
#include "request.h"

#include "drbg.h"
#include "rng.h"

/* Without EVENT_IDX: completions between two call signals in a long batch. */
#define NOTIFY_EVERY 32u

int rng_request_len(const struct vt_chain *c, size_t cap, size_t *ret_len)
{
	size_t wr = vt_chain_writable(c);
	if (wr == 0)
		return -EINVAL;
	*ret_len = VT_MIN(wr, cap);
	return 0;
}

static int drbg_out(void *g, uint8_t *out, size_t len)
{
	return rng_drbg_bytes(g, out, len) < 0 ? -EIO : 0;
}

int rng_fill_chain(struct rng_drbg *g, struct vt_chain *c, size_t n)
{
	return vt_chain_produce(c, n, drbg_out, g);
}

static void count_malformed(void *priv, struct vt_queue *q)
{
	(void)q;
	struct rng_dev *d = priv;
	atomic_fetch_add_explicit(&d->stats.malformed, 1, memory_order_relaxed);
}

static struct vt_verdict request_chain(void *priv, struct vt_queue *q, struct vt_chain *c)
{
	(void)q;
	struct rng_dev *d = priv;
	size_t want;
	if (rng_request_len(c, d->o.max_request, &want) < 0) {
		count_malformed(d, q);
		return vt_malformed();
	}
	uint64_t wait;
	if (rng_drbg_begin(d->drbg, &wait) < 0) {
		/* Degraded: the request waits; the timer retries the seed. */
		atomic_fetch_add_explicit(&d->stats.degraded_waits, 1, memory_order_relaxed);
		return vt_defer(wait);
	}
	size_t n = want;
	if ((d->limited || rng_budget_limited()) && (n = rng_limits_grant(d, want, &wait)) == 0) {
		/* Throttled: stays queued, the timer resumes it. No sleeping here. */
		rng_drbg_end(d->drbg);
		return vt_defer(wait);
	}
	int e = rng_fill_chain(d->drbg, c, n);
	rng_drbg_end(d->drbg);
	if (e < 0)
		return vt_defer(d->o.retry_ns);
	atomic_fetch_add_explicit(&d->stats.requests, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&d->stats.bytes, n, memory_order_relaxed);
	return vt_used(n);
}

/*
 * With EVENT_IDX the driver says when it wants a call: ask after every
 * completion (a few loads; the eventfd is written only when due), so a driver
 * refills while the batch goes on. Without it, every call costs a syscall:
 * one per NOTIFY_EVERY.
 */
static const struct vt_server request_server = {
	.chain = request_chain,
	.malformed = count_malformed,
	.notify_every = NOTIFY_EVERY,
};

void rng_request_handle(struct rng_dev *d, struct vt_queue *q)
{
	rng_drbg_tick(d->drbg);
	(void)vt_queue_serve(q, &request_server, d);
	/* The batch is answered and the driver notified: refill now, not in the next request. */
	rng_drbg_prefill(d->drbg);
}
