/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The virtio-crypto device: internal interfaces between its files. Concepts
 * have their own headers, included here: crypto_alg.h (algorithm tables),
 * crypto_session.h (sessions and the table), crypto_request.h (decoded
 * requests); this one holds the device, its options, per-queue context and
 * the services.
 *
 *   config.c        OpenSSL library context, algorithm tables and the
 *                   fetched EVP objects, config space
 *   qctx.c          a queue's own context: keys in transit, scratch, stateless contexts
 *   session.c       session objects and the bounded session table
 *   session_life.c  a guest's session: create (table, persist) and destroy
 *   persist.c       sessions kept across a restart (core/resume.h)
 *   parse.c         control- and data-queue request parsing (no crypto)
 *   ctrlq.c         the control queue
 *   dataq.c         the data queues: session lookup, stateless sessions, dispatch
 *   cipher.c hash.c mac.c aead.c algchain.c akcipher.c   one service each
 *   stream.c        a chain's readable bytes through EVP (core's cursor callbacks)
 *   gcm_j0.c        GCM's J0 as an IV OpenSSL takes (GF(2^128), used by aead.c)
 *   vhost_session.c VHOST_USER_CREATE/CLOSE_CRYPTO_SESSION (QEMU's path)
 *   crypto.c        struct vt_device_ops, creation
 *   type.c          the vtrustd device type: options, metrics, status
 *
 * Calls go one way (no file calls back into one that calls it): crypto.c ->
 * ctrlq/dataq/vhost_session -> session_life -> session/persist -> services
 * -> stream/qctx/config/gcm_j0.
 *
 * Threads. Data queues each have a worker; the control queue has its own;
 * the vhost-user session messages run on the protocol thread. The session
 * table has one mutex (held only to look up, insert or remove). A session's
 * OpenSSL contexts are not thread-safe, so each session has its own mutex,
 * held for the duration of one request: two queues using the same session
 * take turns, different sessions run in parallel. Per-queue state (key
 * bounce buffer, scratch buffer, stateless contexts) belongs to one worker.
 */
#ifndef VTRUST_CRYPTO_DEV_H
#define VTRUST_CRYPTO_DEV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "chain.h"
#include "compiler.h"
#include "crypto_alg.h"
#include "crypto_request.h"
#include "crypto_session.h"
#include "vdev.h"
#include "virtio_crypto.h"

struct vt_devcfg;

/* ---- Options ------------------------------------------------------------- */

struct vc_opts {
	uint32_t dataqueues;
	uint32_t max_sessions;
	uint64_t max_size;
	uint32_t max_cipher_key_len;
	uint32_t max_auth_key_len;
	uint32_t max_akcipher_key_len;
	bool revision_1; /* offer VIRTIO_CRYPTO_F_REVISION_1 */
	bool stateless;  /* offer the *_STATELESS_MODE bits (needs revision_1) */
	uint64_t secure_heap;
	bool config_space;      /* offer VHOST_USER_PROTOCOL_F_CONFIG (GET_CONFIG) */
	const char *algorithms; /* allow list, NULL = everything implemented */
	const char *ossl_config;
	const char *ossl_providers;
	const char *ossl_propq;
};

/* ---- Per-queue context and the device ------------------------------------ */

struct vc_qctx {
	struct vc_dev *dev;
	unsigned index;
	uint8_t *keybuf; /* vt_secmem: key bytes in transit (ctrlq, stateless) */
	size_t keybuf_len;
	uint8_t *scratch; /* one-shot algorithms, chains, akcipher */
	size_t scratch_cap;
	struct vc_stateless_ctx sl;
	uint64_t busy_mark; /* worker-time accounting (crypto.c) */
};

struct vc_stats {
	_Atomic uint64_t requests[VC_NSERVICES];
	_Atomic uint64_t status[VC_NSTATUS];
	_Atomic uint64_t ctrl_status[VC_NSTATUS];
	_Atomic uint64_t bytes;
	_Atomic uint64_t sessions_created;
	_Atomic uint64_t sessions_destroyed;
	_Atomic uint64_t vhost_creates;
	_Atomic uint64_t malformed;
	_Atomic uint64_t busy_ns; /* time spent serving data requests */
};

struct vc_dev {
	char name[64];
	struct vc_opts opts;
	char *algorithms_copy;
	char *propq;

	OSSL_LIB_CTX *libctx; /* NULL: OpenSSL's default context */
	OSSL_PROVIDER *providers[8];
	unsigned nproviders;

	/* Fetched once; NULL when unavailable or disabled by the operator. */
	EVP_CIPHER *ciphers[16][VC_MAX_VARIANTS]; /* by index in vc_cipher_algs */
	EVP_MD *mds[16];                           /* by index in vc_hash_algs */
	bool hash_enabled[16];                     /* HASH service (mds also serve HMAC) */
	EVP_MD *md_by_rsa_hash[10];                /* PKCS#1 DigestInfo hashes */
	EVP_MAC *macs[2];                          /* by enum vc_mac_kind */
	bool mac_enabled[16];                      /* by index in vc_mac_algs */
	EVP_CIPHER *aeads[8][VC_MAX_VARIANTS];     /* by index in vc_aead_algs */
	bool rsa_enabled, ecdsa_enabled;

	struct vc_config config; /* computed at create, read-only after */
	uint64_t offered_features;
	_Atomic uint64_t features; /* acked by the front-end */

	struct vc_table table;
	unsigned nqueues; /* dataqueues + 1 */
	struct vc_qctx *qctx;

	struct vc_stats stats;

	void *persist; /* sessions kept for a restart (persist.c), or NULL */
};

/* persist.c: sessions that survive a restart under an fd store (core/resume.h). */
size_t vc_persist_size(void *priv);
int vc_persist_attach(void *priv, void *area, size_t size, bool restored);
void vc_persist_store(struct vc_dev *d, uint64_t id, const struct vc_sess_params *p);
void vc_persist_clear(struct vc_dev *d, uint64_t id);

/* The device's callbacks (crypto.c). */
extern const struct vt_device_ops vc_crypto_ops;

/* type.c */
int vc_opts_parse(const struct vt_devcfg *cfg, struct vc_opts *o) VT_MUST_USE;
/* 0, or -EINVAL with why = "unknown algorithm 'x'"; names: every known name, for messages. */
int vc_check_algorithms(const char *list, char *why, size_t why_size) VT_MUST_USE;
void vc_algorithm_names(char *out, size_t size);
int vc_dev_init_openssl(struct vc_dev *d) VT_MUST_USE;
void vc_dev_free_openssl(struct vc_dev *d);
void vc_dev_build_config(struct vc_dev *d);
/* The fetched EVP object for an algorithm and key length; NULL if none. */
EVP_CIPHER *vc_dev_cipher(const struct vc_dev *d, uint32_t id, uint32_t key_len);
EVP_CIPHER *vc_dev_aead(const struct vc_dev *d, uint32_t id, uint32_t key_len);
EVP_MD *vc_dev_md(const struct vc_dev *d, uint32_t hash_id);
bool vc_dev_hash_enabled(const struct vc_dev *d, uint32_t hash_id);
bool vc_dev_mac_enabled(const struct vc_dev *d, uint32_t mac_id);
bool vc_dev_service_enabled(const struct vc_dev *d, uint32_t service);
bool vc_dev_hash_known(uint32_t id);
bool vc_dev_mac_known(uint32_t id);
const char *vc_status_name(uint8_t status);

/* Builds a device without a vt_devcfg (tests, fuzzing, benchmarks). */
int vc_dev_new(const char *name, const struct vc_opts *o, struct vc_dev **ret) VT_MUST_USE;
void vc_dev_free(struct vc_dev *d);
void vc_opts_default(struct vc_opts *o);

/* qctx.c: a queue's context (keys in transit, scratch, stateless contexts). */
int vc_qctx_init(struct vc_dev *d, struct vc_qctx *q, unsigned index) VT_MUST_USE;
void vc_qctx_free(struct vc_qctx *q);
/*
 * Grows q's scratch buffer to n bytes (bounded by max_size + 64 KiB; the old
 * buffer is wiped); NULL on failure. Users cleanse what they wrote.
 */
uint8_t *vc_scratch(struct vc_qctx *q, size_t n);

/* ---- Execution ---------------------------------------------------------- */

/*
 * Services run with s->lock held, after dataq.c checked that the request's
 * readable and writable sizes fit the chain and max_size; the read cursor is
 * at the request's first vlf byte (after any stateless keys) and the write
 * cursor at the start of the writable area. Each returns a status;
 * akcipher also reports how many dst bytes it wrote.
 */
uint8_t vc_cipher_run(struct vc_qctx *q, struct vc_session *s, const struct vc_data_req *r,
		      struct vt_chain *c) VT_MUST_USE;
uint8_t vc_hash_run(struct vc_qctx *q, struct vc_session *s, const struct vc_data_req *r,
		    struct vt_chain *c) VT_MUST_USE;
uint8_t vc_mac_run(struct vc_qctx *q, struct vc_session *s, const struct vc_data_req *r,
		   struct vt_chain *c) VT_MUST_USE;
uint8_t vc_aead_run(struct vc_qctx *q, struct vc_session *s, const struct vc_data_req *r,
		    struct vt_chain *c) VT_MUST_USE;
uint8_t vc_algchain_run(struct vc_qctx *q, struct vc_session *s, const struct vc_data_req *r,
		     struct vt_chain *c) VT_MUST_USE;
uint8_t vc_akcipher_run(struct vc_qctx *q, struct vc_session *s, const struct vc_data_req *r,
			struct vt_chain *c, uint32_t *ret_written) VT_MUST_USE;

/* gcm_j0.c: GCM's J0 as an IV OpenSSL takes. H = E_K(0^128) for this AES key. */
int vc_gcm_hash_key(struct vc_dev *d, const uint8_t *key, uint32_t key_len,
		    uint8_t h[16]) VT_MUST_USE;
void vc_gcm_hinv2(const uint8_t h[16], uint8_t out[16]);
/* The 16-byte IV X with GHASH_H(X || 0^64 || [128]_64) = j0; -EDOM if none (H = 0). */
int vc_gcm_iv_for_j0(const uint8_t h[16], const uint8_t hinv2[16], const uint8_t j0[16],
		     uint8_t iv[16]) VT_MUST_USE;

/* cipher.c helpers shared with algchain.c. */
uint8_t vc_cipher_begin(struct vc_session *s, uint32_t iv_len, struct vt_chain *c) VT_MUST_USE;

/* stream.c: n bytes from c's read cursor through ctx into its write cursor. */
int vc_stream_cipher(EVP_CIPHER_CTX *ctx, struct vt_chain *c, size_t n, uint32_t block) VT_MUST_USE;
/*
 * One EVP call over n bytes (XTS data units, CCM): in place in guest memory
 * when both sides are contiguous (bounce may be NULL then), else through
 * bounce (n bytes, wiped by the caller).
 */
int vc_transform_whole(EVP_CIPHER_CTX *ctx, struct vt_chain *c, size_t n,
		       uint8_t *bounce) VT_MUST_USE;
/* n readable bytes into a digest / MAC, advancing. */
int vc_stream_digest(EVP_MD_CTX *ctx, struct vt_chain *c, size_t n) VT_MUST_USE;
int vc_stream_mac(EVP_MAC_CTX *ctx, struct vt_chain *c, size_t n) VT_MUST_USE;
/* The n readable bytes off bytes past the cursor (which stays) into AEAD AAD / digest / MAC. */
int vc_stream_aad(EVP_CIPHER_CTX *ctx, const struct vt_chain *c, size_t off,
		  size_t n) VT_MUST_USE;
int vc_stream_digest_at(EVP_MD_CTX *ctx, const struct vt_chain *c, size_t off,
			size_t n) VT_MUST_USE;
int vc_stream_mac_at(EVP_MAC_CTX *ctx, const struct vt_chain *c, size_t off,
		     size_t n) VT_MUST_USE;

/* dataq.c / ctrlq.c: the per-chain handlers (return the used length, <0 malformed). */
int vc_dataq_chain(struct vc_qctx *q, struct vt_chain *c);
int vc_ctrlq_chain(struct vc_qctx *q, struct vt_chain *c);

/* vhost_session.c */
int vc_vhost_message(struct vc_dev *d, uint32_t request, const void *payload, uint32_t size,
		     void *reply, uint32_t *reply_size);

/* The session's contexts, created on first use (or the queue's when borrowed). */
static inline EVP_CIPHER_CTX *vc_session_cctx(struct vc_session *s)
{
	if (!s->cctx)
		s->cctx = s->sl ? s->sl->cctx : EVP_CIPHER_CTX_new();
	return s->cctx;
}

static inline EVP_MD_CTX *vc_session_mdctx(struct vc_session *s)
{
	if (!s->mdctx)
		s->mdctx = s->sl ? s->sl->mdctx : EVP_MD_CTX_new();
	return s->mdctx;
}

static inline bool vc_feature(const struct vc_dev *d, unsigned bit)
{
	return atomic_load_explicit(&d->features, memory_order_relaxed) & (1ull << bit);
}

#endif
