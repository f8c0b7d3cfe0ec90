/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The data queues: one request per chain.
 *
 *   parse (header + flf) → size checks → session (table lookup, or a
 *   stateless session on the queue's contexts) → the service → status.
 *
 * Output rules (Linux 6.1 and QEMU 7.2 rely on them): exactly the result's
 * bytes are written from the start of the writable area (dst, then the
 * hash result), nothing in between is touched (Linux may alias or repeat
 * sg entries there), and the status goes into the very last writable byte.
 * The used length is the whole writable size, as QEMU's own device reports
 * it, except for AKCIPHER, where it is the bytes written plus the status
 * byte (the driver derives the result length from it). A chain with no
 * writable byte cannot carry a status and is completed as malformed.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "crypto_dev.h"
#include "log.h"

/* Bytes the request reads after the flf and writes before the status. */
struct vc_sizes {
	uint64_t keys;
	uint64_t rd;
	uint64_t wr;
};

static struct vc_sizes request_sizes(const struct vc_data_req *r)
{
	struct vc_sizes z = {0};
	if (r->stateless)
		z.keys = (uint64_t)r->sp.key_len + r->sp.auth_key_len;
	switch (r->service) {
	case VC_SERVICE_CIPHER:
		z.rd = (uint64_t)r->iv_len + r->src_len;
		z.wr = r->dst_len;
		if (r->sym_op == VC_SYM_OP_ALGORITHM_CHAINING) {
			z.rd += r->aad_len;
			z.wr += r->hash_result_len;
		}
		break;
	case VC_SERVICE_HASH:
	case VC_SERVICE_MAC:
		z.rd = r->src_len;
		z.wr = r->hash_result_len;
		break;
	case VC_SERVICE_AEAD:
		z.rd = (uint64_t)r->iv_len + r->src_len + r->aad_len;
		z.wr = r->dst_len;
		break;
	default:
		if (r->opcode == VC_AKCIPHER_VERIFY) {
			z.rd = (uint64_t)r->src_len + r->dst_len;
			z.wr = 0;
		} else {
			z.rd = r->src_len;
			z.wr = r->dst_len;
		}
		break;
	}
	return z;
}

static uint8_t run_service(struct vc_qctx *q, struct vc_session *s, const struct vc_data_req *r,
			   struct vt_chain *c, uint32_t *akw)
{
	switch (r->service) {
	case VC_SERVICE_CIPHER:
		return r->sym_op == VC_SYM_OP_CIPHER ? vc_cipher_run(q, s, r, c)
						     : vc_algchain_run(q, s, r, c);
	case VC_SERVICE_HASH:
		return vc_hash_run(q, s, r, c);
	case VC_SERVICE_MAC:
		return vc_mac_run(q, s, r, c);
	case VC_SERVICE_AEAD:
		return vc_aead_run(q, s, r, c);
	default:
		return vc_akcipher_run(q, s, r, c, akw);
	}
}

/* Does session s serve request r? */
static bool session_fits(const struct vc_session *s, const struct vc_data_req *r)
{
	if (s->service != r->service)
		return false;
	if (r->service == VC_SERVICE_CIPHER && s->sym_op != r->sym_op)
		return false;
	return true;
}

/* A request on a session from the table, with a reference held. */
static uint8_t run_on_session(struct vc_qctx *q, struct vc_session *s, struct vc_data_req *r,
			      struct vt_chain *c, uint32_t *akw)
{
	if (!session_fits(s, r))
		return VC_INVSESS;
	/* hash_result_len 0 means "the session's length": count it against the chain too. */
	if (r->hash_result_len == 0 && s->result_len) {
		r->hash_result_len = s->result_len;
		struct vc_sizes z = request_sizes(r);
		if (z.keys + z.rd + z.wr > q->dev->opts.max_size || z.wr + 1 > vt_chain_writable(c))
			return VC_ERR;
	}
	pthread_mutex_lock(&s->lock);
	uint8_t st = run_service(q, s, r, c, akw);
	pthread_mutex_unlock(&s->lock);
	return st;
}

static uint8_t execute(struct vc_qctx *q, struct vc_data_req *r, struct vt_chain *c,
		       uint32_t *akw)
{
	struct vc_dev *d = q->dev;
	struct vc_sizes z = request_sizes(r);
	/* max_size bounds the variable-length part; the chain must hold it all. */
	if (z.keys + z.rd + z.wr > d->opts.max_size)
		return VC_ERR;
	if (z.keys + z.rd > vt_chain_readable(c) || z.wr + 1 > vt_chain_writable(c))
		return VC_ERR;

	if (!r->stateless) {
		struct vc_session *s = vc_table_get(&d->table, r->session_id);
		if (!s)
			return VC_INVSESS;
		uint8_t st = run_on_session(q, s, r, c, akw);
		vc_session_put(s);
		return st;
	}

	/* Stateless: keys first in the vlf, into locked memory; a session on our contexts. */
	uint32_t key_max = r->service == VC_SERVICE_AKCIPHER ? d->opts.max_akcipher_key_len
							     : d->opts.max_cipher_key_len;
	if (r->sp.key_len > key_max || r->sp.auth_key_len > d->opts.max_auth_key_len ||
	    z.keys > q->keybuf_len)
		return VC_ERR;
	if (vt_chain_read(c, q->keybuf, (size_t)z.keys) < 0)
		return VC_ERR;
	r->sp.key = q->keybuf;
	r->sp.auth_key = q->keybuf + r->sp.key_len;
	struct vc_session stack, *s;
	uint8_t st = vc_session_new(d, &r->sp, &q->sl, &stack, &s);
	if (st == VC_OK) {
		st = run_service(q, s, r, c, akw);
		vc_session_clear(s);
	}
	OPENSSL_cleanse(q->keybuf, (size_t)z.keys);
	return st;
}

int vc_dataq_chain(struct vc_qctx *q, struct vt_chain *c)
{
	struct vc_dev *d = q->dev;
	size_t wr_total = vt_chain_writable(c);
	if (wr_total == 0) {
		atomic_fetch_add_explicit(&d->stats.malformed, 1, memory_order_relaxed);
		return -1;
	}
	struct vc_data_req r;
	uint32_t akw = 0;
	uint8_t st = vc_parse_data(d, atomic_load_explicit(&d->features, memory_order_relaxed), c,
				   &r);
	if (st == VC_OK)
		st = execute(q, &r, c, &akw);
	if (vt_chain_write_tail(c, &st, 1) < 0)
		return -1;
	if (r.service < VC_NSERVICES)
		atomic_fetch_add_explicit(&d->stats.requests[r.service], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&d->stats.status[st], 1, memory_order_relaxed);
	if (st == VC_OK && r.service == VC_SERVICE_AKCIPHER)
		return (int)(akw + 1);
	if (st == VC_OK)
		atomic_fetch_add_explicit(&d->stats.bytes, r.src_len, memory_order_relaxed);
	return wr_total > INT32_MAX ? INT32_MAX : (int)wr_total;
}
