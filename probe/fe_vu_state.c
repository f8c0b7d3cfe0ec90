/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Device state transfer (protocol feature DEVICE_STATE, QEMU >= 8.2), done
 * the way QEMU's vhost_save_backend_state()/vhost_load_backend_state() do it:
 * SET_DEVICE_STATE_FD and its reply first, then the byte stream through the
 * pipe until EOF, then CHECK_DEVICE_STATE. A back-end that writes the state
 * before replying would deadlock QEMU; here it shows up as a timeout.
 */
#include "fe_vu.h"

#include <fcntl.h>
#include <poll.h>
#include <string.h>

#include "fe_time.h"

/* A sanity cap on what a back-end may make us buffer. */
#define STATE_MAX_BYTES (256u << 20)
#define STATE_CHUNK 65536u

int fe_vu_set_device_state_fd(struct fe_vu *vu, uint32_t direction, uint32_t phase, int fd,
			      int *ret_fd)
{
	struct vhost_user_transfer_device_state s = {.direction = direction, .phase = phase};
	struct vhost_user_header hdr = {
	    .request = VHOST_USER_SET_DEVICE_STATE_FD,
	    .flags = VHOST_USER_VERSION,
	    .size = sizeof(s),
	};
	struct fe_vu_msg *msg;
	uint64_t v;
	int r;

	*ret_fd = -1;
	r = fe_vu_send_msg(vu, &hdr, &s, sizeof(s), &fd, 1);
	if (r < 0)
		return r;
	msg = malloc(sizeof(*msg));
	if (!msg)
		return -ENOMEM;
	r = fe_vu_recv_msg(vu, msg);
	if (r < 0)
		goto out;
	if (msg->hdr.request != VHOST_USER_SET_DEVICE_STATE_FD || msg->hdr.size != sizeof(v)) {
		vu->desync = msg->hdr.request != VHOST_USER_SET_DEVICE_STATE_FD;
		r = fe_vu_fail(vu, -EPROTO, "bad SET_DEVICE_STATE_FD reply (request %u, size %u)",
			       msg->hdr.request, msg->hdr.size);
		goto out;
	}
	memcpy(&v, msg->payload, sizeof(v));
	if (v & 0xff) {
		r = fe_vu_fail(vu, -EREMOTEIO, "back-end refused the state transfer (error %llu)",
			       (unsigned long long)(v & 0xff));
		goto out;
	}
	bool nofd = v & VHOST_USER_DEVICE_STATE_NOFD;
	if (nofd ? msg->nfds != 0 : msg->nfds != 1) {
		r = fe_vu_fail(vu, -EPROTO, "SET_DEVICE_STATE_FD reply %s bit 8 but carries %u fds",
			       nofd ? "sets" : "clears", msg->nfds);
		goto out;
	}
	if (!nofd) {
		*ret_fd = msg->fds[0];
		msg->nfds = 0;
	}
out:
	fe_vu_msg_close_fds(msg);
	free(msg);
	return r;
}

int fe_vu_check_device_state(struct fe_vu *vu)
{
	uint64_t v;
	int r = fe_vu_get_u64(vu, VHOST_USER_CHECK_DEVICE_STATE, &v);
	if (r < 0)
		return r;
	if (v != 0)
		return fe_vu_fail(vu, -EREMOTEIO, "CHECK_DEVICE_STATE reports 0x%llx",
				  (unsigned long long)v);
	return 0;
}

static int wait_one(int fd, short events, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = events};
	for (;;) {
		int n = poll(&p, 1, timeout_ms);
		if (n > 0)
			return 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

int fe_vu_save_state(struct fe_vu *vu, uint8_t **ret_buf, size_t *ret_len)
{
	_cleanup_close_ int rfd = -1;
	_cleanup_close_ int wfd = -1;
	_cleanup_close_ int backend_fd = -1;
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len = 0, cap = 0;
	int p[2], r;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	rfd = p[0];
	wfd = p[1];
	r = fe_vu_set_device_state_fd(vu, VHOST_USER_TRANSFER_STATE_DIRECTION_SAVE,
				      VHOST_USER_TRANSFER_STATE_PHASE_STOPPED, wfd, &backend_fd);
	/* Our write end must go, or we would never see EOF. */
	vt_closep(&wfd);
	if (r < 0)
		return r;
	int src = backend_fd >= 0 ? backend_fd : rfd;
	for (;;) {
		if (len == cap) {
			if (cap >= STATE_MAX_BYTES)
				return fe_vu_fail(vu, -EFBIG, "device state exceeds %u bytes",
						  STATE_MAX_BYTES);
			cap = cap ? cap * 2 : STATE_CHUNK;
			uint8_t *nb = realloc(buf, cap);
			if (!nb)
				return -ENOMEM;
			buf = nb;
		}
		r = wait_one(src, POLLIN, vu->timeout_ms);
		if (r < 0)
			return fe_vu_fail(vu, r, "device state stalled after %zu bytes (no EOF)",
					  len);
		ssize_t n = read(src, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return fe_vu_fail(vu, -errno, "reading device state: %m");
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	r = fe_vu_check_device_state(vu);
	if (r < 0)
		return r;
	*ret_buf = VT_TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

int fe_vu_load_state(struct fe_vu *vu, const uint8_t *buf, size_t len)
{
	_cleanup_close_ int rfd = -1;
	_cleanup_close_ int wfd = -1;
	_cleanup_close_ int backend_fd = -1;
	size_t done = 0;
	int p[2], r;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	rfd = p[0];
	wfd = p[1];
	r = fe_vu_set_device_state_fd(vu, VHOST_USER_TRANSFER_STATE_DIRECTION_LOAD,
				      VHOST_USER_TRANSFER_STATE_PHASE_STOPPED, rfd, &backend_fd);
	vt_closep(&rfd);
	if (r < 0)
		return r;
	if (backend_fd >= 0) {
		vt_closep(&wfd);
		wfd = VT_TAKE_FD(backend_fd);
	}
	if (fcntl(wfd, F_SETFL, O_NONBLOCK) < 0)
		return -errno;
	while (done < len) {
		r = wait_one(wfd, POLLOUT, vu->timeout_ms);
		if (r < 0)
			return fe_vu_fail(vu, r, "back-end stopped reading state after %zu bytes",
					  done);
		ssize_t n = write(wfd, buf + done, VT_MIN(len - done, (size_t)STATE_CHUNK));
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return fe_vu_fail(vu, -errno, "writing device state: %m");
		}
		done += (size_t)n;
	}
	/* EOF tells the back-end the state is complete. */
	vt_closep(&wfd);
	return fe_vu_check_device_state(vu);
}
