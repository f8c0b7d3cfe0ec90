/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The rng device type for vtrustd: option parsing (vt_devcfg), metrics,
 * `vtrustctl status` and control commands. Joins libvtrust-devices; the
 * device logic is the vtrust-rng library (meson.build).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "device.h"
#include "log.h"
#include "registry.h"
#include "rng.h"
#include "vt_rng.h"

#define MS 1000000ull

/* ---- options ------------------------------------------------------------ */

static const char *const rng_known_opts[] = {
    "max_request_bytes",
    "leak",
    "leak_on_save",
    "rate_bytes_per_sec",
    "burst_bytes",
    "rate_requests_per_sec",
    "burst_requests",
    "budget_bytes_per_sec",
    "budget_burst_bytes",
    "privileged",
    "floor_bytes_per_sec",
    "floor_burst_bytes",
    "reseed_bytes",
    "reseed_interval_ms",
    "seed_retry_ms",
    "test_seed_fault",
    "test_seed_fault_after",
    "test_hooks",
    NULL,
};

#define U64(key, def, min, max, dst)                                                               \
	do {                                                                                       \
		if (vt_devcfg_u64(cfg, key, def, min, max, dst) < 0)                               \
			return -EINVAL;                                                            \
	} while (0)
#define BOOL(key, def, dst)                                                                        \
	do {                                                                                       \
		if (vt_devcfg_bool(cfg, key, def, dst) < 0)                                        \
			return -EINVAL;                                                            \
	} while (0)

static uint64_t tenth_or(uint64_t rate, uint64_t min)
{
	return VT_MAX(rate / 10, min);
}

static int parse_opts(const struct vt_devcfg *cfg, struct rng_opts *o)
{
	if (vt_devcfg_check_keys(cfg, rng_known_opts) < 0)
		return -EINVAL;
	memset(o, 0, sizeof(*o));
	uint64_t v;
	U64("max_request_bytes", 65536, 1, 1u << 20, &o->max_request);
	BOOL("leak", true, &o->leak);
	BOOL("leak_on_save", false, &o->leak_on_save);
	U64("rate_bytes_per_sec", 0, 0, RNG_BUCKET_MAX_RATE, &o->rate_bytes);
	U64("burst_bytes", tenth_or(o->rate_bytes, o->max_request), 1, RNG_BUCKET_MAX_BURST,
	    &o->burst_bytes);
	U64("rate_requests_per_sec", 0, 0, RNG_BUCKET_MAX_RATE, &o->rate_requests);
	U64("burst_requests", tenth_or(o->rate_requests, 1), 1, RNG_BUCKET_MAX_BURST,
	    &o->burst_requests);
	struct rng_budget_opts *b = &o->budget;
	b->set = vt_devcfg_get(cfg, "budget_bytes_per_sec") != NULL;
	U64("budget_bytes_per_sec", 0, 0, RNG_BUCKET_MAX_RATE, &b->rate);
	U64("budget_burst_bytes", tenth_or(b->rate, o->max_request), 1, RNG_BUCKET_MAX_BURST,
	    &b->burst);
	BOOL("privileged", false, &b->privileged);
	U64("floor_bytes_per_sec", 0, 0, RNG_BUCKET_MAX_RATE, &b->floor_rate);
	U64("floor_burst_bytes", tenth_or(b->floor_rate, o->max_request), 1, RNG_BUCKET_MAX_BURST,
	    &b->floor_burst);
	if (b->floor_rate && !b->privileged) {
		return vt_devcfg_error(cfg, "floor_bytes_per_sec", "needs privileged = true", NULL);
	}
	U64("reseed_bytes", 16u << 20, 4096, 1ull << 40, &o->reseed_bytes);
	U64("reseed_interval_ms", 60000, 0, 86400000, &v);
	o->reseed_ns = v * MS;
	U64("seed_retry_ms", 1000, 1, 3600000, &v);
	o->retry_ns = v * MS;
	const char *fault = vt_devcfg_get(cfg, "test_seed_fault");
	if (fault && rng_seed_fault_parse(fault, &o->fault) < 0) {
		return vt_devcfg_error(cfg, "test_seed_fault", "invalid value",
				       "none, error, stuck, biased");
	}
	U64("test_seed_fault_after", 0, 0, UINT64_MAX, &o->fault_after);
	BOOL("test_hooks", false, &o->test_hooks);
	return 0;
}

static int rng_check(const struct vt_devcfg *cfg)
{
	struct rng_opts o;
	return parse_opts(cfg, &o);
}

static int rng_create(const struct vt_devcfg *cfg, void **ret)
{
	struct rng_opts o;
	if (parse_opts(cfg, &o) < 0)
		return -EINVAL;
	struct rng_dev *d;
	int e = rng_dev_new(cfg->name, &o, &d);
	if (e < 0)
		return e;
	*ret = d;
	return 0;
}

static void rng_destroy(void *priv)
{
	rng_dev_free(priv);
}

static void rng_attach(void *priv, struct vt_device *dev)
{
	rng_dev_attach(priv, dev);
}

/* ---- metrics / status / control ----------------------------------------- */

static void rng_metrics(void *priv, vt_metric_fn fn, void *ctx)
{
	struct rng_dev *d = priv;
	struct rng_drbg_stats *g = &d->drbg->stats;
	struct rng_leak_stats *l = &d->leak.stats;
#define C(name, v, help) fn(ctx, name, NULL, (double)atomic_load(&(v)), help, "counter")
	C("rng_requests_total", d->stats.requests, "requestq chains completed with random bytes");
	C("rng_bytes_total", d->stats.bytes, "random bytes written to requestq buffers");
	C("rng_malformed_total", d->stats.malformed,
	  "requestq chains completed with len 0 (no writable bytes, readable after writable)");
	fn(ctx, "rng_throttled_total", "reason=\"bytes\"",
	   (double)atomic_load(&d->stats.throttled_bytes), "requests deferred by a limit",
	   "counter");
	fn(ctx, "rng_throttled_total", "reason=\"requests\"",
	   (double)atomic_load(&d->stats.throttled_requests), "requests deferred by a limit",
	   "counter");
	fn(ctx, "rng_throttled_total", "reason=\"budget\"",
	   (double)atomic_load(&d->stats.throttled_budget), "requests deferred by a limit",
	   "counter");
	C("rng_degraded_waits_total", d->stats.degraded_waits,
	  "requests deferred because the generator is degraded");
	fn(ctx, "rng_degraded", NULL, rng_drbg_degraded(d->drbg) ? 1 : 0,
	   "1 while seeding or a health test failed: nothing is served", "gauge");
	C("rng_degraded_events_total", g->degraded_events, "transitions into the degraded state");
	C("rng_health_failures_total", g->health_failures,
	  "seed draws rejected by the repetition-count or adaptive-proportion test");
	C("rng_seed_failures_total", g->seed_failures, "getrandom() seed draws that failed");
	C("rng_drbg_failures_total", g->drbg_failures, "EVP_RAND errors");
	C("rng_reseeds_total", g->reseeds, "(re)seeds of the CTR-DRBG from a fresh seed");
	C("rng_drbg_bytes_total", g->generated, "bytes produced by the CTR-DRBG");
	fn(ctx, "rng_leak_epoch", NULL, (double)rng_leak_epoch(&d->leak),
	   "leak events recorded (control command, DEVICE_STATE load)", "gauge");
	C("rng_leak_fired_total", l->fired, "leak events applied to a leak queue");
	fn(ctx, "rng_leak_buffers_total", "kind=\"fill\"", (double)atomic_load(&l->filled),
	   "leak buffers completed", "counter");
	fn(ctx, "rng_leak_buffers_total", "kind=\"copy\"", (double)atomic_load(&l->copied),
	   "leak buffers completed", "counter");
	C("rng_leak_malformed_total", l->malformed, "leak buffers completed with len 0");
	C("rng_leak_switches_total", l->switches, "active leak queue changes");
	unsigned active;
	bool firing;
	rng_leak_state(&d->leak, &active, &firing);
	fn(ctx, "rng_leak_active_queue", NULL, active, "active leak queue (1 or 2)", "gauge");
	fn(ctx, "rng_leak_last_fill_seconds", NULL, (double)atomic_load(&l->last_fill_ns) / 1e9,
	   "last leak event: recorded -> buffers used and call signalled", "gauge");
	fn(ctx, "rng_privileged", NULL, d->o.budget.privileged ? 1 : 0,
	   "1 for the privileged lane (own generator, reserved floor)", "gauge");
	uint64_t from_floor, from_shared, throttled;
	rng_budget_share_stats(d->share, &from_floor, &from_shared, &throttled);
	fn(ctx, "rng_budget_bytes_total", "pool=\"floor\"", (double)from_floor,
	   "bytes charged to the process-wide budget", "counter");
	fn(ctx, "rng_budget_bytes_total", "pool=\"shared\"", (double)from_shared,
	   "bytes charged to the process-wide budget", "counter");
#undef C
}

static void rng_status(void *priv, struct json_object *out)
{
	struct rng_dev *d = priv;
	bool degraded = rng_drbg_degraded(d->drbg);
	json_object_object_add(out, "state", json_object_new_string(degraded ? "degraded" : "ok"));
	if (degraded) {
		char reason[128];
		rng_drbg_reason(d->drbg, reason, sizeof(reason));
		json_object_object_add(out, "reason", json_object_new_string(reason));
	}
	json_object_object_add(out, "privileged", json_object_new_boolean(d->o.budget.privileged));
	json_object_object_add(out, "requests",
			       json_object_new_int64((int64_t)atomic_load(&d->stats.requests)));
	json_object_object_add(out, "bytes",
			       json_object_new_int64((int64_t)atomic_load(&d->stats.bytes)));
	struct json_object *lk = json_object_new_object();
	unsigned active;
	bool firing;
	rng_leak_state(&d->leak, &active, &firing);
	bool negotiated = atomic_load(&d->features) & VT_BIT(VIRTIO_RNG_F_LEAK);
	json_object_object_add(lk, "offered", json_object_new_boolean(d->o.leak));
	json_object_object_add(lk, "negotiated", json_object_new_boolean(d->o.leak && negotiated));
	json_object_object_add(lk, "active",
			       json_object_new_string(active == 1 ? "leakq1" : "leakq2"));
	json_object_object_add(lk, "firing", json_object_new_boolean(firing));
	json_object_object_add(lk, "epoch",
			       json_object_new_int64((int64_t)rng_leak_epoch(&d->leak)));
	json_object_object_add(out, "leak", lk);
	struct json_object *rl = json_object_new_object();
	json_object_object_add(rl, "bytes_per_sec",
			       json_object_new_int64((int64_t)d->o.rate_bytes));
	json_object_object_add(rl, "requests_per_sec",
			       json_object_new_int64((int64_t)d->o.rate_requests));
	struct rng_budget_info bi;
	rng_budget_info(&bi);
	json_object_object_add(rl, "budget_bytes_per_sec", json_object_new_int64((int64_t)bi.rate));
	json_object_object_add(rl, "floor_bytes_per_sec",
			       json_object_new_int64((int64_t)d->share->floor_rate));
	json_object_object_add(out, "limits", rl);
}

static int reply_error(struct json_object *reply, int err, const char *why)
{
	json_object_object_add(reply, "error", json_object_new_string(why));
	return err;
}

static int rng_control(void *priv, const char *command, struct json_object *args,
		       struct json_object *reply)
{
	struct rng_dev *d = priv;
	if (strcmp(command, "leak") == 0) {
		uint64_t epoch = vt_rng_leak(d);
		json_object_object_add(reply, "epoch", json_object_new_int64((int64_t)epoch));
		/* Recorded either way (a driver that negotiates later sees it); say whether one did. */
		bool attached = !d->vdev || atomic_load(&d->vdev->stats.connected);
		bool negotiated = d->o.leak && (atomic_load(&d->features) & VT_BIT(VIRTIO_RNG_F_LEAK));
		json_object_object_add(reply, "delivered",
				       json_object_new_boolean(attached && negotiated));
		if (!attached || !negotiated)
			json_object_object_add(
			    reply, "warning",
			    json_object_new_string(
				!attached ? "no front-end is connected: no guest driver saw this event"
				: !d->o.leak
				    ? "leak queues are off (leak = false): no guest driver saw this event"
				    : "the connected driver did not negotiate the leak queues "
				      "(VIRTIO_RNG_F_LEAK): no guest driver saw this event"));
		return 0;
	}
	if (strcmp(command, "reseed") == 0) {
		uint64_t retry;
		if (rng_drbg_begin(d->drbg, &retry) < 0)
			return reply_error(reply, -EAGAIN, "generator degraded");
		int e = rng_drbg_reseed(d->drbg, "vtrust-ctl-reseed", 17);
		rng_drbg_end(d->drbg);
		if (e < 0)
			return reply_error(reply, -EIO, "reseed failed: generator degraded");
		json_object_object_add(
		    reply, "reseeds",
		    json_object_new_int64((int64_t)atomic_load(&d->drbg->stats.reseeds)));
		return 0;
	}
	if (strcmp(command, "seed-fault") == 0) {
		if (!d->o.test_hooks)
			return reply_error(reply, -EPERM,
					   "seed-fault needs the option test_hooks=true");
		struct json_object *f = NULL, *a = NULL;
		const char *fault = "none";
		uint64_t after = 0;
		if (args && json_object_object_get_ex(args, "fault", &f))
			fault = json_object_get_string(f);
		if (args && json_object_object_get_ex(args, "after", &a))
			after = (uint64_t)json_object_get_int64(a);
		if (!fault || vt_rng_set_seed_fault(d, fault, after) < 0)
			return reply_error(reply, -EINVAL, "fault: none, error, stuck or biased");
		return 0;
	}
	return -ENOTSUP;
}

const struct vt_device_type vt_rng_device_type = {
    .type = "rng",
    .summary = "entropy device (virtio-rng) with entropy-leak queues, rate limits, "
	       "health-tested CTR-DRBG and a privileged lane",
    .ops = &vt_rng_ops,
    .create = rng_create,
    .check = rng_check,
    .destroy = rng_destroy,
    .metrics = rng_metrics,
    .status = rng_status,
    .control = rng_control,
    .attach = rng_attach,
};
