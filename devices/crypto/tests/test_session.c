/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Sessions: QEMU's VHOST_USER_CREATE/CLOSE_CRYPTO_SESSION in both layouts
 * (632-byte QEMU 7.2 and 1072-byte newer QEMU) through the core's message
 * dispatcher, the session table's bounds under a create/destroy storm
 * (memory must stay flat over N attempts; the slow suite runs 10^6), and
 * several data queues using shared and separate sessions in parallel while
 * sessions come and go (also run under TSan), and a destroy racing the
 * create of the same id (its key must not stay in the restart area).
 *
 * Usage: test_crypto_session [ATTEMPTS]   (default 20000)
 */
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "kat.h"
#include "vu_msg.h"

static struct vc_opts opts;
static unsigned long attempts = 20000;

static const uint8_t K16[16] = {0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6,
				0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c};
static const uint8_t IV[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
static const uint8_t PT[16] = {0x6b, 0xc1, 0xbe, 0xe2, 0x2e, 0x40, 0x9f, 0x96,
			       0xe9, 0x3d, 0x7e, 0x11, 0x73, 0x93, 0x17, 0x2a};
static const uint8_t CT[16] = {0x76, 0x49, 0xab, 0xac, 0x81, 0x19, 0xb2, 0x46,
			       0xce, 0xe9, 0x8e, 0x9b, 0x12, 0xe9, 0x19, 0x7d};

/* AES-128-CBC encrypt of the SP 800-38A first block on data queue qi; returns the status. */
static uint8_t cbc_block(struct cx *x, unsigned qi, uint64_t id, bool *match)
{
	struct vcb_data q = {.opcode = VC_CIPHER_ENCRYPT, .session_id = id, .sym_op = VC_SYM_OP_CIPHER,
			     .iv_len = 16, .src_len = 16, .dst_len = 16};
	uint8_t req[VCB_HDR_MAX + 32], out[17];
	size_t n = vcb_data_hdr(req, x->features, &q);
	memcpy(req + n, IV, 16);
	memcpy(req + n + 16, PT, 16);
	struct cx_req rq = {.rd = req, .rd_len = n + 32, .wr_len = 17, .sep_status = true};
	if (cx_submit(x, qi, &rq, out) != 17)
		return 0xff;
	if (match)
		*match = cx_eq(out, CT, 16);
	return out[16];
}

/* ---- vhost-user session messages through the core dispatcher ---------------- */

struct vu_peer {
	int sv[2];
};

/* Sends one message to the device as QEMU would and reads the reply (if any). */
static int vu_call(struct cx *x, struct vu_peer *p, uint32_t req, const void *payload,
		   uint32_t size, void *reply, uint32_t reply_cap, uint32_t *reply_size)
{
	struct vt_vu_msg m;
	memset(&m, 0, sizeof(m));
	m.hdr.request = req;
	m.hdr.flags = VHOST_USER_VERSION;
	m.hdr.size = size;
	memcpy(m.p.raw, payload, size);
	x->vd->conn_fd = p->sv[0];
	int e = vt_device_handle_message(x->vd, &m);
	x->vd->conn_fd = -1;
	if (e < 0)
		return e;
	if (!reply)
		return 0;
	struct vhost_user_header h;
	if (recv(p->sv[1], &h, sizeof(h), MSG_DONTWAIT) != (ssize_t)sizeof(h))
		return -EIO;
	if (h.flags != 0x5 || h.request != req || h.size > reply_cap)
		return -EPROTO;
	if (recv(p->sv[1], reply, h.size, MSG_DONTWAIT) != (ssize_t)h.size)
		return -EIO;
	*reply_size = h.size;
	return 0;
}

static void test_vhost_72(void)
{
	struct cx x;
	cx_init(&x, &opts, 1ull << 30); /* QEMU 7.2: SET_FEATURES holds only bit 30 */
	struct vu_peer p;
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, p.sv), 0);
	x.vd->acked_protocol = x.vd->offered_protocol;
	/* Cipher session, exactly as QEMU 7.2 lays it out (pointers are garbage). */
	struct vc_vu_session_72 s;
	memset(&s, 0, sizeof(s));
	s.session_id = 0;
	s.info.cipher_alg = VC_CIPHER_AES_CBC;
	s.info.key_len = 16;
	s.info.op_type = VC_SYM_OP_CIPHER;
	s.info.direction = VC_OP_ENCRYPT;
	s.info.cipher_key_ptr = 0x7f0012345678ull;
	memcpy(s.key, K16, 16);
	struct vc_vu_session_72 r;
	uint32_t rs = 0;
	CHECK_EQ(vu_call(&x, &p, VHOST_USER_CREATE_CRYPTO_SESSION, &s, sizeof(s), &r, sizeof(r), &rs),
		 0);
	CHECK_EQ(rs, 632);
	CHECK(r.session_id > 0);
	CHECK(r.key[0] == 0 && r.key[15] == 0); /* keys are not echoed */
	uint64_t id = (uint64_t)r.session_id;
	bool ok = false;
	CHECK_EQ(cbc_block(&x, 0, id, &ok), VC_OK);
	CHECK(ok);
	/* Decrypt direction is a second session (Linux makes two per setkey). */
	s.info.direction = VC_OP_DECRYPT;
	CHECK_EQ(vu_call(&x, &p, VHOST_USER_CREATE_CRYPTO_SESSION, &s, sizeof(s), &r, sizeof(r), &rs),
		 0);
	CHECK(r.session_id > 0 && (uint64_t)r.session_id != id);
	/* Chained session (cipher then HMAC-SHA256, AUTH mode). */
	s.info.op_type = VC_SYM_OP_ALGORITHM_CHAINING;
	s.info.direction = VC_OP_ENCRYPT;
	s.info.hash_mode = VC_SYM_HASH_MODE_AUTH;
	s.info.alg_chain_order = VC_SYM_ALG_CHAIN_ORDER_CIPHER_THEN_HASH;
	s.info.hash_alg = VC_MAC_HMAC_SHA_256;
	s.info.hash_result_len = 32;
	s.info.auth_key_len = 20;
	memset(s.auth_key, 0x0b, 20);
	CHECK_EQ(vu_call(&x, &p, VHOST_USER_CREATE_CRYPTO_SESSION, &s, sizeof(s), &r, sizeof(r), &rs),
		 0);
	CHECK(r.session_id > 0);
	/* Errors are negative ids: NOTSUPP (-3), ERR (-1). */
	s.info.op_type = VC_SYM_OP_CIPHER;
	s.info.auth_key_len = 0;
	s.info.cipher_alg = VC_CIPHER_ARC4;
	CHECK_EQ(vu_call(&x, &p, VHOST_USER_CREATE_CRYPTO_SESSION, &s, sizeof(s), &r, sizeof(r), &rs),
		 0);
	CHECK_EQ(r.session_id, -VC_NOTSUPP);
	s.info.cipher_alg = VC_CIPHER_AES_CBC;
	s.info.key_len = 65;
	CHECK_EQ(vu_call(&x, &p, VHOST_USER_CREATE_CRYPTO_SESSION, &s, sizeof(s), &r, sizeof(r), &rs),
		 0);
	CHECK_EQ(r.session_id, -VC_ERR);
	/* CLOSE: no reply; the id is dead afterwards. */
	CHECK_EQ(vu_call(&x, &p, VHOST_USER_CLOSE_CRYPTO_SESSION, &id, 8, NULL, 0, NULL), 0);
	char c;
	CHECK(recv(p.sv[1], &c, 1, MSG_DONTWAIT) < 0);
	CHECK_EQ(cbc_block(&x, 0, id, NULL), VC_INVSESS);
	/* Closing an unknown id is harmless. */
	CHECK_EQ(vu_call(&x, &p, VHOST_USER_CLOSE_CRYPTO_SESSION, &id, 8, NULL, 0, NULL), 0);
	/* A payload of another size cannot be answered: the front-end is dropped. */
	CHECK(vu_call(&x, &p, VHOST_USER_CREATE_CRYPTO_SESSION, &s, 600, &r, sizeof(r), &rs) < 0);
	close(p.sv[0]);
	close(p.sv[1]);
	cx_free(&x);
}

static void test_vhost_new(void)
{
	struct cx x;
	cx_init(&x, &opts, 0);
	struct vu_peer p;
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, p.sv), 0);
	static struct vc_vu_session_new s, r;
	uint32_t rs = 0;
	memset(&s, 0, sizeof(s));
	s.op_code = VC_CIPHER_CREATE_SESSION;
	s.u.sym.info.cipher_alg = VC_CIPHER_AES_CBC;
	s.u.sym.info.key_len = 16;
	s.u.sym.info.op_type = VC_SYM_OP_CIPHER;
	s.u.sym.info.direction = VC_OP_ENCRYPT;
	memcpy(s.u.sym.key, K16, 16);
	CHECK_EQ(vu_call(&x, &p, VHOST_USER_CREATE_CRYPTO_SESSION, &s, sizeof(s), &r, sizeof(r), &rs),
		 0);
	CHECK_EQ(rs, 1072);
	CHECK(r.session_id > 0);
	bool ok = false;
	CHECK_EQ(cbc_block(&x, 0, (uint64_t)r.session_id, &ok), VC_OK);
	CHECK(ok);
	/* Asymmetric: RSA private key (PKCS#1 DER), uapi numbering. */
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	memset(&s, 0, sizeof(s));
	s.op_code = VC_AKCIPHER_CREATE_SESSION;
	s.u.asym.info.algo = VC_AKCIPHER_RSA;
	s.u.asym.info.key_type = VC_AKCIPHER_KEY_TYPE_PRIVATE;
	s.u.asym.info.padding_algo = VC_RSA_PKCS1_PADDING;
	s.u.asym.info.hash_algo = VC_RSA_SHA1;
	uint8_t *pp = s.u.asym.key;
	int kl = i2d_PrivateKey(k, &pp);
	CHECK(kl > 0 && kl <= 1024);
	s.u.asym.info.key_len = (uint32_t)kl;
	CHECK_EQ(vu_call(&x, &p, VHOST_USER_CREATE_CRYPTO_SESSION, &s, sizeof(s), &r, sizeof(r), &rs),
		 0);
	CHECK(r.session_id > 0);
	EVP_PKEY_free(k);
	/* HASH sessions never come this way: NOTSUPP. */
	s.op_code = VC_HASH_CREATE_SESSION;
	CHECK_EQ(vu_call(&x, &p, VHOST_USER_CREATE_CRYPTO_SESSION, &s, sizeof(s), &r, sizeof(r), &rs),
		 0);
	CHECK_EQ(r.session_id, -VC_NOTSUPP);
	close(p.sv[0]);
	close(p.sv[1]);
	cx_free(&x);
}

/* ---- Bounded memory under a create/destroy storm ----------------------------- */

static size_t heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks + mi.hblkhd;
}

static void test_storm(void)
{
	struct vc_opts o = opts;
	o.max_sessions = 1024;
	struct cx x;
	cx_init(&x, &o, F_REV1);
	static uint64_t live[1024];
	unsigned nlive = 0;
	unsigned long nospc = 0, created = 0, destroyed = 0;
	uint8_t h[VCB_HDR_MAX];
	size_t hl = vcb_ctrl_cipher(h, x.features, VC_CIPHER_AES_CBC, 16, VC_OP_ENCRYPT);
	uint32_t rnd = 12345;
	size_t base = 0, peak = 0;
	for (unsigned long i = 0; i < attempts; i++) {
		rnd = rnd * 1103515245u + 12345u;
		/* Mostly creates (the table fills and NOSPC is hit), some destroys. */
		if (nlive && (rnd >> 16) % 3 == 0) {
			unsigned k = (rnd >> 8) % nlive;
			if (cx_ctrl_destroy(&x, VC_CIPHER_DESTROY_SESSION, live[k]) != VC_OK)
				test_failures++;
			live[k] = live[--nlive];
			destroyed++;
		} else {
			uint64_t id;
			uint8_t st = cx_ctrl_create(&x, h, hl, K16, 16, &id);
			if (st == VC_OK)
				live[nlive++] = id, created++;
			else if (st == VC_NOSPC)
				nospc++;
			else
				test_failures++;
		}
		if (i % 64 == 0 && nlive && cbc_block(&x, 0, live[(rnd >> 4) % nlive], NULL) != VC_OK)
			test_failures++;
		if (i == attempts / 10)
			base = heap_in_use(); /* after the table first filled */
		if (i > attempts / 10) {
			size_t now = heap_in_use();
			peak = now > peak ? now : peak;
		}
	}
	test_checks += 3;
	CHECK(nospc > 0 && created > 1024 && destroyed > 0);
	CHECK(nlive <= 1024);
	CHECK_EQ(vc_table_used(&x.d->table), nlive);
	/* Flat: the working set (<= 1024 sessions) never grows past its first peak + slack. */
	printf("storm: %lu attempts, %lu created, %lu destroyed, %lu NOSPC; heap %zu KiB -> peak %zu "
	       "KiB\n",
	       attempts, created, destroyed, nospc, base >> 10, peak >> 10);
	CHECK(peak < base + base / 4 + (512u << 10));
	cx_free(&x);
}

/* ---- Parallel data queues ------------------------------------------------- */

#define PAR_Q 3
#define PAR_N 40

struct par_arg {
	struct cx *x;
	unsigned qi;
};

static void *serve_thread(void *arg)
{
	struct par_arg *a = arg;
	vc_crypto_ops.queue_handle(a->x->d, &a->x->vd->queues[a->qi]);
	return NULL;
}

/* Fills queue qi with PAR_N encryptions on ids[] (round robin), in guest memory at base. */
static void fill_queue(struct cx *x, unsigned qi, const uint64_t *ids, unsigned nids,
		       uint64_t base)
{
	struct mock_ring *r = &x->r[qi];
	for (unsigned i = 0; i < PAR_N; i++) {
		struct vcb_data q = {.opcode = VC_CIPHER_ENCRYPT, .session_id = ids[i % nids],
				     .sym_op = VC_SYM_OP_CIPHER, .iv_len = 16, .src_len = 16,
				     .dst_len = 16};
		uint64_t a = base + i * 256ull;
		uint8_t *p = mock_gpa(&x->g, a);
		size_t n = vcb_data_hdr(p, x->features, &q);
		memcpy(p + n, IV, 16);
		memcpy(p + n + 16, PT, 16);
		memset(p + 160, CX_CANARY, 17);
		uint64_t addr[3] = {a, a + 160, a + 176};
		uint32_t len[3] = {(uint32_t)n + 32, 16, 1};
		bool w[3] = {false, true, true};
		mock_chain(r, (uint16_t)(i * 3), 3, addr, len, w);
	}
}

static void test_parallel(void)
{
	struct vc_opts o = opts;
	o.dataqueues = PAR_Q;
	struct cx x;
	cx_init(&x, &o, 0);
	CHECK_EQ(x.nq, PAR_Q + 1);
	uint8_t h[VCB_HDR_MAX];
	size_t hl = vcb_ctrl_cipher(h, x.features, VC_CIPHER_AES_CBC, 16, VC_OP_ENCRYPT);
	uint64_t shared = 0, own[PAR_Q] = {0};
	CHECK_EQ(cx_ctrl_create(&x, h, hl, K16, 16, &shared), VC_OK);
	for (unsigned q = 0; q < PAR_Q; q++)
		CHECK_EQ(cx_ctrl_create(&x, h, hl, K16, 16, &own[q]), VC_OK);
	for (int round = 0; round < 5; round++) {
		x.g.next_gpa = x.mark;
		uint64_t base[PAR_Q];
		for (unsigned q = 0; q < PAR_Q; q++) {
			base[q] = mock_alloc(&x.g, PAR_N * 256ull, 64);
			uint64_t ids[2] = {shared, own[q]};
			fill_queue(&x, q, ids, 2, base[q]);
		}
		uint16_t before[PAR_Q];
		pthread_t th[PAR_Q];
		struct par_arg args[PAR_Q];
		for (unsigned q = 0; q < PAR_Q; q++) {
			before[q] = x.r[q].used->idx;
			args[q] = (struct par_arg){&x, q};
			pthread_create(&th[q], NULL, serve_thread, &args[q]);
		}
		/* Meanwhile the control path creates and destroys other sessions. */
		for (int i = 0; i < 50; i++) {
			struct vc_sess_params sp = {.service = VC_SERVICE_CIPHER,
						    .sym_op = VC_SYM_OP_CIPHER,
						    .op = VC_OP_ENCRYPT,
						    .cipher_algo = VC_CIPHER_AES_CTR,
						    .key_len = 16,
						    .key = K16};
			uint64_t id;
			if (vc_create_session(x.d, &sp, true, &id) == VC_OK)
				CHECK_EQ(vc_destroy_session(x.d, id), VC_OK);
		}
		for (unsigned q = 0; q < PAR_Q; q++)
			pthread_join(th[q], NULL);
		for (unsigned q = 0; q < PAR_Q; q++) {
			CHECK_EQ((uint16_t)(x.r[q].used->idx - before[q]), PAR_N);
			for (unsigned i = 0; i < PAR_N; i++) {
				uint8_t *p = mock_gpa(&x.g, base[q] + i * 256ull);
				CHECK(cx_eq(p + 160, CT, 16));
				CHECK_EQ(p[176], VC_OK);
			}
		}
	}
	CHECK_EQ(vc_table_used(&x.d->table), 1 + PAR_Q);
	cx_free(&x);
}

/*
 * Sessions carried over a restart (persist.c): one the next process cannot
 * rebuild (here: its algorithm is no longer allowed) is dropped, and its
 * record, keys included, is wiped from the area the core keeps; it does not
 * come back at a later restart either.
 */
/* A device with a fresh restart area attached (the area is the caller's to free). */
static struct vc_dev *dev_with_area(const char *name, const struct vc_opts *o, uint8_t **area,
				    size_t *size)
{
	struct vc_dev *d = NULL;
	CHECK_EQ(vc_dev_new(name, o, &d), 0);
	*size = d ? vc_persist_size(d) : 0;
	*area = calloc(1, *size ? *size : 1);
	CHECK(*area != NULL);
	if (d)
		CHECK_EQ(vc_persist_attach(d, *area, *size, false), 0);
	return d;
}

static void test_persist_lost_session(void)
{
	struct vc_opts o = opts;
	struct vc_dev *b, *c;
	uint8_t *area;
	size_t size;
	struct vc_dev *a = dev_with_area("persist-a", &o, &area, &size);
	uint8_t key[16];
	for (unsigned i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(0xc0 + i);
	struct vc_sess_params p = {.service = VC_SERVICE_CIPHER, .sym_op = VC_SYM_OP_CIPHER,
				   .op = VC_OP_ENCRYPT, .cipher_algo = VC_CIPHER_AES_CBC,
				   .key_len = sizeof(key), .key = key};
	uint64_t id = 0;
	CHECK_EQ(vc_create_session(a, &p, true, &id), VC_OK);
	CHECK(memmem(area, size, key, sizeof(key)) != NULL); /* the record holds the key */
	CHECK_EQ(vc_persist_attach(a, NULL, 0, false), 0); /* left to the successor */
	vc_dev_free(a);

	/* The next process allows only AES-GCM: the CBC session cannot be rebuilt. */
	o.algorithms = "aes-gcm";
	CHECK_EQ(vc_dev_new("persist-b", &o, &b), 0);
	CHECK_EQ(vc_persist_attach(b, area, size, true), 0);
	CHECK(memmem(area, size, key, sizeof(key)) == NULL);
	CHECK(vc_table_get(&b->table, id) == NULL);
	CHECK_EQ(vc_persist_attach(b, NULL, 0, false), 0);
	vc_dev_free(b);

	/* Nor does it return once CBC is allowed again. */
	o.algorithms = NULL;
	CHECK_EQ(vc_dev_new("persist-c", &o, &c), 0);
	CHECK_EQ(vc_persist_attach(c, area, size, true), 0);
	struct vc_session *back = vc_table_get(&c->table, id);
	CHECK(back == NULL);
	if (back)
		vc_session_put(back);
	CHECK_EQ(vc_persist_attach(c, NULL, 0, false), 0);
	vc_dev_free(c);
	free(area);
}

/*
 * A session whose keys are too long for its record (an RSA-2048 private key
 * is ~1.2 KB) does not survive a restart; its id must still never be handed
 * out again: the slot's generation is recorded all the same.
 */
static void test_persist_long_key_id(void)
{
	EVP_PKEY *pk = EVP_RSA_gen(2048);
	CHECK(pk != NULL);
	unsigned char *der = NULL;
	int der_len = pk ? i2d_PrivateKey(pk, &der) : -1;
	CHECK(der_len > 1024);
	struct vc_opts o = opts;
	struct vc_dev *b;
	uint8_t *area;
	size_t size;
	struct vc_dev *a = dev_with_area("persist-a", &o, &area, &size);
	struct vc_sess_params p = {.service = VC_SERVICE_AKCIPHER, .ak_algo = VC_AKCIPHER_RSA,
				   .key_type = VC_AKCIPHER_KEY_TYPE_PRIVATE,
				   .key_len = (uint32_t)der_len, .key = der,
				   .padding_algo = VC_RSA_RAW_PADDING};
	uint64_t id = 0;
	CHECK_EQ(vc_create_session(a, &p, true, &id), VC_OK);
	CHECK_EQ(vc_persist_attach(a, NULL, 0, false), 0);
	vc_dev_free(a);

	CHECK_EQ(vc_dev_new("persist-b", &o, &b), 0);
	CHECK_EQ(vc_persist_attach(b, area, size, true), 0);
	struct vc_session *s = vc_table_get(&b->table, id);
	CHECK(s == NULL); /* lost with the restart, as the log says */
	if (s)
		vc_session_put(s);
	/* New sessions fill the table: none may get the lost session's id. */
	static const uint8_t key[16] = {1};
	struct vc_sess_params cbc = {.service = VC_SERVICE_CIPHER, .sym_op = VC_SYM_OP_CIPHER,
				     .op = VC_OP_ENCRYPT, .cipher_algo = VC_CIPHER_AES_CBC,
				     .key_len = 16, .key = key};
	uint64_t nid;
	unsigned made = 0;
	while (made < 4096 && vc_create_session(b, &cbc, true, &nid) == VC_OK) {
		CHECK(nid != id);
		made++;
	}
	CHECK(made > 0);
	CHECK_EQ(vc_persist_attach(b, NULL, 0, false), 0);
	vc_dev_free(b);
	free(area);
	OPENSSL_free(der);
	EVP_PKEY_free(pk);
}

/*
 * A destroy that races with the create of the same id (two session paths on
 * two threads: the control queue and vhost-user's CLOSE_CRYPTO_SESSION; an
 * id is guessable, generation << 16 | slot) must never leave the destroyed
 * session's record, with its key, live in the area: the next process would
 * bring it back. One slot, so every create predicts the next id.
 */
struct race {
	struct vc_dev *d;
	uint64_t want;
	atomic_bool created;
	atomic_bool go;
};

static void *race_destroy(void *arg)
{
	struct race *r = arg;
	while (!atomic_load(&r->go))
		;
	/* Until the create returned, and once more after it. */
	for (;;) {
		bool last = atomic_load(&r->created);
		if (vc_destroy_session(r->d, r->want) == VC_OK || last)
			break;
	}
	return NULL;
}

static void test_persist_destroy_race(void)
{
	struct vc_opts o = opts;
	o.max_sessions = 1;
	uint8_t *area;
	size_t size;
	struct vc_dev *d = dev_with_area("persist-race", &o, &area, &size);
	uint8_t key[16];
	for (unsigned i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(0x5a ^ (i * 29));
	struct vc_sess_params p = {.service = VC_SERVICE_CIPHER, .sym_op = VC_SYM_OP_CIPHER,
				   .op = VC_OP_ENCRYPT, .cipher_algo = VC_CIPHER_AES_CBC,
				   .key_len = sizeof(key), .key = key};
	unsigned leaked = 0, raced = 0, rounds = 20000;
	for (unsigned i = 0; i < rounds; i++) {
		struct race r = {.d = d, .want = ((d->table.slots[0].gen + 1) << VC_ID_INDEX_BITS)};
		pthread_t th;
		CHECK_EQ(pthread_create(&th, NULL, race_destroy, &r), 0);
		uint64_t id = 0;
		atomic_store(&r.go, true);
		uint8_t st = vc_create_session(d, &p, true, &id);
		atomic_store(&r.created, true);
		pthread_join(th, NULL);
		CHECK_EQ(st, VC_OK);
		CHECK_EQ(id, r.want);
		struct vc_session *s = vc_table_get(&d->table, id);
		if (s) {
			vc_session_put(s);
			CHECK_EQ(vc_destroy_session(d, id), VC_OK);
		} else {
			raced++;
		}
		/* Destroyed either way now: its key must be gone from the area. */
		if (memmem(area, size, key, sizeof(key)) != NULL) {
			leaked++;
			memset(area, 0, size); /* count each round on its own */
			CHECK_EQ(vc_persist_attach(d, NULL, 0, false), 0);
			CHECK_EQ(vc_persist_attach(d, area, size, false), 0);
		}
	}
	printf("destroy/create race: %u of %u rounds destroyed by the other thread, %u left the "
	       "key in the area\n",
	       raced, rounds, leaked);
	CHECK_EQ(leaked, 0);
	CHECK_EQ(vc_persist_attach(d, NULL, 0, false), 0);
	vc_dev_free(d);
	free(area);
}

int main(int argc, char **argv)
{
	vt_log_set_level(VT_LOG_ERR);
	if (argc > 1)
		attempts = strtoul(argv[1], NULL, 0);
	cx_opts(&opts);
	TEST_RUN(test_vhost_72);
	TEST_RUN(test_vhost_new);
	TEST_RUN(test_parallel);
	TEST_RUN(test_storm);
	TEST_RUN(test_persist_lost_session);
	TEST_RUN(test_persist_long_key_id);
	TEST_RUN(test_persist_destroy_race);
	TEST_DONE();
}
