/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The rng device's private state, shared by its concept files:
 *   rng.c        ops callbacks, creation, plain C entry points (vt_rng.h)
 *   type.c       vtrustd device type: options, metrics, status, control
 *   request.c    requestq (queue 0)
 *   leak.c       VIRTIO_RNG_F_LEAK leak queues (1, 2) and their state blob
 *   limits.c     per-device token buckets + the process-wide budget
 *   drbg.c       EVP_RAND CTR-DRBG with its seed schedule and output buffer
 *   seed.c       getrandom() seed source with health tests (health.c)
 *   ratelimit.c  the token bucket
 *   budget.c     the process-wide budget and privileged floors
 * See README.md for the behaviour.
 */
#ifndef VTRUST_RNG_RNG_H
#define VTRUST_RNG_RNG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "budget.h"
#include "drbg.h"
#include "leak.h"
#include "ratelimit.h"
#include "device.h"
#include "seed.h"

#define VIRTIO_RNG_F_LEAK 0u
#define RNG_MAX_QUEUE_SIZE 1024u

struct rng_opts {
	uint64_t max_request;		  /* bytes per request / leak buffer */
	bool leak;			  /* offer VIRTIO_RNG_F_LEAK and the two leak queues */
	bool leak_on_save;		  /* a DEVICE_STATE save is a leak event too */
	uint64_t rate_bytes, burst_bytes; /* per device, bytes/s; 0 = unlimited */
	uint64_t rate_requests, burst_requests;
	struct rng_budget_opts budget; /* includes privileged and the floor */
	uint64_t reseed_bytes, reseed_ns, retry_ns;
	enum rng_seed_fault fault;
	uint64_t fault_after;
	bool test_hooks; /* control commands for tests (seed-fault) */
};

struct rng_stats {
	_Atomic uint64_t requests;	     /* requestq chains completed with data */
	_Atomic uint64_t bytes;		     /* requestq bytes written */
	_Atomic uint64_t malformed;	     /* requestq chains completed with len 0 */
	_Atomic uint64_t throttled_bytes;    /* deferrals by the byte bucket */
	_Atomic uint64_t throttled_requests; /* deferrals by the request bucket */
	_Atomic uint64_t throttled_budget;   /* deferrals by the shared budget */
	_Atomic uint64_t degraded_waits;     /* deferrals because the generator is degraded */
};

struct rng_dev {
	char name[64];
	struct rng_opts o;
	struct rng_drbg *drbg;
	struct rng_leak leak;
	/* Per-device buckets: used by the requestq worker only. */
	struct rng_bucket bytes_tb, reqs_tb;
	bool limited; /* a per-device limit applies (the budget is checked apart) */
	struct rng_budget_share *share;
	struct vt_device *vdev; /* from attach; NULL in some tests */
	_Atomic uint64_t features;
	struct rng_stats stats;
};

/* rng.c */
/* The defaults of every option (type.c parses over them; tests start here). */
void rng_opts_defaults(struct rng_opts *o);
int rng_dev_new(const char *name, const struct rng_opts *o, struct rng_dev **ret) VT_MUST_USE;
void rng_dev_free(struct rng_dev *d); /* accepts NULL */
/* Keeps the leak queues of dev for wake-ups (the device type's attach hook). */
void rng_dev_attach(struct rng_dev *d, struct vt_device *dev);

/* limits.c: between 1 and want bytes granted and charged, or 0 and *wait_ns. */
size_t rng_limits_grant(struct rng_dev *d, size_t want, uint64_t *wait_ns);
void rng_limits_init(struct rng_dev *d);

extern const struct vt_device_ops vt_rng_ops;

#endif
