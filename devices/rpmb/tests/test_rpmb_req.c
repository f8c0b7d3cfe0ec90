/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RPMB request handling against a simulated disk: every request type and
 * every result code, MACs, nonces, the expired flag, replay, migration
 * export/import policy and key provisioning.
 */
#include <openssl/hmac.h>

#include <ctype.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "test_util.h"

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed * 31 + i * 7);
}

static void test_mac_known_answer(void)
{
	struct rpmb_frame f[3];
	for (int i = 0; i < 3; i++)
		fill(f[i].b, 512, (uint8_t)i);
	uint8_t key[32], mac[32], ref[32], cat[3 * 284];
	fill(key, 32, 99);
	for (int i = 0; i < 3; i++)
		memcpy(cat + i * 284, f[i].b + 228, 284);
	unsigned len = 0;
	HMAC(EVP_sha256(), key, 32, cat, sizeof(cat), ref, &len);
	CHECK_EQ(rpmb_mac(key, f, 3, mac), 0);
	CHECK(len == 32 && vt_ct_memcmp(mac, ref, 32) == 0);
}

static void test_no_key(void)
{
	struct fx f;
	fx_init(&f, 1, 4, 4, 0);
	uint16_t res;
	(void)fx_counter(&f, &res);
	CHECK_EQ(res, RPMB_RES_NO_AUTH_KEY);
	CHECK_EQ(rpmb_req(&f.out[0]), RPMB_RESP_GET_COUNTER);
	CHECK_EQ(f.out[0].b[RPMB_OFF_NONCE], 9); /* nonce echoed */
	uint8_t zero[32] = {0};
	CHECK(vt_ct_memcmp(f.out[0].b + RPMB_OFF_KEY_MAC, zero, 32) == 0);
	uint8_t data[256] = {1};
	CHECK_EQ(fx_write(&f, 0, 0, 1, data), RPMB_RES_NO_AUTH_KEY);
	CHECK_EQ(fx_read(&f, 0, 1, NULL), RPMB_RES_NO_AUTH_KEY);
	fx_free(&f);
}

static void test_program_key(void)
{
	struct fx f;
	fx_init(&f, 1, 4, 4, 0);
	/* block_count != 1: GENERAL_FAILURE and nothing programmed. */
	size_t n = rpmb_cl_program_key(f.in, f.key, true);
	rpmb_put16(&f.in[0], RPMB_OFF_BLOCK_COUNT, 2);
	CHECK_EQ(fx_req(&f, n, 1), 1);
	CHECK_EQ(rpmb_result(&f.out[0]), RPMB_RES_GENERAL_FAILURE);
	CHECK(!(f.d->store->st.flags & RPMB_ST_KEY));

	CHECK_EQ(fx_program(&f), RPMB_RES_OK);
	CHECK_EQ(rpmb_req(&f.out[0]), RPMB_RESP_PROGRAM_KEY);
	CHECK_EQ(rpmb_cl_check_mac(f.key, f.out, 1), 0);
	/* One-time programmable: a second key is refused, the first stays. */
	uint8_t other[32];
	memset(other, 0x11, 32);
	n = rpmb_cl_program_key(f.in, other, true);
	CHECK_EQ(fx_req(&f, n, 1), 1);
	CHECK_EQ(rpmb_result(&f.out[0]), RPMB_RES_WRITE_FAILURE);
	CHECK_EQ(rpmb_cl_check_mac(f.key, f.out, 1), 0);
	/* Durable: survives a reopen (device reset / daemon restart). */
	rpmb_dev_free(f.d);
	f.d = NULL;
	CHECK_EQ(fx_open(&f, 4), 0);
	uint16_t res;
	CHECK_EQ(fx_counter(&f, &res), 0);
	CHECK_EQ(res, RPMB_RES_OK);
	CHECK_EQ(rpmb_cl_check_mac(f.key, f.out, 1), 0);
	fx_free(&f);
}

static void test_result_read_standalone(void)
{
	struct fx f;
	fx_init(&f, 1, 4, 4, 0);
	/* Nothing to report yet. */
	rpmb_cl_result_read(&f.in[0]);
	CHECK_EQ(fx_req(&f, 1, 1), 1);
	CHECK_EQ(rpmb_result(&f.out[0]), RPMB_RES_GENERAL_FAILURE);
	/* PROGRAM_KEY without RESULT_READ: no response frame... */
	size_t n = rpmb_cl_program_key(f.in, f.key, false);
	CHECK_EQ(fx_req(&f, n, 1), 0);
	/* ...then a RESULT_READ of its own returns it. */
	rpmb_cl_result_read(&f.in[0]);
	CHECK_EQ(fx_req(&f, 1, 1), 1);
	CHECK_EQ(rpmb_req(&f.out[0]), RPMB_RESP_PROGRAM_KEY);
	CHECK_EQ(rpmb_result(&f.out[0]), RPMB_RES_OK);
	/* Same for a write. */
	uint8_t data[256];
	fill(data, 256, 3);
	n = rpmb_cl_write(f.in, f.key, 0, 7, 1, data, false);
	CHECK_EQ(fx_req(&f, n, 1), 0);
	rpmb_cl_result_read(&f.in[0]);
	CHECK_EQ(fx_req(&f, 1, 1), 1);
	CHECK_EQ(rpmb_req(&f.out[0]), RPMB_RESP_DATA_WRITE);
	CHECK_EQ(rpmb_counter(&f.out[0]), 1);
	CHECK_EQ(rpmb_address(&f.out[0]), 7);
	CHECK_EQ(rpmb_cl_check_mac(f.key, f.out, 1), 0);
	/* RESULT_READ with block_count != 1. */
	rpmb_cl_result_read(&f.in[0]);
	rpmb_put16(&f.in[0], RPMB_OFF_BLOCK_COUNT, 0);
	CHECK_EQ(fx_req(&f, 1, 1), 1);
	CHECK_EQ(rpmb_result(&f.out[0]), RPMB_RES_GENERAL_FAILURE);
	fx_free(&f);
}

static void test_counter(void)
{
	struct fx f;
	fx_init(&f, 1, 4, 4, 0);
	CHECK_EQ(fx_program(&f), RPMB_RES_OK);
	uint16_t res;
	CHECK_EQ(fx_counter(&f, &res), 0);
	CHECK_EQ(res, RPMB_RES_OK);
	CHECK_EQ(f.out[0].b[RPMB_OFF_NONCE + 1], 8);
	CHECK_EQ(rpmb_cl_check_mac(f.key, f.out, 1), 0);
	uint8_t nonce[16] = {0};
	rpmb_cl_get_counter(f.in, nonce);
	rpmb_put16(&f.in[0], RPMB_OFF_BLOCK_COUNT, 0);
	CHECK_EQ(fx_req(&f, 1, 1), 1);
	CHECK_EQ(rpmb_result(&f.out[0]), RPMB_RES_GENERAL_FAILURE);
	/* Extra frames after a counter request. */
	rpmb_cl_get_counter(f.in, nonce);
	rpmb_cl_result_read(&f.in[1]);
	CHECK_EQ(fx_req(&f, 2, 1), 1);
	CHECK_EQ(rpmb_result(&f.out[0]), RPMB_RES_GENERAL_FAILURE);
	/* No room for the answer: nothing written. */
	rpmb_cl_get_counter(f.in, nonce);
	CHECK_EQ(fx_req(&f, 1, 0), 0);
	fx_free(&f);
}

static void test_write_read(void)
{
	struct fx f;
	fx_init(&f, 1, 8, 8, 0);
	CHECK_EQ(fx_program(&f), RPMB_RES_OK);
	uint8_t data[8 * 256], back[8 * 256];
	fill(data, sizeof(data), 5);
	CHECK_EQ(fx_write(&f, 0, 5, 1, data), RPMB_RES_OK);
	CHECK_EQ(rpmb_req(&f.out[0]), RPMB_RESP_DATA_WRITE);
	CHECK_EQ(rpmb_counter(&f.out[0]), 1);
	CHECK_EQ(rpmb_address(&f.out[0]), 5);
	CHECK_EQ(rpmb_cl_check_mac(f.key, f.out, 1), 0);
	CHECK_EQ(fx_read(&f, 5, 1, back), RPMB_RES_OK);
	CHECK(vt_ct_memcmp(back, data, 256) == 0);
	CHECK_EQ(rpmb_req(&f.out[0]), RPMB_RESP_DATA_READ);
	CHECK_EQ(f.out[0].b[RPMB_OFF_NONCE + 3], 4);
	CHECK_EQ(rpmb_cl_check_mac(f.key, f.out, 1), 0);

	/* Multi-block write and read (max_wr_cnt = max_rd_cnt = 8). */
	CHECK_EQ(fx_write(&f, 1, 100, 8, data), RPMB_RES_OK);
	CHECK_EQ(rpmb_counter(&f.out[0]), 2);
	memset(back, 0, sizeof(back));
	CHECK_EQ(fx_read(&f, 100, 8, back), RPMB_RES_OK);
	CHECK(vt_ct_memcmp(back, data, sizeof(data)) == 0);
	CHECK_EQ(rpmb_cl_check_mac(f.key, f.out, 8), 0);
	for (int i = 0; i < 8; i++) {
		CHECK_EQ(rpmb_block_count(&f.out[i]), 8);
		CHECK_EQ(rpmb_address(&f.out[i]), 100);
		CHECK_EQ(rpmb_req(&f.out[i]), RPMB_RESP_DATA_READ);
	}
	/* Untouched blocks read as zeros; a read across the write's edge mixes both. */
	CHECK_EQ(fx_read(&f, 98, 3, back), RPMB_RES_OK);
	CHECK_EQ(back[0], 0);
	CHECK_EQ(back[511], 0);
	CHECK(vt_ct_memcmp(back + 512, data, 256) == 0);
	/* Last block of the device. */
	CHECK_EQ(fx_write(&f, 2, 511, 1, data), RPMB_RES_OK);
	CHECK_EQ(fx_read(&f, 511, 1, back), RPMB_RES_OK);
	CHECK(vt_ct_memcmp(back, data, 256) == 0);
	fx_free(&f);
}

static void test_replay_and_auth(void)
{
	struct fx f;
	fx_init(&f, 1, 4, 4, 0);
	CHECK_EQ(fx_program(&f), RPMB_RES_OK);
	uint8_t data[256], other[256], back[256];
	fill(data, 256, 1);
	fill(other, 256, 2);
	CHECK_EQ(fx_write(&f, 0, 3, 1, data), RPMB_RES_OK);
	/* Replaying the captured frames: the counter moved on. */
	struct rpmb_frame saved[2];
	memcpy(saved, f.in, sizeof(saved));
	memcpy(f.in, saved, sizeof(saved));
	CHECK_EQ(fx_req(&f, 2, 1), 1);
	CHECK_EQ(rpmb_result(&f.out[0]), RPMB_RES_COUNT_FAILURE);
	CHECK_EQ(rpmb_counter(&f.out[0]), 1);
	/* A well-MACed write with a stale counter. */
	CHECK_EQ(fx_write(&f, 0, 3, 1, other), RPMB_RES_COUNT_FAILURE);
	/* A future counter too. */
	CHECK_EQ(fx_write(&f, 5, 3, 1, other), RPMB_RES_COUNT_FAILURE);
	/* Tampered MAC. */
	size_t n = rpmb_cl_write(f.in, f.key, 1, 3, 1, other, true);
	f.in[0].b[RPMB_OFF_KEY_MAC] ^= 1;
	CHECK_EQ(fx_req(&f, n, 1), 1);
	CHECK_EQ(rpmb_result(&f.out[0]), RPMB_RES_AUTH_FAILURE);
	/* Tampered data under a valid-looking MAC. */
	n = rpmb_cl_write(f.in, f.key, 1, 3, 1, other, true);
	f.in[0].b[RPMB_OFF_DATA + 17] ^= 0x80;
	CHECK_EQ(fx_req(&f, n, 1), 1);
	CHECK_EQ(rpmb_result(&f.out[0]), RPMB_RES_AUTH_FAILURE);
	/* Tampered address (covered by the MAC too). */
	n = rpmb_cl_write(f.in, f.key, 1, 3, 1, other, true);
	rpmb_put16(&f.in[0], RPMB_OFF_ADDRESS, 4);
	CHECK_EQ(fx_req(&f, n, 1), 1);
	CHECK_EQ(rpmb_result(&f.out[0]), RPMB_RES_AUTH_FAILURE);
	/* Wrong key. */
	uint8_t wrong[32];
	memset(wrong, 0x5a, 32);
	n = rpmb_cl_write(f.in, wrong, 1, 3, 1, other, true);
	CHECK_EQ(fx_req(&f, n, 1), 1);
	CHECK_EQ(rpmb_result(&f.out[0]), RPMB_RES_AUTH_FAILURE);
	/* Nothing of it landed. */
	CHECK_EQ(fx_read(&f, 3, 1, back), RPMB_RES_OK);
	CHECK(vt_ct_memcmp(back, data, 256) == 0);
	uint16_t res;
	CHECK_EQ(fx_counter(&f, &res), 1);
	fx_free(&f);
}

static void test_addr_and_counts(void)
{
	struct fx f;
	fx_init(&f, 1, 4, 4, 0);
	CHECK_EQ(fx_program(&f), RPMB_RES_OK);
	uint8_t data[4 * 256] = {0};
	CHECK_EQ(fx_write(&f, 0, 511, 2, data), RPMB_RES_ADDR_FAILURE);
	CHECK_EQ(fx_write(&f, 0, 0xffff, 1, data), RPMB_RES_ADDR_FAILURE);
	CHECK_EQ(fx_read(&f, 512, 1, NULL), RPMB_RES_ADDR_FAILURE);
	CHECK_EQ(fx_read(&f, 510, 4, NULL), RPMB_RES_ADDR_FAILURE);
	/* Block counts. */
	size_t n = rpmb_cl_write(f.in, f.key, 0, 0, 1, data, true);
	rpmb_put16(&f.in[0], RPMB_OFF_BLOCK_COUNT, 0);
	CHECK_EQ(fx_req(&f, n, 1), 1);
	CHECK_EQ(rpmb_result(&f.out[0]), RPMB_RES_GENERAL_FAILURE);
	CHECK_EQ(fx_read(&f, 0, 0, NULL), RPMB_RES_GENERAL_FAILURE);
	CHECK_EQ(fx_read(&f, 0, 5, NULL), RPMB_RES_GENERAL_FAILURE); /* > max_rd_cnt */
	struct rpmb_frame big[8];
	uint8_t data5[5 * 256] = {0};
	n = rpmb_cl_write(big, f.key, 0, 0, 5, data5, false); /* > max_wr_cnt */
	(void)n;
	CHECK_EQ(rpmb_request(f.d, big, 5, false, f.out, 1), 0);
	rpmb_cl_result_read(&f.in[0]);
	CHECK_EQ(fx_req(&f, 1, 1), 1);
	CHECK_EQ(rpmb_result(&f.out[0]), RPMB_RES_GENERAL_FAILURE);
	/* block_count says 2 but one frame came. */
	n = rpmb_cl_write(f.in, f.key, 0, 0, 2, data, false);
	memcpy(f.in[1].b, f.in[2].b, 512);
	rpmb_cl_result_read(&f.in[1]);
	CHECK_EQ(fx_req(&f, 2, 1), 1);
	CHECK_EQ(rpmb_result(&f.out[0]), RPMB_RES_GENERAL_FAILURE);
	/* Read with too little room for block_count frames. */
	uint8_t nonce[16] = {0};
	rpmb_cl_read(f.in, 0, 3, nonce);
	CHECK_EQ(fx_req(&f, 1, 2), 1);
	CHECK_EQ(rpmb_result(&f.out[0]), RPMB_RES_GENERAL_FAILURE);
	/* ADDR_FAILURE fills every requested frame with the result. */
	rpmb_cl_read(f.in, 511, 2, nonce);
	CHECK_EQ(fx_req(&f, 1, 4), 2);
	CHECK_EQ(rpmb_result(&f.out[0]), RPMB_RES_ADDR_FAILURE);
	CHECK_EQ(rpmb_result(&f.out[1]), RPMB_RES_ADDR_FAILURE);
	CHECK_EQ(rpmb_cl_check_mac(f.key, f.out, 2), 0);
	uint16_t res;
	CHECK_EQ(fx_counter(&f, &res), 0);
	fx_free(&f);
}

static void test_malformed(void)
{
	struct fx f;
	fx_init(&f, 1, 4, 4, 0);
	CHECK_EQ(fx_program(&f), RPMB_RES_OK);
	/* Not whole frames (as the queue reports it). */
	uint8_t nonce[16] = {0};
	rpmb_cl_get_counter(f.in, nonce);
	CHECK_EQ(rpmb_request(f.d, f.in, 1, true, f.out, 1), 1);
	CHECK_EQ(rpmb_result(&f.out[0]), RPMB_RES_GENERAL_FAILURE);
	CHECK_EQ(rpmb_req(&f.out[0]), RPMB_RESP_GET_COUNTER);
	CHECK_EQ(rpmb_request(f.d, f.in, 0, true, f.out, 1), 1);
	CHECK_EQ(rpmb_req(&f.out[0]), 0);
	/* Unknown request types, including response codes sent as requests. */
	uint16_t bad[] = {0x0000, 0x0006, 0x0100, 0x0300, 0xffff};
	for (unsigned i = 0; i < VT_ARRAY_SIZE(bad); i++) {
		memset(&f.in[0], 0, 512);
		rpmb_put16(&f.in[0], RPMB_OFF_REQ_RESP, bad[i]);
		rpmb_put16(&f.in[0], RPMB_OFF_BLOCK_COUNT, 1);
		CHECK_EQ(fx_req(&f, 1, 1), 1);
		CHECK_EQ(rpmb_result(&f.out[0]), RPMB_RES_GENERAL_FAILURE);
	}
	/* A trailing RESULT_READ with block_count 0: nothing executed. */
	uint8_t data[512] = {7};
	size_t n = rpmb_cl_write(f.in, f.key, 0, 0, 1, data, true);
	rpmb_put16(&f.in[1], RPMB_OFF_BLOCK_COUNT, 0);
	CHECK_EQ(fx_req(&f, n, 1), 1);
	CHECK_EQ(rpmb_result(&f.out[0]), RPMB_RES_GENERAL_FAILURE);
	/* A RESULT_READ with no room for the result: nothing executed either. */
	n = rpmb_cl_write(f.in, f.key, 0, 0, 1, data, true);
	CHECK_EQ(fx_req(&f, n, 0), 0);
	/* A write followed by a frame of another type. */
	n = rpmb_cl_write(f.in, f.key, 0, 0, 2, data, false);
	rpmb_put16(&f.in[1], RPMB_OFF_REQ_RESP, RPMB_REQ_DATA_READ);
	rpmb_cl_result_read(&f.in[2]);
	CHECK_EQ(fx_req(&f, 3, 1), 1);
	CHECK_EQ(rpmb_result(&f.out[0]), RPMB_RES_GENERAL_FAILURE);
	uint16_t res;
	CHECK_EQ(fx_counter(&f, &res), 0);
	/* Read request with trailing frames. */
	rpmb_cl_read(f.in, 0, 1, nonce);
	rpmb_cl_result_read(&f.in[1]);
	CHECK_EQ(fx_req(&f, 2, 4), 1);
	CHECK_EQ(rpmb_result(&f.out[0]), RPMB_RES_GENERAL_FAILURE);
	fx_free(&f);
}

static void test_io_failures(void)
{
	struct fx f;
	fx_init(&f, 1, 4, 4, 0);
	CHECK_EQ(fx_program(&f), RPMB_RES_OK);
	f.disk.fail_reads = true;
	CHECK_EQ(fx_read(&f, 0, 1, NULL), RPMB_RES_READ_FAILURE);
	f.disk.fail_reads = false;
	uint8_t data[256] = {1};
	f.disk.fail_after = 0; /* the journal write fails */
	CHECK_EQ(fx_write(&f, 0, 0, 1, data), RPMB_RES_WRITE_FAILURE);
	/* State unknown until recovery: refuse service. */
	uint16_t res;
	(void)fx_counter(&f, &res);
	CHECK_EQ(res, RPMB_RES_GENERAL_FAILURE);
	CHECK_EQ(fx_write(&f, 0, 0, 1, data), RPMB_RES_GENERAL_FAILURE);
	fx_free(&f);
}

static void test_expired(void)
{
	struct fx f;
	fx_init(&f, 1, 4, 4, RPMB_COUNTER_MAX - 1);
	CHECK_EQ(fx_program(&f), RPMB_RES_OK);
	uint8_t data[256] = {1};
	uint16_t res;
	CHECK_EQ(fx_counter(&f, &res), RPMB_COUNTER_MAX - 1);
	CHECK_EQ(res, RPMB_RES_OK);
	/* The last write succeeds and reports the counter expired. */
	CHECK_EQ(fx_write(&f, RPMB_COUNTER_MAX - 1, 0, 1, data),
		 RPMB_RES_OK | RPMB_RES_WRITE_COUNTER_EXPIRED);
	CHECK_EQ(rpmb_counter(&f.out[0]), RPMB_COUNTER_MAX);
	/* From then on writes fail and every result carries the flag. */
	CHECK_EQ(fx_write(&f, RPMB_COUNTER_MAX, 1, 1, data),
		 RPMB_RES_WRITE_FAILURE | RPMB_RES_WRITE_COUNTER_EXPIRED);
	CHECK_EQ(fx_counter(&f, &res), RPMB_COUNTER_MAX);
	CHECK_EQ(res, RPMB_RES_WRITE_COUNTER_EXPIRED);
	uint8_t back[256];
	CHECK_EQ(fx_read(&f, 0, 1, back), RPMB_RES_WRITE_COUNTER_EXPIRED);
	CHECK_EQ(fx_read(&f, 1, 1, back), RPMB_RES_WRITE_COUNTER_EXPIRED);
	CHECK_EQ(back[0], 0);
	fx_free(&f);
}

static void set_mig_key(struct rpmb_dev *d, uint8_t v)
{
	d->mig_key = vt_secmem_alloc(32);
	memset(d->mig_key, v, 32);
}

/* A pipe that holds a whole blob (DEVICE_STATE save and load in one thread). */
static int big_pipe(int p[2])
{
	if (pipe(p) < 0)
		return -1;
	if (fcntl(p[1], F_SETPIPE_SZ, 1 << 20) < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	return 0;
}

/* The destination issues a ticket; the source exports for it. */
static int export_for(struct fx *src, struct fx *dst, uint8_t **blob, size_t *len)
{
	char err[400];
	struct rpmb_ticket t;
	int r = rpmb_ticket_issue(dst->d, &t, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "ticket: %s\n", err);
		return r;
	}
	r = rpmb_export(src->d, &t, blob, len, err, sizeof(err));
	if (r < 0)
		fprintf(stderr, "export: %s\n", err);
	return r;
}

static void test_export_import(void)
{
	struct fx a, b;
	fx_init(&a, 1, 4, 4, 0);
	fx_init(&b, 1, 4, 4, 0);
	set_mig_key(a.d, 0x77);
	set_mig_key(b.d, 0x77);
	char err[256];
	uint8_t *blob = NULL;
	size_t len = 0;
	CHECK_EQ(fx_program(&a), RPMB_RES_OK);
	uint8_t data[256], back[256];
	fill(data, 256, 9);
	CHECK_EQ(fx_write(&a, 0, 42, 1, data), RPMB_RES_OK);
	struct rpmb_frame replay[2];
	memcpy(replay, a.in, sizeof(replay));
	CHECK_EQ(fx_write(&a, 1, 43, 1, data), RPMB_RES_OK);

	CHECK_EQ(export_for(&a, &b, &blob, &len), 0);
	CHECK_EQ(len, rpmb_blob_size(1));
	/* The source refuses service, durably. */
	uint16_t res;
	(void)fx_counter(&a, &res);
	CHECK_EQ(res, RPMB_RES_GENERAL_FAILURE);
	CHECK_EQ(fx_read(&a, 42, 1, back), RPMB_RES_GENERAL_FAILURE);
	CHECK_EQ(fx_write(&a, 2, 0, 1, data), RPMB_RES_GENERAL_FAILURE);
	rpmb_dev_free(a.d);
	a.d = NULL;
	CHECK_EQ(fx_open(&a, 4), 0);
	set_mig_key(a.d, 0x77);
	(void)fx_counter(&a, &res);
	CHECK_EQ(res, RPMB_RES_GENERAL_FAILURE);
	uint8_t *again;
	size_t alen;
	struct rpmb_ticket bt;
	CHECK_EQ(rpmb_ticket_issue(b.d, &bt, err, sizeof(err)), 0);
	CHECK_EQ(rpmb_export(a.d, &bt, &again, &alen, err, sizeof(err)), -EALREADY);

	/* Tampering anywhere, or the wrong host key, is refused. */
	blob[20] ^= 1; /* the counter in the header (AAD) */
	CHECK_EQ(rpmb_import(b.d, blob, len, err, sizeof(err)), -EBADMSG);
	blob[20] ^= 1;
	blob[len / 2] ^= 1;
	CHECK_EQ(rpmb_import(b.d, blob, len, err, sizeof(err)), -EBADMSG);
	blob[len / 2] ^= 1;
	CHECK(rpmb_import(b.d, blob, len - 1, err, sizeof(err)) < 0);
	memset(b.d->mig_key, 0x78, 32);
	CHECK_EQ(rpmb_import(b.d, blob, len, err, sizeof(err)), -EBADMSG);
	memset(b.d->mig_key, 0x77, 32);

	/* The destination gets key, counter and data (for its newest ticket only). */
	CHECK_EQ(rpmb_import(b.d, blob, len, err, sizeof(err)), -EACCES);
	free(blob);
	uint8_t rc[RPMB_RECEIPT_SIZE];
	CHECK_EQ(rpmb_ticket_cancel(b.d, rc, err, sizeof(err)), 0);
	CHECK_EQ(rpmb_cancel_export(a.d, rc, err, sizeof(err)), -EACCES); /* not a's ticket */
	CHECK_EQ(rpmb_cancel_export(a.d, NULL, err, sizeof(err)), 0);    /* the override */
	CHECK_EQ(rpmb_ticket_issue(b.d, &bt, err, sizeof(err)), 0);
	CHECK_EQ(rpmb_export(a.d, &bt, &blob, &len, err, sizeof(err)), 0);
	CHECK_EQ(rpmb_import(b.d, blob, len, err, sizeof(err)), 0);
	CHECK_EQ(fx_counter(&b, &res), 2);
	CHECK_EQ(res, RPMB_RES_OK);
	CHECK_EQ(rpmb_cl_check_mac(a.key, b.out, 1), 0);
	CHECK_EQ(fx_read(&b, 42, 1, back), RPMB_RES_OK);
	CHECK(vt_ct_memcmp(back, data, 256) == 0);
	/* Replayed frames from before the migration. */
	memcpy(b.in, replay, sizeof(replay));
	CHECK_EQ(fx_req(&b, 2, 1), 1);
	CHECK_EQ(rpmb_result(&b.out[0]), RPMB_RES_COUNT_FAILURE);
	CHECK_EQ(fx_write(&b, 2, 44, 1, data), RPMB_RES_OK);
	/* A live store is never overwritten, not even by the same blob. */
	CHECK_EQ(rpmb_import(b.d, blob, len, err, sizeof(err)), -EACCES);
	CHECK_EQ(rpmb_ticket_issue(b.d, &bt, err, sizeof(err)), -EEXIST);

	/* Back to the source, for its own ticket. */
	uint8_t *blob2;
	size_t len2;
	CHECK_EQ(export_for(&b, &a, &blob2, &len2), 0);
	CHECK_EQ(rpmb_import(a.d, blob2, len2, err, sizeof(err)), 0);
	CHECK_EQ(fx_counter(&a, &res), 3);
	CHECK_EQ(res, RPMB_RES_OK);
	CHECK_EQ(fx_read(&a, 44, 1, back), RPMB_RES_OK);
	/* The old blob is refused, however the store is. */
	CHECK_EQ(export_for(&a, &b, &again, &alen), 0);
	free(again);
	CHECK_EQ(rpmb_ticket_issue(a.d, &bt, err, sizeof(err)), 0);
	CHECK_EQ(rpmb_import(a.d, blob, len, err, sizeof(err)), -EACCES);
	/* Cancel (override): serving again. */
	CHECK_EQ(rpmb_cancel_export(a.d, NULL, err, sizeof(err)), 0);
	CHECK_EQ(fx_counter(&a, &res), 3);
	CHECK_EQ(res, RPMB_RES_OK);
	CHECK_EQ(rpmb_cancel_export(a.d, NULL, err, sizeof(err)), -EINVAL);
	free(blob);
	free(blob2);
	fx_free(&a);
	fx_free(&b);
}

/*
 * Attack 1 (issue 12): a migration blob is single-use and destination-bound.
 * Replays into the destination, back into the exported source, into a
 * pristine store, or of one blob into two pristine stores are refused; only
 * an explicit cancel on the source brings a failed migration back.
 */
static void test_migration_replay(void)
{
	struct fx a, b, c;
	fx_init(&a, 1, 4, 4, 0);
	fx_init(&b, 1, 4, 4, 0);
	fx_init(&c, 1, 4, 4, 0);
	set_mig_key(a.d, 0x77);
	set_mig_key(b.d, 0x77);
	set_mig_key(c.d, 0x77);
	char err[400];
	uint8_t *blob, *blob2, data[256];
	size_t len, len2;
	uint16_t res;
	fill(data, 256, 3);
	CHECK_EQ(fx_program(&a), RPMB_RES_OK);
	CHECK_EQ(fx_write(&a, 0, 1, 1, data), RPMB_RES_OK);
	memcpy(b.key, a.key, sizeof(b.key));
	memcpy(c.key, a.key, sizeof(c.key));

	/* No ticket, no export (the control path and DEVICE_STATE alike). */
	CHECK_EQ(rpmb_export(a.d, NULL, &blob, &len, err, sizeof(err)), -ENOKEY);
	CHECK(strstr(err, "ticket") != NULL);
	int p[2];
	CHECK_EQ(pipe(p), 0);
	CHECK(rpmb_save_state(a.d, p[1]) < 0);
	close(p[0]);
	close(p[1]);
	(void)fx_counter(&a, &res);
	CHECK_EQ(res, RPMB_RES_OK); /* refused cleanly: still serving */
	/* Nor for the store's own ticket. */
	struct rpmb_ticket own;
	uint8_t own_rc[RPMB_RECEIPT_SIZE], rc[RPMB_RECEIPT_SIZE], rc2[RPMB_RECEIPT_SIZE];
	CHECK_EQ(rpmb_ticket_issue(c.d, &own, err, sizeof(err)), 0);
	CHECK_EQ(rpmb_ticket_cancel(c.d, own_rc, err, sizeof(err)), 0);

	CHECK_EQ(export_for(&a, &b, &blob, &len), 0);
	/* Into another pristine store (with or without a ticket of its own): refused. */
	CHECK_EQ(rpmb_import(c.d, blob, len, err, sizeof(err)), -EACCES);
	struct rpmb_ticket ct;
	CHECK_EQ(rpmb_ticket_issue(c.d, &ct, err, sizeof(err)), 0);
	CHECK_EQ(rpmb_import(c.d, blob, len, err, sizeof(err)), -EACCES);
	CHECK_EQ(fx_counter(&c, &res), 0);
	CHECK_EQ(res, RPMB_RES_NO_AUTH_KEY);
	/* Back into the exported source (even with a fresh ticket there): refused. */
	CHECK_EQ(rpmb_import(a.d, blob, len, err, sizeof(err)), -EACCES);
	struct rpmb_ticket at;
	CHECK_EQ(rpmb_ticket_issue(a.d, &at, err, sizeof(err)), 0);
	CHECK_EQ(rpmb_import(a.d, blob, len, err, sizeof(err)), -EACCES);
	(void)fx_counter(&a, &res);
	CHECK_EQ(res, RPMB_RES_GENERAL_FAILURE);

	/* The destination accepts it once. */
	CHECK_EQ(rpmb_import(b.d, blob, len, err, sizeof(err)), 0);
	CHECK_EQ(fx_counter(&b, &res), 1);
	CHECK_EQ(fx_write(&b, 1, 2, 1, data), RPMB_RES_OK);
	CHECK_EQ(fx_write(&b, 2, 2, 1, data), RPMB_RES_OK);
	/* Again, after a restart (the burn is durable) and with the store importable again. */
	rpmb_dev_free(b.d);
	b.d = NULL;
	CHECK_EQ(fx_open(&b, 4), 0);
	set_mig_key(b.d, 0x77);
	CHECK_EQ(rpmb_import(b.d, blob, len, err, sizeof(err)), -EACCES);
	CHECK_EQ(export_for(&b, &c, &blob2, &len2), 0); /* b moves on to c */
	CHECK_EQ(rpmb_import(b.d, blob, len, err, sizeof(err)), -EACCES);
	struct rpmb_ticket bt;
	CHECK_EQ(rpmb_ticket_issue(b.d, &bt, err, sizeof(err)), 0);
	CHECK_EQ(rpmb_import(b.d, blob, len, err, sizeof(err)), -EACCES);
	/* c takes b's blob (for c's newest ticket) and serves at 3; nothing else serves. */
	CHECK_EQ(rpmb_import(c.d, blob2, len2, err, sizeof(err)), 0);
	CHECK_EQ(fx_counter(&c, &res), 3);
	CHECK_EQ(res, RPMB_RES_OK);
	(void)fx_counter(&b, &res);
	CHECK_EQ(res, RPMB_RES_GENERAL_FAILURE);
	(void)fx_counter(&a, &res);
	CHECK_EQ(res, RPMB_RES_GENERAL_FAILURE);
	/* The old blob into c, now or after c issued a new ticket... c is live: refused. */
	CHECK_EQ(rpmb_import(c.d, blob, len, err, sizeof(err)), -EACCES);
	/* A cancelled ticket admits nothing. */
	CHECK_EQ(rpmb_ticket_cancel(b.d, rc, err, sizeof(err)), 0);
	CHECK_EQ(rpmb_ticket_cancel(b.d, rc2, err, sizeof(err)), 0); /* printed again */
	CHECK(vt_ct_memcmp(rc, rc2, sizeof(rc)) == 0);
	/* a's blob went to b (imported): b's receipt for a later ticket is refused. */
	CHECK_EQ(rpmb_cancel_export(a.d, rc, err, sizeof(err)), -EACCES);
	/* A failed migration comes back only by an explicit cancel on the source. */
	CHECK_EQ(rpmb_cancel_export(a.d, NULL, err, sizeof(err)), 0);
	CHECK_EQ(fx_counter(&a, &res), 1);
	CHECK_EQ(res, RPMB_RES_OK);
	/* DEVICE_STATE: armed with the destination's ticket, save exports for it once. */
	struct rpmb_ticket ct2;
	struct fx e;
	fx_init(&e, 1, 4, 4, 0);
	set_mig_key(e.d, 0x77);
	CHECK_EQ(rpmb_ticket_issue(e.d, &ct2, err, sizeof(err)), 0);
	CHECK_EQ(rpmb_arm(a.d, &own, err, sizeof(err)), 0);
	CHECK_EQ(big_pipe(p), 0);
	CHECK_EQ(rpmb_save_state(a.d, p[1]), 0); /* for c's cancelled ticket: exported, but */
	close(p[1]);
	CHECK(rpmb_load_state(e.d, p[0]) < 0); /* e refuses a blob made for another ticket */
	close(p[0]);
	CHECK_EQ(rpmb_cancel_export(a.d, own_rc, err, sizeof(err)), 0); /* c voided own */
	CHECK_EQ(rpmb_arm(a.d, &ct2, err, sizeof(err)), 0);
	CHECK_EQ(big_pipe(p), 0);
	CHECK_EQ(rpmb_save_state(a.d, p[1]), 0);
	close(p[1]);
	CHECK_EQ(rpmb_load_state(e.d, p[0]), 0);
	close(p[0]);
	memcpy(e.key, a.key, sizeof(e.key));
	CHECK_EQ(fx_counter(&e, &res), 1);
	CHECK_EQ(res, RPMB_RES_OK);
	CHECK(!a.d->armed_set); /* used once */
	free(blob);
	free(blob2);
	fx_free(&a);
	fx_free(&b);
	fx_free(&c);
	fx_free(&e);
}

/* An import replaces the data area: journal records from before it are never redone. */
static void test_import_then_reopen(void)
{
	struct fx a, b;
	fx_init(&a, 1, 4, 4, 0);
	fx_init(&b, 1, 4, 4, 0);
	set_mig_key(a.d, 0x77);
	set_mig_key(b.d, 0x77);
	char err[256];
	uint8_t *blob, *blob2;
	size_t len, len2;
	uint8_t x[256], y[256], back[256];
	fill(x, 256, 1);
	fill(y, 256, 2);
	CHECK_EQ(fx_program(&a), RPMB_RES_OK);
	CHECK_EQ(fx_write(&a, 0, 42, 1, x), RPMB_RES_OK);
	CHECK_EQ(export_for(&a, &b, &blob, &len), 0);
	CHECK_EQ(rpmb_import(b.d, blob, len, err, sizeof(err)), 0);
	memcpy(b.key, a.key, sizeof(b.key));
	CHECK_EQ(fx_write(&b, 1, 42, 1, y), RPMB_RES_OK);
	CHECK_EQ(export_for(&b, &a, &blob2, &len2), 0);
	CHECK_EQ(rpmb_import(a.d, blob2, len2, err, sizeof(err)), 0);
	CHECK_EQ(fx_read(&a, 42, 1, back), RPMB_RES_OK);
	CHECK(vt_ct_memcmp(back, y, 256) == 0);
	/* A restart must not roll block 42 back to the pre-export write. */
	rpmb_dev_free(a.d);
	a.d = NULL;
	CHECK_EQ(fx_open(&a, 4), 0);
	memset(back, 0, sizeof(back));
	CHECK_EQ(fx_read(&a, 42, 1, back), RPMB_RES_OK);
	CHECK(vt_ct_memcmp(back, y, 256) == 0);
	free(blob);
	free(blob2);
	fx_free(&a);
	fx_free(&b);
}

static void test_provisioning(void)
{
	uint8_t master[32], k1[32], k2[32], k1b[32];
	memset(master, 0x33, 32);
	CHECK_EQ(rpmb_derive_key(master, "vm-1", k1), 0);
	CHECK_EQ(rpmb_derive_key(master, "vm-1", k1b), 0);
	CHECK_EQ(rpmb_derive_key(master, "vm-2", k2), 0);
	CHECK(vt_ct_memcmp(k1, k1b, 32) == 0);
	CHECK(vt_ct_memcmp(k1, k2, 32) != 0);
	/* RFC 5869-style known answer computed with OpenSSL's HKDF, different path. */
	struct fx f;
	fx_init(&f, 1, 4, 4, 0);
	char err[256];
	CHECK_EQ(rpmb_provision_key(f.d, k1, err, sizeof(err)), 0);
	CHECK_EQ(rpmb_provision_key(f.d, k1, err, sizeof(err)), 0);
	CHECK_EQ(rpmb_provision_key(f.d, k2, err, sizeof(err)), -EKEYREJECTED);
	/* The guest's PROGRAM_KEY fails as for any programmed key. */
	CHECK_EQ(fx_program(&f), RPMB_RES_WRITE_FAILURE);
	memcpy(f.key, k1, 32);
	uint16_t res;
	CHECK_EQ(fx_counter(&f, &res), 0);
	CHECK_EQ(res, RPMB_RES_OK);
	CHECK_EQ(rpmb_cl_check_mac(k1, f.out, 1), 0);
	uint8_t data[256] = {4};
	CHECK_EQ(fx_write(&f, 0, 1, 1, data), RPMB_RES_OK);
	fx_free(&f);
}

/* Writes a key file of n bytes with the given mode; returns its path (static). */
static const char *key_file(const char *dir, const void *text, size_t n, mode_t mode)
{
	static char path[256];
	snprintf(path, sizeof(path), "%s/key", dir);
	(void)unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHECK(fd >= 0 && write(fd, text, n) == (ssize_t)n);
	close(fd);
	CHECK_EQ(chmod(path, mode), 0);
	return path;
}

/*
 * Key files (migration_key, master_key): 32 raw bytes or 64 hex digits and
 * nothing else; whatever is refused leaves no key bytes behind.
 */
static void test_key_file(void)
{
	char dir[] = "/tmp/rpmb-keyfile-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char hex[200], err[256];
	uint8_t key[32], want[32];
	fill(want, 32, 7);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", want[i]);
	/* Accepted: raw bytes, hex (with a line end, CRLF or upper case). */
	memset(key, 0, 32);
	CHECK_EQ(rpmb_read_key_file(key_file(dir, want, 32, 0600), key, err, sizeof(err)), 0);
	CHECK(vt_ct_memcmp(key, want, 32) == 0);
	memcpy(hex + 64, "\r\n", 3);
	memset(key, 0, 32);
	CHECK_EQ(rpmb_read_key_file(key_file(dir, hex, 66, 0400), key, err, sizeof(err)), 0);
	CHECK(vt_ct_memcmp(key, want, 32) == 0);
	for (int i = 0; i < 64; i++)
		hex[i] = (char)toupper((unsigned char)hex[i]);
	memset(key, 0, 32);
	CHECK_EQ(rpmb_read_key_file(key_file(dir, hex, 64, 0600), key, err, sizeof(err)), 0);
	CHECK(vt_ct_memcmp(key, want, 32) == 0);
	/* Refused, the key left zero: anything more than the key, even after many line ends
	 * (the reader saw only the first 80 bytes and took the rest for granted). */
	static const uint8_t zero[32];
	memset(hex + 64, '\n', 16);
	memcpy(hex + 80, "and more", 8);
	memset(key, 0, 32);
	CHECK_EQ(rpmb_read_key_file(key_file(dir, hex, 88, 0600), key, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "64 hex digits") != NULL);
	CHECK(vt_ct_memcmp(key, zero, 32) == 0);
	/* Line ends past the longest key file, then more. */
	char longer[256];
	memcpy(longer, hex, 64);
	memset(longer + 64, '\n', 129 - 64);
	memcpy(longer + 129, "junk", 4);
	memset(key, 0, 32);
	CHECK_EQ(rpmb_read_key_file(key_file(dir, longer, 133, 0600), key, err, sizeof(err)),
		 -EINVAL);
	CHECK(strstr(err, "64 hex digits") != NULL);
	CHECK(vt_ct_memcmp(key, zero, 32) == 0);
	/* Two keys, one per line. */
	memcpy(hex + 64, "\n", 1);
	memcpy(hex + 65, hex, 64);
	hex[129] = '\n';
	memset(key, 0, 32);
	CHECK_EQ(rpmb_read_key_file(key_file(dir, hex, 130, 0600), key, err, sizeof(err)), -EINVAL);
	CHECK(vt_ct_memcmp(key, zero, 32) == 0);
	/* 63 digits, a stray character, 33 raw bytes, an empty file. */
	CHECK_EQ(rpmb_read_key_file(key_file(dir, hex, 63, 0600), key, err, sizeof(err)), -EINVAL);
	hex[10] = 'g';
	CHECK_EQ(rpmb_read_key_file(key_file(dir, hex, 64, 0600), key, err, sizeof(err)), -EINVAL);
	CHECK(vt_ct_memcmp(key, zero, 32) == 0);
	uint8_t raw[33];
	fill(raw, 33, 3);
	CHECK_EQ(rpmb_read_key_file(key_file(dir, raw, 33, 0600), key, err, sizeof(err)), -EINVAL);
	CHECK_EQ(rpmb_read_key_file(key_file(dir, raw, 0, 0600), key, err, sizeof(err)), -EINVAL);
	CHECK(vt_ct_memcmp(key, zero, 32) == 0);
	/* Group or other access, or not a file: refused, with the mode. */
	CHECK_EQ(rpmb_read_key_file(key_file(dir, want, 32, 0640), key, err, sizeof(err)), -EPERM);
	CHECK(strstr(err, "0640") != NULL);
	CHECK(rpmb_read_key_file(dir, key, err, sizeof(err)) < 0);
	CHECK(vt_ct_memcmp(key, zero, 32) == 0);
	/* A FIFO with no writer: refused at once, start-up never waits for a writer (alarm: a
	 * hang fails the test). */
	char fifo[256];
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	CHECK_EQ(mkfifo(fifo, 0600), 0);
	alarm(10);
	CHECK_EQ(rpmb_read_key_file(fifo, key, err, sizeof(err)), -EPERM);
	alarm(0);
	CHECK(strstr(err, "regular file") != NULL);
	(void)unlink(fifo);
	char path[256];
	snprintf(path, sizeof(path), "%s/key", dir);
	(void)unlink(path);
	CHECK_EQ(rmdir(dir), 0);
}

/*
 * Without migration_key every migration step says what is missing and how to
 * give it, spelled as the option is (DEVICE_STATE load said "migration-key").
 */
static void test_no_migration_key(void)
{
	struct fx f;
	fx_init(&f, 1, 4, 4, 0);
	char err[400] = "", logf[] = "/tmp/rpmb-nokey-log-XXXXXX";
	struct rpmb_ticket t;
	CHECK_EQ(rpmb_ticket_issue(f.d, &t, err, sizeof(err)), -ENOKEY);
	CHECK(strstr(err, "migration_key=FILE") != NULL);
	memset(&t, 0x11, sizeof(t));
	uint8_t *blob = NULL;
	size_t len = 0;
	err[0] = 0;
	CHECK_EQ(rpmb_export(f.d, &t, &blob, &len, err, sizeof(err)), -ENOKEY);
	CHECK(strstr(err, "migration_key=FILE") != NULL);
	uint8_t fake[64] = {0};
	err[0] = 0;
	CHECK_EQ(rpmb_import(f.d, fake, sizeof(fake), err, sizeof(err)), -ENOKEY);
	CHECK(strstr(err, "migration_key=FILE") != NULL);
	/* DEVICE_STATE load: refused before reading, one log line with the fix. */
	int lfd = mkstemp(logf);
	CHECK(lfd >= 0);
	CHECK_EQ(vt_log_set_target(VT_LOG_TARGET_FILE, logf), 0);
	int p[2];
	CHECK_EQ(pipe(p), 0);
	CHECK_EQ(rpmb_load_state(f.d, p[0]), -ENOKEY);
	CHECK_EQ(vt_log_set_target(VT_LOG_TARGET_STDERR, NULL), 0);
	char text[1024] = "";
	ssize_t n = pread(lfd, text, sizeof(text) - 1, 0);
	CHECK(n > 0);
	CHECK(strstr(text, "DEVICE_STATE load refused") != NULL);
	CHECK(strstr(text, "migration_key=FILE") != NULL);
	CHECK(strstr(text, "migration-key") == NULL);
	close(p[0]);
	close(p[1]);
	close(lfd);
	unlink(logf);
	fx_free(&f);
}

/*
 * Issue 12, cancel-export: the source resumes only on the destination's void
 * receipt for the very ticket it exported for. After it, the old blob is
 * refused at the destination (no rollback of the writes made since, no two
 * live copies) and the source never exports for that ticket again.
 */
static void test_cancel_receipt(void)
{
	struct fx a, b, c;
	fx_init(&a, 1, 4, 4, 0);
	fx_init(&b, 1, 4, 4, 0);
	fx_init(&c, 1, 4, 4, 0);
	set_mig_key(a.d, 0x77);
	set_mig_key(b.d, 0x77);
	set_mig_key(c.d, 0x77);
	char err[400];
	uint8_t *blob, *blob2, data[256], rb[RPMB_RECEIPT_SIZE], rc[RPMB_RECEIPT_SIZE];
	size_t len, len2;
	uint16_t res;
	fill(data, 256, 5);
	CHECK_EQ(fx_program(&a), RPMB_RES_OK);
	CHECK_EQ(fx_write(&a, 0, 1, 1, data), RPMB_RES_OK);
	memcpy(b.key, a.key, sizeof(b.key));
	struct rpmb_ticket t1, tc;
	CHECK_EQ(rpmb_ticket_issue(b.d, &t1, err, sizeof(err)), 0);
	CHECK_EQ(rpmb_export(a.d, &t1, &blob, &len, err, sizeof(err)), 0);
	/* A receipt for another ticket (another store's), a forged one, or one made
	 * under another migration key: refused, the source stays exported. */
	CHECK_EQ(rpmb_ticket_issue(c.d, &tc, err, sizeof(err)), 0);
	CHECK_EQ(rpmb_ticket_cancel(c.d, rc, err, sizeof(err)), 0);
	CHECK_EQ(rpmb_cancel_export(a.d, rc, err, sizeof(err)), -EACCES);
	CHECK(strstr(err, "ticket-cancel") != NULL);
	uint8_t forged[RPMB_RECEIPT_SIZE];
	CHECK_EQ(rpmb_receipt_compute(b.d->mig_key, &t1, forged), 0);
	forged[7] ^= 1;
	CHECK_EQ(rpmb_cancel_export(a.d, forged, err, sizeof(err)), -EACCES);
	uint8_t other_key[32];
	memset(other_key, 0x78, sizeof(other_key));
	CHECK_EQ(rpmb_receipt_compute(other_key, &t1, forged), 0);
	CHECK_EQ(rpmb_cancel_export(a.d, forged, err, sizeof(err)), -EACCES);
	(void)fx_counter(&a, &res);
	CHECK_EQ(res, RPMB_RES_GENERAL_FAILURE);
	/* The destination voids t1 durably and prints its receipt; the source resumes. */
	CHECK_EQ(rpmb_ticket_cancel(b.d, rb, err, sizeof(err)), 0);
	CHECK_EQ(rpmb_cancel_export(a.d, rb, err, sizeof(err)), 0);
	CHECK_EQ(fx_write(&a, 1, 1, 1, data), RPMB_RES_OK);
	CHECK_EQ(fx_write(&a, 2, 1, 1, data), RPMB_RES_OK);
	/* The old blob is refused at the destination, also after both restart. */
	CHECK_EQ(rpmb_import(b.d, blob, len, err, sizeof(err)), -EACCES);
	/* Never again an export for t1 (a blob for t1 could carry this older state). */
	CHECK_EQ(rpmb_export(a.d, &t1, &blob2, &len2, err, sizeof(err)), -EALREADY);
	CHECK(strstr(err, "fresh") != NULL);
	rpmb_dev_free(a.d);
	a.d = NULL;
	rpmb_dev_free(b.d);
	b.d = NULL;
	CHECK_EQ(fx_open(&a, 4), 0);
	CHECK_EQ(fx_open(&b, 4), 0);
	set_mig_key(a.d, 0x77);
	set_mig_key(b.d, 0x77);
	CHECK_EQ(rpmb_import(b.d, blob, len, err, sizeof(err)), -EACCES);
	CHECK_EQ(rpmb_export(a.d, &t1, &blob2, &len2, err, sizeof(err)), -EALREADY);
	(void)fx_counter(&b, &res);
	CHECK_EQ(res, RPMB_RES_NO_AUTH_KEY); /* b never took the state */
	CHECK_EQ(fx_counter(&a, &res), 3);
	CHECK_EQ(res, RPMB_RES_OK);
	/* The lost receipt is printed again; a used ticket gives no receipt. */
	CHECK_EQ(rpmb_ticket_cancel(b.d, rc, err, sizeof(err)), 0);
	CHECK(vt_ct_memcmp(rb, rc, sizeof(rb)) == 0);
	/* A new migration needs a new ticket, and its receipt is not t1's. */
	struct rpmb_ticket t2;
	CHECK_EQ(rpmb_ticket_issue(b.d, &t2, err, sizeof(err)), 0);
	CHECK_EQ(rpmb_export(a.d, &t2, &blob2, &len2, err, sizeof(err)), 0);
	CHECK_EQ(rpmb_cancel_export(a.d, rb, err, sizeof(err)), -EACCES);
	CHECK_EQ(rpmb_import(b.d, blob, len, err, sizeof(err)), -EACCES);
	CHECK_EQ(rpmb_import(b.d, blob2, len2, err, sizeof(err)), 0);
	CHECK_EQ(fx_counter(&b, &res), 3);
	CHECK_EQ(res, RPMB_RES_OK);
	CHECK_EQ(rpmb_ticket_cancel(b.d, rc, err, sizeof(err)), -EINVAL);
	free(blob);
	free(blob2);
	fx_free(&a);
	fx_free(&b);
	fx_free(&c);
}

int main(void)
{
	vt_log_set_level(VT_LOG_ERR);
	TEST_RUN(test_mac_known_answer);
	TEST_RUN(test_no_key);
	TEST_RUN(test_program_key);
	TEST_RUN(test_result_read_standalone);
	TEST_RUN(test_counter);
	TEST_RUN(test_write_read);
	TEST_RUN(test_replay_and_auth);
	TEST_RUN(test_addr_and_counts);
	TEST_RUN(test_malformed);
	TEST_RUN(test_io_failures);
	TEST_RUN(test_expired);
	TEST_RUN(test_export_import);
	TEST_RUN(test_import_then_reopen);
	TEST_RUN(test_migration_replay);
	TEST_RUN(test_cancel_receipt);
	TEST_RUN(test_key_file);
	TEST_RUN(test_no_migration_key);
	TEST_RUN(test_provisioning);
	TEST_DONE();
}
