/* SPDX-License-Identifier: Apache-2.0 */
/*
 * VIRTIO_RNG_F_LEAK: the leak queues leakq1 (queue 1) and leakq2 (queue 2),
 * with exactly the semantics of the proposal (virtio-dev, MST, "rng: leak
 * detection support"):
 *
 *  - Buffers are either write-only ("fill": filled with fresh random bytes)
 *    or a read-only part followed by a write-only part of identical size
 *    ("copy": the device copies the first into the second). Anything else
 *    (no writable bytes, unequal halves, readable after writable, more than
 *    max_request_bytes) is completed with len 0 and counted as malformed.
 *  - Only one leak queue is active; leakq1 is active after initialisation.
 *  - Buffers in the active queue wait, unused, until a leak event.
 *  - On an event the device uses every buffer in the active queue and keeps
 *    using buffers there until that queue is empty and the other queue has
 *    buffers; then it makes the other queue active, whose buffers again
 *    wait for the next event.
 *
 * Threads: each leak queue's worker runs rng_leak_handle() for its own ring
 * only (a worker never touches another queue's ring). The inactive queue's
 * handler reports "I have buffers" (waiting[]) and wakes the active queue;
 * the active queue's handler applies events, serves, and switches. Events
 * (rng_leak_event, from the control thread or the DEVICE_STATE load thread)
 * bump the epoch and wake the active queue; the control path instead
 * delivers at once itself (rng_leak_record + rng_leak_deliver: the same
 * handler, run under the queue's lock if the worker is idle, else a wake). The state below is under
 * `mu` (taken inside a queue lock, never the other way round).
 *
 * One refinement where the proposal leaves a race open: an event that
 * arrives while the active queue is already firing and empty cannot be used
 * there. If the other queue has buffers, the due switch is completed first
 * and the event fires the new active queue; otherwise the event stays
 * pending until either queue has buffers. A driver that follows the
 * protocol therefore never misses an event that happened while it was
 * moving to the other queue. In every other case the rules above apply to
 * the letter (an event on an empty, idle active queue makes it fire; its
 * next buffers are used at once).
 *
 * Device reset: vhost-user (QEMU) never signals a virtio reset, so a
 * leakq1 that starts on a fresh ring (next avail index 0 and used index 0)
 * is taken as driver initialisation: leakq1 becomes active and idle again
 * (pending events are kept).
 *
 * Every applied event reseeds the DRBG from a fresh seed (the epoch is the
 * additional input), so the bytes of two events never repeat and none of
 * them was produced before the event.
 *
 * DEVICE_STATE: rng_leak_save/rng_leak_load (de)serialise the guest-visible
 * leak state (active queue, firing, epoch). A load is a leak event (a VM
 * restore); rings are stopped during the transfer, so the event is recorded
 * and the parked buffers are completed when the active leak queue starts
 * again, before its worker serves anything else.
 */
#ifndef VTRUST_RNG_LEAK_H
#define VTRUST_RNG_LEAK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain.h"
#include "compiler.h"
#include "virtq.h"

#define RNG_LEAKQ1 1u
#define RNG_LEAKQ2 2u

struct rng_drbg;

enum rng_leak_kind {
	RNG_LEAK_MALFORMED,
	RNG_LEAK_FILL,
	RNG_LEAK_COPY,
};

/* Classifies a popped leak chain; *ret_len: bytes to write (0 if malformed). */
enum rng_leak_kind rng_leak_classify(const struct vt_chain *c, size_t cap, size_t *ret_len);

struct rng_leak_stats {
	_Atomic uint64_t events;       /* events recorded (the epoch) */
	_Atomic uint64_t fired;	       /* events applied to a queue */
	_Atomic uint64_t filled;       /* fill buffers completed */
	_Atomic uint64_t copied;       /* copy buffers completed */
	_Atomic uint64_t bytes;	       /* bytes written into leak buffers */
	_Atomic uint64_t malformed;    /* leak buffers completed with len 0 */
	_Atomic uint64_t switches;     /* active queue changes */
	_Atomic uint64_t last_fill_ns; /* event recorded -> its buffers used and signalled */
};

struct rng_leak {
	pthread_mutex_t mu;
	unsigned active;	    /* RNG_LEAKQ1 or RNG_LEAKQ2 */
	bool firing;		    /* the active queue is being used */
	bool negotiated;	    /* VIRTIO_RNG_F_LEAK acked */
	uint64_t epoch;		    /* events recorded */
	uint64_t handled;	    /* events applied */
	uint64_t event_ns;	    /* when the newest unapplied event was recorded */
	bool waiting[3];	    /* leak queue i has buffers parked (reported by queue i) */
	size_t cap;		    /* max bytes per leak buffer */
	struct vt_queue *queues[3]; /* for wake-ups (attach); NULL until known */
	/*
	 * Queue i is started (ops queue_start .. queue_stop). Written and read
	 * under queue i's lock: the core calls queue_stop before it resets a ring
	 * or unmaps guest memory, and our queue_stop takes the lock, so
	 * rng_leak_deliver never touches a ring that is going away.
	 */
	bool running[3];
	struct rng_leak_stats stats;
};

void rng_leak_init(struct rng_leak *l, size_t cap);
void rng_leak_destroy(struct rng_leak *l);
void rng_leak_set_negotiated(struct rng_leak *l, bool on);

/* Back to "after initialisation": leakq1 active, not firing (events are kept). */
void rng_leak_reset_driver(struct rng_leak *l);
/* Records one leak event and wakes the active queue. Returns the new epoch. */
uint64_t rng_leak_event(struct rng_leak *l);
/* Records one leak event without waking anyone: rng_leak_deliver must follow. */
uint64_t rng_leak_record(struct rng_leak *l);
uint64_t rng_leak_epoch(struct rng_leak *l);
/* Current active queue and whether it fires (for status and tests). */
void rng_leak_state(struct rng_leak *l, unsigned *active, bool *firing);

/* The queue handler of leak queue q (index 1 or 2), under the queue lock. */
void rng_leak_handle(struct rng_leak *l, struct rng_drbg *g, struct vt_queue *q);
/*
 * After rng_leak_record, on the caller's thread: completes the active
 * queue's parked buffers at once if that queue runs and its worker is idle
 * (vt_queue_try_run), saving the worker's wake-up (10-70 µs here) on the
 * way to the guest's call. A busy worker is woken instead; stopped rings are
 * served when they start again.
 */
void rng_leak_deliver(struct rng_leak *l, struct rng_drbg *g);
/* ops queue_start / queue_stop of a leak queue (take the queue lock). */
void rng_leak_queue_running(struct rng_leak *l, struct vt_queue *q, bool running);

/* DEVICE_STATE blob: "VTRNGLK1", u32 version, u32 flags, u32 active, u32 0, u64 epoch (LE). */
#define RNG_LEAK_STATE_SIZE 32u
void rng_leak_save(struct rng_leak *l, uint8_t out[RNG_LEAK_STATE_SIZE]);
/*
 * Parses a state blob (len 0: no saved state) and, if valid, applies it and
 * records the restore as a leak event. -EINVAL (nothing changed) otherwise.
 */
int rng_leak_load(struct rng_leak *l, const uint8_t *buf, size_t len) VT_MUST_USE;

/* Pure parser of the blob, for the fuzz harness and rng_leak_load. */
struct rng_leak_saved {
	unsigned active;
	bool firing;
	uint64_t epoch;
};
int rng_leak_parse_state(const uint8_t *buf, size_t len, struct rng_leak_saved *ret) VT_MUST_USE;

#endif
