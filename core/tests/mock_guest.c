/* SPDX-License-Identifier: Apache-2.0 */
#include "mock_guest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define R0_SIZE 0x100000ull
#define R1_SIZE 0x100000ull
#define R2_SIZE 0x40000ull
#define UVA_BASE 0x7f0000000000ull

void mock_guest_init(struct mock_guest *g)
{
	memset(g, 0, sizeof(*g));
	g->size = R0_SIZE + R1_SIZE + R2_SIZE;
	g->memfd = memfd_create("mock-guest", MFD_CLOEXEC);
	if (g->memfd < 0 || ftruncate(g->memfd, (off_t)g->size) < 0)
		abort();
	g->local = mmap(NULL, g->size, PROT_READ | PROT_WRITE, MAP_SHARED, g->memfd, 0);
	if (g->local == MAP_FAILED)
		abort();
	vt_guestmem_init(&g->mem);
	struct vhost_user_mem_region r[3] = {
		{0, R0_SIZE, UVA_BASE, 0},
		{MOCK_R1_GPA, R1_SIZE, UVA_BASE + MOCK_R1_GPA, R0_SIZE},
		{MOCK_R2_GPA, R2_SIZE, UVA_BASE + 0x10000000ull, R0_SIZE + R1_SIZE},
	};
	for (int i = 0; i < 3; i++)
		if (vt_guestmem_add(&g->mem, &r[i], g->memfd) < 0)
			abort();
	g->next_gpa = 0x1000;
}

void mock_guest_free(struct mock_guest *g)
{
	vt_guestmem_clear(&g->mem);
	munmap(g->local, g->size);
	close(g->memfd);
}

void *mock_gpa(struct mock_guest *g, uint64_t gpa)
{
	if (gpa >= MOCK_R2_GPA)
		return g->local + R0_SIZE + R1_SIZE + (gpa - MOCK_R2_GPA);
	return g->local + gpa; /* regions 0 and 1 are contiguous in the memfd */
}

uint64_t mock_alloc(struct mock_guest *g, uint64_t len, uint64_t align)
{
	uint64_t a = (g->next_gpa + align - 1) & ~(align - 1);
	g->next_gpa = a + len;
	if (g->next_gpa > R0_SIZE + R1_SIZE)
		abort();
	return a;
}

uint64_t mock_uva(uint64_t gpa)
{
	return UVA_BASE + gpa;
}

void mock_ring_init(struct mock_ring *r, struct mock_guest *g, uint32_t num)
{
	memset(r, 0, sizeof(*r));
	r->g = g;
	r->num = num;
	r->desc_gpa = mock_alloc(g, vring_desc_size(num), 16);
	r->avail_gpa = mock_alloc(g, vring_avail_size(num), 2);
	r->used_gpa = mock_alloc(g, vring_used_size(num), 4);
	r->desc = mock_gpa(g, r->desc_gpa);
	r->avail = mock_gpa(g, r->avail_gpa);
	r->used = mock_gpa(g, r->used_gpa);
	memset(r->desc, 0, vring_desc_size(num));
	memset(r->avail, 0, vring_avail_size(num));
	memset(r->used, 0, vring_used_size(num));
}

void mock_ring_attach(struct mock_ring *r, struct vt_queue *q)
{
	q->num = r->num;
	q->desc_uva = mock_uva(r->desc_gpa);
	q->avail_uva = mock_uva(r->avail_gpa);
	q->used_uva = mock_uva(r->used_gpa);
	q->addr_set = true;
	q->started = true;
	q->enabled = true;
	if (!vt_queue_map_rings(q))
		abort();
}

void mock_desc(struct mock_ring *r, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
	       uint16_t next)
{
	r->desc[i].addr = addr;
	r->desc[i].len = len;
	r->desc[i].flags = flags;
	r->desc[i].next = next;
}

void mock_avail(struct mock_ring *r, uint16_t head)
{
	r->avail->ring[r->avail_idx % r->num] = head;
	r->avail_idx++;
	__atomic_store_n(&r->avail->idx, r->avail_idx, __ATOMIC_RELEASE);
}

uint16_t mock_chain(struct mock_ring *r, uint16_t first, unsigned n, const uint64_t *addr,
		    const uint32_t *len, const bool *writable)
{
	for (unsigned i = 0; i < n; i++) {
		uint16_t flags = (writable[i] ? VRING_DESC_F_WRITE : 0) |
				 (i + 1 < n ? VRING_DESC_F_NEXT : 0);
		mock_desc(r, (uint16_t)(first + i), addr[i], len[i], flags, (uint16_t)(first + i + 1));
	}
	mock_avail(r, first);
	return first;
}
