/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The vhost-user request table and its handlers.
 *
 * Every request the back-end knows is declared once below with its payload
 * size range, fd count range and where its queue index lives. The dispatcher
 * enforces all three before a handler runs, so no handler can forget to.
 * Requests whose exact size or fd count depends on their content (memory
 * tables, vring fds, config) add a `check` that also runs before the handler.
 *
 * Replies follow QEMU 7.2's checks: flags 0x5, the same request, exact size.
 * A request with NEED_REPLY that has no reply of its own gets a u64 ack
 * (0 = success). A request the table rejects is answered with a failed ack
 * when an ack was asked for; requests that always reply and fail validation
 * drop the connection, since a front-end waiting for a typed reply cannot
 * be answered meaningfully.
 */
#include <inttypes.h>
#include <pthread.h>
#include <string.h>

#include "clock.h"
#include "device.h"
#include "fdcheck.h"
#include "log.h"
#include "secmem.h"
#include "statefd.h"

enum qidx_kind {
	QIDX_NONE,
	QIDX_STATE, /* vhost_vring_state.index / vhost_vring_addr.index (u32 at offset 0) */
	QIDX_U64,   /* bits 0-7 of a u64 (SET_VRING_KICK/CALL/ERR) */
};

enum reply_kind {
	REPLY_ACK_ONLY, /* replies only if NEED_REPLY (u64 ack) */
	REPLY_ALWAYS,   /* the request has a typed reply */
	REPLY_NEVER,    /* e.g. CLOSE_CRYPTO_SESSION: QEMU never reads one */
};

struct reply {
	uint8_t buf[VHOST_USER_PAYLOAD_MAX];
	uint32_t size;
};

typedef int (*msg_handler)(struct vt_device *d, struct vt_vu_msg *m, struct reply *r);
typedef enum vt_msg_reject (*msg_check)(const struct vt_device *d, const struct vt_vu_msg *m);

/* One row of the request table. */
struct msg_spec {
	const char *name;		/* also for requests we do not handle (logs, the probe) */
	uint32_t min_size, max_size;	/* payload bytes */
	uint8_t min_fds, max_fds;
	enum qidx_kind qidx;		/* where the queue index lives (checked < nqueues) */
	enum reply_kind reply;
	bool empty_reply_on_error;	/* REPLY_ALWAYS: a failed handler answers size 0 */
	bool secret;			/* the payload carries keys: wiped on every path */
	msg_check check;		/* content rules beyond size, fds and index */
	msg_handler handler;		/* NULL: known, not supported */
};

static void reply_u64(struct reply *r, uint64_t v)
{
	memcpy(r->buf, &v, sizeof(v));
	r->size = sizeof(v);
}

/* ---- helpers ---------------------------------------------------------- */

static void lock_all_queues(struct vt_device *d)
{
	for (unsigned i = 0; i < d->nqueues; i++)
		pthread_mutex_lock(&d->queues[i].lock);
}

static void unlock_all_queues(struct vt_device *d)
{
	for (unsigned i = d->nqueues; i-- > 0;)
		pthread_mutex_unlock(&d->queues[i].lock);
}

/* After a memory change: re-translate rings of running queues. */
static void remap_running_rings(struct vt_device *d)
{
	for (unsigned i = 0; i < d->nqueues; i++) {
		struct vt_queue *q = &d->queues[i];
		if (q->started && !q->broken)
			(void)vt_queue_map_rings(q);
	}
}

static void queue_stop(struct vt_device *d, struct vt_queue *q)
{
	if (!q->started)
		return;
	vt_queue_stop_worker(q);
	pthread_mutex_lock(&q->lock);
	q->started = false;
	pthread_mutex_unlock(&q->lock);
	if (d->ops->queue_stop)
		d->ops->queue_stop(d->priv, q);
}

/* Waits for a device-state transfer in flight; CHECK_DEVICE_STATE still reports its result. */
static void xfer_join(struct vt_device *d)
{
	if (!d->xfer_running)
		return;
	pthread_join(d->xfer_thread, NULL);
	d->xfer_running = false;
	d->xfer_joined = true;
}

static int queue_start(struct vt_device *d, struct vt_queue *q)
{
	/* The device's state is loaded (or saved) before any ring runs on it. */
	xfer_join(d);
	pthread_mutex_lock(&q->lock);
	q->broken = false;
	q->fault = VT_FAULT_NONE;
	q->event_idx = d->acked_features & VT_BIT(VIRTIO_RING_F_EVENT_IDX);
	bool ok = vt_queue_map_rings(q);
	if (ok) {
		q->used_idx = __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE);
		q->signalled_used_valid = false;
		(void)vt_queue_memory_lost(q); /* that read may have hit a shrunk file */
	}
	q->started = true; /* even when broken: GET_VRING_BASE must still stop it */
	/* The front-end (re)started the ring: nothing of ours is in flight on it. */
	vt_rs_queue_clear_inflight(q);
	vt_rs_queue_sync(q);
	pthread_mutex_unlock(&q->lock);
	if (d->ops->queue_start)
		d->ops->queue_start(d->priv, q);
	if (d->manual_queues)
		return 0;
	int r = vt_queue_start_worker(q);
	if (r < 0) {
		vt_err("%s: queue %u: cannot start worker: %s", d->name, q->index, strerror(-r));
		return r;
	}
	vt_debug("%s: queue %u started (num=%u last_avail=%u used=%u event_idx=%d)", d->name,
		 q->index, q->num, q->last_avail_idx, q->used_idx, q->event_idx);
	return 0;
}

/* ---- content checks --------------------------------------------------- */

static enum vt_msg_reject check_mem_table(const struct vt_device *d, const struct vt_vu_msg *m)
{
	(void)d;
	uint32_t n = m->p.mem.nregions;
	if (n == 0 || n > VHOST_MEMORY_BASELINE_NREGIONS)
		return VT_REJECT_NREGIONS;
	if (m->hdr.size != 8 + n * sizeof(struct vhost_user_mem_region))
		return VT_REJECT_NREGIONS_SIZE;
	if (m->nfds != n)
		return VT_REJECT_NREGIONS_FDS;
	return VT_REJECT_NONE;
}

static enum vt_msg_reject check_vring_fd(const struct vt_device *d, const struct vt_vu_msg *m)
{
	(void)d;
	bool nofd = m->p.u64 & VHOST_USER_VRING_NOFD_MASK;
	if (m->p.u64 & ~(uint64_t)(VHOST_USER_VRING_IDX_MASK | VHOST_USER_VRING_NOFD_MASK))
		return VT_REJECT_VRING_FD_BITS;
	if (nofd && m->nfds != 0)
		return VT_REJECT_VRING_FD_WITH_NOFD;
	if (!nofd && m->nfds != 1)
		return VT_REJECT_VRING_FD_MISSING;
	/* A socket or pipe here could block the worker (or this thread) forever. */
	if (!nofd && vt_fd_not_eventfd(m->fds[0]))
		return VT_REJECT_VRING_FD_NOT_EVENTFD;
	return VT_REJECT_NONE;
}

static enum vt_msg_reject check_config(const struct vt_device *d, const struct vt_vu_msg *m)
{
	if (!(d->offered_protocol & VT_BIT(VHOST_USER_PROTOCOL_F_CONFIG)))
		return VT_REJECT_NO_CONFIG;
	if (m->p.cfg.size > VHOST_USER_MAX_CONFIG_SIZE ||
	    m->hdr.size != VHOST_USER_CONFIG_HDR_SIZE + m->p.cfg.size)
		return VT_REJECT_CONFIG_SIZE;
	return VT_REJECT_NONE;
}

static enum vt_msg_reject check_device_state(const struct vt_device *d, const struct vt_vu_msg *m)
{
	if (!(d->offered_protocol & VT_BIT(VHOST_USER_PROTOCOL_F_DEVICE_STATE)))
		return VT_REJECT_NO_DEVICE_STATE;
	if (m->hdr.request == VHOST_USER_SET_DEVICE_STATE_FD) {
		if (m->p.xfer.direction > VHOST_USER_TRANSFER_STATE_DIRECTION_LOAD)
			return VT_REJECT_XFER_DIRECTION;
		if (m->p.xfer.phase != VHOST_USER_TRANSFER_STATE_PHASE_STOPPED)
			return VT_REJECT_XFER_PHASE;
	}
	return VT_REJECT_NONE;
}

/* ---- handlers --------------------------------------------------------- */

static int h_get_features(struct vt_device *d, struct vt_vu_msg *m, struct reply *r)
{
	(void)m;
	reply_u64(r, d->offered_features);
	return 0;
}

static int h_set_features(struct vt_device *d, struct vt_vu_msg *m, struct reply *r)
{
	(void)r;
	uint64_t f = m->p.u64;
	/* Authoritative even when it holds bits we never offered (QEMU 7.2 rng). */
	d->acked_features = f;
	bool event_idx = f & VT_BIT(VIRTIO_RING_F_EVENT_IDX);
	bool all_enabled = !(f & VT_BIT(VHOST_USER_F_PROTOCOL_FEATURES));
	for (unsigned i = 0; i < d->nqueues; i++) {
		struct vt_queue *q = &d->queues[i];
		pthread_mutex_lock(&q->lock);
		q->event_idx = event_idx;
		if (all_enabled)
			q->enabled = true;
		pthread_mutex_unlock(&q->lock);
	}
	if (d->ops->set_features)
		d->ops->set_features(d->priv, f);
	vt_debug("%s: SET_FEATURES 0x%" PRIx64, d->name, f);
	return 0;
}

static int h_nop(struct vt_device *d, struct vt_vu_msg *m, struct reply *r)
{
	(void)d;
	(void)m;
	(void)r;
	return 0;
}

static int h_reset_owner(struct vt_device *d, struct vt_vu_msg *m, struct reply *r)
{
	(void)m;
	(void)r;
	for (unsigned i = 0; i < d->nqueues; i++) {
		struct vt_queue *q = &d->queues[i];
		queue_stop(d, q);
		pthread_mutex_lock(&q->lock);
		vt_queue_reset(q);
		pthread_mutex_unlock(&q->lock);
	}
	return 0;
}

static int h_set_mem_table(struct vt_device *d, struct vt_vu_msg *m, struct reply *r)
{
	(void)r;
	struct vt_guestmem fresh;
	vt_guestmem_init(&fresh);
	for (uint32_t i = 0; i < m->p.mem.nregions; i++) {
		int e = vt_guestmem_add(&fresh, &m->p.mem.regions[i], m->fds[i]);
		if (e < 0) {
			vt_warn("%s: SET_MEM_TABLE region %u rejected: %s", d->name, i,
				strerror(-e));
			vt_guestmem_clear(&fresh);
			return e;
		}
	}
	/* Swap only while no worker is inside guest memory; unmap the old table after. */
	lock_all_queues(d);
	struct vt_guestmem old = d->mem;
	d->mem = fresh;
	remap_running_rings(d);
	unlock_all_queues(d);
	vt_guestmem_clear(&old);
	return 0;
}

static int h_add_mem_reg(struct vt_device *d, struct vt_vu_msg *m, struct reply *r)
{
	(void)r;
	lock_all_queues(d);
	int e = vt_guestmem_add(&d->mem, &m->p.reg.region, m->fds[0]);
	unlock_all_queues(d);
	if (e < 0)
		vt_warn("%s: ADD_MEM_REG rejected: %s", d->name, strerror(-e));
	return e;
}

static int h_rem_mem_reg(struct vt_device *d, struct vt_vu_msg *m, struct reply *r)
{
	(void)r;
	lock_all_queues(d);
	int e = vt_guestmem_remove(&d->mem, &m->p.reg.region);
	if (e == 0)
		remap_running_rings(d);
	unlock_all_queues(d);
	if (e < 0)
		vt_warn("%s: REM_MEM_REG: no such region", d->name);
	return e;
}

static int h_get_max_mem_slots(struct vt_device *d, struct vt_vu_msg *m, struct reply *r)
{
	(void)d;
	(void)m;
	reply_u64(r, VT_MAX_MEM_SLOTS);
	return 0;
}

static struct vt_queue *msg_queue(struct vt_device *d, const struct vt_vu_msg *m)
{
	return &d->queues[m->p.state.index]; /* index checked by the dispatcher */
}

static struct vt_queue *msg_fd_queue(struct vt_device *d, const struct vt_vu_msg *m)
{
	return &d->queues[m->p.u64 & VHOST_USER_VRING_IDX_MASK];
}

static int h_set_vring_num(struct vt_device *d, struct vt_vu_msg *m, struct reply *r)
{
	(void)r;
	struct vt_queue *q = msg_queue(d, m);
	uint32_t num = m->p.state.num;
	uint32_t max = d->ops->max_queue_size ? d->ops->max_queue_size : VIRTQ_MAX_SIZE;
	if (num == 0 || num > max || (num & (num - 1))) {
		vt_warn("%s: queue %u: invalid size %u (power of two, 1..%u)", d->name, q->index,
			num, max);
		return -EINVAL;
	}
	if (q->started) {
		vt_warn("%s: queue %u: SET_VRING_NUM on a started ring", d->name, q->index);
		return -EBUSY;
	}
	q->num = num;
	return 0;
}

static int h_set_vring_addr(struct vt_device *d, struct vt_vu_msg *m, struct reply *r)
{
	(void)r;
	struct vt_queue *q = msg_queue(d, m);
	pthread_mutex_lock(&q->lock);
	q->desc_uva = m->p.addr.desc_user_addr;
	q->avail_uva = m->p.addr.avail_user_addr;
	q->used_uva = m->p.addr.used_user_addr;
	q->log_gpa = m->p.addr.log_guest_addr;
	q->addr_flags = m->p.addr.flags;
	q->addr_set = true;
	if (q->started)
		(void)vt_queue_map_rings(q);
	pthread_mutex_unlock(&q->lock);
	return 0;
}

static int h_set_vring_base(struct vt_device *d, struct vt_vu_msg *m, struct reply *r)
{
	(void)r;
	struct vt_queue *q = msg_queue(d, m);
	if (q->started) {
		vt_warn("%s: queue %u: SET_VRING_BASE on a started ring", d->name, q->index);
		return -EBUSY;
	}
	if (m->p.state.num > 0xffff) {
		vt_warn("%s: queue %u: SET_VRING_BASE %u out of range (split ring)", d->name,
			q->index, m->p.state.num);
		return -EINVAL;
	}
	q->last_avail_idx = (uint16_t)m->p.state.num;
	q->signalled_used_valid = false;
	return 0;
}

static int h_get_vring_base(struct vt_device *d, struct vt_vu_msg *m, struct reply *r)
{
	struct vt_queue *q = msg_queue(d, m);
	queue_stop(d, q);
	struct vhost_vring_state st = {.index = q->index, .num = q->last_avail_idx};
	memcpy(r->buf, &st, sizeof(st));
	r->size = sizeof(st);
	/* The front-end owns the kick fd again; a restart sends a new one. */
	if (q->kick_fd >= 0) {
		close(q->kick_fd);
		q->kick_fd = -1;
	}
	vt_debug("%s: queue %u stopped at %u", d->name, q->index, q->last_avail_idx);
	return 0;
}

static int h_set_vring_kick(struct vt_device *d, struct vt_vu_msg *m, struct reply *r)
{
	(void)r;
	struct vt_queue *q = msg_fd_queue(d, m);
	queue_stop(d, q);
	int fd = vt_vu_msg_take_fd(m, 0);
	uint64_t gen = vt_rs_eventfd_gen(d, fd); /* before the old fd goes: it may be this file */
	if (q->kick_fd >= 0)
		close(q->kick_fd);
	q->kick_fd = fd;
	q->kick_nofd = q->kick_fd < 0;
	q->kick_gen = gen;
	if (q->kick_fd >= 0 && vt_fd_set_nonblock(q->kick_fd) < 0)
		vt_warn("%s: queue %u: cannot make the kick fd non-blocking", d->name, q->index);
	/* The kick starts the ring (vhost-user "started"). */
	return queue_start(d, q);
}

static int h_set_vring_call(struct vt_device *d, struct vt_vu_msg *m, struct reply *r)
{
	(void)r;
	struct vt_queue *q = msg_fd_queue(d, m);
	int fd = vt_vu_msg_take_fd(m, 0);
	if (fd >= 0 && vt_fd_set_nonblock(fd) < 0) {
		close(fd);
		return -EBADF;
	}
	pthread_mutex_lock(&q->lock);
	uint64_t gen = vt_rs_eventfd_gen(d, fd);
	int old = q->call_fd;
	q->call_fd = fd;
	q->call_gen = gen;
	q->signalled_used_valid = false;
	pthread_mutex_unlock(&q->lock);
	if (old >= 0)
		close(old);
	return 0;
}

static int h_set_vring_err(struct vt_device *d, struct vt_vu_msg *m, struct reply *r)
{
	(void)r;
	struct vt_queue *q = msg_fd_queue(d, m);
	int fd = vt_vu_msg_take_fd(m, 0);
	if (fd >= 0 && vt_fd_set_nonblock(fd) < 0) {
		close(fd);
		return -EBADF;
	}
	pthread_mutex_lock(&q->lock);
	uint64_t gen = vt_rs_eventfd_gen(d, fd);
	int old = q->err_fd;
	q->err_fd = fd;
	q->err_gen = gen;
	pthread_mutex_unlock(&q->lock);
	if (old >= 0)
		close(old);
	return 0;
}

static int h_set_vring_enable(struct vt_device *d, struct vt_vu_msg *m, struct reply *r)
{
	(void)r;
	struct vt_queue *q = msg_queue(d, m);
	if (m->p.state.num > 1)
		return -EINVAL;
	pthread_mutex_lock(&q->lock);
	q->enabled = m->p.state.num == 1;
	pthread_mutex_unlock(&q->lock);
	if (q->enabled && q->started)
		vt_queue_wake(q);
	return 0;
}

static int h_get_protocol_features(struct vt_device *d, struct vt_vu_msg *m, struct reply *r)
{
	(void)m;
	reply_u64(r, d->offered_protocol);
	return 0;
}

static int h_set_protocol_features(struct vt_device *d, struct vt_vu_msg *m, struct reply *r)
{
	(void)r;
	if (m->p.u64 & ~d->offered_protocol)
		vt_warn("%s: front-end acked protocol features we did not offer: 0x%" PRIx64,
			d->name, m->p.u64 & ~d->offered_protocol);
	d->acked_protocol = m->p.u64 & d->offered_protocol;
	return 0;
}

static int h_get_queue_num(struct vt_device *d, struct vt_vu_msg *m, struct reply *r)
{
	(void)m;
	reply_u64(r, d->nqueues);
	return 0;
}

static int h_get_config(struct vt_device *d, struct vt_vu_msg *m, struct reply *r)
{
	struct vhost_user_config *out = (struct vhost_user_config *)(void *)r->buf;
	uint32_t off = m->p.cfg.offset, len = m->p.cfg.size;
	int e = d->ops->get_config ? d->ops->get_config(d->priv, off, out->region, len) : -ENOTSUP;
	if (e < 0) {
		r->size = 0; /* an empty reply tells the front-end it failed */
		return 0;
	}
	out->offset = off;
	out->size = len;
	out->flags = m->p.cfg.flags;
	r->size = VHOST_USER_CONFIG_HDR_SIZE + len;
	return 0;
}

static int h_set_config(struct vt_device *d, struct vt_vu_msg *m, struct reply *r)
{
	(void)r;
	if (!d->ops->set_config)
		return -ENOTSUP;
	return d->ops->set_config(d->priv, m->p.cfg.offset, m->p.cfg.region, m->p.cfg.size);
}

static int h_set_status(struct vt_device *d, struct vt_vu_msg *m, struct reply *r)
{
	(void)r;
	/* Recorded, never gated on: QEMU 7.2 sends only FEATURES_OK. */
	d->status = (uint8_t)m->p.u64;
	return 0;
}

static int h_get_status(struct vt_device *d, struct vt_vu_msg *m, struct reply *r)
{
	(void)m;
	reply_u64(r, d->status);
	return 0;
}

static void *xfer_main(void *arg)
{
	struct vt_device *d = arg;
	/* Bounded and cancellable: the device does its I/O with vt_state_read/write. */
	vt_state_bind(d->xfer_cancel_fd, d->xfer_deadline_ns);
	if (d->xfer_direction == VHOST_USER_TRANSFER_STATE_DIRECTION_SAVE)
		d->xfer_result = d->ops->save_state(d->priv, d->xfer_fd);
	else
		d->xfer_result = d->ops->load_state(d->priv, d->xfer_fd);
	vt_state_unbind();
	if (d->xfer_result == -ETIMEDOUT)
		vt_warn("%s: device state transfer timed out after %u ms (the front-end stopped "
			"feeding the pipe)",
			d->name, d->xfer_timeout_ms);
	close(d->xfer_fd);
	d->xfer_fd = -1;
	return NULL;
}

static int h_set_device_state_fd(struct vt_device *d, struct vt_vu_msg *m, struct reply *r)
{
	xfer_join(d);
	d->xfer_joined = false;
	for (unsigned i = 0; i < d->nqueues; i++) {
		if (d->queues[i].started) {
			vt_warn("%s: device state transfer while queue %u runs", d->name, i);
			reply_u64(r, 1);
			return 0;
		}
	}
	bool save = m->p.xfer.direction == VHOST_USER_TRANSFER_STATE_DIRECTION_SAVE;
	const char *why = vt_fd_not_stream(m->fds[0], save);
	if (why || vt_fd_set_nonblock(m->fds[0]) < 0) {
		vt_warn("%s: SET_DEVICE_STATE_FD refused: the fd is %s", d->name,
			why ? why : "not switchable to non-blocking");
		reply_u64(r, 1);
		return 0;
	}
	d->xfer_fd = vt_vu_msg_take_fd(m, 0);
	d->xfer_direction = m->p.xfer.direction;
	d->xfer_result = 0;
	vt_device_xfer_reset_cancel(d);
	d->xfer_deadline_ns = vt_now_ns() + (uint64_t)d->xfer_timeout_ms * 1000000ull;
	/* The front-end reads or writes the pipe only after our reply: transfer in a thread. */
	int e = pthread_create(&d->xfer_thread, NULL, xfer_main, d);
	if (e != 0) {
		close(d->xfer_fd);
		d->xfer_fd = -1;
		reply_u64(r, 1);
		return 0;
	}
	d->xfer_running = true;
	reply_u64(r, VHOST_USER_DEVICE_STATE_NOFD);
	return 0;
}

static int h_check_device_state(struct vt_device *d, struct vt_vu_msg *m, struct reply *r)
{
	(void)m;
	if (!d->xfer_running && !d->xfer_joined) {
		reply_u64(r, 1); /* no transfer to check */
		return 0;
	}
	xfer_join(d);
	d->xfer_joined = false;
	if (d->xfer_result < 0)
		vt_warn("%s: device state transfer failed: %s", d->name,
			strerror(-d->xfer_result));
	reply_u64(r, d->xfer_result < 0 ? 1 : 0);
	return 0;
}

static int h_extra(struct vt_device *d, struct vt_vu_msg *m, struct reply *r)
{
	if (!d->ops->extra_message)
		return -ENOTSUP;
	r->size = 0;
	return d->ops->extra_message(d->priv, m->hdr.request, m->p.raw, m->hdr.size, r->buf,
				     &r->size);
}

/*
 * THE request table: every request the protocol knows, by name; the ones we
 * serve with their payload size range, fd count range, queue index location,
 * reply rule, secret-payload rule, content check and handler.
 */
#define PAYLOAD_8 .min_size = 8, .max_size = 8
static const struct msg_spec specs[VHOST_USER_MAX_REQUEST] = {
	[VHOST_USER_GET_FEATURES] = {
		.name = "GET_FEATURES",
		.reply = REPLY_ALWAYS,
		.handler = h_get_features,
	},
	[VHOST_USER_SET_FEATURES] = {
		.name = "SET_FEATURES",
		PAYLOAD_8,
		.reply = REPLY_ACK_ONLY,
		.handler = h_set_features,
	},
	[VHOST_USER_SET_OWNER] = {
		.name = "SET_OWNER",
		.reply = REPLY_ACK_ONLY,
		.handler = h_nop,
	},
	[VHOST_USER_RESET_OWNER] = {
		.name = "RESET_OWNER",
		.reply = REPLY_ACK_ONLY,
		.handler = h_reset_owner,
	},
	[VHOST_USER_SET_MEM_TABLE] = {
		.name = "SET_MEM_TABLE",
		.min_size = 8 + 32,
		.max_size = sizeof(struct vhost_user_memory),
		.min_fds = 1,
		.max_fds = VHOST_MEMORY_BASELINE_NREGIONS,
		.reply = REPLY_ACK_ONLY,
		.check = check_mem_table,
		.handler = h_set_mem_table,
	},
	[VHOST_USER_SET_LOG_BASE] = {.name = "SET_LOG_BASE"},
	[VHOST_USER_SET_LOG_FD] = {.name = "SET_LOG_FD"},
	[VHOST_USER_SET_VRING_NUM] = {
		.name = "SET_VRING_NUM",
		PAYLOAD_8,
		.qidx = QIDX_STATE,
		.reply = REPLY_ACK_ONLY,
		.handler = h_set_vring_num,
	},
	[VHOST_USER_SET_VRING_ADDR] = {
		.name = "SET_VRING_ADDR",
		.min_size = 40,
		.max_size = 40,
		.qidx = QIDX_STATE,
		.reply = REPLY_ACK_ONLY,
		.handler = h_set_vring_addr,
	},
	[VHOST_USER_SET_VRING_BASE] = {
		.name = "SET_VRING_BASE",
		PAYLOAD_8,
		.qidx = QIDX_STATE,
		.reply = REPLY_ACK_ONLY,
		.handler = h_set_vring_base,
	},
	[VHOST_USER_GET_VRING_BASE] = {
		.name = "GET_VRING_BASE",
		PAYLOAD_8,
		.qidx = QIDX_STATE,
		.reply = REPLY_ALWAYS,
		.handler = h_get_vring_base,
	},
	[VHOST_USER_SET_VRING_KICK] = {
		.name = "SET_VRING_KICK",
		PAYLOAD_8,
		.max_fds = 1,
		.qidx = QIDX_U64,
		.reply = REPLY_ACK_ONLY,
		.check = check_vring_fd,
		.handler = h_set_vring_kick,
	},
	[VHOST_USER_SET_VRING_CALL] = {
		.name = "SET_VRING_CALL",
		PAYLOAD_8,
		.max_fds = 1,
		.qidx = QIDX_U64,
		.reply = REPLY_ACK_ONLY,
		.check = check_vring_fd,
		.handler = h_set_vring_call,
	},
	[VHOST_USER_SET_VRING_ERR] = {
		.name = "SET_VRING_ERR",
		PAYLOAD_8,
		.max_fds = 1,
		.qidx = QIDX_U64,
		.reply = REPLY_ACK_ONLY,
		.check = check_vring_fd,
		.handler = h_set_vring_err,
	},
	[VHOST_USER_GET_PROTOCOL_FEATURES] = {
		.name = "GET_PROTOCOL_FEATURES",
		.reply = REPLY_ALWAYS,
		.handler = h_get_protocol_features,
	},
	[VHOST_USER_SET_PROTOCOL_FEATURES] = {
		.name = "SET_PROTOCOL_FEATURES",
		PAYLOAD_8,
		.reply = REPLY_ACK_ONLY,
		.handler = h_set_protocol_features,
	},
	[VHOST_USER_GET_QUEUE_NUM] = {
		.name = "GET_QUEUE_NUM",
		.reply = REPLY_ALWAYS,
		.handler = h_get_queue_num,
	},
	[VHOST_USER_SET_VRING_ENABLE] = {
		.name = "SET_VRING_ENABLE",
		PAYLOAD_8,
		.qidx = QIDX_STATE,
		.reply = REPLY_ACK_ONLY,
		.handler = h_set_vring_enable,
	},
	[VHOST_USER_SEND_RARP] = {.name = "SEND_RARP"},
	[VHOST_USER_NET_SET_MTU] = {.name = "NET_SET_MTU"},
	[VHOST_USER_SET_BACKEND_REQ_FD] = {.name = "SET_BACKEND_REQ_FD"},
	[VHOST_USER_IOTLB_MSG] = {.name = "IOTLB_MSG"},
	[VHOST_USER_SET_VRING_ENDIAN] = {.name = "SET_VRING_ENDIAN"},
	[VHOST_USER_GET_CONFIG] = {
		.name = "GET_CONFIG",
		.min_size = VHOST_USER_CONFIG_HDR_SIZE,
		.max_size = sizeof(struct vhost_user_config),
		.reply = REPLY_ALWAYS,
		.empty_reply_on_error = true,
		.check = check_config,
		.handler = h_get_config,
	},
	[VHOST_USER_SET_CONFIG] = {
		.name = "SET_CONFIG",
		.min_size = VHOST_USER_CONFIG_HDR_SIZE,
		.max_size = sizeof(struct vhost_user_config),
		.reply = REPLY_ACK_ONLY,
		.check = check_config,
		.handler = h_set_config,
	},
	[VHOST_USER_CREATE_CRYPTO_SESSION] = {
		.name = "CREATE_CRYPTO_SESSION",
		.min_size = 1,
		.max_size = VHOST_USER_PAYLOAD_MAX,
		.reply = REPLY_ALWAYS,
		.secret = true,
		.handler = h_extra,
	},
	[VHOST_USER_CLOSE_CRYPTO_SESSION] = {
		.name = "CLOSE_CRYPTO_SESSION",
		PAYLOAD_8,
		.reply = REPLY_NEVER,
		.handler = h_extra,
	},
	[VHOST_USER_POSTCOPY_ADVISE] = {.name = "POSTCOPY_ADVISE"},
	[VHOST_USER_POSTCOPY_LISTEN] = {.name = "POSTCOPY_LISTEN"},
	[VHOST_USER_POSTCOPY_END] = {.name = "POSTCOPY_END"},
	[VHOST_USER_GET_INFLIGHT_FD] = {.name = "GET_INFLIGHT_FD"},
	[VHOST_USER_SET_INFLIGHT_FD] = {.name = "SET_INFLIGHT_FD"},
	[VHOST_USER_GPU_SET_SOCKET] = {.name = "GPU_SET_SOCKET"},
	[VHOST_USER_RESET_DEVICE] = {
		.name = "RESET_DEVICE",
		.reply = REPLY_ACK_ONLY,
		.handler = h_reset_owner,
	},
	[VHOST_USER_VRING_KICK] = {.name = "VRING_KICK"},
	[VHOST_USER_GET_MAX_MEM_SLOTS] = {
		.name = "GET_MAX_MEM_SLOTS",
		.reply = REPLY_ALWAYS,
		.handler = h_get_max_mem_slots,
	},
	[VHOST_USER_ADD_MEM_REG] = {
		.name = "ADD_MEM_REG",
		.min_size = 40,
		.max_size = 40,
		.min_fds = 1,
		.max_fds = 1,
		.reply = REPLY_ACK_ONLY,
		.handler = h_add_mem_reg,
	},
	[VHOST_USER_REM_MEM_REG] = {
		.name = "REM_MEM_REG",
		.min_size = 40,
		.max_size = 40,
		.max_fds = 1,
		.reply = REPLY_ACK_ONLY,
		.handler = h_rem_mem_reg,
	},
	[VHOST_USER_SET_STATUS] = {
		.name = "SET_STATUS",
		PAYLOAD_8,
		.reply = REPLY_ACK_ONLY,
		.handler = h_set_status,
	},
	[VHOST_USER_GET_STATUS] = {
		.name = "GET_STATUS",
		.reply = REPLY_ALWAYS,
		.handler = h_get_status,
	},
	[VHOST_USER_GET_SHARED_OBJECT] = {.name = "GET_SHARED_OBJECT"},
	[VHOST_USER_SET_DEVICE_STATE_FD] = {
		.name = "SET_DEVICE_STATE_FD",
		PAYLOAD_8,
		.min_fds = 1,
		.max_fds = 1,
		.reply = REPLY_ALWAYS,
		.check = check_device_state,
		.handler = h_set_device_state_fd,
	},
	[VHOST_USER_CHECK_DEVICE_STATE] = {
		.name = "CHECK_DEVICE_STATE",
		.reply = REPLY_ALWAYS,
		.check = check_device_state,
		.handler = h_check_device_state,
	},
};
#undef PAYLOAD_8

const char *vt_vu_request_name(uint32_t request)
{
	if (request < VHOST_USER_MAX_REQUEST && specs[request].name)
		return specs[request].name;
	return "UNKNOWN";
}

static const struct {
	const char *label;
	const char *text;
} rejects[VT_REJECT_MAX] = {
	[VT_REJECT_NONE] = {"none", "accepted"},
	[VT_REJECT_UNSUPPORTED] = {"unsupported", "unsupported request"},
	[VT_REJECT_SIZE] = {"size", "payload size out of range"},
	[VT_REJECT_FDS] = {"fds", "wrong number of fds"},
	[VT_REJECT_QUEUE_INDEX] = {"queue_index", "queue index out of range"},
	[VT_REJECT_NREGIONS] = {"nregions", "nregions out of range"},
	[VT_REJECT_NREGIONS_SIZE] = {"nregions_size", "size does not match nregions"},
	[VT_REJECT_NREGIONS_FDS] = {"nregions_fds", "fd count does not match nregions"},
	[VT_REJECT_VRING_FD_BITS] = {"vring_fd_bits", "unknown bits in vring fd payload"},
	[VT_REJECT_VRING_FD_WITH_NOFD] = {"vring_fd_with_nofd", "fd sent with the NOFD bit set"},
	[VT_REJECT_VRING_FD_MISSING] = {"vring_fd_missing", "missing fd"},
	[VT_REJECT_VRING_FD_NOT_EVENTFD] = {"vring_fd_not_eventfd", "the fd is not an eventfd"},
	[VT_REJECT_NO_CONFIG] = {"no_config", "device has no config space"},
	[VT_REJECT_CONFIG_SIZE] = {"config_size", "config size mismatch"},
	[VT_REJECT_NO_DEVICE_STATE] = {"no_device_state", "device state transfer not supported"},
	[VT_REJECT_XFER_DIRECTION] = {"xfer_direction", "bad transfer direction"},
	[VT_REJECT_XFER_PHASE] = {"xfer_phase", "bad transfer phase"},
};

const char *vt_msg_reject_text(enum vt_msg_reject r)
{
	return (unsigned)r < VT_REJECT_MAX ? rejects[r].text : "unknown reason";
}

const char *vt_msg_reject_label(enum vt_msg_reject r)
{
	return (unsigned)r < VT_REJECT_MAX ? rejects[r].label : "unknown";
}

/* The central validation: size, fds, queue index, then content checks. */
static enum vt_msg_reject validate(const struct vt_device *d, const struct msg_spec *s,
				   const struct vt_vu_msg *m)
{
	if (m->hdr.size < s->min_size || m->hdr.size > s->max_size)
		return VT_REJECT_SIZE;
	if (m->nfds < s->min_fds || m->nfds > s->max_fds)
		return VT_REJECT_FDS;
	uint32_t qi = UINT32_MAX;
	if (s->qidx == QIDX_STATE)
		qi = m->p.state.index;
	else if (s->qidx == QIDX_U64)
		qi = (uint32_t)(m->p.u64 & VHOST_USER_VRING_IDX_MASK);
	if (s->qidx != QIDX_NONE && qi >= d->nqueues)
		return VT_REJECT_QUEUE_INDEX;
	if (s->check)
		return s->check(d, m);
	return VT_REJECT_NONE;
}

/* Counts and logs a refused message; the caller answers (or drops) per the table. */
static void reject(struct vt_device *d, uint32_t req, enum vt_msg_reject why)
{
	d->last_reject = why;
	atomic_fetch_add_explicit(&d->stats.bad_messages, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&d->stats.rejected[why], 1, memory_order_relaxed);
	if (why == VT_REJECT_UNSUPPORTED)
		vt_warn("%s: unsupported request %u (%s)", d->name, req, vt_vu_request_name(req));
	else
		vt_warn("%s: rejected %s: %s", d->name, vt_vu_request_name(req),
			vt_msg_reject_text(why));
}

/* The table's verdict, the handler and the reply; the caller wipes secret payloads. */
static int dispatch(struct vt_device *d, const struct msg_spec *s, struct vt_vu_msg *m,
		    struct reply *r)
{
	uint32_t req = m->hdr.request;
	bool need_reply = m->hdr.flags & VHOST_USER_NEED_REPLY_MASK;
	uint64_t nack = 1;

	enum vt_msg_reject why = !s || !s->handler ? VT_REJECT_UNSUPPORTED : validate(d, s, m);
	if (why != VT_REJECT_NONE) {
		reject(d, req, why);
		vt_vu_msg_close_fds(m);
		if (why != VT_REJECT_UNSUPPORTED && s->reply == REPLY_ALWAYS)
			return -EPROTO; /* no typed answer to give: drop the front-end */
		return need_reply ? vt_vu_send_reply(d->conn_fd, d->stop_fd, req, &nack, sizeof(nack)) : 0;
	}

	bool had_fds = m->nfds > 0;
	if (d->rs)
		vt_rs_msg_received(d, m);
	int e = s->handler(d, m, r);
	vt_vu_msg_close_fds(m); /* whatever the handler did not take */
	if (d->rs) {
		/* Before the front-end hears back: the next process must know what this one did. */
		if (had_fds || req == VHOST_USER_GET_VRING_BASE || req == VHOST_USER_RESET_OWNER ||
		    req == VHOST_USER_RESET_DEVICE || req == VHOST_USER_REM_MEM_REG)
			vt_rs_fds_changed(d); /* new fds stored, state synced, old fds dropped */
		else
			vt_rs_sync(d);
	}
	if (e < 0)
		atomic_fetch_add_explicit(&d->stats.bad_messages, 1, memory_order_relaxed);

	switch (s->reply) {
	case REPLY_ALWAYS:
		if (e < 0 && r->size == 0 && !s->empty_reply_on_error)
			return -EPROTO; /* no typed answer to give: drop the front-end */
		if (d->rs)
			vt_rs_msg_reply(d, req, r->buf, r->size);
		return vt_vu_send_reply(d->conn_fd, d->stop_fd, req, r->buf, r->size);
	case REPLY_ACK_ONLY:
		if (need_reply) {
			uint64_t ack = e < 0 ? 1 : 0;
			if (d->rs)
				vt_rs_msg_reply(d, req, &ack, sizeof(ack));
			return vt_vu_send_reply(d->conn_fd, d->stop_fd, req, &ack, sizeof(ack));
		}
		return 0;
	case REPLY_NEVER:
		break;
	}
	return 0;
}

int vt_device_handle_message(struct vt_device *d, struct vt_vu_msg *m)
{
	uint32_t req = m->hdr.request;
	const struct msg_spec *s = req < VHOST_USER_MAX_REQUEST ? &specs[req] : NULL;
	struct reply r;

	atomic_fetch_add_explicit(&d->stats.messages, 1, memory_order_relaxed);
	vt_debug("%s: <- %s size=%u fds=%u flags=0x%x", d->name, vt_vu_request_name(req),
		 m->hdr.size, m->nfds, m->hdr.flags);
	r.size = 0;
	int ret = dispatch(d, s, m, &r);
	/* The message in hand is answered (or dropped): nothing of it stays for a replay. */
	if (d->rs)
		vt_rs_msg_done(d);
	/* Session messages carry the guest's keys: no copy outlives the request, whatever
	 * the verdict (a rejected one included). */
	if (s && s->secret) {
		vt_wipe(m->p.raw, VT_MIN((size_t)m->hdr.size, sizeof(m->p.raw)));
		vt_wipe(r.buf, r.size);
	}
	return ret;
}
