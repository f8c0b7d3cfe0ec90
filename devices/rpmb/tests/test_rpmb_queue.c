/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The request queue against a mock guest: frames split across descriptors
 * anywhere (and across guest-memory regions), responses spread over several
 * writable descriptors, used.len, and malformed chains.
 */
#include "fixture.h"
#include "mock_guest.h"
#include "test_util.h"

struct qfx {
	struct fx f;
	struct mock_guest g;
	struct mock_ring r;
	struct vt_queue q;
	uint16_t next_desc;
};

static void q_init(struct qfx *x)
{
	fx_init(&x->f, 1, 8, 8, 0);
	mock_guest_init(&x->g);
	mock_ring_init(&x->r, &x->g, 64);
	vt_queue_init(&x->q, NULL, &x->g.mem, 0);
	mock_ring_attach(&x->r, &x->q);
	x->next_desc = 0;
}

static void q_free(struct qfx *x)
{
	vt_queue_destroy(&x->q);
	mock_guest_free(&x->g);
	fx_free(&x->f);
}

/*
 * Submits rd bytes of request split into the given readable piece sizes and
 * a writable area split into wr pieces; returns used.len, response in resp.
 */
static uint32_t submit(struct qfx *x, const void *req, const uint32_t *rd, unsigned nrd,
		       const uint32_t *wr, unsigned nwr, uint8_t *resp, bool straddle)
{
	uint64_t addr[16];
	uint32_t len[16];
	bool w[16];
	unsigned n = 0;
	size_t off = 0;
	for (unsigned i = 0; i < nrd; i++, n++) {
		addr[n] = mock_alloc(&x->g, rd[i], 8);
		memcpy(mock_gpa(&x->g, addr[n]), (const uint8_t *)req + off, rd[i]);
		off += rd[i];
		len[n] = rd[i];
		w[n] = false;
	}
	unsigned first_wr = n;
	uint32_t wtotal = 0;
	for (unsigned i = 0; i < nwr; i++, n++) {
		if (straddle && i == 0) /* across the region 0/1 boundary */
			addr[n] = MOCK_R1_GPA - wr[i] / 2;
		else
			addr[n] = mock_alloc(&x->g, wr[i], 8);
		memset(mock_gpa(&x->g, addr[n]), 0xcc, wr[i]);
		len[n] = wr[i];
		w[n] = true;
		wtotal += wr[i];
	}
	uint16_t head = x->next_desc;
	mock_chain(&x->r, head, n, addr, len, w);
	x->next_desc = (uint16_t)((x->next_desc + n) % 64);
	uint16_t used_before = x->r.used->idx;
	rpmb_queue_handle(x->f.d, &x->q);
	if (x->r.used->idx != (uint16_t)(used_before + 1))
		return 0xffffffff;
	uint32_t ulen = x->r.used->ring[used_before % 64].len;
	size_t o = 0;
	for (unsigned i = first_wr; i < n && o < wtotal; i++) {
		if (straddle && i == first_wr) {
			/* regions 0/1 are contiguous in the mock's memfd */
			memcpy(resp + o, mock_gpa(&x->g, addr[i]), len[i]);
		} else {
			memcpy(resp + o, mock_gpa(&x->g, addr[i]), len[i]);
		}
		o += len[i];
	}
	return ulen;
}

static void test_split_frames(void)
{
	struct qfx x;
	q_init(&x);
	struct rpmb_frame req[10], resp[8];
	size_t n = rpmb_cl_program_key(req, x.f.key, true);
	uint32_t rd[] = {100, 412 + 7, 505};
	uint32_t wr[] = {300, 212};
	CHECK_EQ(submit(&x, req, rd, 3, wr, 2, (uint8_t *)resp, true), 512);
	CHECK_EQ(n, 2);
	CHECK_EQ(rpmb_result(&resp[0]), RPMB_RES_OK);
	CHECK_EQ(rpmb_req(&resp[0]), RPMB_RESP_PROGRAM_KEY);
	CHECK_EQ(rpmb_cl_check_mac(x.f.key, resp, 1), 0);

	/* A 3-block write + RESULT_READ in odd pieces. */
	uint8_t data[3 * 256];
	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)i;
	n = rpmb_cl_write(req, x.f.key, 0, 10, 3, data, true);
	uint32_t rd2[] = {1, 511, 700, 300, 536};
	uint32_t wr2[] = {512};
	CHECK_EQ(submit(&x, req, rd2, 5, wr2, 1, (uint8_t *)resp, false), 512);
	CHECK_EQ(rpmb_result(&resp[0]), RPMB_RES_OK);
	CHECK_EQ(rpmb_counter(&resp[0]), 1);

	/* A 3-block read into three writable pieces that split frames. */
	uint8_t nonce[16] = {5};
	rpmb_cl_read(req, 10, 3, nonce);
	uint32_t rd3[] = {512};
	uint32_t wr3[] = {700, 100, 736};
	CHECK_EQ(submit(&x, req, rd3, 1, wr3, 3, (uint8_t *)resp, true), 3 * 512);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(rpmb_result(&resp[i]), RPMB_RES_OK);
		CHECK(vt_ct_memcmp(resp[i].b + RPMB_OFF_DATA, data + i * 256, 256) == 0);
	}
	CHECK_EQ(rpmb_cl_check_mac(x.f.key, resp, 3), 0);
	/* More writable room than needed: still exactly 3 frames. */
	uint32_t wr4[] = {4096};
	CHECK_EQ(submit(&x, req, rd3, 1, wr4, 1, (uint8_t *)resp, false), 3 * 512);
	q_free(&x);
}

static void test_malformed_chains(void)
{
	struct qfx x;
	q_init(&x);
	struct rpmb_frame req[12], resp[2];
	uint8_t nonce[16] = {0};
	rpmb_cl_get_counter(req, nonce);
	/* Not whole frames. */
	uint32_t rd[] = {700};
	uint32_t wr[] = {512};
	CHECK_EQ(submit(&x, req, rd, 1, wr, 1, (uint8_t *)resp, false), 512);
	CHECK_EQ(rpmb_result(&resp[0]), RPMB_RES_GENERAL_FAILURE);
	CHECK_EQ(rpmb_req(&resp[0]), RPMB_RESP_GET_COUNTER);
	/* Shorter than a frame. */
	uint32_t rd1[] = {10};
	CHECK_EQ(submit(&x, req, rd1, 1, wr, 1, (uint8_t *)resp, false), 512);
	CHECK_EQ(rpmb_result(&resp[0]), RPMB_RES_GENERAL_FAILURE);
	/* Nothing readable at all. */
	CHECK_EQ(submit(&x, req, NULL, 0, wr, 1, (uint8_t *)resp, false), 512);
	CHECK_EQ(rpmb_result(&resp[0]), RPMB_RES_GENERAL_FAILURE);
	/* Too many frames (max_wr_cnt + 1 = 9 allowed). */
	memset(req, 0, sizeof(req));
	uint32_t rd2[] = {10 * 512};
	CHECK_EQ(submit(&x, req, rd2, 1, wr, 1, (uint8_t *)resp, false), 512);
	CHECK_EQ(rpmb_result(&resp[0]), RPMB_RES_GENERAL_FAILURE);
	/* Writable area too small for a frame: used.len 0, nothing written. */
	rpmb_cl_get_counter(req, nonce);
	uint32_t rd3[] = {512};
	uint32_t wr3[] = {100};
	CHECK_EQ(submit(&x, req, rd3, 1, wr3, 1, (uint8_t *)resp, false), 0);
	CHECK_EQ(((uint8_t *)resp)[0], 0xcc);
	/* No writable part. */
	CHECK_EQ(submit(&x, req, rd3, 1, NULL, 0, (uint8_t *)resp, false), 0);
	CHECK(!x.q.broken);
	q_free(&x);
}

int main(void)
{
	vt_log_set_level(VT_LOG_ERR);
	TEST_RUN(test_split_frames);
	TEST_RUN(test_malformed_chains);
	TEST_DONE();
}
