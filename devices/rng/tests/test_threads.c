/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The rng device under its real threads (also run under TSan, suite tsan):
 * queue workers for requestq, leakq1 and leakq2, a guest driver thread
 * flooding requestq, the leak-queue driver (this thread) parking buffers
 * and moving between the leak queues, a "control" thread firing leak events
 * (vt_rng_leak, as vtrustctl does) and a reader polling state as metrics
 * and status do. Every parked buffer must be used by exactly its event,
 * no two fills equal, and requestq keeps serving throughout.
 */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/eventfd.h>

#include "fixture.h"
#include "log.h"

#define EVENTS 40
#define PARK 8

struct world {
	struct fx f;
	_Atomic bool done;
	_Atomic uint64_t req_done;
	_Atomic unsigned fire; /* events requested from the control thread */
	_Atomic unsigned fired;
	uint64_t req_bufs[16]; /* allocated before the threads start (mock_alloc is not locked) */
};

static void kick(struct vt_queue *q)
{
	uint64_t one = 1;
	if (write(q->kick_fd, &one, 8) != 8)
		abort();
}

static bool wait_used(struct fx *f, unsigned qi, uint16_t want, int ms)
{
	struct vt_queue *q = fx_q(f, qi);
	for (int waited = 0; waited < ms;) {
		if ((int16_t)(fx_used(f, qi) - want) >= 0)
			return true;
		struct pollfd p = {.fd = q->call_fd, .events = POLLIN};
		if (poll(&p, 1, 5) == 1) {
			uint64_t v;
			if (read(q->call_fd, &v, 8) < 0)
				continue;
		} else {
			waited += 5;
		}
	}
	return (int16_t)(fx_used(f, qi) - want) >= 0;
}

static void *request_driver(void *arg)
{
	struct world *w = arg;
	struct fx *f = &w->f;
	const uint64_t *bufs = w->req_bufs;
	uint16_t expect = 0;
	while (!atomic_load(&w->done)) {
		for (uint16_t i = 0; i < 16; i++) {
			mock_desc(&f->r[0], i, bufs[i], 64, VRING_DESC_F_WRITE, 0);
			mock_avail(&f->r[0], i);
		}
		expect = (uint16_t)(expect + 16);
		kick(fx_q(f, 0));
		if (!wait_used(f, 0, expect, 2000))
			abort();
		atomic_fetch_add(&w->req_done, 16);
	}
	return NULL;
}

static void *control(void *arg)
{
	struct world *w = arg;
	while (!atomic_load(&w->done)) {
		if (atomic_load(&w->fire) > atomic_load(&w->fired)) {
			vt_rng_leak(w->f.d);
			atomic_fetch_add(&w->fired, 1);
		}
		sched_yield();
	}
	return NULL;
}

static void *reader(void *arg)
{
	struct world *w = arg;
	while (!atomic_load(&w->done)) {
		unsigned a;
		bool firing;
		rng_leak_state(&w->f.d->leak, &a, &firing);
		char why[128];
		rng_drbg_reason(w->f.d->drbg, why, sizeof(why));
		(void)vt_rng_leak_epoch(w->f.d);
		(void)vt_rng_degraded(w->f.d);
		(void)vt_rng_last_leak_latency_ns(w->f.d);
		sched_yield();
	}
	return NULL;
}

static void test_threads(void)
{
	static struct world w;
	struct rng_opts o;
	rng_opts_defaults(&o);
	o.reseed_bytes = 65536; /* reseeds under load too */
	fx_init(&w.f, &o, VT_BIT(VIRTIO_RNG_F_LEAK));
	struct fx *f = &w.f;
	for (unsigned i = 0; i < 3; i++) {
		struct vt_queue *q = fx_q(f, i);
		q->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		q->call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		CHECK_EQ(vt_queue_start_worker(q), 0);
	}
	static uint64_t fills[EVENTS][PARK];
	for (unsigned i = 0; i < 16; i++)
		w.req_bufs[i] = fx_buf(f, 64, 0);
	for (unsigned e = 0; e < EVENTS; e++)
		for (unsigned i = 0; i < PARK; i++)
			fills[e][i] = fx_buf(f, 64, 0);
	pthread_t t[3];
	pthread_create(&t[0], NULL, request_driver, &w);
	pthread_create(&t[1], NULL, control, &w);
	pthread_create(&t[2], NULL, reader, &w);

	unsigned q = 1;
	uint16_t used_before[3] = {0};
	for (unsigned e = 0; e < EVENTS; e++) {
		for (unsigned i = 0; i < PARK; i++) {
			uint16_t d = (uint16_t)((e / 2 * PARK + i) % FX_QSIZE);
			mock_desc(&f->r[q], d, fills[e][i], 64, VRING_DESC_F_WRITE, 0);
			mock_avail(&f->r[q], d);
		}
		kick(fx_q(f, q));
		/* They wait until the event. */
		CHECK(!wait_used(f, q, (uint16_t)(used_before[q] + 1), 10));
		atomic_fetch_add(&w.fire, 1);
		CHECK(wait_used(f, q, (uint16_t)(used_before[q] + PARK), 3000));
		used_before[q] = (uint16_t)(used_before[q] + PARK);
		q = 3 - q; /* the driver moves on */
	}
	atomic_store(&w.done, true);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	for (unsigned i = 0; i < 3; i++)
		vt_queue_stop_worker(fx_q(f, i));
	CHECK(atomic_load(&w.req_done) > 0);
	CHECK_EQ(atomic_load(&f->d->leak.stats.filled), EVENTS * PARK);
	CHECK_EQ(vt_rng_leak_epoch(f->d), EVENTS);
	for (unsigned a = 0; a < EVENTS * PARK; a++) {
		CHECK(!all_bytes(mock_gpa(&f->g, fills[a / PARK][a % PARK]), 64, 0));
		for (unsigned b = a + 1; b < EVENTS * PARK; b++)
			CHECK(memcmp(mock_gpa(&f->g, fills[a / PARK][a % PARK]),
				     mock_gpa(&f->g, fills[b / PARK][b % PARK]), 64) != 0);
	}
	printf("requestq served %llu requests meanwhile\n",
	       (unsigned long long)atomic_load(&w.req_done));
	fx_free(f);
}

int main(void)
{
	vt_guestmem_set_prefault(false);
	vt_log_set_level(VT_LOG_ERR - 1);
	TEST_RUN(test_threads);
	TEST_DONE();
}
