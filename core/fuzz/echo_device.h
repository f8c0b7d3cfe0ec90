/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fuzz harnesses' device: every chain gets its readable bytes copied into
 * its writable bytes (as many as fit), through the core's serve loop, so the
 * ring, cursor and used-ring paths run on whatever the input set up.
 */
#ifndef VTRUST_FUZZ_ECHO_DEVICE_H
#define VTRUST_FUZZ_ECHO_DEVICE_H

#include "device.h"

static inline struct vt_verdict echo_chain(void *priv, struct vt_queue *q, struct vt_chain *c)
{
	(void)priv;
	(void)q;
	size_t n = VT_MIN(vt_chain_readable(c), vt_chain_writable(c));
	return vt_chain_copy(c, n) < 0 ? vt_malformed() : vt_used(n);
}

static const struct vt_server echo_server = {.chain = echo_chain};

static inline void echo_handle(void *priv, struct vt_queue *q)
{
	(void)vt_queue_serve(q, &echo_server, priv);
}

#endif
