/* SPDX-License-Identifier: Apache-2.0 */
#include "fe_mem.h"

#include <string.h>
#include <sys/mman.h>

#define PAGE 4096ull
#define Q35_LOW_END 0xa0000ull
#define Q35_HIGH_START 0xc0000ull
#define GAP_SIZE (1ull << 20)

static uint64_t align_down(uint64_t v, uint64_t a)
{
	return v & ~(a - 1);
}

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static uint64_t region_end(const struct fe_mem_region *r)
{
	return r->gpa + r->size;
}

/* Places regions and returns the memfd size they need. */
static int plan_layout(struct fe_mem *m, const struct fe_mem_opts *o, uint64_t *ret_fd_size)
{
	uint64_t size = o->size ? o->size : FE_MEM_DEFAULT_SIZE;
	unsigned n = o->nregions ? o->nregions : 2;

	if (size % PAGE)
		return -EINVAL;
	if (o->layout == FE_MEM_LAYOUT_Q35) {
		/* The high region must be non-empty. */
		if (size <= Q35_HIGH_START)
			return -EINVAL;
		m->nregions = 2;
		m->regions[0] =
		    (struct fe_mem_region){.gpa = 0, .size = Q35_LOW_END, .fd_offset = 0};
		m->regions[1] = (struct fe_mem_region){
		    .gpa = Q35_HIGH_START,
		    .size = size - Q35_HIGH_START,
		    .fd_offset = Q35_HIGH_START,
		};
		*ret_fd_size = size;
		return 0;
	}
	if (n == 0 || n > FE_MEM_MAX_REGIONS)
		return -EINVAL;
	uint64_t rsize = align_down(size / n, PAGE);
	if (rsize == 0)
		return -EINVAL;
	m->nregions = n;
	for (unsigned i = 0; i < n; i++) {
		struct fe_mem_region *r = &m->regions[i];
		r->size = rsize;
		if (o->layout == FE_MEM_LAYOUT_GAPPED) {
			r->gpa = i * (rsize + GAP_SIZE);
			r->fd_offset = i * rsize;
		} else {
			r->gpa = i * rsize;
			r->fd_offset = i * (rsize + PAGE);
		}
	}
	const struct fe_mem_region *last = &m->regions[n - 1];
	*ret_fd_size = last->fd_offset + last->size;
	return 0;
}

static int extents_reserve(struct fe_mem *m, size_t n)
{
	if (n <= m->free_cap)
		return 0;
	size_t cap = m->free_cap ? m->free_cap * 2 : 16;
	while (cap < n)
		cap *= 2;
	struct fe_mem_extent *e = reallocarray(m->free, cap, sizeof(*e));
	if (!e)
		return -ENOMEM;
	m->free = e;
	m->free_cap = cap;
	return 0;
}

void fe_mem_reset(struct fe_mem *m)
{
	/* free_cap >= FE_MEM_MAX_REGIONS since fe_mem_create reserved it. */
	m->nfree = m->nregions;
	for (unsigned i = 0; i < m->nregions; i++)
		m->free[i] = (struct fe_mem_extent){
		    .gpa = m->regions[i].gpa,
		    .size = m->regions[i].size,
		    .region = i,
		};
}

int fe_mem_create(const struct fe_mem_opts *opts, struct fe_mem **ret)
{
	struct fe_mem_opts def = {0};
	const struct fe_mem_opts *o = opts ? opts : &def;
	struct fe_mem *m = calloc(1, sizeof(*m));
	uint64_t fd_size;
	int r;

	if (!m)
		return -ENOMEM;
	m->fd = -1;
	m->map = MAP_FAILED;
	m->layout = o->layout;
	r = plan_layout(m, o, &fd_size);
	if (r < 0)
		goto fail;
	r = extents_reserve(m, FE_MEM_MAX_REGIONS);
	if (r < 0)
		goto fail;

	m->fd = memfd_create("vtrust-probe-ram",
			     MFD_CLOEXEC | (o->allow_sealing ? MFD_ALLOW_SEALING : 0));
	if (m->fd < 0 || ftruncate(m->fd, (off_t)fd_size) < 0) {
		r = -errno;
		goto fail;
	}
	/* Pre-fault: a first-touch fault costs ~10 us on our VMs (machine-limits §0). */
	int flags = MAP_SHARED | (o->no_populate ? 0 : MAP_POPULATE);
	m->map = mmap(NULL, fd_size, PROT_READ | PROT_WRITE, flags, m->fd, 0);
	if (m->map == MAP_FAILED) {
		r = -errno;
		goto fail;
	}
	m->map_size = fd_size;
	for (unsigned i = 0; i < m->nregions; i++) {
		struct fe_mem_region *reg = &m->regions[i];
		reg->host = m->map + reg->fd_offset;
		reg->uva = (uint64_t)(uintptr_t)reg->host;
		/* Poison the file gap after an ADJACENT region (see fe_mem.h). */
		if (o->layout == FE_MEM_LAYOUT_ADJACENT && i + 1 < m->nregions)
			memset(reg->host + reg->size, FE_MEM_POISON, PAGE);
	}
	fe_mem_reset(m);
	*ret = m;
	return 0;
fail:
	fe_mem_free(m);
	return r;
}

struct fe_mem *fe_mem_free(struct fe_mem *m)
{
	if (!m)
		return NULL;
	if (m->map != MAP_FAILED)
		(void)munmap(m->map, m->map_size);
	if (m->fd >= 0)
		(void)close(m->fd);
	free(m->free);
	free(m);
	return NULL;
}

static int extent_insert(struct fe_mem *m, size_t at, struct fe_mem_extent e)
{
	int r = extents_reserve(m, m->nfree + 1);
	if (r < 0)
		return r;
	memmove(&m->free[at + 1], &m->free[at], (m->nfree - at) * sizeof(m->free[0]));
	m->free[at] = e;
	m->nfree++;
	return 0;
}

static void extent_remove(struct fe_mem *m, size_t at)
{
	memmove(&m->free[at], &m->free[at + 1], (m->nfree - at - 1) * sizeof(m->free[0]));
	m->nfree--;
}

/* Removes [gpa, gpa+size), which must lie inside free extent i. */
static int extent_carve(struct fe_mem *m, size_t i, uint64_t gpa, uint64_t size)
{
	struct fe_mem_extent *e = &m->free[i];
	uint64_t end = gpa + size, e_end = e->gpa + e->size;

	if (gpa == e->gpa && end == e_end) {
		extent_remove(m, i);
		return 0;
	}
	if (gpa == e->gpa) {
		e->gpa = end;
		e->size = e_end - end;
		return 0;
	}
	if (end == e_end) {
		e->size = gpa - e->gpa;
		return 0;
	}
	struct fe_mem_extent tail = {.gpa = end, .size = e_end - end, .region = e->region};
	int r = extent_insert(m, i + 1, tail);
	if (r < 0)
		return r;
	m->free[i].size = gpa - m->free[i].gpa;
	return 0;
}

int fe_mem_alloc(struct fe_mem *m, uint64_t size, uint64_t align, uint64_t *ret_gpa)
{
	if (align == 0)
		align = 1;
	if (size == 0 || !is_pow2(align))
		return -EINVAL;
	for (size_t i = 0; i < m->nfree; i++) {
		const struct fe_mem_extent *e = &m->free[i];
		uint64_t start, end;
		if (vt_add_overflow(e->gpa, align - 1, &start))
			continue;
		start = align_down(start, align);
		if (vt_add_overflow(start, size, &end) || end > e->gpa + e->size)
			continue;
		int r = extent_carve(m, i, start, size);
		if (r < 0)
			return r;
		*ret_gpa = start;
		return 0;
	}
	return -ENOMEM;
}

void *fe_mem_alloc_ptr(struct fe_mem *m, uint64_t size, uint64_t align, uint64_t *ret_gpa)
{
	uint64_t gpa;
	if (fe_mem_alloc(m, size, align, &gpa) < 0)
		return NULL;
	*ret_gpa = gpa;
	return fe_mem_ptr(m, gpa, size);
}

static ssize_t extent_find(const struct fe_mem *m, uint64_t gpa, uint64_t size)
{
	for (size_t i = 0; i < m->nfree; i++) {
		const struct fe_mem_extent *e = &m->free[i];
		if (gpa >= e->gpa && gpa + size <= e->gpa + e->size)
			return (ssize_t)i;
	}
	return -1;
}

int fe_mem_alloc_straddle(struct fe_mem *m, uint64_t size, uint64_t before, uint64_t *ret_gpa)
{
	bool any_boundary = false;

	if (before == 0 || before >= size)
		return -EINVAL;
	for (unsigned i = 0; i + 1 < m->nregions; i++) {
		const struct fe_mem_region *lo = &m->regions[i], *hi = &m->regions[i + 1];
		uint64_t after = size - before;
		if (region_end(lo) != hi->gpa)
			continue;
		any_boundary = true;
		if (before > lo->size || after > hi->size)
			continue;
		uint64_t b = hi->gpa;
		ssize_t el = extent_find(m, b - before, before);
		ssize_t eh = extent_find(m, b, after);
		if (el < 0 || eh < 0)
			continue;
		/* Carve the upper piece first: it sits after el, so el's index stays valid. */
		int r = extent_carve(m, (size_t)eh, b, after);
		if (r < 0)
			return r;
		r = extent_carve(m, (size_t)el, b - before, before);
		if (r < 0)
			return r;
		*ret_gpa = b - before;
		return 0;
	}
	return any_boundary ? -ENOMEM : -ENOTSUP;
}

static ssize_t region_index(const struct fe_mem *m, uint64_t gpa)
{
	for (unsigned i = 0; i < m->nregions; i++)
		if (gpa >= m->regions[i].gpa && gpa < region_end(&m->regions[i]))
			return i;
	return -1;
}

/* Frees a range inside one region, merging with free neighbours of that region only. */
static int release_in_region(struct fe_mem *m, unsigned reg, uint64_t gpa, uint64_t size)
{
	uint64_t end = gpa + size;
	size_t at = 0;

	while (at < m->nfree && m->free[at].gpa < gpa)
		at++;
	/* Overlap with a free neighbour means a double free or a wrong size. */
	if (at > 0 && m->free[at - 1].gpa + m->free[at - 1].size > gpa)
		return -EINVAL;
	if (at < m->nfree && m->free[at].gpa < end)
		return -EINVAL;

	bool merge_lo = at > 0 && m->free[at - 1].region == reg &&
			m->free[at - 1].gpa + m->free[at - 1].size == gpa;
	bool merge_hi = at < m->nfree && m->free[at].region == reg && m->free[at].gpa == end;
	if (merge_lo && merge_hi) {
		m->free[at - 1].size += size + m->free[at].size;
		extent_remove(m, at);
		return 0;
	}
	if (merge_lo) {
		m->free[at - 1].size += size;
		return 0;
	}
	if (merge_hi) {
		m->free[at].gpa = gpa;
		m->free[at].size += size;
		return 0;
	}
	return extent_insert(m, at,
			     (struct fe_mem_extent){.gpa = gpa, .size = size, .region = reg});
}

int fe_mem_release(struct fe_mem *m, uint64_t gpa, uint64_t size)
{
	uint64_t end;

	if (size == 0 || vt_add_overflow(gpa, size, &end))
		return -EINVAL;
	/* Validate the whole range first so a bad call changes nothing. */
	for (uint64_t a = gpa; a < end;) {
		ssize_t ri = region_index(m, a);
		if (ri < 0)
			return -EINVAL;
		/* A range running past this region is checked by the next round. */
		uint64_t piece_end = VT_MIN(end, region_end(&m->regions[ri]));
		for (size_t i = 0; i < m->nfree; i++) {
			const struct fe_mem_extent *e = &m->free[i];
			if (e->gpa < piece_end && a < e->gpa + e->size)
				return -EINVAL;
		}
		a = piece_end;
	}
	for (uint64_t a = gpa; a < end;) {
		ssize_t ri = region_index(m, a);
		uint64_t piece_end = VT_MIN(end, region_end(&m->regions[ri]));
		int r = release_in_region(m, (unsigned)ri, a, piece_end - a);
		if (r < 0)
			return r;
		a = piece_end;
	}
	return 0;
}

uint64_t fe_mem_free_bytes(const struct fe_mem *m)
{
	uint64_t sum = 0;
	for (size_t i = 0; i < m->nfree; i++)
		sum += m->free[i].size;
	return sum;
}

const struct fe_mem_region *fe_mem_find(const struct fe_mem *m, uint64_t gpa)
{
	ssize_t i = region_index(m, gpa);
	return i < 0 ? NULL : &m->regions[i];
}

void *fe_mem_ptr(const struct fe_mem *m, uint64_t gpa, uint64_t len)
{
	const struct fe_mem_region *r = fe_mem_find(m, gpa);
	uint64_t end;

	if (!r || vt_add_overflow(gpa, len, &end) || end > region_end(r))
		return NULL;
	return r->host + (gpa - r->gpa);
}

int fe_mem_gpa_to_uva(const struct fe_mem *m, uint64_t gpa, uint64_t len, uint64_t *ret_uva)
{
	const struct fe_mem_region *r = fe_mem_find(m, gpa);
	uint64_t end;

	if (!r || vt_add_overflow(gpa, len, &end) || end > region_end(r))
		return -EFAULT;
	*ret_uva = r->uva + (gpa - r->gpa);
	return 0;
}

/* Walks [gpa, gpa+len) region by region; fails on any byte outside RAM. */
static int mem_walk(const struct fe_mem *m, uint64_t gpa, size_t len,
		    void (*fn)(uint8_t *host, size_t off, size_t n, void *arg), void *arg)
{
	uint64_t end;
	size_t done = 0;

	if (vt_add_overflow(gpa, (uint64_t)len, &end))
		return -EFAULT;
	/* Check first, so a failed copy leaves memory untouched. */
	for (uint64_t a = gpa; a < end;) {
		const struct fe_mem_region *r = fe_mem_find(m, a);
		if (!r)
			return -EFAULT;
		a = VT_MIN(end, region_end(r));
	}
	while (done < len) {
		const struct fe_mem_region *r = fe_mem_find(m, gpa + done);
		if (!r) /* checked above; keeps the compiler's null analysis honest */
			return -EFAULT;
		size_t n = (size_t)VT_MIN((uint64_t)(len - done), region_end(r) - (gpa + done));
		fn(r->host + (gpa + done - r->gpa), done, n, arg);
		done += n;
	}
	return 0;
}

static void walk_write(uint8_t *host, size_t off, size_t n, void *arg)
{
	memcpy(host, (const uint8_t *)arg + off, n);
}

static void walk_read(uint8_t *host, size_t off, size_t n, void *arg)
{
	memcpy((uint8_t *)arg + off, host, n);
}

static void walk_fill(uint8_t *host, size_t off, size_t n, void *arg)
{
	(void)off;
	memset(host, *(const int *)arg, n);
}

int fe_mem_write(struct fe_mem *m, uint64_t gpa, const void *buf, size_t len)
{
	return mem_walk(m, gpa, len, walk_write, (void *)(uintptr_t)buf);
}

int fe_mem_read(const struct fe_mem *m, uint64_t gpa, void *buf, size_t len)
{
	return mem_walk(m, gpa, len, walk_read, buf);
}

int fe_mem_fill(struct fe_mem *m, uint64_t gpa, int byte, size_t len)
{
	return mem_walk(m, gpa, len, walk_fill, &byte);
}

uint64_t fe_mem_hole(const struct fe_mem *m)
{
	/* Q35 and GAPPED have a gap after region 0; otherwise use the end of RAM. */
	if (m->nregions > 1 && region_end(&m->regions[0]) < m->regions[1].gpa)
		return region_end(&m->regions[0]);
	return region_end(&m->regions[m->nregions - 1]);
}

void fe_mem_region_wire(const struct fe_mem *m, unsigned i, struct vhost_user_mem_region *out)
{
	const struct fe_mem_region *r = &m->regions[i];
	*out = (struct vhost_user_mem_region){
	    .guest_phys_addr = r->gpa,
	    .memory_size = r->size,
	    .userspace_addr = r->uva,
	    .mmap_offset = r->fd_offset,
	};
}

static const char *const layout_names[] = {
    [FE_MEM_LAYOUT_Q35] = "q35",
    [FE_MEM_LAYOUT_GAPPED] = "gapped",
    [FE_MEM_LAYOUT_ADJACENT] = "adjacent",
};

const char *fe_mem_layout_name(enum fe_mem_layout l)
{
	return (unsigned)l < VT_ARRAY_SIZE(layout_names) ? layout_names[l] : "?";
}

int fe_mem_layout_parse(const char *s, enum fe_mem_layout *ret)
{
	for (unsigned i = 0; i < VT_ARRAY_SIZE(layout_names); i++) {
		if (strcmp(s, layout_names[i]) == 0) {
			*ret = (enum fe_mem_layout)i;
			return 0;
		}
	}
	return -EINVAL;
}
