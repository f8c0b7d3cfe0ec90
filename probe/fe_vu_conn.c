/* SPDX-License-Identifier: Apache-2.0 */
/* fe_vu transport: connect, framed send/receive with fds, QEMU 7.2 reply checks. */
#include "fe_vu.h"

#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "fe_time.h"
#include "log.h"
#include "vu_msg.h"
#include "virtio_ring.h"

#define CONNECT_RETRY_NS (10 * 1000 * 1000)

/* The names are the back-end core's (one table); the probe's framing stays its own. */
const char *fe_vu_request_name(uint32_t request)
{
	return vt_vu_request_name(request);
}

int fe_vu_fail(struct fe_vu *vu, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	(void)vsnprintf(vu->error, sizeof(vu->error), fmt, ap);
	va_end(ap);
	vt_debug("vhost-user: %s", vu->error);
	return err;
}

bool fe_vu_has_protocol(const struct fe_vu *vu, unsigned bit)
{
	return bit < 64 && (vu->acked_protocol & VT_BIT(bit));
}

/* Requests the back-end answers with a reply of their own (NEED_REPLY is moot). */
static bool has_own_reply(uint32_t request)
{
	switch (request) {
	case VHOST_USER_GET_FEATURES:
	case VHOST_USER_GET_PROTOCOL_FEATURES:
	case VHOST_USER_GET_VRING_BASE:
	case VHOST_USER_GET_QUEUE_NUM:
	case VHOST_USER_GET_CONFIG:
	case VHOST_USER_CREATE_CRYPTO_SESSION:
	case VHOST_USER_GET_INFLIGHT_FD:
	case VHOST_USER_GET_MAX_MEM_SLOTS:
	case VHOST_USER_GET_STATUS:
	case VHOST_USER_GET_SHARED_OBJECT:
	case VHOST_USER_SET_DEVICE_STATE_FD:
	case VHOST_USER_CHECK_DEVICE_STATE:
		return true;
	default:
		return false;
	}
}

bool fe_vu_wants_ack(const struct fe_vu *vu, uint32_t request)
{
	if (!fe_vu_has_protocol(vu, VHOST_USER_PROTOCOL_F_REPLY_ACK) || has_own_reply(request))
		return false;
	switch (vu->ack_policy) {
	case FE_VU_ACK_ALL:
		return true;
	case FE_VU_ACK_NONE:
		return false;
	case FE_VU_ACK_QEMU:
	default:
		return request == VHOST_USER_SET_MEM_TABLE || request == VHOST_USER_ADD_MEM_REG ||
		       request == VHOST_USER_REM_MEM_REG || request == VHOST_USER_SET_CONFIG ||
		       request == VHOST_USER_SET_STATUS;
	}
}

int fe_vu_from_fd(int fd, int timeout_ms, struct fe_vu **ret)
{
	struct fe_vu *vu = calloc(1, sizeof(*vu));
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	int flags;

	if (!vu)
		return -ENOMEM;
	/* Non-blocking, so every wait goes through poll() with a deadline. */
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		int r = -errno;
		free(vu);
		return r;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0)
		vu->peer_pid = cred.pid;
	vu->fd = fd;
	vu->timeout_ms = timeout_ms;
	*ret = vu;
	return 0;
}

int fe_vu_connect(const char *path, int timeout_ms, struct fe_vu **ret)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	uint64_t deadline = fe_deadline(timeout_ms);
	int err;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			int r = fe_vu_from_fd(fd, timeout_ms, ret);
			if (r < 0) {
				(void)close(fd);
				return r;
			}
			(*ret)->path = strdup(path);
			if (!(*ret)->path) {
				*ret = fe_vu_close(*ret);
				return -ENOMEM;
			}
			return 0;
		}
		err = errno;
		(void)close(fd);
		/* A back-end that is starting or between two connections: retry. */
		if (err != ENOENT && err != ECONNREFUSED && err != EAGAIN)
			return -err;
		if (vt_now_ns() + CONNECT_RETRY_NS > deadline)
			return -err;
		struct timespec ts = {.tv_nsec = CONNECT_RETRY_NS};
		(void)nanosleep(&ts, NULL);
	}
}

struct fe_vu *fe_vu_close(struct fe_vu *vu)
{
	if (!vu)
		return NULL;
	if (vu->fd >= 0)
		(void)close(vu->fd);
	free(vu->path);
	free(vu);
	return NULL;
}

int fe_vu_reconnect(struct fe_vu *vu)
{
	struct fe_vu *fresh;

	if (!vu->path)
		return -ENOTCONN;
	int r = fe_vu_connect(vu->path, vu->timeout_ms, &fresh);
	if (r < 0)
		return fe_vu_fail(vu, r, "reconnect to %s: %s", vu->path, strerror(-r));
	/* Keep the caller's settings, forget the old connection's state. */
	fresh->ack_policy = vu->ack_policy;
	fresh->timeout_ms = vu->timeout_ms;
	if (vu->fd >= 0)
		(void)close(vu->fd);
	free(vu->path);
	*vu = *fresh;
	free(fresh);
	return 0;
}

int fe_vu_hello(struct fe_vu *vu, uint64_t *ret_features)
{
	uint64_t deadline = fe_deadline(vu->timeout_ms);

	for (;;) {
		int r = fe_vu_get_u64(vu, VHOST_USER_GET_FEATURES, ret_features);
		if (r == 0) {
			vu->features = *ret_features;
			return 0;
		}
		/* Only "hung up before answering our very first message" is retried. */
		if (r != -ECONNRESET || vu->msgs_sent > 1 || !vu->path ||
		    vt_now_ns() + CONNECT_RETRY_NS > deadline)
			return r;
		struct timespec ts = {.tv_nsec = CONNECT_RETRY_NS};
		(void)nanosleep(&ts, NULL);
		r = fe_vu_reconnect(vu);
		if (r < 0)
			return r;
	}
}

static int usable(struct fe_vu *vu)
{
	if (vu->fd < 0 || vu->desync)
		return -ENOTCONN;
	if (vu->peer_closed)
		return -ECONNRESET;
	return 0;
}

/* 0 when fd is ready (or in error, which the next I/O reports), -ETIMEDOUT otherwise. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = events};
		int n = poll(&p, 1, fe_remaining_ms(deadline));
		if (n > 0)
			return 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

static int peer_gone(struct fe_vu *vu, const char *what)
{
	vu->peer_closed = true;
	return fe_vu_fail(vu, -ECONNRESET, "back-end closed the connection (%s)", what);
}

int fe_vu_send_raw(struct fe_vu *vu, const void *buf, size_t len, const int *fds, unsigned nfds)
{
	uint64_t deadline = fe_deadline(vu->timeout_ms);
	size_t done = 0;
	int r = usable(vu);

	if (r < 0)
		return fe_vu_fail(vu, r, "send on an unusable connection");
	if (nfds > VHOST_USER_MAX_FDS * 4)
		return fe_vu_fail(vu, -EINVAL, "too many fds to send (%u)", nfds);
	/* fds need at least one byte to ride on; a stream socket drops them otherwise. */
	if (len == 0 && nfds > 0)
		return fe_vu_fail(vu, -EINVAL, "fds without bytes");
	while (done < len) {
		/* Sized for the hostile "too many fds" tests, which go past 8. */
		union {
			char buf[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_FDS * 4)];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = {.iov_base = (uint8_t *)(uintptr_t)buf + done,
				    .iov_len = len - done};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
		if (done == 0 && nfds > 0) {
			memset(&ctl, 0, sizeof(ctl));
			mh.msg_control = ctl.buf;
			mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
			struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
			memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
		}
		ssize_t n = sendmsg(vu->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				r = wait_fd(vu->fd, POLLOUT, deadline);
				if (r == -ETIMEDOUT) {
					/* Part of a message may be out: the stream is unusable. */
					vu->desync = done > 0;
					return fe_vu_fail(
					    vu, r, "back-end stopped reading (send timeout)");
				}
				if (r < 0)
					return fe_vu_fail(vu, r, "poll: %s", strerror(-r));
				continue;
			}
			if (errno == EPIPE || errno == ECONNRESET)
				return peer_gone(vu, "while sending");
			return fe_vu_fail(vu, -errno, "sendmsg: %m");
		}
		done += (size_t)n;
	}
	vu->msgs_sent++;
	return 0;
}

int fe_vu_send_msg(struct fe_vu *vu, const struct vhost_user_header *hdr, const void *payload,
		   size_t len, const int *fds, unsigned nfds)
{
	/* One write, so the fds travel with the header as QEMU sends them. */
	size_t total = sizeof(*hdr) + len;
	uint8_t stackbuf[sizeof(*hdr) + VHOST_USER_PAYLOAD_MAX + 64];
	uint8_t *buf = total <= sizeof(stackbuf) ? stackbuf : malloc(total);
	int r;

	if (!buf)
		return -ENOMEM;
	memcpy(buf, hdr, sizeof(*hdr));
	if (len)
		memcpy(buf + sizeof(*hdr), payload, len);
	vt_debug("-> %s flags 0x%x size %u (%zu bytes, %u fds)", fe_vu_request_name(hdr->request),
		 hdr->flags, hdr->size, len, nfds);
	r = fe_vu_send_raw(vu, buf, total, fds, nfds);
	if (buf != stackbuf)
		free(buf);
	return r;
}

static void close_fds(int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (fds[i] >= 0)
			(void)close(fds[i]);
}

void fe_vu_msg_close_fds(struct fe_vu_msg *msg)
{
	close_fds(msg->fds, msg->nfds);
	msg->nfds = 0;
}

/*
 * Reads exactly len bytes; fds (if fds != NULL) are collected from every
 * recvmsg. A deadline or EOF in the middle leaves the stream unusable.
 */
static int recv_exact(struct fe_vu *vu, void *buf, size_t len, int *fds, unsigned *nfds,
		      uint64_t deadline)
{
	size_t done = 0;

	while (done < len) {
		union {
			char buf[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_FDS)];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = {.iov_base = (uint8_t *)buf + done, .iov_len = len - done};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
		if (fds) {
			mh.msg_control = ctl.buf;
			mh.msg_controllen = sizeof(ctl.buf);
		}
		ssize_t n = recvmsg(vu->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				int r = wait_fd(vu->fd, POLLIN, deadline);
				if (r == -ETIMEDOUT) {
					/* A late reply would be taken for the next one's. */
					vu->desync = true;
					return fe_vu_fail(
					    vu, r, "no reply within %d ms (%zu of %zu bytes)",
					    vu->timeout_ms, done, len);
				}
				if (r < 0)
					return fe_vu_fail(vu, r, "poll: %s", strerror(-r));
				continue;
			}
			if (errno == ECONNRESET)
				return peer_gone(vu, "while receiving");
			return fe_vu_fail(vu, -errno, "recvmsg: %m");
		}
		if (n == 0) {
			vu->desync = done > 0;
			return peer_gone(vu,
					 done ? "in the middle of a reply" : "instead of replying");
		}
		if (fds) {
			for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
				if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
					continue;
				unsigned k = (unsigned)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
				const uint8_t *data = CMSG_DATA(c);
				for (unsigned i = 0; i < k; i++) {
					int fd;
					memcpy(&fd, data + i * sizeof(int), sizeof(int));
					if (*nfds < VHOST_USER_MAX_FDS)
						fds[(*nfds)++] = fd;
					else
						(void)close(fd);
				}
			}
		}
		if (mh.msg_flags & MSG_CTRUNC) {
			vu->desync = true;
			return fe_vu_fail(vu, -EPROTO, "back-end sent more than %d fds",
					  VHOST_USER_MAX_FDS);
		}
		done += (size_t)n;
	}
	return 0;
}

int fe_vu_recv_msg(struct fe_vu *vu, struct fe_vu_msg *ret)
{
	uint64_t deadline = fe_deadline(vu->timeout_ms);
	const uint32_t want_flags = VHOST_USER_VERSION | VHOST_USER_REPLY_MASK;
	int r = usable(vu);

	ret->nfds = 0;
	if (r < 0)
		return fe_vu_fail(vu, r, "receive on an unusable connection");
	r = recv_exact(vu, &ret->hdr, sizeof(ret->hdr), ret->fds, &ret->nfds, deadline);
	if (r < 0)
		goto fail;
	if (ret->hdr.size > VHOST_USER_PAYLOAD_MAX) {
		/* Cannot skip what we will not read: the stream is lost. */
		vu->desync = true;
		r = fe_vu_fail(vu, -EPROTO, "reply to %s claims %u payload bytes (max %u)",
			       fe_vu_request_name(ret->hdr.request), ret->hdr.size,
			       VHOST_USER_PAYLOAD_MAX);
		goto fail;
	}
	r = recv_exact(vu, ret->payload, ret->hdr.size, NULL, NULL, deadline);
	if (r < 0)
		goto fail;
	vt_debug("<- %s flags 0x%x size %u (%u fds)", fe_vu_request_name(ret->hdr.request),
		 ret->hdr.flags, ret->hdr.size, ret->nfds);
	if (ret->hdr.flags != want_flags)
		return fe_vu_fail(vu, -EPROTO, "reply to %s has flags 0x%x; QEMU 7.2 requires 0x%x",
				  fe_vu_request_name(ret->hdr.request), ret->hdr.flags, want_flags);
	return 0;
fail:
	fe_vu_msg_close_fds(ret);
	return r;
}

int fe_vu_recv_reply(struct fe_vu *vu, uint32_t request, void *payload, uint32_t size)
{
	struct fe_vu_msg *msg = malloc(sizeof(*msg));
	int r;

	if (!msg)
		return -ENOMEM;
	r = fe_vu_recv_msg(vu, msg);
	if (r < 0)
		goto out;
	if (msg->nfds > 0) {
		r = fe_vu_fail(vu, -EPROTO, "reply to %s carries %u unexpected fds",
			       fe_vu_request_name(request), msg->nfds);
		goto out;
	}
	if (msg->hdr.request != request) {
		/* A reply to something else: we can no longer pair replies. */
		vu->desync = true;
		r = fe_vu_fail(vu, -EPROTO, "expected a reply to %s, got request %u (%s)",
			       fe_vu_request_name(request), msg->hdr.request,
			       fe_vu_request_name(msg->hdr.request));
		goto out;
	}
	if (msg->hdr.size != size) {
		r = fe_vu_fail(vu, -EPROTO, "reply to %s has size %u, expected %u",
			       fe_vu_request_name(request), msg->hdr.size, size);
		goto out;
	}
	memcpy(payload, msg->payload, size);
out:
	fe_vu_msg_close_fds(msg);
	free(msg);
	return r;
}

int fe_vu_request(struct fe_vu *vu, uint32_t request, const void *payload, uint32_t size,
		  const int *fds, unsigned nfds, unsigned flags)
{
	bool ack =
	    (flags & FE_VU_REQ_FORCE) ||
	    ((flags & FE_VU_REQ_ACK) && fe_vu_has_protocol(vu, VHOST_USER_PROTOCOL_F_REPLY_ACK));
	struct vhost_user_header hdr = {
	    .request = request,
	    .flags = VHOST_USER_VERSION | (ack ? VHOST_USER_NEED_REPLY_MASK : 0),
	    .size = size,
	};
	int r = fe_vu_send_msg(vu, &hdr, payload, size, fds, nfds);

	if (r < 0)
		return r;
	if (ack) {
		uint64_t v;
		r = fe_vu_recv_reply(vu, request, &v, sizeof(v));
		if (r < 0)
			return r;
		vu->last_ack = v;
		if (v != 0)
			return fe_vu_fail(vu, -EREMOTEIO, "back-end refused %s (ack 0x%llx)",
					  fe_vu_request_name(request), (unsigned long long)v);
		return 0;
	}
	if (flags & FE_VU_REQ_PING) {
		/* QEMU's enforce_reply(): any reply proves the request was processed. */
		uint64_t dummy;
		return fe_vu_get_u64(vu, VHOST_USER_GET_FEATURES, &dummy);
	}
	return 0;
}

int fe_vu_call(struct fe_vu *vu, uint32_t request, const void *payload, uint32_t size,
	       const int *fds, unsigned nfds, void *reply, uint32_t reply_size)
{
	struct vhost_user_header hdr = {
	    .request = request, .flags = VHOST_USER_VERSION, .size = size};
	int r = fe_vu_send_msg(vu, &hdr, payload, size, fds, nfds);
	if (r < 0)
		return r;
	return fe_vu_recv_reply(vu, request, reply, reply_size);
}

int fe_vu_get_u64(struct fe_vu *vu, uint32_t request, uint64_t *ret)
{
	return fe_vu_call(vu, request, NULL, 0, NULL, 0, ret, sizeof(*ret));
}

int fe_vu_set_u64(struct fe_vu *vu, uint32_t request, uint64_t value)
{
	unsigned flags = fe_vu_wants_ack(vu, request) ? FE_VU_REQ_ACK : 0;
	return fe_vu_request(vu, request, &value, sizeof(value), NULL, 0, flags);
}

int fe_vu_wait_closed(struct fe_vu *vu, int timeout_ms)
{
	uint64_t deadline = fe_deadline(timeout_ms);
	char c;

	if (vu->peer_closed)
		return 1;
	if (vu->fd < 0)
		return -ENOTCONN;
	for (;;) {
		int r = wait_fd(vu->fd, POLLIN | POLLRDHUP, deadline);
		if (r == -ETIMEDOUT)
			return 0;
		if (r < 0)
			return r;
		ssize_t n = recv(vu->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno == ECONNRESET)) {
			vu->peer_closed = true;
			return 1;
		}
		if (n > 0)
			return fe_vu_fail(vu, -EPROTO, "unexpected message from the back-end");
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
	}
}
