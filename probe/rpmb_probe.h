/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The guest-driver side of virtio-rpmb for the probe (dev_rpmb.c): one
 * descriptor chain per request, readable frames then writable room, as the
 * 2022 RFC front-end lays them out (reference §7.4). Shared by the rpmb
 * command (cmd_rpmb.c), the conformance cases and the torture test.
 */
#ifndef VTRUST_PROBE_RPMB_H
#define VTRUST_PROBE_RPMB_H

#include "client.h"
#include "fe_dev.h"

struct rpmb_cfg {
	uint8_t capacity, max_wr, max_rd;
};

/* GET_CONFIG of the 3-byte config space. */
VT_MUST_USE int prpmb_config(struct fe_dev *d, struct rpmb_cfg *ret);

/*
 * One request: nin frames readable, room for nout frames writable. The
 * answer lands in out; *ret_frames = used.len / 512 (used.len must be a
 * multiple of 512 and ≤ the room, else -EPROTO).
 */
VT_MUST_USE int prpmb_xfer(struct fe_dev *d, const struct rpmb_frame *in, size_t nin,
			   struct rpmb_frame *out, size_t nout, size_t *ret_frames);

/* Convenience requests; they return the result code (or a negative errno). */
int prpmb_program_key(struct fe_dev *d, const uint8_t key[RPMB_KEY_SIZE]);
/* key may be NULL (no MAC check). */
int prpmb_counter(struct fe_dev *d, const uint8_t *key, uint32_t *ret_counter);
/* Writes nblk blocks with the given counter; returns the result, *ret_counter the new one. */
int prpmb_write(struct fe_dev *d, const uint8_t key[RPMB_KEY_SIZE], uint32_t counter, uint16_t addr,
		uint16_t nblk, const uint8_t *data, uint32_t *ret_counter);
/*
 * The same two with a kept HMAC context (NULL: a fresh one per MAC, as above);
 * nonce: the request's nonce (RPMB_NONCE_SIZE bytes), NULL for a fresh random one.
 */
int prpmb_counter_h(struct fe_dev *d, struct rpmb_hmac *h, const uint8_t *key,
		    const uint8_t *nonce, uint32_t *ret_counter);
int prpmb_write_h(struct fe_dev *d, struct rpmb_hmac *h, const uint8_t key[RPMB_KEY_SIZE],
		  uint32_t counter, uint16_t addr, uint16_t nblk, const uint8_t *data,
		  uint32_t *ret_counter);
/* Reads nblk blocks into data; checks nonce and MAC (key may be NULL). */
int prpmb_read(struct fe_dev *d, const uint8_t *key, uint16_t addr, uint16_t nblk, uint8_t *data);

#endif
