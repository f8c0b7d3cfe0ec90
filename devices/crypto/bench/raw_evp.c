/* SPDX-License-Identifier: Apache-2.0 */
#include "raw_evp.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/params.h>

int vc_raw_init(struct vc_raw *r, const uint8_t key[32])
{
	memset(r, 0, sizeof(*r));
	r->gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	r->cbc = EVP_CIPHER_fetch(NULL, "AES-128-CBC", NULL);
	r->sha = EVP_MD_fetch(NULL, "SHA2-256", NULL);
	r->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	r->gctx = EVP_CIPHER_CTX_new();
	r->cctx = EVP_CIPHER_CTX_new();
	r->mctx = EVP_MD_CTX_new();
	r->hctx = r->hmac ? EVP_MAC_CTX_new(r->hmac) : NULL;
	if (!r->gcm || !r->cbc || !r->sha || !r->hctx || !r->gctx || !r->cctx || !r->mctx)
		return -1;
	static char sha256[] = "SHA2-256";
	OSSL_PARAM p[2] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, sha256, 0),
			   OSSL_PARAM_construct_end()};
	if (!EVP_CipherInit_ex2(r->gctx, r->gcm, key, NULL, 1, NULL) ||
	    !EVP_CipherInit_ex2(r->cctx, r->cbc, key, NULL, 1, NULL) ||
	    !EVP_DigestInit_ex2(r->mctx, r->sha, NULL) || !EVP_MAC_init(r->hctx, key, 32, p))
		return -1;
	EVP_CIPHER_CTX_set_padding(r->cctx, 0);
	return 0;
}

void vc_raw_free(struct vc_raw *r)
{
	EVP_CIPHER_CTX_free(r->gctx);
	EVP_CIPHER_CTX_free(r->cctx);
	EVP_MD_CTX_free(r->mctx);
	EVP_MAC_CTX_free(r->hctx);
	EVP_CIPHER_free(r->gcm);
	EVP_CIPHER_free(r->cbc);
	EVP_MD_free(r->sha);
	EVP_MAC_free(r->hmac);
	memset(r, 0, sizeof(*r));
}

int vc_raw_one(struct vc_raw *r, enum vc_raw_alg a, const uint8_t *iv, const uint8_t *src,
	       uint8_t *out, size_t size, uint8_t *tail)
{
	int ol;
	unsigned int ml;
	size_t hl;
	switch (a) {
	case VC_RAW_AES256_GCM:
		return EVP_CipherInit_ex2(r->gctx, NULL, NULL, iv, -1, NULL) &&
		       EVP_CipherUpdate(r->gctx, out, &ol, src, (int)size) &&
		       EVP_CipherFinal_ex(r->gctx, tail, &ol) &&
		       EVP_CIPHER_CTX_ctrl(r->gctx, EVP_CTRL_AEAD_GET_TAG, 16, tail)
		       ? 0 : -1;
	case VC_RAW_AES128_CBC:
		return EVP_CipherInit_ex2(r->cctx, NULL, NULL, iv, -1, NULL) &&
		       EVP_CipherUpdate(r->cctx, out, &ol, src, (int)size) &&
		       EVP_CipherFinal_ex(r->cctx, tail, &ol)
		       ? 0 : -1;
	case VC_RAW_SHA256:
		return EVP_DigestInit_ex2(r->mctx, NULL, NULL) && EVP_DigestUpdate(r->mctx, src, size) &&
		       EVP_DigestFinal_ex(r->mctx, tail, &ml)
		       ? 0 : -1;
	case VC_RAW_HMAC_SHA256:
		return EVP_MAC_init(r->hctx, NULL, 0, NULL) && EVP_MAC_update(r->hctx, src, size) &&
		       EVP_MAC_final(r->hctx, tail, &hl, 32)
		       ? 0 : -1;
	}
	return -1;
}
