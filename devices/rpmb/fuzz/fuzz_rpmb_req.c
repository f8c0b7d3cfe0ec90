/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: RPMB frame parsing and request handling (rpmb_request, the
 * store commit path) on a simulated disk.
 *
 * Input: byte 0 = flags (bit 0: the request counts as malformed; bit 1:
 * program the key first; bit 2: fix up DATA_WRITE MAC and counter so the
 * authenticated paths are reached), byte 1 = writable frames offered,
 * the rest = readable bytes cut into 512-byte frames (a trailing partial
 * frame makes the request malformed, as the queue would report it).
 * Whatever the input, responses stay within the offered frames.
 */
#include <string.h>

#include "client.h"
#include "log.h"
#include "rpmb.h"
#include "simdisk.h"

#define MAX_WR 8
#define MAX_RD 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct simdisk disk;
static uint8_t *pristine;
static uint64_t fsize;
static const uint8_t key[32] = "fuzz-key-fuzz-key-fuzz-key-fuzz";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!pristine) {
		vt_log_set_level(VT_LOG_ERR - 1);
		struct rpmb_geom g = {1, MAX_WR};
		fsize = rpmb_store_file_size(&g);
		simdisk_init(&disk, fsize, 1);
		if (simdisk_format(&disk, 1, MAX_WR, 0) < 0)
			__builtin_trap();
		pristine = malloc(fsize);
		memcpy(pristine, disk.durable, fsize);
	}
	memcpy(disk.durable, pristine, fsize);
	memcpy(disk.cache, pristine, fsize);
	disk.size = fsize;
	if (size < 2)
		return 0;
	uint8_t flags = data[0], wr = data[1] % (MAX_RD + 2);
	data += 2;
	size -= 2;

	struct rpmb_io io;
	simdisk_io(&disk, &io);
	struct rpmb_store *s;
	char err[256];
	struct rpmb_dev *d;
	if (rpmb_store_open_io(&io, &s, err, sizeof(err)) < 0)
		__builtin_trap();
	if (rpmb_dev_from_store(s, MAX_RD, &d) < 0)
		__builtin_trap();
	static struct rpmb_frame in[MAX_WR + 1], out[MAX_RD + 2];
	if (flags & 2) {
		size_t n = rpmb_cl_program_key(in, key, false);
		(void)rpmb_request(d, in, n, false, out, 0);
	}
	size_t nin = VT_MIN(size / 512, (size_t)MAX_WR + 1);
	bool malformed = (flags & 1) || size % 512 || size / 512 > MAX_WR + 1;
	memcpy(in, data, nin * 512);
	if ((flags & 4) && nin && rpmb_req(&in[0]) == RPMB_REQ_DATA_WRITE) {
		size_t nop = nin;
		if (nop > 1 && rpmb_req(&in[nop - 1]) == RPMB_REQ_RESULT_READ)
			nop--;
		for (size_t i = 0; i < nop; i++)
			rpmb_put32(&in[i], RPMB_OFF_COUNTER, 0);
		if (rpmb_mac(key, in, nop, in[nop - 1].b + RPMB_OFF_KEY_MAC) < 0)
			__builtin_trap();
	}
	memset(out, 0x5a, sizeof(out));
	size_t n = rpmb_request(d, in, nin, malformed, out, wr);
	if (n > wr)
		__builtin_trap();
	for (size_t i = n; i < VT_ARRAY_SIZE(out); i++)
		if (out[i].b[0] != 0x5a || out[i].b[511] != 0x5a)
			__builtin_trap();
	/* The store must reopen to the same state after whatever happened. */
	uint32_t counter = s->st.counter;
	rpmb_dev_free(d);
	if (rpmb_store_open_io(&io, &s, err, sizeof(err)) < 0 || s->st.counter != counter)
		__builtin_trap();
	rpmb_store_close(s);
	return 0;
}
