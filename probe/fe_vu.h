/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vhost-user front-end (client) connection: the VMM half of the protocol.
 *
 * Replies are checked the way QEMU 7.2 checks them (hw/virtio/vhost-user.c):
 * flags exactly 0x5, the request number echoed, the payload size exact for
 * typed replies and never above VHOST_USER_PAYLOAD_MAX. Every wait has a
 * deadline (timeout_ms), so a back-end that hangs shows up as -ETIMEDOUT.
 *
 * Errors (negative errno):
 *   -ETIMEDOUT   no (complete) reply before the deadline
 *   -ECONNRESET  the back-end closed the connection (vu->peer_closed is set)
 *   -EREMOTEIO   the back-end refused: REPLY_ACK u64 != 0 (vu->last_ack), an
 *                empty GET_CONFIG reply, a device-state error code
 *   -EPROTO      the reply broke the protocol (reason in vu->error); when the
 *                byte stream can no longer be trusted vu->desync is set and
 *                every later call fails with -ENOTCONN
 * The last failure's description is always in vu->error.
 */
#ifndef VTRUST_PROBE_FE_VU_H
#define VTRUST_PROBE_FE_VU_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "compiler.h"
#include "vhost_user_proto.h"

struct fe_mem;

/* When typed helpers set NEED_REPLY (only ever with REPLY_ACK negotiated). */
enum fe_vu_ack_policy {
	FE_VU_ACK_QEMU, /* where QEMU 7.2 does: MEM_TABLE, ADD/REM_MEM_REG, SET_CONFIG, SET_STATUS
			 */
	FE_VU_ACK_ALL,	/* on every request that has no reply of its own */
	FE_VU_ACK_NONE,
};

/* Flags for fe_vu_request(). */
#define FE_VU_REQ_ACK 0x1u   /* set NEED_REPLY and read the u64 ack, if REPLY_ACK was acked */
#define FE_VU_REQ_PING 0x2u  /* without REPLY_ACK, sync with a GET_FEATURES (QEMU enforce_reply) */
#define FE_VU_REQ_FORCE 0x4u /* set NEED_REPLY and read the ack even if REPLY_ACK was not acked */

struct fe_vu {
	int fd;
	char *path; /* for fe_vu_reconnect(); NULL when made from an fd */
	int timeout_ms;
	pid_t peer_pid; /* SO_PEERCRED, 0 if unknown */
	bool peer_closed;
	bool desync;
	enum fe_vu_ack_policy ack_policy;

	/* What negotiation learnt and sent. */
	uint64_t features;	    /* last GET_FEATURES reply */
	uint64_t protocol_features; /* GET_PROTOCOL_FEATURES reply */
	uint64_t acked_protocol;    /* last SET_PROTOCOL_FEATURES */
	uint64_t acked_features;    /* last SET_FEATURES */
	uint64_t queue_num;	    /* GET_QUEUE_NUM reply, 0 if not asked */
	uint64_t max_mem_slots;	    /* GET_MAX_MEM_SLOTS reply, 0 if not asked */
	uint64_t last_ack;	    /* last REPLY_ACK payload */

	/* Regions added with ADD_MEM_REG, so a restart only adds new ones. */
	struct vhost_user_mem_region slots[VT_MAX_MEM_SLOTS];
	unsigned nslots;

	uint64_t msgs_sent;
	char error[256];
};

/* A received message (reply). fds are owned by the caller: fe_vu_msg_close_fds(). */
struct fe_vu_msg {
	struct vhost_user_header hdr;
	uint8_t payload[VHOST_USER_PAYLOAD_MAX];
	int fds[VHOST_USER_MAX_FDS];
	unsigned nfds;
};

/* Connects, retrying ENOENT/ECONNREFUSED until timeout_ms has passed. */
VT_MUST_USE int fe_vu_connect(const char *path, int timeout_ms, struct fe_vu **ret);
/* Wraps a connected socket (tests use a socketpair); takes ownership of fd. */
VT_MUST_USE int fe_vu_from_fd(int fd, int timeout_ms, struct fe_vu **ret);
/* Accepts NULL; returns NULL. */
struct fe_vu *fe_vu_close(struct fe_vu *vu);
/* A new connection to the same path; everything learnt is forgotten. */
VT_MUST_USE int fe_vu_reconnect(struct fe_vu *vu);
/*
 * The first GET_FEATURES of a connection. A single-connection back-end that
 * has not yet noticed our previous connection went away accepts and then
 * hangs up on the new one; while that happens (closed before any reply) we
 * reconnect and ask again, until timeout_ms. Proves the back-end took us.
 */
VT_MUST_USE int fe_vu_hello(struct fe_vu *vu, uint64_t *ret_features);

const char *fe_vu_request_name(uint32_t request);
bool fe_vu_has_protocol(const struct fe_vu *vu, unsigned bit); /* acked protocol feature */
/* Would a typed helper set NEED_REPLY on this request under the current policy? */
bool fe_vu_wants_ack(const struct fe_vu *vu, uint32_t request);
/* 1 if the back-end closed the connection within timeout_ms, 0 if not, <0 on error. */
VT_MUST_USE int fe_vu_wait_closed(struct fe_vu *vu, int timeout_ms);

/* ---- Raw access, for hostile-input tests: nothing is validated. ---- */

/* Writes len arbitrary bytes; fds ride on the first byte. */
VT_MUST_USE int fe_vu_send_raw(struct fe_vu *vu, const void *buf, size_t len, const int *fds,
			       unsigned nfds);
/* Writes hdr as given (its size may lie) followed by len payload bytes. */
VT_MUST_USE int fe_vu_send_msg(struct fe_vu *vu, const struct vhost_user_header *hdr,
			       const void *payload, size_t len, const int *fds, unsigned nfds);
/*
 * Reads one message with QEMU's header checks (flags 0x5, size bound); the
 * caller checks request and size. -EPROTO with the message filled in when
 * only the flags were wrong.
 */
VT_MUST_USE int fe_vu_recv_msg(struct fe_vu *vu, struct fe_vu_msg *ret);
void fe_vu_msg_close_fds(struct fe_vu_msg *msg);
/* Reads a reply to request with exactly size payload bytes (fds are refused). */
VT_MUST_USE int fe_vu_recv_reply(struct fe_vu *vu, uint32_t request, void *payload, uint32_t size);

/* ---- Generic requests. ---- */

/* A request without a reply of its own; flags FE_VU_REQ_*. */
VT_MUST_USE int fe_vu_request(struct fe_vu *vu, uint32_t request, const void *payload,
			      uint32_t size, const int *fds, unsigned nfds, unsigned flags);
/* A request with a typed reply of exactly reply_size bytes. */
VT_MUST_USE int fe_vu_call(struct fe_vu *vu, uint32_t request, const void *payload, uint32_t size,
			   const int *fds, unsigned nfds, void *reply, uint32_t reply_size);
VT_MUST_USE int fe_vu_get_u64(struct fe_vu *vu, uint32_t request, uint64_t *ret);
/* Sends a u64 request; NEED_REPLY per policy. */
VT_MUST_USE int fe_vu_set_u64(struct fe_vu *vu, uint32_t request, uint64_t value);

/* ---- Typed helpers (fe_vu_req.c). NEED_REPLY follows vu->ack_policy. ---- */

VT_MUST_USE int fe_vu_get_features(struct fe_vu *vu, uint64_t *ret);
VT_MUST_USE int fe_vu_set_features(struct fe_vu *vu, uint64_t features);
VT_MUST_USE int fe_vu_get_protocol_features(struct fe_vu *vu, uint64_t *ret);
VT_MUST_USE int fe_vu_set_protocol_features(struct fe_vu *vu, uint64_t features);
VT_MUST_USE int fe_vu_get_queue_num(struct fe_vu *vu, uint64_t *ret);
VT_MUST_USE int fe_vu_set_owner(struct fe_vu *vu);
VT_MUST_USE int fe_vu_reset_owner(struct fe_vu *vu);
VT_MUST_USE int fe_vu_reset_device(struct fe_vu *vu);

/* SET_MEM_TABLE with every region of mem (at most 8), one memfd copy per region. */
VT_MUST_USE int fe_vu_set_mem_table(struct fe_vu *vu, const struct fe_mem *mem);
/* Arbitrary table: nregions is sent as given; the payload holds min(n, 8) regions. */
VT_MUST_USE int fe_vu_set_mem_table_raw(struct fe_vu *vu, uint32_t nregions,
					const struct vhost_user_mem_region *regions, const int *fds,
					unsigned nfds);
VT_MUST_USE int fe_vu_get_max_mem_slots(struct fe_vu *vu, uint64_t *ret);
VT_MUST_USE int fe_vu_add_mem_reg(struct fe_vu *vu, const struct vhost_user_mem_region *region,
				  int fd);
VT_MUST_USE int fe_vu_rem_mem_reg(struct fe_vu *vu, const struct vhost_user_mem_region *region);
/* Adds every region of mem not yet added (QEMU's CONFIGURE_MEM_SLOTS path). */
VT_MUST_USE int fe_vu_sync_mem_slots(struct fe_vu *vu, const struct fe_mem *mem);

VT_MUST_USE int fe_vu_set_vring_num(struct fe_vu *vu, uint32_t index, uint32_t num);
VT_MUST_USE int fe_vu_set_vring_base(struct fe_vu *vu, uint32_t index, uint32_t base);
VT_MUST_USE int fe_vu_get_vring_base(struct fe_vu *vu, uint32_t index, uint32_t *ret_base);
VT_MUST_USE int fe_vu_set_vring_addr(struct fe_vu *vu, const struct vhost_vring_addr *addr);
/* fd < 0 sends the NOFD bit. index is the full u64 low byte; higher bits are kept as given. */
VT_MUST_USE int fe_vu_set_vring_kick(struct fe_vu *vu, uint32_t index, int fd);
VT_MUST_USE int fe_vu_set_vring_call(struct fe_vu *vu, uint32_t index, int fd);
VT_MUST_USE int fe_vu_set_vring_err(struct fe_vu *vu, uint32_t index, int fd);
VT_MUST_USE int fe_vu_set_vring_enable(struct fe_vu *vu, uint32_t index, bool enable);

/* Reads size bytes of config at offset into buf. -EREMOTEIO on an empty reply. */
VT_MUST_USE int fe_vu_get_config(struct fe_vu *vu, uint32_t offset, uint32_t size, uint32_t flags,
				 uint8_t *buf);
VT_MUST_USE int fe_vu_set_config(struct fe_vu *vu, uint32_t offset, uint32_t flags,
				 const uint8_t *buf, uint32_t size);
VT_MUST_USE int fe_vu_set_status(struct fe_vu *vu, uint8_t status);
VT_MUST_USE int fe_vu_get_status(struct fe_vu *vu, uint8_t *ret);

/*
 * CREATE_CRYPTO_SESSION: sends len raw bytes (632 for the QEMU 7.2 layout,
 * 1072 for newer QEMU) and reads a reply of exactly len bytes into out.
 * CLOSE_CRYPTO_SESSION has no reply (QEMU 7.2 never waits for one).
 */
VT_MUST_USE int fe_vu_create_crypto_session(struct fe_vu *vu, const void *in, uint32_t len,
					    void *out);
VT_MUST_USE int fe_vu_close_crypto_session(struct fe_vu *vu, uint64_t session_id);

/* ---- Device state transfer, protocol feature 19 (fe_vu_state.c). ---- */

/*
 * SET_DEVICE_STATE_FD: sends {direction, phase} and fd. On success
 * *ret_fd is the back-end's own pipe end when it returned one (reply bit 8
 * clear), else -1. Back-end error codes (reply bits 0-7) give -EREMOTEIO.
 */
VT_MUST_USE int fe_vu_set_device_state_fd(struct fe_vu *vu, uint32_t direction, uint32_t phase,
					  int fd, int *ret_fd);
/* CHECK_DEVICE_STATE: 0 if the back-end answered u64 0, else -EREMOTEIO. */
VT_MUST_USE int fe_vu_check_device_state(struct fe_vu *vu);
/* Whole save: pipe, SET_DEVICE_STATE_FD(save), read to EOF, CHECK. *ret_buf is malloc'ed. */
VT_MUST_USE int fe_vu_save_state(struct fe_vu *vu, uint8_t **ret_buf, size_t *ret_len);
/* Whole load: pipe, SET_DEVICE_STATE_FD(load), write buf then EOF, CHECK. */
VT_MUST_USE int fe_vu_load_state(struct fe_vu *vu, const uint8_t *buf, size_t len);

/* Internal to fe_vu*.c: record a failure reason and return err. */
int fe_vu_fail(struct fe_vu *vu, int err, const char *fmt, ...) VT_PRINTF(3, 4);

#endif
