/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `info`: what a back-end offers. Runs the QEMU 7.2 init sequence (acking
 * CONFIGURE_MEM_SLOTS when offered, to learn the slot count) and reads the
 * config space when CONFIG is offered. vhost-user has no "config size"
 * message, so unless --config-size is given we find the largest size the
 * back-end accepts (a refusal is an empty reply and costs nothing).
 */
#include <getopt.h>
#include <json-c/json.h>
#include <string.h>

#include "probe.h"

struct info {
	uint64_t features, protocol, acked_protocol;
	bool has_protocol, has_mq, has_slots, has_config;
	uint64_t queues, slots;
	int config_err;
	uint32_t config_size;
	uint8_t config[VHOST_USER_MAX_CONFIG_SIZE];
};

/* Largest accepted size, assuming acceptance is monotonic (offset + size <= config length). */
static int find_config(struct fe_vu *vu, uint32_t *ret_size)
{
	uint8_t buf[VHOST_USER_MAX_CONFIG_SIZE];
	uint32_t lo = 0, hi;
	int r;

	for (uint32_t s = VHOST_USER_MAX_CONFIG_SIZE; s >= 1; s /= 2) {
		r = fe_vu_get_config(vu, 0, s, 0, buf);
		if (r == 0) {
			lo = s;
			break;
		}
		if (r != -EREMOTEIO)
			return r;
	}
	if (lo == 0)
		return -EREMOTEIO;
	hi = VT_MIN(2 * lo, VHOST_USER_MAX_CONFIG_SIZE + 1);
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;
		r = fe_vu_get_config(vu, 0, mid, 0, buf);
		if (r == 0)
			lo = mid;
		else if (r == -EREMOTEIO)
			hi = mid;
		else
			return r;
	}
	*ret_size = lo;
	return 0;
}

static int gather(struct probe_ctx *ctx, long config_size, struct info *in, char *err,
		  size_t errlen)
{
	struct fe_vu *vu;
	struct fe_vu_init_opts init = ctx->dev.init;
	int r;

	r = fe_vu_connect(ctx->dev.socket_path, ctx->dev.timeout_ms, &vu);
	if (r < 0) {
		snprintf(err, errlen, "cannot connect to %s: %s", ctx->dev.socket_path,
			 strerror(-r));
		return r;
	}
	vu->ack_policy = ctx->dev.ack_policy;
	init.mem_slots = true;
	r = fe_vu_negotiate(vu, &init, NULL, 0);
	if (r < 0) {
		snprintf(err, errlen, "negotiation failed: %s", vu->error);
		goto out;
	}
	in->features = vu->features;
	in->protocol = vu->protocol_features;
	in->acked_protocol = vu->acked_protocol;
	in->has_protocol = vu->features & VT_BIT(VHOST_USER_F_PROTOCOL_FEATURES);
	in->has_mq = fe_vu_has_protocol(vu, VHOST_USER_PROTOCOL_F_MQ);
	in->queues = vu->queue_num;
	in->has_slots = fe_vu_has_protocol(vu, VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS);
	in->slots = vu->max_mem_slots;
	in->has_config = fe_vu_has_protocol(vu, VHOST_USER_PROTOCOL_F_CONFIG);
	if (in->has_config) {
		uint32_t size = (uint32_t)config_size;
		in->config_err = config_size > 0 ? 0 : find_config(vu, &size);
		if (in->config_err == 0)
			in->config_err = fe_vu_get_config(vu, 0, size, 0, in->config);
		if (in->config_err == 0)
			in->config_size = size;
		else if (in->config_err != -EREMOTEIO) {
			snprintf(err, errlen, "GET_CONFIG failed: %s", vu->error);
			r = in->config_err;
		}
	}
out:
	fe_vu_close(vu);
	return r;
}

static void hexstr(char *buf, uint64_t v)
{
	sprintf(buf, "0x%llx", (unsigned long long)v);
}

static void print_json(struct probe_ctx *ctx, const struct info *in)
{
	json_object *o = json_object_new_object();
	char hex[32], names[512];

	json_object_object_add(o, "socket", json_object_new_string(ctx->dev.socket_path));
	hexstr(hex, in->features);
	json_object_object_add(o, "features", json_object_new_string(hex));
	json_object_object_add(
	    o, "feature_names",
	    json_object_new_string(probe_feature_names(in->features, names, sizeof(names))));
	if (in->has_protocol) {
		hexstr(hex, in->protocol);
		json_object_object_add(o, "protocol_features", json_object_new_string(hex));
		json_object_object_add(o, "protocol_feature_names",
				       json_object_new_string(probe_protocol_names(
					   in->protocol, names, sizeof(names))));
		hexstr(hex, in->acked_protocol);
		json_object_object_add(o, "acked_protocol_features", json_object_new_string(hex));
	} else {
		json_object_object_add(o, "protocol_features", NULL);
	}
	json_object_object_add(o, "queues",
			       in->has_mq ? json_object_new_int64((int64_t)in->queues) : NULL);
	json_object_object_add(o, "max_mem_slots",
			       in->has_slots ? json_object_new_int64((int64_t)in->slots) : NULL);
	json_object *cfg = json_object_new_object();
	json_object_object_add(cfg, "offered", json_object_new_boolean(in->has_config));
	if (in->has_config && in->config_err == 0) {
		char *h = calloc(1, in->config_size * 2 + 1);
		for (uint32_t i = 0; h && i < in->config_size; i++)
			sprintf(h + 2 * i, "%02x", in->config[i]);
		json_object_object_add(cfg, "size", json_object_new_int((int)in->config_size));
		json_object_object_add(cfg, "hex", json_object_new_string(h ? h : ""));
		free(h);
	} else if (in->has_config) {
		json_object_object_add(cfg, "refused", json_object_new_boolean(true));
	}
	json_object_object_add(o, "config", cfg);
	fprintf(ctx->out, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
	json_object_put(o);
}

static void print_text(struct probe_ctx *ctx, const struct info *in)
{
	FILE *f = ctx->out;
	char names[512];

	fprintf(f, "socket:             %s\n", ctx->dev.socket_path);
	fprintf(f, "features:           0x%016llx  %s\n", (unsigned long long)in->features,
		probe_feature_names(in->features, names, sizeof(names)));
	if (in->has_protocol) {
		fprintf(f, "protocol features:  0x%016llx  %s\n", (unsigned long long)in->protocol,
			probe_protocol_names(in->protocol, names, sizeof(names)));
		fprintf(f, "acked by the probe: 0x%016llx\n",
			(unsigned long long)in->acked_protocol);
	} else {
		fprintf(f, "protocol features:  not offered (no PROTOCOL_FEATURES bit)\n");
	}
	if (in->has_mq)
		fprintf(f, "queues:             %llu\n", (unsigned long long)in->queues);
	else
		fprintf(f, "queues:             not reported (MQ not offered)\n");
	if (in->has_slots)
		fprintf(f, "max mem slots:      %llu\n", (unsigned long long)in->slots);
	else
		fprintf(f, "max mem slots:      not offered (no CONFIGURE_MEM_SLOTS)\n");
	if (!in->has_config) {
		fprintf(f, "config:             not offered (no CONFIG)\n");
	} else if (in->config_err) {
		fprintf(f, "config:             offered, but every GET_CONFIG was refused\n");
	} else {
		fprintf(f, "config (%3u bytes): ", in->config_size);
		probe_hex(f, in->config, in->config_size);
		fprintf(f, "\n");
	}
}

static int run_info(struct probe_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config-size", required_argument, NULL, 'c'},
	    {0},
	};
	struct info in = {0};
	long config_size = 0;
	char err[512];
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'c') {
			fprintf(stderr, "usage: vtrust-probe ... info [--config-size N]\n");
			return 2;
		}
		char *end;
		config_size = strtol(optarg, &end, 0);
		if (*end || config_size < 1 || config_size > (long)VHOST_USER_MAX_CONFIG_SIZE) {
			fprintf(stderr, "info: --config-size must be 1..%u\n",
				VHOST_USER_MAX_CONFIG_SIZE);
			return 2;
		}
	}
	if (gather(ctx, config_size, &in, err, sizeof(err)) < 0) {
		fprintf(stderr, "vtrust-probe: info: %s\n", err);
		return 1;
	}
	if (ctx->json)
		print_json(ctx, &in);
	else
		print_text(ctx, &in);
	return 0;
}

const struct probe_cmd probe_cmd_info = {
    .name = "info",
    .args = "[--config-size N]",
    .summary = "features, protocol features, queues, memory slots, config space",
    .run = run_info,
};
