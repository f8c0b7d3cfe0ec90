/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AEAD service: AES-GCM, AES-CCM and ChaCha20-Poly1305.
 *
 * Request layout (session and stateless): readable iv, src, aad; writable
 * dst. Encrypt writes ciphertext then the tag (dst_data_len >= src + tag);
 * decrypt takes src = ciphertext || tag and writes the plaintext
 * (dst_data_len >= src - tag), answering BADMSG when the tag does not
 * verify. The tag length is the session's (requests may repeat it; the
 * Linux uapi layout has no tag field and sends 0). A session AAD length of
 * 0 accepts any request AAD length; otherwise they must agree.
 *
 * GCM and ChaCha20-Poly1305 stream: AAD is read first, in place ahead of the
 * cursor (it follows src in the request), then src streams into dst. GCM
 * IVs: iv_len 16 is J0, as the spec defines it (how a driver sends an IV of
 * any length SP 800-38D allows): the J0 of a 96-bit IV (IV || 0^31 || 1)
 * goes to OpenSSL as that IV, any other J0 as the 16-byte IV that OpenSSL
 * turns into exactly this J0 (gcm_j0.c). Every other length OpenSSL
 * accepts (1..128 bytes) is the IV itself; longer IVs are NOTSUPP. CCM needs
 * the whole message in one call and its nonce/tag lengths at key setup, so
 * it re-keys per request from a key copy in OpenSSL's secure heap and
 * bounces non-contiguous data through the queue's scratch buffer.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>

#include "crypto_dev.h"
#include "secmem.h"

/* The longest GCM IV OpenSSL accepts (its GCM_IV_MAX_SIZE: 1024 bits). */
#define GCM_IV_MAX 128u

static bool tag_len_ok(enum vc_aead_kind k, uint32_t t)
{
	switch (k) {
	case VC_AEAD_KIND_GCM:
		return t == 4 || t == 8 || (t >= 12 && t <= 16);
	case VC_AEAD_KIND_CCM:
		return t >= 4 && t <= 16 && !(t & 1);
	case VC_AEAD_KIND_CHACHA:
		return t == 16;
	}
	return false;
}

uint8_t vc_aead_setup(struct vc_dev *d, struct vc_session *s, uint32_t algo,
		      const uint8_t *key, uint32_t key_len, uint32_t tag_len, uint32_t aad_len,
		      uint32_t op)
{
	const struct vc_aead_alg *a = vc_aead_find(algo, NULL);
	if (!a)
		return VC_NOTSUPP;
	if (key_len == 0 || key_len > d->opts.max_cipher_key_len || !key)
		return VC_ERR;
	if (op != VC_OP_ENCRYPT && op != VC_OP_DECRYPT)
		return VC_ERR;
	EVP_CIPHER *cipher = vc_dev_aead(d, algo, key_len);
	if (!cipher)
		return VC_NOTSUPP;
	if (!tag_len_ok(a->kind, tag_len))
		return VC_NOTSUPP;
	if (aad_len > d->opts.max_size)
		return VC_ERR;
	EVP_CIPHER_CTX *ctx = vc_session_cctx(s);
	if (!ctx)
		return VC_ERR;
	if (!EVP_CipherInit_ex2(ctx, cipher, a->kind == VC_AEAD_KIND_CCM ? NULL : key, NULL,
				op == VC_OP_ENCRYPT, NULL))
		return VC_ERR;
	if (a->kind == VC_AEAD_KIND_GCM) {
		s->gcm_ivlen = 0; /* unknown: set by the first request */
		if (s->borrowed) {
			s->gcm_key = key; /* stateless: H only if the request brings a J0 */
		} else {
			if (vc_gcm_hash_key(d, key, key_len, s->gcm_h) < 0)
				return VC_ERR;
			s->gcm_h_ok = true;
		}
	}
	if (a->kind == VC_AEAD_KIND_CCM) {
		s->ccm_key = OPENSSL_secure_malloc(key_len);
		if (!s->ccm_key)
			return VC_ERR;
		memcpy(s->ccm_key, key, key_len);
	}
	s->aead = a;
	s->op = op;
	s->key_len = key_len;
	s->tag_len = tag_len;
	s->aad_len = aad_len;
	return VC_OK;
}

/* GCM / ChaCha20-Poly1305. */
static uint8_t run_stream(struct vc_session *s, const struct vc_data_req *r, struct vt_chain *c,
			  const uint8_t *iv, uint32_t ct_len)
{
	EVP_CIPHER_CTX *ctx = s->cctx;
	bool enc = s->op == VC_OP_ENCRYPT;
	if (!EVP_CipherInit_ex2(ctx, NULL, NULL, iv, -1, NULL))
		return VC_ERR;
	/* AAD follows src: read it first, where it lies. */
	if (r->aad_len && vc_stream_aad(ctx, c, r->src_len, r->aad_len) < 0)
		return VC_ERR;
	if (vc_stream_cipher(ctx, c, ct_len, 1) < 0)
		return VC_ERR;
	uint8_t tag[16], tail[16];
	int outl = 0;
	if (enc) {
		if (!EVP_CipherFinal_ex(ctx, tail, &outl) ||
		    !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, (int)s->tag_len, tag))
			return VC_ERR;
		return vt_chain_write(c, tag, s->tag_len) < 0 ? VC_ERR : VC_OK;
	}
	if (vt_chain_read(c, tag, s->tag_len) < 0 ||
	    !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, (int)s->tag_len, tag))
		return VC_ERR;
	if (!EVP_CipherFinal_ex(ctx, tail, &outl))
		return VC_BADMSG; /* the tag did not verify */
	return VC_OK;
}

static uint8_t run_ccm(struct vc_qctx *q, struct vc_session *s, const struct vc_data_req *r,
		       struct vt_chain *c, const uint8_t *nonce, uint32_t nonce_len,
		       uint32_t ct_len)
{
	EVP_CIPHER_CTX *ctx = s->cctx;
	bool enc = s->op == VC_OP_ENCRYPT;
	uint8_t tag[16];
	/* Scratch: [aad_len aad][ct_len bounce when the data is not contiguous]. */
	bool contig = vt_chain_contiguous(c, ct_len);
	size_t need = (size_t)r->aad_len + (contig ? 0 : ct_len);
	uint8_t *buf = vc_scratch(q, need ? need : 1);
	if (!buf)
		return VC_ERR;
	uint8_t st = VC_ERR;
	int outl = 0;
	/* CCM takes the AAD in one call; it follows src. The tag follows the ciphertext. */
	if (r->aad_len && vt_chain_read_at(c, r->src_len, buf, r->aad_len) < 0)
		goto out;
	if (!enc && vt_chain_read_at(c, ct_len, tag, s->tag_len) < 0)
		goto out;

	OSSL_PARAM params[3];
	size_t ivlen = nonce_len;
	params[0] = OSSL_PARAM_construct_size_t(OSSL_CIPHER_PARAM_AEAD_IVLEN, &ivlen);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG,
						      enc ? NULL : tag, s->tag_len);
	params[2] = OSSL_PARAM_construct_end();
	/* Nonce and tag lengths are fixed at key setup: set them, then re-key. */
	if (!EVP_CIPHER_CTX_set_params(ctx, params) ||
	    !EVP_CipherInit_ex2(ctx, NULL, s->ccm_key, nonce, -1, NULL))
		goto out;
	if (!EVP_CipherUpdate(ctx, NULL, &outl, NULL, (int)ct_len))
		goto out;
	if (r->aad_len && !EVP_CipherUpdate(ctx, NULL, &outl, buf, (int)r->aad_len))
		goto out;
	/* The data in one call, straight from src to dst when both are contiguous. */
	int e;
	if (ct_len) {
		e = vc_transform_whole(ctx, c, ct_len, contig ? NULL : buf + r->aad_len);
	} else {
		uint8_t dummy;
		e = EVP_CipherUpdate(ctx, &dummy, &outl, &dummy, 0) ? 0 : -EIO;
	}
	if (e < 0) {
		st = e == -EIO && !enc ? VC_BADMSG : VC_ERR; /* CCM verifies inside this one call */
		goto out;
	}
	if (!enc && vt_chain_skip(c, s->tag_len) < 0)
		goto out;
	if (enc) {
		uint8_t tail[16];
		if (!EVP_CipherFinal_ex(ctx, tail, &outl) ||
		    !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, (int)s->tag_len, tag) ||
		    vt_chain_write(c, tag, s->tag_len) < 0)
			goto out;
	}
	st = VC_OK;
out:
	OPENSSL_cleanse(buf, need);
	return st;
}

/*
 * GCM's IV as OpenSSL takes it, in place: a 16-byte J0 becomes the 96-bit
 * IV it was made of, or the 16-byte IV OpenSSL maps to it; other lengths
 * (1..GCM_IV_MAX) are IVs already.
 */
static uint8_t gcm_iv(struct vc_qctx *q, struct vc_session *s, uint8_t *iv, uint32_t *iv_len)
{
	static const uint8_t one[4] = {0, 0, 0, 1};
	if (*iv_len != 16)
		return VC_OK;
	if (vt_ct_memcmp(iv + 12, one, 4) == 0) {
		*iv_len = 12; /* J0 = IV || 0^31 || 1 */
		return VC_OK;
	}
	if (!s->gcm_h_ok) {
		if (!s->gcm_key || vc_gcm_hash_key(q->dev, s->gcm_key, s->key_len, s->gcm_h) < 0)
			return VC_ERR;
		s->gcm_h_ok = true;
	}
	if (!s->gcm_hinv2_ok) {
		vc_gcm_hinv2(s->gcm_h, s->gcm_hinv2);
		s->gcm_hinv2_ok = true;
	}
	uint8_t j0[16];
	memcpy(j0, iv, sizeof(j0));
	return vc_gcm_iv_for_j0(s->gcm_h, s->gcm_hinv2, j0, iv) < 0 ? VC_NOTSUPP : VC_OK;
}

uint8_t vc_aead_run(struct vc_qctx *q, struct vc_session *s, const struct vc_data_req *r,
		    struct vt_chain *c)
{
	bool enc = s->op == VC_OP_ENCRYPT;
	if (r->tag_len && r->tag_len != s->tag_len)
		return VC_ERR;
	if (s->aad_len && r->aad_len != s->aad_len)
		return VC_ERR;
	uint32_t ct_len;
	if (enc) {
		ct_len = r->src_len;
		if ((uint64_t)r->dst_len < (uint64_t)ct_len + s->tag_len)
			return VC_ERR;
	} else {
		if (r->src_len < s->tag_len)
			return VC_ERR;
		ct_len = r->src_len - s->tag_len;
		if (r->dst_len < ct_len)
			return VC_ERR;
	}
	uint8_t iv[GCM_IV_MAX];
	if (r->iv_len == 0)
		return VC_ERR;
	if (r->iv_len > sizeof(iv))
		return s->aead->kind == VC_AEAD_KIND_GCM ? VC_NOTSUPP : VC_ERR;
	if (vt_chain_read(c, iv, r->iv_len) < 0)
		return VC_ERR;
	switch (s->aead->kind) {
	case VC_AEAD_KIND_GCM: {
		uint32_t iv_len = r->iv_len;
		uint8_t st = gcm_iv(q, s, iv, &iv_len);
		if (st != VC_OK)
			return st;
		if (iv_len != s->gcm_ivlen) {
			if (EVP_CIPHER_CTX_ctrl(s->cctx, EVP_CTRL_AEAD_SET_IVLEN, (int)iv_len, NULL) <= 0)
				return VC_ERR;
			s->gcm_ivlen = iv_len;
		}
		return run_stream(s, r, c, iv, ct_len);
	}
	case VC_AEAD_KIND_CHACHA:
		if (r->iv_len != 12)
			return VC_ERR;
		return run_stream(s, r, c, iv, ct_len);
	case VC_AEAD_KIND_CCM:
		if (r->iv_len < 7 || r->iv_len > 13)
			return VC_ERR;
		return run_ccm(q, s, r, c, iv, r->iv_len, ct_len);
	}
	return VC_ERR;
}
