/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RPMB request handling: the checks, their order and the result codes of
 * README.md ("Result codes"), one store commit per accepted write.
 */
#include "clock.h"
#include "rpmb.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "secmem.h"

const char *rpmb_refusal(const struct rpmb_dev *d)
{
	const struct rpmb_store *s = d->store;
	if (d->rolled_back)
		return d->rollback_reason;
	if (s->failed)
		return "store I/O failed";
	if (s->st.flags & RPMB_ST_IMPORTING)
		return "an import was interrupted";
	if (s->st.flags & RPMB_ST_EXPORTED)
		return "state was exported (migration)";
	return NULL;
}

static bool key_set(const struct rpmb_dev *d)
{
	return d->store->st.flags & RPMB_ST_KEY;
}

static uint16_t expired_bit(const struct rpmb_dev *d)
{
	return d->store->st.counter == RPMB_COUNTER_MAX ? RPMB_RES_WRITE_COUNTER_EXPIRED : 0;
}

/* Sets result (with the expired bit) and response type in n frames, MAC in the last. */
static void finish(struct rpmb_dev *d, struct rpmb_frame *out, size_t n, uint16_t resp,
		   uint16_t result)
{
	result |= expired_bit(d);
	for (size_t i = 0; i < n; i++) {
		rpmb_put16(&out[i], RPMB_OFF_RESULT, result);
		rpmb_put16(&out[i], RPMB_OFF_REQ_RESP, resp);
	}
	/* With a key every response carries a MAC (eMMC); without one it stays zero. */
	if (key_set(d) && rpmb_hmac_frames(d->hmac, d->store->st.key, out, n,
					   out[n - 1].b + RPMB_OFF_KEY_MAC) < 0)
		vt_err("%s: HMAC failed", d->name);
	unsigned r = result & 0x7f;
	atomic_fetch_add_explicit(&d->stats.results[r < 8 ? r : 1], 1, memory_order_relaxed);
	if (result & RPMB_RES_WRITE_COUNTER_EXPIRED)
		atomic_fetch_add_explicit(&d->stats.results[8], 1, memory_order_relaxed);
}

/* One response frame with only type, result (and MAC). */
static size_t simple(struct rpmb_dev *d, struct rpmb_frame *out, size_t out_max, uint16_t resp,
		     uint16_t result)
{
	if (out_max < 1)
		return 0;
	memset(&out[0], 0, sizeof(out[0]));
	finish(d, out, 1, resp, result);
	return 1;
}

static uint16_t resp_type(uint16_t req)
{
	return req >= RPMB_REQ_PROGRAM_KEY && req <= RPMB_REQ_DATA_READ ? (uint16_t)(req << 8) : 0;
}

/*
 * PROGRAM_KEY and DATA_WRITE may end with a RESULT_READ frame: validates it.
 * Returns 1 with a valid one, 0 without, -1 if it is malformed (block count
 * not 1, or no room for the result frame): then nothing is executed and the
 * GENERAL_FAILURE result is returned if there is room for it.
 */
static int trailing_result_read(const struct rpmb_frame *in, size_t nin, size_t out_max)
{
	if (nin < 2 || rpmb_req(&in[nin - 1]) != RPMB_REQ_RESULT_READ)
		return 0;
	if (rpmb_block_count(&in[nin - 1]) != 1 || out_max < 1)
		return -1;
	return 1;
}

static size_t remember(struct rpmb_dev *d, const struct rpmb_frame *res, bool rr,
		       struct rpmb_frame *out)
{
	d->last_result = *res;
	d->have_last = true;
	if (d->resume) {
		d->resume->last_result = *res;
		d->resume->have_last = 1;
	}
	if (!rr)
		return 0;
	out[0] = *res;
	return 1;
}

static size_t program_key(struct rpmb_dev *d, const struct rpmb_frame *in, size_t nin,
			  struct rpmb_frame *out, size_t out_max)
{
	int rr = trailing_result_read(in, nin, out_max);
	size_t nop = nin - (rr > 0);
	struct rpmb_frame res = {0};
	uint16_t result = RPMB_RES_OK;
	if (rr < 0 || nop != 1) {
		result = RPMB_RES_GENERAL_FAILURE; /* a malformed sequence: nothing executed */
	} else if (rpmb_refusal(d)) {
		result = RPMB_RES_GENERAL_FAILURE;
		atomic_fetch_add_explicit(&d->stats.refused, 1, memory_order_relaxed);
	} else if (rpmb_block_count(&in[0]) != 1) {
		result = RPMB_RES_GENERAL_FAILURE;
	} else if (key_set(d)) {
		result = RPMB_RES_WRITE_FAILURE; /* one-time programmable */
	} else {
		struct rpmb_state next = d->store->st;
		memcpy(next.key, in[0].b + RPMB_OFF_KEY_MAC, RPMB_KEY_SIZE);
		next.flags |= RPMB_ST_KEY;
		int r = rpmb_store_commit(d->store, &next, 0, 0, NULL);
		vt_wipe(&next, sizeof(next));
		if (r < 0) {
			vt_err("%s: cannot store the key: %s", d->name, strerror(-r));
			result = RPMB_RES_WRITE_FAILURE;
		} else {
			vt_notice("%s: authentication key programmed", d->name);
		}
	}
	finish(d, &res, 1, RPMB_RESP_PROGRAM_KEY, result);
	return remember(d, &res, rr != 0 && out_max >= 1, out);
}

static size_t get_counter(struct rpmb_dev *d, const struct rpmb_frame *in, size_t nin,
			  struct rpmb_frame *out, size_t out_max)
{
	if (out_max < 1)
		return 0;
	memset(&out[0], 0, sizeof(out[0]));
	memcpy(out[0].b + RPMB_OFF_NONCE, in[0].b + RPMB_OFF_NONCE, RPMB_NONCE_SIZE);
	uint16_t result = RPMB_RES_OK;
	if (nin != 1) {
		result = RPMB_RES_GENERAL_FAILURE;
	} else if (rpmb_refusal(d)) {
		result = RPMB_RES_GENERAL_FAILURE;
		atomic_fetch_add_explicit(&d->stats.refused, 1, memory_order_relaxed);
	} else if (!key_set(d)) {
		result = RPMB_RES_NO_AUTH_KEY;
	} else if (rpmb_block_count(&in[0]) != 1) {
		result = RPMB_RES_GENERAL_FAILURE;
	} else {
		rpmb_put32(&out[0], RPMB_OFF_COUNTER, d->store->st.counter);
	}
	finish(d, out, 1, RPMB_RESP_GET_COUNTER, result);
	return 1;
}

static size_t data_write(struct rpmb_dev *d, const struct rpmb_frame *in, size_t nin,
			 struct rpmb_frame *out, size_t out_max)
{
	uint64_t t0 = vt_now_ns();
	struct rpmb_store *s = d->store;
	int rr = trailing_result_read(in, nin, out_max);
	size_t nop = nin - (rr > 0);
	uint16_t bc = rpmb_block_count(&in[0]), addr = rpmb_address(&in[0]);
	uint16_t result = RPMB_RES_OK;
	bool ops_ok = true;
	for (size_t i = 1; i < nop; i++)
		ops_ok &= rpmb_req(&in[i]) == RPMB_REQ_DATA_WRITE;

	if (rr < 0 || !ops_ok) {
		result = RPMB_RES_GENERAL_FAILURE;
	} else if (rpmb_refusal(d)) {
		result = RPMB_RES_GENERAL_FAILURE;
		atomic_fetch_add_explicit(&d->stats.refused, 1, memory_order_relaxed);
	} else if (!key_set(d)) {
		result = RPMB_RES_NO_AUTH_KEY;
	} else if (bc == 0 || bc > s->geom.max_wr || nop != bc) {
		result = RPMB_RES_GENERAL_FAILURE;
	} else if (s->st.counter == RPMB_COUNTER_MAX) {
		result = RPMB_RES_WRITE_FAILURE; /* + the expired bit from finish() */
	} else if ((uint32_t)addr + bc > s->blocks) {
		result = RPMB_RES_ADDR_FAILURE;
	} else {
		uint8_t mac[RPMB_MAC_SIZE];
		if (rpmb_hmac_frames(d->hmac, s->st.key, in, nop, mac) < 0) {
			result = RPMB_RES_GENERAL_FAILURE;
		} else if (vt_ct_memcmp(mac, in[nop - 1].b + RPMB_OFF_KEY_MAC, RPMB_MAC_SIZE) !=
			   0) {
			result = RPMB_RES_AUTH_FAILURE;
		} else if (d->redo && d->resume && d->resume->valid &&
			   d->resume->counter_after == s->st.counter &&
			   rpmb_counter(&in[0]) + 1 == s->st.counter &&
			   vt_ct_memcmp(d->resume->req_mac, in[nop - 1].b + RPMB_OFF_KEY_MAC,
					RPMB_MAC_SIZE) == 0) {
			/* In flight at a crash and committed before it: the same answer, not a
			 * second execution (that would answer COUNT_FAILURE for a write that
			 * happened). */
			vt_notice("%s: write of %u blocks at %u committed before the restart: its "
				  "result is delivered again", d->name, bc, addr);
		} else if (rpmb_counter(&in[0]) != s->st.counter) {
			result = RPMB_RES_COUNT_FAILURE;
		} else {
			/* Gather the blocks straight into the journal record buffer. */
			rpmb_store_apply(s); /* frees the record buffer */
			uint8_t *buf = rpmb_store_rec_data(s);
			for (size_t i = 0; i < nop; i++)
				memcpy(buf + i * RPMB_BLOCK_SIZE, in[i].b + RPMB_OFF_DATA,
				       RPMB_BLOCK_SIZE);
			struct rpmb_state next = s->st;
			next.counter++;
			if (d->resume) {
				/* Recorded before the commit: a crash after it is recognised. */
				d->resume->valid = 0;
				__atomic_signal_fence(__ATOMIC_SEQ_CST);
				memcpy(d->resume->req_mac, in[nop - 1].b + RPMB_OFF_KEY_MAC,
				       RPMB_MAC_SIZE);
				d->resume->counter_after = next.counter;
				__atomic_signal_fence(__ATOMIC_SEQ_CST);
				d->resume->valid = 1;
			}
			bool bump = rpmb_anchor_due(d); /* rides on this record: no extra flush */
			if (bump)
				next.anchor++;
			int r = rpmb_store_commit(s, &next, addr, bc, buf);
			if (r == 0)
				rpmb_anchor_committed(d, bump);
			vt_wipe(&next, sizeof(next));
			if (r < 0) {
				vt_err("%s: write of %u blocks at %u failed: %s", d->name, bc, addr,
				       strerror(-r));
				result = RPMB_RES_WRITE_FAILURE;
			} else {
				atomic_fetch_add_explicit(&d->stats.writes_ok, 1,
							  memory_order_relaxed);
				atomic_fetch_add_explicit(&d->stats.blocks_written, bc,
							  memory_order_relaxed);
			}
		}
	}
	struct rpmb_frame res = {0};
	rpmb_put32(&res, RPMB_OFF_COUNTER, s->st.counter);
	rpmb_put16(&res, RPMB_OFF_ADDRESS, addr);
	rpmb_put16(&res, RPMB_OFF_BLOCK_COUNT, bc);
	finish(d, &res, 1, RPMB_RESP_DATA_WRITE, result);
	size_t n = remember(d, &res, rr != 0 && out_max >= 1, out);
	if (result == RPMB_RES_OK) {
		uint64_t dt = vt_now_ns() - t0;
		d->stats.wr_lat_ns_sum += dt;
		d->stats.wr_lat_n++;
		d->stats.wr_lat_hist[VT_MIN(dt / 1000, (uint64_t)RPMB_LAT_BUCKETS - 1)]++;
	}
	return n;
}

static size_t data_read(struct rpmb_dev *d, const struct rpmb_frame *in, size_t nin,
			struct rpmb_frame *out, size_t out_max)
{
	if (out_max < 1)
		return 0;
	struct rpmb_store *s = d->store;
	uint16_t bc = rpmb_block_count(&in[0]), addr = rpmb_address(&in[0]);
	bool bc_ok = bc >= 1 && bc <= d->max_rd && bc <= out_max;
	size_t n = bc_ok ? bc : 1;
	uint16_t result = RPMB_RES_OK;
	if (nin != 1) {
		result = RPMB_RES_GENERAL_FAILURE;
	} else if (rpmb_refusal(d)) {
		result = RPMB_RES_GENERAL_FAILURE;
		atomic_fetch_add_explicit(&d->stats.refused, 1, memory_order_relaxed);
	} else if (!key_set(d)) {
		result = RPMB_RES_NO_AUTH_KEY;
	} else if (!bc_ok) {
		result = RPMB_RES_GENERAL_FAILURE;
	} else if ((uint32_t)addr + bc > s->blocks) {
		result = RPMB_RES_ADDR_FAILURE;
	}
	memset(out, 0, n * sizeof(out[0]));
	if (result == RPMB_RES_OK) {
		if (rpmb_store_read(s, addr, bc, d->scratch) < 0)
			result = RPMB_RES_READ_FAILURE;
		for (size_t i = 0; i < n && result == RPMB_RES_OK; i++)
			memcpy(out[i].b + RPMB_OFF_DATA, d->scratch + i * RPMB_BLOCK_SIZE,
			       RPMB_BLOCK_SIZE);
		if (result != RPMB_RES_OK)
			memset(out, 0, n * sizeof(out[0]));
		else
			atomic_fetch_add_explicit(&d->stats.blocks_read, n, memory_order_relaxed);
	}
	for (size_t i = 0; i < n; i++) {
		memcpy(out[i].b + RPMB_OFF_NONCE, in[0].b + RPMB_OFF_NONCE, RPMB_NONCE_SIZE);
		rpmb_put16(&out[i], RPMB_OFF_ADDRESS, addr);
		rpmb_put16(&out[i], RPMB_OFF_BLOCK_COUNT, bc);
	}
	finish(d, out, n, RPMB_RESP_DATA_READ, result);
	return n;
}

static size_t result_read(struct rpmb_dev *d, const struct rpmb_frame *in, size_t nin,
			  struct rpmb_frame *out, size_t out_max)
{
	if (nin != 1 || rpmb_block_count(&in[0]) != 1 || !d->have_last)
		return simple(d, out, out_max, 0, RPMB_RES_GENERAL_FAILURE);
	if (out_max < 1)
		return 0;
	out[0] = d->last_result;
	return 1;
}

size_t rpmb_request(struct rpmb_dev *d, const struct rpmb_frame *in, size_t nin, bool malformed,
		    struct rpmb_frame *out, size_t out_max)
{
	uint16_t req = nin ? rpmb_req(&in[0]) : 0;
	atomic_fetch_add_explicit(
	    &d->stats.requests[req <= RPMB_REQ_RESULT_READ && !malformed ? req : 0], 1,
	    memory_order_relaxed);
	pthread_mutex_lock(&d->lock);
	size_t n;
	if (nin == 0 || malformed) {
		n = simple(d, out, out_max, resp_type(req), RPMB_RES_GENERAL_FAILURE);
		if (req == RPMB_REQ_PROGRAM_KEY || req == RPMB_REQ_DATA_WRITE) {
			struct rpmb_frame res = {0};
			finish(d, &res, 1, resp_type(req), RPMB_RES_GENERAL_FAILURE);
			(void)remember(d, &res, false, out);
		}
	} else {
		switch (req) {
		case RPMB_REQ_PROGRAM_KEY:
			n = program_key(d, in, nin, out, out_max);
			break;
		case RPMB_REQ_GET_WRITE_COUNTER:
			n = get_counter(d, in, nin, out, out_max);
			break;
		case RPMB_REQ_DATA_WRITE:
			n = data_write(d, in, nin, out, out_max);
			break;
		case RPMB_REQ_DATA_READ:
			n = data_read(d, in, nin, out, out_max);
			break;
		case RPMB_REQ_RESULT_READ:
			n = result_read(d, in, nin, out, out_max);
			break;
		default:
			n = simple(d, out, out_max, 0, RPMB_RES_GENERAL_FAILURE);
			break;
		}
	}
	pthread_mutex_unlock(&d->lock);
	return n;
}

int rpmb_dev_from_store(struct rpmb_store *s, uint8_t max_rd, struct rpmb_dev **ret)
{
	struct rpmb_dev *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	pthread_mutex_init(&d->lock, NULL);
	snprintf(d->name, sizeof(d->name), "rpmb");
	d->store = s;
	d->max_rd = max_rd ? max_rd : 1;
	d->in_cap = (size_t)s->geom.max_wr + 1;
	d->out_cap = d->max_rd;
	d->in = calloc(d->in_cap, sizeof(*d->in));
	d->out = calloc(d->out_cap, sizeof(*d->out));
	d->scratch = malloc((size_t)d->max_rd * RPMB_BLOCK_SIZE);
	d->hmac = rpmb_hmac_new();
	if (!d->in || !d->out || !d->scratch || !d->hmac) {
		d->store = NULL;
		rpmb_dev_free(d);
		return -ENOMEM;
	}
	*ret = d;
	return 0;
}

void rpmb_apply_pending(struct rpmb_dev *d)
{
	pthread_mutex_lock(&d->lock);
	rpmb_store_apply(d->store);
	rpmb_anchor_sync(d); /* after the answers: the TPM's latency is not the guest's */
	pthread_mutex_unlock(&d->lock);
}

void rpmb_dev_free(struct rpmb_dev *d)
{
	if (!d)
		return;
	if (d->store) {
		pthread_mutex_lock(&d->lock);
		rpmb_anchor_close(d); /* a clean shutdown closes the detection window */
		pthread_mutex_unlock(&d->lock);
	}
	rpmb_store_close(d->store);
	if (d->mig_key)
		vt_secmem_free(d->mig_key);
	rpmb_hmac_free(d->hmac);
	vt_wipe(&d->last_result, sizeof(d->last_result));
	if (d->in)
		vt_wipe(d->in, d->in_cap * sizeof(*d->in));
	if (d->out)
		vt_wipe(d->out, d->out_cap * sizeof(*d->out));
	free(d->in);
	free(d->out);
	free(d->scratch);
	free(d->store_path);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

int rpmb_dev_new(const struct rpmb_opts *o, struct rpmb_dev **ret)
{
	char err[256] = "";
	struct rpmb_store *s = NULL;
	int r = rpmb_store_open_file(o->store_path, &o->create, &s, err, sizeof(err));
	if (r < 0) {
		vt_err("%s: rpmb store %s: %s", o->name, o->store_path, err);
		return r;
	}
	if ((o->capacity_set && o->create.geom.capacity != s->geom.capacity) ||
	    (o->max_wr_set && o->create.geom.max_wr != s->geom.max_wr)) {
		vt_err("%s: rpmb store %s has capacity %u and max_wr_cnt %u; the options ask for "
		       "%u and %u",
		       o->name, o->store_path, s->geom.capacity, s->geom.max_wr,
		       o->create.geom.capacity, o->create.geom.max_wr);
		rpmb_store_close(s);
		return -EINVAL;
	}
	struct rpmb_dev *d;
	r = rpmb_dev_from_store(s, o->max_rd, &d);
	if (r < 0) {
		rpmb_store_close(s);
		return r;
	}
	snprintf(d->name, sizeof(d->name), "%s", o->name);
	d->store_path = strdup(o->store_path);
	if (o->migration_key_path) {
		d->mig_key = vt_secmem_alloc(RPMB_KEY_SIZE);
		r = d->mig_key
			? rpmb_read_key_file(o->migration_key_path, d->mig_key, err, sizeof(err))
			: -ENOMEM;
		if (r < 0) {
			vt_err("%s: migration key %s: %s", o->name, o->migration_key_path, err);
			rpmb_dev_free(d);
			return r;
		}
	}
	if (o->master_key_path) {
		uint8_t *master = vt_secmem_alloc(2 * RPMB_KEY_SIZE);
		r = master ? rpmb_read_key_file(o->master_key_path, master, err, sizeof(err))
			   : -ENOMEM;
		if (r < 0)
			vt_err("%s: master key %s: %s", o->name, o->master_key_path, err);
		if (r == 0)
			r = rpmb_derive_key(master, o->vm_id, master + RPMB_KEY_SIZE);
		if (r == 0) {
			r = rpmb_provision_key(d, master + RPMB_KEY_SIZE, err, sizeof(err));
			if (r < 0)
				vt_err("%s: key provisioning for vm_id %s: %s", o->name, o->vm_id,
				       err);
		}
		vt_secmem_free(master);
		if (r < 0) {
			rpmb_dev_free(d);
			return r;
		}
	}
	pthread_mutex_lock(&d->lock);
	r = rpmb_anchor_open(d, o->tpm, o->tpm_nv_index, err, sizeof(err));
	pthread_mutex_unlock(&d->lock);
	if (r < 0) {
		vt_err("%s: rpmb store %s: rollback anchor (tpm %s): %s", o->name, o->store_path,
		       o->tpm, err);
		rpmb_dev_free(d);
		return r;
	}
	const char *why = rpmb_refusal(d);
	vt_info("%s: rpmb store %s: counter %u, key %s, capacity %u × 128 KiB%s%s", d->name,
		o->store_path, s->st.counter, key_set(d) ? "programmed" : "not programmed",
		s->geom.capacity, why ? "; REFUSING SERVICE: " : "", why ? why : "");
	*ret = d;
	return 0;
}
