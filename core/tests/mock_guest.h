/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A mock guest for core unit tests: memfd-backed regions mapped into a
 * vt_guestmem exactly as a front-end's table would be, a bump allocator of
 * guest-physical space, and a driver-side split ring that tests can also
 * corrupt on purpose.
 *
 * Layout: region 0 gpa [0, 1 MiB), region 1 gpa [1 MiB, 2 MiB) (adjacent,
 * so buffers can straddle the boundary), region 2 gpa [4 GiB, 4 GiB+256 KiB).
 */
#ifndef VTRUST_MOCK_GUEST_H
#define VTRUST_MOCK_GUEST_H

#include <stdbool.h>
#include <stdint.h>

#include "guestmem.h"
#include "virtio_ring.h"
#include "virtq.h"

#define MOCK_R1_GPA 0x100000ull
#define MOCK_R2_GPA 0x100000000ull

struct mock_guest {
	int memfd;
	uint8_t *local; /* the test's own mapping of the whole memfd */
	size_t size;
	struct vt_guestmem mem;
	uint64_t next_gpa; /* bump allocator in regions 0/1 */
};

void mock_guest_init(struct mock_guest *g);
void mock_guest_free(struct mock_guest *g);
/* Test-side pointer for a gpa (no bounds checks: test code only). */
void *mock_gpa(struct mock_guest *g, uint64_t gpa);
uint64_t mock_alloc(struct mock_guest *g, uint64_t len, uint64_t align);
/* Host uva the mock front-end "uses" for a gpa in regions 0/1. */
uint64_t mock_uva(uint64_t gpa);

/* Driver side of one split ring. */
struct mock_ring {
	struct mock_guest *g;
	uint32_t num;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t avail_idx;
	uint16_t next_free;
};

void mock_ring_init(struct mock_ring *r, struct mock_guest *g, uint32_t num);
/* Configures q (num, addresses) and maps its rings; q must be initialised on g->mem. */
void mock_ring_attach(struct mock_ring *r, struct vt_queue *q);
/* Writes descriptor i. */
void mock_desc(struct mock_ring *r, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
	       uint16_t next);
/* Makes head available. */
void mock_avail(struct mock_ring *r, uint16_t head);
/* Adds a chain of n direct descriptors starting at desc index `first`. */
uint16_t mock_chain(struct mock_ring *r, uint16_t first, unsigned n, const uint64_t *addr,
		    const uint32_t *len, const bool *writable);

#endif
