/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The rpmb device profile (devices/rpmb): driver helpers, the sanity
 * request (GET_WRITE_COUNTER with a nonce), and the rpmb.* conformance cases.
 *
 * The cases share the device's persistent state: they program the
 * conformance key when the store has none, and skip what needs a key when
 * the store holds another one. rpmb.no_key only runs on a fresh store.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <openssl/rand.h>

#include "conformance.h"
#include "rpmb_probe.h"
#include "secmem.h"

int prpmb_config(struct fe_dev *d, struct rpmb_cfg *ret)
{
	uint8_t b[3];
	int r = fe_vu_get_config(d->vu, 0, 3, 0, b);
	if (r < 0)
		return r;
	*ret = (struct rpmb_cfg){b[0], b[1], b[2]};
	return 0;
}

int prpmb_xfer(struct fe_dev *d, const struct rpmb_frame *in, size_t nin, struct rpmb_frame *out,
	       size_t nout, size_t *ret_frames)
{
	uint64_t rd = 0, wr = 0;
	struct fe_seg s[2];
	unsigned n = 0;
	int r;
	if (nin) {
		r = fe_mem_alloc(d->mem, nin * RPMB_FRAME_SIZE, 64, &rd);
		if (r < 0)
			return r;
		if (fe_mem_write(d->mem, rd, in, nin * RPMB_FRAME_SIZE) < 0)
			return -EFAULT;
		s[n++] = (struct fe_seg){rd, (uint32_t)(nin * RPMB_FRAME_SIZE), false};
	}
	if (nout) {
		r = fe_mem_alloc(d->mem, nout * RPMB_FRAME_SIZE, 64, &wr);
		if (r < 0)
			goto out;
		s[n++] = (struct fe_seg){wr, (uint32_t)(nout * RPMB_FRAME_SIZE), true};
	}
	struct fe_used u;
	r = fe_dev_submit(d, 0, s, n, &u);
	if (r == 0 && (u.len % RPMB_FRAME_SIZE || u.len > nout * RPMB_FRAME_SIZE))
		r = -EPROTO;
	if (r == 0) {
		*ret_frames = u.len / RPMB_FRAME_SIZE;
		if (u.len && fe_mem_read(d->mem, wr, out, u.len) < 0)
			r = -EFAULT;
	}
out:
	if (nin)
		(void)fe_mem_release(d->mem, rd, nin * RPMB_FRAME_SIZE);
	if (nout && wr)
		(void)fe_mem_release(d->mem, wr, nout * RPMB_FRAME_SIZE);
	return r;
}

static int one_result(struct fe_dev *d, const struct rpmb_frame *in, size_t nin,
		      struct rpmb_frame *out, uint16_t resp)
{
	size_t n = 0;
	int r = prpmb_xfer(d, in, nin, out, 1, &n);
	if (r < 0)
		return r;
	if (n != 1 || rpmb_req(out) != resp)
		return -EPROTO;
	return rpmb_result(out);
}

int prpmb_program_key(struct fe_dev *d, const uint8_t key[RPMB_KEY_SIZE])
{
	struct rpmb_frame in[2], out;
	size_t n = rpmb_cl_program_key(in, key, true);
	return one_result(d, in, n, &out, RPMB_RESP_PROGRAM_KEY);
}

int prpmb_counter(struct fe_dev *d, const uint8_t *key, uint32_t *ret_counter)
{
	return prpmb_counter_h(d, NULL, key, NULL, ret_counter);
}

int prpmb_counter_h(struct fe_dev *d, struct rpmb_hmac *h, const uint8_t *key,
		    const uint8_t *nonce_in, uint32_t *ret_counter)
{
	struct rpmb_frame in, out;
	uint8_t nonce[RPMB_NONCE_SIZE];
	if (nonce_in)
		memcpy(nonce, nonce_in, sizeof(nonce));
	else if (RAND_bytes(nonce, sizeof(nonce)) != 1)
		return -EIO;
	rpmb_cl_get_counter(&in, nonce);
	int r = one_result(d, &in, 1, &out, RPMB_RESP_GET_COUNTER);
	if (r < 0)
		return r;
	if (vt_ct_memcmp(out.b + RPMB_OFF_NONCE, nonce, RPMB_NONCE_SIZE) != 0)
		return -EBADMSG;
	if (key && (r & 0x7f) == RPMB_RES_OK && rpmb_cl_check_mac_h(h, key, &out, 1) < 0)
		return -EBADMSG;
	*ret_counter = rpmb_counter(&out);
	return r;
}

int prpmb_write(struct fe_dev *d, const uint8_t key[RPMB_KEY_SIZE], uint32_t counter, uint16_t addr,
		uint16_t nblk, const uint8_t *data, uint32_t *ret_counter)
{
	return prpmb_write_h(d, NULL, key, counter, addr, nblk, data, ret_counter);
}

int prpmb_write_h(struct fe_dev *d, struct rpmb_hmac *h, const uint8_t key[RPMB_KEY_SIZE],
		  uint32_t counter, uint16_t addr, uint16_t nblk, const uint8_t *data,
		  uint32_t *ret_counter)
{
	struct rpmb_frame *in = calloc((size_t)nblk + 1, sizeof(*in)), out;
	if (!in)
		return -ENOMEM;
	size_t n = rpmb_cl_write_h(h, in, key, counter, addr, nblk, data, true);
	int r = one_result(d, in, n, &out, RPMB_RESP_DATA_WRITE);
	free(in);
	if (r >= 0 && (r & 0x7f) != RPMB_RES_NO_AUTH_KEY && rpmb_cl_check_mac_h(h, key, &out, 1) < 0)
		return -EBADMSG;
	if (r >= 0 && ret_counter)
		*ret_counter = rpmb_counter(&out);
	return r;
}

int prpmb_read(struct fe_dev *d, const uint8_t *key, uint16_t addr, uint16_t nblk, uint8_t *data)
{
	struct rpmb_frame in, *out = calloc(nblk ? nblk : 1, sizeof(*out));
	uint8_t nonce[RPMB_NONCE_SIZE];
	if (!out)
		return -ENOMEM;
	if (RAND_bytes(nonce, sizeof(nonce)) != 1) {
		free(out);
		return -EIO;
	}
	rpmb_cl_read(&in, addr, nblk, nonce);
	size_t n = 0;
	int r = prpmb_xfer(d, &in, 1, out, nblk ? nblk : 1, &n);
	if (r == 0 && n == 0)
		r = -EPROTO;
	if (r == 0) {
		r = rpmb_result(&out[n - 1]);
		for (size_t i = 0; i < n; i++)
			if (rpmb_req(&out[i]) != RPMB_RESP_DATA_READ ||
			    vt_ct_memcmp(out[i].b + RPMB_OFF_NONCE, nonce, RPMB_NONCE_SIZE) != 0)
				r = -EBADMSG;
		if (r >= 0 && (r & 0x7f) == RPMB_RES_OK) {
			if (n != nblk || (key && rpmb_cl_check_mac(key, out, n) < 0))
				r = -EBADMSG;
			for (size_t i = 0; r >= 0 && i < n; i++)
				memcpy(data + i * RPMB_BLOCK_SIZE, out[i].b + RPMB_OFF_DATA,
				       RPMB_BLOCK_SIZE);
		}
	}
	free(out);
	return r;
}

/* ---- profile -------------------------------------------------------------- */

static void rpmb_defaults(struct fe_dev_opts *o)
{
	o->queue_size = 64;
}

static int rpmb_sanity(struct fe_dev *d, unsigned q, char *reason, size_t len)
{
	(void)q;
	uint32_t c;
	int r = prpmb_counter(d, NULL, &c);
	if (r < 0) {
		snprintf(reason, len, "GET_WRITE_COUNTER: %s",
			 r == -ETIMEDOUT ? "timeout" : strerror(-r));
		return r;
	}
	/* A device that refuses service after an export answers GENERAL_FAILURE. */
	if ((r & 0x7f) != RPMB_RES_OK && (r & 0x7f) != RPMB_RES_NO_AUTH_KEY) {
		snprintf(reason, len, "GET_WRITE_COUNTER result 0x%04x", r);
		return -EPROTO;
	}
	return 0;
}

/* ---- cases ---------------------------------------------------------------- */

/* The key the conformance cases program into a fresh store. */
static const uint8_t conf_key[32] = "vtrust-conformance-rpmb-key-0001";

static enum conf_result need_key(struct conf_ctx *c, uint32_t *counter)
{
	int r = prpmb_counter(c->dev, NULL, counter);
	if (r < 0)
		return conf_fail(c, "GET_WRITE_COUNTER: %s", strerror(-r));
	if (r == RPMB_RES_NO_AUTH_KEY) {
		r = prpmb_program_key(c->dev, conf_key);
		if (r != RPMB_RES_OK)
			return conf_fail(c, "PROGRAM_KEY on a fresh store: result 0x%04x", r);
	}
	r = prpmb_counter(c->dev, conf_key, counter);
	if (r == -EBADMSG)
		return conf_skip(c, "the store holds another key");
	if (r < 0 || (r & 0x7f) != RPMB_RES_OK)
		return conf_fail(c, "GET_WRITE_COUNTER: %d", r);
	return CONF_PASS;
}

#define NEED_KEY(c, ctr)                                                                           \
	do {                                                                                       \
		enum conf_result _k = need_key(c, ctr);                                            \
		if (_k != CONF_PASS)                                                               \
			return _k;                                                                 \
	} while (0)

static enum conf_result expect(struct conf_ctx *c, const char *what, int got, int want)
{
	if (got != want)
		return conf_fail(c, "%s: result %d (0x%04x), expected 0x%04x", what, got,
				 got < 0 ? 0 : got, want);
	return CONF_PASS;
}

#define EXPECT(c, what, got, want)                                                                 \
	do {                                                                                       \
		if (expect(c, what, got, want) != CONF_PASS)                                       \
			return CONF_FAIL;                                                          \
	} while (0)

static enum conf_result run_config(struct conf_ctx *c)
{
	struct rpmb_cfg cfg;
	if (prpmb_config(c->dev, &cfg) < 0)
		return conf_fail(c, "GET_CONFIG of 3 bytes refused");
	if (cfg.capacity < 1 || cfg.capacity > 128 || cfg.max_wr < 1 || cfg.max_rd < 1)
		return conf_fail(c, "config capacity %u max_wr %u max_rd %u", cfg.capacity,
				 cfg.max_wr, cfg.max_rd);
	uint8_t b[8];
	if (fe_vu_get_config(c->dev->vu, 0, 4, 0, b) != -EREMOTEIO)
		return conf_fail(c, "a 4-byte GET_CONFIG was answered");
	if (fe_vu_get_config(c->dev->vu, 2, 2, 0, b) != -EREMOTEIO)
		return conf_fail(c, "GET_CONFIG past the end was answered");
	if (c->dev->vu->features & 0xffffffull)
		return conf_fail(c, "device feature bits offered: 0x%llx",
				 (unsigned long long)(c->dev->vu->features & 0xffffff));
	conf_outcome(c, "capacity %u × 128 KiB, max_wr_cnt %u, max_rd_cnt %u", cfg.capacity,
		     cfg.max_wr, cfg.max_rd);
	return CONF_PASS;
}

static enum conf_result run_no_key(struct conf_ctx *c)
{
	uint32_t ctr;
	int r = prpmb_counter(c->dev, NULL, &ctr);
	if (r != RPMB_RES_NO_AUTH_KEY)
		return conf_skip(c, "the key is already programmed");
	uint8_t data[256] = {0}, back[256];
	EXPECT(c, "DATA_WRITE without a key", prpmb_write(c->dev, conf_key, 0, 0, 1, data, NULL),
	       RPMB_RES_NO_AUTH_KEY);
	EXPECT(c, "DATA_READ without a key", prpmb_read(c->dev, NULL, 0, 1, back),
	       RPMB_RES_NO_AUTH_KEY);
	return CONF_PASS;
}

static enum conf_result run_program_key(struct conf_ctx *c)
{
	uint32_t ctr;
	NEED_KEY(c, &ctr);
	uint8_t other[32];
	memset(other, 0x99, sizeof(other));
	EXPECT(c, "second PROGRAM_KEY", prpmb_program_key(c->dev, other), RPMB_RES_WRITE_FAILURE);
	/* The first key still authenticates. */
	int r = prpmb_counter(c->dev, conf_key, &ctr);
	if (r != RPMB_RES_OK)
		return conf_fail(c, "after a refused PROGRAM_KEY: %d", r);
	/* block_count != 1 */
	struct rpmb_frame in[2], out;
	size_t n = rpmb_cl_program_key(in, other, true);
	rpmb_put16(&in[0], RPMB_OFF_BLOCK_COUNT, 0);
	size_t got;
	if (prpmb_xfer(c->dev, in, n, &out, 1, &got) < 0 || got != 1)
		return conf_fail(c, "no answer to a PROGRAM_KEY with block_count 0");
	EXPECT(c, "PROGRAM_KEY block_count 0", rpmb_result(&out), RPMB_RES_GENERAL_FAILURE);
	return CONF_PASS;
}

static enum conf_result run_counter(struct conf_ctx *c)
{
	uint32_t ctr, ctr2;
	NEED_KEY(c, &ctr);
	EXPECT(c, "GET_WRITE_COUNTER", prpmb_counter(c->dev, conf_key, &ctr2), RPMB_RES_OK);
	if (ctr2 != ctr)
		return conf_fail(c, "counter moved without a write: %u -> %u", ctr, ctr2);
	struct rpmb_frame in, out;
	uint8_t nonce[16] = {1};
	rpmb_cl_get_counter(&in, nonce);
	rpmb_put16(&in, RPMB_OFF_BLOCK_COUNT, 2);
	size_t n;
	if (prpmb_xfer(c->dev, &in, 1, &out, 1, &n) < 0 || n != 1)
		return conf_fail(c, "no answer");
	EXPECT(c, "block_count 2", rpmb_result(&out), RPMB_RES_GENERAL_FAILURE);
	conf_outcome(c, "counter %u", ctr);
	return CONF_PASS;
}

static void pattern(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed * 131u + i * 7u + (i >> 8));
}

static enum conf_result run_write_read(struct conf_ctx *c)
{
	uint32_t ctr, after;
	NEED_KEY(c, &ctr);
	struct rpmb_cfg cfg;
	if (prpmb_config(c->dev, &cfg) < 0)
		return conf_fail(c, "GET_CONFIG");
	size_t maxb = VT_MAX(cfg.max_wr, cfg.max_rd);
	uint8_t *data = malloc(maxb * 256), *back = malloc(maxb * 256);
	enum conf_result res = CONF_PASS;
	pattern(data, maxb * 256, ctr);
	int r = prpmb_write(c->dev, conf_key, ctr, 3, 1, data, &after);
	if (r != RPMB_RES_OK || after != ctr + 1) {
		res = conf_fail(c, "one-block write: result %d, counter %u -> %u", r, ctr, after);
		goto out;
	}
	r = prpmb_read(c->dev, conf_key, 3, 1, back);
	if (r != RPMB_RES_OK || vt_ct_memcmp(back, data, 256) != 0) {
		res = conf_fail(c, "one-block read back: result %d", r);
		goto out;
	}
	/* max_wr_cnt blocks in one request, read back max_rd_cnt at a time. */
	r = prpmb_write(c->dev, conf_key, after, 16, cfg.max_wr, data, &after);
	if (r != RPMB_RES_OK) {
		res = conf_fail(c, "%u-block write: result %d", cfg.max_wr, r);
		goto out;
	}
	for (unsigned off = 0; off < cfg.max_wr; off += cfg.max_rd) {
		unsigned nb = VT_MIN((unsigned)cfg.max_rd, cfg.max_wr - off);
		r = prpmb_read(c->dev, conf_key, (uint16_t)(16 + off), (uint16_t)nb, back);
		if (r != RPMB_RES_OK || vt_ct_memcmp(back, data + off * 256, nb * 256) != 0) {
			res = conf_fail(c, "multi-block read at %u: result %d", 16 + off, r);
			goto out;
		}
	}
	/* The last block of the device. */
	unsigned last = cfg.capacity * 512u - 1;
	r = prpmb_write(c->dev, conf_key, after, (uint16_t)last, 1, data, &after);
	if (r != RPMB_RES_OK || prpmb_read(c->dev, conf_key, (uint16_t)last, 1, back) != 0 ||
	    vt_ct_memcmp(back, data, 256) != 0)
		res = conf_fail(c, "last block: result %d", r);
out:
	free(data);
	free(back);
	return res;
}

static enum conf_result run_replay(struct conf_ctx *c)
{
	uint32_t ctr, after;
	NEED_KEY(c, &ctr);
	uint8_t data[256], other[256], back[256];
	pattern(data, 256, 77);
	pattern(other, 256, 78);
	struct rpmb_frame in[2], out;
	size_t n = rpmb_cl_write(in, conf_key, ctr, 40, 1, data, true), got;
	if (prpmb_xfer(c->dev, in, n, &out, 1, &got) < 0 || got != 1)
		return conf_fail(c, "no answer to the write");
	EXPECT(c, "write", rpmb_result(&out), RPMB_RES_OK);
	/* The same frames again: a replay. */
	if (prpmb_xfer(c->dev, in, n, &out, 1, &got) < 0 || got != 1)
		return conf_fail(c, "no answer to the replay");
	EXPECT(c, "replayed write", rpmb_result(&out), RPMB_RES_COUNT_FAILURE);
	/* Stale and future counters with a valid MAC. */
	EXPECT(c, "stale counter", prpmb_write(c->dev, conf_key, ctr, 40, 1, other, NULL),
	       RPMB_RES_COUNT_FAILURE);
	EXPECT(c, "future counter", prpmb_write(c->dev, conf_key, ctr + 2, 40, 1, other, NULL),
	       RPMB_RES_COUNT_FAILURE);
	/* Tampered MAC, tampered data. */
	n = rpmb_cl_write(in, conf_key, ctr + 1, 40, 1, other, true);
	in[0].b[RPMB_OFF_KEY_MAC + 5] ^= 0x10;
	if (prpmb_xfer(c->dev, in, n, &out, 1, &got) < 0 || got != 1)
		return conf_fail(c, "no answer");
	EXPECT(c, "tampered MAC", rpmb_result(&out), RPMB_RES_AUTH_FAILURE);
	n = rpmb_cl_write(in, conf_key, ctr + 1, 40, 1, other, true);
	in[0].b[RPMB_OFF_DATA] ^= 1;
	if (prpmb_xfer(c->dev, in, n, &out, 1, &got) < 0 || got != 1)
		return conf_fail(c, "no answer");
	EXPECT(c, "tampered data", rpmb_result(&out), RPMB_RES_AUTH_FAILURE);
	if (prpmb_read(c->dev, conf_key, 40, 1, back) != RPMB_RES_OK ||
	    vt_ct_memcmp(back, data, 256) != 0)
		return conf_fail(c, "a refused write changed the data");
	EXPECT(c, "counter", prpmb_counter(c->dev, conf_key, &after), RPMB_RES_OK);
	if (after != ctr + 1)
		return conf_fail(c, "counter %u after one good write from %u", after, ctr);
	return CONF_PASS;
}

static enum conf_result run_ranges(struct conf_ctx *c)
{
	uint32_t ctr;
	NEED_KEY(c, &ctr);
	struct rpmb_cfg cfg;
	if (prpmb_config(c->dev, &cfg) < 0)
		return conf_fail(c, "GET_CONFIG");
	unsigned blocks = cfg.capacity * 512u;
	uint8_t *data = calloc((size_t)cfg.max_wr + 1, 256),
		*back = calloc((size_t)cfg.max_rd + 1, 256);
	enum conf_result res = CONF_FAIL;
	int r;
	if ((r = prpmb_write(c->dev, conf_key, ctr, (uint16_t)(blocks - 1), 2 > cfg.max_wr ? 1 : 2,
			     data, NULL)) !=
	    (cfg.max_wr >= 2 ? RPMB_RES_ADDR_FAILURE : RPMB_RES_OK)) {
		conf_fail(c, "write across the end: %d", r);
		goto out;
	}
	if (cfg.max_wr < 2)
		goto out;
	if ((r = prpmb_write(c->dev, conf_key, ctr, 0xffff, 1, data, NULL)) !=
		RPMB_RES_ADDR_FAILURE &&
	    blocks <= 0xffff) {
		conf_fail(c, "write at 0xffff: %d", r);
		goto out;
	}
	if ((r = prpmb_read(c->dev, conf_key, (uint16_t)blocks, 1, back)) !=
		RPMB_RES_ADDR_FAILURE &&
	    blocks <= 0xffff) {
		conf_fail(c, "read past the end: %d", r);
		goto out;
	}
	if ((r = prpmb_write(c->dev, conf_key, ctr, 0, (uint16_t)(cfg.max_wr + 1), data, NULL)) !=
	    RPMB_RES_GENERAL_FAILURE) {
		conf_fail(c, "write of max_wr_cnt + 1 blocks: %d", r);
		goto out;
	}
	if ((r = prpmb_read(c->dev, conf_key, 0, (uint16_t)(cfg.max_rd + 1), back)) !=
	    RPMB_RES_GENERAL_FAILURE) {
		conf_fail(c, "read of max_rd_cnt + 1 blocks: %d", r);
		goto out;
	}
	uint32_t after;
	if (prpmb_counter(c->dev, conf_key, &after) != RPMB_RES_OK || after != ctr) {
		conf_fail(c, "refused writes moved the counter");
		goto out;
	}
	res = CONF_PASS;
out:
	free(data);
	free(back);
	return res;
}

/* Chains a real driver should not send: the device answers GENERAL_FAILURE or nothing. */
static enum conf_result run_malformed(struct conf_ctx *c)
{
	struct fe_dev *d = c->dev;
	struct {
		const char *what;
		uint32_t rd, wr;
		uint32_t want_len;
	} cases[] = {
	    {"700 readable bytes", 700, 512, 512}, {"10 readable bytes", 10, 512, 512},
	    {"no readable bytes", 0, 512, 512},	   {"writable room of 100 bytes", 512, 100, 0},
	    {"no writable room", 512, 0, 0},	   {"64 frames", 64 * 512, 512, 512},
	};
	for (size_t i = 0; i < VT_ARRAY_SIZE(cases); i++) {
		struct fe_seg s[2];
		unsigned n = 0;
		uint64_t rdg = 0, wrg = 0;
		if (cases[i].rd) {
			struct rpmb_frame f;
			uint8_t nonce[16] = {3};
			rpmb_cl_get_counter(&f, nonce);
			if (fe_mem_alloc(d->mem, VT_MAX(cases[i].rd, 512u), 64, &rdg) < 0 ||
			    fe_mem_fill(d->mem, rdg, 0, VT_MAX(cases[i].rd, 512u)) < 0 ||
			    fe_mem_write(d->mem, rdg, &f, 512) < 0)
				return conf_fail(c, "no guest memory");
			s[n++] = (struct fe_seg){rdg, cases[i].rd, false};
		}
		if (cases[i].wr) {
			if (fe_mem_alloc(d->mem, cases[i].wr, 64, &wrg) < 0)
				return conf_fail(c, "no guest memory");
			s[n++] = (struct fe_seg){wrg, cases[i].wr, true};
		}
		struct fe_used u;
		int r = fe_dev_submit(d, 0, s, n, &u);
		if (r < 0)
			return conf_fail(c, "%s: not completed (%s)", cases[i].what,
					 fe_dev_error(d, 0));
		if (u.len != cases[i].want_len)
			return conf_fail(c, "%s: used.len %u, expected %u", cases[i].what, u.len,
					 cases[i].want_len);
		if (u.len) {
			struct rpmb_frame out;
			if (fe_mem_read(d->mem, wrg, &out, 512) < 0)
				return conf_fail(c, "mem");
			if ((rpmb_result(&out) & 0x7f) != RPMB_RES_GENERAL_FAILURE)
				return conf_fail(c, "%s: result 0x%04x", cases[i].what,
						 rpmb_result(&out));
		}
		if (rdg)
			(void)fe_mem_release(d->mem, rdg, VT_MAX(cases[i].rd, 512u));
		if (wrg)
			(void)fe_mem_release(d->mem, wrg, cases[i].wr);
	}
	return CONF_PASS;
}

/* Frames split across many descriptors at odd offsets, direct and indirect. */
static enum conf_result run_split(struct conf_ctx *c)
{
	uint32_t ctr;
	NEED_KEY(c, &ctr);
	struct fe_dev *d = c->dev;
	uint8_t data[2 * 256];
	pattern(data, sizeof(data), 5);
	struct rpmb_frame in[3], out[2];
	size_t nin = rpmb_cl_write(in, conf_key, ctr, 60, 2, data, true);
	const uint32_t rd[] = {1, 300, 211, 700, 324};
	const uint32_t wr[] = {100, 412};
	for (int ind = 0; ind < 2; ind++) {
		struct fe_seg s[8];
		unsigned n = 0;
		size_t off = 0;
		for (size_t i = 0; i < VT_ARRAY_SIZE(rd); i++) {
			if (fe_mem_alloc(d->mem, rd[i], 1, &s[n].gpa) < 0 ||
			    fe_mem_write(d->mem, s[n].gpa, (uint8_t *)in + off, rd[i]) < 0)
				return conf_fail(c, "mem");
			s[n].len = rd[i];
			s[n++].write = false;
			off += rd[i];
		}
		if (off != nin * 512)
			return conf_fail(c, "test bug");
		for (size_t i = 0; i < VT_ARRAY_SIZE(wr); i++) {
			if (fe_mem_alloc(d->mem, wr[i], 1, &s[n].gpa) < 0)
				return conf_fail(c, "mem");
			s[n].len = wr[i];
			s[n++].write = true;
		}
		struct fe_used u;
		if (fe_vq_submit(d->vqs[0], s, n, ind ? FE_VQ_ADD_INDIRECT : 0, d->opts.timeout_ms,
				 &u) < 0)
			return conf_fail(c, "not completed: %s", fe_dev_error(d, 0));
		if (u.len != 512)
			return conf_fail(c, "used.len %u", u.len);
		if (fe_mem_read(d->mem, s[5].gpa, out[0].b, 100) < 0 ||
		    fe_mem_read(d->mem, s[6].gpa, out[0].b + 100, 412) < 0)
			return conf_fail(c, "mem");
		uint16_t want =
		    ind ? RPMB_RES_COUNT_FAILURE : RPMB_RES_OK; /* the second is a replay */
		EXPECT(c, ind ? "indirect replay" : "direct", rpmb_result(&out[0]), want);
		if (rpmb_cl_check_mac(conf_key, out, 1) < 0)
			return conf_fail(c, "bad MAC on the response");
	}
	uint8_t back[2 * 256];
	if (prpmb_read(d, conf_key, 60, 2, back) != RPMB_RES_OK ||
	    vt_ct_memcmp(back, data, 512) != 0)
		return conf_fail(c, "data not written");
	return CONF_PASS;
}

/*
 * VM stop/cont (vhost stop + start), a front-end reconnect and a "restored
 * snapshot" (frames captured before further writes, replayed on a new
 * connection): the counter never goes back and replays get COUNT_FAILURE.
 */
static enum conf_result run_persist(struct conf_ctx *c)
{
	uint32_t ctr, ctr2;
	NEED_KEY(c, &ctr);
	uint8_t data[256];
	pattern(data, 256, 9);
	struct rpmb_frame snap[2], out;
	size_t n = rpmb_cl_write(snap, conf_key, ctr, 70, 1, data, true), got;
	/* "Snapshot" taken here: the guest's next write is snap. It runs it... */
	if (prpmb_xfer(c->dev, snap, n, &out, 1, &got) < 0 || rpmb_result(&out) != RPMB_RES_OK)
		return conf_fail(c, "write");
	/* ...VM stop/cont... */
	if (fe_dev_stop(c->dev) < 0 || fe_dev_start(c->dev) < 0)
		return conf_fail(c, "stop/start: %s", fe_dev_error(c->dev, 0));
	EXPECT(c, "counter after stop/cont", prpmb_counter(c->dev, conf_key, &ctr2), RPMB_RES_OK);
	if (ctr2 != ctr + 1)
		return conf_fail(c, "counter %u after stop/cont, expected %u", ctr2, ctr + 1);
	/* ...the VM is restored from the snapshot on a new connection and replays it. */
	c->dev = fe_dev_close(c->dev);
	if (conf_open(c, &c->opts, CONF_SETUP_STARTED, &c->dev) < 0)
		return CONF_FAIL;
	EXPECT(c, "counter after reconnect", prpmb_counter(c->dev, conf_key, &ctr2), RPMB_RES_OK);
	if (ctr2 < ctr + 1)
		return conf_fail(c, "counter went back: %u < %u", ctr2, ctr + 1);
	if (prpmb_xfer(c->dev, snap, n, &out, 1, &got) < 0 || got != 1)
		return conf_fail(c, "no answer to the replay");
	EXPECT(c, "replay after restore", rpmb_result(&out), RPMB_RES_COUNT_FAILURE);
	return CONF_PASS;
}

/*
 * DEVICE_STATE is single-use and destination-bound (issue 12): a save
 * without a ticket armed by the operator (vtrustctl rpmb arm) is refused and
 * the device keeps serving; a blob not made for this device's outstanding
 * ticket is refused by a load. If the operator did arm it, the save exports
 * (the device refuses service) and loading that blob back here is refused.
 */
static enum conf_result run_device_state(struct conf_ctx *c)
{
	uint32_t ctr, ctr2;
	NEED_KEY(c, &ctr);
	if (!fe_vu_has_protocol(c->dev->vu, VHOST_USER_PROTOCOL_F_DEVICE_STATE))
		return conf_fail(c, "DEVICE_STATE not offered");
	if (fe_dev_stop(c->dev) < 0)
		return conf_fail(c, "stop");
	/* A load of something that is no blob for us: refused, nothing changes. */
	uint8_t junk[600];
	memset(junk, 0x5a, sizeof(junk));
	if (fe_vu_load_state(c->dev->vu, junk, sizeof(junk)) == 0)
		return conf_fail(c, "a junk state blob was accepted");
	uint8_t *blob = NULL;
	size_t len = 0;
	int r = fe_vu_save_state(c->dev->vu, &blob, &len);
	if (fe_dev_start(c->dev) < 0) {
		free(blob);
		return conf_fail(c, "start after save");
	}
	enum conf_result res = CONF_PASS;
	if (r < 0) {
		/* Not armed (or no migration key): refused cleanly, still serving, nothing lost. */
		r = prpmb_counter(c->dev, conf_key, &ctr2);
		if (r != RPMB_RES_OK || ctr2 != ctr)
			return conf_fail(c, "after a refused save: result %d counter %u (was %u)", r,
					 ctr2, ctr);
		conf_outcome(c, "save refused without an armed ticket; still serving");
		return CONF_PASS;
	}
	r = prpmb_counter(c->dev, NULL, &ctr2);
	if (r != RPMB_RES_GENERAL_FAILURE) {
		res = conf_fail(c, "after an export the device still serves (result %d)", r);
		goto out;
	}
	if (fe_dev_stop(c->dev) < 0) {
		res = conf_fail(c, "stop");
		goto out;
	}
	if (fe_vu_load_state(c->dev->vu, blob, len) == 0)
		res = conf_fail(c, "the blob was loaded back into the device that exported it");
	if (fe_dev_start(c->dev) < 0 && res == CONF_PASS)
		res = conf_fail(c, "start");
	conf_outcome(c, "armed: %zu-byte state exported; loading it back here refused", len);
out:
	free(blob);
	return res;
}

static const struct conf_case rpmb_cases[] = {
    {"rpmb.config", "3-byte config space, no feature bits", CONF_SETUP_STARTED, run_config, NULL},
    {"rpmb.no_key", "NO_AUTH_KEY before PROGRAM_KEY (fresh store only)", CONF_SETUP_STARTED,
     run_no_key, NULL},
    {"rpmb.program_key", "one-time programmable key; block_count checked", CONF_SETUP_STARTED,
     run_program_key, NULL},
    {"rpmb.counter", "GET_WRITE_COUNTER: nonce, MAC, block_count", CONF_SETUP_STARTED, run_counter,
     NULL},
    {"rpmb.write_read", "one-block, max_wr_cnt-block writes; multi-block reads; last block",
     CONF_SETUP_STARTED, run_write_read, NULL},
    {"rpmb.replay_auth", "replay -> COUNT_FAILURE, tampering -> AUTH_FAILURE", CONF_SETUP_STARTED,
     run_replay, NULL},
    {"rpmb.ranges", "ADDR_FAILURE and block-count limits", CONF_SETUP_STARTED, run_ranges, NULL},
    {"rpmb.malformed", "chains without whole frames or room: GENERAL_FAILURE or len 0",
     CONF_SETUP_STARTED, run_malformed, NULL},
    {"rpmb.split_frames", "frames split across descriptors, direct and indirect",
     CONF_SETUP_STARTED, run_split, NULL},
    {"rpmb.persist", "stop/cont, reconnect, snapshot replay: counter never goes back",
     CONF_SETUP_STARTED, run_persist, NULL},
    {"rpmb.device_state", "DEVICE_STATE: no save without an armed ticket; no load back",
     CONF_SETUP_STARTED,
     run_device_state, NULL},
};

const struct probe_device probe_device_rpmb = {
    .name = "rpmb",
    .summary = "vtrust virtio-rpmb device (GET_WRITE_COUNTER sanity request)",
    .defaults = rpmb_defaults,
    .sanity = rpmb_sanity,
    .cases = rpmb_cases,
    .ncases = VT_ARRAY_SIZE(rpmb_cases),
};
