/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `rpmb`: drive a virtio-rpmb back-end as a guest would.
 *
 *   rpmb program-key --key HEX
 *   rpmb counter [--key HEX]
 *   rpmb write --key HEX --address N        (data on stdin, a multiple of 256 bytes)
 *   rpmb read [--key HEX] --address N --blocks N   (data to stdout)
 *   rpmb bench --key HEX [--dir DIR] [--iterations N]
 *   rpmb torture --daemon VTRUSTD --store FILE [--kills N] [--seed S]
 *        (starts VTRUSTD on --socket PATH, SIGKILLs it at random instants, checks)
 *
 * Writes larger than max_wr_cnt and reads larger than max_rd_cnt are split
 * into several requests. `bench` measures one-block and max_wr_cnt-block
 * authenticated write latency, the GET_WRITE_COUNTER round trip (no disk
 * I/O: the kick→call floor plus HMAC) back to back and after a flush left
 * both sides idle (as a write finds them), reads per second, and two floors
 * in DIR (the store's file system): the baseline 4 KiB pwrite+fdatasync and
 * a 4 KiB O_DIRECT pwritev2(RWF_DSYNC). It ends with
 * `device_ratio=<(one-block write - idle round trip) / baseline>`,
 * `floor_ratio=<(baseline + idle round trip) / baseline>` (what a back-end
 * whose writes cost only the flush would get over this transport),
 * `ratio_vs_direct=` and `ratio=<one-block write p50 / baseline p50>`.
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "fe_time.h"
#include "probe.h"
#include "rpmb_probe.h"
#include "secmem.h"

struct args {
	const char *key_hex, *dir;
	long address, blocks, iterations;
	uint8_t key[RPMB_KEY_SIZE];
	bool have_key;
};

static int parse(int argc, char **argv, struct args *a)
{
	static const struct option lo[] = {
	    {"key", required_argument, NULL, 'k'},	  {"address", required_argument, NULL, 'a'},
	    {"blocks", required_argument, NULL, 'b'},	  {"dir", required_argument, NULL, 'd'},
	    {"iterations", required_argument, NULL, 'n'}, {0},
	};
	*a = (struct args){.address = -1, .blocks = -1, .iterations = 300, .dir = "."};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'k':
			a->key_hex = optarg;
			if (rpmb_cl_parse_key(optarg, a->key) < 0) {
				fprintf(stderr, "rpmb: --key needs 64 hex digits\n");
				return -1;
			}
			a->have_key = true;
			break;
		case 'a':
		case 'b':
		case 'n': {
			long v = strtol(optarg, &end, 0);
			if (*end || v < 0 || v > 0xffffff) {
				fprintf(stderr, "rpmb: bad number '%s'\n", optarg);
				return -1;
			}
			*(c == 'a' ? &a->address : c == 'b' ? &a->blocks : &a->iterations) = v;
			break;
		}
		case 'd':
			a->dir = optarg;
			break;
		default:
			return -1;
		}
	}
	return 0;
}

static int open_dev(struct probe_ctx *ctx, struct fe_dev **d, struct rpmb_cfg *cfg)
{
	int r = fe_dev_open(&ctx->dev, d);
	if (r == 0)
		r = fe_dev_start(*d);
	if (r == 0)
		r = prpmb_config(*d, cfg);
	if (r < 0) {
		fprintf(stderr, "rpmb: cannot set up the device: %s\n",
			*d ? fe_dev_error(*d, 0) : strerror(-r));
		*d = fe_dev_close(*d);
	}
	return r;
}

static int report(const char *what, int r)
{
	if (r < 0) {
		fprintf(stderr, "rpmb: %s: %s\n", what,
			r == -EBADMSG ? "bad MAC or nonce in the answer" : strerror(-r));
		return 1;
	}
	if (r != RPMB_RES_OK) {
		fprintf(stderr, "rpmb: %s: result 0x%04x %s%s\n", what, r,
			rpmb_result_name((uint16_t)r),
			r & RPMB_RES_WRITE_COUNTER_EXPIRED ? " (write counter expired)" : "");
		return (r & 0x7f) == RPMB_RES_OK ? 0 : 1;
	}
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static double pct(uint64_t *v, size_t n, double p)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return n ? (double)v[(size_t)(p * (double)(n - 1))] / 1000.0 : 0;
}

/* 4 KiB pwrite + fdatasync in place on a written file in dir: the durable-write floor. */
static int baseline_open(const char *dir)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/.rpmb-bench-baseline.XXXXXX", dir);
	int fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	(void)unlink(path);
	uint8_t buf[4096];
	memset(buf, 0x5a, sizeof(buf));
	for (int i = 0; i < 64; i++)
		if (pwrite(fd, buf, sizeof(buf), (off_t)i * 4096) != (ssize_t)sizeof(buf)) {
			close(fd);
			return -EIO;
		}
	if (fdatasync(fd) < 0) {
		close(fd);
		return -EIO;
	}
	return fd;
}

static int baseline_op(int fd, long i, uint64_t *lat)
{
	uint8_t buf[4096];
	memset(buf, (int)i, sizeof(buf));
	uint64_t t0 = vt_now_ns();
	if (pwrite(fd, buf, sizeof(buf), (off_t)(i % 64) * 4096) != (ssize_t)sizeof(buf) ||
	    fdatasync(fd) < 0)
		return -EIO;
	*lat = vt_now_ns() - t0;
	return 0;
}

/*
 * The stricter floor: a 4 KiB O_DIRECT write with RWF_DSYNC in place (no page
 * cache copy, one device flush), on its own written file in dir. -errno if
 * the file system has no O_DIRECT.
 */
static int direct_open(const char *dir, uint8_t **ret_buf)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/.rpmb-bench-direct.XXXXXX", dir);
	int fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int dfd = open(path, O_RDWR | O_DIRECT | O_CLOEXEC);
	int e = dfd < 0 ? -errno : 0;
	(void)unlink(path);
	uint8_t *buf = aligned_alloc(4096, 4096);
	if (buf)
		memset(buf, 0x5a, 4096);
	for (int i = 0; e == 0 && i < 64; i++)
		if (!buf || pwrite(fd, buf, 4096, (off_t)i * 4096) != 4096)
			e = -EIO;
	if (e == 0 && fdatasync(fd) < 0)
		e = -errno;
	close(fd);
	if (e < 0) {
		if (dfd >= 0)
			close(dfd);
		free(buf);
		return e;
	}
	*ret_buf = buf;
	return dfd;
}

static int direct_op(int fd, uint8_t *buf, long i, uint64_t *lat)
{
	memset(buf, (int)i, 4096);
	struct iovec v = {buf, 4096};
	uint64_t t0 = vt_now_ns();
	if (pwritev2(fd, &v, 1, (off_t)(i % 64) * 4096, RWF_DSYNC) != 4096)
		return -EIO;
	*lat = vt_now_ns() - t0;
	return 0;
}

static int bench(struct fe_dev *d, const struct rpmb_cfg *cfg, struct args *a, FILE *out)
{
	long n = a->iterations > 0 ? a->iterations : 300;
	uint64_t *lat = calloc((size_t)n, sizeof(uint64_t));
	uint8_t *data = calloc(cfg->max_wr, 256), *back = calloc(cfg->max_rd, 256);
	uint32_t ctr;
	int r = prpmb_counter(d, a->key, &ctr);
	if (r == RPMB_RES_NO_AUTH_KEY)
		r = prpmb_program_key(d, a->key) == RPMB_RES_OK ? prpmb_counter(d, a->key, &ctr)
								: -EIO;
	if (r != RPMB_RES_OK) {
		free(lat);
		free(data);
		free(back);
		return report("bench: key", r < 0 ? r : r);
	}
	double res[6] = {0};
	uint8_t nonce[RPMB_NONCE_SIZE];
	/* One kept HMAC context, as a driver that writes often keeps one per key. */
	struct rpmb_hmac *h = rpmb_hmac_new();
	if (!h)
		r = -ENOMEM;
	/* Warm-up. */
	for (int i = 0; i < 20 && r == RPMB_RES_OK; i++)
		r = prpmb_write_h(d, h, a->key, ctr, 0, 1, data, &ctr);
	/*
	 * Interleaved one by one (floor, 1-block write, floor, max_wr_cnt-block
	 * write, floor, GET_WRITE_COUNTER, ...): host noise moves the flush cost
	 * by 2x here and must land on all alike. The floor alternates between the
	 * baseline (4 KiB pwrite + fdatasync) and the stricter O_DIRECT one, so
	 * both see every position in the pattern equally often.
	 */
	uint64_t *base = calloc((size_t)n * 3, sizeof(uint64_t));
	uint64_t *w1 = calloc((size_t)n, sizeof(uint64_t)),
		 *wn = calloc((size_t)n, sizeof(uint64_t)), *idle = calloc((size_t)n, sizeof(uint64_t)),
		 *dir = calloc((size_t)n * 3, sizeof(uint64_t));
	uint8_t *dbuf = NULL;
	int bfd = baseline_open(a->dir), dfd = direct_open(a->dir, &dbuf);
	size_t nb = 0, nd = 0;
	if (bfd < 0 || !base || !w1 || !wn || !idle || !dir)
		r = -EIO;
	for (long i = 0; i < n && r == RPMB_RES_OK; i++) {
		for (int k = 0; k < 3 && r == RPMB_RES_OK; k++) {
			/* The floor, then: a 1-block write, a max_wr_cnt-block write, a round trip. */
			long j = 3 * i + k;
			if (dfd >= 0 && j % 2 ? direct_op(dfd, dbuf, j, &dir[nd++]) < 0
					     : baseline_op(bfd, j, &base[nb++]) < 0) {
				r = -EIO;
				break;
			}
			data[0] = (uint8_t)j;
			/* A fresh nonce for the round trip, made outside the timed part (a write has none). */
			if (k == 2 && RAND_bytes(nonce, sizeof(nonce)) != 1) {
				r = -EIO;
				break;
			}
			uint64_t t0 = vt_now_ns();
			if (k == 0) {
				r = prpmb_write_h(d, h, a->key, ctr,
						  (uint16_t)(i % (cfg->capacity * 512u)), 1, data, &ctr);
				w1[i] = vt_now_ns() - t0;
			} else if (k == 1) {
				/* At block 512, or as far as a one-unit (512-block) device allows. */
				uint32_t top = cfg->capacity * 512u - cfg->max_wr;
				r = prpmb_write_h(d, h, a->key, ctr, (uint16_t)VT_MIN(512u, top),
						  cfg->max_wr, data, &ctr);
				wn[i] = vt_now_ns() - t0;
			} else {
				/*
				 * The transport's share: a round trip with no disk I/O that,
				 * like the writes, arrives after a flush left both sides idle.
				 */
				uint32_t c2;
				r = prpmb_counter_h(d, h, a->key, nonce, &c2);
				idle[i] = vt_now_ns() - t0;
			}
		}
	}
	if (dfd >= 0)
		close(dfd);
	free(dbuf);
	if (bfd >= 0)
		close(bfd);
	long m = n;
	for (long i = 0; i < m && r == RPMB_RES_OK; i++) {
		if (RAND_bytes(nonce, sizeof(nonce)) != 1) {
			r = -EIO;
			break;
		}
		uint64_t t0 = vt_now_ns();
		uint32_t c2;
		r = prpmb_counter_h(d, h, a->key, nonce, &c2);
		lat[i] = vt_now_ns() - t0;
	}
	if (r != RPMB_RES_OK) {
		int e = report("bench", r);
		rpmb_hmac_free(h);
		free(lat), free(base), free(w1), free(wn), free(idle), free(dir), free(data), free(back);
		return e;
	}
	res[0] = pct(base, nb, 0.5);
	res[1] = pct(w1, (size_t)m, 0.5);
	res[2] = pct(wn, (size_t)m, 0.5);
	res[3] = pct(lat, (size_t)m, 0.5);
	res[4] = pct(idle, (size_t)m, 0.5);
	res[5] = nd ? pct(dir, nd, 0.5) : 0;
	double b99 = pct(base, nb, 0.99), w99 = pct(w1, (size_t)m, 0.99);
	/* Reads per second: one-block and max_rd_cnt-block reads for a fixed time. */
	uint64_t t0 = vt_now_ns(), reads = 0, mreads = 0;
	while (vt_now_ns() - t0 < 1000000000ull && r == RPMB_RES_OK) {
		r = prpmb_read(d, a->key, (uint16_t)(reads % 256), 1, back);
		reads++;
	}
	double rps = (double)reads * 1e9 / (double)(vt_now_ns() - t0);
	t0 = vt_now_ns();
	while (vt_now_ns() - t0 < 1000000000ull && r == RPMB_RES_OK) {
		r = prpmb_read(d, a->key, 0, cfg->max_rd, back);
		mreads++;
	}
	double mrps = (double)mreads * 1e9 / (double)(vt_now_ns() - t0);
	fprintf(out, "%-44s %10s %10s\n", "rpmb bench (end to end, interleaved)", "p50 us",
		"p99 us");
	fprintf(out, "%-44s %10.1f %10.1f\n", "baseline: 4 KiB pwrite + fdatasync", res[0], b99);
	if (res[5] > 0)
		fprintf(out, "%-44s %10.1f %10.1f\n", "stricter: 4 KiB O_DIRECT pwritev2(RWF_DSYNC)",
			res[5], pct(dir, nd, 0.99));
	fprintf(out, "%-44s %10.1f %10.1f\n", "rpmb write, 1 block (end to end)", res[1], w99);
	char lbl[64];
	snprintf(lbl, sizeof(lbl), "rpmb write, %u blocks (end to end)", cfg->max_wr);
	fprintf(out, "%-44s %10.1f %10.1f\n", lbl, res[2], pct(wn, (size_t)m, 0.99));
	fprintf(out, "%-44s %10.1f %10.1f\n", "GET_WRITE_COUNTER round trip (no I/O)", res[3],
		pct(lat, (size_t)m, 0.99));
	fprintf(out, "%-44s %10.1f %10.1f\n", "same, after a flush (both sides idle)", res[4],
		pct(idle, (size_t)m, 0.99));
	fprintf(out, "%-44s %10.1f\n", "rpmb write, 1 block, minus idle round trip",
		res[1] - res[4]);
	fprintf(out, "reads/s: 1 block %.0f, %u blocks %.0f (%.0f blocks/s)\n", rps, cfg->max_rd,
		mrps, mrps * cfg->max_rd);
	fprintf(out, "samples=%ld counter=%u\n", m, ctr);
	fprintf(out, "multi_block_ratio=%.3f\n", res[2] / res[1]);
	fprintf(out, "device_ratio=%.3f\n", (res[1] - res[4]) / res[0]);
	/* What a back-end whose writes cost nothing but the flush would measure: the transport's bound. */
	fprintf(out, "floor_ratio=%.3f\n", (res[0] + res[4]) / res[0]);
	if (res[5] > 0)
		fprintf(out, "ratio_vs_direct=%.3f\n", res[1] / res[5]);
	fprintf(out, "ratio=%.3f\n", res[1] / res[0]);
	rpmb_hmac_free(h);
	free(lat), free(base), free(w1), free(wn), free(idle), free(dir), free(data), free(back);
	return r == RPMB_RES_OK ? 0 : 1;
}

/* ---- torture: SIGKILL the back-end at random moments --------------------- */

#include <signal.h>
#include <sys/wait.h>

#define T_BLOCKS 512u /* capacity 1 */

struct tmodel {
	uint8_t data[T_BLOCKS * RPMB_BLOCK_SIZE];
	uint32_t counter;
	bool key;
	/* The write in flight when the back-end died (applied completely or not at all). */
	bool inflight;
	uint16_t iaddr, inblk;
	uint8_t idata[255 * RPMB_BLOCK_SIZE];
};

static const uint8_t torture_key[32] = "vtrust-rpmb-torture-key-00000001";

static void tpattern(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)((seed * 2654435761u + i * 40503u) >> 9);
}

static pid_t spawn_daemon(const char *daemon, const char *store, const char *sock, int logfd)
{
	char opt_store[4200];
	snprintf(opt_store, sizeof(opt_store), "store=%s", store);
	pid_t pid = fork();
	if (pid == 0) {
		if (logfd >= 0) {
			dup2(logfd, 1);
			dup2(logfd, 2);
		}
		execl(daemon, daemon, "--type", "rpmb", "--socket-path", sock, "--opt", opt_store,
		      "--opt", "capacity=1", "--log-level", "notice", (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void kill_daemon(pid_t pid)
{
	kill(pid, SIGKILL);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
}

/* Checks the device against the model; resolves the in-flight write. */
static int tverify(struct fe_dev *d, struct tmodel *m, struct rpmb_cfg *cfg, char *why, size_t wl)
{
	uint32_t c;
	int r = prpmb_counter(d, m->key ? torture_key : NULL, &c);
	if (!m->key) {
		if (r == RPMB_RES_NO_AUTH_KEY)
			return 0;
		if (r == RPMB_RES_OK) { /* PROGRAM_KEY was in flight and landed */
			m->key = true;
			return 0;
		}
		snprintf(why, wl, "counter before the key: %d", r);
		return -1;
	}
	if (r != RPMB_RES_OK) {
		snprintf(why, wl, "GET_WRITE_COUNTER: %d", r);
		return -1;
	}
	if (c < m->counter) {
		snprintf(why, wl, "counter went back: %u < %u", c, m->counter);
		return -1;
	}
	if (m->inflight && c == m->counter + 1) {
		memcpy(m->data + (size_t)m->iaddr * RPMB_BLOCK_SIZE, m->idata,
		       (size_t)m->inblk * RPMB_BLOCK_SIZE);
		m->counter++;
	}
	m->inflight = false;
	if (c != m->counter) {
		snprintf(why, wl, "counter %u, expected %u", c, m->counter);
		return -1;
	}
	uint8_t *back = malloc((size_t)cfg->max_rd * RPMB_BLOCK_SIZE);
	int ret = 0;
	for (unsigned a = 0; a < T_BLOCKS && ret == 0; a += cfg->max_rd) {
		unsigned nb = VT_MIN((unsigned)cfg->max_rd, T_BLOCKS - a);
		r = prpmb_read(d, torture_key, (uint16_t)a, (uint16_t)nb, back);
		if (r != RPMB_RES_OK) {
			snprintf(why, wl, "read at %u: %d", a, r);
			ret = -1;
		} else if (vt_ct_memcmp(back, m->data + (size_t)a * RPMB_BLOCK_SIZE,
					(size_t)nb * RPMB_BLOCK_SIZE) != 0) {
			snprintf(why, wl, "blocks %u..%u differ from the acknowledged writes", a,
				 a + nb - 1);
			ret = -1;
		}
	}
	free(back);
	return ret;
}

static int torture(struct probe_ctx *ctx, int argc, char **argv)
{
	static const struct option lo[] = {
	    {"daemon", required_argument, NULL, 'd'},
	    {"store", required_argument, NULL, 's'},
	    {"kills", required_argument, NULL, 'k'},
	    {"seed", required_argument, NULL, 'r'},
	    {0},
	};
	const char *daemon = NULL, *store = NULL;
	long kills = 200;
	unsigned seed = (unsigned)time(NULL);
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c == 'd')
			daemon = optarg;
		else if (c == 's')
			store = optarg;
		else if (c == 'k')
			kills = strtol(optarg, NULL, 0);
		else if (c == 'r')
			seed = (unsigned)strtoul(optarg, NULL, 0);
		else
			return 2;
	}
	if (!daemon || !store || kills < 1) {
		fprintf(stderr,
			"usage: rpmb torture --daemon VTRUSTD --store FILE [--kills N] [--seed S]\n"
			"(the daemon listens on --socket PATH)\n");
		return 2;
	}
	const char *sock = ctx->dev.socket_path;
	char logp[4200];
	snprintf(logp, sizeof(logp), "%s.log", store);
	int logfd = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	struct fe_dev_opts o = ctx->dev;
	o.timeout_ms = 5000;
	struct tmodel *m = calloc(1, sizeof(*m));
	long done = 0, early = 0, acked = 0, inflight_landed = 0, inflight_lost = 0, fails = 0;
	uint64_t t_start = vt_now_ns();
	fprintf(ctx->out, "torture: seed %u, %ld kills, store %s\n", seed, kills, store);
	for (long k = 0; k < kills && fails == 0; k++) {
		pid_t pid = spawn_daemon(daemon, store, sock, logfd);
		if (pid < 0)
			return 1;
		/* Sometimes kill it while it starts (recovery, lock, socket). */
		if (rand_r(&seed) % 10 == 0) {
			uint64_t until = vt_now_ns() + (uint64_t)(rand_r(&seed) % 3000) * 1000;
			while (vt_now_ns() < until)
				;
			kill_daemon(pid);
			early++;
			continue;
		}
		struct fe_dev *d = NULL;
		struct rpmb_cfg cfg;
		char why[256] = "";
		int r = fe_dev_open(&o, &d);
		if (r == 0)
			r = fe_dev_start(d);
		if (r == 0)
			r = prpmb_config(d, &cfg);
		if (r < 0) {
			snprintf(why, sizeof(why), "cannot use the restarted back-end: %s",
				 d ? fe_dev_error(d, 0) : strerror(-r));
			fails++;
		} else if (tverify(d, m, &cfg, why, sizeof(why)) < 0) {
			fails++;
		}
		if (fails) {
			fprintf(ctx->out, "FAIL after kill %ld: %s\n", k, why);
			fe_dev_close(d);
			kill_daemon(pid);
			break;
		}
		if (!m->key) {
			m->inflight = false;
			r = prpmb_program_key(d, torture_key);
			if (r == RPMB_RES_OK)
				m->key = true;
		}
		/* Some acknowledged writes, then one that the kill interrupts. */
		int n = rand_r(&seed) % 12;
		for (int i = 0; i <= n; i++) {
			uint16_t nblk = (uint16_t)(1 + rand_r(&seed) % cfg.max_wr);
			if (rand_r(&seed) % 3 == 0)
				nblk = cfg.max_wr;
			uint16_t addr = (uint16_t)(rand_r(&seed) % (T_BLOCKS - nblk + 1));
			tpattern(m->idata, (size_t)nblk * RPMB_BLOCK_SIZE, (uint32_t)rand_r(&seed));
			struct rpmb_frame *in = calloc((size_t)nblk + 1, sizeof(*in));
			size_t nin =
			    rpmb_cl_write(in, torture_key, m->counter, addr, nblk, m->idata, true);
			uint64_t rdg, wrg;
			if (fe_mem_alloc(d->mem, nin * 512, 64, &rdg) < 0 ||
			    fe_mem_alloc(d->mem, 512, 64, &wrg) < 0 ||
			    fe_mem_write(d->mem, rdg, in, nin * 512) < 0) {
				free(in);
				fails++;
				break;
			}
			free(in);
			struct fe_seg s[2] = {{rdg, (uint32_t)(nin * 512), false},
					      {wrg, 512, true}};
			m->inflight = true;
			m->iaddr = addr;
			m->inblk = nblk;
			bool last = i == n;
			struct fe_used u;
			bool completed;
			if (!last) {
				completed = fe_dev_submit(d, 0, s, 2, &u) == 0;
			} else {
				completed = false;
				if (fe_vq_add(d->vqs[0], s, 2, 0, NULL) >= 0 &&
				    fe_vq_notify(d->vqs[0]) >= 0) {
					/* Kill at a random instant while the write is (probably)
					 * being served. */
					uint64_t until =
					    vt_now_ns() + (uint64_t)(rand_r(&seed) % 500) * 1000;
					while (vt_now_ns() < until)
						;
				}
				kill_daemon(pid);
				completed = fe_vq_get_used(d->vqs[0], &u) == 0;
			}
			if (completed) {
				struct rpmb_frame resp;
				if (u.len != 512 || fe_mem_read(d->mem, wrg, &resp, 512) < 0 ||
				    rpmb_cl_check_mac(torture_key, &resp, 1) < 0) {
					fprintf(ctx->out, "FAIL: bad write response (len %u)\n",
						u.len);
					fails++;
					break;
				}
				if (rpmb_result(&resp) == RPMB_RES_OK) {
					/* Acknowledged: it must survive anything from now on. */
					memcpy(m->data + (size_t)addr * RPMB_BLOCK_SIZE, m->idata,
					       (size_t)nblk * RPMB_BLOCK_SIZE);
					m->counter++;
					m->inflight = false;
					acked++;
				} else {
					m->inflight = false; /* refused: nothing may have changed */
				}
			}
			(void)fe_mem_release(d->mem, rdg, nin * 512);
			(void)fe_mem_release(d->mem, wrg, 512);
			if (!completed && !last) {
				kill_daemon(pid);
				break;
			}
		}
		bool was_inflight = m->inflight;
		uint32_t before = m->counter;
		fe_dev_close(d);
		done++;
		(void)was_inflight;
		(void)before;
	}
	/* Final check on a last restart. */
	if (fails == 0) {
		pid_t pid = spawn_daemon(daemon, store, sock, logfd);
		struct fe_dev *d = NULL;
		struct rpmb_cfg cfg;
		char why[256] = "";
		uint32_t before = m->counter;
		bool had = m->inflight;
		if (fe_dev_open(&o, &d) < 0 || fe_dev_start(d) < 0 || prpmb_config(d, &cfg) < 0 ||
		    tverify(d, m, &cfg, why, sizeof(why)) < 0) {
			fprintf(ctx->out, "FAIL at the final check: %s\n",
				why[0] ? why : "cannot connect");
			fails++;
		}
		if (had && m->counter > before)
			inflight_landed++;
		else if (had)
			inflight_lost++;
		fe_dev_close(d);
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
	if (logfd >= 0)
		close(logfd);
	fprintf(ctx->out,
		"kills=%ld (during start-up %ld) acknowledged_writes=%ld final_counter=%u "
		"seconds=%.1f failures=%ld\n",
		kills, early, acked, m->counter, (double)(vt_now_ns() - t_start) / 1e9, fails);
	(void)inflight_landed;
	(void)inflight_lost;
	free(m);
	return fails ? 1 : 0;
}

static int run(struct probe_ctx *ctx, int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: rpmb program-key|counter|write|read|bench [options]\n");
		return 2;
	}
	const char *sub = argv[1];
	if (!strcmp(sub, "torture"))
		return torture(ctx, argc - 1, argv + 1);
	struct args a;
	if (parse(argc - 1, argv + 1, &a) < 0)
		return 2;
	bool need_key = strcmp(sub, "counter") != 0 && strcmp(sub, "read") != 0;
	if (need_key && !a.have_key) {
		fprintf(stderr, "rpmb %s: --key HEX is required\n", sub);
		return 2;
	}
	struct fe_dev *d = NULL;
	struct rpmb_cfg cfg;
	int ret = 1;
	if (strcmp(sub, "program-key") && strcmp(sub, "counter") && strcmp(sub, "write") &&
	    strcmp(sub, "read") && strcmp(sub, "bench")) {
		fprintf(stderr, "rpmb: unknown subcommand %s\n", sub);
		return 2;
	}
	if (!strcmp(sub, "write") && a.address < 0) {
		fprintf(stderr, "rpmb write: --address N is required\n");
		return 2;
	}
	if (!strcmp(sub, "read") && (a.address < 0 || a.blocks < 1)) {
		fprintf(stderr, "rpmb read: --address N and --blocks N are required\n");
		return 2;
	}
	if (open_dev(ctx, &d, &cfg) < 0)
		return 1;
	const uint8_t *key = a.have_key ? a.key : NULL;
	if (!strcmp(sub, "program-key")) {
		ret = report("PROGRAM_KEY", prpmb_program_key(d, a.key));
		if (!ret)
			fprintf(ctx->out, "key programmed\n");
	} else if (!strcmp(sub, "counter")) {
		uint32_t c;
		int r = prpmb_counter(d, key, &c);
		ret = report("GET_WRITE_COUNTER", r);
		if (!ret)
			fprintf(ctx->out, "counter=%u%s\n", c,
				r & RPMB_RES_WRITE_COUNTER_EXPIRED ? " expired" : "");
	} else if (!strcmp(sub, "write")) {
		size_t cap = 1 << 20, len = 0;
		uint8_t *buf = malloc(cap);
		ssize_t k;
		while (buf && (k = read(0, buf + len, cap - len)) > 0) {
			len += (size_t)k;
			if (len == cap && !(buf = realloc(buf, cap *= 2)))
				break;
		}
		if (!buf || len == 0 || len % RPMB_BLOCK_SIZE) {
			fprintf(stderr,
				"rpmb write: stdin must hold a multiple of 256 bytes (got %zu)\n",
				len);
			free(buf);
			fe_dev_close(d);
			return 2;
		}
		uint32_t c;
		int r = prpmb_counter(d, key, &c);
		ret = report("GET_WRITE_COUNTER", r);
		for (size_t off = 0; !ret && off < len;) {
			uint16_t nb =
			    (uint16_t)VT_MIN((size_t)cfg.max_wr, (len - off) / RPMB_BLOCK_SIZE);
			r = prpmb_write(d, a.key, c, (uint16_t)(a.address + off / RPMB_BLOCK_SIZE),
					nb, buf + off, &c);
			ret = report("DATA_WRITE", r);
			off += (size_t)nb * RPMB_BLOCK_SIZE;
		}
		if (!ret)
			fprintf(ctx->out, "wrote %zu blocks at %ld, counter=%u\n",
				len / RPMB_BLOCK_SIZE, a.address, c);
		free(buf);
	} else if (!strcmp(sub, "read")) {
		uint8_t *buf = malloc((size_t)cfg.max_rd * RPMB_BLOCK_SIZE);
		ret = 0;
		for (long off = 0; !ret && off < a.blocks;) {
			uint16_t nb = (uint16_t)VT_MIN((long)cfg.max_rd, a.blocks - off);
			ret = report("DATA_READ",
				     prpmb_read(d, key, (uint16_t)(a.address + off), nb, buf));
			if (!ret && fwrite(buf, RPMB_BLOCK_SIZE, nb, stdout) != nb)
				ret = 1;
			off += nb;
		}
		free(buf);
	} else {
		ret = bench(d, &cfg, &a, ctx->out);
	}
	fe_dev_close(d);
	return ret;
}

const struct probe_cmd probe_cmd_rpmb = {
    .name = "rpmb",
    .args = "SUBCOMMAND [--key HEX] ...",
    .summary = "virtio-rpmb: program-key, counter, write, read, bench, torture",
    .run = run,
};
