/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vtrust-probe: the CLI's extension points.
 *
 * A command is `const struct probe_cmd probe_cmd_<name>` listed in
 * probe_cmds.def; a device profile is `const struct probe_device
 * probe_device_<name>` listed in probe_devices.def. Adding either is one
 * line there plus the source file in meson.build (see README.md).
 */
#ifndef VTRUST_PROBE_PROBE_H
#define VTRUST_PROBE_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "fe_dev.h"

struct conf_case;

/* Global state of one invocation. */
struct probe_ctx {
	/* Effective options: defaults, then the device profile's, then the command line. */
	struct fe_dev_opts dev;
	const struct probe_device *device;
	bool json;
	int verbose;
	FILE *out;
};

struct probe_cmd {
	const char *name;
	const char *args;    /* synopsis of the arguments after the name */
	const char *summary; /* one line for --help */
	/* argv[0] is the command name. Returns the process exit code (0, 1 failure, 2 usage). */
	int (*run)(struct probe_ctx *ctx, int argc, char **argv);
};

/*
 * What the probe knows about one kind of device (selected with --device):
 * option defaults, a known-good request for sanity checks, extra cases.
 */
struct probe_device {
	const char *name;
	const char *summary;
	/* Adjusts fe_dev options before command-line overrides (queue size, features...). */
	void (*defaults)(struct fe_dev_opts *o);
	/*
	 * Sends one known-good request on queue q of a started device and checks
	 * the answer. 0 if it was served correctly; otherwise <0 and a reason.
	 */
	int (*sanity)(struct fe_dev *d, unsigned q, char *reason, size_t reason_len);
	/* Device-specific conformance cases, run after the core ones. */
	const struct conf_case *cases;
	size_t ncases;
};

#define PROBE_CMD(n) extern const struct probe_cmd probe_cmd_##n;
#include "probe_cmds.def"
#undef PROBE_CMD
#define PROBE_DEVICE(n) extern const struct probe_device probe_device_##n;
#include "probe_devices.def"
#undef PROBE_DEVICE

const struct probe_device *probe_device_find(const char *name);

/* Helpers shared by commands. */
void probe_hex(FILE *f, const uint8_t *buf, size_t len);
/* Names of set feature bits ("VERSION_1 EVENT_IDX bit3"), into buf. */
const char *probe_feature_names(uint64_t features, char *buf, size_t len);
const char *probe_protocol_names(uint64_t features, char *buf, size_t len);

#endif
