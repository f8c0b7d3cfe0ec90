/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host DRBG of one rng device: OpenSSL 3 EVP_RAND CTR-DRBG (AES-256,
 * derivation function), seeded and reseeded from the health-tested seed
 * source (seed.h), plus a small output buffer.
 *
 * Seeding: instantiate (OpenSSL mixes its own OS entropy and our
 * personalisation string), then an immediate reseed whose entropy input is
 * 48 health-tested getrandom() bytes drawn by seed.c. Every reseed_bytes
 * of output or reseed_ns of time, and on every leak event, another 48-byte
 * seed is drawn and mixed in the same way (EVP_RAND_reseed with explicit
 * entropy). OpenSSL's own request and time based reseeds are switched off:
 * the schedule is ours, so that every reseed passes the health tests.
 *
 * Output buffer: EVP_RAND_generate costs ~0.6 µs per call on top of the
 * AES-CTR keystream (~0.15 µs per KiB here), so small requests are served
 * from a 16 KiB buffer filled by one generate call; consumed bytes are
 * wiped at once. Spans of 16 KiB or more are generated straight into the
 * destination, one call per max_request (64 KiB) chunk. Any reseed discards
 * (wipes) the buffer, so no byte produced before a leak event is handed out
 * after it. The buffer and the seed are in vt_secmem (locked, not dumped,
 * wiped on free).
 *
 * Failure: a seed draw that fails (source error or health test), or any
 * EVP_RAND failure, puts the generator in the failed ("degraded") state:
 * the buffer is wiped, nothing is generated, and every rng_drbg_begin()
 * answers -EAGAIN until a retry (at most every retry_ns) draws a healthy
 * seed and re-instantiates. Bytes are never produced by an unseeded or
 * failed generator.
 *
 * Locking: one mutex; rng_drbg_begin() takes it, rng_drbg_end() drops it.
 * Queue workers and the control thread share a generator this way.
 */
#ifndef VTRUST_RNG_DRBG_H
#define VTRUST_RNG_DRBG_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

#include "compiler.h"
#include "seed.h"

#define RNG_DRBG_BUF 16384u
#define RNG_DRBG_SEED_LEN 48u

struct rng_drbg_cfg {
	const char *name; /* device name: logs and personalisation */
	bool own_libctx;  /* privileged: a separate OSSL_LIB_CTX */
	uint64_t reseed_bytes;
	uint64_t reseed_ns;
	uint64_t retry_ns; /* degraded: how often to try a fresh seed */
	enum rng_seed_fault fault;
	uint64_t fault_after;
};

struct rng_drbg_stats {
	_Atomic uint64_t generated; /* bytes produced by EVP_RAND_generate */
	_Atomic uint64_t generate_calls;
	_Atomic uint64_t reseeds;	  /* successful (re)seeds with a fresh seed */
	_Atomic uint64_t seed_failures;	  /* getrandom errors */
	_Atomic uint64_t health_failures; /* RCT / APT failures */
	_Atomic uint64_t drbg_failures;	  /* EVP_RAND errors */
	_Atomic uint64_t degraded_events; /* transitions into the failed state */
};

struct rng_drbg {
	pthread_mutex_t mu;
	char name[64];
	struct rng_drbg_cfg cfg;
	OSSL_LIB_CTX *libctx; /* NULL: the default context */
	EVP_RAND *rand;
	EVP_RAND_CTX *ctx;
	struct rng_seed seed;
	uint8_t *buf; /* RNG_DRBG_BUF bytes, secmem */
	size_t buf_off, buf_len;
	size_t max_request;
	bool instantiated;
	bool failed;
	_Atomic bool degraded; /* failed, readable without the lock */
	uint64_t since_reseed; /* bytes */
	uint64_t last_reseed_ns;
	uint64_t next_retry_ns;
	char reason[128]; /* why degraded (under mu) */
	struct rng_drbg_stats stats;
};

/*
 * Creates the generator and tries to seed it. Seeding failures are not an
 * error here: the generator starts degraded and retries later.
 * -ENOMEM / -ENOSYS (no CTR-DRBG in libcrypto) are.
 */
int rng_drbg_new(const struct rng_drbg_cfg *cfg, struct rng_drbg **ret) VT_MUST_USE;
void rng_drbg_free(struct rng_drbg *g);

uint64_t rng_now_ns(void);

/*
 * Takes the lock and makes the generator ready: reseeds first when due,
 * retries a degraded generator when its retry time has come. 0: ready, the
 * lock is held until rng_drbg_end(). -EAGAIN: degraded, the lock is NOT
 * held and *retry_ns says when to try again.
 */
int rng_drbg_begin(struct rng_drbg *g, uint64_t *retry_ns) VT_MUST_USE;
/* With the lock held: n bytes of output into out. 0, or -EIO (now degraded: stop). */
int rng_drbg_bytes(struct rng_drbg *g, uint8_t *out, size_t n) VT_MUST_USE;
/* With the lock held: reseed now from a fresh seed, mixing adin; wipes the buffer. */
int rng_drbg_reseed(struct rng_drbg *g, const void *adin, size_t adin_len) VT_MUST_USE;
void rng_drbg_end(struct rng_drbg *g);

static inline bool rng_drbg_degraded(const struct rng_drbg *g)
{
	return atomic_load_explicit(&g->degraded, memory_order_relaxed);
}
/* Copies the degraded reason (empty when healthy). */
void rng_drbg_reason(struct rng_drbg *g, char *buf, size_t len);
/* Test hook: changes the seed fault (counted from the draws made so far + after). */
void rng_drbg_set_fault(struct rng_drbg *g, enum rng_seed_fault fault, uint64_t after);

#endif
