/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Queue worker: chains a device defers (q->deferred: rate limits, parked
 * leak buffers) must not make the worker spin; kicks, the timer and wake-ups
 * still reach the device; the adaptive poll window is learned from kicked
 * arrivals (then chains are picked up without kicks) and dropped when the
 * queue goes idle.
 */
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <time.h>

#include "device.h"
#include "log.h"
#include "mock_guest.h"
#include "test_util.h"

struct dev_state {
	_Atomic unsigned calls;
	_Atomic bool defer; /* true: leave chains queued and set q->deferred */
	_Atomic unsigned served;
};

static uint16_t one_queue(void *priv)
{
	(void)priv;
	return 1;
}

static void handle(void *priv, struct vt_queue *q)
{
	struct dev_state *s = priv;
	atomic_fetch_add(&s->calls, 1);
	if (atomic_load(&s->defer)) {
		q->deferred = true;
		return;
	}
	struct vt_chain c;
	while (vt_queue_pop(q, &c) == 1) {
		vt_queue_push(q, &c, 0);
		atomic_fetch_add(&s->served, 1);
	}
	(void)vt_queue_enable_notify(q);
}

static const struct vt_device_ops ops = {
	.type = "test",
	.num_queues = one_queue,
	.queue_handle = handle,
	.serve_without_enable = true,
};

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static void test_deferred_does_not_spin(void)
{
	struct dev_state s = {0};
	atomic_store(&s.defer, true);
	struct mock_guest g;
	mock_guest_init(&g);
	struct vt_device *d = vt_device_new("worker-test", &ops, &s);
	CHECK(d != NULL);
	vt_device_set_busy_poll(d, 200000); /* 200 ms windows */
	struct vt_queue *q = &d->queues[0];
	q->mem = &g.mem;
	struct mock_ring r;
	mock_ring_init(&r, &g, 8);
	mock_ring_attach(&r, q);
	q->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	uint64_t buf = mock_alloc(&g, 64, 64);
	uint64_t a[1] = {buf};
	uint32_t l[1] = {64};
	bool w[1] = {true};
	mock_chain(&r, 0, 1, a, l, w);

	CHECK_EQ(vt_queue_start_worker(q), 0);
	sleep_ms(100);
	/* The first serve, then nothing: no spinning on the deferred chain. */
	unsigned calls = atomic_load(&s.calls);
	CHECK(calls >= 1 && calls <= 3);
	/* A kick still reaches the device... */
	uint64_t one = 1;
	CHECK_EQ(write(q->kick_fd, &one, sizeof(one)), 8);
	sleep_ms(50);
	CHECK(atomic_load(&s.calls) >= calls + 1 && atomic_load(&s.calls) <= calls + 3);
	/* ...so does the timer. */
	atomic_store(&s.defer, false);
	vt_queue_arm_timer(q, 1000000);
	sleep_ms(50);
	CHECK_EQ(atomic_load(&s.served), 1);
	vt_queue_stop_worker(q);
	q->mem = &d->mem;
	vt_device_free(d);
	mock_guest_free(&g);
}

static bool wait_served(struct dev_state *s, unsigned want, long ms)
{
	for (long i = 0; i < ms; i++) {
		if (atomic_load(&s->served) >= want)
			return true;
		sleep_ms(1);
	}
	return atomic_load(&s->served) >= want;
}

/*
 * The adaptive poll window: learned from kicked arrivals that came soon after
 * a batch (then a chain that is never kicked is still picked up), and dropped
 * to 0 by a gap longer than the limit (an idle queue sleeps: a chain that is
 * never kicked then waits for its kick), and not restarted by one short gap.
 */
static void test_adaptive_window(void)
{
	struct dev_state s = {0};
	struct mock_guest g;
	mock_guest_init(&g);
	struct vt_device *d = vt_device_new("adaptive-test", &ops, &s);
	CHECK(d != NULL);
	vt_device_set_busy_poll(d, 400000); /* limit 400 ms */
	struct vt_queue *q = &d->queues[0];
	q->mem = &g.mem;
	struct mock_ring r;
	mock_ring_init(&r, &g, 64);
	mock_ring_attach(&r, q);
	q->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	uint64_t buf = mock_alloc(&g, 64, 64);
	uint64_t a[1] = {buf};
	uint32_t l[1] = {64};
	bool w[1] = {true};
	uint64_t one = 1;
	CHECK_EQ(vt_queue_start_worker(q), 0);
	sleep_ms(20);
	/* Idle start: no window, so a chain without a kick is not seen... */
	unsigned n = 0;
	mock_chain(&r, (uint16_t)n, 1, a, l, w);
	sleep_ms(60);
	CHECK_EQ(atomic_load(&s.served), 0);
	/*
	 * ...until its kick. Then kicked arrivals 100 ms after each batch teach a
	 * window of about 126 ms: wide enough that the un-kicked chain below still
	 * lands inside it on a loaded machine (30 ms gaps flaked under ASan).
	 */
	CHECK_EQ(write(q->kick_fd, &one, sizeof(one)), 8);
	CHECK(wait_served(&s, ++n, 2000));
	for (int i = 0; i < 3; i++) {
		sleep_ms(100);
		mock_chain(&r, (uint16_t)n, 1, a, l, w);
		CHECK_EQ(write(q->kick_fd, &one, sizeof(one)), 8);
		CHECK(wait_served(&s, ++n, 2000));
	}
	/* Now a chain made available right after a batch, never kicked, is polled up. */
	uint64_t polled0 = atomic_load(&q->stats.polled);
	mock_chain(&r, (uint16_t)n, 1, a, l, w);
	CHECK(wait_served(&s, ++n, 2000));
	CHECK(atomic_load(&q->stats.polled) > polled0);
	/* A gap beyond the limit (idle) drops the window: the worker sleeps again. */
	sleep_ms(450);
	mock_chain(&r, (uint16_t)n, 1, a, l, w);
	CHECK_EQ(write(q->kick_fd, &one, sizeof(one)), 8);
	CHECK(wait_served(&s, ++n, 2000));
	sleep_ms(20);
	mock_chain(&r, (uint16_t)n, 1, a, l, w);
	sleep_ms(60);
	CHECK_EQ(atomic_load(&s.served), n);
	CHECK_EQ(write(q->kick_fd, &one, sizeof(one)), 8);
	CHECK(wait_served(&s, ++n, 2000));
	/* One short gap after idle is not enough to start spinning again. */
	sleep_ms(20);
	mock_chain(&r, (uint16_t)n, 1, a, l, w);
	sleep_ms(60);
	CHECK_EQ(atomic_load(&s.served), n);
	CHECK_EQ(write(q->kick_fd, &one, sizeof(one)), 8);
	CHECK(wait_served(&s, n + 1, 2000));
	vt_queue_stop_worker(q);
	q->mem = &d->mem;
	vt_device_free(d);
	mock_guest_free(&g);
}

/* vt_device_stop (SIGTERM): chains made available before the stop are served. */
static void test_stop_drains(void)
{
	struct dev_state s = {0};
	struct mock_guest g;
	mock_guest_init(&g);
	struct vt_device *d = vt_device_new("drain-test", &ops, &s);
	CHECK(d != NULL);
	struct vt_queue *q = &d->queues[0];
	q->mem = &g.mem;
	struct mock_ring r;
	mock_ring_init(&r, &g, 8);
	mock_ring_attach(&r, q);
	q->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	uint64_t buf = mock_alloc(&g, 64, 64);
	uint64_t a[1] = {buf};
	uint32_t l[1] = {64};
	bool w[1] = {true};
	CHECK_EQ(vt_queue_start_worker(q), 0);
	sleep_ms(20);
	/* Made available, never kicked (the kick is still in flight when SIGTERM lands). */
	mock_chain(&r, 0, 1, a, l, w);
	mock_chain(&r, 1, 1, a, l, w);
	vt_device_stop(d);
	vt_queue_stop_worker(q);
	CHECK_EQ(atomic_load(&s.served), 2);
	CHECK_EQ(r.used->idx, 2);
	q->mem = &d->mem;
	vt_device_free(d);
	mock_guest_free(&g);
}

int main(void)
{
	vt_guestmem_set_prefault(false);
	vt_log_set_level(VT_LOG_ERR);
	TEST_RUN(test_deferred_does_not_spin);
	TEST_RUN(test_stop_drains);
	TEST_RUN(test_adaptive_window);
	TEST_DONE();
}
