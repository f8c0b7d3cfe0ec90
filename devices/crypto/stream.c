/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Streaming guest buffers through OpenSSL without copying them.
 *
 * A request's source bytes are spread over readable segments and its
 * destination over writable segments, with unrelated boundaries. We walk
 * both with the chain cursor's span functions and hand each overlapping
 * piece to EVP directly (in and out may be the very same guest bytes:
 * Linux encrypts in place, and OpenSSL's ciphers allow in == out). For
 * block modes fed without padding, a piece is cut to whole blocks; a block
 * that straddles a segment boundary on either side goes through a 32-byte
 * bounce buffer. Exactly n bytes are read and n written; nothing else is
 * touched.
 */
#include <limits.h>
#include <string.h>

#include "crypto_dev.h"

/* EVP takes int lengths: feed at most 1 GiB (a multiple of every block size) per call. */
#define CHUNK_MAX (1u << 30)

struct span_rd {
	const uint8_t *p;
	size_t n;    /* left in the current span */
	size_t left; /* not yet fetched from the chain */
};

struct span_wr {
	uint8_t *p;
	size_t n;
	size_t left;
};

static bool rd_fill(struct vt_chain *c, struct span_rd *r)
{
	if (r->n)
		return true;
	r->n = vt_chain_read_span(c, r->left, &r->p);
	r->left -= r->n;
	return r->n != 0;
}

static bool wr_fill(struct vt_chain *c, struct span_wr *w)
{
	if (w->n)
		return true;
	w->n = vt_chain_write_span(c, w->left, &w->p);
	w->left -= w->n;
	return w->n != 0;
}

int vc_stream_cipher(EVP_CIPHER_CTX *ctx, struct vt_chain *c, size_t n, uint32_t block)
{
	struct span_rd r = {.left = n};
	struct span_wr w = {.left = n};
	size_t done = 0;
	if (block == 0 || block > 16)
		return -EINVAL;
	while (done < n) {
		if (!rd_fill(c, &r) || !wr_fill(c, &w))
			return -EMSGSIZE;
		size_t k = VT_MIN(VT_MIN(r.n, w.n), (size_t)CHUNK_MAX);
		k -= k % block;
		int outl = 0;
		if (k) {
			if (!EVP_CipherUpdate(ctx, w.p, &outl, r.p, (int)k) || (size_t)outl != k)
				return -EIO;
			r.p += k;
			r.n -= k;
			w.p += k;
			w.n -= k;
			done += k;
			continue;
		}
		/* One block straddles a segment boundary: gather, process, scatter. */
		uint8_t in[16], out[32];
		for (size_t got = 0; got < block;) {
			if (!rd_fill(c, &r))
				return -EMSGSIZE;
			size_t t = VT_MIN(r.n, block - got);
			memcpy(in + got, r.p, t);
			r.p += t;
			r.n -= t;
			got += t;
		}
		if (!EVP_CipherUpdate(ctx, out, &outl, in, (int)block) || (size_t)outl != block)
			return -EIO;
		for (size_t put = 0; put < block;) {
			if (!wr_fill(c, &w))
				return -EMSGSIZE;
			size_t t = VT_MIN(w.n, block - put);
			memcpy(w.p, out + put, t);
			w.p += t;
			w.n -= t;
			put += t;
		}
		done += block;
	}
	return 0;
}

int vc_stream_digest(EVP_MD_CTX *ctx, struct vt_chain *c, size_t n)
{
	while (n) {
		const uint8_t *p;
		size_t k = vt_chain_read_span(c, n, &p);
		if (!k)
			return -EMSGSIZE;
		if (!EVP_DigestUpdate(ctx, p, k))
			return -EIO;
		n -= k;
	}
	return 0;
}

int vc_stream_mac(EVP_MAC_CTX *ctx, struct vt_chain *c, size_t n)
{
	while (n) {
		const uint8_t *p;
		size_t k = vt_chain_read_span(c, n, &p);
		if (!k)
			return -EMSGSIZE;
		if (!EVP_MAC_update(ctx, p, k))
			return -EIO;
		n -= k;
	}
	return 0;
}

int vc_stream_aad(EVP_CIPHER_CTX *ctx, struct vt_chain *c, size_t n)
{
	while (n) {
		const uint8_t *p;
		size_t k = vt_chain_read_span(c, VT_MIN(n, (size_t)CHUNK_MAX), &p);
		int outl;
		if (!k)
			return -EMSGSIZE;
		if (!EVP_CipherUpdate(ctx, NULL, &outl, p, (int)k))
			return -EIO;
		n -= k;
	}
	return 0;
}
