/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Algorithm chaining: a cipher and a hash (PLAIN) or MAC (AUTH) in one
 * request, in either order. NESTED hash mode is refused at session creation
 * (NOTSUPP): the spec gives no way to pass its inner/outer prefixes.
 *
 * Request: readable iv, src, aad (session mode; stateless mode sends aad
 * before src); writable dst (dst_data_len == src_data_len) then
 * hash_result. dst is src with [cipher_start, +len_to_cipher) replaced by
 * the cipher's output. The hash covers aad (when aad_len > 0) followed by
 * [hash_start, +len_to_hash) of src (HASH_THEN_CIPHER: the input, as when
 * verifying before decrypting) or of dst (CIPHER_THEN_HASH: the output, as
 * encrypt-then-MAC) — the "authenc" semantics of Linux and DPDK.
 *
 * src is copied into the queue's scratch buffer (offsets need random
 * access), ciphered in place there, and written out once. The request's
 * offsets address that copy only through bounded views (core/view.h); the
 * AAD is hashed where it lies in the chain (vt_chain_peek).
 */
#include <string.h>

#include <openssl/crypto.h>

#include "crypto_dev.h"
#include "view.h"

static int hash_begin(struct vc_session *s)
{
	if (s->hash_mode == VC_SYM_HASH_MODE_PLAIN)
		return EVP_DigestInit_ex2(s->mdctx, NULL, NULL) ? 0 : -EIO;
	return EVP_MAC_init(s->macctx, NULL, 0, NULL) ? 0 : -EIO;
}

static int hash_update(struct vc_session *s, const uint8_t *p, size_t n)
{
	if (s->hash_mode == VC_SYM_HASH_MODE_PLAIN)
		return EVP_DigestUpdate(s->mdctx, p, n) ? 0 : -EIO;
	return EVP_MAC_update(s->macctx, p, n) ? 0 : -EIO;
}

static int hash_final(struct vc_session *s, uint8_t *out, size_t *len)
{
	if (s->hash_mode == VC_SYM_HASH_MODE_PLAIN) {
		unsigned int l = 0;
		int ok = EVP_DigestFinal_ex(s->mdctx, out, &l);
		*len = l;
		return ok ? 0 : -EIO;
	}
	return EVP_MAC_final(s->macctx, out, len, EVP_MAX_MD_SIZE) ? 0 : -EIO;
}

/* The n readable bytes off bytes past the cursor (which stays) into the hash. */
static int hash_chain_at(struct vc_session *s, const struct vt_chain *c, size_t off, size_t n)
{
	if (s->hash_mode == VC_SYM_HASH_MODE_PLAIN)
		return vc_stream_digest_at(s->mdctx, c, off, n);
	return vc_stream_mac_at(s->macctx, c, off, n);
}

uint8_t vc_algchain_run(struct vc_qctx *q, struct vc_session *s, const struct vc_data_req *r,
		     struct vt_chain *c)
{
	const struct vc_cipher_alg *a = s->cipher;
	uint32_t out_len = r->hash_result_len ? r->hash_result_len : s->result_len;
	if (out_len > s->digest_len)
		return VC_ERR;
	if (r->dst_len != r->src_len)
		return VC_ERR;
	if (a->mode == VC_MODE_BLOCK && r->len_to_cipher % a->block)
		return VC_ERR;
	if (a->mode == VC_MODE_ONESHOT && r->len_to_cipher && r->len_to_cipher < a->block)
		return VC_ERR;
	if (s->aad_len && r->aad_len != s->aad_len)
		return VC_ERR;
	uint8_t st = vc_cipher_begin(s, r->iv_len, c);
	if (st != VC_OK)
		return st;
	uint8_t *buf = vc_scratch(q, r->src_len ? r->src_len : 1);
	if (!buf)
		return VC_ERR;
	struct vt_view src = vt_view_of(buf, r->src_len), ciphered, hashed;
	if (vt_view_sub(src, r->cipher_start, r->len_to_cipher, &ciphered) < 0 ||
	    vt_view_sub(src, r->hash_start, r->len_to_hash, &hashed) < 0)
		return VC_ERR;
	st = VC_ERR;
	uint8_t md[EVP_MAX_MD_SIZE];
	size_t mdl = 0;
	int outl = 0;
	uint8_t tail[32];
	if (hash_begin(s) < 0)
		goto out;
	/* The hash takes the AAD first (spec: only when aad_len > 0). Session layout: aad after
	 * src; stateless: before it. */
	if (r->aad_len && hash_chain_at(s, c, r->stateless ? 0 : r->src_len, r->aad_len) < 0)
		goto out;
	if (r->stateless && vt_chain_skip(c, r->aad_len) < 0)
		goto out;
	if (vt_chain_read(c, buf, r->src_len) < 0)
		goto out;
	bool hash_first = s->chain_order == VC_SYM_ALG_CHAIN_ORDER_HASH_THEN_CIPHER;
	if (hash_first && hash_update(s, hashed.p, hashed.len) < 0)
		goto out;
	if (ciphered.len) {
		if (!EVP_CipherUpdate(s->cctx, ciphered.p, &outl, ciphered.p, (int)ciphered.len) ||
		    (size_t)outl != ciphered.len)
			goto out;
	}
	if (!EVP_CipherFinal_ex(s->cctx, tail, &outl) || outl != 0)
		goto out;
	if (!hash_first && hash_update(s, hashed.p, hashed.len) < 0)
		goto out;
	if (hash_final(s, md, &mdl) < 0 || mdl < out_len)
		goto out;
	if (vt_chain_write(c, buf, r->dst_len) < 0 || vt_chain_write(c, md, out_len) < 0)
		goto out;
	st = VC_OK;
out:
	OPENSSL_cleanse(buf, r->src_len);
	OPENSSL_cleanse(md, sizeof(md));
	return st;
}
