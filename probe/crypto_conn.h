/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A connection to a crypto device from the guest driver's side: set-up (the
 * config space tells how many data queues exist; the control queue is the
 * last one), requests laid out as Linux lays them out (readable request,
 * writable result, the status byte in its own last descriptor), sessions
 * through the control queue or through CREATE_CRYPTO_SESSION as QEMU 7.2
 * does. Used by the `crypto` command (cmd_crypto.c), its benchmark
 * (crypto_bench.c) and the `crypto` device profile (dev_crypto.c).
 */
#ifndef VTRUST_PROBE_CRYPTO_CONN_H
#define VTRUST_PROBE_CRYPTO_CONN_H

#include "probe.h"
#include "virtio_crypto.h"
#include "virtio_crypto_req.h"

/* The device feature bits the probe's crypto driver implements. */
#define CP_DRIVER_FEATURES                                                                         \
	(VT_BIT(VC_F_REVISION_1) | VT_BIT(VC_F_CIPHER_STATELESS_MODE) |                            \
	 VT_BIT(VC_F_HASH_STATELESS_MODE) | VT_BIT(VC_F_MAC_STATELESS_MODE) |                      \
	 VT_BIT(VC_F_AEAD_STATELESS_MODE) | VT_BIT(VC_F_AKCIPHER_STATELESS_MODE))

#define CP_NO_QUEUE 0xffffffffu

struct cp_conn {
	struct fe_dev *d;
	struct vc_config cfg;
	uint64_t features; /* the device bits SET_FEATURES acked */
	unsigned ctrlq;    /* control queue index, CP_NO_QUEUE when only data rings run */
	size_t split;      /* readable/writable segment size (0 = one segment each) */
	bool in_place;     /* dst descriptors alias the last readable bytes (Linux in place) */
	char error[512];
};

/*
 * Opens a started device with o. With qemu set, only o->nvqs rings are set
 * up (QEMU 7.2 gives the back-end data queue 0 alone); otherwise the ring
 * count follows max_dataqueues from the config space (+1 control queue).
 */
VT_MUST_USE int cp_open(const struct fe_dev_opts *o, bool qemu, struct cp_conn *c);
void cp_close(struct cp_conn *c);
/* Wraps an already started fe_dev (not owned: cp_close is not called on it). */
VT_MUST_USE int cp_attach(struct cp_conn *c, struct fe_dev *d);

/*
 * One request on queue q: rd_len readable bytes, wr_len writable bytes (the
 * last in its own descriptor). out (wr_len bytes, may be NULL) gets the
 * writable area as the device left it (untouched bytes keep 0xee).
 * 0, or <0 when the request was not completed.
 */
VT_MUST_USE int cp_submit(struct cp_conn *c, unsigned q, const uint8_t *rd, size_t rd_len,
			  size_t wr_len, uint8_t *out, uint32_t *used);

/* Control queue create (hdr from vcb_ctrl_*, then keys): the status, *id when OK; <0 transport. */
VT_MUST_USE int cp_ctrl_create(struct cp_conn *c, const uint8_t *hdr, size_t hlen,
			       const uint8_t *keys, size_t klen, uint64_t *id);
VT_MUST_USE int cp_ctrl_destroy(struct cp_conn *c, uint32_t opcode, uint64_t id);
/* Best-effort clean-up of a session (control queue, or CLOSE_CRYPTO_SESSION without one). */
void cp_drop(struct cp_conn *c, uint32_t opcode, uint64_t id);

/* CREATE_CRYPTO_SESSION with a 632- or 1072-byte payload: 0 and *id (negative = refused). */
VT_MUST_USE int cp_vhost_create(struct cp_conn *c, const void *msg, uint32_t len, int64_t *id);

const char *cp_status_name(unsigned status);

#endif
