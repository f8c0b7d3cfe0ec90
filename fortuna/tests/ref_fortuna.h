/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An independent, deliberately naive Fortuna for known-answer tests, built
 * from raw OpenSSL calls only: one-shot SHA-256 over each pool's complete
 * byte string (no running hash), SHAd-256 = SHA-256(SHA-256(x)), and
 * AES-256-ECB over explicit counter blocks (no CTR mode). It shares no code
 * with the library, so agreement means the library computes FSK Fortuna.
 */
#ifndef VTF_REF_FORTUNA_H
#define VTF_REF_FORTUNA_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

struct ref {
	uint8_t key[32];
	uint8_t ctr[16]; /* big-endian */
	uint64_t k;      /* reseeds so far */
	uint8_t *pool[32];
	size_t plen[32];
	size_t pcap[32];
	uint8_t next[256];
};

static void ref_die(const char *what)
{
	fprintf(stderr, "reference model: %s failed\n", what);
	exit(2);
}

static inline void ref_init(struct ref *r)
{
	memset(r, 0, sizeof(*r));
}

static inline void ref_free(struct ref *r)
{
	for (int i = 0; i < 32; i++)
		free(r->pool[i]);
	memset(r, 0, sizeof(*r));
}

static inline void ref_sha256(const void *in, size_t n, uint8_t out[32])
{
	if (EVP_Digest(in, n, out, NULL, EVP_sha256(), NULL) != 1)
		ref_die("EVP_Digest");
}

static inline void ref_shad256(const void *in, size_t n, uint8_t out[32])
{
	uint8_t h[32];
	ref_sha256(in, n, h);
	ref_sha256(h, 32, out);
}

static inline void ref_ctr_inc(uint8_t ctr[16])
{
	for (int i = 15; i >= 0; i--)
		if (++ctr[i] != 0)
			break;
}

static inline void ref_append(struct ref *r, int i, const uint8_t *d, size_t n)
{
	if (r->plen[i] + n > r->pcap[i]) {
		r->pcap[i] = (r->plen[i] + n) * 2;
		r->pool[i] = realloc(r->pool[i], r->pcap[i]);
		if (!r->pool[i])
			ref_die("realloc");
	}
	memcpy(r->pool[i] + r->plen[i], d, n);
	r->plen[i] += n;
}

/* AddRandomEvent: (source, length, data) to the source's next pool. */
static inline void ref_event(struct ref *r, uint8_t src, const void *data, size_t n)
{
	const uint8_t *d = data;
	while (n) {
		size_t m = n < 32 ? n : 32;
		uint8_t hdr[2] = {src, (uint8_t)m};
		int i = r->next[src];
		r->next[src] = (uint8_t)((i + 1) % 32);
		ref_append(r, i, hdr, 2);
		ref_append(r, i, d, m);
		d += m;
		n -= m;
	}
}

/* Reseed(G, s): K = SHAd-256(K || s); C = C + 1. */
static inline void ref_reseed_with(struct ref *r, const uint8_t *s, size_t n)
{
	uint8_t *buf = malloc(32 + n);
	if (!buf)
		ref_die("malloc");
	memcpy(buf, r->key, 32);
	if (n)
		memcpy(buf + 32, s, n);
	ref_shad256(buf, 32 + n, r->key);
	free(buf);
	ref_ctr_inc(r->ctr);
}

/* Does reseed number k use pool i? Straight from the definition. */
static inline int ref_uses_pool(uint64_t k, int i)
{
	return i < 64 && k % ((uint64_t)1 << i) == 0;
}

/* The scheduled reseed: s = SHAd-256(P_i) for every pool i with 2^i | k. */
static inline void ref_reseed(struct ref *r)
{
	uint8_t s[32 * 32];
	size_t n = 0;
	r->k++;
	for (int i = 0; i < 32; i++) {
		if (!ref_uses_pool(r->k, i))
			continue;
		ref_shad256(r->pool[i] ? r->pool[i] : (const uint8_t *)"", r->plen[i], s + n);
		n += 32;
		r->plen[i] = 0;
	}
	ref_reseed_with(r, s, n);
}

/* AES-256-ECB of nb consecutive counter blocks starting at ctr (ctr advances). */
static inline void ref_blocks(const uint8_t key[32], uint8_t ctr[16], uint8_t *out, size_t nb)
{
	uint8_t *in = malloc(nb * 16);
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int l;
	if (!in || !c)
		ref_die("alloc");
	for (size_t i = 0; i < nb; i++) {
		memcpy(in + 16 * i, ctr, 16);
		ref_ctr_inc(ctr);
	}
	if (EVP_EncryptInit_ex(c, EVP_aes_256_ecb(), NULL, key, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(c, 0) != 1 ||
	    EVP_EncryptUpdate(c, out, &l, in, (int)(nb * 16)) != 1)
		ref_die("AES-256-ECB");
	EVP_CIPHER_CTX_free(c);
	free(in);
}

/* PseudoRandomData(n), n <= 2^20: output blocks, then two blocks of new key. */
static inline void ref_generate(struct ref *r, uint8_t *out, size_t n)
{
	size_t nb = (n + 15) / 16;
	uint8_t *tmp = malloc(nb * 16 + 32);
	if (!tmp || n > (1u << 20))
		ref_die("ref_generate");
	ref_blocks(r->key, r->ctr, tmp, nb + 2);
	memcpy(out, tmp, n);
	memcpy(r->key, tmp + nb * 16, 32);
	free(tmp);
}

#endif
