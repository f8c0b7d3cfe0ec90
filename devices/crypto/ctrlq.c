/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The control queue (index max_dataqueues): session create and destroy.
 *
 * Create answers with a 16-byte virtio_crypto_session_input {session_id,
 * status} at the start of the writable area; destroy with one status byte.
 * A request whose kind cannot be told (too short to hold a header, unknown
 * opcode) gets the 16-byte form when 16 writable bytes exist, else a single
 * status byte; a create with fewer than 16 writable bytes is refused (ERR)
 * rather than creating a session whose id could not be returned. The used length is the bytes written. Key bytes are read into
 * the queue's locked bounce buffer and wiped once the session holds them.
 *
 * Statuses (spec "Session operation: create/destroy session"): create gives
 * OK, NOTSUPP (unknown opcode, service, algorithm, mode or key size), NOSPC
 * (table full; only with REVISION_1, else ERR) or ERR (malformed request,
 * key rejected by OpenSSL, limits exceeded); destroy gives OK or ERR
 * (unknown or already destroyed id).
 */
#include <string.h>

#include <openssl/crypto.h>

#include "crypto_dev.h"
#include "log.h"

int vc_ctrlq_chain(struct vc_qctx *q, struct vt_chain *c)
{
	struct vc_dev *d = q->dev;
	size_t wr = vt_chain_writable(c);
	if (wr == 0) {
		atomic_fetch_add_explicit(&d->stats.malformed, 1, memory_order_relaxed);
		return -1;
	}
	uint64_t features = atomic_load_explicit(&d->features, memory_order_relaxed);
	struct vc_ctrl_req r;
	uint8_t st = vc_parse_ctrl(d, features, c, q->keybuf, q->keybuf_len, &r);
	uint64_t id = 0;
	bool destroy = r.destroy;
	/* A create whose outcome cannot hold the id would leak the session. */
	if (st == VC_OK && !destroy && wr < sizeof(struct vc_session_input))
		st = VC_ERR;
	if (st == VC_OK) {
		if (destroy)
			st = vc_destroy_session(d, r.session_id);
		else
			st = vc_create_session(d, &r.sp, features & (1ull << VC_F_REVISION_1), &id);
	}
	OPENSSL_cleanse(q->keybuf, q->keybuf_len);
	atomic_fetch_add_explicit(&d->stats.ctrl_status[st], 1, memory_order_relaxed);
	vt_debug("%s: ctrl opcode 0x%x -> %s", d->name, r.opcode, vc_status_name(st));

	if (!destroy && wr >= sizeof(struct vc_session_input)) {
		struct vc_session_input in = {.session_id = st == VC_OK ? id : 0, .status = st};
		if (vt_chain_write(c, &in, sizeof(in)) < 0)
			return -1;
		return (int)sizeof(in);
	}
	if (vt_chain_write(c, &st, 1) < 0)
		return -1;
	return 1;
}
