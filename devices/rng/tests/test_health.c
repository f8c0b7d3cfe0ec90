/* SPDX-License-Identifier: Apache-2.0 */
/* Health tests (RCT, APT) and the seed source's start-up test and fault injection. */
#include <sys/random.h>

#include "health.h"
#include "log.h"
#include "seed.h"
#include "test_util.h"

static int all_zero_check(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

static void test_random_passes(void)
{
	struct rng_health h;
	rng_health_init(&h);
	static uint8_t buf[1 << 20];
	size_t got = 0;
	while (got < sizeof(buf)) {
		ssize_t r = getrandom(buf + got, sizeof(buf) - got, 0);
		if (r > 0)
			got += (size_t)r;
	}
	CHECK_EQ(rng_health_feed(&h, buf, sizeof(buf)), RNG_HEALTH_OK);
	CHECK_EQ(h.samples, sizeof(buf));
}

static void test_rct_cutoff(void)
{
	struct rng_health h;
	rng_health_init(&h);
	uint8_t run[RNG_HEALTH_RCT_CUTOFF];
	memset(run, 7, sizeof(run));
	/* cutoff-1 identical samples pass, the cutoff-th fails. */
	CHECK_EQ(rng_health_feed(&h, run, RNG_HEALTH_RCT_CUTOFF - 1), RNG_HEALTH_OK);
	uint8_t other = 8;
	CHECK_EQ(rng_health_feed(&h, &other, 1), RNG_HEALTH_OK); /* run broken */
	CHECK_EQ(rng_health_feed(&h, run, RNG_HEALTH_RCT_CUTOFF - 1), RNG_HEALTH_OK);
	CHECK_EQ(rng_health_feed(&h, run, 1), RNG_HEALTH_RCT_FAIL);
}

static void test_apt_cutoff(void)
{
	/* A window where the first symbol recurs cutoff-1 times passes; cutoff times fails. */
	for (int extra = 0; extra <= 1; extra++) {
		struct rng_health h;
		rng_health_init(&h);
		uint8_t w[RNG_HEALTH_APT_WINDOW];
		for (unsigned i = 0; i < sizeof(w); i++)
			w[i] = (uint8_t)(1 + i % 200); /* never 0, distinct neighbours */
		w[0] = 0;
		unsigned want =
		    RNG_HEALTH_APT_CUTOFF - 1 + (unsigned)extra; /* occurrences of w[0] */
		for (unsigned k = 1, placed = 1; placed < want; k += 3, placed++)
			w[k] = w[0];
		enum rng_health_result r = rng_health_feed(&h, w, sizeof(w));
		CHECK_EQ(r, extra ? RNG_HEALTH_APT_FAIL : RNG_HEALTH_OK);
	}
}

static void test_seed_draws(void)
{
	struct rng_seed s;
	rng_seed_init(&s, RNG_SEED_FAULT_NONE, 0);
	uint8_t a[48], b[48];
	CHECK_EQ(rng_seed_draw(&s, a, sizeof(a)), 0);
	CHECK(s.started);
	CHECK_EQ(s.health.samples, RNG_HEALTH_STARTUP_SAMPLES + 48);
	CHECK_EQ(rng_seed_draw(&s, b, sizeof(b)), 0);
	CHECK(memcmp(a, b, sizeof(a)) != 0);
	CHECK_EQ(s.draws, 2);
	CHECK_EQ(rng_seed_draw(&s, a, RNG_SEED_MAX_DRAW + 1), -EINVAL);
}

static void test_seed_faults(void)
{
	static const struct {
		enum rng_seed_fault f;
		int err;
	} cases[] = {
	    {RNG_SEED_FAULT_ERROR, -EIO},
	    {RNG_SEED_FAULT_STUCK, -EBADMSG},
	    {RNG_SEED_FAULT_BIASED, -EBADMSG},
	};
	for (unsigned i = 0; i < VT_ARRAY_SIZE(cases); i++) {
		struct rng_seed s;
		/* Two good draws, then the fault. */
		rng_seed_init(&s, cases[i].f, 2);
		uint8_t out[48];
		CHECK_EQ(rng_seed_draw(&s, out, sizeof(out)), 0);
		CHECK_EQ(rng_seed_draw(&s, out, sizeof(out)), 0);
		/* Within a few draws the fault is caught (APT needs up to one window). */
		int r = 0;
		for (int k = 0; k < 20 && r == 0; k++)
			r = rng_seed_draw(&s, out, sizeof(out));
		CHECK_EQ(r, cases[i].err);
		CHECK(!s.started);
		CHECK(s.last_error != NULL);
		CHECK(all_zero_check(out, sizeof(out)));
		/* After a failure the start-up test runs again and fails again. */
		CHECK_EQ(rng_seed_draw(&s, out, sizeof(out)), cases[i].err);
		/* Fault cleared: recovers through a fresh start-up test. */
		s.fault = RNG_SEED_FAULT_NONE;
		CHECK_EQ(rng_seed_draw(&s, out, sizeof(out)), 0);
		CHECK(s.started);
	}
}

static void test_fault_names(void)
{
	enum rng_seed_fault f;
	CHECK_EQ(rng_seed_fault_parse("stuck", &f), 0);
	CHECK_EQ(f, RNG_SEED_FAULT_STUCK);
	CHECK_EQ(rng_seed_fault_parse("nope", &f), -EINVAL);
	CHECK(strcmp(rng_seed_fault_name(RNG_SEED_FAULT_BIASED), "biased") == 0);
}

int main(void)
{
	vt_log_set_level(VT_LOG_ERR);
	TEST_RUN(test_random_passes);
	TEST_RUN(test_rct_cutoff);
	TEST_RUN(test_apt_cutoff);
	TEST_RUN(test_seed_draws);
	TEST_RUN(test_seed_faults);
	TEST_RUN(test_fault_names);
	TEST_DONE();
}
