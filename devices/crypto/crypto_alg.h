/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The algorithms the crypto device implements (tables in config.c): virtio
 * ids, OpenSSL names, modes, key and digest lengths. Pure data; which of
 * them a device fetched and enables is struct vc_dev's (crypto_dev.h).
 */
#ifndef VTRUST_CRYPTO_ALG_H
#define VTRUST_CRYPTO_ALG_H

#include <stddef.h>
#include <stdint.h>

/* ---- Algorithms (config.c) ---------------------------------------------- */

enum vc_cipher_mode {
	VC_MODE_BLOCK,   /* ECB, CBC: whole blocks, no padding, streamed */
	VC_MODE_STREAM,  /* CTR: any length, streamed */
	VC_MODE_ONESHOT, /* XTS: one EVP call over the whole data unit */
};

#define VC_MAX_VARIANTS 3

struct vc_variant {
	uint32_t key_len;
	const char *ossl; /* OpenSSL algorithm name */
};

struct vc_cipher_alg {
	uint32_t id; /* VC_CIPHER_* */
	const char *name;
	enum vc_cipher_mode mode;
	uint32_t block; /* block size (bytes) */
	uint32_t iv_len;
	struct vc_variant var[VC_MAX_VARIANTS];
};

struct vc_hash_alg {
	uint32_t id; /* VC_HASH_* */
	const char *name;
	const char *ossl;
	uint32_t digest_len;
};

enum vc_mac_kind { VC_MAC_KIND_HMAC, VC_MAC_KIND_CMAC };

struct vc_mac_alg {
	uint32_t id; /* VC_MAC_* */
	const char *name;
	enum vc_mac_kind kind;
	uint32_t hash_id;                    /* HMAC: the digest (VC_HASH_*) */
	struct vc_variant var[VC_MAX_VARIANTS]; /* CMAC: the cipher by key length */
};

enum vc_aead_kind { VC_AEAD_KIND_GCM, VC_AEAD_KIND_CCM, VC_AEAD_KIND_CHACHA };

struct vc_aead_alg {
	uint32_t id; /* VC_AEAD_* */
	const char *name;
	enum vc_aead_kind kind;
	struct vc_variant var[VC_MAX_VARIANTS];
};

extern const struct vc_cipher_alg vc_cipher_algs[];
extern const size_t vc_ncipher_algs;
extern const struct vc_hash_alg vc_hash_algs[];
extern const size_t vc_nhash_algs;
extern const struct vc_mac_alg vc_mac_algs[];
extern const size_t vc_nmac_algs;
extern const struct vc_aead_alg vc_aead_algs[];
extern const size_t vc_naead_algs;

/* A table entry by virtio id (and its index in the table), or NULL. */
const struct vc_cipher_alg *vc_cipher_find(uint32_t id, size_t *ret_index);
const struct vc_hash_alg *vc_hash_find(uint32_t id, size_t *ret_index);
const struct vc_mac_alg *vc_mac_find(uint32_t id, size_t *ret_index);
const struct vc_aead_alg *vc_aead_find(uint32_t id, size_t *ret_index);

#endif
