/* SPDX-License-Identifier: Apache-2.0 */
/*
 * struct vt_view: a bounded view over private memory (a copy of guest bytes
 * made with vt_chain_read), and the only way to address such a copy by
 * guest-supplied offsets. A sub-view exists only if it lies inside its
 * parent (overflow-checked); nothing computes `buf + guest_offset` by hand.
 */
#ifndef VTRUST_VIEW_H
#define VTRUST_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

struct vt_view {
	uint8_t *p;
	size_t len;
};

static inline struct vt_view vt_view_of(void *p, size_t len)
{
	return (struct vt_view){.p = p, .len = len};
}

/* The sub-view [off, off + len) of v; -ERANGE (ret untouched) unless it lies inside v. */
static inline VT_MUST_USE int vt_view_sub(struct vt_view v, uint64_t off, uint64_t len,
					  struct vt_view *ret)
{
	uint64_t end;
	if (vt_add_overflow(off, len, &end) || end > v.len)
		return -ERANGE;
	*ret = vt_view_of(v.p + off, (size_t)len);
	return 0;
}

#endif
