/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vhost-user wire format (docs/interop/vhost-user.rst) as QEMU 7.2 speaks it.
 * Shared by the back-end (core/vu_*.c) and the probe's front-end.
 *
 * A message is a 12-byte header in host byte order followed by `size`
 * payload bytes; file descriptors travel as SCM_RIGHTS on the same sendmsg.
 */
#ifndef VTRUST_VHOST_USER_PROTO_H
#define VTRUST_VHOST_USER_PROTO_H

#include <stdint.h>

#include "compiler.h"

enum vhost_user_request {
	VHOST_USER_NONE = 0,
	VHOST_USER_GET_FEATURES = 1,
	VHOST_USER_SET_FEATURES = 2,
	VHOST_USER_SET_OWNER = 3,
	VHOST_USER_RESET_OWNER = 4,
	VHOST_USER_SET_MEM_TABLE = 5,
	VHOST_USER_SET_LOG_BASE = 6,
	VHOST_USER_SET_LOG_FD = 7,
	VHOST_USER_SET_VRING_NUM = 8,
	VHOST_USER_SET_VRING_ADDR = 9,
	VHOST_USER_SET_VRING_BASE = 10,
	VHOST_USER_GET_VRING_BASE = 11,
	VHOST_USER_SET_VRING_KICK = 12,
	VHOST_USER_SET_VRING_CALL = 13,
	VHOST_USER_SET_VRING_ERR = 14,
	VHOST_USER_GET_PROTOCOL_FEATURES = 15,
	VHOST_USER_SET_PROTOCOL_FEATURES = 16,
	VHOST_USER_GET_QUEUE_NUM = 17,
	VHOST_USER_SET_VRING_ENABLE = 18,
	VHOST_USER_SEND_RARP = 19,
	VHOST_USER_NET_SET_MTU = 20,
	VHOST_USER_SET_BACKEND_REQ_FD = 21,
	VHOST_USER_IOTLB_MSG = 22,
	VHOST_USER_SET_VRING_ENDIAN = 23,
	VHOST_USER_GET_CONFIG = 24,
	VHOST_USER_SET_CONFIG = 25,
	VHOST_USER_CREATE_CRYPTO_SESSION = 26,
	VHOST_USER_CLOSE_CRYPTO_SESSION = 27,
	VHOST_USER_POSTCOPY_ADVISE = 28,
	VHOST_USER_POSTCOPY_LISTEN = 29,
	VHOST_USER_POSTCOPY_END = 30,
	VHOST_USER_GET_INFLIGHT_FD = 31,
	VHOST_USER_SET_INFLIGHT_FD = 32,
	VHOST_USER_GPU_SET_SOCKET = 33,
	VHOST_USER_RESET_DEVICE = 34,
	VHOST_USER_VRING_KICK = 35,
	VHOST_USER_GET_MAX_MEM_SLOTS = 36,
	VHOST_USER_ADD_MEM_REG = 37,
	VHOST_USER_REM_MEM_REG = 38,
	VHOST_USER_SET_STATUS = 39,
	VHOST_USER_GET_STATUS = 40,
	VHOST_USER_GET_SHARED_OBJECT = 41,
	VHOST_USER_SET_DEVICE_STATE_FD = 42,
	VHOST_USER_CHECK_DEVICE_STATE = 43,
	VHOST_USER_MAX_REQUEST
};

/* Header flags. QEMU 7.2 accepts a reply only if flags == 0x5. */
#define VHOST_USER_VERSION 0x1u
#define VHOST_USER_VERSION_MASK 0x3u
#define VHOST_USER_REPLY_MASK (0x1u << 2)
#define VHOST_USER_NEED_REPLY_MASK (0x1u << 3)

/* Virtio feature bits that only exist in vhost-user. */
#define VHOST_F_LOG_ALL 26
#define VHOST_USER_F_PROTOCOL_FEATURES 30

/* Protocol feature bits. */
#define VHOST_USER_PROTOCOL_F_MQ 0
#define VHOST_USER_PROTOCOL_F_LOG_SHMFD 1
#define VHOST_USER_PROTOCOL_F_RARP 2
#define VHOST_USER_PROTOCOL_F_REPLY_ACK 3
#define VHOST_USER_PROTOCOL_F_MTU 4
#define VHOST_USER_PROTOCOL_F_BACKEND_REQ 5
#define VHOST_USER_PROTOCOL_F_CROSS_ENDIAN 6
#define VHOST_USER_PROTOCOL_F_CRYPTO_SESSION 7
#define VHOST_USER_PROTOCOL_F_PAGEFAULT 8
#define VHOST_USER_PROTOCOL_F_CONFIG 9
#define VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD 10
#define VHOST_USER_PROTOCOL_F_HOST_NOTIFIER 11
#define VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD 12
#define VHOST_USER_PROTOCOL_F_RESET_DEVICE 13
#define VHOST_USER_PROTOCOL_F_INBAND_NOTIFICATIONS 14
#define VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS 15
#define VHOST_USER_PROTOCOL_F_STATUS 16
#define VHOST_USER_PROTOCOL_F_DEVICE_STATE 19

/* SET_VRING_KICK/CALL/ERR payload: vring index in bits 0-7, bit 8 = no fd. */
#define VHOST_USER_VRING_IDX_MASK 0xffu
#define VHOST_USER_VRING_NOFD_MASK (0x1u << 8)

/* Memory regions: 8 in SET_MEM_TABLE; more only through ADD_MEM_REG. */
#define VHOST_MEMORY_BASELINE_NREGIONS 8
#define VT_MAX_MEM_SLOTS 32

/* Largest payload QEMU 7.2 may send or accept (its VhostUserPayload union). */
#define VHOST_USER_PAYLOAD_MAX 4096u
#define VHOST_USER_MAX_FDS 8

struct vhost_user_header {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
};
VT_STATIC_ASSERT(sizeof(struct vhost_user_header) == 12, "header is 12 bytes");

struct vhost_vring_state {
	uint32_t index;
	uint32_t num;
};
VT_STATIC_ASSERT(sizeof(struct vhost_vring_state) == 8, "vring state is 8 bytes");

#define VHOST_VRING_F_LOG 0
struct vhost_vring_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc_user_addr;
	uint64_t used_user_addr;
	uint64_t avail_user_addr;
	uint64_t log_guest_addr;
};
VT_STATIC_ASSERT(sizeof(struct vhost_vring_addr) == 40, "vring addr is 40 bytes");

struct vhost_user_mem_region {
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr;
	uint64_t mmap_offset;
};
VT_STATIC_ASSERT(sizeof(struct vhost_user_mem_region) == 32, "region is 32 bytes");

struct vhost_user_memory {
	uint32_t nregions;
	uint32_t padding;
	struct vhost_user_mem_region regions[VHOST_MEMORY_BASELINE_NREGIONS];
};
VT_STATIC_ASSERT(sizeof(struct vhost_user_memory) == 8 + 8 * 32, "mem table");

struct vhost_user_mem_reg_single {
	uint64_t padding;
	struct vhost_user_mem_region region;
};
VT_STATIC_ASSERT(sizeof(struct vhost_user_mem_reg_single) == 40, "single region is 40 bytes");

#define VHOST_USER_CONFIG_HDR_SIZE 12u
#define VHOST_USER_MAX_CONFIG_SIZE 256u
struct vhost_user_config {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
	uint8_t region[VHOST_USER_MAX_CONFIG_SIZE];
};

/* QEMU 7.2 CREATE_CRYPTO_SESSION payload (VhostUserCryptoSession): 632 bytes. */
#define VHOST_USER_CRYPTO_SESSION_SIZE_72 632u
/* Newer QEMU (>= 8.1): u64 op_code + union { sym, asym } + session_id: 1072 bytes. */
#define VHOST_USER_CRYPTO_SESSION_SIZE_NEW 1072u

/* SET_DEVICE_STATE_FD payload. */
#define VHOST_USER_TRANSFER_STATE_DIRECTION_SAVE 0u
#define VHOST_USER_TRANSFER_STATE_DIRECTION_LOAD 1u
#define VHOST_USER_TRANSFER_STATE_PHASE_STOPPED 0u
struct vhost_user_transfer_device_state {
	uint32_t direction;
	uint32_t phase;
};
/* Reply u64: bits 0-7 error, bit 8 = no fd returned (back-end uses the given fd). */
#define VHOST_USER_DEVICE_STATE_NOFD (0x1ull << 8)

#endif
