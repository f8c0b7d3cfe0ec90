/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The request queue: each chain's readable bytes are a sequence of 512-byte
 * frames wherever the descriptor boundaries fall; they are copied out once
 * (vt_chain_read) and the response frames written back in order. used.len is
 * 512 × frames written.
 */
#include "rpmb.h"
#include "secmem.h"

static struct vt_verdict rpmb_chain(void *priv, struct vt_queue *q, struct vt_chain *c)
{
	(void)q;
	struct rpmb_dev *d = priv;
	size_t rd = vt_chain_readable(c), wr = vt_chain_writable(c);
	bool malformed = rd == 0 || rd % RPMB_FRAME_SIZE || rd > d->in_cap * RPMB_FRAME_SIZE;
	size_t nin = VT_MIN(rd / RPMB_FRAME_SIZE, d->in_cap);
	if (nin && vt_chain_read(c, d->in, nin * RPMB_FRAME_SIZE) < 0)
		return vt_malformed();
	size_t out_max = VT_MIN(wr / RPMB_FRAME_SIZE, d->out_cap);
	d->redo = c->redo; /* served again after a crash (core/resume.h) */
	size_t nout = rpmb_request(d, d->in, nin, malformed, d->out, out_max);
	d->redo = false;
	if (nin && rpmb_req(&d->in[0]) == RPMB_REQ_PROGRAM_KEY)
		vt_wipe(d->in, nin * RPMB_FRAME_SIZE); /* our copy of the key */
	if (nout && vt_chain_write(c, d->out, nout * RPMB_FRAME_SIZE) < 0)
		return vt_malformed();
	return vt_used(nout * RPMB_FRAME_SIZE);
}

static void rpmb_after_batch(void *priv, struct vt_queue *q)
{
	(void)q;
	rpmb_apply_pending(priv);
}

/*
 * A committed write's blocks are applied to the data area only after the
 * batch's answers were published and the driver notified (or earlier, by the
 * next request that touches the store): off the latency path.
 */
void rpmb_queue_handle(void *priv, struct vt_queue *q)
{
	static const struct vt_server server = {.chain = rpmb_chain, .after_batch = rpmb_after_batch};
	(void)vt_queue_serve(q, &server, priv);
}
