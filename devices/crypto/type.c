/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The vtrustd device type "crypto": options (README.md lists them),
 * creation, metrics and `vtrustctl status`. The device itself is
 * libvtrust-crypto (crypto.c and friends), which tests link without the
 * registry.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "crypto_dev.h"
#include "log.h"
#include "registry.h"

int vc_opts_parse(const struct vt_devcfg *cfg, struct vc_opts *o)
{
	static const char *const known[] = {
		"queues",        "max_sessions",   "max_size",        "max_cipher_key_len",
		"max_auth_key_len", "max_akcipher_key_len", "revision_1", "stateless",
		"algorithms",    "openssl_config", "openssl_providers", "openssl_propq",
		"secure_heap",   "config_space", NULL,
	};
	vc_opts_default(o);
	if (vt_devcfg_check_keys(cfg, known) < 0)
		return -EINVAL;
	uint64_t v;
	if (vt_devcfg_u64(cfg, "queues", o->dataqueues, 1, 64, &v) < 0)
		return -EINVAL;
	o->dataqueues = (uint32_t)v;
	if (vt_devcfg_u64(cfg, "max_sessions", o->max_sessions, 1, VC_MAX_SESSIONS, &v) < 0)
		return -EINVAL;
	o->max_sessions = (uint32_t)v;
	if (vt_devcfg_u64(cfg, "max_size", o->max_size, 4096, 64u << 20, &v) < 0)
		return -EINVAL;
	o->max_size = v;
	if (vt_devcfg_u64(cfg, "max_cipher_key_len", o->max_cipher_key_len, 8, 64, &v) < 0)
		return -EINVAL;
	o->max_cipher_key_len = (uint32_t)v;
	if (vt_devcfg_u64(cfg, "max_auth_key_len", o->max_auth_key_len, 1, 1024, &v) < 0)
		return -EINVAL;
	o->max_auth_key_len = (uint32_t)v;
	if (vt_devcfg_u64(cfg, "max_akcipher_key_len", o->max_akcipher_key_len, 64, 8192, &v) < 0)
		return -EINVAL;
	o->max_akcipher_key_len = (uint32_t)v;
	if (vt_devcfg_bool(cfg, "revision_1", o->revision_1, &o->revision_1) < 0)
		return -EINVAL;
	if (vt_devcfg_bool(cfg, "stateless", o->stateless, &o->stateless) < 0)
		return -EINVAL;
	if (vt_devcfg_bool(cfg, "config_space", o->config_space, &o->config_space) < 0)
		return -EINVAL;
	if (vt_devcfg_u64(cfg, "secure_heap", o->secure_heap, 0, 1u << 30, &v) < 0)
		return -EINVAL;
	if (v & (v - 1)) {
		return vt_devcfg_error(cfg, "secure_heap", "not a power of two",
				       "0 or a power of two up to 1073741824");
	}
	o->secure_heap = v;
	if (o->stateless && !o->revision_1) {
		vt_err("%s: stateless=true needs revision_1=true (the spec ties them)", cfg->name);
		return -EINVAL;
	}
	o->algorithms = vt_devcfg_get(cfg, "algorithms");
	o->ossl_config = vt_devcfg_get(cfg, "openssl_config");
	o->ossl_providers = vt_devcfg_get(cfg, "openssl_providers");
	o->ossl_propq = vt_devcfg_get(cfg, "openssl_propq");
	return 0;
}

/* ---- vt_device_type ------------------------------------------------------------- */

static int crypto_check(const struct vt_devcfg *cfg)
{
	struct vc_opts o;
	if (vc_opts_parse(cfg, &o) < 0)
		return -EINVAL;
	char why[96], valid[640];
	if (vc_check_algorithms(o.algorithms, why, sizeof(why)) < 0) {
		vc_algorithm_names(valid, sizeof(valid));
		return vt_devcfg_error(cfg, "algorithms", why, valid);
	}
	return 0;
}

static int crypto_create(const struct vt_devcfg *cfg, void **ret)
{
	struct vc_opts o;
	if (vc_opts_parse(cfg, &o) < 0)
		return -EINVAL;
	struct vc_dev *d;
	int e = vc_dev_new(cfg->name, &o, &d);
	if (e < 0)
		return e;
	/* Option strings belong to cfg: keep our own copy of what we use later. */
	d->opts.algorithms = d->opts.ossl_config = d->opts.ossl_providers = NULL;
	d->opts.ossl_propq = NULL;
	*ret = d;
	return 0;
}

/*
 * VHOST_USER_PROTOCOL_F_CONFIG only with config_space=true: QEMU's virtio-crypto front-end
 * presents its own config space and never sends GET_CONFIG, and QEMU 7.2 warns "vhost-user
 * backend supports VHOST_USER_PROTOCOL_F_CONFIG but QEMU does not" on every start when a
 * crypto back-end offers it. Generic front-ends (vtrust-probe, QEMU's vhost-user-device) read
 * the config space through GET_CONFIG and need the option.
 */
static void crypto_attach(void *priv, struct vt_device *dev)
{
	struct vc_dev *d = priv;
	if (d->opts.config_space) {
		dev->offered_protocol |= VT_BIT(VHOST_USER_PROTOCOL_F_CONFIG);
		dev->acked_protocol = dev->offered_protocol;
	}
}

static void crypto_destroy(void *priv)
{
	vc_dev_free(priv);
}

static void crypto_metrics(void *priv, vt_metric_fn fn, void *ctx)
{
	struct vc_dev *d = priv;
	static const char *const svc[VC_NSERVICES] = {"cipher", "hash", "mac", "aead", "akcipher"};
	char labels[64];
	for (unsigned i = 0; i < VC_NSERVICES; i++) {
		snprintf(labels, sizeof(labels), "service=\"%s\"", svc[i]);
		fn(ctx, "vtrust_crypto_requests_total", labels,
		   (double)atomic_load(&d->stats.requests[i]), "Data requests by service", "counter");
	}
	for (unsigned i = 0; i < VC_NSTATUS; i++) {
		/* Label values in lower case, as every other vtrust label. */
		char lower[32];
		const char *sn = vc_status_name((uint8_t)i);
		size_t k = 0;
		for (; sn[k] && k + 1 < sizeof(lower); k++)
			lower[k] = (char)(sn[k] >= 'A' && sn[k] <= 'Z' ? sn[k] - 'A' + 'a' : sn[k]);
		lower[k] = '\0';
		snprintf(labels, sizeof(labels), "status=\"%s\"", lower);
		fn(ctx, "vtrust_crypto_data_status_total", labels,
		   (double)atomic_load(&d->stats.status[i]), "Data request outcomes", "counter");
		fn(ctx, "vtrust_crypto_session_status_total", labels,
		   (double)atomic_load(&d->stats.ctrl_status[i]),
		   "Session request outcomes (control queue and vhost-user)", "counter");
	}
	fn(ctx, "vtrust_crypto_sessions", "", (double)vc_table_used(&d->table), "Live sessions",
	   "gauge");
	fn(ctx, "vtrust_crypto_sessions_max", "", (double)d->table.cap, "Session table size",
	   "gauge");
	fn(ctx, "vtrust_crypto_sessions_created_total", "",
	   (double)atomic_load(&d->stats.sessions_created), "Sessions created", "counter");
	fn(ctx, "vtrust_crypto_sessions_destroyed_total", "",
	   (double)atomic_load(&d->stats.sessions_destroyed), "Sessions destroyed", "counter");
	fn(ctx, "vtrust_crypto_processed_bytes_total", "", (double)atomic_load(&d->stats.bytes),
	   "Source bytes of successful data requests", "counter");
	fn(ctx, "vtrust_crypto_malformed_total", "", (double)atomic_load(&d->stats.malformed),
	   "Chains without a writable byte", "counter");
	fn(ctx, "vtrust_crypto_busy_seconds_total", "",
	   (double)atomic_load(&d->stats.busy_ns) / 1e9, "Time data workers spent serving",
	   "counter");
}

static bool bit(uint64_t mask, uint32_t id)
{
	return id < 64 && (mask & (1ull << id));
}

/* What the device offers, by name (the config space as QEMU's generic front-end would read it). */
static void crypto_status(void *priv, struct json_object *out)
{
	struct vc_dev *d = priv;
	const struct vc_config *c = &d->config;
	json_object_object_add(out, "sessions", json_object_new_int64(vc_table_used(&d->table)));
	json_object_object_add(out, "max_sessions", json_object_new_int64(d->table.cap));
	json_object_object_add(out, "data_queues", json_object_new_int64(d->opts.dataqueues));
	static const char *const svc[VC_NSERVICES] = {"cipher", "hash", "mac", "aead", "akcipher"};
	struct json_object *a = json_object_new_array();
	for (unsigned i = 0; i < VC_NSERVICES; i++)
		if (c->crypto_services & (1u << i))
			json_object_array_add(a, json_object_new_string(svc[i]));
	json_object_object_add(out, "services", a);
	uint64_t ciph = c->cipher_algo_l | (uint64_t)c->cipher_algo_h << 32;
	uint64_t mac = c->mac_algo_l | (uint64_t)c->mac_algo_h << 32;
	struct json_object *algs = json_object_new_array();
	for (size_t i = 0; i < vc_ncipher_algs; i++)
		if (bit(ciph, vc_cipher_algs[i].id))
			json_object_array_add(algs, json_object_new_string(vc_cipher_algs[i].name));
	for (size_t i = 0; i < vc_nhash_algs; i++)
		if (bit(c->hash_algo, vc_hash_algs[i].id))
			json_object_array_add(algs, json_object_new_string(vc_hash_algs[i].name));
	for (size_t i = 0; i < vc_nmac_algs; i++)
		if (bit(mac, vc_mac_algs[i].id))
			json_object_array_add(algs, json_object_new_string(vc_mac_algs[i].name));
	for (size_t i = 0; i < vc_naead_algs; i++)
		if (bit(c->aead_algo, vc_aead_algs[i].id))
			json_object_array_add(algs, json_object_new_string(vc_aead_algs[i].name));
	if (bit(c->akcipher_algo, VC_AKCIPHER_RSA))
		json_object_array_add(algs, json_object_new_string("rsa"));
	if (bit(c->akcipher_algo, VC_AKCIPHER_ECDSA))
		json_object_array_add(algs, json_object_new_string("ecdsa"));
	json_object_object_add(out, "algorithms", algs);
	/* The feature bits the connected driver acknowledged (none: no driver now). */
	static const char *const feat[] = {"revision_1", "cipher_stateless", "hash_stateless",
					   "mac_stateless", "aead_stateless", "akcipher_stateless"};
	uint64_t f = atomic_load(&d->features);
	struct json_object *fa = json_object_new_array();
	for (unsigned i = 0; i < VT_ARRAY_SIZE(feat); i++)
		if (f & (1ull << i))
			json_object_array_add(fa, json_object_new_string(feat[i]));
	json_object_object_add(out, "negotiated", fa);
	json_object_object_add(out, "max_size", json_object_new_int64((int64_t)d->opts.max_size));
}

const struct vt_device_type vt_crypto_device_type = {
	.type = "crypto",
	.summary = "virtio-crypto: cipher, hash, mac, aead, akcipher sessions and stateless requests "
		   "(OpenSSL)",
	.ops = &vc_crypto_ops,
	.create = crypto_create,
	.check = crypto_check,
	.destroy = crypto_destroy,
	.metrics = crypto_metrics,
	.status = crypto_status,
	.attach = crypto_attach,
};
