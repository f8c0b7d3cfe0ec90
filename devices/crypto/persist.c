/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Sessions that outlive the process (core/resume.h): under a service
 * manager's fd store the core hands the device an area of locked,
 * non-dumpable, sealed shared memory that the next process gets back. Each
 * session-table slot has one record there: the slot's generation (kept when
 * the slot is free, so a destroyed id stays invalid across restarts) and,
 * for a live session, the parameters and keys it was created with. A record
 * is written before the session id is answered and wiped when the session is
 * destroyed; the next process rebuilds every live session at its old id, so
 * a guest that set its key once keeps working through a crash or upgrade.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "crypto_dev.h"
#include "log.h"
#include "secmem.h"

#define REC_MAGIC 0x31534356u /* "VCS1" */
#define REC_KEY_MAX 1024u
#define REC_AUTH_KEY_MAX 512u

struct vc_rec {
	uint64_t gen;
	uint32_t live;
	uint32_t service, sym_op, op, cipher_algo, key_len, hash_mode, chain_order, hash_algo;
	uint32_t hash_result_len, auth_key_len, aad_len, aead_algo, tag_len, ak_algo, key_type;
	uint32_t padding_algo, rsa_hash, curve;
	uint8_t key[REC_KEY_MAX];
	uint8_t auth_key[REC_AUTH_KEY_MAX];
};

struct vc_area {
	uint32_t magic;
	uint32_t cap;
	struct vc_rec rec[];
};

size_t vc_persist_size(void *priv)
{
	struct vc_dev *d = priv;
	return sizeof(struct vc_area) + (size_t)d->opts.max_sessions * sizeof(struct vc_rec);
}

static struct vc_rec *rec_of(struct vc_dev *d, uint64_t id)
{
	struct vc_area *a = d->persist;
	uint64_t i = id & (VC_MAX_SESSIONS - 1);
	return a && i < a->cap ? &a->rec[i] : NULL;
}

void vc_persist_store(struct vc_dev *d, uint64_t id, const struct vc_sess_params *p)
{
	struct vc_rec *r = rec_of(d, id);
	if (!r)
		return;
	if (p->key_len > REC_KEY_MAX || p->auth_key_len > REC_AUTH_KEY_MAX) {
		vt_warn("%s: session %llu has keys too long to survive a restart (key over %u or "
			"authentication key over %u bytes): after one, its requests get INVSESS",
			d->name, (unsigned long long)id, REC_KEY_MAX, REC_AUTH_KEY_MAX);
		/* Its id must stay invalid all the same: the slot's generation is recorded. */
		r->live = 0;
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		vt_wipe(r, sizeof(*r));
		r->gen = id >> VC_ID_INDEX_BITS;
		return;
	}
	r->live = 0;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	r->gen = id >> VC_ID_INDEX_BITS;
	r->service = p->service;
	r->sym_op = p->sym_op;
	r->op = p->op;
	r->cipher_algo = p->cipher_algo;
	r->key_len = p->key_len;
	r->hash_mode = p->hash_mode;
	r->chain_order = p->chain_order;
	r->hash_algo = p->hash_algo;
	r->hash_result_len = p->hash_result_len;
	r->auth_key_len = p->auth_key_len;
	r->aad_len = p->aad_len;
	r->aead_algo = p->aead_algo;
	r->tag_len = p->tag_len;
	r->ak_algo = p->ak_algo;
	r->key_type = p->key_type;
	r->padding_algo = p->padding_algo;
	r->rsa_hash = p->rsa_hash;
	r->curve = p->curve;
	if (p->key_len)
		memcpy(r->key, p->key, p->key_len);
	if (p->auth_key_len)
		memcpy(r->auth_key, p->auth_key, p->auth_key_len);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	r->live = 1;
}

void vc_persist_clear(struct vc_dev *d, uint64_t id)
{
	struct vc_rec *r = rec_of(d, id);
	if (!r || r->gen != id >> VC_ID_INDEX_BITS)
		return; /* not this session's record (an unknown or stale id) */
	r->live = 0;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	uint64_t gen = r->gen;
	vt_wipe(r, sizeof(*r));
	r->gen = gen; /* the slot's generation outlives its session */
}

/* Rebuilds the table from the records: live sessions at their ids, generations kept. */
static int restore(struct vc_dev *d, struct vc_area *a)
{
	struct vc_table *t = &d->table;
	unsigned n = 0, lost = 0;
	for (uint32_t i = 0; i < a->cap; i++) {
		const struct vc_rec *r = &a->rec[i];
		/* Generations start at 1: a live session at generation 0 would have id 0,
		 * which no request can name (its slot lost for good). */
		if (r->gen > VC_GEN_MAX || (r->live && r->gen == 0) || r->key_len > REC_KEY_MAX ||
		    r->auth_key_len > REC_AUTH_KEY_MAX)
			return -EBADMSG;
	}
	pthread_mutex_lock(&t->lock);
	t->free_head = UINT32_MAX;
	for (uint32_t i = a->cap; i-- > 0;) {
		struct vc_rec *r = &a->rec[i];
		struct vc_slot *sl = &t->slots[i];
		sl->gen = r->gen;
		if (r->live) {
			struct vc_sess_params p = {
				.service = r->service, .sym_op = r->sym_op, .op = r->op,
				.cipher_algo = r->cipher_algo, .key_len = r->key_len, .key = r->key,
				.hash_mode = r->hash_mode, .chain_order = r->chain_order,
				.hash_algo = r->hash_algo, .hash_result_len = r->hash_result_len,
				.auth_key_len = r->auth_key_len, .auth_key = r->auth_key,
				.aad_len = r->aad_len, .aead_algo = r->aead_algo, .tag_len = r->tag_len,
				.ak_algo = r->ak_algo, .key_type = r->key_type,
				.padding_algo = r->padding_algo, .rsa_hash = r->rsa_hash,
				.curve = r->curve,
			};
			struct vc_session *s;
			if (vc_session_new(d, &p, NULL, NULL, &s) == VC_OK) {
				sl->s = s;
				sl->next_free = UINT32_MAX;
				t->live++;
				n++;
				continue;
			}
			/* Dropped for good: its record (keys) is wiped, the generation kept.
			 * (vc_persist_clear cannot: d->persist is set once this returns.) */
			lost++;
			uint64_t gen = r->gen;
			r->live = 0;
			__atomic_signal_fence(__ATOMIC_SEQ_CST);
			vt_wipe(r, sizeof(*r));
			r->gen = gen;
		}
		if (sl->gen >= VC_GEN_MAX) {
			t->retired++;
			continue;
		}
		sl->next_free = t->free_head;
		t->free_head = i;
	}
	pthread_mutex_unlock(&t->lock);
	vt_info("%s: %u crypto session%s carried over from the previous process", d->name, n,
		n == 1 ? "" : "s");
	if (lost)
		vt_warn("%s: %u crypto session%s of the previous process could not be rebuilt "
			"(algorithm no longer allowed, or refused by OpenSSL): dropped and wiped; "
			"the guest's requests on them get INVSESS",
			d->name, lost, lost == 1 ? "" : "s");
	return 0;
}

int vc_persist_attach(void *priv, void *area, size_t size, bool restored)
{
	struct vc_dev *d = priv;
	struct vc_area *a = area;
	if (!a) {
		d->persist = NULL;
		return 0;
	}
	if (size < vc_persist_size(d))
		return -EINVAL;
	if (restored) {
		if (a->magic != REC_MAGIC || a->cap != d->opts.max_sessions || restore(d, a) < 0)
			return -EBADMSG;
		d->persist = a;
		return 0;
	}
	memset(a, 0, size);
	a->magic = REC_MAGIC;
	a->cap = d->opts.max_sessions;
	/* Sessions that exist already (none in vtrustd: attached before serving). */
	d->persist = a;
	return 0;
}
