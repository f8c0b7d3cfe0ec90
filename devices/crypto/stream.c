/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Streaming guest buffers through OpenSSL without copying them.
 *
 * A request's source bytes are spread over readable segments and its
 * destination over writable segments, with unrelated boundaries. The core's
 * cursor walks both (vt_chain_transform) and hands each overlapping piece
 * to EVP (in and out may be the very same guest bytes: Linux encrypts in
 * place, and OpenSSL's ciphers allow in == out). For block modes fed without
 * padding, pieces are whole blocks; a block that straddles a segment
 * boundary on either side goes through the cursor's bounce block. Exactly n
 * bytes are read and n written; nothing else is touched. Digests, MACs and
 * AAD take readable bytes only (vt_chain_consume).
 */
#include <limits.h>
#include <string.h>

#include "crypto_dev.h"

/* EVP takes int lengths: feed at most 1 GiB (a multiple of every block size) per call. */
#define CHUNK_MAX (1u << 30)

static int cipher_update(void *ctx, uint8_t *out, const uint8_t *in, size_t len)
{
	while (len) {
		size_t k = VT_MIN(len, (size_t)CHUNK_MAX);
		int outl = 0;
		if (!EVP_CipherUpdate(ctx, out, &outl, in, (int)k) || (size_t)outl != k)
			return -EIO;
		out += k;
		in += k;
		len -= k;
	}
	return 0;
}

int vc_stream_cipher(EVP_CIPHER_CTX *ctx, struct vt_chain *c, size_t n, uint32_t block)
{
	if (block == 0 || block > 16)
		return -EINVAL;
	return vt_chain_transform(c, n, block, NULL, cipher_update, ctx);
}

static int digest_update(void *ctx, const uint8_t *in, size_t len)
{
	return EVP_DigestUpdate(ctx, in, len) ? 0 : -EIO;
}

static int mac_update(void *ctx, const uint8_t *in, size_t len)
{
	return EVP_MAC_update(ctx, in, len) ? 0 : -EIO;
}

static int aad_update(void *ctx, const uint8_t *in, size_t len)
{
	while (len) {
		size_t k = VT_MIN(len, (size_t)CHUNK_MAX);
		int outl;
		if (!EVP_CipherUpdate(ctx, NULL, &outl, in, (int)k))
			return -EIO;
		in += k;
		len -= k;
	}
	return 0;
}

int vc_stream_digest(EVP_MD_CTX *ctx, struct vt_chain *c, size_t n)
{
	return vt_chain_consume(c, n, digest_update, ctx);
}

int vc_stream_mac(EVP_MAC_CTX *ctx, struct vt_chain *c, size_t n)
{
	return vt_chain_consume(c, n, mac_update, ctx);
}

int vc_stream_aad(EVP_CIPHER_CTX *ctx, const struct vt_chain *c, size_t off, size_t n)
{
	return vt_chain_peek(c, off, n, aad_update, ctx);
}

int vc_stream_digest_at(EVP_MD_CTX *ctx, const struct vt_chain *c, size_t off, size_t n)
{
	return vt_chain_peek(c, off, n, digest_update, ctx);
}

int vc_stream_mac_at(EVP_MAC_CTX *ctx, const struct vt_chain *c, size_t off, size_t n)
{
	return vt_chain_peek(c, off, n, mac_update, ctx);
}

int vc_transform_whole(EVP_CIPHER_CTX *ctx, struct vt_chain *c, size_t n, uint8_t *bounce)
{
	if (n == 0 || n > INT32_MAX)
		return -EINVAL;
	return vt_chain_transform(c, n, n, bounce, cipher_update, ctx);
}
