/* SPDX-License-Identifier: Apache-2.0 */
#include "secmem.h"

#include <string.h>
#include <sys/mman.h>
#include <openssl/crypto.h>

/* Header stored in front of the user area so free knows the mapping size. */
struct secmem_hdr {
	size_t map_len;
	size_t user_len;
};

void *vt_secmem_alloc(size_t n)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t need;
	if (n == 0 || vt_add_overflow(n, sizeof(struct secmem_hdr), &need))
		return NULL;
	size_t map_len = (need + (size_t)page - 1) & ~((size_t)page - 1);
	if (map_len < need)
		return NULL;
	void *m = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	/* Best effort: RLIMIT_MEMLOCK may be small for unprivileged users. */
	(void)mlock(m, map_len);
	(void)madvise(m, map_len, MADV_DONTDUMP);
	(void)madvise(m, map_len, MADV_WIPEONFORK);
	struct secmem_hdr *h = m;
	h->map_len = map_len;
	h->user_len = n;
	return (uint8_t *)m + sizeof(*h);
}

void vt_secmem_free(void *p)
{
	if (!p)
		return;
	struct secmem_hdr *h = (struct secmem_hdr *)((uint8_t *)p - sizeof(struct secmem_hdr));
	size_t map_len = h->map_len;
	OPENSSL_cleanse(h, map_len);
	(void)munlock(h, map_len);
	(void)munmap(h, map_len);
}

void vt_wipe(void *p, size_t n)
{
	if (p && n)
		OPENSSL_cleanse(p, n);
}

int vt_ct_memcmp(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) != 0;
}
