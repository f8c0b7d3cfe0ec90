/* SPDX-License-Identifier: Apache-2.0 */
/* Shared benchmark helpers: timing, percentiles, and a vtrustd child process. */
#ifndef VTRUST_BENCH_UTIL_H
#define VTRUST_BENCH_UTIL_H

#include <stdint.h>
#include <sys/types.h>

#include "clock.h"

/* Sorts v in place and returns the p-th percentile (0..100). */
double bench_percentile(uint64_t *v, size_t n, double p);

struct bench_daemon {
	pid_t pid;
	char dir[256];
	char socket_path[320];
};

/*
 * Starts `vtrustd --type TYPE --socket-path DIR/TYPE.sock EXTRA...` in a fresh
 * temporary directory and waits (bounded) for its socket. 0 or -errno.
 */
int bench_daemon_start(struct bench_daemon *d, const char *vtrustd, const char *type,
		       const char *const *extra);
/* SIGTERM, wait, remove the directory. */
void bench_daemon_stop(struct bench_daemon *d);

/*
 * CPU time (ns, /proc/PID/task/T/schedstat) and context switches (voluntary +
 * involuntary, .../status) summed over the live threads of pid. 0 or -errno.
 */
int bench_proc_cpu(pid_t pid, uint64_t *cpu_ns, uint64_t *ctxsw);

/*
 * Median round trip (ns) of a blocking eventfd ping-pong between two threads:
 * the floor for any kick → call exchange on this machine.
 */
double bench_eventfd_pingpong_ns(unsigned iters);

#endif
