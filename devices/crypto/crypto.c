/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The virtio-crypto device (virtio id 20): device ops and creation (the
 * vtrustd type, options, metrics and status are type.c's). See README.md
 * for what is offered, the options and the status-code table; crypto_dev.h
 * for how the files fit together.
 *
 * Queues: data queues 0..N-1 (one worker each, N = option `queues`), the
 * control queue at index N. QEMU 7.2 starts only data queue 0 and keeps the
 * control queue to itself (sessions arrive as CREATE_CRYPTO_SESSION on the
 * protocol thread); it never sends SET_VRING_ENABLE for crypto rings, hence
 * serve_without_enable.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "clock.h"
#include "crypto_dev.h"
#include "device.h"
#include "log.h"
#include "secmem.h"

void vc_dev_free(struct vc_dev *d)
{
	if (!d)
		return;
	for (unsigned i = 0; d->qctx && i < d->nqueues; i++)
		vc_qctx_free(&d->qctx[i]);
	free(d->qctx);
	vc_table_destroy(&d->table);
	vc_dev_free_openssl(d);
	free(d);
}

int vc_dev_new(const char *name, const struct vc_opts *o, struct vc_dev **ret)
{
	struct vc_dev *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	snprintf(d->name, sizeof(d->name), "%s", name ? name : "crypto");
	d->opts = *o;
	int e = vc_dev_init_openssl(d);
	if (e < 0)
		goto fail;
	vc_dev_build_config(d);
	e = vc_table_init(&d->table, o->max_sessions);
	if (e < 0)
		goto fail;
	d->nqueues = o->dataqueues + 1;
	d->qctx = calloc(d->nqueues, sizeof(*d->qctx));
	if (!d->qctx) {
		e = -ENOMEM;
		goto fail;
	}
	for (unsigned i = 0; i < d->nqueues; i++)
		if ((e = vc_qctx_init(d, &d->qctx[i], i)) < 0)
			goto fail;
	vt_info("%s: crypto device: %u data queue(s), services 0x%x, cipher 0x%x, hash 0x%x, "
		"mac 0x%x/0x%x, aead 0x%x, akcipher 0x%x, %u sessions, max_size %llu",
		d->name, o->dataqueues, d->config.crypto_services, d->config.cipher_algo_l,
		d->config.hash_algo, d->config.mac_algo_l, d->config.mac_algo_h,
		d->config.aead_algo, d->config.akcipher_algo, o->max_sessions,
		(unsigned long long)o->max_size);
	*ret = d;
	return 0;
fail:
	vc_dev_free(d);
	return e;
}

/* ---- vt_device_ops -------------------------------------------------------------- */

static uint64_t crypto_get_features(void *priv)
{
	struct vc_dev *d = priv;
	return d->offered_features;
}

static void crypto_set_features(void *priv, uint64_t features)
{
	struct vc_dev *d = priv;
	/* Only what we offered counts (QEMU 7.2 sends bit 30 alone: legacy layouts). */
	atomic_store(&d->features, features & d->offered_features);
}

static uint16_t crypto_num_queues(void *priv)
{
	struct vc_dev *d = priv;
	return (uint16_t)d->nqueues;
}

static int crypto_get_config(void *priv, uint32_t off, void *buf, uint32_t len)
{
	struct vc_dev *d = priv;
	if (off > sizeof(d->config) || len > sizeof(d->config) - off)
		return -EINVAL;
	memcpy(buf, (const uint8_t *)&d->config + off, len);
	return 0;
}

static struct vt_verdict ctrl_handler(void *priv, struct vt_queue *q, struct vt_chain *c)
{
	(void)q;
	return vt_used_or_malformed(vc_ctrlq_chain(priv, c));
}

static struct vt_verdict data_handler(void *priv, struct vt_queue *q, struct vt_chain *c);
static const struct vt_server ctrl_server = {.chain = ctrl_handler};
/*
 * Data queues call the driver half-way through a long batch too: a driver with
 * many requests in flight refills while this worker is still busy with the
 * other half, so the worker never runs dry between batches (crypto-e2e at
 * depth 64). At depth < 16 this is one call per batch, as before.
 */
static const struct vt_server data_server = {.chain = data_handler, .notify_mid_batch = true};

/*
 * Worker time is charged per chain (one vDSO clock read each): the time since
 * the previous checkpoint, so pop, push and notify of a batch are counted
 * too, and a serve loop that never returns under load still reports.
 */
static struct vt_verdict data_handler(void *priv, struct vt_queue *q, struct vt_chain *c)
{
	(void)q;
	struct vc_qctx *qc = priv;
	int r = vc_dataq_chain(qc, c);
	uint64_t t = vt_now_ns();
	atomic_fetch_add_explicit(&qc->dev->stats.busy_ns, t - qc->busy_mark, memory_order_relaxed);
	qc->busy_mark = t;
	return vt_used_or_malformed(r);
}

static void crypto_queue_handle(void *priv, struct vt_queue *q)
{
	struct vc_dev *d = priv;
	unsigned qi = vt_queue_index(q);
	if (qi >= d->nqueues)
		return;
	struct vc_qctx *qc = &d->qctx[qi];
	if (qi == d->opts.dataqueues) {
		(void)vt_queue_serve(q, &ctrl_server, qc);
		return;
	}
	qc->busy_mark = vt_now_ns();
	(void)vt_queue_serve(q, &data_server, qc);
	atomic_fetch_add_explicit(&d->stats.busy_ns, vt_now_ns() - qc->busy_mark, memory_order_relaxed);
}

static int crypto_extra_message(void *priv, uint32_t request, const void *payload, uint32_t size,
				void *reply, uint32_t *reply_size)
{
	return vc_vhost_message(priv, request, payload, size, reply, reply_size);
}

const struct vt_device_ops vc_crypto_ops = {
	.type = "crypto",
	.virtio_id = VIRTIO_ID_CRYPTO,
	.get_features = crypto_get_features,
	/* F_CONFIG only with the option config_space=true (type.c: crypto_attach). */
	.protocol_features = VT_BIT(VHOST_USER_PROTOCOL_F_CRYPTO_SESSION),
	.num_queues = crypto_num_queues,
	.max_queue_size = 1024,
	.serve_without_enable = true,
	.set_features = crypto_set_features,
	.get_config = crypto_get_config,
	.queue_handle = crypto_queue_handle,
	.extra_message = crypto_extra_message,
	.resume_size = vc_persist_size,
	.resume_attach = vc_persist_attach,
	/* Linux encrypts in place: a chain in flight at a crash is redone from its input. */
	.inflight_keep_input = true,
};
