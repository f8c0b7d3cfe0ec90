/* SPDX-License-Identifier: Apache-2.0 */
#include "fe_dev.h"

#include <stdio.h>
#include <string.h>

void fe_dev_opts_init(struct fe_dev_opts *o)
{
	*o = (struct fe_dev_opts){
	    .timeout_ms = FE_DEV_DEFAULT_TIMEOUT_MS,
	    .nvqs = 1,
	    .queue_size = FE_DEV_DEFAULT_QUEUE_SIZE,
	    .init = FE_VU_INIT_OPTS_DEFAULT,
	    .ack_policy = FE_VU_ACK_QEMU,
	    .feat_mode = FE_FEAT_AUTO,
	};
}

int fe_dev_connect(const struct fe_dev_opts *opts, struct fe_dev **ret)
{
	struct fe_dev *d = calloc(1, sizeof(*d));
	int r;

	if (!d)
		return -ENOMEM;
	d->opts = *opts;
	if (d->opts.timeout_ms == 0)
		d->opts.timeout_ms = FE_DEV_DEFAULT_TIMEOUT_MS;
	if (d->opts.queue_size == 0)
		d->opts.queue_size = FE_DEV_DEFAULT_QUEUE_SIZE;
	d->nvqs = d->opts.nvqs ? d->opts.nvqs : 1;
	if (d->nvqs > FE_DEV_MAX_VQS || !d->opts.socket_path) {
		r = -EINVAL;
		goto fail;
	}
	r = fe_mem_create(&d->opts.mem, &d->mem);
	if (r < 0)
		goto fail;
	for (unsigned i = 0; i < d->nvqs; i++) {
		r = fe_vq_create(d->mem, i, d->opts.queue_size, &d->vqs[i]);
		if (r < 0)
			goto fail;
	}
	r = fe_vu_connect(d->opts.socket_path, d->opts.timeout_ms, &d->vu);
	if (r < 0)
		goto fail;
	d->vu->ack_policy = d->opts.ack_policy;
	*ret = d;
	return 0;
fail:
	fe_dev_close(d);
	return r;
}

int fe_dev_negotiate(struct fe_dev *d)
{
	return fe_vu_negotiate(d->vu, &d->opts.init, d->vqs, d->nvqs);
}

int fe_dev_open(const struct fe_dev_opts *opts, struct fe_dev **ret)
{
	struct fe_dev *d;
	int r = fe_dev_connect(opts, &d);
	if (r < 0)
		return r;
	r = fe_dev_negotiate(d);
	if (r < 0) {
		fe_dev_close(d);
		return r;
	}
	*ret = d;
	return 0;
}

static struct fe_vu_start_opts start_opts(const struct fe_dev *d)
{
	uint64_t f = d->opts.feat_mode == FE_FEAT_EXACT
			 ? d->opts.features
			 : d->vu->features & (FE_DRIVER_FEATURES | d->opts.device_features);
	return (struct fe_vu_start_opts){.features = f, .no_vring_enable = d->opts.no_vring_enable};
}

int fe_dev_start(struct fe_dev *d)
{
	struct fe_vu_start_opts so = start_opts(d);

	d->ring_features = d->opts.ring_features_set ? d->opts.ring_features : so.features;
	for (unsigned i = 0; i < d->nvqs; i++)
		fe_vq_set_features(d->vqs[i], d->ring_features);
	int r = fe_vu_start(d->vu, &so, d->mem, d->vqs, d->nvqs);
	if (r == 0)
		d->started = true;
	return r;
}

int fe_dev_stop(struct fe_dev *d)
{
	struct fe_vu_start_opts so = start_opts(d);
	int r = fe_vu_stop(d->vu, &so, d->vqs, d->nvqs);
	d->started = false;
	return r;
}

int fe_dev_restart_vq(struct fe_dev *d, unsigned q)
{
	struct fe_vq *vq = d->vqs[q];
	bool enable = !d->opts.no_vring_enable;
	int r;

	r = fe_vu_vq_stop(d->vu, vq, enable);
	if (r < 0)
		return r;
	r = fe_vq_reset(vq, true);
	if (r < 0)
		return fe_vu_fail(d->vu, r, "no guest memory for fresh ring areas");
	fe_vq_set_features(vq, d->ring_features);
	return fe_vu_vq_start(d->vu, vq, enable);
}

struct fe_dev *fe_dev_close(struct fe_dev *d)
{
	if (!d)
		return NULL;
	fe_vu_close(d->vu);
	for (unsigned i = 0; i < FE_DEV_MAX_VQS; i++)
		fe_vq_free(d->vqs[i]);
	fe_mem_free(d->mem);
	free(d);
	return NULL;
}

int fe_dev_submit(struct fe_dev *d, unsigned q, const struct fe_seg *segs, unsigned nsegs,
		  struct fe_used *ret)
{
	unsigned flags = d->opts.indirect ? FE_VQ_ADD_INDIRECT : 0;
	if (q >= d->nvqs)
		return -EINVAL;
	return fe_vq_submit(d->vqs[q], segs, nsegs, flags, d->opts.timeout_ms, ret);
}

const char *fe_dev_error(const struct fe_dev *d, unsigned q)
{
	if (q < d->nvqs && d->vqs[q] && d->vqs[q]->broken)
		return d->vqs[q]->error;
	if (d->vu && d->vu->error[0])
		return d->vu->error;
	return "no detail";
}

int fe_feat_parse(const char *s, enum fe_feat_mode *ret_mode, uint64_t *ret_features)
{
	char *end;

	if (strcmp(s, "auto") == 0) {
		*ret_mode = FE_FEAT_AUTO;
		*ret_features = 0;
		return 0;
	}
	if (strcmp(s, "qemu-rng") == 0 || strcmp(s, "qemu-crypto") == 0) {
		*ret_mode = FE_FEAT_EXACT;
		*ret_features = s[5] == 'r' ? FE_FEATURES_QEMU72_RNG : FE_FEATURES_QEMU72_CRYPTO;
		return 0;
	}
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s || *end)
		return -EINVAL;
	*ret_mode = FE_FEAT_EXACT;
	*ret_features = v;
	return 0;
}
