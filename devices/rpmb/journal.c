/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The redo journal: a ring of RPMB_SLOTS slots, one record per commit (in
 * slot seq % RPMB_SLOTS) written twice (two copies in one range of whole
 * pages, mirrored around the slot's middle), one flush per commit. See store.h and
 * README.md ("Store design") for the argument.
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

const void *rpmb_sha256_md(void)
{
	pthread_once(&sha256_once, sha256_fetch);
	return sha256_md;
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
	memcpy(rec + REC_OFF_TICKET, st->ticket, RPMB_TICKET_NONCE_LEN);
	memcpy(rec + REC_OFF_EXPORT_TO, st->export_to, sizeof(st->export_to));
	vt_put_le32(rec + REC_OFF_TPM_INDEX, st->tpm_index);
	vt_put_le64(rec + REC_OFF_ANCHOR, st->anchor);
	return rpmb_sha256_2(rec, REC_OFF_SUM, rec + RPMB_REC_HDR_SIZE,
			     (size_t)nblk * RPMB_BLOCK_SIZE, rec + REC_OFF_SUM);
}

/* Decodes a record whose header is at h and whose blocks are at data (data_avail bytes there). */
static int rec_decode_split(const uint8_t *h, const uint8_t *data, size_t data_avail,
			    const uint8_t store_uuid[RPMB_ID_SIZE], uint32_t blocks, uint8_t max_wr,
			    struct rpmb_state *st, uint16_t *addr, uint16_t *nblk)
{
	if (memcmp(h + REC_OFF_MAGIC, RPMB_REC_MAGIC, 8) != 0) /* lint-ok: memcmp public magic */
		return -EBADMSG;
	if (vt_ct_memcmp(h + REC_OFF_STORE_UUID, store_uuid, RPMB_ID_SIZE) != 0)
		return -EBADMSG;
	uint16_t a = vt_get_le16(h + REC_OFF_ADDR), n = vt_get_le16(h + REC_OFF_NBLK);
	uint32_t flags = vt_get_le32(h + REC_OFF_FLAGS);
	if (n > max_wr || (uint32_t)a + n > blocks || (flags & ~RPMB_ST_KNOWN))
		return -EBADMSG;
	size_t dlen = (size_t)n * RPMB_BLOCK_SIZE;
	if (data_avail < dlen)
		return -EBADMSG;
	uint8_t sum[32];
	if (rpmb_sha256_2(h, REC_OFF_SUM, data, dlen, sum) < 0)
		return -EIO;
	if (vt_ct_memcmp(sum, h + REC_OFF_SUM, 32) != 0)
		return -EBADMSG;
	st->seq = vt_get_le64(h + REC_OFF_SEQ);
	st->counter = vt_get_le32(h + REC_OFF_COUNTER);
	st->flags = flags;
	st->generation = vt_get_le64(h + REC_OFF_GEN);
	memcpy(st->device_id, h + REC_OFF_DEVICE_ID, RPMB_ID_SIZE);
	memcpy(st->key, h + REC_OFF_KEY, RPMB_KEY_SIZE);
	memcpy(st->ticket, h + REC_OFF_TICKET, RPMB_TICKET_NONCE_LEN);
	memcpy(st->export_to, h + REC_OFF_EXPORT_TO, sizeof(st->export_to));
	st->tpm_index = vt_get_le32(h + REC_OFF_TPM_INDEX);
	st->anchor = vt_get_le64(h + REC_OFF_ANCHOR);
	*addr = a;
	*nblk = n;
	return 0;
}

int rpmb_rec_decode(const uint8_t *rec, size_t avail, const uint8_t store_uuid[RPMB_ID_SIZE],
		    uint32_t blocks, uint8_t max_wr, struct rpmb_state *st, uint16_t *addr,
		    uint16_t *nblk)
{
	if (avail < RPMB_REC_HDR_SIZE)
		return -EBADMSG;
	return rec_decode_split(rec, rec + RPMB_REC_HDR_SIZE, avail - RPMB_REC_HDR_SIZE, store_uuid,
				blocks, max_wr, st, addr, nblk);
}

uint64_t rpmb_copy_off(const struct rpmb_store *s, unsigned c, uint16_t nblk, uint64_t rec_off)
{
	if (c)
		return s->slot_size + rec_off; /* copy B: header at the middle, then the blocks */
	if (s->version < 3)
		return rec_off; /* version 2: copy A at the slot start, laid out like B */
	/* Copy A: the blocks, then the header, ending at the middle where copy B begins. */
	if (rec_off < RPMB_REC_HDR_SIZE)
		return s->slot_size - RPMB_REC_HDR_SIZE + rec_off;
	return s->slot_size - RPMB_REC_HDR_SIZE - (uint64_t)nblk * RPMB_BLOCK_SIZE +
	       (rec_off - RPMB_REC_HDR_SIZE);
}

uint8_t *rpmb_store_rec_data(struct rpmb_store *s)
{
	return s->rec + rpmb_copy_off(s, 1, 0, RPMB_REC_HDR_SIZE);
}

/*
 * Given copy B of a record with nblk blocks in s->rec (built there, or
 * moved there), lays out copy A and zeroes the rest of every 4 KiB page the
 * two copies touch. [*lo, *hi) (offsets in the slot, 4 KiB aligned) is the
 * range to write: whole pages, two for a record of up to 15 blocks in a
 * version 3 store.
 */
static void lay_out(struct rpmb_store *s, uint16_t nblk, uint64_t *lo, uint64_t *hi)
{
	uint64_t dlen = (uint64_t)nblk * RPMB_BLOCK_SIZE, rlen = RPMB_REC_HDR_SIZE + dlen;
	const uint8_t *b = s->rec + s->slot_size;
	uint64_t ah = rpmb_copy_off(s, 0, nblk, 0), ad = rpmb_copy_off(s, 0, nblk, RPMB_REC_HDR_SIZE);
	memmove(s->rec + ah, b, RPMB_REC_HDR_SIZE);
	memmove(s->rec + ad, b + RPMB_REC_HDR_SIZE, dlen);
	uint64_t a_lo = VT_MIN(ah, ad), a_hi = VT_MAX(ah + RPMB_REC_HDR_SIZE, ad + dlen);
	*lo = a_lo & ~4095ull;
	*hi = (s->slot_size + rlen + 4095) & ~4095ull;
	memset(s->rec + *lo, 0, a_lo - *lo);
	memset(s->rec + a_hi, 0, s->slot_size - a_hi);
	memset(s->rec + s->slot_size + rlen, 0, *hi - (s->slot_size + rlen));
}

int rpmb_store_commit(struct rpmb_store *s, const struct rpmb_state *next, uint16_t addr,
		      uint16_t nblk, const uint8_t *data)
{
	if (s->pending) {
		/* The caller may have gathered new blocks into s->rec already: move them. */
		if (nblk && data == rpmb_store_rec_data(s))
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
	uint8_t *b = s->rec + s->slot_size;
	if (dlen && rpmb_store_rec_data(s) != data)
		memcpy(rpmb_store_rec_data(s), data, dlen);
	int r = rpmb_rec_encode(b, s->store_uuid, &st, addr, nblk);
	if (r < 0)
		return r;
	/*
	 * Copy A beside copy B: the slot is written as one range of whole pages
	 * [A, B], so both copies share the one flush, and one bad sector (or
	 * 4 KiB page) can damage at most one of them.
	 */
	uint64_t lo, hi;
	lay_out(s, nblk, &lo, &hi);
	/*
	 * From the first byte on, the slot's content is unknown until the flush
	 * returns. Every RPMB_FULL_SYNC_EVERY records the flush covers the whole
	 * file (the data area too), so slots can be reused; otherwise only the
	 * record's range is written and flushed.
	 */
	uint64_t off = s->slot_off[st.seq % RPMB_SLOTS] + lo;
	size_t len = (size_t)(hi - lo);
	const uint8_t *buf = s->rec + lo;
	if (st.seq % RPMB_FULL_SYNC_EVERY == 0 || !s->io.pwrite_dsync) {
		r = rpmb_io_write_all(&s->io, buf, len, off);
		if (r == 0) {
			r = s->io.sync(s->io.ctx);
			s->syncs++;
		}
	} else {
		ssize_t w = s->io.pwrite_dsync(s->io.ctx, buf, len, off);
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
	int r = rpmb_store_put_blocks(s, s->pending_addr, s->pending_nblk, rpmb_store_rec_data(s));
	if (r < 0) {
		s->failed = true;
		vt_err("rpmb store: applying record %llu failed: %s; recovery will redo it",
		       (unsigned long long)s->st.seq, strerror(-r));
	}
}

int rpmb_store_replace(struct rpmb_store *s, const struct rpmb_state *next, const uint8_t *data)
{
	if (next->counter < s->st.counter)
		return -ERANGE; /* an import never lowers the counter */
	struct rpmb_state mid = s->st;
	mid.flags |= RPMB_ST_IMPORTING;
	mid.flags &= ~RPMB_ST_TICKET; /* the ticket is burned with the first durable step */
	memset(mid.ticket, 0, sizeof(mid.ticket));
	int r = rpmb_store_commit(s, &mid, 0, 0, NULL);
	if (r < 0)
		return r;
	r = rpmb_store_put_blocks(s, 0, s->blocks, data);
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

/* Decodes copy c (0 = A, 1 = B) of the slot in s->rec; 0, -EBADMSG or -EIO. */
static int decode_copy(struct rpmb_store *s, unsigned c, struct rpmb_state *st, uint16_t *addr,
		       uint16_t *nblk)
{
	if (c || s->version < 3)
		return rpmb_rec_decode(s->rec + rpmb_copy_off(s, c, 0, 0), s->slot_size,
				       s->store_uuid, s->blocks, s->geom.max_wr, st, addr, nblk);
	/* Copy A of version 3: its blocks lie before its header; the header says how many. */
	const uint8_t *h = s->rec + rpmb_copy_off(s, 0, 0, 0);
	uint16_t n = vt_get_le16(h + REC_OFF_NBLK);
	if (n > s->geom.max_wr)
		return -EBADMSG;
	return rec_decode_split(h, s->rec + rpmb_copy_off(s, 0, n, RPMB_REC_HDR_SIZE),
				(size_t)n * RPMB_BLOCK_SIZE, s->store_uuid, s->blocks, s->geom.max_wr,
				st, addr, nblk);
}

/* The seq a damaged or torn copy claims in its header (magic and uuid intact), or -1. */
static int64_t claimed_seq(const struct rpmb_store *s, unsigned c)
{
	const uint8_t *h = s->rec + rpmb_copy_off(s, c, 0, 0);
	if (memcmp(h + REC_OFF_MAGIC, RPMB_REC_MAGIC, 8) != 0 || /* lint-ok: memcmp public magic */
	    vt_ct_memcmp(h + REC_OFF_STORE_UUID, s->store_uuid, RPMB_ID_SIZE) != 0)
		return -1;
	return (int64_t)(vt_get_le64(h + REC_OFF_SEQ) & INT64_MAX);
}

struct slot_info {
	struct rpmb_state st;
	uint16_t addr, nblk;
	bool valid;	      /* at least one copy holds a valid record */
	uint8_t good;	      /* copies holding that record (1 or 2) */
	uint8_t copy;	      /* the copy it was taken from */
	int64_t claim[2];     /* seq claimed by an invalid copy, -1 if none */
};

int rpmb_journal_recover(struct rpmb_store *s, char *err, size_t errlen)
{
	struct slot_info *si = calloc(RPMB_SLOTS, sizeof(*si));
	int r = 0, newest = -1;
	if (!si)
		return -ENOMEM;
	for (unsigned i = 0; i < RPMB_SLOTS; i++) {
		r = rpmb_io_read_all(&s->io, s->rec, 2 * s->slot_size, s->slot_off[i]);
		if (r < 0) {
			snprintf(err, errlen, "cannot read journal slot %u: %s", i, strerror(-r));
			goto out;
		}
		struct rpmb_state cst[2];
		uint16_t ca[2], cn[2];
		bool ok[2];
		for (unsigned c = 0; c < 2; c++) {
			r = decode_copy(s, c, &cst[c], &ca[c], &cn[c]);
			if (r == -EIO) {
				snprintf(err, errlen, "checksum computation failed");
				goto out;
			}
			ok[c] = r == 0;
			si[i].claim[c] = ok[c] ? -1 : claimed_seq(s, c);
			r = 0;
			if (ok[c] && cst[c].seq % RPMB_SLOTS != i) {
				snprintf(err, errlen,
					 "journal slot %u holds record %llu of another slot", i,
					 (unsigned long long)cst[c].seq);
				r = -EBADMSG;
				goto out;
			}
		}
		/* Both valid but different: a torn rewrite of the slot; the newer one counts. */
		unsigned c = !ok[0] || (ok[1] && cst[1].seq > cst[0].seq) ? 1 : 0;
		si[i].valid = ok[c];
		if (ok[c]) {
			si[i].st = cst[c];
			si[i].addr = ca[c];
			si[i].nblk = cn[c];
			si[i].copy = (uint8_t)c;
			si[i].good = (uint8_t)(ok[0] && ok[1] && cst[0].seq == cst[1].seq ? 2 : 1);
		}
		vt_wipe(cst, sizeof(cst));
		if (si[i].valid && (newest < 0 || si[i].st.seq > si[newest].st.seq))
			newest = (int)i;
	}
	if (newest < 0) {
		snprintf(err, errlen, "no valid journal record (corrupt store)");
		r = -EBADMSG;
		goto out;
	}
	/*
	 * The valid records must be the newest run of consecutive seqs: all the
	 * slots back to record 0, or at least RPMB_SLOTS - 1 of them (the slot
	 * after the newest may hold a torn write). Every committed record was
	 * written twice under one flush, so a record of the run with neither
	 * copy valid was damaged after its commit (two bad places): refused,
	 * never dropped.
	 */
	uint64_t n = si[newest].st.seq, lo = n >= RPMB_SLOTS - 1 ? n - (RPMB_SLOTS - 2) : 0;
	for (uint64_t q = lo; q <= n; q++) {
		const struct slot_info *x = &si[q % RPMB_SLOTS];
		if (!x->valid || x->st.seq != q) {
			snprintf(err, errlen,
				 "journal record %llu is missing or damaged in both copies while "
				 "record %llu exists: a committed write would be lost; refusing the "
				 "store (restore it from a migration export)",
				 (unsigned long long)q, (unsigned long long)n);
			r = -EBADMSG;
			goto out;
		}
		if (q > lo && x->st.counter < si[(q - 1) % RPMB_SLOTS].st.counter) {
			snprintf(err, errlen, "journal counter goes back at record %llu",
				 (unsigned long long)q);
			r = -EBADMSG;
			goto out;
		}
	}
	/* A record one older may survive too (the newest slot was not torn). */
	uint64_t first = lo;
	if (lo > 0) {
		const struct slot_info *x = &si[(lo - 1) % RPMB_SLOTS];
		if (x->valid && x->st.seq == lo - 1)
			first = lo - 1;
	}
	/*
	 * The slot after the newest: a record n + 1 there with no valid copy was
	 * torn by a crash before its flush returned, so never acknowledged (an
	 * acknowledged one has two durable copies; one bad sector leaves one).
	 */
	const struct slot_info *nx = &si[(n + 1) % RPMB_SLOTS];
	if (nx->claim[0] == (int64_t)(n + 1) || nx->claim[1] == (int64_t)(n + 1))
		vt_notice("rpmb store: journal record %llu was torn by a crash before its flush "
			  "(never acknowledged); the state is record %llu",
			  (unsigned long long)(n + 1), (unsigned long long)n);
	s->st = si[newest].st;
	/*
	 * Repair: a record of the run with one good copy (a bad sector, or a
	 * crash that tore copy B of the newest record after copy A reached the
	 * disk) is rewritten whole from the good copy.
	 */
	for (uint64_t q = first; q <= n; q++) {
		unsigned i = (unsigned)(q % RPMB_SLOTS);
		if (si[i].good == 2)
			continue;
		r = rpmb_io_read_all(&s->io, s->rec, 2 * s->slot_size, s->slot_off[i]);
		if (r == 0) {
			/* Copy B from the good copy, then both copies from it as a commit lays them out. */
			uint16_t nb = si[i].nblk;
			if (si[i].copy == 0) {
				memmove(s->rec + s->slot_size, s->rec + rpmb_copy_off(s, 0, nb, 0),
					RPMB_REC_HDR_SIZE);
				memmove(rpmb_store_rec_data(s),
					s->rec + rpmb_copy_off(s, 0, nb, RPMB_REC_HDR_SIZE),
					(size_t)nb * RPMB_BLOCK_SIZE);
			}
			uint64_t w_lo, w_hi;
			lay_out(s, nb, &w_lo, &w_hi);
			r = rpmb_io_write_all(&s->io, s->rec + w_lo, (size_t)(w_hi - w_lo),
					      s->slot_off[i] + w_lo);
		}
		if (r < 0) {
			snprintf(err, errlen, "cannot repair journal record %llu: %s",
				 (unsigned long long)q, strerror(-r));
			goto out;
		}
		s->repaired_copies++;
		vt_warn("rpmb store: journal record %llu had one damaged or torn copy; rewritten "
			"from the other",
			(unsigned long long)q);
	}
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
		if (si[q % RPMB_SLOTS].st.flags & RPMB_ST_IMPORTING)
			first = q + 1;
	for (uint64_t q = first; q <= n; q++) {
		unsigned i = (unsigned)(q % RPMB_SLOTS);
		if (!si[i].nblk)
			continue;
		r = rpmb_io_read_all(&s->io, s->rec, 2 * s->slot_size, s->slot_off[i]);
		if (r == 0)
			r = rpmb_store_put_blocks(
			    s, si[i].addr, si[i].nblk,
			    s->rec + rpmb_copy_off(s, si[i].copy, si[i].nblk, RPMB_REC_HDR_SIZE));
		if (r < 0) {
			snprintf(err, errlen, "cannot redo journal record %llu: %s",
				 (unsigned long long)q, strerror(-r));
			goto out;
		}
		s->recovered_blocks += si[i].nblk;
	}
	r = s->io.sync(s->io.ctx);
	if (r < 0)
		snprintf(err, errlen, "cannot sync the redone records: %s", strerror(-r));
out:
	vt_wipe(si, RPMB_SLOTS * sizeof(*si));
	free(si);
	return r;
}
