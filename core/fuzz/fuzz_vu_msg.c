/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: the vhost-user message decoder and dispatcher.
 * Target functions: vt_device_handle_message and every handler behind the
 * message table (memory tables, vring setup, config, device state, extra
 * messages), plus ring service after a fuzzed set-up.
 *
 * Input: a sequence of [12-byte header][payload of header.size bytes]. Bits
 * of header.flags the protocol does not use steer the harness:
 *   4-6    how many fds travel with the message;
 *   8-11   what they are (a hostile front-end chooses, issue 17): 0 = what
 *          the request wants (eventfd for kick/call/err, a pipe end for
 *          device state, a 64 KiB memfd otherwise), then eventfd, pipe read
 *          end, pipe write end, stream socket (SO_RCVLOWAT 8, one byte
 *          queued), full datagram socket, /dev/null, timerfd, epoll, 64 KiB
 *          memfd, empty memfd;
 *   12     the message's memfds shrink to 0 bytes once it was handled, so
 *          the rings served next touch vanished memory (SIGBUS contained).
 * Nothing may block: a wait on a front-end's fd hangs the fuzzer.
 */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/timerfd.h>

#include "device.h"
#include "echo_device.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint16_t fz_nq(void *priv)
{
	(void)priv;
	return 3;
}

static int fz_get_config(void *priv, uint32_t off, void *buf, uint32_t len)
{
	(void)priv;
	if (off > 16 || len > 16 - off)
		return -EINVAL;
	memset(buf, 0x42, len);
	return 0;
}

static int fz_extra(void *priv, uint32_t req, const void *p, uint32_t size, void *reply,
		    uint32_t *reply_size)
{
	(void)priv;
	if (req != VHOST_USER_CREATE_CRYPTO_SESSION)
		return 0;
	memcpy(reply, p, size);
	*reply_size = size;
	return 0;
}

static int fz_save(void *priv, int fd)
{
	(void)priv;
	return vt_state_write(fd, "state", 5);
}

static int fz_load(void *priv, int fd)
{
	(void)priv;
	char b[64];
	ssize_t r;
	while ((r = vt_state_read(fd, b, sizeof(b))) > 0)
		;
	return r < 0 ? (int)r : 0;
}

static const struct vt_device_ops fz_ops = {
	.type = "fuzz",
	.num_queues = fz_nq,
	.max_queue_size = 256,
	.protocol_features = VT_BIT(VHOST_USER_PROTOCOL_F_CONFIG),
	.get_config = fz_get_config,
	.queue_handle = echo_handle,
	.extra_message = fz_extra,
	.save_state = fz_save,
	.load_state = fz_load,
};

/* Peers we keep while a message is handled (closed afterwards). */
struct held {
	int fd[2 * VHOST_USER_MAX_FDS];
	unsigned n;
	int shrink[VHOST_USER_MAX_FDS]; /* our copies of memfds to truncate */
	unsigned nshrink;
};

static void hold(struct held *h, int fd)
{
	if (fd >= 0 && h->n < VT_ARRAY_SIZE(h->fd))
		h->fd[h->n++] = fd;
	else if (fd >= 0)
		close(fd);
}

static int memfd_sized(struct held *h, off_t len, bool shrink)
{
	int fd = memfd_create("fz", MFD_CLOEXEC);
	if (fd >= 0 && ftruncate(fd, len) < 0) {
		close(fd);
		return -1;
	}
	if (fd >= 0 && shrink && h->nshrink < VT_ARRAY_SIZE(h->shrink))
		h->shrink[h->nshrink++] = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	return fd;
}

enum fd_kind {
	FK_NATURAL,
	FK_EVENTFD,
	FK_PIPE_READ,
	FK_PIPE_WRITE,
	FK_STREAM_LOWAT,
	FK_DGRAM_FULL,
	FK_DEVNULL,
	FK_TIMERFD,
	FK_EPOLL,
	FK_MEMFD,
	FK_MEMFD_EMPTY,
};

static int make_fd(struct held *h, enum fd_kind k, uint32_t req, const struct vt_vu_msg *m,
		   bool shrink)
{
	int p[2];
	if (k == FK_NATURAL) {
		if (req == VHOST_USER_SET_VRING_KICK || req == VHOST_USER_SET_VRING_CALL ||
		    req == VHOST_USER_SET_VRING_ERR)
			k = FK_EVENTFD;
		else if (req == VHOST_USER_SET_DEVICE_STATE_FD)
			k = m->p.xfer.direction == VHOST_USER_TRANSFER_STATE_DIRECTION_SAVE
				? FK_PIPE_WRITE
				: FK_PIPE_READ;
		else
			k = FK_MEMFD;
	}
	switch (k) {
	case FK_EVENTFD:
		return eventfd(0, EFD_CLOEXEC);
	case FK_PIPE_READ:
		if (pipe2(p, O_CLOEXEC) < 0)
			return -1;
		if (write(p[1], "state", 5) != 5) {
			/* empty pipe: EOF at once */
		}
		close(p[1]);
		return p[0];
	case FK_PIPE_WRITE:
		if (pipe2(p, O_CLOEXEC) < 0)
			return -1;
		hold(h, p[0]);
		return p[1];
	case FK_STREAM_LOWAT: {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) < 0)
			return -1;
		int eight = 8;
		(void)setsockopt(p[0], SOL_SOCKET, SO_RCVLOWAT, &eight, sizeof(eight));
		if (write(p[1], "x", 1) != 1) {
			/* nothing queued then */
		}
		hold(h, p[1]);
		return p[0];
	}
	case FK_DGRAM_FULL: {
		if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, p) < 0)
			return -1;
		uint64_t v = 1;
		for (int i = 0; i < 4096 && write(p[0], &v, sizeof(v)) == (ssize_t)sizeof(v); i++)
			;
		(void)fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) & ~O_NONBLOCK);
		hold(h, p[1]);
		return p[0];
	}
	case FK_DEVNULL:
		return open("/dev/null", O_RDWR | O_CLOEXEC);
	case FK_TIMERFD:
		return timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	case FK_EPOLL:
		return epoll_create1(EPOLL_CLOEXEC);
	case FK_MEMFD_EMPTY:
		return memfd_sized(h, 0, shrink);
	case FK_NATURAL:
	case FK_MEMFD:
	default:
		return memfd_sized(h, 65536, shrink);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;
	if (!init) {
		signal(SIGPIPE, SIG_IGN); /* state pipes whose reader went away */
		vt_guestmem_set_prefault(false);
		vt_log_set_level(VT_LOG_ERR - 1);
		init = true;
	}
	struct vt_device *d = vt_device_new("fuzz", &fz_ops, NULL);
	if (!d)
		return 0;
	d->manual_queues = true;
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sp) < 0) {
		vt_device_free(d);
		return 0;
	}
	d->conn_fd = sp[0];

	size_t off = 0;
	while (size - off >= sizeof(struct vhost_user_header)) {
		struct vt_vu_msg m;
		memcpy(&m.hdr, data + off, sizeof(m.hdr));
		off += sizeof(m.hdr);
		unsigned nfds = (m.hdr.flags >> 4) & 7;
		enum fd_kind kind = (enum fd_kind)((m.hdr.flags >> 8) & 15);
		bool shrink = m.hdr.flags & (1u << 12);
		m.hdr.flags &= ~((7u << 4) | (31u << 8));
		if (m.hdr.size > VHOST_USER_PAYLOAD_MAX || m.hdr.size > size - off)
			break; /* vt_vu_recv drops such framing before dispatch */
		memcpy(m.p.raw, data + off, m.hdr.size);
		off += m.hdr.size;
		m.nfds = nfds;
		struct held h = {.n = 0};
		for (unsigned i = 0; i < VHOST_USER_MAX_FDS; i++)
			m.fds[i] = i < nfds ? make_fd(&h, kind, m.hdr.request, &m, shrink) : -1;
		int r = vt_device_handle_message(d, &m);
		/* Memory that vanishes after it was mapped. */
		for (unsigned i = 0; i < h.nshrink; i++) {
			if (h.shrink[i] >= 0) {
				(void)!ftruncate(h.shrink[i], 0);
				close(h.shrink[i]);
			}
		}
		for (unsigned i = 0; i < h.n; i++)
			close(h.fd[i]);
		char sink[8192];
		while (read(sp[1], sink, sizeof(sink)) > 0)
			;
		if (r < 0) {
			vt_device_disconnect(d); /* closes sp[0] */
			break;
		}
		/* Serve whatever rings the input managed to start. */
		for (unsigned i = 0; i < d->nqueues; i++) {
			struct vt_queue *q = &d->queues[i];
			if (q->started && !q->broken)
				echo_handle(NULL, q);
		}
	}
	if (d->conn_fd == sp[0])
		d->conn_fd = sp[0]; /* still ours: vt_device_free closes it */
	close(sp[1]);
	vt_device_free(d);
	return 0;
}
