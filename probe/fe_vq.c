/* SPDX-License-Identifier: Apache-2.0 */
#include "fe_vq.h"

#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>

#include "fe_mem.h"
#include "fe_time.h"
#include "log.h"

static int vq_break(struct fe_vq *vq, const char *fmt, ...) VT_PRINTF(2, 3);
static int vq_break(struct fe_vq *vq, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	(void)vsnprintf(vq->error, sizeof(vq->error), fmt, ap);
	va_end(ap);
	vq->broken = true;
	vt_debug("vq %u broken: %s", vq->index, vq->error);
	return -EPROTO;
}

static uint16_t load_acquire16(const uint16_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void store_release16(uint16_t *p, uint16_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static uint16_t load_once16(const uint16_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void store_once16(uint16_t *p, uint16_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

/* Allocates the three areas at their spec alignment (16, 2, 4). */
static int rings_alloc(struct fe_vq *vq)
{
	uint64_t d, a, u;
	int r;

	r = fe_mem_alloc(vq->mem, vring_desc_size(vq->num), 16, &d);
	if (r < 0)
		return r;
	r = fe_mem_alloc(vq->mem, vring_avail_size(vq->num), 2, &a);
	if (r < 0)
		goto fail_a;
	r = fe_mem_alloc(vq->mem, vring_used_size(vq->num), 4, &u);
	if (r < 0)
		goto fail_u;
	vq->desc_gpa = d;
	vq->avail_gpa = a;
	vq->used_gpa = u;
	vq->desc = fe_mem_ptr(vq->mem, d, vring_desc_size(vq->num));
	vq->avail = fe_mem_ptr(vq->mem, a, vring_avail_size(vq->num));
	vq->used = fe_mem_ptr(vq->mem, u, vring_used_size(vq->num));
	vq->used_event = &vq->avail->ring[vq->num];
	vq->avail_event = (uint16_t *)(void *)&vq->used->ring[vq->num];
	return 0;
fail_u:
	(void)fe_mem_release(vq->mem, a, vring_avail_size(vq->num));
fail_a:
	(void)fe_mem_release(vq->mem, d, vring_desc_size(vq->num));
	return r;
}

static void rings_release(struct fe_vq *vq, uint64_t d, uint64_t a, uint64_t u)
{
	(void)fe_mem_release(vq->mem, d, vring_desc_size(vq->num));
	(void)fe_mem_release(vq->mem, a, vring_avail_size(vq->num));
	(void)fe_mem_release(vq->mem, u, vring_used_size(vq->num));
}

static void release_indirect_tables(struct fe_vq *vq)
{
	for (unsigned i = 0; i < vq->num; i++) {
		struct fe_vq_slot *s = &vq->slots[i];
		if (s->busy && s->indirect_size)
			(void)fe_mem_release(vq->mem, s->indirect_gpa, s->indirect_size);
		*s = (struct fe_vq_slot){0};
	}
}

static void state_init(struct fe_vq *vq)
{
	memset(vq->desc, 0, vring_desc_size(vq->num));
	memset(vq->avail, 0, vring_avail_size(vq->num));
	memset(vq->used, 0, vring_used_size(vq->num));
	for (unsigned i = 0; i < vq->num; i++)
		vq->next[i] = (uint16_t)(i + 1);
	vq->free_head = 0;
	vq->num_free = vq->num;
	vq->avail_idx = 0;
	vq->num_added = 0;
	vq->last_used = 0;
	vq->base = 0;
	vq->broken = false;
	vq->raw = false;
	vq->polling = false;
	vq->error[0] = '\0';
}

int fe_vq_create(struct fe_mem *mem, uint32_t index, uint16_t num, struct fe_vq **ret)
{
	struct fe_vq *vq;
	int r;

	if (num == 0 || (num & (num - 1)))
		return -EINVAL;
	vq = calloc(1, sizeof(*vq));
	if (!vq)
		return -ENOMEM;
	vq->mem = mem;
	vq->index = index;
	vq->num = num;
	vq->kick_fd = vq->call_fd = vq->err_fd = vq->masked_call_fd = -1;
	vq->next = calloc(num, sizeof(*vq->next));
	vq->slots = calloc(num, sizeof(*vq->slots));
	if (!vq->next || !vq->slots) {
		r = -ENOMEM;
		goto fail;
	}
	int *fds[] = {&vq->kick_fd, &vq->call_fd, &vq->err_fd, &vq->masked_call_fd};
	for (unsigned i = 0; i < VT_ARRAY_SIZE(fds); i++) {
		*fds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (*fds[i] < 0) {
			r = -errno;
			goto fail;
		}
	}
	r = rings_alloc(vq);
	if (r < 0) {
		vq->desc = NULL;
		goto fail;
	}
	state_init(vq);
	*ret = vq;
	return 0;
fail:
	fe_vq_free(vq);
	return r;
}

struct fe_vq *fe_vq_free(struct fe_vq *vq)
{
	if (!vq)
		return NULL;
	if (vq->desc) {
		release_indirect_tables(vq);
		rings_release(vq, vq->desc_gpa, vq->avail_gpa, vq->used_gpa);
	}
	int fds[] = {vq->kick_fd, vq->call_fd, vq->err_fd, vq->masked_call_fd};
	for (unsigned i = 0; i < VT_ARRAY_SIZE(fds); i++)
		if (fds[i] >= 0)
			(void)close(fds[i]);
	free(vq->next);
	free(vq->slots);
	free(vq);
	return NULL;
}

int fe_vq_reset(struct fe_vq *vq, bool fresh_addresses)
{
	release_indirect_tables(vq);
	if (fresh_addresses) {
		uint64_t d = vq->desc_gpa, a = vq->avail_gpa, u = vq->used_gpa;
		/* New areas first, so they cannot reuse the old addresses. */
		int r = rings_alloc(vq);
		if (r < 0)
			return r;
		rings_release(vq, d, a, u);
	}
	state_init(vq);
	(void)fe_vq_drain_call(vq);
	return 0;
}

void fe_vq_set_features(struct fe_vq *vq, uint64_t features)
{
	vq->event_idx = features & VT_BIT(VIRTIO_RING_F_EVENT_IDX);
}

int fe_vq_addr(const struct fe_vq *vq, struct vhost_vring_addr *ret)
{
	struct vhost_vring_addr a = {.index = vq->index};
	int r =
	    fe_mem_gpa_to_uva(vq->mem, vq->desc_gpa, vring_desc_size(vq->num), &a.desc_user_addr);
	if (r == 0)
		r = fe_mem_gpa_to_uva(vq->mem, vq->avail_gpa, vring_avail_size(vq->num),
				      &a.avail_user_addr);
	if (r == 0)
		r = fe_mem_gpa_to_uva(vq->mem, vq->used_gpa, vring_used_size(vq->num),
				      &a.used_user_addr);
	if (r == 0)
		*ret = a;
	return r;
}

static int usable(struct fe_vq *vq)
{
	if (vq->broken)
		return -EPROTO;
	if (vq->raw)
		return -EBUSY;
	return 0;
}

static void publish(struct fe_vq *vq, uint16_t head)
{
	vq->avail->ring[vq->avail_idx % vq->num] = head;
	vq->avail_idx++;
	vq->num_added++;
	/* The ring entry and descriptors become visible before the index. */
	store_release16(&vq->avail->idx, vq->avail_idx);
	vq->stats.added++;
}

int fe_vq_add(struct fe_vq *vq, const struct fe_seg *segs, unsigned nsegs, unsigned flags,
	      void *token)
{
	bool indirect = flags & FE_VQ_ADD_INDIRECT;
	uint64_t writable = 0;
	uint16_t head, last;
	int r = usable(vq);

	if (r < 0)
		return r;
	if (nsegs == 0 || nsegs > VIRTQ_MAX_SIZE)
		return -EINVAL;
	for (unsigned i = 0; i < nsegs; i++)
		if (segs[i].write)
			writable += segs[i].len;
	if (vq->num_free < (indirect ? 1 : nsegs))
		return -ENOSPC;

	head = vq->free_head;
	struct fe_vq_slot *slot = &vq->slots[head];
	if (indirect) {
		uint32_t size = (uint32_t)(nsegs * sizeof(struct vring_desc));
		uint64_t t;
		r = fe_mem_alloc(vq->mem, size, 16, &t);
		if (r < 0)
			return -ENOSPC;
		struct vring_desc *table = fe_mem_ptr(vq->mem, t, size);
		for (unsigned i = 0; i < nsegs; i++) {
			bool more = i + 1 < nsegs;
			table[i] = (struct vring_desc){
			    .addr = segs[i].gpa,
			    .len = segs[i].len,
			    .flags = (uint16_t)((segs[i].write ? VRING_DESC_F_WRITE : 0) |
						(more ? VRING_DESC_F_NEXT : 0)),
			    .next = (uint16_t)(more ? i + 1 : 0),
			};
		}
		vq->desc[head] = (struct vring_desc){
		    .addr = t, .len = size, .flags = VRING_DESC_F_INDIRECT, .next = 0};
		last = head;
		vq->free_head = vq->next[head];
		vq->num_free--;
		slot->indirect_gpa = t;
		slot->indirect_size = size;
		slot->ndesc = 1;
	} else {
		uint16_t i = head;
		last = head;
		for (unsigned k = 0; k < nsegs; k++) {
			bool more = k + 1 < nsegs;
			vq->desc[i] = (struct vring_desc){
			    .addr = segs[k].gpa,
			    .len = segs[k].len,
			    .flags = (uint16_t)((segs[k].write ? VRING_DESC_F_WRITE : 0) |
						(more ? VRING_DESC_F_NEXT : 0)),
			    /* Chains follow the free list, so next is our link. */
			    .next = more ? vq->next[i] : 0,
			};
			last = i;
			i = vq->next[i];
		}
		vq->free_head = i;
		vq->num_free = (uint16_t)(vq->num_free - nsegs);
		slot->indirect_size = 0;
		slot->ndesc = (uint16_t)nsegs;
	}
	slot->token = token;
	slot->writable = writable;
	slot->last = last;
	slot->busy = true;
	publish(vq, head);
	return head;
}

int fe_vq_notify(struct fe_vq *vq)
{
	uint64_t one = 1;
	if (write(vq->kick_fd, &one, sizeof(one)) != sizeof(one))
		return -errno;
	vq->stats.kicks++;
	return 0;
}

int fe_vq_kick(struct fe_vq *vq)
{
	uint16_t new_idx = vq->avail_idx, old_idx = (uint16_t)(vq->avail_idx - vq->num_added);
	bool need;

	/* Our avail idx store must be visible before we read what the device asked. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	vq->num_added = 0;
	if (vq->event_idx)
		need = vring_need_event(load_once16(vq->avail_event), new_idx, old_idx);
	else
		need = !(load_once16(&vq->used->flags) & VRING_USED_F_NO_NOTIFY);
	if (!need) {
		vq->stats.kicks_suppressed++;
		return 0;
	}
	int r = fe_vq_notify(vq);
	return r < 0 ? r : 1;
}

/* 1 when a used entry is pending, 0 if not, -EPROTO if the device lied about idx. */
static int used_pending(struct fe_vq *vq)
{
	uint16_t idx = load_acquire16(&vq->used->idx);
	uint16_t ahead = (uint16_t)(idx - vq->last_used);

	if (ahead == 0)
		return 0;
	if (ahead > vq->num)
		return vq_break(vq, "used idx moved from %u to %u: more than %u entries",
				vq->last_used, idx, vq->num);
	return 1;
}

/* Asks for a call at the next used entry, as virtqueue_enable_cb_prepare(). */
static void arm_call(struct fe_vq *vq)
{
	if (vq->event_idx)
		store_once16(vq->used_event, vq->last_used);
	else
		store_once16(&vq->avail->flags, 0);
	vq->polling = false;
}

static void suppress_call(struct fe_vq *vq)
{
	/* Far ahead, so need_event() stays false for any realistic batch. */
	if (vq->event_idx)
		store_once16(vq->used_event, (uint16_t)(vq->last_used + 0x8000));
	store_once16(&vq->avail->flags, VRING_AVAIL_F_NO_INTERRUPT);
	vq->polling = true;
}

uint64_t fe_vq_drain_call(struct fe_vq *vq)
{
	uint64_t sum = 0;
	/* A back-end may still signal the init-time fd until it has read the new one. */
	int fds[] = {vq->call_fd, vq->masked_call_fd};
	for (unsigned i = 0; i < VT_ARRAY_SIZE(fds); i++) {
		uint64_t v;
		if (read(fds[i], &v, sizeof(v)) == sizeof(v))
			sum += v;
	}
	return sum;
}

int fe_vq_wait(struct fe_vq *vq, int timeout_ms, enum fe_vq_wait_mode mode)
{
	uint64_t deadline = fe_deadline(timeout_ms);
	int r;

	if (vq->broken)
		return -EPROTO;
	if (mode == FE_VQ_WAIT_POLL) {
		if (!vq->polling)
			suppress_call(vq);
		for (unsigned spins = 0;; spins++) {
			r = used_pending(vq);
			if (r != 0)
				return r < 0 ? r : 0;
			/* The clock read costs ~26 ns: check it every 256 spins only. */
			if ((spins & 255) == 255 && vt_now_ns() >= deadline)
				return -ETIMEDOUT;
			__builtin_ia32_pause();
		}
	}
	for (;;) {
		r = used_pending(vq);
		if (r != 0)
			return r < 0 ? r : 0;
		arm_call(vq);
		/* Re-check after arming: the device may have completed in between. */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		r = used_pending(vq);
		if (r != 0)
			return r < 0 ? r : 0;
		/*
		 * Like QEMU, which forwards what arrived on the masked notifier when
		 * it unmasks: SET_VRING_CALL has no reply, so a back-end may serve a
		 * kick before it has switched to the new call fd.
		 */
		struct pollfd p[2] = {{.fd = vq->call_fd, .events = POLLIN},
				      {.fd = vq->masked_call_fd, .events = POLLIN}};
		int n = poll(p, 2, fe_remaining_ms(deadline));
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n == 0)
			return -ETIMEDOUT;
		/* Read only what fired: one system call per wake-up, not two. */
		bool called = false;
		for (unsigned i = 0; n > 0 && i < VT_ARRAY_SIZE(p); i++) {
			uint64_t v;
			if ((p[i].revents & POLLIN) && read(p[i].fd, &v, sizeof(v)) == sizeof(v))
				called = true;
		}
		if (called)
			vq->stats.calls++;
	}
}

int fe_vq_get_used(struct fe_vq *vq, struct fe_used *ret)
{
	int r = usable(vq);
	if (r < 0)
		return r;
	r = used_pending(vq);
	if (r <= 0)
		return r < 0 ? r : -EAGAIN;

	const struct vring_used_elem *e = &vq->used->ring[vq->last_used % vq->num];
	/* Read each field once: the device may change them under us. */
	uint32_t id = __atomic_load_n(&e->id, __ATOMIC_RELAXED);
	uint32_t len = __atomic_load_n(&e->len, __ATOMIC_RELAXED);
	if (id >= vq->num)
		return vq_break(vq, "used id %u >= queue size %u", id, vq->num);
	struct fe_vq_slot *s = &vq->slots[id];
	if (!s->busy)
		return vq_break(vq, "used id %u is not an outstanding head", id);
	if (len > s->writable)
		return vq_break(vq, "used len %u > %llu writable bytes of chain %u", len,
				(unsigned long long)s->writable, id);

	*ret = (struct fe_used){
	    .id = (uint16_t)id, .len = len, .writable = s->writable, .token = s->token};
	if (s->indirect_size)
		(void)fe_mem_release(vq->mem, s->indirect_gpa, s->indirect_size);
	vq->next[s->last] = vq->free_head;
	vq->free_head = (uint16_t)id;
	vq->num_free = (uint16_t)(vq->num_free + s->ndesc);
	*s = (struct fe_vq_slot){0};
	vq->last_used++;
	vq->stats.completed++;
	/* Keep used_event current when polling so a late call stays suppressed. */
	if (vq->polling && vq->event_idx)
		store_once16(vq->used_event, (uint16_t)(vq->last_used + 0x8000));
	return 0;
}

int fe_vq_submit(struct fe_vq *vq, const struct fe_seg *segs, unsigned nsegs, unsigned flags,
		 int timeout_ms, struct fe_used *ret)
{
	int head = fe_vq_add(vq, segs, nsegs, flags, NULL);
	if (head < 0)
		return head;
	int r = fe_vq_kick(vq);
	if (r < 0)
		return r;
	r = fe_vq_wait(vq, timeout_ms, FE_VQ_WAIT_EVENTFD);
	if (r < 0)
		return r;
	r = fe_vq_get_used(vq, ret);
	if (r < 0)
		return r;
	if (ret->id != head)
		return vq_break(vq, "completed head %u, only %d was outstanding", ret->id, head);
	return 0;
}

unsigned fe_vq_in_flight(const struct fe_vq *vq)
{
	unsigned n = 0;
	for (unsigned i = 0; i < vq->num; i++)
		n += vq->slots[i].busy;
	return n;
}

void fe_vq_raw_desc(struct fe_vq *vq, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		    uint16_t next)
{
	vq->raw = true;
	vq->desc[i % vq->num] =
	    (struct vring_desc){.addr = addr, .len = len, .flags = flags, .next = next};
}

void fe_vq_raw_push(struct fe_vq *vq, uint16_t head)
{
	vq->raw = true;
	vq->avail->ring[vq->avail_idx % vq->num] = head;
	vq->avail_idx++;
	vq->num_added++;
}

void fe_vq_raw_publish(struct fe_vq *vq, uint16_t idx)
{
	vq->raw = true;
	vq->num_added = (uint16_t)(vq->num_added + (uint16_t)(idx - vq->avail_idx));
	vq->avail_idx = idx;
	store_release16(&vq->avail->idx, idx);
}

void fe_vq_raw_avail_flags(struct fe_vq *vq, uint16_t flags)
{
	store_once16(&vq->avail->flags, flags);
}

void fe_vq_raw_used_event(struct fe_vq *vq, uint16_t v)
{
	store_once16(vq->used_event, v);
}

uint16_t fe_vq_used_idx(const struct fe_vq *vq)
{
	return load_acquire16(&vq->used->idx);
}
