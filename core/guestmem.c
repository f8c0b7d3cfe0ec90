/* SPDX-License-Identifier: Apache-2.0 */
#include "guestmem.h"

#include <fcntl.h>
#include <inttypes.h>
#include <unistd.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "guestfault.h"
#include "log.h"

static bool prefault = true;
static _Atomic uint64_t budget_table = VT_PREFAULT_TABLE_DEFAULT;
static _Atomic uint64_t budget_process = VT_PREFAULT_PROCESS_DEFAULT;
static _Atomic uint64_t prefaulted_total; /* bytes pre-faulted in live mappings, all tables */
static _Atomic uint64_t prefault_refused;
static _Atomic uint64_t regions_sealed, regions_unsealed; /* live mappings */

void vt_guestmem_set_prefault(bool on)
{
	prefault = on;
}

bool vt_guestmem_get_prefault(void)
{
	return prefault;
}

void vt_guestmem_set_prefault_budget(uint64_t per_table, uint64_t per_process)
{
	atomic_store(&budget_table, per_table);
	atomic_store(&budget_process, per_process);
}

void vt_guestmem_get_stats(struct vt_guestmem_stats *st)
{
	st->prefault_bytes = atomic_load(&prefaulted_total);
	st->prefault_budget_table = atomic_load(&budget_table);
	st->prefault_budget_process = atomic_load(&budget_process);
	st->prefault_refused = atomic_load(&prefault_refused);
	st->regions_sealed = atomic_load(&regions_sealed);
	st->regions_unsealed = atomic_load(&regions_unsealed);
	st->faults_contained = vt_guestfault_count();
}

/*
 * Takes len bytes of both pre-fault budgets, or none (false: map lazily).
 * The process budget is shared by every device's protocol thread.
 */
static bool budget_take(struct vt_guestmem *m, uint64_t len)
{
	uint64_t table_after;
	if (vt_add_overflow(m->prefaulted, len, &table_after) ||
	    table_after > atomic_load(&budget_table))
		return false;
	uint64_t cur = atomic_load(&prefaulted_total);
	for (;;) {
		uint64_t next;
		if (vt_add_overflow(cur, len, &next) || next > atomic_load(&budget_process))
			return false;
		if (atomic_compare_exchange_weak(&prefaulted_total, &cur, next))
			break;
	}
	m->prefaulted = table_after;
	return true;
}

/* Page tables for [p, p+len), pages present in the file only: never allocates. */
static void populate(uint8_t *p, size_t len, size_t page)
{
#ifdef MADV_POPULATE_WRITE
	if (madvise(p, len, MADV_POPULATE_WRITE) == 0)
		return;
#endif
	for (size_t off = 0; off < len; off += page)
		(void)*(volatile uint8_t *)(p + off);
}

/*
 * Pre-faults the pages the file already holds (what the guest has touched),
 * within the budgets; a hole is never filled, so a huge sparse file costs
 * nothing. A first-touch fault costs ~10 µs here: this keeps it off the
 * request path. Returns the bytes pre-faulted (taken from the budgets).
 */
static uint64_t prefault_resident(struct vt_guestmem *m, uint8_t *map, size_t len)
{
	enum { CHUNK_PAGES = 16384 };
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	unsigned char *vec = malloc(CHUNK_PAGES);
	uint64_t done = 0;
	if (!vec)
		return 0;
	for (size_t off = 0; off < len;) {
		size_t chunk = VT_MIN(len - off, (size_t)CHUNK_PAGES * page);
		if (mincore(map + off, chunk, vec) < 0)
			break;
		size_t npages = (chunk + page - 1) / page;
		for (size_t i = 0; i < npages;) {
			if (!(vec[i] & 1)) {
				i++;
				continue;
			}
			size_t j = i;
			while (j < npages && (vec[j] & 1))
				j++;
			size_t run_off = off + i * page;
			size_t run = VT_MIN((j - i) * page, len - run_off);
			if (!budget_take(m, run)) {
				atomic_fetch_add(&prefault_refused, 1);
				vt_warn("pre-fault budget exceeded (%" PRIu64 " MiB per front-end, %" PRIu64
					" MiB per process): the rest of this region is faulted in on "
					"first use; raise prefault_mb / prefault_total_mb if this "
					"VM is legitimate",
					atomic_load(&budget_table) >> 20,
					atomic_load(&budget_process) >> 20);
				free(vec);
				return done;
			}
			populate(map + run_off, run, page);
			done += run;
			i = j;
		}
		off += chunk;
	}
	free(vec);
	return done;
}

/*
 * Guest memory must not shrink under us: F_SEAL_SHRINK when the file allows
 * it (QEMU's memory-backend-memfd arrives sealed already, seal=on being its
 * default). Unsealable memory is served too; guestfault.c contains a shrink.
 */
static bool seal_shrink(int fd)
{
	int seals = fcntl(fd, F_GET_SEALS);
	if (seals >= 0 && (seals & F_SEAL_SHRINK))
		return true;
	return seals >= 0 && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) == 0;
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
	/* Guest RAM is a file (memfd, tmpfs, hugetlbfs): not a device, pipe or socket. */
	if (!S_ISREG(st.st_mode)) {
		vt_warn("guest memory region refused: its fd is not a regular file (memfd, tmpfs "
			"or hugetlbfs); give the VMM a shared memory backend");
		return -EBADF;
	}
	/* A region may not claim more of a file than the file has (SIGBUS later). */
	if ((uint64_t)st.st_size < file_end)
		return -EINVAL;
	bool sealed = seal_shrink(fd);

	void *map = mmap(NULL, (size_t)file_end, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return -errno;
	int slot = vt_guestfault_register(map, (size_t)file_end, fd);
	if (slot < 0) {
		(void)munmap(map, (size_t)file_end);
		vt_warn("guest memory region refused: too many regions mapped in this process");
		return slot;
	}
	/* Our own copy: a restart under an fd store hands it to the next process. */
	int keep = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (keep < 0) {
		int e = -errno;
		vt_guestfault_unregister(slot);
		(void)munmap(map, (size_t)file_end);
		return e;
	}
	/* Guest memory must never end up in our core dumps. */
	(void)madvise(map, (size_t)file_end, MADV_DONTDUMP);
	atomic_fetch_add(sealed ? &regions_sealed : &regions_unsealed, 1);

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
	n->fault_slot = slot;
	n->sealed = sealed;
	if (prefault)
		n->prefaulted = prefault_resident(m, map, (size_t)file_end);
	vt_debug("mapped region gpa=0x%" PRIx64 " size=0x%" PRIx64 " uva=0x%" PRIx64
		 " off=0x%" PRIx64 " %s, %" PRIu64 " KiB pre-faulted",
		 n->gpa, n->size, n->uva, n->mmap_offset, sealed ? "sealed" : "unsealed",
		 n->prefaulted >> 10);
	return 0;
}

static void region_unmap(struct vt_guestmem *m, struct vt_mem_region *r)
{
	if (r->map) {
		vt_guestfault_unregister(r->fault_slot);
		(void)munmap(r->map, r->map_len);
		atomic_fetch_sub(r->sealed ? &regions_sealed : &regions_unsealed, 1);
		m->prefaulted -= r->prefaulted;
		atomic_fetch_sub(&prefaulted_total, r->prefaulted);
		if (r->fd >= 0)
			close(r->fd);
	}
	memset(r, 0, sizeof(*r));
}

bool vt_guestmem_poisoned(const struct vt_guestmem *m)
{
	for (unsigned i = 0; i < m->nregions; i++)
		if (vt_guestfault_poisoned(m->regions[i].fault_slot))
			return true;
	return false;
}

uint64_t vt_guestmem_fault_generation(void)
{
	return vt_guestfault_generation();
}

int vt_guestmem_remove(struct vt_guestmem *m, const struct vhost_user_mem_region *r)
{
	for (unsigned i = 0; i < m->nregions; i++) {
		struct vt_mem_region *o = &m->regions[i];
		if (o->gpa == r->guest_phys_addr && o->uva == r->userspace_addr &&
		    o->size == r->memory_size) {
			region_unmap(m, o);
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
		region_unmap(m, &m->regions[i]);
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
