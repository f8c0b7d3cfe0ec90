/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The driver side of RPMB frames: what a guest (the probe, tests, the
 * benchmark) sends and how it checks answers. Not used by the device.
 */
#ifndef VTRUST_RPMB_CLIENT_H
#define VTRUST_RPMB_CLIENT_H

#include "frame.h"

/* PROGRAM_KEY [+ RESULT_READ]: fills 1 or 2 frames, returns the count. */
size_t rpmb_cl_program_key(struct rpmb_frame *f, const uint8_t key[RPMB_KEY_SIZE],
			   bool result_read);
/* GET_WRITE_COUNTER with nonce: 1 frame. */
void rpmb_cl_get_counter(struct rpmb_frame *f, const uint8_t nonce[RPMB_NONCE_SIZE]);
/*
 * DATA_WRITE of nblk blocks (data: nblk × 256 bytes) at addr with the
 * expected counter, MAC in the last frame [+ RESULT_READ]; returns frames used.
 */
size_t rpmb_cl_write(struct rpmb_frame *f, const uint8_t key[RPMB_KEY_SIZE], uint32_t counter,
		     uint16_t addr, uint16_t nblk, const uint8_t *data, bool result_read);
/* DATA_READ request: 1 frame. */
void rpmb_cl_read(struct rpmb_frame *f, uint16_t addr, uint16_t nblk,
		  const uint8_t nonce[RPMB_NONCE_SIZE]);
/* A RESULT_READ frame. */
void rpmb_cl_result_read(struct rpmb_frame *f);
/* 0 if the MAC in the last of n response frames is right under key. */
int rpmb_cl_check_mac(const uint8_t key[RPMB_KEY_SIZE], const struct rpmb_frame *f,
		      size_t n) VT_MUST_USE;
/*
 * The same two with a kept HMAC context (frame.h, rpmb_hmac_new), as a
 * driver that writes often keeps one per key; h NULL: a fresh one per call.
 */
size_t rpmb_cl_write_h(struct rpmb_hmac *h, struct rpmb_frame *f, const uint8_t key[RPMB_KEY_SIZE],
		       uint32_t counter, uint16_t addr, uint16_t nblk, const uint8_t *data,
		       bool result_read);
int rpmb_cl_check_mac_h(struct rpmb_hmac *h, const uint8_t key[RPMB_KEY_SIZE],
			const struct rpmb_frame *f, size_t n) VT_MUST_USE;
/* Parses 64 hex digits. */
int rpmb_cl_parse_key(const char *hex, uint8_t key[RPMB_KEY_SIZE]) VT_MUST_USE;

#endif
