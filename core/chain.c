/* SPDX-License-Identifier: Apache-2.0 */
#include "chain.h"

#include <string.h>

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

size_t vt_chain_read_span(struct vt_chain *c, size_t max, const uint8_t **ret_p)
{
	uint8_t *p = NULL;
	size_t n = next_span(c, &c->rd_i, &c->rd_off, c->nrd, max, &p);
	c->rd_done += n;
	*ret_p = p;
	return n;
}

size_t vt_chain_write_span(struct vt_chain *c, size_t max, uint8_t **ret_p)
{
	size_t n = next_span(c, &c->wr_i, &c->wr_off, c->nseg, max, ret_p);
	c->wr_done += n;
	return n;
}

int vt_chain_read(struct vt_chain *c, void *dst, size_t n)
{
	if (vt_chain_readable(c) < n)
		return -EMSGSIZE;
	uint8_t *d = dst;
	while (n) {
		const uint8_t *p;
		size_t k = vt_chain_read_span(c, n, &p);
		memcpy(d, p, k);
		d += k;
		n -= k;
	}
	return 0;
}

int vt_chain_skip(struct vt_chain *c, size_t n)
{
	if (vt_chain_readable(c) < n)
		return -EMSGSIZE;
	while (n) {
		const uint8_t *p;
		n -= vt_chain_read_span(c, n, &p);
	}
	return 0;
}

int vt_chain_write(struct vt_chain *c, const void *src, size_t n)
{
	if (vt_chain_writable(c) < n)
		return -EMSGSIZE;
	const uint8_t *s = src;
	while (n) {
		uint8_t *p;
		size_t k = vt_chain_write_span(c, n, &p);
		memcpy(p, s, k);
		s += k;
		n -= k;
	}
	return 0;
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
		size_t k = vt_chain_read_span(c, n, &src);
		size_t left = k;
		while (left) {
			uint8_t *dst;
			size_t w = vt_chain_write_span(c, left, &dst);
			/* memmove: a hostile driver may alias readable and writable buffers. */
			memmove(dst, src, w);
			src += w;
			left -= w;
		}
		n -= k;
	}
	return 0;
}
