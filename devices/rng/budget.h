/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The process-wide host-entropy budget shared by all rng devices of one
 * vtrustd, and the privileged lane's reserved floor.
 *
 * One token bucket (bytes) is shared by every unprivileged rng device. Its
 * rate is the global budget minus the floors reserved by privileged
 * devices, so unprivileged consumers together can never take a privileged
 * device's floor. A privileged device draws first from its own floor
 * bucket (refilled at floor rate, touched by nobody else) and only then
 * from the shared bucket; it is therefore never throttled below its floor
 * by the others, and may use spare shared capacity above it.
 *
 * The budget is configured by the options budget_bytes_per_sec and
 * budget_burst_bytes on any rng device; every device that sets them must
 * agree. Without a budget the shared pool is unlimited (per-device limits
 * still apply) and floors have nothing to be reserved from.
 */
#ifndef VTRUST_RNG_BUDGET_H
#define VTRUST_RNG_BUDGET_H

#include <stdbool.h>
#include <stdint.h>

#include "compiler.h"
#include "ratelimit.h"

struct rng_budget_share {
	bool privileged;
	uint64_t floor_rate;
	struct rng_bucket floor; /* privileged only; under the budget lock */
	uint64_t from_floor;	 /* bytes granted from the floor bucket */
	uint64_t from_shared;	 /* bytes granted from the shared bucket */
	uint64_t throttled;	 /* grants refused */
};

struct rng_budget_opts {
	bool set;	/* budget_bytes_per_sec given on this device */
	uint64_t rate;	/* bytes/s, 0 = unlimited */
	uint64_t burst; /* bytes */
	bool privileged;
	uint64_t floor_rate;  /* bytes/s reserved (privileged only) */
	uint64_t floor_burst; /* bytes */
};

/* -EINVAL (logged) on a conflicting budget or floors that exceed it. */
int rng_budget_join(const char *name, const struct rng_budget_opts *o,
		    struct rng_budget_share **ret) VT_MUST_USE;
void rng_budget_leave(struct rng_budget_share *s);

/* True while a process-wide budget is configured (lock-free fast path). */
bool rng_budget_limited(void);

/*
 * Grants between need and want bytes (need ≤ want) and charges them, or 0
 * and *wait_ns (> 0) when fewer than need are available.
 */
uint64_t rng_budget_grant(struct rng_budget_share *s, uint64_t want, uint64_t need, uint64_t now_ns,
			  uint64_t *wait_ns);

/* Snapshot for metrics. */
struct rng_budget_info {
	uint64_t rate, shared_rate, floors;
	unsigned members;
};
void rng_budget_info(struct rng_budget_info *ret);
/* Copy of a share's counters (taken under the budget lock). */
void rng_budget_share_stats(const struct rng_budget_share *s, uint64_t *from_floor,
			    uint64_t *from_shared, uint64_t *throttled);

#endif
