/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Driver side of a split virtqueue (virtio 1.x §2.7), living in fe_mem
 * guest memory: what a guest's virtio driver does, minus the transport.
 *
 * The device (the back-end under test) is untrusted. Like Linux's
 * virtio_ring.c we keep our own copy of the chain links and lengths and
 * never re-read them from shared memory; a used entry with an id that is
 * not an outstanding head, a len above the chain's writable bytes, or a
 * used idx that runs more than num ahead marks the queue broken (sticky,
 * reason in vq->error) until fe_vq_reset().
 *
 * Barriers: ring entries are plain stores published by a release store of
 * avail->idx; used->idx is read with acquire; a full fence separates
 * "publish" from "read the device's suppression state", as virtio_mb().
 */
#ifndef VTRUST_PROBE_FE_VQ_H
#define VTRUST_PROBE_FE_VQ_H

#include <stdbool.h>
#include <stdint.h>

#include "compiler.h"
#include "vhost_user_proto.h"
#include "virtio_ring.h"

struct fe_mem;

/* One buffer of a chain: readable by the device unless write is set. */
struct fe_seg {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

/* A completion. */
struct fe_used {
	uint16_t id;	   /* head descriptor index */
	uint32_t len;	   /* bytes the device says it wrote */
	uint64_t writable; /* writable bytes the chain offered */
	void *token;	   /* what fe_vq_add() was given */
};

struct fe_vq_stats {
	uint64_t added;
	uint64_t completed;
	uint64_t kicks;		   /* eventfd writes */
	uint64_t kicks_suppressed; /* skipped thanks to NO_NOTIFY / avail_event */
	uint64_t calls;		   /* call eventfd wake-ups consumed */
};

struct fe_vq_slot {
	void *token;
	uint64_t writable;
	uint64_t indirect_gpa;
	uint32_t indirect_size; /* 0: direct chain */
	uint16_t ndesc;		/* ring descriptors the chain holds */
	uint16_t last;		/* its last ring descriptor */
	bool busy;
};

enum fe_vq_wait_mode {
	FE_VQ_WAIT_EVENTFD, /* sleep on the call eventfd (re-arming used_event / flags) */
	FE_VQ_WAIT_POLL,    /* spin on used->idx with notifications suppressed (benchmarks) */
};

/* fe_vq_add() flags. */
#define FE_VQ_ADD_INDIRECT 0x1u /* one indirect table instead of direct descriptors */

/* Fields are read-only for users. */
struct fe_vq {
	struct fe_mem *mem;
	uint32_t index; /* vring index on the wire */
	uint16_t num;
	bool event_idx; /* from fe_vq_set_features() */

	uint64_t desc_gpa, avail_gpa, used_gpa;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t *used_event;  /* avail->ring[num] */
	uint16_t *avail_event; /* after used->ring[num] */

	int kick_fd;	    /* we write; the back-end reads (SET_VRING_KICK) */
	int call_fd;	    /* the back-end writes; we read (SET_VRING_CALL at start) */
	int err_fd;	    /* SET_VRING_ERR */
	int masked_call_fd; /* SET_VRING_CALL at init, like QEMU's masked notifier;
			       fe_vq_wait() listens to it too, as QEMU forwards it */

	uint16_t avail_idx; /* shadow of avail->idx */
	uint16_t num_added; /* published since the last kick decision */
	uint16_t last_used;
	uint16_t free_head;
	uint16_t num_free;
	uint16_t *next; /* our copy of the links: free list and chains */
	struct fe_vq_slot *slots;

	uint32_t base; /* SET_VRING_BASE for the next start (GET_VRING_BASE stores it) */
	bool broken;
	bool raw;     /* raw writes happened: only fe_vq_reset() makes it usable again */
	bool polling; /* notifications currently suppressed for FE_VQ_WAIT_POLL */
	struct fe_vq_stats stats;
	char error[192];
};

/* num: a power of two, 1..32768. Rings are allocated in mem with spec alignment. */
VT_MUST_USE int fe_vq_create(struct fe_mem *mem, uint32_t index, uint16_t num, struct fe_vq **ret);
/* Releases ring memory back to mem (so free vqs before their mem). Accepts NULL. */
struct fe_vq *fe_vq_free(struct fe_vq *vq);
/*
 * Back to a fresh ring: indexes 0, free list full, base 0, not broken.
 * fresh_addresses allocates new ring areas (then frees the old ones), so
 * a back-end that kept stale pointers is caught.
 */
VT_MUST_USE int fe_vq_reset(struct fe_vq *vq, bool fresh_addresses);
/* Ring behaviour: VIRTIO_RING_F_EVENT_IDX (INDIRECT is chosen per add). */
void fe_vq_set_features(struct fe_vq *vq, uint64_t features);
/* SET_VRING_ADDR payload: our user addresses of the three areas. */
VT_MUST_USE int fe_vq_addr(const struct fe_vq *vq, struct vhost_vring_addr *ret);

/*
 * Adds a chain and publishes it (avail idx, release). Returns the head index
 * or -ENOSPC (not enough free descriptors / memory for the table), -EINVAL,
 * -EPROTO (broken), -EBUSY (raw writes happened).
 */
VT_MUST_USE int fe_vq_add(struct fe_vq *vq, const struct fe_seg *segs, unsigned nsegs,
			  unsigned flags, void *token);
/* Notifies the device if it asked for it: 1 kicked, 0 suppressed, <0 error. */
VT_MUST_USE int fe_vq_kick(struct fe_vq *vq);
/* Writes the kick eventfd whatever the device asked. */
VT_MUST_USE int fe_vq_notify(struct fe_vq *vq);
/* 0 when a used entry is pending, -ETIMEDOUT, -EPROTO when broken. */
VT_MUST_USE int fe_vq_wait(struct fe_vq *vq, int timeout_ms, enum fe_vq_wait_mode mode);
/* 0 and *ret filled, -EAGAIN when none is pending, -EPROTO when broken. */
VT_MUST_USE int fe_vq_get_used(struct fe_vq *vq, struct fe_used *ret);
/* add + kick + wait + get_used, for one request at a time. */
VT_MUST_USE int fe_vq_submit(struct fe_vq *vq, const struct fe_seg *segs, unsigned nsegs,
			     unsigned flags, int timeout_ms, struct fe_used *ret);
/* Outstanding chains. */
unsigned fe_vq_in_flight(const struct fe_vq *vq);
/* Reads and clears the call eventfds (both); returns the count (0 if none). */
uint64_t fe_vq_drain_call(struct fe_vq *vq);

/* ---- Raw access for hostile-input tests (marks the vq raw; reset after). ---- */

void fe_vq_raw_desc(struct fe_vq *vq, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		    uint16_t next);
/* Writes head into the next avail slot and advances the shadow idx (not published). */
void fe_vq_raw_push(struct fe_vq *vq, uint16_t head);
/* Stores avail->idx = idx (release) and makes it the shadow. */
void fe_vq_raw_publish(struct fe_vq *vq, uint16_t idx);
void fe_vq_raw_avail_flags(struct fe_vq *vq, uint16_t flags);
void fe_vq_raw_used_event(struct fe_vq *vq, uint16_t v);
/* Current used->idx (acquire). */
uint16_t fe_vq_used_idx(const struct fe_vq *vq);

#endif
