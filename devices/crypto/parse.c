/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Request parsing for both queues: the only code that interprets the
 * header and fixed-length fields a guest sends. Each request is copied out
 * of guest memory once (vt_chain_read into the exact spec structs of
 * virtio_crypto.h) and decoded from that copy into a normalised request;
 * no crypto happens here. Fuzzed by fuzz/fuzz_ctrlq.c and fuzz/fuzz_dataq.c.
 *
 * flf sizes: without REVISION_1 the legacy padded sizes (control 56, data
 * 48: Linux and QEMU); with REVISION_1 the exact struct of the opcode; once
 * a service's *_STATELESS_MODE bit is negotiated, its requests carry that
 * service's stateless flf (the spec's "mux" layout) in both modes, and a
 * session-mode request (FLAG_SESSION_MODE) reads its session struct from
 * the start of it.
 *
 * Statuses: an opcode we do not know, a service we do not offer, an
 * operation type we do not implement and stateless requests the negotiated
 * features do not allow are NOTSUPP; a request too short for its own
 * structures or with out-of-range lengths is ERR (the spec's BADMSG means
 * only "AEAD authentication failed").
 */
#include <stddef.h>
#include <string.h>

#include "byteorder.h"
#include "crypto_dev.h"

static bool feat(uint64_t f, unsigned bit)
{
	return f & (1ull << bit);
}

static int stateless_bit(uint32_t service)
{
	switch (service) {
	case VC_SERVICE_CIPHER:
		return VC_F_CIPHER_STATELESS_MODE;
	case VC_SERVICE_HASH:
		return VC_F_HASH_STATELESS_MODE;
	case VC_SERVICE_MAC:
		return VC_F_MAC_STATELESS_MODE;
	case VC_SERVICE_AEAD:
		return VC_F_AEAD_STATELESS_MODE;
	default:
		return VC_F_AKCIPHER_STATELESS_MODE;
	}
}

/* ---- Control queue ---------------------------------------------------------- */

static size_t ctrl_flf_len(uint32_t opcode, bool rev1)
{
	if (!rev1)
		return VC_CTRLQ_FLF_LEGACY;
	switch (opcode) {
	case VC_CIPHER_CREATE_SESSION:
		return sizeof(struct vc_sym_session_flf);
	case VC_HASH_CREATE_SESSION:
		return sizeof(struct vc_hash_session_flf);
	case VC_MAC_CREATE_SESSION:
		return sizeof(struct vc_mac_session_flf);
	case VC_AEAD_CREATE_SESSION:
		return sizeof(struct vc_aead_session_flf);
	case VC_AKCIPHER_CREATE_SESSION:
		return sizeof(struct vc_akcipher_session_flf);
	default:
		return sizeof(struct vc_destroy_session_flf);
	}
}

/* Reads the key bytes of a create request into keybuf. */
static uint8_t read_keys(const struct vc_dev *d, struct vt_chain *c, uint8_t *keybuf,
			 size_t keybuf_len, struct vc_sess_params *sp)
{
	uint64_t total = (uint64_t)sp->key_len + sp->auth_key_len;
	(void)d;
	if (total > keybuf_len)
		return VC_ERR;
	if (vt_chain_read(c, keybuf, sp->key_len) < 0)
		return VC_ERR;
	if (vt_chain_read(c, keybuf + sp->key_len, sp->auth_key_len) < 0)
		return VC_ERR;
	sp->key = keybuf;
	sp->auth_key = keybuf + sp->key_len;
	return VC_OK;
}

/* An akcipher session's parameters: CREATE_SESSION and stateless requests alike. */
static void decode_ak_params(struct vc_sess_params *sp, uint32_t algo, uint32_t key_type,
			     uint32_t key_len, const uint8_t *algo_flf)
{
	sp->ak_algo = algo;
	sp->key_type = key_type;
	sp->key_len = key_len;
	if (algo == VC_AKCIPHER_RSA) {
		struct vc_rsa_para rp;
		memcpy(&rp, algo_flf, sizeof(rp));
		sp->padding_algo = rp.padding_algo;
		sp->rsa_hash = rp.hash_algo;
	} else {
		struct vc_ecdsa_para ep;
		memcpy(&ep, algo_flf, sizeof(ep));
		sp->curve = ep.curve_id;
	}
}

uint8_t vc_parse_ctrl(const struct vc_dev *d, uint64_t features, struct vt_chain *c,
		      uint8_t *keybuf, size_t keybuf_len, struct vc_ctrl_req *r)
{
	struct vc_ctrl_header h;
	uint8_t flf[VC_CTRLQ_FLF_LEGACY];
	bool rev1 = feat(features, VC_F_REVISION_1);
	memset(r, 0, sizeof(*r));
	if (vt_chain_read(c, &h, sizeof(h)) < 0)
		return VC_ERR;
	r->opcode = h.opcode;
	switch (h.opcode) {
	case VC_CIPHER_DESTROY_SESSION:
	case VC_HASH_DESTROY_SESSION:
	case VC_MAC_DESTROY_SESSION:
	case VC_AEAD_DESTROY_SESSION:
	case VC_AKCIPHER_DESTROY_SESSION:
		r->destroy = true;
		break;
	case VC_CIPHER_CREATE_SESSION:
	case VC_HASH_CREATE_SESSION:
	case VC_MAC_CREATE_SESSION:
	case VC_AEAD_CREATE_SESSION:
	case VC_AKCIPHER_CREATE_SESSION:
		if (!vc_dev_service_enabled(d, h.opcode >> 8))
			return VC_NOTSUPP;
		break;
	default:
		return VC_NOTSUPP;
	}
	size_t flf_len = ctrl_flf_len(h.opcode, rev1);
	memset(flf, 0, sizeof(flf));
	if (vt_chain_read(c, flf, flf_len) < 0)
		return VC_ERR;

	struct vc_sess_params *sp = &r->sp;
	sp->service = h.opcode >> 8;
	switch (h.opcode) {
	case VC_CIPHER_CREATE_SESSION: {
		struct vc_sym_session_flf sym;
		memcpy(&sym, flf, sizeof(sym));
		sp->sym_op = sym.op_type;
		if (sym.op_type == VC_SYM_OP_CIPHER) {
			struct vc_cipher_session_flf ci;
			memcpy(&ci, sym.op_flf, sizeof(ci));
			sp->cipher_algo = ci.algo;
			sp->key_len = ci.key_len;
			sp->op = ci.op;
		} else if (sym.op_type == VC_SYM_OP_ALGORITHM_CHAINING) {
			struct vc_chain_session_flf ch;
			memcpy(&ch, sym.op_flf, sizeof(ch));
			sp->chain_order = ch.alg_chain_order;
			sp->hash_mode = ch.hash_mode;
			sp->cipher_algo = ch.cipher_hdr.algo;
			sp->key_len = ch.cipher_hdr.key_len;
			sp->op = ch.cipher_hdr.op;
			sp->aad_len = ch.aad_len;
			if (ch.hash_mode == VC_SYM_HASH_MODE_AUTH) {
				struct vc_mac_session_flf m;
				memcpy(&m, ch.algo_flf, sizeof(m));
				sp->hash_algo = m.algo;
				sp->hash_result_len = m.hash_result_len;
				sp->auth_key_len = m.auth_key_len;
			} else {
				struct vc_hash_session_flf hs;
				memcpy(&hs, ch.algo_flf, sizeof(hs));
				sp->hash_algo = hs.algo;
				sp->hash_result_len = hs.hash_result_len;
			}
		} else {
			return VC_NOTSUPP; /* OP_NONE and unknown operation types */
		}
		if (sp->key_len > d->opts.max_cipher_key_len ||
		    sp->auth_key_len > d->opts.max_auth_key_len)
			return VC_ERR;
		return read_keys(d, c, keybuf, keybuf_len, sp);
	}
	case VC_HASH_CREATE_SESSION: {
		struct vc_hash_session_flf hs;
		memcpy(&hs, flf, sizeof(hs));
		sp->hash_algo = hs.algo;
		sp->hash_result_len = hs.hash_result_len;
		return VC_OK;
	}
	case VC_MAC_CREATE_SESSION: {
		struct vc_mac_session_flf m;
		memcpy(&m, flf, sizeof(m));
		sp->hash_algo = m.algo;
		sp->hash_result_len = m.hash_result_len;
		sp->auth_key_len = m.auth_key_len;
		if (m.auth_key_len > d->opts.max_auth_key_len)
			return VC_ERR;
		return read_keys(d, c, keybuf, keybuf_len, sp);
	}
	case VC_AEAD_CREATE_SESSION: {
		struct vc_aead_session_flf a;
		memcpy(&a, flf, sizeof(a));
		sp->aead_algo = a.algo;
		sp->key_len = a.key_len;
		sp->tag_len = a.tag_len;
		sp->aad_len = a.aad_len;
		sp->op = a.op;
		if (a.key_len > d->opts.max_cipher_key_len)
			return VC_ERR;
		return read_keys(d, c, keybuf, keybuf_len, sp);
	}
	case VC_AKCIPHER_CREATE_SESSION: {
		struct vc_akcipher_session_flf a;
		memcpy(&a, flf, sizeof(a));
		decode_ak_params(sp, a.algo, a.key_type, a.key_len, a.algo_flf);
		if (a.key_len > d->opts.max_akcipher_key_len)
			return VC_ERR;
		return read_keys(d, c, keybuf, keybuf_len, sp);
	}
	default: {
		struct vc_destroy_session_flf ds;
		memcpy(&ds, flf, sizeof(ds));
		r->session_id = ds.session_id;
		return VC_OK;
	}
	}
}

/* ---- Data queue ---------------------------------------------------------------- */

/*
 * Session and stateless data requests carry the same request fields (the
 * lengths and offsets) at different places, and a stateless request adds
 * the session's parameters in front. One table says where each request
 * field sits in each flf form; decode_data() reads them for both modes and
 * then, for a stateless request only, decode_params() reads the parameters.
 */
enum vc_data_field {
	DF_IV,
	DF_SRC,
	DF_DST,
	DF_AAD,
	DF_TAG,
	DF_HASH_RESULT,
	DF_CIPHER_START,
	DF_LEN_TO_CIPHER,
	DF_HASH_START,
	DF_LEN_TO_HASH,
	DF_N
};

struct data_form {
	uint8_t len;       /* bytes of flf the form occupies on the ring */
	uint8_t at[DF_N];  /* offset + 1 of each field in the flf; 0: not in this form */
};

#define AT(type, member) (uint8_t)(offsetof(type, member) + 1)

/* The cipher and chain forms live at the start of the sym flf's op_type_flf. */
VT_STATIC_ASSERT(offsetof(struct vc_sym_data_flf, op_type_flf) == 0, "sym flf");
VT_STATIC_ASSERT(offsetof(struct vc_sym_data_flf_stateless, op_type_flf) == 0, "sym stateless flf");
VT_STATIC_ASSERT(sizeof(struct vc_sym_data_flf_stateless) <= UINT8_MAX, "form lengths fit");

#define CHAIN_FIELDS(T)                                                                     \
	[DF_IV] = AT(T, iv_len), [DF_SRC] = AT(T, src_data_len),                             \
	[DF_DST] = AT(T, dst_data_len), [DF_CIPHER_START] = AT(T, cipher_start_src_offset), \
	[DF_LEN_TO_CIPHER] = AT(T, len_to_cipher),                                          \
	[DF_HASH_START] = AT(T, hash_start_src_offset), [DF_LEN_TO_HASH] = AT(T, len_to_hash), \
	[DF_AAD] = AT(T, aad_len), [DF_HASH_RESULT] = AT(T, hash_result_len)

/* [stateless][service]; the cipher service's algorithm-chaining form is apart. */
static const struct data_form data_forms[2][VC_NSERVICES] = {
	[false] = {
		[VC_SERVICE_CIPHER] = {sizeof(struct vc_sym_data_flf),
				       {[DF_IV] = AT(struct vc_cipher_data_flf, iv_len),
					[DF_SRC] = AT(struct vc_cipher_data_flf, src_data_len),
					[DF_DST] = AT(struct vc_cipher_data_flf, dst_data_len)}},
		[VC_SERVICE_HASH] = {sizeof(struct vc_hash_data_flf),
				     {[DF_SRC] = AT(struct vc_hash_data_flf, src_data_len),
				      [DF_HASH_RESULT] = AT(struct vc_hash_data_flf, hash_result_len)}},
		[VC_SERVICE_MAC] = {sizeof(struct vc_hash_data_flf),
				    {[DF_SRC] = AT(struct vc_hash_data_flf, src_data_len),
				     [DF_HASH_RESULT] = AT(struct vc_hash_data_flf, hash_result_len)}},
		[VC_SERVICE_AEAD] = {sizeof(struct vc_aead_data_flf),
				     {[DF_IV] = AT(struct vc_aead_data_flf, iv_len),
				      [DF_AAD] = AT(struct vc_aead_data_flf, aad_len),
				      [DF_SRC] = AT(struct vc_aead_data_flf, src_data_len),
				      [DF_DST] = AT(struct vc_aead_data_flf, dst_data_len),
				      [DF_TAG] = AT(struct vc_aead_data_flf, tag_len)}},
		[VC_SERVICE_AKCIPHER] = {sizeof(struct vc_akcipher_data_flf),
					 {[DF_SRC] = AT(struct vc_akcipher_data_flf, src_data_len),
					  [DF_DST] = AT(struct vc_akcipher_data_flf, dst_data_len)}},
	},
	[true] = {
		[VC_SERVICE_CIPHER] = {sizeof(struct vc_sym_data_flf_stateless),
				       {[DF_IV] = AT(struct vc_cipher_data_flf_stateless, iv_len),
					[DF_SRC] = AT(struct vc_cipher_data_flf_stateless, src_data_len),
					[DF_DST] = AT(struct vc_cipher_data_flf_stateless, dst_data_len)}},
		[VC_SERVICE_HASH] = {sizeof(struct vc_hash_data_flf_stateless),
				     {[DF_SRC] = AT(struct vc_hash_data_flf_stateless, src_data_len),
				      [DF_HASH_RESULT] =
					      AT(struct vc_hash_data_flf_stateless, hash_result_len)}},
		[VC_SERVICE_MAC] = {sizeof(struct vc_mac_data_flf_stateless),
				    {[DF_SRC] = AT(struct vc_mac_data_flf_stateless, src_data_len),
				     [DF_HASH_RESULT] =
					     AT(struct vc_mac_data_flf_stateless, hash_result_len)}},
		[VC_SERVICE_AEAD] = {sizeof(struct vc_aead_data_flf_stateless),
				     {[DF_IV] = AT(struct vc_aead_data_flf_stateless, iv_len),
				      [DF_TAG] = AT(struct vc_aead_data_flf_stateless, tag_len),
				      [DF_AAD] = AT(struct vc_aead_data_flf_stateless, aad_len),
				      [DF_SRC] = AT(struct vc_aead_data_flf_stateless, src_data_len),
				      [DF_DST] = AT(struct vc_aead_data_flf_stateless, dst_data_len)}},
		[VC_SERVICE_AKCIPHER] = {sizeof(struct vc_akcipher_data_flf_stateless),
					 {[DF_SRC] = AT(struct vc_akcipher_data_flf_stateless,
							src_data_len),
					  [DF_DST] = AT(struct vc_akcipher_data_flf_stateless,
							dst_data_len)}},
	},
};

static const struct data_form chain_forms[2] = {
	[false] = {sizeof(struct vc_sym_data_flf), {CHAIN_FIELDS(struct vc_chain_data_flf)}},
	[true] = {sizeof(struct vc_sym_data_flf_stateless),
		  {CHAIN_FIELDS(struct vc_chain_data_flf_stateless)}},
};

/* A stateless request's session parameters (the request fields are decoded). */
static void decode_params(struct vc_data_req *r, const uint8_t *flf)
{
	struct vc_sess_params *sp = &r->sp;
	switch (r->service) {
	case VC_SERVICE_CIPHER:
		if (r->sym_op == VC_SYM_OP_CIPHER) {
			struct vc_cipher_data_flf_stateless ci;
			memcpy(&ci, flf, sizeof(ci));
			sp->cipher_algo = ci.algo;
			sp->key_len = ci.key_len;
			sp->op = ci.op;
		} else {
			struct vc_chain_data_flf_stateless ch;
			memcpy(&ch, flf, sizeof(ch));
			sp->chain_order = ch.alg_chain_order;
			sp->aad_len = 0; /* the request's aad_len governs */
			sp->cipher_algo = ch.cipher_algo;
			sp->key_len = ch.cipher_key_len;
			sp->op = ch.cipher_op;
			sp->hash_algo = ch.hash_algo;
			sp->auth_key_len =
				ch.hash_mode == VC_SYM_HASH_MODE_AUTH ? ch.auth_key_len : 0;
			sp->hash_mode = ch.hash_mode;
			sp->hash_result_len = r->hash_result_len;
		}
		break;
	case VC_SERVICE_HASH: {
		struct vc_hash_data_flf_stateless hs;
		memcpy(&hs, flf, sizeof(hs));
		sp->hash_algo = hs.algo;
		sp->hash_result_len = r->hash_result_len;
		break;
	}
	case VC_SERVICE_MAC: {
		struct vc_mac_data_flf_stateless ms;
		memcpy(&ms, flf, sizeof(ms));
		sp->hash_algo = ms.algo;
		sp->auth_key_len = ms.auth_key_len;
		sp->hash_result_len = r->hash_result_len;
		break;
	}
	case VC_SERVICE_AKCIPHER: {
		struct vc_akcipher_data_flf_stateless ak;
		memcpy(&ak, flf, sizeof(ak));
		decode_ak_params(sp, ak.algo, ak.key_type, ak.key_len, ak.algo_flf);
		break;
	}
	default: { /* AEAD */
		struct vc_aead_data_flf_stateless as;
		memcpy(&as, flf, sizeof(as));
		sp->aead_algo = as.algo;
		sp->key_len = as.key_len;
		sp->op = as.op;
		sp->tag_len = r->tag_len;
		sp->aad_len = r->aad_len;
		break;
	}
	}
}

/* Both modes: the request fields from the form's table, then a stateless request's parameters. */
static uint8_t decode_data(struct vc_data_req *r, const uint8_t *flf)
{
	bool sl = r->stateless;
	const struct data_form *f = &data_forms[sl][r->service];
	if (sl)
		r->sp.service = r->service;
	if (r->service == VC_SERVICE_CIPHER) {
		size_t op_at = sl ? offsetof(struct vc_sym_data_flf_stateless, op_type)
				  : offsetof(struct vc_sym_data_flf, op_type);
		r->sym_op = vt_get_le32(flf + op_at);
		if (sl)
			r->sp.sym_op = r->sym_op;
		if (r->sym_op == VC_SYM_OP_ALGORITHM_CHAINING)
			f = &chain_forms[sl];
		else if (r->sym_op != VC_SYM_OP_CIPHER)
			return VC_NOTSUPP;
	}
	uint32_t *const field[DF_N] = {
		[DF_IV] = &r->iv_len,
		[DF_SRC] = &r->src_len,
		[DF_DST] = &r->dst_len,
		[DF_AAD] = &r->aad_len,
		[DF_TAG] = &r->tag_len,
		[DF_HASH_RESULT] = &r->hash_result_len,
		[DF_CIPHER_START] = &r->cipher_start,
		[DF_LEN_TO_CIPHER] = &r->len_to_cipher,
		[DF_HASH_START] = &r->hash_start,
		[DF_LEN_TO_HASH] = &r->len_to_hash,
	};
	for (size_t i = 0; i < DF_N; i++)
		if (f->at[i])
			*field[i] = vt_get_le32(flf + f->at[i] - 1);
	if (sl)
		decode_params(r, flf);
	return VC_OK;
}

uint8_t vc_parse_data(const struct vc_dev *d, uint64_t features, struct vt_chain *c,
		      struct vc_data_req *r)
{
	struct vc_op_header h;
	uint8_t flf[sizeof(struct vc_sym_data_flf_stateless)];
	memset(r, 0, sizeof(*r));
	r->service = VC_NSERVICES; /* not a service until the opcode is known */
	if (vt_chain_read(c, &h, sizeof(h)) < 0)
		return VC_ERR;
	r->opcode = h.opcode;
	r->session_id = h.session_id;
	switch (h.opcode) {
	case VC_CIPHER_ENCRYPT:
	case VC_CIPHER_DECRYPT:
	case VC_HASH:
	case VC_MAC:
	case VC_AEAD_ENCRYPT:
	case VC_AEAD_DECRYPT:
	case VC_AKCIPHER_ENCRYPT:
	case VC_AKCIPHER_DECRYPT:
	case VC_AKCIPHER_SIGN:
	case VC_AKCIPHER_VERIFY:
		break;
	default:
		return VC_NOTSUPP;
	}
	r->service = h.opcode >> 8;
	if (!vc_dev_service_enabled(d, r->service))
		return VC_NOTSUPP;

	bool rev1 = feat(features, VC_F_REVISION_1);
	bool mux = rev1 && feat(features, (unsigned)stateless_bit(r->service));
	r->stateless = rev1 && !(h.flag & VC_FLAG_SESSION_MODE);
	if (r->stateless && !mux)
		return VC_NOTSUPP; /* the spec's SHOULD: no stateless without the feature */

	size_t flf_len = !rev1 ? VC_DATAQ_FLF_LEGACY : data_forms[mux][r->service].len;
	memset(flf, 0, sizeof(flf));
	if (flf_len > sizeof(flf) || vt_chain_read(c, flf, flf_len) < 0)
		return VC_ERR;
	return decode_data(r, flf);
}
