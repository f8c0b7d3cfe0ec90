/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: the vhost-user message decoder and dispatcher.
 * Target functions: vt_device_handle_message and every handler behind the
 * message table (memory tables, vring setup, config, device state, extra
 * messages), plus ring service after a fuzzed set-up.
 *
 * Input: a sequence of [12-byte header][payload of header.size bytes]. Bits
 * 4-6 of header.flags (unused by the protocol) choose how many fds travel
 * with the message: 64 KiB memfds, so SET_MEM_TABLE/ADD_MEM_REG can map
 * real memory and SET_VRING_KICK/CALL get real fds.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "device.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vt_verdict fz_chain(void *priv, struct vt_queue *q, struct vt_chain *c)
{
	(void)priv;
	(void)q;
	size_t n = VT_MIN(vt_chain_readable(c), vt_chain_writable(c));
	return vt_chain_copy(c, n) < 0 ? vt_malformed() : vt_used(n);
}

static const struct vt_server fz_server = {.chain = fz_chain};

static void fz_handle(void *priv, struct vt_queue *q)
{
	(void)vt_queue_serve(q, &fz_server, priv);
}

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
	ssize_t w = write(fd, "state", 5);
	return w == 5 ? 0 : -EIO;
}

static int fz_load(void *priv, int fd)
{
	(void)priv;
	char b[64];
	while (read(fd, b, sizeof(b)) > 0)
		;
	return 0;
}

static const struct vt_device_ops fz_ops = {
	.type = "fuzz",
	.num_queues = fz_nq,
	.max_queue_size = 256,
	.protocol_features = VT_BIT(VHOST_USER_PROTOCOL_F_CONFIG),
	.get_config = fz_get_config,
	.queue_handle = fz_handle,
	.extra_message = fz_extra,
	.save_state = fz_save,
	.load_state = fz_load,
};

static int memfd_64k(void)
{
	int fd = memfd_create("fz", MFD_CLOEXEC);
	if (fd >= 0 && ftruncate(fd, 65536) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;
	if (!init) {
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
		m.hdr.flags &= ~(7u << 4);
		if (m.hdr.size > VHOST_USER_PAYLOAD_MAX || m.hdr.size > size - off)
			break; /* vt_vu_recv drops such framing before dispatch */
		memcpy(m.p.raw, data + off, m.hdr.size);
		off += m.hdr.size;
		m.nfds = nfds;
		for (unsigned i = 0; i < VHOST_USER_MAX_FDS; i++)
			m.fds[i] = i < nfds ? memfd_64k() : -1;
		int r = vt_device_handle_message(d, &m);
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
				fz_handle(NULL, q);
		}
	}
	if (d->conn_fd == sp[0])
		d->conn_fd = sp[0]; /* still ours: vt_device_free closes it */
	close(sp[1]);
	vt_device_free(d);
	return 0;
}
