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
 * AES-CTR keystream (~0.15 µs per KiB here; OpenSSL 3.0 makes a getpid()
 * system call and several parameter look-ups per call), so small requests
 * are served from a 32 KiB buffer filled by one generate call. Spans of
 * 32 KiB or more are generated straight into the destination, one call per
 * max_request (64 KiB) chunk. Any reseed discards (wipes) the buffer, so no
 * byte produced before a leak event is handed out after it; the whole
 * buffer is wiped on reseed and free, and consumed bytes are overwritten by
 * the next refill (they are not wiped one request at a time: that cost 7 %
 * of the device's time, for bytes the guest already holds). The first
 * refill after a reseed is only 4 KiB, so a leak event (reseed, then 64
 * small buffers) does not wait for 32 KiB of keystream. The buffer and
 * the seed are in vt_secmem (locked, not dumped, wiped on free).
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

#include "clock.h"
#include "compiler.h"
#include "seed.h"

#define RNG_DRBG_BUF 32768u
/* The first refill after a reseed: leak events need a few KiB, soon. */
#define RNG_DRBG_FIRST_REFILL 4096u
/* The clock is read for the time-based reseed at most once per this much output. */
#define RNG_DRBG_CLOCK_EVERY 262144u
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
	_Atomic uint64_t prefills; /* buffer top-ups after a batch (off the request path) */
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
	uint8_t *buf;	   /* RNG_DRBG_BUF bytes, secmem */
	uint8_t *seed_buf; /* RNG_DRBG_SEED_LEN bytes, secmem (allocated once: no
			    * mmap/munmap, and so no TLB shoot-down, per reseed) */
	size_t buf_off, buf_len;
	bool small_refill; /* next refill is RNG_DRBG_FIRST_REFILL bytes */
	size_t max_request;
	bool instantiated;
	bool failed;
	_Atomic bool degraded;	  /* failed, readable without the lock */
	uint64_t event_epoch;	  /* newest leak event this generator was reseeded for */
	uint64_t since_reseed;	  /* bytes */
	uint64_t clock_check_at;  /* since_reseed value at which to read the clock next */
	_Atomic bool clock_check; /* read it at the next rng_drbg_begin (rng_drbg_tick) */
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

/* Asks the next rng_drbg_begin to check the time-based reseed (once per queue batch). */
static inline void rng_drbg_tick(struct rng_drbg *g)
{
	atomic_store_explicit(&g->clock_check, true, memory_order_relaxed); /* a hint */
}

/*
 * Takes the lock and makes the generator ready: reseeds first when due,
 * retries a degraded generator when its retry time has come. 0: ready, the
 * lock is held until rng_drbg_end(). -EAGAIN: degraded, the lock is NOT
 * held and *retry_ns says when to try again.
 */
int rng_drbg_begin(struct rng_drbg *g, uint64_t *retry_ns) VT_MUST_USE;
/* With the lock held: n bytes of output into out. 0, or -EIO (now degraded: stop). */
int rng_drbg_bytes(struct rng_drbg *g, uint8_t *out, size_t n) VT_MUST_USE;
/*
 * Tops the output buffer up to full when less than half of it is left, after
 * a batch was answered (the guest is busy with the completion then), so
 * requests are served by a memcpy and the keystream is made off the request
 * path. Takes the lock itself; reseeds first when one is due; a degraded
 * generator is left alone (its retry timer runs). Bytes keep their order:
 * the unread ones first, fresh output after them; a reseed still wipes all.
 */
void rng_drbg_prefill(struct rng_drbg *g);
/* With the lock held: reseed now from a fresh seed, mixing adin; wipes the buffer. */
int rng_drbg_reseed(struct rng_drbg *g, const void *adin, size_t adin_len) VT_MUST_USE;
void rng_drbg_end(struct rng_drbg *g);
/*
 * Reseeds for leak event `epoch` (mixed in as additional input) unless that
 * or a later event's reseed is done already; takes the lock itself. The
 * control thread calls it right after waking the leak queue, so the reseed
 * overlaps the worker's wake-up; the worker calls it again and finds it
 * done. 0, or -EAGAIN (degraded) with *retry_ns.
 */
int rng_drbg_reseed_for_event(struct rng_drbg *g, uint64_t epoch, uint64_t *retry_ns) VT_MUST_USE;

static inline bool rng_drbg_degraded(const struct rng_drbg *g)
{
	return atomic_load_explicit(&g->degraded, memory_order_relaxed);
}
/* Copies the degraded reason (empty when healthy). */
void rng_drbg_reason(struct rng_drbg *g, char *buf, size_t len);
/* Test hook: changes the seed fault (counted from the draws made so far + after). */
void rng_drbg_set_fault(struct rng_drbg *g, enum rng_seed_fault fault, uint64_t after);

#endif
