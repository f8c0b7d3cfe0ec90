/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device types vtrustd can serve. Each device folder exports one
 * `const struct vt_device_type`; registry.c lists them. A device reads its
 * options from a vt_devcfg (key/value pairs from the config file or the
 * command line) and rejects unknown keys and bad values before it exists.
 */
#ifndef VTRUST_REGISTRY_H
#define VTRUST_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>

#include "compiler.h"
#include "device.h"
#include "vdev.h"

struct json_object;

struct vt_devopt {
	const char *key;
	const char *value;
	const char *origin; /* "FILE:LINE" or "command line", for error lines; may be NULL */
};

struct vt_devcfg {
	const char *name;      /* instance name, e.g. "rng0" */
	const char *type;      /* "rng", "crypto", "rpmb", "null" */
	const char *state_dir; /* where persistent state lives (may be NULL) */
	const struct vt_devopt *opts;
	unsigned nopts;
};

/*
 * Value of key, or NULL. Keys are spelled with '_'; a key given with '-' in
 * their place is the same key (the deprecated spelling).
 */
const char *vt_devcfg_get(const struct vt_devcfg *c, const char *key);
/* Parses an unsigned option with bounds; absent → *ret = def. -EINVAL with a log line otherwise. */
int vt_devcfg_u64(const struct vt_devcfg *c, const char *key, uint64_t def, uint64_t min,
		  uint64_t max, uint64_t *ret) VT_MUST_USE;
int vt_devcfg_bool(const struct vt_devcfg *c, const char *key, bool def, bool *ret) VT_MUST_USE;
/*
 * -EINVAL (logged) if c has a key not in the NULL-terminated list known;
 * one deprecation line for each key given in the old '-' spelling.
 */
int vt_devcfg_check_keys(const struct vt_devcfg *c, const char *const *known) VT_MUST_USE;
/*
 * One error line about option key: "FILE:LINE: [device NAME] KEY = VALUE: REASON (valid:
 * VALID)" (valid may be NULL). Returns -EINVAL.
 */
int vt_devcfg_error(const struct vt_devcfg *c, const char *key, const char *reason,
		    const char *valid);

/* A device's metrics, as name/value pairs appended through a callback. */
typedef void (*vt_metric_fn)(void *ctx, const char *name, const char *labels, double value,
			     const char *help, const char *type);

struct vt_device_type {
	const char *type;
	const char *summary;
	const struct vt_device_ops *ops;
	/* Validates cfg and creates the device's private state. */
	int (*create)(const struct vt_devcfg *cfg, void **ret_priv);
	/*
	 * Validates every option of cfg without side effects (no file opened, nothing created),
	 * reporting each problem in one line (vt_devcfg_error): --check-config and the start.
	 */
	int (*check)(const struct vt_devcfg *cfg);
	void (*destroy)(void *priv);
	/* Optional: reports device metrics (requests, errors, state ...). */
	void (*metrics)(void *priv, vt_metric_fn fn, void *ctx);
	/* Optional: device-specific state for `vtrustctl status` (fills a JSON object). */
	void (*status)(void *priv, struct json_object *out);
	/*
	 * Optional: operator commands from the control socket (vtrustctl), e.g.
	 * "leak" (rng), "rpmb-info", "rpmb-export", "rpmb-import" (rpmb). args
	 * and reply are JSON objects; return 0, -ENOTSUP for an unknown command,
	 * or a negative errno with reply["error"] set to a one-line reason.
	 * Runs on the control thread: lock what the queue workers share.
	 */
	int (*control)(void *priv, const char *command, struct json_object *args,
		       struct json_object *reply);
	/* Optional: called once vt_device exists (e.g. to keep its queues for leak events). */
	void (*attach)(void *priv, struct vt_device *dev);
};

const struct vt_device_type *vt_device_type_find(const char *type);
/* NULL-terminated list of every type. */
extern const struct vt_device_type *const vt_device_types[];

#endif
