/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The rng device profile (--device rng): virtio-rng with vtrust's
 * VIRTIO_RNG_F_LEAK leak queues (devices/rng). The sanity request is what
 * Linux 6.1 sends: one 64-byte writable buffer, used.len 64, random bytes.
 * The cases are the hostile and unusual inputs a guest can produce: chains
 * without writable bytes, readable after writable, inflated lengths,
 * scattered/indirect/cross-region buffers, a full ring behind one kick,
 * QEMU 7.2's exact feature set and queue size, leak queues without the
 * feature, malformed leak buffers, and bad DEVICE_STATE streams.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "conformance.h"
#include "fe_time.h"
#include "rng_probe.h"

#define UNTOUCHED 0xee
#define RNG_CAP 65536u /* the back-end's default max_request_bytes */

static int fail(char *reason, size_t len, int err, const char *fmt, ...) VT_PRINTF(4, 5);
static int fail(char *reason, size_t len, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	(void)vsnprintf(reason, len, fmt, ap);
	va_end(ap);
	return err;
}

/* Random-looking: no run of 16 equal bytes (probability 2^-120 per position). */
static bool looks_random(const uint8_t *p, size_t n)
{
	size_t run = 1;
	for (size_t i = 1; i < n; i++) {
		run = p[i] == p[i - 1] ? run + 1 : 1;
		if (run >= 16)
			return false;
	}
	return n > 0;
}

/* Submits writable segments of the given sizes; checks used.len == min(total, cap) and the bytes.
 */
static int fill_req(struct fe_dev *d, unsigned q, const uint32_t *sizes, unsigned n, unsigned flags,
		    bool straddle, char *reason, size_t rlen)
{
	struct fe_seg segs[32];
	uint64_t total = 0;
	int r = 0;
	for (unsigned i = 0; i < n; i++) {
		segs[i].len = sizes[i];
		segs[i].write = true;
		r = straddle && i == 0 && sizes[i] >= 2
			? fe_mem_alloc_straddle(d->mem, sizes[i], sizes[i] / 2, &segs[i].gpa)
			: fe_mem_alloc(d->mem, VT_MAX(sizes[i], 1u), 1, &segs[i].gpa);
		if (r < 0) {
			n = i;
			r = fail(reason, rlen, r, "no guest memory for %u bytes", sizes[i]);
			goto out;
		}
		if (fe_mem_fill(d->mem, segs[i].gpa, UNTOUCHED, sizes[i]) < 0)
			abort();
		total += sizes[i];
	}
	struct fe_used u;
	r = fe_vq_submit(d->vqs[q], segs, n, flags, d->opts.timeout_ms, &u);
	if (r < 0) {
		r = fail(reason, rlen, r, "request not completed: %s",
			 r == -ETIMEDOUT ? "timeout" : fe_dev_error(d, q));
		goto out;
	}
	uint64_t want = VT_MIN(total, (uint64_t)RNG_CAP);
	if (u.len != want) {
		r = fail(reason, rlen, -EPROTO, "used.len %u, expected %llu", u.len,
			 (unsigned long long)want);
		goto out;
	}
	uint8_t *all = malloc(total ? total : 1);
	if (!all) {
		r = -ENOMEM;
		goto out;
	}
	uint64_t off = 0;
	for (unsigned i = 0; i < n; i++) {
		if (fe_mem_read(d->mem, segs[i].gpa, all + off, segs[i].len) < 0)
			abort();
		off += segs[i].len;
	}
	if (!looks_random(all, want))
		r = fail(reason, rlen, -EPROTO, "the %llu used bytes do not look random",
			 (unsigned long long)want);
	for (uint64_t k = want; r == 0 && k < total; k++)
		if (all[k] != UNTOUCHED)
			r = fail(reason, rlen, -EPROTO, "byte %llu written past used.len %llu",
				 (unsigned long long)k, (unsigned long long)want);
	free(all);
out:
	for (unsigned i = 0; i < n; i++)
		(void)fe_mem_release(d->mem, segs[i].gpa, VT_MAX(segs[i].len, 1u));
	return r;
}

static int rng_sanity(struct fe_dev *d, unsigned q, char *reason, size_t len)
{
	uint32_t size = 64;
	return fill_req(d, q, &size, 1, d->opts.indirect ? FE_VQ_ADD_INDIRECT : 0, false, reason,
			len);
}

static void rng_defaults(struct fe_dev_opts *o)
{
	(void)o; /* requestq only; LEAK is not acked unless a case asks for it */
}

/* A chain that must be completed with len 0 and nothing written, then the queue still serves. */
static enum conf_result expect_len0(struct conf_ctx *c, const struct fe_seg *segs, unsigned n)
{
	struct fe_dev *d = c->dev;
	struct fe_used u;
	int r = fe_vq_submit(d->vqs[0], segs, n, 0, d->opts.timeout_ms, &u);
	if (r == -ETIMEDOUT)
		return conf_fail(c, "malformed chain never completed (a Linux reader would hang)");
	if (r < 0)
		return conf_fail(c, "%s", fe_dev_error(d, 0));
	if (u.len != 0)
		return conf_fail(c, "malformed chain completed with len %u, expected 0", u.len);
	for (unsigned i = 0; i < n; i++) {
		uint8_t buf[256];
		if (fe_mem_read(d->mem, segs[i].gpa, buf, VT_MIN(segs[i].len, 256u)) < 0)
			abort();
		for (unsigned k = 0; k < VT_MIN(segs[i].len, 256u); k++)
			if (buf[k] != UNTOUCHED)
				return conf_fail(c, "malformed chain: segment %u was written", i);
	}
	return conf_sanity(c, d, 0, "after a malformed chain");
}

static uint64_t alloc_untouched(struct fe_dev *d, uint32_t len)
{
	uint64_t g;
	if (fe_mem_alloc(d->mem, len, 64, &g) < 0 || fe_mem_fill(d->mem, g, UNTOUCHED, len) < 0)
		abort();
	return g;
}

static enum conf_result run_readable_only(struct conf_ctx *c)
{
	struct fe_seg s = {alloc_untouched(c->dev, 64), 64, false};
	return expect_len0(c, &s, 1);
}

static enum conf_result run_readable_after_writable(struct conf_ctx *c)
{
	struct fe_seg s[2] = {{alloc_untouched(c->dev, 32), 32, true},
			      {alloc_untouched(c->dev, 32), 32, false}};
	return expect_len0(c, s, 2);
}

static enum conf_result run_fill(struct conf_ctx *c)
{
	const uint32_t *spec = c->cur->arg; /* [flags, straddle, n, sizes...] */
	char why[384];
	if (fill_req(c->dev, 0, spec + 3, spec[2], spec[0], spec[1], why, sizeof(why)) < 0)
		return conf_fail(c, "%s", why);
	return CONF_PASS;
}

static const uint32_t fill_inflated[] = {0, 0, 1, 1u << 20};
static const uint32_t fill_scattered[] = {0, 0, 7, 1, 3, 64, 0, 500, 4096, 13};
static const uint32_t fill_indirect[] = {FE_VQ_ADD_INDIRECT, 0, 5, 16, 16, 100, 4000, 8};
static const uint32_t fill_exact_cap[] = {0, 0, 2, RNG_CAP - 1, 1};

static enum conf_result run_cross_region(struct conf_ctx *c)
{
	struct fe_dev_opts o = c->opts;
	o.mem.layout = FE_MEM_LAYOUT_ADJACENT;
	o.mem.nregions = 4;
	if (conf_open(c, &o, CONF_SETUP_STARTED, &c->dev) < 0)
		return CONF_FAIL;
	static const uint32_t sizes[] = {9000, 300};
	char why[384];
	if (fill_req(c->dev, 0, sizes, 2, 0, true, why, sizeof(why)) < 0)
		return conf_fail(c, "direct: %s", why);
	if (fill_req(c->dev, 0, sizes, 2, FE_VQ_ADD_INDIRECT, true, why, sizeof(why)) < 0)
		return conf_fail(c, "indirect: %s", why);
	return CONF_PASS;
}

/* QEMU 7.2 vhost-user-rng-pci + Linux 6.1: features 0x170000000, queue size 4, 64-byte buffers. */
static enum conf_result run_qemu72(struct conf_ctx *c)
{
	struct fe_dev_opts o = c->opts;
	o.feat_mode = FE_FEAT_EXACT;
	o.features = FE_FEATURES_QEMU72_RNG;
	o.queue_size = 4;
	o.nvqs = 1;
	if (conf_open(c, &o, CONF_SETUP_STARTED, &c->dev) < 0)
		return CONF_FAIL;
	for (int i = 0; i < 16; i++) {
		char why[384];
		uint32_t size = 64;
		if (fill_req(c->dev, 0, &size, 1, 0, false, why, sizeof(why)) < 0)
			return conf_fail(c, "request %d: %s", i, why);
	}
	conf_outcome(c, "16 x 64 B with SET_FEATURES 0x%llx, queue size 4",
		     (unsigned long long)FE_FEATURES_QEMU72_RNG);
	return CONF_PASS;
}

/* The whole ring behind one kick; every completion distinct. */
static enum conf_result run_full_ring(struct conf_ctx *c)
{
	struct fe_dev *d = c->dev;
	struct fe_vq *vq = d->vqs[0];
	unsigned n = VT_MIN(256u, (unsigned)vq->num);
	uint64_t *bufs = calloc(n, sizeof(*bufs));
	uint8_t(*got)[32] = calloc(n, 32);
	enum conf_result res = CONF_PASS;
	if (!bufs || !got)
		abort();
	for (unsigned i = 0; i < n; i++) {
		bufs[i] = alloc_untouched(d, 32);
		struct fe_seg s = {bufs[i], 32, true};
		if (fe_vq_add(vq, &s, 1, i % 3 == 0 ? FE_VQ_ADD_INDIRECT : 0,
			      (void *)(uintptr_t)(i + 1)) < 0) {
			res = conf_fail(c, "add %u failed", i);
			goto out;
		}
	}
	rng_probe_kick(vq);
	for (unsigned done = 0; done < n;) {
		int r = fe_vq_wait(vq, d->opts.timeout_ms, d->opts.wait_mode);
		if (r < 0) {
			res = conf_fail(c, "%u of %u completed: %s", done, n,
					r == -ETIMEDOUT ? "timeout" : vq->error);
			goto out;
		}
		struct fe_used u;
		while (fe_vq_get_used(vq, &u) == 0) {
			unsigned i = (unsigned)(uintptr_t)u.token - 1;
			if (u.len != 32) {
				res = conf_fail(c, "chain %u: len %u", i, u.len);
				goto out;
			}
			if (fe_mem_read(d->mem, bufs[i], got[i], 32) < 0)
				abort();
			done++;
		}
	}
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = i + 1; j < n; j++)
			if (memcmp(got[i], got[j], 32) == 0) {
				res = conf_fail(c, "chains %u and %u got equal bytes", i, j);
				goto out;
			}
	conf_outcome(c, "%u chains, %llu kicks, %llu calls", n, (unsigned long long)vq->stats.kicks,
		     (unsigned long long)vq->stats.calls);
out:
	free(bufs);
	free(got);
	return res;
}

/* Queues 1 and 2 started without VIRTIO_RNG_F_LEAK: never used; requestq unaffected. */
static enum conf_result run_leak_without_feature(struct conf_ctx *c)
{
	struct fe_dev_opts o = c->opts;
	o.nvqs = 3;
	o.feat_mode = FE_FEAT_EXACT;
	o.features = FE_FEATURES_QEMU72_RNG; /* no bit 0 */
	if (conf_open(c, &o, CONF_SETUP_STARTED, &c->dev) < 0)
		return CONF_FAIL;
	if (c->dev->vu->queue_num && c->dev->vu->queue_num < 3)
		return conf_skip(c, "the back-end has %llu queues (no leak queues)",
				 (unsigned long long)c->dev->vu->queue_num);
	struct fe_seg s = {alloc_untouched(c->dev, 64), 64, true};
	if (fe_vq_add(c->dev->vqs[1], &s, 1, 0, NULL) < 0 || fe_vq_kick(c->dev->vqs[1]) < 0)
		return conf_fail(c, "cannot add to queue 1");
	if (fe_vq_wait(c->dev->vqs[1], 100, FE_VQ_WAIT_EVENTFD) != -ETIMEDOUT)
		return conf_fail(c,
				 "a buffer on queue 1 was used although LEAK was not negotiated");
	return conf_sanity(c, c->dev, 0, "requestq next to unnegotiated leak queues");
}

/* Malformed leak buffers get len 0 at the event; good ones are served. */
static enum conf_result run_leak_malformed(struct conf_ctx *c)
{
	struct fe_dev_opts o = c->opts;
	rng_probe_leak_opts(&o);
	if (conf_open(c, &o, CONF_SETUP_STARTED, &c->dev) < 0)
		return CONF_FAIL;
	struct fe_dev *d = c->dev;
	if (!(d->vu->acked_features & RNG_PROBE_F_LEAK))
		return conf_skip(c, "VIRTIO_RNG_F_LEAK not offered");
	if (!fe_vu_has_protocol(d->vu, VHOST_USER_PROTOCOL_F_DEVICE_STATE))
		return conf_skip(c, "no DEVICE_STATE to trigger a leak event");
	struct fe_vq *vq = d->vqs[RNG_PROBE_LEAKQ1];
	uint64_t a = alloc_untouched(d, 64), b = alloc_untouched(d, 64);
	struct {
		struct fe_seg s[2];
		unsigned n;
		uint32_t want;
	} bufs[] = {
	    {{{a, 16, false}, {b, 32, true}}, 2, 0},	   /* unequal halves */
	    {{{a, 16, true}, {b, 16, false}}, 2, 0},	   /* wrong order */
	    {{{a, 16, false}}, 1, 0},			   /* read-only */
	    {{{b, 2 * RNG_CAP, true}}, 1, 0},		   /* larger than the cap */
	    {{{alloc_untouched(d, 64), 64, true}}, 1, 64}, /* a good fill */
	};
	/* b's 2*cap bytes: give it real memory. */
	uint64_t big;
	if (fe_mem_alloc(d->mem, 2 * RNG_CAP, 64, &big) < 0)
		return conf_fail(c, "out of guest memory");
	bufs[3].s[0].gpa = big;
	for (unsigned i = 0; i < VT_ARRAY_SIZE(bufs); i++)
		if (fe_vq_add(vq, bufs[i].s, bufs[i].n, 0, (void *)(uintptr_t)(i + 1)) < 0)
			return conf_fail(c, "cannot park buffer %u", i);
	rng_probe_kick(vq);
	struct rng_trigger t = {RNG_TRIGGER_STATE, NULL, NULL};
	char err[256];
	if (rng_probe_trigger(d, &t, err, sizeof(err)) < 0)
		return conf_fail(c, "%s", err);
	for (unsigned got = 0; got < VT_ARRAY_SIZE(bufs);) {
		if (fe_vq_wait(vq, d->opts.timeout_ms, FE_VQ_WAIT_EVENTFD) < 0)
			return conf_fail(c, "%u of %zu leak buffers completed", got,
					 VT_ARRAY_SIZE(bufs));
		struct fe_used u;
		while (fe_vq_get_used(vq, &u) == 0) {
			unsigned i = (unsigned)(uintptr_t)u.token - 1;
			if (u.len != bufs[i].want)
				return conf_fail(c, "leak buffer %u: len %u, expected %u", i, u.len,
						 bufs[i].want);
			got++;
		}
	}
	uint8_t chk[64];
	if (fe_mem_read(d->mem, a, chk, 64) < 0)
		abort();
	for (unsigned k = 0; k < 64; k++)
		if (chk[k] != UNTOUCHED)
			return conf_fail(c, "a malformed leak buffer was written");
	return conf_sanity(c, d, 0, "after malformed leak buffers");
}

/* DEVICE_STATE load of garbage: refused at CHECK, device state unharmed. */
static enum conf_result run_state_garbage(struct conf_ctx *c)
{
	struct fe_dev *d = c->dev;
	if (!fe_vu_has_protocol(d->vu, VHOST_USER_PROTOCOL_F_DEVICE_STATE))
		return conf_skip(c, "DEVICE_STATE not offered");
	static const uint8_t junk[][40] = {
	    "VTRNGLK1\x01\0\0\0\0\0\0\0\x07\0\0\0", /* active = 7 */
	    "not a state at all",
	};
	for (unsigned i = 0; i < VT_ARRAY_SIZE(junk); i++) {
		int r = fe_vu_load_state(d->vu, junk[i], i == 0 ? 32 : 18);
		if (r == 0)
			return conf_fail(c, "garbage state %u accepted", i);
		if (r != -EREMOTEIO)
			return conf_fail(c, "garbage state %u: %s", i, d->vu->error);
	}
	conf_outcome(c, "refused at CHECK_DEVICE_STATE");
	if (fe_dev_start(d) < 0)
		return conf_fail(c, "start after refused state: %s", d->vu->error);
	return conf_sanity(c, d, 0, "after refused state");
}

/* A state stream far larger than any rng state: refused without hanging either side. */
static enum conf_result run_state_oversized(struct conf_ctx *c)
{
	struct fe_dev *d = c->dev;
	if (!fe_vu_has_protocol(d->vu, VHOST_USER_PROTOCOL_F_DEVICE_STATE))
		return conf_skip(c, "DEVICE_STATE not offered");
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return conf_fail(c, "pipe: %m");
	int backend_fd;
	int r =
	    fe_vu_set_device_state_fd(d->vu, VHOST_USER_TRANSFER_STATE_DIRECTION_LOAD,
				      VHOST_USER_TRANSFER_STATE_PHASE_STOPPED, p[0], &backend_fd);
	close(p[0]);
	if (r < 0) {
		close(p[1]);
		conf_outcome(c, "refused at SET_DEVICE_STATE_FD");
		return CONF_PASS;
	}
	if (backend_fd >= 0) {
		close(p[1]);
		p[1] = backend_fd;
	}
	(void)fcntl(p[1], F_SETFL, O_NONBLOCK);
	static uint8_t chunk[65536];
	memset(chunk, 0x41, sizeof(chunk));
	uint64_t sent = 0, deadline = fe_deadline(d->opts.timeout_ms);
	while (sent < (16u << 20) && vt_now_ns() < deadline) {
		ssize_t n = write(p[1], chunk, sizeof(chunk));
		if (n > 0) {
			sent += (uint64_t)n;
			continue;
		}
		if (n < 0 && errno == EPIPE)
			break; /* the back-end stopped reading: fine */
		struct pollfd pf = {.fd = p[1], .events = POLLOUT};
		(void)poll(&pf, 1, 10);
	}
	close(p[1]);
	r = fe_vu_check_device_state(d->vu);
	if (r == 0)
		return conf_fail(c, "a %llu-byte state was accepted", (unsigned long long)sent);
	if (r != -EREMOTEIO)
		return conf_fail(c, "CHECK_DEVICE_STATE: %s", d->vu->error);
	conf_outcome(c, "refused after %llu bytes", (unsigned long long)sent);
	if (fe_dev_start(d) < 0)
		return conf_fail(c, "start after refused state: %s", d->vu->error);
	return conf_sanity(c, d, 0, "after an oversized state");
}

static const struct conf_case rng_cases[] = {
    {"rng.qemu72_linux", "QEMU 7.2 features 0x170000000, queue size 4, 16 x 64 B", CONF_SETUP_NONE,
     run_qemu72, NULL},
    {"rng.readable_only", "no writable bytes: len 0, counted malformed, queue serves on",
     CONF_SETUP_STARTED, run_readable_only, NULL},
    {"rng.readable_after_writable", "readable after writable: len 0, nothing written",
     CONF_SETUP_STARTED, run_readable_after_writable, NULL},
    {"rng.inflated_length", "1 MiB writable: capped at 64 KiB, nothing past used.len",
     CONF_SETUP_STARTED, run_fill, fill_inflated},
    {"rng.exact_cap", "exactly the cap over two segments", CONF_SETUP_STARTED, run_fill,
     fill_exact_cap},
    {"rng.scattered", "7 writable segments of odd sizes (one empty)", CONF_SETUP_STARTED, run_fill,
     fill_scattered},
    {"rng.indirect", "writable segments in an indirect table", CONF_SETUP_STARTED, run_fill,
     fill_indirect},
    {"rng.cross_region", "buffers straddling gpa-adjacent regions (direct, indirect)",
     CONF_SETUP_NONE, run_cross_region, NULL},
    {"rng.full_ring", "a full ring behind one kick, all completions distinct", CONF_SETUP_STARTED,
     run_full_ring, NULL},
    {"rng.leak_without_feature", "leak queues started without LEAK are never used", CONF_SETUP_NONE,
     run_leak_without_feature, NULL},
    {"rng.leak_malformed", "malformed leak buffers: len 0 at the event, good ones served",
     CONF_SETUP_NONE, run_leak_malformed, NULL},
    {"rng.state_garbage", "DEVICE_STATE load of garbage: refused at CHECK", CONF_SETUP_NEGOTIATED,
     run_state_garbage, NULL},
    {"rng.state_oversized", "16 MiB DEVICE_STATE stream: refused, no hang", CONF_SETUP_NEGOTIATED,
     run_state_oversized, NULL},
};

const struct probe_device probe_device_rng = {
    .name = "rng",
    .summary = "vtrust entropy device: virtio-rng + VIRTIO_RNG_F_LEAK leak queues",
    .defaults = rng_defaults,
    .sanity = rng_sanity,
    .cases = rng_cases,
    .ncases = VT_ARRAY_SIZE(rng_cases),
};
