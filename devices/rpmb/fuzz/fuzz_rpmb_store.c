/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: the store file as vtrustd finds it on disk (a file is hostile
 * until checked): the superblock, the journal's 32 slots with two copies of
 * a record each, and recovery (rpmb_store_open_io: validation, repair of a
 * damaged copy, redo), then the device over what was accepted.
 *
 * Input: byte 0 = flags, then edits [le32 offset][u8 length][length bytes]
 * written over a valid store image (offset modulo the file size):
 *   bit 0   a version 2 image (else version 3);
 *   bit 1   recompute the superblock checksum after the edits;
 *   bit 2   recompute the checksum of every record copy whose magic is
 *           intact (so edited fields, not just the checksum, are checked);
 *   bit 3   the edits land in the journal area (offset modulo its size).
 * The images hold records 0..37 (the ring wrapped): a
 * programmed key, then 36 writes of 1..MAX_WR blocks.
 *
 * Whatever the input:
 *   - a refused store gets a reason and is left exactly as it was;
 *   - an accepted store serves: GET_WRITE_COUNTER, an authenticated write
 *     and a read (results as its state says: a refusal, NO_AUTH_KEY, ...);
 *     it then reopens to the state it was left in (recovery is idempotent),
 *     and never with a counter below the accepted one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "journal.h"
#include "log.h"
#include "rpmb.h"
#include "simdisk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An oracle failed: say which, then stop as a crash. */
#define BUG()                                                                                      \
	do {                                                                                       \
		fprintf(stderr, "fuzz_rpmb_store.c:%d: oracle failed\n", __LINE__);                \
		__builtin_trap();                                                                  \
	} while (0)

#define MAX_WR 3
#define SB_SUM 96 /* store.c SB_OFF_SUM */

static struct simdisk disk;
static bool verbose; /* FUZZ_RPMB_STORE_LOG=1: what became of each input */
static uint8_t *image[2], *before;
static uint64_t fsize, slot_size;
static const uint8_t key[32] = "fuzz-store-key-fuzz-store-key-!";

static struct rpmb_store *open_store(char *err, size_t errlen)
{
	struct rpmb_io io;
	simdisk_io(&disk, &io);
	struct rpmb_store *s = NULL;
	if (rpmb_store_open_io(&io, &s, err, errlen) < 0)
		return NULL;
	return s;
}

static void build(unsigned v)
{
	simdisk_init(&disk, fsize, 7 + v);
	if (simdisk_format_v(&disk, 1, MAX_WR, 0, v ? 2 : 3) < 0)
		BUG();
	char err[400];
	struct rpmb_store *s = open_store(err, sizeof(err));
	struct rpmb_dev *d;
	if (!s || rpmb_dev_from_store(s, 4, &d) < 0)
		BUG();
	struct rpmb_frame in[MAX_WR + 1], out[4];
	size_t n = rpmb_cl_program_key(in, key, true);
	if (rpmb_request(d, in, n, false, out, 1) != 1)
		BUG();
	uint8_t blk[MAX_WR * RPMB_BLOCK_SIZE];
	for (unsigned i = 0; i < 48; i++) {
		uint16_t nb = (uint16_t)(i % (MAX_WR + 1));
		if (nb == 0)
			continue;
		memset(blk, (int)i, sizeof(blk));
		n = rpmb_cl_write(in, key, s->st.counter, (uint16_t)(i * 7 % 500), nb, blk, true);
		if (rpmb_request(d, in, n, false, out, 1) != 1)
			BUG();
	}
	rpmb_dev_free(d);
	image[v] = malloc(fsize);
	memcpy(image[v], disk.cache, fsize);
	simdisk_free(&disk);
}

/* Where copy c of a slot's record (nblk blocks) has its header and its blocks. */
static void copy_at(uint8_t *slot, unsigned v, unsigned c, uint8_t **h, uint8_t **blocks)
{
	if (c == 1 || v) { /* copy B, or copy A of version 2: header, then the blocks */
		*h = slot + (c ? slot_size : 0);
		*blocks = *h + RPMB_REC_HDR_SIZE;
		return;
	}
	*h = slot + slot_size - RPMB_REC_HDR_SIZE;
	uint16_t nb = vt_get_le16(*h + REC_OFF_NBLK);
	*blocks = nb <= MAX_WR ? *h - (size_t)nb * RPMB_BLOCK_SIZE : NULL;
}

static void fix_records(uint8_t *img, unsigned v)
{
	for (unsigned i = 0; i < RPMB_SLOTS; i++) {
		uint8_t *slot = img + RPMB_SB_SIZE + 2 * i * slot_size;
		for (unsigned c = 0; c < 2; c++) {
			uint8_t *h, *b;
			copy_at(slot, v, c, &h, &b);
			uint16_t nb = vt_get_le16(h + REC_OFF_NBLK);
			if (memcmp(h, RPMB_REC_MAGIC, 8) != 0 || !b || nb > MAX_WR)
				continue;
			if (rpmb_sha256_2(h, REC_OFF_SUM, b, (size_t)nb * RPMB_BLOCK_SIZE,
					  h + REC_OFF_SUM) < 0)
				BUG();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!image[0]) {
		verbose = getenv("FUZZ_RPMB_STORE_LOG") != NULL;
		vt_log_set_level(VT_LOG_ERR - 1);
		struct rpmb_geom g = {1, MAX_WR};
		fsize = rpmb_store_file_size(&g);
		slot_size = rpmb_slot_size(MAX_WR);
		build(0);
		build(1);
		before = malloc(fsize);
		simdisk_init(&disk, fsize, 1);
	}
	if (size < 1)
		return 0;
	uint8_t flags = data[0];
	unsigned v = flags & 1;
	uint8_t *img = disk.durable;
	memcpy(img, image[v], fsize);
	uint64_t base = 0, span = fsize;
	if (flags & 8) {
		base = RPMB_SB_SIZE;
		span = 2 * RPMB_SLOTS * slot_size;
	}
	for (size_t i = 1; i + 5 <= size;) {
		uint64_t off = base + vt_get_le32(data + i) % span;
		size_t len = data[i + 4];
		i += 5;
		len = VT_MIN(len, size - i);
		len = (size_t)VT_MIN((uint64_t)len, fsize - off);
		memcpy(img + off, data + i, len);
		i += len;
	}
	if (flags & 4)
		fix_records(img, v);
	if (flags & 2 && rpmb_sha256_2(img, SB_SUM, NULL, 0, img + SB_SUM) < 0)
		BUG();
	memcpy(disk.cache, img, fsize);
	memset(disk.dirty, 0, (fsize + 511) / 512);
	disk.size = fsize;
	memcpy(before, img, fsize);

	char err[400] = "";
	struct rpmb_store *s = open_store(err, sizeof(err));
	if (verbose)
		fprintf(stderr, "%s\n", s ? "opened" : err);
	if (!s) {
		/* Refused: with a reason, and nothing written. */
		if (!err[0] || memcmp(disk.cache, before, fsize) != 0)
			BUG();
		return 0;
	}
	uint32_t counter = s->st.counter;
	struct rpmb_dev *d;
	if (rpmb_dev_from_store(s, 4, &d) < 0)
		BUG();
	pthread_mutex_lock(&d->lock);
	int r = rpmb_anchor_open(d, NULL, 0, err, sizeof(err));
	pthread_mutex_unlock(&d->lock);
	if (r < 0) {
		rpmb_dev_free(d);
		return 0;
	}
	struct rpmb_frame in[MAX_WR + 1], out[4];
	uint8_t nonce[16] = {1}, blk[RPMB_BLOCK_SIZE] = {0x33};
	rpmb_cl_get_counter(in, nonce);
	if (rpmb_request(d, in, 1, false, out, 1) != 1)
		BUG();
	uint16_t res = rpmb_get16(&out[0], RPMB_OFF_RESULT) & 0x7f;
	if (res == RPMB_RES_OK && rpmb_get32(&out[0], RPMB_OFF_COUNTER) != counter)
		BUG();
	/* A write with the key the store holds (the input may have changed it). */
	size_t n = rpmb_cl_write(in, s->st.key, counter, 5, 1, blk, true);
	if (rpmb_request(d, in, n, false, out, 1) != 1)
		BUG();
	res = rpmb_get16(&out[0], RPMB_OFF_RESULT) & 0x7f;
	if (res == RPMB_RES_OK && s->st.counter != counter + 1)
		BUG();
	rpmb_cl_read(in, 5, 1, nonce);
	if (rpmb_request(d, in, 1, false, out, 1) != 1)
		BUG();
	if (verbose)
		fprintf(stderr, "counter %u, write result 0x%x, refusal %s\n", counter, res,
			rpmb_refusal(d) ? rpmb_refusal(d) : "none");
	uint32_t left = s->st.counter;
	uint64_t seq = s->st.seq;
	bool failed = s->failed;
	rpmb_dev_free(d);
	if (failed)
		return 0;
	/* Reopens to the state it was left in. */
	s = open_store(err, sizeof(err));
	if (!s || s->st.counter != left || s->st.seq != seq || s->st.counter < counter)
		BUG();
	rpmb_store_close(s);
	return 0;
}
