/* SPDX-License-Identifier: Apache-2.0 */
/* Internal to store.c / journal.c: record and superblock encoding. */
#ifndef VTRUST_RPMB_JOURNAL_H
#define VTRUST_RPMB_JOURNAL_H

#include "store.h"

#define RPMB_SB_MAGIC "VTRPMBS1"
#define RPMB_REC_MAGIC "VTRPMBJ1"
/*
 * 2: two copies per record, block tags, tickets, anchor (copy A at the slot
 *    start, copy B one copy size on).
 * 3: the same, but copy A lies mirrored against copy B around the slot's
 *    middle (blocks, then header, ending where copy B begins), so a small
 *    record's two copies share one range of two 4 KiB pages. Both are read;
 *    new stores are version 3.
 */
#define RPMB_STORE_VERSION 3u
#define RPMB_STORE_VERSION_MIN 2u

/* Record header offsets (little-endian fields). */
#define REC_OFF_MAGIC 0
#define REC_OFF_SEQ 8
#define REC_OFF_COUNTER 16
#define REC_OFF_FLAGS 20
#define REC_OFF_GEN 24
#define REC_OFF_STORE_UUID 32
#define REC_OFF_DEVICE_ID 48
#define REC_OFF_KEY 64
#define REC_OFF_ADDR 96
#define REC_OFF_NBLK 98
#define REC_OFF_TICKET 100     /* outstanding import ticket nonce (16) */
#define REC_OFF_EXPORT_TO 116  /* exported for: store uuid (16) + nonce (16) */
#define REC_OFF_TPM_INDEX 148  /* TPM NV index (4) */
#define REC_OFF_ANCHOR 152     /* TPM counter value (8) */
#define REC_OFF_SUM 224 /* SHA-256 over [0,224) and the data */

/* SHA-256 of a then b (b may be NULL). 0 or -EIO. */
int rpmb_sha256_2(const void *a, size_t alen, const void *b, size_t blen,
		  uint8_t out[32]) VT_MUST_USE;

/* Encodes a record for st (+ nblk blocks already at rec + 256) into rec. */
int rpmb_rec_encode(uint8_t *rec, const uint8_t store_uuid[RPMB_ID_SIZE],
		    const struct rpmb_state *st, uint16_t addr, uint16_t nblk) VT_MUST_USE;

/*
 * Decodes and verifies a record read from a slot (avail bytes of it). 0 and
 * the fields on success; -EBADMSG if the magic, uuid, checksum or fields are
 * wrong (a torn or never-written slot).
 */
int rpmb_rec_decode(const uint8_t *rec, size_t avail, const uint8_t store_uuid[RPMB_ID_SIZE],
		    uint32_t blocks, uint8_t max_wr, struct rpmb_state *st, uint16_t *addr,
		    uint16_t *nblk) VT_MUST_USE;

/* The explicitly fetched SHA-256 (an EVP_MD), once per process; NULL if unavailable. */
const void *rpmb_sha256_md(void);

/*
 * The tag of one block at addr (tag.c): SHA-256(store uuid, le32 addr, block)
 * truncated to 16 bytes. *md is a digest context created on first use. 0 or -EIO.
 */
int rpmb_tag(void **md, const uint8_t store_uuid[RPMB_ID_SIZE], uint32_t addr,
	     const uint8_t *block, uint8_t tag[RPMB_TAG_SIZE]) VT_MUST_USE;
/* Writes data (nblk blocks at addr) and their tags to the data and tag areas (page cache). */
int rpmb_store_put_blocks(struct rpmb_store *s, uint32_t addr, uint32_t nblk,
			  const uint8_t *data) VT_MUST_USE;
void rpmb_md_free(void *md);

/*
 * Where byte rec_off of a record with nblk blocks (its header, then its
 * blocks, as copy B holds it) lies in copy c (0 = A, 1 = B), from the slot
 * start.
 */
uint64_t rpmb_copy_off(const struct rpmb_store *s, unsigned c, uint16_t nblk, uint64_t rec_off);

/* Journal recovery at open (journal.c). */
int rpmb_journal_recover(struct rpmb_store *s, char *err, size_t errlen) VT_MUST_USE;

#endif
