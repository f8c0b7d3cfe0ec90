/* SPDX-License-Identifier: Apache-2.0 */
/* fe_vu typed requests: one helper per vhost-user message the probe sends. */
#include "fe_vu.h"

#include <string.h>

#include "fe_mem.h"

static unsigned policy_flags(const struct fe_vu *vu, uint32_t request)
{
	return fe_vu_wants_ack(vu, request) ? FE_VU_REQ_ACK : 0;
}

static int send_state(struct fe_vu *vu, uint32_t request, uint32_t index, uint32_t num)
{
	struct vhost_vring_state s = {.index = index, .num = num};
	return fe_vu_request(vu, request, &s, sizeof(s), NULL, 0, policy_flags(vu, request));
}

static int send_empty(struct fe_vu *vu, uint32_t request)
{
	return fe_vu_request(vu, request, NULL, 0, NULL, 0, policy_flags(vu, request));
}

int fe_vu_get_features(struct fe_vu *vu, uint64_t *ret)
{
	int r = fe_vu_get_u64(vu, VHOST_USER_GET_FEATURES, ret);
	if (r == 0)
		vu->features = *ret;
	return r;
}

int fe_vu_set_features(struct fe_vu *vu, uint64_t features)
{
	int r = fe_vu_set_u64(vu, VHOST_USER_SET_FEATURES, features);
	if (r == 0)
		vu->acked_features = features;
	return r;
}

int fe_vu_get_protocol_features(struct fe_vu *vu, uint64_t *ret)
{
	int r = fe_vu_get_u64(vu, VHOST_USER_GET_PROTOCOL_FEATURES, ret);
	if (r == 0)
		vu->protocol_features = *ret;
	return r;
}

int fe_vu_set_protocol_features(struct fe_vu *vu, uint64_t features)
{
	/* Policy uses the previous acked set: QEMU never asks an ack for this one. */
	int r = fe_vu_set_u64(vu, VHOST_USER_SET_PROTOCOL_FEATURES, features);
	if (r == 0)
		vu->acked_protocol = features;
	return r;
}

int fe_vu_get_queue_num(struct fe_vu *vu, uint64_t *ret)
{
	int r = fe_vu_get_u64(vu, VHOST_USER_GET_QUEUE_NUM, ret);
	if (r == 0)
		vu->queue_num = *ret;
	return r;
}

int fe_vu_set_owner(struct fe_vu *vu)
{
	return send_empty(vu, VHOST_USER_SET_OWNER);
}

int fe_vu_reset_owner(struct fe_vu *vu)
{
	return send_empty(vu, VHOST_USER_RESET_OWNER);
}

int fe_vu_reset_device(struct fe_vu *vu)
{
	return send_empty(vu, VHOST_USER_RESET_DEVICE);
}

int fe_vu_set_mem_table_raw(struct fe_vu *vu, uint32_t nregions,
			    const struct vhost_user_mem_region *regions, const int *fds,
			    unsigned nfds)
{
	struct vhost_user_memory m = {.nregions = nregions};
	unsigned n = VT_MIN(nregions, (uint32_t)VHOST_MEMORY_BASELINE_NREGIONS);

	memcpy(m.regions, regions, n * sizeof(m.regions[0]));
	/* QEMU sends only the used regions: 8 + n * 32 bytes. */
	uint32_t size = (uint32_t)(8 + n * sizeof(m.regions[0]));
	return fe_vu_request(vu, VHOST_USER_SET_MEM_TABLE, &m, size, fds, nfds,
			     policy_flags(vu, VHOST_USER_SET_MEM_TABLE));
}

int fe_vu_set_mem_table(struct fe_vu *vu, const struct fe_mem *mem)
{
	struct vhost_user_mem_region regions[VHOST_MEMORY_BASELINE_NREGIONS];
	int fds[VHOST_MEMORY_BASELINE_NREGIONS];

	if (mem->nregions > VHOST_MEMORY_BASELINE_NREGIONS)
		return fe_vu_fail(vu, -E2BIG, "%u regions do not fit SET_MEM_TABLE (max %d)",
				  mem->nregions, VHOST_MEMORY_BASELINE_NREGIONS);
	for (unsigned i = 0; i < mem->nregions; i++) {
		fe_mem_region_wire(mem, i, &regions[i]);
		fds[i] = mem->fd;
	}
	return fe_vu_set_mem_table_raw(vu, mem->nregions, regions, fds, mem->nregions);
}

int fe_vu_get_max_mem_slots(struct fe_vu *vu, uint64_t *ret)
{
	int r = fe_vu_get_u64(vu, VHOST_USER_GET_MAX_MEM_SLOTS, ret);
	if (r == 0)
		vu->max_mem_slots = *ret;
	return r;
}

static bool same_region(const struct vhost_user_mem_region *a,
			const struct vhost_user_mem_region *b)
{
	/* The spec identifies a region by gpa, uva and size; the offset is ignored. */
	return a->guest_phys_addr == b->guest_phys_addr && a->memory_size == b->memory_size &&
	       a->userspace_addr == b->userspace_addr;
}

int fe_vu_add_mem_reg(struct fe_vu *vu, const struct vhost_user_mem_region *region, int fd)
{
	struct vhost_user_mem_reg_single m = {.region = *region};
	int r = fe_vu_request(vu, VHOST_USER_ADD_MEM_REG, &m, sizeof(m), &fd, 1,
			      policy_flags(vu, VHOST_USER_ADD_MEM_REG));
	if (r == 0 && vu->nslots < VT_ARRAY_SIZE(vu->slots))
		vu->slots[vu->nslots++] = *region;
	return r;
}

int fe_vu_rem_mem_reg(struct fe_vu *vu, const struct vhost_user_mem_region *region)
{
	struct vhost_user_mem_reg_single m = {.region = *region};
	/* QEMU 7.2 sends no fd with REM_MEM_REG. */
	int r = fe_vu_request(vu, VHOST_USER_REM_MEM_REG, &m, sizeof(m), NULL, 0,
			      policy_flags(vu, VHOST_USER_REM_MEM_REG));
	if (r < 0)
		return r;
	for (unsigned i = 0; i < vu->nslots; i++) {
		if (same_region(&vu->slots[i], region)) {
			vu->slots[i] = vu->slots[--vu->nslots];
			break;
		}
	}
	return 0;
}

int fe_vu_sync_mem_slots(struct fe_vu *vu, const struct fe_mem *mem)
{
	struct vhost_user_mem_region want[FE_MEM_MAX_REGIONS];
	int r;

	for (unsigned i = 0; i < mem->nregions; i++)
		fe_mem_region_wire(mem, i, &want[i]);
	/* Like QEMU: remove what went away first, then add what is new. */
	for (unsigned i = 0; i < vu->nslots;) {
		bool keep = false;
		for (unsigned k = 0; k < mem->nregions && !keep; k++)
			keep = same_region(&vu->slots[i], &want[k]);
		if (keep) {
			i++;
			continue;
		}
		struct vhost_user_mem_region gone = vu->slots[i];
		r = fe_vu_rem_mem_reg(vu, &gone);
		if (r < 0)
			return r;
	}
	for (unsigned k = 0; k < mem->nregions; k++) {
		bool have = false;
		for (unsigned i = 0; i < vu->nslots && !have; i++)
			have = same_region(&vu->slots[i], &want[k]);
		if (have)
			continue;
		r = fe_vu_add_mem_reg(vu, &want[k], mem->fd);
		if (r < 0)
			return r;
	}
	return 0;
}

int fe_vu_set_vring_num(struct fe_vu *vu, uint32_t index, uint32_t num)
{
	return send_state(vu, VHOST_USER_SET_VRING_NUM, index, num);
}

int fe_vu_set_vring_base(struct fe_vu *vu, uint32_t index, uint32_t base)
{
	return send_state(vu, VHOST_USER_SET_VRING_BASE, index, base);
}

int fe_vu_get_vring_base(struct fe_vu *vu, uint32_t index, uint32_t *ret_base)
{
	struct vhost_vring_state s = {.index = index}, reply;
	int r = fe_vu_call(vu, VHOST_USER_GET_VRING_BASE, &s, sizeof(s), NULL, 0, &reply,
			   sizeof(reply));
	if (r < 0)
		return r;
	if (reply.index != index)
		return fe_vu_fail(vu, -EPROTO, "GET_VRING_BASE for vring %u answered for vring %u",
				  index, reply.index);
	*ret_base = reply.num;
	return 0;
}

int fe_vu_set_vring_addr(struct fe_vu *vu, const struct vhost_vring_addr *addr)
{
	return fe_vu_request(vu, VHOST_USER_SET_VRING_ADDR, addr, sizeof(*addr), NULL, 0,
			     policy_flags(vu, VHOST_USER_SET_VRING_ADDR));
}

static int set_vring_fd(struct fe_vu *vu, uint32_t request, uint32_t index, int fd)
{
	uint64_t v = index;
	if (fd < 0)
		v |= VHOST_USER_VRING_NOFD_MASK;
	return fe_vu_request(vu, request, &v, sizeof(v), fd < 0 ? NULL : &fd, fd < 0 ? 0 : 1,
			     policy_flags(vu, request));
}

int fe_vu_set_vring_kick(struct fe_vu *vu, uint32_t index, int fd)
{
	return set_vring_fd(vu, VHOST_USER_SET_VRING_KICK, index, fd);
}

int fe_vu_set_vring_call(struct fe_vu *vu, uint32_t index, int fd)
{
	return set_vring_fd(vu, VHOST_USER_SET_VRING_CALL, index, fd);
}

int fe_vu_set_vring_err(struct fe_vu *vu, uint32_t index, int fd)
{
	return set_vring_fd(vu, VHOST_USER_SET_VRING_ERR, index, fd);
}

int fe_vu_set_vring_enable(struct fe_vu *vu, uint32_t index, bool enable)
{
	return send_state(vu, VHOST_USER_SET_VRING_ENABLE, index, enable ? 1 : 0);
}

int fe_vu_get_config(struct fe_vu *vu, uint32_t offset, uint32_t size, uint32_t flags, uint8_t *buf)
{
	struct vhost_user_config c = {.offset = offset, .size = size, .flags = flags};
	struct vhost_user_header hdr = {
	    .request = VHOST_USER_GET_CONFIG,
	    .flags = VHOST_USER_VERSION,
	    .size = VHOST_USER_CONFIG_HDR_SIZE + size,
	};
	struct fe_vu_msg *msg;
	int r;

	if (size > VHOST_USER_MAX_CONFIG_SIZE)
		return fe_vu_fail(vu, -EINVAL, "config size %u > %u", size,
				  VHOST_USER_MAX_CONFIG_SIZE);
	r = fe_vu_send_msg(vu, &hdr, &c, hdr.size, NULL, 0);
	if (r < 0)
		return r;
	msg = malloc(sizeof(*msg));
	if (!msg)
		return -ENOMEM;
	r = fe_vu_recv_msg(vu, msg);
	if (r < 0)
		goto out;
	if (msg->nfds > 0 || msg->hdr.request != VHOST_USER_GET_CONFIG) {
		vu->desync = msg->hdr.request != VHOST_USER_GET_CONFIG;
		r = fe_vu_fail(vu, -EPROTO, "bad GET_CONFIG reply (request %u, %u fds)",
			       msg->hdr.request, msg->nfds);
		goto out;
	}
	/* The spec's way for a back-end to refuse: a reply with size 0. */
	if (msg->hdr.size == 0) {
		r = fe_vu_fail(vu, -EREMOTEIO, "back-end refused GET_CONFIG (offset %u size %u)",
			       offset, size);
		goto out;
	}
	if (msg->hdr.size != hdr.size) {
		r = fe_vu_fail(vu, -EPROTO, "GET_CONFIG reply has size %u, expected %u",
			       msg->hdr.size, hdr.size);
		goto out;
	}
	memcpy(buf, msg->payload + VHOST_USER_CONFIG_HDR_SIZE, size);
out:
	fe_vu_msg_close_fds(msg);
	free(msg);
	return r;
}

int fe_vu_set_config(struct fe_vu *vu, uint32_t offset, uint32_t flags, const uint8_t *buf,
		     uint32_t size)
{
	struct vhost_user_config c = {.offset = offset, .size = size, .flags = flags};

	if (size > VHOST_USER_MAX_CONFIG_SIZE)
		return fe_vu_fail(vu, -EINVAL, "config size %u > %u", size,
				  VHOST_USER_MAX_CONFIG_SIZE);
	memcpy(c.region, buf, size);
	return fe_vu_request(vu, VHOST_USER_SET_CONFIG, &c, VHOST_USER_CONFIG_HDR_SIZE + size, NULL,
			     0, policy_flags(vu, VHOST_USER_SET_CONFIG));
}

int fe_vu_set_status(struct fe_vu *vu, uint8_t status)
{
	uint64_t v = status;
	/* QEMU 7.2 waits for SET_STATUS: an ack, or a GET_FEATURES round trip. */
	unsigned flags = vu->ack_policy == FE_VU_ACK_NONE ? 0 : FE_VU_REQ_ACK | FE_VU_REQ_PING;
	return fe_vu_request(vu, VHOST_USER_SET_STATUS, &v, sizeof(v), NULL, 0, flags);
}

int fe_vu_get_status(struct fe_vu *vu, uint8_t *ret)
{
	uint64_t v;
	int r = fe_vu_get_u64(vu, VHOST_USER_GET_STATUS, &v);
	if (r < 0)
		return r;
	if (v > UINT8_MAX)
		return fe_vu_fail(vu, -EPROTO, "GET_STATUS returned 0x%llx (> 0xff)",
				  (unsigned long long)v);
	*ret = (uint8_t)v;
	return 0;
}

int fe_vu_create_crypto_session(struct fe_vu *vu, const void *in, uint32_t len, void *out)
{
	if (len > VHOST_USER_PAYLOAD_MAX)
		return fe_vu_fail(vu, -EINVAL, "crypto session payload %u > %u", len,
				  VHOST_USER_PAYLOAD_MAX);
	/* Always answered, with a reply of the request's size (QEMU checks it exactly). */
	return fe_vu_call(vu, VHOST_USER_CREATE_CRYPTO_SESSION, in, len, NULL, 0, out, len);
}

int fe_vu_close_crypto_session(struct fe_vu *vu, uint64_t session_id)
{
	return fe_vu_set_u64(vu, VHOST_USER_CLOSE_CRYPTO_SESSION, session_id);
}
