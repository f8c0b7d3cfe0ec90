/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A guest's session from creation to destruction: built (session.c), put in
 * the table, remembered for a restart (persist.c) before its id is
 * answered; forgotten and removed on destroy. The control queue and the
 * vhost-user session messages both come here.
 */
#include "crypto_dev.h"

uint8_t vc_create_session(struct vc_dev *d, const struct vc_sess_params *p, bool rev1,
			  uint64_t *ret_id)
{
	uint8_t full = rev1 ? VC_NOSPC : VC_ERR; /* NOSPC exists only with REVISION_1 */
	/* Cheap early refusal: a full table does not make us parse keys. */
	if (!vc_table_has_room(&d->table))
		return full;
	struct vc_session *s;
	uint8_t st = vc_session_new(d, p, NULL, NULL, &s);
	if (st != VC_OK)
		return st;
	pthread_mutex_lock(&d->table.life);
	st = vc_table_insert(&d->table, s, ret_id);
	/* Kept for a restart before the id is answered (persist.c), and before a destroy. */
	if (st == VC_OK)
		vc_persist_store(d, *ret_id, p);
	pthread_mutex_unlock(&d->table.life);
	if (st != VC_OK) {
		vc_session_put(s);
		return full;
	}
	atomic_fetch_add_explicit(&d->stats.sessions_created, 1, memory_order_relaxed);
	return VC_OK;
}

uint8_t vc_destroy_session(struct vc_dev *d, uint64_t id)
{
	/*
	 * Forgotten first: once removed, the slot may be reused by another
	 * thread. Both under the life lock: a create of this very id has
	 * written its record, or has not inserted it yet.
	 */
	pthread_mutex_lock(&d->table.life);
	vc_persist_clear(d, id);
	int r = vc_table_remove(&d->table, id);
	pthread_mutex_unlock(&d->table.life);
	if (r < 0)
		return VC_ERR; /* the spec allows OK or ERR for destroy */
	atomic_fetch_add_explicit(&d->stats.sessions_destroyed, 1, memory_order_relaxed);
	return VC_OK;
}
