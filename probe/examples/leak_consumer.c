/* SPDX-License-Identifier: Apache-2.0 */
/*
 * leak_consumer: libvtrust-fortuna fed by vtrustd's entropy device, the way
 * a guest application with a virtio-rng driver would use it (issue 7, item 7).
 *
 *   leak_consumer --socket RNG.sock [--seconds S] [--events N] [--period-ms P]
 *                 [--buffers K] [--heartbeat-ms H] [--dump DIR] [--ignore-leaks]
 *
 * The probe's front-end library plays the VMM and the guest driver:
 *
 *  - requestq (queue 0) is a callback source. RDRAND and getrandom are
 *    switched off, so the device is the only real source: the generator
 *    leaves DEGRADED only once requestq bytes have reached its key.
 *  - VIRTIO_RNG_F_LEAK is negotiated and K fill-on-leak buffers plus one
 *    copy-on-leak "flag" are parked on the active leak queue (leakq1 first).
 *    They wait until a leak event (`vtrustctl leak rng0`, a VM restore), when
 *    the device uses all of them. The fill bytes go to vtf_leak_filled():
 *    a new generation, fast-reseeded from those bytes (and a fresh requestq
 *    read) before anything more is output. New buffers are then parked on
 *    the other leak queue, which the device makes active once the firing
 *    queue is empty (devices/rng/leak.h).
 *  - Every P ms it generates 4 KiB and prints one line per event:
 *      generation N -> N+1 at leak epoch E (...): before <sha256> after <sha256>
 *    where before/after are the last output of the old generation and the
 *    first of the new one (--dump DIR writes both as genM-before.bin and
 *    genM-after.bin), plus `tick` lines every H ms and a final `done` line.
 *
 * --ignore-leaks keeps the queue protocol going but never tells the library:
 * the negative control of the test, whose output must then not change
 * generation. Single-threaded on purpose: the library calls the requestq
 * source with its lock held, and the front-end library is not thread-safe.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <vtrust/fortuna.h>

#include "fe_dev.h"
#include "fe_time.h"
#include "rng_probe.h"

#define OUT_LEN 4096u	     /* bytes per generate tick */
#define FILL_LEN 64u	     /* bytes per fill-on-leak buffer */
#define MAX_BUFS 16u	     /* fill buffers per leak queue */
#define REQ_LEN 64u	     /* bytes per requestq read */
#define REQ_WAIT_MS 200	     /* a source may block briefly; the library waits for it */
#define COLLECT_WAIT_MS 1000 /* the device uses a fired queue's buffers in one pass */
#define LINGER_MS 500	     /* after --events: keep running so a late change still shows */
#define SRC_DEVICE 1	     /* our application source id for requestq bytes */
#define FLAG_TOKEN ((void *)(uintptr_t)(MAX_BUFS + 1))

struct leak_set {
	uint64_t fill[MAX_BUFS];
	uint64_t flag_src, flag_dst; /* copy-on-leak: device copies src into dst */
};

struct consumer {
	/* options */
	const char *socket, *dump;
	long seconds_ms, events, period_ms, heartbeat_ms;
	unsigned nbufs;
	bool ignore_leaks;

	struct fe_dev *d;
	struct vtf_ctx *rng;
	uint64_t t0;

	uint64_t req_gpa;
	bool req_busy; /* a requestq read left over from a timed-out call */
	uint64_t req_bytes;

	struct leak_set sets[3]; /* by leak queue index 1, 2 */
	unsigned parked_q;	 /* the leak queue holding our parked buffers */
	uint64_t epoch;		 /* leak events seen */

	uint8_t before[OUT_LEN]; /* last output of the current generation */
	uint64_t gen, outputs, changes;
	bool stale_reported;
};

static double secs(const struct consumer *c)
{
	return (double)(vt_now_ns() - c->t0) / 1e9;
}

static void digest(const uint8_t *p, size_t n, char hex[17])
{
	uint8_t md[32];
	unsigned len = 0;
	if (!EVP_Digest(p, n, md, &len, EVP_sha256(), NULL))
		memset(md, 0, sizeof(md));
	for (unsigned i = 0; i < 8; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

static int dump(const struct consumer *c, uint64_t gen, const char *what, const uint8_t *p)
{
	if (!c->dump)
		return 0;
	char path[4096];
	snprintf(path, sizeof(path), "%s/gen%llu-%s.bin", c->dump, (unsigned long long)gen, what);
	FILE *f = fopen(path, "wb");
	int ok = f && fwrite(p, 1, OUT_LEN, f) == OUT_LEN;
	if (f && fclose(f) != 0)
		ok = 0;
	if (!ok)
		fprintf(stderr, "leak_consumer: cannot write %s\n", path);
	return ok ? 0 : -1;
}

/*
 * The library's pull source: one requestq read. Called with the generator's
 * lock held (no calls back into it). A read that timed out earlier is reaped
 * and discarded first: its bytes may predate a leak, and a VTF_PULL_FRESH
 * caller needs bytes produced now.
 */
static ssize_t device_source(void *arg, void *buf, size_t len, unsigned flags)
{
	struct consumer *c = arg;
	struct fe_vq *vq = c->d->vqs[0];
	struct fe_used u;
	(void)flags;
	if (c->req_busy) {
		if (fe_vq_wait(vq, 0, FE_VQ_WAIT_EVENTFD) < 0 || fe_vq_get_used(vq, &u) < 0)
			return 0; /* still outstanding: the device is slow, try later */
		c->req_busy = false;
	}
	struct fe_seg s = {c->req_gpa, REQ_LEN, true};
	if (fe_vq_add(vq, &s, 1, 0, NULL) < 0)
		return -EIO;
	rng_probe_kick(vq);
	c->req_busy = true;
	if (fe_vq_wait(vq, REQ_WAIT_MS, FE_VQ_WAIT_EVENTFD) < 0 || fe_vq_get_used(vq, &u) < 0)
		return 0;
	c->req_busy = false;
	size_t n = VT_MIN((size_t)u.len, len);
	if (fe_mem_read(c->d->mem, c->req_gpa, buf, n) < 0)
		return -EIO;
	c->req_bytes += n;
	return (ssize_t)n;
}

/* Parks the fill buffers and the flag on leak queue q. */
static int park(struct consumer *c, unsigned q)
{
	struct leak_set *ls = &c->sets[q];
	struct fe_vq *vq = c->d->vqs[q];
	for (unsigned i = 0; i < c->nbufs; i++) {
		struct fe_seg s = {ls->fill[i], FILL_LEN, true};
		if (fe_mem_fill(c->d->mem, ls->fill[i], 0, FILL_LEN) < 0 ||
		    fe_vq_add(vq, &s, 1, 0, (void *)(uintptr_t)(i + 1)) < 0)
			return -1;
	}
	/* The flag: the device copies "epoch + 1" over a zero word at the event. */
	uint64_t mark = c->epoch + 1, zero = 0;
	struct fe_seg s[2] = {{ls->flag_src, 8, false}, {ls->flag_dst, 8, true}};
	if (fe_mem_write(c->d->mem, ls->flag_src, &mark, 8) < 0 ||
	    fe_mem_write(c->d->mem, ls->flag_dst, &zero, 8) < 0 ||
	    fe_vq_add(vq, s, 2, 0, FLAG_TOKEN) < 0)
		return -1;
	rng_probe_kick(vq);
	c->parked_q = q;
	printf("parked: %u fill + 1 copy buffers on leakq%u\n", c->nbufs, q);
	return 0;
}

/*
 * The copy-on-leak flag, read with a plain load before every generate: the
 * device writes it before it signals, so output never waits on the
 * interrupt path to learn of a leak (a multi-threaded application would
 * check it in each generating thread while one thread runs the driver).
 */
static bool leak_flag_set(const struct consumer *c)
{
	const uint64_t *p = fe_mem_ptr(c->d->mem, c->sets[c->parked_q].flag_dst, 8);
	return p && __atomic_load_n(p, __ATOMIC_ACQUIRE) != 0;
}

/*
 * A leak event: every buffer parked on the active queue is used. Collect
 * them, report the fill bytes to the library, park new buffers on the other
 * queue (the firing queue keeps using whatever is put there, so staying
 * would burn buffers without an event).
 */
static int handle_leak(struct consumer *c)
{
	unsigned q = c->parked_q;
	struct fe_vq *vq = c->d->vqs[q];
	uint8_t bytes[MAX_BUFS * FILL_LEN];
	size_t nbytes = 0;
	unsigned fills = 0;
	bool flag_ok = false;
	uint64_t deadline = fe_deadline(COLLECT_WAIT_MS);
	while (fe_vq_in_flight(vq) > 0) {
		int r = fe_vq_wait(vq, fe_remaining_ms(deadline), FE_VQ_WAIT_EVENTFD);
		if (r < 0) {
			fprintf(stderr, "leak_consumer: leakq%u: %u buffers never completed: %s\n",
				q, fe_vq_in_flight(vq), r == -ETIMEDOUT ? "timeout" : vq->error);
			return -1;
		}
		struct fe_used u;
		while (fe_vq_get_used(vq, &u) == 0) {
			if (u.token == FLAG_TOKEN) {
				flag_ok = u.len == 8 && leak_flag_set(c);
				continue;
			}
			unsigned i = (unsigned)(uintptr_t)u.token - 1;
			if (u.len == 0 || u.len > FILL_LEN ||
			    fe_mem_read(c->d->mem, c->sets[q].fill[i], bytes + nbytes, u.len) < 0)
				continue; /* an empty fill gives the library nothing */
			nbytes += u.len;
			fills++;
		}
	}
	c->epoch++;
	printf("leak epoch %llu on leakq%u: %u fill buffers (%zu bytes), copy flag %s%s\n",
	       (unsigned long long)c->epoch, q, fills, nbytes, flag_ok ? "set" : "NOT set",
	       c->ignore_leaks ? ", ignored (--ignore-leaks)" : "");
	if (!c->ignore_leaks) {
		/* -ESTALE keeps the bytes and blocks output until more fresh input arrives. */
		int r = vtf_leak_filled(c->rng, bytes, nbytes);
		if (r < 0 && r != -ESTALE) {
			fprintf(stderr, "leak_consumer: vtf_leak_filled: %s\n", vtf_strerror(r));
			return -1;
		}
	}
	OPENSSL_cleanse(bytes, sizeof(bytes)); /* they are key material now */
	return park(c, RNG_PROBE_LEAKQ1 + RNG_PROBE_LEAKQ2 - q);
}

/* One generate tick; reports a generation change with its first output. */
static int generate(struct consumer *c)
{
	uint8_t out[OUT_LEN];
	struct vtf_status st;
	int r = vtf_generate(c->rng, out, sizeof(out));
	if (r == -ESTALE) {
		if (!c->stale_reported)
			printf("generation changed, no fresh input yet: nothing output\n");
		c->stale_reported = true;
		return 0;
	}
	if (r < 0 || vtf_get_status(c->rng, &st) < 0) {
		fprintf(stderr, "leak_consumer: vtf_generate: %s\n", vtf_strerror(r));
		return -1;
	}
	c->stale_reported = false;
	c->outputs++;
	if (st.generations != c->gen) {
		char hb[17], ha[17];
		digest(c->before, OUT_LEN, hb);
		digest(out, OUT_LEN, ha);
		printf("generation %llu -> %llu at leak epoch %llu (t=%.3f outputs=%llu "
		       "fast_reseeds=%llu): before %s after %s\n",
		       (unsigned long long)c->gen, (unsigned long long)st.generations,
		       (unsigned long long)c->epoch, secs(c), (unsigned long long)c->outputs,
		       (unsigned long long)st.fast_reseeds, hb, ha);
		if (dump(c, st.generations, "before", c->before) < 0 ||
		    dump(c, st.generations, "after", out) < 0)
			return -1;
		c->changes += st.generations - c->gen;
		c->gen = st.generations;
	}
	memcpy(c->before, out, OUT_LEN);
	OPENSSL_cleanse(out, sizeof(out));
	return 0;
}

static int setup_device(struct consumer *c)
{
	struct fe_dev_opts o;
	fe_dev_opts_init(&o);
	o.socket_path = c->socket;
	o.mem.size = 4u << 20;
	o.queue_size = 64;
	/* As rng_probe_leak_opts(): requestq + leakq1 + leakq2, LEAK acked if offered. */
	o.nvqs = 3;
	o.device_features |= RNG_PROBE_F_LEAK;
	int r = fe_dev_open(&o, &c->d);
	if (r < 0) {
		fprintf(stderr, "leak_consumer: cannot open %s: %s\n", c->socket, strerror(-r));
		return -1;
	}
	if (!(c->d->vu->features & RNG_PROBE_F_LEAK)) {
		fprintf(stderr, "leak_consumer: the device does not offer VIRTIO_RNG_F_LEAK\n");
		return -1;
	}
	if (fe_dev_start(c->d) < 0 || !(c->d->vu->acked_features & RNG_PROBE_F_LEAK)) {
		fprintf(stderr, "leak_consumer: start with LEAK: %s\n", c->d->vu->error);
		return -1;
	}
	struct fe_mem *m = c->d->mem;
	if (fe_mem_alloc(m, REQ_LEN, 64, &c->req_gpa) < 0)
		return -1;
	for (unsigned q = RNG_PROBE_LEAKQ1; q <= RNG_PROBE_LEAKQ2; q++) {
		struct leak_set *ls = &c->sets[q];
		for (unsigned i = 0; i < c->nbufs; i++)
			if (fe_mem_alloc(m, FILL_LEN, 64, &ls->fill[i]) < 0)
				return -1;
		if (fe_mem_alloc(m, 8, 8, &ls->flag_src) < 0 ||
		    fe_mem_alloc(m, 8, 8, &ls->flag_dst) < 0)
			return -1;
	}
	printf("connected: features 0x%llx, VIRTIO_RNG_F_LEAK acked, requestq leakq1 leakq2\n",
	       (unsigned long long)c->d->vu->acked_features);
	return 0;
}

/* The generator, seeded from the device alone (DEGRADED until requestq bytes are in). */
static int setup_rng(struct consumer *c)
{
	struct vtf_options opt = {.flags = VTF_OPT_NO_RDRAND | VTF_OPT_NO_GETRANDOM};
	struct vtf_status st = {0};
	int r = vtf_new(&opt, &c->rng);
	if (r == 0)
		r = vtf_add_source_callback(c->rng, SRC_DEVICE, device_source, c);
	/* A device still seeding itself delivers nothing for a moment: retry for ~2 s. */
	for (int i = 0; r == 0 && i < 10; i++) {
		r = vtf_reseed_now(c->rng);
		if (r == 0)
			r = vtf_get_status(c->rng, &st);
		if (r == 0 && !(st.state & VTF_STATE_DEGRADED))
			break;
	}
	if (r < 0) {
		fprintf(stderr, "leak_consumer: fortuna: %s\n", vtf_strerror(r));
		return -1;
	}
	if (st.state & VTF_STATE_DEGRADED) {
		fprintf(stderr, "leak_consumer: the device delivered nothing: still DEGRADED\n");
		return -1;
	}
	c->gen = st.generations;
	printf("seeded: %llu bytes from requestq, reseeds=%llu, not DEGRADED, generation %llu\n",
	       (unsigned long long)c->req_bytes, (unsigned long long)st.reseeds,
	       (unsigned long long)c->gen);
	/* The first output is the reference "before" of the first change. */
	return generate(c);
}

static int run(struct consumer *c)
{
	uint64_t end = c->t0 + (uint64_t)c->seconds_ms * 1000000ull;
	uint64_t next_out = vt_now_ns(), next_beat = next_out, stop_at = UINT64_MAX;
	uint64_t period = (uint64_t)c->period_ms * 1000000ull;
	uint64_t beat = (uint64_t)c->heartbeat_ms * 1000000ull;
	if (park(c, RNG_PROBE_LEAKQ1) < 0)
		return -1;
	printf("ready\n");
	for (;;) {
		uint64_t now = vt_now_ns();
		if (now >= end || now >= stop_at)
			return 0;
		int wait = now >= next_out ? 0 : (int)((next_out - now + 999999) / 1000000);
		int r = fe_vq_wait(c->d->vqs[c->parked_q], wait, FE_VQ_WAIT_EVENTFD);
		if (r < 0 && r != -ETIMEDOUT) {
			fprintf(stderr, "leak_consumer: leakq%u: %s\n", c->parked_q,
				c->d->vqs[c->parked_q]->error);
			return -1;
		}
		if ((r == 0 || leak_flag_set(c)) && handle_leak(c) < 0)
			return -1;
		if (c->events && c->epoch >= (uint64_t)c->events && stop_at == UINT64_MAX)
			stop_at = vt_now_ns() + LINGER_MS * 1000000ull;
		now = vt_now_ns();
		if (now >= next_out) {
			if (leak_flag_set(c) && handle_leak(c) < 0)
				return -1;
			if (generate(c) < 0)
				return -1;
			next_out += period;
			if (next_out < now)
				next_out = now + period; /* fell behind: do not burst */
		}
		if (now >= next_beat) {
			printf("tick t=%.3f outputs=%llu generation=%llu leak_epoch=%llu\n",
			       secs(c), (unsigned long long)c->outputs, (unsigned long long)c->gen,
			       (unsigned long long)c->epoch);
			next_beat = now + beat;
		}
	}
}

static void usage(FILE *f)
{
	fprintf(f, "usage: leak_consumer --socket RNG.sock [--seconds S] [--events N]\n"
		   "         [--period-ms P] [--buffers K] [--heartbeat-ms H] [--dump DIR]\n"
		   "         [--ignore-leaks]\n");
}

static int parse(int argc, char **argv, struct consumer *c)
{
	static const struct option lo[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"seconds", required_argument, NULL, 'S'},
	    {"events", required_argument, NULL, 'e'},
	    {"period-ms", required_argument, NULL, 'p'},
	    {"buffers", required_argument, NULL, 'b'},
	    {"heartbeat-ms", required_argument, NULL, 'h'},
	    {"dump", required_argument, NULL, 'd'},
	    {"ignore-leaks", no_argument, NULL, 'i'},
	    {"help", no_argument, NULL, 'H'},
	    {0},
	};
	int o;
	while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		char *e;
		long v = 0;
		if (o == 'S' || o == 'e' || o == 'p' || o == 'b' || o == 'h') {
			v = strtol(optarg, &e, 10);
			if (*e || v < (o == 'e' ? 0 : 1) || v > 3600000) {
				fprintf(stderr, "leak_consumer: bad value '%s'\n", optarg);
				return -1;
			}
		}
		switch (o) {
		case 's':
			c->socket = optarg;
			break;
		case 'd':
			c->dump = optarg;
			break;
		case 'i':
			c->ignore_leaks = true;
			break;
		case 'S':
			c->seconds_ms = v * 1000;
			break;
		case 'e':
			c->events = v;
			break;
		case 'p':
			c->period_ms = v;
			break;
		case 'h':
			c->heartbeat_ms = v;
			break;
		case 'b':
			if (v > (long)MAX_BUFS) {
				fprintf(stderr, "leak_consumer: at most %u buffers\n", MAX_BUFS);
				return -1;
			}
			c->nbufs = (unsigned)v;
			break;
		case 'H':
			usage(stdout);
			exit(0);
		default:
			return -1;
		}
	}
	if (!c->socket || optind != argc)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	static struct consumer c = {
	    .seconds_ms = 10000,
	    .period_ms = 20,
	    .heartbeat_ms = 250,
	    .nbufs = 4,
	};
	if (parse(argc, argv, &c) < 0) {
		usage(stderr);
		return 2;
	}
	(void)signal(SIGPIPE, SIG_IGN);	  /* the front-end library's rule (probe/README.md) */
	setvbuf(stdout, NULL, _IOLBF, 0); /* one line per event, as it happens */
	c.t0 = vt_now_ns();
	int rc = 1;
	if (setup_device(&c) == 0 && setup_rng(&c) == 0 && run(&c) == 0) {
		struct vtf_status st = {0};
		(void)vtf_get_status(c.rng, &st);
		printf("done: t=%.3f outputs=%llu generation_changes=%llu leak_epochs=%llu "
		       "fast_reseeds=%llu requestq_bytes=%llu\n",
		       secs(&c), (unsigned long long)c.outputs, (unsigned long long)c.changes,
		       (unsigned long long)c.epoch, (unsigned long long)st.fast_reseeds,
		       (unsigned long long)c.req_bytes);
		rc = 0;
	}
	OPENSSL_cleanse(c.before, sizeof(c.before));
	vtf_free(c.rng);
	fe_dev_close(c.d);
	return rc;
}
