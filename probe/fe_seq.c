/* SPDX-License-Identifier: Apache-2.0 */
#include "fe_seq.h"

#include "fe_mem.h"
#include "fe_vq.h"
#include "fe_vu.h"

/* QEMU sends SET_VRING_ENABLE only when the back-end speaks protocol features. */
static bool can_enable(const struct fe_vu *vu)
{
	return vu->features & VT_BIT(VHOST_USER_F_PROTOCOL_FEATURES);
}

int fe_vu_negotiate(struct fe_vu *vu, const struct fe_vu_init_opts *opts, struct fe_vq *const *vqs,
		    unsigned nvqs)
{
	uint64_t v;
	int r;

	r = fe_vu_hello(vu, &v);
	if (r < 0)
		return r;
	if (v & VT_BIT(VHOST_USER_F_PROTOCOL_FEATURES)) {
		r = fe_vu_get_protocol_features(vu, &v);
		if (r < 0)
			return r;
		uint64_t ack = v & opts->protocol_mask;
		if (!opts->mem_slots)
			ack &= ~VT_BIT(VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS);
		r = fe_vu_set_protocol_features(vu, ack);
		if (r < 0)
			return r;
	}
	if (fe_vu_has_protocol(vu, VHOST_USER_PROTOCOL_F_MQ)) {
		r = fe_vu_get_queue_num(vu, &v);
		if (r < 0)
			return r;
		if (v < nvqs || v == 0)
			return fe_vu_fail(vu, -ERANGE, "back-end has %llu queues, %u needed",
					  (unsigned long long)v, nvqs);
	}
	if (fe_vu_has_protocol(vu, VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS)) {
		r = fe_vu_get_max_mem_slots(vu, &v);
		if (r < 0)
			return r;
	}
	r = fe_vu_set_owner(vu);
	if (r < 0)
		return r;
	r = fe_vu_get_features(vu, &v);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < nvqs; i++) {
		r = fe_vu_set_vring_call(vu, vqs[i]->index, vqs[i]->masked_call_fd);
		if (r < 0)
			return r;
		r = fe_vu_set_vring_err(vu, vqs[i]->index, vqs[i]->err_fd);
		if (r < 0)
			return r;
	}
	return 0;
}

static int vq_setup(struct fe_vu *vu, struct fe_vq *vq)
{
	struct vhost_vring_addr addr;
	int r;

	r = fe_vu_set_vring_num(vu, vq->index, vq->num);
	if (r < 0)
		return r;
	r = fe_vu_set_vring_base(vu, vq->index, vq->base);
	if (r < 0)
		return r;
	r = fe_vq_addr(vq, &addr);
	if (r < 0)
		return fe_vu_fail(vu, r, "vring %u areas are not in guest memory", vq->index);
	r = fe_vu_set_vring_addr(vu, &addr);
	if (r < 0)
		return r;
	return fe_vu_set_vring_kick(vu, vq->index, vq->kick_fd);
}

int fe_vu_start(struct fe_vu *vu, const struct fe_vu_start_opts *opts, const struct fe_mem *mem,
		struct fe_vq *const *vqs, unsigned nvqs)
{
	int r;

	r = fe_vu_set_features(vu, opts->features);
	if (r < 0)
		return r;
	if (fe_vu_has_protocol(vu, VHOST_USER_PROTOCOL_F_STATUS)) {
		/* QEMU's vhost_user_add_status(FEATURES_OK). */
		uint8_t s;
		r = fe_vu_get_status(vu, &s);
		if (r < 0)
			return r;
		if (!(s & VIRTIO_STATUS_FEATURES_OK)) {
			r = fe_vu_set_status(vu, (uint8_t)(s | VIRTIO_STATUS_FEATURES_OK));
			if (r < 0)
				return r;
		}
	}
	if (fe_vu_has_protocol(vu, VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS)) {
		if (vu->max_mem_slots < mem->nregions)
			return fe_vu_fail(vu, -E2BIG, "back-end has %llu memory slots, %u needed",
					  (unsigned long long)vu->max_mem_slots, mem->nregions);
		r = fe_vu_sync_mem_slots(vu, mem);
	} else {
		r = fe_vu_set_mem_table(vu, mem);
	}
	if (r < 0)
		return r;
	for (unsigned i = 0; i < nvqs; i++) {
		r = vq_setup(vu, vqs[i]);
		if (r < 0)
			return r;
	}
	if (!opts->no_vring_enable && can_enable(vu)) {
		for (unsigned i = 0; i < nvqs; i++) {
			r = fe_vu_set_vring_enable(vu, vqs[i]->index, true);
			if (r < 0)
				return r;
		}
	}
	for (unsigned i = 0; i < nvqs; i++) {
		r = fe_vu_set_vring_call(vu, vqs[i]->index, vqs[i]->call_fd);
		if (r < 0)
			return r;
	}
	return 0;
}

static int get_base(struct fe_vu *vu, struct fe_vq *vq)
{
	uint32_t base;
	int r = fe_vu_get_vring_base(vu, vq->index, &base);
	if (r < 0)
		return r;
	/* The device cannot have consumed more than we published, nor lost more than num. */
	if (!vq->raw && !vq->broken &&
	    (base > UINT16_MAX || (uint16_t)(vq->avail_idx - base) > vq->num))
		return fe_vu_fail(vu, -EPROTO, "GET_VRING_BASE %u for vring %u: avail idx is %u",
				  base, vq->index, vq->avail_idx);
	vq->base = base;
	return 0;
}

int fe_vu_stop(struct fe_vu *vu, const struct fe_vu_start_opts *opts, struct fe_vq *const *vqs,
	       unsigned nvqs)
{
	int r;

	if (!opts->no_vring_enable && can_enable(vu)) {
		for (unsigned i = 0; i < nvqs; i++) {
			r = fe_vu_set_vring_enable(vu, vqs[i]->index, false);
			if (r < 0)
				return r;
		}
	}
	for (unsigned i = 0; i < nvqs; i++) {
		r = get_base(vu, vqs[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

int fe_vu_vq_start(struct fe_vu *vu, struct fe_vq *vq, bool enable)
{
	int r = vq_setup(vu, vq);
	if (r < 0)
		return r;
	if (enable && can_enable(vu)) {
		r = fe_vu_set_vring_enable(vu, vq->index, true);
		if (r < 0)
			return r;
	}
	return fe_vu_set_vring_call(vu, vq->index, vq->call_fd);
}

int fe_vu_vq_stop(struct fe_vu *vu, struct fe_vq *vq, bool disable)
{
	if (disable && can_enable(vu)) {
		int r = fe_vu_set_vring_enable(vu, vq->index, false);
		if (r < 0)
			return r;
	}
	return get_base(vu, vq);
}
