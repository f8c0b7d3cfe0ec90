/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The redo journal: two alternating slots, one record per commit, one sync
 * per commit. See store.h and README.md ("Store design") for the argument.
 */
#include <stdio.h>
#include <string.h>
#include <openssl/evp.h>

#include "journal.h"
#include "log.h"
#include "secmem.h"

int rpmb_sha256_2(const void *a, size_t alen, const void *b, size_t blen, uint8_t out[32])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	unsigned len = 0;
	int ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) && EVP_DigestUpdate(ctx, a, alen) &&
		 (!b || !blen || EVP_DigestUpdate(ctx, b, blen)) && EVP_DigestFinal_ex(ctx, out, &len);
	EVP_MD_CTX_free(ctx);
	return ok && len == 32 ? 0 : -EIO;
}

int rpmb_rec_encode(uint8_t *rec, const uint8_t store_uuid[RPMB_ID_SIZE], const struct rpmb_state *st,
		    uint16_t addr, uint16_t nblk)
{
	memset(rec, 0, RPMB_REC_HDR_SIZE);
	memcpy(rec + REC_OFF_MAGIC, RPMB_REC_MAGIC, 8);
	le64_put(rec + REC_OFF_SEQ, st->seq);
	le32_put(rec + REC_OFF_COUNTER, st->counter);
	le32_put(rec + REC_OFF_FLAGS, st->flags);
	le64_put(rec + REC_OFF_GEN, st->generation);
	memcpy(rec + REC_OFF_STORE_UUID, store_uuid, RPMB_ID_SIZE);
	memcpy(rec + REC_OFF_DEVICE_ID, st->device_id, RPMB_ID_SIZE);
	memcpy(rec + REC_OFF_KEY, st->key, RPMB_KEY_SIZE);
	le16_put(rec + REC_OFF_ADDR, addr);
	le16_put(rec + REC_OFF_NBLK, nblk);
	return rpmb_sha256_2(rec, REC_OFF_SUM, rec + RPMB_REC_HDR_SIZE, (size_t)nblk * RPMB_BLOCK_SIZE,
			     rec + REC_OFF_SUM);
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
	uint16_t a = le16_get(rec + REC_OFF_ADDR), n = le16_get(rec + REC_OFF_NBLK);
	uint32_t flags = le32_get(rec + REC_OFF_FLAGS);
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
	st->seq = le64_get(rec + REC_OFF_SEQ);
	st->counter = le32_get(rec + REC_OFF_COUNTER);
	st->flags = flags;
	st->generation = le64_get(rec + REC_OFF_GEN);
	memcpy(st->device_id, rec + REC_OFF_DEVICE_ID, RPMB_ID_SIZE);
	memcpy(st->key, rec + REC_OFF_KEY, RPMB_KEY_SIZE);
	*addr = a;
	*nblk = n;
	return 0;
}

static int io_write_all(const struct rpmb_io *io, const void *buf, size_t n, uint64_t off)
{
	const uint8_t *p = buf;
	while (n) {
		ssize_t w = io->pwrite(io->ctx, p, n, off);
		if (w < 0 && w != -EINTR)
			return (int)w;
		if (w == 0)
			return -EIO;
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			off += (uint64_t)w;
		}
	}
	return 0;
}

static int io_read_all(const struct rpmb_io *io, void *buf, size_t n, uint64_t off)
{
	uint8_t *p = buf;
	while (n) {
		ssize_t r = io->pread(io->ctx, p, n, off);
		if (r < 0 && r != -EINTR)
			return (int)r;
		if (r == 0)
			return -ENODATA;
		if (r > 0) {
			p += r;
			n -= (size_t)r;
			off += (uint64_t)r;
		}
	}
	return 0;
}

int rpmb_store_commit(struct rpmb_store *s, const struct rpmb_state *next, uint16_t addr,
		      uint16_t nblk, const uint8_t *data)
{
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
	/* From the first byte on, the slot's content is unknown until the sync returns. */
	r = io_write_all(&s->io, s->rec, RPMB_REC_HDR_SIZE + dlen, s->slot_off[st.seq % 2]);
	if (r == 0) {
		r = s->io.sync(s->io.ctx);
		s->syncs++;
	}
	if (r < 0) {
		/* The record may or may not be durable: only recovery can tell. */
		s->failed = true;
		vt_err("rpmb store: commit of record %llu failed: %s; refusing service until restart",
		       (unsigned long long)st.seq, strerror(-r));
		return r;
	}
	s->st = st;
	s->commits++;
	/* Committed. Apply to the data area; the next commit's sync makes it durable. */
	if (dlen) {
		r = io_write_all(&s->io, s->rec + RPMB_REC_HDR_SIZE, dlen,
				 s->data_off + (uint64_t)addr * RPMB_BLOCK_SIZE);
		if (r < 0) {
			s->failed = true;
			vt_err("rpmb store: applying record %llu failed: %s; recovery will redo it",
			       (unsigned long long)st.seq, strerror(-r));
		}
	}
	return 0;
}

int rpmb_store_read(struct rpmb_store *s, uint32_t addr, uint32_t nblk, uint8_t *out)
{
	if (s->failed)
		return -EIO;
	if (addr > s->blocks || nblk > s->blocks - addr)
		return -ERANGE;
	return io_read_all(&s->io, out, (size_t)nblk * RPMB_BLOCK_SIZE,
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
	r = io_write_all(&s->io, data, (size_t)s->blocks * RPMB_BLOCK_SIZE, s->data_off);
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
	struct rpmb_state st[2];
	uint16_t addr[2], nblk[2];
	bool valid[2];
	for (int i = 0; i < 2; i++) {
		int r = io_read_all(&s->io, s->rec, s->slot_size, s->slot_off[i]);
		if (r < 0) {
			snprintf(err, errlen, "cannot read journal slot %d: %s", i, strerror(-r));
			return r;
		}
		r = rpmb_rec_decode(s->rec, s->slot_size, s->store_uuid, s->blocks, s->geom.max_wr,
				    &st[i], &addr[i], &nblk[i]);
		if (r == -EIO) {
			snprintf(err, errlen, "checksum computation failed");
			return r;
		}
		valid[i] = r == 0;
		if (valid[i] && st[i].seq % 2 != (uint64_t)i) {
			snprintf(err, errlen, "journal slot %d holds record %llu of the other slot", i,
				 (unsigned long long)st[i].seq);
			return -EBADMSG;
		}
	}
	if (!valid[0] && !valid[1]) {
		snprintf(err, errlen, "no valid journal record (corrupt store)");
		return -EBADMSG;
	}
	int w;
	if (valid[0] && valid[1]) {
		w = st[1].seq > st[0].seq ? 1 : 0;
		const struct rpmb_state *n = &st[w], *o = &st[!w];
		if (n->seq != o->seq + 1 || n->counter < o->counter) {
			snprintf(err, errlen,
				 "journal records inconsistent (seq %llu counter %u vs seq %llu counter %u)",
				 (unsigned long long)o->seq, o->counter, (unsigned long long)n->seq,
				 n->counter);
			return -EBADMSG;
		}
	} else {
		w = valid[0] ? 0 : 1;
		if (st[w].seq > 0)
			vt_notice("rpmb store: journal slot %d is torn or empty; using record %llu", !w,
				  (unsigned long long)st[w].seq);
	}
	s->st = st[w];
	/*
	 * Redo, oldest first, every valid record. The newest record can be on
	 * disk without its sync having completed (writeback), and then the
	 * previous record's blocks may not be in the data area yet: redoing
	 * only the newest would lose them. The record before the older one is
	 * always in the data area: the older record's sync completed before
	 * the newer one was written.
	 */
	int order[2] = {!w, w};
	for (int k = 0; k < 2; k++) {
		int i = order[k];
		if (!valid[i] || !nblk[i])
			continue;
		int r = io_read_all(&s->io, s->rec, s->slot_size, s->slot_off[i]);
		if (r == 0)
			r = io_write_all(&s->io, s->rec + RPMB_REC_HDR_SIZE,
					 (size_t)nblk[i] * RPMB_BLOCK_SIZE,
					 s->data_off + (uint64_t)addr[i] * RPMB_BLOCK_SIZE);
		if (r < 0) {
			snprintf(err, errlen, "cannot redo journal record %llu: %s",
				 (unsigned long long)st[i].seq, strerror(-r));
			return r;
		}
		s->recovered_blocks += nblk[i];
	}
	int r = s->io.sync(s->io.ctx);
	if (r < 0) {
		snprintf(err, errlen, "cannot sync the redone records: %s", strerror(-r));
		return r;
	}
	vt_wipe(st, sizeof(st));
	return 0;
}
