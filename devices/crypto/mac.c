/* SPDX-License-Identifier: Apache-2.0 */
/*
 * MAC service: HMAC-SHA1/224/256/384/512 and CMAC-AES (128/192/256-bit
 * keys). The EVP_MAC objects are fetched once per device; a session owns an
 * EVP_MAC_CTX keyed once (HMAC keeps its key in OpenSSL's secure heap); a
 * request re-initialises it without a key (EVP_MAC_init(ctx, NULL, 0, NULL)
 * restarts with the same key) and streams src.
 */
#include <string.h>

#include <openssl/core_names.h>

#include "crypto_dev.h"

uint8_t vc_mac_setup(struct vc_dev *d, struct vc_session *s, uint32_t algo,
		     const uint8_t *key, uint32_t key_len, uint32_t result_len)
{
	const struct vc_mac_alg *m = vc_mac_find(algo, NULL);
	if (!m || !vc_dev_mac_enabled(d, algo))
		return VC_NOTSUPP;
	if (key_len > d->opts.max_auth_key_len)
		return VC_ERR;
	OSSL_PARAM params[3];
	unsigned np = 0;
	if (m->kind == VC_MAC_KIND_HMAC) {
		const struct vc_hash_alg *h = vc_hash_find(m->hash_id, NULL);
		params[np++] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
								(char *)(uintptr_t)h->ossl, 0);
	} else {
		const char *cipher = NULL;
		for (unsigned v = 0; v < VC_MAX_VARIANTS; v++)
			if (m->var[v].ossl && m->var[v].key_len == key_len)
				cipher = m->var[v].ossl;
		if (!cipher)
			return VC_NOTSUPP; /* no such AES key size */
		params[np++] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER,
								(char *)(uintptr_t)cipher, 0);
	}
	if (d->propq)
		params[np++] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_PROPERTIES,
								d->propq, 0);
	params[np] = OSSL_PARAM_construct_end();

	EVP_MAC_CTX *ctx;
	if (s->sl) {
		ctx = s->sl->mac[m->kind];
	} else {
		ctx = EVP_MAC_CTX_new(d->macs[m->kind]);
		s->macctx = ctx;
	}
	if (!ctx)
		return VC_ERR;
	s->macctx = ctx;
	/* An empty HMAC key is legal; EVP wants a non-NULL pointer to tell it from "keep". */
	static const uint8_t empty[1];
	if (!EVP_MAC_init(ctx, key_len ? key : empty, key_len, params))
		return VC_ERR;
	size_t size = EVP_MAC_CTX_get_mac_size(ctx);
	if (size == 0 || size > EVP_MAX_MD_SIZE)
		return VC_ERR;
	if (result_len > size)
		return VC_ERR;
	s->mac = m;
	s->digest_len = (uint32_t)size;
	s->result_len = result_len ? result_len : (uint32_t)size;
	return VC_OK;
}

uint8_t vc_mac_run(struct vc_qctx *q, struct vc_session *s, const struct vc_data_req *r,
		   struct vt_chain *c)
{
	(void)q;
	uint32_t out_len = r->hash_result_len ? r->hash_result_len : s->result_len;
	if (out_len > s->digest_len)
		return VC_ERR;
	uint8_t mac[EVP_MAX_MD_SIZE];
	size_t ml = 0;
	if (!EVP_MAC_init(s->macctx, NULL, 0, NULL))
		return VC_ERR;
	if (vc_stream_mac(s->macctx, c, r->src_len) < 0)
		return VC_ERR;
	if (!EVP_MAC_final(s->macctx, mac, &ml, sizeof(mac)) || ml < out_len)
		return VC_ERR;
	int w = vt_chain_write(c, mac, out_len);
	OPENSSL_cleanse(mac, sizeof(mac));
	return w < 0 ? VC_ERR : VC_OK;
}
