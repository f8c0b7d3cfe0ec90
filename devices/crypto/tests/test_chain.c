/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Algorithm chaining against OpenSSL computed here: cipher-then-hash and
 * hash-then-cipher, PLAIN (digest) and AUTH (HMAC, CMAC) hash modes, with
 * and without AAD, partial cipher/hash ranges, in session and stateless
 * mode and in the legacy layout. Then the chain's own error cases.
 */
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "kat.h"

static struct vc_opts opts;
static uint8_t ckey[32], akey[40], iv[16], src[256], aad[64];

/* Expected output: dst = src with the cipher range replaced; hash over aad || range. */
static void expect_chain(uint32_t order, uint32_t mode, const char *mac_or_md, bool cmac,
			 uint32_t op, uint32_t len, uint32_t cs, uint32_t lc, uint32_t hs,
			 uint32_t lh, uint32_t aad_len, uint8_t *dst, uint8_t *md, size_t *mdl)
{
	memcpy(dst, src, len);
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	EVP_CipherInit_ex2(c, EVP_aes_128_cbc(), ckey, iv, op == VC_OP_ENCRYPT, NULL);
	EVP_CIPHER_CTX_set_padding(c, 0);
	int ol;
	uint8_t tmp[256];
	EVP_CipherUpdate(c, tmp, &ol, src + cs, (int)lc);
	memcpy(dst + cs, tmp, lc);
	EVP_CIPHER_CTX_free(c);
	const uint8_t *hashed = order == VC_SYM_ALG_CHAIN_ORDER_HASH_THEN_CIPHER ? src : dst;
	if (mode == VC_SYM_HASH_MODE_PLAIN) {
		EVP_MD_CTX *m = EVP_MD_CTX_new();
		EVP_DigestInit_ex2(m, EVP_get_digestbyname(mac_or_md), NULL);
		EVP_DigestUpdate(m, aad, aad_len);
		EVP_DigestUpdate(m, hashed + hs, lh);
		unsigned int l;
		EVP_DigestFinal_ex(m, md, &l);
		*mdl = l;
		EVP_MD_CTX_free(m);
	} else {
		EVP_MAC *mac = EVP_MAC_fetch(NULL, cmac ? "CMAC" : "HMAC", NULL);
		EVP_MAC_CTX *m = EVP_MAC_CTX_new(mac);
		OSSL_PARAM p[2] = {OSSL_PARAM_construct_utf8_string(
					   cmac ? OSSL_MAC_PARAM_CIPHER : OSSL_MAC_PARAM_DIGEST,
					   (char *)(uintptr_t)mac_or_md, 0),
				   OSSL_PARAM_construct_end()};
		EVP_MAC_init(m, akey, cmac ? 16 : sizeof(akey), p);
		EVP_MAC_update(m, aad, aad_len);
		EVP_MAC_update(m, hashed + hs, lh);
		EVP_MAC_final(m, md, mdl, 64);
		EVP_MAC_CTX_free(m);
		EVP_MAC_free(mac);
	}
}

struct chain_case {
	uint32_t order, mode, hash_algo;
	const char *ossl;
	bool cmac;
	uint32_t op, len, cs, lc, hs, lh, aad_len, result_len;
};

static uint8_t run_chain(struct cx *x, const struct chain_case *k, bool stateless, uint8_t *out,
			 size_t *wr_len)
{
	uint32_t akl = k->mode == VC_SYM_HASH_MODE_AUTH ? (k->cmac ? 16 : sizeof(akey)) : 0;
	uint64_t id = 0;
	if (!stateless) {
		uint8_t h[VCB_HDR_MAX], keys[64];
		size_t l = vcb_ctrl_chain(h, x->features, k->order, k->mode, VC_CIPHER_AES_CBC, 16,
					  k->op, k->hash_algo, k->result_len, akl, 0);
		memcpy(keys, ckey, 16);
		memcpy(keys + 16, akey, akl);
		uint8_t st = cx_ctrl_create(x, h, l, keys, 16 + akl, &id);
		if (st != VC_OK)
			return st;
	}
	struct vcb_data q = {.opcode = k->op == VC_OP_ENCRYPT ? VC_CIPHER_ENCRYPT : VC_CIPHER_DECRYPT,
			     .session_id = id, .stateless = stateless,
			     .sym_op = VC_SYM_OP_ALGORITHM_CHAINING, .iv_len = 16, .src_len = k->len,
			     .dst_len = k->len, .cipher_start = k->cs, .len_to_cipher = k->lc,
			     .hash_start = k->hs, .len_to_hash = k->lh, .aad_len = k->aad_len,
			     .hash_result_len = k->result_len, .algo = VC_CIPHER_AES_CBC,
			     .key_len = 16, .op = k->op, .hash_algo = k->hash_algo,
			     .hash_mode = k->mode, .chain_order = k->order, .auth_key_len = akl};
	uint8_t req[VCB_HDR_MAX + 512];
	size_t n = vcb_data_hdr(req, x->features, &q);
	if (stateless) { /* keys, iv, aad, src */
		memcpy(req + n, ckey, 16), n += 16;
		memcpy(req + n, akey, akl), n += akl;
		memcpy(req + n, iv, 16), n += 16;
		memcpy(req + n, aad, k->aad_len), n += k->aad_len;
		memcpy(req + n, src, k->len), n += k->len;
	} else { /* iv, src, aad */
		memcpy(req + n, iv, 16), n += 16;
		memcpy(req + n, src, k->len), n += k->len;
		memcpy(req + n, aad, k->aad_len), n += k->aad_len;
	}
	*wr_len = k->len + k->result_len + 1;
	struct cx_req rq = {.rd = req, .rd_len = n, .rsplit = 11, .wr_len = *wr_len, .wsplit = 13,
			    .sep_status = true};
	long used = cx_submit(x, 0, &rq, out);
	if (!stateless)
		CHECK_EQ(cx_ctrl_destroy(x, VC_CIPHER_DESTROY_SESSION, id), VC_OK);
	return used < 0 ? 0xff : out[*wr_len - 1];
}

static void test_chains(void)
{
	static const struct chain_case cases[] = {
		/* encrypt-then-MAC, whole buffer, no AAD */
		{VC_SYM_ALG_CHAIN_ORDER_CIPHER_THEN_HASH, VC_SYM_HASH_MODE_AUTH, VC_MAC_HMAC_SHA_256,
		 "SHA256", false, VC_OP_ENCRYPT, 64, 0, 64, 0, 64, 0, 32},
		/* ... with AAD, a header left in clear, hash covering header + ciphertext */
		{VC_SYM_ALG_CHAIN_ORDER_CIPHER_THEN_HASH, VC_SYM_HASH_MODE_AUTH, VC_MAC_HMAC_SHA_256,
		 "SHA256", false, VC_OP_ENCRYPT, 80, 16, 64, 0, 80, 13, 32},
		/* verify-then-decrypt, truncated HMAC-SHA1 (12 bytes, as IPsec) */
		{VC_SYM_ALG_CHAIN_ORDER_HASH_THEN_CIPHER, VC_SYM_HASH_MODE_AUTH, VC_MAC_HMAC_SHA1,
		 "SHA1", false, VC_OP_DECRYPT, 96, 32, 64, 0, 96, 8, 12},
		/* plain digest chains */
		{VC_SYM_ALG_CHAIN_ORDER_CIPHER_THEN_HASH, VC_SYM_HASH_MODE_PLAIN, VC_HASH_SHA_256,
		 "SHA256", false, VC_OP_ENCRYPT, 48, 0, 48, 0, 48, 0, 32},
		{VC_SYM_ALG_CHAIN_ORDER_HASH_THEN_CIPHER, VC_SYM_HASH_MODE_PLAIN, VC_HASH_SHA_512,
		 "SHA512", false, VC_OP_ENCRYPT, 64, 16, 32, 8, 40, 5, 64},
		/* CMAC as the MAC */
		{VC_SYM_ALG_CHAIN_ORDER_CIPHER_THEN_HASH, VC_SYM_HASH_MODE_AUTH, VC_MAC_CMAC_AES,
		 "AES-128-CBC", true, VC_OP_ENCRYPT, 64, 0, 64, 0, 64, 20, 16},
		/* hash range not covering the cipher range, zero-length cipher range */
		{VC_SYM_ALG_CHAIN_ORDER_CIPHER_THEN_HASH, VC_SYM_HASH_MODE_AUTH, VC_MAC_HMAC_SHA_384,
		 "SHA384", false, VC_OP_ENCRYPT, 32, 0, 0, 3, 20, 0, 48},
	};
	static const uint64_t feats[] = {0, F_REV1, F_STATELESS};
	for (size_t fi = 0; fi < VT_ARRAY_SIZE(feats); fi++) {
		struct cx x;
		cx_init(&x, &opts, feats[fi]);
		for (size_t i = 0; i < VT_ARRAY_SIZE(cases); i++) {
			const struct chain_case *k = &cases[i];
			uint8_t dst[256], md[64], out[512];
			size_t mdl, wr;
			expect_chain(k->order, k->mode, k->ossl, k->cmac, k->op, k->len, k->cs, k->lc,
				     k->hs, k->lh, k->aad_len, dst, md, &mdl);
			for (int sl = 0; sl < (feats[fi] == F_STATELESS ? 2 : 1); sl++) {
				uint8_t st = run_chain(&x, k, sl, out, &wr);
				CHECK_EQ(st, VC_OK);
				CHECK(cx_eq(out, dst, k->len));
				CHECK(cx_eq(out + k->len, md, k->result_len));
				if (st != VC_OK || !cx_eq(out, dst, k->len) ||
				    !cx_eq(out + k->len, md, k->result_len))
					fprintf(stderr, "  chain case %zu feat %zu stateless %d\n", i,
						fi, sl);
			}
		}
		CHECK_EQ(vc_table_used(&x.d->table), 0);
		cx_free(&x);
	}
}

static void test_chain_errors(void)
{
	struct cx x;
	cx_init(&x, &opts, 0);
	struct chain_case k = {VC_SYM_ALG_CHAIN_ORDER_CIPHER_THEN_HASH, VC_SYM_HASH_MODE_AUTH,
			       VC_MAC_HMAC_SHA_256, "SHA256", false, VC_OP_ENCRYPT,
			       64, 0, 64, 0, 64, 0, 32};
	uint8_t out[512];
	size_t wr;
	struct chain_case b = k;
	b.cs = 8; /* cipher range past the end */
	CHECK_EQ(run_chain(&x, &b, false, out, &wr), VC_ERR);
	b = k;
	b.lc = 20; /* not whole blocks */
	CHECK_EQ(run_chain(&x, &b, false, out, &wr), VC_ERR);
	b = k;
	b.hs = 0xffffffffu; /* wraps in 32 bits */
	b.lh = 2;
	CHECK_EQ(run_chain(&x, &b, false, out, &wr), VC_ERR);
	b = k;
	b.result_len = 33; /* longer than HMAC-SHA256 */
	CHECK_EQ(run_chain(&x, &b, false, out, &wr), VC_ERR);
	b = k;
	b.order = 3;
	CHECK_EQ(run_chain(&x, &b, false, out, &wr), VC_ERR);
	b = k;
	b.mode = 0;
	CHECK_EQ(run_chain(&x, &b, false, out, &wr), VC_ERR);
	b = k;
	b.hash_algo = VC_MAC_HMAC_MD5;
	CHECK_EQ(run_chain(&x, &b, false, out, &wr), VC_NOTSUPP);
	CHECK_EQ(vc_table_used(&x.d->table), 0);
	cx_free(&x);
}

int main(void)
{
	vt_log_set_level(VT_LOG_ERR);
	cx_opts(&opts);
	for (size_t i = 0; i < sizeof(ckey); i++)
		ckey[i] = (uint8_t)(0x10 + i);
	for (size_t i = 0; i < sizeof(akey); i++)
		akey[i] = (uint8_t)(0xa0 ^ i);
	for (size_t i = 0; i < sizeof(iv); i++)
		iv[i] = (uint8_t)(i * 7);
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 13 + 1);
	for (size_t i = 0; i < sizeof(aad); i++)
		aad[i] = (uint8_t)(0x55 + i);
	TEST_RUN(test_chains);
	TEST_RUN(test_chain_errors);
	TEST_DONE();
}
