/* SPDX-License-Identifier: Apache-2.0 */
#include "frame.h"

#include <pthread.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "secmem.h"

const char *rpmb_req_name(uint16_t req_resp)
{
	switch (req_resp) {
	case RPMB_REQ_PROGRAM_KEY:
		return "PROGRAM_KEY";
	case RPMB_REQ_GET_WRITE_COUNTER:
		return "GET_WRITE_COUNTER";
	case RPMB_REQ_DATA_WRITE:
		return "DATA_WRITE";
	case RPMB_REQ_DATA_READ:
		return "DATA_READ";
	case RPMB_REQ_RESULT_READ:
		return "RESULT_READ";
	case RPMB_RESP_PROGRAM_KEY:
		return "RESP_PROGRAM_KEY";
	case RPMB_RESP_GET_COUNTER:
		return "RESP_GET_COUNTER";
	case RPMB_RESP_DATA_WRITE:
		return "RESP_DATA_WRITE";
	case RPMB_RESP_DATA_READ:
		return "RESP_DATA_READ";
	default:
		return "?";
	}
}

const char *rpmb_result_name(uint16_t result)
{
	static const char *const names[] = {
	    "OK",	    "GENERAL_FAILURE", "AUTH_FAILURE", "COUNT_FAILURE",
	    "ADDR_FAILURE", "WRITE_FAILURE",   "READ_FAILURE", "NO_AUTH_KEY",
	};
	unsigned r = result & ~(unsigned)RPMB_RES_WRITE_COUNTER_EXPIRED;
	return r < VT_ARRAY_SIZE(names) ? names[r] : "?";
}

static EVP_MAC *hmac_alg;
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;

static void hmac_fetch(void)
{
	hmac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

int rpmb_mac(const uint8_t key[RPMB_KEY_SIZE], const struct rpmb_frame *frames, size_t n,
	     uint8_t mac[RPMB_MAC_SIZE])
{
	pthread_once(&hmac_once, hmac_fetch);
	if (!hmac_alg)
		return -EIO;
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(hmac_alg);
	if (!ctx)
		return -ENOMEM;
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
	    OSSL_PARAM_construct_end(),
	};
	int ok = EVP_MAC_init(ctx, key, RPMB_KEY_SIZE, params);
	for (size_t i = 0; ok && i < n; i++)
		ok = EVP_MAC_update(ctx, frames[i].b + RPMB_MAC_OFF, RPMB_MAC_LEN);
	size_t len = 0;
	if (ok)
		ok = EVP_MAC_final(ctx, mac, &len, RPMB_MAC_SIZE);
	EVP_MAC_CTX_free(ctx);
	return ok && len == RPMB_MAC_SIZE ? 0 : -EIO;
}

struct rpmb_hmac {
	EVP_MAC_CTX *ctx;
	uint8_t key[RPMB_KEY_SIZE];
};

struct rpmb_hmac *rpmb_hmac_new(void)
{
	return vt_secmem_alloc(sizeof(struct rpmb_hmac));
}

void rpmb_hmac_free(struct rpmb_hmac *h)
{
	if (!h)
		return;
	EVP_MAC_CTX_free(h->ctx);
	vt_secmem_free(h);
}

int rpmb_hmac_frames(struct rpmb_hmac *h, const uint8_t key[RPMB_KEY_SIZE],
		     const struct rpmb_frame *frames, size_t n, uint8_t mac[RPMB_MAC_SIZE])
{
	int ok;
	if (!h)
		return rpmb_mac(key, frames, n, mac);
	if (h->ctx && vt_ct_memcmp(h->key, key, RPMB_KEY_SIZE) == 0) {
		ok = EVP_MAC_init(h->ctx, NULL, 0, NULL);
	} else {
		pthread_once(&hmac_once, hmac_fetch);
		EVP_MAC_CTX_free(h->ctx);
		h->ctx = hmac_alg ? EVP_MAC_CTX_new(hmac_alg) : NULL;
		if (!h->ctx)
			return -EIO;
		char digest[] = "SHA256";
		OSSL_PARAM params[] = {
		    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
		    OSSL_PARAM_construct_end(),
		};
		memcpy(h->key, key, RPMB_KEY_SIZE);
		ok = EVP_MAC_init(h->ctx, key, RPMB_KEY_SIZE, params);
	}
	for (size_t i = 0; ok && i < n; i++)
		ok = EVP_MAC_update(h->ctx, frames[i].b + RPMB_MAC_OFF, RPMB_MAC_LEN);
	size_t len = 0;
	if (ok)
		ok = EVP_MAC_final(h->ctx, mac, &len, RPMB_MAC_SIZE);
	if (!ok || len != RPMB_MAC_SIZE) {
		EVP_MAC_CTX_free(h->ctx); /* start from scratch next time */
		h->ctx = NULL;
		return -EIO;
	}
	return 0;
}
