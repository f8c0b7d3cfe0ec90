/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: migration blobs as DEVICE_STATE load or rpmb-import receives
 * them from the front-end or the operator (rpmb_blob_parse_header,
 * rpmb_import). Byte 0 bit 0 asks for the input to be laid over a valid
 * blob (so mutations reach the GCM check with a valid header). A store
 * holding a live device must never be changed by an import that fails.
 */
#include <string.h>

#include "client.h"
#include "log.h"
#include "rpmb.h"
#include "secmem.h"
#include "simdisk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct simdisk disk;
static uint8_t *pristine, *valid;
static size_t valid_len;
static uint64_t fsize;

static struct rpmb_dev *open_on(struct simdisk *dk)
{
	struct rpmb_io io;
	simdisk_io(dk, &io);
	struct rpmb_store *s;
	struct rpmb_dev *d;
	char err[256];
	if (rpmb_store_open_io(&io, &s, err, sizeof(err)) < 0 || rpmb_dev_from_store(s, 4, &d) < 0)
		__builtin_trap();
	d->mig_key = vt_secmem_alloc(32);
	memset(d->mig_key, 0x42, 32);
	return d;
}

/* The destination: a pristine store with an outstanding import ticket. */
static struct rpmb_dev *open_dev(void)
{
	memcpy(disk.durable, pristine, fsize);
	memcpy(disk.cache, pristine, fsize);
	disk.size = fsize;
	return open_on(&disk);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!pristine) {
		vt_log_set_level(VT_LOG_ERR - 1);
		struct rpmb_geom g = {1, 4};
		fsize = rpmb_store_file_size(&g);
		simdisk_init(&disk, fsize, 1);
		if (simdisk_format(&disk, 1, 4, 0) < 0)
			__builtin_trap();
		char err[400];
		struct rpmb_ticket t;
		struct rpmb_dev *d = open_on(&disk);
		if (rpmb_ticket_issue(d, &t, err, sizeof(err)) < 0)
			__builtin_trap();
		rpmb_dev_free(d);
		pristine = malloc(fsize);
		memcpy(pristine, disk.cache, fsize);
		/* The source: another store, exporting for that ticket. */
		struct simdisk src;
		simdisk_init(&src, fsize, 2);
		if (simdisk_format(&src, 1, 4, 0) < 0)
			__builtin_trap();
		d = open_on(&src);
		if (rpmb_export(d, &t, &valid, &valid_len, err, sizeof(err)) < 0)
			__builtin_trap();
		rpmb_dev_free(d);
		simdisk_free(&src);
	}
	if (size < 1)
		return 0;
	bool overlay = data[0] & 1;
	data++;
	size--;
	uint8_t *blob;
	size_t len;
	if (overlay) {
		len = valid_len;
		blob = malloc(len);
		memcpy(blob, valid, len);
		/* Input = (u32 offset, bytes) patches over the valid blob. */
		while (size >= 5) {
			uint32_t off =
			    (uint32_t)(data[0] | data[1] << 8 | data[2] << 16) % (uint32_t)len;
			blob[off] ^= data[4];
			data += 5;
			size -= 5;
		}
	} else {
		len = size;
		blob = malloc(len ? len : 1);
		memcpy(blob, data, len);
	}
	uint32_t c;
	uint64_t gen;
	int parsed = rpmb_blob_parse_header(blob, len, 1, &c, &gen);
	if (parsed == 0 && len != rpmb_blob_size(1))
		__builtin_trap();
	struct rpmb_dev *d = open_dev();
	char err[400];
	int r = rpmb_import(d, blob, len, err, sizeof(err));
	if (r < 0 && (d->store->st.flags & RPMB_ST_IMPORTING))
		__builtin_trap(); /* a refused import must not touch the store */
	rpmb_dev_free(d);
	free(blob);
	return 0;
}
