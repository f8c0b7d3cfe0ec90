/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Guest RAM for the probe: one memfd mapped MAP_SHARED, cut into regions at
 * guest-physical addresses exactly as a VMM would hand them to a vhost-user
 * back-end, plus an allocator of guest-physical ranges.
 *
 * Every region is a slice of the same memfd. The probe's own mapping covers
 * the whole file, so a region's local pointer is map + fd_offset, and the
 * "userspace address" sent in SET_MEM_TABLE is that pointer, as QEMU sends
 * its own virtual address.
 *
 * Layouts:
 *  - Q35: [gpa 0, 0xa0000) and [0xc0000, size) with fd offset == gpa, as
 *    QEMU's q35 machine lays out RAM below 4 GiB (a hole for VGA/ROM).
 *  - GAPPED: n equal regions separated by 1 MiB gaps in guest-physical space.
 *  - ADJACENT: n equal regions whose guest-physical ranges touch but whose
 *    fd offsets do not (a poisoned page separates them in the file). A
 *    buffer can straddle two regions, which forces a back-end to split it
 *    into two iovecs; a back-end that assumes one contiguous mapping reads
 *    the poison page instead of the data.
 */
#ifndef VTRUST_PROBE_FE_MEM_H
#define VTRUST_PROBE_FE_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"
#include "vhost_user_proto.h"

#define FE_MEM_MAX_REGIONS VT_MAX_MEM_SLOTS
#define FE_MEM_DEFAULT_SIZE (64ull << 20)
/* Filler of the file gaps between ADJACENT regions. */
#define FE_MEM_POISON 0xa5

enum fe_mem_layout {
	FE_MEM_LAYOUT_Q35,
	FE_MEM_LAYOUT_GAPPED,
	FE_MEM_LAYOUT_ADJACENT,
};

struct fe_mem_opts {
	uint64_t size;	   /* total RAM; 0 = FE_MEM_DEFAULT_SIZE */
	unsigned nregions; /* GAPPED/ADJACENT; 0 = 2. Q35 is always 2 */
	enum fe_mem_layout layout;
	bool no_populate; /* skip MAP_POPULATE (pre-faulting) */
	bool allow_sealing; /* MFD_ALLOW_SEALING: a back-end may seal the memfd (QEMU's seal=on) */
};

struct fe_mem_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t fd_offset; /* offset into the memfd (mmap_offset on the wire) */
	uint64_t uva;	    /* our virtual address of gpa: userspace_addr */
	uint8_t *host;	    /* same as uva, as a pointer */
};

struct fe_mem_extent {
	uint64_t gpa;
	uint64_t size;
	unsigned region;
};

/* Fields are read-only for users; change them only through the functions. */
struct fe_mem {
	int fd;
	uint8_t *map;
	uint64_t map_size;
	enum fe_mem_layout layout;
	unsigned nregions;
	struct fe_mem_region regions[FE_MEM_MAX_REGIONS];
	/* Free extents, sorted by gpa, never spanning two regions. */
	struct fe_mem_extent *free;
	size_t nfree;
	size_t free_cap;
};

VT_MUST_USE int fe_mem_create(const struct fe_mem_opts *opts, struct fe_mem **ret);
/* Accepts NULL; returns NULL. */
struct fe_mem *fe_mem_free(struct fe_mem *m);

/*
 * Allocates size bytes inside one region, aligned to align (a power of two;
 * 0 means 1). Returns -ENOMEM when no free extent fits.
 */
VT_MUST_USE int fe_mem_alloc(struct fe_mem *m, uint64_t size, uint64_t align, uint64_t *ret_gpa);
/* Same, returning the local pointer too (the range never crosses a region). */
VT_MUST_USE void *fe_mem_alloc_ptr(struct fe_mem *m, uint64_t size, uint64_t align,
				   uint64_t *ret_gpa);
/*
 * Allocates size bytes that straddle the first boundary between two regions
 * with contiguous guest-physical ranges: `before` bytes end the lower region
 * and size - before bytes start the upper one. -ENOTSUP if no two regions
 * touch (Q35, GAPPED), -ENOMEM if the bytes around every boundary are taken.
 */
VT_MUST_USE int fe_mem_alloc_straddle(struct fe_mem *m, uint64_t size, uint64_t before,
				      uint64_t *ret_gpa);
/* Returns -EINVAL if any part of the range is already free or outside RAM. */
int fe_mem_release(struct fe_mem *m, uint64_t gpa, uint64_t size);
/* Frees every allocation. */
void fe_mem_reset(struct fe_mem *m);
uint64_t fe_mem_free_bytes(const struct fe_mem *m);

/* Region holding gpa, or NULL. */
const struct fe_mem_region *fe_mem_find(const struct fe_mem *m, uint64_t gpa);
/* Local pointer for [gpa, gpa+len) if the whole range lies in one region, else NULL. */
void *fe_mem_ptr(const struct fe_mem *m, uint64_t gpa, uint64_t len);
/* User address for [gpa, gpa+len) inside one region (ring addresses). */
VT_MUST_USE int fe_mem_gpa_to_uva(const struct fe_mem *m, uint64_t gpa, uint64_t len,
				  uint64_t *ret_uva);
/* Copies in or out across region boundaries when the gpa range is contiguous. */
VT_MUST_USE int fe_mem_write(struct fe_mem *m, uint64_t gpa, const void *buf, size_t len);
VT_MUST_USE int fe_mem_read(const struct fe_mem *m, uint64_t gpa, void *buf, size_t len);
VT_MUST_USE int fe_mem_fill(struct fe_mem *m, uint64_t gpa, int byte, size_t len);

/* A guest-physical address with at least 4 KiB outside every region after it. */
uint64_t fe_mem_hole(const struct fe_mem *m);
/* The wire form of region i. */
void fe_mem_region_wire(const struct fe_mem *m, unsigned i, struct vhost_user_mem_region *out);

const char *fe_mem_layout_name(enum fe_mem_layout l);
int fe_mem_layout_parse(const char *s, enum fe_mem_layout *ret);

#endif
