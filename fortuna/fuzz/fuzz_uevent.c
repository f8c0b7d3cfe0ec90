/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for the uevent parser (src/vmgenid.c), the one parser
 * in this library: it reads netlink datagrams. Besides memory safety it
 * checks the parser against a second, naive reading of the format and
 * aborts if they disagree.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Tokens split at NULs: header "a@b" (terminated), then an exact key. */
static bool naive(const uint8_t *d, size_t n)
{
	const uint8_t *nul = memchr(d, 0, n);
	if (!nul || nul == d || !memchr(d, '@', (size_t)(nul - d)))
		return false;
	static const char key[] = "NEW_VMGENID=1";
	size_t start = (size_t)(nul - d) + 1;
	for (size_t i = start; i <= n; i++) {
		if (i == n || d[i] == 0) {
			if (i - start == sizeof(key) - 1 && memcmp(d + start, key, i - start) == 0)
				return true;
			start = i + 1;
		}
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly size bytes, so any over-read is caught by ASan. */
	uint8_t *buf = calloc(size ? size : 1, 1);
	if (!buf)
		return 0;
	if (size)
		memcpy(buf, data, size);
	if (vtf_uevent_is_new_vmgenid(buf, size) != naive(buf, size))
		abort();
	free(buf);
	return 0;
}
