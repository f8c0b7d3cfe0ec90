/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Sessions and the bounded session table.
 *
 * The table is an array of max_sessions slots with a LIFO free list. A
 * session id is (generation << 16) | slot index; a slot's generation grows
 * by one every time its session is destroyed, so a destroyed id never names
 * a live session again (INVSESS forever). A slot whose generation would
 * overflow 47 bits is retired rather than reused. Ids are positive int64
 * values (QEMU treats negative ids as errors) and never 0.
 *
 * Lifetime: the table holds one reference; a data request takes another
 * for its duration (vc_table_get / vc_session_put). Destroy removes the
 * slot at once (new lookups fail) and the last reference frees the
 * contexts. Memory is therefore bounded by max_sessions plus one session
 * per worker thread in flight, whatever the guest does.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "crypto_dev.h"
#include "log.h"

#define NO_SLOT UINT32_MAX

int vc_table_init(struct vc_table *t, uint32_t cap)
{
	memset(t, 0, sizeof(*t));
	if (cap == 0 || cap > VC_MAX_SESSIONS)
		return -EINVAL;
	t->slots = calloc(cap, sizeof(*t->slots));
	if (!t->slots)
		return -ENOMEM;
	t->cap = cap;
	/* Free list in index order: slot 0 first. */
	for (uint32_t i = 0; i < cap; i++)
		t->slots[i].next_free = i + 1 < cap ? i + 1 : NO_SLOT;
	t->free_head = 0;
	pthread_mutex_init(&t->lock, NULL);
	pthread_mutex_init(&t->life, NULL);
	return 0;
}

void vc_table_destroy(struct vc_table *t)
{
	if (!t->slots)
		return;
	for (uint32_t i = 0; i < t->cap; i++)
		if (t->slots[i].s)
			vc_session_put(t->slots[i].s);
	free(t->slots);
	t->slots = NULL;
	pthread_mutex_destroy(&t->lock);
	pthread_mutex_destroy(&t->life);
}

uint8_t vc_table_insert(struct vc_table *t, struct vc_session *s, uint64_t *ret_id)
{
	pthread_mutex_lock(&t->lock);
	uint32_t i = t->free_head;
	if (i == NO_SLOT) {
		pthread_mutex_unlock(&t->lock);
		return VC_NOSPC;
	}
	struct vc_slot *sl = &t->slots[i];
	t->free_head = sl->next_free;
	sl->next_free = NO_SLOT;
	sl->gen++; /* generations start at 1: ids are never 0 */
	sl->s = s;
	t->live++;
	*ret_id = (sl->gen << VC_ID_INDEX_BITS) | i;
	pthread_mutex_unlock(&t->lock);
	return VC_OK;
}

struct vc_session *vc_table_get(struct vc_table *t, uint64_t id)
{
	uint64_t i = id & (VC_MAX_SESSIONS - 1);
	uint64_t gen = id >> VC_ID_INDEX_BITS;
	struct vc_session *s = NULL;
	if (i >= t->cap || gen == 0)
		return NULL;
	pthread_mutex_lock(&t->lock);
	struct vc_slot *sl = &t->slots[i];
	if (sl->s && sl->gen == gen) {
		s = sl->s;
		atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	}
	pthread_mutex_unlock(&t->lock);
	return s;
}

int vc_table_remove(struct vc_table *t, uint64_t id)
{
	uint64_t i = id & (VC_MAX_SESSIONS - 1);
	uint64_t gen = id >> VC_ID_INDEX_BITS;
	if (i >= t->cap || gen == 0)
		return -ENOENT;
	pthread_mutex_lock(&t->lock);
	struct vc_slot *sl = &t->slots[i];
	if (!sl->s || sl->gen != gen) {
		pthread_mutex_unlock(&t->lock);
		return -ENOENT;
	}
	struct vc_session *s = sl->s;
	sl->s = NULL;
	t->live--;
	if (sl->gen >= VC_GEN_MAX) {
		t->retired++; /* this slot has handed out every id it can */
	} else {
		sl->next_free = t->free_head;
		t->free_head = (uint32_t)i;
	}
	pthread_mutex_unlock(&t->lock);
	vc_session_put(s);
	return 0;
}

uint32_t vc_table_used(struct vc_table *t)
{
	pthread_mutex_lock(&t->lock);
	uint32_t n = t->live;
	pthread_mutex_unlock(&t->lock);
	return n;
}

bool vc_table_has_room(struct vc_table *t)
{
	pthread_mutex_lock(&t->lock);
	bool room = t->free_head != NO_SLOT;
	pthread_mutex_unlock(&t->lock);
	return room;
}

/* ---- Session objects -------------------------------------------------------- */

/*
 * A stateless request borrowed the queue's contexts: its key must not stay in
 * them until the next request. A cipher context reset clears the key schedule;
 * a MAC context has no reset, so it is replaced (the old one is cleared on free).
 */
static void scrub_borrowed(struct vc_session *s)
{
	if (!s->sl)
		return;
	if (s->cctx)
		(void)EVP_CIPHER_CTX_reset(s->cctx);
	for (unsigned k = 0; s->macctx && k < VT_ARRAY_SIZE(s->sl->mac); k++) {
		if (s->sl->mac[k] != s->macctx)
			continue;
		EVP_MAC_CTX *fresh = EVP_MAC_CTX_new(EVP_MAC_CTX_get0_mac(s->macctx));
		if (fresh) {
			EVP_MAC_CTX_free(s->sl->mac[k]);
			s->sl->mac[k] = fresh;
		}
	}
}

static void session_release(struct vc_session *s)
{
	if (!s->borrowed) {
		EVP_CIPHER_CTX_free(s->cctx); /* providers clear key schedules on free */
		EVP_MD_CTX_free(s->mdctx);
		EVP_MAC_CTX_free(s->macctx);
	} else {
		scrub_borrowed(s);
	}
	EVP_PKEY_CTX_free(s->pctx);
	EVP_PKEY_free(s->pkey);
	if (s->ccm_key)
		OPENSSL_secure_clear_free(s->ccm_key, s->key_len);
	s->ccm_key = NULL;
	OPENSSL_cleanse(s->gcm_h, sizeof(s->gcm_h));
	OPENSSL_cleanse(s->gcm_hinv2, sizeof(s->gcm_hinv2));
	s->gcm_h_ok = s->gcm_hinv2_ok = false;
	s->gcm_key = NULL;
	s->cctx = NULL;
	s->mdctx = NULL;
	s->macctx = NULL;
	s->pctx = NULL;
	s->pkey = NULL;
}

void vc_session_clear(struct vc_session *s)
{
	session_release(s);
}

void vc_session_put(struct vc_session *s)
{
	if (!s)
		return;
	if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
		return;
	session_release(s);
	pthread_mutex_destroy(&s->lock);
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

static uint8_t setup_algchain(struct vc_dev *d, struct vc_session *s, const struct vc_sess_params *p)
{
	if (p->hash_mode == VC_SYM_HASH_MODE_NESTED)
		return VC_NOTSUPP; /* no inner/outer prefix parameters exist in the request */
	if (p->hash_mode != VC_SYM_HASH_MODE_PLAIN && p->hash_mode != VC_SYM_HASH_MODE_AUTH)
		return VC_ERR;
	if (p->chain_order != VC_SYM_ALG_CHAIN_ORDER_HASH_THEN_CIPHER &&
	    p->chain_order != VC_SYM_ALG_CHAIN_ORDER_CIPHER_THEN_HASH)
		return VC_ERR;
	uint8_t st = vc_cipher_setup(d, s, p->cipher_algo, p->key, p->key_len, p->op);
	if (st != VC_OK)
		return st;
	if (p->hash_mode == VC_SYM_HASH_MODE_PLAIN)
		st = vc_hash_setup(d, s, p->hash_algo, p->hash_result_len);
	else
		st = vc_mac_setup(d, s, p->hash_algo, p->auth_key, p->auth_key_len,
				  p->hash_result_len);
	if (st != VC_OK)
		return st;
	s->sym_op = VC_SYM_OP_ALGORITHM_CHAINING;
	s->chain_order = p->chain_order;
	s->hash_mode = p->hash_mode;
	s->aad_len = p->aad_len;
	return VC_OK;
}

uint8_t vc_session_new(struct vc_dev *d, const struct vc_sess_params *p,
		       struct vc_stateless_ctx *borrow, struct vc_session *stack,
		       struct vc_session **ret)
{
	struct vc_session *s = borrow ? stack : calloc(1, sizeof(*s));
	*ret = NULL;
	if (!s)
		return VC_ERR;
	if (borrow) {
		memset(s, 0, sizeof(*s));
		s->borrowed = true;
		s->sl = borrow;
	} else {
		pthread_mutex_init(&s->lock, NULL);
	}
	atomic_init(&s->refs, 1);
	s->service = p->service;
	uint8_t st;
	if (!vc_dev_service_enabled(d, p->service)) {
		st = VC_NOTSUPP;
		goto out;
	}
	switch (p->service) {
	case VC_SERVICE_CIPHER:
		if (p->sym_op == VC_SYM_OP_CIPHER) {
			st = vc_cipher_setup(d, s, p->cipher_algo, p->key, p->key_len, p->op);
			s->sym_op = VC_SYM_OP_CIPHER;
		} else if (p->sym_op == VC_SYM_OP_ALGORITHM_CHAINING) {
			st = setup_algchain(d, s, p);
		} else {
			st = VC_NOTSUPP; /* OP_NONE and unknown operation types */
		}
		break;
	case VC_SERVICE_HASH:
		st = vc_hash_setup(d, s, p->hash_algo, p->hash_result_len);
		break;
	case VC_SERVICE_MAC:
		st = vc_mac_setup(d, s, p->hash_algo, p->auth_key, p->auth_key_len,
				  p->hash_result_len);
		break;
	case VC_SERVICE_AEAD:
		st = vc_aead_setup(d, s, p->aead_algo, p->key, p->key_len, p->tag_len, p->aad_len,
				   p->op);
		break;
	case VC_SERVICE_AKCIPHER:
		st = vc_akcipher_setup(d, s, p);
		break;
	default:
		st = VC_NOTSUPP;
		break;
	}
out:
	if (st != VC_OK) {
		if (borrow) {
			session_release(s);
		} else {
			atomic_store(&s->refs, 1);
			vc_session_put(s);
		}
		return st;
	}
	*ret = s;
	return VC_OK;
}
