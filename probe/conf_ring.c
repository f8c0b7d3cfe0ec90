/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Core conformance cases, ring level: malformed chains on queue 0 of a
 * started device (virtio 1.x §2.7 driver errors, reference §1.4). The
 * back-end must not complete them (the queue stops being served), must not
 * hang or crash, and must serve again once the ring is restarted from
 * scratch on the same connection.
 */
#include <string.h>

#include "conformance.h"
#include "fe_time.h"

#define GOOD_SIZE 8192

/* How a chain may legitimately be answered besides "never". */
enum tolerance {
	TOL_NONE, /* no used entry at all */
	TOL_LEN0, /* or completed with used.len 0 (refused at request level) */
	TOL_ANY,  /* or served (the spec leaves it to the device); just survive */
};

struct ring_case {
	void (*build)(struct fe_dev *d, struct fe_vq *vq, uint64_t good);
	enum tolerance tol;
};

static void push_head(struct fe_vq *vq, uint16_t head)
{
	fe_vq_raw_push(vq, head);
	fe_vq_raw_publish(vq, vq->avail_idx);
}

/* An indirect table of n entries in guest memory (leaked into mem until the case ends). */
static struct vring_desc *table(struct fe_dev *d, unsigned n, uint64_t *ret_gpa)
{
	struct vring_desc *t = fe_mem_alloc_ptr(d->mem, 16ull * n, 16, ret_gpa);
	if (!t)
		abort();
	memset(t, 0, 16ull * n);
	return t;
}

static void b_loop(struct fe_dev *d, struct fe_vq *vq, uint64_t g)
{
	(void)d;
	fe_vq_raw_desc(vq, 0, g, 16, VRING_DESC_F_NEXT, 1);
	fe_vq_raw_desc(vq, 1, g + 16, 16, VRING_DESC_F_NEXT, 0);
	push_head(vq, 0);
}

static void b_loop_self(struct fe_dev *d, struct fe_vq *vq, uint64_t g)
{
	(void)d;
	fe_vq_raw_desc(vq, 0, g, 16, VRING_DESC_F_NEXT, 0);
	push_head(vq, 0);
}

static void b_exceeds_queue(struct fe_dev *d, struct fe_vq *vq, uint64_t g)
{
	(void)d;
	/* Every descriptor once, then back to the head: num + 1 links. */
	for (unsigned i = 0; i < vq->num; i++)
		fe_vq_raw_desc(vq, (uint16_t)i, g + (i % 256) * 16, 16, VRING_DESC_F_NEXT,
			       (uint16_t)((i + 1) % vq->num));
	push_head(vq, 0);
}

static void b_next_oob(struct fe_dev *d, struct fe_vq *vq, uint64_t g)
{
	(void)d;
	fe_vq_raw_desc(vq, 0, g, 16, VRING_DESC_F_NEXT, vq->num);
	push_head(vq, 0);
}

static void b_next_max(struct fe_dev *d, struct fe_vq *vq, uint64_t g)
{
	(void)d;
	fe_vq_raw_desc(vq, 0, g, 16, VRING_DESC_F_NEXT, 0xffff);
	push_head(vq, 0);
}

static void b_ind_in_ind(struct fe_dev *d, struct fe_vq *vq, uint64_t g)
{
	uint64_t t1, t2;
	struct vring_desc *a = table(d, 2, &t1), *b = table(d, 1, &t2);
	a[0] = (struct vring_desc){.addr = g, .len = 16, .flags = VRING_DESC_F_NEXT, .next = 1};
	a[1] = (struct vring_desc){.addr = t2, .len = 16, .flags = VRING_DESC_F_INDIRECT};
	b[0] = (struct vring_desc){.addr = g + 16, .len = 16, .flags = VRING_DESC_F_WRITE};
	fe_vq_raw_desc(vq, 0, t1, 32, VRING_DESC_F_INDIRECT, 0);
	push_head(vq, 0);
}

static void b_ind_next(struct fe_dev *d, struct fe_vq *vq, uint64_t g)
{
	uint64_t t;
	struct vring_desc *a = table(d, 1, &t);
	a[0] = (struct vring_desc){.addr = g, .len = 16};
	fe_vq_raw_desc(vq, 0, t, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	fe_vq_raw_desc(vq, 1, g + 16, 16, VRING_DESC_F_WRITE, 0);
	push_head(vq, 0);
}

static void ind_len(struct fe_dev *d, struct fe_vq *vq, uint64_t g, uint32_t len)
{
	uint64_t t;
	struct vring_desc *a = table(d, 2, &t);
	a[0] = (struct vring_desc){.addr = g, .len = 16, .flags = VRING_DESC_F_NEXT, .next = 1};
	a[1] = (struct vring_desc){.addr = g + 16, .len = 16, .flags = VRING_DESC_F_WRITE};
	fe_vq_raw_desc(vq, 0, t, len, VRING_DESC_F_INDIRECT, 0);
	push_head(vq, 0);
}

static void b_ind_len24(struct fe_dev *d, struct fe_vq *vq, uint64_t g)
{
	ind_len(d, vq, g, 24);
}

static void b_ind_len0(struct fe_dev *d, struct fe_vq *vq, uint64_t g)
{
	ind_len(d, vq, g, 0);
}

static void b_ind_outside(struct fe_dev *d, struct fe_vq *vq, uint64_t g)
{
	(void)g;
	fe_vq_raw_desc(vq, 0, fe_mem_hole(d->mem), 32, VRING_DESC_F_INDIRECT, 0);
	push_head(vq, 0);
}

static void b_ind_wraps(struct fe_dev *d, struct fe_vq *vq, uint64_t g)
{
	(void)d;
	(void)g;
	fe_vq_raw_desc(vq, 0, UINT64_MAX - 15, 32, VRING_DESC_F_INDIRECT, 0);
	push_head(vq, 0);
}

static void b_ind_loop(struct fe_dev *d, struct fe_vq *vq, uint64_t g)
{
	uint64_t t;
	struct vring_desc *a = table(d, 2, &t);
	a[0] = (struct vring_desc){.addr = g, .len = 16, .flags = VRING_DESC_F_NEXT, .next = 1};
	a[1] =
	    (struct vring_desc){.addr = g + 16, .len = 16, .flags = VRING_DESC_F_NEXT, .next = 0};
	fe_vq_raw_desc(vq, 0, t, 32, VRING_DESC_F_INDIRECT, 0);
	push_head(vq, 0);
}

static void b_ind_next_oob(struct fe_dev *d, struct fe_vq *vq, uint64_t g)
{
	uint64_t t;
	struct vring_desc *a = table(d, 2, &t);
	a[0] = (struct vring_desc){.addr = g, .len = 16, .flags = VRING_DESC_F_NEXT, .next = 2};
	a[1] = (struct vring_desc){.addr = g + 16, .len = 16, .flags = VRING_DESC_F_WRITE};
	fe_vq_raw_desc(vq, 0, t, 32, VRING_DESC_F_INDIRECT, 0);
	push_head(vq, 0);
}

static void b_ind_long(struct fe_dev *d, struct fe_vq *vq, uint64_t g)
{
	unsigned n = vq->num + 1u;
	uint64_t t;
	struct vring_desc *a = table(d, n, &t);
	for (unsigned i = 0; i + 1 < n; i++)
		a[i] = (struct vring_desc){.addr = g + i % 256,
					   .len = 1,
					   .flags = VRING_DESC_F_NEXT,
					   .next = (uint16_t)(i + 1)};
	a[n - 1] = (struct vring_desc){.addr = g + 4096, .len = 16, .flags = VRING_DESC_F_WRITE};
	fe_vq_raw_desc(vq, 0, t, 16 * n, VRING_DESC_F_INDIRECT, 0);
	push_head(vq, 0);
}

static void one_desc(struct fe_vq *vq, uint64_t addr, uint32_t len, uint16_t flags)
{
	fe_vq_raw_desc(vq, 0, addr, len, flags, 0);
	push_head(vq, 0);
}

static void b_addr_outside(struct fe_dev *d, struct fe_vq *vq, uint64_t g)
{
	(void)g;
	one_desc(vq, fe_mem_hole(d->mem), 16, 0);
}

static void b_addr_wraps(struct fe_dev *d, struct fe_vq *vq, uint64_t g)
{
	(void)d;
	(void)g;
	one_desc(vq, UINT64_MAX - 4095, 8192, VRING_DESC_F_WRITE);
}

static void b_addr_end(struct fe_dev *d, struct fe_vq *vq, uint64_t g)
{
	(void)d;
	(void)g;
	/* addr + len is exactly 2^64: wraps to 0 in 64-bit arithmetic. */
	one_desc(vq, UINT64_MAX - 7, 8, VRING_DESC_F_WRITE);
}

static void b_len_past_region(struct fe_dev *d, struct fe_vq *vq, uint64_t g)
{
	(void)g;
	/* Starts in RAM, ends in the hole after a region. */
	one_desc(vq, fe_mem_hole(d->mem) - 16, 4096, VRING_DESC_F_WRITE);
}

static void b_len_huge(struct fe_dev *d, struct fe_vq *vq, uint64_t g)
{
	(void)d;
	one_desc(vq, g, 0xffffffffu, VRING_DESC_F_WRITE);
}

static void b_rd_after_wr(struct fe_dev *d, struct fe_vq *vq, uint64_t g)
{
	(void)d;
	fe_vq_raw_desc(vq, 0, g, 64, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	fe_vq_raw_desc(vq, 1, g + 64, 64, 0, 0);
	push_head(vq, 0);
}

static void b_avail_jump(struct fe_dev *d, struct fe_vq *vq, uint64_t g)
{
	(void)d;
	fe_vq_raw_desc(vq, 0, g, 16, VRING_DESC_F_WRITE, 0);
	/* Every ring slot names a valid head; only the index lies. */
	for (unsigned i = 0; i < vq->num; i++)
		vq->avail->ring[i] = 0;
	fe_vq_raw_publish(vq, (uint16_t)(vq->avail_idx + vq->num + 1));
}

static void b_head_oob(struct fe_dev *d, struct fe_vq *vq, uint64_t g)
{
	(void)d;
	fe_vq_raw_desc(vq, 0, g, 16, VRING_DESC_F_WRITE, 0);
	push_head(vq, vq->num);
}

static void b_head_max(struct fe_dev *d, struct fe_vq *vq, uint64_t g)
{
	(void)d;
	fe_vq_raw_desc(vq, 0, g, 16, VRING_DESC_F_WRITE, 0);
	push_head(vq, 0xffff);
}

/* Watches queue 0 for settle_ms: a used entry is a failure unless tolerated. */
static enum conf_result observe(struct conf_ctx *c, struct fe_vq *vq, uint16_t used0,
				enum tolerance tol)
{
	uint64_t deadline = fe_deadline(c->settle_ms);

	while (vt_now_ns() < deadline) {
		uint16_t idx = fe_vq_used_idx(vq);
		if (idx != used0) {
			const struct vring_used_elem *e = &vq->used->ring[used0 % vq->num];
			uint32_t id = __atomic_load_n(&e->id, __ATOMIC_RELAXED);
			uint32_t len = __atomic_load_n(&e->len, __ATOMIC_RELAXED);
			if (tol == TOL_ANY) {
				conf_outcome(c, "served (id %u, len %u)", id, len);
				return CONF_PASS;
			}
			if (tol == TOL_LEN0 && len == 0 && (uint16_t)(idx - used0) == 1) {
				conf_outcome(c, "completed with len 0");
				return CONF_PASS;
			}
			return conf_fail(c,
					 "the back-end completed a malformed chain (used id %u, "
					 "len %u)",
					 id, len);
		}
		if (fe_vu_wait_closed(c->dev->vu, 1) == 1) {
			conf_outcome(c, "closed");
			return CONF_PASS;
		}
	}
	conf_outcome(c, "queue stopped");
	return CONF_PASS;
}

static enum conf_result run_ring(struct conf_ctx *c)
{
	const struct ring_case *rc = c->cur->arg;
	struct fe_dev *d = c->dev;
	struct fe_vq *vq = d->vqs[0];
	uint64_t good;

	if (fe_mem_alloc(d->mem, GOOD_SIZE, 64, &good) < 0)
		return conf_fail(c, "out of guest memory");
	uint16_t used0 = fe_vq_used_idx(vq);
	rc->build(d, vq, good);
	/* A real driver may have been told not to kick; a hostile one kicks anyway. */
	if (fe_vq_notify(vq) < 0)
		return conf_fail(c, "kick: %m");
	enum conf_result res = observe(c, vq, used0, rc->tol);
	if (res != CONF_PASS)
		return res;
	if (d->vu->peer_closed)
		return CONF_PASS;
	res = conf_expect_alive(c);
	if (res != CONF_PASS)
		return res;
	return conf_restart_and_serve(c);
}

#define RING(fn, tol) (&(const struct ring_case){fn, tol})

const struct conf_case conf_ring_cases[] = {
    {"ring.desc_loop", "descriptor 0 -> 1 -> 0", CONF_SETUP_STARTED, run_ring,
     RING(b_loop, TOL_NONE)},
    {"ring.desc_loop_self", "descriptor 0 -> 0", CONF_SETUP_STARTED, run_ring,
     RING(b_loop_self, TOL_NONE)},
    {"ring.chain_exceeds_queue", "all descriptors chained, then back to the head",
     CONF_SETUP_STARTED, run_ring, RING(b_exceeds_queue, TOL_NONE)},
    {"ring.next_out_of_range", "next = queue size", CONF_SETUP_STARTED, run_ring,
     RING(b_next_oob, TOL_NONE)},
    {"ring.next_max", "next = 0xffff", CONF_SETUP_STARTED, run_ring, RING(b_next_max, TOL_NONE)},
    {"ring.indirect_in_indirect", "an INDIRECT descriptor inside an indirect table",
     CONF_SETUP_STARTED, run_ring, RING(b_ind_in_ind, TOL_NONE)},
    {"ring.indirect_with_next", "INDIRECT | NEXT", CONF_SETUP_STARTED, run_ring,
     RING(b_ind_next, TOL_NONE)},
    {"ring.indirect_len_unaligned", "indirect table length 24 (not a multiple of 16)",
     CONF_SETUP_STARTED, run_ring, RING(b_ind_len24, TOL_NONE)},
    {"ring.indirect_len_zero", "indirect table length 0", CONF_SETUP_STARTED, run_ring,
     RING(b_ind_len0, TOL_NONE)},
    {"ring.indirect_outside", "indirect table outside every region", CONF_SETUP_STARTED, run_ring,
     RING(b_ind_outside, TOL_NONE)},
    {"ring.indirect_wraps", "indirect table at 2^64 - 16", CONF_SETUP_STARTED, run_ring,
     RING(b_ind_wraps, TOL_NONE)},
    {"ring.indirect_loop", "loop inside an indirect table", CONF_SETUP_STARTED, run_ring,
     RING(b_ind_loop, TOL_NONE)},
    {"ring.indirect_next_out_of_range", "next past the end of an indirect table",
     CONF_SETUP_STARTED, run_ring, RING(b_ind_next_oob, TOL_NONE)},
    {"ring.indirect_longer_than_queue",
     "indirect table of queue size + 1 entries "
     "(served or refused; must not crash)",
     CONF_SETUP_STARTED, run_ring, RING(b_ind_long, TOL_ANY)},
    {"ring.addr_outside", "buffer outside every region", CONF_SETUP_STARTED, run_ring,
     RING(b_addr_outside, TOL_NONE)},
    {"ring.addr_wraps", "addr + len wraps 2^64", CONF_SETUP_STARTED, run_ring,
     RING(b_addr_wraps, TOL_NONE)},
    {"ring.addr_end_of_space", "addr + len == 2^64", CONF_SETUP_STARTED, run_ring,
     RING(b_addr_end, TOL_NONE)},
    {"ring.len_past_region", "buffer starting in RAM and running into a hole", CONF_SETUP_STARTED,
     run_ring, RING(b_len_past_region, TOL_NONE)},
    {"ring.len_huge", "a 4 GiB buffer in a small RAM", CONF_SETUP_STARTED, run_ring,
     RING(b_len_huge, TOL_NONE)},
    {"ring.readable_after_writable",
     "a readable descriptor after a writable one "
     "(queue stopped or used.len 0)",
     CONF_SETUP_STARTED, run_ring, RING(b_rd_after_wr, TOL_LEN0)},
    {"ring.avail_idx_jump", "avail idx moved by queue size + 1", CONF_SETUP_STARTED, run_ring,
     RING(b_avail_jump, TOL_NONE)},
    {"ring.head_out_of_range", "avail ring head = queue size", CONF_SETUP_STARTED, run_ring,
     RING(b_head_oob, TOL_NONE)},
    {"ring.head_max", "avail ring head = 0xffff", CONF_SETUP_STARTED, run_ring,
     RING(b_head_max, TOL_NONE)},
};
const size_t conf_ring_ncases = VT_ARRAY_SIZE(conf_ring_cases);
