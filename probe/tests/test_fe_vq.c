/* SPDX-License-Identifier: Apache-2.0 */
/* fe_vq ring bookkeeping, with the test playing the device on the shared rings. */
#include <sys/eventfd.h>

#include "fe_mem.h"
#include "fe_vq.h"
#include "test_util.h"

static struct fe_mem *mem;

/* Device side: the head of the next avail entry. */
static uint16_t dev_pop(struct fe_vq *vq, uint16_t *dev_last_avail)
{
	CHECK(vq->avail->idx != *dev_last_avail);
	uint16_t head = vq->avail->ring[*dev_last_avail % vq->num];
	(*dev_last_avail)++;
	return head;
}

static void dev_push(struct fe_vq *vq, uint32_t id, uint32_t len)
{
	uint16_t idx = vq->used->idx;
	vq->used->ring[idx % vq->num] = (struct vring_used_elem){.id = id, .len = len};
	__atomic_store_n(&vq->used->idx, (uint16_t)(idx + 1), __ATOMIC_RELEASE);
}

static uint64_t buf(uint64_t size)
{
	uint64_t gpa;
	CHECK_EQ(fe_mem_alloc(mem, size, 8, &gpa), 0);
	return gpa;
}

TEST(direct_chain_layout)
{
	struct fe_vq *vq;
	CHECK_EQ(fe_vq_create(mem, 0, 8, &vq), 0);
	CHECK_EQ(vq->desc_gpa % 16, 0);
	CHECK_EQ(vq->used_gpa % 4, 0);
	CHECK_EQ(vq->avail_gpa % 2, 0);

	struct fe_seg segs[3] = {{buf(16), 16, false}, {buf(32), 32, false}, {buf(64), 64, true}};
	int token = 7;
	int head = fe_vq_add(vq, segs, 3, 0, &token);
	CHECK_EQ(head, 0);
	CHECK_EQ(vq->num_free, 5);
	CHECK_EQ(vq->avail->idx, 1);
	CHECK_EQ(vq->avail->ring[0], 0);
	/* Walk it as a device would. */
	uint16_t i = (uint16_t)head;
	for (unsigned k = 0; k < 3; k++) {
		const struct vring_desc *d = &vq->desc[i];
		CHECK_EQ(d->addr, segs[k].gpa);
		CHECK_EQ(d->len, segs[k].len);
		CHECK_EQ(!!(d->flags & VRING_DESC_F_WRITE), segs[k].write);
		CHECK_EQ(!!(d->flags & VRING_DESC_F_NEXT), k < 2);
		i = d->next;
	}

	uint16_t last_avail = 0;
	CHECK_EQ(dev_pop(vq, &last_avail), head);
	struct fe_used u;
	CHECK_EQ(fe_vq_get_used(vq, &u), -EAGAIN);
	dev_push(vq, (uint32_t)head, 64);
	CHECK_EQ(fe_vq_get_used(vq, &u), 0);
	CHECK_EQ(u.id, head);
	CHECK_EQ(u.len, 64);
	CHECK_EQ(u.writable, 64);
	CHECK(u.token == &token);
	CHECK_EQ(vq->num_free, 8);
	CHECK_EQ(fe_vq_in_flight(vq), 0);
	fe_vq_free(vq);
}

TEST(full_ring_and_out_of_order)
{
	struct fe_vq *vq;
	CHECK_EQ(fe_vq_create(mem, 1, 8, &vq), 0);
	struct fe_seg two[2] = {{buf(8), 8, false}, {buf(8), 8, true}};
	int heads[4];
	for (int k = 0; k < 4; k++)
		heads[k] = fe_vq_add(vq, two, 2, 0, (void *)(intptr_t)(k + 1));
	CHECK_EQ(vq->num_free, 0);
	CHECK_EQ(fe_vq_add(vq, two, 1, 0, NULL), -ENOSPC);
	/* Indirect needs one descriptor only, and none is left either. */
	CHECK_EQ(fe_vq_add(vq, two, 2, FE_VQ_ADD_INDIRECT, NULL), -ENOSPC);

	/* Complete in the order 2, 0, 3, 1 and reuse the slots several times. */
	for (int round = 0; round < 50; round++) {
		int order[4] = {2, 0, 3, 1};
		for (int k = 0; k < 4; k++)
			dev_push(vq, (uint32_t)heads[order[k]], 8);
		for (int k = 0; k < 4; k++) {
			struct fe_used u;
			CHECK_EQ(fe_vq_get_used(vq, &u), 0);
			CHECK_EQ(u.id, heads[order[k]]);
			CHECK((intptr_t)u.token == order[k] + 1);
		}
		CHECK_EQ(vq->num_free, 8);
		for (int k = 0; k < 4; k++) {
			heads[k] = fe_vq_add(vq, two, 2, 0, (void *)(intptr_t)(k + 1));
			CHECK(heads[k] >= 0 && heads[k] < 8);
		}
		/* Every descriptor is in exactly one chain. */
		unsigned seen = 0;
		for (int k = 0; k < 4; k++) {
			uint16_t i = (uint16_t)heads[k];
			seen |= 1u << i;
			CHECK(vq->desc[i].flags & VRING_DESC_F_NEXT);
			seen |= 1u << vq->desc[i].next;
		}
		CHECK_EQ(seen, 0xff);
	}
	fe_vq_free(vq);
}

TEST(indirect_table)
{
	struct fe_vq *vq;
	CHECK_EQ(fe_vq_create(mem, 0, 4, &vq), 0);
	struct fe_seg segs[5] = {{buf(72), 72, false},
				 {buf(16), 16, false},
				 {buf(32), 32, false},
				 {buf(32), 32, true},
				 {buf(1), 1, true}};
	uint64_t before = fe_mem_free_bytes(mem);
	int head = fe_vq_add(vq, segs, 5, FE_VQ_ADD_INDIRECT, NULL);
	CHECK(head >= 0);
	CHECK_EQ(vq->num_free, 3);
	const struct vring_desc *d = &vq->desc[head];
	CHECK_EQ(d->flags, VRING_DESC_F_INDIRECT);
	CHECK_EQ(d->len, 5 * 16);
	CHECK_EQ(d->addr % 16, 0);
	const struct vring_desc *t = fe_mem_ptr(mem, d->addr, d->len);
	CHECK(t);
	for (unsigned k = 0; k < 5; k++) {
		CHECK_EQ(t[k].addr, segs[k].gpa);
		CHECK_EQ(t[k].flags, (segs[k].write ? VRING_DESC_F_WRITE : 0) |
					 (k < 4 ? VRING_DESC_F_NEXT : 0));
		if (k < 4)
			CHECK_EQ(t[k].next, k + 1);
	}
	dev_push(vq, (uint32_t)head, 33);
	struct fe_used u;
	CHECK_EQ(fe_vq_get_used(vq, &u), 0);
	CHECK_EQ(u.writable, 33);
	CHECK_EQ(vq->num_free, 4);
	/* The table went back to the allocator. */
	CHECK_EQ(fe_mem_free_bytes(mem), before);
	fe_vq_free(vq);
}

TEST(kick_suppression)
{
	struct fe_vq *vq;
	struct fe_seg s = {buf(8), 8, true};
	uint64_t v;
	CHECK_EQ(fe_vq_create(mem, 0, 8, &vq), 0);

	/* Without EVENT_IDX: used->flags NO_NOTIFY. */
	CHECK(fe_vq_add(vq, &s, 1, 0, NULL) >= 0);
	CHECK_EQ(fe_vq_kick(vq), 1);
	CHECK_EQ(read(vq->kick_fd, &v, 8), 8);
	vq->used->flags = VRING_USED_F_NO_NOTIFY;
	CHECK(fe_vq_add(vq, &s, 1, 0, NULL) >= 0);
	CHECK_EQ(fe_vq_kick(vq), 0);
	CHECK_EQ(read(vq->kick_fd, &v, 8), -1);
	CHECK_EQ(vq->stats.kicks_suppressed, 1);

	/* With EVENT_IDX the flags are ignored and avail_event decides. */
	CHECK_EQ(fe_vq_reset(vq, false), 0);
	fe_vq_set_features(vq, VT_BIT(VIRTIO_RING_F_EVENT_IDX));
	vq->used->flags = VRING_USED_F_NO_NOTIFY;
	*vq->avail_event = 0; /* device wants a kick when idx passes 0 */
	CHECK(fe_vq_add(vq, &s, 1, 0, NULL) >= 0);
	CHECK_EQ(fe_vq_kick(vq), 1);
	CHECK_EQ(read(vq->kick_fd, &v, 8), 8);
	/* avail_event still 0: idx 1 -> 2 does not cross it. */
	CHECK(fe_vq_add(vq, &s, 1, 0, NULL) >= 0);
	CHECK_EQ(fe_vq_kick(vq), 0);
	/* Device moves avail_event to 2: adding entries 3 and 4 (idx 2 -> 4) crosses it. */
	*vq->avail_event = 2;
	CHECK(fe_vq_add(vq, &s, 1, 0, NULL) >= 0);
	CHECK(fe_vq_add(vq, &s, 1, 0, NULL) >= 0);
	CHECK_EQ(fe_vq_kick(vq), 1);
	fe_vq_free(vq);
}

TEST(wait_and_used_event)
{
	struct fe_vq *vq;
	struct fe_seg s = {buf(8), 8, true};
	CHECK_EQ(fe_vq_create(mem, 0, 8, &vq), 0);
	fe_vq_set_features(vq, VT_BIT(VIRTIO_RING_F_EVENT_IDX));
	int head = fe_vq_add(vq, &s, 1, 0, NULL);
	CHECK_EQ(fe_vq_wait(vq, 20, FE_VQ_WAIT_EVENTFD), -ETIMEDOUT);
	/* Waiting armed used_event at last_used. */
	CHECK_EQ(*vq->used_event, 0);
	dev_push(vq, (uint32_t)head, 8);
	uint64_t one = 1;
	CHECK_EQ(write(vq->call_fd, &one, 8), 8);
	CHECK_EQ(fe_vq_wait(vq, 1000, FE_VQ_WAIT_EVENTFD), 0);
	struct fe_used u;
	CHECK_EQ(fe_vq_get_used(vq, &u), 0);

	/* Polling suppresses calls: NO_INTERRUPT and a far used_event. */
	head = fe_vq_add(vq, &s, 1, 0, NULL);
	CHECK_EQ(fe_vq_wait(vq, 5, FE_VQ_WAIT_POLL), -ETIMEDOUT);
	CHECK_EQ(vq->avail->flags, VRING_AVAIL_F_NO_INTERRUPT);
	CHECK_EQ(*vq->used_event, (uint16_t)(vq->last_used + 0x8000));
	dev_push(vq, (uint32_t)head, 4);
	CHECK_EQ(fe_vq_wait(vq, 1000, FE_VQ_WAIT_POLL), 0);
	CHECK_EQ(fe_vq_get_used(vq, &u), 0);
	CHECK_EQ(u.len, 4);
	fe_vq_free(vq);
}

/* A lying device breaks the queue; reset repairs it. */
TEST(hostile_device)
{
	struct fe_vq *vq;
	struct fe_seg s[2] = {{buf(8), 8, false}, {buf(16), 16, true}};
	struct fe_used u;
	CHECK_EQ(fe_vq_create(mem, 0, 8, &vq), 0);

	int head = fe_vq_add(vq, s, 2, 0, NULL);
	dev_push(vq, 8, 0); /* id >= num */
	CHECK_EQ(fe_vq_get_used(vq, &u), -EPROTO);
	CHECK(vq->broken);
	CHECK(strstr(vq->error, ">= queue size"));
	CHECK_EQ(fe_vq_add(vq, s, 2, 0, NULL), -EPROTO);

	CHECK_EQ(fe_vq_reset(vq, false), 0);
	head = fe_vq_add(vq, s, 2, 0, NULL);
	dev_push(vq, (uint32_t)head + 1, 0); /* not a head we gave */
	CHECK_EQ(fe_vq_get_used(vq, &u), -EPROTO);
	CHECK(strstr(vq->error, "not an outstanding head"));

	CHECK_EQ(fe_vq_reset(vq, false), 0);
	head = fe_vq_add(vq, s, 2, 0, NULL);
	dev_push(vq, (uint32_t)head, 17); /* more than the 16 writable bytes */
	CHECK_EQ(fe_vq_get_used(vq, &u), -EPROTO);
	CHECK(strstr(vq->error, "writable"));

	CHECK_EQ(fe_vq_reset(vq, false), 0);
	head = fe_vq_add(vq, s, 2, 0, NULL);
	dev_push(vq, (uint32_t)head, 16);
	dev_push(vq, (uint32_t)head, 16); /* completed twice */
	CHECK_EQ(fe_vq_get_used(vq, &u), 0);
	CHECK_EQ(fe_vq_get_used(vq, &u), -EPROTO);

	CHECK_EQ(fe_vq_reset(vq, false), 0);
	CHECK(fe_vq_add(vq, s, 2, 0, NULL) >= 0);
	vq->used->idx = 9; /* 9 entries ahead of a ring of 8 */
	CHECK_EQ(fe_vq_wait(vq, 10, FE_VQ_WAIT_EVENTFD), -EPROTO);
	fe_vq_free(vq);
}

TEST(reset_and_raw)
{
	struct fe_vq *vq;
	struct fe_seg s = {buf(8), 8, true};
	CHECK_EQ(fe_vq_create(mem, 0, 16, &vq), 0);
	uint64_t d = vq->desc_gpa, a = vq->avail_gpa, u = vq->used_gpa;
	uint64_t free_before = fe_mem_free_bytes(mem);

	CHECK(fe_vq_add(vq, &s, 1, FE_VQ_ADD_INDIRECT, NULL) >= 0);
	CHECK_EQ(fe_vq_reset(vq, true), 0);
	CHECK(vq->desc_gpa != d && vq->avail_gpa != a && vq->used_gpa != u);
	/* The indirect table and the old areas went back to the allocator. */
	CHECK_EQ(fe_mem_free_bytes(mem), free_before);
	CHECK_EQ(vq->avail->idx, 0);
	CHECK_EQ(vq->num_free, 16);

	fe_vq_raw_desc(vq, 0, 0xdead0000, 16, VRING_DESC_F_NEXT, 0);
	fe_vq_raw_push(vq, 0);
	fe_vq_raw_publish(vq, vq->avail_idx);
	CHECK_EQ(vq->avail->idx, 1);
	CHECK_EQ(vq->desc[0].addr, 0xdead0000);
	CHECK_EQ(fe_vq_add(vq, &s, 1, 0, NULL), -EBUSY);
	fe_vq_raw_publish(vq, 100);
	CHECK_EQ(vq->avail->idx, 100);
	CHECK_EQ(fe_vq_reset(vq, false), 0);
	CHECK(fe_vq_add(vq, &s, 1, 0, NULL) >= 0);

	struct vhost_vring_addr va;
	CHECK_EQ(fe_vq_addr(vq, &va), 0);
	CHECK(va.desc_user_addr == (uint64_t)(uintptr_t)vq->desc);
	CHECK(va.avail_user_addr == (uint64_t)(uintptr_t)vq->avail);
	CHECK(va.used_user_addr == (uint64_t)(uintptr_t)vq->used);
	fe_vq_free(vq);

	CHECK_EQ(fe_vq_create(mem, 0, 12, &vq), -EINVAL);
}

int main(void)
{
	struct fe_mem_opts o = {.size = 8 << 20};
	CHECK_EQ(fe_mem_create(&o, &mem), 0);
	RUN(direct_chain_layout);
	RUN(full_ring_and_out_of_order);
	RUN(indirect_table);
	RUN(kick_suppression);
	RUN(wait_and_used_event);
	RUN(hostile_device);
	RUN(reset_and_raw);
	fe_mem_free(mem);
	return 0;
}
