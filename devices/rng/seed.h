/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The seed source: getrandom(GRND_NONBLOCK) bytes, each draw passed through
 * the continuous health tests (health.h) before anyone may use it.
 *
 * A draw never blocks: a kernel pool that is not yet initialised (EAGAIN),
 * any other error or short read, and any health-test failure make the draw
 * fail, and the bytes are wiped. After a failure the start-up test runs
 * again before the next draw can succeed.
 *
 * Fault injection (tests only; option `test_seed_fault`): after
 * `fault_after` successful draws the source starts to misbehave:
 *   error   getrandom() "fails" (EIO)
 *   stuck   returns one constant byte (the RCT must catch it)
 *   biased  returns bytes from an 8-symbol alphabet (the APT must catch it)
 */
#ifndef VTRUST_RNG_SEED_H
#define VTRUST_RNG_SEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"
#include "health.h"

#define RNG_SEED_MAX_DRAW 256u

enum rng_seed_fault {
	RNG_SEED_FAULT_NONE,
	RNG_SEED_FAULT_ERROR,
	RNG_SEED_FAULT_STUCK,
	RNG_SEED_FAULT_BIASED,
};

struct rng_seed {
	struct rng_health health;
	bool started; /* start-up test passed since the last failure */
	enum rng_seed_fault fault;
	uint64_t fault_after;
	uint64_t draws;		  /* successful draws */
	uint64_t source_failures; /* getrandom errors */
	uint64_t health_failures; /* RCT or APT failures */
	uint64_t fault_state;	  /* PRNG state for the biased fault */
	const char *last_error;	  /* static string */
};

void rng_seed_init(struct rng_seed *s, enum rng_seed_fault fault, uint64_t fault_after);
/*
 * Fills out with n (≤ RNG_SEED_MAX_DRAW) health-tested bytes. 0, -EIO (the
 * source failed) or -EBADMSG (a health test failed); on failure out is wiped
 * and s->last_error says why.
 */
int rng_seed_draw(struct rng_seed *s, uint8_t *out, size_t n) VT_MUST_USE;
/* "none", "error", "stuck", "biased". */
int rng_seed_fault_parse(const char *s, enum rng_seed_fault *ret) VT_MUST_USE;
const char *rng_seed_fault_name(enum rng_seed_fault f);

#endif
