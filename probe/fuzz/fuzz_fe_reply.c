/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Target: fe_vu reply parsing (fe_vu_recv_msg/recv_reply and the typed
 * helpers' checks) on an arbitrary back-end byte stream.
 * Input: byte 0 = first operation, then the stream the "back-end" sends.
 * The operations run in turn until one fails; none may crash or hang.
 */
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "fe_vu.h"
#include "virtio_ring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int op(struct fe_vu *vu, unsigned k)
{
	uint64_t v;
	uint32_t base;
	uint8_t cfg[16], sess[VHOST_USER_CRYPTO_SESSION_SIZE_72] = {0}, out[sizeof(sess)];
	uint8_t st;
	int fd;

	switch (k % 9) {
	case 0:
		return fe_vu_get_features(vu, &v);
	case 1:
		return fe_vu_get_vring_base(vu, 0, &base);
	case 2:
		return fe_vu_get_config(vu, 0, sizeof(cfg), 0, cfg);
	case 3: {
		/* Any fd will do: the stream decides whether one comes back. */
		int r = fe_vu_set_device_state_fd(vu, 0, 0, vu->fd, &fd);
		if (r == 0 && fd >= 0)
			(void)close(fd);
		return r;
	}
	case 4:
		return fe_vu_create_crypto_session(vu, sess, sizeof(sess), out);
	case 5:
		return fe_vu_set_vring_num(vu, 0, 256); /* acked: reads a u64 ack */
	case 6:
		return fe_vu_get_status(vu, &st);
	case 7:
		return fe_vu_check_device_state(vu);
	default: {
		struct fe_vu_msg m;
		int r = fe_vu_recv_msg(vu, &m);
		fe_vu_msg_close_fds(&m);
		return r;
	}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sv[2];
	struct fe_vu *vu;

	if (size < 1 || size > 60000)
		return 0;
	(void)signal(SIGPIPE, SIG_IGN);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return 0;
	/* The whole stream is queued, then EOF: no read ever waits. */
	if (write(sv[1], data + 1, size - 1) != (ssize_t)(size - 1)) {
		(void)close(sv[0]);
		(void)close(sv[1]);
		return 0;
	}
	(void)shutdown(sv[1], SHUT_WR);
	if (fe_vu_from_fd(sv[0], 100, &vu) < 0) {
		(void)close(sv[0]);
		(void)close(sv[1]);
		return 0;
	}
	/* Every typed helper, including the NEED_REPLY path. */
	vu->acked_protocol = VT_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK);
	vu->ack_policy = FE_VU_ACK_ALL;
	for (unsigned i = 0; i < 64; i++)
		if (op(vu, data[0] + i) < 0 && (vu->desync || vu->peer_closed))
			break;
	fe_vu_close(vu);
	(void)close(sv[1]);
	return 0;
}
