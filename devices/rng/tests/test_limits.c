/* SPDX-License-Identifier: Apache-2.0 */
/* Token bucket arithmetic and the process-wide budget with a privileged floor (fake time). */
#include "budget.h"
#include "drbg.h"
#include "log.h"
#include "ratelimit.h"
#include "test_util.h"

#define S 1000000000ull

static void test_bucket_basics(void)
{
	struct rng_bucket b;
	rng_bucket_init(&b, 1000, 500, 0);
	CHECK_EQ(rng_bucket_avail(&b, 0), 500); /* starts full */
	rng_bucket_take(&b, 500);
	CHECK_EQ(rng_bucket_avail(&b, 0), 0);
	CHECK_EQ(rng_bucket_wait_ns(&b, 100), 100000000); /* 100 units at 1000/s = 100 ms */
	CHECK_EQ(rng_bucket_avail(&b, 100000000), 100);
	CHECK_EQ(rng_bucket_avail(&b, 100000001), 100); /* fractions kept, not rounded up */
	CHECK_EQ(rng_bucket_avail(&b, 10 * S), 500);	/* capped at burst */
	/* Requests beyond the burst wait for a full bucket, never forever. */
	rng_bucket_take(&b, 500);
	CHECK_EQ(rng_bucket_wait_ns(&b, 10000), S / 2);
}

static void test_bucket_fractions(void)
{
	/* 3 units/s: 1/3 s per unit, no drift over many refills (burst 2: never capped). */
	struct rng_bucket b;
	rng_bucket_init(&b, 3, 2, 0);
	rng_bucket_take(&b, 2);
	uint64_t got = 0, t = 0;
	for (int i = 0; i < 3000; i++) {
		t += S / 1000; /* 1 ms steps for 3 s */
		uint64_t a = rng_bucket_avail(&b, t);
		if (a) {
			rng_bucket_take(&b, a);
			got += a;
		}
	}
	CHECK_EQ(got, 9);
}

static void test_bucket_no_overflow(void)
{
	struct rng_bucket b;
	rng_bucket_init(&b, RNG_BUCKET_MAX_RATE, RNG_BUCKET_MAX_BURST, 0);
	rng_bucket_take(&b, RNG_BUCKET_MAX_BURST);
	CHECK_EQ(rng_bucket_avail(&b, UINT64_MAX / 2), RNG_BUCKET_MAX_BURST);
	rng_bucket_init(&b, 1, RNG_BUCKET_MAX_BURST, 0);
	rng_bucket_take(&b, RNG_BUCKET_MAX_BURST);
	CHECK_EQ(rng_bucket_avail(&b, 1000 * S), 1000);
	CHECK(rng_bucket_unlimited(&(struct rng_bucket){0}));
}

static void test_budget_floor(void)
{
	/* Global 1000 B/s, privileged floor 200 B/s: unprivileged share 800 B/s. */
	struct rng_budget_opts u = {.set = true, .rate = 1000, .burst = 100};
	struct rng_budget_opts p = {.privileged = true, .floor_rate = 200, .floor_burst = 100};
	struct rng_budget_share *a, *b, *pv;
	CHECK_EQ(rng_budget_join("u1", &u, &a), 0);
	CHECK_EQ(rng_budget_join("u2", &(struct rng_budget_opts){0}, &b), 0);
	CHECK_EQ(rng_budget_join("p", &p, &pv), 0);
	CHECK(rng_budget_limited());
	struct rng_budget_info bi;
	rng_budget_info(&bi);
	CHECK_EQ(bi.shared_rate, 800);
	CHECK_EQ(bi.members, 3);

	/* A conflicting budget is refused; so is a floor that eats the budget. */
	struct rng_budget_share *x;
	struct rng_budget_opts bad = {.set = true, .rate = 5, .burst = 100};
	CHECK_EQ(rng_budget_join("bad", &bad, &x), -EINVAL);
	struct rng_budget_opts greedy = {.privileged = true, .floor_rate = 800, .floor_burst = 1};
	CHECK_EQ(rng_budget_join("greedy", &greedy, &x), -EINVAL);

	/* Unprivileged devices flood for 10 s of fake time in 1 ms steps. */
	uint64_t t0 = vt_now_ns(), got_u = 0, got_p = 0, wait;
	for (uint64_t ms = 1; ms <= 10000; ms++) {
		uint64_t now = t0 + ms * 1000000;
		for (int k = 0; k < 4; k++) {
			got_u += rng_budget_grant(a, 64, 1, now, &wait);
			got_u += rng_budget_grant(b, 64, 1, now, &wait);
		}
		got_p += rng_budget_grant(pv, 64, 1, now, &wait);
	}
	/* Unprivileged: at most 800 B/s (+ the initial burst); privileged: at least its floor. */
	CHECK(got_u <= 8000 + 100 + 1);
	CHECK(got_u >= 7900);
	CHECK(got_p >= 2000);
	/* With no shared tokens left the privileged lane still draws its floor. */
	uint64_t now = t0 + 10001 * 1000000ull;
	while (rng_budget_grant(a, 64, 1, now, &wait))
		;
	CHECK(wait > 0);
	uint64_t p_more = 0;
	for (int ms = 1; ms <= 1000; ms++) {
		now += 1000000;
		while (rng_budget_grant(a, 64, 1, now, &wait))
			;
		p_more += rng_budget_grant(pv, 64, 1, now, &wait);
	}
	CHECK(p_more >= 195);
	rng_budget_leave(pv);
	rng_budget_leave(b);
	rng_budget_leave(a);
	CHECK(!rng_budget_limited());
}

static void test_budget_unlimited(void)
{
	struct rng_budget_share *a;
	CHECK_EQ(rng_budget_join("u", &(struct rng_budget_opts){0}, &a), 0);
	uint64_t wait = 0;
	CHECK_EQ(rng_budget_grant(a, 1 << 20, 1, vt_now_ns(), &wait), 1 << 20);
	CHECK(!rng_budget_limited());
	rng_budget_leave(a);
}

int main(void)
{
	vt_log_set_level(VT_LOG_ERR - 1);
	TEST_RUN(test_bucket_basics);
	TEST_RUN(test_bucket_fractions);
	TEST_RUN(test_bucket_no_overflow);
	TEST_RUN(test_budget_floor);
	TEST_RUN(test_budget_unlimited);
	TEST_DONE();
}
