/* SPDX-License-Identifier: Apache-2.0 */
#include "leak.h"

#include <string.h>

#include "byteorder.h"
#include "drbg.h"
#include "log.h"
#include "request.h"

#define STATE_MAGIC "VTRNGLK1"
#define STATE_VERSION 1u
#define STATE_F_FIRING 0x1u

void rng_leak_init(struct rng_leak *l, size_t cap)
{
	memset(l, 0, sizeof(*l));
	pthread_mutex_init(&l->mu, NULL);
	l->active = RNG_LEAKQ1;
	l->cap = cap;
}

void rng_leak_destroy(struct rng_leak *l)
{
	pthread_mutex_destroy(&l->mu);
}

void rng_leak_set_negotiated(struct rng_leak *l, bool on)
{
	pthread_mutex_lock(&l->mu);
	l->negotiated = on;
	pthread_mutex_unlock(&l->mu);
}

void rng_leak_reset_driver(struct rng_leak *l)
{
	pthread_mutex_lock(&l->mu);
	l->active = RNG_LEAKQ1;
	l->firing = false;
	l->waiting[RNG_LEAKQ1] = l->waiting[RNG_LEAKQ2] = false;
	pthread_mutex_unlock(&l->mu);
}

enum rng_leak_kind rng_leak_classify(const struct vt_chain *c, size_t cap, size_t *ret_len)
{
	size_t rd = vt_chain_readable(c), wr = vt_chain_writable(c);
	*ret_len = 0;
	if (wr == 0 || wr > cap)
		return RNG_LEAK_MALFORMED;
	if (rd == 0) {
		*ret_len = wr;
		return RNG_LEAK_FILL;
	}
	if (rd == wr) {
		*ret_len = wr;
		return RNG_LEAK_COPY;
	}
	return RNG_LEAK_MALFORMED;
}

uint64_t rng_leak_event(struct rng_leak *l)
{
	uint64_t e = rng_leak_record(l);
	pthread_mutex_lock(&l->mu);
	struct vt_queue *a = l->queues[l->active];
	pthread_mutex_unlock(&l->mu);
	if (a)
		vt_queue_wake(a);
	return e;
}

uint64_t rng_leak_record(struct rng_leak *l)
{
	pthread_mutex_lock(&l->mu);
	uint64_t e = ++l->epoch;
	if (l->handled + 1 == l->epoch)
		l->event_ns = vt_now_ns(); /* the oldest unapplied event: latency is from here */
	pthread_mutex_unlock(&l->mu);
	atomic_store(&l->stats.events, e);
	return e;
}

uint64_t rng_leak_epoch(struct rng_leak *l)
{
	pthread_mutex_lock(&l->mu);
	uint64_t e = l->epoch;
	pthread_mutex_unlock(&l->mu);
	return e;
}

void rng_leak_state(struct rng_leak *l, unsigned *active, bool *firing)
{
	pthread_mutex_lock(&l->mu);
	*active = l->active;
	*firing = l->firing;
	pthread_mutex_unlock(&l->mu);
}

/* mu held. */
static void switch_active(struct rng_leak *l, unsigned from, unsigned to, bool firing)
{
	l->active = to;
	l->firing = firing;
	l->waiting[from] = false;
	atomic_fetch_add(&l->stats.switches, 1);
}

/* What the serve loop hands each leak chain. */
struct leak_serve {
	struct rng_leak *l;
	struct rng_drbg *g;
};

static void count_malformed(void *priv, struct vt_queue *q)
{
	(void)q;
	struct leak_serve *ls = priv;
	atomic_fetch_add(&ls->l->stats.malformed, 1);
}

/* One leak buffer: filled with DRBG output or copied, or it waits (degraded DRBG). */
static struct vt_verdict leak_chain(void *priv, struct vt_queue *q, struct vt_chain *c)
{
	struct leak_serve *ls = priv;
	struct rng_leak *l = ls->l;
	size_t n;
	switch (rng_leak_classify(c, l->cap, &n)) {
	case RNG_LEAK_MALFORMED:
		count_malformed(ls, q);
		return vt_malformed();
	case RNG_LEAK_COPY:
		if (vt_chain_copy(c, n) < 0) {
			count_malformed(ls, q);
			return vt_malformed();
		}
		atomic_fetch_add(&l->stats.copied, 1);
		break;
	case RNG_LEAK_FILL: {
		uint64_t retry;
		if (rng_drbg_begin(ls->g, &retry) < 0)
			return vt_defer(retry);
		int e = rng_fill_chain(ls->g, c, n);
		rng_drbg_end(ls->g);
		if (e < 0)
			return vt_defer(ls->g->cfg.retry_ns);
		atomic_fetch_add(&l->stats.filled, 1);
		break;
	}
	}
	atomic_fetch_add(&l->stats.bytes, n);
	return vt_used(n);
}

static const struct vt_server leak_server = {
	.chain = leak_chain,
	.malformed = count_malformed,
};

/* Reseeds for a newly applied event (mixing the epoch). <0: degraded, retry later. */
static int reseed_for_event(struct rng_drbg *g, struct vt_queue *q, uint64_t epoch)
{
	uint64_t retry;
	if (rng_drbg_reseed_for_event(g, epoch, &retry) < 0) {
		vt_queue_defer(q, retry);
		return -EAGAIN;
	}
	return 0;
}

/*
 * The queue handler proper, on q's worker or through vt_queue_try_run
 * (rng_leak_deliver); the core makes deferral a no-op off the worker.
 */
static void handle(struct rng_leak *l, struct rng_drbg *g, struct vt_queue *q)
{
	unsigned me = vt_queue_index(q);
	if (me != RNG_LEAKQ1 && me != RNG_LEAKQ2)
		return;
	unsigned other = RNG_LEAKQ1 + RNG_LEAKQ2 - me;
	struct vt_queue *wake = NULL;

	pthread_mutex_lock(&l->mu);
	if (!l->negotiated) {
		/* Without VIRTIO_RNG_F_LEAK the leak queues do not exist: never used. */
		pthread_mutex_unlock(&l->mu);
		vt_queue_defer(q, 0);
		return;
	}
	if (me != l->active) {
		/* Inactive: buffers wait; tell the active queue they exist. */
		bool has = vt_queue_enable_notify(q);
		l->waiting[me] = has;
		if (has)
			vt_queue_defer(q, 0); /* they wait: no busy-polling on them */
		if ((has && l->firing) || l->epoch != l->handled)
			wake = l->queues[l->active];
		pthread_mutex_unlock(&l->mu);
		if (wake)
			vt_queue_wake(wake);
		return;
	}
	uint64_t ev_ns = 0, prev_handled = l->handled;
	/* A guest flipping its avail index must not keep us here holding l->mu (the
	 * control thread takes it too): a few re-checks, then wait for its kick. */
	unsigned rechecks = 0;
	while (l->epoch != l->handled) {
		if (l->firing && !vt_queue_has_avail(q)) {
			/*
			 * Nothing to use here. If the switch is due, complete it and let the
			 * event fire the new queue; otherwise the event stays pending until
			 * either queue has buffers, so a driver never misses it.
			 */
			if (l->waiting[other]) {
				switch_active(l, me, other, true);
				wake = l->queues[other];
			} else if (vt_queue_enable_notify(q) && ++rechecks <= 4) {
				continue; /* buffers arrived meanwhile: use them */
			}
			/* After the re-checks ran out, retry from the timer in 1 ms. */
			vt_queue_defer(q, rechecks > 4 ? 1000000 : 0);
			pthread_mutex_unlock(&l->mu);
			if (wake)
				vt_queue_wake(wake);
			return;
		}
		l->handled = l->epoch;
		ev_ns = l->event_ns;
		l->firing = true;
	}
	bool firing = l->firing;
	uint64_t epoch = l->handled;
	pthread_mutex_unlock(&l->mu);

	if (!firing) {
		/* Parked buffers wait for an event (no busy-polling on them). */
		if (vt_queue_enable_notify(q))
			vt_queue_defer(q, 0);
		return;
	}
	if (ev_ns) {
		if (reseed_for_event(g, q, epoch) < 0) {
			/* Degraded: nothing is used until a healthy reseed; the timer retries. */
			pthread_mutex_lock(&l->mu);
			if (l->handled == epoch)
				l->handled = prev_handled;
			pthread_mutex_unlock(&l->mu);
			return;
		}
		atomic_fetch_add(&l->stats.fired, 1);
	}

	struct leak_serve ls = {.l = l, .g = g};
	bool stopped = vt_queue_serve(q, &leak_server, &ls) < 0;

	if (ev_ns && !stopped)
		atomic_store(&l->stats.last_fill_ns, vt_now_ns() - ev_ns);
	if (stopped)
		return;
	/* Empty now: switch if the other queue has buffers (and no event is pending). */
	pthread_mutex_lock(&l->mu);
	if (l->active == me && l->firing && l->epoch == l->handled && l->waiting[other])
		switch_active(l, me, other, false);
	pthread_mutex_unlock(&l->mu);
}

void rng_leak_handle(struct rng_leak *l, struct rng_drbg *g, struct vt_queue *q)
{
	handle(l, g, q);
}

struct delivery {
	struct rng_leak *l;
	struct rng_drbg *g;
};

/* Through vt_queue_try_run: the queue is servable; is it ours to serve (queue_start ran)? */
static bool deliver_on(void *ctx, struct vt_queue *q)
{
	struct delivery *dv = ctx;
	if (!dv->l->running[vt_queue_index(q)])
		return false; /* stopped rings wait for the restart */
	handle(dv->l, dv->g, q);
	return true;
}

void rng_leak_deliver(struct rng_leak *l, struct rng_drbg *g)
{
	/* Twice at most: the first pass may complete a due switch to the other queue. */
	for (int pass = 0; pass < 2; pass++) {
		pthread_mutex_lock(&l->mu);
		struct vt_queue *q =
		    l->negotiated && l->epoch != l->handled ? l->queues[l->active] : NULL;
		pthread_mutex_unlock(&l->mu);
		if (!q)
			return;
		/* Servable as the worker checks it, and running (our queue_start/stop); a busy
		 * worker is woken instead and may have missed the event. */
		struct delivery dv = {.l = l, .g = g};
		if (vt_queue_try_run(q, deliver_on, &dv) != 1)
			return;
	}
}

void rng_leak_queue_running(struct rng_leak *l, struct vt_queue *q, bool running)
{
	unsigned qi = vt_queue_index(q);
	if (qi != RNG_LEAKQ1 && qi != RNG_LEAKQ2)
		return;
	vt_queue_lock(q); /* waits for a delivery in progress on another thread */
	l->running[qi] = running;
	vt_queue_unlock(q);
}

void rng_leak_save(struct rng_leak *l, uint8_t out[RNG_LEAK_STATE_SIZE])
{
	pthread_mutex_lock(&l->mu);
	unsigned active = l->active;
	bool firing = l->firing;
	uint64_t epoch = l->epoch;
	pthread_mutex_unlock(&l->mu);
	memcpy(out, STATE_MAGIC, 8);
	vt_put_le32(out + 8, STATE_VERSION);
	vt_put_le32(out + 12, firing ? STATE_F_FIRING : 0);
	vt_put_le32(out + 16, active);
	vt_put_le32(out + 20, 0);
	vt_put_le32(out + 24, (uint32_t)epoch);
	vt_put_le32(out + 28, (uint32_t)(epoch >> 32));
}

int rng_leak_parse_state(const uint8_t *buf, size_t len, struct rng_leak_saved *ret)
{
	if (len != RNG_LEAK_STATE_SIZE)
		return -EINVAL;
	bool magic_ok = true;
	for (int i = 0; i < 8; i++)
		magic_ok &= buf[i] == (uint8_t)STATE_MAGIC[i];
	if (!magic_ok || vt_get_le32(buf + 8) != STATE_VERSION)
		return -EINVAL;
	uint32_t flags = vt_get_le32(buf + 12), active = vt_get_le32(buf + 16);
	if ((flags & ~STATE_F_FIRING) || (active != RNG_LEAKQ1 && active != RNG_LEAKQ2) ||
	    vt_get_le32(buf + 20) != 0)
		return -EINVAL;
	ret->active = active;
	ret->firing = flags & STATE_F_FIRING;
	ret->epoch = (uint64_t)vt_get_le32(buf + 24) | (uint64_t)vt_get_le32(buf + 28) << 32;
	if (ret->epoch == UINT64_MAX)
		return -EINVAL;
	return 0;
}

int rng_leak_load(struct rng_leak *l, const uint8_t *buf, size_t len)
{
	struct rng_leak_saved s = {0};
	bool have = len > 0;
	if (have && rng_leak_parse_state(buf, len, &s) < 0)
		return -EINVAL;
	pthread_mutex_lock(&l->mu);
	if (have) {
		l->active = s.active;
		l->firing = s.firing;
		if (s.epoch > l->epoch)
			l->epoch = s.epoch;
	}
	l->handled = l->epoch; /* older events merge into this one */
	l->waiting[RNG_LEAKQ1] = l->waiting[RNG_LEAKQ2] = false;
	pthread_mutex_unlock(&l->mu);
	(void)rng_leak_event(l);
	return 0;
}
