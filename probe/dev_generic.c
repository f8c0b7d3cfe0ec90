/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The generic profile: any vhost-user back-end. The probe knows no good
 * request for an unknown device, so "still serving" means: a fresh
 * connection negotiates, starts its queues and answers GET_FEATURES.
 */
#include <stdio.h>
#include <string.h>

#include "probe.h"

static int generic_sanity(struct fe_dev *d, unsigned q, char *reason, size_t len)
{
	uint64_t f;
	(void)q;
	int r = fe_vu_get_features(d->vu, &f);
	if (r < 0)
		snprintf(reason, len, "GET_FEATURES: %s", d->vu->error);
	return r;
}

const struct probe_device probe_device_generic = {
    .name = "generic",
    .summary = "any back-end; sanity = negotiate, start, answer GET_FEATURES",
    .sanity = generic_sanity,
};
