/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: request and leak-buffer parsing of the rng device, through
 * the real queue handlers. Target functions: rng_request_len,
 * rng_fill_chain, rng_request_handle, rng_leak_classify, rng_leak_handle
 * (fill / copy / malformed), rng_leak_parse_state.
 *
 * Input layout: byte 0 selects the queue (bit 0: requestq or leakq1), the
 * ring size (bits 1-3: 1..128) and whether a leak event is recorded (bit
 * 4); the rest is copied over the descriptor table, the avail ring and
 * guest buffer space, as in core/fuzz/fuzz_virtq.c, and the whole input is
 * also parsed as a DEVICE_STATE blob. Whatever the input, nothing outside
 * the mock guest may be touched (ASan) and no chain is completed that was
 * not popped.
 */
#include <string.h>

#include "device.h"
#include "log.h"
#include "mock_guest.h"
#include "rng.h"

static struct mock_guest g;
static struct rng_dev *dev;
static struct vt_device *vd;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void setup(void)
{
	vt_guestmem_set_prefault(false);
	vt_log_set_level(VT_LOG_ERR - 1);
	mock_guest_init(&g);
	struct rng_opts o;
	rng_opts_defaults(&o);
	o.max_request = 4096;
	if (rng_dev_new("fuzz", &o, &dev) < 0)
		__builtin_trap();
	vd = vt_device_new("fuzz", &vt_rng_ops, dev);
	if (!vd)
		__builtin_trap();
	vd->manual_queues = true;
	rng_dev_attach(dev, vd);
	vt_rng_ops.set_features(dev, VT_BIT(VIRTIO_RNG_F_LEAK) | 0x170000000ull);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dev)
		setup();
	struct rng_leak_saved saved;
	if (rng_leak_parse_state(data, size, &saved) == 0 &&
	    (saved.active < RNG_LEAKQ1 || saved.active > RNG_LEAKQ2))
		__builtin_trap();
	if (size < 1)
		return 0;
	unsigned qi = data[0] & 1;
	uint32_t num = 1u << ((data[0] >> 1) & 7);
	bool event = data[0] & 0x10;
	data++;
	size--;

	g.next_gpa = 0x1000;
	struct mock_ring r;
	mock_ring_init(&r, &g, num);
	uint64_t scratch = mock_alloc(&g, 0x4000, 64);
	size_t ring_bytes = vring_desc_size(num) + vring_avail_size(num);
	memcpy(mock_gpa(&g, r.desc_gpa), data, size < ring_bytes ? size : ring_bytes);
	if (size > ring_bytes) {
		size_t rest = size - ring_bytes;
		memcpy(mock_gpa(&g, scratch), data + ring_bytes, rest < 0x4000 ? rest : 0x4000);
	}

	struct vt_queue *q = &vd->queues[qi];
	vt_queue_reset(q);
	q->mem = &g.mem;
	mock_ring_attach(&r, q);
	q->event_idx = num & 1;
	if (qi == RNG_LEAKQ1) {
		vt_rng_ops.queue_start(dev, q); /* fresh ring: leakq1 active, idle */
		if (event)
			(void)rng_leak_event(&dev->leak);
	}
	uint64_t popped0 = atomic_load(&q->stats.chains);
	pthread_mutex_lock(&q->lock);
	vt_rng_ops.queue_handle(dev, q);
	pthread_mutex_unlock(&q->lock);

	/*
	 * The device completed no more chains than it popped. (The ring itself is
	 * not checked: a hostile chain may point its writable buffer at the used
	 * ring, and random bytes land there.)
	 */
	if (q->used_idx > atomic_load(&q->stats.chains) - popped0)
		__builtin_trap();
	vt_queue_arm_timer(q, 0);
	q->mem = &vd->mem;
	vt_queue_reset(q);
	return 0;
}
