/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A simulated disk for power-loss tests: writes land in a "page cache" and
 * reach the "platter" only on sync. Power can be cut after a given number of
 * I/O operations; crash() then keeps a random subset of the unsynced 512-byte
 * sectors (lost, kept or torn writes) and drops the rest.
 */
#ifndef VTRUST_RPMB_SIMDISK_H
#define VTRUST_RPMB_SIMDISK_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

struct simdisk {
	uint8_t *durable, *cache, *dirty; /* dirty: one byte per 512-byte sector */
	uint64_t size, cap;
	long fail_after; /* I/O operations until the power cut; < 0 = never */
	bool dead;
	bool fail_reads;
	uint64_t ops, syncs, written; /* written: bytes through pwrite/pwrite_dsync */
	unsigned seed;
};

void simdisk_init(struct simdisk *d, uint64_t cap, unsigned seed);
void simdisk_free(struct simdisk *d);
void simdisk_io(struct simdisk *d, struct rpmb_io *io);
/* Power loss: random unsynced sectors survive, the cache is reset to the platter. */
void simdisk_crash(struct simdisk *d);
/* Formats a store on it (version 0: the current one). */
int simdisk_format(struct simdisk *d, uint8_t capacity, uint8_t max_wr, uint32_t counter);
int simdisk_format_v(struct simdisk *d, uint8_t capacity, uint8_t max_wr, uint32_t counter,
		     uint32_t version);

#endif
