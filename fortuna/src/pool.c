/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The accumulator: 32 pools, each a running SHA-256 over the events
 * appended to it, and the reseed schedule (reseed k uses pool i when 2^i
 * divides k). Pools are never read except to be hashed into a reseed, so
 * an attacker who controls some sources cannot learn or steer the others.
 */
#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>

#include "internal.h"

int vtf_sha256(struct vtf_ctx *ctx, const void *a, size_t alen, const void *b, size_t blen,
	       uint8_t out[32])
{
	unsigned int n;
	if (EVP_DigestInit_ex2(ctx->md, ctx->sha256, NULL) != 1 ||
	    EVP_DigestUpdate(ctx->md, a, alen) != 1 ||
	    (blen && EVP_DigestUpdate(ctx->md, b, blen) != 1) ||
	    EVP_DigestFinal_ex(ctx->md, out, &n) != 1)
		return -EIO;
	return 0;
}

int vtf_pool_setup(struct vtf_ctx *ctx)
{
	ctx->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	ctx->md = EVP_MD_CTX_new();
	if (!ctx->sha256 || !ctx->md)
		return -ENOMEM;
	for (int i = 0; i < VTF_POOLS; i++) {
		ctx->pool[i] = EVP_MD_CTX_new();
		if (!ctx->pool[i])
			return -ENOMEM;
		if (EVP_DigestInit_ex2(ctx->pool[i], ctx->sha256, NULL) != 1)
			return -EIO;
	}
	return 0;
}

void vtf_pool_teardown(struct vtf_ctx *ctx)
{
	/* The provider's SHA-256 context is cleared when freed. */
	for (int i = 0; i < VTF_POOLS; i++) {
		EVP_MD_CTX_free(ctx->pool[i]);
		ctx->pool[i] = NULL;
	}
	EVP_MD_CTX_free(ctx->md);
	EVP_MD_free(ctx->sha256);
	ctx->md = NULL;
	ctx->sha256 = NULL;
}

size_t vtf_event_encode(uint8_t *buf, uint8_t source, const uint8_t *data, size_t len)
{
	/* FSK event format: source number, length, data (1..32 bytes). */
	buf[0] = source;
	buf[1] = (uint8_t)len;
	memcpy(buf + VTF_EVENT_HDR, data, len);
	return len + VTF_EVENT_HDR;
}

int vtf_pool_add(struct vtf_ctx *ctx, uint8_t source, const void *data, size_t len, bool real)
{
	const uint8_t *p = data;
	uint8_t ev[VTF_EVENT_HDR + VTF_EVENT_MAX];
	int r = 0;

	while (len) {
		size_t m = VTF_MIN(len, (size_t)VTF_EVENT_MAX);
		size_t n = vtf_event_encode(ev, source, p, m);
		unsigned i = ctx->st.next_pool[source];

		ctx->st.next_pool[source] = (uint8_t)((i + 1) % VTF_POOLS);
		if (EVP_DigestUpdate(ctx->pool[i], ev, n) != 1) {
			r = -EIO;
			break;
		}
		ctx->st.pool_len[i] += n;
		if (real)
			ctx->st.pool_real |= 1u << i;
		p += m;
		len -= m;
	}
	OPENSSL_cleanse(ev, sizeof(ev));
	return r;
}

uint32_t vtf_pool_mask(uint64_t k)
{
	/* Pools 0..t where 2^t is the largest power of two dividing k. */
	unsigned t = k ? (unsigned)__builtin_ctzll(k) : 63;
	if (t >= VTF_POOLS - 1)
		return UINT32_MAX;
	return (2u << t) - 1;
}

int vtf_pool_reseed(struct vtf_ctx *ctx, uint64_t now_ns)
{
	uint8_t s[VTF_POOLS * 32], h[32];
	size_t slen = 0;
	uint64_t k = ctx->st.reseed_count + 1;
	uint32_t mask = vtf_pool_mask(k);
	bool real = (ctx->st.pool_real & mask) != 0;
	unsigned int n;
	int r = 0;

	/* The pools are consumed below whatever happens, so k is used up. */
	ctx->st.reseed_count = k;
	for (int i = 0; i < VTF_POOLS; i++) {
		if (!(mask & (1u << i)))
			continue;
		/* s || SHAd-256(P_i), then P_i is emptied. */
		if (EVP_DigestFinal_ex(ctx->pool[i], h, &n) != 1 ||
		    EVP_DigestInit_ex2(ctx->pool[i], ctx->sha256, NULL) != 1) {
			r = -EIO;
			goto out;
		}
		ctx->st.pool_len[i] = 0;
		r = vtf_sha256(ctx, h, sizeof(h), NULL, 0, s + slen);
		if (r < 0)
			goto out;
		slen += 32;
	}
	ctx->st.pool_real &= ~mask;
	r = vtf_gen_reseed(ctx, s, slen);
	if (r == 0) {
		ctx->st.last_reseed_ns = now_ns;
		if (real)
			ctx->st.degraded = false;
	}
out:
	OPENSSL_cleanse(s, sizeof(s));
	OPENSSL_cleanse(h, sizeof(h));
	return r;
}
