/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The message sequences QEMU 7.2 sends (reference §2.6), so a back-end sees
 * from the probe exactly what it will see from the VMM:
 *
 *  init:  GET_FEATURES, GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES,
 *         GET_QUEUE_NUM (MQ), GET_MAX_MEM_SLOTS (CONFIGURE_MEM_SLOTS),
 *         SET_OWNER, GET_FEATURES, per vq SET_VRING_CALL(masked), SET_VRING_ERR
 *  start: SET_FEATURES, [GET_STATUS, SET_STATUS(FEATURES_OK)],
 *         SET_MEM_TABLE or ADD_MEM_REG..., per vq SET_VRING_NUM, BASE, ADDR, KICK,
 *         per vq SET_VRING_ENABLE 1 (unless no_vring_enable), per vq SET_VRING_CALL
 *  stop:  per vq SET_VRING_ENABLE 0 (unless no_vring_enable), per vq GET_VRING_BASE
 */
#ifndef VTRUST_PROBE_FE_SEQ_H
#define VTRUST_PROBE_FE_SEQ_H

#include <stdbool.h>
#include <stdint.h>

#include "compiler.h"
#include "vhost_user_proto.h"
#include "virtio_ring.h"

struct fe_vu;
struct fe_vq;
struct fe_mem;

/* Protocol features the probe implements the front-end side of. */
#define FE_VU_PROTOCOL_SUPPORTED                                                                   \
	(VT_BIT(VHOST_USER_PROTOCOL_F_MQ) | VT_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK) |              \
	 VT_BIT(VHOST_USER_PROTOCOL_F_CRYPTO_SESSION) | VT_BIT(VHOST_USER_PROTOCOL_F_CONFIG) |     \
	 VT_BIT(VHOST_USER_PROTOCOL_F_RESET_DEVICE) |                                              \
	 VT_BIT(VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS) |                                       \
	 VT_BIT(VHOST_USER_PROTOCOL_F_STATUS) | VT_BIT(VHOST_USER_PROTOCOL_F_DEVICE_STATE))

/* Transport features the probe's driver side implements. */
#define FE_DRIVER_FEATURES                                                                         \
	(VT_BIT(VIRTIO_RING_F_INDIRECT_DESC) | VT_BIT(VIRTIO_RING_F_EVENT_IDX) |                   \
	 VT_BIT(VIRTIO_F_VERSION_1) | VT_BIT(VHOST_USER_F_PROTOCOL_FEATURES))

/* QEMU 7.2 presets for SET_FEATURES (reference summary items 1 and 7). */
#define FE_FEATURES_QEMU72_RNG 0x170000000ull
#define FE_FEATURES_QEMU72_CRYPTO 0x40000000ull

struct fe_vu_init_opts {
	uint64_t
	    protocol_mask; /* acked = offered & mask (& ~CONFIGURE_MEM_SLOTS unless mem_slots) */
	bool mem_slots;	   /* ack CONFIGURE_MEM_SLOTS: GET_MAX_MEM_SLOTS, ADD_MEM_REG */
};
#define FE_VU_INIT_OPTS_DEFAULT                                                                    \
	((struct fe_vu_init_opts){.protocol_mask = FE_VU_PROTOCOL_SUPPORTED})

struct fe_vu_start_opts {
	uint64_t features;    /* SET_FEATURES value, sent as is */
	bool no_vring_enable; /* crypto in QEMU 7.2 never sends SET_VRING_ENABLE */
};

/* nvqs may be 0 (no per-vq messages, e.g. for `info`). */
VT_MUST_USE int fe_vu_negotiate(struct fe_vu *vu, const struct fe_vu_init_opts *opts,
				struct fe_vq *const *vqs, unsigned nvqs);
VT_MUST_USE int fe_vu_start(struct fe_vu *vu, const struct fe_vu_start_opts *opts,
			    const struct fe_mem *mem, struct fe_vq *const *vqs, unsigned nvqs);
/* Stores each GET_VRING_BASE answer in vq->base, for the next start. */
VT_MUST_USE int fe_vu_stop(struct fe_vu *vu, const struct fe_vu_start_opts *opts,
			   struct fe_vq *const *vqs, unsigned nvqs);

/* One ring: SET_VRING_NUM, BASE (vq->base), ADDR, KICK, [ENABLE 1], CALL. */
VT_MUST_USE int fe_vu_vq_start(struct fe_vu *vu, struct fe_vq *vq, bool enable);
/* One ring: [SET_VRING_ENABLE 0], GET_VRING_BASE into vq->base. */
VT_MUST_USE int fe_vu_vq_stop(struct fe_vu *vu, struct fe_vq *vq, bool disable);

#endif
