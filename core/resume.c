/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Restart survival (resume.h): the state memfd, the device's priv memfd, the
 * in-flight bookkeeping on the ring paths and the resume from inherited fds.
 *
 * Every field is written as the state changes, in an order that leaves the
 * file meaningful at any instant: a SIGKILL stops the process between two
 * stores, and the shared mapping keeps every store made before it.
 */
#include "resume.h"

#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "device.h"
#include "log.h"
#include "secmem.h"

/* Original input kept per queue for in-place requests (sparse: only used pages cost). */
#define VT_RS_UNDO_CAP (4u << 20)

#define rs_barrier() __atomic_signal_fence(__ATOMIC_SEQ_CST)

struct vt_rs {
	int state_fd;
	int priv_fd;
	struct vt_rs_file *f;
	size_t len, locked, qoff, qrec, undo_off, undo_cap;
	uint32_t max_queue;
	void *priv;
	size_t priv_size;
	bool warned_undo;
};

static size_t round_up(size_t v, size_t a)
{
	return (v + a - 1) / a * a;
}

static void layout(const struct vt_device *d, struct vt_rs *rs)
{
	rs->max_queue = d->ops->max_queue_size ? d->ops->max_queue_size : VIRTQ_MAX_SIZE;
	rs->undo_cap = d->ops->inflight_keep_input ? VT_RS_UNDO_CAP : 0;
	rs->qoff = round_up(sizeof(struct vt_rs_file), 64);
	rs->qrec = round_up(sizeof(struct vt_rs_queue) + rs->max_queue, 64);
	rs->undo_off = round_up(rs->qoff + (size_t)d->nqueues * rs->qrec, 4096);
	rs->locked = rs->undo_off;
	rs->len = rs->undo_off + (size_t)d->nqueues * rs->undo_cap;
}

static struct vt_rs_queue *qrec(struct vt_rs *rs, unsigned i)
{
	return (struct vt_rs_queue *)(void *)((uint8_t *)rs->f + rs->qoff + i * rs->qrec);
}

static uint8_t *qinflight(struct vt_rs *rs, unsigned i)
{
	return (uint8_t *)(qrec(rs, i) + 1);
}

static uint8_t *qundo(struct vt_rs *rs, unsigned i)
{
	return (uint8_t *)rs->f + rs->undo_off + (size_t)i * rs->undo_cap;
}

/* Locked, non-dumpable, fixed-size shared mapping of a memfd. */
static void *map_fd(int fd, size_t len, size_t lock_len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return NULL;
	(void)madvise(p, len, MADV_DONTDUMP);
	if (lock_len && mlock(p, lock_len) < 0)
		vt_warn("cannot lock %zu bytes of resumable state: %s (raise LimitMEMLOCK)",
			lock_len, strerror(errno));
	return p;
}

static int new_memfd(const char *name, size_t len)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)len) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

static void attach_queues(struct vt_device *d)
{
	struct vt_rs *rs = d->rs;
	for (unsigned i = 0; i < d->nqueues; i++) {
		struct vt_queue *q = &d->queues[i];
		pthread_mutex_lock(&q->lock);
		q->rsq = rs ? qrec(rs, i) : NULL;
		q->rs_inflight = rs ? qinflight(rs, i) : NULL;
		q->rs_max = rs ? rs->max_queue : 0;
		pthread_mutex_unlock(&q->lock);
	}
}

static size_t priv_size(struct vt_device *d)
{
	return d->ops->resume_size ? d->ops->resume_size(d->priv) : 0;
}

int vt_device_resume_enable(struct vt_device *d)
{
	if (d->rs)
		return 0;
	struct vt_rs *rs = calloc(1, sizeof(*rs));
	if (!rs)
		return -ENOMEM;
	rs->state_fd = rs->priv_fd = -1;
	layout(d, rs);
	int e = new_memfd("vtrust-state", rs->len);
	if (e < 0)
		goto fail;
	rs->state_fd = e;
	rs->f = map_fd(rs->state_fd, rs->len, rs->locked);
	if (!rs->f) {
		e = -errno;
		goto fail;
	}
	memcpy(rs->f->magic, VT_RS_MAGIC, 8);
	rs->f->version = VT_RS_VERSION;
	rs->f->nqueues = d->nqueues;
	rs->f->max_queue = rs->max_queue;
	rs->f->undo_cap = (uint32_t)rs->undo_cap;
	rs->priv_size = priv_size(d);
	rs->f->priv_size = rs->priv_size;
	if (rs->priv_size) {
		e = new_memfd("vtrust-priv", rs->priv_size);
		if (e < 0)
			goto fail;
		rs->priv_fd = e;
		rs->priv = map_fd(rs->priv_fd, rs->priv_size, rs->priv_size);
		if (!rs->priv) {
			e = -errno;
			goto fail;
		}
		if ((e = d->ops->resume_attach(d->priv, rs->priv, rs->priv_size, false)) < 0)
			goto fail;
	}
	d->rs = rs;
	attach_queues(d);
	vt_rs_sync(d);
	return 0;
fail:
	if (rs->priv)
		munmap(rs->priv, rs->priv_size);
	if (rs->f)
		munmap(rs->f, rs->len);
	if (rs->priv_fd >= 0)
		close(rs->priv_fd);
	if (rs->state_fd >= 0)
		close(rs->state_fd);
	free(rs);
	vt_err("%s: cannot create its resumable state: %s", d->name, strerror(-e));
	return e;
}

static void rs_release(struct vt_device *d, bool wipe)
{
	struct vt_rs *rs = d->rs;
	if (!rs)
		return;
	if (rs->priv && d->ops->resume_attach)
		(void)d->ops->resume_attach(d->priv, NULL, 0, false);
	if (wipe) {
		if (rs->priv)
			vt_wipe(rs->priv, rs->priv_size);
		vt_wipe(rs->f, rs->locked);
	}
	d->rs = NULL;
	attach_queues(d);
	if (rs->priv)
		munmap(rs->priv, rs->priv_size);
	munmap(rs->f, rs->len);
	if (rs->priv_fd >= 0)
		close(rs->priv_fd);
	close(rs->state_fd);
	free(rs);
}

void vt_rs_free(struct vt_device *d)
{
	rs_release(d, true);
}

uint64_t vt_rs_next_gen(struct vt_device *d)
{
	return ++d->fd_gen;
}

/* Same open file (kcmp KCMP_FILE); false when the kernel cannot tell. */
static bool same_file(int a, int b)
{
	pid_t pid = getpid();
	return a >= 0 && b >= 0 && syscall(SYS_kcmp, pid, pid, 0 /* KCMP_FILE */, a, b) == 0;
}

uint64_t vt_rs_eventfd_gen(struct vt_device *d, int fd)
{
	/*
	 * QEMU passes one eventfd for several roles (its masked notifier is both a
	 * queue's err fd and, while masked, its call fd), and a store keeps one copy of
	 * an open file: the same file keeps the same name.
	 */
	for (unsigned i = 0; d->rs && fd >= 0 && i < d->nqueues; i++) {
		const struct vt_queue *q = &d->queues[i];
		if (same_file(fd, q->kick_fd))
			return q->kick_gen;
		if (same_file(fd, q->call_fd))
			return q->call_gen;
		if (same_file(fd, q->err_fd))
			return q->err_gen;
	}
	return vt_rs_next_gen(d);
}

/* ---- sync ---------------------------------------------------------------- */

void vt_rs_queue_sync(struct vt_queue *q)
{
	struct vt_rs_queue *r = q->rsq;
	if (!r)
		return;
	r->num = q->num;
	r->flags = (q->addr_set ? VT_RSQ_ADDR_SET : 0) | (q->started ? VT_RSQ_STARTED : 0) |
		   (q->enabled ? VT_RSQ_ENABLED : 0) | (q->kick_nofd ? VT_RSQ_KICK_NOFD : 0);
	r->desc_uva = q->desc_uva;
	r->avail_uva = q->avail_uva;
	r->used_uva = q->used_uva;
	r->log_gpa = q->log_gpa;
	r->addr_flags = q->addr_flags;
	r->kick_gen = q->kick_fd >= 0 ? q->kick_gen : 0;
	r->call_gen = q->call_fd >= 0 ? q->call_gen : 0;
	r->err_gen = q->err_fd >= 0 ? q->err_gen : 0;
	r->last_avail_idx = q->last_avail_idx;
	r->used_idx = q->used_idx;
}

void vt_rs_sync(struct vt_device *d)
{
	struct vt_rs *rs = d->rs;
	if (!rs)
		return;
	struct vt_rs_file *f = rs->f;
	f->acked_features = d->acked_features;
	f->acked_protocol = d->acked_protocol;
	f->status = d->status;
	f->conn_gen = d->conn_gen;
	f->fd_gen = d->fd_gen;
	unsigned n = d->mem.nregions;
	for (unsigned i = 0; i < n; i++) {
		const struct vt_mem_region *m = &d->mem.regions[i];
		f->regions[i] = (struct vt_rs_region){m->gpa, m->size, m->uva, m->mmap_offset,
						      m->st_dev, m->st_ino};
	}
	f->nregions = n;
	for (unsigned i = 0; i < d->nqueues; i++) {
		struct vt_queue *q = &d->queues[i];
		pthread_mutex_lock(&q->lock);
		vt_rs_queue_sync(q);
		pthread_mutex_unlock(&q->lock);
	}
	rs_barrier();
	f->connected = d->conn_fd >= 0;
}

void vt_rs_queue_clear_inflight(struct vt_queue *q)
{
	if (!q->rsq)
		return;
	memset(q->rs_inflight, 0, q->rs_max);
	q->rsq->push_pending = 0;
	q->rsq->undo_head = 0;
	q->redo_n = 0;
}

/* ---- ring paths (q->lock held) --------------------------------------------- */

void vt_rs_pop(struct vt_queue *q, uint16_t head)
{
	/* In flight first, then the position: a crash in between is recognised at resume. */
	if (head < q->rs_max)
		q->rs_inflight[head] = 1;
	rs_barrier();
	q->rsq->last_avail_idx = q->last_avail_idx;
}

void vt_rs_unpop(struct vt_queue *q, uint16_t head)
{
	q->rsq->last_avail_idx = q->last_avail_idx;
	rs_barrier();
	if (head < q->rs_max)
		q->rs_inflight[head] = 0;
}

void vt_rs_push_begin(struct vt_queue *q, uint16_t head)
{
	q->rsq->push_head = head;
	q->rsq->used_idx = q->used_idx;
	rs_barrier();
	q->rsq->push_pending = 1;
	rs_barrier();
}

void vt_rs_push_end(struct vt_queue *q, uint16_t head)
{
	rs_barrier();
	if (head < q->rs_max)
		q->rs_inflight[head] = 0;
	if (q->rsq->undo_head == (uint32_t)head + 1)
		q->rsq->undo_head = 0;
	q->rsq->used_idx = q->used_idx;
	rs_barrier();
	q->rsq->push_pending = 0;
}

static bool ranges_overlap(const struct iovec *a, const struct iovec *b)
{
	uintptr_t a0 = (uintptr_t)a->iov_base, b0 = (uintptr_t)b->iov_base;
	return a->iov_len && b->iov_len && a0 < b0 + b->iov_len && b0 < a0 + a->iov_len;
}

void vt_rs_keep_input(struct vt_queue *q, const struct vt_chain *c)
{
	struct vt_device *d = q->dev;
	struct vt_rs *rs = d->rs;
	if (!rs || !rs->undo_cap)
		return;
	if (c->redo && q->rsq->undo_head == (uint32_t)c->head + 1)
		return; /* restored from the copy already kept */
	bool aliased = false;
	for (uint32_t i = 0; i < c->nrd && !aliased; i++)
		for (uint32_t j = c->nrd; j < c->nseg && !aliased; j++)
			aliased = ranges_overlap(&c->seg[i], &c->seg[j]);
	q->rsq->undo_head = 0;
	rs_barrier();
	if (!aliased)
		return; /* the input stays intact: a redo reads it again */
	if (c->rd_total > rs->undo_cap) {
		if (!rs->warned_undo)
			vt_warn("%s: queue %u: an in-place request of %zu bytes exceeds the %zu bytes "
				"kept for a crash; it would be redone from rewritten input",
				d->name, q->index, c->rd_total, rs->undo_cap);
		rs->warned_undo = true;
		return;
	}
	uint8_t *out = qundo(rs, q->index);
	size_t off = 0;
	for (uint32_t i = 0; i < c->nrd; i++) {
		memcpy(out + off, c->seg[i].iov_base, c->seg[i].iov_len);
		off += c->seg[i].iov_len;
	}
	q->rsq->undo_len = (uint32_t)off;
	rs_barrier();
	q->rsq->undo_head = (uint32_t)c->head + 1;
}

void vt_rs_restore_input(struct vt_queue *q, struct vt_chain *c)
{
	struct vt_rs *rs = q->dev->rs;
	if (!rs || q->rsq->undo_head != (uint32_t)c->head + 1)
		return;
	if (q->rsq->undo_len != c->rd_total || q->rsq->undo_len > rs->undo_cap) {
		vt_warn("%s: queue %u: kept input of chain %u does not fit it any more: not restored",
			q->dev->name, q->index, c->head);
		q->rsq->undo_head = 0;
		return;
	}
	const uint8_t *in = qundo(rs, q->index);
	size_t off = 0;
	for (uint32_t i = 0; i < c->nrd; i++) {
		memcpy(c->seg[i].iov_base, in + off, c->seg[i].iov_len);
		off += c->seg[i].iov_len;
	}
	vt_info("%s: queue %u: chain %u: original input restored before the redo", q->dev->name,
		q->index, c->head);
}

/* ---- the front-end message in hand --------------------------------------- */

void vt_rs_msg_received(struct vt_device *d, const struct vt_vu_msg *m)
{
	struct vt_rs_file *f = d->rs->f;
	if (m->nfds) {
		f->msg_state = VT_RS_MSG_NONE; /* fds cannot be replayed */
		return;
	}
	memcpy(f->msg, &m->hdr, sizeof(m->hdr));
	memcpy(f->msg + sizeof(m->hdr), m->p.raw, m->hdr.size);
	f->msg_size = (uint32_t)sizeof(m->hdr) + m->hdr.size;
	rs_barrier();
	f->msg_state = VT_RS_MSG_RECEIVED;
}

void vt_rs_msg_reply(struct vt_device *d, uint32_t request, const void *p, uint32_t size)
{
	struct vt_rs_file *f = d->rs->f;
	if (f->msg_state != VT_RS_MSG_RECEIVED)
		return;
	f->reply_request = request;
	f->reply_size = size;
	if (size)
		memcpy(f->reply, p, size);
	rs_barrier();
	f->msg_state = VT_RS_MSG_REPLIED;
}

void vt_rs_msg_done(struct vt_device *d)
{
	struct vt_rs_file *f = d->rs->f;
	uint32_t ms = f->msg_size, rsz = f->reply_size;
	f->msg_state = VT_RS_MSG_NONE;
	rs_barrier();
	/* Session messages carry keys: nothing stays behind. */
	vt_wipe(f->msg, ms <= sizeof(f->msg) ? ms : sizeof(f->msg));
	vt_wipe(f->reply, rsz <= sizeof(f->reply) ? rsz : sizeof(f->reply));
	f->msg_size = f->reply_size = 0;
}

/* ---- fds ------------------------------------------------------------------ */

void vt_device_set_fd_observer(struct vt_device *d, vt_fd_observer fn, void *ctx)
{
	d->fd_observer = fn;
	d->fd_observer_ctx = ctx;
}

void vt_rs_fds_changed(struct vt_device *d)
{
	if (!d->rs)
		return;
	/*
	 * New fds reach the store before the state names them, and replaced ones leave it
	 * only after: a crash between any two steps leaves a state whose every fd is stored.
	 */
	if (d->fd_observer)
		d->fd_observer(d->fd_observer_ctx, d, false);
	vt_rs_sync(d);
	if (d->fd_observer)
		d->fd_observer(d->fd_observer_ctx, d, true);
}

void vt_device_visit_fds(struct vt_device *d, vt_fd_visit fn, void *ctx)
{
	struct vt_rs *rs = d->rs;
	char name[128];
	if (!rs)
		return;
	snprintf(name, sizeof(name), "%s.state", d->name);
	fn(ctx, name, rs->state_fd);
	if (rs->priv_fd >= 0) {
		snprintf(name, sizeof(name), "%s.priv", d->name);
		fn(ctx, name, rs->priv_fd);
	}
	if (d->listen_fd >= 0) {
		snprintf(name, sizeof(name), "%s.listen", d->name);
		fn(ctx, name, d->listen_fd);
	}
	if (d->conn_fd >= 0) {
		snprintf(name, sizeof(name), "%s.conn.%" PRIu64, d->name, d->conn_gen);
		fn(ctx, name, d->conn_fd);
	}
	for (unsigned i = 0; i < d->mem.nregions; i++) {
		const struct vt_mem_region *m = &d->mem.regions[i];
		if (m->fd < 0)
			continue;
		/* One name per file: devices sharing guest RAM share the entry. */
		snprintf(name, sizeof(name), "mem-%" PRIx64 "-%" PRIx64, m->st_dev, m->st_ino);
		fn(ctx, name, m->fd);
	}
	for (unsigned i = 0; i < d->nqueues; i++) {
		struct vt_queue *q = &d->queues[i];
		/* Eventfds by generation, whatever their role: one file may have several. */
		if (q->kick_fd >= 0) {
			snprintf(name, sizeof(name), "%s.efd.%" PRIu64, d->name, q->kick_gen);
			fn(ctx, name, q->kick_fd);
		}
		if (q->call_fd >= 0) {
			snprintf(name, sizeof(name), "%s.efd.%" PRIu64, d->name, q->call_gen);
			fn(ctx, name, q->call_fd);
		}
		if (q->err_fd >= 0) {
			snprintf(name, sizeof(name), "%s.efd.%" PRIu64, d->name, q->err_gen);
			fn(ctx, name, q->err_fd);
		}
	}
}

/* ---- crash points (tests) -------------------------------------------------- */

static struct {
	pthread_once_t once;
	char point[64];
	int queue; /* -1: any */
	long left;
} crash = {.once = PTHREAD_ONCE_INIT};

static void crash_init(void)
{
	/* VTRUST_CRASH_AT=POINT[@QUEUE][#N]: SIGKILL at the Nth pass (default 1st). */
	const char *s = getenv("VTRUST_CRASH_AT");
	crash.queue = -1;
	crash.left = 0;
	if (!s || !*s)
		return;
	char buf[64];
	snprintf(buf, sizeof(buf), "%s", s);
	char *hash = strchr(buf, '#');
	crash.left = 1;
	if (hash) {
		*hash = '\0';
		crash.left = strtol(hash + 1, NULL, 10);
	}
	char *at = strchr(buf, '@');
	if (at) {
		*at = '\0';
		crash.queue = (int)strtol(at + 1, NULL, 10);
	}
	snprintf(crash.point, sizeof(crash.point), "%s", buf);
}

void vt_crash_point(const char *name, int queue)
{
	pthread_once(&crash.once, crash_init);
	if (crash.left <= 0 || strcmp(name, crash.point) || (crash.queue >= 0 && queue != crash.queue))
		return;
	if (__atomic_sub_fetch(&crash.left, 1, __ATOMIC_SEQ_CST) == 0) {
		vt_notice("crash point %s (queue %d): SIGKILL (VTRUST_CRASH_AT)", name, queue);
		kill(getpid(), SIGKILL);
	}
}

/* ---- resume ----------------------------------------------------------------- */

static int take_named(struct vt_inherited_fd *fds, unsigned n, const char *name)
{
	for (unsigned i = 0; i < n; i++)
		if (fds[i].fd >= 0 && !fds[i].used && !strcmp(fds[i].name, name)) {
			fds[i].used = true;
			return fds[i].fd;
		}
	return -1;
}

/* Eventfd of generation gen; a second role of the same file gets a copy of it. */
static int take_gen(struct vt_inherited_fd *fds, unsigned n, const char *dev, uint32_t gen)
{
	char name[128];
	if (!gen)
		return -1;
	snprintf(name, sizeof(name), "%s.efd.%" PRIu32, dev, gen);
	for (unsigned i = 0; i < n; i++) {
		if (fds[i].fd < 0 || strcmp(fds[i].name, name))
			continue;
		if (!fds[i].used) {
			fds[i].used = true;
			return fds[i].fd;
		}
		return fcntl(fds[i].fd, F_DUPFD_CLOEXEC, 3);
	}
	return -1;
}

/* The inherited fd of the file (st_dev, st_ino), whatever its name; -1 if none. */
static int find_identity(struct vt_inherited_fd *fds, unsigned n, uint64_t dev, uint64_t ino)
{
	for (unsigned i = 0; i < n; i++) {
		struct stat st;
		if (fds[i].fd < 0 || fstat(fds[i].fd, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		if ((uint64_t)st.st_dev == dev && (uint64_t)st.st_ino == ino) {
			fds[i].used = true; /* several devices may map it: copied, not taken */
			fds[i].borrowed = true;
			return fds[i].fd;
		}
	}
	return -1;
}

static int map_existing(struct vt_device *d, struct vt_rs *rs, int fd)
{
	struct stat st;
	layout(d, rs);
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != rs->len)
		return -EBADMSG;
	rs->f = map_fd(fd, rs->len, rs->locked);
	if (!rs->f)
		return -errno;
	const struct vt_rs_file *f = rs->f;
	if (vt_ct_memcmp(f->magic, VT_RS_MAGIC, 8) || f->version != VT_RS_VERSION ||
	    f->nqueues != d->nqueues || f->max_queue != rs->max_queue ||
	    f->undo_cap != rs->undo_cap || f->nregions > VT_MAX_MEM_SLOTS ||
	    f->msg_size > sizeof(f->msg) || f->reply_size > sizeof(f->reply))
		return -EBADMSG;
	return 0;
}

/* Ring state of queue i back from its record; starts it if it ran. */
static int resume_queue(struct vt_device *d, struct vt_inherited_fd *fds, unsigned n, unsigned i)
{
	struct vt_rs *rs = d->rs;
	struct vt_queue *q = &d->queues[i];
	struct vt_rs_queue *r = qrec(rs, i);
	uint8_t *inflight = qinflight(rs, i);
	uint32_t max = d->ops->max_queue_size ? d->ops->max_queue_size : VIRTQ_MAX_SIZE;
	if (r->num > max || (r->num & (r->num - 1)))
		return -EBADMSG;
	pthread_mutex_lock(&q->lock);
	q->num = r->num;
	q->desc_uva = r->desc_uva;
	q->avail_uva = r->avail_uva;
	q->used_uva = r->used_uva;
	q->log_gpa = r->log_gpa;
	q->addr_flags = r->addr_flags;
	q->addr_set = r->flags & VT_RSQ_ADDR_SET;
	q->enabled = r->flags & VT_RSQ_ENABLED;
	q->kick_nofd = r->flags & VT_RSQ_KICK_NOFD;
	q->event_idx = d->acked_features & VT_BIT(VIRTIO_RING_F_EVENT_IDX);
	q->kick_fd = take_gen(fds, n, d->name, r->kick_gen);
	q->call_fd = take_gen(fds, n, d->name, r->call_gen);
	q->err_fd = take_gen(fds, n, d->name, r->err_gen);
	q->kick_gen = r->kick_gen;
	q->call_gen = r->call_gen;
	q->err_gen = r->err_gen;
	if ((r->kick_gen && q->kick_fd < 0) || (r->call_gen && q->call_fd < 0)) {
		pthread_mutex_unlock(&q->lock);
		vt_err("%s: queue %u: its kick or call eventfd is not in the store", d->name, i);
		return -ENOENT;
	}
	q->last_avail_idx = r->last_avail_idx;
	q->used_idx = r->used_idx;
	q->signalled_used_valid = false;
	bool started = r->flags & VT_RSQ_STARTED;
	unsigned redo = 0;
	if (started && vt_queue_map_rings(q)) {
		uint16_t guest_used = __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE);
		/* The push in progress reached the used ring: that chain is answered. */
		if (r->push_pending && guest_used == (uint16_t)(r->used_idx + 1) &&
		    r->push_head < q->rs_max)
			inflight[r->push_head] = 0;
		r->push_pending = 0;
		q->used_idx = guest_used;
		/* Marked in flight but the position not yet saved: already popped. */
		uint16_t avail_idx = __atomic_load_n(&q->avail->idx, __ATOMIC_ACQUIRE);
		while (q->last_avail_idx != avail_idx) {
			uint16_t h = q->avail->ring[q->last_avail_idx & (q->num - 1)];
			if (h >= q->num || !inflight[h])
				break;
			q->last_avail_idx++;
		}
		free(q->redo_heads);
		q->redo_heads = calloc(q->num, sizeof(*q->redo_heads));
		q->redo_n = 0;
		for (uint32_t h = 0; q->redo_heads && h < q->num; h++)
			if (inflight[h])
				q->redo_heads[q->redo_n++] = (uint16_t)h;
		/* Served in head order: the list is consumed from its end. */
		for (uint32_t a = 0, b = q->redo_n; b > a + 1; a++, b--) {
			uint16_t t = q->redo_heads[a];
			q->redo_heads[a] = q->redo_heads[b - 1];
			q->redo_heads[b - 1] = t;
		}
		redo = q->redo_n;
		for (uint32_t h = q->num; h < q->rs_max; h++)
			inflight[h] = 0;
	}
	q->started = started;
	vt_rs_queue_sync(q);
	pthread_mutex_unlock(&q->lock);
	if (!started)
		return 0;
	/* The previous process may have died between a push and its call: one call now (a
	 * spurious interrupt is harmless; a lost one leaves the driver asleep for good). */
	if (q->call_fd >= 0) {
		uint64_t one = 1;
		ssize_t w = write(q->call_fd, &one, sizeof(one));
		(void)w;
	}
	if (d->ops->queue_start)
		d->ops->queue_start(d->priv, q);
	vt_info("%s: queue %u resumed (num=%u last_avail=%u used=%u, %u in flight served again)",
		d->name, i, q->num, q->last_avail_idx, q->used_idx, redo);
	/* Its worker starts with the protocol thread (vt_device_run): after the sandbox, so
	 * it gets the worker's own seccomp filter like every other worker. */
	return 0;
}

static void replay_message(struct vt_device *d)
{
	struct vt_rs_file *f = d->rs->f;
	if (d->conn_fd < 0 || f->msg_state == VT_RS_MSG_NONE) {
		f->msg_state = VT_RS_MSG_NONE;
		return;
	}
	if (f->msg_state == VT_RS_MSG_REPLIED) {
		vt_info("%s: re-sending the reply to %s cut off by the restart", d->name,
			vt_vu_request_name(f->reply_request));
		if (vt_vu_send_reply(d->conn_fd, d->stop_fd, f->reply_request, f->reply, f->reply_size) < 0)
			vt_warn("%s: cannot re-send a reply: %s", d->name, strerror(errno));
		vt_rs_msg_done(d);
		return;
	}
	struct vt_vu_msg m;
	memset(&m, 0, sizeof(m));
	memcpy(&m.hdr, f->msg, sizeof(m.hdr));
	if (f->msg_size < sizeof(m.hdr) || m.hdr.size != f->msg_size - sizeof(m.hdr)) {
		vt_rs_msg_done(d);
		return;
	}
	memcpy(m.p.raw, f->msg + sizeof(m.hdr), m.hdr.size);
	vt_info("%s: handling %s again: the restart cut it off before its reply", d->name,
		vt_vu_request_name(m.hdr.request));
	vt_rs_msg_done(d);
	if (vt_device_handle_message(d, &m) < 0)
		vt_warn("%s: the replayed %s failed", d->name, vt_vu_request_name(m.hdr.request));
	vt_wipe(&m, sizeof(m));
}

int vt_device_resume(struct vt_device *d, struct vt_inherited_fd *fds, unsigned n)
{
	char name[128];
	snprintf(name, sizeof(name), "%s.state", d->name);
	int sfd = take_named(fds, n, name);
	if (sfd < 0)
		return 0;
	struct vt_rs *rs = calloc(1, sizeof(*rs));
	if (!rs)
		return -ENOMEM;
	rs->state_fd = sfd;
	rs->priv_fd = -1;
	int e = map_existing(d, rs, sfd);
	if (e < 0) {
		vt_err("%s: the stored state is unusable (%s): starting afresh", d->name,
		       strerror(-e));
		goto fail;
	}
	struct vt_rs_file *f = rs->f;
	rs->priv_size = priv_size(d);
	if (f->priv_size != rs->priv_size) {
		vt_err("%s: the stored device state has another size (%" PRIu64 ", want %zu): "
		       "starting afresh", d->name, f->priv_size, rs->priv_size);
		e = -EBADMSG;
		goto fail;
	}
	if (rs->priv_size) {
		snprintf(name, sizeof(name), "%s.priv", d->name);
		rs->priv_fd = take_named(fds, n, name);
		struct stat st;
		if (rs->priv_fd >= 0 &&
		    (fstat(rs->priv_fd, &st) < 0 || (uint64_t)st.st_size != rs->priv_size)) {
			close(rs->priv_fd);
			rs->priv_fd = -1;
		}
		bool restored = rs->priv_fd >= 0;
		if (!restored && (rs->priv_fd = new_memfd("vtrust-priv", rs->priv_size)) < 0) {
			e = rs->priv_fd;
			goto fail;
		}
		rs->priv = map_fd(rs->priv_fd, rs->priv_size, rs->priv_size);
		if (!rs->priv) {
			e = -errno;
			goto fail;
		}
		if (d->ops->resume_attach(d->priv, rs->priv, rs->priv_size, restored) < 0) {
			vt_warn("%s: its stored device state is unusable: wiped", d->name);
			vt_wipe(rs->priv, rs->priv_size);
			if ((e = d->ops->resume_attach(d->priv, rs->priv, rs->priv_size, false)) < 0)
				goto fail;
		}
	}
	d->rs = rs;
	d->fd_gen = f->fd_gen;
	attach_queues(d);

	snprintf(name, sizeof(name), "%s.listen", d->name);
	int lfd = take_named(fds, n, name);
	if (lfd >= 0 && d->listen_fd < 0)
		d->listen_fd = lfd;
	else if (lfd >= 0)
		close(lfd);
	snprintf(name, sizeof(name), "%s.conn.%" PRIu32, d->name, f->conn_gen);
	int cfd = f->connected ? take_named(fds, n, name) : -1;
	if (cfd < 0) {
		/* No front-end to resume (it left, or never came): rings start afresh. */
		for (unsigned i = 0; i < d->nqueues; i++) {
			memset(qrec(rs, i), 0, rs->qrec);
		}
		f->nregions = 0;
		f->msg_state = VT_RS_MSG_NONE;
		vt_info("%s: resumed device state; no front-end connection to resume", d->name);
		vt_rs_sync(d);
		return 1;
	}
	d->conn_fd = cfd;
	d->conn_gen = f->conn_gen;
	d->acked_features = f->acked_features;
	d->acked_protocol = f->acked_protocol;
	d->status = (uint8_t)f->status;
	if (d->ops->set_features)
		d->ops->set_features(d->priv, d->acked_features);
	if (d->ops->connected)
		d->ops->connected(d->priv);
	/*
	 * No pre-faulting on a resume: populating all of guest RAM again costs hundreds of
	 * ms per device (and as much again at exit), while the rings wait. The pages are
	 * resident already; each first touch costs a minor fault.
	 */
	bool prefault = vt_guestmem_get_prefault();
	vt_guestmem_set_prefault(false);
	for (unsigned i = 0; i < f->nregions; i++) {
		const struct vt_rs_region *r = &f->regions[i];
		int mfd = find_identity(fds, n, r->st_dev, r->st_ino);
		if (mfd < 0) {
			vt_guestmem_set_prefault(prefault);
			vt_err("%s: guest memory region %u (inode %" PRIu64 ") is not in the store",
			       d->name, i, r->st_ino);
			e = -ENOENT;
			goto fail_conn;
		}
		struct vhost_user_mem_region mr = {r->gpa, r->size, r->uva, r->mmap_offset};
		e = vt_guestmem_add(&d->mem, &mr, mfd);
		if (e < 0 || i + 1 == f->nregions)
			vt_guestmem_set_prefault(prefault);
		if (e < 0) {
			vt_err("%s: cannot map guest memory region %u again: %s", d->name, i,
			       strerror(-e));
			goto fail_conn;
		}
	}
	for (unsigned i = 0; i < d->nqueues; i++)
		if ((e = resume_queue(d, fds, n, i)) < 0)
			goto fail_conn;
	replay_message(d);
	vt_rs_sync(d);
	return 1;

fail_conn:
	/* Never serve half a state: drop the front-end (it sees a hang-up). */
	vt_device_disconnect(d);
	return e;
fail:
	if (rs->priv)
		munmap(rs->priv, rs->priv_size);
	if (rs->f)
		munmap(rs->f, rs->len);
	if (rs->priv_fd >= 0)
		close(rs->priv_fd);
	close(rs->state_fd);
	free(rs);
	return e;
}

void vt_device_detach(struct vt_device *d)
{
	for (unsigned i = 0; i < d->nqueues; i++) {
		struct vt_queue *q = &d->queues[i];
		vt_queue_stop_worker(q);
		pthread_mutex_lock(&q->lock);
		vt_rs_queue_sync(q);
		pthread_mutex_unlock(&q->lock);
	}
	vt_rs_sync(d);
	/* The state stays for the next process; this one lets go of it untouched. */
	rs_release(d, false);
	if (d->listen_fd >= 0)
		d->unlink_on_exit = false;
}
