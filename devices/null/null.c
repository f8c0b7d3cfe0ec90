/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The null device: a test device for the core. One queue; each chain is
 * completed by copying min(readable, writable) bytes from its readable part
 * to its writable part. It proves the core (rings, protocol, workers) with no
 * device logic in the way, and is the benchmark's round-trip target.
 * Virtio id 0 is "reserved (invalid)": no guest driver will bind to it.
 */
#include <stdlib.h>
#include <string.h>

#include "registry.h"

struct null_dev {
	uint64_t queue_size;
	bool config;
	uint8_t config_space[8];
};

static uint64_t null_features(void *priv)
{
	(void)priv;
	return 0;
}

static uint16_t null_num_queues(void *priv)
{
	(void)priv;
	return 1;
}

static struct vt_verdict null_chain(void *priv, struct vt_queue *q, struct vt_chain *c)
{
	(void)priv;
	(void)q;
	size_t n = VT_MIN(vt_chain_readable(c), vt_chain_writable(c));
	if (vt_chain_copy(c, n) < 0)
		return vt_malformed();
	return vt_used(n);
}

static const struct vt_server null_server = {.chain = null_chain};

static void null_queue_handle(void *priv, struct vt_queue *q)
{
	(void)vt_queue_serve(q, &null_server, priv);
}

static int null_get_config(void *priv, uint32_t off, void *buf, uint32_t len)
{
	struct null_dev *n = priv;
	if (off > sizeof(n->config_space) || len > sizeof(n->config_space) - off)
		return -EINVAL;
	memcpy(buf, n->config_space + off, len);
	return 0;
}

static const struct vt_device_ops null_ops = {
	.type = "null",
	.virtio_id = 0,
	.get_features = null_features,
	.protocol_features = VT_BIT(VHOST_USER_PROTOCOL_F_CONFIG),
	.num_queues = null_num_queues,
	.max_queue_size = 1024,
	.get_config = null_get_config,
	.queue_handle = null_queue_handle,
};

static int null_check(const struct vt_devcfg *cfg)
{
	static const char *const known[] = {NULL};
	return vt_devcfg_check_keys(cfg, known);
}

static int null_create(const struct vt_devcfg *cfg, void **ret)
{
	if (null_check(cfg) < 0)
		return -EINVAL;
	struct null_dev *n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	memcpy(n->config_space, "vtnull\0\0", 8);
	*ret = n;
	return 0;
}

static void null_destroy(void *priv)
{
	free(priv);
}

const struct vt_device_type vt_null_device_type = {
	.type = "null",
	.summary = "test device: copies each request's readable bytes to its writable part",
	.ops = &null_ops,
	.create = null_create,
	.check = null_check,
	.destroy = null_destroy,
};
