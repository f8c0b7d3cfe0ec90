/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Decoded control- and data-queue requests (parse.c, the only code that
 * reads request headers): private copies, validated before any service runs.
 */
#ifndef VTRUST_CRYPTO_REQUEST_H
#define VTRUST_CRYPTO_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain.h"
#include "compiler.h"
#include "crypto_session.h"

struct vc_dev;

/* ---- Requests (parse.c) ------------------------------------------------- */

struct vc_ctrl_req {
	uint32_t opcode;
	bool destroy;
	uint64_t session_id;      /* destroy */
	struct vc_sess_params sp; /* create; key pointers into the caller's key buffer */
};

/*
 * Reads a control request (header, flf, vlf keys into keybuf) from c.
 * Returns VC_OK, VC_NOTSUPP (unknown opcode, service or algorithm family),
 * or VC_ERR (malformed: short, bad lengths). Keys land in keybuf.
 */
uint8_t vc_parse_ctrl(const struct vc_dev *d, uint64_t features, struct vt_chain *c,
		      uint8_t *keybuf, size_t keybuf_len, struct vc_ctrl_req *r) VT_MUST_USE;

struct vc_data_req {
	uint32_t opcode;
	uint32_t service;
	bool stateless;
	uint64_t session_id;
	uint32_t sym_op;
	uint32_t iv_len;
	uint32_t src_len;
	uint32_t dst_len;
	uint32_t aad_len;
	uint32_t tag_len;
	uint32_t hash_result_len;
	uint32_t cipher_start;
	uint32_t len_to_cipher;
	uint32_t hash_start;
	uint32_t len_to_hash;
	struct vc_sess_params sp; /* stateless: session parameters (keys not yet read) */
};

/*
 * Reads a data request's header and flf from c (the read cursor is left at
 * the vlf). VC_OK, VC_NOTSUPP or VC_ERR.
 */
uint8_t vc_parse_data(const struct vc_dev *d, uint64_t features, struct vt_chain *c,
		      struct vc_data_req *r) VT_MUST_USE;

#endif
