/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The RPMB device logic, independent of virtqueues: a request is a sequence
 * of 512-byte frames, the answer a sequence of frames (README.md, "Frame
 * handling"). queue.c feeds it from descriptor chains; tests, the fuzz
 * harness and the benchmark call rpmb_request directly.
 *
 * Threads: every entry point takes d->lock (the queue worker, the control
 * thread and the state-transfer thread all reach the store).
 */
#ifndef VTRUST_RPMB_H
#define VTRUST_RPMB_H

#include <pthread.h>
#include <stdatomic.h>

#include "frame.h"
#include "store.h"
#include "vdev.h"

/*
 * A migration ticket: issued by the destination (its store uuid and a fresh
 * nonce, durable as outstanding), handed to the source by the operator, bound
 * into the export blob's authenticated header, burned by the one import it
 * admits. Text form: "vtrpmb1-" + 32 hex (store uuid) + "-" + 32 hex (nonce).
 */
struct rpmb_ticket {
	uint8_t store[RPMB_ID_SIZE];
	uint8_t nonce[RPMB_TICKET_NONCE_LEN];
};
#define RPMB_TICKET_STR_LEN 73
/*
 * A void receipt (receipt.c): the destination's proof, under the migration
 * key, that a ticket is void. Text form: "vtrpmbv1-" + 64 hex.
 */
#define RPMB_RECEIPT_SIZE 32u
#define RPMB_RECEIPT_STR_LEN 73

struct rpmb_opts {
	const char *name;
	const char *store_path;
	struct rpmb_create create;     /* geometry for a new store */
	bool capacity_set, max_wr_set; /* given explicitly: must match an existing store */
	uint8_t max_rd;
	const char *migration_key_path; /* host key for export/import (AES-256-GCM) */
	const char *master_key_path;	/* key provisioning: HKDF(master, vm_id) */
	const char *vm_id;
	const char *tpm;       /* TCTI configuration of the rollback anchor's TPM, or NULL */
	uint32_t tpm_nv_index; /* 0: derived from the store uuid */
};

/* Rollback anchor bumps with writes (rollback.c): every this many writes, or seconds. */
#define RPMB_ANCHOR_WRITES 64u
#define RPMB_ANCHOR_SECONDS 60u

#define RPMB_LAT_BUCKETS 2048 /* 1 µs buckets; the last one collects the rest */

struct rpmb_stats {
	_Atomic uint64_t requests[6]; /* by request type 1..5; [0] = unknown/malformed */
	_Atomic uint64_t results[9];  /* by result code 0..7; [8] = with the expired bit */
	_Atomic uint64_t writes_ok, blocks_written, blocks_read;
	_Atomic uint64_t refused; /* requests refused because of the store state */
	/* Device-side latency of successful DATA_WRITEs (request in → response ready). */
	uint64_t wr_lat_ns_sum, wr_lat_n;
	uint64_t tpm_increments, tpm_errors; /* under the device lock */
	uint32_t wr_lat_hist[RPMB_LAT_BUCKETS];
};

/*
 * Kept across a restart under an fd store (core/resume.h; resume.c): the
 * write being committed, recorded before the commit, so that a write in
 * flight at a crash is recognised when it is served again and gets its
 * result re-delivered instead of a second execution (which would answer
 * COUNT_FAILURE); and the result a stand-alone RESULT_READ returns.
 */
struct rpmb_resume {
	uint32_t magic;
	uint32_t valid;		/* req_mac/counter_after describe the latest write */
	uint32_t counter_after; /* the store's counter once that write committed */
	uint32_t have_last;
	uint8_t req_mac[RPMB_MAC_SIZE];
	struct rpmb_frame last_result;
};

struct rpmb_dev {
	pthread_mutex_t lock;
	char name[64];
	char *store_path;
	struct rpmb_store *store;
	uint8_t max_rd;
	struct rpmb_frame last_result; /* for a stand-alone RESULT_READ */
	bool have_last;
	uint8_t *mig_key; /* 32 bytes of secure memory, or NULL */
	struct rpmb_ticket armed; /* DEVICE_STATE save exports for this ticket (rpmb-arm) */
	bool armed_set;
	/* Rollback anchor (rollback.c), NULL tpm: not configured (not detected). */
	struct rpmb_tpm *tpm;
	bool tpm_due;	  /* a committed anchor value waits for its TPM increment */
	bool rolled_back; /* the store failed the anchor check: refuse service */
	char rollback_reason[300];
	uint32_t writes_since_bump;
	uint64_t last_bump_ns;
	/* Queue buffers (one queue, one worker). */
	struct rpmb_frame *in, *out;
	size_t in_cap, out_cap; /* frames */
	uint8_t *scratch;	/* max_rd blocks */
	struct rpmb_hmac *hmac; /* keyed HMAC context, under lock */
	struct rpmb_stats stats;
	struct rpmb_resume *resume; /* or NULL (no fd store) */
	bool redo; /* the request in hand was in flight when the previous process died */
};

/* resume.c: the device's resumable state (vdev.h resume_size / resume_attach). */
size_t rpmb_resume_size(void *priv);
int rpmb_resume_attach(void *priv, void *area, size_t size, bool restored);

/* Opens the store and provisions the key. Errors are logged with the reason. */
int rpmb_dev_new(const struct rpmb_opts *o, struct rpmb_dev **ret) VT_MUST_USE;
/* A device over an already open store (tests, fuzzing, benchmarks); takes s. */
int rpmb_dev_from_store(struct rpmb_store *s, uint8_t max_rd, struct rpmb_dev **ret) VT_MUST_USE;
void rpmb_dev_free(struct rpmb_dev *d);

/*
 * Serves one request: in[0..nin) are the frames read from the chain
 * (malformed: the readable part was empty, not whole frames, or longer than
 * in_cap frames). Writes at most out_max response frames and returns how many.
 */
size_t rpmb_request(struct rpmb_dev *d, const struct rpmb_frame *in, size_t nin, bool malformed,
		    struct rpmb_frame *out, size_t out_max);

/* Applies a committed write's blocks to the data area (after its answer went out). */
void rpmb_apply_pending(struct rpmb_dev *d);

/* Why the device refuses service now ("exported", ...), or NULL. Caller holds d->lock. */
const char *rpmb_refusal(const struct rpmb_dev *d);

/* The virtqueue side (queue.c). */
void rpmb_queue_handle(void *priv, struct vt_queue *q);

/* Key provisioning (keyprov.c). */
/*
 * Reads a 32-byte key file (raw, or 64 hex digits); refuses group/other
 * access and anything but the key (the whole file is read and parsed).
 */
int rpmb_read_key_file(const char *path, uint8_t key[RPMB_KEY_SIZE], char *err,
		       size_t errlen) VT_MUST_USE;
/* A key file's longest valid text: 64 hex digits and trailing blanks or line ends. */
#define RPMB_KEY_FILE_MAX 128u
/*
 * A key file's text (n bytes) to the key: exactly 32 bytes are the key raw,
 * else 64 hex digits (either case) followed only by ' ', '\r' or '\n', in
 * at most RPMB_KEY_FILE_MAX bytes.
 * -EINVAL (key wiped, err says why and how to fix) on anything else.
 */
int rpmb_parse_key(const uint8_t *text, size_t n, uint8_t key[RPMB_KEY_SIZE], char *err,
		   size_t errlen) VT_MUST_USE;
/*
 * 2n hex digits at hex to n bytes (hex.c); lower case only unless any_case
 * (the canonical ticket and receipt forms are lower case). -EINVAL, with out
 * wiped, on any other character.
 */
int rpmb_unhex(const char *hex, uint8_t *out, size_t n, bool any_case) VT_MUST_USE;
/* HKDF-SHA256 (RFC 5869). */
int rpmb_hkdf(const uint8_t *ikm, size_t ikm_len, const char *salt, const void *info,
	      size_t info_len, uint8_t *out, size_t out_len) VT_MUST_USE;
/* HKDF-SHA256(master, salt "vtrust-rpmb-key-v1", info vm_id) → key. */
int rpmb_derive_key(const uint8_t master[RPMB_KEY_SIZE], const char *vm_id,
		    uint8_t key[RPMB_KEY_SIZE]) VT_MUST_USE;
/* Programs key durably if the store has none; checks it matches otherwise. Holds d->lock. */
int rpmb_provision_key(struct rpmb_dev *d, const uint8_t key[RPMB_KEY_SIZE], char *err,
		       size_t errlen) VT_MUST_USE;

/* Rollback anchor (rollback.c); all with d->lock held except rpmb_anchor_open/close. */
int rpmb_anchor_open(struct rpmb_dev *d, const char *tcti, uint32_t index, char *err,
		     size_t errlen) VT_MUST_USE;
void rpmb_anchor_close(struct rpmb_dev *d);
/* Should the next committed write carry anchor + 1? Then rpmb_anchor_committed(d, true). */
bool rpmb_anchor_due(struct rpmb_dev *d);
void rpmb_anchor_committed(struct rpmb_dev *d, bool bumped);
/* The pending TPM increment, if any (errors logged; retried later). */
void rpmb_anchor_sync(struct rpmb_dev *d);
/* Commits anchor + 1 and increments the TPM now (no-op without a TPM). */
int rpmb_anchor_bump(struct rpmb_dev *d, char *err, size_t errlen) VT_MUST_USE;

/* Migration (migrate.c): encrypted, authenticated export and import. */
#define RPMB_BLOB_HDR_SIZE 128u
#define RPMB_BLOB_TAG_SIZE 16u
size_t rpmb_blob_size(uint8_t capacity);
/* Ticket text form: 0 or -EINVAL (anything but the exact form). */
int rpmb_ticket_parse(const char *text, struct rpmb_ticket *t) VT_MUST_USE;
void rpmb_ticket_format(const struct rpmb_ticket *t, char out[RPMB_TICKET_STR_LEN + 1]);
/*
 * Destination: issues a ticket (fresh nonce, this store's uuid), durably
 * outstanding; replaces (burns) an older outstanding one. Only a store an
 * import may overwrite (pristine, exported, import interrupted) issues one.
 */
int rpmb_ticket_issue(struct rpmb_dev *d, struct rpmb_ticket *ret, char *err,
		      size_t errlen) VT_MUST_USE;
/*
 * Destination: durably voids the outstanding ticket (a migration that will
 * not come) and returns its void receipt for the source's cancel-export. With
 * no ticket outstanding, the receipt of the last ticket voided this way is
 * returned again (a lost receipt); -EINVAL if there is none.
 */
int rpmb_ticket_cancel(struct rpmb_dev *d, uint8_t receipt[RPMB_RECEIPT_SIZE], char *err,
		       size_t errlen) VT_MUST_USE;
/* Void receipts (receipt.c): 0 or -EIO; text form parse (0 or -EINVAL) and format. */
int rpmb_receipt_compute(const uint8_t *mig_key, const struct rpmb_ticket *t,
			 uint8_t out[RPMB_RECEIPT_SIZE]) VT_MUST_USE;
int rpmb_receipt_parse(const char *text, uint8_t out[RPMB_RECEIPT_SIZE]) VT_MUST_USE;
void rpmb_receipt_format(const uint8_t r[RPMB_RECEIPT_SIZE], char out[RPMB_RECEIPT_STR_LEN + 1]);
/* Source: the ticket the next DEVICE_STATE save exports for (memory only, used once). */
int rpmb_arm(struct rpmb_dev *d, const struct rpmb_ticket *t, char *err, size_t errlen) VT_MUST_USE;
/*
 * Export for ticket t: builds the blob (t in its authenticated header),
 * durably marks the store exported (it refuses service from then on) and
 * returns the blob (malloc'ed) in *ret.
 */
int rpmb_export(struct rpmb_dev *d, const struct rpmb_ticket *t, uint8_t **ret, size_t *ret_len,
		char *err, size_t errlen) VT_MUST_USE;
/*
 * Import: authenticates, requires the blob's ticket to be this store's
 * outstanding one, checks the policy (README), burns the ticket durably and
 * replaces the store's state.
 */
int rpmb_import(struct rpmb_dev *d, const uint8_t *blob, size_t len, char *err,
		size_t errlen) VT_MUST_USE;
/*
 * Source, a failed migration: resume service (generation bumped) on the
 * destination's void receipt for the ticket this store exported for; any
 * other receipt is refused (-EACCES). receipt NULL is the documented
 * override (README: it risks a rollback and two live copies). The ticket
 * stays recorded: no export for it is made again.
 */
int rpmb_cancel_export(struct rpmb_dev *d, const uint8_t *receipt, char *err,
		       size_t errlen) VT_MUST_USE;
/* DEVICE_STATE save/load (vdev.h). */
int rpmb_save_state(void *priv, int fd);
int rpmb_load_state(void *priv, int fd);
/* Blob parsing without keys (fuzzing): validates the header against capacity. */
int rpmb_blob_parse_header(const uint8_t *blob, size_t len, uint8_t capacity, uint32_t *counter,
			   uint64_t *generation) VT_MUST_USE;

#endif
