/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Guest memory: the region table a front-end gives with SET_MEM_TABLE or
 * ADD_MEM_REG/REM_MEM_REG, mapped into this process.
 *
 * Every translation checks bounds with overflow-checked arithmetic; a range
 * that is not entirely inside mapped guest memory never yields a pointer.
 * Only core/ translates guest addresses (scripts/lint.sh enforces it): devices
 * see guest memory only through struct vt_chain (chain.h).
 *
 * Mapping follows the vhost-user offset rule: the fd is mapped from file
 * offset 0 for memory_size + mmap_offset bytes and the region starts at
 * map + mmap_offset (mmap_offset need not be page aligned).
 *
 * Hostile files: a region's fd must be a regular file (memfd, tmpfs,
 * hugetlbfs). F_SEAL_SHRINK is applied where the file allows it; a file that
 * cannot be sealed and shrinks anyway is contained (guestfault.h): the table
 * is then "poisoned" and its rings break, the process lives on.
 *
 * Pre-faulting covers only pages the file already holds (mincore): a hole
 * is never filled, so a front-end handing us a huge sparse file cannot make
 * us allocate its memory. It is bounded by two budgets, per table (one
 * front-end connection) and per process; past either, pages are faulted in
 * on first use (one log line, counted).
 */
#ifndef VTRUST_GUESTMEM_H
#define VTRUST_GUESTMEM_H

#include <stdbool.h>
#include <stdint.h>

#include "compiler.h"
#include "vhost_user_proto.h"

struct vt_mem_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t uva;
	uint64_t mmap_offset;
	uint8_t *map; /* mapping base (file offset 0) */
	size_t map_len;
	uint8_t *host; /* map + mmap_offset: host address of gpa */
	int fd;	       /* our copy of the region's fd (kept for a restart), or -1 */
	uint64_t st_dev, st_ino; /* its file identity */
	int fault_slot;	 /* guestfault.h registration */
	bool sealed;	 /* F_SEAL_SHRINK in force */
	uint64_t prefaulted; /* bytes counted against the pre-fault budgets */
};

struct vt_guestmem {
	unsigned nregions;
	uint64_t prefaulted; /* bytes of this table pre-faulted */
	struct vt_mem_region regions[VT_MAX_MEM_SLOTS];
};

/* Pre-fault new mappings' resident pages (default on): a first-touch fault costs ~10 µs here. */
void vt_guestmem_set_prefault(bool on);
bool vt_guestmem_get_prefault(void);

#define VT_PREFAULT_TABLE_DEFAULT (4ull << 30)	 /* 4 GiB per front-end */
#define VT_PREFAULT_PROCESS_DEFAULT (16ull << 30) /* 16 GiB for the whole daemon */
/* Pre-fault budgets in bytes (per table, per process); 0 pre-faults nothing. */
void vt_guestmem_set_prefault_budget(uint64_t per_table, uint64_t per_process);

struct vt_guestmem_stats {
	uint64_t prefault_bytes; /* pre-faulted bytes in live mappings */
	uint64_t prefault_budget_table, prefault_budget_process;
	uint64_t prefault_refused;  /* regions mapped lazily for lack of budget */
	uint64_t regions_sealed;    /* live mappings protected by F_SEAL_SHRINK */
	uint64_t regions_unsealed;  /* live mappings relying on SIGBUS containment */
	uint64_t faults_contained;  /* SIGBUS in guest memory turned into broken rings */
};
void vt_guestmem_get_stats(struct vt_guestmem_stats *st);

/* True if part of this table vanished under us (a contained SIGBUS). */
bool vt_guestmem_poisoned(const struct vt_guestmem *m);
/* Changes whenever a fault is contained anywhere (cheap poll before vt_guestmem_poisoned). */
uint64_t vt_guestmem_fault_generation(void);

void vt_guestmem_init(struct vt_guestmem *m);

/*
 * Validates and maps one region; takes no ownership of fd (the caller closes
 * it). Errors: -EINVAL (zero size, overflow, overlap with a mapped region in
 * gpa or uva space, size+offset beyond the file), -EBADF (not a regular
 * file), -ENOSPC (table full or process registry full), -errno from mmap.
 */
int vt_guestmem_add(struct vt_guestmem *m, const struct vhost_user_mem_region *r, int fd) VT_MUST_USE;

/* Unmaps the region matching gpa, uva and size (offset ignored, per the spec); -ENOENT if none. */
int vt_guestmem_remove(struct vt_guestmem *m, const struct vhost_user_mem_region *r) VT_MUST_USE;

/* Unmaps everything. */
void vt_guestmem_clear(struct vt_guestmem *m);

/*
 * Guest-physical translation of the start of [gpa, gpa+len): returns the host
 * pointer and stores in *ret_len how many bytes of the range are contiguous
 * in that region (≤ len, ≥ 1). NULL if gpa is unmapped, len is 0 or
 * gpa+len overflows.
 */
uint8_t *vt_guestmem_gpa_prefix(const struct vt_guestmem *m, uint64_t gpa, uint64_t len,
				uint64_t *ret_len);

/* Whole-range translation, gpa space: NULL unless all len bytes lie in one region. */
uint8_t *vt_guestmem_gpa_range(const struct vt_guestmem *m, uint64_t gpa, uint64_t len);

/* Whole-range translation in front-end virtual (uva) space, for ring addresses. */
uint8_t *vt_guestmem_uva_range(const struct vt_guestmem *m, uint64_t uva, uint64_t len);

#endif
