/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `rng`: drive a virtio-rng back-end as a guest would.
 *
 *   rng read N [--chunk B] [--depth D] [--stats]
 *       N random bytes to stdout, D requests of B bytes in flight; --stats
 *       prints `bytes=N requests=R seconds=S` (first kick to last
 *       completion, set-up excluded) on stderr.
 *   rng leak-test [--events N] [--buffers K] [--control PATH [--name DEV]]
 *       Negotiates VIRTIO_RNG_F_LEAK and plays the leak-queue driver: parks
 *       K fill and copy buffers on the active leak queue, checks that they
 *       wait, triggers a leak event (a DEVICE_STATE save+load with the rings
 *       stopped, i.e. a VM restore, or `leak` on vtrustd's control socket),
 *       checks that every parked buffer is used (fill: random, copy: exact),
 *       that the queue keeps being used until the driver moves, that the
 *       switch happens as the proposal says (buffers in the other queue wait
 *       for the next event, a stray buffer on the inactive queue is not
 *       used), over N events alternating leakq1/leakq2, and that no two
 *       fill buffers of any events are equal.
 *   rng bench [--seconds S] [--reps R] [--depth D] [--sizes LIST]
 *             [--control PATH [--name DEV]] [--leak-iterations N]
 *       Throughput at 64 B, 4 KiB and 64 KiB requests through the device,
 *       against raw EVP_RAND CTR-DRBG fills (AES-256, one generate call per
 *       request, as the device's generator is configured) and against
 *       read(/dev/urandom), all in this run; then the leak latency (trigger
 *       -> 64 parked buffers filled and the call signalled). Ends with
 *       `ratio=<device / raw DRBG at 4 KiB>`.
 */
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "fe_time.h"
#include "probe.h"
#include "rng_probe.h"

#define MAX_DEPTH 1024u

/* ---- option parsing ------------------------------------------------------- */

struct rng_args {
	long chunk, depth, events, buffers, seconds_ms, reps, leak_iters;
	bool stats;
	const char *control, *name, *sizes;
};

static int parse_args(int argc, char **argv, struct rng_args *a)
{
	static const struct option lo[] = {
	    {"chunk", required_argument, NULL, 'c'},
	    {"stats", no_argument, NULL, 'S'},
	    {"depth", required_argument, NULL, 'd'},
	    {"events", required_argument, NULL, 'e'},
	    {"buffers", required_argument, NULL, 'b'},
	    {"seconds", required_argument, NULL, 's'},
	    {"reps", required_argument, NULL, 'r'},
	    {"leak-iterations", required_argument, NULL, 'l'},
	    {"control", required_argument, NULL, 'C'},
	    {"name", required_argument, NULL, 'n'},
	    {"sizes", required_argument, NULL, 'z'},
	    {0},
	};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		char *end;
		double v;
		switch (c) {
		case 'C':
			a->control = optarg;
			continue;
		case 'S':
			a->stats = true;
			continue;
		case 'n':
			a->name = optarg;
			continue;
		case 'z':
			a->sizes = optarg;
			continue;
		case 's':
			v = strtod(optarg, &end);
			if (*end || v <= 0 || v > 600)
				goto bad;
			a->seconds_ms = (long)(v * 1000);
			continue;
		case 'c':
		case 'd':
		case 'e':
		case 'b':
		case 'r':
		case 'l': {
			long x = strtol(optarg, &end, 0);
			if (*end || x <= 0 || x > (1 << 24))
				goto bad;
			long *dst = c == 'c'   ? &a->chunk
				    : c == 'd' ? &a->depth
				    : c == 'e' ? &a->events
				    : c == 'b' ? &a->buffers
				    : c == 'r' ? &a->reps
					       : &a->leak_iters;
			*dst = x;
			continue;
		}
		default:
			return -1;
		}
	bad:
		fprintf(stderr, "rng: bad value '%s'\n", optarg);
		return -1;
	}
	return 0;
}

static struct rng_trigger trigger_of(const struct rng_args *a)
{
	if (a->control)
		return (struct rng_trigger){RNG_TRIGGER_CONTROL, a->control, a->name};
	return (struct rng_trigger){RNG_TRIGGER_STATE, NULL, NULL};
}

/* ---- rng read ------------------------------------------------------------- */

static int cmd_read(struct probe_ctx *ctx, const struct rng_args *a, uint64_t total)
{
	struct fe_dev *d;
	int r = fe_dev_open(&ctx->dev, &d);
	if (r < 0) {
		fprintf(stderr, "rng read: cannot open the device: %s\n", strerror(-r));
		return 1;
	}
	if (fe_dev_start(d) < 0) {
		fprintf(stderr, "rng read: start failed: %s\n", d->vu->error);
		fe_dev_close(d);
		return 1;
	}
	struct fe_vq *vq = d->vqs[0];
	uint32_t chunk = (uint32_t)(a->chunk ? a->chunk : 4096);
	unsigned depth = (unsigned)VT_MIN((long)vq->num, a->depth ? a->depth : 16);
	uint64_t bufs[MAX_DEPTH];
	uint8_t *out = malloc(chunk);
	int rc = 1;
	if (!out)
		goto done;
	uint64_t inflight = 0, written = 0; /* bytes asked for by chains in flight */
	uint64_t requests = 0, t0 = vt_now_ns();
	for (unsigned i = 0; i < depth && inflight < total; i++) {
		if (fe_mem_alloc(d->mem, chunk, 64, &bufs[i]) < 0)
			goto done;
		struct fe_seg s = {bufs[i], chunk, true};
		if (fe_vq_add(vq, &s, 1, 0, (void *)(uintptr_t)i) < 0)
			goto done;
		inflight += chunk;
	}
	rng_probe_kick(vq);
	while (written < total) {
		r = fe_vq_wait(vq, d->opts.timeout_ms, d->opts.wait_mode);
		if (r < 0) {
			fprintf(stderr,
				"rng read: %s after %llu bytes (device degraded or throttled?)\n",
				r == -ETIMEDOUT ? "timeout" : vq->error,
				(unsigned long long)written);
			goto done;
		}
		struct fe_used u;
		while (fe_vq_get_used(vq, &u) == 0) {
			unsigned i = (unsigned)(uintptr_t)u.token;
			size_t n = VT_MIN((uint64_t)u.len, total - written);
			inflight -= chunk;
			if (u.len == 0) {
				fprintf(stderr,
					"rng read: the device completed a request with len 0\n");
				goto done;
			}
			if (fe_mem_read(d->mem, bufs[i], out, n) < 0 ||
			    fwrite(out, 1, n, stdout) != n)
				goto done;
			written += n;
			requests++;
			if (written + inflight < total) {
				struct fe_seg s = {bufs[i], chunk, true};
				if (fe_vq_add(vq, &s, 1, 0, (void *)(uintptr_t)i) < 0)
					goto done;
				inflight += chunk;
			}
		}
		rng_probe_kick(vq);
	}
	rc = fflush(stdout) == 0 ? 0 : 1;
	if (a->stats)
		fprintf(stderr, "bytes=%llu requests=%llu seconds=%.6f\n",
			(unsigned long long)written, (unsigned long long)requests,
			(double)(vt_now_ns() - t0) / 1e9);
done:
	free(out);
	fe_dev_close(d);
	return rc;
}

/* ---- rng leak-test -------------------------------------------------------- */

#define FILL_LEN 64u
#define COPY_LEN 32u

struct parked {
	uint64_t src, dst; /* copy: src readable, dst writable; fill: dst only */
	bool copy;
	int event;
};

struct leak_test {
	struct fe_dev *d;
	struct rng_trigger trig;
	struct parked *p;
	unsigned np, cap;
	uint8_t (*fills)[FILL_LEN];
	unsigned nfills;
	char why[512];
};

static int lt_fail(struct leak_test *t, const char *fmt, ...) VT_PRINTF(2, 3);
static int lt_fail(struct leak_test *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(t->why, sizeof(t->why), fmt, ap);
	va_end(ap);
	return -1;
}

static uint8_t copy_pattern(unsigned id, unsigned k)
{
	return (uint8_t)(id * 37u + k * 11u + 1u);
}

/* Parks one buffer on queue q (token = index into t->p). */
static int lt_park(struct leak_test *t, unsigned q, bool copy, int event)
{
	struct fe_dev *d = t->d;
	if (t->np == t->cap)
		return lt_fail(t, "too many buffers");
	unsigned id = t->np;
	struct parked *p = &t->p[id];
	*p = (struct parked){.copy = copy, .event = event};
	uint32_t len = copy ? COPY_LEN : FILL_LEN;
	if (fe_mem_alloc(d->mem, len, 64, &p->dst) < 0 ||
	    (copy && fe_mem_alloc(d->mem, len, 64, &p->src) < 0))
		return lt_fail(t, "out of guest memory");
	if (fe_mem_fill(d->mem, p->dst, 0, len) < 0)
		abort();
	struct fe_seg s[2];
	unsigned n = 0;
	if (copy) {
		uint8_t pat[COPY_LEN];
		for (unsigned k = 0; k < len; k++)
			pat[k] = copy_pattern(id, k);
		if (fe_mem_write(d->mem, p->src, pat, len) < 0)
			abort();
		s[n++] = (struct fe_seg){p->src, len, false};
	}
	s[n++] = (struct fe_seg){p->dst, len, true};
	if (fe_vq_add(d->vqs[q], s, n, 0, (void *)(uintptr_t)(id + 1)) < 0)
		return lt_fail(t, "leakq%u full", q);
	t->np++;
	return fe_vq_kick(d->vqs[q]) < 0 ? lt_fail(t, "kick failed") : 0;
}

/* Checks one completion. */
static int lt_check(struct leak_test *t, unsigned q, const struct fe_used *u)
{
	unsigned id = (unsigned)(uintptr_t)u->token - 1;
	struct parked *p = &t->p[id];
	uint32_t len = p->copy ? COPY_LEN : FILL_LEN;
	if (u->len != len)
		return lt_fail(t, "leakq%u: buffer %u (%s) completed with len %u, expected %u", q,
			       id, p->copy ? "copy" : "fill", u->len, len);
	uint8_t got[FILL_LEN];
	if (fe_mem_read(t->d->mem, p->dst, got, len) < 0)
		abort();
	if (p->copy) {
		for (unsigned k = 0; k < len; k++)
			if (got[k] != copy_pattern(id, k))
				return lt_fail(t, "leakq%u: copy buffer %u byte %u wrong", q, id,
					       k);
		return 0;
	}
	bool zero = true;
	for (unsigned k = 0; k < len; k++)
		zero &= got[k] == 0;
	if (zero)
		return lt_fail(t, "leakq%u: fill buffer %u left zero", q, id);
	memcpy(t->fills[t->nfills++], got, FILL_LEN);
	return 0;
}

/* Waits until `want` more completions arrived on q; checks each. */
static int lt_collect(struct leak_test *t, unsigned q, unsigned want, int timeout_ms)
{
	struct fe_vq *vq = t->d->vqs[q];
	uint64_t deadline = fe_deadline(timeout_ms);
	unsigned got = 0;
	while (got < want) {
		int r = fe_vq_wait(vq, fe_remaining_ms(deadline), FE_VQ_WAIT_EVENTFD);
		if (r < 0)
			return lt_fail(t, "leakq%u: %u of %u buffers used: %s", q, got, want,
				       r == -ETIMEDOUT ? "timeout" : vq->error);
		struct fe_used u;
		while (fe_vq_get_used(vq, &u) == 0) {
			if (lt_check(t, q, &u) < 0)
				return -1;
			got++;
		}
	}
	return 0;
}

/* Nothing may complete on q within ms. */
static int lt_quiet(struct leak_test *t, unsigned q, int ms, const char *what)
{
	struct fe_vq *vq = t->d->vqs[q];
	int r = fe_vq_wait(vq, ms, FE_VQ_WAIT_EVENTFD);
	if (r == -ETIMEDOUT)
		return 0;
	return lt_fail(t, "leakq%u: %s", q, r == 0 ? what : vq->error);
}

static int run_leak_test(struct leak_test *t, unsigned events, unsigned k, FILE *out)
{
	struct fe_dev *d = t->d;
	int tmo = d->opts.timeout_ms;
	unsigned active = RNG_PROBE_LEAKQ1;
	unsigned stray = 0; /* buffers parked on the inactive queue, used at its next event */
	for (unsigned e = 1; e <= events; e++) {
		unsigned other = RNG_PROBE_LEAKQ1 + RNG_PROBE_LEAKQ2 - active;
		for (unsigned i = 0; i < k; i++)
			if (lt_park(t, active, i % 2 == 1, (int)e) < 0)
				return -1;
		if (lt_quiet(t, active, 50, "a parked buffer was used before any leak event") < 0)
			return -1;
		if (e >= 2) {
			/* A stray buffer on the inactive queue: it must wait for that queue's turn.
			 */
			if (lt_park(t, other, false, (int)e + 1) < 0)
				return -1;
		}
		char err[256];
		if (rng_probe_trigger(d, &t->trig, err, sizeof(err)) < 0)
			return lt_fail(t, "event %u: %s", e, err);
		if (lt_collect(t, active, k + stray, tmo) < 0)
			return -1;
		stray = 0;
		if (e == 1) {
			/* The device keeps using this queue until the driver moves. */
			if (lt_park(t, active, false, 1) < 0 || lt_collect(t, active, 1, tmo) < 0)
				return lt_fail(
				    t, "after event 1, a new buffer on the firing leakq%u: %s",
				    active, t->why);
		}
		if (e >= 2) {
			if (lt_quiet(t, other, 30,
				     "the stray buffer on the inactive queue was used") < 0)
				return -1;
			stray = 1;
		}
		fprintf(out, "event %u: leakq%u: %u parked buffers used (%u copy)%s\n", e, active,
			k + (e >= 3), k / 2,
			e == 1	 ? ", then 1 more while it kept firing"
			: e >= 3 ? " incl. 1 stray that waited on the inactive queue"
				 : "");
		active = other;
	}
	/* No two fill buffers of any events are equal. */
	for (unsigned i = 0; i < t->nfills; i++)
		for (unsigned j = i + 1; j < t->nfills; j++)
			if (memcmp(t->fills[i], t->fills[j], FILL_LEN) == 0)
				return lt_fail(t, "two fill buffers (%u, %u) hold equal bytes", i,
					       j);
	return 0;
}

static int cmd_leak_test(struct probe_ctx *ctx, const struct rng_args *a)
{
	struct fe_dev_opts o = ctx->dev;
	unsigned events = (unsigned)(a->events ? a->events : 6);
	unsigned k = (unsigned)(a->buffers ? a->buffers : 8);
	rng_probe_leak_opts(&o);
	if (o.queue_size < 2 * (k + 2))
		o.queue_size = 256;
	struct leak_test t = {.trig = trigger_of(a)};
	t.cap = events * (k + 2) + 4;
	t.p = calloc(t.cap, sizeof(*t.p));
	t.fills = calloc(t.cap, sizeof(*t.fills));
	int rc = 1;
	if (!t.p || !t.fills)
		goto out;
	int r = fe_dev_open(&o, &t.d);
	if (r < 0) {
		fprintf(stderr, "rng leak-test: cannot open the device: %s\n", strerror(-r));
		goto out;
	}
	if (!(t.d->vu->features & RNG_PROBE_F_LEAK)) {
		fprintf(stderr,
			"rng leak-test: FAIL: the device does not offer VIRTIO_RNG_F_LEAK\n");
		goto out;
	}
	if (t.trig.kind == RNG_TRIGGER_STATE &&
	    !fe_vu_has_protocol(t.d->vu, VHOST_USER_PROTOCOL_F_DEVICE_STATE)) {
		fprintf(stderr, "rng leak-test: FAIL: no DEVICE_STATE and no --control socket\n");
		goto out;
	}
	if (fe_dev_start(t.d) < 0 || !(t.d->vu->acked_features & RNG_PROBE_F_LEAK)) {
		fprintf(stderr, "rng leak-test: FAIL: start with LEAK: %s\n", t.d->vu->error);
		goto out;
	}
	if (run_leak_test(&t, events, k, ctx->out) < 0) {
		fprintf(stderr, "rng leak-test: FAIL: %s\n", t.why);
		goto out;
	}
	/* requestq still serves. */
	uint64_t b;
	struct fe_used u;
	struct fe_seg s;
	if (fe_mem_alloc(t.d->mem, 64, 64, &b) < 0)
		goto out;
	s = (struct fe_seg){b, 64, true};
	if (fe_dev_submit(t.d, 0, &s, 1, &u) < 0 || u.len != 64) {
		fprintf(stderr, "rng leak-test: FAIL: requestq after the events: %s\n",
			fe_dev_error(t.d, 0));
		goto out;
	}
	fprintf(ctx->out, "PASS leak-test: %u events via %s, %u fill buffers all distinct\n",
		events, t.trig.kind == RNG_TRIGGER_CONTROL ? "control socket" : "DEVICE_STATE load",
		t.nfills);
	rc = 0;
out:
	fe_dev_close(t.d);
	free(t.p);
	free(t.fills);
	return rc;
}

/* ---- rng bench ------------------------------------------------------------ */

struct bench_cell {
	double v[16];
	unsigned n;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(struct bench_cell *c)
{
	qsort(c->v, c->n, sizeof(double), cmp_double);
	return c->n ? c->v[c->n / 2] : 0;
}

/* Device throughput in MB/s: depth requests of size bytes kept in flight. */
static double bench_device(struct fe_dev *d, uint32_t size, unsigned depth, long ms)
{
	struct fe_vq *vq = d->vqs[0];
	uint64_t bufs[MAX_DEPTH];
	depth = VT_MIN(depth, (unsigned)vq->num);
	for (unsigned i = 0; i < depth; i++) {
		if (fe_mem_alloc(d->mem, size, 64, &bufs[i]) < 0)
			return -1;
		struct fe_seg s = {bufs[i], size, true};
		if (fe_vq_add(vq, &s, 1, 0, (void *)(uintptr_t)i) < 0)
			return -1;
	}
	rng_probe_kick(vq);
	uint64_t bytes = 0, t0 = vt_now_ns(), end = t0 + (uint64_t)ms * 1000000ull, now = t0;
	double rate = -1;
	while (now < end) {
		if (fe_vq_wait(vq, d->opts.timeout_ms, FE_VQ_WAIT_POLL) < 0)
			goto out;
		struct fe_used u;
		while (fe_vq_get_used(vq, &u) == 0) {
			unsigned i = (unsigned)(uintptr_t)u.token;
			bytes += u.len;
			struct fe_seg s = {bufs[i], size, true};
			if (fe_vq_add(vq, &s, 1, 0, u.token) < 0)
				goto out;
		}
		rng_probe_kick(vq);
		now = vt_now_ns();
	}
	rate = (double)bytes / ((double)(now - t0) / 1e9) / 1e6;
out:
	/* Drain what is in flight, then give the memory back. */
	while (fe_vq_in_flight(vq)) {
		struct fe_used u;
		if (fe_vq_wait(vq, d->opts.timeout_ms, FE_VQ_WAIT_POLL) < 0)
			break;
		while (fe_vq_get_used(vq, &u) == 0)
			;
	}
	for (unsigned i = 0; i < depth; i++)
		(void)fe_mem_release(d->mem, bufs[i], size);
	return rate;
}

static EVP_RAND_CTX *raw_drbg(void)
{
	EVP_RAND *rand = EVP_RAND_fetch(NULL, "CTR-DRBG", NULL);
	EVP_RAND_CTX *c = rand ? EVP_RAND_CTX_new(rand, NULL) : NULL;
	EVP_RAND_free(rand);
	if (!c)
		return NULL;
	char cipher[] = "AES-256-CTR";
	unsigned zero = 0;
	time_t no_time = 0;
	int use_df = 1;
	OSSL_PARAM p[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_DRBG_PARAM_CIPHER, cipher, 0),
	    OSSL_PARAM_construct_int(OSSL_DRBG_PARAM_USE_DF, &use_df),
	    OSSL_PARAM_construct_uint(OSSL_DRBG_PARAM_RESEED_REQUESTS, &zero),
	    OSSL_PARAM_construct_time_t(OSSL_DRBG_PARAM_RESEED_TIME_INTERVAL, &no_time),
	    OSSL_PARAM_construct_end(),
	};
	if (!EVP_RAND_CTX_set_params(c, p) || !EVP_RAND_instantiate(c, 256, 0, NULL, 0, NULL)) {
		EVP_RAND_CTX_free(c);
		return NULL;
	}
	return c;
}

/* Raw fills of `size` bytes, rotating over the same footprint the device writes (depth x size). */
static double bench_raw(EVP_RAND_CTX *c, uint8_t *buf, uint32_t size, unsigned depth, long ms)
{
	uint64_t bytes = 0, t0 = vt_now_ns(), end = t0 + (uint64_t)ms * 1000000ull, now = t0;
	unsigned slot = 0;
	while (now < end) {
		for (int i = 0; i < 16; i++) {
			if (!EVP_RAND_generate(c, buf + (size_t)slot * size, size, 256, 0, NULL, 0))
				return -1;
			slot = slot + 1 == depth ? 0 : slot + 1;
			bytes += size;
		}
		now = vt_now_ns();
	}
	return (double)bytes / ((double)(now - t0) / 1e9) / 1e6;
}

static double bench_urandom(int fd, uint8_t *buf, uint32_t size, long ms)
{
	uint64_t bytes = 0, t0 = vt_now_ns(), end = t0 + (uint64_t)ms * 1000000ull, now = t0;
	while (now < end) {
		for (int i = 0; i < 16; i++) {
			ssize_t n = read(fd, buf, size);
			if (n <= 0)
				return -1;
			bytes += (uint64_t)n;
		}
		now = vt_now_ns();
	}
	return (double)bytes / ((double)(now - t0) / 1e9) / 1e6;
}

/* One leak event with n fill buffers parked on leakq q: trigger -> all used, in µs. */
static double bench_leak_once(struct fe_dev *d, const struct rng_trigger *trig, unsigned q,
			      unsigned n, const uint64_t *bufs)
{
	struct fe_vq *vq = d->vqs[q];
	for (unsigned i = 0; i < n; i++) {
		struct fe_seg s = {bufs[i], FILL_LEN, true};
		if (fe_vq_add(vq, &s, 1, 0, NULL) < 0)
			return -1;
	}
	rng_probe_kick(vq);
	/* Let the device see the buffers (and switch to this queue) before the clock starts. */
	struct timespec ts = {0, 5000000};
	nanosleep(&ts, NULL);
	char err[256];
	_cleanup_close_ int cfd = -1;
	if (trig->kind == RNG_TRIGGER_CONTROL) {
		/* Connected before the clock starts: the latency is from the command itself. */
		cfd = rng_probe_control_connect(trig->control_path);
		if (cfd < 0) {
			fprintf(stderr, "rng bench: control socket: %s\n", strerror(-cfd));
			return -1;
		}
	}
	uint64_t t0 = vt_now_ns();
	if (cfd >= 0) {
		char line[160];
		int len = snprintf(line, sizeof(line), "{\"cmd\":\"leak\",\"device\":\"%s\"}\n",
				   trig->device_name ? trig->device_name : "rng0");
		if (write(cfd, line, (size_t)len) != len)
			return -1;
	} else if (rng_probe_trigger(d, trig, err, sizeof(err)) < 0) {
		fprintf(stderr, "rng bench: %s\n", err);
		return -1;
	}
	unsigned got = 0;
	while (got < n) {
		if (fe_vq_wait(vq, d->opts.timeout_ms, FE_VQ_WAIT_EVENTFD) < 0)
			return -1;
		struct fe_used u;
		while (fe_vq_get_used(vq, &u) == 0)
			got++;
	}
	double us = (double)(vt_now_ns() - t0) / 1e3;
	if (cfd >= 0) {
		/* The reply must say ok. */
		char reply[512];
		ssize_t k = 0;
		struct pollfd p = {.fd = cfd, .events = POLLIN};
		if (poll(&p, 1, d->opts.timeout_ms) == 1)
			k = read(cfd, reply, sizeof(reply) - 1);
		reply[k > 0 ? k : 0] = '\0';
		if (!strstr(reply, "\"ok\":true")) {
			fprintf(stderr, "rng bench: leak command refused: %s\n", reply);
			return -1;
		}
	}
	return us;
}

/* µs from writing {"cmd":"commands"} on a connected socket to its whole reply line; <0 on error. */
static double control_rtt(const char *path, int timeout_ms)
{
	_cleanup_close_ int fd = rng_probe_control_connect(path);
	if (fd < 0)
		return -1;
	static const char line[] = "{\"cmd\":\"commands\"}\n";
	char reply[8192];
	size_t got = 0;
	uint64_t t0 = vt_now_ns();
	if (write(fd, line, sizeof(line) - 1) != (ssize_t)(sizeof(line) - 1))
		return -1;
	while (got < sizeof(reply) - 1) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, timeout_ms) != 1)
			return -1;
		ssize_t k = read(fd, reply + got, sizeof(reply) - 1 - got);
		if (k <= 0)
			return -1;
		got += (size_t)k;
		if (memchr(reply, '\n', got))
			return (double)(vt_now_ns() - t0) / 1e3;
	}
	return -1;
}

static int bench_leak(struct probe_ctx *ctx, const struct rng_args *a, struct bench_cell *lat)
{
	struct fe_dev_opts o = ctx->dev;
	rng_probe_leak_opts(&o);
	o.queue_size = 128;
	struct fe_dev *d;
	if (fe_dev_open(&o, &d) < 0)
		return -1;
	int rc = -1;
	uint64_t bufs[64];
	if (!(d->vu->features & RNG_PROBE_F_LEAK) || fe_dev_start(d) < 0)
		goto out;
	for (unsigned i = 0; i < 64; i++)
		if (fe_mem_alloc(d->mem, FILL_LEN, 64, &bufs[i]) < 0)
			goto out;
	struct rng_trigger trig = trigger_of(a);
	unsigned q = RNG_PROBE_LEAKQ1;
	long iters = a->leak_iters ? a->leak_iters : 15;
	for (long i = 0; i < iters && lat->n < VT_ARRAY_SIZE(lat->v); i++) {
		double us = bench_leak_once(d, &trig, q, 64, bufs);
		if (us < 0)
			goto out;
		lat->v[lat->n++] = us;
		q = RNG_PROBE_LEAKQ1 + RNG_PROBE_LEAKQ2 - q; /* the driver moves on */
	}
	rc = 0;
out:
	fe_dev_close(d);
	return rc;
}

/* Requests in flight: --depth, else enough to hide the kick->call round trip
 * without a working set beyond ~1 MiB (what a guest reading that size would do). */
#define BENCH_FOOTPRINT (1u << 20)
static unsigned bench_depth(const struct rng_args *a, uint32_t size, unsigned qsize)
{
	if (a->depth)
		return (unsigned)VT_MIN((unsigned long)a->depth, (unsigned long)qsize);
	unsigned d = BENCH_FOOTPRINT / VT_MAX(size, 1u);
	return VT_MIN(qsize, VT_MAX(8u, d));
}

static int cmd_bench(struct probe_ctx *ctx, const struct rng_args *a)
{
	uint32_t sizes[8] = {64, 4096, 65536};
	unsigned nsizes = 3;
	if (a->sizes) {
		nsizes = 0;
		char *copy = strdup(a->sizes), *save = NULL;
		for (char *tok = strtok_r(copy, ",", &save); tok && nsizes < 8;
		     tok = strtok_r(NULL, ",", &save))
			sizes[nsizes++] = (uint32_t)strtoul(tok, NULL, 0);
		free(copy);
	}
	long ms = a->seconds_ms ? a->seconds_ms : 1000;
	unsigned reps = (unsigned)VT_MIN(a->reps ? a->reps : 3, 16);
	struct fe_dev_opts o = ctx->dev;
	if (o.queue_size < 256)
		o.queue_size = 256;
	o.nvqs = 1;
	o.mem.size = VT_MAX(o.mem.size, (uint64_t)256 << 20);

	struct fe_dev *d;
	int r = fe_dev_open(&o, &d);
	if (r < 0 || fe_dev_start(d) < 0) {
		fprintf(stderr, "rng bench: cannot open/start the device: %s\n", strerror(-r));
		fe_dev_close(d);
		return 1;
	}
	EVP_RAND_CTX *drbg = raw_drbg();
	int ufd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	uint8_t *buf = malloc((size_t)BENCH_FOOTPRINT + (1u << 20));
	if (!drbg || ufd < 0 || !buf) {
		fprintf(stderr, "rng bench: baselines unavailable\n");
		return 1;
	}
	struct bench_cell dev[8] = {0}, raw[8] = {0}, ur[8] = {0};
	unsigned depths[8];
	for (unsigned i = 0; i < nsizes; i++)
		depths[i] = bench_depth(a, sizes[i], o.queue_size);
	/* Interleaved repetitions: host noise hits all three columns alike. */
	for (unsigned rep = 0; rep < reps; rep++) {
		for (unsigned i = 0; i < nsizes; i++) {
			unsigned depth = depths[i];
			double x = bench_device(d, sizes[i], depth, ms);
			if (x < 0) {
				fprintf(stderr, "rng bench: device failed at %u bytes: %s\n",
					sizes[i], fe_dev_error(d, 0));
				return 1;
			}
			dev[i].v[dev[i].n++] = x;
			unsigned rdepth =
			    VT_MAX(1u, VT_MIN(depth, (BENCH_FOOTPRINT + (1u << 20)) / sizes[i]));
			raw[i].v[raw[i].n++] = bench_raw(drbg, buf, sizes[i], rdepth, ms);
			ur[i].v[ur[i].n++] = bench_urandom(ufd, buf, sizes[i], ms);
		}
	}
	fe_dev_close(d);
	EVP_RAND_CTX_free(drbg);
	close(ufd);
	free(buf);

	FILE *out = ctx->out;
	fprintf(out,
		"rng throughput, MB/s: median [min-max] of %u x %.1f s; depth = requests in flight "
		"(raw fills rotate over the same depth x size bytes)\n",
		reps, (double)ms / 1000);
	fprintf(out, "%8s %6s %24s %24s %24s %8s %8s\n", "size", "depth", "device", "raw EVP_RAND",
		"read(/dev/urandom)", "dev/raw", "dev/ur");
	double ratio = 0;
	for (unsigned i = 0; i < nsizes; i++) {
		double md = median(&dev[i]), mr = median(&raw[i]), mu = median(&ur[i]);
		char c1[32], c2[32], c3[32];
		snprintf(c1, sizeof(c1), "%.0f [%.0f-%.0f]", md, dev[i].v[0],
			 dev[i].v[dev[i].n - 1]);
		snprintf(c2, sizeof(c2), "%.0f [%.0f-%.0f]", mr, raw[i].v[0],
			 raw[i].v[raw[i].n - 1]);
		snprintf(c3, sizeof(c3), "%.0f [%.0f-%.0f]", mu, ur[i].v[0], ur[i].v[ur[i].n - 1]);
		fprintf(out, "%8u %6u %24s %24s %24s %8.2f %8.2f\n", sizes[i], depths[i], c1, c2,
			c3, md / mr, md / mu);
		if (sizes[i] == 4096 || (ratio == 0 && i == nsizes - 1))
			ratio = md / mr;
	}

	/* Leak latency: only when the device offers the leak queues. */
	struct bench_cell lat = {0};
	if (bench_leak(ctx, a, &lat) == 0 && lat.n) {
		double p50 = median(&lat);
		fprintf(out,
			"leak latency (%s -> 64 parked buffers used, call signalled), us: "
			"p50 %.1f [min %.1f, max %.1f] over %u events\n",
			a->control ? "leak command written on an open control connection"
				   : "DEVICE_STATE stop+save+load+restart",
			p50, lat.v[0], lat.v[lat.n - 1], lat.n);
		if (a->control) {
			/* Baseline: a command that does nothing, same open connection, to its
			 * reply. */
			struct bench_cell rtt = {0};
			for (unsigned i = 0; i < VT_ARRAY_SIZE(rtt.v); i++) {
				double us = control_rtt(a->control, ctx->dev.timeout_ms);
				if (us < 0)
					break;
				rtt.v[rtt.n++] = us;
			}
			if (rtt.n)
				fprintf(out,
					"baseline: control-socket round trip of "
					"{\"cmd\":\"commands\"} on "
					"an open connection, us: p50 %.1f\n",
					median(&rtt));
		}
	} else {
		fprintf(out, "leak latency: not measured (device without VIRTIO_RNG_F_LEAK?)\n");
	}
	fprintf(out, "ratio=%.2f\n", ratio);
	return 0;
}

/* ---- dispatch ------------------------------------------------------------- */

static int rng_run(struct probe_ctx *ctx, int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: rng read N | leak-test | bench (see --help)\n");
		return 2;
	}
	const char *sub = argv[1];
	struct rng_args a = {0};
	if (strcmp(sub, "read") == 0) {
		if (argc < 3) {
			fprintf(stderr, "usage: rng read N [--chunk B] [--depth D] [--stats]\n");
			return 2;
		}
		char *end;
		unsigned long long n = strtoull(argv[2], &end, 0);
		if (*end || argv[2][0] == '-') {
			fprintf(stderr, "rng read: bad byte count '%s'\n", argv[2]);
			return 2;
		}
		if (parse_args(argc - 2, argv + 2, &a) < 0)
			return 2;
		return cmd_read(ctx, &a, n);
	}
	if (parse_args(argc - 1, argv + 1, &a) < 0)
		return 2;
	if (strcmp(sub, "leak-test") == 0)
		return cmd_leak_test(ctx, &a);
	if (strcmp(sub, "bench") == 0)
		return cmd_bench(ctx, &a);
	fprintf(stderr, "rng: unknown subcommand '%s'\n", sub);
	return 2;
}

const struct probe_cmd probe_cmd_rng = {
    .name = "rng",
    .args = "read N|leak-test|bench",
    .summary = "entropy device: raw bytes, leak-queue protocol test, throughput benchmark",
    .run = rng_run,
};
