/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libvtrust-fortuna: a clone-safe Fortuna CSPRNG for guests and unikernels.
 *
 * MODEL
 *
 * A generator (struct vtf_ctx) is Fortuna as Ferguson, Schneier and Kohno
 * define it ("Cryptography Engineering", ch. 9):
 *
 *   - 32 entropy pools, each a running SHA-256 over the events appended to
 *     it. An event is (source id, length, 1..32 data bytes); a source's
 *     events go to the pools round-robin. There is no entropy estimator.
 *   - A reseed happens when pool 0 holds at least 64 bytes and at least
 *     100 ms have passed since the previous reseed. Reseed number k (k = 1,
 *     2, ...) uses pool i exactly when 2^i divides k and empties it. The new
 *     key is K' = SHAd-256(K || SHAd-256(P_i0) || SHAd-256(P_i1) ...), where
 *     SHAd-256(x) = SHA-256(SHA-256(x)), and the counter C is incremented.
 *   - The generator is AES-256 in counter mode with a 128-bit counter C
 *     (a big-endian 16-byte block, incremented as one 128-bit integer). A
 *     request of n bytes (at most 1 MiB) outputs the first n bytes of
 *     ceil(n/16) keystream blocks and then takes the next two blocks as the
 *     new key, so no output can be recomputed from the state left behind.
 *     Larger vtf_generate() calls are split into 1 MiB requests.
 *
 * CLONE SAFETY
 *
 * A "generation" changes whenever the memory holding the state may have been
 * duplicated: a fork, a VM snapshot being restored or cloned (a new VM
 * generation ID, a virtio-rng entropy-leak report), or whenever the
 * application says so. Every vtf_generate() first checks the generation with
 * a few memory loads and no system call. After a change it outputs nothing
 * until a fast reseed has mixed in fresh input that the other copies cannot
 * share (the new VM generation ID, leak-buffer bytes, the entropy device,
 * RDRAND/RDSEED, or getrandom() when hosted). If no fresh input can be had,
 * it fails with -ESTALE; it never outputs from the old state.
 *
 * In a Linux guest with the vtrust_vmgenid kernel module (guest/vmgenid),
 * every generator maps /dev/vtrust-vmgenid and compares the VM generation
 * ID, which the hypervisor rewrites before the vCPUs run again, on every
 * call. A new ID is mixed with RDRAND/RDSEED and the cycle counter before
 * the next output; getrandom() is mixed in only once the kernel has reseeded
 * its own generator for the new VM (the module's VM-fork counter), because
 * until then every clone's kernel returns the same bytes. vtf_get_status()
 * says which of these signals are live (see fortuna/README.md, "Clone
 * safety", for what each covers and the window that remains).
 *
 * The check is per call: a snapshot taken while a call is running can still
 * return that one call's output in every copy (see fortuna/README.md).
 *
 * THREADS
 *
 * Every function is thread-safe. A generator serialises its callers with one
 * mutex; distinct generators do not share locks except while being created
 * or freed and around fork().
 *
 * ERRORS
 *
 * Functions returning int return 0 on success or a negative errno value:
 *   -EINVAL   an argument is invalid
 *   -ENOMEM   out of memory (or a memory mapping failed)
 *   -EAGAIN   the generator has never been seeded (only with
 *             VTF_OPT_NO_BOOTSTRAP, before the first reseed)
 *   -ESTALE   a new generation was seen and no fresh input could be had;
 *             nothing was output. Retry once a source can deliver.
 *   -EIO      OpenSSL failed; nothing was output
 *   -EEXIST, -ENOSPC, -ENOENT   source registration, see below
 *   -ENOTSUP  the feature is unavailable here
 * vtf_strerror() describes them. On failure an output buffer is wiped.
 */
#ifndef VTRUST_FORTUNA_H
#define VTRUST_FORTUNA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define VTF_API __attribute__((visibility("default")))
#else
#define VTF_API
#endif

struct vtf_ctx;

/* Largest single Fortuna request; bigger vtf_generate() calls are split. */
#define VTF_MAX_REQUEST (1u << 20)
/* Least fresh input (bytes) a fast reseed after a new generation accepts. */
#define VTF_FRESH_MIN 16u
/* Most registered sources (fd and callback) per generator. */
#define VTF_MAX_SOURCES 8u

/*
 * Source ids 0..239 belong to the application. The library uses these ids
 * for the inputs it gathers itself; they may not be registered.
 */
enum vtf_source_id {
	VTF_SRC_APP_MAX = 239,
	VTF_SRC_JITTER = 240,	 /* cycle-counter deltas between calls */
	VTF_SRC_BOOTSTRAP = 241, /* timing-loop bootstrap */
	VTF_SRC_RDRAND = 242,
	VTF_SRC_RDSEED = 243,
	VTF_SRC_GETRANDOM = 244,
	VTF_SRC_LEAK = 245,	 /* bytes from a virtio-rng leak buffer */
	VTF_SRC_COLLECTOR = 246, /* jitter sampled by the background thread */
	VTF_SRC_VMGENID = 247,	 /* a new VM generation ID (and the cycle counter) */
};

/* Option flags (struct vtf_options.flags). Zero means the defaults. */
enum vtf_option_flags {
	/* Never use RDRAND, even when CPUID reports it. */
	VTF_OPT_NO_RDRAND = 1u << 0,
	/*
	 * Use RDSEED when CPUID reports it and a timing check shows it is not
	 * trapped (some hypervisors emulate it at ~20 us per 8 bytes). Off by
	 * default: RDRAND is fed by the same conditioner and costs ~35 ns.
	 */
	VTF_OPT_RDSEED = 1u << 1,
	/* Unhosted (unikernel, firmware): never call getrandom(). */
	VTF_OPT_NO_GETRANDOM = 1u << 2,
	/* Do not mix cycle-counter jitter from each vtf_generate() call. */
	VTF_OPT_NO_JITTER = 1u << 3,
	/*
	 * Skip the initial seeding (timing loop and the sources above). The
	 * generator then fails with -EAGAIN until its first reseed, which
	 * needs pool 0 filled by vtf_add_event()/sources, or vtf_reseed_now().
	 * With the three flags above this makes a generator deterministic,
	 * which is what the known-answer tests use.
	 */
	VTF_OPT_NO_BOOTSTRAP = 1u << 4,
	/*
	 * Do not treat fork() as a new generation. Only for processes that
	 * fork merely to exec, and for tests that use fork() to imitate a VM
	 * snapshot. VM-wide generations (vmgenid, leak reports) still apply.
	 */
	VTF_OPT_NO_FORK_DETECT = 1u << 5,
	/*
	 * Do not map /dev/vtrust-vmgenid (the VM generation ID). Only for
	 * tests: the clone test's negative control uses it.
	 */
	VTF_OPT_NO_VMGENID = 1u << 6,
};

struct vtf_options {
	uint32_t flags; /* enum vtf_option_flags */
	/*
	 * How long a fast reseed may wait for an fd source (poll timeout)
	 * when nothing else gave fresh input. 0 means 20 ms.
	 */
	uint32_t fresh_timeout_ms;
	/*
	 * If non-zero, a background thread wakes every this many ms to sample
	 * timing jitter and poll the sources, so the pools fill while the
	 * application is idle. 0 (default) means no thread: sources are then
	 * polled from vtf_generate() at most every 100 ms. A child of fork()
	 * has no collector thread.
	 */
	uint32_t collector_interval_ms;
	/*
	 * Where the VM generation ID is mapped but the kernel's VM-fork counter
	 * is not (a kernel without CONFIG_VMGENID, or before 6.0): how long after
	 * a new ID the generator waits before it trusts getrandom() again, i.e.
	 * assumes the kernel has reseeded its own generator. 0 means 1000 ms
	 * (Linux 6.1 under QEMU TCG reseeded 0-284 ms after the resume).
	 */
	uint32_t kernel_wait_ms;
	uint32_t reserved[4]; /* must be zero */
};

/*
 * Creates a generator. opt may be NULL for the defaults. Unless
 * VTF_OPT_NO_BOOTSTRAP is set, the generator is seeded on return: from
 * getrandom() and RDRAND when available, plus a timing-loop bootstrap. If
 * only the timing loop contributed, the status says DEGRADED until a real
 * source (entropy device, RDRAND, getrandom, a leak report) has contributed
 * to a reseed. State memory is mlock'd and excluded from core dumps where
 * the system allows. Returns 0 and sets *out, or a negative errno.
 */
VTF_API int vtf_new(const struct vtf_options *opt, struct vtf_ctx **out);

/*
 * Wipes and frees a generator; NULL is allowed. Stops its collector thread.
 * No other thread may use ctx during or after this call.
 */
VTF_API void vtf_free(struct vtf_ctx *ctx);

/*
 * Fills buf with len pseudo-random bytes. Any len is accepted; requests
 * above VTF_MAX_REQUEST are split and the generator rekeys between them.
 * Before output it checks the generation (fork, vmgenid, leak report, API),
 * fast-reseeding first if it changed, and reseeds from the pools when pool 0
 * holds at least 64 bytes and 100 ms have passed.
 * Returns 0, or -EAGAIN (never seeded), -ESTALE (new generation, no fresh
 * input: nothing output), -EIO, -EINVAL. On failure buf is wiped.
 */
VTF_API int vtf_generate(struct vtf_ctx *ctx, void *buf, size_t len);

/*
 * Adds an input event from an application source (id 0..239), for example
 * the timing of network packets. len may be any size; data is split into
 * events of up to 32 bytes, each sent to the source's next pool. Such
 * events feed the pools but do not clear DEGRADED: use vtf_add_entropy()
 * for bytes from a real entropy source.
 */
VTF_API int vtf_add_event(struct vtf_ctx *ctx, uint8_t source, const void *data, size_t len);

/*
 * As vtf_add_event(), for bytes from a real entropy source (for example
 * pushed by a virtio-rng driver). Once these bytes reach the key through a
 * reseed, DEGRADED is cleared.
 */
VTF_API int vtf_add_entropy(struct vtf_ctx *ctx, uint8_t source, const void *data, size_t len);

/*
 * Reseeds immediately, ignoring the 64-byte and 100 ms gates: if the
 * generation changed, first a fast reseed (may fail with -ESTALE); then the
 * sources are polled and a scheduled pool reseed runs (the reseed counter
 * advances and pools are emptied by the usual schedule). Frequent calls
 * empty pool 0 before it accumulates much: call it on events such as
 * resume, not in a loop.
 */
VTF_API int vtf_reseed_now(struct vtf_ctx *ctx);

/*
 * Tells ctx that its memory may have been duplicated (a new generation).
 * It immediately tries a fast reseed with fresh input; if that is not
 * possible it returns -ESTALE and vtf_generate() keeps failing with -ESTALE
 * until fresh input arrives (a source delivers, a leak report, RDRAND...).
 */
VTF_API int vtf_new_generation(struct vtf_ctx *ctx);

/*
 * Same as vtf_new_generation() for every generator in the process, without
 * reseeding now: each one fast-reseeds on its next use. Lock-free and
 * async-signal-safe (one atomic increment). The vmgenid listener calls it.
 */
VTF_API void vtf_new_generation_all(void);

/*
 * A virtio-rng entropy-leak buffer was filled: the device wrote fresh bytes
 * into it because the VM was snapshotted or cloned. Marks a new generation
 * and fast-reseeds with those bytes (and any other fresh input). Each clone
 * receives different bytes, so each diverges. Returns 0, or -ESTALE if the
 * bytes plus other fresh input were shorter than VTF_FRESH_MIN (they are kept
 * for the next attempt).
 */
VTF_API int vtf_leak_filled(struct vtf_ctx *ctx, const void *data, size_t len);

/*
 * A pull source: writes up to len bytes of fresh entropy to buf and returns
 * how many it wrote (0 if none are ready), or a negative errno. flags is
 * VTF_PULL_FRESH when called by a fast reseed (after a new generation: the
 * bytes must be produced now, not buffered from before), else 0. It is
 * called with the generator's lock held: it must not call into the same
 * generator. It may block briefly; a fast reseed waits for it.
 */
#define VTF_PULL_FRESH 1u
typedef ssize_t (*vtf_source_fn)(void *arg, void *buf, size_t len, unsigned flags);

/*
 * Registers a callback source under an application id (0..239). It is
 * pulled for 32 bytes at most every 100 ms (or by the collector thread),
 * and for fresh bytes by every fast reseed. Its bytes count as a real
 * source. -EEXIST if id is taken, -ENOSPC if VTF_MAX_SOURCES are in use.
 */
VTF_API int vtf_add_source_callback(struct vtf_ctx *ctx, uint8_t id, vtf_source_fn fn, void *arg);

/*
 * Registers a readable fd (for example /dev/hwrng in a Linux guest). The
 * generator never blocks on it for periodic polls (poll() with timeout 0)
 * and waits at most fresh_timeout_ms during a fast reseed. The fd stays
 * owned by the caller, who must keep it open until the source is removed.
 */
VTF_API int vtf_add_source_fd(struct vtf_ctx *ctx, uint8_t id, int fd);

/* Unregisters a source. -ENOENT if there is none with that id. */
VTF_API int vtf_remove_source(struct vtf_ctx *ctx, uint8_t id);

/* vtf_status.state bits */
enum vtf_state_flags {
	VTF_STATE_SEEDED = 1u << 0,
	/* Seeded only from the timing loop or application events so far. */
	VTF_STATE_DEGRADED = 1u << 1,
	/* A new generation was seen; vtf_generate() needs a fast reseed. */
	VTF_STATE_WAITING_RESEED = 1u << 2,
	/*
	 * A new VM generation ID was mixed in; getrandom() input waits until
	 * the kernel's VM-fork counter moves (or kernel_wait_ms passes where
	 * there is no counter). Outputs meanwhile come from the key reseeded
	 * with the new ID, RDRAND/RDSEED and the cycle counter.
	 */
	VTF_STATE_WAITING_KERNEL = 1u << 3,
};

/* vtf_status.inputs bits: what this generator can use. */
enum vtf_input_flags {
	VTF_INPUT_RDRAND = 1u << 0,
	VTF_INPUT_RDSEED = 1u << 1,
	VTF_INPUT_GETRANDOM = 1u << 2,
	VTF_INPUT_FD = 1u << 3,
	VTF_INPUT_CALLBACK = 1u << 4,
	VTF_INPUT_JITTER = 1u << 5,
	VTF_INPUT_WIPEONFORK = 1u << 6, /* fork detected by a MADV_WIPEONFORK page */
	VTF_INPUT_MLOCKED = 1u << 7,	/* state memory is locked */
	VTF_INPUT_COLLECTOR = 1u << 8,	/* background thread running */
};

/*
 * vtf_status.signals bits: which clone signals are live for this generator
 * right now. A signal that is not listed here will not be noticed.
 */
enum vtf_signal_flags {
	/* The VM generation ID is mapped and compared on every call. */
	VTF_SIGNAL_VMGENID = 1u << 0,
	/* The kernel's VM-fork counter is mapped (getrandom is trusted again
	 * as soon as it moves). Without it: a bounded wait, kernel_wait_ms. */
	VTF_SIGNAL_VMFORK = 1u << 1,
	/* fork() is detected (MADV_WIPEONFORK page and/or pthread_atfork). */
	VTF_SIGNAL_FORK = 1u << 2,
	/* The application has delivered at least one virtio-rng leak report
	 * (vtf_leak_filled): it is watching leak queues. */
	VTF_SIGNAL_LEAK = 1u << 3,
};

struct vtf_status {
	uint32_t state;		/* enum vtf_state_flags */
	uint32_t inputs;	/* enum vtf_input_flags */
	uint64_t reseeds;	/* pool reseeds so far (the schedule's k) */
	uint64_t fast_reseeds;	/* reseeds after new generations */
	uint64_t generations;	/* new generations seen */
	uint64_t bytes_out;	/* bytes generated */
	uint64_t pool0_bytes;	/* bytes appended to pool 0 since its last use */
	uint64_t source_errors; /* failed source reads */
	uint32_t signals;	/* enum vtf_signal_flags */
	uint32_t reserved32;
	uint64_t vmgenid_changes; /* new VM generation IDs seen */
	uint64_t kernel_reseeds;  /* getrandom reseeds after the kernel's VM-fork reseed */
	uint64_t reserved[3];
};

/* Fills *st. Also checks the generation, so WAITING_RESEED is current. */
VTF_API int vtf_get_status(struct vtf_ctx *ctx, struct vtf_status *st);

/* A static description of a return value of this library. */
VTF_API const char *vtf_strerror(int err);

/*
 * DEPRECATED. This used to start a thread waiting for a NEW_VMGENID kernel
 * uevent; no maintained Linux kernel sends one (it was added in the 6.8
 * cycle and reverted), so that thread never fired. Generators now map the
 * VM generation ID themselves (/dev/vtrust-vmgenid, from the vtrust_vmgenid
 * module) and check it on every call; nothing needs starting.
 * This call only tells the truth about it: 0 if the generation ID is mapped
 * (it tries to map it now if it was not), -ENODEV if /dev/vtrust-vmgenid
 * does not exist (load the module and start QEMU with -device vmgenid),
 * another negative errno if it exists but cannot be used, -ENOTSUP off
 * Linux. It starts no thread. Prefer vtf_get_status().signals.
 */
VTF_API int vtf_vmgenid_listen_start(void);
/* DEPRECATED: does nothing (there is no thread to stop). */
VTF_API void vtf_vmgenid_listen_stop(void);

#ifdef __cplusplus
}
#endif

#endif /* VTRUST_FORTUNA_H */
