/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per-queue context: what one worker owns and no other thread touches. The
 * key bounce buffer (secure memory: keys of control and stateless requests
 * in transit), the scratch buffer (one-shot algorithms that need contiguous
 * bytes, algorithm chaining, akcipher) and the borrowed OpenSSL contexts of
 * stateless requests.
 *
 * The scratch buffer wipes itself: its users cleanse what they put there
 * when the request ends, and the buffer is wiped again whenever it is
 * replaced by a larger one or freed, so no request's bytes outlive the
 * queue in memory we hand back to the allocator.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "crypto_dev.h"
#include "secmem.h"

/* Slack on top of max_size for the scratch buffer (akcipher in+out, alignment). */
#define SCRATCH_SLACK (64u << 10)

uint8_t *vc_scratch(struct vc_qctx *q, size_t n)
{
	if (n <= q->scratch_cap)
		return q->scratch;
	if (n > q->dev->opts.max_size + SCRATCH_SLACK)
		return NULL;
	size_t cap = q->scratch_cap ? q->scratch_cap : 4096;
	while (cap < n)
		cap *= 2;
	cap = VT_MIN(cap, (size_t)q->dev->opts.max_size + SCRATCH_SLACK);
	uint8_t *p = malloc(cap);
	if (!p)
		return NULL;
	OPENSSL_clear_free(q->scratch, q->scratch_cap);
	q->scratch = p;
	q->scratch_cap = cap;
	return p;
}

void vc_qctx_free(struct vc_qctx *q)
{
	vt_secmem_free(q->keybuf);
	OPENSSL_clear_free(q->scratch, q->scratch_cap);
	EVP_CIPHER_CTX_free(q->sl.cctx);
	EVP_MD_CTX_free(q->sl.mdctx);
	for (unsigned i = 0; i < VT_ARRAY_SIZE(q->sl.mac); i++)
		EVP_MAC_CTX_free(q->sl.mac[i]);
	memset(q, 0, sizeof(*q));
}

int vc_qctx_init(struct vc_dev *d, struct vc_qctx *q, unsigned index)
{
	q->dev = d;
	q->index = index;
	q->keybuf_len = VT_MAX((size_t)d->opts.max_cipher_key_len + d->opts.max_auth_key_len,
			       (size_t)d->opts.max_akcipher_key_len);
	q->keybuf = vt_secmem_alloc(q->keybuf_len);
	if (!q->keybuf)
		return -ENOMEM;
	if (index == d->opts.dataqueues)
		return 0; /* the control queue needs no stateless contexts */
	q->sl.cctx = EVP_CIPHER_CTX_new();
	q->sl.mdctx = EVP_MD_CTX_new();
	if (!q->sl.cctx || !q->sl.mdctx)
		return -ENOMEM;
	for (unsigned k = 0; k < VT_ARRAY_SIZE(q->sl.mac); k++)
		if (d->macs[k] && !(q->sl.mac[k] = EVP_MAC_CTX_new(d->macs[k])))
			return -ENOMEM;
	return 0;
}
