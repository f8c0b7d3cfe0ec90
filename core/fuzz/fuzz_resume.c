/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: resuming a device from a stored state file (core/resume.c).
 * Target function: vt_device_resume, with everything it parses: the state
 * memfd's header, memory table, queue records (sizes, addresses, positions,
 * heads in flight, push in progress, kept input) and the message in hand,
 * which it replays through the dispatcher.
 *
 * Input: the state file's bytes (copied over a correctly sized file; the rest
 * stays zero). The harness hands over, under the names the input asks for, a
 * connected socket, eventfds and a 64 MiB (sparse) guest-memory memfd whose
 * identity it writes into every region the input describes (so rings over
 * real memory are reached); then it lets the queues be served once.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "device.h"
#include "echo_device.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MEM_SIZE (64u << 20) /* sparse: the probe's default guest RAM, as in the seeds */
/* Like the rng device (3 queues of up to 1024), so real state files seed the corpus. */
#define NQ 3u
#define MAXQ 1024u

static uint16_t fz_nq(void *priv)
{
	(void)priv;
	return NQ;
}

static const struct vt_device_ops fz_ops = {
	.type = "fuzz",
	.num_queues = fz_nq,
	.max_queue_size = MAXQ,
	.queue_handle = echo_handle,
};

static size_t round_up(size_t v, size_t a)
{
	return (v + a - 1) / a * a;
}

static int mem_fd = -1;

static void once(void)
{
	if (mem_fd >= 0)
		return;
	vt_log_set_level(VT_LOG_ERR);
	mem_fd = memfd_create("fz-ram", MFD_CLOEXEC);
	if (mem_fd < 0 || ftruncate(mem_fd, MEM_SIZE) < 0)
		abort();
}

static void add(struct vt_inherited_fd *fds, unsigned *n, char names[][96], const char *name,
		int fd)
{
	if (fd < 0)
		return;
	snprintf(names[*n], 96, "%s", name);
	fds[*n] = (struct vt_inherited_fd){.name = names[*n], .fd = fd};
	(*n)++;
}

struct first_fd {
	int fd;
};

static void take_first(void *ctx, const char *name, int fd)
{
	struct first_fd *f = ctx;
	if (f->fd < 0 && strstr(name, ".state"))
		f->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	once();
	/* A correctly sized state file, from a device that enables resume (then lets go). */
	struct vt_device *d = vt_device_new("fz", &fz_ops, NULL);
	if (!d || vt_device_resume_enable(d) < 0)
		abort();
	struct first_fd st_fd = {-1};
	vt_device_visit_fds(d, take_first, &st_fd);
	atomic_store(&d->detach_on_stop, true);
	vt_device_detach(d); /* keeps the file as it is */
	vt_device_free(d);
	if (st_fd.fd < 0)
		abort();
	struct stat sb;
	if (fstat(st_fd.fd, &sb) < 0)
		abort();
	size_t len = (size_t)sb.st_size;
	uint8_t *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, st_fd.fd, 0);
	if (map == MAP_FAILED)
		abort();
	memcpy(map, data, VT_MIN(size, len));
	struct vt_rs_file *f = (struct vt_rs_file *)(void *)map;
	/* Real guest memory behind every region the input describes. */
	struct stat ms;
	for (unsigned i = 0; i < VT_MAX_MEM_SLOTS && fstat(mem_fd, &ms) == 0; i++) {
		if (!f->regions[i].size)
			continue;
		f->regions[i].st_dev = (uint64_t)ms.st_dev;
		f->regions[i].st_ino = (uint64_t)ms.st_ino;
	}

	/* The fds the input names: its connection, its queues' eventfds, a priv memfd. */
	struct vt_inherited_fd fds[4 + 3 * NQ]; /* state, conn, priv, memory + eventfds */
	char names[4 + 3 * NQ][96];
	unsigned n = 0;
	int sp[2] = {-1, -1};
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sp) < 0)
		abort();
	char name[96];
	add(fds, &n, names, "fz.state", st_fd.fd);
	snprintf(name, sizeof(name), "fz.conn.%" PRIu32, f->conn_gen);
	add(fds, &n, names, name, sp[0]);
	int pfd = memfd_create("fz-priv", MFD_CLOEXEC);
	if (pfd >= 0 && ftruncate(pfd, 64) == 0 && size > 64 &&
	    pwrite(pfd, data + size - 64, 64, 0) < 0) {
		close(pfd);
		pfd = -1;
	}
	add(fds, &n, names, "fz.priv", pfd);
	size_t qoff = round_up(sizeof(struct vt_rs_file), 64);
	size_t qrec = round_up(sizeof(struct vt_rs_queue) + MAXQ, 64);
	for (unsigned i = 0; i < NQ && qoff + (i + 1) * qrec <= len; i++) {
		const struct vt_rs_queue *r = (const void *)(map + qoff + i * qrec);
		uint32_t gens[3] = {r->kick_gen, r->call_gen, r->err_gen};
		for (unsigned k = 0; k < 3; k++) {
			if (!gens[k])
				continue;
			snprintf(name, sizeof(name), "fz.efd.%" PRIu32, gens[k]);
			add(fds, &n, names, name, eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
		}
	}
	munmap(map, len);
	add(fds, &n, names, "mem-fz", fcntl(mem_fd, F_DUPFD_CLOEXEC, 3));

	struct vt_device *r = vt_device_new("fz", &fz_ops, NULL);
	if (!r)
		abort();
	r->manual_queues = true;
	int e = vt_device_resume(r, fds, n);
	if (e > 0) {
		/* Serve what the resumed rings hold, once, as a worker would. */
		for (unsigned i = 0; i < r->nqueues; i++) {
			struct vt_queue *q = &r->queues[i];
			pthread_mutex_lock(&q->lock);
			if (q->started && !q->broken)
				echo_handle(NULL, q);
			pthread_mutex_unlock(&q->lock);
		}
	}
	vt_device_free(r);
	for (unsigned i = 0; i < n; i++)
		if (!fds[i].used || fds[i].borrowed)
			close(fds[i].fd);
	if (sp[1] >= 0)
		close(sp[1]);
	return 0;
}
