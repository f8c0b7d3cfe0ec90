/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Known-answer tests for every symmetric algorithm and mode, through the
 * device's real request path (control-queue sessions, data requests,
 * stateless requests) in every layout a driver can use: legacy padded
 * (Linux 6.1), REVISION_1, the stateless "mux" layout in session and
 * stateless mode; one segment, many tiny segments, indirect tables, in
 * place (dst aliasing src) and with extra writable bytes that must stay
 * untouched. Vectors: vectors.json (NIST SP 800-38A/38C, GCM spec test
 * cases, IEEE 1619, FIPS 180/202, RFC 2202/4231/4493/8439), cross-checked
 * against OpenSSL by check_vectors.py.
 */
#include <json-c/json.h>

#include "kat.h"

static struct json_object *vectors;
static uint8_t key[256], iv[16], aad[256], pt[1024], ct[1024], exp_out[1200];

static const char *jstr(struct json_object *o, const char *k)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, k, &v))
		abort();
	return json_object_get_string(v);
}

static uint32_t cipher_algo(const char *name)
{
	if (strstr(name, "-ecb"))
		return VC_CIPHER_AES_ECB;
	if (strstr(name, "-cbc"))
		return VC_CIPHER_AES_CBC;
	if (strstr(name, "-ctr"))
		return VC_CIPHER_AES_CTR;
	if (strstr(name, "-xts"))
		return VC_CIPHER_AES_XTS;
	abort();
}

static uint32_t aead_algo(const char *name)
{
	if (strstr(name, "-gcm"))
		return VC_AEAD_GCM;
	if (strstr(name, "-ccm"))
		return VC_AEAD_CCM;
	return VC_AEAD_CHACHA20_POLY1305;
}

static uint32_t by_name_hash(const char *name)
{
	for (size_t i = 0; i < vc_nhash_algs; i++)
		if (!strcmp(vc_hash_algs[i].name, name))
			return vc_hash_algs[i].id;
	abort();
}

static uint32_t by_name_mac(const char *name)
{
	for (size_t i = 0; i < vc_nmac_algs; i++)
		if (!strcmp(vc_mac_algs[i].name, name))
			return vc_mac_algs[i].id;
	abort();
}

static struct result res;

static void expect(const char *vec, const struct layout *L, const char *what, uint8_t want_st,
		   const uint8_t *want, size_t n)
{
	test_checks++;
	bool ok = res.create_status == VC_OK && res.status == want_st;
	if (ok && want_st == VC_OK) {
		ok = cx_eq(res.out, want, n);
		/* Nothing between the result and the status byte was written. */
		for (size_t i = n; ok && i + 1 < res.wr_len; i++)
			ok = res.out[i] == CX_CANARY;
		ok = ok && res.used == (long)res.wr_len;
	}
	if (!ok) {
		test_failures++;
		fprintf(stderr, "FAIL %s [%s] %s: create=%u status=%u used=%ld\n", vec, L->name, what,
			res.create_status, res.status, res.used);
	}
}

static void test_cipher(struct cx *x, const struct layout *L)
{
	struct json_object *arr = json_object_object_get(vectors, "cipher");
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *v = json_object_array_get_idx(arr, i);
		const char *name = jstr(v, "name");
		size_t kl = cx_unhex(jstr(v, "key"), key, sizeof(key));
		size_t il = cx_unhex(jstr(v, "iv"), iv, sizeof(iv));
		size_t n = cx_unhex(jstr(v, "pt"), pt, sizeof(pt));
		cx_unhex(jstr(v, "ct"), ct, sizeof(ct));
		struct op o = {.service = VC_SERVICE_CIPHER, .opcode = VC_CIPHER_ENCRYPT,
			       .algo = cipher_algo(jstr(v, "alg")), .op = VC_OP_ENCRYPT,
			       .key = key, .key_len = (uint32_t)kl, .iv = iv, .iv_len = (uint32_t)il,
			       .src = pt, .src_len = (uint32_t)n, .dst_len = (uint32_t)n};
		kat_run(x, L, &o, &res);
		expect(name, L, "encrypt", VC_OK, ct, n);
		o.opcode = VC_CIPHER_DECRYPT;
		o.op = VC_OP_DECRYPT;
		o.src = ct;
		kat_run(x, L, &o, &res);
		expect(name, L, "decrypt", VC_OK, pt, n);
	}
}

static void test_hash(struct cx *x, const struct layout *L)
{
	struct json_object *arr = json_object_object_get(vectors, "hash");
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *v = json_object_array_get_idx(arr, i);
		size_t n = cx_unhex(jstr(v, "msg"), pt, sizeof(pt));
		size_t ml = cx_unhex(jstr(v, "md"), exp_out, sizeof(exp_out));
		struct op o = {.service = VC_SERVICE_HASH, .opcode = VC_HASH,
			       .algo = by_name_hash(jstr(v, "alg")), .src = pt,
			       .src_len = (uint32_t)n, .dst_len = (uint32_t)ml};
		kat_run(x, L, &o, &res);
		expect(jstr(v, "name"), L, "hash", VC_OK, exp_out, ml);
	}
}

static void test_mac(struct cx *x, const struct layout *L)
{
	struct json_object *arr = json_object_object_get(vectors, "mac");
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *v = json_object_array_get_idx(arr, i);
		size_t kl = cx_unhex(jstr(v, "key"), key, sizeof(key));
		size_t n = cx_unhex(jstr(v, "msg"), pt, sizeof(pt));
		size_t ml = cx_unhex(jstr(v, "mac"), exp_out, sizeof(exp_out));
		struct op o = {.service = VC_SERVICE_MAC, .opcode = VC_MAC,
			       .algo = by_name_mac(jstr(v, "alg")), .key = key,
			       .key_len = (uint32_t)kl, .src = pt, .src_len = (uint32_t)n,
			       .dst_len = (uint32_t)ml};
		kat_run(x, L, &o, &res);
		expect(jstr(v, "name"), L, "mac", VC_OK, exp_out, ml);
	}
}

static void test_aead(struct cx *x, const struct layout *L)
{
	struct json_object *arr = json_object_object_get(vectors, "aead");
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *v = json_object_array_get_idx(arr, i);
		const char *name = jstr(v, "name");
		size_t kl = cx_unhex(jstr(v, "key"), key, sizeof(key));
		size_t il = cx_unhex(jstr(v, "iv"), iv, sizeof(iv));
		size_t al = cx_unhex(jstr(v, "aad"), aad, sizeof(aad));
		size_t n = cx_unhex(jstr(v, "pt"), pt, sizeof(pt));
		cx_unhex(jstr(v, "ct"), ct, sizeof(ct));
		size_t tl = cx_unhex(jstr(v, "tag"), ct + n, sizeof(ct) - n);
		struct op o = {.service = VC_SERVICE_AEAD, .opcode = VC_AEAD_ENCRYPT,
			       .algo = aead_algo(jstr(v, "alg")), .op = VC_OP_ENCRYPT, .key = key,
			       .key_len = (uint32_t)kl, .iv = iv, .iv_len = (uint32_t)il, .aad = aad,
			       .aad_len = (uint32_t)al, .src = pt, .src_len = (uint32_t)n,
			       .dst_len = (uint32_t)(n + tl), .tag_len = (uint32_t)tl};
		kat_run(x, L, &o, &res);
		expect(name, L, "encrypt", VC_OK, ct, n + tl);
		o.opcode = VC_AEAD_DECRYPT;
		o.op = VC_OP_DECRYPT;
		o.src = ct;
		o.src_len = (uint32_t)(n + tl);
		o.dst_len = (uint32_t)n;
		kat_run(x, L, &o, &res);
		expect(name, L, "decrypt", VC_OK, pt, n);
		/* A flipped tag bit: BADMSG, the spec's "authentication failed". */
		uint8_t bad[1200];
		memcpy(bad, ct, n + tl);
		bad[n + tl - 1] ^= 0x01;
		o.src = bad;
		kat_run(x, L, &o, &res);
		expect(name, L, "decrypt-bad-tag", VC_BADMSG, NULL, 0);
		if (al) { /* and a changed AAD byte */
			aad[0] ^= 0x80;
			o.src = ct;
			kat_run(x, L, &o, &res);
			expect(name, L, "decrypt-bad-aad", VC_BADMSG, NULL, 0);
			aad[0] ^= 0x80;
		}
	}
}

/* The GCM 16-byte IV is J0 (spec); IVs longer than OpenSSL's 128 bytes are NOTSUPP. */
static void test_gcm_j0(struct cx *x)
{
	const struct layout *L = &kat_layouts[6]; /* rev1 */
	struct json_object *v = json_object_array_get_idx(json_object_object_get(vectors, "aead"), 2);
	size_t kl = cx_unhex(jstr(v, "key"), key, sizeof(key));
	cx_unhex(jstr(v, "iv"), iv, sizeof(iv));
	iv[12] = 0, iv[13] = 0, iv[14] = 0, iv[15] = 1;
	size_t al = cx_unhex(jstr(v, "aad"), aad, sizeof(aad));
	size_t n = cx_unhex(jstr(v, "pt"), pt, sizeof(pt));
	cx_unhex(jstr(v, "ct"), ct, sizeof(ct));
	size_t tl = cx_unhex(jstr(v, "tag"), ct + n, sizeof(ct) - n);
	struct op o = {.service = VC_SERVICE_AEAD, .opcode = VC_AEAD_ENCRYPT, .algo = VC_AEAD_GCM,
		       .op = VC_OP_ENCRYPT, .key = key, .key_len = (uint32_t)kl, .iv = iv,
		       .iv_len = 16, .aad = aad, .aad_len = (uint32_t)al, .src = pt,
		       .src_len = (uint32_t)n, .dst_len = (uint32_t)(n + tl), .tag_len = (uint32_t)tl};
	kat_run(x, L, &o, &res);
	expect("gcm-j0", L, "encrypt", VC_OK, ct, n + tl);
	/* Any other J0 works too (test_cavp.c checks the results against NIST's). */
	iv[15] = 2;
	kat_run(x, L, &o, &res);
	CHECK_EQ(res.status, VC_OK);
	/* OpenSSL takes IVs of 1..128 bytes; longer ones are NOTSUPP, none is ERR. */
	static uint8_t long_iv[129];
	o.iv = long_iv;
	o.iv_len = 129;
	kat_run(x, L, &o, &res);
	expect("gcm-iv-129", L, "encrypt", VC_NOTSUPP, NULL, 0);
	o.iv_len = 0;
	kat_run(x, L, &o, &res);
	expect("gcm-iv-0", L, "encrypt", VC_ERR, NULL, 0);
}

int main(int argc, char **argv)
{
	vt_log_set_level(VT_LOG_ERR);
	if (argc < 2) {
		fprintf(stderr, "usage: %s vectors.json\n", argv[0]);
		return 2;
	}
	vectors = json_object_from_file(argv[1]);
	if (!vectors)
		return 2;
	struct vc_opts o;
	cx_opts(&o);
	for (size_t li = 0; li < VT_ARRAY_SIZE(kat_layouts); li++) {
		const struct layout *L = &kat_layouts[li];
		struct cx x;
		cx_init(&x, &o, L->feat);
		int before = test_failures;
		test_cipher(&x, L);
		if (!L->alias) {
			test_hash(&x, L);
			test_mac(&x, L);
		}
		test_aead(&x, L);
		printf("%s kat-%s\n", test_failures == before ? "PASS" : "FAIL", L->name);
		/* Sessions were all destroyed again. */
		CHECK_EQ(vc_table_used(&x.d->table), 0);
		cx_free(&x);
	}
	{
		struct cx x;
		cx_init(&x, &o, F_REV1);
		int before = test_failures;
		test_gcm_j0(&x);
		printf("%s gcm_j0\n", test_failures == before ? "PASS" : "FAIL");
		cx_free(&x);
	}
	json_object_put(vectors);
	TEST_DONE();
}
