/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A mock guest driving one rng device without sockets: the device's queues
 * (a real struct vt_device made with vt_device_new, never connected) are
 * attached to driver-side rings in a mock guest (core/tests/mock_guest.h);
 * the tests play the guest driver and call the queue handlers the way a
 * worker would (fx_serve), or run them on threads (test_flood.c).
 */
#ifndef VTRUST_RNG_TEST_FIXTURE_H
#define VTRUST_RNG_TEST_FIXTURE_H

#include <poll.h>
#include <string.h>
#include <sys/timerfd.h>

#include "device.h"
#include "mock_guest.h"
#include "rng.h"
#include "test_util.h"
#include "vt_rng.h"

#define FX_QSIZE 64u

struct fx {
	struct mock_guest g;
	struct mock_ring r[3];
	uint16_t next_desc[3];
	struct rng_dev *d;
	struct vt_device *vd;
	unsigned nq;
};

static inline void fx_init(struct fx *f, const struct rng_opts *o, uint64_t features)
{
	memset(f, 0, sizeof(*f));
	mock_guest_init(&f->g);
	if (rng_dev_new("rng-test", o, &f->d) < 0)
		abort();
	f->vd = vt_device_new("rng-test", &vt_rng_ops, f->d);
	if (!f->vd)
		abort();
	f->vd->manual_queues = true;
	rng_dev_attach(f->d, f->vd);
	f->nq = f->vd->nqueues;
	for (unsigned i = 0; i < f->nq; i++) {
		struct vt_queue *q = &f->vd->queues[i];
		q->mem = &f->g.mem;
		mock_ring_init(&f->r[i], &f->g, FX_QSIZE);
		mock_ring_attach(&f->r[i], q);
		vt_rng_ops.queue_start(f->d, q);
	}
	vt_rng_ops.set_features(f->d, features);
}

static inline void fx_free(struct fx *f)
{
	for (unsigned i = 0; i < f->nq; i++)
		f->vd->queues[i].mem = &f->vd->mem;
	vt_device_free(f->vd);
	rng_dev_free(f->d);
	mock_guest_free(&f->g);
}

static inline struct vt_queue *fx_q(struct fx *f, unsigned i)
{
	return &f->vd->queues[i];
}

static inline void fx_serve(struct fx *f, unsigned i)
{
	struct vt_queue *q = fx_q(f, i);
	pthread_mutex_lock(&q->lock);
	vt_rng_ops.queue_handle(f->d, q);
	pthread_mutex_unlock(&q->lock);
}

/* Every queue, a few rounds: what the workers would do after kicks and wake-ups. */
static inline void fx_pump(struct fx *f)
{
	for (int round = 0; round < 4; round++)
		for (unsigned i = 0; i < f->nq; i++)
			fx_serve(f, i);
}

/* Guest buffer of len bytes filled with a canary byte. */
static inline uint64_t fx_buf(struct fx *f, uint32_t len, uint8_t canary)
{
	uint64_t a = mock_alloc(&f->g, len ? len : 1, 64);
	memset(mock_gpa(&f->g, a), canary, len);
	return a;
}

/* Adds a chain of n segments on queue i; returns its head. */
static inline uint16_t fx_add(struct fx *f, unsigned i, unsigned n, const uint64_t *addr,
			      const uint32_t *len, const bool *w)
{
	uint16_t first = f->next_desc[i];
	if (first + n > FX_QSIZE)
		first = 0;
	f->next_desc[i] = (uint16_t)(first + n);
	return mock_chain(&f->r[i], first, n, addr, len, w);
}

static inline uint16_t fx_add_fill(struct fx *f, unsigned i, uint64_t buf, uint32_t len)
{
	bool w = true;
	return fx_add(f, i, 1, &buf, &len, &w);
}

static inline uint16_t fx_add_copy(struct fx *f, unsigned i, uint64_t src, uint64_t dst,
				   uint32_t len)
{
	uint64_t a[2] = {src, dst};
	uint32_t l[2] = {len, len};
	bool w[2] = {false, true};
	return fx_add(f, i, 2, a, l, w);
}

static inline uint16_t fx_used(struct fx *f, unsigned i)
{
	return __atomic_load_n(&f->r[i].used->idx, __ATOMIC_ACQUIRE);
}

static inline struct vring_used_elem fx_used_elem(struct fx *f, unsigned i, uint16_t k)
{
	return f->r[i].used->ring[k % f->r[i].num];
}

static inline bool fx_timer_armed(struct fx *f, unsigned i)
{
	struct itimerspec its;
	if (timerfd_gettime(fx_q(f, i)->timer_fd, &its) < 0)
		return false;
	return its.it_value.tv_sec || its.it_value.tv_nsec;
}

static inline bool all_bytes(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

#endif
