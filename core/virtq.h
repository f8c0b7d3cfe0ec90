/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Split virtqueue, device side.
 *
 * State machine of one queue (vhost-user semantics, QEMU 7.2 behaviour):
 *   configured (NUM, ADDR, BASE, CALL, ERR in any order)
 *   -> started on SET_VRING_KICK (a worker thread serves it)
 *   -> stopped on GET_VRING_BASE (the worker finishes its batch and exits)
 * "Enabled" is separate (SET_VRING_ENABLE); devices that QEMU 7.2 never
 * enables (crypto) are served when started.
 *
 * A malformed ring (loops, out-of-range indexes, nested indirect tables,
 * addresses outside guest memory, avail idx running ahead by more than the
 * ring size) marks the queue broken: logged once, counted, never served
 * again until the front-end restarts it. Nothing is read or written outside
 * the guest's regions.
 *
 * Locking: the worker holds q->lock while it serves a batch; the protocol
 * thread takes it to change anything the worker reads (call fd, memory
 * table, addresses). Devices' queue_handle callbacks run with it held.
 */
#ifndef VTRUST_VIRTQ_H
#define VTRUST_VIRTQ_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "chain.h"
#include "compiler.h"
#include "guestmem.h"
#include "virtio_ring.h"

struct vt_device;

/*
 * Why a ring broke or a chain was completed as malformed: one value per
 * distinct lie, so tests assert the exact one and metrics label it
 * (vt_ring_fault_label). Ring-level faults break the queue; the two
 * chain-level ones complete the chain with len 0 and the ring lives on.
 */
enum vt_ring_fault {
	VT_FAULT_NONE = 0,
	/* ring-level */
	VT_FAULT_RING_UNCONFIGURED,	  /* started without size or addresses */
	VT_FAULT_RING_MISALIGNED,	  /* desc/avail/used not 16/2/4-aligned */
	VT_FAULT_RING_OUTSIDE_MEMORY,	  /* a ring area outside the regions */
	VT_FAULT_AVAIL_IDX_AHEAD,	  /* avail idx more than num ahead */
	VT_FAULT_HEAD_OUT_OF_RANGE,	  /* avail ring head >= num */
	VT_FAULT_DESC_OVERFLOW,		  /* addr + len wraps */
	VT_FAULT_DESC_OUTSIDE_MEMORY,	  /* a buffer byte outside the regions */
	VT_FAULT_INDIRECT_OUTSIDE_MEMORY, /* indirect table outside the regions */
	VT_FAULT_CHAIN_LOOP,		  /* more descriptors than the table holds */
	VT_FAULT_NESTED_INDIRECT,	  /* INDIRECT inside an indirect table */
	VT_FAULT_INDIRECT_WITH_NEXT,	  /* INDIRECT together with NEXT */
	VT_FAULT_INDIRECT_BAD_LEN,	  /* 0, not a multiple of 16, or too long */
	VT_FAULT_INDIRECT_OVERFLOW,	  /* table addr + len wraps */
	VT_FAULT_NEXT_OUT_OF_RANGE,	  /* next >= table size */
	VT_FAULT_MEMORY_LOST,		  /* guest memory shrank under the ring (SIGBUS contained) */
	/* chain-level */
	VT_FAULT_READABLE_AFTER_WRITABLE,
	VT_FAULT_TOO_MANY_SEGMENTS, /* more than the queue's segment budget */
	VT_FAULT_MAX
};

/* The log sentence ("descriptor next index out of range"). */
const char *vt_ring_fault_text(enum vt_ring_fault f);
/* The metrics label value ("next_out_of_range"). */
const char *vt_ring_fault_label(enum vt_ring_fault f);
/* True for the faults that break the ring (false: the chain is malformed). */
bool vt_ring_fault_breaks(enum vt_ring_fault f);

struct vt_queue_stats {
	_Atomic uint64_t chains;     /* chains popped */
	_Atomic uint64_t notifies;   /* call eventfd signals */
	_Atomic uint64_t kicks;      /* kick eventfd wake-ups */
	_Atomic uint64_t polled;     /* arrivals caught by the adaptive poll (no kick, no sleep) */
	_Atomic uint64_t poll_dropped; /* poll windows dropped as dearer than a sleep (pollwin.h) */
	_Atomic uint64_t malformed;  /* chains completed with len 0 as malformed */
	_Atomic uint64_t broken;     /* times the ring was marked broken */
	_Atomic uint64_t used_bytes; /* bytes reported as written (used len) */
	_Atomic uint64_t faults[VT_FAULT_MAX]; /* by fault (broken rings, malformed chains) */
};

/*
 * struct vt_queue is opaque to devices: its insides are visible only where
 * VT_QUEUE_INTERNALS is defined (core, the daemon, tests, fuzzers and
 * benchmarks, through vtrust_core_dep). Devices are built against
 * vtrust_core_api_dep and reach a queue only through the functions here.
 */
struct vt_queue;

#ifdef VT_QUEUE_INTERNALS
struct vt_queue {
	unsigned index;
	struct vt_device *dev;
	const struct vt_guestmem *mem; /* the device's table, stable under lock */
	pthread_mutex_t lock;

	/* Front-end configuration. */
	uint32_t num;
	uint64_t desc_uva, avail_uva, used_uva, log_gpa;
	uint32_t addr_flags;
	bool addr_set;
	int kick_fd, call_fd, err_fd;
	bool kick_nofd; /* SET_VRING_KICK with NOFD: poll the ring */

	/* Ring state. */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t last_avail_idx;
	uint16_t avail_waiting; /* chains still in the ring at the last pop (notify_mid_batch) */
	/*
	 * notify_mid_batch: the driver's turnaround, in chains served from a
	 * mid-batch call until its refill showed in the ring, in 1/16 chains (a
	 * moving estimate, up fast and down slowly); 0 until first measured.
	 */
	uint32_t mid_turn;
	uint16_t used_idx;
	uint16_t signalled_used;
	bool signalled_used_valid;
	bool event_idx; /* EVENT_IDX negotiated by SET_FEATURES */
	bool started;
	bool enabled;
	bool broken;
	enum vt_ring_fault fault; /* the latest fault: why it broke, or the last malformed chain */
	uint64_t fault_gen; /* vt_guestmem_fault_generation() last seen harmless */

	/* Segment storage for the chain in flight. */
	struct iovec *segs;
	uint32_t segs_cap;

	/* Worker. */
	pthread_t thread;
	bool thread_running;
	int wake_fd;  /* eventfd: stop requests and cross-thread wake-ups */
	int timer_fd; /* timerfd a device arms to be called back (rate limits) */
	_Atomic bool stop_requested;
	_Atomic bool wake_pending;
	uint32_t busy_poll_us;
	/*
	 * Set through vt_queue_defer when the available chains must wait (a rate
	 * limit, leak buffers parked until an event): the worker then sleeps
	 * until a kick, a wake-up or the timer instead of busy-polling on chains
	 * it cannot serve. The worker clears it before every queue_handle call.
	 */
	bool deferred;
	bool off_worker; /* queue_handle runs from vt_queue_try_run on another thread */

	struct vt_queue_stats stats;
	void *priv; /* per-queue device data */

	/* Restart survival (resume.h): this queue's record in the state memfd, or NULL. */
	struct vt_rs_queue *rsq;
	uint8_t *rs_inflight;
	uint32_t rs_max;
	uint64_t kick_gen, call_gen, err_gen;
	uint16_t last_head;   /* head of the last popped chain (unpop) */
	bool last_from_redo;  /* ... and it came from redo_heads */
	uint16_t *redo_heads; /* in flight when the previous process died: served first */
	uint32_t redo_n;
};
#endif /* VT_QUEUE_INTERNALS */

void vt_queue_init(struct vt_queue *q, struct vt_device *dev, const struct vt_guestmem *mem,
		   unsigned index);
void vt_queue_destroy(struct vt_queue *q);

/* Resets ring state (not device state) as after a fresh connection. */
void vt_queue_reset(struct vt_queue *q);

/*
 * Translates the ring addresses through q->mem; false (queue broken) if any ring
 * area lies outside the regions. Called on start and after memory changes.
 */
bool vt_queue_map_rings(struct vt_queue *q);

/*
 * Pops the next available chain into c.
 *   1          a well-formed chain;
 *   0          nothing available;
 *   -EBADMSG   the chain was popped but is malformed at the request level
 *              (a readable descriptor after a writable one): complete it
 *              with len 0 (vt_queue_push_malformed);
 *   -EIO       the ring is broken (see above); stop serving.
 */
int vt_queue_pop(struct vt_queue *q, struct vt_chain *c) VT_MUST_USE;

/* Puts the last popped chain back (a throttled request stays queued). */
void vt_queue_unpop(struct vt_queue *q);

/* Publishes one used element; len must not exceed the chain's writable bytes. */
void vt_queue_push(struct vt_queue *q, const struct vt_chain *c, uint32_t len);
void vt_queue_push_malformed(struct vt_queue *q, const struct vt_chain *c);

/* Signals the call eventfd if the driver wants it (EVENT_IDX or flags rule). */
void vt_queue_notify(struct vt_queue *q);

/* True if the driver has made more chains available than we consumed. */
bool vt_queue_has_avail(struct vt_queue *q);

/*
 * Re-arms driver notifications race-free: publishes avail_event =
 * last_avail_idx (always, even without EVENT_IDX: QEMU 7.2 hides it from
 * crypto back-ends), clears NO_NOTIFY, full barrier, then reports whether
 * work arrived meanwhile (true: serve again before sleeping).
 */
bool vt_queue_enable_notify(struct vt_queue *q);
/* Asks the driver not to kick (busy-poll). */
void vt_queue_disable_notify(struct vt_queue *q);

/*
 * True (and the queue broken) if this queue's memory table lost pages under
 * us: a contained SIGBUS (guestfault.h). Cheap when nothing happened.
 */
bool vt_queue_memory_lost(struct vt_queue *q);

/* Marks the queue broken (logs once, counts, signals the err eventfd). */
void vt_queue_set_broken(struct vt_queue *q, enum vt_ring_fault why);

/* Arms (ns > 0) or disarms (ns == 0) the queue's timer; expiry calls queue_handle. */
void vt_queue_arm_timer(struct vt_queue *q, uint64_t ns);

/* Wakes the worker from any thread; it calls queue_handle soon. */
void vt_queue_wake(struct vt_queue *q);

/* ---- The serve loop: the one way a device's chains are popped and completed ---- */

/* What a handler did with one chain; vt_queue_serve completes it accordingly. */
enum vt_verdict_kind {
	VT_VERDICT_USED,      /* push with len bytes written */
	VT_VERDICT_MALFORMED, /* push with len 0, counted as malformed */
	VT_VERDICT_DEFER,     /* put back: it waits for the timer (ns > 0), a kick or a wake-up */
};

struct vt_verdict {
	enum vt_verdict_kind kind;
	uint32_t len;
	uint64_t defer_ns;
};

static inline struct vt_verdict vt_used(size_t len)
{
	return (struct vt_verdict){.kind = VT_VERDICT_USED,
				   .len = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len};
}
static inline struct vt_verdict vt_malformed(void)
{
	return (struct vt_verdict){.kind = VT_VERDICT_MALFORMED};
}
static inline struct vt_verdict vt_defer(uint64_t ns)
{
	return (struct vt_verdict){.kind = VT_VERDICT_DEFER, .defer_ns = ns};
}
/* The old convention: a length, or a negative value for malformed. */
static inline struct vt_verdict vt_used_or_malformed(int len)
{
	return len < 0 ? vt_malformed() : vt_used((size_t)len);
}

typedef struct vt_verdict (*vt_chain_handler)(void *priv, struct vt_queue *q, struct vt_chain *c);
typedef void (*vt_batch_hook)(void *priv, struct vt_queue *q);

/* How a device serves one queue. */
struct vt_server {
	vt_chain_handler chain;	 /* required: one verdict per well-formed chain */
	vt_batch_hook after_batch; /* optional: after each batch was published and notified */
	vt_batch_hook malformed;   /* optional: the core completed a chain it found malformed */
	/*
	 * Notification policy. 0: one call per batch. n: with EVENT_IDX the
	 * driver is asked after every completion (loads only; the eventfd is
	 * written when it is due), without it a call every n completions.
	 */
	unsigned notify_every;
	/*
	 * With notify_every 0: also a call before a long batch ends, so a driver
	 * that keeps many requests in flight refills while the worker still has
	 * work, instead of the worker running dry, sleeping and being kicked
	 * awake again. The call comes as late as the driver allows: when the
	 * chains still waiting in the ring are twice the driver's turnaround
	 * plus two (the turnaround: the chains this queue served between its
	 * last mid-batch call and the driver's refill showing in the ring,
	 * learned per queue, up fast and down slowly; a ring that ran dry first
	 * counts as two chains more than were left), but never before half of
	 * what the driver had queued (the completions since the last call reach
	 * the chains still waiting), and again only after the driver added
	 * chains. Until the turnaround is known it comes half-way, if at least
	 * VT_NOTIFY_MID_MIN still wait. A call that wakes a sleeping driver
	 * costs the caller ~9 us on small VMs, so fewer calls are worth the
	 * learning: about one call per (in flight - 2 * turnaround - 2)
	 * completions, and completions reach such a driver in bunches of that
	 * size (throughput over latency, for drivers that keep the ring full);
	 * one extra per batch for a driver that does not refill, none below
	 * 2 * VT_NOTIFY_MID_MIN in flight. The turnaround is counted in chains,
	 * so it assumes chains of similar cost. The driver's suppression
	 * (NO_INTERRUPT or used_event) still decides.
	 */
	bool notify_mid_batch;
};

/* The fewest chains still waiting for which a mid-batch call (notify_mid_batch) pays. */
#define VT_NOTIFY_MID_MIN 8u

/*
 * The serve loop: pops every available chain, asks s->chain for a verdict,
 * completes it (push, push malformed, or unpop and defer), notifies per the
 * policy, re-arms driver notifications and repeats while work arrived
 * meanwhile. Driver kicks are suppressed while it runs (it sees what is
 * added meanwhile) and re-armed when it returns, except on a broken ring. Chains the walk found malformed never reach the handler.
 * Returns 0 (ring drained, notifications armed), -EAGAIN (a verdict deferred)
 * or -EIO (the ring is broken).
 */
int vt_queue_serve(struct vt_queue *q, const struct vt_server *s, void *priv);

/*
 * The available chains must wait: arms the timer when ns > 0 and marks the
 * queue deferred, so the worker sleeps until the timer, a kick or a wake-up
 * instead of polling chains it cannot serve. Off the worker (vt_queue_try_run)
 * it does nothing: the worker was woken and comes to the same conclusion.
 */
void vt_queue_defer(struct vt_queue *q, uint64_t ns);

/* True if the worker would serve q now (started, not broken, enabled or serve_without_enable). Lock held. */
bool vt_queue_servable(const struct vt_queue *q);

/*
 * Cross-thread delivery (a control thread serving a queue without waiting
 * for its worker): takes the queue lock if it is free and, if the queue is
 * servable, runs fn(ctx, q) under it as the worker would run queue_handle.
 * Returns 1 if fn ran and said so, 0 if not (not servable, or fn returned
 * false), -EBUSY if the lock was taken (the worker is woken instead: it
 * serves soon).
 */
typedef bool (*vt_queue_fn)(void *ctx, struct vt_queue *q);
int vt_queue_try_run(struct vt_queue *q, vt_queue_fn fn, void *ctx) VT_MUST_USE;

/* For a device's queue_start/stop: waits for the worker or a delivery to leave the queue. */
void vt_queue_lock(struct vt_queue *q);
void vt_queue_unlock(struct vt_queue *q);

/* The queue's index within its device. */
unsigned vt_queue_index(const struct vt_queue *q);
/* Its counters (metrics, status). */
const struct vt_queue_stats *vt_queue_stats(const struct vt_queue *q);

/* True if both ring indexes are 0: a driver that just (re)initialised the ring. */
bool vt_queue_fresh(const struct vt_queue *q);

#endif
