/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TPM 2.0 NV counter access through tpm2-tss: the TCTI loader (any TCTI:
 * device:/dev/tpmrm0, swtpm:..., mssim:...) and ESAPI with password
 * sessions (the index has an empty auth value and NO_DA: a wrong guess can
 * never lock the TPM out). The policy (when to increment, what a mismatch
 * means) is in rpmb.c and README.md.
 */
#include "anchor.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

struct rpmb_tpm {
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *esys;
	uint32_t index; /* the index nv refers to, or 0 */
	ESYS_TR nv;
};

static int tpm_err(TSS2_RC rc, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "TPM %s: %s", what, Tss2_RC_Decode(rc));
	return -EIO;
}

/* A TPM response code without the layer and parameter/handle number. */
static TSS2_RC base_rc(TSS2_RC rc)
{
	rc &= 0xffff;
	if (rc & TPM2_RC_FMT1)
		return rc & (TPM2_RC_FMT1 | 0x3f);
	return rc;
}

int rpmb_tpm_open(const char *tcti, struct rpmb_tpm **ret, char *err, size_t errlen)
{
	struct rpmb_tpm *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->nv = ESYS_TR_NONE;
	/*
	 * tpm2-tss logs expected TPM answers (an index that does not exist yet)
	 * as errors on stderr; our own messages say what matters. Set-up runs
	 * before any other thread exists; an operator's TSS2_LOG wins.
	 */
	(void)setenv("TSS2_LOG", "all+NONE", 0);
	TSS2_RC rc = Tss2_TctiLdr_Initialize(tcti, &t->tcti);
	if (rc != TSS2_RC_SUCCESS) {
		free(t);
		return tpm_err(rc, "connection (TCTI) failed", err, errlen);
	}
	rc = Esys_Initialize(&t->esys, t->tcti, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		Tss2_TctiLdr_Finalize(&t->tcti);
		free(t);
		return tpm_err(rc, "ESAPI initialisation failed", err, errlen);
	}
	/* A TPM the platform started answers TPM2_RC_INITIALIZE: fine. */
	rc = Esys_Startup(t->esys, TPM2_SU_CLEAR);
	if (rc != TSS2_RC_SUCCESS && base_rc(rc) != TPM2_RC_INITIALIZE) {
		rpmb_tpm_close(t);
		return tpm_err(rc, "startup failed", err, errlen);
	}
	*ret = t;
	return 0;
}

void rpmb_tpm_close(struct rpmb_tpm *t)
{
	if (!t)
		return;
	if (t->nv != ESYS_TR_NONE)
		(void)Esys_TR_Close(t->esys, &t->nv);
	Esys_Finalize(&t->esys);
	Tss2_TctiLdr_Finalize(&t->tcti);
	free(t);
}

/* The ESAPI object of index: -ENOENT if the TPM has no such index. */
static int nv_handle(struct rpmb_tpm *t, uint32_t index, char *err, size_t errlen)
{
	if (t->nv != ESYS_TR_NONE && t->index == index)
		return 0;
	if (t->nv != ESYS_TR_NONE)
		(void)Esys_TR_Close(t->esys, &t->nv);
	t->nv = ESYS_TR_NONE;
	TSS2_RC rc = Esys_TR_FromTPMPublic(t->esys, index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
					   &t->nv);
	if (rc != TSS2_RC_SUCCESS) {
		t->nv = ESYS_TR_NONE;
		if (base_rc(rc) == TPM2_RC_HANDLE) {
			snprintf(err, errlen, "TPM NV index 0x%08x does not exist", index);
			return -ENOENT;
		}
		return tpm_err(rc, "NV index lookup failed", err, errlen);
	}
	t->index = index;
	return 0;
}

int rpmb_tpm_read(struct rpmb_tpm *t, uint32_t index, uint64_t *value, char *err, size_t errlen)
{
	int r = nv_handle(t, index, err, errlen);
	if (r < 0)
		return r;
	TPM2B_MAX_NV_BUFFER *data = NULL;
	TSS2_RC rc = Esys_NV_Read(t->esys, t->nv, t->nv, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				  ESYS_TR_NONE, 8, 0, &data);
	if (rc != TSS2_RC_SUCCESS) {
		if (base_rc(rc) == TPM2_RC_NV_UNINITIALIZED) {
			*value = 0;
			return 0;
		}
		return tpm_err(rc, "NV counter read failed", err, errlen);
	}
	if (data->size != 8) {
		Esys_Free(data);
		snprintf(err, errlen, "TPM NV index 0x%08x is not an 8-byte counter", index);
		return -EPROTO;
	}
	uint64_t v = 0;
	for (unsigned i = 0; i < 8; i++)
		v = v << 8 | data->buffer[i];
	Esys_Free(data);
	*value = v;
	return 0;
}

int rpmb_tpm_increment(struct rpmb_tpm *t, uint32_t index, char *err, size_t errlen)
{
	int r = nv_handle(t, index, err, errlen);
	if (r < 0)
		return r;
	TSS2_RC rc = Esys_NV_Increment(t->esys, t->nv, t->nv, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				       ESYS_TR_NONE);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_err(rc, "NV counter increment failed", err, errlen);
	return 0;
}

int rpmb_tpm_define(struct rpmb_tpm *t, uint32_t index, char *err, size_t errlen)
{
	int r = nv_handle(t, index, err, errlen);
	if (r == -ENOENT) {
		TPM2B_AUTH auth = {.size = 0};
		TPM2B_NV_PUBLIC pub = {
		    .nvPublic = {
			.nvIndex = index,
			.nameAlg = TPM2_ALG_SHA256,
			.attributes = TPMA_NV_AUTHWRITE | TPMA_NV_AUTHREAD | TPMA_NV_NO_DA |
				      ((TPMA_NV)TPM2_NT_COUNTER << TPMA_NV_TPM2_NT_SHIFT),
			.dataSize = 8,
		    }};
		TSS2_RC rc = Esys_NV_DefineSpace(t->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD,
						 ESYS_TR_NONE, ESYS_TR_NONE, &auth, &pub, &t->nv);
		if (rc != TSS2_RC_SUCCESS) {
			t->nv = ESYS_TR_NONE;
			return tpm_err(rc, "NV counter definition failed (owner hierarchy auth must "
					   "be empty, or define the index yourself)",
				       err, errlen);
		}
		t->index = index;
	} else if (r < 0) {
		return r;
	}
	uint64_t v;
	r = rpmb_tpm_read(t, index, &v, err, errlen);
	if (r == 0 && v == 0)
		r = rpmb_tpm_increment(t, index, err, errlen); /* readable from now on */
	return r;
}
