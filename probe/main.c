/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vtrust-probe: a standalone vhost-user front-end (the VMM and the guest
 * driver in one process) for integration tests and benchmarks.
 *
 *   vtrust-probe --socket PATH [options] COMMAND [ARGS...]
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "probe.h"

static const struct probe_cmd *const commands[] = {
#define PROBE_CMD(n) &probe_cmd_##n,
#include "probe_cmds.def"
#undef PROBE_CMD
};

static const struct probe_device *const devices[] = {
#define PROBE_DEVICE(n) &probe_device_##n,
#include "probe_devices.def"
#undef PROBE_DEVICE
};

const struct probe_device *probe_device_find(const char *name)
{
	for (size_t i = 0; i < VT_ARRAY_SIZE(devices); i++)
		if (strcmp(devices[i]->name, name) == 0)
			return devices[i];
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: vtrust-probe --socket PATH [options] COMMAND [ARGS...]\n"
	    "\n"
	    "A vhost-user front-end: acts as the VMM (QEMU 7.2 message sequences) and\n"
	    "as the guest driver (split virtqueues in memfd guest memory).\n"
	    "\n"
	    "options:\n"
	    "  --socket PATH          back-end's vhost-user socket (connect retries until the "
	    "timeout)\n"
	    "  --timeout-ms N         deadline for every reply and completion (default %d)\n"
	    "  --device NAME          device profile: defaults, sanity request, extra cases\n"
	    "  --mem-mb N             guest RAM size (default 64)\n"
	    "  --mem-layout L         q35 (default) | gapped | adjacent (regions touch in gpa)\n"
	    "  --mem-regions N        regions for gapped/adjacent (default 2, max %d)\n"
	    "  --no-populate          do not pre-fault guest RAM\n"
	    "  --queues N             queues to set up (default 1)\n"
	    "  --queue-size N         ring size (default %d)\n"
	    "  --features F           SET_FEATURES: auto | qemu-rng (0x%llx) | qemu-crypto "
	    "(0x%llx) | NUM\n"
	    "  --device-features N    with auto: device feature bits to ack when offered\n"
	    "  --ring-features N      how our rings behave (EVENT_IDX, INDIRECT); default = acked\n"
	    "  --protocol-mask N      protocol features to ack among those offered\n"
	    "  --mem-slots            use CONFIGURE_MEM_SLOTS (ADD_MEM_REG) when offered\n"
	    "  --no-vring-enable      never send SET_VRING_ENABLE (QEMU 7.2 crypto)\n"
	    "  --ack-policy P         NEED_REPLY: qemu (default) | all | none\n"
	    "  --indirect             submit requests as indirect tables\n"
	    "  --poll                 busy-poll used rings instead of sleeping on the call "
	    "eventfd\n"
	    "  --json                 machine-readable output\n"
	    "  -v, --verbose          more output; twice: trace every message\n"
	    "  --log-level LEVEL      err | warning | notice | info | debug\n"
	    "\ncommands:\n",
	    FE_DEV_DEFAULT_TIMEOUT_MS, FE_MEM_MAX_REGIONS, FE_DEV_DEFAULT_QUEUE_SIZE,
	    (unsigned long long)FE_FEATURES_QEMU72_RNG,
	    (unsigned long long)FE_FEATURES_QEMU72_CRYPTO);
	for (size_t i = 0; i < VT_ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-12s %-24s %s\n", commands[i]->name, commands[i]->args,
			commands[i]->summary);
	fprintf(f, "\ndevice profiles:\n");
	for (size_t i = 0; i < VT_ARRAY_SIZE(devices); i++)
		fprintf(f, "  %-12s %s\n", devices[i]->name, devices[i]->summary);
}

/* Command-line values, applied after the device profile's defaults. */
struct overrides {
	const char *socket;
	long timeout_ms, mem_mb, mem_regions, queues, queue_size;
	bool layout_set, features_set, device_features_set, ring_features_set, protocol_mask_set,
	    ack_set;
	enum fe_mem_layout layout;
	enum fe_feat_mode feat_mode;
	uint64_t features, device_features, ring_features, protocol_mask;
	enum fe_vu_ack_policy ack;
	bool mem_slots, no_vring_enable, indirect, poll, no_populate;
};

static int parse_u64(const char *s, uint64_t *ret)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-')
		return -EINVAL;
	*ret = v;
	return 0;
}

static int parse_long(const char *s, long min, long max, long *ret)
{
	uint64_t v;
	if (parse_u64(s, &v) < 0 || v < (uint64_t)min || v > (uint64_t)max)
		return -EINVAL;
	*ret = (long)v;
	return 0;
}

static void apply(struct probe_ctx *ctx, const struct overrides *ov)
{
	struct fe_dev_opts *o = &ctx->dev;

	fe_dev_opts_init(o);
	if (ctx->device->defaults)
		ctx->device->defaults(o);
	o->socket_path = ov->socket;
	if (ov->timeout_ms >= 0)
		o->timeout_ms = (int)ov->timeout_ms;
	if (ov->mem_mb > 0)
		o->mem.size = (uint64_t)ov->mem_mb << 20;
	if (ov->mem_regions > 0)
		o->mem.nregions = (unsigned)ov->mem_regions;
	if (ov->layout_set)
		o->mem.layout = ov->layout;
	if (ov->no_populate)
		o->mem.no_populate = true;
	if (ov->queues > 0)
		o->nvqs = (unsigned)ov->queues;
	if (ov->queue_size > 0)
		o->queue_size = (uint16_t)ov->queue_size;
	if (ov->features_set) {
		o->feat_mode = ov->feat_mode;
		o->features = ov->features;
	}
	if (ov->device_features_set)
		o->device_features = ov->device_features;
	if (ov->ring_features_set) {
		o->ring_features_set = true;
		o->ring_features = ov->ring_features;
	}
	if (ov->protocol_mask_set)
		o->init.protocol_mask = ov->protocol_mask;
	if (ov->ack_set)
		o->ack_policy = ov->ack;
	if (ov->mem_slots)
		o->init.mem_slots = true;
	if (ov->no_vring_enable)
		o->no_vring_enable = true;
	if (ov->indirect)
		o->indirect = true;
	if (ov->poll)
		o->wait_mode = FE_VQ_WAIT_POLL;
}

enum {
	OPT_SOCKET = 256,
	OPT_TIMEOUT,
	OPT_DEVICE,
	OPT_MEM_MB,
	OPT_MEM_LAYOUT,
	OPT_MEM_REGIONS,
	OPT_NO_POPULATE,
	OPT_QUEUES,
	OPT_QUEUE_SIZE,
	OPT_FEATURES,
	OPT_DEVICE_FEATURES,
	OPT_RING_FEATURES,
	OPT_PROTOCOL_MASK,
	OPT_MEM_SLOTS,
	OPT_NO_VRING_ENABLE,
	OPT_ACK_POLICY,
	OPT_INDIRECT,
	OPT_POLL,
	OPT_JSON,
	OPT_LOG_LEVEL,
};

static const struct option longopts[] = {
    {"socket", required_argument, NULL, OPT_SOCKET},
    {"timeout-ms", required_argument, NULL, OPT_TIMEOUT},
    {"device", required_argument, NULL, OPT_DEVICE},
    {"mem-mb", required_argument, NULL, OPT_MEM_MB},
    {"mem-layout", required_argument, NULL, OPT_MEM_LAYOUT},
    {"mem-regions", required_argument, NULL, OPT_MEM_REGIONS},
    {"no-populate", no_argument, NULL, OPT_NO_POPULATE},
    {"queues", required_argument, NULL, OPT_QUEUES},
    {"queue-size", required_argument, NULL, OPT_QUEUE_SIZE},
    {"features", required_argument, NULL, OPT_FEATURES},
    {"device-features", required_argument, NULL, OPT_DEVICE_FEATURES},
    {"ring-features", required_argument, NULL, OPT_RING_FEATURES},
    {"protocol-mask", required_argument, NULL, OPT_PROTOCOL_MASK},
    {"mem-slots", no_argument, NULL, OPT_MEM_SLOTS},
    {"no-vring-enable", no_argument, NULL, OPT_NO_VRING_ENABLE},
    {"ack-policy", required_argument, NULL, OPT_ACK_POLICY},
    {"indirect", no_argument, NULL, OPT_INDIRECT},
    {"poll", no_argument, NULL, OPT_POLL},
    {"json", no_argument, NULL, OPT_JSON},
    {"verbose", no_argument, NULL, 'v'},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"help", no_argument, NULL, 'h'},
    {0},
};

static int bad(const char *opt, const char *val)
{
	fprintf(stderr, "vtrust-probe: invalid value for --%s: '%s'\n", opt, val);
	return 2;
}

int main(int argc, char **argv)
{
	struct probe_ctx ctx = {.out = stdout, .device = devices[0]};
	struct overrides ov = {.timeout_ms = -1};
	enum vt_log_level level = VT_LOG_WARNING;
	bool level_set = false;
	int c;

	vt_log_set_ident("vtrust-probe");
	/* Peers that close sockets or pipes must give EPIPE, not kill us. */
	(void)signal(SIGPIPE, SIG_IGN);

	/* '+': stop at the command name; what follows belongs to the command. */
	while ((c = getopt_long(argc, argv, "+vh", longopts, NULL)) != -1) {
		const char *a = optarg;
		switch (c) {
		case OPT_SOCKET:
			ov.socket = a;
			break;
		case OPT_TIMEOUT:
			if (parse_long(a, 1, 3600000, &ov.timeout_ms) < 0)
				return bad("timeout-ms", a);
			break;
		case OPT_DEVICE:
			ctx.device = probe_device_find(a);
			if (!ctx.device)
				return bad("device", a);
			break;
		case OPT_MEM_MB:
			if (parse_long(a, 1, 65536, &ov.mem_mb) < 0)
				return bad("mem-mb", a);
			break;
		case OPT_MEM_LAYOUT:
			if (fe_mem_layout_parse(a, &ov.layout) < 0)
				return bad("mem-layout", a);
			ov.layout_set = true;
			break;
		case OPT_MEM_REGIONS:
			if (parse_long(a, 1, FE_MEM_MAX_REGIONS, &ov.mem_regions) < 0)
				return bad("mem-regions", a);
			break;
		case OPT_NO_POPULATE:
			ov.no_populate = true;
			break;
		case OPT_QUEUES:
			if (parse_long(a, 1, FE_DEV_MAX_VQS, &ov.queues) < 0)
				return bad("queues", a);
			break;
		case OPT_QUEUE_SIZE:
			if (parse_long(a, 1, VIRTQ_MAX_SIZE, &ov.queue_size) < 0 ||
			    (ov.queue_size & (ov.queue_size - 1)))
				return bad("queue-size", a);
			break;
		case OPT_FEATURES:
			if (fe_feat_parse(a, &ov.feat_mode, &ov.features) < 0)
				return bad("features", a);
			ov.features_set = true;
			break;
		case OPT_DEVICE_FEATURES:
			if (parse_u64(a, &ov.device_features) < 0)
				return bad("device-features", a);
			ov.device_features_set = true;
			break;
		case OPT_RING_FEATURES:
			if (parse_u64(a, &ov.ring_features) < 0)
				return bad("ring-features", a);
			ov.ring_features_set = true;
			break;
		case OPT_PROTOCOL_MASK:
			if (parse_u64(a, &ov.protocol_mask) < 0)
				return bad("protocol-mask", a);
			ov.protocol_mask_set = true;
			break;
		case OPT_MEM_SLOTS:
			ov.mem_slots = true;
			break;
		case OPT_NO_VRING_ENABLE:
			ov.no_vring_enable = true;
			break;
		case OPT_ACK_POLICY:
			if (strcmp(a, "qemu") == 0)
				ov.ack = FE_VU_ACK_QEMU;
			else if (strcmp(a, "all") == 0)
				ov.ack = FE_VU_ACK_ALL;
			else if (strcmp(a, "none") == 0)
				ov.ack = FE_VU_ACK_NONE;
			else
				return bad("ack-policy", a);
			ov.ack_set = true;
			break;
		case OPT_INDIRECT:
			ov.indirect = true;
			break;
		case OPT_POLL:
			ov.poll = true;
			break;
		case OPT_JSON:
			ctx.json = true;
			break;
		case 'v':
			ctx.verbose++;
			break;
		case OPT_LOG_LEVEL:
			if (vt_log_parse_level(a, &level) < 0)
				return bad("log-level", a);
			level_set = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!level_set)
		level = ctx.verbose >= 2 ? VT_LOG_DEBUG
			: ctx.verbose	 ? VT_LOG_INFO
					 : VT_LOG_WARNING;
	vt_log_set_level(level);

	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	const char *name = argv[optind];
	for (size_t i = 0; i < VT_ARRAY_SIZE(commands); i++) {
		if (strcmp(commands[i]->name, name) != 0)
			continue;
		if (!ov.socket) {
			fprintf(stderr, "vtrust-probe: %s needs --socket PATH\n", name);
			return 2;
		}
		apply(&ctx, &ov);
		int cmd_argc = argc - optind;
		char **cmd_argv = argv + optind;
		/* Commands parse their own options from cmd_argv[1]; 0 re-initialises getopt. */
		optind = 0;
		return commands[i]->run(&ctx, cmd_argc, cmd_argv);
	}
	fprintf(stderr, "vtrust-probe: unknown command '%s' (see --help)\n", name);
	return 2;
}
