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

void rng_request_handle(struct rng_dev *d, struct vt_queue *q)
{
	struct vt_chain c;
	unsigned unsignalled = 0;
	bool stop = false;
	rng_drbg_tick(d->drbg);
	do {
		int r;
		while ((r = vt_queue_pop(q, &c)) != 0) {
			if (r == -EIO) {
				stop = true;
				break;
			}
			size_t want;
			if (r == -EBADMSG || rng_request_len(&c, d->o.max_request, &want) < 0) {
				vt_queue_push_malformed(q, &c);
				atomic_fetch_add_explicit(&d->stats.malformed, 1,
							  memory_order_relaxed);
				unsignalled++;
				continue;
			}
			uint64_t wait;
			if (rng_drbg_begin(d->drbg, &wait) < 0) {
				/* Degraded: the request waits; the timer retries the seed. */
				vt_queue_unpop(q);
				vt_queue_arm_timer(q, wait);
				q->deferred = true;
				atomic_fetch_add_explicit(&d->stats.degraded_waits, 1,
							  memory_order_relaxed);
				stop = true;
				break;
			}
			size_t n = want;
			if ((d->limited || rng_budget_limited()) &&
			    (n = rng_limits_grant(d, want, &wait)) == 0) {
				/* Throttled: stays queued, the timer resumes it. No sleeping here.
				 */
				rng_drbg_end(d->drbg);
				vt_queue_unpop(q);
				vt_queue_arm_timer(q, wait);
				q->deferred = true;
				stop = true;
				break;
			}
			int e = rng_fill_chain(d->drbg, &c, n);
			rng_drbg_end(d->drbg);
			if (e < 0) {
				vt_queue_unpop(q);
				vt_queue_arm_timer(q, d->o.retry_ns);
				q->deferred = true;
				stop = true;
				break;
			}
			vt_queue_push(q, &c, (uint32_t)n);
			atomic_fetch_add_explicit(&d->stats.requests, 1, memory_order_relaxed);
			atomic_fetch_add_explicit(&d->stats.bytes, n, memory_order_relaxed);
			/*
			 * With EVENT_IDX the driver says when it wants a call: ask after
			 * every completion (a few loads; the eventfd is written only
			 * when due), so a driver refills while the batch goes on.
			 * Without it, every call costs a syscall: one per NOTIFY_EVERY.
			 */
			if (q->event_idx || ++unsignalled >= NOTIFY_EVERY) {
				vt_queue_notify(q);
				unsignalled = 0;
			}
		}
		if (unsignalled) {
			vt_queue_notify(q);
			unsignalled = 0;
		}
	} while (!stop && vt_queue_enable_notify(q));
	/* The batch is answered and the driver notified: refill now, not in the next request. */
	rng_drbg_prefill(d->drbg);
}
