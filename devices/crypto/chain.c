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
 * access), ciphered in place there, and written out once.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "crypto_dev.h"

static bool range_ok(uint32_t off, uint32_t len, uint32_t total)
{
	return (uint64_t)off + len <= total;
}

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

static int hash_chain_aad(struct vc_session *s, struct vt_chain *c, size_t n)
{
	if (s->hash_mode == VC_SYM_HASH_MODE_PLAIN)
		return vc_stream_digest(s->mdctx, c, n);
	return vc_stream_mac(s->macctx, c, n);
}

uint8_t vc_chain_run(struct vc_qctx *q, struct vc_session *s, const struct vc_data_req *r,
		     struct vt_chain *c)
{
	const struct vc_cipher_alg *a = s->cipher;
	uint32_t out_len = r->hash_result_len ? r->hash_result_len : s->result_len;
	if (out_len > s->digest_len)
		return VC_ERR;
	if (r->dst_len != r->src_len)
		return VC_ERR;
	if (!range_ok(r->cipher_start, r->len_to_cipher, r->src_len) ||
	    !range_ok(r->hash_start, r->len_to_hash, r->src_len))
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

	struct vt_chain aadc = *c; /* session layout: aad after src; stateless: before */
	if (r->stateless) {
		if (vt_chain_skip(c, r->aad_len) < 0)
			return VC_ERR;
	} else if (vt_chain_skip(&aadc, r->src_len) < 0) {
		return VC_ERR;
	}
	uint8_t *buf = vc_scratch(q, r->src_len ? r->src_len : 1);
	if (!buf)
		return VC_ERR;
	st = VC_ERR;
	uint8_t md[EVP_MAX_MD_SIZE];
	size_t mdl = 0;
	int outl = 0;
	uint8_t tail[32];
	if (vt_chain_read(c, buf, r->src_len) < 0)
		goto out;
	if (hash_begin(s) < 0)
		goto out;
	if (r->aad_len && hash_chain_aad(s, &aadc, r->aad_len) < 0) /* spec: only when aad_len > 0 */
		goto out;
	bool hash_first = s->chain_order == VC_SYM_ALG_CHAIN_ORDER_HASH_THEN_CIPHER;
	if (hash_first && hash_update(s, buf + r->hash_start, r->len_to_hash) < 0)
		goto out;
	if (r->len_to_cipher) {
		uint8_t *p = buf + r->cipher_start;
		if (!EVP_CipherUpdate(s->cctx, p, &outl, p, (int)r->len_to_cipher) ||
		    (uint32_t)outl != r->len_to_cipher)
			goto out;
	}
	if (!EVP_CipherFinal_ex(s->cctx, tail, &outl) || outl != 0)
		goto out;
	if (!hash_first && hash_update(s, buf + r->hash_start, r->len_to_hash) < 0)
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
