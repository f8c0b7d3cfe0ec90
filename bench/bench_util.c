/* SPDX-License-Identifier: Apache-2.0 */
#include "bench_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

double bench_percentile(uint64_t *v, size_t n, double p)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_u64);
	size_t i = (size_t)(p / 100.0 * (double)(n - 1));
	return (double)v[i];
}

int bench_daemon_start(struct bench_daemon *d, const char *vtrustd, const char *type,
		       const char *const *extra)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->dir, sizeof(d->dir), "%s/vtrust-bench.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(d->dir))
		return -errno;
	snprintf(d->socket_path, sizeof(d->socket_path), "%s/%s.sock", d->dir, type);
	const char *argv[32] = {vtrustd, "--type", type, "--socket-path", d->socket_path,
				"--log-level", "warning"};
	int n = 7;
	for (unsigned i = 0; extra && extra[i] && n < 30; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	d->pid = fork();
	if (d->pid < 0)
		return -errno;
	if (d->pid == 0) {
		/* The daemon's log stays out of the benchmark's table. */
		char log[400];
		snprintf(log, sizeof(log), "%s/vtrustd.log", d->dir);
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd >= 0)
			dup2(fd, STDERR_FILENO);
		execv(vtrustd, (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	for (int i = 0; i < 500; i++) {
		struct stat st;
		if (stat(d->socket_path, &st) == 0)
			return 0;
		int status;
		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			d->pid = 0;
			return -ECHILD;
		}
		usleep(10000);
	}
	return -ETIMEDOUT;
}

void bench_daemon_stop(struct bench_daemon *d)
{
	if (d->pid > 0) {
		kill(d->pid, SIGTERM);
		waitpid(d->pid, NULL, 0);
		d->pid = 0;
	}
	char log[400];
	snprintf(log, sizeof(log), "%s/vtrustd.log", d->dir);
	unlink(log);
	unlink(d->socket_path);
	rmdir(d->dir);
}

struct pingpong {
	int a, b;
	unsigned iters;
};

static void *pong(void *arg)
{
	struct pingpong *p = arg;
	uint64_t v;
	for (unsigned i = 0; i < p->iters; i++) {
		if (read(p->a, &v, sizeof(v)) != sizeof(v))
			break;
		v = 1;
		if (write(p->b, &v, sizeof(v)) != sizeof(v))
			break;
	}
	return NULL;
}

int bench_proc_cpu(pid_t pid, uint64_t *cpu_ns, uint64_t *ctxsw)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *dir = opendir(path);
	if (!dir)
		return -errno;
	*cpu_ns = *ctxsw = 0;
	struct dirent *e;
	while ((e = readdir(dir))) {
		if (e->d_name[0] == '.')
			continue;
		char p[128], line[256];
		snprintf(p, sizeof(p), "/proc/%d/task/%.32s/schedstat", (int)pid, e->d_name);
		FILE *f = fopen(p, "r");
		unsigned long long v;
		if (f) {
			if (fscanf(f, "%llu", &v) == 1)
				*cpu_ns += v;
			fclose(f);
		}
		snprintf(p, sizeof(p), "/proc/%d/task/%.32s/status", (int)pid, e->d_name);
		f = fopen(p, "r");
		while (f && fgets(line, sizeof(line), f))
			if (sscanf(line, "voluntary_ctxt_switches: %llu", &v) == 1 ||
			    sscanf(line, "nonvoluntary_ctxt_switches: %llu", &v) == 1)
				*ctxsw += v;
		if (f)
			fclose(f);
	}
	closedir(dir);
	return 0;
}

double bench_eventfd_pingpong_ns(unsigned iters)
{
	struct pingpong p = {eventfd(0, EFD_CLOEXEC), eventfd(0, EFD_CLOEXEC), iters};
	uint64_t *lat = calloc(iters, sizeof(*lat));
	pthread_t t;
	if (!lat || pthread_create(&t, NULL, pong, &p) != 0)
		abort();
	for (unsigned i = 0; i < iters; i++) {
		uint64_t t0 = vt_now_ns(), v = 1;
		if (write(p.a, &v, sizeof(v)) != sizeof(v) || read(p.b, &v, sizeof(v)) != sizeof(v))
			abort();
		lat[i] = vt_now_ns() - t0;
	}
	pthread_join(t, NULL);
	close(p.a);
	close(p.b);
	double med = bench_percentile(lat, iters, 50);
	free(lat);
	return med;
}
