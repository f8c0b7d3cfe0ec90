/* SPDX-License-Identifier: Apache-2.0 */
/*
 * NIST CAVP signature verification vectors through the device's AKCIPHER
 * service, in every way a driver reaches it: legacy layouts (Linux 6.1),
 * REVISION_1 sessions, mux-layout sessions, stateless requests (the spec's
 * akcipher_data_flf_stateless: key in the request) and newer QEMU's
 * 1072-byte CREATE_CRYPTO_SESSION (no curve field: the device names the
 * curve from the point).
 *
 *   ECDSA  FIPS_186-3/SigVer.rsp: P-256, P-384, P-521 with SHA-1..SHA-512
 *          (Result P: OK; F: KEY_REJECTED, or ERR when the changed Q is not
 *          a key at all); P-192 and P-224: NOTSUPP.
 *   RSA    FIPS_186-2/SigVer15_186-3.rsp: PKCS#1 v1.5, 1024..4096 bits,
 *          SHA-1..SHA-512 (P: OK; F: KEY_REJECTED).
 *
 * The device gets the digest of Msg (the spec's src is the signed digest),
 * the signature (DER Ecdsa-Sig-Value from R, S; RSA as is) and the public
 * key (bare SEC1 point; DER RSAPublicKey).
 *
 * usage: test_crypto_cavp_ak DIR   DIR = .../cryptography_vectors/asymmetric
 * (Debian: python3-cryptography-vectors); exit 77 when it is missing.
 */
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "kat.h"
#include "vhost_user_proto.h"

enum mode { M_LEGACY, M_REV1, M_MUX, M_STATELESS, M_QEMU, M_N };
static const char *const mode_name[M_N] = {"legacy", "rev1", "mux-session", "stateless",
					   "qemu-1072"};
static const uint64_t mode_feat[M_N] = {0, F_REV1, F_STATELESS, F_STATELESS, 0};

static struct cx xs[M_N];
static unsigned long cases[2][M_N]; /* [ecdsa / rsa][mode] */

struct akreq {
	uint32_t algo, key_type, p0, p1;
	const uint8_t *key;
	size_t key_len;
	const uint8_t *sig, *digest;
	size_t sig_len, digest_len;
};

/* One VERIFY in mode m (session created and destroyed around it): the status. */
static uint8_t verify(enum mode m, const struct akreq *a)
{
	struct cx *x = &xs[m];
	uint64_t id = 0;
	if (m == M_QEMU) {
		static struct vc_vu_session_new s, reply;
		memset(&s, 0, sizeof(s));
		s.op_code = VC_AKCIPHER_CREATE_SESSION;
		/* QEMU uses the uapi numbers: ECDSA is 3 there. */
		s.u.asym.info.algo = a->algo == VC_AKCIPHER_ECDSA ? VC_AKCIPHER_ECDSA_UAPI : a->algo;
		s.u.asym.info.key_type = a->key_type;
		s.u.asym.info.key_len = (uint32_t)a->key_len;
		if (a->algo == VC_AKCIPHER_RSA) {
			s.u.asym.info.padding_algo = a->p0;
			s.u.asym.info.hash_algo = a->p1;
		}
		if (a->key_len > sizeof(s.u.asym.key))
			abort();
		memcpy(s.u.asym.key, a->key, a->key_len);
		uint32_t rsz = 0;
		if (vc_vhost_message(x->d, VHOST_USER_CREATE_CRYPTO_SESSION, &s, sizeof(s), &reply,
				     &rsz) < 0)
			return 0xfd;
		if (reply.session_id < 0)
			return (uint8_t)-reply.session_id;
		id = (uint64_t)reply.session_id;
	} else if (m != M_STATELESS) {
		uint8_t h[VCB_HDR_MAX];
		size_t l = vcb_ctrl_akcipher(h, x->features, a->algo, a->key_type,
					     (uint32_t)a->key_len, a->p0, a->p1);
		uint8_t st = cx_ctrl_create(x, h, l, a->key, a->key_len, &id);
		if (st != VC_OK)
			return st;
	}
	struct vcb_data q = {.opcode = VC_AKCIPHER_VERIFY, .session_id = id,
			     .stateless = m == M_STATELESS, .src_len = (uint32_t)a->sig_len,
			     .dst_len = (uint32_t)a->digest_len, .algo = a->algo,
			     .key_len = (uint32_t)a->key_len, .key_type = a->key_type,
			     .para0 = a->p0, .para1 = a->p1};
	static uint8_t req[VCB_HDR_MAX + 4096];
	size_t n = vcb_data_hdr(req, x->features, &q);
	if (m == M_STATELESS) {
		memcpy(req + n, a->key, a->key_len);
		n += a->key_len;
	}
	memcpy(req + n, a->sig, a->sig_len);
	n += a->sig_len;
	memcpy(req + n, a->digest, a->digest_len);
	n += a->digest_len;
	uint8_t st = 0xff;
	struct cx_req rq = {.rd = req, .rd_len = n, .wr_len = 1, .rsplit = m == M_MUX ? 61 : 0};
	if (cx_submit(x, 0, &rq, &st) != 1)
		st = 0xfe;
	if (m == M_QEMU)
		vc_vhost_message(x->d, VHOST_USER_CLOSE_CRYPTO_SESSION, &id, sizeof(id), NULL,
				 &(uint32_t){0});
	else if (m != M_STATELESS && cx_ctrl_destroy(x, VC_AKCIPHER_DESTROY_SESSION, id) != VC_OK)
		st = 0xfc;
	return st;
}

/* ---- .rsp reading -------------------------------------------------------------- */

static int nib(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* "Name = hex" into out (right-aligned to width when width > 0): its length, or SIZE_MAX. */
static size_t field(const char *line, const char *name, uint8_t *out, size_t cap)
{
	size_t n = strlen(name), k = 0;
	if (strncmp(line, name, n) || strncmp(line + n, " = ", 3))
		return SIZE_MAX;
	const char *p = line + n + 3;
	size_t digits = 0;
	while (nib(p[digits]) >= 0)
		digits++;
	if (digits % 2) { /* odd: a leading nibble */
		if (k == cap)
			abort();
		out[k++] = (uint8_t)nib(*p++);
		digits--;
	}
	for (; digits; digits -= 2, p += 2) {
		if (k == cap)
			abort();
		out[k++] = (uint8_t)(nib(p[0]) << 4 | nib(p[1]));
	}
	return k;
}

static const EVP_MD *md_by_name(const char *s)
{
	const char *n = NULL;
	for (const char *p = s; (p = strstr(p, "SHA")); p++)
		n = p; /* the last one: "SHAAlg = SHA256" */
	if (!n)
		return NULL;
	n += 3;
	if (*n == '-')
		n++;
	int bits = atoi(n);
	return bits == 1 ? EVP_sha1() : bits == 224 ? EVP_sha224() : bits == 256 ? EVP_sha256()
	       : bits == 384 ? EVP_sha384() : bits == 512 ? EVP_sha512() : NULL;
}

static uint32_t rsa_hash_id(const EVP_MD *md)
{
	switch (EVP_MD_get_size(md)) {
	case 20: return VC_RSA_SHA1;
	case 28: return VC_RSA_SHA224;
	case 32: return VC_RSA_SHA256;
	case 48: return VC_RSA_SHA384;
	default: return VC_RSA_SHA512;
	}
}

/* DER INTEGER of a big-endian unsigned value. */
static size_t der_int(const uint8_t *v, size_t n, uint8_t *out)
{
	while (n > 1 && v[0] == 0)
		v++, n--;
	size_t pad = v[0] & 0x80 ? 1 : 0;
	out[0] = 0x02;
	out[1] = (uint8_t)(n + pad);
	out[2] = 0;
	memcpy(out + 2 + pad, v, n);
	return 2 + pad + n;
}

static size_t der_sig(const uint8_t *r, size_t rl, const uint8_t *s, size_t sl, uint8_t *out)
{
	uint8_t body[160];
	size_t b = der_int(r, rl, body);
	b += der_int(s, sl, body + b);
	size_t h = 0;
	out[h++] = 0x30;
	if (b >= 128)
		out[h++] = 0x81;
	out[h++] = (uint8_t)b;
	memcpy(out + h, body, b);
	return h + b;
}

/* ---- ECDSA ---------------------------------------------------------------------- */

static bool ec_point_ok(const char *group, const uint8_t *pt, size_t n)
{
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	OSSL_PARAM *p = NULL;
	EVP_PKEY *k = NULL;
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	bool ok = b && c && OSSL_PARAM_BLD_push_utf8_string(b, "group", group, 0) &&
		  OSSL_PARAM_BLD_push_octet_string(b, "pub", pt, n) &&
		  (p = OSSL_PARAM_BLD_to_param(b)) && EVP_PKEY_fromdata_init(c) > 0 &&
		  EVP_PKEY_fromdata(c, &k, EVP_PKEY_PUBLIC_KEY, p) > 0;
	EVP_PKEY_CTX *v = ok ? EVP_PKEY_CTX_new(k, NULL) : NULL;
	ok = ok && v && EVP_PKEY_public_check(v) == 1;
	EVP_PKEY_CTX_free(v);
	EVP_PKEY_free(k);
	EVP_PKEY_CTX_free(c);
	OSSL_PARAM_free(p);
	OSSL_PARAM_BLD_free(b);
	return ok;
}

static int run_ecdsa(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	char line[4096], curve[16] = "";
	const EVP_MD *md = NULL;
	uint8_t msg[1024], qx[80], qy[80], r[80], s[80];
	size_t ml = 0, xl = 0, yl = 0, rl = 0, sl = 0;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '[') {
			snprintf(curve, sizeof(curve), "%.5s", line + 1);
			md = md_by_name(line);
			continue;
		}
		size_t n;
		if ((n = field(line, "Msg", msg, sizeof(msg))) != SIZE_MAX)
			ml = n;
		else if ((n = field(line, "Qx", qx, sizeof(qx))) != SIZE_MAX)
			xl = n;
		else if ((n = field(line, "Qy", qy, sizeof(qy))) != SIZE_MAX)
			yl = n;
		else if ((n = field(line, "R", r, sizeof(r))) != SIZE_MAX)
			rl = n;
		else if ((n = field(line, "S", s, sizeof(s))) != SIZE_MAX)
			sl = n;
		if (strncmp(line, "Result = ", 9) || curve[0] != 'P' || !md)
			continue;
		uint32_t cid = !strcmp(curve, "P-192") ? VC_CURVE_NIST_P192
			       : !strcmp(curve, "P-224") ? VC_CURVE_NIST_P224
			       : !strcmp(curve, "P-256") ? VC_CURVE_NIST_P256
			       : !strcmp(curve, "P-384") ? VC_CURVE_NIST_P384
							 : VC_CURVE_NIST_P521;
		size_t fl = cid == VC_CURVE_NIST_P192 ? 24 : cid == VC_CURVE_NIST_P224 ? 28
			    : cid == VC_CURVE_NIST_P256 ? 32 : cid == VC_CURVE_NIST_P384 ? 48 : 66;
		uint8_t pt[1 + 2 * 66] = {0x04}, sig[160], dg[64];
		if (xl > fl || yl > fl)
			abort();
		memset(pt + 1, 0, 2 * fl);
		memcpy(pt + 1 + fl - xl, qx, xl);
		memcpy(pt + 1 + 2 * fl - yl, qy, yl);
		unsigned dl = 0;
		EVP_Digest(msg, ml, dg, &dl, md, NULL);
		struct akreq a = {.algo = VC_AKCIPHER_ECDSA, .key_type = VC_AKCIPHER_KEY_TYPE_PUBLIC,
				  .p0 = cid, .key = pt, .key_len = 1 + 2 * fl, .sig = sig,
				  .sig_len = der_sig(r, rl, s, sl, sig), .digest = dg,
				  .digest_len = dl};
		bool pass = line[9] == 'P';
		uint8_t want;
		if (cid == VC_CURVE_NIST_P192 || cid == VC_CURVE_NIST_P224)
			want = VC_NOTSUPP;
		else if (pass)
			want = VC_OK;
		else
			want = ec_point_ok(curve, pt, 1 + 2 * fl) ? VC_KEY_REJECTED : VC_ERR;
		for (int m = 0; m < M_N; m++) {
			uint8_t st = verify((enum mode)m, &a);
			cases[0][m]++;
			test_checks++;
			if (st != want) {
				test_failures++;
				fprintf(stderr, "FAIL ecdsa %s %s [%s]: status %u, want %u\n", curve,
					EVP_MD_get0_name(md), mode_name[m], st, want);
			}
		}
	}
	fclose(f);
	return 0;
}

/* ---- RSA PKCS#1 v1.5 ---------------------------------------------------------- */

static size_t rsa_public_der(const uint8_t *n, size_t nl, const uint8_t *e, size_t el,
			     uint8_t *out)
{
	BIGNUM *bn = BN_bin2bn(n, (int)nl, NULL), *be = BN_bin2bn(e, (int)el, NULL);
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	OSSL_PARAM *p = NULL;
	EVP_PKEY *k = NULL;
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	size_t len = 0;
	if (bn && be && b && c && OSSL_PARAM_BLD_push_BN(b, "n", bn) &&
	    OSSL_PARAM_BLD_push_BN(b, "e", be) && (p = OSSL_PARAM_BLD_to_param(b)) &&
	    EVP_PKEY_fromdata_init(c) > 0 && EVP_PKEY_fromdata(c, &k, EVP_PKEY_PUBLIC_KEY, p) > 0) {
		uint8_t *q = out;
		int r = i2d_PublicKey(k, &q);
		len = r > 0 ? (size_t)r : 0;
	}
	EVP_PKEY_free(k);
	EVP_PKEY_CTX_free(c);
	OSSL_PARAM_free(p);
	OSSL_PARAM_BLD_free(b);
	BN_free(bn);
	BN_free(be);
	return len;
}

static int run_rsa(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	char line[4096];
	const EVP_MD *md = NULL;
	static uint8_t n[600], e[600], msg[1024], sig[600];
	size_t nl = 0, el = 0, ml = 0, sl = 0;
	while (fgets(line, sizeof(line), f)) {
		size_t k;
		if ((k = field(line, "n", n, sizeof(n))) != SIZE_MAX)
			nl = k;
		else if ((k = field(line, "e", e, sizeof(e))) != SIZE_MAX)
			el = k;
		else if ((k = field(line, "Msg", msg, sizeof(msg))) != SIZE_MAX)
			ml = k;
		else if ((k = field(line, "S", sig, sizeof(sig))) != SIZE_MAX)
			sl = k;
		else if (!strncmp(line, "SHAAlg = ", 9))
			md = md_by_name(line);
		if (strncmp(line, "Result = ", 9) || !md)
			continue;
		static uint8_t der[1200];
		size_t dlen = rsa_public_der(n, nl, e, el, der);
		uint8_t dg[64];
		unsigned dl = 0;
		EVP_Digest(msg, ml, dg, &dl, md, NULL);
		struct akreq a = {.algo = VC_AKCIPHER_RSA, .key_type = VC_AKCIPHER_KEY_TYPE_PUBLIC,
				  .p0 = VC_RSA_PKCS1_PADDING, .p1 = rsa_hash_id(md), .key = der,
				  .key_len = dlen, .sig = sig, .sig_len = sl, .digest = dg,
				  .digest_len = dl};
		uint8_t want = line[9] == 'P' ? VC_OK : VC_KEY_REJECTED;
		for (int m = 0; m < M_N; m++) {
			uint8_t st = dlen ? verify((enum mode)m, &a) : 0xfb;
			cases[1][m]++;
			test_checks++;
			if (st != want) {
				test_failures++;
				fprintf(stderr, "FAIL rsa-%zu %s [%s]: status %u, want %u\n", nl * 8,
					EVP_MD_get0_name(md), mode_name[m], st, want);
			}
		}
	}
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	vt_log_set_level(VT_LOG_ERR);
	if (argc < 2) {
		fprintf(stderr, "usage: %s ASYMMETRIC_DIR\n", argv[0]);
		return 2;
	}
	char ec[4096], rsa[4096];
	snprintf(ec, sizeof(ec), "%s/ECDSA/FIPS_186-3/SigVer.rsp", argv[1]);
	snprintf(rsa, sizeof(rsa), "%s/RSA/FIPS_186-2/SigVer15_186-3.rsp", argv[1]);
	if (access(ec, R_OK) || access(rsa, R_OK)) {
		printf("SKIP: no CAVP files in %s (apt-get install python3-cryptography-vectors)\n",
		       argv[1]);
		return 77;
	}
	struct vc_opts o;
	cx_opts(&o);
	for (int m = 0; m < M_N; m++)
		cx_init(&xs[m], &o, mode_feat[m]);
	CHECK(run_ecdsa(ec) == 0);
	CHECK(run_rsa(rsa) == 0);
	for (int m = 0; m < M_N; m++) {
		printf("cavp-sigver %s: ECDSA %lu cases, RSA PKCS#1 v1.5 %lu cases\n", mode_name[m],
		       cases[0][m], cases[1][m]);
		CHECK_EQ(vc_table_used(&xs[m].d->table), 0);
		cx_free(&xs[m]);
	}
	/* SigVer.rsp: 375 P-curve vectors (75 each for P-192..P-521); SigVer15: 450. */
	CHECK_EQ(cases[0][0], 375);
	CHECK_EQ(cases[1][0], 450);
	TEST_DONE();
}
