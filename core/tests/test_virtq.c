/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Split virtqueue, device side, against a mock guest: every malformed ring
 * the spec names is rejected with the exact result, and well-formed chains
 * (direct, indirect, spanning regions) produce exact segments.
 */
#include <sys/eventfd.h>

#include "log.h"
#include "mock_guest.h"
#include "test_util.h"

struct fixture {
	struct mock_guest g;
	struct mock_ring r;
	struct vt_queue q;
	uint64_t buf; /* 4 KiB of guest buffer space */
};

static void fx_init(struct fixture *f, uint32_t num)
{
	mock_guest_init(&f->g);
	mock_ring_init(&f->r, &f->g, num);
	vt_queue_init(&f->q, NULL, &f->g.mem, 0);
	mock_ring_attach(&f->r, &f->q);
	f->buf = mock_alloc(&f->g, 4096, 64);
}

static void fx_free(struct fixture *f)
{
	vt_queue_destroy(&f->q);
	mock_guest_free(&f->g);
}

static void test_direct_chain(void)
{
	struct fixture f;
	fx_init(&f, 8);
	uint64_t a[3] = {f.buf, f.buf + 100, f.buf + 200};
	uint32_t l[3] = {16, 32, 64};
	bool w[3] = {false, true, true};
	mock_chain(&f.r, 2, 3, a, l, w);
	struct vt_chain c;
	CHECK_EQ(vt_queue_pop(&f.q, &c), 1);
	CHECK_EQ(c.head, 2);
	CHECK_EQ(vt_chain_readable(&c), 16);
	CHECK_EQ(vt_chain_writable(&c), 96);
	CHECK_EQ(vt_queue_pop(&f.q, &c), 0);
	vt_queue_push(&f.q, &c, 50);
	CHECK_EQ(f.r.used->idx, 1);
	CHECK_EQ(f.r.used->ring[0].id, 2);
	CHECK_EQ(f.r.used->ring[0].len, 50);
	CHECK_EQ(atomic_load(&f.q.stats.used_bytes), 50);
	fx_free(&f);
}

static void test_push_clamps_len(void)
{
	struct fixture f;
	fx_init(&f, 4);
	uint64_t a[1] = {f.buf};
	uint32_t l[1] = {64};
	bool w[1] = {true};
	mock_chain(&f.r, 0, 1, a, l, w);
	struct vt_chain c;
	CHECK_EQ(vt_queue_pop(&f.q, &c), 1);
	vt_queue_push(&f.q, &c, 1000); /* more than the driver gave: clamped */
	CHECK_EQ(f.r.used->ring[0].len, 64);
	CHECK_EQ(atomic_load(&f.q.stats.used_bytes), 64); /* the clamped length counts */
	fx_free(&f);
}

static void test_spanning_regions(void)
{
	struct fixture f;
	fx_init(&f, 4);
	/* One descriptor straddling region 0 and region 1: two segments. */
	mock_desc(&f.r, 0, MOCK_R1_GPA - 10, 30, VRING_DESC_F_WRITE, 0);
	mock_avail(&f.r, 0);
	struct vt_chain c;
	CHECK_EQ(vt_queue_pop(&f.q, &c), 1);
	CHECK_EQ(c.nseg, 2);
	CHECK_EQ(c.seg[0].iov_len, 10);
	CHECK_EQ(c.seg[1].iov_len, 20);
	CHECK_EQ(vt_chain_writable(&c), 30);
	uint8_t data[30];
	memset(data, 0x77, sizeof(data));
	CHECK_EQ(vt_chain_write(&c, data, 30), 0);
	CHECK(((uint8_t *)mock_gpa(&f.g, MOCK_R1_GPA + 19))[0] == 0x77);
	fx_free(&f);
}

static void test_indirect(void)
{
	struct fixture f;
	fx_init(&f, 4);
	uint64_t tbl = mock_alloc(&f.g, 16 * 5, 16);
	struct vring_desc *t = mock_gpa(&f.g, tbl);
	/* QEMU/Linux crypto shape: 72 R, 16 R, src R, dst W, 1 W. */
	uint32_t lens[5] = {72, 16, 64, 64, 1};
	for (int i = 0; i < 5; i++) {
		t[i].addr = f.buf + 256ull * i;
		t[i].len = lens[i];
		t[i].flags = (uint16_t)((i < 4 ? VRING_DESC_F_NEXT : 0) |
					(i >= 3 ? VRING_DESC_F_WRITE : 0));
		t[i].next = (uint16_t)(i + 1);
	}
	mock_desc(&f.r, 1, tbl, 16 * 5, VRING_DESC_F_INDIRECT, 0);
	mock_avail(&f.r, 1);
	struct vt_chain c;
	CHECK_EQ(vt_queue_pop(&f.q, &c), 1);
	CHECK_EQ(c.head, 1);
	CHECK_EQ(vt_chain_readable(&c), 72 + 16 + 64);
	CHECK_EQ(vt_chain_writable(&c), 65);
	fx_free(&f);
}

/* Expects the next pop to break the queue, for exactly that reason. */
static void expect_broken(struct fixture *f, enum vt_ring_fault why)
{
	struct vt_chain c;
	CHECK_EQ(vt_queue_pop(&f->q, &c), -EIO);
	CHECK(f->q.broken);
	CHECK_EQ(atomic_load(&f->q.stats.broken), 1);
	CHECK_EQ(f->q.fault, why);
	CHECK_EQ(atomic_load(&f->q.stats.faults[why]), 1);
	CHECK(vt_ring_fault_breaks(why));
	/* Sticky: later pops refuse too, and nothing was used. */
	CHECK_EQ(vt_queue_pop(&f->q, &c), -EIO);
	CHECK_EQ(f->r.used->idx, 0);
}

static void test_loop(void)
{
	struct fixture f;
	fx_init(&f, 8);
	mock_desc(&f.r, 0, f.buf, 8, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	mock_desc(&f.r, 1, f.buf, 8, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 0);
	mock_avail(&f.r, 0);
	expect_broken(&f, VT_FAULT_CHAIN_LOOP);
	fx_free(&f);
}

static void test_next_out_of_range(void)
{
	struct fixture f;
	fx_init(&f, 8);
	mock_desc(&f.r, 0, f.buf, 8, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 8);
	mock_avail(&f.r, 0);
	expect_broken(&f, VT_FAULT_NEXT_OUT_OF_RANGE);
	fx_free(&f);
}

static void test_head_out_of_range(void)
{
	struct fixture f;
	fx_init(&f, 8);
	mock_avail(&f.r, 9);
	expect_broken(&f, VT_FAULT_HEAD_OUT_OF_RANGE);
	fx_free(&f);
}

static void test_avail_jump(void)
{
	struct fixture f;
	fx_init(&f, 8);
	__atomic_store_n(&f.r.avail->idx, 9, __ATOMIC_RELEASE);
	expect_broken(&f, VT_FAULT_AVAIL_IDX_AHEAD);
	fx_free(&f);
}

static void test_nested_indirect(void)
{
	struct fixture f;
	fx_init(&f, 4);
	uint64_t tbl = mock_alloc(&f.g, 32, 16);
	struct vring_desc *t = mock_gpa(&f.g, tbl);
	t[0] = (struct vring_desc){tbl, 32, VRING_DESC_F_INDIRECT, 0};
	mock_desc(&f.r, 0, tbl, 32, VRING_DESC_F_INDIRECT, 0);
	mock_avail(&f.r, 0);
	expect_broken(&f, VT_FAULT_NESTED_INDIRECT);
	fx_free(&f);
}

static void test_indirect_with_next(void)
{
	struct fixture f;
	fx_init(&f, 4);
	uint64_t tbl = mock_alloc(&f.g, 16, 16);
	struct vring_desc *t = mock_gpa(&f.g, tbl);
	t[0] = (struct vring_desc){f.buf, 8, VRING_DESC_F_WRITE, 0};
	mock_desc(&f.r, 0, tbl, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	mock_desc(&f.r, 1, f.buf, 8, VRING_DESC_F_WRITE, 0);
	mock_avail(&f.r, 0);
	expect_broken(&f, VT_FAULT_INDIRECT_WITH_NEXT);
	fx_free(&f);
}

static void test_indirect_bad_len(void)
{
	uint32_t bad[3] = {0, 17, 8};
	for (int i = 0; i < 3; i++) {
		struct fixture f;
		fx_init(&f, 4);
		uint64_t tbl = mock_alloc(&f.g, 32, 16);
		mock_desc(&f.r, 0, tbl, bad[i], VRING_DESC_F_INDIRECT, 0);
		mock_avail(&f.r, 0);
		expect_broken(&f, VT_FAULT_INDIRECT_BAD_LEN);
		fx_free(&f);
	}
}

static void test_indirect_loop(void)
{
	struct fixture f;
	fx_init(&f, 4);
	uint64_t tbl = mock_alloc(&f.g, 32, 16);
	struct vring_desc *t = mock_gpa(&f.g, tbl);
	t[0] = (struct vring_desc){f.buf, 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1};
	t[1] = (struct vring_desc){f.buf, 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 0};
	mock_desc(&f.r, 0, tbl, 32, VRING_DESC_F_INDIRECT, 0);
	mock_avail(&f.r, 0);
	expect_broken(&f, VT_FAULT_CHAIN_LOOP);
	fx_free(&f);
}

static void test_indirect_table_outside(void)
{
	struct fixture f;
	fx_init(&f, 4);
	mock_desc(&f.r, 0, 0x300000, 32, VRING_DESC_F_INDIRECT, 0);
	mock_avail(&f.r, 0);
	expect_broken(&f, VT_FAULT_INDIRECT_OUTSIDE_MEMORY);
	fx_free(&f);
}

static void test_addr_outside(void)
{
	uint64_t addrs[3] = {0x300000 /* gap */, MOCK_R2_GPA + 0x40000 - 4 /* runs off the end */,
			     UINT64_MAX - 2 /* wraps */};
	enum vt_ring_fault why[3] = {VT_FAULT_DESC_OUTSIDE_MEMORY, VT_FAULT_DESC_OUTSIDE_MEMORY,
				     VT_FAULT_DESC_OVERFLOW};
	for (int i = 0; i < 3; i++) {
		struct fixture f;
		fx_init(&f, 4);
		mock_desc(&f.r, 0, addrs[i], 16, VRING_DESC_F_WRITE, 0);
		mock_avail(&f.r, 0);
		expect_broken(&f, why[i]);
		fx_free(&f);
	}
}

static void test_chain_longer_than_ring(void)
{
	struct fixture f;
	fx_init(&f, 4);
	/* A linear chain through all 4 descriptors then back to 0: 5 > num. */
	for (uint16_t i = 0; i < 4; i++)
		mock_desc(&f.r, i, f.buf, 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT,
			  (uint16_t)((i + 1) % 4));
	mock_avail(&f.r, 0);
	expect_broken(&f, VT_FAULT_CHAIN_LOOP);
	fx_free(&f);
}

static void test_readable_after_writable(void)
{
	struct fixture f;
	fx_init(&f, 4);
	uint64_t a[2] = {f.buf, f.buf + 64};
	uint32_t l[2] = {8, 8};
	bool w[2] = {true, false};
	mock_chain(&f.r, 0, 2, a, l, w);
	struct vt_chain c;
	/* Request-level error: popped, to be completed with len 0; the ring lives on. */
	CHECK_EQ(vt_queue_pop(&f.q, &c), -EBADMSG);
	CHECK(!f.q.broken);
	CHECK_EQ(f.q.fault, VT_FAULT_READABLE_AFTER_WRITABLE);
	CHECK_EQ(atomic_load(&f.q.stats.faults[VT_FAULT_READABLE_AFTER_WRITABLE]), 1);
	CHECK(!vt_ring_fault_breaks(VT_FAULT_READABLE_AFTER_WRITABLE));
	CHECK_EQ(c.head, 0);
	vt_queue_push_malformed(&f.q, &c);
	CHECK_EQ(f.r.used->idx, 1);
	CHECK_EQ(f.r.used->ring[0].len, 0);
	CHECK_EQ(atomic_load(&f.q.stats.malformed), 1);
	fx_free(&f);
}

static void test_unpop(void)
{
	struct fixture f;
	fx_init(&f, 4);
	uint64_t a[1] = {f.buf};
	uint32_t l[1] = {8};
	bool w[1] = {true};
	mock_chain(&f.r, 3, 1, a, l, w);
	struct vt_chain c;
	CHECK_EQ(vt_queue_pop(&f.q, &c), 1);
	vt_queue_unpop(&f.q);
	CHECK(vt_queue_has_avail(&f.q));
	CHECK_EQ(vt_queue_pop(&f.q, &c), 1);
	CHECK_EQ(c.head, 3);
	fx_free(&f);
}

static uint64_t read_counter(int fd)
{
	uint64_t v = 0;
	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

static void test_notify_flags(void)
{
	struct fixture f;
	fx_init(&f, 4);
	f.q.call_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	uint64_t a[1] = {f.buf};
	uint32_t l[1] = {8};
	bool w[1] = {true};
	struct vt_chain c;

	/* No EVENT_IDX: notify unless the driver set NO_INTERRUPT. */
	mock_chain(&f.r, 0, 1, a, l, w);
	CHECK_EQ(vt_queue_pop(&f.q, &c), 1);
	vt_queue_push(&f.q, &c, 8);
	vt_queue_notify(&f.q);
	CHECK_EQ(read_counter(f.q.call_fd), 1);
	vt_queue_notify(&f.q); /* nothing new: no second signal */
	CHECK_EQ(read_counter(f.q.call_fd), 0);

	f.r.avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	mock_chain(&f.r, 1, 1, a, l, w);
	CHECK_EQ(vt_queue_pop(&f.q, &c), 1);
	vt_queue_push(&f.q, &c, 8);
	vt_queue_notify(&f.q);
	CHECK_EQ(read_counter(f.q.call_fd), 0);
	fx_free(&f);
}

static void test_notify_event_idx(void)
{
	struct fixture f;
	fx_init(&f, 8);
	f.q.event_idx = true;
	f.q.call_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	uint16_t *used_event = &f.r.avail->ring[8];
	uint64_t a[1] = {f.buf};
	uint32_t l[1] = {8};
	bool w[1] = {true};
	struct vt_chain c;

	/* The driver flag is ignored with EVENT_IDX. */
	f.r.avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	*used_event = 0;
	mock_chain(&f.r, 0, 1, a, l, w);
	CHECK_EQ(vt_queue_pop(&f.q, &c), 1);
	vt_queue_push(&f.q, &c, 8);
	vt_queue_notify(&f.q); /* first signal always (nothing signalled yet) */
	CHECK_EQ(read_counter(f.q.call_fd), 1);

	/* Driver wants an interrupt only after used idx passes 3. */
	*used_event = 3;
	for (uint16_t i = 1; i <= 4; i++) {
		mock_chain(&f.r, i, 1, a, l, w);
		CHECK_EQ(vt_queue_pop(&f.q, &c), 1);
		vt_queue_push(&f.q, &c, 8);
		vt_queue_notify(&f.q);
		CHECK_EQ(read_counter(f.q.call_fd), i == 3 ? 1 : 0);
	}
	fx_free(&f);
}

static void test_enable_notify(void)
{
	struct fixture f;
	fx_init(&f, 8);
	uint16_t *avail_event = (uint16_t *)(void *)&f.r.used->ring[8];
	uint64_t a[1] = {f.buf};
	uint32_t l[1] = {8};
	bool w[1] = {true};
	struct vt_chain c;
	mock_chain(&f.r, 0, 1, a, l, w);
	CHECK_EQ(vt_queue_pop(&f.q, &c), 1);
	vt_queue_disable_notify(&f.q);
	CHECK(f.r.used->flags & VRING_USED_F_NO_NOTIFY);
	/* Always published, even without EVENT_IDX (QEMU 7.2 crypto hides it). */
	CHECK(!vt_queue_enable_notify(&f.q));
	CHECK_EQ(*avail_event, 1);
	CHECK(!(f.r.used->flags & VRING_USED_F_NO_NOTIFY));
	mock_chain(&f.r, 1, 1, a, l, w);
	CHECK(vt_queue_enable_notify(&f.q)); /* work arrived: serve again */
	fx_free(&f);
}

/* What the serve test's handler saw at each chain. */
struct serve_seen {
	struct fixture *f;
	unsigned n;	    /* chains handled */
	unsigned calls[64]; /* call signals before chain i was handled */
	unsigned total;	    /* call signals so far */
	bool kicks_on;	    /* a chain saw driver kicks enabled */
	unsigned refill_at; /* before handling chain refill_at, the driver adds 20 */
};

static void add_chains(struct fixture *f, uint16_t first, uint16_t n)
{
	uint64_t a[1] = {f->buf};
	uint32_t l[1] = {8};
	bool w[1] = {true};
	for (uint16_t i = first; i < first + n; i++)
		mock_chain(&f->r, i, 1, a, l, w);
}

static struct vt_verdict serve_chain(void *priv, struct vt_queue *q, struct vt_chain *c)
{
	(void)c;
	struct serve_seen *s = priv;
	s->total += (unsigned)read_counter(q->call_fd);
	s->kicks_on |= !(s->f->r.used->flags & VRING_USED_F_NO_NOTIFY);
	if (s->refill_at && s->n == s->refill_at)
		add_chains(s->f, 40, 20);
	s->calls[s->n++] = s->total;
	return vt_used(8);
}

/* Serves what the ring holds; returns the call signals the driver got. */
static unsigned serve_all(struct fixture *f, struct serve_seen *s, bool mid)
{
	struct vt_server srv = {.chain = serve_chain, .notify_mid_batch = mid};
	CHECK_EQ(vt_queue_serve(&f->q, &srv, s), 0);
	s->total += (unsigned)read_counter(f->q.call_fd);
	CHECK(!s->kicks_on);
	CHECK(!(f->r.used->flags & VRING_USED_F_NO_NOTIFY));
	return s->total;
}

/*
 * vt_queue_serve on a long batch: driver kicks are off while it runs (it
 * sees what is added) and back on after. With notify_mid_batch the driver
 * gets a call half-way through (the completions reach the chains still
 * waiting), so it can refill before the worker runs dry, and one more
 * half-way only if it refilled; a batch of 15 gets its one call.
 */
static void test_serve_mid_batch(void)
{
	for (int mid = 0; mid < 2; mid++) {
		struct fixture f;
		fx_init(&f, 64);
		f.q.call_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

		/* 40 in flight, no refill: 20 done, 20 waiting, then the end. */
		add_chains(&f, 0, 40);
		struct serve_seen s = {.f = &f};
		CHECK_EQ(serve_all(&f, &s, mid), mid ? 2u : 1u);
		CHECK_EQ(s.n, 40);
		CHECK_EQ(s.calls[19], 0);
		CHECK_EQ(s.calls[20], mid ? 1u : 0u);
		CHECK_EQ(s.calls[39], mid ? 1u : 0u);

		/*
		 * The driver refills 20 while chain 22 is served, 3 after the first
		 * call: its refill showed at the 4th pop, so the second call comes
		 * when 2 * 4 + 2 = 10 still wait (50 done), not half-way (40).
		 */
		fx_free(&f);
		fx_init(&f, 64);
		f.q.call_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		add_chains(&f, 0, 40);
		s = (struct serve_seen){.f = &f, .refill_at = 22};
		CHECK_EQ(serve_all(&f, &s, mid), mid ? 3u : 1u);
		CHECK_EQ(s.n, 60);
		CHECK_EQ(s.calls[20], mid ? 1u : 0u);
		CHECK_EQ(s.calls[49], mid ? 1u : 0u);
		CHECK_EQ(s.calls[50], mid ? 2u : 0u);
		CHECK(mid ? f.q.mid_turn > 0 : f.q.mid_turn == 0);

		/* 15 in flight: fewer than 8 would still wait half-way: one call. */
		s = (struct serve_seen){.f = &f};
		add_chains(&f, 0, 15);
		CHECK_EQ(serve_all(&f, &s, mid), 1);
		CHECK_EQ(s.n, 15);
		fx_free(&f);
	}
}

/*
 * A driver keeping `depth` chains in flight: after each call it needs `turn`
 * chains of the device's time (its wake-up) before it re-adds what completed.
 */
struct late_driver {
	struct fixture *f;
	unsigned depth, turn;
	unsigned added, limit; /* chains made available so far, and at most */
	unsigned served, calls;
	unsigned refill_in; /* chains until the pending refill; 0: none pending */
};

static void late_refill(struct late_driver *d)
{
	d->refill_in = 0;
	unsigned done = (uint16_t)d->f->r.used->idx; /* fewer than 65536 in these tests */
	unsigned n = done + d->depth - d->added;
	n = VT_MIN(n, d->limit - d->added);
	uint64_t a[1] = {d->f->buf};
	uint32_t l[1] = {8};
	bool w[1] = {true};
	for (unsigned i = 0; i < n; i++, d->added++)
		mock_chain(&d->f->r, (uint16_t)(d->added % 128), 1, a, l, w);
}

static struct vt_verdict late_chain(void *priv, struct vt_queue *q, struct vt_chain *c)
{
	(void)c;
	struct late_driver *d = priv;
	uint64_t n = read_counter(q->call_fd);
	d->calls += (unsigned)n;
	if (n && !d->refill_in)
		d->refill_in = d->turn;
	d->served++;
	if (d->refill_in && --d->refill_in == 0)
		late_refill(d);
	return vt_used(8);
}

/* One vt_queue_serve; true if it served every chain the driver will add (it never ran dry). */
static bool late_serve(struct late_driver *d)
{
	struct vt_server srv = {.chain = late_chain, .notify_mid_batch = true};
	CHECK_EQ(vt_queue_serve(&d->f->q, &srv, d), 0);
	d->calls += (unsigned)read_counter(d->f->q.call_fd);
	bool all = d->served == d->limit;
	if (d->refill_in) /* ran dry: the driver's refill comes, the worker serves again */
		late_refill(d);
	return all;
}

/*
 * The mid-batch call comes as late as the driver's turnaround allows: with
 * 64 in flight and a driver that refills 4 chains after a call, about one
 * call per 52 completions (half-way would be one per 32), and the ring never
 * runs dry. When the driver gets slower (20 chains), the ring runs dry a few
 * times until the turnaround is learned, then no more.
 */
static void test_serve_late_call(void)
{
	struct fixture f;
	fx_init(&f, 128);
	f.q.call_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	struct late_driver d = {.f = &f, .depth = 64, .turn = 4, .limit = 64 + 1120};
	add_chains(&f, 0, 64);
	d.added = 64;
	CHECK(late_serve(&d));
	CHECK_EQ(d.served, 1184);
	/* The first call half-way, then one per ~52; the half-way rule would make 36. */
	CHECK(d.calls >= 18 && d.calls <= 26);

	/* A slower driver: a few dry runs while the turnaround is learned, then none. */
	d.turn = 20;
	d.limit += 1120;
	late_refill(&d);
	unsigned dry = 0;
	while (!late_serve(&d) && dry < 10)
		dry++;
	CHECK(dry <= 4);
	unsigned calls = d.calls;
	d.limit += 1120;
	late_refill(&d);
	CHECK(late_serve(&d)); /* 1120 more without running dry */
	CHECK(d.calls - calls <= 1120 / 32 + 2);
	fx_free(&f);
}

static void test_map_rings_rejects(void)
{
	struct mock_guest g;
	mock_guest_init(&g);
	struct vt_queue q;
	vt_queue_init(&q, NULL, &g.mem, 0);
	q.num = 4;
	q.addr_set = true;
	q.desc_uva = mock_uva(0x1008); /* not 16-aligned */
	q.avail_uva = mock_uva(0x2000);
	q.used_uva = mock_uva(0x3000);
	CHECK(!vt_queue_map_rings(&q));
	CHECK(q.broken);
	CHECK_EQ(q.fault, VT_FAULT_RING_MISALIGNED);
	vt_queue_reset(&q);
	q.num = 4;
	q.addr_set = true;
	q.desc_uva = mock_uva(MOCK_R1_GPA - 32); /* 64 bytes straddle two regions */
	q.avail_uva = mock_uva(0x2000);
	q.used_uva = mock_uva(0x3000);
	CHECK(!vt_queue_map_rings(&q));
	CHECK_EQ(q.fault, VT_FAULT_RING_OUTSIDE_MEMORY);
	vt_queue_reset(&q);
	q.num = 4;
	CHECK(!vt_queue_map_rings(&q)); /* no addresses */
	CHECK_EQ(q.fault, VT_FAULT_RING_UNCONFIGURED);
	vt_queue_destroy(&q);
	mock_guest_free(&g);
}

static void test_idx_wraparound(void)
{
	struct fixture f;
	fx_init(&f, 4);
	/* Start both sides just before the u16 wrap. */
	f.q.last_avail_idx = 0xfffe;
	f.r.avail_idx = 0xfffe;
	f.q.used_idx = 0xfffe;
	uint64_t a[1] = {f.buf};
	uint32_t l[1] = {8};
	bool w[1] = {true};
	struct vt_chain c;
	for (uint16_t i = 0; i < 4; i++) {
		mock_chain(&f.r, i, 1, a, l, w);
		CHECK_EQ(vt_queue_pop(&f.q, &c), 1);
		CHECK_EQ(c.head, i);
		vt_queue_push(&f.q, &c, 1);
	}
	CHECK_EQ(f.q.last_avail_idx, 2);
	CHECK_EQ(f.r.used->idx, 2);
	CHECK(!f.q.broken);
	fx_free(&f);
}

int main(void)
{
	vt_guestmem_set_prefault(false);
	vt_log_set_level(VT_LOG_ERR);
	TEST_RUN(test_direct_chain);
	TEST_RUN(test_push_clamps_len);
	TEST_RUN(test_spanning_regions);
	TEST_RUN(test_indirect);
	TEST_RUN(test_loop);
	TEST_RUN(test_next_out_of_range);
	TEST_RUN(test_head_out_of_range);
	TEST_RUN(test_avail_jump);
	TEST_RUN(test_nested_indirect);
	TEST_RUN(test_indirect_with_next);
	TEST_RUN(test_indirect_bad_len);
	TEST_RUN(test_indirect_loop);
	TEST_RUN(test_indirect_table_outside);
	TEST_RUN(test_addr_outside);
	TEST_RUN(test_chain_longer_than_ring);
	TEST_RUN(test_readable_after_writable);
	TEST_RUN(test_unpop);
	TEST_RUN(test_notify_flags);
	TEST_RUN(test_notify_event_idx);
	TEST_RUN(test_enable_notify);
	TEST_RUN(test_serve_mid_batch);
	TEST_RUN(test_serve_late_call);
	TEST_RUN(test_map_rings_rejects);
	TEST_RUN(test_idx_wraparound);
	TEST_DONE();
}
