/* SPDX-License-Identifier: Apache-2.0 */
/*
 * requestq: one chain = one entropy request. The writable part is filled
 * with DRBG output, at most `cap` bytes (max_request_bytes, against
 * inflated lengths); any readable prefix is ignored. A chain with no
 * writable bytes, or with a readable descriptor after a writable one
 * (vt_queue_pop's -EBADMSG), is completed with len 0 and counted as
 * malformed. The used length is exactly the number of bytes written.
 */
#ifndef VTRUST_RNG_REQUEST_H
#define VTRUST_RNG_REQUEST_H

#include <stddef.h>

#include "chain.h"
#include "compiler.h"
#include "virtq.h"

struct rng_dev;
struct rng_drbg;

/* Bytes to write for a popped requestq chain, or -EINVAL (malformed). Pure. */
int rng_request_len(const struct vt_chain *c, size_t cap, size_t *ret_len) VT_MUST_USE;
/*
 * Writes n DRBG bytes through c's write cursor, one span at a time
 * (rng_drbg_begin must be held). 0, -EMSGSIZE (fewer writable bytes),
 * -EIO (the generator failed).
 */
int rng_fill_chain(struct rng_drbg *g, struct vt_chain *c, size_t n) VT_MUST_USE;
/* The requestq handler (queue 0), under the queue lock: vt_queue_serve with verdicts. */
void rng_request_handle(struct rng_dev *d, struct vt_queue *q);

#endif
