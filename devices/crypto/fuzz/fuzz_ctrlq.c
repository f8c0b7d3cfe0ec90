/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: control-queue request parsing (vc_parse_ctrl) and session
 * creation for every service from guest-chosen parameters and keys
 * (including DER keys for RSA and ECDSA), through vc_ctrlq_chain. Sessions
 * a run creates are destroyed again so the table never fills up across
 * runs; the fixed sessions of fuzz_common.h must survive. Input layout in
 * fuzz_common.h.
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
	struct vc_qctx *q = &fz_dev->qctx[fz_dev->opts.dataqueues];
	int used = vc_ctrlq_chain(q, &c);
	if (wlen == 0 && used >= 0)
		__builtin_trap();
	if (wlen && used != 1 && used != (int)sizeof(struct vc_session_input))
		__builtin_trap();
	if (used == (int)sizeof(struct vc_session_input)) {
		struct vc_session_input in;
		memcpy(&in, wr, sizeof(in));
		if (getenv("FZ_VERBOSE"))
			fprintf(stderr, "status %u\n", in.status);
		if (in.status >= VC_NSTATUS)
			__builtin_trap();
		if (in.status == VC_OK && vc_destroy_session(fz_dev, in.session_id) != VC_OK)
			__builtin_trap(); /* an id we handed out must name a live session */
	}
	/* Destroys may hit the fixed sessions: recreate the device then. */
	if (vc_table_used(&fz_dev->table) != 12) {
		vc_dev_free(fz_dev);
		fz_dev = NULL;
	}
	return 0;
}
