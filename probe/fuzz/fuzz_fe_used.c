/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Target: fe_vq_get_used/fe_vq_wait on a used ring written by a hostile
 * device. Input: byte 0 = chains to submit (1..8, half indirect), byte 1
 * = steps; then, per step, a used idx (2 bytes) and an entry (8 bytes)
 * written at the device's next slot. The driver side must never crash,
 * never accept an id it did not hand out or a len above the chain's
 * writable bytes, and must keep its free-descriptor count consistent.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fe_mem.h"
#include "fe_vq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fe_mem *mem;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fe_vq *vq;
	uint64_t buf;

	if (size < 2)
		return 0;
	if (!mem) {
		struct fe_mem_opts o = {.size = 1 << 20, .no_populate = true};
		if (fe_mem_create(&o, &mem) < 0)
			abort();
	}
	fe_mem_reset(mem);
	if (fe_vq_create(mem, 0, 8, &vq) < 0 || fe_mem_alloc(mem, 256, 8, &buf) < 0)
		abort();
	unsigned chains = 1 + data[0] % 8;
	for (unsigned i = 0; i < chains; i++) {
		struct fe_seg s[2] = {{buf, 8, false}, {buf + 8 + 16 * i, 16, true}};
		if (fe_vq_add(vq, s, 2, i % 2 ? FE_VQ_ADD_INDIRECT : 0, NULL) < 0)
			break;
	}
	size_t off = 2;
	for (unsigned step = 0; step < data[1] && off + 10 <= size; step++, off += 10) {
		uint16_t idx;
		struct vring_used_elem e;
		memcpy(&idx, data + off, 2);
		memcpy(&e, data + off + 2, 8);
		vq->used->ring[(uint16_t)(idx - 1) % vq->num] = e;
		__atomic_store_n(&vq->used->idx, idx, __ATOMIC_RELEASE);
		struct fe_used u;
		int r;
		while ((r = fe_vq_get_used(vq, &u)) == 0) {
			if (u.id >= vq->num || u.len > u.writable)
				abort();
		}
		if (r == -EPROTO) {
			if (!vq->broken)
				abort();
			break;
		}
		if (fe_vq_in_flight(vq) + vq->num_free > vq->num)
			abort();
	}
	fe_vq_free(vq);
	return 0;
}
