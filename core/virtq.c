/* SPDX-License-Identifier: Apache-2.0 */
#include "virtq.h"

#include <inttypes.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>

#include "device.h"
#include "log.h"

/* The compiler must not re-read guest memory in place of our private copy. */
#define vt_guest_barrier() __asm__ volatile("" ::: "memory")

static const struct {
	const char *label;
	const char *text;
} faults[VT_FAULT_MAX] = {
	[VT_FAULT_NONE] = {"none", "no fault"},
	[VT_FAULT_RING_UNCONFIGURED] = {"ring_unconfigured", "ring started without size or addresses"},
	[VT_FAULT_RING_MISALIGNED] = {"ring_misaligned", "misaligned ring address"},
	[VT_FAULT_RING_OUTSIDE_MEMORY] = {"ring_outside_memory", "ring address outside guest memory"},
	[VT_FAULT_AVAIL_IDX_AHEAD] = {"avail_idx_ahead", "avail index moved more than the ring size"},
	[VT_FAULT_HEAD_OUT_OF_RANGE] = {"head_out_of_range", "avail ring head index out of range"},
	[VT_FAULT_DESC_OVERFLOW] = {"desc_overflow", "descriptor address + length overflows"},
	[VT_FAULT_DESC_OUTSIDE_MEMORY] = {"desc_outside_memory", "descriptor outside guest memory"},
	[VT_FAULT_INDIRECT_OUTSIDE_MEMORY] = {"indirect_outside_memory",
					      "indirect table outside guest memory"},
	[VT_FAULT_CHAIN_LOOP] = {"chain_loop", "descriptor chain loops or exceeds the queue size"},
	[VT_FAULT_NESTED_INDIRECT] = {"nested_indirect",
				      "indirect descriptor inside an indirect table"},
	[VT_FAULT_INDIRECT_WITH_NEXT] = {"indirect_with_next", "indirect descriptor with NEXT set"},
	[VT_FAULT_INDIRECT_BAD_LEN] = {"indirect_bad_len", "indirect table length invalid"},
	[VT_FAULT_INDIRECT_OVERFLOW] = {"indirect_overflow", "indirect table address overflows"},
	[VT_FAULT_NEXT_OUT_OF_RANGE] = {"next_out_of_range", "descriptor next index out of range"},
	[VT_FAULT_MEMORY_LOST] = {"memory_lost",
				  "guest memory shrank under the ring (SIGBUS contained); a new "
				  "memory table is needed"},
	[VT_FAULT_READABLE_AFTER_WRITABLE] = {"readable_after_writable",
					      "readable descriptor after a writable one"},
	[VT_FAULT_TOO_MANY_SEGMENTS] = {"too_many_segments", "chain has too many segments"},
};

const char *vt_ring_fault_text(enum vt_ring_fault f)
{
	return (unsigned)f < VT_FAULT_MAX ? faults[f].text : "unknown fault";
}

const char *vt_ring_fault_label(enum vt_ring_fault f)
{
	return (unsigned)f < VT_FAULT_MAX ? faults[f].label : "unknown";
}

bool vt_ring_fault_breaks(enum vt_ring_fault f)
{
	return f > VT_FAULT_NONE && f < VT_FAULT_READABLE_AFTER_WRITABLE;
}

void vt_queue_init(struct vt_queue *q, struct vt_device *dev, const struct vt_guestmem *mem,
		   unsigned index)
{
	memset(q, 0, sizeof(*q));
	q->index = index;
	q->dev = dev;
	q->mem = mem;
	pthread_mutex_init(&q->lock, NULL);
	q->kick_fd = q->call_fd = q->err_fd = -1;
	q->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	q->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void vt_queue_reset(struct vt_queue *q)
{
	close_fd(&q->kick_fd);
	close_fd(&q->call_fd);
	close_fd(&q->err_fd);
	q->kick_nofd = false;
	q->num = 0;
	q->addr_set = false;
	q->desc = NULL;
	q->avail = NULL;
	q->used = NULL;
	q->last_avail_idx = 0;
	q->avail_waiting = 0;
	q->mid_turn = 0;
	q->used_idx = 0;
	q->signalled_used_valid = false;
	q->started = false;
	q->enabled = false;
	q->broken = false;
	q->fault = VT_FAULT_NONE;
	q->deferred = false;
	q->redo_n = 0;
	vt_queue_arm_timer(q, 0);
	if (q->rsq) {
		vt_rs_queue_clear_inflight(q);
		vt_rs_queue_sync(q);
	}
}

void vt_queue_destroy(struct vt_queue *q)
{
	vt_queue_reset(q);
	close_fd(&q->wake_fd);
	close_fd(&q->timer_fd);
	free(q->segs);
	q->segs = NULL;
	free(q->redo_heads);
	q->redo_heads = NULL;
	pthread_mutex_destroy(&q->lock);
}

void vt_queue_set_broken(struct vt_queue *q, enum vt_ring_fault why)
{
	if (q->broken)
		return;
	q->broken = true;
	q->fault = why;
	atomic_fetch_add(&q->stats.broken, 1);
	if ((unsigned)why < VT_FAULT_MAX)
		atomic_fetch_add(&q->stats.faults[why], 1);
	vt_warn("%s: queue %u: ring broken: %s; not served until the front-end restarts it",
		q->dev ? q->dev->name : "-", q->index, vt_ring_fault_text(why));
	if (q->err_fd >= 0) {
		uint64_t one = 1;
		ssize_t w = write(q->err_fd, &one, sizeof(one));
		(void)w;
	}
}

bool vt_queue_memory_lost(struct vt_queue *q)
{
	uint64_t g = vt_guestmem_fault_generation();
	if (VT_LIKELY(g == q->fault_gen))
		return false;
	if (!vt_guestmem_poisoned(q->mem)) {
		q->fault_gen = g;
		return false;
	}
	vt_queue_set_broken(q, VT_FAULT_MEMORY_LOST);
	return true;
}

bool vt_queue_map_rings(struct vt_queue *q)
{
	q->desc = NULL;
	q->avail = NULL;
	q->used = NULL;
	q->fault_gen = 0;
	if (vt_guestmem_poisoned(q->mem)) {
		vt_queue_set_broken(q, VT_FAULT_MEMORY_LOST);
		return false;
	}
	if (!q->addr_set || q->num == 0) {
		vt_queue_set_broken(q, VT_FAULT_RING_UNCONFIGURED);
		return false;
	}
	/* Alignment per the spec: descriptors 16, avail 2, used 4. */
	if ((q->desc_uva & 15) || (q->avail_uva & 1) || (q->used_uva & 3)) {
		vt_queue_set_broken(q, VT_FAULT_RING_MISALIGNED);
		return false;
	}
	uint8_t *d = vt_guestmem_uva_range(q->mem, q->desc_uva, vring_desc_size(q->num));
	uint8_t *a = vt_guestmem_uva_range(q->mem, q->avail_uva, vring_avail_size(q->num));
	uint8_t *u = vt_guestmem_uva_range(q->mem, q->used_uva, vring_used_size(q->num));
	if (!d || !a || !u) {
		vt_queue_set_broken(q, VT_FAULT_RING_OUTSIDE_MEMORY);
		return false;
	}
	q->desc = (struct vring_desc *)(void *)d;
	q->avail = (struct vring_avail *)(void *)a;
	q->used = (struct vring_used *)(void *)u;
	return true;
}

static inline uint16_t avail_idx_acquire(const struct vt_queue *q)
{
	return __atomic_load_n(&q->avail->idx, __ATOMIC_ACQUIRE);
}

static inline uint16_t *used_event_ptr(const struct vt_queue *q)
{
	return &q->avail->ring[q->num];
}

static inline uint16_t *avail_event_ptr(const struct vt_queue *q)
{
	return (uint16_t *)(void *)&q->used->ring[q->num];
}

/* Copies len guest-physical bytes (possibly spanning regions) into dst. */
static bool copy_from_gpa(const struct vt_guestmem *mem, uint64_t gpa, void *dst, uint64_t len)
{
	uint8_t *out = dst;
	while (len) {
		uint64_t got;
		const uint8_t *p = vt_guestmem_gpa_prefix(mem, gpa, len, &got);
		if (!p)
			return false;
		memcpy(out, p, got);
		out += got;
		gpa += got;
		len -= got;
	}
	vt_guest_barrier();
	return true;
}

struct walk {
	struct vt_queue *q;
	uint32_t nseg;
	uint32_t nrd;
	bool seen_write;
	int err; /* -EBADMSG: chain-level; -EIO: ring-level */
	enum vt_ring_fault why;
};

/* Adds one descriptor's buffer as host segments; false when the walk must stop. */
static bool walk_add(struct walk *w, const struct vring_desc *d)
{
	bool writable = d->flags & VRING_DESC_F_WRITE;
	if (!writable && w->seen_write) {
		w->err = -EBADMSG;
		w->why = VT_FAULT_READABLE_AFTER_WRITABLE;
		return false;
	}
	w->seen_write |= writable;
	uint64_t gpa = d->addr, len = d->len, end;
	if (vt_add_overflow(gpa, len, &end)) {
		w->err = -EIO;
		w->why = VT_FAULT_DESC_OVERFLOW;
		return false;
	}
	while (len) {
		uint64_t got;
		uint8_t *p = vt_guestmem_gpa_prefix(w->q->mem, gpa, len, &got);
		if (!p) {
			w->err = -EIO;
			w->why = VT_FAULT_DESC_OUTSIDE_MEMORY;
			return false;
		}
		if (w->nseg >= w->q->segs_cap) {
			w->err = -EBADMSG;
			w->why = VT_FAULT_TOO_MANY_SEGMENTS;
			return false;
		}
		w->q->segs[w->nseg].iov_base = p;
		w->q->segs[w->nseg].iov_len = (size_t)got;
		w->nseg++;
		if (!writable)
			w->nrd++;
		gpa += got;
		len -= got;
	}
	return true;
}

static int walk_chain(struct walk *w, uint16_t head)
{
	struct vt_queue *q = w->q;
	uint32_t max = q->num; /* descriptors allowed in the current table */
	uint32_t count = 0;
	uint32_t i = head;
	uint64_t table_gpa = 0;
	bool indirect = false;

	for (;;) {
		struct vring_desc d;
		if (!indirect) {
			memcpy(&d, &q->desc[i], sizeof(d));
			vt_guest_barrier();
		} else if (!copy_from_gpa(q->mem, table_gpa + 16ull * i, &d, sizeof(d))) {
			w->why = VT_FAULT_INDIRECT_OUTSIDE_MEMORY;
			return w->err = -EIO;
		}
		if (++count > max) {
			w->why = VT_FAULT_CHAIN_LOOP;
			return w->err = -EIO;
		}
		if (d.flags & VRING_DESC_F_INDIRECT) {
			if (indirect) {
				w->why = VT_FAULT_NESTED_INDIRECT;
				return w->err = -EIO;
			}
			if (d.flags & VRING_DESC_F_NEXT) {
				w->why = VT_FAULT_INDIRECT_WITH_NEXT;
				return w->err = -EIO;
			}
			if (d.len == 0 || d.len % 16 || d.len / 16 > VIRTQ_MAX_SIZE) {
				w->why = VT_FAULT_INDIRECT_BAD_LEN;
				return w->err = -EIO;
			}
			uint64_t end;
			if (vt_add_overflow(d.addr, (uint64_t)d.len, &end)) {
				w->why = VT_FAULT_INDIRECT_OVERFLOW;
				return w->err = -EIO;
			}
			indirect = true;
			table_gpa = d.addr;
			max = d.len / 16;
			count = 0;
			i = 0;
			continue;
		}
		if (!walk_add(w, &d))
			return w->err;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		i = d.next;
		if (i >= max) {
			w->why = VT_FAULT_NEXT_OUT_OF_RANGE;
			return w->err = -EIO;
		}
	}
}

static bool ensure_segs(struct vt_queue *q)
{
	uint32_t want = 2 * q->num + 256;
	if (q->segs && q->segs_cap >= want)
		return true;
	struct iovec *s = realloc(q->segs, want * sizeof(*s));
	if (!s)
		return false;
	q->segs = s;
	q->segs_cap = want;
	return true;
}

/* Walks head into c: 1, -EBADMSG (malformed chain) or -EIO (ring broken). */
static int walk_into(struct vt_queue *q, uint16_t head, struct vt_chain *c)
{
	struct walk w = {.q = q};
	int r = walk_chain(&w, head);
	if (vt_queue_memory_lost(q))
		return -EIO;
	if (r == -EIO) {
		vt_queue_set_broken(q, w.why);
		return -EIO;
	}
	if (r == -EBADMSG) {
		q->fault = w.why;
		atomic_fetch_add_explicit(&q->stats.faults[w.why], 1, memory_order_relaxed);
		vt_debug("queue %u: malformed chain %u: %s", q->index, head,
			 vt_ring_fault_text(w.why));
		vt_chain_init(c, head, q->segs, 0, 0);
		return -EBADMSG;
	}
	vt_chain_init(c, head, q->segs, w.nrd, w.nseg - w.nrd);
	return 1;
}

/* A chain the previous process had popped and not answered (resume.h). */
static int pop_redo(struct vt_queue *q, struct vt_chain *c)
{
	uint16_t head = q->redo_heads[--q->redo_n];
	if (head >= q->num || !ensure_segs(q)) {
		q->redo_n++;
		vt_queue_set_broken(q, VT_FAULT_HEAD_OUT_OF_RANGE); /* the record names no head of this ring */
		return -EIO;
	}
	q->last_head = head;
	q->last_from_redo = true;
	q->avail_waiting = (uint16_t)VT_MIN(q->redo_n, (uint32_t)UINT16_MAX);
	atomic_fetch_add_explicit(&q->stats.chains, 1, memory_order_relaxed);
	int r = walk_into(q, head, c);
	if (r == 1) {
		c->redo = true;
		vt_rs_restore_input(q, c);
	}
	return r;
}

int vt_queue_pop(struct vt_queue *q, struct vt_chain *c)
{
	if (q->broken || !q->avail)
		return -EIO;
	if (q->redo_n)
		return pop_redo(q, c);
	uint16_t avail_idx = avail_idx_acquire(q);
	if (vt_queue_memory_lost(q))
		return -EIO;
	uint16_t pending = (uint16_t)(avail_idx - q->last_avail_idx);
	if (pending == 0)
		return 0;
	if (pending > q->num) {
		vt_queue_set_broken(q, VT_FAULT_AVAIL_IDX_AHEAD);
		return -EIO;
	}
	uint16_t head = __atomic_load_n(&q->avail->ring[q->last_avail_idx & (q->num - 1)],
					__ATOMIC_RELAXED);
	if (head >= q->num) {
		vt_queue_set_broken(q, VT_FAULT_HEAD_OUT_OF_RANGE);
		return -EIO;
	}
	if (!ensure_segs(q)) {
		vt_warn("queue %u: out of memory for a chain", q->index);
		return 0;
	}
	q->last_avail_idx++;
	q->avail_waiting = (uint16_t)(pending - 1);
	q->last_head = head;
	q->last_from_redo = false;
	if (q->rsq)
		vt_rs_pop(q, head);
	atomic_fetch_add_explicit(&q->stats.chains, 1, memory_order_relaxed);
	return walk_into(q, head, c);
}

void vt_queue_unpop(struct vt_queue *q)
{
	atomic_fetch_sub_explicit(&q->stats.chains, 1, memory_order_relaxed);
	if (q->last_from_redo) {
		q->redo_heads[q->redo_n++] = q->last_head;
		return;
	}
	q->last_avail_idx--;
	if (q->rsq)
		vt_rs_unpop(q, q->last_head);
}

void vt_queue_push(struct vt_queue *q, const struct vt_chain *c, uint32_t len)
{
	if (!q->used)
		return;
	if (len > c->wr_total)
		len = (uint32_t)c->wr_total; /* never claim more than the driver gave us */
	vt_crash_point("push", (int)q->index);
	if (q->rsq)
		vt_rs_push_begin(q, c->head);
	struct vring_used_elem *e = &q->used->ring[q->used_idx & (q->num - 1)];
	__atomic_store_n(&e->id, (uint32_t)c->head, __ATOMIC_RELAXED);
	__atomic_store_n(&e->len, len, __ATOMIC_RELAXED);
	q->used_idx++;
	atomic_fetch_add_explicit(&q->stats.used_bytes, len, memory_order_relaxed);
	/* Element before index: the driver reads idx, then the element. */
	__atomic_store_n(&q->used->idx, q->used_idx, __ATOMIC_RELEASE);
	if (q->rsq)
		vt_rs_push_end(q, c->head);
}

void vt_queue_push_malformed(struct vt_queue *q, const struct vt_chain *c)
{
	atomic_fetch_add_explicit(&q->stats.malformed, 1, memory_order_relaxed);
	vt_queue_push(q, c, 0);
}

/* vt_queue_notify; true if it signalled the call fd. */
static bool queue_notify(struct vt_queue *q)
{
	if (!q->used || q->call_fd < 0)
		return false;
	/* Our used idx store must be visible before we read the driver's wishes. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	bool need;
	if (q->event_idx) {
		uint16_t old = q->signalled_used;
		uint16_t new_idx = q->used_idx;
		uint16_t ev = __atomic_load_n(used_event_ptr(q), __ATOMIC_RELAXED);
		need = !q->signalled_used_valid || vring_need_event(ev, new_idx, old);
	} else {
		uint16_t flags = __atomic_load_n(&q->avail->flags, __ATOMIC_RELAXED);
		need = !(flags & VRING_AVAIL_F_NO_INTERRUPT);
	}
	if (q->signalled_used_valid && q->signalled_used == q->used_idx)
		need = false; /* nothing new since the last signal */
	q->signalled_used = q->used_idx;
	q->signalled_used_valid = true;
	if (!need)
		return false;
	uint64_t one = 1;
	ssize_t w = write(q->call_fd, &one, sizeof(one));
	(void)w;
	atomic_fetch_add_explicit(&q->stats.notifies, 1, memory_order_relaxed);
	return true;
}

void vt_queue_notify(struct vt_queue *q)
{
	(void)queue_notify(q);
}

bool vt_queue_has_avail(struct vt_queue *q)
{
	if (!q->avail || q->broken)
		return false;
	return q->redo_n || avail_idx_acquire(q) != q->last_avail_idx;
}

bool vt_queue_enable_notify(struct vt_queue *q)
{
	if (!q->used)
		return false;
	__atomic_store_n(avail_event_ptr(q), q->last_avail_idx, __ATOMIC_RELAXED);
	uint16_t f = __atomic_load_n(&q->used->flags, __ATOMIC_RELAXED);
	if (f & VRING_USED_F_NO_NOTIFY)
		__atomic_store_n(&q->used->flags, (uint16_t)(f & ~VRING_USED_F_NO_NOTIFY),
				 __ATOMIC_RELAXED);
	/* Publish the re-arm before re-checking, or a kick could be lost. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return vt_queue_has_avail(q);
}

void vt_queue_disable_notify(struct vt_queue *q)
{
	if (!q->used)
		return;
	/* One behind our position: the driver's need_event test stays false. */
	__atomic_store_n(avail_event_ptr(q), (uint16_t)(q->last_avail_idx - 1), __ATOMIC_RELAXED);
	uint16_t f = __atomic_load_n(&q->used->flags, __ATOMIC_RELAXED);
	__atomic_store_n(&q->used->flags, (uint16_t)(f | VRING_USED_F_NO_NOTIFY), __ATOMIC_RELAXED);
}

void vt_queue_arm_timer(struct vt_queue *q, uint64_t ns)
{
	if (q->timer_fd < 0)
		return;
	struct itimerspec its = {0};
	its.it_value.tv_sec = (time_t)(ns / 1000000000ull);
	its.it_value.tv_nsec = (long)(ns % 1000000000ull);
	(void)timerfd_settime(q->timer_fd, 0, &its, NULL);
}

void vt_queue_wake(struct vt_queue *q)
{
	atomic_store(&q->wake_pending, true);
	uint64_t one = 1;
	ssize_t w = write(q->wake_fd, &one, sizeof(one));
	(void)w;
}

void vt_queue_defer(struct vt_queue *q, uint64_t ns)
{
	if (q->off_worker)
		return;
	if (ns)
		vt_queue_arm_timer(q, ns);
	q->deferred = true;
}

bool vt_queue_servable(const struct vt_queue *q)
{
	bool without_enable = q->dev && q->dev->ops->serve_without_enable;
	return q->started && !q->broken && (q->enabled || without_enable);
}

int vt_queue_try_run(struct vt_queue *q, vt_queue_fn fn, void *ctx)
{
	if (pthread_mutex_trylock(&q->lock) != 0) {
		/* The worker is busy and may have missed what we wanted to deliver: wake it. */
		vt_queue_wake(q);
		return -EBUSY;
	}
	bool ran = false;
	if (vt_queue_servable(q)) {
		q->off_worker = true;
		ran = fn(ctx, q);
		q->off_worker = false;
	}
	pthread_mutex_unlock(&q->lock);
	return ran ? 1 : 0;
}

void vt_queue_lock(struct vt_queue *q)
{
	pthread_mutex_lock(&q->lock);
}

void vt_queue_unlock(struct vt_queue *q)
{
	pthread_mutex_unlock(&q->lock);
}

unsigned vt_queue_index(const struct vt_queue *q)
{
	return q->index;
}

const struct vt_queue_stats *vt_queue_stats(const struct vt_queue *q)
{
	return &q->stats;
}

bool vt_queue_fresh(const struct vt_queue *q)
{
	return q->last_avail_idx == 0 && q->used_idx == 0;
}

/* One turnaround sample (chains served from a mid-batch call to the refill): up fast, down slowly. */
static void mid_turn_learn(struct vt_queue *q, unsigned chains)
{
	uint32_t t = VT_MIN(chains, (unsigned)VIRTQ_MAX_SIZE) * 16u;
	if (q->mid_turn == 0)
		q->mid_turn = t;
	else if (t > q->mid_turn)
		q->mid_turn += (t - q->mid_turn + 1) / 2;
	else
		q->mid_turn -= (q->mid_turn - t) / 16;
}

/*
 * Chains to leave waiting at a mid-batch call: twice the turnaround, plus 2;
 * 0: unknown. A generous margin is cheap (one more chain of cover costs ~2 %
 * more calls at depth 64), running dry is not (the worker idles until the
 * refill comes).
 */
static unsigned mid_cover(const struct vt_queue *q)
{
	return q->mid_turn ? q->mid_turn / 8 + 2 : 0;
}

/* A mid-batch call is due after a completion (notify_mid_batch in virtq.h). */
static bool mid_due(const struct vt_queue *q, unsigned unsignalled)
{
	unsigned waiting = q->avail_waiting, cover = mid_cover(q);
	if (waiting == 0 || unsignalled < waiting || unsignalled + waiting < 2 * VT_NOTIFY_MID_MIN)
		return false;
	return cover ? waiting <= cover : waiting >= VT_NOTIFY_MID_MIN;
}

int vt_queue_serve(struct vt_queue *q, const struct vt_server *s, void *priv)
{
	struct vt_chain c;
	unsigned unsignalled = 0;
	bool mid_called = false;
	uint16_t mid_seen = 0; /* the avail idx seen at the last mid-batch call */
	bool timing = false;   /* a mid-batch call's refill is awaited */
	unsigned since_mid = 0; /* chains popped since that call */
	for (;;) {
		int r, stop = 0;
		/*
		 * The loop below sees every chain the driver adds while it runs: a
		 * kick meanwhile would only cost the driver a notification (a VM exit
		 * in a real guest) and wake a worker that is awake.
		 */
		vt_queue_disable_notify(q);
		while ((r = vt_queue_pop(q, &c)) != 0) {
			if (r == -EIO) {
				stop = -EIO;
				break;
			}
			struct vt_verdict v;
			if (r == -EBADMSG) {
				if (s->malformed)
					s->malformed(priv, q);
				v = vt_malformed();
			} else {
				if (q->rsq && q->dev->ops->inflight_keep_input)
					vt_rs_keep_input(q, &c);
				v = s->chain(priv, q, &c);
			}
			if (v.kind == VT_VERDICT_DEFER) {
				vt_queue_unpop(q);
				vt_queue_defer(q, v.defer_ns);
				stop = -EAGAIN;
				break;
			}
			if (v.kind == VT_VERDICT_MALFORMED)
				vt_queue_push_malformed(q, &c);
			else
				vt_queue_push(q, &c, v.len);
			unsignalled++;
			/* Once more only if the driver refilled after the last one. */
			uint16_t seen = (uint16_t)(q->last_avail_idx + q->avail_waiting);
			if (timing && ++since_mid && seen != mid_seen) {
				mid_turn_learn(q, since_mid); /* the refill showed at this pop */
				timing = false;
			}
			bool mid = s->notify_mid_batch && (!mid_called || seen != mid_seen) &&
				   mid_due(q, unsignalled);
			if (mid) {
				mid_called = true;
				mid_seen = seen;
			}
			if (mid ||
			    (s->notify_every && (q->event_idx || unsignalled >= s->notify_every))) {
				bool sent = queue_notify(q);
				unsignalled = 0;
				if (mid && sent) {
					timing = true;
					since_mid = 0;
				}
			}
		}
		if (unsignalled) {
			vt_queue_notify(q);
			unsignalled = 0;
		}
		if (s->after_batch)
			s->after_batch(priv, q);
		if (stop == -EAGAIN)
			(void)vt_queue_enable_notify(q); /* deferred: a kick may bring what can run */
		if (stop)
			return stop;
		if (!vt_queue_enable_notify(q)) {
			/* Ran dry before the refill: the driver needs more than the chains left. */
			if (timing)
				mid_turn_learn(q, since_mid + 2);
			return 0;
		}
	}
}
