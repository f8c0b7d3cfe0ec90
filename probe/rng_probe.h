/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared by the rng command (cmd_rng.c) and the rng device profile
 * (dev_rng.c); the leak triggers live in rng_trigger.c: how the probe plays a virtio-rng guest driver, including the
 * VIRTIO_RNG_F_LEAK leak queues, and how it makes the back-end see a leak
 * event.
 */
#ifndef VTRUST_PROBE_RNG_PROBE_H
#define VTRUST_PROBE_RNG_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "fe_dev.h"

#define RNG_PROBE_F_LEAK (1ull << 0)
#define RNG_PROBE_LEAKQ1 1u
#define RNG_PROBE_LEAKQ2 2u

enum rng_trigger_kind {
	RNG_TRIGGER_STATE,   /* a VM restore: stop rings, save + load device state, restart */
	RNG_TRIGGER_CONTROL, /* vtrustd's control socket: {"cmd":"leak","device":NAME} */
};

struct rng_trigger {
	enum rng_trigger_kind kind;
	const char *control_path; /* RNG_TRIGGER_CONTROL */
	const char *device_name;  /* RNG_TRIGGER_CONTROL */
};

/* Kick; a failed eventfd write shows up later as a wait timeout. */
static inline void rng_probe_kick(struct fe_vq *vq)
{
	int r = fe_vq_kick(vq);
	(void)r;
}

/* Options for a device with the leak queues: 3 queues, LEAK acked. */
void rng_probe_leak_opts(struct fe_dev_opts *o);
/* Makes the back-end see one leak event. 0, or <0 with a reason in err. */
int rng_probe_trigger(struct fe_dev *d, const struct rng_trigger *t, char *err, size_t errlen);
/* A connected fd on vtrustd's control socket at path, or -errno. */
int rng_probe_control_connect(const char *path);
/* One control-socket request line; the reply line (without newline) goes to reply. */
int rng_probe_control(const char *path, const char *line, char *reply, size_t len, int timeout_ms);

#endif
