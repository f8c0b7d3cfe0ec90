/* SPDX-License-Identifier: Apache-2.0 */
#include "device.h"

#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "fdcheck.h"
#include "log.h"
#include "unix_listen.h"

/* Transport features every vtrust device handles, whatever SET_FEATURES says. */
#define VT_CORE_FEATURES                                                                           \
	(VT_BIT(VIRTIO_F_VERSION_1) | VT_BIT(VIRTIO_RING_F_INDIRECT_DESC) |                        \
	 VT_BIT(VIRTIO_RING_F_EVENT_IDX) | VT_BIT(VHOST_USER_F_PROTOCOL_FEATURES))

#define VT_CORE_PROTOCOL                                                                           \
	(VT_BIT(VHOST_USER_PROTOCOL_F_MQ) | VT_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK) |              \
	 VT_BIT(VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS) | VT_BIT(VHOST_USER_PROTOCOL_F_STATUS))

struct vt_device *vt_device_new(const char *name, const struct vt_device_ops *ops, void *priv)
{
	struct vt_device *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->ops = ops;
	d->priv = priv;
	d->listen_fd = d->conn_fd = d->xfer_fd = -1;
	d->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	d->xfer_cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	d->xfer_timeout_ms = VT_XFER_TIMEOUT_MS;
	vt_guestmem_init(&d->mem);

	d->offered_features = VT_CORE_FEATURES | (ops->get_features ? ops->get_features(priv) : 0);
	d->offered_protocol = VT_CORE_PROTOCOL | ops->protocol_features;
	if (ops->save_state && ops->load_state)
		d->offered_protocol |= VT_BIT(VHOST_USER_PROTOCOL_F_DEVICE_STATE);
	/* QEMU 7.2 reconnects without renegotiating: assume our offer is in force. */
	d->acked_protocol = d->offered_protocol;

	d->nqueues = ops->num_queues(priv);
	d->queues = calloc(d->nqueues ? d->nqueues : 1, sizeof(*d->queues));
	if (d->stop_fd < 0 || d->xfer_cancel_fd < 0 || !d->queues) {
		free(d->queues);
		if (d->stop_fd >= 0)
			close(d->stop_fd);
		if (d->xfer_cancel_fd >= 0)
			close(d->xfer_cancel_fd);
		free(d);
		return NULL;
	}
	for (unsigned i = 0; i < d->nqueues; i++)
		vt_queue_init(&d->queues[i], d, &d->mem, i);
	return d;
}

struct vt_queue *vt_device_queue(struct vt_device *d, unsigned i)
{
	return i < d->nqueues ? &d->queues[i] : NULL;
}

void vt_device_set_busy_poll(struct vt_device *d, uint32_t us)
{
	d->busy_poll_us = us;
}

void vt_device_set_poll_sleep_cost(struct vt_device *d, uint64_t ns)
{
	d->poll_sleep_cost_ns = ns;
}

void vt_device_set_bench_no_work(struct vt_device *d, bool on)
{
	d->bench_no_work = on;
}

void vt_device_set_state_timeout(struct vt_device *d, uint32_t ms)
{
	d->xfer_timeout_ms = ms ? ms : VT_XFER_TIMEOUT_MS;
}

static void xfer_cancel(struct vt_device *d)
{
	uint64_t one = 1;
	ssize_t w = write(d->xfer_cancel_fd, &one, sizeof(one));
	(void)w;
}

void vt_device_xfer_reset_cancel(struct vt_device *d)
{
	uint64_t v;
	ssize_t r = read(d->xfer_cancel_fd, &v, sizeof(v));
	(void)r;
}

void vt_device_disconnect(struct vt_device *d)
{
	for (unsigned i = 0; i < d->nqueues; i++) {
		struct vt_queue *q = &d->queues[i];
		bool was_started = q->started;
		vt_queue_stop_worker(q);
		/* Other threads (a device's control path) may look at the ring under the lock. */
		pthread_mutex_lock(&q->lock);
		q->started = false;
		pthread_mutex_unlock(&q->lock);
		if (was_started && d->ops->queue_stop)
			d->ops->queue_stop(d->priv, q);
		pthread_mutex_lock(&q->lock);
		vt_queue_reset(q);
		pthread_mutex_unlock(&q->lock);
	}
	if (d->xfer_running) {
		/* The front-end may hold the pipe open forever: cancel, then join. */
		xfer_cancel(d);
		pthread_join(d->xfer_thread, NULL);
		d->xfer_running = false;
	}
	d->xfer_joined = false;
	vt_guestmem_clear(&d->mem);
	if (d->conn_fd >= 0) {
		close(d->conn_fd);
		d->conn_fd = -1;
		atomic_store(&d->stats.connected, false);
		if (d->ops->disconnected)
			d->ops->disconnected(d->priv);
	}
	d->acked_features = 0;
	d->acked_protocol = d->offered_protocol;
	d->status = 0;
	if (d->rs)
		vt_rs_fds_changed(d);
}

void vt_device_free(struct vt_device *d)
{
	if (!d)
		return;
	vt_device_disconnect(d);
	/* Stopping for good: nothing resumable (keys included) outlives us. */
	vt_rs_free(d);
	for (unsigned i = 0; i < d->nqueues; i++)
		vt_queue_destroy(&d->queues[i]);
	free(d->queues);
	if (d->listen_fd >= 0)
		close(d->listen_fd);
	if (d->unlink_on_exit && d->socket_path)
		(void)unlink(d->socket_path);
	free(d->socket_path);
	if (d->stop_fd >= 0)
		close(d->stop_fd);
	if (d->xfer_cancel_fd >= 0)
		close(d->xfer_cancel_fd);
	free(d);
}

int vt_device_listen(struct vt_device *d, const char *path, mode_t mode)
{
	int fd = vt_unix_listen(path, mode, 4, SOCK_NONBLOCK, d->name, "socket");
	if (fd < 0)
		return fd;
	d->listen_fd = fd;
	d->socket_path = strdup(path);
	d->unlink_on_exit = true;
	return 0;
}

int vt_device_adopt_fd(struct vt_device *d, int fd)
{
	int listening = 0;
	socklen_t len = sizeof(listening);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0)
		return -errno;
	int r = vt_fd_set_nonblock(fd);
	if (r < 0)
		return r;
	if (listening)
		d->listen_fd = fd;
	else
		d->conn_fd = fd;
	return 0;
}

void vt_device_stop(struct vt_device *d)
{
	atomic_store(&d->draining, true);
	uint64_t one = 1;
	ssize_t w = write(d->stop_fd, &one, sizeof(one));
	(void)w;
	xfer_cancel(d); /* a transfer in flight ends now, not when the front-end lets it */
}

static void accept_one(struct vt_device *d)
{
	/* Non-blocking: every wait on the front-end is bounded (vu_msg.c). */
	int fd = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	if (d->conn_fd >= 0) {
		/* vhost-user is one front-end per socket. */
		vt_warn("%s: refusing a second front-end while one is connected", d->name);
		close(fd);
		return;
	}
	d->conn_fd = fd;
	d->conn_gen = vt_rs_next_gen(d);
	atomic_fetch_add_explicit(&d->stats.connections, 1, memory_order_relaxed);
	atomic_store(&d->stats.connected, true);
	vt_info("%s: front-end connected", d->name);
	if (d->ops->connected)
		d->ops->connected(d->priv);
	if (d->rs)
		vt_rs_fds_changed(d);
}

int vt_device_run(struct vt_device *d)
{
	/* An adopted or resumed connection is a front-end attached now. */
	if (d->conn_fd >= 0)
		atomic_store(&d->stats.connected, true);
	/* Rings resumed from an fd store get their workers now, on this thread. */
	for (unsigned i = 0; i < d->nqueues && !d->manual_queues; i++) {
		struct vt_queue *q = &d->queues[i];
		if (q->started && !q->thread_running && vt_queue_start_worker(q) < 0)
			vt_err("%s: queue %u: cannot start the worker of a resumed ring", d->name, i);
	}
	bool adopted_conn = d->listen_fd < 0 && d->conn_fd >= 0;
	if (adopted_conn && d->ops->connected)
		d->ops->connected(d->priv);
	for (;;) {
		struct pollfd p[3] = {
			{.fd = d->stop_fd, .events = POLLIN},
			{.fd = d->listen_fd, .events = POLLIN},
			{.fd = d->conn_fd, .events = POLLIN},
		};
		int r = poll(p, 3, -1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (p[0].revents)
			break;
		/* The current front-end first: a reconnect often arrives in the same wake-up
		 * as the old connection's EOF, and must not be refused as a second front-end. */
		if (d->conn_fd >= 0 && (p[2].revents & (POLLIN | POLLHUP | POLLERR))) {
			struct vt_vu_msg m;
			int e = vt_vu_recv(d->conn_fd, d->stop_fd, &m);
			if (e == 0)
				e = vt_device_handle_message(d, &m);
			if (e == -ECANCELED)
				break; /* stopping */
			if (e < 0 && e != -EAGAIN) {
				if (e == -EPIPE)
					vt_info("%s: front-end disconnected", d->name);
				else
					vt_warn("%s: dropping front-end: %s", d->name, strerror(-e));
				vt_device_disconnect(d);
				if (d->listen_fd < 0)
					break; /* an adopted connection has no successor */
			}
		}
		if (p[1].revents & POLLIN)
			accept_one(d);
	}
	if (d->rs && atomic_load(&d->detach_on_stop))
		vt_device_detach(d);
	else
		vt_device_disconnect(d);
	return 0;
}
