/* SPDX-License-Identifier: Apache-2.0 */
#include "vu_msg.h"

#include "secmem.h"

#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include "clock.h"
#include "fdwait.h"

static int read_full(int sock, int cancel_fd, void *buf, size_t n)
{
	uint8_t *p = buf;
	uint64_t deadline = vt_now_ns() + VT_VU_MSG_TIMEOUT_MS * 1000000ull;
	while (n) {
		ssize_t r = read(sock, p, n);
		if (r == 0)
			return -EPROTO; /* EOF inside a message */
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -errno;
			int e = vt_fd_wait(sock, POLLIN, cancel_fd, deadline);
			if (e < 0)
				return e;
			continue;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int vt_vu_recv(int sock, int cancel_fd, struct vt_vu_msg *m)
{
	memset(&m->hdr, 0, sizeof(m->hdr));
	m->nfds = 0;
	for (unsigned i = 0; i < VHOST_USER_MAX_FDS; i++)
		m->fds[i] = -1;

	union {
		char buf[CMSG_SPACE(VHOST_USER_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {.iov_base = &m->hdr, .iov_len = sizeof(m->hdr)};
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctl.buf,
		.msg_controllen = sizeof(ctl.buf),
	};
	ssize_t r;
	do {
		r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	} while (r < 0 && errno == EINTR);
	if (r == 0)
		return -EPIPE;
	if (r < 0)
		return errno == EAGAIN ? -EAGAIN : -errno;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		const uint8_t *data = CMSG_DATA(c);
		for (size_t i = 0; i < n; i++) {
			int fd;
			memcpy(&fd, data + i * sizeof(int), sizeof(int));
			if (m->nfds < VHOST_USER_MAX_FDS)
				m->fds[m->nfds++] = fd;
			else
				close(fd);
		}
	}
	if (mh.msg_flags & MSG_CTRUNC)
		goto bad; /* more fds than any request carries */
	if ((size_t)r < sizeof(m->hdr)) {
		int e = read_full(sock, cancel_fd, (uint8_t *)&m->hdr + r,
				  sizeof(m->hdr) - (size_t)r);
		if (e < 0) {
			vt_vu_msg_close_fds(m);
			return e;
		}
	}
	if ((m->hdr.flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION)
		goto bad;
	if (m->hdr.size > VHOST_USER_PAYLOAD_MAX)
		goto bad;
	if (m->hdr.size) {
		int e = read_full(sock, cancel_fd, m->p.raw, m->hdr.size);
		if (e < 0) {
			/* A torn CREATE_CRYPTO_SESSION still holds key bytes. */
			vt_wipe(m->p.raw, m->hdr.size);
			vt_vu_msg_close_fds(m);
			return e;
		}
	}
	return 0;
bad:
	vt_vu_msg_close_fds(m);
	return -EPROTO;
}

int vt_vu_send_reply(int sock, int cancel_fd, uint32_t request, const void *payload,
		     uint32_t size)
{
	if (size > VHOST_USER_PAYLOAD_MAX)
		return -EINVAL;
	struct vhost_user_header h = {
		.request = request,
		.flags = VHOST_USER_VERSION | VHOST_USER_REPLY_MASK,
		.size = size,
	};
	struct iovec iov[2] = {
		{.iov_base = &h, .iov_len = sizeof(h)},
		{.iov_base = (void *)(uintptr_t)payload, .iov_len = size},
	};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = size ? 2 : 1};
	/* A front-end that never reads its replies fills the socket: bounded wait, then drop. */
	uint64_t deadline = vt_now_ns() + VT_VU_MSG_TIMEOUT_MS * 1000000ull;
	while (mh.msg_iovlen) {
		ssize_t r = sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -errno;
			int e = vt_fd_wait(sock, POLLOUT, cancel_fd, deadline);
			if (e < 0)
				return e;
			continue;
		}
		size_t done = (size_t)r;
		while (mh.msg_iovlen && done >= mh.msg_iov->iov_len) {
			done -= mh.msg_iov->iov_len;
			mh.msg_iov++;
			mh.msg_iovlen--;
		}
		if (mh.msg_iovlen) {
			mh.msg_iov->iov_base = (uint8_t *)mh.msg_iov->iov_base + done;
			mh.msg_iov->iov_len -= done;
		}
	}
	return 0;
}

void vt_vu_msg_close_fds(struct vt_vu_msg *m)
{
	for (unsigned i = 0; i < m->nfds; i++) {
		if (m->fds[i] >= 0)
			close(m->fds[i]);
		m->fds[i] = -1;
	}
	m->nfds = 0;
}

int vt_vu_msg_take_fd(struct vt_vu_msg *m, unsigned i)
{
	if (i >= m->nfds)
		return -1;
	int fd = m->fds[i];
	m->fds[i] = -1;
	return fd;
}
