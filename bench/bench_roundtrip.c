/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Core round trip: probe → socket → null device (a real vtrustd process) →
 * used ring → call, at queue depth 1 and 64, against an eventfd ping-pong
 * between two threads measured in the same run. The last line is
 * `ratio=<depth-1 round trip ÷ eventfd ping-pong>` (medians).
 *
 * usage: bench_roundtrip VTRUSTD [ITERATIONS]
 */
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "fe_dev.h"

#define DEPTH 64
#define REQ 64
/* The driver's think time between requests in the spaced cases (µs). */
#define THINK_US 30u

struct run {
	double p50, p99, mean_ns;
	double per_req_ns; /* depth 64: wall time / requests */
	double cpu_ns;	   /* depth 1: vtrustd's CPU time per request */
	double cs;	   /* depth 1: vtrustd's context switches per request */
};

static pid_t daemon_pid;

static int open_dev(const char *sock, enum fe_vq_wait_mode wait, struct fe_dev **ret)
{
	struct fe_dev_opts o;
	fe_dev_opts_init(&o);
	o.socket_path = sock;
	o.queue_size = 256;
	o.wait_mode = wait;
	int r = fe_dev_open(&o, ret);
	if (r == 0)
		r = fe_dev_start(*ret);
	return r;
}

static void think(unsigned us)
{
	if (!us)
		return;
	struct timespec ts = {0, (long)us * 1000L};
	nanosleep(&ts, NULL);
}

/*
 * Depth-1 latency: add, kick, wait, reap; with think_us, the driver sleeps
 * that long before its next request (a guest busy with the completion; under
 * TCG that takes tens of µs). Also vtrustd's CPU time and context switches
 * per request over the measured part (/proc).
 */
static int depth1(struct fe_dev *d, enum fe_vq_wait_mode wait, unsigned iters, unsigned think_us,
		  struct run *out)
{
	uint64_t cpu0 = 0, cs0 = 0, cpu1 = 0, cs1 = 0;
	struct fe_vq *vq = d->vqs[0];
	uint64_t in, outb;
	if (fe_mem_alloc(d->mem, REQ, 64, &in) < 0 || fe_mem_alloc(d->mem, REQ, 64, &outb) < 0)
		return -ENOMEM;
	struct fe_seg segs[2] = {{in, REQ, false}, {outb, REQ, true}};
	uint64_t *lat = calloc(iters, sizeof(*lat));
	double sum = 0;
	for (unsigned i = 0; i < iters + 1000; i++) {
		uint64_t t0 = vt_now_ns();
		struct fe_used u;
		if (fe_vq_add(vq, segs, 2, 0, NULL) < 0 || fe_vq_kick(vq) < 0 ||
		    fe_vq_wait(vq, 2000, wait) < 0 || fe_vq_get_used(vq, &u) < 0 || u.len != REQ) {
			fprintf(stderr, "depth1: request %u failed: %s\n", i, fe_dev_error(d, 0));
			free(lat);
			return -EIO;
		}
		uint64_t dt = vt_now_ns() - t0;
		if (i == 999)
			(void)bench_proc_cpu(daemon_pid, &cpu0, &cs0);
		think(think_us);
		if (i >= 1000) { /* warm-up excluded */
			lat[i - 1000] = dt;
			sum += (double)dt;
		}
	}
	if (bench_proc_cpu(daemon_pid, &cpu1, &cs1) == 0) {
		out->cpu_ns = (double)(cpu1 - cpu0) / iters;
		out->cs = (double)(cs1 - cs0) / iters;
	}
	out->mean_ns = sum / iters;
	out->p99 = bench_percentile(lat, iters, 99);
	out->p50 = bench_percentile(lat, iters, 50);
	free(lat);
	return 0;
}

/* Depth 64: keep 64 chains in flight, one kick per refill. */
static int depth64(struct fe_dev *d, enum fe_vq_wait_mode wait, unsigned total, struct run *out)
{
	struct fe_vq *vq = d->vqs[0];
	struct fe_seg segs[DEPTH][2];
	for (int i = 0; i < DEPTH; i++) {
		uint64_t in, o;
		if (fe_mem_alloc(d->mem, REQ, 64, &in) < 0 || fe_mem_alloc(d->mem, REQ, 64, &o) < 0)
			return -ENOMEM;
		segs[i][0] = (struct fe_seg){in, REQ, false};
		segs[i][1] = (struct fe_seg){o, REQ, true};
	}
	unsigned submitted = 0, done = 0, slot = 0;
	uint64_t t0 = vt_now_ns();
	while (done < total) {
		while (fe_vq_in_flight(vq) < DEPTH && submitted < total) {
			if (fe_vq_add(vq, segs[slot], 2, 0, NULL) < 0)
				return -EIO;
			slot = (slot + 1) % DEPTH;
			submitted++;
		}
		if (fe_vq_kick(vq) < 0 || fe_vq_wait(vq, 2000, wait) < 0) {
			fprintf(stderr, "depth64: %s\n", fe_dev_error(d, 0));
			return -EIO;
		}
		struct fe_used u;
		while (fe_vq_get_used(vq, &u) == 0) {
			if (u.len != REQ)
				return -EIO;
			done++;
		}
	}
	out->per_req_ns = (double)(vt_now_ns() - t0) / total;
	return 0;
}

static int bench_mode(const char *vtrustd, const char *label, const char *const *extra,
		      enum fe_vq_wait_mode wait, unsigned iters, struct run *r1, struct run *r64,
		      struct run *r1think)
{
	struct bench_daemon dm;
	int r = bench_daemon_start(&dm, vtrustd, "null", extra);
	if (r < 0) {
		fprintf(stderr, "%s: cannot start vtrustd: %s\n", label, strerror(-r));
		return r;
	}
	struct fe_dev *d = NULL;
	r = open_dev(dm.socket_path, wait, &d);
	daemon_pid = dm.pid;
	if (r == 0)
		r = depth1(d, wait, iters, 0, r1);
	if (r == 0 && r1think)
		r = depth1(d, wait, iters / 4, THINK_US, r1think);
	if (r == 0 && r64)
		r = depth64(d, wait, iters * 8, r64);
	if (r < 0)
		fprintf(stderr, "%s: %s\n", label, d ? fe_dev_error(d, 0) : strerror(-r));
	fe_dev_close(d);
	bench_daemon_stop(&dm);
	return r;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s VTRUSTD [ITERATIONS]\n", argv[0]);
		return 2;
	}
	unsigned iters = argc > 2 ? (unsigned)atoi(argv[2]) : 20000;
	double pp = bench_eventfd_pingpong_ns(iters);

	struct run b1 = {0}, b64 = {0}, bt = {0}, a1 = {0}, at = {0}, p1 = {0}, p64 = {0};
	/* Polling off: the worker sleeps after every batch. */
	static const char *const sleep_args[] = {"--busy-poll-us", "0", NULL};
	if (bench_mode(argv[1], "sleeping", sleep_args, FE_VQ_WAIT_EVENTFD, iters, &b1, &b64, &bt) <
	    0)
		return 1;
	/* The default: the adaptive window (limit 200 µs, held to what a sleep costs). */
	if (bench_mode(argv[1], "default", NULL, FE_VQ_WAIT_EVENTFD, iters, &a1, NULL, &at) < 0)
		return 1;
	static const char *const poll_args[] = {"--busy-poll-us", "200", NULL};
	if (bench_mode(argv[1], "busy-poll", poll_args, FE_VQ_WAIT_POLL, iters, &p1, &p64, NULL) < 0)
		return 1;
	double pp_after = bench_eventfd_pingpong_ns(iters);
	double base = (pp + pp_after) / 2;

	printf("core round trip, %u B request + %u B response, null device in vtrustd\n", REQ, REQ);
	printf("(vtrustd cpu/cs: its CPU time and context switches per request, from /proc)\n");
	printf("%-44s %9s %9s %9s %12s %7s\n", "case", "p50 us", "p99 us", "mean us",
	       "vtrustd cpu", "cs/req");
	printf("%-44s %9.2f %9s %9s\n", "eventfd ping-pong, 2 threads (base)", base / 1e3, "-", "-");
	const struct {
		const char *name;
		const struct run *r;
	} rows[] = {
	    {"depth 1, kick + call, polling off", &b1},
	    {"depth 1, driver thinks 30 us, polling off", &bt},
	    {"depth 1, kick + call, default (adaptive)", &a1},
	    {"depth 1, driver thinks 30 us, default", &at},
	    {"depth 1, busy-poll both sides", &p1},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		printf("%-44s %9.2f %9.2f %9.2f %9.2f us %7.2f\n", rows[i].name, rows[i].r->p50 / 1e3,
		       rows[i].r->p99 / 1e3, rows[i].r->mean_ns / 1e3, rows[i].r->cpu_ns / 1e3,
		       rows[i].r->cs);
	printf("%-44s %9s %9s %9.3f\n", "depth 64, per request (polling off)", "-", "-",
	       b64.per_req_ns / 1e3);
	printf("%-44s %9s %9s %9.3f\n", "depth 64, per request (busy-poll)", "-", "-",
	       p64.per_req_ns / 1e3);
	printf("ping-pong before/after: %.2f / %.2f us\n", pp / 1e3, pp_after / 1e3);
	printf("ratio=%.3f\n", b1.p50 / base);
	return 0;
}
