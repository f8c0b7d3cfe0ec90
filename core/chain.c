/* SPDX-License-Identifier: Apache-2.0 */
#include "chain.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "secmem.h"

/*
 * Debug builds (buildtype debug, sanitizers) check the cursor's invariants
 * after every move: a violation is our bug, never the guest's, so it aborts.
 */
#ifdef VT_CHAIN_DEBUG
static void chain_check(const struct vt_chain *c, const char *where)
{
	bool ok = c->nrd <= c->nseg && c->rd_i <= c->nrd && c->wr_i >= c->nrd &&
		  c->wr_i <= c->nseg && c->rd_done <= c->rd_total && c->wr_done <= c->wr_total;
	size_t rd = 0, wr = 0;
	for (uint32_t i = 0; ok && i < c->rd_i; i++)
		rd += c->seg[i].iov_len;
	for (uint32_t i = c->nrd; ok && i < c->wr_i; i++)
		wr += c->seg[i].iov_len;
	if (ok)
		ok = (c->rd_i < c->nrd ? c->rd_off <= c->seg[c->rd_i].iov_len : c->rd_off == 0) &&
		     (c->wr_i < c->nseg ? c->wr_off <= c->seg[c->wr_i].iov_len : c->wr_off == 0) &&
		     rd + c->rd_off == c->rd_done && wr + c->wr_off == c->wr_done;
	if (!ok) {
		vt_err("chain cursor invariant broken after %s (rd %u/%u+%zu done %zu/%zu, wr "
		       "%u/%u+%zu done %zu/%zu)",
		       where, c->rd_i, c->nrd, c->rd_off, c->rd_done, c->rd_total, c->wr_i, c->nseg,
		       c->wr_off, c->wr_done, c->wr_total);
		abort();
	}
}
#define CHAIN_CHECK(c) chain_check((c), __func__)
#else
#define CHAIN_CHECK(c) ((void)(c))
#endif

void vt_chain_init(struct vt_chain *c, uint16_t head, struct iovec *seg, uint32_t nrd,
		   uint32_t nwr)
{
	memset(c, 0, sizeof(*c));
	c->head = head;
	c->seg = seg;
	c->nrd = nrd;
	c->nseg = nrd + nwr;
	for (uint32_t i = 0; i < nrd; i++)
		c->rd_total += seg[i].iov_len;
	for (uint32_t i = nrd; i < c->nseg; i++)
		c->wr_total += seg[i].iov_len;
	c->rd_i = 0;
	c->wr_i = nrd;
	CHAIN_CHECK(c);
}

/*
 * Walks [*idx, end) segments from offset *off, handing out up to max bytes of
 * the current segment. Skips empty segments. Returns the span length.
 */
static size_t next_span(const struct vt_chain *c, uint32_t *idx, size_t *off, uint32_t end,
			size_t max, uint8_t **ret_p)
{
	while (*idx < end && *off >= c->seg[*idx].iov_len) {
		(*idx)++;
		*off = 0;
	}
	if (*idx >= end || max == 0)
		return 0;
	size_t avail = c->seg[*idx].iov_len - *off;
	size_t n = VT_MIN(avail, max);
	*ret_p = (uint8_t *)c->seg[*idx].iov_base + *off;
	*off += n;
	return n;
}

size_t vt_chain_raw_read_span(struct vt_chain *c, size_t max, const uint8_t **ret_p)
{
	uint8_t *p = NULL;
	size_t n = next_span(c, &c->rd_i, &c->rd_off, c->nrd, max, &p);
	c->rd_done += n;
	*ret_p = p;
	CHAIN_CHECK(c);
	return n;
}

size_t vt_chain_raw_write_span(struct vt_chain *c, size_t max, uint8_t **ret_p)
{
	size_t n = next_span(c, &c->wr_i, &c->wr_off, c->nseg, max, ret_p);
	c->wr_done += n;
	CHAIN_CHECK(c);
	return n;
}

int vt_chain_consume(struct vt_chain *c, size_t n, vt_chain_in_fn fn, void *ctx)
{
	if (vt_chain_readable(c) < n)
		return -EMSGSIZE;
	while (n) {
		const uint8_t *p;
		size_t k = vt_chain_raw_read_span(c, n, &p);
		int e = fn(ctx, p, k);
		if (e < 0)
			return e;
		n -= k;
	}
	return 0;
}

int vt_chain_peek(const struct vt_chain *c, size_t off, size_t n, vt_chain_in_fn fn, void *ctx)
{
	size_t end;
	if (vt_add_overflow(off, n, &end) || vt_chain_readable(c) < end)
		return -EMSGSIZE;
	struct vt_chain look = *c; /* a private cursor: the caller's does not move */
	int e = vt_chain_skip(&look, off);
	return e < 0 ? e : vt_chain_consume(&look, n, fn, ctx);
}

int vt_chain_produce(struct vt_chain *c, size_t n, vt_chain_out_fn fn, void *ctx)
{
	if (vt_chain_writable(c) < n)
		return -EMSGSIZE;
	while (n) {
		uint8_t *p;
		size_t k = vt_chain_raw_write_span(c, n, &p);
		int e = fn(ctx, p, k);
		if (e < 0)
			return e;
		n -= k;
	}
	return 0;
}

static int copy_in(void *ctx, const uint8_t *in, size_t len)
{
	uint8_t **d = ctx;
	memcpy(*d, in, len);
	*d += len;
	return 0;
}

static int copy_out(void *ctx, uint8_t *out, size_t len)
{
	const uint8_t **s = ctx;
	memcpy(out, *s, len);
	*s += len;
	return 0;
}

int vt_chain_read(struct vt_chain *c, void *dst, size_t n)
{
	/* Most reads (headers, IVs, tags) lie in the current segment: one memcpy. */
	if (n && c->rd_i < c->nrd && c->seg[c->rd_i].iov_len - c->rd_off >= n) {
		memcpy(dst, (const uint8_t *)c->seg[c->rd_i].iov_base + c->rd_off, n);
		c->rd_off += n;
		c->rd_done += n;
		CHAIN_CHECK(c);
		return 0;
	}
	uint8_t *d = dst;
	return vt_chain_consume(c, n, copy_in, &d);
}

int vt_chain_read_at(const struct vt_chain *c, size_t off, void *dst, size_t n)
{
	uint8_t *d = dst;
	return vt_chain_peek(c, off, n, copy_in, &d);
}

static int ignore(void *ctx, const uint8_t *in, size_t len)
{
	(void)ctx;
	(void)in;
	(void)len;
	return 0;
}

int vt_chain_skip(struct vt_chain *c, size_t n)
{
	return vt_chain_consume(c, n, ignore, NULL);
}

int vt_chain_write(struct vt_chain *c, const void *src, size_t n)
{
	/* The same for writes that fit the current segment (a tag, a digest). */
	if (n && c->wr_i < c->nseg && c->seg[c->wr_i].iov_len - c->wr_off >= n) {
		memcpy((uint8_t *)c->seg[c->wr_i].iov_base + c->wr_off, src, n);
		c->wr_off += n;
		c->wr_done += n;
		CHAIN_CHECK(c);
		return 0;
	}
	const uint8_t *s = src;
	return vt_chain_produce(c, n, copy_out, &s);
}

int vt_chain_write_tail(struct vt_chain *c, const void *src, size_t n)
{
	if (c->wr_total < n)
		return -EMSGSIZE;
	/* Walk backwards from the last writable segment. */
	const uint8_t *s = (const uint8_t *)src + n;
	uint32_t i = c->nseg;
	while (n && i > c->nrd) {
		i--;
		size_t len = c->seg[i].iov_len;
		size_t k = VT_MIN(len, n);
		s -= k;
		n -= k;
		memcpy((uint8_t *)c->seg[i].iov_base + (len - k), s, k);
	}
	return 0;
}

int vt_chain_copy(struct vt_chain *c, size_t n)
{
	if (vt_chain_readable(c) < n || vt_chain_writable(c) < n)
		return -EMSGSIZE;
	while (n) {
		const uint8_t *src;
		size_t k = vt_chain_raw_read_span(c, n, &src);
		size_t left = k;
		while (left) {
			uint8_t *dst;
			size_t w = vt_chain_raw_write_span(c, left, &dst);
			/* memmove: a hostile driver may alias readable and writable buffers. */
			memmove(dst, src, w);
			src += w;
			left -= w;
		}
		n -= k;
	}
	return 0;
}

/* The current span of one side and how much of the request is still to fetch. */
struct span_in {
	const uint8_t *p;
	size_t n, left;
};
struct span_out {
	uint8_t *p;
	size_t n, left;
};

static size_t fill_in(struct vt_chain *c, struct span_in *r)
{
	if (!r->n) {
		r->n = vt_chain_raw_read_span(c, r->left, &r->p);
		r->left -= r->n;
	}
	return r->n;
}

static size_t fill_out(struct vt_chain *c, struct span_out *w)
{
	if (!w->n) {
		w->n = vt_chain_raw_write_span(c, w->left, &w->p);
		w->left -= w->n;
	}
	return w->n;
}

/* One unit that straddles a boundary: gather into b, transform in place, scatter. */
static int transform_bounced(struct vt_chain *c, struct span_in *r, struct span_out *w,
			     size_t unit, uint8_t *b, vt_chain_xform_fn fn, void *ctx)
{
	for (size_t got = 0; got < unit;) {
		size_t t = VT_MIN(fill_in(c, r), unit - got);
		memcpy(b + got, r->p, t);
		r->p += t;
		r->n -= t;
		got += t;
	}
	int e = fn(ctx, b, b, unit);
	if (e < 0)
		return e;
	for (size_t put = 0; put < unit;) {
		size_t t = VT_MIN(fill_out(c, w), unit - put);
		memcpy(w->p, b + put, t);
		w->p += t;
		w->n -= t;
		put += t;
	}
	return 0;
}

/* Bytes left in the first non-empty segment of [idx, end) from off. */
static size_t first_run(const struct vt_chain *c, uint32_t idx, size_t off, uint32_t end)
{
	while (idx < end && off >= c->seg[idx].iov_len) {
		idx++;
		off = 0;
	}
	return idx < end ? c->seg[idx].iov_len - off : 0;
}

bool vt_chain_contiguous(const struct vt_chain *c, size_t n)
{
	return n == 0 || (first_run(c, c->rd_i, c->rd_off, c->nrd) >= n &&
			  first_run(c, c->wr_i, c->wr_off, c->nseg) >= n);
}

int vt_chain_transform(struct vt_chain *c, size_t n, size_t unit, uint8_t *bounce,
		       vt_chain_xform_fn fn, void *ctx)
{
	if (unit == 0 || n % unit)
		return -EINVAL;
	if (!bounce && unit > VT_CHAIN_BOUNCE_MAX && !(unit == n && vt_chain_contiguous(c, n)))
		return -EINVAL;
	if (vt_chain_readable(c) < n || vt_chain_writable(c) < n)
		return -EMSGSIZE;
	uint8_t local[VT_CHAIN_BOUNCE_MAX];
	uint8_t *b = bounce ? bounce : local;
	struct span_in r = {.left = n};
	struct span_out w = {.left = n};
	bool bounced = false;
	int e = 0;
	for (size_t done = 0; done < n && e == 0;) {
		/* Both sides hold n bytes (checked above): a fill never comes back empty. */
		size_t k = VT_MIN(fill_in(c, &r), fill_out(c, &w));
		k -= k % unit;
		if (!k) {
			bounced = true;
			e = transform_bounced(c, &r, &w, unit, b, fn, ctx);
			done += unit;
			continue;
		}
		e = fn(ctx, w.p, r.p, k);
		r.p += k;
		r.n -= k;
		w.p += k;
		w.n -= k;
		done += k;
	}
	if (bounced && !bounce)
		vt_wipe(local, unit);
	return e;
}
