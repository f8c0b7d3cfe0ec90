/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `crypto bench`: requests per second through a crypto back-end against the
 * same OpenSSL calls on the same buffers in the same run.
 *
 * Cells: AES-256-GCM encrypt (+16-byte tag), AES-128-CBC encrypt, SHA-256,
 * HMAC-SHA256, at each size (default 64, 1024, 16384 bytes) and queue depth
 * (default 1 and 64). Device: `depth` requests kept in flight on data queue
 * 0 (completed ones are resubmitted at once, one kick per batch if the
 * device asks for kicks), sessions from the control queue; every
 * completion's status byte is reset before the request goes out and checked
 * after, and one output per cell is compared with OpenSSL's. Raw: the EVP
 * calls the device makes per request (IV re-init on a keyed context, update,
 * final, tag; digest / MAC re-init, update, final) over the same guest
 * buffers, on one thread. --alg NAME runs that algorithm's cells only.
 *
 * Each cell runs --reps reps of --seconds of each side. A rep interleaves
 * the two in 5 turns of seconds/5 (device first, then raw first, and so on),
 * so a shared host that speeds up or slows down during a rep weighs on both
 * sides; its ratio is the device rate over the raw rate of the rep. The
 * table shows medians, the spread (max-min)/median of the device rate, and
 * the median [min-max] of the reps' ratios (the headline). drv_ns is this
 * driver's own CPU time per request during the device turns.
 *
 * The used ring is waited on as the global --poll says (default: sleep on the
 * call eventfd, which leaves the CPU to the daemon on small machines). With
 * --control PATH (vtrustd's control socket) the table also shows the time
 * the daemon's data worker spent per request (its busy-seconds and request
 * counters before and after each rep): worker_ns - raw_ns is what the device
 * adds per request, independent of notification latency.
 * The last line is ratio=<median of the paired e2e / raw runs> for AES-256-GCM at
 * 16 KiB, depth 64.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include <json-c/json.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "crypto_bench.h"
#include "fe_time.h"
#include "raw_evp.h"

/* In vc_raw_alg's order. */
enum b_kind { B_GCM, B_CBC, B_SHA, B_HMAC };

struct b_alg {
	const char *name;
	enum b_kind kind;
	uint32_t key_len;
};

static const struct b_alg algs[] = {
	{"aes-256-gcm", B_GCM, 32},
	{"aes-128-cbc", B_CBC, 16},
	{"sha256", B_SHA, 0},
	{"hmac-sha256", B_HMAC, 32},
};

#define MAX_DEPTH 128u

struct slot {
	uint64_t rgpa, wgpa;
	uint8_t *rp, *wp;
	size_t rlen, wlen, src_off;
	struct fe_seg segs[3];
};

struct cell {
	double dev_rate, raw_rate; /* requests per second */
};

static uint8_t key[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
			  17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

static int make_session(struct cp_conn *c, const struct b_alg *al, uint64_t *id)
{
	uint8_t h[VCB_HDR_MAX];
	size_t l;
	switch (al->kind) {
	case B_GCM:
		l = vcb_ctrl_aead(h, c->features, VC_AEAD_GCM, 32, 16, 0, VC_OP_ENCRYPT);
		return cp_ctrl_create(c, h, l, key, 32, id);
	case B_CBC:
		l = vcb_ctrl_cipher(h, c->features, VC_CIPHER_AES_CBC, 16, VC_OP_ENCRYPT);
		return cp_ctrl_create(c, h, l, key, 16, id);
	case B_SHA:
		l = vcb_ctrl_hash(h, c->features, VC_HASH_SHA_256, 32);
		return cp_ctrl_create(c, h, l, NULL, 0, id);
	default:
		l = vcb_ctrl_mac(h, c->features, VC_MAC_HMAC_SHA_256, 32, 32);
		return cp_ctrl_create(c, h, l, key, 32, id);
	}
}

static void free_slots(struct fe_dev *d, struct slot *s, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (s[i].rp)
			fe_mem_release(d->mem, s[i].rgpa, s[i].rlen);
		if (s[i].wp)
			fe_mem_release(d->mem, s[i].wgpa, s[i].wlen);
	}
}

static int make_slots(struct cp_conn *c, const struct b_alg *al, uint64_t id, size_t size,
		      struct slot *s, unsigned depth)
{
	struct fe_dev *d = c->d;
	for (unsigned i = 0; i < depth; i++) {
		struct vcb_data q = {.session_id = id, .src_len = (uint32_t)size};
		size_t iv = 0, out = 0;
		switch (al->kind) {
		case B_GCM:
			q.opcode = VC_AEAD_ENCRYPT, q.iv_len = 12, q.tag_len = 16;
			q.dst_len = (uint32_t)size + 16;
			iv = 12, out = size + 16;
			break;
		case B_CBC:
			q.opcode = VC_CIPHER_ENCRYPT, q.sym_op = VC_SYM_OP_CIPHER, q.iv_len = 16;
			q.dst_len = (uint32_t)size;
			iv = 16, out = size;
			break;
		case B_SHA:
			q.opcode = VC_HASH, q.hash_result_len = 32, out = 32;
			break;
		case B_HMAC:
			q.opcode = VC_MAC, q.hash_result_len = 32, out = 32;
			break;
		}
		uint8_t hdr[VCB_HDR_MAX];
		size_t hl = vcb_data_hdr(hdr, c->features, &q);
		s[i].rlen = hl + iv + size;
		s[i].wlen = out + 1;
		s[i].src_off = hl + iv;
		s[i].rp = fe_mem_alloc_ptr(d->mem, s[i].rlen, 64, &s[i].rgpa);
		s[i].wp = fe_mem_alloc_ptr(d->mem, s[i].wlen, 64, &s[i].wgpa);
		if (!s[i].rp || !s[i].wp)
			return -ENOMEM;
		memcpy(s[i].rp, hdr, hl);
		for (size_t k = 0; k < iv + size; k++)
			s[i].rp[hl + k] = (uint8_t)(k * 7 + i);
		s[i].segs[0] = (struct fe_seg){s[i].rgpa, (uint32_t)s[i].rlen, false};
		s[i].segs[1] = (struct fe_seg){s[i].wgpa, (uint32_t)out, true};
		s[i].segs[2] = (struct fe_seg){s[i].wgpa + out, 1, true};
	}
	return 0;
}

/* CPU time of the calling thread (the driver's own cost), ns. */
static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Requests, seconds and driver CPU time summed over a rep's slices. */
struct tally {
	uint64_t done;
	uint64_t ns;
	uint64_t cpu_ns;
};

/*
 * Keeps depth requests in flight for `seconds` and adds what it did to *t
 * (the driver's CPU time from this thread's clock); 0, or <0 on error.
 */
static int run_device(struct cp_conn *c, struct slot *s, unsigned depth, double seconds,
		      uint64_t *bad, struct tally *t)
{
	uint64_t cpu0 = thread_cpu_ns();
	struct fe_dev *d = c->d;
	struct fe_vq *vq = d->vqs[0];
	for (unsigned i = 0; i < depth; i++) {
		s[i].wp[s[i].wlen - 1] = 0xee; /* the device must write every status */
		if (fe_vq_add(vq, s[i].segs, 3, 0, &s[i]) < 0)
			return -1;
	}
	uint64_t t0 = vt_now_ns(), end = t0 + (uint64_t)(seconds * 1e9), done = 0;
	bool stopping = false;
	unsigned inflight = depth;
	if (fe_vq_kick(vq) < 0)
		return -1;
	while (inflight) {
		if (fe_vq_wait(vq, d->opts.timeout_ms, d->opts.wait_mode) < 0)
			return -1;
		struct fe_used u;
		unsigned readd = 0;
		while (fe_vq_get_used(vq, &u) == 0) {
			struct slot *sl = u.token;
			if (sl->wp[sl->wlen - 1] != VC_OK)
				(*bad)++;
			done++;
			inflight--;
			if (!stopping) {
				sl->wp[sl->wlen - 1] = 0xee;
				if (fe_vq_add(vq, sl->segs, 3, 0, sl) < 0)
					return -1;
				inflight++;
				readd++;
			}
		}
		if (readd && fe_vq_kick(vq) < 0)
			return -1;
		if (!stopping && vt_now_ns() >= end)
			stopping = true;
	}
	if (t) {
		t->done += done;
		t->ns += vt_now_ns() - t0;
		t->cpu_ns += thread_cpu_ns() - cpu0;
	}
	return 0;
}

/* One request's EVP work, exactly as the device does it (the shared baseline), into out. */
static int raw_one(struct vc_raw *r, enum b_kind k, const struct slot *s, size_t size,
		   uint8_t *out)
{
	const uint8_t *iv = s->rp + s->src_off - (k == B_GCM ? 12 : 16);
	const uint8_t *src = s->rp + s->src_off;
	bool cipher = k == B_GCM || k == B_CBC;
	return vc_raw_one(r, (enum vc_raw_alg)k, iv, src, out, size, cipher ? out + size : out);
}

/* The same EVP calls here, over the same slots, for `seconds`; adds to *t. 0, or <0. */
static int run_raw(struct vc_raw *r, enum b_kind k, struct slot *s, unsigned depth, size_t size,
		   double seconds, struct tally *t)
{
	uint64_t t0 = vt_now_ns(), end = t0 + (uint64_t)(seconds * 1e9), done = 0;
	while (vt_now_ns() < end) {
		for (unsigned i = 0; i < depth; i++, done++) /* into the same guest dst buffers */
			if (raw_one(r, k, &s[i], size, s[i].wp) < 0)
				return -1;
	}
	t->done += done;
	t->ns += vt_now_ns() - t0;
	return 0;
}

/*
 * One rep: SLICES turns of device then raw (raw first on every other turn),
 * seconds/SLICES each, so a machine that speeds up or slows down during the
 * rep (other tenants of a shared host) weighs on both sides alike.
 */
#define SLICES 5

static double rate(const struct tally *t)
{
	return t->ns ? (double)t->done * 1e9 / (double)t->ns : 0;
}

/* ---- worker time from vtrustd's metrics (control socket) -------------------- */

/* Sums a metric family's samples in Prometheus text; -1 if absent. */
static double metric_sum(const char *text, const char *family)
{
	double sum = -1;
	size_t fl = strlen(family);
	for (const char *p = text; (p = strstr(p, family)); p += fl) {
		if ((p != text && p[-1] != '\n') || (p[fl] != '{' && p[fl] != ' '))
			continue;
		const char *sp = strchr(p, ' ');
		const char *nl = strchr(p, '\n');
		if (!sp || (nl && sp > nl))
			continue;
		sum = (sum < 0 ? 0 : sum) + strtod(sp + 1, NULL);
	}
	return sum;
}

/* {"cmd":"metrics"} on vtrustd's control socket: worker seconds and data requests. */
static int worker_stats(const char *path, double *busy_s, double *requests)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (!path || strlen(path) >= sizeof(sa.sun_path))
		return -EINVAL;
	strcpy(sa.sun_path, path);
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	static const char req[] = "{\"cmd\":\"metrics\"}\n";
	if (write(fd, req, sizeof(req) - 1) != (ssize_t)(sizeof(req) - 1))
		return -EIO;
	size_t cap = 1 << 20, n = 0;
	char *buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	uint64_t deadline = fe_deadline(2000);
	int r = -ETIMEDOUT;
	while (n + 1 < cap) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, fe_remaining_ms(deadline)) <= 0)
			break;
		ssize_t k = read(fd, buf + n, cap - 1 - n);
		if (k <= 0)
			break;
		n += (size_t)k;
		buf[n] = '\0';
		if (strchr(buf, '\n')) {
			r = 0;
			break;
		}
	}
	if (r == 0) {
		struct json_object *o = json_tokener_parse(buf), *m;
		r = -EPROTO;
		if (o && json_object_object_get_ex(o, "metrics", &m)) {
			const char *t = json_object_get_string(m);
			*busy_s = metric_sum(t, "vtrust_crypto_busy_seconds_total");
			*requests = metric_sum(t, "vtrust_crypto_requests_total");
			r = *busy_s >= 0 && *requests >= 0 ? 0 : -ENOENT;
		}
		json_object_put(o);
	}
	free(buf);
	return r;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int parse_list(const char *s, long *out, int max)
{
	int n = 0;
	while (s && *s && n < max) {
		char *end;
		long v = strtol(s, &end, 0);
		if (end == s || v <= 0)
			return -1;
		out[n++] = v;
		s = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			return -1;
	}
	return n;
}

int crypto_bench(struct probe_ctx *ctx, const struct cc_args *a)
{
	long sizes[8], depths[8];
	int ns = parse_list(a->sizes, sizes, 8), nd = parse_list(a->depths, depths, 8);
	if (ns <= 0 || nd <= 0) {
		fprintf(stderr, "crypto bench: bad --sizes or --depths\n");
		return 2;
	}
	bool known = !a->alg;
	for (size_t ai = 0; ai < VT_ARRAY_SIZE(algs); ai++)
		known |= a->alg && strcmp(a->alg, algs[ai].name) == 0;
	if (!known) {
		fprintf(stderr, "crypto bench: --alg %s is not benchmarked; use aes-256-gcm, "
				"aes-128-cbc, sha256 or hmac-sha256\n", a->alg);
		return 2;
	}
	double seconds = a->quick ? 0.05 : a->seconds;
	long reps = a->quick ? 1 : a->reps;
	struct fe_dev_opts o = ctx->dev;
	o.device_features |= CP_DRIVER_FEATURES;
	if (o.mem.size && o.mem.size < (64u << 20))
		o.mem.size = 64u << 20;
	struct cp_conn c;
	if (cp_open(&o, false, &c) < 0) {
		fprintf(stderr, "crypto bench: %s\n", c.error);
		return 1;
	}
	struct vc_raw raw;
	if (vc_raw_init(&raw, key) < 0) {
		fprintf(stderr, "crypto bench: OpenSSL set-up failed\n");
		cp_close(&c);
		return 1;
	}
	FILE *out = ctx->out;
	bool workers = a->control != NULL;
	fprintf(out, "# e2e: requests/s through the socket with %s waits; raw: same EVP calls here\n",
		o.wait_mode == FE_VQ_WAIT_POLL ? "polling" : "sleeping");
	if (workers)
		fprintf(out, "# worker_ns: time inside vtrustd's data worker per request (metrics); "
			     "over_ns = worker_ns - raw_ns\n");
	fprintf(out, "# ratio: of the medians; paired: median [min-max] of each rep's device/raw, "
		     "the two interleaved in %d turns (the headline)\n", SLICES);
	fprintf(out, "# drv_ns: this driver's own CPU time per request during the e2e run\n");
	fprintf(out, "%-12s %6s %5s %11s %11s %9s %9s %9s %9s %7s %7s %7s %7s\n", "alg", "bytes",
		"depth", "e2e_req/s", "raw_req/s", "e2e_ns", "raw_ns", "worker_ns", "over_ns", "drv_ns",
		"ratio", "spread", "paired");
	double headline = -1;
	int rc = 0;
	for (size_t ai = 0; ai < VT_ARRAY_SIZE(algs) && rc == 0; ai++) {
		const struct b_alg *al = &algs[ai];
		if (a->alg && strcmp(a->alg, al->name) != 0)
			continue;
		uint64_t id;
		int st = make_session(&c, al, &id);
		if (st != VC_OK) {
			fprintf(stderr, "crypto bench: %s session: %d %s\n", al->name, st, c.error);
			rc = 1;
			break;
		}
		for (int si = 0; si < ns && rc == 0; si++) {
			size_t size = (size_t)sizes[si];
			if (al->kind == B_CBC && size % 16)
				continue;
			for (int di = 0; di < nd && rc == 0; di++) {
				unsigned depth = (unsigned)VT_MIN((long)MAX_DEPTH, depths[di]);
				depth = VT_MIN(depth, (unsigned)c.d->vqs[0]->num / 3u);
				static struct slot s[MAX_DEPTH];
				memset(s, 0, sizeof(s));
				if (make_slots(&c, al, id, size, s, depth) < 0) {
					fprintf(stderr, "crypto bench: out of guest memory\n");
					free_slots(c.d, s, depth);
					rc = 1;
					break;
				}
				double dev[16], rw[16], wk[16], pr[16], dv[16];
				uint64_t bad = 0;
				long R = VT_MIN(reps, 16L);
				for (long rep = 0; rep < R; rep++) {
					double b0 = 0, q0 = 0, b1 = 0, q1 = 0;
					bool have = workers && worker_stats(a->control, &b0, &q0) == 0;
					struct tally td = {0}, tr = {0};
					for (int k = 0; k < 2 * SLICES && rc == 0; k++) {
						bool dev_turn = ((k + (k / 2)) & 1) == 0; /* D R, R D, D R ... */
						int e = dev_turn ? run_device(&c, s, depth, seconds / SLICES,
									      &bad, &td)
								 : run_raw(&raw, al->kind, s, depth, size,
									   seconds / SLICES, &tr);
						if (e < 0) {
							fprintf(stderr, "crypto bench: %s\n",
								dev_turn ? fe_dev_error(c.d, 0)
									 : "OpenSSL failed");
							rc = 1;
						}
					}
					if (rc)
						break;
					have = have && worker_stats(a->control, &b1, &q1) == 0 && q1 > q0;
					wk[rep] = have ? (b1 - b0) * 1e9 / (q1 - q0) : -1;
					dev[rep] = rate(&td);
					rw[rep] = rate(&tr);
					dv[rep] = td.done ? (double)td.cpu_ns / (double)td.done : 0;
					pr[rep] = rw[rep] > 0 ? dev[rep] / rw[rep] : -1;
				}
				if (rc == 0) {
					/* One device output against OpenSSL's on the same input. */
					uint8_t *want = malloc(s[0].wlen);
					uint8_t *got = malloc(s[0].wlen);
					(void)run_device(&c, s, 1, 0, &bad, NULL);
					memcpy(got, s[0].wp, s[0].wlen - 1);
					if (raw_one(&raw, al->kind, &s[0], size, want) < 0 ||
					    memcmp(got, want, s[0].wlen - 1) != 0 || bad) {
						fprintf(stderr,
							"crypto bench: %s %zu: device output wrong or "
							"%llu bad statuses\n",
							al->name, size, (unsigned long long)bad);
						rc = 1;
					}
					free(want);
					free(got);
				}
				free_slots(c.d, s, depth);
				if (rc)
					break;
				qsort(dev, (size_t)R, sizeof(double), cmp_d);
				qsort(rw, (size_t)R, sizeof(double), cmp_d);
				qsort(wk, (size_t)R, sizeof(double), cmp_d);
				qsort(pr, (size_t)R, sizeof(double), cmp_d);
				qsort(dv, (size_t)R, sizeof(double), cmp_d);
				/* Each device run next to its raw run: the median of those pairs. */
				double ratio = pr[R / 2];
				double dm = dev[R / 2], rm = rw[R / 2], wm = wk[R / 2];
				double spread = dm > 0 ? (dev[R - 1] - dev[0]) / dm : 0;
				char wcol[32] = "-", ocol[32] = "-";
				if (wm > 0) {
					snprintf(wcol, sizeof(wcol), "%.0f", wm);
					snprintf(ocol, sizeof(ocol), "%.0f", wm - 1e9 / rm);
				}
				fprintf(out,
					"%-12s %6zu %5u %11.0f %11.0f %9.0f %9.0f %9s %9s %7.0f %7.3f %6.0f%% "
					"%7.3f [%.2f-%.2f]\n",
					al->name, size, depth, dm, rm, 1e9 / dm, 1e9 / rm, wcol, ocol,
					dv[R / 2], dm / rm, spread * 100, ratio, pr[0], pr[R - 1]);
				fflush(out);
				if (al->kind == B_GCM && size == 16384 && depth >= 64)
					headline = ratio;
				else if (headline < 0 && al->kind == B_GCM && size == (size_t)sizes[ns - 1] &&
					 di == nd - 1)
					headline = ratio;
			}
		}
		cp_drop(&c, al->kind == B_GCM   ? VC_AEAD_DESTROY_SESSION
					  : al->kind == B_CBC ? VC_CIPHER_DESTROY_SESSION
					  : al->kind == B_SHA ? VC_HASH_DESTROY_SESSION
							      : VC_MAC_DESTROY_SESSION,
				      id);
	}
	vc_raw_free(&raw);
	cp_close(&c);
	if (rc == 0)
		fprintf(out, "ratio=%.3f\n", headline);
	return rc;
}
