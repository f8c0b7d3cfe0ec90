/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Optional background collector: wakes every collector_interval_ms, adds a
 * short timing-loop sample (the wake-up latency and loop timing carry
 * scheduler and cache noise), polls the sources at most every 100 ms and
 * reseeds when the usual gate opens. Without it, the same work happens
 * lazily on the generate path; with it, the pools keep filling while the
 * application is idle.
 */
#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>

#include "internal.h"

static void deadline_after_ms(struct timespec *ts, uint32_t ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void *collector_main(void *arg)
{
	struct vtf_ctx *ctx = arg;
	uint8_t sample[VTF_EVENT_MAX];

	pthread_mutex_lock(&ctx->lock);
	while (!ctx->collector_stop) {
		struct timespec ts;
		deadline_after_ms(&ts, ctx->collector_interval_ms);
		int w = 0;
		while (!ctx->collector_stop && w != ETIMEDOUT)
			w = pthread_cond_timedwait(&ctx->collector_cond, &ctx->lock, &ts);
		if (ctx->collector_stop)
			break;

		vtf_whirlwind(sample, sizeof(sample) / 4);
		vtf_pool_add(ctx, VTF_SRC_COLLECTOR, sample, sizeof(sample), false);
		uint64_t now = vtf_gate_ns();
		if (vtf_gate_open(ctx, ctx->st.last_poll_ns, now)) {
			ctx->st.last_poll_ns = now;
			vtf_sources_poll(ctx);
		}
		if (ctx->st.seeded && ctx->st.pool_len[0] >= VTF_MIN_POOL0 &&
		    vtf_gate_open(ctx, ctx->st.last_reseed_ns, now))
			(void)vtf_pool_reseed(ctx, now); /* a failure is retried next round */
	}
	pthread_mutex_unlock(&ctx->lock);
	OPENSSL_cleanse(sample, sizeof(sample));
	return NULL;
}

int vtf_collector_start(struct vtf_ctx *ctx)
{
	pthread_mutex_lock(&ctx->lock);
	ctx->collector_stop = false;
	int r = pthread_create(&ctx->collector, NULL, collector_main, ctx);
	if (r == 0)
		ctx->collector_running = true;
	pthread_mutex_unlock(&ctx->lock);
	return -r;
}

void vtf_collector_stop(struct vtf_ctx *ctx)
{
	pthread_mutex_lock(&ctx->lock);
	bool running = ctx->collector_running;
	ctx->collector_stop = true;
	ctx->collector_running = false;
	pthread_cond_signal(&ctx->collector_cond);
	pthread_mutex_unlock(&ctx->lock);
	if (running)
		pthread_join(ctx->collector, NULL);
}
