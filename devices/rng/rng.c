/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The rng device: ops callbacks, creation from parsed options, and the plain
 * C entry points (vt_rng.h). Options, metrics, status and control are in
 * type.c. Behaviour is described in README.md.
 */
#include "rng.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "request.h"
#include "vt_rng.h"

#define STATE_READ_MAX 4096u

/* ---- ops ---------------------------------------------------------------- */

static uint64_t rng_get_features(void *priv)
{
	struct rng_dev *d = priv;
	return d->o.leak ? VT_BIT(VIRTIO_RNG_F_LEAK) : 0;
}

static uint16_t rng_num_queues(void *priv)
{
	struct rng_dev *d = priv;
	return d->o.leak ? 3 : 1;
}

static void rng_set_features(void *priv, uint64_t features)
{
	struct rng_dev *d = priv;
	atomic_store(&d->features, features);
	rng_leak_set_negotiated(&d->leak, d->o.leak && (features & VT_BIT(VIRTIO_RNG_F_LEAK)));
}

static void rng_queue_start(void *priv, struct vt_queue *q)
{
	struct rng_dev *d = priv;
	/* A fresh leakq1 ring means the driver (re)initialised the device. */
	if (vt_queue_index(q) == RNG_LEAKQ1 && vt_queue_fresh(q))
		rng_leak_reset_driver(&d->leak);
	rng_leak_queue_running(&d->leak, q, true);
}

static void rng_queue_stop(void *priv, struct vt_queue *q)
{
	struct rng_dev *d = priv;
	/* Before the core resets the ring or unmaps guest memory: no delivery from now on. */
	rng_leak_queue_running(&d->leak, q, false);
}

static void rng_queue_handle(void *priv, struct vt_queue *q)
{
	struct rng_dev *d = priv;
	if (vt_queue_index(q) == 0)
		rng_request_handle(d, q);
	else
		rng_leak_handle(&d->leak, d->drbg, q);
}

/* Right after an event: reseed now, overlapping the leak worker's wake-up. */
static void reseed_early(struct rng_dev *d, uint64_t epoch)
{
	uint64_t retry;
	(void)!rng_drbg_reseed_for_event(d->drbg, epoch, &retry); /* the worker retries */
}

static int rng_save_state(void *priv, int fd)
{
	struct rng_dev *d = priv;
	uint8_t blob[RNG_LEAK_STATE_SIZE];
	rng_leak_save(&d->leak, blob);
	int e = vt_state_write(fd, blob, sizeof(blob));
	if (e < 0)
		return e;
	if (d->o.leak_on_save) {
		uint64_t epoch = rng_leak_event(&d->leak);
		reseed_early(d, epoch);
		vt_notice("%s: leak event (state saved), epoch %" PRIu64, d->name, epoch);
	}
	return 0;
}

static int rng_load_state(void *priv, int fd)
{
	struct rng_dev *d = priv;
	uint8_t buf[STATE_READ_MAX];
	size_t len = 0;
	for (;;) {
		if (len == sizeof(buf))
			return -EFBIG;
		ssize_t r = vt_state_read(fd, buf + len, sizeof(buf) - len);
		if (r < 0)
			return (int)r;
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (rng_leak_load(&d->leak, buf, len) < 0) {
		vt_warn("%s: DEVICE_STATE load: not an rng state (%zu bytes)", d->name, len);
		return -EINVAL;
	}
	/* The restore is a leak event: rings are stopped now; the active leak
	 * queue completes its parked buffers when it starts again. */
	reseed_early(d, rng_leak_epoch(&d->leak));
	vt_notice("%s: leak event (state loaded), epoch %" PRIu64, d->name,
		  rng_leak_epoch(&d->leak));
	return 0;
}

const struct vt_device_ops vt_rng_ops = {
    .type = "rng",
    .virtio_id = VIRTIO_ID_RNG,
    .get_features = rng_get_features,
    .num_queues = rng_num_queues,
    .max_queue_size = RNG_MAX_QUEUE_SIZE,
    .set_features = rng_set_features,
    .queue_start = rng_queue_start,
    .queue_stop = rng_queue_stop,
    .queue_handle = rng_queue_handle,
    .save_state = rng_save_state,
    .load_state = rng_load_state,
};

/* ---- create / destroy ---------------------------------------------------- */

void rng_opts_defaults(struct rng_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->max_request = 65536;
	o->leak = true;
	o->burst_bytes = o->max_request;
	o->burst_requests = 1;
	o->budget.burst = o->max_request;
	o->budget.floor_burst = o->max_request;
	o->reseed_bytes = 16u << 20;
	o->reseed_ns = 60000ull * 1000000ull;
	o->retry_ns = 1000ull * 1000000ull;
}

void rng_dev_free(struct rng_dev *d)
{
	if (!d)
		return;
	rng_budget_leave(d->share);
	rng_drbg_free(d->drbg);
	rng_leak_destroy(&d->leak);
	free(d);
}

int rng_dev_new(const char *name, const struct rng_opts *opts, struct rng_dev **ret)
{
	struct rng_opts o = *opts;
	struct rng_dev *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	snprintf(d->name, sizeof(d->name), "%s", name ? name : "rng");
	d->o = o;
	rng_leak_init(&d->leak, o.max_request);
	int e = rng_budget_join(d->name, &o.budget, &d->share);
	if (e < 0) {
		rng_leak_destroy(&d->leak);
		free(d);
		return e;
	}
	struct rng_drbg_cfg gc = {
	    .name = d->name,
	    .own_libctx = o.budget.privileged,
	    .reseed_bytes = o.reseed_bytes,
	    .reseed_ns = o.reseed_ns,
	    .retry_ns = o.retry_ns,
	    .fault = o.fault,
	    .fault_after = o.fault_after,
	};
	e = rng_drbg_new(&gc, &d->drbg);
	if (e < 0) {
		vt_err("%s: cannot create the CTR-DRBG: %s", d->name, strerror(-e));
		rng_dev_free(d);
		return e;
	}
	rng_limits_init(d);
	vt_info("%s: rng device%s: leak queues %s, max %" PRIu64 " B/request%s", d->name,
		o.budget.privileged ? " (privileged lane)" : "", o.leak ? "offered" : "off",
		o.max_request, rng_drbg_degraded(d->drbg) ? ", DEGRADED (seeding failed)" : "");
	*ret = d;
	return 0;
}

void rng_dev_attach(struct rng_dev *d, struct vt_device *dev)
{
	d->vdev = dev;
	for (unsigned i = RNG_LEAKQ1; i <= RNG_LEAKQ2; i++)
		d->leak.queues[i] = vt_device_queue(dev, i);
}

/* ---- public C API ------------------------------------------------------- */

uint64_t vt_rng_leak(void *priv)
{
	struct rng_dev *d = priv;
	uint64_t epoch = rng_leak_record(&d->leak);
	reseed_early(d, epoch);
	rng_leak_deliver(&d->leak, d->drbg); /* here, or by the worker it wakes */
	vt_notice("%s: leak event (control), epoch %" PRIu64, d->name, epoch);
	return epoch;
}

uint64_t vt_rng_leak_epoch(void *priv)
{
	return rng_leak_epoch(&((struct rng_dev *)priv)->leak);
}

bool vt_rng_degraded(void *priv)
{
	return rng_drbg_degraded(((struct rng_dev *)priv)->drbg);
}

int vt_rng_set_seed_fault(void *priv, const char *fault, uint64_t after)
{
	struct rng_dev *d = priv;
	enum rng_seed_fault f;
	if (rng_seed_fault_parse(fault, &f) < 0)
		return -EINVAL;
	rng_drbg_set_fault(d->drbg, f, after);
	vt_warn("%s: TEST HOOK: seed source fault '%s' after %" PRIu64 " more draws", d->name,
		fault, after);
	return 0;
}

uint64_t vt_rng_last_leak_latency_ns(void *priv)
{
	return atomic_load(&((struct rng_dev *)priv)->leak.stats.last_fill_ns);
}
