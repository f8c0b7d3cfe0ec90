/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The RPMB device's resumable state (core/resume.h): struct rpmb_resume in
 * the area the core keeps for the next process. The store itself is durable
 * on its own; what a restart would lose is which write was in flight (so it
 * is answered, not executed twice) and the result a later RESULT_READ asks
 * for.
 */
#include <string.h>

#include "rpmb.h"

#define RESUME_MAGIC 0x52534d52u /* "RMSR" */

size_t rpmb_resume_size(void *priv)
{
	(void)priv;
	return sizeof(struct rpmb_resume);
}

int rpmb_resume_attach(void *priv, void *area, size_t size, bool restored)
{
	struct rpmb_dev *d = priv;
	struct rpmb_resume *r = area;
	pthread_mutex_lock(&d->lock);
	d->resume = NULL;
	if (r && size >= sizeof(*r)) {
		if (restored && r->magic != RESUME_MAGIC) {
			pthread_mutex_unlock(&d->lock);
			return -EBADMSG;
		}
		if (!restored) {
			memset(r, 0, sizeof(*r));
			r->magic = RESUME_MAGIC;
		} else if (r->have_last) {
			d->last_result = r->last_result;
			d->have_last = true;
		}
		d->resume = r;
	}
	pthread_mutex_unlock(&d->lock);
	return 0;
}
