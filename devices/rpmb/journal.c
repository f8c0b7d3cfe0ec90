/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The redo journal: a ring of RPMB_SLOTS slots, one record per commit (in
 * slot seq % RPMB_SLOTS), one flush per commit. See store.h and README.md
 * ("Store design") for the argument.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <openssl/evp.h>

#include "journal.h"
#include "log.h"
#include "secmem.h"

static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL); /* an explicit fetch, once */
}

int rpmb_sha256_2(const void *a, size_t alen, const void *b, size_t blen, uint8_t out[32])
{
	pthread_once(&sha256_once, sha256_fetch);
	EVP_MD_CTX *ctx = sha256_md ? EVP_MD_CTX_new() : NULL;
	if (!ctx)
		return -ENOMEM;
	unsigned len = 0;
	int ok = EVP_DigestInit_ex(ctx, sha256_md, NULL) && EVP_DigestUpdate(ctx, a, alen) &&
		 (!b || !blen || EVP_DigestUpdate(ctx, b, blen)) &&
		 EVP_DigestFinal_ex(ctx, out, &len);
	EVP_MD_CTX_free(ctx);
	return ok && len == 32 ? 0 : -EIO;
}

int rpmb_rec_encode(uint8_t *rec, const uint8_t store_uuid[RPMB_ID_SIZE],
		    const struct rpmb_state *st, uint16_t addr, uint16_t nblk)
{
	memset(rec, 0, RPMB_REC_HDR_SIZE);
	memcpy(rec + REC_OFF_MAGIC, RPMB_REC_MAGIC, 8);
	vt_put_le64(rec + REC_OFF_SEQ, st->seq);
	vt_put_le32(rec + REC_OFF_COUNTER, st->counter);
	vt_put_le32(rec + REC_OFF_FLAGS, st->flags);
	vt_put_le64(rec + REC_OFF_GEN, st->generation);
	memcpy(rec + REC_OFF_STORE_UUID, store_uuid, RPMB_ID_SIZE);
	memcpy(rec + REC_OFF_DEVICE_ID, st->device_id, RPMB_ID_SIZE);
	memcpy(rec + REC_OFF_KEY, st->key, RPMB_KEY_SIZE);
	vt_put_le16(rec + REC_OFF_ADDR, addr);
	vt_put_le16(rec + REC_OFF_NBLK, nblk);
	return rpmb_sha256_2(rec, REC_OFF_SUM, rec + RPMB_REC_HDR_SIZE,
			     (size_t)nblk * RPMB_BLOCK_SIZE, rec + REC_OFF_SUM);
}

int rpmb_rec_decode(const uint8_t *rec, size_t avail, const uint8_t store_uuid[RPMB_ID_SIZE],
		    uint32_t blocks, uint8_t max_wr, struct rpmb_state *st, uint16_t *addr,
		    uint16_t *nblk)
{
	if (avail < RPMB_REC_HDR_SIZE)
		return -EBADMSG;
	if (memcmp(rec + REC_OFF_MAGIC, RPMB_REC_MAGIC, 8) != 0) /* lint-ok: memcmp public magic */
		return -EBADMSG;
	if (vt_ct_memcmp(rec + REC_OFF_STORE_UUID, store_uuid, RPMB_ID_SIZE) != 0)
		return -EBADMSG;
	uint16_t a = vt_get_le16(rec + REC_OFF_ADDR), n = vt_get_le16(rec + REC_OFF_NBLK);
	uint32_t flags = vt_get_le32(rec + REC_OFF_FLAGS);
	if (n > max_wr || (uint32_t)a + n > blocks || (flags & ~RPMB_ST_KNOWN))
		return -EBADMSG;
	size_t dlen = (size_t)n * RPMB_BLOCK_SIZE;
	if (avail - RPMB_REC_HDR_SIZE < dlen)
		return -EBADMSG;
	uint8_t sum[32];
	if (rpmb_sha256_2(rec, REC_OFF_SUM, rec + RPMB_REC_HDR_SIZE, dlen, sum) < 0)
		return -EIO;
	if (vt_ct_memcmp(sum, rec + REC_OFF_SUM, 32) != 0)
		return -EBADMSG;
	st->seq = vt_get_le64(rec + REC_OFF_SEQ);
	st->counter = vt_get_le32(rec + REC_OFF_COUNTER);
	st->flags = flags;
	st->generation = vt_get_le64(rec + REC_OFF_GEN);
	memcpy(st->device_id, rec + REC_OFF_DEVICE_ID, RPMB_ID_SIZE);
	memcpy(st->key, rec + REC_OFF_KEY, RPMB_KEY_SIZE);
	*addr = a;
	*nblk = n;
	return 0;
}

int rpmb_store_commit(struct rpmb_store *s, const struct rpmb_state *next, uint16_t addr,
		      uint16_t nblk, const uint8_t *data)
{
	if (s->pending) {
		/* The caller may have gathered new blocks into s->rec already: move them. */
		if (nblk && data == s->rec + RPMB_REC_HDR_SIZE)
			return -EINVAL;
		rpmb_store_apply(s);
	}
	if (s->failed)
		return -EIO;
	if (nblk > s->geom.max_wr || (uint32_t)addr + nblk > s->blocks ||
	    (next->flags & ~RPMB_ST_KNOWN) || next->counter < s->st.counter)
		return -EINVAL;
	struct rpmb_state st = *next;
	st.seq = s->st.seq + 1;
	size_t dlen = (size_t)nblk * RPMB_BLOCK_SIZE;
	if (dlen && s->rec + RPMB_REC_HDR_SIZE != data)
		memcpy(s->rec + RPMB_REC_HDR_SIZE, data, dlen);
	int r = rpmb_rec_encode(s->rec, s->store_uuid, &st, addr, nblk);
	if (r < 0)
		return r;
	/*
	 * From the first byte on, the slot's content is unknown until the flush
	 * returns. Every RPMB_FULL_SYNC_EVERY records the flush covers the whole
	 * file (the data area too), so slots can be reused; otherwise only the
	 * record's range is written and flushed.
	 */
	uint64_t off = s->slot_off[st.seq % RPMB_SLOTS];
	size_t len = RPMB_REC_HDR_SIZE + dlen;
	if (st.seq % RPMB_FULL_SYNC_EVERY == 0 || !s->io.pwrite_dsync) {
		r = rpmb_io_write_all(&s->io, s->rec, len, off);
		if (r == 0) {
			r = s->io.sync(s->io.ctx);
			s->syncs++;
		}
	} else {
		ssize_t w = s->io.pwrite_dsync(s->io.ctx, s->rec, len, off);
		r = w < 0 ? (int)w : (size_t)w == len ? 0 : -EIO;
		s->range_syncs++;
	}
	if (r < 0) {
		/* The record may or may not be durable: only recovery can tell. */
		s->failed = true;
		vt_err(
		    "rpmb store: commit of record %llu failed: %s; refusing service until restart",
		    (unsigned long long)st.seq, strerror(-r));
		return r;
	}
	s->st = st;
	s->commits++;
	/*
	 * Committed. The blocks reach the data area (page cache) in
	 * rpmb_store_apply: after the answer went out, or before any other
	 * store operation, whichever comes first. A later whole-file flush
	 * makes them durable; until then recovery redoes the record.
	 */
	if (dlen) {
		s->pending = true;
		s->pending_addr = addr;
		s->pending_nblk = nblk;
	}
	return 0;
}

void rpmb_store_apply(struct rpmb_store *s)
{
	if (!s->pending)
		return;
	s->pending = false;
	int r = rpmb_io_write_all(&s->io, s->rec + RPMB_REC_HDR_SIZE,
			     (size_t)s->pending_nblk * RPMB_BLOCK_SIZE,
			     s->data_off + (uint64_t)s->pending_addr * RPMB_BLOCK_SIZE);
	if (r < 0) {
		s->failed = true;
		vt_err("rpmb store: applying record %llu failed: %s; recovery will redo it",
		       (unsigned long long)s->st.seq, strerror(-r));
	}
}

int rpmb_store_read(struct rpmb_store *s, uint32_t addr, uint32_t nblk, uint8_t *out)
{
	rpmb_store_apply(s);
	if (s->failed)
		return -EIO;
	if (addr > s->blocks || nblk > s->blocks - addr)
		return -ERANGE;
	return rpmb_io_read_all(&s->io, out, (size_t)nblk * RPMB_BLOCK_SIZE,
			   s->data_off + (uint64_t)addr * RPMB_BLOCK_SIZE);
}

int rpmb_store_replace(struct rpmb_store *s, const struct rpmb_state *next, const uint8_t *data)
{
	if (next->counter < s->st.counter)
		return -ERANGE; /* an import never lowers the counter */
	struct rpmb_state mid = s->st;
	mid.flags |= RPMB_ST_IMPORTING;
	int r = rpmb_store_commit(s, &mid, 0, 0, NULL);
	if (r < 0)
		return r;
	r = rpmb_io_write_all(&s->io, data, (size_t)s->blocks * RPMB_BLOCK_SIZE, s->data_off);
	if (r == 0) {
		r = s->io.sync(s->io.ctx);
		s->syncs++;
	}
	if (r < 0) {
		vt_err("rpmb store: import data write failed: %s", strerror(-r));
		return r; /* the store stays IMPORTING: refuses service until an import completes */
	}
	struct rpmb_state fin = *next;
	fin.flags &= ~RPMB_ST_IMPORTING;
	/* Never lower: rpmb_store_commit refuses a counter below the store's own. */
	return rpmb_store_commit(s, &fin, 0, 0, NULL);
}

int rpmb_journal_recover(struct rpmb_store *s, char *err, size_t errlen)
{
	struct rpmb_state *st = calloc(RPMB_SLOTS, sizeof(*st));
	uint16_t addr[RPMB_SLOTS], nblk[RPMB_SLOTS];
	bool valid[RPMB_SLOTS];
	int r = 0, newest = -1;
	if (!st)
		return -ENOMEM;
	for (unsigned i = 0; i < RPMB_SLOTS; i++) {
		r = rpmb_io_read_all(&s->io, s->rec, s->slot_size, s->slot_off[i]);
		if (r < 0) {
			snprintf(err, errlen, "cannot read journal slot %u: %s", i, strerror(-r));
			goto out;
		}
		r = rpmb_rec_decode(s->rec, s->slot_size, s->store_uuid, s->blocks, s->geom.max_wr,
				    &st[i], &addr[i], &nblk[i]);
		if (r == -EIO) {
			snprintf(err, errlen, "checksum computation failed");
			goto out;
		}
		valid[i] = r == 0;
		r = 0;
		if (valid[i] && st[i].seq % RPMB_SLOTS != i) {
			snprintf(err, errlen, "journal slot %u holds record %llu of another slot",
				 i, (unsigned long long)st[i].seq);
			r = -EBADMSG;
			goto out;
		}
		if (valid[i] && (newest < 0 || st[i].seq > st[newest].seq))
			newest = i;
	}
	if (newest < 0) {
		snprintf(err, errlen, "no valid journal record (corrupt store)");
		r = -EBADMSG;
		goto out;
	}
	/*
	 * The valid records must be the newest run of consecutive seqs: all the
	 * slots back to record 0, or at least RPMB_SLOTS - 1 of them (the slot
	 * after the newest may hold a torn write). A gap means a lost record.
	 */
	uint64_t n = st[newest].seq, lo = n >= RPMB_SLOTS - 1 ? n - (RPMB_SLOTS - 2) : 0;
	for (uint64_t q = lo; q <= n; q++) {
		unsigned i = (unsigned)(q % RPMB_SLOTS);
		if (!valid[i] || st[i].seq != q) {
			snprintf(err, errlen,
				 "journal record %llu is missing or damaged (newest %llu)",
				 (unsigned long long)q, (unsigned long long)n);
			r = -EBADMSG;
			goto out;
		}
		if (q > lo && st[i].counter < st[(q - 1) % RPMB_SLOTS].counter) {
			snprintf(err, errlen, "journal counter goes back at record %llu",
				 (unsigned long long)q);
			r = -EBADMSG;
			goto out;
		}
	}
	/* A record one older may survive too (the newest slot was not torn). */
	uint64_t first = lo;
	if (lo > 0) {
		unsigned i = (unsigned)((lo - 1) % RPMB_SLOTS);
		if (valid[i] && st[i].seq == lo - 1)
			first = lo - 1;
	}
	if (n > 0 && !valid[(n + 1) % RPMB_SLOTS] && n + 1 >= RPMB_SLOTS)
		vt_notice(
		    "rpmb store: the journal slot after record %llu is torn; using record %llu",
		    (unsigned long long)n, (unsigned long long)n);
	s->st = st[newest];
	/*
	 * Redo, oldest first, every valid record. The newest record can be on
	 * disk without its flush having completed, and a record's apply is only
	 * durable after the next whole-file flush, so any of them may be
	 * missing from the data area. Records older than the ring were covered
	 * by a whole-file flush before their slot was reused. An import wrote
	 * and synced the whole data area after its IMPORTING record: records up
	 * to that one are never redone (they would roll imported blocks back).
	 */
	for (uint64_t q = first; q <= n; q++)
		if (st[q % RPMB_SLOTS].flags & RPMB_ST_IMPORTING)
			first = q + 1;
	for (uint64_t q = first; q <= n; q++) {
		unsigned i = (unsigned)(q % RPMB_SLOTS);
		if (!nblk[i])
			continue;
		r = rpmb_io_read_all(&s->io, s->rec, s->slot_size, s->slot_off[i]);
		if (r == 0)
			r = rpmb_io_write_all(&s->io, s->rec + RPMB_REC_HDR_SIZE,
					 (size_t)nblk[i] * RPMB_BLOCK_SIZE,
					 s->data_off + (uint64_t)addr[i] * RPMB_BLOCK_SIZE);
		if (r < 0) {
			snprintf(err, errlen, "cannot redo journal record %llu: %s",
				 (unsigned long long)q, strerror(-r));
			goto out;
		}
		s->recovered_blocks += nblk[i];
	}
	r = s->io.sync(s->io.ctx);
	if (r < 0)
		snprintf(err, errlen, "cannot sync the redone records: %s", strerror(-r));
out:
	vt_wipe(st, RPMB_SLOTS * sizeof(*st));
	free(st);
	return r;
}
