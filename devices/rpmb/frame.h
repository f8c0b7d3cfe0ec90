/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-rpmb frames (virtio 1.2 §5.12, eMMC 5.1 §6.6.22): 512 bytes, every
 * multi-byte field big-endian. The MAC is HMAC-SHA256 under the 32-byte
 * authentication key over bytes 228..511 (data .. req_resp) of every frame of
 * a request or response, concatenated in order.
 *
 * Frames are kept as raw bytes (struct rpmb_frame) and read through the
 * accessors below, so no code ever depends on host byte order or padding.
 */
#ifndef VTRUST_RPMB_FRAME_H
#define VTRUST_RPMB_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "byteorder.h"
#include "compiler.h"

#define RPMB_VIRTIO_ID 28

#define RPMB_FRAME_SIZE 512u
#define RPMB_BLOCK_SIZE 256u
#define RPMB_KEY_SIZE 32u
#define RPMB_MAC_SIZE 32u
#define RPMB_NONCE_SIZE 16u
/* One capacity unit: 128 KiB = 512 blocks of 256 bytes. */
#define RPMB_UNIT_BYTES (128u * 1024u)
#define RPMB_BLOCKS_PER_UNIT (RPMB_UNIT_BYTES / RPMB_BLOCK_SIZE)
#define RPMB_MAX_CAPACITY 128u /* 16 MiB */

/* Field offsets. */
#define RPMB_OFF_KEY_MAC 196u
#define RPMB_OFF_DATA 228u
#define RPMB_OFF_NONCE 484u
#define RPMB_OFF_COUNTER 500u
#define RPMB_OFF_ADDRESS 504u
#define RPMB_OFF_BLOCK_COUNT 506u
#define RPMB_OFF_RESULT 508u
#define RPMB_OFF_REQ_RESP 510u
/* The MAC covers [228, 512) of each frame. */
#define RPMB_MAC_OFF RPMB_OFF_DATA
#define RPMB_MAC_LEN (RPMB_FRAME_SIZE - RPMB_OFF_DATA) /* 284 */

/* Requests. */
#define RPMB_REQ_PROGRAM_KEY 0x0001
#define RPMB_REQ_GET_WRITE_COUNTER 0x0002
#define RPMB_REQ_DATA_WRITE 0x0003
#define RPMB_REQ_DATA_READ 0x0004
#define RPMB_REQ_RESULT_READ 0x0005
/* Responses. */
#define RPMB_RESP_PROGRAM_KEY 0x0100
#define RPMB_RESP_GET_COUNTER 0x0200
#define RPMB_RESP_DATA_WRITE 0x0300
#define RPMB_RESP_DATA_READ 0x0400
/* Results (eMMC ORs RPMB_RES_WRITE_COUNTER_EXPIRED onto the others). */
#define RPMB_RES_OK 0x0000
#define RPMB_RES_GENERAL_FAILURE 0x0001
#define RPMB_RES_AUTH_FAILURE 0x0002
#define RPMB_RES_COUNT_FAILURE 0x0003
#define RPMB_RES_ADDR_FAILURE 0x0004
#define RPMB_RES_WRITE_FAILURE 0x0005
#define RPMB_RES_READ_FAILURE 0x0006
#define RPMB_RES_NO_AUTH_KEY 0x0007
#define RPMB_RES_WRITE_COUNTER_EXPIRED 0x0080

#define RPMB_COUNTER_MAX 0xffffffffu

struct rpmb_frame {
	uint8_t b[RPMB_FRAME_SIZE];
};
VT_STATIC_ASSERT(sizeof(struct rpmb_frame) == 512, "rpmb frame is 512 bytes");

static inline uint16_t rpmb_get16(const struct rpmb_frame *f, unsigned off)
{
	return vt_get_be16(f->b + off);
}
static inline void rpmb_put16(struct rpmb_frame *f, unsigned off, uint16_t v)
{
	vt_put_be16(f->b + off, v);
}
static inline uint32_t rpmb_get32(const struct rpmb_frame *f, unsigned off)
{
	return vt_get_be32(f->b + off);
}
static inline void rpmb_put32(struct rpmb_frame *f, unsigned off, uint32_t v)
{
	vt_put_be32(f->b + off, v);
}

static inline uint16_t rpmb_req(const struct rpmb_frame *f)
{
	return rpmb_get16(f, RPMB_OFF_REQ_RESP);
}
static inline uint16_t rpmb_result(const struct rpmb_frame *f)
{
	return rpmb_get16(f, RPMB_OFF_RESULT);
}
static inline uint16_t rpmb_block_count(const struct rpmb_frame *f)
{
	return rpmb_get16(f, RPMB_OFF_BLOCK_COUNT);
}
static inline uint16_t rpmb_address(const struct rpmb_frame *f)
{
	return rpmb_get16(f, RPMB_OFF_ADDRESS);
}
static inline uint32_t rpmb_counter(const struct rpmb_frame *f)
{
	return rpmb_get32(f, RPMB_OFF_COUNTER);
}

/* Name of a request or response type ("DATA_WRITE"), "?" if unknown. */
const char *rpmb_req_name(uint16_t req_resp);
/* Name of a result code without the expired bit ("AUTH_FAILURE"), "?" if unknown. */
const char *rpmb_result_name(uint16_t result);

/*
 * HMAC-SHA256 under key over bytes 228..511 of frames[0..n), in order.
 * Returns 0, or -EIO if libcrypto failed.
 */
int rpmb_mac(const uint8_t key[RPMB_KEY_SIZE], const struct rpmb_frame *frames, size_t n,
	     uint8_t mac[RPMB_MAC_SIZE]) VT_MUST_USE;

/*
 * A keyed HMAC context kept between requests (EVP_MAC_init with a new key
 * costs ~3 us, re-initialising a keyed context ~0.4 us). Lives in secure
 * memory; the key is compared in constant time on every use and the context
 * re-keyed when it changed. Not thread-safe: the caller serialises.
 */
struct rpmb_hmac;
struct rpmb_hmac *rpmb_hmac_new(void);
void rpmb_hmac_free(struct rpmb_hmac *h);
int rpmb_hmac_frames(struct rpmb_hmac *h, const uint8_t key[RPMB_KEY_SIZE],
		     const struct rpmb_frame *frames, size_t n,
		     uint8_t mac[RPMB_MAC_SIZE]) VT_MUST_USE;

#endif
