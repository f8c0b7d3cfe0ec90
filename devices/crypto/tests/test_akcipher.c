/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AKCIPHER through the device, checked against OpenSSL directly: RSA
 * (PKCS#1 v1.5 with and without DigestInfo, raw) encrypt / decrypt / sign /
 * verify with DER PKCS#1 keys; ECDSA P-256 / P-384 sign / verify with RFC
 * 5915 private keys (with and without curve parameters) and bare SEC1
 * points; KEY_REJECTED for failed verifications; ERR for keys OpenSSL
 * rejects; NOTSUPP for raw RSA signatures and ECDSA encryption.
 */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "kat.h"
#include "vhost_user_proto.h"

static struct vc_opts opts;

static uint8_t create_ak(struct cx *x, uint32_t algo, uint32_t key_type, const uint8_t *key,
			 size_t key_len, uint32_t p0, uint32_t p1, uint64_t *id)
{
	uint8_t h[VCB_HDR_MAX];
	size_t l = vcb_ctrl_akcipher(h, x->features, algo, key_type, (uint32_t)key_len, p0, p1);
	return cx_ctrl_create(x, h, l, key, key_len, id);
}

/* One akcipher data request; returns the status, out/out_len what was written. */
static uint8_t ak(struct cx *x, uint32_t opcode, uint64_t id, const uint8_t *in, size_t in_len,
		  size_t src_len, size_t dst_len, uint8_t *out, long *used)
{
	struct vcb_data q = {.opcode = opcode, .session_id = id, .src_len = (uint32_t)src_len,
			     .dst_len = (uint32_t)dst_len};
	uint8_t req[VCB_HDR_MAX + 2048];
	size_t n = vcb_data_hdr(req, x->features, &q);
	memcpy(req + n, in, in_len);
	size_t wr = (opcode == VC_AKCIPHER_VERIFY ? 0 : dst_len) + 1;
	uint8_t buf[2048];
	struct cx_req rq = {.rd = req, .rd_len = n + in_len, .wr_len = wr, .sep_status = true,
			    .rsplit = 100, .wsplit = 77};
	long u = cx_submit(x, 0, &rq, buf);
	if (used)
		*used = u;
	if (out && wr > 1)
		memcpy(out, buf, wr - 1); /* the result; the status is returned */
	return u < 0 ? 0xff : buf[wr - 1];
}

static size_t der_private(EVP_PKEY *k, uint8_t *out)
{
	uint8_t *p = out;
	return (size_t)i2d_PrivateKey(k, &p); /* RSA: RSAPrivateKey; EC: ECPrivateKey */
}

static size_t der_public_rsa(EVP_PKEY *k, uint8_t *out)
{
	uint8_t *p = out;
	return (size_t)i2d_PublicKey(k, &p); /* RSAPublicKey (PKCS#1) */
}

static void test_rsa(void)
{
	struct cx x;
	cx_init(&x, &opts, 0);
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	uint8_t priv[4096], pub[1024];
	size_t privl = der_private(k, priv), publ = der_public_rsa(k, pub);
	uint64_t sid, pid, rid, nid;
	CHECK_EQ(create_ak(&x, VC_AKCIPHER_RSA, VC_AKCIPHER_KEY_TYPE_PRIVATE, priv, privl,
			   VC_RSA_PKCS1_PADDING, VC_RSA_SHA256, &sid), VC_OK);
	CHECK_EQ(create_ak(&x, VC_AKCIPHER_RSA, VC_AKCIPHER_KEY_TYPE_PUBLIC, pub, publ,
			   VC_RSA_PKCS1_PADDING, VC_RSA_SHA256, &pid), VC_OK);
	CHECK_EQ(create_ak(&x, VC_AKCIPHER_RSA, VC_AKCIPHER_KEY_TYPE_PRIVATE, priv, privl,
			   VC_RSA_RAW_PADDING, VC_RSA_NO_HASH, &rid), VC_OK);
	CHECK_EQ(create_ak(&x, VC_AKCIPHER_RSA, VC_AKCIPHER_KEY_TYPE_PRIVATE, priv, privl,
			   VC_RSA_PKCS1_PADDING, VC_RSA_NO_HASH, &nid), VC_OK);

	uint8_t digest[32], sig[256], ref[256], in[600];
	for (int i = 0; i < 32; i++)
		digest[i] = (uint8_t)(i * 3);
	long used;
	/* PKCS#1 v1.5 sign (SHA-256 DigestInfo): deterministic, must equal OpenSSL's. */
	CHECK_EQ(ak(&x, VC_AKCIPHER_SIGN, sid, digest, 32, 32, 256, sig, &used), VC_OK);
	CHECK_EQ(used, 257);
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(k, NULL);
	size_t rl = sizeof(ref);
	EVP_PKEY_sign_init(c);
	EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING);
	EVP_PKEY_CTX_set_signature_md(c, EVP_sha256());
	CHECK(EVP_PKEY_sign(c, ref, &rl, digest, 32) == 1 && rl == 256);
	CHECK(cx_eq(sig, ref, 256));
	/* Verify with the public key session: OK; a flipped bit: KEY_REJECTED. */
	memcpy(in, sig, 256);
	memcpy(in + 256, digest, 32);
	CHECK_EQ(ak(&x, VC_AKCIPHER_VERIFY, pid, in, 288, 256, 32, NULL, &used), VC_OK);
	CHECK_EQ(used, 1);
	in[100] ^= 4;
	CHECK_EQ(ak(&x, VC_AKCIPHER_VERIFY, pid, in, 288, 256, 32, NULL, NULL), VC_KEY_REJECTED);
	in[100] ^= 4;
	in[256] ^= 1; /* other digest */
	CHECK_EQ(ak(&x, VC_AKCIPHER_VERIFY, pid, in, 288, 256, 32, NULL, NULL), VC_KEY_REJECTED);
	/* A public key cannot sign or decrypt. */
	CHECK_EQ(ak(&x, VC_AKCIPHER_SIGN, pid, digest, 32, 32, 256, NULL, NULL), VC_ERR);
	/* PKCS#1 without a hash: signs the bytes as given, like OpenSSL with no md. */
	CHECK_EQ(ak(&x, VC_AKCIPHER_SIGN, nid, digest, 20, 20, 256, sig, NULL), VC_OK);
	EVP_PKEY_CTX_free(c);
	c = EVP_PKEY_CTX_new(k, NULL);
	EVP_PKEY_sign_init(c);
	EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING);
	rl = sizeof(ref);
	CHECK(EVP_PKEY_sign(c, ref, &rl, digest, 20) == 1);
	CHECK(cx_eq(sig, ref, 256));
	EVP_PKEY_CTX_free(c);

	/* Encrypt with the device's public session, decrypt with OpenSSL ... */
	const uint8_t msg[] = "attack at dawn";
	uint8_t ct[256], pt[256];
	CHECK_EQ(ak(&x, VC_AKCIPHER_ENCRYPT, pid, msg, sizeof(msg), sizeof(msg), 256, ct, &used),
		 VC_OK);
	CHECK_EQ(used, 257);
	c = EVP_PKEY_CTX_new(k, NULL);
	EVP_PKEY_decrypt_init(c);
	EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING);
	rl = sizeof(pt);
	CHECK(EVP_PKEY_decrypt(c, pt, &rl, ct, 256) == 1 && rl == sizeof(msg));
	CHECK(cx_eq(pt, msg, sizeof(msg)));
	EVP_PKEY_CTX_free(c);
	/* ... and the reverse; the used length tells the plaintext length. */
	c = EVP_PKEY_CTX_new(k, NULL);
	EVP_PKEY_encrypt_init(c);
	EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING);
	rl = sizeof(ct);
	CHECK(EVP_PKEY_encrypt(c, ct, &rl, msg, sizeof(msg)) == 1);
	EVP_PKEY_CTX_free(c);
	memset(pt, 0, sizeof(pt));
	CHECK_EQ(ak(&x, VC_AKCIPHER_DECRYPT, sid, ct, 256, 256, 256, pt, &used), VC_OK);
	CHECK_EQ(used, (long)sizeof(msg) + 1);
	CHECK(cx_eq(pt, msg, sizeof(msg)));
	CHECK_EQ(ak(&x, VC_AKCIPHER_DECRYPT, pid, ct, 256, 256, 256, NULL, NULL), VC_ERR);
	/* dst too small for the modulus. */
	CHECK_EQ(ak(&x, VC_AKCIPHER_ENCRYPT, pid, msg, sizeof(msg), sizeof(msg), 100, NULL, NULL),
		 VC_ERR);

	/* Raw RSA: short inputs are left-padded; outputs are modulus-sized; equals OpenSSL. */
	uint8_t m[256];
	memset(m, 0, sizeof(m));
	m[255] = 42;
	m[200] = 7;
	CHECK_EQ(ak(&x, VC_AKCIPHER_ENCRYPT, rid, m + 150, 106, 106, 256, ct, &used), VC_OK);
	CHECK_EQ(used, 257);
	c = EVP_PKEY_CTX_new(k, NULL);
	EVP_PKEY_encrypt_init(c);
	EVP_PKEY_CTX_set_rsa_padding(c, RSA_NO_PADDING);
	rl = sizeof(ref);
	CHECK(EVP_PKEY_encrypt(c, ref, &rl, m, 256) == 1);
	CHECK(cx_eq(ct, ref, 256));
	EVP_PKEY_CTX_free(c);
	CHECK_EQ(ak(&x, VC_AKCIPHER_DECRYPT, rid, ct, 256, 256, 256, pt, &used), VC_OK);
	CHECK(cx_eq(pt, m, 256));
	/* Raw RSA may not sign (spec), and inputs above the modulus length fail. */
	CHECK_EQ(ak(&x, VC_AKCIPHER_SIGN, rid, digest, 32, 32, 256, NULL, NULL), VC_NOTSUPP);
	CHECK_EQ(ak(&x, VC_AKCIPHER_ENCRYPT, rid, in, 257, 257, 256, NULL, NULL), VC_ERR);
	/* A cipher opcode on an akcipher session is the wrong session kind. */
	struct vcb_data q = {.opcode = VC_CIPHER_ENCRYPT, .session_id = rid,
			     .sym_op = VC_SYM_OP_CIPHER, .iv_len = 16, .src_len = 16, .dst_len = 16};
	uint8_t req[VCB_HDR_MAX + 32], out[17];
	size_t n = vcb_data_hdr(req, 0, &q);
	memset(req + n, 0, 32);
	struct cx_req rq = {.rd = req, .rd_len = n + 32, .wr_len = 17};
	CHECK(cx_submit(&x, 0, &rq, out) == 17 && out[16] == VC_INVSESS);

	/* Keys OpenSSL rejects: ERR at creation. */
	uint64_t bad;
	uint8_t junk[300];
	memcpy(junk, priv, 300);
	junk[10] ^= 0xff;
	CHECK_EQ(create_ak(&x, VC_AKCIPHER_RSA, VC_AKCIPHER_KEY_TYPE_PRIVATE, junk, 300,
			   VC_RSA_PKCS1_PADDING, 0, &bad), VC_ERR);
	CHECK_EQ(create_ak(&x, VC_AKCIPHER_RSA, VC_AKCIPHER_KEY_TYPE_PRIVATE, pub, publ,
			   VC_RSA_PKCS1_PADDING, 0, &bad), VC_ERR); /* a public key as private */
	CHECK_EQ(create_ak(&x, VC_AKCIPHER_RSA, 3, pub, publ, VC_RSA_PKCS1_PADDING, 0, &bad),
		 VC_ERR);
	CHECK_EQ(create_ak(&x, VC_AKCIPHER_RSA, VC_AKCIPHER_KEY_TYPE_PUBLIC, pub, publ, 5, 0, &bad),
		 VC_NOTSUPP); /* unknown padding */
	CHECK_EQ(create_ak(&x, VC_AKCIPHER_RSA, VC_AKCIPHER_KEY_TYPE_PUBLIC, pub, publ,
			   VC_RSA_PKCS1_PADDING, VC_RSA_MD2, &bad), VC_NOTSUPP);
	CHECK_EQ(create_ak(&x, 9, VC_AKCIPHER_KEY_TYPE_PUBLIC, pub, publ, 0, 0, &bad), VC_NOTSUPP);
	EVP_PKEY_free(k);
	cx_free(&x);
}

static void test_ecdsa_curve(const char *group, uint32_t curve, size_t flen)
{
	struct cx x;
	cx_init(&x, &opts, F_REV1);
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", group);
	uint8_t priv[512], pub[256];
	size_t privl = der_private(k, priv);
	size_t publ = 0;
	CHECK(EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub), &publ));
	uint64_t sid, pid, sid2, sid3;
	CHECK_EQ(create_ak(&x, VC_AKCIPHER_ECDSA, VC_AKCIPHER_KEY_TYPE_PRIVATE, priv, privl, curve,
			   0, &sid), VC_OK);
	/* curve_id UNKNOWN: taken from the key's parameters. uapi ECDSA = 3 accepted. */
	CHECK_EQ(create_ak(&x, VC_AKCIPHER_ECDSA_UAPI, VC_AKCIPHER_KEY_TYPE_PRIVATE, priv, privl,
			   VC_CURVE_UNKNOWN, 0, &sid2), VC_OK);
	CHECK_EQ(create_ak(&x, VC_AKCIPHER_ECDSA, VC_AKCIPHER_KEY_TYPE_PUBLIC, pub, publ, curve, 0,
			   &pid), VC_OK);
	/* A bare ECPrivateKey {1, d} without parameters or public key, curve from curve_id. */
	BIGNUM *d = NULL;
	CHECK(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_PRIV_KEY, &d));
	uint8_t bare[8 + 66] = {0x30, (uint8_t)(5 + flen), 0x02, 0x01, 0x01, 0x04, (uint8_t)flen};
	BN_bn2binpad(d, bare + 7, (int)flen);
	CHECK_EQ(create_ak(&x, VC_AKCIPHER_ECDSA, VC_AKCIPHER_KEY_TYPE_PRIVATE, bare, 7 + flen, curve,
			   0, &sid3), VC_OK);
	uint64_t bad, tmp;
	/* curve_id UNKNOWN and no parameters: d's size (RFC 5915: exactly the order's) names it. */
	CHECK_EQ(create_ak(&x, VC_AKCIPHER_ECDSA, VC_AKCIPHER_KEY_TYPE_PRIVATE, bare, 7 + flen,
			   VC_CURVE_UNKNOWN, 0, &tmp), VC_OK);
	CHECK_EQ(cx_ctrl_destroy(&x, VC_AKCIPHER_DESTROY_SESSION, tmp), VC_OK);
	uint8_t shortd[8 + 66];
	memcpy(shortd, bare, sizeof(shortd));
	shortd[1] = (uint8_t)(4 + flen), shortd[6] = (uint8_t)(flen - 1); /* d one byte short */
	CHECK_EQ(create_ak(&x, VC_AKCIPHER_ECDSA, VC_AKCIPHER_KEY_TYPE_PRIVATE, shortd, 6 + flen,
			   VC_CURVE_UNKNOWN, 0, &bad), VC_NOTSUPP); /* names no curve */
	CHECK_EQ(create_ak(&x, VC_AKCIPHER_ECDSA, VC_AKCIPHER_KEY_TYPE_PRIVATE, priv, privl,
			   curve == VC_CURVE_NIST_P256 ? VC_CURVE_NIST_P384 : VC_CURVE_NIST_P256, 0,
			   &bad), VC_ERR); /* parameters contradict curve_id */
	CHECK_EQ(create_ak(&x, VC_AKCIPHER_ECDSA, VC_AKCIPHER_KEY_TYPE_PRIVATE, priv, privl,
			   VC_CURVE_NIST_P192, 0, &bad), VC_NOTSUPP);
	uint8_t zero[8 + 66];
	memcpy(zero, bare, sizeof(zero));
	memset(zero + 7, 0, flen); /* private scalar 0 */
	CHECK_EQ(create_ak(&x, VC_AKCIPHER_ECDSA, VC_AKCIPHER_KEY_TYPE_PRIVATE, zero, 7 + flen, curve,
			   0, &bad), VC_ERR);
	uint8_t offc[256];
	memcpy(offc, pub, publ);
	offc[publ - 1] ^= 1; /* a point off the curve */
	CHECK_EQ(create_ak(&x, VC_AKCIPHER_ECDSA, VC_AKCIPHER_KEY_TYPE_PUBLIC, offc, publ, curve, 0,
			   &bad), VC_ERR);
	/* A bare point with curve_id UNKNOWN: its size and form name the curve. */
	uint64_t pid2, pid3;
	CHECK_EQ(create_ak(&x, VC_AKCIPHER_ECDSA, VC_AKCIPHER_KEY_TYPE_PUBLIC, pub, publ,
			   VC_CURVE_UNKNOWN, 0, &pid2), VC_OK);
	uint8_t comp[80];
	comp[0] = (uint8_t)(0x02 | (pub[publ - 1] & 1)); /* the compressed form */
	memcpy(comp + 1, pub + 1, flen);
	CHECK_EQ(create_ak(&x, VC_AKCIPHER_ECDSA, VC_AKCIPHER_KEY_TYPE_PUBLIC, comp, 1 + flen,
			   VC_CURVE_UNKNOWN, 0, &pid3), VC_OK);
	CHECK_EQ(create_ak(&x, VC_AKCIPHER_ECDSA, VC_AKCIPHER_KEY_TYPE_PUBLIC, pub, publ - 1,
			   VC_CURVE_UNKNOWN, 0, &bad), VC_NOTSUPP); /* no curve has that size */
	uint8_t p192[49] = {0x04};
	CHECK_EQ(create_ak(&x, VC_AKCIPHER_ECDSA, VC_AKCIPHER_KEY_TYPE_PUBLIC, p192, sizeof(p192),
			   VC_CURVE_UNKNOWN, 0, &bad), VC_NOTSUPP); /* P-192's size */
	offc[0] = 0x05;
	CHECK_EQ(create_ak(&x, VC_AKCIPHER_ECDSA, VC_AKCIPHER_KEY_TYPE_PUBLIC, offc, publ,
			   VC_CURVE_UNKNOWN, 0, &bad), VC_NOTSUPP); /* no SEC1 form */

	uint8_t digest[48], sig[160], in[300];
	for (size_t i = 0; i < sizeof(digest); i++)
		digest[i] = (uint8_t)(0x80 + i);
	size_t dl = flen > 48 ? 48 : flen;
	uint64_t signers[3] = {sid, sid2, sid3};
	for (int s = 0; s < 3; s++) {
		long used;
		memset(sig, 0, sizeof(sig));
		CHECK_EQ(ak(&x, VC_AKCIPHER_SIGN, signers[s], digest, dl, dl, 150, sig, &used), VC_OK);
		size_t sl = (size_t)used - 1;
		CHECK(sl > 8 && sig[0] == 0x30); /* DER Ecdsa-Sig-Value */
		/* OpenSSL verifies the device's signature ... */
		EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(k, NULL);
		EVP_PKEY_verify_init(c);
		CHECK_EQ(EVP_PKEY_verify(c, sig, sl, digest, dl), 1);
		EVP_PKEY_CTX_free(c);
		/* ... and the device verifies it too. */
		memcpy(in, sig, sl);
		memcpy(in + sl, digest, dl);
		CHECK_EQ(ak(&x, VC_AKCIPHER_VERIFY, pid, in, sl + dl, sl, dl, NULL, NULL), VC_OK);
		CHECK_EQ(ak(&x, VC_AKCIPHER_VERIFY, pid2, in, sl + dl, sl, dl, NULL, NULL), VC_OK);
		CHECK_EQ(ak(&x, VC_AKCIPHER_VERIFY, pid3, in, sl + dl, sl, dl, NULL, NULL), VC_OK);
		in[sl - 3] ^= 0x10;
		CHECK_EQ(ak(&x, VC_AKCIPHER_VERIFY, pid, in, sl + dl, sl, dl, NULL, NULL),
			 VC_KEY_REJECTED);
	}
	/* OpenSSL's signature verifies on the device. */
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(k, NULL);
	size_t sl = sizeof(sig);
	EVP_PKEY_sign_init(c);
	CHECK(EVP_PKEY_sign(c, sig, &sl, digest, dl) == 1);
	EVP_PKEY_CTX_free(c);
	memcpy(in, sig, sl);
	memcpy(in + sl, digest, dl);
	CHECK_EQ(ak(&x, VC_AKCIPHER_VERIFY, pid, in, sl + dl, sl, dl, NULL, NULL), VC_OK);
	CHECK_EQ(ak(&x, VC_AKCIPHER_VERIFY, pid, in, 3 + dl, 3, dl, NULL, NULL), VC_KEY_REJECTED);
	/* ECDSA does not encrypt. */
	CHECK_EQ(ak(&x, VC_AKCIPHER_ENCRYPT, pid, digest, 16, 16, 100, NULL, NULL), VC_NOTSUPP);
	BN_free(d);
	EVP_PKEY_free(k);
	cx_free(&x);
}

static void test_ecdsa(void)
{
	test_ecdsa_curve("P-256", VC_CURVE_NIST_P256, 32);
	test_ecdsa_curve("P-384", VC_CURVE_NIST_P384, 48);
	test_ecdsa_curve("P-521", VC_CURVE_NIST_P521, 66);
}

/* CREATE_CRYPTO_SESSION in newer QEMU's 1072-byte layout (no curve field): the reply's id. */
static int64_t qemu_create(struct cx *x, uint32_t algo, uint32_t key_type, const uint8_t *key,
			   size_t key_len)
{
	static struct vc_vu_session_new m, reply;
	memset(&m, 0, sizeof(m));
	m.op_code = VC_AKCIPHER_CREATE_SESSION;
	m.u.asym.info.algo = algo;
	m.u.asym.info.key_type = key_type;
	m.u.asym.info.key_len = (uint32_t)key_len;
	memcpy(m.u.asym.key, key, key_len);
	uint32_t rsz = 0;
	if (vc_vhost_message(x->d, VHOST_USER_CREATE_CRYPTO_SESSION, &m, sizeof(m), &reply, &rsz) <
		    0 ||
	    rsz != sizeof(reply))
		return INT64_MIN;
	return reply.session_id;
}

/* ECDSA in QEMU's session message: the curve comes from the key, or NOTSUPP (-3). */
static void test_ecdsa_qemu_session(void)
{
	static const struct {
		const char *group;
		size_t flen;
	} g[] = {{"P-256", 32}, {"P-384", 48}, {"P-521", 66}};
	for (size_t i = 0; i < VT_ARRAY_SIZE(g); i++) {
		struct cx x;
		cx_init(&x, &opts, 0); /* QEMU 7.2+ acks no device feature: legacy layouts */
		EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", g[i].group);
		uint8_t priv[512], pub[256], digest[48], sig[160], in[300];
		size_t privl = der_private(k, priv), publ = 0;
		CHECK(EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub),
						      &publ));
		/* uapi numbering (ECDSA 3) as QEMU sends it, and the spec's 2. */
		int64_t sid = qemu_create(&x, VC_AKCIPHER_ECDSA_UAPI, VC_AKCIPHER_KEY_TYPE_PRIVATE,
					  priv, privl);
		int64_t pid = qemu_create(&x, VC_AKCIPHER_ECDSA, VC_AKCIPHER_KEY_TYPE_PUBLIC, pub,
					  publ);
		CHECK(sid > 0 && pid > 0);
		size_t dl = g[i].flen > 48 ? 48 : g[i].flen;
		memset(digest, 0x3c, sizeof(digest));
		long used = 0;
		CHECK_EQ(ak(&x, VC_AKCIPHER_SIGN, (uint64_t)sid, digest, dl, dl, 150, sig, &used),
			 VC_OK);
		size_t sl = used > 0 ? (size_t)used - 1 : 0;
		memcpy(in, sig, sl);
		memcpy(in + sl, digest, dl);
		CHECK_EQ(ak(&x, VC_AKCIPHER_VERIFY, (uint64_t)pid, in, sl + dl, sl, dl, NULL, NULL),
			 VC_OK);
		in[sl + 1] ^= 1;
		CHECK_EQ(ak(&x, VC_AKCIPHER_VERIFY, (uint64_t)pid, in, sl + dl, sl, dl, NULL, NULL),
			 VC_KEY_REJECTED);
		/* A point no curve has: NOTSUPP, which QEMU passes on as ERR. */
		CHECK_EQ(qemu_create(&x, VC_AKCIPHER_ECDSA_UAPI, VC_AKCIPHER_KEY_TYPE_PUBLIC, pub,
				     publ - 1), -VC_NOTSUPP);
		EVP_PKEY_free(k);
		cx_free(&x);
	}
}

/* A stateless akcipher request (key in the request): the status; out gets the result. */
static uint8_t ak_sl(struct cx *x, uint32_t opcode, uint32_t algo, uint32_t key_type,
		     const uint8_t *key, size_t kl, uint32_t p0, uint32_t p1, const uint8_t *in,
		     size_t in_len, size_t src_len, size_t dst_len, uint8_t *out, long *used)
{
	struct vcb_data q = {.opcode = opcode, .stateless = true, .src_len = (uint32_t)src_len,
			     .dst_len = (uint32_t)dst_len, .algo = algo, .key_len = (uint32_t)kl,
			     .key_type = key_type, .para0 = p0, .para1 = p1};
	static uint8_t req[VCB_HDR_MAX + 4096], buf[2048];
	size_t n = vcb_data_hdr(req, x->features, &q);
	memcpy(req + n, key, kl);
	memcpy(req + n + kl, in, in_len);
	size_t wr = (opcode == VC_AKCIPHER_VERIFY ? 0 : dst_len) + 1;
	struct cx_req rq = {.rd = req, .rd_len = n + kl + in_len, .wr_len = wr, .sep_status = true,
			    .rsplit = 97, .wsplit = 33};
	long u = cx_submit(x, 0, &rq, buf);
	if (used)
		*used = u;
	if (out && wr > 1)
		memcpy(out, buf, wr - 1);
	return u < 0 ? 0xff : buf[wr - 1];
}

/* Stateless AKCIPHER (spec akcipher_data_flf_stateless): every operation, against OpenSSL. */
static void test_stateless(void)
{
	struct cx x;
	cx_init(&x, &opts, F_STATELESS);
	CHECK(x.d->offered_features & (1ull << VC_F_AKCIPHER_STATELESS_MODE));
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	static uint8_t priv[2048], pub[600];
	size_t privl = der_private(k, priv), publ = der_public_rsa(k, pub);
	uint8_t digest[32], sig[256], ref[256], in[300], ct[256], pt[256];
	memset(digest, 0x42, sizeof(digest));
	long used = 0;
	/* RSA PKCS#1 SHA-256 sign equals OpenSSL's (deterministic), and verifies. */
	CHECK_EQ(ak_sl(&x, VC_AKCIPHER_SIGN, VC_AKCIPHER_RSA, VC_AKCIPHER_KEY_TYPE_PRIVATE, priv,
		       privl, VC_RSA_PKCS1_PADDING, VC_RSA_SHA256, digest, 32, 32, 256, sig, &used),
		 VC_OK);
	CHECK_EQ(used, 257);
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(k, NULL);
	size_t rl = sizeof(ref);
	CHECK(EVP_PKEY_sign_init(c) == 1 && EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) == 1 &&
	      EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) == 1 &&
	      EVP_PKEY_sign(c, ref, &rl, digest, 32) == 1);
	EVP_PKEY_CTX_free(c);
	CHECK(cx_eq(sig, ref, 256));
	memcpy(in, sig, 256);
	memcpy(in + 256, digest, 32);
	CHECK_EQ(ak_sl(&x, VC_AKCIPHER_VERIFY, VC_AKCIPHER_RSA, VC_AKCIPHER_KEY_TYPE_PUBLIC, pub,
		       publ, VC_RSA_PKCS1_PADDING, VC_RSA_SHA256, in, 288, 256, 32, NULL, NULL),
		 VC_OK);
	in[5] ^= 1;
	CHECK_EQ(ak_sl(&x, VC_AKCIPHER_VERIFY, VC_AKCIPHER_RSA, VC_AKCIPHER_KEY_TYPE_PUBLIC, pub,
		       publ, VC_RSA_PKCS1_PADDING, VC_RSA_SHA256, in, 288, 256, 32, NULL, NULL),
		 VC_KEY_REJECTED);
	/* Encrypt stateless, decrypt stateless: the message comes back. */
	const uint8_t msg[] = "stateless";
	CHECK_EQ(ak_sl(&x, VC_AKCIPHER_ENCRYPT, VC_AKCIPHER_RSA, VC_AKCIPHER_KEY_TYPE_PUBLIC, pub,
		       publ, VC_RSA_PKCS1_PADDING, 0, msg, sizeof(msg), sizeof(msg), 256, ct, NULL),
		 VC_OK);
	CHECK_EQ(ak_sl(&x, VC_AKCIPHER_DECRYPT, VC_AKCIPHER_RSA, VC_AKCIPHER_KEY_TYPE_PRIVATE, priv,
		       privl, VC_RSA_PKCS1_PADDING, 0, ct, 256, 256, 256, pt, &used),
		 VC_OK);
	CHECK_EQ(used, (long)sizeof(msg) + 1);
	CHECK(cx_eq(pt, msg, sizeof(msg)));
	/* Statuses as in session mode: a public key cannot sign; raw padding cannot sign. */
	CHECK_EQ(ak_sl(&x, VC_AKCIPHER_SIGN, VC_AKCIPHER_RSA, VC_AKCIPHER_KEY_TYPE_PUBLIC, pub, publ,
		       VC_RSA_PKCS1_PADDING, 0, digest, 32, 32, 256, NULL, NULL),
		 VC_ERR);
	CHECK_EQ(ak_sl(&x, VC_AKCIPHER_SIGN, VC_AKCIPHER_RSA, VC_AKCIPHER_KEY_TYPE_PRIVATE, priv,
		       privl, VC_RSA_RAW_PADDING, 0, digest, 32, 32, 256, NULL, NULL),
		 VC_NOTSUPP);
	EVP_PKEY_free(k);

	/* ECDSA P-256: sign stateless (OpenSSL verifies), curve from the key with UNKNOWN. */
	k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	uint8_t ecpub[80];
	size_t ecpl = 0;
	privl = der_private(k, priv);
	CHECK(EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, ecpub, sizeof(ecpub),
					      &ecpl));
	CHECK_EQ(ak_sl(&x, VC_AKCIPHER_SIGN, VC_AKCIPHER_ECDSA, VC_AKCIPHER_KEY_TYPE_PRIVATE, priv,
		       privl, VC_CURVE_NIST_P256, 0, digest, 32, 32, 100, sig, &used),
		 VC_OK);
	size_t sl = used > 0 ? (size_t)used - 1 : 0;
	c = EVP_PKEY_CTX_new(k, NULL);
	CHECK(EVP_PKEY_verify_init(c) == 1 && EVP_PKEY_verify(c, sig, sl, digest, 32) == 1);
	EVP_PKEY_CTX_free(c);
	memcpy(in, sig, sl);
	memcpy(in + sl, digest, 32);
	CHECK_EQ(ak_sl(&x, VC_AKCIPHER_VERIFY, VC_AKCIPHER_ECDSA, VC_AKCIPHER_KEY_TYPE_PUBLIC, ecpub,
		       ecpl, VC_CURVE_UNKNOWN, 0, in, sl + 32, sl, 32, NULL, NULL),
		 VC_OK);
	CHECK_EQ(ak_sl(&x, VC_AKCIPHER_ENCRYPT, VC_AKCIPHER_ECDSA, VC_AKCIPHER_KEY_TYPE_PUBLIC, ecpub,
		       ecpl, VC_CURVE_NIST_P256, 0, digest, 32, 32, 100, NULL, NULL),
		 VC_NOTSUPP);
	EVP_PKEY_free(k);
	CHECK_EQ(vc_table_used(&x.d->table), 0);
	cx_free(&x);

	/* REVISION_1 without AKCIPHER_STATELESS_MODE: stateless requests are NOTSUPP. */
	cx_init(&x, &opts, F_REV1);
	CHECK_EQ(ak_sl(&x, VC_AKCIPHER_ENCRYPT, VC_AKCIPHER_RSA, VC_AKCIPHER_KEY_TYPE_PUBLIC, pub,
		       publ, VC_RSA_PKCS1_PADDING, 0, msg, sizeof(msg), sizeof(msg), 256, NULL, NULL),
		 VC_NOTSUPP);
	cx_free(&x);
}

int main(void)
{
	vt_log_set_level(VT_LOG_ERR);
	cx_opts(&opts);
	TEST_RUN(test_rsa);
	TEST_RUN(test_ecdsa);
	TEST_RUN(test_ecdsa_qemu_session);
	TEST_RUN(test_stateless);
	TEST_DONE();
}
