/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The README's status table, walked: every row of the table under
 * "## Status codes" in devices/crypto/README.md names a case (last column,
 * in backticks); this test runs that case through the device's real request
 * path and checks the status the row promises. It fails when a row names a
 * case this file does not know, when a case here has no row, or when the
 * device answers anything else: table and device cannot drift apart.
 *
 * usage: test_crypto_readme_status README.md
 */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "kat.h"
#include "vhost_user_proto.h"

static struct vc_opts opts;
static struct result res;
static const uint8_t K16[16] = {0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6,
				0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c};
static uint8_t zeros[512], buf[4096];
static uint8_t rsa_priv[2048], rsa_pub[600], ec_priv[256], ec_pub[80];
static size_t rsa_privl, rsa_publ, ec_privl, ec_publ;

static const struct layout L_LEGACY = {"legacy", 0, false, 0, 0, false, false, 0};
static const struct layout L_REV1 = {"rev1", F_REV1, false, 0, 0, false, false, 0};
static const struct layout L_SL = {"stateless", F_STATELESS, true, 0, 0, false, false, 0};

/* One operation in layout L on a fresh device: the status of the create or the request. */
static uint8_t op_status(const struct layout *L, struct op o)
{
	struct cx x;
	cx_init(&x, &opts, L->feat);
	kat_run(&x, L, &o, &res);
	cx_free(&x);
	return res.create_status != VC_OK ? res.create_status : res.status;
}

static struct op cbc(uint32_t len)
{
	return (struct op){.service = VC_SERVICE_CIPHER, .opcode = VC_CIPHER_ENCRYPT,
			   .algo = VC_CIPHER_AES_CBC, .op = VC_OP_ENCRYPT, .key = K16, .key_len = 16,
			   .iv = zeros, .iv_len = 16, .src = zeros, .src_len = len, .dst_len = len};
}

static struct op gcm(uint32_t iv_len)
{
	return (struct op){.service = VC_SERVICE_AEAD, .opcode = VC_AEAD_ENCRYPT,
			   .algo = VC_AEAD_GCM, .op = VC_OP_ENCRYPT, .key = K16, .key_len = 16,
			   .iv = zeros, .iv_len = iv_len, .src = zeros, .src_len = 32,
			   .dst_len = 48, .tag_len = 16};
}

/* AEAD decryption of an all-zero message whose tag cannot be right. */
static uint8_t aead_forged(uint32_t algo, uint32_t key_len, uint32_t iv_len, uint32_t tag_len)
{
	struct op o = {.service = VC_SERVICE_AEAD, .opcode = VC_AEAD_DECRYPT, .algo = algo,
		       .op = VC_OP_DECRYPT, .key = zeros, .key_len = key_len, .iv = zeros,
		       .iv_len = iv_len, .src = zeros, .src_len = 32 + tag_len, .dst_len = 32,
		       .tag_len = tag_len};
	return op_status(&L_REV1, o);
}

/* A raw data request (header from q, tail readable bytes, wr writable) on a device with one CBC session. */
static uint8_t raw_data(uint64_t feat, struct vcb_data q, size_t hdr_cut, size_t tail, size_t wr,
			bool use_session)
{
	struct cx x;
	cx_init(&x, &opts, feat);
	if (use_session) {
		uint8_t h[VCB_HDR_MAX];
		size_t l = vcb_ctrl_cipher(h, x.features, VC_CIPHER_AES_CBC, 16, VC_OP_ENCRYPT);
		if (cx_ctrl_create(&x, h, l, K16, 16, &q.session_id) != VC_OK)
			abort();
	}
	uint8_t req[VCB_HDR_MAX + 512];
	size_t n = vcb_data_hdr(req, x.features, &q);
	memset(req + n, 0, tail);
	struct cx_req rq = {.rd = req, .rd_len = (hdr_cut ? hdr_cut : n) + tail, .wr_len = wr};
	long u = cx_submit(&x, 0, &rq, buf);
	cx_free(&x);
	return u < 1 ? 0xff : buf[wr - 1];
}

static struct vcb_data cbc_q(uint32_t len)
{
	return (struct vcb_data){.opcode = VC_CIPHER_ENCRYPT, .sym_op = VC_SYM_OP_CIPHER,
				 .iv_len = 16, .src_len = len, .dst_len = len};
}

/* A control-queue create from a header builder's output and keys. */
static uint8_t create(uint64_t feat, const uint8_t *h, size_t l, const uint8_t *key, size_t kl)
{
	struct cx x;
	cx_init(&x, &opts, feat);
	uint64_t id;
	uint8_t st = cx_ctrl_create(&x, h, l, key, kl, &id);
	cx_free(&x);
	return st;
}

static uint8_t create_ak(uint64_t feat, uint32_t algo, uint32_t type, const uint8_t *key,
			 size_t kl, uint32_t p0, uint32_t p1)
{
	uint8_t h[VCB_HDR_MAX];
	size_t l = vcb_ctrl_akcipher(h, feat, algo, type, (uint32_t)kl, p0, p1);
	return create(feat, h, l, key, kl);
}

/* An akcipher request on a fresh session (or stateless): its status. */
static uint8_t ak_op(uint64_t feat, bool stateless, uint32_t opcode, uint32_t algo, uint32_t type,
		     const uint8_t *key, size_t kl, uint32_t p0, uint32_t p1, const uint8_t *in,
		     size_t src_len, size_t dst_len)
{
	struct cx x;
	cx_init(&x, &opts, feat);
	uint64_t id = 0;
	if (!stateless) {
		uint8_t h[VCB_HDR_MAX];
		size_t l = vcb_ctrl_akcipher(h, feat, algo, type, (uint32_t)kl, p0, p1);
		uint8_t st = cx_ctrl_create(&x, h, l, key, kl, &id);
		if (st != VC_OK) {
			cx_free(&x);
			return st;
		}
	}
	struct vcb_data q = {.opcode = opcode, .session_id = id, .stateless = stateless,
			     .src_len = (uint32_t)src_len, .dst_len = (uint32_t)dst_len,
			     .algo = algo, .key_len = (uint32_t)kl, .key_type = type, .para0 = p0,
			     .para1 = p1};
	static uint8_t req[VCB_HDR_MAX + 4096];
	size_t n = vcb_data_hdr(req, feat, &q);
	if (stateless) {
		memcpy(req + n, key, kl);
		n += kl;
	}
	size_t in_len = src_len + (opcode == VC_AKCIPHER_VERIFY ? dst_len : 0);
	memcpy(req + n, in, in_len);
	size_t wr = (opcode == VC_AKCIPHER_VERIFY ? 0 : dst_len) + 1;
	struct cx_req rq = {.rd = req, .rd_len = n + in_len, .wr_len = wr};
	long u = cx_submit(&x, 0, &rq, buf);
	cx_free(&x);
	return u < 1 ? 0xff : buf[wr - 1];
}

/* A valid signature over digest dg (32 bytes) by the test keys, then dg: src ∥ digest. */
static size_t signed_input(bool rsa, uint8_t *out)
{
	uint8_t dg[32];
	memset(dg, 0x61, sizeof(dg));
	const uint8_t *p = rsa ? rsa_priv : ec_priv;
	EVP_PKEY *k = d2i_AutoPrivateKey(NULL, &p, (long)(rsa ? rsa_privl : ec_privl));
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(k, NULL);
	size_t sl = 600;
	if (!k || !c || EVP_PKEY_sign_init(c) != 1 ||
	    (rsa && (EVP_PKEY_CTX_set_rsa_padding(c, 1) != 1 ||
		     EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) != 1)) ||
	    EVP_PKEY_sign(c, out, &sl, dg, 32) != 1)
		abort();
	memcpy(out + sl, dg, 32);
	EVP_PKEY_CTX_free(c);
	EVP_PKEY_free(k);
	return sl;
}

/* ---- The cases ------------------------------------------------------------------ */

static uint8_t c_ok(void) { return op_status(&L_REV1, cbc(32)); }
static uint8_t c_ok_gcm_iv_1(void) { return op_status(&L_LEGACY, gcm(1)); }
static uint8_t c_ok_gcm_iv_128(void) { return op_status(&L_SL, gcm(128)); }
static uint8_t c_ok_gcm_j0(void)
{
	static uint8_t j0[16] = {1, 2, 3};
	struct op o = gcm(16);
	o.iv = j0;
	return op_status(&L_REV1, o);
}
static uint8_t c_ok_ecdsa_curve_from_point(void)
{
	uint8_t in[200];
	size_t sl = signed_input(false, in);
	return ak_op(F_REV1, false, VC_AKCIPHER_VERIFY, VC_AKCIPHER_ECDSA,
		     VC_AKCIPHER_KEY_TYPE_PUBLIC, ec_pub, ec_publ, VC_CURVE_UNKNOWN, 0, in, sl, 32);
}
static uint8_t c_ok_stateless_rsa_verify(void)
{
	uint8_t in[600];
	size_t sl = signed_input(true, in);
	return ak_op(F_STATELESS, true, VC_AKCIPHER_VERIFY, VC_AKCIPHER_RSA,
		     VC_AKCIPHER_KEY_TYPE_PUBLIC, rsa_pub, rsa_publ, VC_RSA_PKCS1_PADDING,
		     VC_RSA_SHA256, in, sl, 32);
}
static uint8_t c_ok_stateless_ecdsa_sign(void)
{
	uint8_t dg[32] = {0};
	return ak_op(F_STATELESS, true, VC_AKCIPHER_SIGN, VC_AKCIPHER_ECDSA,
		     VC_AKCIPHER_KEY_TYPE_PRIVATE, ec_priv, ec_privl, VC_CURVE_UNKNOWN, 0, dg, 32,
		     80);
}

static uint8_t c_err_short_header(void) { return raw_data(0, cbc_q(16), 20, 0, 17, true); }
static uint8_t c_err_short_flf(void) { return raw_data(F_REV1, cbc_q(16), 40, 0, 17, true); }
static uint8_t c_err_past_chain(void) { return raw_data(0, cbc_q(16), 0, 16 + 15, 17, true); }
static uint8_t c_err_max_size(void) { return raw_data(0, cbc_q(0xfffffff0u), 0, 32, 17, true); }
static uint8_t c_err_src_ne_dst(void)
{
	struct vcb_data q = cbc_q(16);
	q.dst_len = 32;
	return raw_data(0, q, 0, 32, 33, true);
}
static uint8_t c_err_partial_block(void) { return op_status(&L_LEGACY, cbc(15)); }
static uint8_t c_err_iv_len(void)
{
	struct op o = cbc(16);
	o.iv_len = 8;
	return op_status(&L_LEGACY, o);
}
static uint8_t c_err_result_too_long(void)
{
	uint8_t h[VCB_HDR_MAX];
	return create(0, h, vcb_ctrl_hash(h, 0, VC_HASH_SHA_256, 33), NULL, 0);
}
static uint8_t c_err_aead_dst_small(void)
{
	struct op o = gcm(12);
	o.dst_len = 40;
	return op_status(&L_REV1, o);
}
static uint8_t c_err_bad_op(void)
{
	uint8_t h[VCB_HDR_MAX];
	return create(0, h, vcb_ctrl_cipher(h, 0, VC_CIPHER_AES_CBC, 16, 3), K16, 16);
}
static uint8_t c_err_key_too_long(void)
{
	uint8_t h[VCB_HDR_MAX];
	return create(0, h, vcb_ctrl_cipher(h, 0, VC_CIPHER_AES_CBC, 65, VC_OP_ENCRYPT), zeros, 65);
}
static uint8_t c_err_xts_equal_halves(void)
{
	uint8_t h[VCB_HDR_MAX];
	return create(0, h, vcb_ctrl_cipher(h, 0, VC_CIPHER_AES_XTS, 32, VC_OP_ENCRYPT), zeros, 32);
}
static uint8_t c_err_rsa_key_junk(void)
{
	return create_ak(F_REV1, VC_AKCIPHER_RSA, VC_AKCIPHER_KEY_TYPE_PRIVATE, zeros, 300,
			 VC_RSA_PKCS1_PADDING, 0);
}
static uint8_t c_err_public_signs(void)
{
	uint8_t dg[32] = {0};
	return ak_op(F_REV1, false, VC_AKCIPHER_SIGN, VC_AKCIPHER_RSA, VC_AKCIPHER_KEY_TYPE_PUBLIC,
		     rsa_pub, rsa_publ, VC_RSA_PKCS1_PADDING, VC_RSA_SHA256, dg, 32, 128);
}
static uint8_t c_err_curve_contradiction(void)
{
	return create_ak(F_REV1, VC_AKCIPHER_ECDSA, VC_AKCIPHER_KEY_TYPE_PRIVATE, ec_priv, ec_privl,
			 VC_CURVE_NIST_P384, 0);
}
static uint8_t c_err_destroy_unknown(void)
{
	struct cx x;
	cx_init(&x, &opts, 0);
	uint8_t st = cx_ctrl_destroy(&x, VC_CIPHER_DESTROY_SESSION, 12345);
	cx_free(&x);
	return st;
}
static uint8_t table_full(uint64_t feat)
{
	struct vc_opts o = opts;
	o.max_sessions = 1;
	struct cx x;
	cx_init(&x, &o, feat);
	uint8_t h[VCB_HDR_MAX];
	size_t l = vcb_ctrl_cipher(h, feat, VC_CIPHER_AES_CBC, 16, VC_OP_ENCRYPT);
	uint64_t id;
	uint8_t st = cx_ctrl_create(&x, h, l, K16, 16, &id);
	if (st == VC_OK)
		st = cx_ctrl_create(&x, h, l, K16, 16, &id);
	cx_free(&x);
	return st;
}
static uint8_t c_err_table_full_legacy(void) { return table_full(0); }
static uint8_t c_err_gcm_iv_0(void) { return op_status(&L_REV1, gcm(0)); }

static uint8_t c_badmsg_gcm(void) { return aead_forged(VC_AEAD_GCM, 16, 12, 16); }
static uint8_t c_badmsg_gcm_iv_128(void) { return aead_forged(VC_AEAD_GCM, 32, 128, 12); }
static uint8_t c_badmsg_ccm(void) { return aead_forged(VC_AEAD_CCM, 16, 13, 8); }
static uint8_t c_badmsg_chacha(void) { return aead_forged(VC_AEAD_CHACHA20_POLY1305, 32, 12, 16); }

static uint8_t c_notsupp_data_opcode(void)
{
	struct vcb_data q = cbc_q(16);
	q.opcode = VC_OPCODE(VC_SERVICE_HASH, 7);
	return raw_data(F_REV1, q, 0, 32, 17, true);
}
static uint8_t c_notsupp_ctrl_opcode(void)
{
	uint8_t h[VCB_HDR_MAX];
	return create(F_REV1, h, vcb_ctrl(h, F_REV1, VC_OPCODE(VC_SERVICE_CIPHER, 9), 0, "", 0),
		      NULL, 0);
}
static uint8_t c_notsupp_ipsec(void)
{
	uint8_t h[VCB_HDR_MAX];
	return create(F_REV1, h, vcb_ctrl(h, F_REV1, VC_OPCODE(VC_SERVICE_IPSEC, 2), 0, "", 0),
		      NULL, 0);
}
static uint8_t c_notsupp_algorithm(void)
{
	uint8_t h[VCB_HDR_MAX];
	return create(0, h, vcb_ctrl_cipher(h, 0, VC_CIPHER_ARC4, 16, VC_OP_ENCRYPT), K16, 16);
}
static uint8_t c_notsupp_disabled(void)
{
	struct vc_opts o = opts;
	o.algorithms = "aes-cbc";
	struct cx x;
	cx_init(&x, &o, 0);
	uint8_t h[VCB_HDR_MAX];
	uint64_t id;
	uint8_t st = cx_ctrl_create(&x, h, vcb_ctrl_cipher(h, 0, VC_CIPHER_AES_CTR, 16,
							    VC_OP_ENCRYPT), K16, 16, &id);
	cx_free(&x);
	return st;
}
static uint8_t c_notsupp_key_size(void)
{
	uint8_t h[VCB_HDR_MAX];
	return create(0, h, vcb_ctrl_cipher(h, 0, VC_CIPHER_AES_CBC, 20, VC_OP_ENCRYPT), zeros, 20);
}
static uint8_t c_notsupp_tag_len(void)
{
	struct op o = gcm(12);
	o.tag_len = 5;
	o.dst_len = 37;
	return op_status(&L_REV1, o);
}
static uint8_t c_notsupp_op_none(void)
{
	struct vc_sym_session_flf sym;
	memset(&sym, 0, sizeof(sym));
	uint8_t h[VCB_HDR_MAX];
	return create(F_REV1, h, vcb_ctrl(h, F_REV1, VC_CIPHER_CREATE_SESSION, 0, &sym, sizeof(sym)),
		      NULL, 0);
}
static uint8_t c_notsupp_nested(void)
{
	uint8_t h[VCB_HDR_MAX];
	size_t l = vcb_ctrl_chain(h, 0, VC_SYM_ALG_CHAIN_ORDER_CIPHER_THEN_HASH,
				  VC_SYM_HASH_MODE_NESTED, VC_CIPHER_AES_CBC, 16, VC_OP_ENCRYPT,
				  VC_HASH_SHA_256, 32, 0, 0);
	return create(0, h, l, K16, 16);
}
static uint8_t c_notsupp_rsa_raw_sign(void)
{
	uint8_t dg[32] = {0};
	return ak_op(F_REV1, false, VC_AKCIPHER_SIGN, VC_AKCIPHER_RSA,
		     VC_AKCIPHER_KEY_TYPE_PRIVATE, rsa_priv, rsa_privl, VC_RSA_RAW_PADDING, 0, dg,
		     32, 128);
}
static uint8_t c_notsupp_ecdsa_encrypt(void)
{
	uint8_t dg[32] = {0};
	return ak_op(F_REV1, false, VC_AKCIPHER_ENCRYPT, VC_AKCIPHER_ECDSA,
		     VC_AKCIPHER_KEY_TYPE_PUBLIC, ec_pub, ec_publ, VC_CURVE_NIST_P256, 0, dg, 32,
		     80);
}
static uint8_t c_notsupp_gcm_iv_129(void) { return op_status(&L_REV1, gcm(129)); }
static uint8_t c_notsupp_stateless_without_feature(void)
{
	struct vcb_data q = cbc_q(16);
	q.stateless = true;
	q.algo = VC_CIPHER_AES_CBC;
	q.key_len = 16;
	q.op = VC_OP_ENCRYPT;
	return raw_data(F_REV1, q, 0, 48, 17, false);
}
static uint8_t c_notsupp_curve_p192(void)
{
	return create_ak(F_REV1, VC_AKCIPHER_ECDSA, VC_AKCIPHER_KEY_TYPE_PRIVATE, ec_priv, ec_privl,
			 VC_CURVE_NIST_P192, 0);
}
static uint8_t c_notsupp_curve_unnamed(void)
{
	return create_ak(F_REV1, VC_AKCIPHER_ECDSA, VC_AKCIPHER_KEY_TYPE_PUBLIC, ec_pub,
			 ec_publ - 1, VC_CURVE_UNKNOWN, 0);
}
static uint8_t c_notsupp_qemu_ecdsa_unnamed(void)
{
	struct cx x;
	cx_init(&x, &opts, 0);
	static struct vc_vu_session_new m, reply;
	memset(&m, 0, sizeof(m));
	m.op_code = VC_AKCIPHER_CREATE_SESSION;
	m.u.asym.info.algo = VC_AKCIPHER_ECDSA_UAPI;
	m.u.asym.info.key_type = VC_AKCIPHER_KEY_TYPE_PUBLIC;
	m.u.asym.info.key_len = (uint32_t)ec_publ - 1;
	memcpy(m.u.asym.key, ec_pub, ec_publ - 1);
	uint32_t rsz = 0;
	int r = vc_vhost_message(x.d, VHOST_USER_CREATE_CRYPTO_SESSION, &m, sizeof(m), &reply, &rsz);
	cx_free(&x);
	return r < 0 || reply.session_id >= 0 ? 0xff : (uint8_t)-reply.session_id;
}

static uint8_t c_invsess_unknown(void)
{
	struct vcb_data q = cbc_q(16);
	q.session_id = 999999;
	return raw_data(0, q, 0, 32, 17, false);
}
static uint8_t c_invsess_destroyed(void)
{
	struct cx x;
	cx_init(&x, &opts, 0);
	uint8_t h[VCB_HDR_MAX];
	uint64_t id;
	if (cx_ctrl_create(&x, h, vcb_ctrl_cipher(h, 0, VC_CIPHER_AES_CBC, 16, VC_OP_ENCRYPT), K16,
			   16, &id) != VC_OK ||
	    cx_ctrl_destroy(&x, VC_CIPHER_DESTROY_SESSION, id) != VC_OK)
		abort();
	struct vcb_data q = cbc_q(16);
	q.session_id = id;
	uint8_t req[VCB_HDR_MAX + 64];
	size_t n = vcb_data_hdr(req, 0, &q);
	memset(req + n, 0, 32);
	struct cx_req rq = {.rd = req, .rd_len = n + 32, .wr_len = 17};
	long u = cx_submit(&x, 0, &rq, buf);
	cx_free(&x);
	return u < 1 ? 0xff : buf[16];
}
static uint8_t c_invsess_wrong_service(void)
{
	struct vcb_data q = {.opcode = VC_HASH, .src_len = 3, .hash_result_len = 32};
	return raw_data(0, q, 0, 3, 33, true); /* a hash request on the CBC session */
}

static uint8_t c_nospc_table_full(void) { return table_full(F_REV1); }

static uint8_t c_key_rejected_rsa(void)
{
	uint8_t in[600];
	size_t sl = signed_input(true, in);
	in[sl] ^= 1; /* another digest */
	return ak_op(F_REV1, false, VC_AKCIPHER_VERIFY, VC_AKCIPHER_RSA,
		     VC_AKCIPHER_KEY_TYPE_PUBLIC, rsa_pub, rsa_publ, VC_RSA_PKCS1_PADDING,
		     VC_RSA_SHA256, in, sl, 32);
}
static uint8_t c_key_rejected_ecdsa(void)
{
	uint8_t in[200];
	size_t sl = signed_input(false, in);
	in[sl + 5] ^= 1;
	return ak_op(F_STATELESS, true, VC_AKCIPHER_VERIFY, VC_AKCIPHER_ECDSA,
		     VC_AKCIPHER_KEY_TYPE_PUBLIC, ec_pub, ec_publ, VC_CURVE_NIST_P256, 0, in, sl, 32);
}
static uint8_t c_key_rejected_malformed_sig(void)
{
	uint8_t in[40];
	memset(in, 0x30, sizeof(in));
	return ak_op(F_REV1, false, VC_AKCIPHER_VERIFY, VC_AKCIPHER_ECDSA,
		     VC_AKCIPHER_KEY_TYPE_PUBLIC, ec_pub, ec_publ, VC_CURVE_NIST_P256, 0, in, 8, 32);
}

struct tcase {
	const char *id;
	uint8_t (*fn)(void);
	bool seen;
};

#define C(name, fn) {name, fn, false}
static struct tcase cases[] = {
	C("ok", c_ok),
	C("ok-gcm-iv-1", c_ok_gcm_iv_1),
	C("ok-gcm-iv-128", c_ok_gcm_iv_128),
	C("ok-gcm-j0", c_ok_gcm_j0),
	C("ok-ecdsa-curve-from-point", c_ok_ecdsa_curve_from_point),
	C("ok-stateless-rsa-verify", c_ok_stateless_rsa_verify),
	C("ok-stateless-ecdsa-sign", c_ok_stateless_ecdsa_sign),
	C("err-short-header", c_err_short_header),
	C("err-short-flf", c_err_short_flf),
	C("err-past-chain", c_err_past_chain),
	C("err-max-size", c_err_max_size),
	C("err-src-ne-dst", c_err_src_ne_dst),
	C("err-partial-block", c_err_partial_block),
	C("err-iv-len", c_err_iv_len),
	C("err-result-too-long", c_err_result_too_long),
	C("err-aead-dst-small", c_err_aead_dst_small),
	C("err-bad-op", c_err_bad_op),
	C("err-key-too-long", c_err_key_too_long),
	C("err-xts-equal-halves", c_err_xts_equal_halves),
	C("err-rsa-key-junk", c_err_rsa_key_junk),
	C("err-curve-contradiction", c_err_curve_contradiction),
	C("err-public-signs", c_err_public_signs),
	C("err-destroy-unknown", c_err_destroy_unknown),
	C("err-table-full-legacy", c_err_table_full_legacy),
	C("err-gcm-iv-0", c_err_gcm_iv_0),
	C("badmsg-gcm", c_badmsg_gcm),
	C("badmsg-gcm-iv-128", c_badmsg_gcm_iv_128),
	C("badmsg-ccm", c_badmsg_ccm),
	C("badmsg-chacha", c_badmsg_chacha),
	C("notsupp-data-opcode", c_notsupp_data_opcode),
	C("notsupp-ctrl-opcode", c_notsupp_ctrl_opcode),
	C("notsupp-ipsec", c_notsupp_ipsec),
	C("notsupp-algorithm", c_notsupp_algorithm),
	C("notsupp-disabled", c_notsupp_disabled),
	C("notsupp-key-size", c_notsupp_key_size),
	C("notsupp-tag-len", c_notsupp_tag_len),
	C("notsupp-op-none", c_notsupp_op_none),
	C("notsupp-nested", c_notsupp_nested),
	C("notsupp-rsa-raw-sign", c_notsupp_rsa_raw_sign),
	C("notsupp-ecdsa-encrypt", c_notsupp_ecdsa_encrypt),
	C("notsupp-gcm-iv-129", c_notsupp_gcm_iv_129),
	C("notsupp-stateless-without-feature", c_notsupp_stateless_without_feature),
	C("notsupp-curve-p192", c_notsupp_curve_p192),
	C("notsupp-curve-unnamed", c_notsupp_curve_unnamed),
	C("notsupp-qemu-ecdsa-unnamed", c_notsupp_qemu_ecdsa_unnamed),
	C("invsess-unknown", c_invsess_unknown),
	C("invsess-destroyed", c_invsess_destroyed),
	C("invsess-wrong-service", c_invsess_wrong_service),
	C("nospc-table-full", c_nospc_table_full),
	C("key-rejected-rsa", c_key_rejected_rsa),
	C("key-rejected-ecdsa", c_key_rejected_ecdsa),
	C("key-rejected-malformed-sig", c_key_rejected_malformed_sig),
};

static int status_by_name(const char *s)
{
	static const char *const n[] = {"OK", "ERR", "BADMSG", "NOTSUPP", "INVSESS", "NOSPC",
					"KEY_REJECTED"};
	for (size_t i = 0; i < VT_ARRAY_SIZE(n); i++)
		if (!strncmp(s, n[i], strlen(n[i])) && s[strlen(n[i])] == ' ')
			return (int)i;
	return -1;
}

static void keys(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	uint8_t *p = rsa_priv;
	rsa_privl = (size_t)i2d_PrivateKey(k, &p);
	p = rsa_pub;
	rsa_publ = (size_t)i2d_PublicKey(k, &p);
	EVP_PKEY_free(k);
	k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	p = ec_priv;
	ec_privl = (size_t)i2d_PrivateKey(k, &p);
	if (!EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, ec_pub, sizeof(ec_pub),
					     &ec_publ))
		abort();
	EVP_PKEY_free(k);
}

int main(int argc, char **argv)
{
	vt_log_set_level(VT_LOG_ERR + 1);
	if (argc < 2) {
		fprintf(stderr, "usage: %s README.md\n", argv[0]);
		return 2;
	}
	FILE *f = fopen(argv[1], "r");
	if (!f) {
		fprintf(stderr, "cannot open %s\n", argv[1]);
		return 2;
	}
	cx_opts(&opts);
	keys();
	char line[4096];
	bool in_section = false;
	unsigned rows = 0;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "## ", 3)) {
			in_section = !strncmp(line, "## Status codes", 15);
			continue;
		}
		if (!in_section || line[0] != '|' || !strncmp(line, "|---", 4) ||
		    !strncmp(line, "| status", 8))
			continue;
		int want = status_by_name(line + 2);
		char *id = strrchr(line, '`'), *open;
		if (id) {
			*id = '\0';
			open = strrchr(line, '`');
			id = open ? open + 1 : NULL;
		}
		rows++;
		test_checks++;
		if (want < 0 || !id) {
			test_failures++;
			fprintf(stderr, "FAIL README row without a status or a `case`: %s", line);
			continue;
		}
		struct tcase *t = NULL;
		for (size_t i = 0; i < VT_ARRAY_SIZE(cases); i++)
			if (!strcmp(cases[i].id, id))
				t = &cases[i];
		if (!t) {
			test_failures++;
			fprintf(stderr, "FAIL README case `%s` is not known to this test\n", id);
			continue;
		}
		t->seen = true;
		uint8_t got = t->fn();
		if (got != want) {
			test_failures++;
			fprintf(stderr, "FAIL `%s`: the README says %s (%d), the device answers %s (%u)\n",
				id, vc_status_name((uint8_t)want), want, vc_status_name(got), got);
		} else {
			printf("ok %-36s %s\n", id, vc_status_name(got));
		}
	}
	fclose(f);
	for (size_t i = 0; i < VT_ARRAY_SIZE(cases); i++) {
		test_checks++;
		if (!cases[i].seen) {
			test_failures++;
			fprintf(stderr, "FAIL case `%s` has no row in the README's status table\n",
				cases[i].id);
		}
	}
	printf("%u README rows walked\n", rows);
	CHECK(rows >= VT_ARRAY_SIZE(cases));
	TEST_DONE();
}
