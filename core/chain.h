/* SPDX-License-Identifier: Apache-2.0 */
/*
 * struct vt_chain: the one bounded cursor over a descriptor chain.
 *
 * A popped chain is a list of host segments (an iovec view) already
 * translated and bounds-checked by core/virtq.c: readable segments first,
 * then writable ones. Devices read and write guest buffers only through the
 * functions below; every read or write is exact (all n bytes or nothing, the
 * cursor does not move on failure), and no function ever reaches outside the
 * segments.
 *
 * Requests are copied out once (vt_chain_read into a private struct) and
 * validated on the copy. Bulk payloads may be streamed in place with the
 * span functions, which hand out bounded (pointer, length) pairs.
 *
 * A chain popped from a queue stays valid until the next pop on that queue or
 * until it is pushed back.
 */
#ifndef VTRUST_CHAIN_H
#define VTRUST_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "compiler.h"

struct vt_chain {
	uint16_t head; /* descriptor id returned in the used ring */
	uint32_t nseg; /* segments [0, nrd) are readable, [nrd, nseg) writable */
	uint32_t nrd;
	struct iovec *seg;
	size_t rd_total;
	size_t wr_total;
	/* read cursor */
	uint32_t rd_i;
	size_t rd_off;
	size_t rd_done;
	/* write cursor */
	uint32_t wr_i;
	size_t wr_off;
	size_t wr_done;
};

/* Sets up a chain over caller-owned segments (used by virtq.c and tests). */
void vt_chain_init(struct vt_chain *c, uint16_t head, struct iovec *seg, uint32_t nrd,
		   uint32_t nwr);

static inline size_t vt_chain_readable(const struct vt_chain *c)
{
	return c->rd_total - c->rd_done;
}
static inline size_t vt_chain_writable(const struct vt_chain *c)
{
	return c->wr_total - c->wr_done;
}
/* Bytes written so far through the write cursor (the usual used.len). */
static inline size_t vt_chain_written(const struct vt_chain *c)
{
	return c->wr_done;
}

/* Copies exactly n readable bytes to dst; -EMSGSIZE (cursor unmoved) if fewer remain. */
int vt_chain_read(struct vt_chain *c, void *dst, size_t n) VT_MUST_USE;
/* Skips exactly n readable bytes; -EMSGSIZE if fewer remain. */
int vt_chain_skip(struct vt_chain *c, size_t n) VT_MUST_USE;
/*
 * Next contiguous readable span of at most max bytes; advances past it.
 * Returns the span length (0 when nothing remains).
 */
size_t vt_chain_read_span(struct vt_chain *c, size_t max, const uint8_t **ret_p);

/* Writes exactly n bytes; -EMSGSIZE (cursor unmoved) if fewer writable bytes remain. */
int vt_chain_write(struct vt_chain *c, const void *src, size_t n) VT_MUST_USE;
/* Next contiguous writable span of at most max bytes; advances past it (caller fills it). */
size_t vt_chain_write_span(struct vt_chain *c, size_t max, uint8_t **ret_p);
/*
 * Writes n bytes at the very end of the writable area, independent of the
 * write cursor (virtio-crypto puts its status in the last writable byte).
 * -EMSGSIZE if the writable area is smaller than n.
 */
int vt_chain_write_tail(struct vt_chain *c, const void *src, size_t n) VT_MUST_USE;

/*
 * Copies exactly n bytes from the read cursor to the write cursor, both
 * advancing; -EMSGSIZE (nothing moved) unless both sides have n bytes.
 */
int vt_chain_copy(struct vt_chain *c, size_t n) VT_MUST_USE;

#endif
