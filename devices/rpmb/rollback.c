/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Host-side rollback detection (README.md, "Rollback detection"): the
 * store's journal records carry an anchor value A that a TPM NV counter T
 * must match. A bump commits A + 1 (in a record the store writes anyway
 * where possible: no extra flush) and then increments T, so at every
 * instant A ∈ {T, T + 1}. At open: T == A is the newest store; T + 1 == A a
 * crash between the two steps (T is caught up); T > A an older copy of the
 * store file (refused); T + 1 < A another or a cleared TPM (refused).
 * Bumps: at open, export, import, cancel-export, ticket-cancel, clean
 * shutdown, and with a write once RPMB_ANCHOR_WRITES writes or
 * RPMB_ANCHOR_SECONDS passed since the last one. All under d->lock.
 */
#include <stdio.h>
#include <string.h>

#include "anchor.h"
#include "clock.h"
#include "log.h"
#include "rpmb.h"
#include "secmem.h"

static uint32_t derived_index(const struct rpmb_store *s)
{
	const uint8_t *u = s->store_uuid;
	/* Owner NV range 0x01000000-0x013fffff: 0x013xxxxx from the store uuid. */
	return 0x01300000u | (((uint32_t)u[0] << 12 | (uint32_t)u[1] << 4 | u[2] >> 4) & 0xfffffu);
}

void rpmb_anchor_sync(struct rpmb_dev *d)
{
	if (!d->tpm || !d->tpm_due)
		return;
	char err[256];
	if (rpmb_tpm_increment(d->tpm, d->store->st.tpm_index, err, sizeof(err)) < 0) {
		d->stats.tpm_errors++;
		if ((d->stats.tpm_errors & (d->stats.tpm_errors - 1)) == 0)
			vt_err("%s: rollback anchor: %s; retrying with the next write batch (the "
			       "detection window grows meanwhile)",
			       d->name, err);
		return;
	}
	d->tpm_due = false;
	d->stats.tpm_increments++;
}

bool rpmb_anchor_due(struct rpmb_dev *d)
{
	if (!d->tpm || d->tpm_due || d->rolled_back)
		return false;
	return d->writes_since_bump + 1 >= RPMB_ANCHOR_WRITES ||
	       vt_now_ns() - d->last_bump_ns >= RPMB_ANCHOR_SECONDS * 1000000000ull;
}

void rpmb_anchor_committed(struct rpmb_dev *d, bool bumped)
{
	if (!bumped) {
		d->writes_since_bump++;
		return;
	}
	d->tpm_due = true;
	d->writes_since_bump = 0;
	d->last_bump_ns = vt_now_ns();
}

int rpmb_anchor_bump(struct rpmb_dev *d, char *err, size_t errlen)
{
	if (!d->tpm || d->rolled_back)
		return 0;
	rpmb_anchor_sync(d);
	if (d->tpm_due) {
		snprintf(err, errlen, "the TPM rollback anchor cannot be advanced (see the log)");
		return -EIO;
	}
	struct rpmb_state next = d->store->st;
	next.anchor++;
	int r = rpmb_store_commit(d->store, &next, 0, 0, NULL);
	vt_wipe(&next, sizeof(next));
	if (r < 0) {
		snprintf(err, errlen, "cannot commit the anchor: %s", strerror(-r));
		return r;
	}
	rpmb_anchor_committed(d, true);
	rpmb_anchor_sync(d);
	if (d->tpm_due) {
		snprintf(err, errlen, "the TPM rollback anchor cannot be advanced (see the log)");
		return -EIO;
	}
	return 0;
}

/* The reason is in d->rollback_reason. */
static void refuse(struct rpmb_dev *d)
{
	d->rolled_back = true;
	vt_err("%s: rpmb store %s: %s", d->name, d->store_path ? d->store_path : "", d->rollback_reason);
}

static int anchor_open(struct rpmb_dev *d, const char *tcti, uint32_t want_index, char *err,
		       size_t errlen)
{
	struct rpmb_store *s = d->store;
	if (!tcti) {
		if (s->st.flags & RPMB_ST_ANCHORED) {
			snprintf(err, errlen,
				 "the store is anchored in TPM NV index 0x%08x; configure tpm=TCTI "
				 "(without the TPM a rolled-back copy could not be told)",
				 s->st.tpm_index);
			return -EINVAL;
		}
		vt_warn("%s: no tpm configured: rollback of the store file (a restored or copied "
			"older copy) is NOT detected",
			d->name);
		return 0;
	}
	int r = rpmb_tpm_open(tcti, &d->tpm, err, errlen);
	if (r < 0)
		return r;
	if (strncmp(tcti, "swtpm", 5) == 0 || strncmp(tcti, "mssim", 5) == 0)
		vt_notice("%s: TPM TCTI %s opens a TCP connection per command, which vtrustd's "
			  "seccomp allow-lists refuse once the sandbox is on: use it with --seccomp "
			  "log (tests), and device:/dev/tpmrm0 in production",
			  d->name, tcti);
	d->last_bump_ns = vt_now_ns();
	if (!(s->st.flags & RPMB_ST_ANCHORED) || s->st.anchor == 0) {
		bool fresh = !(s->st.flags & RPMB_ST_ANCHORED);
		uint32_t index = fresh ? (want_index ? want_index : derived_index(s)) : s->st.tpm_index;
		uint64_t t;
		if (fresh && rpmb_tpm_read(d->tpm, index, &t, err, errlen) != -ENOENT) {
			snprintf(err, errlen,
				 "TPM NV index 0x%08x exists already (another store's anchor?); "
				 "choose a free one with tpm_nv_index",
				 index);
			return -EEXIST;
		}
		/* Intent first: a crash from here on finds the index to adopt. */
		struct rpmb_state next = s->st;
		next.flags |= RPMB_ST_ANCHORED;
		next.tpm_index = index;
		next.anchor = 0;
		r = fresh ? rpmb_store_commit(s, &next, 0, 0, NULL) : 0;
		if (r == 0)
			r = rpmb_tpm_define(d->tpm, index, err, errlen);
		if (r == 0)
			r = rpmb_tpm_read(d->tpm, index, &t, err, errlen);
		if (r == 0) {
			next.anchor = t;
			r = rpmb_store_commit(s, &next, 0, 0, NULL);
			if (r < 0)
				snprintf(err, errlen, "cannot commit the anchor: %s", strerror(-r));
		}
		vt_wipe(&next, sizeof(next));
		if (r < 0)
			return r;
		vt_notice("%s: rollback anchor: TPM NV counter 0x%08x (value %llu)", d->name, index,
			  (unsigned long long)t);
	} else {
		uint64_t t, a = s->st.anchor;
		r = rpmb_tpm_read(d->tpm, s->st.tpm_index, &t, err, errlen);
		if (r == -ENOENT) {
			snprintf(d->rollback_reason, sizeof(d->rollback_reason),
				 "the TPM has no anchor index 0x%08x for this store (another "
				 "machine's TPM, or the TPM was cleared): rollback cannot be ruled "
				 "out; refusing service",
				 s->st.tpm_index);
			refuse(d);
			return 0;
		}
		if (r < 0)
			return r;
		if (t > a) {
			snprintf(d->rollback_reason, sizeof(d->rollback_reason),
				 "ROLLED BACK: the store file is older than its TPM anchor (store "
				 "%llu, TPM %llu): a restored or copied older store; refusing service "
				 "(put the newest store file back)",
				 (unsigned long long)a, (unsigned long long)t);
			refuse(d);
			return 0;
		}
		if (t + 1 < a) {
			snprintf(d->rollback_reason, sizeof(d->rollback_reason),
				 "the TPM anchor is behind the store (store %llu, TPM %llu): another "
				 "or a cleared TPM; refusing service",
				 (unsigned long long)a, (unsigned long long)t);
			refuse(d);
			return 0;
		}
		if (t + 1 == a) {
			d->tpm_due = true; /* a crash between commit and increment: catch up */
			rpmb_anchor_sync(d);
			if (d->tpm_due) {
				snprintf(err, errlen, "cannot catch the TPM anchor up");
				return -EIO;
			}
		}
	}
	return rpmb_anchor_bump(d, err, errlen);
}

int rpmb_anchor_open(struct rpmb_dev *d, const char *tcti, uint32_t index, char *err,
		     size_t errlen)
{
	int r = anchor_open(d, tcti, index, err, errlen);
	if (r < 0 && d->tpm) {
		rpmb_tpm_close(d->tpm);
		d->tpm = NULL;
	}
	return r;
}

void rpmb_anchor_close(struct rpmb_dev *d)
{
	if (!d->tpm)
		return;
	char err[256];
	if (!d->rolled_back && !d->store->failed && rpmb_anchor_bump(d, err, sizeof(err)) < 0)
		vt_warn("%s: rollback anchor at shutdown: %s", d->name, err);
	rpmb_tpm_close(d->tpm);
	d->tpm = NULL;
}
