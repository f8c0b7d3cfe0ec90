/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Split virtqueue wire layout (virtio 1.x, section 2.7) and the common
 * feature bits. Shared by the device side (core/virtq.c) and the probe's
 * driver side. Little-endian host assumed (compiler.h enforces it).
 */
#ifndef VTRUST_VIRTIO_RING_H
#define VTRUST_VIRTIO_RING_H

#include <stdint.h>

#include "compiler.h"

#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2
#define VRING_DESC_F_INDIRECT 4

#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VRING_USED_F_NO_NOTIFY 1

#define VIRTQ_MAX_SIZE 32768u

/* Transport feature bits. */
#define VIRTIO_F_NOTIFY_ON_EMPTY 24
#define VIRTIO_F_ANY_LAYOUT 27
#define VIRTIO_RING_F_INDIRECT_DESC 28
#define VIRTIO_RING_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32
#define VIRTIO_F_ACCESS_PLATFORM 33
#define VIRTIO_F_RING_PACKED 34
#define VIRTIO_F_RING_RESET 40

/* Device ids. */
#define VIRTIO_ID_RNG 4
#define VIRTIO_ID_CRYPTO 20
#define VIRTIO_ID_RPMB 28

/* Device status bits (SET_STATUS). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED 128

#define VT_BIT(n) (1ULL << (n))

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};
VT_STATIC_ASSERT(sizeof(struct vring_desc) == 16, "vring_desc is 16 bytes");

struct vring_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[]; /* then le16 used_event */
};

struct vring_used_elem {
	uint32_t id;
	uint32_t len;
};
VT_STATIC_ASSERT(sizeof(struct vring_used_elem) == 8, "used elem is 8 bytes");

struct vring_used {
	uint16_t flags;
	uint16_t idx;
	struct vring_used_elem ring[]; /* then le16 avail_event */
};

/* Byte sizes of the three areas for a queue of n entries (with the event fields). */
static inline uint64_t vring_desc_size(uint32_t n) { return 16ull * n; }
static inline uint64_t vring_avail_size(uint32_t n) { return 6ull + 2ull * n; }
static inline uint64_t vring_used_size(uint32_t n) { return 6ull + 8ull * n; }

/* The event-index rule of the spec: notify iff new_idx passed event_idx. */
static inline int vring_need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event_idx - 1) < (uint16_t)(new_idx - old_idx);
}

#endif
