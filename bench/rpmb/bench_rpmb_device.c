/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Device-side RPMB latency: the full request path of devices/rpmb (frame
 * checks, HMAC, journal commit with its fdatasync, apply) without the
 * virtqueue and notification round trip, on a store file in DIR, against a
 * 4 KiB pwrite + fdatasync in place on a written file in the same DIR, the
 * two interleaved in rounds so host noise hits both alike.
 *
 *   bench_rpmb_device DIR [ITERATIONS]
 *
 * Prints a table and ends with ratio=<one-block write p50 / fdatasync p50>.
 * Goals (issue 5): ratio <= 1.2; max_wr_cnt-block write <= 1.5x one block.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "clock.h"
#include "log.h"
#include "rpmb.h"

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static double pct(uint64_t *v, size_t n, double p)
{
	qsort(v, n, sizeof(*v), cmp);
	return (double)v[(size_t)(p * (double)(n - 1))] / 1000.0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bench_rpmb_device DIR [ITERATIONS]\n");
		return 2;
	}
	vt_log_set_level(VT_LOG_WARNING);
	long n = argc > 2 ? atol(argv[2]) : 1000;
	char dir[4096], store[4200], base[4200];
	snprintf(dir, sizeof(dir), "%s/rpmb-bench.XXXXXX", argv[1]);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(store, sizeof(store), "%s/bench.rpmb", dir);
	snprintf(base, sizeof(base), "%s/baseline", dir);

	struct rpmb_opts o = {.name = "bench",
			      .store_path = store,
			      .create = {.geom = {.capacity = 16, .max_wr = 32}},
			      .max_rd = 32};
	struct rpmb_dev *d;
	if (rpmb_dev_new(&o, &d) < 0)
		return 1;
	uint8_t key[32];
	memset(key, 0x3c, sizeof(key));
	static struct rpmb_frame in[40], out[40];
	size_t k = rpmb_cl_program_key(in, key, true);
	if (rpmb_request(d, in, k, false, out, 1) != 1 || rpmb_result(&out[0]) != RPMB_RES_OK)
		return 1;
	uint32_t max_wr = d->store->geom.max_wr;

	int bfd = open(base, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	uint8_t buf[4096];
	memset(buf, 0x5a, sizeof(buf));
	for (int i = 0; i < 64; i++)
		if (pwrite(bfd, buf, sizeof(buf), (off_t)i * 4096) != 4096)
			return 1;
	if (fdatasync(bfd) < 0)
		return 1;

	uint64_t *lb = calloc((size_t)n * 2, 8), *l1 = calloc((size_t)n, 8),
		 *lm = calloc((size_t)n, 8);
	uint8_t data[32 * 256];
	memset(data, 0xa7, sizeof(data));
	uint32_t counter = 0;
	uint16_t blocks = (uint16_t)(d->store->blocks);
	for (int w = 0; w < 50; w++) { /* warm-up */
		k = rpmb_cl_write(in, key, counter++, 0, 1, data, true);
		(void)rpmb_request(d, in, k, false, out, 1);
	}
	/*
	 * Fully interleaved: baseline, 1-block write, baseline, max_wr_cnt-block
	 * write, ... so that host noise (it moves the flush cost by 2x here)
	 * lands on both sides alike.
	 */
	for (long i = 0; i < n; i++) {
		for (int kind = 0; kind < 2; kind++) {
			buf[0] = (uint8_t)i;
			uint64_t t0 = vt_now_ns();
			if (pwrite(bfd, buf, sizeof(buf), (off_t)(i % 64) * 4096) != 4096 ||
			    fdatasync(bfd) < 0)
				return 1;
			lb[2 * i + kind] = vt_now_ns() - t0;
			uint16_t nb = kind ? (uint16_t)max_wr : 1;
			uint16_t addr = kind ? (uint16_t)((i * 32) % (blocks - max_wr))
					     : (uint16_t)((i * 7) % blocks);
			k = rpmb_cl_write(in, key, counter, addr, nb, data, true);
			t0 = vt_now_ns();
			size_t got = rpmb_request(d, in, k, false, out, 1);
			(kind ? lm : l1)[i] = vt_now_ns() - t0;
			if (got != 1 || rpmb_result(&out[0]) != RPMB_RES_OK)
				return 1;
			counter++;
			/* As the queue does once the answer is published. */
			rpmb_apply_pending(d);
		}
	}
	/* Reads per second (page cache: no I/O to wait for). */
	uint8_t nonce[16] = {0};
	uint64_t t0 = vt_now_ns(), reads = 0;
	while (vt_now_ns() - t0 < 500000000ull) {
		rpmb_cl_read(in, (uint16_t)(reads % blocks), 1, nonce);
		if (rpmb_request(d, in, 1, false, out, 32) != 1)
			return 1;
		reads++;
	}
	double rps = (double)reads * 1e9 / (double)(vt_now_ns() - t0);
	t0 = vt_now_ns();
	uint64_t mreads = 0;
	while (vt_now_ns() - t0 < 500000000ull) {
		rpmb_cl_read(in, 0, 32, nonce);
		if (rpmb_request(d, in, 1, false, out, 32) != 32)
			return 1;
		mreads++;
	}
	double mrps = (double)mreads * 1e9 / (double)(vt_now_ns() - t0);

	double b50 = pct(lb, (size_t)n * 2, 0.5), b99 = pct(lb, (size_t)n * 2, 0.99);
	double w50 = pct(l1, (size_t)n, 0.5), w99 = pct(l1, (size_t)n, 0.99);
	double m50 = pct(lm, (size_t)n, 0.5), m99 = pct(lm, (size_t)n, 0.99);
	printf("rpmb device-side benchmark (%ld samples each, interleaved one by one, dir %s)\n", n,
	       argv[1]);
	printf("%-46s %9s %9s\n", "", "p50 us", "p99 us");
	printf("%-46s %9.1f %9.1f\n", "baseline: 4 KiB pwrite + fdatasync (in place)", b50, b99);
	printf("%-46s %9.1f %9.1f\n", "DATA_WRITE 1 block (HMAC + journal + sync)", w50, w99);
	char lbl[64];
	snprintf(lbl, sizeof(lbl), "DATA_WRITE %u blocks", max_wr);
	printf("%-46s %9.1f %9.1f\n", lbl, m50, m99);
	printf("DATA_READ: %.0f/s (1 block), %.0f/s (32 blocks)\n", rps, mrps);
	printf("syncs per write: %.2f\n", (double)d->store->syncs / (double)(counter + 1));
	printf("multi_block_ratio=%.3f\n", m50 / w50);
	printf("ratio=%.3f\n", w50 / b50);
	rpmb_dev_free(d);
	close(bfd);
	unlink(base);
	unlink(store);
	rmdir(dir);
	return 0;
}
