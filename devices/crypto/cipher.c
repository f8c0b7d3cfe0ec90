/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CIPHER service: AES-ECB/CBC/CTR/XTS and 3DES-ECB/CBC, session and
 * stateless. The session's EVP_CIPHER_CTX holds the expanded key; each
 * request only sets its IV (EVP_CipherInit_ex2 with a NULL cipher and key
 * keeps the key schedule) and streams src into dst.
 *
 * Request rules (QEMU's device is the reference): dst_data_len must equal
 * src_data_len; ECB/CBC lengths are whole blocks (no padding); the IV is
 * exactly the mode's IV length (ECB takes none: any IV bytes are skipped);
 * XTS data units are at least one block. The session's direction decides
 * encrypt or decrypt, as in QEMU; the opcode's direction is not checked.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "crypto_dev.h"

uint8_t vc_cipher_setup(struct vc_dev *d, struct vc_session *s, uint32_t algo,
			const uint8_t *key, uint32_t key_len, uint32_t op)
{
	const struct vc_cipher_alg *a = vc_cipher_find(algo, NULL);
	if (!a)
		return VC_NOTSUPP;
	if (key_len == 0 || key_len > d->opts.max_cipher_key_len || !key)
		return VC_ERR;
	if (op != VC_OP_ENCRYPT && op != VC_OP_DECRYPT)
		return VC_ERR;
	EVP_CIPHER *cipher = vc_dev_cipher(d, algo, key_len);
	if (!cipher)
		return VC_NOTSUPP; /* algorithm disabled, or no such key size */
	EVP_CIPHER_CTX *ctx = vc_session_cctx(s);
	if (!ctx)
		return VC_ERR;
	if (!EVP_CipherInit_ex2(ctx, cipher, key, NULL, op == VC_OP_ENCRYPT, NULL))
		return VC_ERR; /* e.g. XTS with equal key halves */
	if (a->mode == VC_MODE_BLOCK)
		EVP_CIPHER_CTX_set_padding(ctx, 0);
	s->cipher = a;
	s->op = op;
	s->key_len = key_len;
	return VC_OK;
}

/* Starts a request: reads (or skips) the IV and re-arms the context. */
uint8_t vc_cipher_begin(struct vc_session *s, uint32_t iv_len, struct vt_chain *c)
{
	const struct vc_cipher_alg *a = s->cipher;
	uint8_t iv[16];
	if (a->iv_len == 0) {
		if (vt_chain_skip(c, iv_len) < 0)
			return VC_ERR;
		if (!EVP_CipherInit_ex2(s->cctx, NULL, NULL, NULL, -1, NULL))
			return VC_ERR;
		return VC_OK;
	}
	if (iv_len != a->iv_len || iv_len > sizeof(iv))
		return VC_ERR;
	if (vt_chain_read(c, iv, iv_len) < 0)
		return VC_ERR;
	if (!EVP_CipherInit_ex2(s->cctx, NULL, NULL, iv, -1, NULL))
		return VC_ERR;
	return VC_OK;
}

/* One EVP call over the whole data unit (XTS): in place when contiguous, else through scratch. */
static uint8_t cipher_oneshot(struct vc_qctx *q, EVP_CIPHER_CTX *ctx, struct vt_chain *c, size_t n)
{
	if (n > INT32_MAX)
		return VC_ERR;
	uint8_t *buf = NULL; /* contiguous (the common case): straight from guest to guest */
	if (!vt_chain_contiguous(c, n) && !(buf = vc_scratch(q, n)))
		return VC_ERR;
	uint8_t st = vc_transform_whole(ctx, c, n, buf) == 0 ? VC_OK : VC_ERR;
	if (buf)
		OPENSSL_cleanse(buf, n);
	return st;
}

uint8_t vc_cipher_run(struct vc_qctx *q, struct vc_session *s, const struct vc_data_req *r,
		      struct vt_chain *c)
{
	const struct vc_cipher_alg *a = s->cipher;
	if (r->dst_len != r->src_len)
		return VC_ERR;
	if (a->mode == VC_MODE_BLOCK && r->src_len % a->block)
		return VC_ERR;
	if (a->mode == VC_MODE_ONESHOT && r->src_len < a->block)
		return VC_ERR;
	uint8_t st = vc_cipher_begin(s, r->iv_len, c);
	if (st != VC_OK)
		return st;
	if (a->mode == VC_MODE_ONESHOT) {
		st = cipher_oneshot(q, s->cctx, c, r->src_len);
		if (st != VC_OK)
			return st;
	} else if (vc_stream_cipher(s->cctx, c, r->src_len, a->block) < 0) {
		return VC_ERR;
	}
	uint8_t tail[32];
	int outl = 0;
	if (!EVP_CipherFinal_ex(s->cctx, tail, &outl) || outl != 0)
		return VC_ERR;
	return VC_OK;
}
