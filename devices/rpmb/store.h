/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The RPMB store: one file per device holding the one-time key, the write
 * counter and the data, with atomic and durable commits (README.md, "Store").
 *
 *   [0, 4096)            superblock: geometry, store uuid, SHA-256; written once
 *   32 journal slots     of slot_size bytes (4 KiB multiples), a ring: each
 *                        holds one record = 256-byte header (seq, counter,
 *                        flags, key, device id, address, block count, SHA-256)
 *                        + the blocks it writes
 *   data area            capacity × 128 KiB, the blocks themselves
 *
 * A commit writes record seq into slot seq % 32 with one flush: a durable
 * write of just that range (RWF_DSYNC), or, every 16th record, a write plus
 * fdatasync of the whole file, which also makes the data area durable. Only
 * then is the record applied to the data area (page cache). A slot is
 * reused only after a full flush covered the applies of its old record.
 * Recovery redoes every valid record in seq order. All file I/O goes
 * through struct rpmb_io so tests can simulate power loss (unsynced writes
 * lost or torn).
 */
#ifndef VTRUST_RPMB_STORE_H
#define VTRUST_RPMB_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "compiler.h"
#include "frame.h"

#define RPMB_SB_SIZE 4096u
#define RPMB_REC_HDR_SIZE 256u
#define RPMB_ID_SIZE 16u
#define RPMB_SLOTS 32u		 /* journal ring */
#define RPMB_FULL_SYNC_EVERY 16u /* records between whole-file flushes (<= RPMB_SLOTS / 2) */

/* State flags (durable). */
#define RPMB_ST_KEY 0x1u       /* the key is programmed */
#define RPMB_ST_EXPORTED 0x2u  /* state was exported: refuse service */
#define RPMB_ST_IMPORTING 0x4u /* an import began and did not finish: refuse service */
#define RPMB_ST_KNOWN (RPMB_ST_KEY | RPMB_ST_EXPORTED | RPMB_ST_IMPORTING)

struct rpmb_io {
	void *ctx;
	ssize_t (*pread)(void *ctx, void *buf, size_t n, uint64_t off);
	ssize_t (*pwrite)(void *ctx, const void *buf, size_t n, uint64_t off);
	int (*sync)(void *ctx); /* fdatasync: 0 or -errno */
	/* Write + flush of just that range (pwritev2 RWF_DSYNC): n or -errno. */
	ssize_t (*pwrite_dsync)(void *ctx, const void *buf, size_t n, uint64_t off);
	int (*size)(void *ctx, uint64_t *ret); /* current file size */
};

/*
 * All n bytes at off through io, retrying EINTR and short transfers: 0, the
 * callback's -errno, -EIO (a write of 0 bytes) or -ENODATA (end of file).
 */
int rpmb_io_write_all(const struct rpmb_io *io, const void *buf, size_t n, uint64_t off) VT_MUST_USE;
int rpmb_io_read_all(const struct rpmb_io *io, void *buf, size_t n, uint64_t off) VT_MUST_USE;

struct rpmb_geom {
	uint8_t capacity; /* 128 KiB units, 1..128 */
	uint8_t max_wr;	  /* blocks per write, 1..255 (sizes the journal slots) */
};

/* The durable state of one device, as the newest journal record holds it. */
struct rpmb_state {
	uint64_t seq;
	uint32_t counter;
	uint32_t flags;
	uint64_t generation; /* bumped by every export and import */
	uint8_t device_id[RPMB_ID_SIZE];
	uint8_t key[RPMB_KEY_SIZE];
};

struct rpmb_store {
	struct rpmb_io io;
	int fd; /* -1 when io is not a file */
	struct rpmb_geom geom;
	uint8_t store_uuid[RPMB_ID_SIZE];
	uint64_t slot_size, slot_off[RPMB_SLOTS], data_off, file_size;
	uint32_t blocks;      /* capacity in 256-byte blocks */
	struct rpmb_state st; /* last committed state */
	bool failed;	      /* an apply failed after a commit: refuse until reopened */
	bool pending;	      /* the last record's blocks are not applied yet */
	uint16_t pending_addr, pending_nblk;
	uint8_t *rec; /* record buffer, slot_size bytes (secure memory: holds the key) */
	/* Counters for metrics. */
	uint64_t commits, syncs, range_syncs, recovered_blocks;
};

/* Creation parameters. */
struct rpmb_create {
	struct rpmb_geom geom;
	uint32_t initial_counter; /* only ever applied to a new store (testing aid) */
};

/* Slot size for a geometry: header + max_wr blocks, rounded up to 4 KiB. */
uint64_t rpmb_slot_size(uint8_t max_wr);
/* Whole file size for a geometry. */
uint64_t rpmb_store_file_size(const struct rpmb_geom *g);

/*
 * Writes a fresh store image through io: superblock, every journal slot
 * (slot 0 with record 0, the others zeroed) and a zeroed data area, all with real writes, then
 * syncs. A random store uuid and device id are chosen.
 */
int rpmb_store_format(const struct rpmb_io *io, const struct rpmb_create *c) VT_MUST_USE;

/*
 * Opens a store over io: validates the superblock and file size, picks the
 * newest valid journal record, re-applies its blocks and syncs. Refuses (with
 * a one-line reason in err) a bad superblock, a wrong size or no valid record.
 */
int rpmb_store_open_io(const struct rpmb_io *io, struct rpmb_store **ret, char *err,
		       size_t errlen) VT_MUST_USE;

/*
 * Opens (creating it if absent and create != NULL) the store file at path:
 * exclusive flock (-EBUSY if held elsewhere), a regular file owned by us with
 * mode 0600, then rpmb_store_open_io. Creation writes a temporary file, syncs
 * it and renames it into place without replacing anything.
 */
int rpmb_store_open_file(const char *path, const struct rpmb_create *create,
			 struct rpmb_store **ret, char *err, size_t errlen) VT_MUST_USE;

/* Closes (unlocks) and frees; accepts NULL. */
void rpmb_store_close(struct rpmb_store *s);

/*
 * Commits next (seq is assigned) together with nblk blocks of data at addr,
 * with one sync, then applies the blocks to the data area. 0, or -errno:
 * nothing committed (s unchanged) unless s->failed is set afterwards, which
 * means the commit is durable but could not be applied.
 */
int rpmb_store_commit(struct rpmb_store *s, const struct rpmb_state *next, uint16_t addr,
		      uint16_t nblk, const uint8_t *data) VT_MUST_USE;

/* Applies the last committed record's blocks to the data area if still pending. */
void rpmb_store_apply(struct rpmb_store *s);

/* Reads nblk blocks at addr (bounds are the caller's job, checked again here). */
int rpmb_store_read(struct rpmb_store *s, uint32_t addr, uint32_t nblk, uint8_t *out) VT_MUST_USE;

/*
 * Replaces key, counter, device id and the whole data area (an import):
 * commits IMPORTING, writes and syncs the data, then commits next. A crash
 * in between leaves a store that refuses service until an import completes.
 */
int rpmb_store_replace(struct rpmb_store *s, const struct rpmb_state *next,
		       const uint8_t *data) VT_MUST_USE;

/* The io of an open file descriptor (pread/pwrite/fdatasync/fstat). */
void rpmb_io_fd(struct rpmb_io *io, int fd);

#endif
