/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Every status code, provoked through the real request path, with the cause
 * the README's table assigns it (spec §5.9 "Operation Status" and the
 * per-operation device requirements):
 *
 *   OK            success
 *   ERR           malformed requests, limits exceeded, keys OpenSSL rejects,
 *                 destroying an unknown session, a full table without REVISION_1
 *   BADMSG        AEAD decryption whose tag does not verify (only that)
 *   NOTSUPP       unknown opcode, service, algorithm, key size, mode or
 *                 operation type; stateless requests without the feature
 *   INVSESS       unknown, destroyed or wrong-kind session in a data request
 *   NOSPC         session table full (REVISION_1 negotiated)
 *   KEY_REJECTED  AKCIPHER signature verification failed (test_akcipher.c)
 *
 * Plus chain-level rules: no writable byte → completed as malformed (len
 * 0); the status always lands in the last writable byte.
 */
#include <openssl/evp.h>

#include "secmem.h"
#include "kat.h"

static struct vc_opts opts;
static const uint8_t K16[16] = {0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6,
				0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c};
static uint8_t buf[4096];

static uint8_t create_cbc(struct cx *x, uint64_t *id)
{
	uint8_t h[VCB_HDR_MAX];
	size_t l = vcb_ctrl_cipher(h, x->features, VC_CIPHER_AES_CBC, 16, VC_OP_ENCRYPT);
	return cx_ctrl_create(x, h, l, K16, 16, id);
}

/* One data request: hdr (from q) + tail bytes; writable wr bytes. Returns the status. */
static uint8_t data(struct cx *x, const struct vcb_data *q, size_t tail, size_t wr, long *used)
{
	uint8_t req[VCB_HDR_MAX + 4096];
	size_t n = vcb_data_hdr(req, x->features, q);
	memset(req + n, 0x5a, tail);
	struct cx_req rq = {.rd = req, .rd_len = n + tail, .wr_len = wr, .sep_status = true};
	long u = cx_submit(x, 0, &rq, buf);
	if (used)
		*used = u;
	return u < 0 ? 0xff : buf[wr - 1];
}

static struct vcb_data cbc_req(uint64_t id, uint32_t len)
{
	return (struct vcb_data){.opcode = VC_CIPHER_ENCRYPT, .session_id = id,
				 .sym_op = VC_SYM_OP_CIPHER, .iv_len = 16, .src_len = len,
				 .dst_len = len};
}

static void test_ok_and_used_len(void)
{
	struct cx x;
	cx_init(&x, &opts, 0);
	uint64_t id;
	CHECK_EQ(create_cbc(&x, &id), VC_OK);
	CHECK(id != 0 && (int64_t)id > 0);
	struct vcb_data q = cbc_req(id, 32);
	long used;
	CHECK_EQ(data(&x, &q, 16 + 32, 33, &used), VC_OK);
	CHECK_EQ(used, 33); /* the whole writable area, as QEMU reports it */
	/* Extra writable space: the status still goes into the very last byte. */
	CHECK_EQ(data(&x, &q, 16 + 32, 100, &used), VC_OK);
	CHECK_EQ(used, 100);
	CHECK_EQ(buf[32], CX_CANARY);
	CHECK_EQ(buf[98], CX_CANARY);
	cx_free(&x);
}

static void test_notsupp(void)
{
	struct cx x;
	cx_init(&x, &opts, F_REV1);
	uint8_t h[VCB_HDR_MAX];
	uint64_t id;
	/* Unknown control opcode. */
	size_t l = vcb_ctrl(h, x.features, VC_OPCODE(VC_SERVICE_CIPHER, 0x09), 0, "", 0);
	CHECK_EQ(cx_ctrl_create(&x, h, l, NULL, 0, &id), VC_NOTSUPP);
	/* IPSEC and unknown services. */
	l = vcb_ctrl(h, x.features, VC_OPCODE(VC_SERVICE_IPSEC, 0x02), 0, "", 0);
	CHECK_EQ(cx_ctrl_create(&x, h, l, NULL, 0, &id), VC_NOTSUPP);
	/* Unknown / unimplemented algorithms. */
	l = vcb_ctrl_cipher(h, x.features, VC_CIPHER_ARC4, 16, VC_OP_ENCRYPT);
	CHECK_EQ(cx_ctrl_create(&x, h, l, K16, 16, &id), VC_NOTSUPP);
	l = vcb_ctrl_cipher(h, x.features, 63, 16, VC_OP_ENCRYPT);
	CHECK_EQ(cx_ctrl_create(&x, h, l, K16, 16, &id), VC_NOTSUPP);
	l = vcb_ctrl_hash(h, x.features, VC_HASH_MD5, 0);
	CHECK_EQ(cx_ctrl_create(&x, h, l, NULL, 0, &id), VC_NOTSUPP);
	l = vcb_ctrl_hash(h, x.features, VC_HASH_SHA3_SHAKE128, 0);
	CHECK_EQ(cx_ctrl_create(&x, h, l, NULL, 0, &id), VC_NOTSUPP);
	l = vcb_ctrl_mac(h, x.features, VC_MAC_GMAC_AES, 16, 16);
	CHECK_EQ(cx_ctrl_create(&x, h, l, K16, 16, &id), VC_NOTSUPP);
	l = vcb_ctrl_aead(h, x.features, 9, 16, 16, 0, VC_OP_ENCRYPT);
	CHECK_EQ(cx_ctrl_create(&x, h, l, K16, 16, &id), VC_NOTSUPP);
	/* A key size the algorithm does not have. */
	l = vcb_ctrl_cipher(h, x.features, VC_CIPHER_AES_CBC, 20, VC_OP_ENCRYPT);
	CHECK_EQ(cx_ctrl_create(&x, h, l, buf, 20, &id), VC_NOTSUPP);
	/* A tag length GCM does not define. */
	l = vcb_ctrl_aead(h, x.features, VC_AEAD_GCM, 16, 5, 0, VC_OP_ENCRYPT);
	CHECK_EQ(cx_ctrl_create(&x, h, l, K16, 16, &id), VC_NOTSUPP);
	/* Nested hash mode in a chain. */
	l = vcb_ctrl_chain(h, x.features, VC_SYM_ALG_CHAIN_ORDER_CIPHER_THEN_HASH,
			   VC_SYM_HASH_MODE_NESTED, VC_CIPHER_AES_CBC, 16, VC_OP_ENCRYPT,
			   VC_HASH_SHA_256, 32, 0, 0);
	CHECK_EQ(cx_ctrl_create(&x, h, l, K16, 16, &id), VC_NOTSUPP);
	/* op_type NONE. */
	struct vc_sym_session_flf sym;
	memset(&sym, 0, sizeof(sym));
	l = vcb_ctrl(h, x.features, VC_CIPHER_CREATE_SESSION, 0, &sym, sizeof(sym));
	CHECK_EQ(cx_ctrl_create(&x, h, l, NULL, 0, &id), VC_NOTSUPP);

	/* Data: unknown opcode, IPSEC, stateless without the stateless feature. */
	CHECK_EQ(create_cbc(&x, &id), VC_OK);
	struct vcb_data q = cbc_req(id, 16);
	q.opcode = VC_OPCODE(VC_SERVICE_HASH, 0x07);
	CHECK_EQ(data(&x, &q, 32, 17, NULL), VC_NOTSUPP);
	q.opcode = VC_OPCODE(VC_SERVICE_IPSEC, 0);
	CHECK_EQ(data(&x, &q, 32, 17, NULL), VC_NOTSUPP);
	q = cbc_req(id, 16);
	q.stateless = true; /* REVISION_1 without CIPHER_STATELESS_MODE: the spec's SHOULD reject */
	q.algo = VC_CIPHER_AES_CBC;
	q.key_len = 16;
	q.op = VC_OP_ENCRYPT;
	CHECK_EQ(data(&x, &q, 48, 17, NULL), VC_NOTSUPP);
	/* Unknown symmetric op_type in a data request. */
	q = cbc_req(id, 16);
	q.sym_op = 7;
	CHECK_EQ(data(&x, &q, 32, 17, NULL), VC_NOTSUPP);
	cx_free(&x);

	/* An operator-disabled algorithm is not advertised and NOTSUPP. */
	struct vc_opts o = opts;
	o.algorithms = "aes-cbc,sha256";
	cx_init(&x, &o, F_REV1);
	CHECK_EQ(x.d->config.crypto_services, (1u << VC_SERVICE_CIPHER) | (1u << VC_SERVICE_HASH));
	CHECK_EQ(x.d->config.cipher_algo_l, 1u << VC_CIPHER_AES_CBC);
	CHECK_EQ(x.d->config.hash_algo, 1u << VC_HASH_SHA_256);
	l = vcb_ctrl_cipher(h, x.features, VC_CIPHER_AES_CTR, 16, VC_OP_ENCRYPT);
	CHECK_EQ(cx_ctrl_create(&x, h, l, K16, 16, &id), VC_NOTSUPP);
	l = vcb_ctrl_hash(h, x.features, VC_HASH_SHA1, 0);
	CHECK_EQ(cx_ctrl_create(&x, h, l, NULL, 0, &id), VC_NOTSUPP);
	l = vcb_ctrl_mac(h, x.features, VC_MAC_HMAC_SHA_256, 32, 16);
	CHECK_EQ(cx_ctrl_create(&x, h, l, K16, 16, &id), VC_NOTSUPP);
	q = (struct vcb_data){.opcode = VC_MAC, .src_len = 4, .hash_result_len = 32};
	CHECK_EQ(data(&x, &q, 4, 33, NULL), VC_NOTSUPP);
	cx_free(&x);
}

static void test_err(void)
{
	struct cx x;
	cx_init(&x, &opts, 0);
	uint8_t h[VCB_HDR_MAX];
	uint64_t id;
	/* Control: header too short, flf too short, key bytes missing. */
	size_t l = vcb_ctrl_cipher(h, x.features, VC_CIPHER_AES_CBC, 16, VC_OP_ENCRYPT);
	CHECK_EQ(cx_ctrl_create(&x, h, 10, NULL, 0, &id), VC_ERR);
	CHECK_EQ(cx_ctrl_create(&x, h, 40, NULL, 0, &id), VC_ERR);
	CHECK_EQ(cx_ctrl_create(&x, h, l, K16, 8, &id), VC_ERR);
	/* Key longer than max_cipher_key_len; bad direction. */
	l = vcb_ctrl_cipher(h, x.features, VC_CIPHER_AES_CBC, 65, VC_OP_ENCRYPT);
	CHECK_EQ(cx_ctrl_create(&x, h, l, buf, 65, &id), VC_ERR);
	l = vcb_ctrl_cipher(h, x.features, VC_CIPHER_AES_CBC, 16, 3);
	CHECK_EQ(cx_ctrl_create(&x, h, l, K16, 16, &id), VC_ERR);
	/* XTS with equal key halves: OpenSSL refuses the key. */
	uint8_t xk[32];
	memset(xk, 7, sizeof(xk));
	l = vcb_ctrl_cipher(h, x.features, VC_CIPHER_AES_XTS, 32, VC_OP_ENCRYPT);
	CHECK_EQ(cx_ctrl_create(&x, h, l, xk, 32, &id), VC_ERR);
	/* Hash result longer than the digest. */
	l = vcb_ctrl_hash(h, x.features, VC_HASH_SHA_256, 33);
	CHECK_EQ(cx_ctrl_create(&x, h, l, NULL, 0, &id), VC_ERR);
	/* Destroy of an id that never existed. */
	CHECK_EQ(cx_ctrl_destroy(&x, VC_CIPHER_DESTROY_SESSION, 12345), VC_ERR);

	CHECK_EQ(create_cbc(&x, &id), VC_OK);
	/* Data: header cut short, flf cut short. */
	uint8_t req[VCB_HDR_MAX];
	struct vcb_data q = cbc_req(id, 16);
	size_t n = vcb_data_hdr(req, x.features, &q);
	struct cx_req rq = {.rd = req, .rd_len = 20, .wr_len = 17};
	CHECK(cx_submit(&x, 0, &rq, buf) == 17 && buf[16] == VC_ERR);
	rq.rd_len = n - 1;
	CHECK(cx_submit(&x, 0, &rq, buf) == 17 && buf[16] == VC_ERR);
	/* src/iv bytes missing; dst space missing; src != dst; not whole blocks; bad IV length. */
	CHECK_EQ(data(&x, &q, 16 + 15, 17, NULL), VC_ERR);
	CHECK_EQ(data(&x, &q, 32, 16, NULL), VC_ERR);
	q.dst_len = 32;
	CHECK_EQ(data(&x, &q, 32, 33, NULL), VC_ERR);
	q = cbc_req(id, 15);
	CHECK_EQ(data(&x, &q, 31, 16, NULL), VC_ERR);
	q = cbc_req(id, 16);
	q.iv_len = 8;
	CHECK_EQ(data(&x, &q, 24, 17, NULL), VC_ERR);
	/* Lengths beyond max_size (and beyond what u32 sums hold). */
	q = cbc_req(id, 0xfffffff0u);
	CHECK_EQ(data(&x, &q, 32, 17, NULL), VC_ERR);
	q.iv_len = 0xffffffffu;
	CHECK_EQ(data(&x, &q, 32, 17, NULL), VC_ERR);
	cx_free(&x);
}

/* hash_result_len 0 = the session's length: it must fit the chain like any output. */
static void test_hash_default_result_len(void)
{
	struct cx x;
	cx_init(&x, &opts, 0);
	uint8_t h[VCB_HDR_MAX];
	uint64_t id;
	size_t l = vcb_ctrl_hash(h, x.features, VC_HASH_SHA_256, 0);
	CHECK_EQ(cx_ctrl_create(&x, h, l, NULL, 0, &id), VC_OK);
	struct vcb_data q = {.opcode = VC_HASH, .session_id = id, .src_len = 3, .hash_result_len = 0};
	/* 31 bytes + status for a 32-byte digest: refused (the digest must not eat the status). */
	memset(buf, 0xee, 64);
	CHECK_EQ(data(&x, &q, 3, 32, NULL), VC_ERR);
	CHECK_EQ(buf[0], 0xee);
	CHECK_EQ(data(&x, &q, 3, 2, NULL), VC_ERR);
	/* Room for it: the full SHA-256 of the three source bytes. */
	long used = 0;
	CHECK_EQ(data(&x, &q, 3, 33, &used), VC_OK);
	uint8_t src[3] = {0x5a, 0x5a, 0x5a}, md[32];
	unsigned int mdl = 0;
	CHECK(EVP_Digest(src, 3, md, &mdl, EVP_sha256(), NULL) == 1 && mdl == 32);
	CHECK(vt_ct_memcmp(buf, md, 32) == 0);
	cx_free(&x);
}

static void test_invsess(void)
{
	struct cx x;
	cx_init(&x, &opts, 0);
	uint64_t id;
	CHECK_EQ(create_cbc(&x, &id), VC_OK);
	struct vcb_data q = cbc_req(id + 1, 16); /* another generation of the same slot */
	CHECK_EQ(data(&x, &q, 32, 17, NULL), VC_INVSESS);
	q.session_id = 0;
	CHECK_EQ(data(&x, &q, 32, 17, NULL), VC_INVSESS);
	q.session_id = ~0ull;
	CHECK_EQ(data(&x, &q, 32, 17, NULL), VC_INVSESS);
	/* A hash request on a cipher session. */
	struct vcb_data hq = {.opcode = VC_HASH, .session_id = id, .src_len = 3,
			      .hash_result_len = 32};
	CHECK_EQ(data(&x, &hq, 3, 33, NULL), VC_INVSESS);
	/* A chain request on a plain cipher session. */
	q = cbc_req(id, 16);
	q.sym_op = VC_SYM_OP_ALGORITHM_CHAINING;
	CHECK_EQ(data(&x, &q, 32, 17, NULL), VC_INVSESS);
	/* Destroyed: INVSESS, and destroying again is ERR. */
	q = cbc_req(id, 16);
	CHECK_EQ(data(&x, &q, 32, 17, NULL), VC_OK);
	CHECK_EQ(cx_ctrl_destroy(&x, VC_CIPHER_DESTROY_SESSION, id), VC_OK);
	CHECK_EQ(data(&x, &q, 32, 17, NULL), VC_INVSESS);
	CHECK_EQ(cx_ctrl_destroy(&x, VC_CIPHER_DESTROY_SESSION, id), VC_ERR);
	/* The slot is reused by the next session, with a new id: the old one stays dead. */
	uint64_t id2;
	CHECK_EQ(create_cbc(&x, &id2), VC_OK);
	CHECK(id2 != id);
	CHECK_EQ(id2 & (VC_MAX_SESSIONS - 1), id & (VC_MAX_SESSIONS - 1));
	CHECK_EQ(data(&x, &q, 32, 17, NULL), VC_INVSESS);
	q.session_id = id2;
	CHECK_EQ(data(&x, &q, 32, 17, NULL), VC_OK);
	cx_free(&x);
}

static void test_nospc(void)
{
	struct vc_opts o = opts;
	o.max_sessions = 4;
	for (int rev1 = 0; rev1 < 2; rev1++) {
		struct cx x;
		cx_init(&x, &o, rev1 ? F_REV1 : 0);
		uint64_t ids[4], extra;
		for (int i = 0; i < 4; i++)
			CHECK_EQ(create_cbc(&x, &ids[i]), VC_OK);
		/* NOSPC exists only with REVISION_1; the legacy answer is ERR. */
		CHECK_EQ(create_cbc(&x, &extra), rev1 ? VC_NOSPC : VC_ERR);
		/* Live sessions keep working while the table is full. */
		struct vcb_data q = cbc_req(ids[2], 16);
		CHECK_EQ(data(&x, &q, 32, 17, NULL), VC_OK);
		CHECK_EQ(cx_ctrl_destroy(&x, VC_CIPHER_DESTROY_SESSION, ids[1]), VC_OK);
		CHECK_EQ(create_cbc(&x, &extra), VC_OK);
		CHECK_EQ(create_cbc(&x, &extra), rev1 ? VC_NOSPC : VC_ERR);
		cx_free(&x);
	}
}

static void test_no_writable(void)
{
	struct cx x;
	cx_init(&x, &opts, 0);
	uint64_t id;
	CHECK_EQ(create_cbc(&x, &id), VC_OK);
	uint8_t req[VCB_HDR_MAX + 32];
	struct vcb_data q = cbc_req(id, 16);
	size_t n = vcb_data_hdr(req, x.features, &q);
	memset(req + n, 0, 32);
	/* mock: a chain with only readable descriptors */
	x.g.next_gpa = x.mark;
	uint64_t a = mock_alloc(&x.g, n + 32, 64);
	memcpy(mock_gpa(&x.g, a), req, n + 32);
	uint64_t addr[1] = {a};
	uint32_t len[1] = {(uint32_t)(n + 32)};
	bool w[1] = {false};
	mock_chain(&x.r[0], 0, 1, addr, len, w);
	vc_crypto_ops.queue_handle(x.d, &x.vd->queues[0]);
	CHECK_EQ(x.r[0].used->idx, 1);
	CHECK_EQ(x.r[0].used->ring[0].len, 0);
	/* Control queue too. */
	mock_chain(&x.r[x.ctrl], 0, 1, addr, len, w);
	vc_crypto_ops.queue_handle(x.d, &x.vd->queues[x.ctrl]);
	CHECK_EQ(x.r[x.ctrl].used->idx, 2); /* after the create above */
	CHECK_EQ(x.r[x.ctrl].used->ring[1].len, 0);
	cx_free(&x);
}

static void test_ctrl_outcome_forms(void)
{
	struct cx x;
	cx_init(&x, &opts, 0);
	/* An unknown opcode with one writable byte: a 1-byte status. */
	uint8_t h[VCB_HDR_MAX];
	size_t l = vcb_ctrl(h, 0, 0x7777, 0, "", 0);
	struct cx_req rq = {.rd = h, .rd_len = l, .wr_len = 1};
	CHECK_EQ(cx_submit(&x, x.ctrl, &rq, buf), 1);
	CHECK_EQ(buf[0], VC_NOTSUPP);
	/* Create with a short outcome buffer: refused (no session whose id is lost). */
	l = vcb_ctrl_cipher(h, 0, VC_CIPHER_AES_CBC, 16, VC_OP_ENCRYPT);
	uint8_t req[VCB_HDR_MAX + 16];
	memcpy(req, h, l);
	memcpy(req + l, K16, 16);
	rq = (struct cx_req){.rd = req, .rd_len = l + 16, .wr_len = 4};
	CHECK_EQ(cx_submit(&x, x.ctrl, &rq, buf), 1);
	CHECK_EQ(buf[0], VC_ERR);
	CHECK_EQ(buf[1], CX_CANARY);
	CHECK_EQ(vc_table_used(&x.d->table), 0);
	cx_free(&x);
}

int main(void)
{
	vt_log_set_level(VT_LOG_ERR);
	cx_opts(&opts);
	TEST_RUN(test_ok_and_used_len);
	TEST_RUN(test_notsupp);
	TEST_RUN(test_err);
	TEST_RUN(test_hash_default_result_len);
	TEST_RUN(test_invsess);
	TEST_RUN(test_nospc);
	TEST_RUN(test_no_writable);
	TEST_RUN(test_ctrl_outcome_forms);
	TEST_DONE();
}
