/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The RPMB store: one file per device holding the one-time key, the write
 * counter and the data, with atomic and durable commits (README.md, "Store").
 *
 *   [0, 4096)            superblock: geometry, store uuid, SHA-256; written once
 *   32 journal slots     a ring; each slot holds one record TWICE: copy B
 *                        at the slot's middle (header, then blocks), copy A
 *                        mirrored before it (blocks, then header, ending at
 *                        the middle; version 2 stores: header and blocks at
 *                        the slot start). Header: 256 bytes (seq, counter,
 *                        flags, key, device id, address, block count,
 *                        tickets, TPM anchor, SHA-256)
 *   data area            capacity × 128 KiB, the blocks themselves
 *   tag area             16 bytes per block: SHA-256(store uuid, address,
 *                        block) truncated, checked on every read
 *
 * A commit writes record seq (both copies, one contiguous range of whole
 * 4 KiB pages, two for a record of up to 15 blocks) into slot
 * seq % 32 with one flush: a durable write of just that range (RWF_DSYNC),
 * or, every 16th record, a write plus fdatasync of the whole file, which
 * also makes the data and tag areas durable. Only then is the record
 * applied to the data and tag areas (page cache). A slot is reused only
 * after a full flush covered the applies of its old record. Recovery redoes
 * every valid record in seq order; one damaged copy of a record is repaired
 * from the other. All file I/O goes through struct rpmb_io so tests can
 * simulate power loss (unsynced writes lost or torn) and bad sectors.
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
#define RPMB_TAG_SIZE 16u   /* per-block integrity tag */
#define RPMB_TICKET_NONCE_LEN 16u  /* migration ticket nonce */
#define RPMB_SLOTS 32u		 /* journal ring */
#define RPMB_FULL_SYNC_EVERY 16u /* records between whole-file flushes (<= RPMB_SLOTS / 2) */

/* State flags (durable). */
#define RPMB_ST_KEY 0x1u       /* the key is programmed */
#define RPMB_ST_EXPORTED 0x2u  /* state was exported: refuse service */
#define RPMB_ST_IMPORTING 0x4u /* an import began and did not finish: refuse service */
#define RPMB_ST_TICKET 0x8u    /* an import ticket (st.ticket) is outstanding */
#define RPMB_ST_ANCHORED 0x10u /* progress is anchored in TPM NV counter st.tpm_index */
#define RPMB_ST_KNOWN                                                                               \
	(RPMB_ST_KEY | RPMB_ST_EXPORTED | RPMB_ST_IMPORTING | RPMB_ST_TICKET | RPMB_ST_ANCHORED)

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
	/* Destination side: the nonce of the outstanding import ticket (RPMB_ST_TICKET). */
	uint8_t ticket[RPMB_TICKET_NONCE_LEN];
	/* Source side, while exported: the ticket (store uuid, nonce) the blob was made for. */
	uint8_t export_to[RPMB_ID_SIZE + RPMB_TICKET_NONCE_LEN];
	/* Rollback anchor (RPMB_ST_ANCHORED): TPM NV counter index and the value it must hold. */
	uint32_t tpm_index;
	uint64_t anchor;
};

/* The file behind an open store's io: buffered fd, and the same file opened O_DIRECT. */
struct rpmb_fdio {
	int fd;
	int dfd; /* journal writes (whole aligned pages) bypass the page cache; -1 if unavailable */
	uint64_t direct_writes;
};

struct rpmb_store {
	struct rpmb_io io;
	struct rpmb_fdio fdio; /* io.ctx when the store is a file (rpmb_store_open_file) */
	int fd;	     /* -1 when io is not a file */
	int lock_fd; /* the identity lock (rpmb_store_open_file), or -1 */
	struct rpmb_geom geom;
	uint8_t store_uuid[RPMB_ID_SIZE];
	uint32_t version;   /* RPMB_STORE_VERSION_MIN.. (journal.h): where copy A lies */
	uint64_t slot_size; /* one copy of a record (4 KiB multiple); a slot is two */
	uint64_t slot_off[RPMB_SLOTS], data_off, tag_off, file_size;
	uint32_t blocks;      /* capacity in 256-byte blocks */
	struct rpmb_state st; /* last committed state */
	bool failed;	      /* an apply failed after a commit: refuse until reopened */
	bool pending;	      /* the last record's blocks are not applied yet */
	uint16_t pending_addr, pending_nblk;
	/*
	 * Image of one slot, 2 × slot_size bytes (secure memory: holds the key).
	 * A record is built as copy B (header at slot_size, blocks after it).
	 */
	uint8_t *rec;	  /* 4 KiB aligned (O_DIRECT), inside rec_mem */
	uint8_t *rec_mem; /* the allocation */
	void *md;     /* reusable digest context (tags) */
	/* Counters for metrics. */
	uint64_t commits, syncs, range_syncs, recovered_blocks;
	uint64_t damaged_blocks;  /* reads refused: a block failed its tag */
	uint64_t repaired_copies; /* record copies rewritten from the other copy at open */
};

/* Creation parameters. */
struct rpmb_create {
	struct rpmb_geom geom;
	uint32_t initial_counter; /* only ever applied to a new store (testing aid) */
	uint32_t version;	  /* 0: RPMB_STORE_VERSION; 2: the older layout (tests) */
	/* Opening: where identity locks live (NULL: the store's own directory). */
	const char *lock_dir;
};

/* Size of one record copy for a geometry: header + max_wr blocks, rounded up to 4 KiB. */
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
 * exclusive flock of the file (-EBUSY if held elsewhere), a regular file
 * owned by us with mode 0600, then an exclusive flock of the store's
 * identity: <lock_dir>/.rpmb-<store uuid>.lock (-EBUSY: this store, or a
 * copy of it, is served already — a renamed-in copy has another inode but
 * the same uuid), then rpmb_store_open_io. Creation writes a temporary
 * file, syncs it and renames it into place without replacing anything.
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

/* Where a DATA_WRITE gathers its blocks for rpmb_store_commit (no copy then). */
uint8_t *rpmb_store_rec_data(struct rpmb_store *s);

/* Applies the last committed record's blocks to the data area if still pending. */
void rpmb_store_apply(struct rpmb_store *s);

/*
 * Reads nblk blocks at addr (bounds are the caller's job, checked again here)
 * and checks each block's tag: -EBADMSG (logged, counted) if one is damaged.
 */
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
