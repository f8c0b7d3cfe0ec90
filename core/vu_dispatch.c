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

#include "device.h"
#include "log.h"
#include "secmem.h"

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
typedef const char *(*msg_check)(const struct vt_device *d, const struct vt_vu_msg *m);

struct msg_spec {
	uint32_t min_size, max_size;
	uint8_t min_fds, max_fds;
	enum qidx_kind qidx;
	enum reply_kind reply;
	msg_check check;
	msg_handler handler;
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
	}
	q->started = true; /* even when broken: GET_VRING_BASE must still stop it */
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

static const char *check_mem_table(const struct vt_device *d, const struct vt_vu_msg *m)
{
	(void)d;
	uint32_t n = m->p.mem.nregions;
	if (n == 0 || n > VHOST_MEMORY_BASELINE_NREGIONS)
		return "nregions out of range";
	if (m->hdr.size != 8 + n * sizeof(struct vhost_user_mem_region))
		return "size does not match nregions";
	if (m->nfds != n)
		return "fd count does not match nregions";
	return NULL;
}

static const char *check_vring_fd(const struct vt_device *d, const struct vt_vu_msg *m)
{
	(void)d;
	bool nofd = m->p.u64 & VHOST_USER_VRING_NOFD_MASK;
	if (m->p.u64 & ~(uint64_t)(VHOST_USER_VRING_IDX_MASK | VHOST_USER_VRING_NOFD_MASK))
		return "unknown bits in vring fd payload";
	if (nofd && m->nfds != 0)
		return "fd sent with the NOFD bit set";
	if (!nofd && m->nfds != 1)
		return "missing fd";
	return NULL;
}

static const char *check_config(const struct vt_device *d, const struct vt_vu_msg *m)
{
	if (!(d->offered_protocol & VT_BIT(VHOST_USER_PROTOCOL_F_CONFIG)))
		return "device has no config space";
	if (m->p.cfg.size > VHOST_USER_MAX_CONFIG_SIZE ||
	    m->hdr.size != VHOST_USER_CONFIG_HDR_SIZE + m->p.cfg.size)
		return "config size mismatch";
	return NULL;
}

static const char *check_device_state(const struct vt_device *d, const struct vt_vu_msg *m)
{
	if (!(d->offered_protocol & VT_BIT(VHOST_USER_PROTOCOL_F_DEVICE_STATE)))
		return "device state transfer not supported";
	if (m->hdr.request == VHOST_USER_SET_DEVICE_STATE_FD) {
		if (m->p.xfer.direction > VHOST_USER_TRANSFER_STATE_DIRECTION_LOAD)
			return "bad transfer direction";
		if (m->p.xfer.phase != VHOST_USER_TRANSFER_STATE_PHASE_STOPPED)
			return "bad transfer phase";
	}
	return NULL;
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
	if (q->kick_fd >= 0)
		close(q->kick_fd);
	q->kick_fd = vt_vu_msg_take_fd(m, 0);
	q->kick_nofd = q->kick_fd < 0;
	/* The kick starts the ring (vhost-user "started"). */
	return queue_start(d, q);
}

static int h_set_vring_call(struct vt_device *d, struct vt_vu_msg *m, struct reply *r)
{
	(void)r;
	struct vt_queue *q = msg_fd_queue(d, m);
	int fd = vt_vu_msg_take_fd(m, 0);
	pthread_mutex_lock(&q->lock);
	int old = q->call_fd;
	q->call_fd = fd;
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
	pthread_mutex_lock(&q->lock);
	int old = q->err_fd;
	q->err_fd = fd;
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
	if (d->xfer_direction == VHOST_USER_TRANSFER_STATE_DIRECTION_SAVE)
		d->xfer_result = d->ops->save_state(d->priv, d->xfer_fd);
	else
		d->xfer_result = d->ops->load_state(d->priv, d->xfer_fd);
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
	d->xfer_fd = vt_vu_msg_take_fd(m, 0);
	d->xfer_direction = m->p.xfer.direction;
	d->xfer_result = 0;
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

#define U64 8, 8
#define NONE 0, 0
#define STATE 8, 8
static const struct msg_spec specs[VHOST_USER_MAX_REQUEST] = {
	[VHOST_USER_GET_FEATURES] = {NONE, 0, 0, QIDX_NONE, REPLY_ALWAYS, NULL, h_get_features},
	[VHOST_USER_SET_FEATURES] = {U64, 0, 0, QIDX_NONE, REPLY_ACK_ONLY, NULL, h_set_features},
	[VHOST_USER_SET_OWNER] = {NONE, 0, 0, QIDX_NONE, REPLY_ACK_ONLY, NULL, h_nop},
	[VHOST_USER_RESET_OWNER] = {NONE, 0, 0, QIDX_NONE, REPLY_ACK_ONLY, NULL, h_reset_owner},
	[VHOST_USER_SET_MEM_TABLE] = {8 + 32, sizeof(struct vhost_user_memory), 1,
				      VHOST_MEMORY_BASELINE_NREGIONS, QIDX_NONE, REPLY_ACK_ONLY,
				      check_mem_table, h_set_mem_table},
	[VHOST_USER_SET_VRING_NUM] = {STATE, 0, 0, QIDX_STATE, REPLY_ACK_ONLY, NULL,
				      h_set_vring_num},
	[VHOST_USER_SET_VRING_ADDR] = {40, 40, 0, 0, QIDX_STATE, REPLY_ACK_ONLY, NULL,
				       h_set_vring_addr},
	[VHOST_USER_SET_VRING_BASE] = {STATE, 0, 0, QIDX_STATE, REPLY_ACK_ONLY, NULL,
				       h_set_vring_base},
	[VHOST_USER_GET_VRING_BASE] = {STATE, 0, 0, QIDX_STATE, REPLY_ALWAYS, NULL,
				       h_get_vring_base},
	[VHOST_USER_SET_VRING_KICK] = {U64, 0, 1, QIDX_U64, REPLY_ACK_ONLY, check_vring_fd,
				       h_set_vring_kick},
	[VHOST_USER_SET_VRING_CALL] = {U64, 0, 1, QIDX_U64, REPLY_ACK_ONLY, check_vring_fd,
				       h_set_vring_call},
	[VHOST_USER_SET_VRING_ERR] = {U64, 0, 1, QIDX_U64, REPLY_ACK_ONLY, check_vring_fd,
				      h_set_vring_err},
	[VHOST_USER_GET_PROTOCOL_FEATURES] = {NONE, 0, 0, QIDX_NONE, REPLY_ALWAYS, NULL,
					      h_get_protocol_features},
	[VHOST_USER_SET_PROTOCOL_FEATURES] = {U64, 0, 0, QIDX_NONE, REPLY_ACK_ONLY, NULL,
					      h_set_protocol_features},
	[VHOST_USER_GET_QUEUE_NUM] = {NONE, 0, 0, QIDX_NONE, REPLY_ALWAYS, NULL, h_get_queue_num},
	[VHOST_USER_SET_VRING_ENABLE] = {STATE, 0, 0, QIDX_STATE, REPLY_ACK_ONLY, NULL,
					 h_set_vring_enable},
	[VHOST_USER_GET_CONFIG] = {VHOST_USER_CONFIG_HDR_SIZE, sizeof(struct vhost_user_config), 0,
				   0, QIDX_NONE, REPLY_ALWAYS, check_config, h_get_config},
	[VHOST_USER_SET_CONFIG] = {VHOST_USER_CONFIG_HDR_SIZE, sizeof(struct vhost_user_config), 0,
				   0, QIDX_NONE, REPLY_ACK_ONLY, check_config, h_set_config},
	[VHOST_USER_CREATE_CRYPTO_SESSION] = {1, VHOST_USER_PAYLOAD_MAX, 0, 0, QIDX_NONE,
					      REPLY_ALWAYS, NULL, h_extra},
	[VHOST_USER_CLOSE_CRYPTO_SESSION] = {U64, 0, 0, QIDX_NONE, REPLY_NEVER, NULL, h_extra},
	[VHOST_USER_RESET_DEVICE] = {NONE, 0, 0, QIDX_NONE, REPLY_ACK_ONLY, NULL, h_reset_owner},
	[VHOST_USER_GET_MAX_MEM_SLOTS] = {NONE, 0, 0, QIDX_NONE, REPLY_ALWAYS, NULL,
					  h_get_max_mem_slots},
	[VHOST_USER_ADD_MEM_REG] = {40, 40, 1, 1, QIDX_NONE, REPLY_ACK_ONLY, NULL, h_add_mem_reg},
	[VHOST_USER_REM_MEM_REG] = {40, 40, 0, 1, QIDX_NONE, REPLY_ACK_ONLY, NULL, h_rem_mem_reg},
	[VHOST_USER_SET_STATUS] = {U64, 0, 0, QIDX_NONE, REPLY_ACK_ONLY, NULL, h_set_status},
	[VHOST_USER_GET_STATUS] = {NONE, 0, 0, QIDX_NONE, REPLY_ALWAYS, NULL, h_get_status},
	[VHOST_USER_SET_DEVICE_STATE_FD] = {8, 8, 1, 1, QIDX_NONE, REPLY_ALWAYS,
					    check_device_state, h_set_device_state_fd},
	[VHOST_USER_CHECK_DEVICE_STATE] = {NONE, 0, 0, QIDX_NONE, REPLY_ALWAYS, check_device_state,
					   h_check_device_state},
};

/* The central validation: size, fds, queue index, then content checks. */
static const char *validate(const struct vt_device *d, const struct msg_spec *s,
			    const struct vt_vu_msg *m)
{
	if (m->hdr.size < s->min_size || m->hdr.size > s->max_size)
		return "payload size out of range";
	if (m->nfds < s->min_fds || m->nfds > s->max_fds)
		return "wrong number of fds";
	uint32_t qi = UINT32_MAX;
	if (s->qidx == QIDX_STATE)
		qi = m->p.state.index;
	else if (s->qidx == QIDX_U64)
		qi = (uint32_t)(m->p.u64 & VHOST_USER_VRING_IDX_MASK);
	if (s->qidx != QIDX_NONE && qi >= d->nqueues)
		return "queue index out of range";
	if (s->check)
		return s->check(d, m);
	return NULL;
}

int vt_device_handle_message(struct vt_device *d, struct vt_vu_msg *m)
{
	uint32_t req = m->hdr.request;
	bool need_reply = m->hdr.flags & VHOST_USER_NEED_REPLY_MASK;
	const struct msg_spec *s = req < VHOST_USER_MAX_REQUEST ? &specs[req] : NULL;
	struct reply r;
	int ret = 0;

	atomic_fetch_add_explicit(&d->stats.messages, 1, memory_order_relaxed);
	vt_debug("%s: <- %s size=%u fds=%u flags=0x%x", d->name, vt_vu_request_name(req),
		 m->hdr.size, m->nfds, m->hdr.flags);

	if (!s || !s->handler) {
		atomic_fetch_add_explicit(&d->stats.bad_messages, 1, memory_order_relaxed);
		vt_warn("%s: unsupported request %u (%s)", d->name, req, vt_vu_request_name(req));
		vt_vu_msg_close_fds(m);
		if (need_reply) {
			uint64_t nack = 1;
			return vt_vu_send_reply(d->conn_fd, req, &nack, sizeof(nack));
		}
		return 0;
	}
	const char *why = validate(d, s, m);
	if (why) {
		atomic_fetch_add_explicit(&d->stats.bad_messages, 1, memory_order_relaxed);
		vt_warn("%s: rejected %s: %s", d->name, vt_vu_request_name(req), why);
		vt_vu_msg_close_fds(m);
		if (s->reply == REPLY_ALWAYS)
			return -EPROTO;
		if (need_reply) {
			uint64_t nack = 1;
			return vt_vu_send_reply(d->conn_fd, req, &nack, sizeof(nack));
		}
		return 0;
	}

	r.size = 0;
	int e = s->handler(d, m, &r);
	vt_vu_msg_close_fds(m); /* whatever the handler did not take */
	/* Session messages carry the guest's keys: no copy outlives the request. */
	bool secret = req == VHOST_USER_CREATE_CRYPTO_SESSION;
	if (secret)
		vt_wipe(m->p.raw, m->hdr.size);
	if (e < 0)
		atomic_fetch_add_explicit(&d->stats.bad_messages, 1, memory_order_relaxed);

	switch (s->reply) {
	case REPLY_ALWAYS:
		if (e < 0 && r.size == 0 && req != VHOST_USER_GET_CONFIG)
			return -EPROTO; /* no typed answer to give: drop the front-end */
		ret = vt_vu_send_reply(d->conn_fd, req, r.buf, r.size);
		break;
	case REPLY_ACK_ONLY:
		if (need_reply) {
			uint64_t ack = e < 0 ? 1 : 0;
			ret = vt_vu_send_reply(d->conn_fd, req, &ack, sizeof(ack));
		}
		break;
	case REPLY_NEVER:
		break;
	}
	if (secret)
		vt_wipe(r.buf, r.size);
	return ret;
}
