/* SPDX-License-Identifier: Apache-2.0 */
#include "simdisk.h"

#include <stdlib.h>
#include <string.h>

#define SECTOR 512u

void simdisk_init(struct simdisk *d, uint64_t cap, unsigned seed)
{
	memset(d, 0, sizeof(*d));
	d->cap = cap;
	d->durable = calloc(1, cap);
	d->cache = calloc(1, cap);
	d->dirty = calloc(1, cap / SECTOR + 1);
	d->fail_after = -1;
	d->seed = seed;
}

void simdisk_free(struct simdisk *d)
{
	free(d->durable);
	free(d->cache);
	free(d->dirty);
}

static bool tick(struct simdisk *d)
{
	d->ops++;
	if (d->dead)
		return false;
	if (d->fail_after >= 0 && d->fail_after-- == 0) {
		d->dead = true;
		return false;
	}
	return true;
}

static ssize_t s_pread(void *ctx, void *buf, size_t n, uint64_t off)
{
	struct simdisk *d = ctx;
	if (d->fail_reads || d->dead)
		return -EIO;
	if (off >= d->size)
		return 0;
	if (n > d->size - off)
		n = d->size - off;
	memcpy(buf, d->cache + off, n);
	return (ssize_t)n;
}

static ssize_t s_pwrite(void *ctx, const void *buf, size_t n, uint64_t off)
{
	struct simdisk *d = ctx;
	bool alive = tick(d);
	if (off + n > d->cap)
		return -ENOSPC;
	d->written += n;
	/* Even the write that dies may have reached the cache (and so, partly, the disk). */
	if (alive || rand_r(&d->seed) % 2) {
		memcpy(d->cache + off, buf, n);
		for (uint64_t s = off / SECTOR; s <= (off + n - 1) / SECTOR; s++)
			d->dirty[s] = 1;
		if (off + n > d->size)
			d->size = off + n;
	}
	return alive ? (ssize_t)n : -EIO;
}

static int s_sync(void *ctx)
{
	struct simdisk *d = ctx;
	if (!tick(d))
		return -EIO;
	d->syncs++;
	for (uint64_t s = 0; s * SECTOR < d->cap; s++) {
		if (d->dirty[s]) {
			memcpy(d->durable + s * SECTOR, d->cache + s * SECTOR, SECTOR);
			d->dirty[s] = 0;
		}
	}
	return 0;
}

/* Write + flush of that range only (RWF_DSYNC): other dirty sectors stay dirty. */
static ssize_t s_pwrite_dsync(void *ctx, const void *buf, size_t n, uint64_t off)
{
	struct simdisk *d = ctx;
	ssize_t r = s_pwrite(ctx, buf, n, off);
	if (r < 0)
		return r;
	if (!tick(d))
		return -EIO; /* power cut before the flush */
	d->syncs++;
	for (uint64_t s = off / SECTOR; s <= (off + n - 1) / SECTOR; s++) {
		memcpy(d->durable + s * SECTOR, d->cache + s * SECTOR, SECTOR);
		d->dirty[s] = 0;
	}
	return r;
}

static int s_size(void *ctx, uint64_t *ret)
{
	struct simdisk *d = ctx;
	*ret = d->size;
	return 0;
}

void simdisk_io(struct simdisk *d, struct rpmb_io *io)
{
	*io = (struct rpmb_io){.ctx = d,
			       .pread = s_pread,
			       .pwrite = s_pwrite,
			       .sync = s_sync,
			       .pwrite_dsync = s_pwrite_dsync,
			       .size = s_size};
}

void simdisk_crash(struct simdisk *d)
{
	for (uint64_t s = 0; s * SECTOR < d->cap; s++) {
		if (!d->dirty[s])
			continue;
		unsigned r = (unsigned)rand_r(&d->seed) % 3;
		if (r == 0) /* the sector made it */
			memcpy(d->durable + s * SECTOR, d->cache + s * SECTOR, SECTOR);
		else if (r == 1) /* torn inside the sector: a prefix made it */
			memcpy(d->durable + s * SECTOR, d->cache + s * SECTOR,
			       (size_t)rand_r(&d->seed) % SECTOR);
		d->dirty[s] = 0;
	}
	memcpy(d->cache, d->durable, d->cap);
	d->dead = false;
	d->fail_after = -1;
}

int simdisk_format_v(struct simdisk *d, uint8_t capacity, uint8_t max_wr, uint32_t counter,
		     uint32_t version)
{
	struct rpmb_io io;
	simdisk_io(d, &io);
	struct rpmb_create c = {.geom = {.capacity = capacity, .max_wr = max_wr},
				.initial_counter = counter,
				.version = version};
	return rpmb_store_format(&io, &c);
}

int simdisk_format(struct simdisk *d, uint8_t capacity, uint8_t max_wr, uint32_t counter)
{
	return simdisk_format_v(d, capacity, max_wr, counter, 0);
}
