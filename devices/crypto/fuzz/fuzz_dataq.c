/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: data-queue request parsing and execution (vc_parse_data, the
 * size checks, every service's run function, stateless sessions), through
 * vc_dataq_chain exactly as a queue worker calls it. Input layout in
 * fuzz_common.h. Whatever the input: no access outside the chain's segments,
 * a status byte in the last writable byte (or the chain refused as
 * malformed when there is none), a used length within the writable size.
 */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct iovec seg[FZ_MAXSEG];
	static uint8_t wr[FZ_WR_MAX];
	fz_init();
	struct vt_chain c;
	uint64_t features;
	if (!fz_chain(data, size, &c, seg, wr, &features))
		return 0;
	atomic_store(&fz_dev->features, features);
	size_t wlen = c.wr_total;
	int used = vc_dataq_chain(&fz_dev->qctx[0], &c);
	if (wlen == 0 && used >= 0)
		__builtin_trap();
	if (getenv("FZ_VERBOSE") && wlen)
		fprintf(stderr, "status %u used %d\n", wr[wlen - 1], used);
	if (wlen && (used < 1 || (size_t)used > wlen || wr[wlen - 1] >= VC_NSTATUS))
		__builtin_trap();
	/* The fixed sessions survive every request. */
	if (vc_table_used(&fz_dev->table) != 12)
		__builtin_trap();
	return 0;
}
