/* SPDX-License-Identifier: Apache-2.0 */
/*
 * VIRTIO_RNG_F_LEAK against a mock guest: parked buffers wait, an event uses
 * them all, fill and copy buffers, malformed ones, the queue switch rules
 * over several events, pending events, DEVICE_STATE save/load, and reset.
 */
#include "fixture.h"
#include "log.h"

#define LEAK_FEATURES (VT_BIT(VIRTIO_RNG_F_LEAK) | 0x170000000ull)

static void fx_leak(struct fx *f)
{
	struct rng_opts o;
	rng_opts_defaults(&o);
	fx_init(f, &o, LEAK_FEATURES);
}

static unsigned active(struct fx *f)
{
	unsigned a;
	bool firing;
	rng_leak_state(&f->d->leak, &a, &firing);
	return a;
}

static bool firing(struct fx *f)
{
	unsigned a;
	bool fi;
	rng_leak_state(&f->d->leak, &a, &fi);
	return fi;
}

static void test_parked_then_event(void)
{
	struct fx f;
	fx_leak(&f);
	CHECK_EQ(vt_rng_ops.get_features(f.d), VT_BIT(VIRTIO_RNG_F_LEAK));
	CHECK_EQ(active(&f), 1);
	uint64_t fill[4], src[2], dst[2];
	for (int i = 0; i < 4; i++)
		fx_add_fill(&f, 1, fill[i] = fx_buf(&f, 64, 0), 64);
	for (int i = 0; i < 2; i++) {
		src[i] = fx_buf(&f, 32, (uint8_t)(0x60 + i));
		dst[i] = fx_buf(&f, 32, 0);
		fx_add_copy(&f, 1, src[i], dst[i], 32);
	}
	fx_pump(&f);
	CHECK_EQ(fx_used(&f, 1), 0); /* wait for an event */
	CHECK_EQ(vt_rng_leak(f.d), 1);
	fx_pump(&f);
	CHECK_EQ(fx_used(&f, 1), 6);
	for (int i = 0; i < 4; i++) {
		CHECK_EQ(fx_used_elem(&f, 1, (uint16_t)i).len, 64);
		CHECK(!all_bytes(mock_gpa(&f.g, fill[i]), 64, 0));
	}
	for (int i = 0; i < 2; i++) {
		CHECK_EQ(fx_used_elem(&f, 1, (uint16_t)(4 + i)).len, 32);
		CHECK(all_bytes(mock_gpa(&f.g, dst[i]), 32, (uint8_t)(0x60 + i)));
	}
	CHECK_EQ(atomic_load(&f.d->leak.stats.filled), 4);
	CHECK_EQ(atomic_load(&f.d->leak.stats.copied), 2);
	CHECK_EQ(atomic_load(&f.d->leak.stats.fired), 1);
	CHECK_EQ(vt_rng_leak_epoch(f.d), 1);
	CHECK(vt_rng_last_leak_latency_ns(f.d) > 0);
	/* Nothing else happened on the other queues. */
	CHECK_EQ(fx_used(&f, 0), 0);
	CHECK_EQ(fx_used(&f, 2), 0);
	fx_free(&f);
}

static void test_alternation(void)
{
	struct fx f;
	fx_leak(&f);
	fx_add_fill(&f, 1, fx_buf(&f, 16, 0), 16);
	vt_rng_leak(f.d);
	fx_pump(&f);
	CHECK_EQ(fx_used(&f, 1), 1);
	CHECK(firing(&f));
	/* leakq1 keeps being used while leakq2 is empty. */
	fx_add_fill(&f, 1, fx_buf(&f, 16, 0), 16);
	fx_pump(&f);
	CHECK_EQ(fx_used(&f, 1), 2);
	CHECK_EQ(active(&f), 1);
	/* The driver switches: leakq2 gets buffers; leakq1 is empty -> leakq2 active, waiting. */
	fx_add_fill(&f, 2, fx_buf(&f, 16, 0), 16);
	fx_add_copy(&f, 2, fx_buf(&f, 8, 0x21), fx_buf(&f, 8, 0), 8);
	fx_pump(&f);
	CHECK_EQ(active(&f), 2);
	CHECK(!firing(&f));
	CHECK_EQ(fx_used(&f, 2), 0);
	/* A buffer put on the inactive leakq1 is not used either. */
	fx_add_fill(&f, 1, fx_buf(&f, 16, 0), 16);
	fx_pump(&f);
	CHECK_EQ(fx_used(&f, 1), 2);
	CHECK_EQ(atomic_load(&f.d->leak.stats.switches), 1);
	/* Event 2 uses leakq2's buffers; leakq2 empty and leakq1 has one: back to leakq1, idle. */
	CHECK_EQ(vt_rng_leak(f.d), 2);
	fx_pump(&f);
	CHECK_EQ(fx_used(&f, 2), 2);
	CHECK_EQ(fx_used(&f, 1), 2);
	CHECK_EQ(active(&f), 1);
	CHECK(!firing(&f));
	/* Event 3 uses the buffer waiting in leakq1. */
	vt_rng_leak(f.d);
	fx_pump(&f);
	CHECK_EQ(fx_used(&f, 1), 3);
	CHECK_EQ(atomic_load(&f.d->leak.stats.switches), 2);
	CHECK_EQ(atomic_load(&f.d->leak.stats.fired), 3);
	fx_free(&f);
}

static void test_events_distinct(void)
{
	struct fx f;
	fx_leak(&f);
	enum { EVENTS = 6, PER = 4 };
	uint64_t bufs[EVENTS][PER];
	unsigned q = 1;
	for (int e = 0; e < EVENTS; e++) {
		for (int i = 0; i < PER; i++)
			fx_add_fill(&f, q, bufs[e][i] = fx_buf(&f, 64, 0), 64);
		fx_pump(&f); /* (the switch to q happens here) */
		CHECK_EQ(active(&f), q);
		uint16_t before = fx_used(&f, q);
		vt_rng_leak(f.d);
		fx_pump(&f);
		CHECK_EQ((uint16_t)(fx_used(&f, q) - before), PER);
		q = 3 - q;
	}
	for (int a = 0; a < EVENTS * PER; a++)
		for (int b = a + 1; b < EVENTS * PER; b++)
			CHECK(memcmp(mock_gpa(&f.g, bufs[a / PER][a % PER]),
				     mock_gpa(&f.g, bufs[b / PER][b % PER]), 64) != 0);
	/* Each applied event reseeded the generator. */
	CHECK(atomic_load(&f.d->drbg->stats.reseeds) >= 1 + EVENTS);
	fx_free(&f);
}

static void test_malformed_leak(void)
{
	struct rng_opts o;
	rng_opts_defaults(&o);
	o.max_request = 1024;
	struct fx f;
	fx_init(&f, &o, LEAK_FEATURES);
	uint64_t b = fx_buf(&f, 4096, 0x55);
	/* Unequal halves. */
	uint64_t a1[2] = {b, b + 64};
	uint32_t l1[2] = {16, 32};
	bool w1[2] = {false, true};
	fx_add(&f, 1, 2, a1, l1, w1);
	/* Wrong order: writable then readable. */
	uint32_t l2[2] = {16, 16};
	bool w2[2] = {true, false};
	fx_add(&f, 1, 2, a1, l2, w2);
	/* Read-only only. */
	uint32_t l3 = 16;
	bool w3 = false;
	fx_add(&f, 1, 1, &b, &l3, &w3);
	/* Larger than max_request_bytes. */
	fx_add_fill(&f, 1, b + 1024, 2048);
	/* And a good copy spread over 3 + 2 segments of equal total. */
	uint64_t src = fx_buf(&f, 40, 0x77), dst = fx_buf(&f, 40, 0);
	uint64_t a5[5] = {src, src + 10, src + 30, dst, dst + 25};
	uint32_t l5[5] = {10, 20, 10, 25, 15};
	bool w5[5] = {false, false, false, true, true};
	fx_add(&f, 1, 5, a5, l5, w5);
	fx_pump(&f);
	CHECK_EQ(fx_used(&f, 1), 0);
	vt_rng_leak(f.d);
	fx_pump(&f);
	CHECK_EQ(fx_used(&f, 1), 5);
	for (uint16_t i = 0; i < 4; i++)
		CHECK_EQ(fx_used_elem(&f, 1, i).len, 0);
	CHECK_EQ(fx_used_elem(&f, 1, 4).len, 40);
	CHECK(all_bytes(mock_gpa(&f.g, dst), 40, 0x77));
	CHECK(all_bytes(mock_gpa(&f.g, b), 4096, 0x55));
	CHECK_EQ(atomic_load(&f.d->leak.stats.malformed), 4);
	fx_free(&f);
}

static void test_pending_event(void)
{
	struct fx f;
	fx_leak(&f);
	fx_add_fill(&f, 1, fx_buf(&f, 16, 0), 16);
	vt_rng_leak(f.d);
	fx_pump(&f);
	CHECK_EQ(fx_used(&f, 1), 1);
	/* Event 2 while leakq1 fires and is empty, before the driver filled leakq2. */
	vt_rng_leak(f.d);
	fx_pump(&f);
	CHECK_EQ(atomic_load(&f.d->leak.stats.fired), 1); /* pending */
	/* The driver moves to leakq2: the switch completes and event 2 fires it at once. */
	fx_add_fill(&f, 2, fx_buf(&f, 16, 0), 16);
	fx_pump(&f);
	CHECK_EQ(fx_used(&f, 2), 1);
	CHECK_EQ(active(&f), 2);
	CHECK_EQ(atomic_load(&f.d->leak.stats.fired), 2);
	/* Alternatively the driver puts more on leakq1: used there. */
	struct fx g;
	fx_leak(&g);
	fx_add_fill(&g, 1, fx_buf(&g, 16, 0), 16);
	vt_rng_leak(g.d);
	fx_pump(&g);
	vt_rng_leak(g.d);
	fx_pump(&g);
	fx_add_fill(&g, 1, fx_buf(&g, 16, 0), 16);
	fx_pump(&g);
	CHECK_EQ(fx_used(&g, 1), 2);
	CHECK_EQ(atomic_load(&g.d->leak.stats.fired), 2);
	fx_free(&g);
	fx_free(&f);
}

static int pipe_with(const uint8_t *buf, size_t len)
{
	int p[2];
	if (pipe(p) < 0)
		abort();
	if (len && write(p[1], buf, len) != (ssize_t)len)
		abort();
	close(p[1]);
	return p[0];
}

static void test_state_load(void)
{
	struct fx f;
	fx_leak(&f);
	/* Save: leakq1 active, idle, epoch 0. */
	int p[2];
	CHECK_EQ(pipe(p), 0);
	CHECK_EQ(vt_rng_ops.save_state(f.d, p[1]), 0);
	close(p[1]);
	uint8_t blob[64];
	CHECK_EQ(read(p[0], blob, sizeof(blob)), RNG_LEAK_STATE_SIZE);
	close(p[0]);
	CHECK_EQ(vt_rng_leak_epoch(f.d), 0); /* leak_on_save is off */
	/* Park buffers on leakq1, then the VM "restore": rings are stopped, nothing runs. */
	for (int i = 0; i < 3; i++)
		fx_add_fill(&f, 1, fx_buf(&f, 64, 0), 64);
	int fd = pipe_with(blob, RNG_LEAK_STATE_SIZE);
	CHECK_EQ(vt_rng_ops.load_state(f.d, fd), 0);
	close(fd);
	CHECK_EQ(vt_rng_leak_epoch(f.d), 1);
	CHECK_EQ(fx_used(&f, 1), 0); /* recorded, not yet applied */
	/* The rings start again: the parked buffers are completed first. */
	fx_serve(&f, 1);
	CHECK_EQ(fx_used(&f, 1), 3);

	/* Bad blobs are refused and change nothing. */
	uint8_t bad[RNG_LEAK_STATE_SIZE];
	memcpy(bad, blob, sizeof(bad));
	bad[16] = 3; /* active = 3 */
	fd = pipe_with(bad, sizeof(bad));
	CHECK_EQ(vt_rng_ops.load_state(f.d, fd), -EINVAL);
	close(fd);
	fd = pipe_with(blob, RNG_LEAK_STATE_SIZE - 1);
	CHECK_EQ(vt_rng_ops.load_state(f.d, fd), -EINVAL);
	close(fd);
	CHECK_EQ(vt_rng_leak_epoch(f.d), 1);
	/* An empty stream is "no saved state": still a restore, so an event. */
	fd = pipe_with(NULL, 0);
	CHECK_EQ(vt_rng_ops.load_state(f.d, fd), 0);
	close(fd);
	CHECK_EQ(vt_rng_leak_epoch(f.d), 2);
	fx_free(&f);
}

static void test_state_restores_active(void)
{
	/* A snapshot taken with leakq2 active is restored into a device where leakq1 is. */
	struct fx f;
	fx_leak(&f);
	fx_add_fill(&f, 1, fx_buf(&f, 16, 0), 16);
	vt_rng_leak(f.d);
	fx_pump(&f);
	fx_add_fill(&f, 2, fx_buf(&f, 16, 0), 16);
	fx_pump(&f);
	CHECK_EQ(active(&f), 2);
	uint8_t blob[RNG_LEAK_STATE_SIZE];
	rng_leak_save(&f.d->leak, blob);
	struct rng_leak_saved s;
	CHECK_EQ(rng_leak_parse_state(blob, sizeof(blob), &s), 0);
	CHECK_EQ(s.active, 2);
	CHECK_EQ(s.epoch, 1);

	struct fx g;
	fx_leak(&g);
	fx_add_fill(&g, 2, fx_buf(&g, 16, 0), 16);
	CHECK_EQ(rng_leak_load(&g.d->leak, blob, sizeof(blob)), 0);
	CHECK_EQ(active(&g), 2);
	CHECK_EQ(vt_rng_leak_epoch(g.d), 2); /* continues from the source's epoch */
	fx_pump(&g);
	CHECK_EQ(fx_used(&g, 2), 1);
	CHECK_EQ(fx_used(&g, 1), 0);
	fx_free(&g);
	fx_free(&f);
}

static void test_fresh_ring_resets(void)
{
	struct fx f;
	fx_leak(&f);
	fx_add_fill(&f, 1, fx_buf(&f, 16, 0), 16);
	vt_rng_leak(f.d);
	fx_pump(&f);
	fx_add_fill(&f, 2, fx_buf(&f, 16, 0), 16);
	fx_pump(&f);
	CHECK_EQ(active(&f), 2);
	/* Restart with history: state kept. */
	vt_rng_ops.queue_start(f.d, fx_q(&f, 1));
	CHECK_EQ(active(&f), 2);
	/* A fresh leakq1 ring (driver re-initialised the device): leakq1 active, idle. */
	struct vt_queue *q1 = fx_q(&f, 1);
	q1->last_avail_idx = 0;
	q1->used_idx = 0;
	vt_rng_ops.queue_start(f.d, q1);
	CHECK_EQ(active(&f), 1);
	CHECK(!firing(&f));
	fx_free(&f);
}

static void test_control_delivery(void)
{
	struct fx f;
	fx_leak(&f);
	fx_add_fill(&f, 1, fx_buf(&f, 64, 0), 64);
	fx_pump(&f);
	/* The control path fills at once on its own thread when the worker is idle. */
	vt_rng_leak(f.d);
	CHECK_EQ(fx_used(&f, 1), 1);
	/* A stopped ring (GET_VRING_BASE, disconnect) is never touched off its worker... */
	fx_add_fill(&f, 2, fx_buf(&f, 64, 0), 64);
	fx_pump(&f); /* switch to leakq2 */
	vt_rng_ops.queue_stop(f.d, fx_q(&f, 2));
	vt_rng_leak(f.d);
	CHECK_EQ(fx_used(&f, 2), 0);
	/* ...it is served when it starts again. */
	vt_rng_ops.queue_start(f.d, fx_q(&f, 2));
	fx_serve(&f, 2);
	CHECK_EQ(fx_used(&f, 2), 1);
	/* A busy worker (its lock held) is woken instead. */
	fx_add_fill(&f, 1, fx_buf(&f, 64, 0), 64);
	fx_pump(&f);
	uint64_t v;
	while (read(fx_q(&f, 1)->wake_fd, &v, 8) == 8)
		;
	pthread_mutex_lock(&fx_q(&f, 1)->lock);
	vt_rng_leak(f.d);
	pthread_mutex_unlock(&fx_q(&f, 1)->lock);
	CHECK_EQ(fx_used(&f, 1), 1);
	CHECK_EQ(read(fx_q(&f, 1)->wake_fd, &v, 8), 8);
	fx_serve(&f, 1);
	CHECK_EQ(fx_used(&f, 1), 2);
	fx_free(&f);
}

static void test_degraded_leak(void)
{
	struct rng_opts o;
	rng_opts_defaults(&o);
	o.retry_ns = 2000000;
	struct fx f;
	fx_init(&f, &o, LEAK_FEATURES);
	uint64_t b = fx_buf(&f, 64, 0x99);
	fx_add_fill(&f, 1, b, 64);
	CHECK_EQ(vt_rng_set_seed_fault(f.d, "error", 0), 0);
	vt_rng_leak(f.d); /* the event's reseed fails: nothing is used */
	fx_pump(&f);
	CHECK_EQ(fx_used(&f, 1), 0);
	CHECK(vt_rng_degraded(f.d));
	CHECK(all_bytes(mock_gpa(&f.g, b), 64, 0x99));
	CHECK(fx_timer_armed(&f, 1));
	CHECK_EQ(vt_rng_set_seed_fault(f.d, "none", 0), 0);
	struct pollfd p = {.fd = fx_q(&f, 1)->timer_fd, .events = POLLIN};
	CHECK_EQ(poll(&p, 1, 1000), 1);
	fx_pump(&f);
	CHECK_EQ(fx_used(&f, 1), 1);
	CHECK(!all_bytes(mock_gpa(&f.g, b), 64, 0x99));
	fx_free(&f);
}

int main(void)
{
	vt_guestmem_set_prefault(false);
	vt_log_set_level(VT_LOG_ERR - 1);
	TEST_RUN(test_parked_then_event);
	TEST_RUN(test_alternation);
	TEST_RUN(test_events_distinct);
	TEST_RUN(test_malformed_leak);
	TEST_RUN(test_pending_event);
	TEST_RUN(test_state_load);
	TEST_RUN(test_state_restores_active);
	TEST_RUN(test_fresh_ring_resets);
	TEST_RUN(test_control_delivery);
	TEST_RUN(test_degraded_leak);
	TEST_DONE();
}
