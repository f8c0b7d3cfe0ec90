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
 * validated on the copy. Bulk payloads stream through callbacks without a
 * guest pointer ever reaching the device: vt_chain_consume / vt_chain_peek
 * hand readable bytes to a function (digests, MACs, AAD), vt_chain_produce
 * lets one fill writable bytes (DRBG output), and vt_chain_transform takes
 * n readable bytes through a function into n writable bytes (ciphers), in
 * whole units, with a bounce block for units that straddle segments. Every
 * function checks sizes before anything moves: on -EMSGSIZE the cursor is
 * where it was. (A callback's own failure is returned as is; the request
 * has failed then and the cursor stands inside it.)
 *
 * The raw span functions at the end hand out guest pointers: core only
 * (scripts/lint.sh fails the build on them anywhere else).
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
	bool redo;     /* in flight when the previous process died: served again */
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
 * Copies the n readable bytes that start off bytes past the read cursor
 * (data that follows what is read next: AEAD AAD after src, a tag after
 * ciphertext) without moving the cursor; -EMSGSIZE unless all are there.
 */
int vt_chain_read_at(const struct vt_chain *c, size_t off, void *dst, size_t n) VT_MUST_USE;

/* Writes exactly n bytes; -EMSGSIZE (cursor unmoved) if fewer writable bytes remain. */
int vt_chain_write(struct vt_chain *c, const void *src, size_t n) VT_MUST_USE;
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

/* Callbacks: 0 to go on, negative errno to stop (returned to the caller as is). */
typedef int (*vt_chain_in_fn)(void *ctx, const uint8_t *in, size_t len);
typedef int (*vt_chain_out_fn)(void *ctx, uint8_t *out, size_t len);
typedef int (*vt_chain_xform_fn)(void *ctx, uint8_t *out, const uint8_t *in, size_t len);

/* Hands exactly n readable bytes to fn in pieces, advancing; -EMSGSIZE (unmoved) if fewer. */
int vt_chain_consume(struct vt_chain *c, size_t n, vt_chain_in_fn fn, void *ctx) VT_MUST_USE;
/* The same for the n readable bytes off bytes past the cursor, which does not move. */
int vt_chain_peek(const struct vt_chain *c, size_t off, size_t n, vt_chain_in_fn fn,
		  void *ctx) VT_MUST_USE;
/* Lets fn fill exactly n writable bytes in pieces, advancing; -EMSGSIZE (unmoved) if fewer. */
int vt_chain_produce(struct vt_chain *c, size_t n, vt_chain_out_fn fn, void *ctx) VT_MUST_USE;

/*
 * True if the next n readable bytes lie in one segment and so do the next n
 * writable bytes (a whole-message transform then needs no bounce block).
 */
bool vt_chain_contiguous(const struct vt_chain *c, size_t n);

/* Units up to this size straddle segment boundaries through a block of the cursor's own. */
#define VT_CHAIN_BOUNCE_MAX 64u

/*
 * Transforms exactly n readable bytes into n writable bytes through fn, both
 * cursors advancing. fn sees pieces that are whole multiples of unit bytes
 * and contiguous on both sides (in and out may be the same guest bytes: a
 * driver may encrypt in place or alias on purpose); a unit that straddles a
 * segment boundary on either side goes through a bounce block: the caller's
 * bounce (unit bytes of private memory, which the caller wipes) or, when
 * bounce is NULL and unit <= VT_CHAIN_BOUNCE_MAX, one on the stack that is
 * wiped before return. A whole-message algorithm (XTS data units, CCM)
 * passes unit = n, and may pass no bounce when vt_chain_contiguous(c, n).
 * -EMSGSIZE (nothing moved) unless both sides hold n bytes; -EINVAL (nothing
 * moved) if unit is 0, does not divide n, or needs a bounce it lacks.
 */
int vt_chain_transform(struct vt_chain *c, size_t n, size_t unit, uint8_t *bounce,
		       vt_chain_xform_fn fn, void *ctx) VT_MUST_USE;

/* ---- core only (lint: raw-span) ---------------------------------------- */

/*
 * Next contiguous readable span of at most max bytes; advances past it.
 * Returns the span length (0 when nothing remains).
 */
size_t vt_chain_raw_read_span(struct vt_chain *c, size_t max, const uint8_t **ret_p);
/* Next contiguous writable span of at most max bytes; advances past it (caller fills it). */
size_t vt_chain_raw_write_span(struct vt_chain *c, size_t max, uint8_t **ret_p);

#endif
