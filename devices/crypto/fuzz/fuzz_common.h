/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared set-up of the crypto fuzz harnesses: one device built once per
 * process with a fixed set of sessions (ids are (n << 16) | slot, n = 1 on
 * first use: slot k below has id 0x10000 + k), and a chain built straight
 * over the fuzz input (no guest memory needed: vt_chain_init over iovecs).
 *
 * Input: byte 0 selects the negotiated features (bit 0 REVISION_1, bit 1 the
 * stateless bits), byte 1 the readable segment size (0 = one segment),
 * bytes 2-3 the writable length (le16, capped), byte 4 the writable
 * segment size; the rest is the readable part of the request.
 */
#ifndef VTRUST_CRYPTO_FUZZ_COMMON_H
#define VTRUST_CRYPTO_FUZZ_COMMON_H

#include <string.h>

#include "crypto_dev.h"
#include "fuzz_keys.h"
#include "log.h"

#define FZ_MAXSEG 512
#define FZ_WR_MAX 8192

static struct vc_dev *fz_dev;

static inline void fz_session(struct vc_sess_params sp)
{
	uint64_t id;
	if (vc_create_session(fz_dev, &sp, true, &id) != VC_OK)
		__builtin_trap(); /* the fixed sessions must exist */
}

static inline void fz_init(void)
{
	if (fz_dev)
		return;
	vt_log_set_level(VT_LOG_ERR - 1);
	struct vc_opts o;
	vc_opts_default(&o);
	o.secure_heap = 0;
	o.max_sessions = 64;
	o.max_size = 1u << 16;
	if (vc_dev_new("fuzz", &o, &fz_dev) < 0)
		__builtin_trap();
	static const uint8_t k[64] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
				      17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
				      33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48,
				      49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64};
	/* slot 0: AES-128-CBC encrypt; 1: AES-256-XTS decrypt; 2: SHA-256; 3: HMAC-SHA256 */
	fz_session((struct vc_sess_params){.service = VC_SERVICE_CIPHER, .sym_op = VC_SYM_OP_CIPHER,
					   .op = VC_OP_ENCRYPT, .cipher_algo = VC_CIPHER_AES_CBC,
					   .key_len = 16, .key = k});
	fz_session((struct vc_sess_params){.service = VC_SERVICE_CIPHER, .sym_op = VC_SYM_OP_CIPHER,
					   .op = VC_OP_DECRYPT, .cipher_algo = VC_CIPHER_AES_XTS,
					   .key_len = 64, .key = k});
	fz_session((struct vc_sess_params){.service = VC_SERVICE_HASH, .hash_algo = VC_HASH_SHA_256});
	fz_session((struct vc_sess_params){.service = VC_SERVICE_MAC,
					   .hash_algo = VC_MAC_HMAC_SHA_256, .auth_key_len = 20,
					   .auth_key = k});
	/* 4: GCM encrypt; 5: GCM decrypt; 6: CCM decrypt (tag 8); 7: ChaCha20-Poly1305 encrypt */
	fz_session((struct vc_sess_params){.service = VC_SERVICE_AEAD, .aead_algo = VC_AEAD_GCM,
					   .key_len = 16, .key = k, .tag_len = 16,
					   .op = VC_OP_ENCRYPT});
	fz_session((struct vc_sess_params){.service = VC_SERVICE_AEAD, .aead_algo = VC_AEAD_GCM,
					   .key_len = 16, .key = k, .tag_len = 16,
					   .op = VC_OP_DECRYPT});
	fz_session((struct vc_sess_params){.service = VC_SERVICE_AEAD, .aead_algo = VC_AEAD_CCM,
					   .key_len = 16, .key = k, .tag_len = 8,
					   .op = VC_OP_DECRYPT});
	fz_session((struct vc_sess_params){.service = VC_SERVICE_AEAD,
					   .aead_algo = VC_AEAD_CHACHA20_POLY1305, .key_len = 32,
					   .key = k, .tag_len = 16, .op = VC_OP_ENCRYPT});
	/* 8: chain AES-CBC + HMAC-SHA1 cipher-then-hash; 9: chain AES-CTR + SHA-256 hash-then-cipher */
	fz_session((struct vc_sess_params){
		.service = VC_SERVICE_CIPHER, .sym_op = VC_SYM_OP_ALGORITHM_CHAINING,
		.op = VC_OP_ENCRYPT, .cipher_algo = VC_CIPHER_AES_CBC, .key_len = 16, .key = k,
		.hash_mode = VC_SYM_HASH_MODE_AUTH, .chain_order = VC_SYM_ALG_CHAIN_ORDER_CIPHER_THEN_HASH,
		.hash_algo = VC_MAC_HMAC_SHA1, .auth_key_len = 20, .auth_key = k});
	fz_session((struct vc_sess_params){
		.service = VC_SERVICE_CIPHER, .sym_op = VC_SYM_OP_ALGORITHM_CHAINING,
		.op = VC_OP_DECRYPT, .cipher_algo = VC_CIPHER_AES_CTR, .key_len = 16, .key = k,
		.hash_mode = VC_SYM_HASH_MODE_PLAIN, .chain_order = VC_SYM_ALG_CHAIN_ORDER_HASH_THEN_CIPHER,
		.hash_algo = VC_HASH_SHA_256});
	/* 10: RSA-1024 private, PKCS#1 + SHA-256; 11: RSA raw */
	fz_session((struct vc_sess_params){.service = VC_SERVICE_AKCIPHER, .ak_algo = VC_AKCIPHER_RSA,
					   .key_type = VC_AKCIPHER_KEY_TYPE_PRIVATE,
					   .key_len = sizeof(fuzz_rsa1024_der), .key = fuzz_rsa1024_der,
					   .padding_algo = VC_RSA_PKCS1_PADDING,
					   .rsa_hash = VC_RSA_SHA256});
	fz_session((struct vc_sess_params){.service = VC_SERVICE_AKCIPHER, .ak_algo = VC_AKCIPHER_RSA,
					   .key_type = VC_AKCIPHER_KEY_TYPE_PRIVATE,
					   .key_len = sizeof(fuzz_rsa1024_der), .key = fuzz_rsa1024_der,
					   .padding_algo = VC_RSA_RAW_PADDING});
}

static inline uint64_t fz_features(uint8_t sel)
{
	uint64_t f = 0;
	if (sel & 1)
		f |= 1ull << VC_F_REVISION_1;
	if ((sel & 3) == 3)
		f |= (1ull << VC_F_CIPHER_STATELESS_MODE) | (1ull << VC_F_HASH_STATELESS_MODE) |
		     (1ull << VC_F_MAC_STATELESS_MODE) | (1ull << VC_F_AEAD_STATELESS_MODE) |
		     (1ull << VC_F_AKCIPHER_STATELESS_MODE);
	return f;
}

/* Builds c over data (readable, split) and wr (writable, split). false if the input is too short. */
static inline bool fz_chain(const uint8_t *data, size_t size, struct vt_chain *c, struct iovec *seg,
		     uint8_t *wr, uint64_t *features)
{
	if (size < 5)
		return false;
	*features = fz_features(data[0]);
	size_t rsplit = data[1];
	size_t wlen = (size_t)(data[2] | data[3] << 8) % (FZ_WR_MAX + 1);
	size_t wsplit = data[4];
	data += 5;
	size -= 5;
	uint32_t n = 0, nrd;
	for (size_t off = 0; off < size && n < FZ_MAXSEG / 2; n++) {
		size_t l = rsplit ? VT_MIN(rsplit, size - off) : size - off;
		if (n == FZ_MAXSEG / 2 - 1)
			l = size - off;
		seg[n].iov_base = (void *)(uintptr_t)(data + off);
		seg[n].iov_len = l;
		off += l;
	}
	nrd = n;
	for (size_t off = 0; off < wlen && n < FZ_MAXSEG; n++) {
		size_t l = wsplit ? VT_MIN(wsplit, wlen - off) : wlen - off;
		if (n == FZ_MAXSEG - 1)
			l = wlen - off;
		seg[n].iov_base = wr + off;
		seg[n].iov_len = l;
		off += l;
	}
	vt_chain_init(c, 0, seg, nrd, n - nrd);
	return true;
}

#endif
