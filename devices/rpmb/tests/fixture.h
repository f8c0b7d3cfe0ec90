/* SPDX-License-Identifier: Apache-2.0 */
/* A device over a simulated disk, and request helpers, for the rpmb unit tests. */
#ifndef VTRUST_RPMB_FIXTURE_H
#define VTRUST_RPMB_FIXTURE_H

#include <stdio.h>
#include <string.h>

#include "client.h"
#include "log.h"
#include "rpmb.h"
#include "secmem.h"
#include "simdisk.h"

struct fx {
	struct simdisk disk;
	struct rpmb_dev *d;
	struct rpmb_frame in[260], out[260];
	uint8_t key[RPMB_KEY_SIZE];
};

static inline int fx_open(struct fx *f, uint8_t max_rd)
{
	struct rpmb_io io;
	simdisk_io(&f->disk, &io);
	struct rpmb_store *s;
	char err[256];
	int r = rpmb_store_open_io(&io, &s, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "open: %s\n", err);
		return r;
	}
	r = rpmb_dev_from_store(s, max_rd, &f->d);
	if (r < 0)
		rpmb_store_close(s);
	return r;
}

/* A fresh store of the given layout version (0: the current one). */
static inline void fx_init_v(struct fx *f, uint8_t cap, uint8_t max_wr, uint8_t max_rd,
			     uint32_t counter, uint32_t version)
{
	memset(f, 0, sizeof(*f));
	struct rpmb_geom g = {cap, max_wr};
	simdisk_init(&f->disk, rpmb_store_file_size(&g), 1234);
	if (simdisk_format_v(&f->disk, cap, max_wr, counter, version) < 0)
		abort();
	if (fx_open(f, max_rd) < 0)
		abort();
	for (unsigned i = 0; i < RPMB_KEY_SIZE; i++)
		f->key[i] = (uint8_t)(0x40 + i);
}

static inline void fx_init(struct fx *f, uint8_t cap, uint8_t max_wr, uint8_t max_rd,
			   uint32_t counter)
{
	fx_init_v(f, cap, max_wr, max_rd, counter, 0);
}

static inline void fx_free(struct fx *f)
{
	rpmb_dev_free(f->d);
	f->d = NULL;
	simdisk_free(&f->disk);
}

static inline size_t fx_req(struct fx *f, size_t nin, size_t out_max)
{
	memset(f->out, 0xee, sizeof(f->out));
	return rpmb_request(f->d, f->in, nin, false, f->out, out_max);
}

static inline uint16_t fx_program(struct fx *f)
{
	size_t n = rpmb_cl_program_key(f->in, f->key, true);
	if (fx_req(f, n, 1) != 1)
		return 0xffff;
	return rpmb_result(&f->out[0]);
}

static inline uint32_t fx_counter(struct fx *f, uint16_t *result)
{
	uint8_t nonce[16] = {9, 8, 7};
	rpmb_cl_get_counter(f->in, nonce);
	if (fx_req(f, 1, 1) != 1) {
		*result = 0xffff;
		return 0;
	}
	*result = rpmb_result(&f->out[0]);
	return rpmb_counter(&f->out[0]);
}

static inline uint16_t fx_write(struct fx *f, uint32_t counter, uint16_t addr, uint16_t nblk,
				const uint8_t *data)
{
	size_t n = rpmb_cl_write(f->in, f->key, counter, addr, nblk, data, true);
	if (fx_req(f, n, 1) != 1)
		return 0xffff;
	return rpmb_result(&f->out[0]);
}

static inline uint16_t fx_read(struct fx *f, uint16_t addr, uint16_t nblk, uint8_t *data)
{
	uint8_t nonce[16] = {1, 2, 3, 4};
	rpmb_cl_read(f->in, addr, nblk, nonce);
	size_t n = fx_req(f, 1, f->d->out_cap);
	if (n == 0)
		return 0xffff;
	uint16_t res = rpmb_result(&f->out[n - 1]);
	if ((res & 0x7f) == RPMB_RES_OK && n == nblk && data)
		for (size_t i = 0; i < n; i++)
			memcpy(data + i * RPMB_BLOCK_SIZE, f->out[i].b + RPMB_OFF_DATA,
			       RPMB_BLOCK_SIZE);
	return res;
}

#endif
