/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal layout of a generator, shared by the library's files and by the
 * tests (which link the static library and may use the vtf__ test hooks).
 *
 * A generator is split in two:
 *   struct vtf_state  plain data: key, counter, schedule and bookkeeping.
 *                     Copying it (a "memory snapshot") copies the generator.
 *   struct vtf_ctx    the state plus runtime objects derived from it (the
 *                     OpenSSL contexts, the lock, the fork marker, sources).
 * The 32 pool hash states are EVP_MD_CTX objects in OpenSSL's heap; a
 * snapshot copies them with EVP_MD_CTX_copy_ex() (vtf__snapshot_copy).
 */
#ifndef VTF_INTERNAL_H
#define VTF_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>

#include "vtrust/fortuna.h"

#define VTF_LIKELY(x) __builtin_expect(!!(x), 1)
#define VTF_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define VTF_MIN(a, b) ((a) < (b) ? (a) : (b))

enum {
	VTF_POOLS = 32,
	VTF_KEY_LEN = 32,
	VTF_BLOCK = 16,
	VTF_EVENT_MAX = 32,	 /* data bytes per event (FSK) */
	VTF_EVENT_HDR = 2,	 /* source id, length */
	VTF_MIN_POOL0 = 64,	 /* pool 0 bytes needed for a reseed */
	VTF_LEAK_KEEP = 64,	 /* leak bytes kept verbatim; more are hashed */
	VTF_JITTER_SAMPLES = 32, /* one-byte cycle deltas per jitter event */
	VTF_JITTER_EVERY = 4,	 /* calls per jitter sample (power of two) */
	VTF_POLL_BYTES = 32,	 /* bytes pulled per source per poll */
	VTF_FRESH_BYTES = 32,	 /* bytes pulled per source by a fast reseed */
	VTF_SEED_MAX = 2048,	 /* bound on reseed input s */
};

#define VTF_RESEED_INTERVAL_NS (100ull * 1000 * 1000)
#define VTF_KERNEL_WAIT_MS_DEFAULT 1000u

/* Plain-data generator state: memcpy-able, no pointers. */
struct vtf_state {
	uint8_t key[VTF_KEY_LEN];
	uint8_t ctr[VTF_BLOCK];	      /* big-endian 128-bit counter; 0 = unseeded */
	uint64_t reseed_count;	      /* FSK ReseedCnt */
	uint64_t last_reseed_ns;      /* vtf_gate_ns() of the last pool reseed */
	uint64_t last_poll_ns;	      /* ... of the last periodic source poll */
	uint64_t pool_len[VTF_POOLS]; /* bytes appended since each pool's last use */
	uint32_t pool_real;	      /* bit i: pool i holds real-source input */
	bool seeded;
	bool degraded;
	uint8_t next_pool[256]; /* per-source round-robin position */
	uint8_t jitter[VTF_JITTER_SAMPLES];
	uint32_t jitter_n;
	uint32_t calls;
	uint64_t jitter_prev;
	uint8_t tail[VTF_BLOCK + VTF_KEY_LEN]; /* last partial block + next key */
	uint8_t leak[VTF_LEAK_KEEP];	       /* leak bytes awaiting a fast reseed */
	uint32_t leak_len;
	uint64_t leak_fresh; /* raw leak bytes behind leak[] */
	/* statistics */
	uint64_t fast_reseeds;
	uint64_t generations;
	uint64_t bytes_out;
	uint64_t source_errors;
	uint64_t vmgenid_changes;
	uint64_t kernel_reseeds;
};

enum vtf_source_kind { VTF_SOURCE_FD = 1, VTF_SOURCE_CALLBACK = 2 };

struct vtf_source {
	uint8_t id;
	uint8_t kind; /* enum vtf_source_kind; 0 = free slot */
	int fd;
	vtf_source_fn fn;
	void *arg;
};

struct vtf_ctx {
	pthread_mutex_t lock;
	/* hot path: read by every vtf_generate() */
	EVP_CIPHER_CTX *aes;	  /* keyed with st.key, positioned at st.ctr */
	_Atomic uint64_t *marker; /* non-zero; a fork zeroes it (WIPEONFORK) */
	uint64_t seen_epoch;	  /* vtf_epoch value this state belongs to */
	_Atomic uint64_t *gid;	  /* VM generation ID (2 words), or vtf_genid_none */
	_Atomic uint64_t *gfork;  /* kernel VM-fork counter, or vtf_genid_none[2] */
	uint64_t seen_id[2];	  /* ID this state belongs to */
	uint64_t seen_fork;	  /* counter value this state belongs to */
	bool pending;		  /* new generation not yet fast-reseeded */
	bool ctr_continues;	  /* key-only re-init keeps the CTR position */
	bool aes_stale;		  /* aes must be re-keyed from st before use */
	uint64_t gate_slack_ns;	  /* resolution of vtf_gate_ns() */
	uint32_t opt_flags;
	uint32_t inputs; /* VTF_INPUT_* */
	uint32_t fresh_timeout_ms;

	/* VM generation ID (genid.c) */
	bool genid_attached;
	bool genid_has_fork; /* gfork is the module's live counter */
	bool kernel_wait;    /* new ID seen; getrandom waits for the kernel's reseed */
	bool leak_seen;	     /* vtf_leak_filled was called at least once */
	uint64_t kernel_wait_since_ns;
	uint32_t kernel_wait_ms; /* bound where there is no VM-fork counter */

	EVP_MD_CTX *pool[VTF_POOLS];
	EVP_MD_CTX *md; /* scratch digest context */
	EVP_MD *sha256;
	EVP_CIPHER *aes_ctr;

	struct vtf_source sources[VTF_MAX_SOURCES];

	/* optional background collector */
	uint32_t collector_interval_ms;
	bool collector_running;
	bool collector_stop;
	pthread_t collector;
	pthread_cond_t collector_cond;

	/* process registry (clone.c), for fork handling */
	struct vtf_ctx *reg_next;
	struct vtf_ctx *reg_prev;
	bool registered;
	bool own_marker;
	void *marker_page;

	size_t map_len;
	struct vtf_state st;
};

/* ---- clone.c: generations ---- */

/* Bumped for VM-wide new generations (vmgenid, vtf_new_generation_all). */
extern _Atomic uint64_t vtf_epoch;

/* Zero block the ID and counter pointers aim at until the device is mapped. */
extern _Atomic uint64_t vtf_genid_none[3];

/*
 * The per-call generation check: relaxed loads, no syscall: the fork
 * marker, the process epoch, the VM generation ID (two words) and the
 * kernel's VM-fork counter. Called with ctx->lock held (pending is only
 * written under the lock).
 */
static inline bool vtf_stale(const struct vtf_ctx *ctx)
{
	/* Bitwise, not ||: all loads, and no branches until the answer. */
	uint64_t d = (atomic_load_explicit(&ctx->gid[0], memory_order_relaxed) ^ ctx->seen_id[0]) |
		     (atomic_load_explicit(&ctx->gid[1], memory_order_relaxed) ^ ctx->seen_id[1]) |
		     (atomic_load_explicit(ctx->gfork, memory_order_relaxed) ^ ctx->seen_fork) |
		     (atomic_load_explicit(&vtf_epoch, memory_order_relaxed) ^ ctx->seen_epoch);
	return ((unsigned)ctx->pending |
		(unsigned)(atomic_load_explicit(ctx->marker, memory_order_relaxed) == 0) |
		(unsigned)(d != 0)) != 0;
}

int vtf_clone_setup(struct vtf_ctx *ctx);
void vtf_clone_teardown(struct vtf_ctx *ctx);
/* Marks a new generation; lock held. */
void vtf_mark_generation(struct vtf_ctx *ctx);
/* Fast reseed with fresh input after a new generation; lock held. */
int vtf_fast_reseed(struct vtf_ctx *ctx);
/* The bounded wait for the kernel's reseed (no VM-fork counter) is over; lock held. */
int vtf_kernel_wait_expired(struct vtf_ctx *ctx);

/* ---- genid.c: the mapped VM generation ID ---- */

/* Maps /dev/vtrust-vmgenid once per process (retried at most every 1 s unless forced). */
int vtf_genid_probe(bool force);
/* Points ctx at the mapping (if there is one) and adopts the current ID; lock held. */
void vtf_genid_attach(struct vtf_ctx *ctx, bool force);
/* Points ctx at the zero block. */
void vtf_genid_detached(struct vtf_ctx *ctx);

/* ---- generator.c: AES-256-CTR generator ---- */

int vtf_gen_setup(struct vtf_ctx *ctx);
void vtf_gen_teardown(struct vtf_ctx *ctx);
/* Keys ctx->aes from st.key and st.ctr. */
int vtf_gen_load(struct vtf_ctx *ctx);
/* One Fortuna request: n <= VTF_MAX_REQUEST bytes, then rekey. */
int vtf_gen_request(struct vtf_ctx *ctx, uint8_t *out, size_t n);
/* FSK Reseed(G, s): K = SHAd-256(K || s), C = C + 1. */
int vtf_gen_reseed(struct vtf_ctx *ctx, const uint8_t *s, size_t slen);
void vtf_ctr_add(uint8_t ctr[VTF_BLOCK], uint64_t n);

/* ---- pool.c: the accumulator ---- */

int vtf_pool_setup(struct vtf_ctx *ctx);
void vtf_pool_teardown(struct vtf_ctx *ctx);
/* Appends data as events of <= 32 bytes to the source's next pools. */
int vtf_pool_add(struct vtf_ctx *ctx, uint8_t source, const void *data, size_t len, bool real);
/* Bit i set: reseed number k uses pool i (2^i divides k). k >= 1. */
uint32_t vtf_pool_mask(uint64_t k);
/* One scheduled reseed (FSK); lock held. */
int vtf_pool_reseed(struct vtf_ctx *ctx, uint64_t now_ns);
/* SHA-256 with the scratch context; out gets 32 bytes. */
int vtf_sha256(struct vtf_ctx *ctx, const void *a, size_t alen, const void *b, size_t blen,
	       uint8_t out[32]);
/* Encodes one event (id, len, data) into buf; returns bytes written. */
size_t vtf_event_encode(uint8_t *buf, uint8_t source, const uint8_t *data, size_t len);

/* ---- sources.c ---- */

struct vtf_cpu {
	bool rdrand;
	bool rdseed_cpuid;
};
const struct vtf_cpu *vtf_cpu(void);
/* RDSEED usable here (CPUID plus timing check; measured once). */
bool vtf_rdseed_usable(void);
size_t vtf_rdrand_bytes(void *buf, size_t len);
size_t vtf_rdseed_bytes(void *buf, size_t len);
size_t vtf_getrandom_bytes(void *buf, size_t len);
/* Periodic poll of CPU, OS and registered sources into the pools. */
void vtf_sources_poll(struct vtf_ctx *ctx);
/*
 * Appends fresh-input events to s (capacity cap) for a fast reseed;
 * returns bytes appended and adds real fresh data bytes to *fresh.
 */
size_t vtf_sources_fresh(struct vtf_ctx *ctx, uint8_t *s, size_t cap, uint64_t *fresh);
void vtf_detect_inputs(struct vtf_ctx *ctx);

/* ---- whirlwind.c: cycle counter and timing-loop bootstrap ---- */

static inline uint64_t vtf_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * Clock for the 100 ms gates. The coarse clock is a vDSO read of a value the
 * kernel updates each tick (~9 ns here, against ~40 ns for CLOCK_MONOTONIC),
 * cheap enough for every request; its resolution is added to the interval
 * so the gate never opens early.
 */
static inline uint64_t vtf_gate_ns(void)
{
	struct timespec ts;
#ifdef CLOCK_MONOTONIC_COARSE
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
#else
	clock_gettime(CLOCK_MONOTONIC, &ts);
#endif
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* True if at least 100 ms passed between gate times then and now. */
static inline bool vtf_gate_open(const struct vtf_ctx *ctx, uint64_t then, uint64_t now)
{
	return (int64_t)(now - then) >= (int64_t)(VTF_RESEED_INTERVAL_NS + ctx->gate_slack_ns);
}

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
static inline uint64_t vtf_cycles(void)
{
	return __rdtsc();
}
#elif defined(__aarch64__)
static inline uint64_t vtf_cycles(void)
{
	uint64_t v;
	__asm__ volatile("mrs %0, cntvct_el0" : "=r"(v));
	return v;
}
#else
static inline uint64_t vtf_cycles(void)
{
	return vtf_now_ns();
}
#endif

/* Fills out with 4-byte timing samples of a data-dependent loop. */
void vtf_whirlwind(uint8_t *out, size_t samples);

/* ---- secmem.c ---- */

void *vtf_secmem_alloc(size_t len, bool *locked);
void vtf_secmem_free(void *p, size_t len);

/* ---- collector.c ---- */

int vtf_collector_start(struct vtf_ctx *ctx);
void vtf_collector_stop(struct vtf_ctx *ctx);

/* ---- fortuna.c: shared helpers ---- */

/* Generate-path bookkeeping: jitter sample, periodic poll and reseed. */
int vtf_tick(struct vtf_ctx *ctx);

/* ---- test hooks (not exported from the shared library) ---- */

/* "Memory snapshot": dst becomes a copy of src's state. */
int vtf__snapshot_copy(struct vtf_ctx *dst, struct vtf_ctx *src);
void vtf__get_state(struct vtf_ctx *ctx, uint8_t key[32], uint8_t ctr[16]);
int vtf__set_counter(struct vtf_ctx *ctx, const uint8_t ctr[16]);
/*
 * Makes id (two words) and fork (NULL: no counter) stand in for the
 * device's pages in this process; generators created later attach to them.
 * -EBUSY if the real device is already mapped.
 */
int vtf__genid_use(uint64_t id[2], uint64_t *fork);
/* Per-call generation check, exposed for the benchmark. */
bool vtf__check_generation(struct vtf_ctx *ctx);

#endif /* VTF_INTERNAL_H */
