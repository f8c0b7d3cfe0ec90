/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Void receipts: the destination's proof that a migration ticket is void.
 * receipt = HMAC-SHA256(K, "vtrust-rpmb-ticket-void-v1\0" || ticket store
 * uuid || ticket nonce), K = HKDF-SHA256(migration key, label
 * "vtrust-rpmb-void-receipt-v1"). Only a holder of the migration key makes
 * one, and the destination makes one only after the ticket is durably void.
 * The source's cancel-export accepts only a receipt for the ticket it
 * exported for. Text form: "vtrpmbv1-" + 64 hex.
 */
#include <stdio.h>
#include <string.h>
#include <openssl/evp.h>

#include "rpmb.h"
#include "secmem.h"

#define RECEIPT_PREFIX "vtrpmbv1-"
#define RECEIPT_DOMAIN "vtrust-rpmb-ticket-void-v1"

int rpmb_receipt_compute(const uint8_t *mig_key, const struct rpmb_ticket *t,
			 uint8_t out[RPMB_RECEIPT_SIZE])
{
	uint8_t k[32], msg[sizeof(RECEIPT_DOMAIN) + RPMB_ID_SIZE + RPMB_TICKET_NONCE_LEN];
	int r = rpmb_hkdf(mig_key, RPMB_KEY_SIZE, "vtrust-rpmb-void-receipt-v1", NULL, 0, k,
			  sizeof(k));
	memcpy(msg, RECEIPT_DOMAIN, sizeof(RECEIPT_DOMAIN)); /* with its NUL */
	memcpy(msg + sizeof(RECEIPT_DOMAIN), t->store, RPMB_ID_SIZE);
	memcpy(msg + sizeof(RECEIPT_DOMAIN) + RPMB_ID_SIZE, t->nonce, RPMB_TICKET_NONCE_LEN);
	size_t n = 0;
	if (r == 0 && (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, k, sizeof(k), msg,
				  sizeof(msg), out, RPMB_RECEIPT_SIZE, &n) ||
		       n != RPMB_RECEIPT_SIZE))
		r = -EIO;
	vt_wipe(k, sizeof(k));
	if (r < 0)
		vt_wipe(out, RPMB_RECEIPT_SIZE);
	return r;
}

int rpmb_receipt_parse(const char *text, uint8_t out[RPMB_RECEIPT_SIZE])
{
	const size_t pl = sizeof(RECEIPT_PREFIX) - 1;
	if (!text || strlen(text) != RPMB_RECEIPT_STR_LEN || strncmp(text, RECEIPT_PREFIX, pl) != 0)
		return -EINVAL;
	return rpmb_unhex(text + pl, out, RPMB_RECEIPT_SIZE, false);
}

void rpmb_receipt_format(const uint8_t r[RPMB_RECEIPT_SIZE], char out[RPMB_RECEIPT_STR_LEN + 1])
{
	char *p = out + snprintf(out, RPMB_RECEIPT_STR_LEN + 1, "%s", RECEIPT_PREFIX);
	for (unsigned i = 0; i < RPMB_RECEIPT_SIZE; i++, p += 2)
		snprintf(p, 3, "%02x", r[i]);
}
