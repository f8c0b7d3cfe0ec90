/* SPDX-License-Identifier: Apache-2.0 */
#include "client.h"

#include <ctype.h>
#include <string.h>

#include "secmem.h"

void rpmb_cl_result_read(struct rpmb_frame *f)
{
	memset(f, 0, sizeof(*f));
	rpmb_put16(f, RPMB_OFF_BLOCK_COUNT, 1);
	rpmb_put16(f, RPMB_OFF_REQ_RESP, RPMB_REQ_RESULT_READ);
}

size_t rpmb_cl_program_key(struct rpmb_frame *f, const uint8_t key[RPMB_KEY_SIZE], bool result_read)
{
	memset(f, 0, sizeof(*f));
	memcpy(f->b + RPMB_OFF_KEY_MAC, key, RPMB_KEY_SIZE);
	rpmb_put16(f, RPMB_OFF_BLOCK_COUNT, 1);
	rpmb_put16(f, RPMB_OFF_REQ_RESP, RPMB_REQ_PROGRAM_KEY);
	if (!result_read)
		return 1;
	rpmb_cl_result_read(&f[1]);
	return 2;
}

void rpmb_cl_get_counter(struct rpmb_frame *f, const uint8_t nonce[RPMB_NONCE_SIZE])
{
	memset(f, 0, sizeof(*f));
	memcpy(f->b + RPMB_OFF_NONCE, nonce, RPMB_NONCE_SIZE);
	rpmb_put16(f, RPMB_OFF_BLOCK_COUNT, 1);
	rpmb_put16(f, RPMB_OFF_REQ_RESP, RPMB_REQ_GET_WRITE_COUNTER);
}

size_t rpmb_cl_write(struct rpmb_frame *f, const uint8_t key[RPMB_KEY_SIZE], uint32_t counter,
		     uint16_t addr, uint16_t nblk, const uint8_t *data, bool result_read)
{
	return rpmb_cl_write_h(NULL, f, key, counter, addr, nblk, data, result_read);
}

size_t rpmb_cl_write_h(struct rpmb_hmac *h, struct rpmb_frame *f, const uint8_t key[RPMB_KEY_SIZE],
		       uint32_t counter, uint16_t addr, uint16_t nblk, const uint8_t *data,
		       bool result_read)
{
	for (uint16_t i = 0; i < nblk; i++) {
		memset(&f[i], 0, sizeof(f[i]));
		memcpy(f[i].b + RPMB_OFF_DATA, data + (size_t)i * RPMB_BLOCK_SIZE, RPMB_BLOCK_SIZE);
		rpmb_put32(&f[i], RPMB_OFF_COUNTER, counter);
		rpmb_put16(&f[i], RPMB_OFF_ADDRESS, addr);
		rpmb_put16(&f[i], RPMB_OFF_BLOCK_COUNT, nblk);
		rpmb_put16(&f[i], RPMB_OFF_REQ_RESP, RPMB_REQ_DATA_WRITE);
	}
	if (nblk && rpmb_hmac_frames(h, key, f, nblk, f[nblk - 1].b + RPMB_OFF_KEY_MAC) < 0)
		memset(f[nblk - 1].b + RPMB_OFF_KEY_MAC, 0, RPMB_MAC_SIZE);
	if (!result_read)
		return nblk;
	rpmb_cl_result_read(&f[nblk]);
	return (size_t)nblk + 1;
}

void rpmb_cl_read(struct rpmb_frame *f, uint16_t addr, uint16_t nblk,
		  const uint8_t nonce[RPMB_NONCE_SIZE])
{
	memset(f, 0, sizeof(*f));
	memcpy(f->b + RPMB_OFF_NONCE, nonce, RPMB_NONCE_SIZE);
	rpmb_put16(f, RPMB_OFF_ADDRESS, addr);
	rpmb_put16(f, RPMB_OFF_BLOCK_COUNT, nblk);
	rpmb_put16(f, RPMB_OFF_REQ_RESP, RPMB_REQ_DATA_READ);
}

int rpmb_cl_check_mac(const uint8_t key[RPMB_KEY_SIZE], const struct rpmb_frame *f, size_t n)
{
	return rpmb_cl_check_mac_h(NULL, key, f, n);
}

int rpmb_cl_check_mac_h(struct rpmb_hmac *h, const uint8_t key[RPMB_KEY_SIZE],
			const struct rpmb_frame *f, size_t n)
{
	uint8_t mac[RPMB_MAC_SIZE];
	if (n == 0 || rpmb_hmac_frames(h, key, f, n, mac) < 0)
		return -EIO;
	return vt_ct_memcmp(mac, f[n - 1].b + RPMB_OFF_KEY_MAC, RPMB_MAC_SIZE) ? -EBADMSG : 0;
}

int rpmb_cl_parse_key(const char *hex, uint8_t key[RPMB_KEY_SIZE])
{
	if (strlen(hex) != 2 * RPMB_KEY_SIZE)
		return -EINVAL;
	for (unsigned i = 0; i < 2 * RPMB_KEY_SIZE; i++) {
		int c = tolower((unsigned char)hex[i]);
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (v < 0)
			return -EINVAL;
		if (i % 2 == 0)
			key[i / 2] = (uint8_t)(v << 4);
		else
			key[i / 2] |= (uint8_t)v;
	}
	return 0;
}
