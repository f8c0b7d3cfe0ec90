/* SPDX-License-Identifier: Apache-2.0 */
/* Callbacks of a do-nothing one-queue device, for dispatcher tests (manual_queues). */
#ifndef VTRUST_TEST_STUB_DEVICE_H
#define VTRUST_TEST_STUB_DEVICE_H

#include "vdev.h"

static inline uint16_t stub_one_queue(void *priv)
{
	(void)priv;
	return 1;
}

static inline void stub_handle(void *priv, struct vt_queue *q)
{
	(void)priv;
	(void)q;
}

#endif
