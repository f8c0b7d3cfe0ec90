/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one raw-OpenSSL baseline of every crypto benchmark (crypto-device and
 * the probe's crypto-e2e): per request, exactly the EVP calls the device
 * makes on a keyed context (IV re-init, update, final, tag; digest or MAC
 * re-init, update, final), so device and baseline cannot drift apart.
 */
#ifndef VTRUST_CRYPTO_RAW_EVP_H
#define VTRUST_CRYPTO_RAW_EVP_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

/* In this order in both benchmarks' tables. */
enum vc_raw_alg { VC_RAW_AES256_GCM, VC_RAW_AES128_CBC, VC_RAW_SHA256, VC_RAW_HMAC_SHA256 };

struct vc_raw {
	EVP_CIPHER *gcm, *cbc;
	EVP_CIPHER_CTX *gctx, *cctx;
	EVP_MD *sha;
	EVP_MD_CTX *mctx;
	EVP_MAC *hmac;
	EVP_MAC_CTX *hctx;
};

/* Fetches and keys every context with key (32 bytes; CBC uses the first 16). 0 or -1. */
int vc_raw_init(struct vc_raw *r, const uint8_t key[32]);
void vc_raw_free(struct vc_raw *r);

/*
 * One request: a cipher takes iv (GCM 12, CBC 16 bytes) and size bytes of
 * src into out (in place allowed) and its final block / GCM tag into tail;
 * a digest or MAC writes its 32-byte result into tail. 0 or -1.
 */
int vc_raw_one(struct vc_raw *r, enum vc_raw_alg a, const uint8_t *iv, const uint8_t *src,
	       uint8_t *out, size_t size, uint8_t *tail);

#endif
