/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `crypto` device profile (devices/crypto): data queue 0 plus the
 * control queue (index max_dataqueues; the profile sets up 2 rings, the
 * default device), REVISION_1 and the stateless bits acked. The sanity
 * request creates an AES-128-CBC session on the control queue, encrypts the
 * SP 800-38A F.2.1 first block and checks it byte for byte (nothing written
 * between the result and the status byte), then destroys the session.
 *
 * Cases (crypto.*): the config space; QEMU 7.2's path (CREATE_CRYPTO_SESSION
 * with 632 bytes, only vring 0, no SET_VRING_ENABLE, SET_FEATURES 0x40000000,
 * indirect + event-idx rings) and newer QEMU's 1072-byte layout; every
 * status code from its cause; hostile requests (short, huge lengths, no
 * writable byte, garbage on both queues, unusual message sizes); results
 * in place (dst aliasing src) and the status byte placement; sessions
 * surviving reconnects.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "conformance.h"
#include "crypto_conn.h"

static const uint8_t K16[16] = {0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6,
				0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c};
static const uint8_t IV16[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
static const uint8_t PT1[16] = {0x6b, 0xc1, 0xbe, 0xe2, 0x2e, 0x40, 0x9f, 0x96,
				0xe9, 0x3d, 0x7e, 0x11, 0x73, 0x93, 0x17, 0x2a};
static const uint8_t CT1[16] = {0x76, 0x49, 0xab, 0xac, 0x81, 0x19, 0xb2, 0x46,
				0xce, 0xe9, 0x8e, 0x9b, 0x12, 0xe9, 0x19, 0x7d};

static void crypto_defaults(struct fe_dev_opts *o)
{
	o->nvqs = 2; /* data queue 0 + the control queue of a one-queue device */
	o->device_features |= CP_DRIVER_FEATURES;
}

static int fail(char *reason, size_t len, int err, const char *fmt, ...) VT_PRINTF(4, 5);
static int fail(char *reason, size_t len, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	(void)vsnprintf(reason, len, fmt, ap);
	va_end(ap);
	return err;
}

static int cbc_session(struct cp_conn *c, uint64_t *id)
{
	uint8_t h[VCB_HDR_MAX];
	size_t l = vcb_ctrl_cipher(h, c->features, VC_CIPHER_AES_CBC, 16, VC_OP_ENCRYPT);
	return cp_ctrl_create(c, h, l, K16, 16, id);
}

/* Encrypts PT1 with session id on queue q; extra writable bytes between dst and status. */
static int cbc_block(struct cp_conn *c, unsigned q, uint64_t id, size_t extra, uint8_t *st,
		     char *reason, size_t rlen)
{
	struct vcb_data d = {.opcode = VC_CIPHER_ENCRYPT, .session_id = id, .sym_op = VC_SYM_OP_CIPHER,
			     .iv_len = 16, .src_len = 16, .dst_len = 16};
	uint8_t rd[VCB_HDR_MAX + 32], out[16 + 64 + 1];
	size_t n = vcb_data_hdr(rd, c->features, &d);
	memcpy(rd + n, IV16, 16);
	memcpy(rd + n + 16, PT1, 16);
	uint32_t used = 0;
	size_t wr = 16 + extra + 1;
	int r = cp_submit(c, q, rd, n + 32, wr, out, &used);
	if (r < 0)
		return fail(reason, rlen, r, "%s", c->error);
	*st = out[wr - 1];
	if (*st != VC_OK)
		return 0;
	if (memcmp(out, CT1, 16) != 0)
		return fail(reason, rlen, -EPROTO, "wrong ciphertext");
	for (size_t i = 16; i + 1 < wr; i++)
		if (out[i] != 0xee)
			return fail(reason, rlen, -EPROTO, "writable byte %zu between dst and status "
							   "was written",
				    i);
	if (used != wr)
		return fail(reason, rlen, -EPROTO, "used len %u, expected %zu", used, wr);
	return 0;
}

static int crypto_sanity(struct fe_dev *d, unsigned q, char *reason, size_t rlen)
{
	struct cp_conn c;
	int r = cp_attach(&c, d);
	if (r < 0)
		return fail(reason, rlen, r, "%s", c.error);
	if (!(c.cfg.status & VC_S_HW_READY))
		return fail(reason, rlen, -EPROTO, "HW_READY not set");
	uint64_t id = 0;
	if (c.ctrlq != CP_NO_QUEUE) {
		r = cbc_session(&c, &id);
		if (r < 0)
			return fail(reason, rlen, r, "create: %s", c.error);
	} else {
		struct vc_vu_session_72 s;
		memset(&s, 0, sizeof(s));
		s.info = (struct vc_vu_sym_info){.cipher_alg = VC_CIPHER_AES_CBC, .key_len = 16,
						 .op_type = VC_SYM_OP_CIPHER,
						 .direction = VC_OP_ENCRYPT};
		memcpy(s.key, K16, 16);
		int64_t sid = -1;
		r = cp_vhost_create(&c, &s, sizeof(s), &sid);
		if (r < 0)
			return fail(reason, rlen, r, "CREATE_CRYPTO_SESSION: %s", c.error);
		r = sid > 0 ? VC_OK : VC_ERR;
		id = (uint64_t)sid;
	}
	if (r != VC_OK)
		return fail(reason, rlen, -EPROTO, "create: status %s", cp_status_name((unsigned)r));
	uint8_t st = 0xff;
	r = cbc_block(&c, q, id, 3, &st, reason, rlen);
	if (r == 0 && st != VC_OK)
		r = fail(reason, rlen, -EPROTO, "encrypt: status %s", cp_status_name(st));
	if (c.ctrlq != CP_NO_QUEUE) {
		int dr = cp_ctrl_destroy(&c, VC_CIPHER_DESTROY_SESSION, id);
		if (r == 0 && dr != VC_OK)
			r = fail(reason, rlen, -EPROTO, "destroy: %d", dr);
	} else {
		cp_drop(&c, 0, id);
	}
	return r;
}

/* ---- cases ----------------------------------------------------------------------- */

#define ATTACH(c, cc)                                                                              \
	do {                                                                                       \
		if (cp_attach(&(cc), (c)->dev) < 0)                                                \
			return conf_fail((c), "%s", (cc).error);                                   \
	} while (0)

static enum conf_result case_config(struct conf_ctx *c)
{
	struct cp_conn cc;
	ATTACH(c, cc);
	const struct vc_config *k = &cc.cfg;
	if (k->status != VC_S_HW_READY)
		return conf_fail(c, "status 0x%x (HW_READY only expected)", k->status);
	if (k->max_dataqueues < 1 || k->max_dataqueues > 65535)
		return conf_fail(c, "max_dataqueues %u", k->max_dataqueues);
	if (k->crypto_services & ~0x1fu)
		return conf_fail(c, "undefined service bits 0x%x", k->crypto_services);
	/* A mask for each advertised service, none for the others, no undefined bits. */
	struct {
		uint32_t svc, mask, defined;
	} m[] = {
		{VC_SERVICE_CIPHER, k->cipher_algo_l, 0x7ffe},
		{VC_SERVICE_HASH, k->hash_algo, 0x1ffe},
		{VC_SERVICE_MAC, k->mac_algo_l, 0x1e00007e},
		{VC_SERVICE_AEAD, k->aead_algo, 0xe},
		{VC_SERVICE_AKCIPHER, k->akcipher_algo, 0x6},
	};
	for (size_t i = 0; i < VT_ARRAY_SIZE(m); i++) {
		bool on = k->crypto_services & (1u << m[i].svc);
		if (on != (m[i].mask != 0))
			return conf_fail(c, "service %u advertised=%d but mask 0x%x", m[i].svc, on,
					 m[i].mask);
		if (m[i].mask & ~m[i].defined)
			return conf_fail(c, "service %u: undefined algorithm bits 0x%x", m[i].svc,
					 m[i].mask & ~m[i].defined);
	}
	if (k->cipher_algo_h || (k->mac_algo_h & ~0x00600c00u))
		return conf_fail(c, "undefined high mask bits");
	if ((k->crypto_services & 1) && !k->max_cipher_key_len)
		return conf_fail(c, "max_cipher_key_len 0 with CIPHER");
	if ((k->crypto_services & 4) && !k->max_auth_key_len)
		return conf_fail(c, "max_auth_key_len 0 with MAC");
	if (!k->max_size)
		return conf_fail(c, "max_size 0");
	conf_outcome(c, "services 0x%x cipher 0x%x hash 0x%x mac 0x%x aead 0x%x akcipher 0x%x",
		     k->crypto_services, k->cipher_algo_l, k->hash_algo, k->mac_algo_l,
		     k->aead_algo, k->akcipher_algo);
	return CONF_PASS;
}

/* Linux 6.1's layouts: no REVISION_1 acked. */
static enum conf_result case_legacy(struct conf_ctx *c)
{
	struct fe_dev_opts o = c->opts;
	o.device_features &= ~(uint64_t)CP_DRIVER_FEATURES;
	if (conf_open(c, &o, CONF_SETUP_STARTED, &c->dev) < 0)
		return CONF_FAIL;
	struct cp_conn cc;
	ATTACH(c, cc);
	if (cc.features & VT_BIT(VC_F_REVISION_1))
		return conf_fail(c, "REVISION_1 acked");
	uint64_t id;
	int r = cbc_session(&cc, &id);
	if (r != VC_OK)
		return conf_fail(c, "create: %d %s", r, cc.error);
	char why[256];
	uint8_t st;
	cc.split = 5; /* tiny segments as well */
	if (cbc_block(&cc, 0, id, 0, &st, why, sizeof(why)) < 0 || st != VC_OK)
		return conf_fail(c, "encrypt: %s", st != VC_OK ? cp_status_name(st) : why);
	if (cp_ctrl_destroy(&cc, VC_CIPHER_DESTROY_SESSION, id) != VC_OK)
		return conf_fail(c, "destroy failed");
	return CONF_PASS;
}

/* QEMU 7.2 exactly: features 0x40000000, no ENABLE, vring 0 only, vhost 632 sessions. */
static enum conf_result case_qemu72(struct conf_ctx *c)
{
	struct fe_dev_opts o = c->opts;
	o.feat_mode = FE_FEAT_EXACT;
	o.features = FE_FEATURES_QEMU72_CRYPTO;
	o.ring_features_set = true;
	o.ring_features = VT_BIT(VIRTIO_RING_F_INDIRECT_DESC) | VT_BIT(VIRTIO_RING_F_EVENT_IDX);
	o.no_vring_enable = true;
	o.nvqs = 1;
	o.indirect = true;
	if (conf_open(c, &o, CONF_SETUP_STARTED, &c->dev) < 0)
		return CONF_FAIL;
	struct cp_conn cc;
	ATTACH(c, cc);
	struct vc_vu_session_72 s;
	memset(&s, 0, sizeof(s));
	s.info = (struct vc_vu_sym_info){.cipher_alg = VC_CIPHER_AES_CBC, .key_len = 16,
					 .op_type = VC_SYM_OP_CIPHER, .direction = VC_OP_ENCRYPT,
					 .cipher_key_ptr = 0x7f1234560000ull};
	memcpy(s.key, K16, 16);
	int64_t enc = -1, dec = -1;
	if (cp_vhost_create(&cc, &s, sizeof(s), &enc) < 0 || enc <= 0)
		return conf_fail(c, "create (encrypt): %s id %lld", cc.error, (long long)enc);
	s.info.direction = VC_OP_DECRYPT;
	if (cp_vhost_create(&cc, &s, sizeof(s), &dec) < 0 || dec <= 0 || dec == enc)
		return conf_fail(c, "create (decrypt): id %lld", (long long)dec);
	char why[256];
	uint8_t st;
	for (int i = 0; i < 20; i++) /* several requests: avail_event must stay current */
		if (cbc_block(&cc, 0, (uint64_t)enc, 0, &st, why, sizeof(why)) < 0 || st != VC_OK)
			return conf_fail(c, "request %d: %s", i, st != VC_OK ? cp_status_name(st) : why);
	if (fe_vu_close_crypto_session(cc.d->vu, (uint64_t)enc) < 0 ||
	    fe_vu_close_crypto_session(cc.d->vu, (uint64_t)dec) < 0)
		return conf_fail(c, "CLOSE_CRYPTO_SESSION: %s", cc.d->vu->error);
	/* CLOSE has no reply: a round trip makes sure the back-end has handled it. */
	uint64_t f;
	if (fe_vu_get_features(cc.d->vu, &f) < 0)
		return conf_fail(c, "GET_FEATURES after CLOSE: %s", cc.d->vu->error);
	if (cbc_block(&cc, 0, (uint64_t)enc, 0, &st, why, sizeof(why)) < 0 || st != VC_INVSESS)
		return conf_fail(c, "closed session: status %s, expected INVSESS", cp_status_name(st));
	/* An error the way QEMU sees it: a negative id. */
	s.info.cipher_alg = 63;
	int64_t bad = 0;
	if (cp_vhost_create(&cc, &s, sizeof(s), &bad) < 0 || bad >= 0)
		return conf_fail(c, "unknown algorithm: id %lld, expected < 0", (long long)bad);
	conf_outcome(c, "ids %lld/%lld, error id %lld", (long long)enc, (long long)dec,
		     (long long)bad);
	return CONF_PASS;
}

static enum conf_result case_vhost_1072(struct conf_ctx *c)
{
	struct cp_conn cc;
	ATTACH(c, cc);
	static struct vc_vu_session_new s;
	memset(&s, 0, sizeof(s));
	s.op_code = VC_CIPHER_CREATE_SESSION;
	s.u.sym.info = (struct vc_vu_sym_info){.cipher_alg = VC_CIPHER_AES_CBC, .key_len = 16,
					       .op_type = VC_SYM_OP_CIPHER,
					       .direction = VC_OP_ENCRYPT};
	memcpy(s.u.sym.key, K16, 16);
	int64_t id = -1;
	if (cp_vhost_create(&cc, &s, sizeof(s), &id) < 0 || id <= 0)
		return conf_fail(c, "create: %s id %lld", cc.error, (long long)id);
	char why[256];
	uint8_t st;
	if (cbc_block(&cc, 0, (uint64_t)id, 0, &st, why, sizeof(why)) < 0 || st != VC_OK)
		return conf_fail(c, "encrypt: %s", st != VC_OK ? cp_status_name(st) : why);
	if (fe_vu_close_crypto_session(cc.d->vu, (uint64_t)id) < 0)
		return conf_fail(c, "close: %s", cc.d->vu->error);
	return CONF_PASS;
}

/* A CREATE_CRYPTO_SESSION of a size no QEMU sends: dropped (no typed answer exists). */
static enum conf_result case_vhost_bad_size(struct conf_ctx *c)
{
	uint8_t junk[700];
	memset(junk, 0x41, sizeof(junk));
	struct vhost_user_header h = {.request = VHOST_USER_CREATE_CRYPTO_SESSION,
				      .flags = VHOST_USER_VERSION, .size = sizeof(junk)};
	return conf_expect_survival(c, VHOST_USER_CREATE_CRYPTO_SESSION, h.size, junk,
				    sizeof(junk), NULL, 0);
}

/* CLOSE of an unknown id: no reply, the connection keeps working. */
static enum conf_result case_close_unknown(struct conf_ctx *c)
{
	if (fe_vu_close_crypto_session(c->dev->vu, 0x7fffffffffff0000ull) < 0)
		return conf_fail(c, "send failed");
	return conf_expect_alive(c);
}

/* Every status code from its cause (README's table). */
static enum conf_result case_status(struct conf_ctx *c)
{
	struct cp_conn cc;
	ATTACH(c, cc);
	char why[256];
	uint8_t st = 0xff;
	uint64_t id;
	/* NOTSUPP: unknown control opcode, unknown algorithm; unknown data opcode. */
	uint8_t h[VCB_HDR_MAX];
	size_t l = vcb_ctrl(h, cc.features, 0x0109, 0, "", 0);
	int r = cp_ctrl_create(&cc, h, l, NULL, 0, &id);
	if (r != VC_NOTSUPP)
		return conf_fail(c, "unknown control opcode: %d, expected NOTSUPP", r);
	l = vcb_ctrl_cipher(h, cc.features, VC_CIPHER_KASUMI_F8, 16, VC_OP_ENCRYPT);
	if ((r = cp_ctrl_create(&cc, h, l, K16, 16, &id)) != VC_NOTSUPP)
		return conf_fail(c, "KASUMI session: %d, expected NOTSUPP", r);
	if ((r = cbc_session(&cc, &id)) != VC_OK)
		return conf_fail(c, "create: %d", r);
	struct vcb_data d = {.opcode = 0x0107, .session_id = id, .src_len = 16};
	uint8_t rd[VCB_HDR_MAX + 64], out[64];
	size_t n = vcb_data_hdr(rd, cc.features, &d);
	uint32_t used;
	if (cp_submit(&cc, 0, rd, n + 16, 17, out, &used) < 0 || out[16] != VC_NOTSUPP)
		return conf_fail(c, "unknown data opcode: %s", cp_status_name(out[16]));
	/* ERR: flf cut short; lengths beyond the chain; src != dst. */
	d = (struct vcb_data){.opcode = VC_CIPHER_ENCRYPT, .session_id = id,
			      .sym_op = VC_SYM_OP_CIPHER, .iv_len = 16, .src_len = 16, .dst_len = 16};
	n = vcb_data_hdr(rd, cc.features, &d);
	if (cp_submit(&cc, 0, rd, 30, 17, out, &used) < 0 || out[16] != VC_ERR)
		return conf_fail(c, "short request: %s, expected ERR", cp_status_name(out[16]));
	d.src_len = d.dst_len = 0x7fffff00;
	n = vcb_data_hdr(rd, cc.features, &d);
	if (cp_submit(&cc, 0, rd, n + 32, 17, out, &used) < 0 || out[16] != VC_ERR)
		return conf_fail(c, "huge lengths: %s, expected ERR", cp_status_name(out[16]));
	/* INVSESS: a destroyed id, forever (even after its slot is reused). */
	if (cp_ctrl_destroy(&cc, VC_CIPHER_DESTROY_SESSION, id) != VC_OK)
		return conf_fail(c, "destroy failed");
	if (cbc_block(&cc, 0, id, 0, &st, why, sizeof(why)) < 0 || st != VC_INVSESS)
		return conf_fail(c, "destroyed id: %s, expected INVSESS", cp_status_name(st));
	uint64_t id2;
	if (cbc_session(&cc, &id2) != VC_OK || id2 == id)
		return conf_fail(c, "re-create gave the old id");
	if (cbc_block(&cc, 0, id, 0, &st, why, sizeof(why)) < 0 || st != VC_INVSESS)
		return conf_fail(c, "old id after reuse: %s", cp_status_name(st));
	/* Destroying twice: ERR. */
	if ((r = cp_ctrl_destroy(&cc, VC_CIPHER_DESTROY_SESSION, id)) != VC_ERR)
		return conf_fail(c, "double destroy: %d, expected ERR", r);
	cp_drop(&cc, VC_CIPHER_DESTROY_SESSION, id2);
	/* BADMSG: AES-GCM decrypt with a wrong tag (GCM test case 2, tag flipped). */
	if (cc.cfg.aead_algo & (1u << VC_AEAD_GCM)) {
		static const uint8_t zero[16];
		static const uint8_t ct[32] = {0x03, 0x88, 0xda, 0xce, 0x60, 0xb6, 0xa3, 0x92,
					       0xf3, 0x28, 0xc2, 0xb9, 0x71, 0xb2, 0xfe, 0x78,
					       0xab, 0x6e, 0x47, 0xd4, 0x2c, 0xec, 0x13, 0xbd,
					       0xf5, 0x3a, 0x67, 0xb2, 0x12, 0x57, 0xbd, 0xdf};
		l = vcb_ctrl_aead(h, cc.features, VC_AEAD_GCM, 16, 16, 0, VC_OP_DECRYPT);
		if ((r = cp_ctrl_create(&cc, h, l, zero, 16, &id)) != VC_OK)
			return conf_fail(c, "GCM session: %d", r);
		for (int bad = 0; bad < 2; bad++) {
			d = (struct vcb_data){.opcode = VC_AEAD_DECRYPT, .session_id = id, .iv_len = 12,
					      .src_len = 32, .dst_len = 16, .tag_len = 16};
			n = vcb_data_hdr(rd, cc.features, &d);
			memcpy(rd + n, zero, 12);
			memcpy(rd + n + 12, ct, 32);
			if (bad)
				rd[n + 12 + 31] ^= 1;
			if (cp_submit(&cc, 0, rd, n + 44, 17, out, &used) < 0)
				return conf_fail(c, "%s", cc.error);
			if (out[16] != (bad ? VC_BADMSG : VC_OK) || (!bad && memcmp(out, zero, 16)))
				return conf_fail(c, "GCM decrypt (%s tag): %s", bad ? "bad" : "good",
						 cp_status_name(out[16]));
		}
		cp_drop(&cc, VC_AEAD_DESTROY_SESSION, id);
	}
	/* KEY_REJECTED: ECDSA P-256 verification of a wrong signature. */
	if (cc.cfg.akcipher_algo & (1u << VC_AKCIPHER_ECDSA)) {
		EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		uint8_t pub[80], dig[32], sig[80];
		size_t pl = 0, sl = sizeof(sig);
		memset(dig, 0x11, sizeof(dig));
		EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(k, NULL);
		bool ok = k && pc &&
			  EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pub,
							  sizeof(pub), &pl) &&
			  EVP_PKEY_sign_init(pc) == 1 && EVP_PKEY_sign(pc, sig, &sl, dig, 32) == 1;
		EVP_PKEY_CTX_free(pc);
		EVP_PKEY_free(k);
		if (!ok)
			return conf_fail(c, "OpenSSL could not make an ECDSA key");
		l = vcb_ctrl_akcipher(h, cc.features, VC_AKCIPHER_ECDSA, VC_AKCIPHER_KEY_TYPE_PUBLIC,
				      (uint32_t)pl, VC_CURVE_NIST_P256, 0);
		if ((r = cp_ctrl_create(&cc, h, l, pub, pl, &id)) != VC_OK)
			return conf_fail(c, "ECDSA session: %d", r);
		for (int bad = 0; bad < 2; bad++) {
			d = (struct vcb_data){.opcode = VC_AKCIPHER_VERIFY, .session_id = id,
					      .src_len = (uint32_t)sl, .dst_len = 32};
			n = vcb_data_hdr(rd, cc.features, &d);
			memcpy(rd + n, sig, sl);
			memcpy(rd + n + sl, dig, 32);
			if (bad)
				rd[n + sl + 5] ^= 1;
			if (cp_submit(&cc, 0, rd, n + sl + 32, 1, out, &used) < 0)
				return conf_fail(c, "%s", cc.error);
			if (out[0] != (bad ? VC_KEY_REJECTED : VC_OK))
				return conf_fail(c, "ECDSA verify (%s): %s", bad ? "bad" : "good",
						 cp_status_name(out[0]));
		}
		cp_drop(&cc, VC_AKCIPHER_DESTROY_SESSION, id);
	}
	return CONF_PASS;
}

/* NOSPC: fill the table (REVISION_1 is acked), then free it again. */
static enum conf_result case_nospc(struct conf_ctx *c)
{
	struct cp_conn cc;
	ATTACH(c, cc);
	static uint64_t ids[70000];
	unsigned n = 0;
	int r = VC_OK;
	while (n < VT_ARRAY_SIZE(ids) && (r = cbc_session(&cc, &ids[n])) == VC_OK)
		n++;
	enum conf_result res = CONF_PASS;
	if (r != VC_NOSPC)
		res = conf_fail(c, "after %u sessions: %d, expected NOSPC", n, r);
	char why[256];
	uint8_t st;
	if (res == CONF_PASS && n &&
	    (cbc_block(&cc, 0, ids[n / 2], 0, &st, why, sizeof(why)) < 0 || st != VC_OK))
		res = conf_fail(c, "a session of a full table: %s", cp_status_name(st));
	for (unsigned i = 0; i < n; i++)
		if (cp_ctrl_destroy(&cc, VC_CIPHER_DESTROY_SESSION, ids[i]) != VC_OK && res == CONF_PASS)
			res = conf_fail(c, "destroy %u failed", i);
	if (res == CONF_PASS && cbc_session(&cc, &ids[0]) != VC_OK)
		res = conf_fail(c, "no room after freeing the table");
	else
		cp_drop(&cc, VC_CIPHER_DESTROY_SESSION, ids[0]);
	conf_outcome(c, "table of %u sessions", n);
	return res;
}

/* A data chain without writable descriptors: completed with len 0, device fine. */
static enum conf_result case_no_writable(struct conf_ctx *c)
{
	struct fe_dev *d = c->dev;
	uint64_t gpa;
	uint8_t *p = fe_mem_alloc_ptr(d->mem, 128, 8, &gpa);
	if (!p)
		return conf_fail(c, "no guest memory");
	memset(p, 0, 128);
	for (unsigned q = 0; q < d->nvqs; q++) {
		struct fe_seg s = {gpa, 128, false};
		struct fe_used u;
		if (fe_dev_submit(d, q, &s, 1, &u) < 0)
			return conf_fail(c, "queue %u: not completed: %s", q, fe_dev_error(d, q));
		if (u.len != 0)
			return conf_fail(c, "queue %u: used len %u", q, u.len);
	}
	return CONF_PASS;
}

/* Encryption in place: dst descriptors pointing at the src bytes (Linux's in-place requests). */
static enum conf_result case_inplace(struct conf_ctx *c)
{
	struct cp_conn cc;
	ATTACH(c, cc);
	uint64_t id;
	if (cbc_session(&cc, &id) != VC_OK)
		return conf_fail(c, "create failed");
	struct fe_dev *d = c->dev;
	struct vcb_data q = {.opcode = VC_CIPHER_ENCRYPT, .session_id = id, .sym_op = VC_SYM_OP_CIPHER,
			     .iv_len = 16, .src_len = 16, .dst_len = 16};
	uint64_t gpa;
	uint8_t *p = fe_mem_alloc_ptr(d->mem, 256, 8, &gpa);
	size_t n = vcb_data_hdr(p, cc.features, &q);
	memcpy(p + n, IV16, 16);
	memcpy(p + n + 16, PT1, 16);
	p[200] = 0xee;
	/* readable: header+iv+src; writable: the same src bytes split in two, then status. */
	struct fe_seg s[4] = {{gpa, (uint32_t)n + 32, false},
			      {gpa + n + 16, 9, true},
			      {gpa + n + 25, 7, true},
			      {gpa + 200, 1, true}};
	struct fe_used u;
	if (fe_dev_submit(d, 0, s, 4, &u) < 0)
		return conf_fail(c, "%s", fe_dev_error(d, 0));
	if (p[200] != VC_OK || memcmp(p + n + 16, CT1, 16) != 0)
		return conf_fail(c, "status %s, ciphertext %s", cp_status_name(p[200]),
				 memcmp(p + n + 16, CT1, 16) ? "wrong" : "right");
	cp_drop(&cc, VC_CIPHER_DESTROY_SESSION, id);
	return CONF_PASS;
}

/* Sessions are device state: they survive a disconnect and a new front-end. */
static enum conf_result case_reconnect(struct conf_ctx *c)
{
	struct cp_conn cc;
	ATTACH(c, cc);
	uint64_t id;
	if (cbc_session(&cc, &id) != VC_OK)
		return conf_fail(c, "create failed");
	c->dev = fe_dev_close(c->dev);
	if (conf_open(c, &c->opts, CONF_SETUP_STARTED, &c->dev) < 0)
		return CONF_FAIL;
	ATTACH(c, cc);
	char why[256];
	uint8_t st;
	if (cbc_block(&cc, 0, id, 0, &st, why, sizeof(why)) < 0 || st != VC_OK)
		return conf_fail(c, "after reconnect: %s", st != VC_OK ? cp_status_name(st) : why);
	if (cp_ctrl_destroy(&cc, VC_CIPHER_DESTROY_SESSION, id) != VC_OK)
		return conf_fail(c, "destroy after reconnect failed");
	return CONF_PASS;
}

/* Pseudo-random requests on the data and control queues: statuses only, no harm. */
static enum conf_result case_garbage(struct conf_ctx *c)
{
	struct cp_conn cc;
	ATTACH(c, cc);
	uint32_t x = 0x9e3779b9u;
	uint8_t rd[600], out[300];
	for (int i = 0; i < 300; i++) {
		size_t rl = 1 + (x % sizeof(rd)), wl = 1 + ((x >> 12) % sizeof(out));
		for (size_t k = 0; k < rl; k++) {
			x ^= x << 13, x ^= x >> 17, x ^= x << 5;
			rd[k] = (uint8_t)x;
		}
		/* Often a plausible opcode, so the parsers get past the first field. */
		static const uint32_t ops[] = {VC_CIPHER_ENCRYPT, VC_HASH, VC_MAC, VC_AEAD_DECRYPT,
					       VC_AKCIPHER_SIGN, VC_CIPHER_CREATE_SESSION,
					       VC_AKCIPHER_CREATE_SESSION};
		if (i % 2) {
			uint32_t op = ops[x % VT_ARRAY_SIZE(ops)];
			memcpy(rd, &op, sizeof(op));
		}
		unsigned q = cc.ctrlq != CP_NO_QUEUE && i % 3 == 0 ? cc.ctrlq : 0;
		uint32_t used = 0;
		if (cp_submit(&cc, q, rd, rl, wl, out, &used) < 0)
			return conf_fail(c, "request %d on queue %u: %s", i, q, cc.error);
		if (used > wl)
			return conf_fail(c, "used len %u > %zu", used, wl);
	}
	/* Whatever sessions random creates made: leave them (bounded by the table). */
	return CONF_PASS;
}

static const struct conf_case crypto_cases[] = {
	{"crypto.config", "config space: HW_READY, masks per service, no undefined bits",
	 CONF_SETUP_STARTED, case_config, NULL},
	{"crypto.legacy_layout", "Linux 6.1 layouts (no REVISION_1), 5-byte segments",
	 CONF_SETUP_NONE, case_legacy, NULL},
	{"crypto.qemu72", "QEMU 7.2: 632-byte sessions, vring 0 only, no ENABLE, bit 30 only",
	 CONF_SETUP_NONE, case_qemu72, NULL},
	{"crypto.vhost_1072", "newer QEMU's 1072-byte CREATE_CRYPTO_SESSION", CONF_SETUP_STARTED,
	 case_vhost_1072, NULL},
	{"crypto.vhost_bad_size", "CREATE_CRYPTO_SESSION of 700 bytes", CONF_SETUP_NEGOTIATED,
	 case_vhost_bad_size, NULL},
	{"crypto.close_unknown", "CLOSE_CRYPTO_SESSION of an unknown id: no reply, alive",
	 CONF_SETUP_NEGOTIATED, case_close_unknown, NULL},
	{"crypto.status_codes", "NOTSUPP, ERR, INVSESS (forever), BADMSG, KEY_REJECTED by cause",
	 CONF_SETUP_STARTED, case_status, NULL},
	{"crypto.nospc", "session table full: NOSPC (REVISION_1), then room again",
	 CONF_SETUP_STARTED, case_nospc, NULL},
	{"crypto.no_writable", "chains without a writable byte: len 0 on both queues",
	 CONF_SETUP_STARTED, case_no_writable, NULL},
	{"crypto.inplace", "dst descriptors aliasing src (in place), split", CONF_SETUP_STARTED,
	 case_inplace, NULL},
	{"crypto.reconnect", "a session survives a new front-end", CONF_SETUP_STARTED,
	 case_reconnect, NULL},
	{"crypto.garbage", "300 random requests on the data and control queues",
	 CONF_SETUP_STARTED, case_garbage, NULL},
};

const struct probe_device probe_device_crypto = {
	.name = "crypto",
	.summary = "virtio-crypto (data queue 0 + control queue)",
	.defaults = crypto_defaults,
	.sanity = crypto_sanity,
	.cases = crypto_cases,
	.ncases = VT_ARRAY_SIZE(crypto_cases),
};
