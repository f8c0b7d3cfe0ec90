/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Migration: the whole device state (key, counter, data) as one blob,
 * AES-256-GCM under a key derived from the host migration key, with the
 * clear header (device id, counter, generation, geometry, and the
 * destination's ticket) as AAD. The destination issues the ticket (durable,
 * outstanding), the source exports for it only and durably marks itself
 * exported (it refuses service), the destination admits the blob once and
 * burns the ticket in the same durable record that starts the import. Two
 * live copies never exist unless an operator says so: rpmb-cancel-export
 * needs the destination's void receipt for the ticket (receipt.c), or the
 * documented override.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "journal.h"
#include "log.h"
#include "rpmb.h"
#include "secmem.h"

/* What every migration step says without a migration key: what is missing and how to give it. */
#define NO_MIG_KEY                                                                                 \
	"no migration_key configured (give the device the option migration_key=FILE, the same "     \
	"key file on both hosts)"
#include "statefd.h"

#define BLOB_MAGIC "VTRPMBX1"
#define BLOB_VERSION 2u /* 2: bound to a destination ticket */
#define B_VERSION 8
#define B_HDR_LEN 12
#define B_CAPACITY 16
#define B_MAX_WR 17
#define B_COUNTER 20
#define B_FLAGS 24
#define B_GEN 32
#define B_DEVICE_ID 40
#define B_STORE_UUID 56
#define B_TIME 72
#define B_NONCE 80
#define NONCE_LEN 12
#define B_TICKET_STORE 96
#define B_TICKET_NONCE 112
#define TICKET_PREFIX "vtrpmb1-"

size_t rpmb_blob_size(uint8_t capacity)
{
	return RPMB_BLOB_HDR_SIZE + RPMB_KEY_SIZE + (size_t)capacity * RPMB_UNIT_BYTES +
	       RPMB_BLOB_TAG_SIZE;
}

int rpmb_blob_parse_header(const uint8_t *blob, size_t len, uint8_t capacity, uint32_t *counter,
			   uint64_t *generation)
{
	if (len < RPMB_BLOB_HDR_SIZE ||
	    memcmp(blob, BLOB_MAGIC, 8) != 0) /* lint-ok: memcmp magic */
		return -EBADMSG;
	if (vt_get_le32(blob + B_VERSION) != BLOB_VERSION ||
	    vt_get_le32(blob + B_HDR_LEN) != RPMB_BLOB_HDR_SIZE)
		return -EPROTONOSUPPORT;
	if (blob[B_CAPACITY] != capacity)
		return -EXDEV;
	if (len != rpmb_blob_size(capacity))
		return -EBADMSG;
	if (vt_get_le32(blob + B_FLAGS) & ~RPMB_ST_KEY)
		return -EBADMSG;
	*counter = vt_get_le32(blob + B_COUNTER);
	*generation = vt_get_le64(blob + B_GEN);
	return 0;
}

static int blob_key(const struct rpmb_dev *d, uint8_t out[32])
{
	return rpmb_hkdf(d->mig_key, RPMB_KEY_SIZE, "vtrust-rpmb-export-v1", NULL, 0, out, 32);
}

int rpmb_ticket_parse(const char *text, struct rpmb_ticket *t)
{
	const size_t pl = sizeof(TICKET_PREFIX) - 1;
	if (!text || strlen(text) != RPMB_TICKET_STR_LEN ||
	    strncmp(text, TICKET_PREFIX, pl) != 0 || text[pl + 2 * RPMB_ID_SIZE] != '-')
		return -EINVAL;
	if (rpmb_unhex(text + pl, t->store, RPMB_ID_SIZE, false) < 0 ||
	    rpmb_unhex(text + pl + 2 * RPMB_ID_SIZE + 1, t->nonce, RPMB_TICKET_NONCE_LEN, false) < 0)
		return -EINVAL;
	return 0;
}

void rpmb_ticket_format(const struct rpmb_ticket *t, char out[RPMB_TICKET_STR_LEN + 1])
{
	char *p = out + snprintf(out, RPMB_TICKET_STR_LEN + 1, "%s", TICKET_PREFIX);
	for (unsigned i = 0; i < RPMB_ID_SIZE; i++, p += 2)
		snprintf(p, 3, "%02x", t->store[i]);
	*p++ = '-';
	for (unsigned i = 0; i < RPMB_TICKET_NONCE_LEN; i++, p += 2)
		snprintf(p, 3, "%02x", t->nonce[i]);
}

/* A store an import may overwrite: exported, import interrupted, or pristine (counter 0). */
static bool importable(const struct rpmb_store *s)
{
	return (s->st.flags & (RPMB_ST_EXPORTED | RPMB_ST_IMPORTING)) || s->st.counter == 0;
}

/* A store that failed or was rolled back takes part in no migration step. */
static int store_unusable(const struct rpmb_dev *d, char *err, size_t errlen)
{
	if (d->store->failed) {
		snprintf(err, errlen, "store I/O failed; restart the device first");
		return -EIO;
	}
	if (d->rolled_back) {
		snprintf(err, errlen, "store refuses service: %s", d->rollback_reason);
		return -EPERM;
	}
	return 0;
}

int rpmb_ticket_issue(struct rpmb_dev *d, struct rpmb_ticket *ret, char *err, size_t errlen)
{
	pthread_mutex_lock(&d->lock);
	struct rpmb_store *s = d->store;
	int r = 0;
	if (!d->mig_key) {
		snprintf(err, errlen, NO_MIG_KEY);
		r = -ENOKEY;
	} else if ((r = store_unusable(d, err, errlen)) < 0) {
		/* err says why */
	} else if (!importable(s)) {
		snprintf(err, errlen,
			 "the store holds a live device (counter %u): only a pristine or exported "
			 "store can receive a migration",
			 s->st.counter);
		r = -EEXIST;
	}
	struct rpmb_state next = s->st;
	if (r == 0 && RAND_bytes(next.ticket, RPMB_TICKET_NONCE_LEN) != 1) {
		snprintf(err, errlen, "no randomness for the ticket");
		r = -EIO;
	}
	if (r == 0) {
		bool replaced = s->st.flags & RPMB_ST_TICKET;
		next.flags |= RPMB_ST_TICKET;
		r = rpmb_store_commit(s, &next, 0, 0, NULL);
		if (r < 0) {
			snprintf(err, errlen, "cannot commit the ticket: %s", strerror(-r));
		} else {
			memcpy(ret->store, s->store_uuid, RPMB_ID_SIZE);
			memcpy(ret->nonce, s->st.ticket, RPMB_TICKET_NONCE_LEN);
			vt_notice("%s: import ticket issued%s; this device accepts one migration "
				  "blob exported for it",
				  d->name, replaced ? " (the previous one is void)" : "");
		}
	}
	vt_wipe(&next, sizeof(next));
	pthread_mutex_unlock(&d->lock);
	return r;
}

int rpmb_ticket_cancel(struct rpmb_dev *d, uint8_t receipt[RPMB_RECEIPT_SIZE], char *err,
		       size_t errlen)
{
	static const uint8_t zero[RPMB_TICKET_NONCE_LEN];
	pthread_mutex_lock(&d->lock);
	struct rpmb_store *s = d->store;
	int r = 0;
	bool again = !(s->st.flags & RPMB_ST_TICKET);
	if (!d->mig_key) {
		snprintf(err, errlen, NO_MIG_KEY ": a void receipt needs it");
		r = -ENOKEY;
	} else if ((r = store_unusable(d, err, errlen)) < 0) {
		/* Rolled back: an older copy, the newest store may have imported the ticket. */
	} else if (again && vt_ct_memcmp(s->st.ticket, zero, sizeof(zero)) == 0) {
		snprintf(err, errlen, "no import ticket is outstanding or was voided here");
		r = -EINVAL;
	} else if (!again) {
		/*
		 * Void durably first; the nonce stays in the record (the flag says
		 * void) so that a lost receipt can be printed again. Import checks
		 * the flag, and a new ticket or an import overwrites the nonce.
		 */
		struct rpmb_state next = s->st;
		next.flags &= ~RPMB_ST_TICKET;
		r = rpmb_store_commit(s, &next, 0, 0, NULL);
		vt_wipe(&next, sizeof(next));
		if (r < 0)
			snprintf(err, errlen, "cannot commit: %s", strerror(-r));
	}
	/*
	 * With a TPM: advance the anchor before any receipt goes out, so a copy
	 * of this store file from before the void (ticket outstanding) is refused
	 * as rolled back and cannot import the blob. Retried by a second call.
	 */
	char aerr[200];
	if (r == 0 && rpmb_anchor_bump(d, aerr, sizeof(aerr)) < 0) {
		snprintf(err, errlen, "the ticket is void, but no receipt: %s; run ticket-cancel "
				      "again once the TPM works", aerr);
		r = -EIO;
	}
	if (r == 0) {
		struct rpmb_ticket t;
		memcpy(t.store, s->store_uuid, RPMB_ID_SIZE);
		memcpy(t.nonce, s->st.ticket, RPMB_TICKET_NONCE_LEN);
		r = rpmb_receipt_compute(d->mig_key, &t, receipt);
		if (r < 0)
			snprintf(err, errlen, "the ticket is void, but its receipt cannot be made "
					      "(OpenSSL); run ticket-cancel again");
		else
			vt_notice("%s: import ticket %s; a blob exported for it is refused, and its "
				  "void receipt lets the source resume",
				  d->name, again ? "already void (receipt printed again)" : "voided");
	}
	pthread_mutex_unlock(&d->lock);
	return r;
}

int rpmb_arm(struct rpmb_dev *d, const struct rpmb_ticket *t, char *err, size_t errlen)
{
	pthread_mutex_lock(&d->lock);
	int r = 0;
	if (vt_ct_memcmp(t->store, d->store->store_uuid, RPMB_ID_SIZE) == 0) {
		snprintf(err, errlen, "the ticket is this store's own; give the destination's");
		r = -EINVAL;
	} else {
		d->armed = *t;
		d->armed_set = true;
		vt_notice("%s: armed: the next DEVICE_STATE save exports for the given ticket",
			  d->name);
	}
	pthread_mutex_unlock(&d->lock);
	return r;
}

/* AES-256-GCM in place over [hdr, end-tag), AAD = header. */
static int gcm(const uint8_t key[32], uint8_t *blob, size_t len, bool enc)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		return -ENOMEM;
	uint8_t *p = blob + RPMB_BLOB_HDR_SIZE;
	int plen = (int)(len - RPMB_BLOB_HDR_SIZE - RPMB_BLOB_TAG_SIZE);
	uint8_t *tag = blob + len - RPMB_BLOB_TAG_SIZE;
	int n = 0, ok = EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) &&
			EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) &&
			EVP_CipherInit_ex(ctx, NULL, NULL, key, blob + B_NONCE, enc) &&
			EVP_CipherUpdate(ctx, NULL, &n, blob, RPMB_BLOB_HDR_SIZE) &&
			EVP_CipherUpdate(ctx, p, &n, p, plen);
	if (ok && !enc)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, RPMB_BLOB_TAG_SIZE, tag);
	if (ok)
		ok = EVP_CipherFinal_ex(ctx, p + n, &n);
	if (ok && enc)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, RPMB_BLOB_TAG_SIZE, tag);
	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : -EBADMSG;
}

static int export_locked(struct rpmb_dev *d, const struct rpmb_ticket *t, uint8_t **ret,
			 size_t *ret_len, char *err, size_t errlen)
{
	struct rpmb_store *s = d->store;
	if (!d->mig_key) {
		snprintf(err, errlen, NO_MIG_KEY);
		return -ENOKEY;
	}
	if (!t) {
		snprintf(err, errlen,
			 "no migration ticket: run 'vtrustctl rpmb ticket DEVICE' on the "
			 "destination, then export for that ticket (DEVICE_STATE: 'vtrustctl rpmb "
			 "arm DEVICE TICKET' here first)");
		return -ENOKEY;
	}
	if (vt_ct_memcmp(t->store, s->store_uuid, RPMB_ID_SIZE) == 0) {
		snprintf(err, errlen, "the ticket is this store's own; give the destination's");
		return -EINVAL;
	}
	if (vt_ct_memcmp(t->store, s->st.export_to, RPMB_ID_SIZE) == 0 &&
	    vt_ct_memcmp(t->nonce, s->st.export_to + RPMB_ID_SIZE, RPMB_TICKET_NONCE_LEN) == 0) {
		snprintf(err, errlen,
			 "this store already exported for that ticket (then cancelled): run "
			 "'vtrustctl rpmb ticket DEVICE' on the destination for a fresh one");
		return -EALREADY;
	}
	if (s->st.flags & RPMB_ST_EXPORTED) {
		snprintf(err, errlen,
			 "already exported (generation %llu): import or cancel the export first",
			 (unsigned long long)s->st.generation);
		return -EALREADY;
	}
	if (rpmb_refusal(d)) {
		snprintf(err, errlen, "store refuses service: %s", rpmb_refusal(d));
		return -EBUSY;
	}
	size_t len = rpmb_blob_size(s->geom.capacity);
	uint8_t *blob = calloc(1, len);
	if (!blob)
		return -ENOMEM;
	memcpy(blob, BLOB_MAGIC, 8);
	vt_put_le32(blob + B_VERSION, BLOB_VERSION);
	vt_put_le32(blob + B_HDR_LEN, RPMB_BLOB_HDR_SIZE);
	blob[B_CAPACITY] = s->geom.capacity;
	blob[B_MAX_WR] = s->geom.max_wr;
	vt_put_le32(blob + B_COUNTER, s->st.counter);
	vt_put_le32(blob + B_FLAGS, s->st.flags & RPMB_ST_KEY);
	vt_put_le64(blob + B_GEN, s->st.generation + 1);
	memcpy(blob + B_DEVICE_ID, s->st.device_id, RPMB_ID_SIZE);
	memcpy(blob + B_STORE_UUID, s->store_uuid, RPMB_ID_SIZE);
	vt_put_le64(blob + B_TIME, (uint64_t)time(NULL));
	memcpy(blob + B_TICKET_STORE, t->store, RPMB_ID_SIZE);
	memcpy(blob + B_TICKET_NONCE, t->nonce, RPMB_TICKET_NONCE_LEN);
	uint8_t k[32];
	int r = RAND_bytes(blob + B_NONCE, NONCE_LEN) == 1 ? 0 : -EIO;
	memcpy(blob + RPMB_BLOB_HDR_SIZE, s->st.key, RPMB_KEY_SIZE);
	if (r == 0)
		r = rpmb_store_read(s, 0, s->blocks, blob + RPMB_BLOB_HDR_SIZE + RPMB_KEY_SIZE);
	if (r == 0)
		r = blob_key(d, k);
	if (r == 0)
		r = gcm(k, blob, len, true);
	vt_wipe(k, sizeof(k));
	if (r < 0) {
		snprintf(err, errlen, "cannot build the export: %s",
			 r == -EBADMSG ? "a data block is damaged (see the log)" : strerror(-r));
		OPENSSL_clear_free(blob, len);
		return r;
	}
	/*
	 * Refuse service durably before anyone can hold the blob; the same
	 * record advances the rollback anchor, so the store file as it was
	 * before the export can never serve again.
	 */
	rpmb_anchor_sync(d);
	if (d->tpm && d->tpm_due) {
		snprintf(err, errlen, "the TPM rollback anchor cannot be advanced (see the log)");
		OPENSSL_clear_free(blob, len);
		return -EIO;
	}
	struct rpmb_state next = s->st;
	next.flags |= RPMB_ST_EXPORTED;
	next.generation++;
	if (d->tpm)
		next.anchor++;
	memcpy(next.export_to, t->store, RPMB_ID_SIZE);
	memcpy(next.export_to + RPMB_ID_SIZE, t->nonce, RPMB_TICKET_NONCE_LEN);
	r = rpmb_store_commit(s, &next, 0, 0, NULL);
	vt_wipe(&next, sizeof(next));
	if (r < 0) {
		snprintf(err, errlen, "cannot mark the store exported: %s", strerror(-r));
		free(blob);
		return r;
	}
	if (d->tpm) {
		rpmb_anchor_committed(d, true);
		rpmb_anchor_sync(d);
		if (d->tpm_due) {
			snprintf(err, errlen,
				 "exported, but the TPM rollback anchor cannot be advanced: the blob "
				 "is not handed out (rpmb-cancel-export resumes the device)");
			free(blob);
			return -EIO;
		}
	}
	d->have_last = false;
	vt_notice(
	    "%s: state exported (counter %u, generation %llu); the device refuses service now",
	    d->name, s->st.counter, (unsigned long long)s->st.generation);
	*ret = blob;
	*ret_len = len;
	return 0;
}

int rpmb_export(struct rpmb_dev *d, const struct rpmb_ticket *t, uint8_t **ret, size_t *ret_len,
		char *err, size_t errlen)
{
	pthread_mutex_lock(&d->lock);
	int r = export_locked(d, t, ret, ret_len, err, errlen);
	pthread_mutex_unlock(&d->lock);
	return r;
}

static int import_locked(struct rpmb_dev *d, const uint8_t *blob, size_t len, char *err,
			 size_t errlen)
{
	struct rpmb_store *s = d->store;
	uint32_t counter;
	uint64_t gen;
	if (!d->mig_key) {
		snprintf(err, errlen, NO_MIG_KEY);
		return -ENOKEY;
	}
	int r = rpmb_blob_parse_header(blob, len, s->geom.capacity, &counter, &gen);
	if (r == -EXDEV) {
		snprintf(err, errlen, "capacity mismatch: blob %u × 128 KiB, store %u × 128 KiB",
			 blob[B_CAPACITY], s->geom.capacity);
		return r;
	}
	if (r < 0) {
		snprintf(err, errlen, "not an rpmb export blob of this version and size");
		return r;
	}
	if ((r = store_unusable(d, err, errlen)) < 0)
		return r;
	uint8_t *plain = malloc(len);
	if (!plain)
		return -ENOMEM;
	memcpy(plain, blob, len);
	uint8_t k[32];
	r = blob_key(d, k);
	if (r == 0)
		r = gcm(k, plain, len, false);
	vt_wipe(k, sizeof(k));
	if (r < 0) {
		snprintf(err, errlen,
			 "authentication failed (wrong migration key or tampered blob)");
		OPENSSL_clear_free(plain, len);
		return -EBADMSG;
	}
	/*
	 * The blob must be made for this store's outstanding ticket: not for
	 * another store, not a ticket already used (burned by its import) or
	 * cancelled. This is what makes a blob single-use and destination-bound.
	 */
	if (!(s->st.flags & RPMB_ST_TICKET) ||
	    vt_ct_memcmp(plain + B_TICKET_STORE, s->store_uuid, RPMB_ID_SIZE) != 0 ||
	    vt_ct_memcmp(plain + B_TICKET_NONCE, s->st.ticket, RPMB_TICKET_NONCE_LEN) != 0) {
		snprintf(err, errlen,
			 "the blob was not exported for this store's outstanding import ticket "
			 "(made for another store, or its ticket was used or cancelled): each "
			 "import needs a fresh 'vtrustctl rpmb ticket' here and an export for it");
		OPENSSL_clear_free(plain, len);
		return -EACCES;
	}
	const uint8_t *bkey = plain + RPMB_BLOB_HDR_SIZE;
	bool bkey_set = vt_get_le32(plain + B_FLAGS) & RPMB_ST_KEY;
	uint32_t f = s->st.flags;
	bool pristine =
	    s->st.counter == 0 &&
	    (!(f & RPMB_ST_KEY) || (bkey_set && vt_ct_memcmp(s->st.key, bkey, RPMB_KEY_SIZE) == 0));
	if (!(f & (RPMB_ST_EXPORTED | RPMB_ST_IMPORTING)) && !pristine) {
		snprintf(err, errlen,
			 "the store holds a live device (counter %u); refusing to overwrite it",
			 s->st.counter);
		r = -EEXIST;
	} else if (counter < s->st.counter) {
		snprintf(err, errlen,
			 "blob counter %u is below the store's %u: refusing a rollback", counter,
			 s->st.counter);
		r = -ERANGE;
	} else if (vt_ct_memcmp(plain + B_DEVICE_ID, s->st.device_id, RPMB_ID_SIZE) == 0 &&
		   (gen < s->st.generation ||
		    (gen == s->st.generation && !(f & RPMB_ST_EXPORTED)))) {
		snprintf(err, errlen, "stale blob: generation %llu, the store is at %llu",
			 (unsigned long long)gen, (unsigned long long)s->st.generation);
		r = -ESTALE;
	}
	if (r == 0 && d->tpm) {
		rpmb_anchor_sync(d);
		if (d->tpm_due) {
			snprintf(err, errlen, "the TPM rollback anchor cannot be advanced (see the log)");
			r = -EIO;
		}
	}
	if (r == 0) {
		/* This store's own fields (TPM anchor) stay; the ticket is burned. */
		struct rpmb_state next = s->st;
		next.counter = counter;
		next.flags = (s->st.flags & RPMB_ST_ANCHORED) | (bkey_set ? RPMB_ST_KEY : 0);
		next.generation = gen;
		memset(next.ticket, 0, sizeof(next.ticket));
		memset(next.export_to, 0, sizeof(next.export_to));
		memcpy(next.device_id, plain + B_DEVICE_ID, RPMB_ID_SIZE);
		if (d->tpm)
			next.anchor++; /* the pre-import store file (ticket outstanding) is dead */
		memcpy(next.key, bkey, RPMB_KEY_SIZE);
		r = rpmb_store_replace(s, &next, plain + RPMB_BLOB_HDR_SIZE + RPMB_KEY_SIZE);
		vt_wipe(&next, sizeof(next));
		if (r == 0 && d->tpm) {
			rpmb_anchor_committed(d, true);
			rpmb_anchor_sync(d);
		}
		if (r < 0)
			snprintf(err, errlen, "cannot write the store: %s", strerror(-r));
	}
	OPENSSL_clear_free(plain, len);
	if (r == 0) {
		d->have_last = false;
		vt_notice("%s: state imported (counter %u, generation %llu)", d->name, counter,
			  (unsigned long long)gen);
	}
	return r;
}

int rpmb_import(struct rpmb_dev *d, const uint8_t *blob, size_t len, char *err, size_t errlen)
{
	pthread_mutex_lock(&d->lock);
	int r = import_locked(d, blob, len, err, errlen);
	pthread_mutex_unlock(&d->lock);
	return r;
}

int rpmb_cancel_export(struct rpmb_dev *d, const uint8_t *receipt, char *err, size_t errlen)
{
	pthread_mutex_lock(&d->lock);
	struct rpmb_store *s = d->store;
	int r = 0;
	if (!(s->st.flags & RPMB_ST_EXPORTED)) {
		snprintf(err, errlen, "the store is not exported");
		r = -EINVAL;
	} else if (receipt && !d->mig_key) {
		snprintf(err, errlen, NO_MIG_KEY ": the receipt cannot be checked");
		r = -ENOKEY;
	} else if (receipt) {
		struct rpmb_ticket t;
		uint8_t want[RPMB_RECEIPT_SIZE];
		memcpy(t.store, s->st.export_to, RPMB_ID_SIZE);
		memcpy(t.nonce, s->st.export_to + RPMB_ID_SIZE, RPMB_TICKET_NONCE_LEN);
		r = rpmb_receipt_compute(d->mig_key, &t, want);
		if (r < 0) {
			snprintf(err, errlen, "cannot check the receipt (OpenSSL)");
		} else if (vt_ct_memcmp(want, receipt, RPMB_RECEIPT_SIZE) != 0) {
			snprintf(err, errlen,
				 "the receipt is not the destination's void receipt for the ticket "
				 "this store exported for: run 'vtrustctl rpmb ticket-cancel DEVICE' "
				 "on that destination and give the receipt it prints");
			r = -EACCES;
		}
		vt_wipe(want, sizeof(want));
	}
	if (r == 0) {
		/* export_to stays: this store never exports for that ticket again. */
		struct rpmb_state next = s->st;
		next.flags &= ~RPMB_ST_EXPORTED;
		next.generation++; /* the outstanding blob can no longer be imported here */
		r = rpmb_store_commit(s, &next, 0, 0, NULL);
		vt_wipe(&next, sizeof(next));
		if (r < 0)
			snprintf(err, errlen, "cannot commit: %s", strerror(-r));
		else if (receipt)
			vt_notice("%s: export cancelled on the destination's void receipt; serving "
				  "again",
				  d->name);
		else
			vt_warn("%s: export cancelled WITHOUT a void receipt (override); serving "
				"again: if the destination still holds its ticket, the old blob "
				"imports there (rollback, two live copies)",
				d->name);
		char aerr[256];
		if (r == 0 && rpmb_anchor_bump(d, aerr, sizeof(aerr)) < 0)
			vt_warn("%s: rollback anchor after cancel-export: %s", d->name, aerr);
	}
	pthread_mutex_unlock(&d->lock);
	return r;
}

int rpmb_save_state(void *priv, int fd)
{
	struct rpmb_dev *d = priv;
	char err[300] = "";
	uint8_t *blob;
	size_t len;
	struct rpmb_ticket t;
	pthread_mutex_lock(&d->lock);
	bool armed = d->armed_set;
	t = d->armed;
	d->armed_set = false; /* used once, whatever happens */
	pthread_mutex_unlock(&d->lock);
	int r = rpmb_export(d, armed ? &t : NULL, &blob, &len, err, sizeof(err));
	if (r < 0) {
		vt_err("%s: DEVICE_STATE save: %s", d->name, err);
		return r;
	}
	r = vt_state_write(fd, blob, len);
	if (r < 0)
		vt_err("%s: DEVICE_STATE save: writing the state failed: %s; the store stays "
		       "exported (rpmb-cancel-export resumes it)",
		       d->name, strerror(-r));
	free(blob); /* ciphertext only */
	return r;
}

int rpmb_load_state(void *priv, int fd)
{
	struct rpmb_dev *d = priv;
	/* Refuse before reading anything: a load can only succeed with a migration key. */
	if (!d->mig_key) {
		vt_err("%s: DEVICE_STATE load refused: " NO_MIG_KEY, d->name);
		return -ENOKEY;
	}
	size_t cap = rpmb_blob_size(d->store->geom.capacity) + 1, len = 0;
	uint8_t *buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	int r = 0;
	while (len < cap) {
		ssize_t n = vt_state_read(fd, buf + len, cap - len);
		if (n < 0) {
			r = (int)n;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	char err[256] = "";
	if (r == 0)
		r = rpmb_import(d, buf, len, err, sizeof(err));
	else
		snprintf(err, sizeof(err), "read: %s", strerror(-r));
	if (r < 0)
		vt_err("%s: DEVICE_STATE load refused: %s", d->name, err);
	free(buf);
	return r;
}
