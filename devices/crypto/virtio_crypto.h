/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-crypto wire format (virtio 1.4 cs01 §5.9 plus the Linux/QEMU uapi),
 * written from the specification text. Every field is little-endian; the
 * host is little-endian too (compiler.h refuses anything else), so fields
 * are read directly after a vt_chain_read into these structs.
 *
 * Layout rules (see README.md for the whole story):
 *  - control requests: 16-byte header, op_flf (exact struct with
 *    REVISION_1, padded to 56 bytes without), op_vlf (keys), then the
 *    device-writable outcome (16-byte session input / 1-byte status);
 *  - data requests: 24-byte header, op_flf (exact with REVISION_1, padded to
 *    48 without; the stateless struct of a service once that service's
 *    *_STATELESS_MODE bit is negotiated), op_vlf, status in the last
 *    writable byte.
 *
 * The structs below are the exact spec structs; _Static_assert pins every size.
 */
#ifndef VTRUST_VIRTIO_CRYPTO_H
#define VTRUST_VIRTIO_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

#define VIRTIO_ID_CRYPTO 20

/* Feature bits. */
#define VC_F_REVISION_1 0
#define VC_F_CIPHER_STATELESS_MODE 1
#define VC_F_HASH_STATELESS_MODE 2
#define VC_F_MAC_STATELESS_MODE 3
#define VC_F_AEAD_STATELESS_MODE 4
#define VC_F_AKCIPHER_STATELESS_MODE 5

/* Services (bit numbers in crypto_services, and the high byte of opcodes). */
#define VC_SERVICE_CIPHER 0
#define VC_SERVICE_HASH 1
#define VC_SERVICE_MAC 2
#define VC_SERVICE_AEAD 3
#define VC_SERVICE_AKCIPHER 4
#define VC_SERVICE_IPSEC 5
#define VC_NSERVICES 5 /* services this device knows (IPSEC is not one) */

#define VC_OPCODE(svc, op) (((uint32_t)(svc) << 8) | (uint32_t)(op))

/* Control opcodes. */
#define VC_CIPHER_CREATE_SESSION VC_OPCODE(VC_SERVICE_CIPHER, 0x02)
#define VC_CIPHER_DESTROY_SESSION VC_OPCODE(VC_SERVICE_CIPHER, 0x03)
#define VC_HASH_CREATE_SESSION VC_OPCODE(VC_SERVICE_HASH, 0x02)
#define VC_HASH_DESTROY_SESSION VC_OPCODE(VC_SERVICE_HASH, 0x03)
#define VC_MAC_CREATE_SESSION VC_OPCODE(VC_SERVICE_MAC, 0x02)
#define VC_MAC_DESTROY_SESSION VC_OPCODE(VC_SERVICE_MAC, 0x03)
#define VC_AEAD_CREATE_SESSION VC_OPCODE(VC_SERVICE_AEAD, 0x02)
#define VC_AEAD_DESTROY_SESSION VC_OPCODE(VC_SERVICE_AEAD, 0x03)
#define VC_AKCIPHER_CREATE_SESSION VC_OPCODE(VC_SERVICE_AKCIPHER, 0x04)
#define VC_AKCIPHER_DESTROY_SESSION VC_OPCODE(VC_SERVICE_AKCIPHER, 0x05)

/* Data opcodes. */
#define VC_CIPHER_ENCRYPT VC_OPCODE(VC_SERVICE_CIPHER, 0x00)
#define VC_CIPHER_DECRYPT VC_OPCODE(VC_SERVICE_CIPHER, 0x01)
#define VC_HASH VC_OPCODE(VC_SERVICE_HASH, 0x00)
#define VC_MAC VC_OPCODE(VC_SERVICE_MAC, 0x00)
#define VC_AEAD_ENCRYPT VC_OPCODE(VC_SERVICE_AEAD, 0x00)
#define VC_AEAD_DECRYPT VC_OPCODE(VC_SERVICE_AEAD, 0x01)
#define VC_AKCIPHER_ENCRYPT VC_OPCODE(VC_SERVICE_AKCIPHER, 0x00)
#define VC_AKCIPHER_DECRYPT VC_OPCODE(VC_SERVICE_AKCIPHER, 0x01)
#define VC_AKCIPHER_SIGN VC_OPCODE(VC_SERVICE_AKCIPHER, 0x02)
#define VC_AKCIPHER_VERIFY VC_OPCODE(VC_SERVICE_AKCIPHER, 0x03)

/* Cipher algorithms. */
#define VC_NO_CIPHER 0
#define VC_CIPHER_ARC4 1
#define VC_CIPHER_AES_ECB 2
#define VC_CIPHER_AES_CBC 3
#define VC_CIPHER_AES_CTR 4
#define VC_CIPHER_DES_ECB 5
#define VC_CIPHER_DES_CBC 6
#define VC_CIPHER_3DES_ECB 7
#define VC_CIPHER_3DES_CBC 8
#define VC_CIPHER_3DES_CTR 9
#define VC_CIPHER_KASUMI_F8 10
#define VC_CIPHER_SNOW3G_UEA2 11
#define VC_CIPHER_AES_F8 12
#define VC_CIPHER_AES_XTS 13
#define VC_CIPHER_ZUC_EEA3 14

/* Hash algorithms. */
#define VC_NO_HASH 0
#define VC_HASH_MD5 1
#define VC_HASH_SHA1 2
#define VC_HASH_SHA_224 3
#define VC_HASH_SHA_256 4
#define VC_HASH_SHA_384 5
#define VC_HASH_SHA_512 6
#define VC_HASH_SHA3_224 7
#define VC_HASH_SHA3_256 8
#define VC_HASH_SHA3_384 9
#define VC_HASH_SHA3_512 10
#define VC_HASH_SHA3_SHAKE128 11
#define VC_HASH_SHA3_SHAKE256 12

/* MAC algorithms (values above 31 live in mac_algo_h). */
#define VC_NO_MAC 0
#define VC_MAC_HMAC_MD5 1
#define VC_MAC_HMAC_SHA1 2
#define VC_MAC_HMAC_SHA_224 3
#define VC_MAC_HMAC_SHA_256 4
#define VC_MAC_HMAC_SHA_384 5
#define VC_MAC_HMAC_SHA_512 6
#define VC_MAC_CMAC_3DES 25
#define VC_MAC_CMAC_AES 26
#define VC_MAC_KASUMI_F9 27
#define VC_MAC_SNOW3G_UIA2 28
#define VC_MAC_GMAC_AES 41
#define VC_MAC_GMAC_TWOFISH 42
#define VC_MAC_CBCMAC_AES 49
#define VC_MAC_CBCMAC_KASUMI_F9 50
#define VC_MAC_XCBC_AES 53
#define VC_MAC_ZUC_EIA3 54

/* AEAD algorithms. */
#define VC_NO_AEAD 0
#define VC_AEAD_GCM 1
#define VC_AEAD_CCM 2
#define VC_AEAD_CHACHA20_POLY1305 3

/*
 * AKCIPHER algorithms. The spec (1.3+) says ECDSA = 2; the Linux and QEMU
 * uapi headers say DSA = 2, ECDSA = 3. We advertise bit 2 (the spec) and
 * accept both 2 and 3 as ECDSA in requests (there is no DSA here).
 */
#define VC_NO_AKCIPHER 0
#define VC_AKCIPHER_RSA 1
#define VC_AKCIPHER_ECDSA 2
#define VC_AKCIPHER_ECDSA_UAPI 3

#define VC_OP_ENCRYPT 1
#define VC_OP_DECRYPT 2

#define VC_SYM_OP_NONE 0
#define VC_SYM_OP_CIPHER 1
#define VC_SYM_OP_ALGORITHM_CHAINING 2

#define VC_SYM_ALG_CHAIN_ORDER_HASH_THEN_CIPHER 1
#define VC_SYM_ALG_CHAIN_ORDER_CIPHER_THEN_HASH 2

#define VC_SYM_HASH_MODE_PLAIN 1
#define VC_SYM_HASH_MODE_AUTH 2
#define VC_SYM_HASH_MODE_NESTED 3

#define VC_RSA_RAW_PADDING 0
#define VC_RSA_PKCS1_PADDING 1

#define VC_RSA_NO_HASH 0
#define VC_RSA_MD2 1
#define VC_RSA_MD3 2
#define VC_RSA_MD4 3
#define VC_RSA_MD5 4
#define VC_RSA_SHA1 5
#define VC_RSA_SHA256 6
#define VC_RSA_SHA384 7
#define VC_RSA_SHA512 8
#define VC_RSA_SHA224 9

#define VC_CURVE_UNKNOWN 0
#define VC_CURVE_NIST_P192 1
#define VC_CURVE_NIST_P224 2
#define VC_CURVE_NIST_P256 3
#define VC_CURVE_NIST_P384 4
#define VC_CURVE_NIST_P521 5

#define VC_AKCIPHER_KEY_TYPE_PUBLIC 1
#define VC_AKCIPHER_KEY_TYPE_PRIVATE 2

#define VC_FLAG_SESSION_MODE 1

/* Status codes. */
#define VC_OK 0
#define VC_ERR 1
#define VC_BADMSG 2
#define VC_NOTSUPP 3
#define VC_INVSESS 4
#define VC_NOSPC 5
#define VC_KEY_REJECTED 6
#define VC_NSTATUS 7

#define VC_S_HW_READY (1u << 0)

/* ---- Config space (56 bytes) ------------------------------------------ */

struct vc_config {
	uint32_t status;
	uint32_t max_dataqueues;
	uint32_t crypto_services;
	uint32_t cipher_algo_l;
	uint32_t cipher_algo_h;
	uint32_t hash_algo;
	uint32_t mac_algo_l;
	uint32_t mac_algo_h;
	uint32_t aead_algo;
	uint32_t max_cipher_key_len;
	uint32_t max_auth_key_len;
	uint32_t akcipher_algo;
	uint64_t max_size;
};
VT_STATIC_ASSERT(sizeof(struct vc_config) == 56, "virtio_crypto_config is 56 bytes");
VT_STATIC_ASSERT(offsetof(struct vc_config, akcipher_algo) == 44, "akcipher_algo at 44");
VT_STATIC_ASSERT(offsetof(struct vc_config, max_size) == 48, "max_size at 48");

/* ---- Control queue ------------------------------------------------------ */

struct vc_ctrl_header {
	uint32_t opcode;
	uint32_t algo;
	uint32_t flag;
	uint32_t reserved; /* Linux: queue_id */
};
VT_STATIC_ASSERT(sizeof(struct vc_ctrl_header) == 16, "ctrl header");

#define VC_CTRLQ_FLF_LEGACY 56

struct vc_cipher_session_flf {
	uint32_t algo;
	uint32_t key_len;
	uint32_t op;
	uint32_t padding;
};
VT_STATIC_ASSERT(sizeof(struct vc_cipher_session_flf) == 16, "cipher session flf");

struct vc_hash_session_flf {
	uint32_t algo;
	uint32_t hash_result_len;
};
VT_STATIC_ASSERT(sizeof(struct vc_hash_session_flf) == 8, "hash session flf");

struct vc_mac_session_flf {
	uint32_t algo;
	uint32_t hash_result_len;
	uint32_t auth_key_len;
	uint32_t padding;
};
VT_STATIC_ASSERT(sizeof(struct vc_mac_session_flf) == 16, "mac session flf");

struct vc_chain_session_flf {
	uint32_t alg_chain_order;
	uint32_t hash_mode;
	struct vc_cipher_session_flf cipher_hdr;
	uint8_t algo_flf[16]; /* hash or mac session flf */
	uint32_t aad_len;
	uint32_t padding;
};
VT_STATIC_ASSERT(sizeof(struct vc_chain_session_flf) == 48, "chain session flf");

struct vc_sym_session_flf {
	uint8_t op_flf[48]; /* cipher or chain session flf */
	uint32_t op_type;
	uint32_t padding;
};
VT_STATIC_ASSERT(sizeof(struct vc_sym_session_flf) == 56, "sym session flf");
VT_STATIC_ASSERT(offsetof(struct vc_sym_session_flf, op_type) == 48, "sym op_type at 48");

/* The Linux uapi calls tag_len hash_result_len; same place. */
struct vc_aead_session_flf {
	uint32_t algo;
	uint32_t key_len;
	uint32_t tag_len;
	uint32_t aad_len;
	uint32_t op;
	uint32_t padding;
};
VT_STATIC_ASSERT(sizeof(struct vc_aead_session_flf) == 24, "aead session flf");

struct vc_rsa_para {
	uint32_t padding_algo;
	uint32_t hash_algo;
};
struct vc_ecdsa_para {
	uint32_t curve_id;
};

struct vc_akcipher_session_flf {
	uint32_t algo;
	uint32_t key_type;
	uint32_t key_len;
	uint8_t algo_flf[44]; /* rsa or ecdsa para */
};
VT_STATIC_ASSERT(sizeof(struct vc_akcipher_session_flf) == 56, "akcipher session flf");

struct vc_destroy_session_flf {
	uint64_t session_id;
};
VT_STATIC_ASSERT(sizeof(struct vc_destroy_session_flf) == 8, "destroy flf");

struct vc_session_input {
	uint64_t session_id;
	uint32_t status;
	uint32_t padding;
};
VT_STATIC_ASSERT(sizeof(struct vc_session_input) == 16, "session input");

/* ---- Data queue --------------------------------------------------------- */

struct vc_op_header {
	uint32_t opcode;
	uint32_t algo;
	uint64_t session_id;
	uint32_t flag;
	uint32_t padding;
};
VT_STATIC_ASSERT(sizeof(struct vc_op_header) == 24, "op header");

#define VC_DATAQ_FLF_LEGACY 48

struct vc_cipher_data_flf {
	uint32_t iv_len;
	uint32_t src_data_len;
	uint32_t dst_data_len;
	uint32_t padding;
};
VT_STATIC_ASSERT(sizeof(struct vc_cipher_data_flf) == 16, "cipher data flf");

struct vc_chain_data_flf {
	uint32_t iv_len;
	uint32_t src_data_len;
	uint32_t dst_data_len;
	uint32_t cipher_start_src_offset;
	uint32_t len_to_cipher;
	uint32_t hash_start_src_offset;
	uint32_t len_to_hash;
	uint32_t aad_len;
	uint32_t hash_result_len;
	uint32_t reserved;
};
VT_STATIC_ASSERT(sizeof(struct vc_chain_data_flf) == 40, "chain data flf");

struct vc_sym_data_flf {
	uint8_t op_type_flf[40];
	uint32_t op_type;
	uint32_t padding;
};
VT_STATIC_ASSERT(sizeof(struct vc_sym_data_flf) == 48, "sym data flf");
/* In the legacy 72-byte request op_type sits at byte 64. */
VT_STATIC_ASSERT(sizeof(struct vc_op_header) + offsetof(struct vc_sym_data_flf, op_type) == 64,
		 "legacy op_type offset");

struct vc_hash_data_flf {
	uint32_t src_data_len;
	uint32_t hash_result_len;
};
VT_STATIC_ASSERT(sizeof(struct vc_hash_data_flf) == 8, "hash data flf");

/* Linux uapi: 16 bytes (no tag_len); the legacy padded form reads tag_len as 0. */
struct vc_aead_data_flf {
	uint32_t iv_len;
	uint32_t aad_len;
	uint32_t src_data_len;
	uint32_t dst_data_len;
	uint32_t tag_len;
	uint32_t reserved;
};
VT_STATIC_ASSERT(sizeof(struct vc_aead_data_flf) == 24, "aead data flf");

struct vc_akcipher_data_flf {
	uint32_t src_data_len;
	uint32_t dst_data_len;
};
VT_STATIC_ASSERT(sizeof(struct vc_akcipher_data_flf) == 8, "akcipher data flf");

/* Stateless ("mux") forms. */
struct vc_cipher_data_flf_stateless {
	uint32_t algo;
	uint32_t key_len;
	uint32_t op;
	uint32_t iv_len;
	uint32_t src_data_len;
	uint32_t dst_data_len;
};
VT_STATIC_ASSERT(sizeof(struct vc_cipher_data_flf_stateless) == 24, "cipher stateless flf");

struct vc_chain_data_flf_stateless {
	uint32_t alg_chain_order;
	uint32_t sess_aad_len;
	uint32_t cipher_algo;
	uint32_t cipher_key_len;
	uint32_t cipher_op;
	uint32_t hash_algo;
	uint32_t auth_key_len;
	uint32_t hash_mode;
	uint32_t iv_len;
	uint32_t src_data_len;
	uint32_t dst_data_len;
	uint32_t cipher_start_src_offset;
	uint32_t len_to_cipher;
	uint32_t hash_start_src_offset;
	uint32_t len_to_hash;
	uint32_t aad_len;
	uint32_t hash_result_len;
	uint32_t reserved;
};
VT_STATIC_ASSERT(sizeof(struct vc_chain_data_flf_stateless) == 72, "chain stateless flf");

struct vc_sym_data_flf_stateless {
	uint8_t op_type_flf[72];
	uint32_t op_type;
};
VT_STATIC_ASSERT(sizeof(struct vc_sym_data_flf_stateless) == 76, "sym stateless flf");

struct vc_hash_data_flf_stateless {
	uint32_t algo;
	uint32_t src_data_len;
	uint32_t hash_result_len;
	uint32_t reserved;
};
VT_STATIC_ASSERT(sizeof(struct vc_hash_data_flf_stateless) == 16, "hash stateless flf");

struct vc_mac_data_flf_stateless {
	uint32_t algo;
	uint32_t auth_key_len;
	uint32_t src_data_len;
	uint32_t hash_result_len;
};
VT_STATIC_ASSERT(sizeof(struct vc_mac_data_flf_stateless) == 16, "mac stateless flf");

struct vc_aead_data_flf_stateless {
	uint32_t algo;
	uint32_t key_len;
	uint32_t op;
	uint32_t iv_len;
	uint32_t tag_len;
	uint32_t aad_len;
	uint32_t src_data_len;
	uint32_t dst_data_len;
};
VT_STATIC_ASSERT(sizeof(struct vc_aead_data_flf_stateless) == 32, "aead stateless flf");

/* sess_para {algo, key_type, key_len, rsa {padding, hash} | ecdsa {curve_id}} then lengths. */
struct vc_akcipher_data_flf_stateless {
	uint32_t algo;
	uint32_t key_type;
	uint32_t key_len;
	uint8_t algo_flf[8]; /* struct vc_rsa_para or struct vc_ecdsa_para */
	uint32_t src_data_len;
	uint32_t dst_data_len;
};
VT_STATIC_ASSERT(sizeof(struct vc_akcipher_data_flf_stateless) == 28, "akcipher stateless flf");

/* ---- vhost-user CREATE_CRYPTO_SESSION payloads (QEMU, x86-64) ----------- */

/* CryptoDevBackendSymSessionInfo: identical in QEMU 7.1+ and newer QEMU. */
struct vc_vu_sym_info {
	uint32_t cipher_alg;
	uint32_t key_len;
	uint32_t hash_alg; /* HASH_* (PLAIN) or MAC_* (AUTH) */
	uint32_t hash_result_len;
	uint32_t auth_key_len;
	uint32_t add_len;
	uint8_t op_type;
	uint8_t direction;
	uint8_t hash_mode;
	uint8_t alg_chain_order;
	uint32_t pad;
	uint64_t cipher_key_ptr; /* QEMU heap pointers: never used */
	uint64_t auth_key_ptr;
};
VT_STATIC_ASSERT(sizeof(struct vc_vu_sym_info) == 48, "QEMU sym session info");

#define VC_VU_SYM_KEY_MAX 64
#define VC_VU_SYM_AUTH_KEY_MAX 512
#define VC_VU_ASYM_KEY_MAX 1024

/* QEMU 7.1 .. 8.0 (7.2 is Debian bookworm's): 632 bytes, session id first. */
struct vc_vu_session_72 {
	int64_t session_id;
	struct vc_vu_sym_info info;
	uint8_t key[VC_VU_SYM_KEY_MAX];
	uint8_t auth_key[VC_VU_SYM_AUTH_KEY_MAX];
};
VT_STATIC_ASSERT(sizeof(struct vc_vu_session_72) == 632, "QEMU 7.2 session is 632 bytes");

/* CryptoDevBackendAsymSessionInfo (newer QEMU). */
struct vc_vu_asym_info {
	uint32_t algo;
	uint32_t key_type;
	uint32_t key_len;
	uint32_t pad;
	uint64_t key_ptr;
	uint32_t padding_algo; /* rsa para */
	uint32_t hash_algo;
};
VT_STATIC_ASSERT(sizeof(struct vc_vu_asym_info) == 32, "QEMU asym session info");

/* Newer QEMU (asymmetric support, 8.1+): 1072 bytes, session id last. */
struct vc_vu_session_new {
	uint64_t op_code;
	union {
		struct {
			struct vc_vu_sym_info info;
			uint8_t key[VC_VU_SYM_KEY_MAX];
			uint8_t auth_key[VC_VU_SYM_AUTH_KEY_MAX];
		} sym;
		struct {
			struct vc_vu_asym_info info;
			uint8_t key[VC_VU_ASYM_KEY_MAX];
		} asym;
	} u;
	int64_t session_id;
};
VT_STATIC_ASSERT(sizeof(struct vc_vu_session_new) == 1072, "newer QEMU session is 1072 bytes");
VT_STATIC_ASSERT(offsetof(struct vc_vu_session_new, session_id) == 1064, "session id at 1064");

#endif
