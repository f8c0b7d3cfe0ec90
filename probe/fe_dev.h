/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One emulated virtio device = guest memory + a connection + its queues,
 * driven through the QEMU 7.2 sequences. This is what device commands and
 * conformance cases hold; the pieces stay reachable (d->vu, d->mem, d->vqs)
 * for anything the sequences do not cover.
 */
#ifndef VTRUST_PROBE_FE_DEV_H
#define VTRUST_PROBE_FE_DEV_H

#include "fe_mem.h"
#include "fe_seq.h"
#include "fe_vq.h"
#include "fe_vu.h"

#define FE_DEV_MAX_VQS 16
#define FE_DEV_DEFAULT_QUEUE_SIZE 256
#define FE_DEV_DEFAULT_TIMEOUT_MS 2000

enum fe_feat_mode {
	FE_FEAT_AUTO,  /* SET_FEATURES = offered & (FE_DRIVER_FEATURES | device_features) */
	FE_FEAT_EXACT, /* SET_FEATURES = features, whatever was offered (QEMU 7.2 presets) */
};

struct fe_dev_opts {
	const char *socket_path;
	int timeout_ms; /* every reply wait; 0 = FE_DEV_DEFAULT_TIMEOUT_MS */
	struct fe_mem_opts mem;
	unsigned nvqs;	     /* 0 = 1 */
	uint16_t queue_size; /* 0 = FE_DEV_DEFAULT_QUEUE_SIZE */
	struct fe_vu_init_opts init;
	enum fe_vu_ack_policy ack_policy;
	enum fe_feat_mode feat_mode;
	uint64_t features;	  /* FE_FEAT_EXACT */
	uint64_t device_features; /* FE_FEAT_AUTO: device bits (0-23 etc.) to ack if offered */
	/* How our rings behave (EVENT_IDX, INDIRECT). Default: what SET_FEATURES acked. */
	bool ring_features_set;
	uint64_t ring_features;
	bool no_vring_enable;
	bool indirect; /* fe_dev_submit() uses one indirect table per chain */
	enum fe_vq_wait_mode wait_mode;
};

/* Defaults: Q35 64 MiB, 1 queue of 256, QEMU ack policy, FE_FEAT_AUTO. */
void fe_dev_opts_init(struct fe_dev_opts *o);

struct fe_dev {
	struct fe_dev_opts opts;
	struct fe_mem *mem;
	struct fe_vu *vu;
	struct fe_vq *vqs[FE_DEV_MAX_VQS];
	unsigned nvqs;
	uint64_t ring_features; /* what fe_dev_start() set on the vqs */
	bool started;
};

/* Memory, queues and the connection; nothing sent yet (hostile tests start here). */
VT_MUST_USE int fe_dev_connect(const struct fe_dev_opts *opts, struct fe_dev **ret);
/* The init sequence. */
VT_MUST_USE int fe_dev_negotiate(struct fe_dev *d);
/* fe_dev_connect + fe_dev_negotiate. */
VT_MUST_USE int fe_dev_open(const struct fe_dev_opts *opts, struct fe_dev **ret);
/* The start sequence with the configured features. */
VT_MUST_USE int fe_dev_start(struct fe_dev *d);
/* The stop sequence (GET_VRING_BASE per queue). */
VT_MUST_USE int fe_dev_stop(struct fe_dev *d);
/*
 * Restarts one ring from scratch, as after a guest reset: GET_VRING_BASE,
 * fresh ring areas, SET_VRING_NUM/BASE 0/ADDR/KICK/ENABLE/CALL.
 */
VT_MUST_USE int fe_dev_restart_vq(struct fe_dev *d, unsigned q);
/* Closes the connection and frees everything. Accepts NULL; returns NULL. */
struct fe_dev *fe_dev_close(struct fe_dev *d);

/* One request on queue q: add (indirect per opts), kick, wait, get used. */
VT_MUST_USE int fe_dev_submit(struct fe_dev *d, unsigned q, const struct fe_seg *segs,
			      unsigned nsegs, struct fe_used *ret);
/* The most specific failure reason: the connection's, else queue q's. */
const char *fe_dev_error(const struct fe_dev *d, unsigned q);

/* Parses "auto", "qemu-rng", "qemu-crypto" or a number into mode/features. */
int fe_feat_parse(const char *s, enum fe_feat_mode *ret_mode, uint64_t *ret_features);

#endif
