/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Memory for keys and other secrets: page-aligned, mlock'ed (best effort),
 * excluded from core dumps (MADV_DONTDUMP), wiped on free. Use these for
 * every key the devices hold; scripts/lint.sh flags plain free() of keys.
 */
#ifndef VTRUST_SECMEM_H
#define VTRUST_SECMEM_H

#include <stddef.h>

#include "compiler.h"

/* Zeroed, locked, non-dumpable allocation of n bytes; NULL on failure. */
void *vt_secmem_alloc(size_t n) VT_MUST_USE;
/* Wipes and releases; accepts NULL. */
void vt_secmem_free(void *p);
/* Wipes n bytes in a way the compiler cannot elide. */
void vt_wipe(void *p, size_t n);
/* Constant-time comparison: 0 iff equal. Use it for MACs and tags. */
int vt_ct_memcmp(const void *a, const void *b, size_t n) VT_MUST_USE;

#endif
