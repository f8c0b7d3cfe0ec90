/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vhost-user message I/O on a connected SOCK_STREAM socket: one message =
 * 12-byte header + payload (≤ VHOST_USER_PAYLOAD_MAX) + SCM_RIGHTS fds
 * (≤ VHOST_USER_MAX_FDS) on the header's recvmsg. Malformed framing (short
 * header, bad version, oversized payload, too many fds) is a connection
 * error: the stream cannot be resynchronised.
 */
#ifndef VTRUST_VU_MSG_H
#define VTRUST_VU_MSG_H

#include <stdint.h>

#include "compiler.h"
#include "vhost_user_proto.h"

struct vt_vu_msg {
	struct vhost_user_header hdr;
	union {
		uint8_t raw[VHOST_USER_PAYLOAD_MAX];
		uint64_t u64;
		struct vhost_vring_state state;
		struct vhost_vring_addr addr;
		struct vhost_user_memory mem;
		struct vhost_user_mem_reg_single reg;
		struct vhost_user_config cfg;
		struct vhost_user_transfer_device_state xfer;
	} p;
	int fds[VHOST_USER_MAX_FDS];
	unsigned nfds;
};

/*
 * A message started must be complete, and a reply sent, within this time;
 * the wait also ends when cancel_fd becomes readable (daemon stop).
 */
#define VT_VU_MSG_TIMEOUT_MS 10000

/*
 * 0 on success; -EAGAIN if nothing was there after all (non-blocking socket);
 * -EPIPE on orderly EOF; -EPROTO on bad framing; -ETIMEDOUT (torn message),
 * -ECANCELED (cancel_fd), -errno otherwise.
 */
int vt_vu_recv(int sock, int cancel_fd, struct vt_vu_msg *m) VT_MUST_USE;

/*
 * Sends a reply to req: flags exactly VERSION|REPLY (QEMU 7.2 insists on
 * 0x5). Never blocks for longer than VT_VU_MSG_TIMEOUT_MS or past cancel_fd.
 */
int vt_vu_send_reply(int sock, int cancel_fd, uint32_t request, const void *payload,
		     uint32_t size) VT_MUST_USE;

/* Closes every fd the message still carries. */
void vt_vu_msg_close_fds(struct vt_vu_msg *m);

/* Takes fd i out of the message (the caller owns it); -1 if absent. */
int vt_vu_msg_take_fd(struct vt_vu_msg *m, unsigned i);

/* The request's name from the request table (vu_dispatch.c); "UNKNOWN" if none. */
const char *vt_vu_request_name(uint32_t request);

#endif
