/* SPDX-License-Identifier: Apache-2.0 */
/* Hex text to bytes, for key files, tickets and receipts. */
#include <errno.h>

#include "rpmb.h"
#include "secmem.h"

static int hexval(char c, bool any_case)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (any_case && c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int rpmb_unhex(const char *hex, uint8_t *out, size_t n, bool any_case)
{
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(hex[2 * i], any_case), lo = hexval(hex[2 * i + 1], any_case);
		if (hi < 0 || lo < 0) {
			vt_wipe(out, n); /* may be a key: nothing half-decoded is left */
			return -EINVAL;
		}
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}
