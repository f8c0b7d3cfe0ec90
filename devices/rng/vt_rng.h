/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The rng device's plain C entry points, for vtrustd's control socket,
 * tests and benchmarks. `priv` is what vt_rng_device_type.create returned.
 * All are thread-safe.
 */
#ifndef VTRUST_VT_RNG_H
#define VTRUST_VT_RNG_H

#include <stdbool.h>
#include <stdint.h>

extern const struct vt_device_type vt_rng_device_type;

/*
 * Records one entropy-leak event (`vtrustctl leak DEVICE`): bumps the leak
 * epoch and wakes the active leak queue, whose parked buffers are then
 * used. Returns the new epoch.
 */
uint64_t vt_rng_leak(void *priv);
uint64_t vt_rng_leak_epoch(void *priv);
/* True while the generator is degraded (seeding or a health test failed). */
bool vt_rng_degraded(void *priv);
/*
 * Test hook: the seed source misbehaves ("none", "error", "stuck",
 * "biased") from `after` further draws on. -EINVAL for an unknown name.
 */
int vt_rng_set_seed_fault(void *priv, const char *fault, uint64_t after);
/* Event recorded -> its leak buffers used and the call signalled, last event, in ns. */
uint64_t vt_rng_last_leak_latency_ns(void *priv);

#endif
