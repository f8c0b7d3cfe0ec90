/* SPDX-License-Identifier: Apache-2.0 */
/*
 * VHOST_USER_CREATE_CRYPTO_SESSION / CLOSE_CRYPTO_SESSION: QEMU serves the
 * control queue itself and forwards CIPHER (and chained) sessions here.
 *
 * Two payload layouts exist and are told apart by size:
 *   632 bytes   QEMU 7.1 .. 8.0 (Debian bookworm's 7.2): session id first,
 *               then CryptoDevBackendSymSessionInfo, key[64], auth_key[512];
 *   1072 bytes  newer QEMU: u64 op_code, a sym/asym union, session id last.
 * The older DPDK/QEMU <= 7.0 layout (an extra op_code at offset 8, also 632
 * bytes) cannot be told from 7.2's reliably and is not supported.
 *
 * The reply has the request's size and layout, all zero except the session
 * id: the id (>= 1) on success, minus the virtio status otherwise (-1 ERR,
 * -3 NOTSUPP, -5 NOSPC). QEMU only checks the sign. Keys are never echoed.
 * CLOSE has no reply (QEMU 7.2 never reads one); closing an unknown id is
 * logged and ignored.
 */
#include <inttypes.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto_dev.h"
#include "log.h"
#include "vhost_user_proto.h"

static void sym_params(const struct vc_vu_sym_info *in, const uint8_t *key,
		       const uint8_t *auth_key, struct vc_sess_params *sp)
{
	memset(sp, 0, sizeof(*sp));
	sp->service = VC_SERVICE_CIPHER;
	sp->sym_op = in->op_type;
	sp->op = in->direction;
	sp->cipher_algo = in->cipher_alg;
	sp->key_len = in->key_len;
	sp->key = key;
	sp->hash_mode = in->hash_mode;
	sp->chain_order = in->alg_chain_order;
	sp->hash_algo = in->hash_alg;
	sp->hash_result_len = in->hash_result_len;
	sp->auth_key_len = in->auth_key_len;
	sp->auth_key = auth_key;
	sp->aad_len = in->add_len;
}

static uint8_t create_sym(struct vc_dev *d, const struct vc_vu_sym_info *info,
			  const uint8_t *key, const uint8_t *auth_key, uint64_t *id)
{
	if (info->key_len > VC_VU_SYM_KEY_MAX || info->auth_key_len > VC_VU_SYM_AUTH_KEY_MAX)
		return VC_ERR;
	if (info->op_type != VC_SYM_OP_ALGORITHM_CHAINING) {
		/* Plain cipher: QEMU leaves the hash fields at zero. */
		if (info->auth_key_len)
			return VC_ERR;
	}
	struct vc_sess_params sp;
	sym_params(info, key, auth_key, &sp);
	return vc_create_session(d, &sp, true, id);
}

static uint8_t create_asym(struct vc_dev *d, const struct vc_vu_asym_info *info,
			   const uint8_t *key, uint64_t *id)
{
	if (info->key_len == 0 || info->key_len > VC_VU_ASYM_KEY_MAX)
		return VC_ERR;
	struct vc_sess_params sp = {
		.service = VC_SERVICE_AKCIPHER,
		.ak_algo = info->algo, /* uapi numbering: RSA 1, ECDSA 3 (accepted as ECDSA) */
		.key_type = info->key_type,
		.key_len = info->key_len,
		.key = key,
		.padding_algo = info->padding_algo,
		.rsa_hash = info->hash_algo,
		.curve = VC_CURVE_UNKNOWN, /* QEMU passes no curve: it comes from the key */
	};
	return vc_create_session(d, &sp, true, id);
}

static int64_t reply_id(uint8_t st, uint64_t id)
{
	return st == VC_OK ? (int64_t)id : -(int64_t)st;
}

int vc_vhost_message(struct vc_dev *d, uint32_t request, const void *payload, uint32_t size,
		     void *reply, uint32_t *reply_size)
{
	*reply_size = 0;
	if (request == VHOST_USER_CLOSE_CRYPTO_SESSION) {
		uint64_t id;
		if (size != sizeof(id))
			return -EINVAL;
		memcpy(&id, payload, sizeof(id));
		if (vc_destroy_session(d, id) != VC_OK)
			vt_warn("%s: CLOSE_CRYPTO_SESSION: no session %" PRIu64, d->name, id);
		return 0;
	}
	if (request != VHOST_USER_CREATE_CRYPTO_SESSION)
		return -ENOTSUP;
	atomic_fetch_add_explicit(&d->stats.vhost_creates, 1, memory_order_relaxed);

	uint64_t id = 0;
	uint8_t st;
	if (size == sizeof(struct vc_vu_session_72)) {
		/* Copy out of the message buffer, decode, wipe our copy. */
		struct vc_vu_session_72 m;
		memcpy(&m, payload, sizeof(m));
		st = create_sym(d, &m.info, m.key, m.auth_key, &id);
		OPENSSL_cleanse(&m, sizeof(m));
		struct vc_vu_session_72 out;
		memset(&out, 0, sizeof(out));
		out.session_id = reply_id(st, id);
		memcpy(reply, &out, sizeof(out));
		*reply_size = sizeof(out);
	} else if (size == sizeof(struct vc_vu_session_new)) {
		struct vc_vu_session_new *m = malloc(sizeof(*m));
		if (!m)
			return -ENOMEM;
		memcpy(m, payload, sizeof(*m));
		if (m->op_code == VC_CIPHER_CREATE_SESSION)
			st = create_sym(d, &m->u.sym.info, m->u.sym.key, m->u.sym.auth_key, &id);
		else if (m->op_code == VC_AKCIPHER_CREATE_SESSION)
			st = create_asym(d, &m->u.asym.info, m->u.asym.key, &id);
		else
			st = VC_NOTSUPP; /* QEMU forwards only cipher and akcipher sessions */
		OPENSSL_cleanse(m, sizeof(*m));
		memset(m, 0, sizeof(*m));
		m->session_id = reply_id(st, id);
		memcpy(reply, m, sizeof(*m));
		*reply_size = sizeof(*m);
		free(m);
	} else {
		vt_warn("%s: CREATE_CRYPTO_SESSION of %u bytes: expected 632 (QEMU 7.2) or 1072",
			d->name, size);
		return -EINVAL; /* no typed answer exists: the core drops the front-end */
	}
	atomic_fetch_add_explicit(&d->stats.ctrl_status[st], 1, memory_order_relaxed);
	vt_debug("%s: CREATE_CRYPTO_SESSION (%u bytes) -> %s", d->name, size, vc_status_name(st));
	return 0;
}
