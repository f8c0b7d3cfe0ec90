/* SPDX-License-Identifier: Apache-2.0 */
/*
 * requestq against a mock guest: exact used lengths, the per-request cap,
 * malformed chains, QEMU 7.2's feature set, rate limits that defer with
 * unpop + timer, and the degraded state (requests wait, nothing written).
 */
#include <time.h>

#include "fixture.h"
#include "log.h"

#define QEMU72_RNG_FEATURES 0x170000000ull

static void test_fill_exact(void)
{
	struct rng_opts o;
	rng_opts_defaults(&o);
	struct fx f;
	fx_init(&f, &o, QEMU72_RNG_FEATURES);
	/* The Linux driver's shape: one 64-byte writable buffer. */
	uint64_t b = fx_buf(&f, 64, 0);
	uint16_t head = fx_add_fill(&f, 0, b, 64);
	fx_serve(&f, 0);
	CHECK_EQ(fx_used(&f, 0), 1);
	CHECK_EQ(fx_used_elem(&f, 0, 0).id, head);
	CHECK_EQ(fx_used_elem(&f, 0, 0).len, 64);
	CHECK(!all_bytes(mock_gpa(&f.g, b), 64, 0));
	/* A chain straddling two guest memory regions, plus a readable prefix (ignored). */
	uint64_t pre = fx_buf(&f, 16, 0xee);
	uint64_t a[3] = {pre, MOCK_R1_GPA - 100, MOCK_R1_GPA + 4096};
	uint32_t l[3] = {16, 300, 1000};
	bool w[3] = {false, true, true};
	memset(mock_gpa(&f.g, MOCK_R1_GPA - 100), 0, 300);
	fx_add(&f, 0, 3, a, l, w);
	fx_serve(&f, 0);
	CHECK_EQ(fx_used(&f, 0), 2);
	CHECK_EQ(fx_used_elem(&f, 0, 1).len, 1300);
	CHECK(all_bytes(mock_gpa(&f.g, pre), 16, 0xee));
	CHECK(!all_bytes(mock_gpa(&f.g, MOCK_R1_GPA - 100), 300, 0));
	CHECK_EQ(atomic_load(&f.d->stats.bytes), 1364);
	/* Leak queues exist but are not served without VIRTIO_RNG_F_LEAK. */
	CHECK_EQ(f.nq, 3);
	uint64_t lb = fx_buf(&f, 32, 0);
	fx_add_fill(&f, 1, lb, 32);
	vt_rng_leak(f.d);
	fx_pump(&f);
	CHECK_EQ(fx_used(&f, 1), 0);
	fx_free(&f);
}

static void test_cap(void)
{
	struct rng_opts o;
	rng_opts_defaults(&o);
	o.max_request = 4096;
	struct fx f;
	fx_init(&f, &o, 0);
	/* An inflated length: 200 KiB offered, the cap is written, used len says so. */
	uint64_t b = fx_buf(&f, 200 * 1024, 0);
	fx_add_fill(&f, 0, b, 200 * 1024);
	fx_serve(&f, 0);
	CHECK_EQ(fx_used_elem(&f, 0, 0).len, 4096);
	CHECK(all_bytes((uint8_t *)mock_gpa(&f.g, b) + 4096, 200 * 1024 - 4096, 0));
	fx_free(&f);
}

static void test_malformed(void)
{
	struct rng_opts o;
	rng_opts_defaults(&o);
	o.leak = false;
	struct fx f;
	fx_init(&f, &o, 0);
	CHECK_EQ(f.nq, 1);
	CHECK_EQ(vt_rng_ops.get_features(f.d), 0);
	uint64_t b = fx_buf(&f, 64, 0x11);
	/* No writable bytes. */
	uint32_t len = 64;
	bool ro = false;
	fx_add(&f, 0, 1, &b, &len, &ro);
	/* Readable after writable. */
	uint64_t a[2] = {b, b + 32};
	uint32_t l[2] = {32, 32};
	bool w[2] = {true, false};
	fx_add(&f, 0, 2, a, l, w);
	/* A good one after them is still served. */
	uint64_t g = fx_buf(&f, 8, 0);
	fx_add_fill(&f, 0, g, 8);
	fx_serve(&f, 0);
	CHECK_EQ(fx_used(&f, 0), 3);
	CHECK_EQ(fx_used_elem(&f, 0, 0).len, 0);
	CHECK_EQ(fx_used_elem(&f, 0, 1).len, 0);
	CHECK_EQ(fx_used_elem(&f, 0, 2).len, 8);
	CHECK(all_bytes(mock_gpa(&f.g, b), 64, 0x11)); /* malformed: nothing written */
	CHECK_EQ(atomic_load(&f.d->stats.malformed), 2);
	fx_free(&f);
}

static void test_throttle_defers(void)
{
	struct rng_opts o;
	rng_opts_defaults(&o);
	o.rate_bytes = 1000; /* 1 KB/s, burst 100 B */
	o.burst_bytes = 100;
	struct fx f;
	fx_init(&f, &o, 0);
	uint64_t b1 = fx_buf(&f, 64, 0), b2 = fx_buf(&f, 64, 0), b3 = fx_buf(&f, 200, 0);
	fx_add_fill(&f, 0, b1, 64);
	fx_add_fill(&f, 0, b2, 64);
	fx_add_fill(&f, 0, b3, 200);
	fx_serve(&f, 0);
	/* 100 B burst: 64 B, then 36 B left: the second waits for 28 more. */
	CHECK_EQ(fx_used(&f, 0), 1);
	CHECK_EQ(fx_used_elem(&f, 0, 0).len, 64);
	/* It stays queued (unpopped) and the timer is armed; no sleeping happened. */
	CHECK_EQ(fx_q(&f, 0)->last_avail_idx, 1);
	CHECK(fx_timer_armed(&f, 0));
	CHECK(atomic_load(&f.d->stats.throttled_bytes) >= 1);
	struct itimerspec its;
	timerfd_gettime(fx_q(&f, 0)->timer_fd, &its);
	CHECK(its.it_value.tv_sec == 0 && its.it_value.tv_nsec <= 28000000); /* ≤ 28 ms */
	/* After the timer the request is served. */
	struct pollfd p = {.fd = fx_q(&f, 0)->timer_fd, .events = POLLIN};
	CHECK_EQ(poll(&p, 1, 1000), 1);
	fx_serve(&f, 0);
	CHECK(fx_used(&f, 0) >= 2);
	CHECK_EQ(fx_used_elem(&f, 0, 1).len, 64);
	/* A request larger than the burst gets a partial fill of at least the burst. */
	for (int i = 0; i < 3 && fx_used(&f, 0) < 3; i++) {
		CHECK_EQ(poll(&p, 1, 1000), 1);
		fx_serve(&f, 0);
	}
	CHECK_EQ(fx_used(&f, 0), 3);
	CHECK_EQ(fx_used_elem(&f, 0, 2).len, 100);
	fx_free(&f);
}

static void test_request_limit(void)
{
	struct rng_opts o;
	rng_opts_defaults(&o);
	o.rate_requests = 10;
	o.burst_requests = 2;
	struct fx f;
	fx_init(&f, &o, 0);
	for (int i = 0; i < 5; i++)
		fx_add_fill(&f, 0, fx_buf(&f, 16, 0), 16);
	fx_serve(&f, 0);
	CHECK_EQ(fx_used(&f, 0), 2);
	CHECK(fx_timer_armed(&f, 0));
	CHECK(atomic_load(&f.d->stats.throttled_requests) >= 1);
	fx_free(&f);
}

static void test_degraded_waits(void)
{
	struct rng_opts o;
	rng_opts_defaults(&o);
	o.fault = RNG_SEED_FAULT_ERROR; /* seeding fails from the start */
	o.retry_ns = 5000000;		/* 5 ms */
	struct fx f;
	fx_init(&f, &o, 0);
	CHECK(vt_rng_degraded(f.d));
	uint64_t b = fx_buf(&f, 64, 0x33);
	fx_add_fill(&f, 0, b, 64);
	fx_serve(&f, 0);
	/* The request waits: not used, not written, timer armed for the retry. */
	CHECK_EQ(fx_used(&f, 0), 0);
	CHECK(all_bytes(mock_gpa(&f.g, b), 64, 0x33));
	CHECK(fx_timer_armed(&f, 0));
	CHECK_EQ(fx_q(&f, 0)->last_avail_idx, 0);
	CHECK(atomic_load(&f.d->stats.degraded_waits) >= 1);
	/* Still failing after a retry. */
	struct pollfd p = {.fd = fx_q(&f, 0)->timer_fd, .events = POLLIN};
	CHECK_EQ(poll(&p, 1, 1000), 1);
	fx_serve(&f, 0);
	CHECK_EQ(fx_used(&f, 0), 0);
	/* The source heals: the next retry seeds and serves. */
	CHECK_EQ(vt_rng_set_seed_fault(f.d, "none", 0), 0);
	CHECK_EQ(poll(&p, 1, 1000), 1);
	fx_serve(&f, 0);
	CHECK_EQ(fx_used(&f, 0), 1);
	CHECK(!vt_rng_degraded(f.d));
	CHECK(!all_bytes(mock_gpa(&f.g, b), 64, 0x33));
	fx_free(&f);
}

static void test_degraded_midway(void)
{
	/* Healthy, then the seed source gets stuck at a scheduled reseed. */
	struct rng_opts o;
	rng_opts_defaults(&o);
	o.reseed_bytes = 4096;
	struct fx f;
	fx_init(&f, &o, 0);
	CHECK_EQ(vt_rng_set_seed_fault(f.d, "stuck", 1), 0);
	uint64_t bufs[8];
	for (int i = 0; i < 8; i++) {
		bufs[i] = fx_buf(&f, 4096, 0x44);
		fx_add_fill(&f, 0, bufs[i], 4096);
	}
	fx_serve(&f, 0);
	uint16_t used = fx_used(&f, 0);
	CHECK(used >= 1 && used < 8);
	CHECK(vt_rng_degraded(f.d));
	for (int i = used; i < 8; i++)
		CHECK(all_bytes(mock_gpa(&f.g, bufs[i]), 4096, 0x44));
	CHECK(atomic_load(&f.d->drbg->stats.health_failures) >= 1);
	fx_free(&f);
}

int main(void)
{
	vt_guestmem_set_prefault(false);
	vt_log_set_level(VT_LOG_ERR - 1);
	TEST_RUN(test_fill_exact);
	TEST_RUN(test_cap);
	TEST_RUN(test_malformed);
	TEST_RUN(test_throttle_defers);
	TEST_RUN(test_request_limit);
	TEST_RUN(test_degraded_waits);
	TEST_RUN(test_degraded_midway);
	TEST_DONE();
}
