/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The rollback anchor: a TPM 2.0 NV counter (tpm2-tss ESAPI) that the store's
 * progress is tied to (README.md, "Rollback detection"). The store records
 * the value the counter must hold; a store file whose recorded value is
 * below the counter is an older copy and is refused.
 */
#ifndef VTRUST_RPMB_ANCHOR_H
#define VTRUST_RPMB_ANCHOR_H

#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

struct rpmb_tpm;

/* Connects through the TCTI configuration string (e.g. "swtpm:host=127.0.0.1,port=2321"). */
int rpmb_tpm_open(const char *tcti, struct rpmb_tpm **ret, char *err, size_t errlen) VT_MUST_USE;
void rpmb_tpm_close(struct rpmb_tpm *t);
/*
 * Defines NV counter index (empty auth, NO_DA, owner hierarchy) unless it
 * exists, and makes sure it was incremented once (a counter is readable only
 * then). 0, or -errno with a reason.
 */
int rpmb_tpm_define(struct rpmb_tpm *t, uint32_t index, char *err, size_t errlen) VT_MUST_USE;
/* The counter's value: 0, -ENOENT (no such index), or -errno with a reason. */
int rpmb_tpm_read(struct rpmb_tpm *t, uint32_t index, uint64_t *value, char *err,
		  size_t errlen) VT_MUST_USE;
/* Increments the counter by one. */
int rpmb_tpm_increment(struct rpmb_tpm *t, uint32_t index, char *err, size_t errlen) VT_MUST_USE;

#endif
