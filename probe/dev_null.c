/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The null test device (devices/null): one queue; each chain is completed
 * by copying min(readable, writable) bytes from its readable part to its
 * writable part, with used.len = that count. Its sanity request checks the
 * copy byte for byte and that nothing past it was written; its cases cover
 * the buffer shapes a real guest produces (scattered, indirect, straddling
 * two memory regions, batches).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "conformance.h"

#define NULL_MAX_SEGS 16
#define NULL_UNTOUCHED 0xee

struct copy_req {
	uint32_t rd[NULL_MAX_SEGS];
	unsigned nrd;
	uint32_t wr[NULL_MAX_SEGS];
	unsigned nwr;
	unsigned flags; /* FE_VQ_ADD_* */
	bool straddle;	/* first readable and first writable buffers straddle regions */
};

static uint8_t pattern(uint32_t seed, size_t i)
{
	return (uint8_t)(seed + i * 131u + (i >> 8));
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

static int alloc_seg(struct fe_mem *m, uint32_t size, bool straddle, uint64_t *ret)
{
	if (straddle && size >= 2)
		return fe_mem_alloc_straddle(m, size, size / 2, ret);
	return fe_mem_alloc(m, size, 1, ret);
}

/* Submits one copy request on queue q and verifies the device's answer. */
static int null_copy(struct fe_dev *d, unsigned q, const struct copy_req *req, char *reason,
		     size_t rlen)
{
	static uint32_t seed = 1;
	struct fe_seg segs[2 * NULL_MAX_SEGS];
	unsigned n = 0;
	uint64_t total_rd = 0, total_wr = 0;
	uint8_t *got = NULL;
	int r = 0;

	seed += 7;
	for (unsigned i = 0; i < req->nrd + req->nwr; i++) {
		bool w = i >= req->nrd;
		uint32_t size = w ? req->wr[i - req->nrd] : req->rd[i];
		bool straddle = req->straddle && (i == 0 || i == req->nrd);
		r = alloc_seg(d->mem, size, straddle, &segs[n].gpa);
		if (r < 0) {
			r = fail(reason, rlen, r, "no guest memory for a %u-byte buffer%s", size,
				 straddle ? " across regions" : "");
			goto out;
		}
		segs[n].len = size;
		segs[n].write = w;
		n++;
		/* Readable bytes carry one running pattern; writable bytes start poisoned. */
		uint8_t *tmp = malloc(size ? size : 1);
		if (!tmp) {
			r = -ENOMEM;
			goto out;
		}
		for (uint32_t k = 0; k < size; k++)
			tmp[k] = w ? NULL_UNTOUCHED : pattern(seed, total_rd + k);
		if (fe_mem_write(d->mem, segs[n - 1].gpa, tmp, size) < 0)
			abort();
		free(tmp);
		if (w)
			total_wr += size;
		else
			total_rd += size;
	}

	struct fe_used u;
	r = fe_vq_submit(d->vqs[q], segs, n, req->flags, d->opts.timeout_ms, &u);
	if (r < 0) {
		r = fail(reason, rlen, r, "request not completed: %s",
			 r == -ETIMEDOUT ? "timeout" : fe_dev_error(d, q));
		goto out;
	}
	uint64_t want = VT_MIN(total_rd, total_wr);
	if (u.len != want) {
		r = fail(reason, rlen, -EPROTO, "used.len %u, expected %llu", u.len,
			 (unsigned long long)want);
		goto out;
	}
	got = malloc(total_wr ? total_wr : 1);
	if (!got) {
		r = -ENOMEM;
		goto out;
	}
	uint64_t off = 0;
	for (unsigned i = req->nrd; i < n; i++) {
		if (fe_mem_read(d->mem, segs[i].gpa, got + off, segs[i].len) < 0)
			abort();
		off += segs[i].len;
	}
	for (uint64_t k = 0; k < total_wr; k++) {
		uint8_t expect = k < want ? pattern(seed, k) : NULL_UNTOUCHED;
		if (got[k] != expect) {
			r = fail(reason, rlen, -EPROTO,
				 "writable byte %llu is 0x%02x, expected 0x%02x (%s)",
				 (unsigned long long)k, got[k], expect,
				 k < want ? "copy wrong" : "written past used.len");
			goto out;
		}
	}
out:
	free(got);
	for (unsigned i = 0; i < n; i++)
		(void)fe_mem_release(d->mem, segs[i].gpa, segs[i].len);
	return r;
}

static int null_sanity(struct fe_dev *d, unsigned q, char *reason, size_t len)
{
	struct copy_req req = {.rd = {100}, .nrd = 1, .wr = {128}, .nwr = 1};
	if (d->opts.indirect)
		req.flags = FE_VQ_ADD_INDIRECT;
	return null_copy(d, q, &req, reason, len);
}

/* ---- cases ---------------------------------------------------------------- */

static enum conf_result run_copy(struct conf_ctx *c)
{
	const struct copy_req *req = c->cur->arg;
	char why[384];
	if (null_copy(c->dev, 0, req, why, sizeof(why)) < 0)
		return conf_fail(c, "%s", why);
	return CONF_PASS;
}

static const struct copy_req req_direct = {.rd = {100}, .nrd = 1, .wr = {128}, .nwr = 1};
static const struct copy_req req_indirect = {
    .rd = {100}, .nrd = 1, .wr = {128}, .nwr = 1, .flags = FE_VQ_ADD_INDIRECT};
static const struct copy_req req_scattered = {
    .rd = {1, 7, 64, 3, 500, 4096}, .nrd = 6, .wr = {13, 13, 200, 1000, 3500}, .nwr = 5};
static const struct copy_req req_scattered_ind = {.rd = {1, 7, 64, 3, 500, 4096},
						  .nrd = 6,
						  .wr = {13, 13, 200, 1000, 3500},
						  .nwr = 5,
						  .flags = FE_VQ_ADD_INDIRECT};
static const struct copy_req req_short_wr = {.rd = {300}, .nrd = 1, .wr = {50}, .nwr = 1};
static const struct copy_req req_only_rd = {.rd = {64}, .nrd = 1};
static const struct copy_req req_only_wr = {.wr = {64}, .nwr = 1};
static const struct copy_req req_big = {.rd = {1 << 20}, .nrd = 1, .wr = {1 << 20}, .nwr = 1};

/* Buffers that straddle two regions: the back-end must split them into two iovecs. */
static enum conf_result run_cross_region(struct conf_ctx *c)
{
	struct fe_dev_opts o = c->opts;
	struct copy_req req = {
	    .rd = {8192, 33}, .nrd = 2, .wr = {6000, 3000}, .nwr = 2, .straddle = true};
	char why[384];

	o.mem.layout = FE_MEM_LAYOUT_ADJACENT;
	o.mem.nregions = 4;
	if (conf_open(c, &o, CONF_SETUP_STARTED, &c->dev) < 0)
		return CONF_FAIL;
	if (null_copy(c->dev, 0, &req, why, sizeof(why)) < 0)
		return conf_fail(c, "direct: %s", why);
	req.flags = FE_VQ_ADD_INDIRECT;
	if (null_copy(c->dev, 0, &req, why, sizeof(why)) < 0)
		return conf_fail(c, "indirect: %s", why);
	return CONF_PASS;
}

/* Many chains behind one kick, completed in any order. */
static enum conf_result run_batch(struct conf_ctx *c)
{
	struct fe_dev *d = c->dev;
	struct fe_vq *vq = d->vqs[0];
	unsigned n = VT_MIN(64u, vq->num / 2u);
	uint64_t bufs[64];

	for (unsigned i = 0; i < n; i++) {
		if (fe_mem_alloc(d->mem, 64, 8, &bufs[i]) < 0)
			return conf_fail(c, "out of guest memory");
		uint8_t v[32];
		memset(v, (int)i, sizeof(v));
		if (fe_mem_write(d->mem, bufs[i], v, sizeof(v)) < 0)
			abort();
		struct fe_seg s[2] = {{bufs[i], 32, false}, {bufs[i] + 32, 32, true}};
		if (fe_vq_add(vq, s, 2, i % 2 ? FE_VQ_ADD_INDIRECT : 0,
			      (void *)(uintptr_t)(i + 1)) < 0)
			return conf_fail(c, "add %u failed", i);
	}
	if (fe_vq_kick(vq) < 0)
		return conf_fail(c, "kick failed");
	for (unsigned done = 0; done < n;) {
		struct fe_used u;
		int r = fe_vq_wait(vq, d->opts.timeout_ms, d->opts.wait_mode);
		if (r < 0)
			return conf_fail(c, "%u of %u completed: %s", done, n,
					 r == -ETIMEDOUT ? "timeout" : vq->error);
		while ((r = fe_vq_get_used(vq, &u)) == 0) {
			unsigned i = (unsigned)(uintptr_t)u.token - 1;
			uint8_t out[32];
			if (fe_mem_read(d->mem, bufs[i] + 32, out, sizeof(out)) < 0)
				abort();
			if (u.len != 32 || out[0] != (uint8_t)i || out[31] != (uint8_t)i)
				return conf_fail(c, "chain %u: len %u, data 0x%02x", i, u.len,
						 out[0]);
			done++;
		}
		if (r != -EAGAIN)
			return conf_fail(c, "bad completion: %s", vq->error);
	}
	conf_outcome(
	    c, "%llu kicks, %llu suppressed, %llu calls", (unsigned long long)vq->stats.kicks,
	    (unsigned long long)vq->stats.kicks_suppressed, (unsigned long long)vq->stats.calls);
	return CONF_PASS;
}

static const struct conf_case null_cases[] = {
    {"null.copy_direct", "copy through two direct descriptors", CONF_SETUP_STARTED, run_copy,
     &req_direct},
    {"null.copy_indirect", "copy through one indirect table", CONF_SETUP_STARTED, run_copy,
     &req_indirect},
    {"null.copy_scattered", "6 readable and 5 writable buffers of odd sizes", CONF_SETUP_STARTED,
     run_copy, &req_scattered},
    {"null.copy_scattered_indirect", "the same in an indirect table", CONF_SETUP_STARTED, run_copy,
     &req_scattered_ind},
    {"null.short_writable", "writable part shorter than readable: used.len = writable",
     CONF_SETUP_STARTED, run_copy, &req_short_wr},
    {"null.only_readable", "no writable buffer: used.len 0", CONF_SETUP_STARTED, run_copy,
     &req_only_rd},
    {"null.only_writable", "no readable buffer: used.len 0, nothing written", CONF_SETUP_STARTED,
     run_copy, &req_only_wr},
    {"null.copy_1mib", "1 MiB each way", CONF_SETUP_STARTED, run_copy, &req_big},
    {"null.cross_region", "buffers straddling two gpa-adjacent regions (direct, indirect)",
     CONF_SETUP_NONE, run_cross_region, NULL},
    {"null.batch", "64 chains (direct and indirect) behind one kick", CONF_SETUP_STARTED, run_batch,
     NULL},
};

const struct probe_device probe_device_null = {
    .name = "null",
    .summary = "vtrust null test device: copies readable bytes to writable bytes",
    .sanity = null_sanity,
    .cases = null_cases,
    .ncases = VT_ARRAY_SIZE(null_cases),
};
