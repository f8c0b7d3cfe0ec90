/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A mock guest driving one crypto device without sockets: a real struct
 * vt_device (vt_device_new, never connected, manual queues) whose rings live
 * in a mock guest (core/tests/mock_guest.h). The tests play the guest
 * driver: cx_submit() lays a request out as descriptors the way a driver
 * would (optionally split into many small segments, optionally with a
 * separate status descriptor as Linux does, optionally in one indirect
 * table), calls the queue handler as a worker would and returns what the
 * device wrote. Unwritten writable bytes keep a 0xEE canary, so zero-filling
 * is caught.
 */
#ifndef VTRUST_CRYPTO_TEST_CX_H
#define VTRUST_CRYPTO_TEST_CX_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto_dev.h"
#include "device.h"
#include "log.h"
#include "mock_guest.h"
#include "test_util.h"
#include "virtio_crypto_req.h"

#define CX_QSIZE 128u
#define CX_MAXQ 5
#define CX_CANARY 0xee

#define F_REV1 (1ull << VC_F_REVISION_1)
#define F_STATELESS                                                                                \
	(F_REV1 | (1ull << VC_F_CIPHER_STATELESS_MODE) | (1ull << VC_F_HASH_STATELESS_MODE) |       \
	 (1ull << VC_F_MAC_STATELESS_MODE) | (1ull << VC_F_AEAD_STATELESS_MODE) |                  \
	 (1ull << VC_F_AKCIPHER_STATELESS_MODE))

struct cx {
	struct mock_guest g;
	struct mock_ring r[CX_MAXQ];
	struct vc_dev *d;
	struct vt_device *vd;
	unsigned nq;
	unsigned ctrl;     /* control queue index */
	uint64_t features; /* what the driver acked */
	uint64_t mark;     /* allocator position before request buffers */
};

static inline void cx_init(struct cx *x, const struct vc_opts *o, uint64_t features)
{
	memset(x, 0, sizeof(*x));
	mock_guest_init(&x->g);
	if (vc_dev_new("crypto-test", o, &x->d) < 0) {
		fprintf(stderr, "vc_dev_new failed\n");
		abort();
	}
	x->vd = vt_device_new("crypto-test", &vc_crypto_ops, x->d);
	if (!x->vd)
		abort();
	x->vd->manual_queues = true;
	x->nq = x->vd->nqueues;
	x->ctrl = x->nq - 1;
	if (x->nq > CX_MAXQ)
		abort();
	for (unsigned i = 0; i < x->nq; i++) {
		struct vt_queue *q = &x->vd->queues[i];
		q->mem = &x->g.mem;
		mock_ring_init(&x->r[i], &x->g, CX_QSIZE);
		mock_ring_attach(&x->r[i], q);
	}
	x->features = features;
	vc_crypto_ops.set_features(x->d, features);
	x->mark = x->g.next_gpa;
}

static inline void cx_free(struct cx *x)
{
	for (unsigned i = 0; i < x->nq; i++)
		x->vd->queues[i].mem = &x->vd->mem;
	vt_device_free(x->vd);
	vc_dev_free(x->d);
	mock_guest_free(&x->g);
}

struct cx_req {
	const uint8_t *rd;
	size_t rd_len;
	size_t rsplit; /* readable segment size (0: one segment) */
	size_t wr_len; /* writable bytes including the status byte */
	size_t wsplit; /* writable segment size (0: one segment) */
	bool sep_status; /* the last writable byte in its own descriptor (Linux) */
	bool indirect;
	/* In-place: the first alias_len writable bytes are the readable bytes at alias_off. */
	size_t alias_off, alias_len;
};

/*
 * Submits rq on queue qi, serves it, copies the writable area (wr_len
 * bytes) into out (may be NULL). Returns the used length, or -1 if the
 * device did not complete the chain.
 */
static inline long cx_submit(struct cx *x, unsigned qi, const struct cx_req *rq, uint8_t *out)
{
	struct mock_ring *r = &x->r[qi];
	x->g.next_gpa = x->mark;
	uint64_t rbuf = mock_alloc(&x->g, rq->rd_len ? rq->rd_len : 1, 64);
	uint64_t wbuf = mock_alloc(&x->g, rq->wr_len ? rq->wr_len : 1, 64);
	if (rq->rd_len)
		memcpy(mock_gpa(&x->g, rbuf), rq->rd, rq->rd_len);
	memset(mock_gpa(&x->g, wbuf), CX_CANARY, rq->wr_len);

	/* Segment list: readable pieces, writable pieces (status apart if asked). */
	enum { MAXSEG = 4096 };
	static uint64_t addr[MAXSEG];
	static uint32_t len[MAXSEG];
	static bool wr[MAXSEG];
	unsigned n = 0;
	for (size_t off = 0; off < rq->rd_len && n < MAXSEG; n++) {
		size_t l = rq->rsplit ? VT_MIN(rq->rsplit, rq->rd_len - off) : rq->rd_len;
		addr[n] = rbuf + off;
		len[n] = (uint32_t)l;
		wr[n] = false;
		off += l;
	}
	size_t wbody = rq->sep_status && rq->wr_len ? rq->wr_len - 1 : rq->wr_len;
	for (size_t off = 0; off < rq->alias_len && n < MAXSEG; n++) {
		size_t l = rq->wsplit ? VT_MIN(rq->wsplit, rq->alias_len - off) : rq->alias_len;
		addr[n] = rbuf + rq->alias_off + off;
		len[n] = (uint32_t)l;
		wr[n] = true;
		off += l;
	}
	for (size_t off = rq->alias_len; off < wbody && n < MAXSEG; n++) {
		size_t l = rq->wsplit ? VT_MIN(rq->wsplit, wbody - off) : wbody - off;
		addr[n] = wbuf + off;
		len[n] = (uint32_t)l;
		wr[n] = true;
		off += l;
	}
	if (rq->sep_status && rq->wr_len) {
		addr[n] = wbuf + rq->wr_len - 1;
		len[n] = 1;
		wr[n++] = true;
	}
	if (n == 0 || n >= MAXSEG)
		abort();
	uint16_t head = 0;
	if (rq->indirect || n > CX_QSIZE / 2) {
		uint64_t tbl = mock_alloc(&x->g, 16ull * n, 16);
		struct vring_desc *t = mock_gpa(&x->g, tbl);
		for (unsigned i = 0; i < n; i++) {
			t[i].addr = addr[i];
			t[i].len = len[i];
			t[i].flags = (uint16_t)((i + 1 < n ? VRING_DESC_F_NEXT : 0) |
						(wr[i] ? VRING_DESC_F_WRITE : 0));
			t[i].next = (uint16_t)(i + 1);
		}
		mock_desc(r, head, tbl, 16u * n, VRING_DESC_F_INDIRECT, 0);
		mock_avail(r, head);
	} else {
		mock_chain(r, head, n, addr, len, wr);
	}
	uint16_t before = r->used->idx;
	vc_crypto_ops.queue_handle(x->d, &x->vd->queues[qi]);
	if (r->used->idx != (uint16_t)(before + 1))
		return -1;
	struct vring_used_elem *e = &r->used->ring[before % r->num];
	if (out) {
		memcpy(out, mock_gpa(&x->g, wbuf), rq->wr_len);
		if (rq->alias_len)
			memcpy(out, mock_gpa(&x->g, rbuf + rq->alias_off), rq->alias_len);
	}
	return (long)e->len;
}

/* ---- Control queue helpers ------------------------------------------------- */

/* Sends hdr||keys on the control queue; returns the status, *id on success. */
static inline uint8_t cx_ctrl_create(struct cx *x, const uint8_t *hdr, size_t hlen,
				     const uint8_t *keys, size_t klen, uint64_t *id)
{
	uint8_t req[VCB_HDR_MAX + 8192];
	if (hlen + klen > sizeof(req))
		abort();
	memcpy(req, hdr, hlen);
	if (klen)
		memcpy(req + hlen, keys, klen);
	struct cx_req rq = {.rd = req, .rd_len = hlen + klen, .wr_len = 16};
	uint8_t out[16];
	long used = cx_submit(x, x->ctrl, &rq, out);
	if (used != 16)
		return 0xff;
	struct vc_session_input in;
	memcpy(&in, out, sizeof(in));
	if (id)
		*id = in.session_id;
	return (uint8_t)in.status;
}

static inline uint8_t cx_ctrl_destroy(struct cx *x, uint32_t opcode, uint64_t id)
{
	uint8_t req[VCB_HDR_MAX];
	size_t l = vcb_ctrl_destroy(req, x->features, opcode, id);
	struct cx_req rq = {.rd = req, .rd_len = l, .wr_len = 1};
	uint8_t st = 0xff;
	if (cx_submit(x, x->ctrl, &rq, &st) != 1)
		return 0xff;
	return st;
}

/* ---- Hex helpers ---------------------------------------------------------------- */

static inline size_t cx_unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = strlen(hex) / 2;
	if (n > cap)
		abort();
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			abort();
		out[i] = (uint8_t)v;
	}
	return n;
}

static inline bool cx_eq(const uint8_t *a, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

static inline void cx_opts(struct vc_opts *o)
{
	vc_opts_default(o);
	o->secure_heap = 0; /* process-wide; tests do not need it */
}

#endif
