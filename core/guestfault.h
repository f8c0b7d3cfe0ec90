/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Guest memory that vanishes underneath us: SIGBUS containment.
 *
 * A front-end can shrink a guest-memory file after we mapped it (ftruncate
 * on an unsealed memfd, a tmpfs or hugetlbfs file); any later access to the
 * lost pages raises SIGBUS in whichever thread touches them. Every guest
 * mapping is registered here. The SIGBUS handler looks the faulting address
 * up (lock-free), replaces the lost part of that mapping, from the faulting
 * page to its end, with private zero pages (MAP_FIXED anonymous) and
 * returns: the faulting instruction runs again and succeeds.
 *
 * Why this is sound without any non-local jump: the thread that faulted
 * carries on exactly as if the guest had written zeros into its own memory
 * at that moment, which every access path must already survive (guest
 * memory is hostile and changes under us at any time). No lock is left
 * held, no stack is unwound, no device code is skipped. What the device
 * writes afterwards lands in private pages nobody reads. The mapping is
 * marked poisoned; the rings of that table are then broken (virtq.c) and a
 * new memory table from the front-end is needed to serve again. Addresses
 * outside every guest mapping get the default SIGBUS action (a real bug),
 * and so does every SIGBUS the kernel did not raise for a lost page (si_code
 * other than BUS_ADRERR: kill, sigqueue with a forged si_addr, machine
 * checks): a sent one is raised again so it still kills.
 */
#ifndef VTRUST_GUESTFAULT_H
#define VTRUST_GUESTFAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

/*
 * Registers [map, map+len), a shared mapping of fd from offset 0 (fd tells a
 * hugetlbfs file, whose lost part is replaced in whole huge pages; -1: 4 KiB
 * pages); returns a slot number > 0, or -ENOSPC. Installs the handler once.
 */
int vt_guestfault_register(void *map, size_t len, int fd) VT_MUST_USE;
/* Before munmap. Accepts 0. */
void vt_guestfault_unregister(int slot);
/* True once a fault was contained in that mapping. */
bool vt_guestfault_poisoned(int slot);
/* Bumped on every contained fault: a cheap "did anything happen?" test. */
uint64_t vt_guestfault_generation(void);
/* Faults contained since start. */
uint64_t vt_guestfault_count(void);

#endif
