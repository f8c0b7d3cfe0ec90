/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Running one operation through the mock guest the way a driver would:
 * session (control queue create, data request, destroy) or stateless, in a
 * chosen layout (features) and segmentation. Shared by the KAT, status and
 * chain tests.
 */
#ifndef VTRUST_CRYPTO_TEST_KAT_H
#define VTRUST_CRYPTO_TEST_KAT_H

#include "cx.h"

struct layout {
	const char *name;
	uint64_t feat;
	bool stateless;
	size_t rsplit, wsplit;
	bool indirect;
	bool alias; /* dst aliases src (in place) */
	size_t extra; /* extra writable bytes between the result and the status */
};

struct op {
	uint32_t service;
	uint32_t opcode;
	uint32_t algo; /* cipher/hash/mac/aead algorithm */
	uint32_t op;   /* VC_OP_* */
	const uint8_t *key;
	uint32_t key_len;
	const uint8_t *iv;
	uint32_t iv_len;
	const uint8_t *aad;
	uint32_t aad_len;
	const uint8_t *src;
	uint32_t src_len;
	uint32_t dst_len; /* cipher / aead output; hash / mac: result length */
	uint32_t tag_len;
};

struct result {
	uint8_t status;       /* data request status (or the create status if that failed) */
	uint8_t create_status;
	long used;
	uint8_t out[70000];   /* writable area as the device left it */
	size_t wr_len;
};

/* Builds the data request of o for session id (or stateless) into req; returns its length. */
static inline size_t kat_data_req(const struct layout *L, const struct op *o, uint64_t id,
				  uint8_t *req, size_t cap)
{
	struct vcb_data q = {
		.opcode = o->opcode,
		.session_id = id,
		.stateless = L->stateless,
		.sym_op = VC_SYM_OP_CIPHER,
		.iv_len = o->iv_len,
		.src_len = o->src_len,
		.dst_len = o->dst_len,
		.aad_len = o->aad_len,
		.tag_len = o->tag_len,
		.algo = o->algo,
		.key_len = o->key_len,
		.op = o->op,
	};
	if (o->service == VC_SERVICE_HASH || o->service == VC_SERVICE_MAC) {
		q.hash_result_len = o->dst_len;
		q.dst_len = 0;
		q.auth_key_len = o->key_len;
	}
	size_t n = vcb_data_hdr(req, L->feat, &q);
	size_t need = n + (L->stateless ? o->key_len : 0) + o->iv_len + o->src_len + o->aad_len;
	if (need > cap)
		abort();
	if (L->stateless && o->key_len) {
		memcpy(req + n, o->key, o->key_len);
		n += o->key_len;
	}
	if (o->iv_len)
		memcpy(req + n, o->iv, o->iv_len);
	n += o->iv_len;
	memcpy(req + n, o->src, o->src_len);
	n += o->src_len;
	if (o->aad_len)
		memcpy(req + n, o->aad, o->aad_len);
	n += o->aad_len;
	return n;
}

static inline uint8_t kat_create(struct cx *x, const struct op *o, uint64_t *id)
{
	uint8_t hdr[VCB_HDR_MAX];
	size_t hl = 0;
	switch (o->service) {
	case VC_SERVICE_CIPHER:
		hl = vcb_ctrl_cipher(hdr, x->features, o->algo, o->key_len, o->op);
		break;
	case VC_SERVICE_HASH:
		hl = vcb_ctrl_hash(hdr, x->features, o->algo, o->dst_len);
		break;
	case VC_SERVICE_MAC:
		hl = vcb_ctrl_mac(hdr, x->features, o->algo, o->dst_len, o->key_len);
		break;
	case VC_SERVICE_AEAD:
		hl = vcb_ctrl_aead(hdr, x->features, o->algo, o->key_len, o->tag_len, o->aad_len,
				   o->op);
		break;
	}
	return cx_ctrl_create(x, hdr, hl, o->service == VC_SERVICE_HASH ? NULL : o->key,
			      o->service == VC_SERVICE_HASH ? 0 : o->key_len, id);
}

static const uint32_t destroy_opcode[VC_NSERVICES] = {
	VC_CIPHER_DESTROY_SESSION, VC_HASH_DESTROY_SESSION, VC_MAC_DESTROY_SESSION,
	VC_AEAD_DESTROY_SESSION, VC_AKCIPHER_DESTROY_SESSION};

/* Runs o in layout L on a device whose features match L->feat. */
static inline void kat_run(struct cx *x, const struct layout *L, const struct op *o,
			   struct result *res)
{
	static uint8_t req[70000];
	uint64_t id = 0;
	res->create_status = VC_OK;
	res->used = -1;
	if (!L->stateless) {
		res->create_status = kat_create(x, o, &id);
		if (res->create_status != VC_OK) {
			res->status = res->create_status;
			return;
		}
	}
	size_t n = kat_data_req(L, o, id, req, sizeof(req));
	uint32_t wbody = o->dst_len;
	res->wr_len = wbody + L->extra + 1;
	struct cx_req rq = {
		.rd = req,
		.rd_len = n,
		.rsplit = L->rsplit,
		.wr_len = res->wr_len,
		.wsplit = L->wsplit,
		.sep_status = true,
		.indirect = L->indirect,
	};
	if (L->alias) {
		/* dst over src (in place), as far as both reach. */
		rq.alias_off = n - o->aad_len - o->src_len;
		rq.alias_len = VT_MIN(o->src_len, wbody);
	}
	res->used = cx_submit(x, 0, &rq, res->out);
	res->status = res->used < 0 ? 0xff : res->out[res->wr_len - 1];
	if (!L->stateless) {
		uint8_t st = cx_ctrl_destroy(x, destroy_opcode[o->service], id);
		if (st != VC_OK)
			res->create_status = 0xfe; /* destroy failed: report through create */
	}
}

static const struct layout kat_layouts[] = {
	{"legacy", 0, false, 0, 0, false, false, 0},
	{"legacy-split", 0, false, 7, 5, false, false, 0},
	{"legacy-bytes-indirect", 0, false, 1, 3, true, false, 0},
	{"legacy-inplace", 0, false, 0, 0, false, true, 0},
	{"legacy-inplace-split", 0, false, 0, 16, false, true, 0},
	{"legacy-extra-dst", 0, false, 0, 0, false, false, 9},
	{"rev1", F_REV1, false, 0, 0, false, false, 0},
	{"rev1-split", F_REV1, false, 13, 11, true, false, 3},
	{"mux-session", F_STATELESS, false, 0, 0, false, false, 0},
	{"stateless", F_STATELESS, true, 0, 0, false, false, 0},
	{"stateless-split", F_STATELESS, true, 5, 7, false, false, 2},
	{"stateless-inplace", F_STATELESS, true, 0, 0, false, true, 0},
};

#endif
