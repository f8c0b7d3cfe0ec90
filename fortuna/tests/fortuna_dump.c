/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fortuna_dump BYTES [--biased]: writes BYTES of generator output (default
 * options) to stdout, for rngtest. --biased clears the top bit of every
 * fourth byte: a broken stream for the test's negative control.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vtrust/fortuna.h"

int main(int argc, char **argv)
{
	struct vtf_ctx *c;
	uint8_t buf[4096];
	if (argc < 2)
		return 2;
	size_t left = strtoull(argv[1], NULL, 10);
	int biased = argc > 2 && strcmp(argv[2], "--biased") == 0;
	int r = vtf_new(NULL, &c);
	if (r < 0) {
		fprintf(stderr, "vtf_new: %s\n", vtf_strerror(r));
		return 1;
	}
	while (left) {
		size_t n = left < sizeof(buf) ? left : sizeof(buf);
		r = vtf_generate(c, buf, n);
		if (r < 0) {
			fprintf(stderr, "vtf_generate: %s\n", vtf_strerror(r));
			return 1;
		}
		if (biased)
			for (size_t i = 0; i < n; i += 4)
				buf[i] &= 0x7f;
		if (fwrite(buf, 1, n, stdout) != n)
			return 1;
		left -= n;
	}
	vtf_free(c);
	return fflush(stdout) == 0 ? 0 : 1;
}
