/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Crypto sessions: the parameters a session is made from (control queue,
 * stateless request or QEMU's message), the session object with its OpenSSL
 * contexts and lock, the bounded session table (session.c), create and
 * destroy (session_life.c), and each service's setup.
 */
#ifndef VTRUST_CRYPTO_SESSION_H
#define VTRUST_CRYPTO_SESSION_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "compiler.h"
#include "crypto_alg.h"

/* ---- Session parameters from any source (ctrlq, stateless, QEMU) ------- */

struct vc_sess_params {
	uint32_t service; /* VC_SERVICE_* */
	uint32_t sym_op;  /* cipher service: VC_SYM_OP_CIPHER / _ALGORITHM_CHAINING */
	uint32_t op;      /* VC_OP_ENCRYPT / VC_OP_DECRYPT (cipher, chain, aead) */
	uint32_t cipher_algo;
	uint32_t key_len; /* cipher, aead or akcipher key */
	const uint8_t *key;
	uint32_t hash_mode;   /* chain: PLAIN / AUTH / NESTED */
	uint32_t chain_order; /* chain: HASH_THEN_CIPHER / CIPHER_THEN_HASH */
	uint32_t hash_algo;   /* VC_HASH_* (hash, plain chain) or VC_MAC_* (mac, auth chain) */
	uint32_t hash_result_len;
	uint32_t auth_key_len;
	const uint8_t *auth_key;
	uint32_t aad_len;
	uint32_t aead_algo;
	uint32_t tag_len;
	uint32_t ak_algo; /* VC_AKCIPHER_* */
	uint32_t key_type;
	uint32_t padding_algo;
	uint32_t rsa_hash;
	uint32_t curve;
};

/* ---- Sessions (session.c) ----------------------------------------------- */

/* Per-queue reusable contexts for stateless requests. */
struct vc_stateless_ctx {
	EVP_CIPHER_CTX *cctx;
	EVP_MD_CTX *mdctx;
	EVP_MAC_CTX *mac[2]; /* by enum vc_mac_kind */
};

struct vc_session {
	pthread_mutex_t lock; /* held while a request uses the contexts */
	_Atomic uint32_t refs;
	bool borrowed;               /* stateless: contexts belong to the queue */
	struct vc_stateless_ctx *sl; /* the queue's contexts when borrowed */
	uint32_t service;
	uint32_t sym_op;
	uint32_t op;

	/* cipher service, chain and aead */
	const struct vc_cipher_alg *cipher;
	EVP_CIPHER_CTX *cctx;
	uint32_t key_len;

	/* hash service, plain chain */
	const struct vc_hash_alg *hash;
	EVP_MD_CTX *mdctx;
	/* mac service, auth chain */
	const struct vc_mac_alg *mac;
	EVP_MAC_CTX *macctx;
	uint32_t digest_len; /* full output of the hash / mac */
	uint32_t result_len; /* what the session asked for (truncation) */

	/* chain */
	uint32_t chain_order;
	uint32_t hash_mode;
	uint32_t aad_len;

	/* aead */
	const struct vc_aead_alg *aead;
	uint32_t tag_len;
	uint8_t *ccm_key; /* CCM re-keys per request: OPENSSL_secure_malloc'ed copy */
	/* GCM with a J0 IV (gcm_j0.c): H = E_K(0^128) and H^-2, wiped with the session */
	uint8_t gcm_h[16];
	uint8_t gcm_hinv2[16];
	bool gcm_h_ok, gcm_hinv2_ok;
	const uint8_t *gcm_key; /* borrowed session: the request's key, for H on demand */
	uint32_t gcm_ivlen;     /* the IV length the context is set to (0 = OpenSSL's 12) */

	/* akcipher */
	uint32_t ak_algo;
	uint32_t key_type;
	uint32_t padding_algo;
	uint32_t curve;
	const EVP_MD *sig_md; /* PKCS#1 v1.5 DigestInfo hash, NULL = none */
	EVP_PKEY *pkey;
	EVP_PKEY_CTX *pctx;
	uint32_t pctx_op; /* the data opcode pctx is initialised for, 0 = none */
	size_t ak_size;   /* modulus bytes / max signature bytes */
};


#define VC_ID_INDEX_BITS 16
#define VC_MAX_SESSIONS (1u << VC_ID_INDEX_BITS)
#define VC_GEN_MAX ((1ull << (63 - VC_ID_INDEX_BITS)) - 1)

struct vc_slot {
	struct vc_session *s; /* NULL when free */
	uint64_t gen;         /* generation of the id handed out last */
	uint32_t next_free;
};

struct vc_table {
	pthread_mutex_t lock;
	/*
	 * Held across a create's insert and record, and a destroy's forget and
	 * remove (session_life.c): a destroy of the id being created (ids are
	 * guessable) waits until its record is written, so it cannot be left
	 * behind live. Lookups do not take it.
	 */
	pthread_mutex_t life;
	uint32_t cap;
	uint32_t live;
	uint32_t free_head; /* UINT32_MAX when empty */
	uint32_t retired;   /* slots whose generation is exhausted */
	struct vc_slot *slots;
};

struct vc_dev;

int vc_table_init(struct vc_table *t, uint32_t cap) VT_MUST_USE;
void vc_table_destroy(struct vc_table *t);
/* Inserts s (the table keeps the creator's reference): VC_OK or VC_NOSPC. */
uint8_t vc_table_insert(struct vc_table *t, struct vc_session *s, uint64_t *ret_id) VT_MUST_USE;
/* A referenced session, or NULL for an unknown or destroyed id. */
struct vc_session *vc_table_get(struct vc_table *t, uint64_t id) VT_MUST_USE;
/* Removes id and drops the table's reference: 0 or -ENOENT. */
int vc_table_remove(struct vc_table *t, uint64_t id);
uint32_t vc_table_used(struct vc_table *t);
/* True if an insert would find a free slot now. */
bool vc_table_has_room(struct vc_table *t);

/*
 * Builds a session from p: VC_OK (and *ret), VC_NOTSUPP or VC_ERR. With
 * borrow set the session uses those contexts instead of allocating (stateless
 * requests) and lives on the caller's stack: use vc_session_clear on it.
 */
uint8_t vc_session_new(struct vc_dev *d, const struct vc_sess_params *p,
		       struct vc_stateless_ctx *borrow, struct vc_session *stack,
		       struct vc_session **ret) VT_MUST_USE;
void vc_session_put(struct vc_session *s);
void vc_session_clear(struct vc_session *s); /* releases what a borrowed session owns */

/* Full create path: params → session → table. Status per the spec (rev1 for NOSPC). */
uint8_t vc_create_session(struct vc_dev *d, const struct vc_sess_params *p, bool rev1,
			  uint64_t *ret_id) VT_MUST_USE;
/* Destroy: VC_OK or VC_ERR (unknown id). */
uint8_t vc_destroy_session(struct vc_dev *d, uint64_t id) VT_MUST_USE;

/* Service setup (called by vc_session_new with the table unlocked). */
uint8_t vc_cipher_setup(struct vc_dev *d, struct vc_session *s, uint32_t algo,
			const uint8_t *key, uint32_t key_len, uint32_t op) VT_MUST_USE;
uint8_t vc_hash_setup(struct vc_dev *d, struct vc_session *s, uint32_t algo,
		      uint32_t result_len) VT_MUST_USE;
uint8_t vc_mac_setup(struct vc_dev *d, struct vc_session *s, uint32_t algo,
		     const uint8_t *key, uint32_t key_len, uint32_t result_len) VT_MUST_USE;
uint8_t vc_aead_setup(struct vc_dev *d, struct vc_session *s, uint32_t algo,
		      const uint8_t *key, uint32_t key_len, uint32_t tag_len, uint32_t aad_len,
		      uint32_t op) VT_MUST_USE;
uint8_t vc_akcipher_setup(struct vc_dev *d, struct vc_session *s,
			  const struct vc_sess_params *p) VT_MUST_USE;

#endif
