/* SPDX-License-Identifier: Apache-2.0 */
#include "budget.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "drbg.h"
#include "log.h"

static struct {
	pthread_mutex_t mu;
	bool set;
	uint64_t rate, burst;
	uint64_t floors;
	unsigned members;
	struct rng_bucket shared;
} B = {.mu = PTHREAD_MUTEX_INITIALIZER};
static _Atomic bool B_limited;

bool rng_budget_limited(void)
{
	return atomic_load_explicit(&B_limited, memory_order_relaxed);
}

/* Shared rate from the configuration (lock held). */
static void update_shared(uint64_t now)
{
	atomic_store(&B_limited, B.set && B.rate != 0);
	if (!B.set || B.rate == 0) {
		rng_bucket_set_rate(&B.shared, 0, now);
		return;
	}
	uint64_t r = B.rate - B.floors; /* floors < rate is checked at join */
	if (B.shared.burst == 0 || B.shared.burst != B.burst)
		rng_bucket_init(&B.shared, r, B.burst, now);
	else
		rng_bucket_set_rate(&B.shared, r, now);
}

int rng_budget_join(const char *name, const struct rng_budget_opts *o,
		    struct rng_budget_share **ret)
{
	struct rng_budget_share *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->privileged = o->privileged;
	uint64_t now = vt_now_ns();
	pthread_mutex_lock(&B.mu);
	bool set_here = false;
	if (o->set) {
		if (B.set && (B.rate != o->rate || B.burst != o->burst)) {
			pthread_mutex_unlock(&B.mu);
			vt_err("%s: budget_bytes_per_sec=%" PRIu64 " budget_burst_bytes=%" PRIu64
			       " conflicts with the process-wide budget %" PRIu64 "/%" PRIu64
			       " set by another rng device",
			       name, o->rate, o->burst, B.rate, B.burst);
			free(s);
			return -EINVAL;
		}
		if (!B.set) {
			B.set = set_here = true;
			B.rate = o->rate;
			B.burst = o->burst;
		}
	}
	uint64_t floor = o->privileged ? o->floor_rate : 0;
	if (B.set && B.rate && B.floors + floor >= B.rate) {
		vt_err("%s: the privileged floors (%" PRIu64
		       " B/s) leave nothing of the budget (%" PRIu64 " B/s)",
		       name, B.floors + floor, B.rate);
		if (set_here)
			B.set = false;
		pthread_mutex_unlock(&B.mu);
		free(s);
		return -EINVAL;
	}
	B.floors += floor;
	B.members++;
	s->floor_rate = floor;
	if (floor)
		rng_bucket_init(&s->floor, floor, o->floor_burst ? o->floor_burst : floor, now);
	update_shared(now);
	pthread_mutex_unlock(&B.mu);
	*ret = s;
	return 0;
}

void rng_budget_leave(struct rng_budget_share *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&B.mu);
	B.floors -= s->floor_rate;
	if (--B.members == 0) {
		/* The last device gone: a new configuration may start over (tests). */
		B.set = false;
		B.rate = B.burst = 0;
		memset(&B.shared, 0, sizeof(B.shared));
		atomic_store(&B_limited, false);
	} else {
		update_shared(vt_now_ns());
	}
	pthread_mutex_unlock(&B.mu);
	free(s);
}

/* Takes between need and want from b, or returns 0. */
static uint64_t take(struct rng_bucket *b, uint64_t want, uint64_t need, uint64_t now)
{
	uint64_t avail = rng_bucket_avail(b, now);
	if (need > b->burst)
		need = b->burst;
	if (avail < need)
		return 0;
	uint64_t g = VT_MIN(want, avail);
	rng_bucket_take(b, g);
	return g;
}

uint64_t rng_budget_grant(struct rng_budget_share *s, uint64_t want, uint64_t need, uint64_t now_ns,
			  uint64_t *wait_ns)
{
	pthread_mutex_lock(&B.mu);
	bool limited = B.set && B.rate;
	if (!limited) {
		pthread_mutex_unlock(&B.mu);
		return want;
	}
	uint64_t g = 0;
	if (s->floor_rate) {
		g = take(&s->floor, want, need, now_ns);
		s->from_floor += g;
	}
	if (!g) {
		g = take(&B.shared, want, need, now_ns);
		s->from_shared += g;
	}
	if (!g) {
		uint64_t w = rng_bucket_wait_ns(&B.shared, need);
		if (s->floor_rate)
			w = VT_MIN(w, rng_bucket_wait_ns(&s->floor, need));
		*wait_ns = w ? w : 1000;
		s->throttled++;
	}
	pthread_mutex_unlock(&B.mu);
	return g;
}

void rng_budget_info(struct rng_budget_info *ret)
{
	pthread_mutex_lock(&B.mu);
	ret->rate = B.set ? B.rate : 0;
	ret->shared_rate = B.set && B.rate ? B.rate - B.floors : 0;
	ret->floors = B.floors;
	ret->members = B.members;
	pthread_mutex_unlock(&B.mu);
}

void rng_budget_share_stats(const struct rng_budget_share *s, uint64_t *from_floor,
			    uint64_t *from_shared, uint64_t *throttled)
{
	pthread_mutex_lock(&B.mu);
	*from_floor = s->from_floor;
	*from_shared = s->from_shared;
	*throttled = s->throttled;
	pthread_mutex_unlock(&B.mu);
}
