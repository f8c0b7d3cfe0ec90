/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Driver-side request builders for virtio-crypto (header-only): what a
 * guest driver puts in front of the variable-length data. Used by the unit
 * tests, the fuzz seed generator and vtrust-probe's `crypto` command, so
 * the device is exercised with the layouts a real driver produces:
 *
 *   features without REVISION_1        legacy padded flf (ctrl 56, data 48): Linux 6.1
 *   REVISION_1                         exact flf structs
 *   REVISION_1 + <svc>_STATELESS_MODE  that service's stateless flf ("mux") in both modes
 *
 * Every builder writes the header and flf into out (at least
 * VCB_HDR_MAX bytes) and returns the number of bytes written.
 */
#ifndef VTRUST_VIRTIO_CRYPTO_REQ_H
#define VTRUST_VIRTIO_CRYPTO_REQ_H

#include <stdbool.h>
#include <string.h>

#include "virtio_crypto.h"

#define VCB_HDR_MAX 128

static inline bool vcb_feat(uint64_t f, unsigned bit)
{
	return f & (1ull << bit);
}

/* ---- Control queue ---------------------------------------------------------- */

static inline size_t vcb_ctrl(uint8_t *out, uint64_t features, uint32_t opcode, uint32_t algo,
			      const void *flf, size_t flf_len)
{
	struct vc_ctrl_header h = {.opcode = opcode, .algo = algo};
	size_t len = vcb_feat(features, VC_F_REVISION_1) ? flf_len : VC_CTRLQ_FLF_LEGACY;
	memcpy(out, &h, sizeof(h));
	memset(out + sizeof(h), 0, len);
	memcpy(out + sizeof(h), flf, flf_len < len ? flf_len : len);
	return sizeof(h) + len;
}

static inline size_t vcb_ctrl_cipher(uint8_t *out, uint64_t features, uint32_t algo,
				     uint32_t key_len, uint32_t op)
{
	struct vc_sym_session_flf sym;
	struct vc_cipher_session_flf c = {.algo = algo, .key_len = key_len, .op = op};
	memset(&sym, 0, sizeof(sym));
	memcpy(sym.op_flf, &c, sizeof(c));
	sym.op_type = VC_SYM_OP_CIPHER;
	return vcb_ctrl(out, features, VC_CIPHER_CREATE_SESSION, algo, &sym, sizeof(sym));
}

/* hash_mode PLAIN: hash_algo is VC_HASH_*; AUTH: VC_MAC_* and auth_key_len. */
static inline size_t vcb_ctrl_chain(uint8_t *out, uint64_t features, uint32_t order,
				    uint32_t hash_mode, uint32_t cipher_algo, uint32_t key_len,
				    uint32_t op, uint32_t hash_algo, uint32_t result_len,
				    uint32_t auth_key_len, uint32_t aad_len)
{
	struct vc_sym_session_flf sym;
	struct vc_chain_session_flf ch;
	memset(&sym, 0, sizeof(sym));
	memset(&ch, 0, sizeof(ch));
	ch.alg_chain_order = order;
	ch.hash_mode = hash_mode;
	ch.cipher_hdr.algo = cipher_algo;
	ch.cipher_hdr.key_len = key_len;
	ch.cipher_hdr.op = op;
	if (hash_mode == VC_SYM_HASH_MODE_AUTH) {
		struct vc_mac_session_flf m = {.algo = hash_algo, .hash_result_len = result_len,
					       .auth_key_len = auth_key_len};
		memcpy(ch.algo_flf, &m, sizeof(m));
	} else {
		struct vc_hash_session_flf h = {.algo = hash_algo, .hash_result_len = result_len};
		memcpy(ch.algo_flf, &h, sizeof(h));
	}
	ch.aad_len = aad_len;
	memcpy(sym.op_flf, &ch, sizeof(ch));
	sym.op_type = VC_SYM_OP_ALGORITHM_CHAINING;
	return vcb_ctrl(out, features, VC_CIPHER_CREATE_SESSION, cipher_algo, &sym, sizeof(sym));
}

static inline size_t vcb_ctrl_hash(uint8_t *out, uint64_t features, uint32_t algo,
				   uint32_t result_len)
{
	struct vc_hash_session_flf h = {.algo = algo, .hash_result_len = result_len};
	return vcb_ctrl(out, features, VC_HASH_CREATE_SESSION, algo, &h, sizeof(h));
}

static inline size_t vcb_ctrl_mac(uint8_t *out, uint64_t features, uint32_t algo,
				  uint32_t result_len, uint32_t auth_key_len)
{
	struct vc_mac_session_flf m = {.algo = algo, .hash_result_len = result_len,
				       .auth_key_len = auth_key_len};
	return vcb_ctrl(out, features, VC_MAC_CREATE_SESSION, algo, &m, sizeof(m));
}

static inline size_t vcb_ctrl_aead(uint8_t *out, uint64_t features, uint32_t algo,
				   uint32_t key_len, uint32_t tag_len, uint32_t aad_len, uint32_t op)
{
	struct vc_aead_session_flf a = {.algo = algo, .key_len = key_len, .tag_len = tag_len,
					.aad_len = aad_len, .op = op};
	return vcb_ctrl(out, features, VC_AEAD_CREATE_SESSION, algo, &a, sizeof(a));
}

/* RSA: para0 = padding, para1 = hash; ECDSA: para0 = curve. */
static inline size_t vcb_ctrl_akcipher(uint8_t *out, uint64_t features, uint32_t algo,
				       uint32_t key_type, uint32_t key_len, uint32_t para0,
				       uint32_t para1)
{
	struct vc_akcipher_session_flf a;
	memset(&a, 0, sizeof(a));
	a.algo = algo;
	a.key_type = key_type;
	a.key_len = key_len;
	if (algo == VC_AKCIPHER_RSA) {
		struct vc_rsa_para p = {.padding_algo = para0, .hash_algo = para1};
		memcpy(a.algo_flf, &p, sizeof(p));
	} else {
		struct vc_ecdsa_para p = {.curve_id = para0};
		memcpy(a.algo_flf, &p, sizeof(p));
	}
	return vcb_ctrl(out, features, VC_AKCIPHER_CREATE_SESSION, algo, &a, sizeof(a));
}

static inline size_t vcb_ctrl_destroy(uint8_t *out, uint64_t features, uint32_t opcode,
				      uint64_t id)
{
	struct vc_destroy_session_flf d = {.session_id = id};
	return vcb_ctrl(out, features, opcode, 0, &d, sizeof(d));
}

/* ---- Data queue ------------------------------------------------------------- */

struct vcb_data {
	uint32_t opcode;
	uint64_t session_id;
	bool stateless;
	uint32_t sym_op; /* cipher service: VC_SYM_OP_CIPHER / _ALGORITHM_CHAINING */
	uint32_t iv_len, src_len, dst_len, aad_len, tag_len, hash_result_len;
	uint32_t cipher_start, len_to_cipher, hash_start, len_to_hash;
	/* stateless session parameters */
	uint32_t algo;     /* cipher / hash / mac / aead algorithm */
	uint32_t key_len;  /* cipher or aead key */
	uint32_t op;       /* VC_OP_* */
	uint32_t hash_algo, hash_mode, chain_order, auth_key_len; /* chain, mac (auth_key_len) */
	uint32_t key_type, para0, para1; /* akcipher: RSA padding, hash; ECDSA curve */
};

static inline int vcb_stateless_bit(uint32_t service)
{
	return service == VC_SERVICE_CIPHER ? VC_F_CIPHER_STATELESS_MODE
	       : service == VC_SERVICE_HASH ? VC_F_HASH_STATELESS_MODE
	       : service == VC_SERVICE_MAC  ? VC_F_MAC_STATELESS_MODE
	       : service == VC_SERVICE_AEAD ? VC_F_AEAD_STATELESS_MODE
					    : VC_F_AKCIPHER_STATELESS_MODE;
}

static inline size_t vcb_data_hdr(uint8_t *out, uint64_t features, const struct vcb_data *q)
{
	uint32_t svc = q->opcode >> 8;
	bool rev1 = vcb_feat(features, VC_F_REVISION_1);
	bool mux = rev1 && vcb_feat(features, (unsigned)vcb_stateless_bit(svc));
	struct vc_op_header h = {.opcode = q->opcode, .algo = q->algo, .session_id = q->session_id,
				 .flag = q->stateless ? 0 : VC_FLAG_SESSION_MODE};
	uint8_t flf[sizeof(struct vc_sym_data_flf_stateless)];
	size_t exact = 0;
	memset(flf, 0, sizeof(flf));
	if (q->stateless) {
		switch (svc) {
		case VC_SERVICE_CIPHER: {
			struct vc_sym_data_flf_stateless s;
			memset(&s, 0, sizeof(s));
			s.op_type = q->sym_op;
			if (q->sym_op == VC_SYM_OP_CIPHER) {
				struct vc_cipher_data_flf_stateless c = {
					q->algo, q->key_len, q->op, q->iv_len, q->src_len, q->dst_len};
				memcpy(s.op_type_flf, &c, sizeof(c));
			} else {
				struct vc_chain_data_flf_stateless c = {
					.alg_chain_order = q->chain_order,
					.sess_aad_len = q->aad_len,
					.cipher_algo = q->algo,
					.cipher_key_len = q->key_len,
					.cipher_op = q->op,
					.hash_algo = q->hash_algo,
					.auth_key_len = q->auth_key_len,
					.hash_mode = q->hash_mode,
					.iv_len = q->iv_len,
					.src_data_len = q->src_len,
					.dst_data_len = q->dst_len,
					.cipher_start_src_offset = q->cipher_start,
					.len_to_cipher = q->len_to_cipher,
					.hash_start_src_offset = q->hash_start,
					.len_to_hash = q->len_to_hash,
					.aad_len = q->aad_len,
					.hash_result_len = q->hash_result_len};
				memcpy(s.op_type_flf, &c, sizeof(c));
			}
			memcpy(flf, &s, sizeof(s));
			exact = sizeof(s);
			break;
		}
		case VC_SERVICE_HASH: {
			struct vc_hash_data_flf_stateless s = {q->algo, q->src_len, q->hash_result_len, 0};
			memcpy(flf, &s, sizeof(s));
			exact = sizeof(s);
			break;
		}
		case VC_SERVICE_MAC: {
			struct vc_mac_data_flf_stateless s = {q->algo, q->auth_key_len, q->src_len,
							      q->hash_result_len};
			memcpy(flf, &s, sizeof(s));
			exact = sizeof(s);
			break;
		}
		case VC_SERVICE_AKCIPHER: {
			struct vc_akcipher_data_flf_stateless s;
			memset(&s, 0, sizeof(s));
			s.algo = q->algo;
			s.key_type = q->key_type;
			s.key_len = q->key_len;
			if (q->algo == VC_AKCIPHER_RSA) {
				struct vc_rsa_para p = {.padding_algo = q->para0, .hash_algo = q->para1};
				memcpy(s.algo_flf, &p, sizeof(p));
			} else {
				struct vc_ecdsa_para p = {.curve_id = q->para0};
				memcpy(s.algo_flf, &p, sizeof(p));
			}
			s.src_data_len = q->src_len;
			s.dst_data_len = q->dst_len;
			memcpy(flf, &s, sizeof(s));
			exact = sizeof(s);
			break;
		}
		default: {
			struct vc_aead_data_flf_stateless s = {q->algo,    q->key_len, q->op,
							       q->iv_len,  q->tag_len, q->aad_len,
							       q->src_len, q->dst_len};
			memcpy(flf, &s, sizeof(s));
			exact = sizeof(s);
			break;
		}
		}
	} else {
		switch (svc) {
		case VC_SERVICE_CIPHER: {
			struct vc_sym_data_flf s;
			memset(&s, 0, sizeof(s));
			s.op_type = q->sym_op;
			if (q->sym_op == VC_SYM_OP_ALGORITHM_CHAINING) {
				struct vc_chain_data_flf c = {
					q->iv_len,        q->src_len,       q->dst_len,
					q->cipher_start,  q->len_to_cipher, q->hash_start,
					q->len_to_hash,   q->aad_len,       q->hash_result_len, 0};
				memcpy(s.op_type_flf, &c, sizeof(c));
			} else {
				struct vc_cipher_data_flf c = {q->iv_len, q->src_len, q->dst_len, 0};
				memcpy(s.op_type_flf, &c, sizeof(c));
			}
			memcpy(flf, &s, sizeof(s));
			exact = sizeof(s);
			break;
		}
		case VC_SERVICE_HASH:
		case VC_SERVICE_MAC: {
			struct vc_hash_data_flf s = {q->src_len, q->hash_result_len};
			memcpy(flf, &s, sizeof(s));
			exact = sizeof(s);
			break;
		}
		case VC_SERVICE_AEAD: {
			struct vc_aead_data_flf s = {q->iv_len,  q->aad_len, q->src_len,
						     q->dst_len, rev1 ? q->tag_len : 0, 0};
			memcpy(flf, &s, sizeof(s));
			exact = sizeof(s);
			break;
		}
		default: {
			struct vc_akcipher_data_flf s = {q->src_len, q->dst_len};
			memcpy(flf, &s, sizeof(s));
			exact = sizeof(s);
			break;
		}
		}
	}
	size_t flf_len = !rev1 ? VC_DATAQ_FLF_LEGACY
			 : mux ? (svc == VC_SERVICE_CIPHER ? sizeof(struct vc_sym_data_flf_stateless)
				  : svc == VC_SERVICE_AEAD ? sizeof(struct vc_aead_data_flf_stateless)
				  : svc == VC_SERVICE_AKCIPHER
					  ? sizeof(struct vc_akcipher_data_flf_stateless)
					  : sizeof(struct vc_hash_data_flf_stateless))
			       : exact;
	memcpy(out, &h, sizeof(h));
	memset(out + sizeof(h), 0, flf_len);
	memcpy(out + sizeof(h), flf, exact < flf_len ? exact : flf_len);
	return sizeof(h) + flf_len;
}

#endif
