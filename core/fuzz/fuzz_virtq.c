/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: the descriptor walk (vt_queue_pop) and the chain cursor.
 * Target functions: vt_queue_pop, vt_chain_read/write/copy/write_tail,
 * vt_queue_push, vt_queue_notify.
 *
 * Input layout: byte 0 selects the ring size (1..256, power of two), the
 * rest is copied over the descriptor table, the avail ring and the start of
 * guest buffer space, so the fuzzer controls every descriptor, index and
 * flag. Whatever the input, nothing outside the mock guest may be touched.
 */
#include <string.h>

#include "log.h"
#include "mock_guest.h"

static struct mock_guest g;
static bool ready;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ready) {
		vt_guestmem_set_prefault(false);
		vt_log_set_level(VT_LOG_ERR - 1);
		mock_guest_init(&g);
		ready = true;
	}
	if (size < 1)
		return 0;
	uint32_t num = 1u << (data[0] % 9);
	data++;
	size--;

	g.next_gpa = 0x1000;
	struct mock_ring r;
	mock_ring_init(&r, &g, num);
	/* Scratch buffers live right after the rings, inside region 0. */
	uint64_t scratch = mock_alloc(&g, 0x4000, 64);
	uint8_t *dst = mock_gpa(&g, r.desc_gpa);
	size_t ring_bytes = vring_desc_size(num) + vring_avail_size(num);
	size_t n = size < ring_bytes ? size : ring_bytes;
	memcpy(dst, data, n); /* desc table and avail ring are contiguous */
	if (size > ring_bytes) {
		size_t rest = size - ring_bytes;
		memcpy(mock_gpa(&g, scratch), data + ring_bytes, rest < 0x4000 ? rest : 0x4000);
	}

	struct vt_queue q;
	vt_queue_init(&q, NULL, &g.mem, 0);
	mock_ring_attach(&r, &q);
	q.event_idx = num & 1;
	struct vt_chain c;
	uint8_t buf[512];
	for (int i = 0; i < 64; i++) {
		int rc = vt_queue_pop(&q, &c);
		if (rc == 0 || rc == -EIO)
			break;
		if (rc == -EBADMSG) {
			vt_queue_push_malformed(&q, &c);
			continue;
		}
		size_t take = vt_chain_readable(&c) < sizeof(buf) ? vt_chain_readable(&c) : sizeof(buf);
		if (vt_chain_read(&c, buf, take) < 0)
			__builtin_trap();
		uint8_t st = 0;
		if (vt_chain_write_tail(&c, &st, 1) < 0 && vt_chain_writable(&c) > 0)
			__builtin_trap();
		size_t w = vt_chain_writable(&c) < take ? vt_chain_writable(&c) : take;
		if (vt_chain_write(&c, buf, w) < 0)
			__builtin_trap();
		if (vt_chain_copy(&c, 1) == 0 && vt_chain_written(&c) == 0)
			__builtin_trap();
		vt_queue_push(&q, &c, (uint32_t)vt_chain_written(&c));
		vt_queue_notify(&q);
	}
	vt_queue_destroy(&q);
	return 0;
}
