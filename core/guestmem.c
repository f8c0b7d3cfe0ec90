/* SPDX-License-Identifier: Apache-2.0 */
#include "guestmem.h"

#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include "log.h"

static bool prefault = true;

void vt_guestmem_set_prefault(bool on)
{
	prefault = on;
}

bool vt_guestmem_get_prefault(void)
{
	return prefault;
}

void vt_guestmem_init(struct vt_guestmem *m)
{
	memset(m, 0, sizeof(*m));
}

/* [a, a+alen) and [b, b+blen) overlap; lengths are non-zero and end-checked by the caller. */
static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

int vt_guestmem_add(struct vt_guestmem *m, const struct vhost_user_mem_region *r, int fd)
{
	uint64_t gpa_end, uva_end, file_end;

	if (r->memory_size == 0 || vt_add_overflow(r->guest_phys_addr, r->memory_size, &gpa_end) ||
	    vt_add_overflow(r->userspace_addr, r->memory_size, &uva_end) ||
	    vt_add_overflow(r->mmap_offset, r->memory_size, &file_end) || file_end > SIZE_MAX)
		return -EINVAL;
	(void)gpa_end;
	(void)uva_end;
	if (m->nregions >= VT_ARRAY_SIZE(m->regions))
		return -ENOSPC;
	for (unsigned i = 0; i < m->nregions; i++) {
		const struct vt_mem_region *o = &m->regions[i];
		if (ranges_overlap(r->guest_phys_addr, r->memory_size, o->gpa, o->size) ||
		    ranges_overlap(r->userspace_addr, r->memory_size, o->uva, o->size))
			return -EINVAL;
	}

	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	/* A region may not claim more of a file than the file has (SIGBUS later). */
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size < file_end)
		return -EINVAL;

	int flags = MAP_SHARED | (prefault ? MAP_POPULATE : 0);
	void *map = mmap(NULL, (size_t)file_end, PROT_READ | PROT_WRITE, flags, fd, 0);
	if (map == MAP_FAILED)
		return -errno;
	/* Guest memory must never end up in our core dumps. */
	(void)madvise(map, (size_t)file_end, MADV_DONTDUMP);

	/* Our own copy: a restart under an fd store hands it to the next process. */
	int keep = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (keep < 0) {
		int e = -errno;
		(void)munmap(map, (size_t)file_end);
		return e;
	}
	struct vt_mem_region *n = &m->regions[m->nregions++];
	n->fd = keep;
	n->st_dev = (uint64_t)st.st_dev;
	n->st_ino = (uint64_t)st.st_ino;
	n->gpa = r->guest_phys_addr;
	n->size = r->memory_size;
	n->uva = r->userspace_addr;
	n->mmap_offset = r->mmap_offset;
	n->map = map;
	n->map_len = (size_t)file_end;
	n->host = (uint8_t *)map + r->mmap_offset;
	vt_debug("mapped region gpa=0x%" PRIx64 " size=0x%" PRIx64 " uva=0x%" PRIx64
		 " off=0x%" PRIx64,
		 n->gpa, n->size, n->uva, n->mmap_offset);
	return 0;
}

static void region_unmap(struct vt_mem_region *r)
{
	if (r->map)
		(void)munmap(r->map, r->map_len);
	if (r->map && r->fd >= 0)
		close(r->fd);
	memset(r, 0, sizeof(*r));
}

int vt_guestmem_remove(struct vt_guestmem *m, const struct vhost_user_mem_region *r)
{
	for (unsigned i = 0; i < m->nregions; i++) {
		struct vt_mem_region *o = &m->regions[i];
		if (o->gpa == r->guest_phys_addr && o->uva == r->userspace_addr &&
		    o->size == r->memory_size) {
			region_unmap(o);
			m->regions[i] = m->regions[m->nregions - 1];
			memset(&m->regions[m->nregions - 1], 0, sizeof(*o));
			m->nregions--;
			return 0;
		}
	}
	return -ENOENT;
}

void vt_guestmem_clear(struct vt_guestmem *m)
{
	for (unsigned i = 0; i < m->nregions; i++)
		region_unmap(&m->regions[i]);
	m->nregions = 0;
}

uint8_t *vt_guestmem_gpa_prefix(const struct vt_guestmem *m, uint64_t gpa, uint64_t len,
				uint64_t *ret_len)
{
	uint64_t end;
	if (len == 0 || vt_add_overflow(gpa, len, &end))
		return NULL;
	for (unsigned i = 0; i < m->nregions; i++) {
		const struct vt_mem_region *r = &m->regions[i];
		if (gpa >= r->gpa && gpa - r->gpa < r->size) {
			uint64_t off = gpa - r->gpa;
			*ret_len = VT_MIN(len, r->size - off);
			return r->host + off;
		}
	}
	return NULL;
}

uint8_t *vt_guestmem_gpa_range(const struct vt_guestmem *m, uint64_t gpa, uint64_t len)
{
	uint64_t got;
	uint8_t *p = vt_guestmem_gpa_prefix(m, gpa, len, &got);
	return p && got == len ? p : NULL;
}

uint8_t *vt_guestmem_uva_range(const struct vt_guestmem *m, uint64_t uva, uint64_t len)
{
	uint64_t end;
	if (len == 0 || vt_add_overflow(uva, len, &end))
		return NULL;
	for (unsigned i = 0; i < m->nregions; i++) {
		const struct vt_mem_region *r = &m->regions[i];
		if (uva >= r->uva && uva - r->uva < r->size) {
			uint64_t off = uva - r->uva;
			return len <= r->size - off ? r->host + off : NULL;
		}
	}
	return NULL;
}
