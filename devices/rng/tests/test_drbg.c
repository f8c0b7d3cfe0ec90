/* SPDX-License-Identifier: Apache-2.0 */
/* The CTR-DRBG wrapper: output, buffering, reseeds, failure and recovery. */
#include <time.h>

#include "drbg.h"
#include "log.h"
#include "test_util.h"

static struct rng_drbg_cfg cfg(enum rng_seed_fault f, uint64_t after)
{
	return (struct rng_drbg_cfg){
	    .name = "t",
	    .reseed_bytes = 1u << 20,
	    .reseed_ns = 0,
	    .retry_ns = 1000000, /* 1 ms */
	    .fault = f,
	    .fault_after = after,
	};
}

static bool zeros(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void test_output(void)
{
	struct rng_drbg_cfg c = cfg(RNG_SEED_FAULT_NONE, 0);
	struct rng_drbg *a, *b;
	CHECK_EQ(rng_drbg_new(&c, &a), 0);
	c.own_libctx = true; /* the privileged flavour */
	CHECK_EQ(rng_drbg_new(&c, &b), 0);
	CHECK(!rng_drbg_degraded(a) && !rng_drbg_degraded(b));
	CHECK_EQ(a->max_request, 65536);
	static uint8_t x[200000], y[200000];
	uint64_t retry;
	CHECK_EQ(rng_drbg_begin(a, &retry), 0);
	/* Small pieces (buffer), then a large span (direct, several max_request chunks). */
	size_t off = 0;
	for (size_t n = 1; off + n < 40000; n = n * 3 + 1) {
		CHECK_EQ(rng_drbg_bytes(a, x + off, n), 0);
		off += n;
	}
	CHECK_EQ(rng_drbg_bytes(a, x + off, sizeof(x) - off), 0);
	rng_drbg_end(a);
	CHECK_EQ(rng_drbg_begin(b, &retry), 0);
	CHECK_EQ(rng_drbg_bytes(b, y, sizeof(y)), 0);
	rng_drbg_end(b);
	CHECK(memcmp(x, y, sizeof(x)) != 0);
	/* No 64-byte block repeats and none is zero. */
	for (size_t i = 0; i + 64 <= sizeof(x); i += 64) {
		CHECK(!zeros(x + i, 64));
		if (i >= 64)
			CHECK(memcmp(x + i, x + i - 64, 64) != 0);
	}
	/* A reseed wipes the whole buffer, consumed part included. */
	CHECK_EQ(rng_drbg_begin(a, &retry), 0);
	CHECK_EQ(rng_drbg_reseed(a, NULL, 0), 0);
	rng_drbg_end(a);
	CHECK(zeros(a->buf, RNG_DRBG_BUF));
	CHECK(atomic_load(&a->stats.generate_calls) < 20);
	rng_drbg_free(a);
	rng_drbg_free(b);
}

static void test_reseed_schedule(void)
{
	struct rng_drbg_cfg c = cfg(RNG_SEED_FAULT_NONE, 0);
	c.reseed_bytes = 4096;
	struct rng_drbg *g;
	CHECK_EQ(rng_drbg_new(&c, &g), 0);
	uint64_t r0 = atomic_load(&g->stats.reseeds), retry;
	CHECK_EQ(r0, 1);
	uint8_t buf[4096];
	for (int i = 0; i < 10; i++) {
		CHECK_EQ(rng_drbg_begin(g, &retry), 0);
		CHECK_EQ(rng_drbg_bytes(g, buf, sizeof(buf)), 0);
		rng_drbg_end(g);
	}
	/* Every buffer refill passes 4 KiB: reseeds keep coming. */
	CHECK(atomic_load(&g->stats.reseeds) >= 3);
	/* An explicit reseed discards the buffer. */
	CHECK_EQ(rng_drbg_begin(g, &retry), 0);
	CHECK_EQ(rng_drbg_bytes(g, buf, 10), 0);
	CHECK(g->buf_len > g->buf_off);
	CHECK_EQ(rng_drbg_reseed(g, "x", 1), 0);
	CHECK_EQ(g->buf_len - g->buf_off, 0);
	rng_drbg_end(g);
	rng_drbg_free(g);
}

static void sleep_ms(int ms)
{
	struct timespec ts = {0, ms * 1000000L};
	nanosleep(&ts, NULL);
}

static void test_fail_closed(void)
{
	static const enum rng_seed_fault faults[] = {RNG_SEED_FAULT_ERROR, RNG_SEED_FAULT_STUCK,
						     RNG_SEED_FAULT_BIASED};
	for (unsigned i = 0; i < VT_ARRAY_SIZE(faults); i++) {
		/* Failing from the start: never seeded, never produces. */
		struct rng_drbg_cfg c = cfg(faults[i], 0);
		struct rng_drbg *g;
		CHECK_EQ(rng_drbg_new(&c, &g), 0);
		CHECK(rng_drbg_degraded(g));
		uint64_t retry = 0;
		CHECK_EQ(rng_drbg_begin(g, &retry), -EAGAIN);
		CHECK(retry > 0 && retry <= 1000000);
		uint8_t out[64] = {0};
		CHECK_EQ(rng_drbg_bytes(g, out, sizeof(out)), -EIO); /* even if misused */
		CHECK(zeros(out, sizeof(out)));
		char why[128];
		rng_drbg_reason(g, why, sizeof(why));
		CHECK(strstr(why, "seed source") != NULL);
		/* Still failing after the retry time. */
		sleep_ms(2);
		CHECK_EQ(rng_drbg_begin(g, &retry), -EAGAIN);
		/* The fault goes away: the next retry re-instantiates. */
		rng_drbg_set_fault(g, RNG_SEED_FAULT_NONE, 0);
		sleep_ms(2);
		CHECK_EQ(rng_drbg_begin(g, &retry), 0);
		CHECK(!rng_drbg_degraded(g));
		CHECK_EQ(rng_drbg_bytes(g, out, sizeof(out)), 0);
		CHECK(!zeros(out, sizeof(out)));
		rng_drbg_end(g);
		CHECK(atomic_load(&g->stats.degraded_events) >= 1);
		rng_drbg_free(g);
	}
}

static void test_fail_at_reseed(void)
{
	/* Healthy start, the seed source gets stuck at the second reseed. */
	struct rng_drbg_cfg c = cfg(RNG_SEED_FAULT_STUCK, 2);
	c.reseed_bytes = 4096;
	struct rng_drbg *g;
	CHECK_EQ(rng_drbg_new(&c, &g), 0);
	uint8_t buf[4096];
	uint64_t retry, served = 0;
	for (int i = 0; i < 10; i++) {
		if (rng_drbg_begin(g, &retry) < 0)
			break;
		CHECK_EQ(rng_drbg_bytes(g, buf, sizeof(buf)), 0);
		rng_drbg_end(g);
		served += sizeof(buf);
	}
	CHECK_EQ(served, 2 * 4096); /* seed draws: instantiate, 1st reseed; 2nd is stuck */
	CHECK(rng_drbg_degraded(g));
	CHECK_EQ(atomic_load(&g->stats.health_failures), 1);
	CHECK_EQ(g->buf_len - g->buf_off, 0); /* buffered output discarded */
	rng_drbg_free(g);
}

/*
 * The top-up after a batch: a buffer less than half full is refilled to full,
 * unread bytes first and in order; small requests then cost no generate call;
 * a degraded generator is not touched; a reseed still wipes everything.
 */
static void test_prefill(void)
{
	struct rng_drbg_cfg c = cfg(RNG_SEED_FAULT_NONE, 0);
	struct rng_drbg *g;
	CHECK_EQ(rng_drbg_new(&c, &g), 0);
	uint64_t retry;
	uint8_t out[64];
	static uint8_t unread[RNG_DRBG_BUF];
	CHECK_EQ(rng_drbg_begin(g, &retry), 0);
	CHECK_EQ(rng_drbg_bytes(g, out, sizeof(out)), 0); /* the small first refill: 4 KiB */
	size_t left = g->buf_len - g->buf_off;
	CHECK(left > 0 && left < RNG_DRBG_BUF / 2);
	memcpy(unread, g->buf + g->buf_off, left);
	rng_drbg_end(g);
	rng_drbg_prefill(g);
	CHECK_EQ(g->buf_off, 0);
	CHECK_EQ(g->buf_len, RNG_DRBG_BUF);
	CHECK(memcmp(g->buf, unread, left) == 0); /* the unread bytes come first, in order */
	CHECK_EQ(atomic_load(&g->stats.prefills), 1);
	/* Half the buffer in 64-byte requests: no generate call on the request path. */
	uint64_t calls = atomic_load(&g->stats.generate_calls);
	CHECK_EQ(rng_drbg_begin(g, &retry), 0);
	for (size_t i = 0; i < RNG_DRBG_BUF / 2 / sizeof(out) - 1; i++)
		CHECK_EQ(rng_drbg_bytes(g, out, sizeof(out)), 0);
	rng_drbg_end(g);
	CHECK_EQ(atomic_load(&g->stats.generate_calls), calls);
	/* More than half left: nothing to do. */
	rng_drbg_prefill(g);
	CHECK_EQ(atomic_load(&g->stats.prefills), 1);
	/* A reseed wipes the topped-up buffer too. */
	CHECK_EQ(rng_drbg_begin(g, &retry), 0);
	CHECK_EQ(rng_drbg_reseed(g, NULL, 0), 0);
	rng_drbg_end(g);
	CHECK(zeros(g->buf, RNG_DRBG_BUF));
	rng_drbg_free(g);

	/* Degraded: no output is made, the buffer stays wiped. */
	c = cfg(RNG_SEED_FAULT_ERROR, 0);
	CHECK_EQ(rng_drbg_new(&c, &g), 0);
	CHECK(rng_drbg_degraded(g));
	rng_drbg_prefill(g);
	CHECK_EQ(g->buf_len, 0);
	CHECK(zeros(g->buf, RNG_DRBG_BUF));
	CHECK_EQ(atomic_load(&g->stats.generate_calls), 0);
	rng_drbg_free(g);
}

int main(void)
{
	vt_log_set_level(VT_LOG_ERR - 1);
	TEST_RUN(test_output);
	TEST_RUN(test_reseed_schedule);
	TEST_RUN(test_fail_closed);
	TEST_RUN(test_fail_at_reseed);
	TEST_RUN(test_prefill);
	TEST_DONE();
}
