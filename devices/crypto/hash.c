/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HASH service: SHA-1, SHA-2 and SHA-3. The session keeps one EVP_MD_CTX
 * initialised with the fetched digest; a request re-initialises it
 * (EVP_DigestInit_ex2 with a NULL type keeps the digest) and streams src.
 *
 * hash_result_len: 0 at session creation means the full digest; a larger
 * value than the digest is an error. In a request 0 means the session's
 * length; anything up to the digest length truncates.
 */
#include <string.h>

#include "crypto_dev.h"

uint8_t vc_hash_setup(struct vc_dev *d, struct vc_session *s, uint32_t algo,
		      uint32_t result_len)
{
	const struct vc_hash_alg *h = vc_hash_find(algo, NULL);
	if (!h || !vc_dev_hash_enabled(d, algo))
		return VC_NOTSUPP;
	if (result_len > h->digest_len)
		return VC_ERR;
	EVP_MD_CTX *ctx = vc_session_mdctx(s);
	if (!ctx || !EVP_DigestInit_ex2(ctx, vc_dev_md(d, algo), NULL))
		return VC_ERR;
	s->hash = h;
	s->digest_len = h->digest_len;
	s->result_len = result_len ? result_len : h->digest_len;
	return VC_OK;
}

uint8_t vc_hash_run(struct vc_qctx *q, struct vc_session *s, const struct vc_data_req *r,
		    struct vt_chain *c)
{
	(void)q;
	uint32_t out_len = r->hash_result_len ? r->hash_result_len : s->result_len;
	if (out_len > s->digest_len)
		return VC_ERR;
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int mdl = 0;
	if (!EVP_DigestInit_ex2(s->mdctx, NULL, NULL))
		return VC_ERR;
	if (vc_stream_digest(s->mdctx, c, r->src_len) < 0)
		return VC_ERR;
	if (!EVP_DigestFinal_ex(s->mdctx, md, &mdl) || mdl < out_len)
		return VC_ERR;
	if (vt_chain_write(c, md, out_len) < 0)
		return VC_ERR;
	return VC_OK;
}
