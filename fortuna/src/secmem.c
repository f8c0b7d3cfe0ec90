/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Memory for generator state: whole pages of its own, locked so the key is
 * never written to swap, and excluded from core dumps. Both are best effort
 * (RLIMIT_MEMLOCK may be small); the caller learns whether locking worked.
 */
#include <stddef.h>
#include <sys/mman.h>

#include <openssl/crypto.h>

#include "internal.h"

void *vtf_secmem_alloc(size_t len, bool *locked)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	*locked = mlock(p, len) == 0;
#ifdef MADV_DONTDUMP
	(void)madvise(p, len, MADV_DONTDUMP);
#endif
	return p;
}

void vtf_secmem_free(void *p, size_t len)
{
	if (!p)
		return;
	OPENSSL_cleanse(p, len);
	munlock(p, len);
	munmap(p, len);
}
