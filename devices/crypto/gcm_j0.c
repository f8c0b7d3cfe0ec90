/* SPDX-License-Identifier: Apache-2.0 */
/*
 * GCM's pre-counter block J0 (NIST SP 800-38D §7.1) for OpenSSL, which
 * takes IVs but never a J0.
 *
 * The spec's AEAD request carries either a 96-bit IV (iv_len 12) or J0
 * itself (iv_len 16: how a driver expresses any other IV length, having
 * computed J0 = GHASH_H(IV || 0^s || [len(IV)]_64) with H = E_K(0^128)).
 * OpenSSL turns a 16-byte IV X into J0' = GHASH_H(X || L) = X·H² ⊕ L·H
 * with L = 0^64 || [128]_64. GHASH is linear, so the X that gives a wanted
 * J0 is X = (J0 ⊕ L·H) · H⁻², and OpenSSL then runs exactly the GCM of
 * that J0 (counters inc32(J0)..., tag masked with E_K(J0)).
 *
 * Arithmetic in GF(2^128) with GCM's bit order (the first bit of a block is
 * the coefficient of x^0; reduction by x^128 + x^7 + x^2 + x + 1): a block
 * is two big-endian 64-bit halves. H is key material: multiplication runs
 * in constant time (masks, no branches on data), and callers wipe what
 * they derive from it.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "crypto_dev.h"

struct gf {
	uint64_t hi, lo;
};

static struct gf gf_load(const uint8_t b[16])
{
	struct gf r = {0, 0};
	for (int i = 0; i < 8; i++) {
		r.hi = (r.hi << 8) | b[i];
		r.lo = (r.lo << 8) | b[8 + i];
	}
	return r;
}

static void gf_store(struct gf a, uint8_t b[16])
{
	for (int i = 7; i >= 0; i--) {
		b[i] = (uint8_t)a.hi;
		b[8 + i] = (uint8_t)a.lo;
		a.hi >>= 8;
		a.lo >>= 8;
	}
}

/* SP 800-38D Algorithm 1, constant time. */
static struct gf gf_mul(struct gf x, struct gf y)
{
	struct gf z = {0, 0}, v = y;
	for (int i = 0; i < 128; i++) {
		uint64_t bit = i < 64 ? (x.hi >> (63 - i)) & 1 : (x.lo >> (127 - i)) & 1;
		uint64_t m = (uint64_t)0 - bit;
		z.hi ^= v.hi & m;
		z.lo ^= v.lo & m;
		uint64_t carry = (uint64_t)0 - (v.lo & 1);
		v.lo = (v.lo >> 1) | (v.hi << 63);
		v.hi = (v.hi >> 1) ^ (0xe100000000000000ull & carry);
	}
	return z;
}

/* Bit b of a 32-bit value to bit 2b of the result (constant time). */
static uint64_t spread32(uint64_t x)
{
	x = (x | (x << 16)) & 0x0000ffff0000ffffull;
	x = (x | (x << 8)) & 0x00ff00ff00ff00ffull;
	x = (x | (x << 4)) & 0x0f0f0f0f0f0f0f0full;
	x = (x | (x << 2)) & 0x3333333333333333ull;
	x = (x | (x << 1)) & 0x5555555555555555ull;
	return x;
}

/*
 * a²: squaring is linear in GF(2)[x] (coefficient i moves to 2i), then the
 * 256-bit product is reduced with x^128 = x^7 + x^2 + x + 1 (in this bit
 * order a multiplication by x^s is a right shift by s).
 */
static struct gf gf_sqr(struct gf a)
{
	uint64_t w0 = spread32(a.hi >> 32) << 1, w1 = spread32(a.hi & 0xffffffffu) << 1;
	uint64_t t0 = spread32(a.lo >> 32) << 1, t1 = spread32(a.lo & 0xffffffffu) << 1;
	/* Coefficients 128..255 (t0, t1) fold onto 0..127, shifted by 0, 1, 2 and 7. */
	w0 ^= t0 ^ (t0 >> 1) ^ (t0 >> 2) ^ (t0 >> 7);
	w1 ^= t1 ^ ((t1 >> 1) | (t0 << 63)) ^ ((t1 >> 2) | (t0 << 62)) ^ ((t1 >> 7) | (t0 << 57));
	/* What those shifts pushed past coefficient 127 folds once more (into w0 only). */
	uint64_t u = (t1 << 63) ^ (t1 << 62) ^ (t1 << 57);
	w0 ^= u ^ (u >> 1) ^ (u >> 2) ^ (u >> 7);
	return (struct gf){w0, w1};
}

/*
 * a^(2^128 - 2) = a⁻¹ for a ≠ 0 (0 for a = 0), Itoh-Tsujii: with
 * f(k) = a^(2^k - 1), f(2k) = f(k)^(2^k)·f(k) and f(k+1) = f(k)²·a; the
 * chain 1 2 3 6 7 14 15 30 31 62 63 126 127 reaches f(127), and f(127)² is
 * the inverse: 127 squarings and 12 multiplications.
 */
static struct gf gf_inv(struct gf a)
{
	struct gf f = a;
	unsigned k = 1;
	while (k < 127) {
		struct gf g = f;
		for (unsigned i = 0; i < k; i++)
			g = gf_sqr(g);
		f = gf_mul(g, f);
		k *= 2;
		if (k < 127) {
			f = gf_mul(gf_sqr(f), a);
			k++;
		}
	}
	return gf_sqr(f);
}

int vc_gcm_hash_key(struct vc_dev *d, const uint8_t *key, uint32_t key_len, uint8_t h[16])
{
	static const char *const names[] = {"AES-128-ECB", "AES-192-ECB", "AES-256-ECB"};
	const char *name = key_len == 16 ? names[0] : key_len == 24 ? names[1]
				   : key_len == 32 ? names[2] : NULL;
	if (!name)
		return -EINVAL;
	static const uint8_t zero[16];
	EVP_CIPHER *ecb = EVP_CIPHER_fetch(d->libctx, name, d->propq);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int outl = 0, r = -EIO;
	if (ecb && ctx && EVP_EncryptInit_ex2(ctx, ecb, key, NULL, NULL) &&
	    EVP_CIPHER_CTX_set_padding(ctx, 0) && EVP_EncryptUpdate(ctx, h, &outl, zero, 16) &&
	    outl == 16)
		r = 0;
	EVP_CIPHER_CTX_free(ctx); /* clears the key schedule */
	EVP_CIPHER_free(ecb);
	return r;
}

void vc_gcm_hinv2(const uint8_t h[16], uint8_t out[16])
{
	struct gf hh = gf_load(h);
	struct gf inv = gf_inv(gf_mul(hh, hh));
	gf_store(inv, out);
	OPENSSL_cleanse(&hh, sizeof(hh));
	OPENSSL_cleanse(&inv, sizeof(inv));
}

int vc_gcm_iv_for_j0(const uint8_t h[16], const uint8_t hinv2[16], const uint8_t j0[16],
		     uint8_t iv[16])
{
	struct gf hh = gf_load(h), hi2 = gf_load(hinv2), j = gf_load(j0);
	struct gf l = {0, 128};
	struct gf lh = gf_mul(l, hh);
	int r = 0;
	if ((hh.hi | hh.lo) == 0) {
		/* E_K(0) = 0: every IV gives J0 = 0 (a 2^-128 chance). */
		r = (j.hi | j.lo) == 0 ? 0 : -EDOM;
		memset(iv, 0, 16);
	} else {
		struct gf x = {j.hi ^ lh.hi, j.lo ^ lh.lo};
		gf_store(gf_mul(x, hi2), iv);
		OPENSSL_cleanse(&x, sizeof(x));
	}
	OPENSSL_cleanse(&hh, sizeof(hh));
	OPENSSL_cleanse(&hi2, sizeof(hi2));
	OPENSSL_cleanse(&lh, sizeof(lh));
	return r;
}
