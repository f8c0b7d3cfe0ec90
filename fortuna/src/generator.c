/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Fortuna generator: AES-256 in counter mode with a 128-bit counter,
 * rekeyed from its own keystream after every request.
 *
 * One EVP_CIPHER_CTX per generator stays keyed with the current key and
 * positioned at the current counter between requests, so a request is two
 * EVP_EncryptUpdate calls (output blocks, then the two key blocks) and one
 * key-only re-init. Keystream is produced by encrypting a static zero buffer.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>

#include "internal.h"

/* Input for keystream; large enough that big requests need few calls. */
static const uint8_t zeros[16384];

static inline void ctr_load(const uint8_t ctr[VTF_BLOCK], uint64_t *hi, uint64_t *lo)
{
	memcpy(hi, ctr, 8);
	memcpy(lo, ctr + 8, 8);
	*hi = be64toh(*hi);
	*lo = be64toh(*lo);
}

void vtf_ctr_add(uint8_t ctr[VTF_BLOCK], uint64_t n)
{
	/* The counter is one big-endian 128-bit integer: carry into the top. */
	uint64_t hi, lo;
	ctr_load(ctr, &hi, &lo);
	lo += n;
	hi += lo < n;
	hi = htobe64(hi);
	lo = htobe64(lo);
	memcpy(ctr, &hi, 8);
	memcpy(ctr + 8, &lo, 8);
}

static bool ctr_is_zero(const uint8_t ctr[VTF_BLOCK])
{
	uint64_t hi, lo;
	ctr_load(ctr, &hi, &lo);
	return (hi | lo) == 0;
}

int vtf_gen_load(struct vtf_ctx *ctx)
{
	if (EVP_EncryptInit_ex2(ctx->aes, NULL, ctx->st.key, ctx->st.ctr, NULL) != 1) {
		ctx->aes_stale = true;
		return -EIO;
	}
	ctx->aes_stale = false;
	return 0;
}

/*
 * OpenSSL 3.0 spends ~2/3 of a key+IV init on parameter queries; a key-only
 * init costs a third. In CTR mode a key-only init leaves the running counter
 * where the previous request stopped, which is exactly Fortuna's next
 * counter. That behaviour is not a documented promise, so it is verified
 * once per generator against an explicit key+IV init, and not relied on if
 * it does not hold.
 */
static bool probe_ctr_continues(struct vtf_ctx *ctx)
{
	uint8_t key[VTF_KEY_LEN] = {1}, iv[VTF_BLOCK] = {0}, a[48], b[16];
	int n;
	bool ok = false;

	iv[VTF_BLOCK - 1] = 0xfe; /* crosses a byte carry after two blocks */
	if (EVP_EncryptInit_ex2(ctx->aes, ctx->aes_ctr, key, iv, NULL) != 1 ||
	    EVP_EncryptUpdate(ctx->aes, a, &n, zeros, 32) != 1)
		goto out;
	key[0] = 2;
	if (EVP_EncryptInit_ex2(ctx->aes, NULL, key, NULL, NULL) != 1 ||
	    EVP_EncryptUpdate(ctx->aes, a + 32, &n, zeros, 16) != 1)
		goto out;
	vtf_ctr_add(iv, 2);
	if (EVP_EncryptInit_ex2(ctx->aes, NULL, key, iv, NULL) != 1 ||
	    EVP_EncryptUpdate(ctx->aes, b, &n, zeros, 16) != 1)
		goto out;
	ok = CRYPTO_memcmp(a + 32, b, 16) == 0;
out:
	OPENSSL_cleanse(a, sizeof(a));
	OPENSSL_cleanse(b, sizeof(b));
	return ok;
}

int vtf_gen_setup(struct vtf_ctx *ctx)
{
	ctx->aes_ctr = EVP_CIPHER_fetch(NULL, "AES-256-CTR", NULL);
	ctx->aes = EVP_CIPHER_CTX_new();
	if (!ctx->aes_ctr || !ctx->aes)
		return -ENOMEM;
	ctx->ctr_continues = probe_ctr_continues(ctx);
	return vtf_gen_load(ctx);
}

void vtf_gen_teardown(struct vtf_ctx *ctx)
{
	/* EVP_CIPHER_CTX_free cleanses the key schedule. */
	EVP_CIPHER_CTX_free(ctx->aes);
	EVP_CIPHER_free(ctx->aes_ctr);
	ctx->aes = NULL;
	ctx->aes_ctr = NULL;
}

int vtf_gen_request(struct vtf_ctx *ctx, uint8_t *out, size_t n)
{
	size_t full = n & ~(size_t)(VTF_BLOCK - 1), rem = n - full;
	uint8_t *tail = ctx->st.tail;
	int outl;

	if (n > VTF_MAX_REQUEST || ctr_is_zero(ctx->st.ctr))
		return -EINVAL;
	if (VTF_UNLIKELY(ctx->aes_stale) && vtf_gen_load(ctx) < 0)
		return -EIO;

	/* Only whole blocks go through EVP, so no keystream lingers in it. */
	for (size_t off = 0; off < full;) {
		size_t m = VTF_MIN(full - off, sizeof(zeros));
		if (EVP_EncryptUpdate(ctx->aes, out + off, &outl, zeros, (int)m) != 1)
			goto fail;
		off += m;
	}
	if (rem == 0) {
		/* The two blocks after the output are the next key. */
		if (EVP_EncryptUpdate(ctx->aes, ctx->st.key, &outl, zeros, VTF_KEY_LEN) != 1)
			goto fail;
	} else {
		if (EVP_EncryptUpdate(ctx->aes, tail, &outl, zeros, VTF_BLOCK + VTF_KEY_LEN) != 1)
			goto fail;
		memcpy(out + full, tail, rem);
		memcpy(ctx->st.key, tail + VTF_BLOCK, VTF_KEY_LEN);
		/* Output must not stay in the state (backtracking resistance). */
		OPENSSL_cleanse(tail, sizeof(ctx->st.tail));
	}
	vtf_ctr_add(ctx->st.ctr, (full + (rem ? VTF_BLOCK : 0) + VTF_KEY_LEN) / VTF_BLOCK);

	/* Rekey now so the old key's schedule does not outlive the request. */
	if (ctx->ctr_continues) {
		if (EVP_EncryptInit_ex2(ctx->aes, NULL, ctx->st.key, NULL, NULL) != 1)
			goto fail;
	} else if (vtf_gen_load(ctx) < 0) {
		goto fail;
	}
	ctx->st.bytes_out += n;
	return 0;
fail:
	/*
	 * The position of ctx->aes is unknown and st.key may be half-written:
	 * re-key from st before the next use. Nothing of this call is output
	 * (the caller wipes out); a wrong key is still a secret, unused key.
	 */
	OPENSSL_cleanse(tail, sizeof(ctx->st.tail));
	ctx->aes_stale = true;
	return -EIO;
}

int vtf_gen_reseed(struct vtf_ctx *ctx, const uint8_t *s, size_t slen)
{
	uint8_t h[32], k[32];
	int r = vtf_sha256(ctx, ctx->st.key, VTF_KEY_LEN, s, slen, h);
	if (r == 0)
		r = vtf_sha256(ctx, h, sizeof(h), NULL, 0, k);
	if (r == 0)
		memcpy(ctx->st.key, k, sizeof(k));
	OPENSSL_cleanse(h, sizeof(h));
	OPENSSL_cleanse(k, sizeof(k));
	if (r < 0)
		return r;
	vtf_ctr_add(ctx->st.ctr, 1);
	ctx->st.seeded = true;
	return vtf_gen_load(ctx);
}
