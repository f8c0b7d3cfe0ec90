/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AKCIPHER service: RSA (raw and PKCS#1 v1.5: encrypt, decrypt, sign,
 * verify) and ECDSA (P-256, P-384, P-521: sign, verify).
 *
 * Keys (spec §5.9 AKCIPHER session): RSA as DER PKCS#1 RSAPrivateKey or
 * RSAPublicKey (decoded by OpenSSL's decoder in the device's library
 * context); ECDSA private keys as DER RFC 5915 ECPrivateKey (its optional
 * curve parameters must agree with curve_id), public keys as the bare SEC1
 * ECPoint octets. With curve_id UNKNOWN (and in QEMU's session message,
 * which has no curve) the key's encoding names the curve (curve_of_point,
 * curve_of_scalar), or the answer is NOTSUPP. The ECDSA
 * structures are parsed here (parse_ec_private) and built with
 * EVP_PKEY_fromdata, so every key is checked (range, point on curve,
 * pairwise) before a session exists. A key the library rejects makes
 * session creation fail with ERR (the create-session statuses are OK,
 * NOTSUPP, NOSPC and ERR).
 *
 * Data: src is the input (for verify: the signature followed by the
 * dst_data_len-byte digest, and dst is empty). RSA raw inputs shorter than
 * the modulus are left-padded with zeros, and raw outputs are the full
 * modulus length. PKCS#1 signing with a hash builds the DigestInfo for that
 * hash (src must be a digest of its size); NO_HASH signs src as is. RAW
 * padding cannot sign or verify (NOTSUPP). A failed verification answers
 * KEY_REJECTED. The used length is the bytes written plus the status byte.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "crypto_dev.h"
#include "secmem.h"

/* Largest src we accept (signature + digest, RSA-8192 input). */
#define AK_SRC_MAX 16384u

struct curve {
	uint32_t id;
	const char *name;
	uint8_t oid[10]; /* DER of the OID value (without tag and length) */
	uint8_t oid_len;
	uint32_t field_len;
};

static const struct curve curves[] = {
	{VC_CURVE_NIST_P256, "P-256", {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}, 8, 32},
	{VC_CURVE_NIST_P384, "P-384", {0x2b, 0x81, 0x04, 0x00, 0x22}, 5, 48},
	{VC_CURVE_NIST_P521, "P-521", {0x2b, 0x81, 0x04, 0x00, 0x23}, 5, 66},
};

static const struct curve *curve_by_id(uint32_t id)
{
	for (size_t i = 0; i < VT_ARRAY_SIZE(curves); i++)
		if (curves[i].id == id)
			return &curves[i];
	return NULL;
}

/*
 * Naming the curve of a key that does not say it (curve_id UNKNOWN, and
 * QEMU's 1072-byte session, which has no curve field): among the spec's
 * curves (P-192 .. P-521) the field size is unambiguous, and so is a SEC1
 * point's length with its first byte (0x04/0x06/0x07: 1 + 2f bytes;
 * 0x02/0x03: 1 + f; P-192's 49-byte uncompressed point and P-384's 49-byte
 * compressed one differ in that byte), and so is an RFC 5915 privateKey,
 * which is exactly ceiling(log2(n)/8) = f bytes long. Anything else names
 * no curve: NOTSUPP. P-192 and P-224 are named, then NOTSUPP like their ids.
 */
static const struct {
	uint32_t id;
	uint32_t field_len;
} spec_curves[] = {
	{VC_CURVE_NIST_P192, 24}, {VC_CURVE_NIST_P224, 28}, {VC_CURVE_NIST_P256, 32},
	{VC_CURVE_NIST_P384, 48}, {VC_CURVE_NIST_P521, 66},
};

static uint32_t curve_of_point(const uint8_t *p, size_t n)
{
	if (n < 2)
		return VC_CURVE_UNKNOWN;
	bool full = p[0] == 0x04 || p[0] == 0x06 || p[0] == 0x07;
	bool compressed = p[0] == 0x02 || p[0] == 0x03;
	for (size_t i = 0; i < VT_ARRAY_SIZE(spec_curves); i++) {
		size_t f = spec_curves[i].field_len;
		if ((full && n == 1 + 2 * f) || (compressed && n == 1 + f))
			return spec_curves[i].id;
	}
	return VC_CURVE_UNKNOWN;
}

static uint32_t curve_of_scalar(size_t n)
{
	for (size_t i = 0; i < VT_ARRAY_SIZE(spec_curves); i++)
		if (n == spec_curves[i].field_len)
			return spec_curves[i].id;
	return VC_CURVE_UNKNOWN;
}

/* ---- Minimal DER reader (definite lengths only, bounds-checked) ----------- */

struct der {
	const uint8_t *p;
	size_t n;
};

/* Reads one TLV; returns false on any malformation. */
static bool der_next(struct der *d, uint8_t *tag, struct der *val)
{
	if (d->n < 2)
		return false;
	*tag = d->p[0];
	size_t len = d->p[1], hdr = 2;
	if (len & 0x80) {
		size_t nb = len & 0x7f;
		if (nb == 0 || nb > 2 || d->n < 2 + nb)
			return false;
		len = 0;
		for (size_t i = 0; i < nb; i++)
			len = (len << 8) | d->p[2 + i];
		if (len < 128 || (nb == 2 && len < 256))
			return false; /* not minimal: not DER */
		hdr += nb;
	}
	if (len > d->n - hdr)
		return false;
	val->p = d->p + hdr;
	val->n = len;
	d->p += hdr + len;
	d->n -= hdr + len;
	return true;
}

struct ec_priv {
	struct der priv;
	const struct curve *curve; /* from the parameters, NULL if absent */
	struct der pub;            /* point octets, n == 0 if absent */
};

/* ECPrivateKey ::= SEQUENCE { 1, OCTET STRING, [0] OID OPTIONAL, [1] BIT STRING OPTIONAL } */
int vc_parse_ec_private(const uint8_t *key, size_t len, struct ec_priv *ret);
int vc_parse_ec_private(const uint8_t *key, size_t len, struct ec_priv *ret)
{
	struct der all = {key, len}, seq, v;
	uint8_t tag;
	memset(ret, 0, sizeof(*ret));
	if (!der_next(&all, &tag, &seq) || tag != 0x30 || all.n != 0)
		return -EBADMSG;
	if (!der_next(&seq, &tag, &v) || tag != 0x02 || v.n != 1 || v.p[0] != 1)
		return -EBADMSG;
	if (!der_next(&seq, &tag, &ret->priv) || tag != 0x04 || ret->priv.n == 0 ||
	    ret->priv.n > 66)
		return -EBADMSG;
	while (seq.n) {
		struct der inner;
		if (!der_next(&seq, &tag, &v))
			return -EBADMSG;
		if (tag == 0xa0 && !ret->curve && !ret->pub.p) {
			if (!der_next(&v, &tag, &inner) || tag != 0x06 || v.n != 0)
				return -EBADMSG;
			for (size_t i = 0; i < VT_ARRAY_SIZE(curves); i++)
				if (inner.n == curves[i].oid_len &&
				    vt_ct_memcmp(inner.p, curves[i].oid, inner.n) == 0)
					ret->curve = &curves[i];
			if (!ret->curve)
				return -EOPNOTSUPP; /* a curve we do not offer */
		} else if (tag == 0xa1 && !ret->pub.p) {
			if (!der_next(&v, &tag, &inner) || tag != 0x03 || v.n != 0 ||
			    inner.n < 2 || inner.p[0] != 0)
				return -EBADMSG;
			ret->pub.p = inner.p + 1;
			ret->pub.n = inner.n - 1;
		} else {
			return -EBADMSG;
		}
	}
	return 0;
}

static EVP_PKEY *ec_from_data(struct vc_dev *d, const struct curve *cv, const struct der *priv,
			      const struct der *pub)
{
	EVP_PKEY *pkey = NULL;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	BIGNUM *bn = NULL;
	EVP_PKEY_CTX *kctx = NULL;
	if (!bld)
		return NULL;
	if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, cv->name, 0))
		goto out;
	if (priv) {
		bn = BN_secure_new();
		if (!bn || !BN_bin2bn(priv->p, (int)priv->n, bn) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, bn))
			goto out;
	}
	if (pub && pub->n &&
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub->p, pub->n))
		goto out;
	params = OSSL_PARAM_BLD_to_param(bld);
	kctx = EVP_PKEY_CTX_new_from_name(d->libctx, "EC", d->propq);
	if (!params || !kctx || EVP_PKEY_fromdata_init(kctx) <= 0)
		goto out;
	if (EVP_PKEY_fromdata(kctx, &pkey, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
			      params) <= 0)
		pkey = NULL;
out:
	EVP_PKEY_CTX_free(kctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_clear_free(bn);
	return pkey;
}

static uint8_t check_key(struct vc_dev *d, EVP_PKEY *pkey, bool priv, bool has_pub)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(d->libctx, pkey, d->propq);
	int ok = 0;
	if (c) {
		if (!priv)
			ok = EVP_PKEY_public_check(c);
		else if (has_pub)
			ok = EVP_PKEY_pairwise_check(c);
		else
			ok = EVP_PKEY_private_check(c);
	}
	EVP_PKEY_CTX_free(c);
	return ok == 1 ? VC_OK : VC_ERR;
}

static uint8_t setup_ecdsa(struct vc_dev *d, struct vc_session *s, const struct vc_sess_params *p)
{
	const struct curve *cv = NULL;
	if (p->curve != VC_CURVE_UNKNOWN) {
		cv = curve_by_id(p->curve);
		if (!cv)
			return VC_NOTSUPP; /* P-192, P-224, undefined ids */
	}
	EVP_PKEY *pkey = NULL;
	bool priv = p->key_type == VC_AKCIPHER_KEY_TYPE_PRIVATE;
	bool has_pub = false;
	if (priv) {
		struct ec_priv k;
		int e = vc_parse_ec_private(p->key, p->key_len, &k);
		if (e == -EOPNOTSUPP)
			return VC_NOTSUPP;
		if (e < 0)
			return VC_ERR;
		if (k.curve && cv && k.curve != cv)
			return VC_ERR; /* the key's parameters contradict curve_id */
		if (!cv)
			cv = k.curve;
		if (!cv) { /* no curve_id, no parameters: the public key's, else d's size */
			uint32_t id = k.pub.n ? curve_of_point(k.pub.p, k.pub.n)
					      : curve_of_scalar(k.priv.n);
			cv = curve_by_id(id);
			if (!cv)
				return VC_NOTSUPP;
		}
		if (k.priv.n > cv->field_len)
			return VC_ERR;
		has_pub = k.pub.n != 0;
		pkey = ec_from_data(d, cv, &k.priv, &k.pub);
	} else {
		if (!cv && !(cv = curve_by_id(curve_of_point(p->key, p->key_len))))
			return VC_NOTSUPP; /* the point's size and form name no curve we have */
		struct der pub = {p->key, p->key_len};
		pkey = ec_from_data(d, cv, NULL, &pub);
	}
	if (!pkey)
		return VC_ERR;
	s->pkey = pkey;
	if (check_key(d, pkey, priv, has_pub) != VC_OK)
		return VC_ERR;
	s->curve = cv->id;
	s->ak_size = (size_t)EVP_PKEY_get_size(pkey);
	return VC_OK;
}

static uint8_t setup_rsa(struct vc_dev *d, struct vc_session *s, const struct vc_sess_params *p)
{
	if (p->padding_algo != VC_RSA_RAW_PADDING && p->padding_algo != VC_RSA_PKCS1_PADDING)
		return VC_NOTSUPP;
	if (p->padding_algo == VC_RSA_PKCS1_PADDING && p->rsa_hash != VC_RSA_NO_HASH) {
		if (p->rsa_hash >= VT_ARRAY_SIZE(d->md_by_rsa_hash))
			return VC_ERR;
		s->sig_md = d->md_by_rsa_hash[p->rsa_hash];
		if (!s->sig_md)
			return VC_NOTSUPP; /* MD2/MD3/MD4, or a digest the provider lacks */
	}
	bool priv = p->key_type == VC_AKCIPHER_KEY_TYPE_PRIVATE;
	EVP_PKEY *pkey = NULL;
	OSSL_DECODER_CTX *dc = OSSL_DECODER_CTX_new_for_pkey(
		&pkey, "DER", "type-specific", "RSA",
		priv ? OSSL_KEYMGMT_SELECT_KEYPAIR : OSSL_KEYMGMT_SELECT_PUBLIC_KEY, d->libctx,
		d->propq);
	if (!dc)
		return VC_ERR;
	const unsigned char *in = p->key;
	size_t left = p->key_len;
	int ok = OSSL_DECODER_from_data(dc, &in, &left);
	OSSL_DECODER_CTX_free(dc);
	if (!ok || !pkey || left != 0) {
		EVP_PKEY_free(pkey);
		return VC_ERR;
	}
	s->pkey = pkey;
	if (priv && !EVP_PKEY_is_a(pkey, "RSA"))
		return VC_ERR;
	int bits = EVP_PKEY_get_bits(pkey);
	if (bits < 512 || bits > 16384)
		return VC_ERR;
	s->ak_size = (size_t)EVP_PKEY_get_size(pkey);
	s->padding_algo = p->padding_algo;
	return VC_OK;
}

uint8_t vc_akcipher_setup(struct vc_dev *d, struct vc_session *s, const struct vc_sess_params *p)
{
	bool ecdsa = p->ak_algo == VC_AKCIPHER_ECDSA || p->ak_algo == VC_AKCIPHER_ECDSA_UAPI;
	if (p->ak_algo != VC_AKCIPHER_RSA && !ecdsa)
		return VC_NOTSUPP;
	if ((ecdsa && !d->ecdsa_enabled) || (!ecdsa && !d->rsa_enabled))
		return VC_NOTSUPP;
	if (p->key_type != VC_AKCIPHER_KEY_TYPE_PUBLIC && p->key_type != VC_AKCIPHER_KEY_TYPE_PRIVATE)
		return VC_ERR;
	if (p->key_len == 0 || p->key_len > d->opts.max_akcipher_key_len || !p->key)
		return VC_ERR;
	s->ak_algo = ecdsa ? VC_AKCIPHER_ECDSA : VC_AKCIPHER_RSA;
	s->key_type = p->key_type;
	uint8_t st = ecdsa ? setup_ecdsa(d, s, p) : setup_rsa(d, s, p);
	if (st != VC_OK)
		return st;
	s->pctx = EVP_PKEY_CTX_new_from_pkey(d->libctx, s->pkey, d->propq);
	return s->pctx ? VC_OK : VC_ERR;
}

/* (Re)initialises the session's EVP_PKEY_CTX for opcode when it changes. */
static uint8_t pctx_for(struct vc_session *s, uint32_t opcode)
{
	if (s->pctx_op == opcode)
		return VC_OK;
	s->pctx_op = 0;
	int ok;
	switch (opcode) {
	case VC_AKCIPHER_ENCRYPT:
		ok = EVP_PKEY_encrypt_init(s->pctx);
		break;
	case VC_AKCIPHER_DECRYPT:
		ok = EVP_PKEY_decrypt_init(s->pctx);
		break;
	case VC_AKCIPHER_SIGN:
		ok = EVP_PKEY_sign_init(s->pctx);
		break;
	default:
		ok = EVP_PKEY_verify_init(s->pctx);
		break;
	}
	if (ok <= 0)
		return VC_ERR;
	if (s->ak_algo == VC_AKCIPHER_RSA) {
		int pad = s->padding_algo == VC_RSA_RAW_PADDING ? RSA_NO_PADDING : RSA_PKCS1_PADDING;
		if (EVP_PKEY_CTX_set_rsa_padding(s->pctx, pad) <= 0)
			return VC_ERR;
		if ((opcode == VC_AKCIPHER_SIGN || opcode == VC_AKCIPHER_VERIFY) && s->sig_md &&
		    EVP_PKEY_CTX_set_signature_md(s->pctx, s->sig_md) <= 0)
			return VC_ERR;
	}
	s->pctx_op = opcode;
	return VC_OK;
}

uint8_t vc_akcipher_run(struct vc_qctx *q, struct vc_session *s, const struct vc_data_req *r,
			struct vt_chain *c, uint32_t *ret_written)
{
	uint32_t op = r->opcode;
	bool rsa = s->ak_algo == VC_AKCIPHER_RSA;
	bool priv = s->key_type == VC_AKCIPHER_KEY_TYPE_PRIVATE;
	*ret_written = 0;
	if (!rsa && (op == VC_AKCIPHER_ENCRYPT || op == VC_AKCIPHER_DECRYPT))
		return VC_NOTSUPP; /* ECDSA signs and verifies only */
	if (rsa && s->padding_algo == VC_RSA_RAW_PADDING &&
	    (op == VC_AKCIPHER_SIGN || op == VC_AKCIPHER_VERIFY))
		return VC_NOTSUPP; /* the spec forbids raw RSA signatures */
	if (!priv && (op == VC_AKCIPHER_DECRYPT || op == VC_AKCIPHER_SIGN))
		return VC_ERR; /* needs the private key */
	bool verify = op == VC_AKCIPHER_VERIFY;
	uint64_t in_len = (uint64_t)r->src_len + (verify ? r->dst_len : 0);
	if (in_len == 0 || in_len > AK_SRC_MAX)
		return VC_ERR;
	size_t k = s->ak_size;
	/* scratch: [input (padded to k for raw RSA)][output k] */
	size_t in_cap = VT_MAX((size_t)in_len, k);
	uint8_t *buf = vc_scratch(q, in_cap + k);
	if (!buf)
		return VC_ERR;
	uint8_t *in = buf, *out = buf + in_cap;
	uint8_t st = VC_ERR;
	const uint8_t *src = in;
	size_t src_len = r->src_len;
	if (vt_chain_read(c, in, (size_t)in_len) < 0)
		goto done;
	if (rsa && s->padding_algo == VC_RSA_RAW_PADDING) {
		if (src_len > k)
			goto done;
		/* Raw RSA: left-pad the input to the modulus length. */
		memmove(in + (k - src_len), in, src_len);
		memset(in, 0, k - src_len);
		src_len = k;
	}
	st = pctx_for(s, op);
	if (st != VC_OK)
		goto done;
	st = VC_ERR;
	size_t outlen = k;
	switch (op) {
	case VC_AKCIPHER_ENCRYPT:
		if (EVP_PKEY_encrypt(s->pctx, out, &outlen, src, src_len) <= 0)
			goto done;
		break;
	case VC_AKCIPHER_DECRYPT:
		if (EVP_PKEY_decrypt(s->pctx, out, &outlen, src, src_len) <= 0)
			goto done;
		break;
	case VC_AKCIPHER_SIGN:
		if (EVP_PKEY_sign(s->pctx, out, &outlen, src, src_len) <= 0)
			goto done;
		break;
	default: {
		int v = EVP_PKEY_verify(s->pctx, in, r->src_len, in + r->src_len, r->dst_len);
		st = v == 1 ? VC_OK : VC_KEY_REJECTED;
		goto done;
	}
	}
	if (outlen > r->dst_len || outlen > k)
		goto done;
	if (vt_chain_write(c, out, outlen) < 0)
		goto done;
	*ret_written = (uint32_t)outlen;
	st = VC_OK;
done:
	OPENSSL_cleanse(buf, in_cap + k);
	return st;
}
