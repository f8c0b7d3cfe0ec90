/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per-block integrity: every block of the data area has a 16-byte tag in the
 * tag area, SHA-256(store uuid, address, block) truncated. Tags are written
 * with their blocks (apply, redo, import, creation) and checked on every
 * read, so a block damaged at rest answers READ_FAILURE, never OK with
 * wrong bytes. Not a MAC: the store file is the host's; rot, not forgery, is
 * what it detects (forgery is the TPM anchor's job).
 */
#include <stdio.h>
#include <string.h>
#include <openssl/evp.h>

#include "journal.h"
#include "log.h"
#include "secmem.h"

void rpmb_md_free(void *md)
{
	EVP_MD_CTX_free(md);
}

int rpmb_tag(void **md, const uint8_t store_uuid[RPMB_ID_SIZE], uint32_t addr,
	     const uint8_t *block, uint8_t tag[RPMB_TAG_SIZE])
{
	const EVP_MD *sha = rpmb_sha256_md(); /* EVP_sha256() would fetch on every init */
	if (!sha)
		return -EIO;
	if (!*md && !(*md = EVP_MD_CTX_new()))
		return -ENOMEM;
	uint8_t a[4], out[32];
	vt_put_le32(a, addr);
	unsigned len = 0;
	int ok = EVP_DigestInit_ex(*md, sha, NULL) &&
		 EVP_DigestUpdate(*md, store_uuid, RPMB_ID_SIZE) && EVP_DigestUpdate(*md, a, 4) &&
		 EVP_DigestUpdate(*md, block, RPMB_BLOCK_SIZE) && EVP_DigestFinal_ex(*md, out, &len);
	if (!ok || len != 32)
		return -EIO;
	memcpy(tag, out, RPMB_TAG_SIZE);
	return 0;
}

int rpmb_store_put_blocks(struct rpmb_store *s, uint32_t addr, uint32_t nblk, const uint8_t *data)
{
	uint8_t tags[64 * RPMB_TAG_SIZE];
	int r = rpmb_io_write_all(&s->io, data, (size_t)nblk * RPMB_BLOCK_SIZE,
			  s->data_off + (uint64_t)addr * RPMB_BLOCK_SIZE);
	for (uint32_t done = 0; r == 0 && done < nblk;) {
		uint32_t n = VT_MIN(nblk - done, 64u);
		for (uint32_t i = 0; r == 0 && i < n; i++)
			r = rpmb_tag(&s->md, s->store_uuid, addr + done + i,
				     data + (size_t)(done + i) * RPMB_BLOCK_SIZE,
				     tags + i * RPMB_TAG_SIZE);
		if (r == 0)
			r = rpmb_io_write_all(&s->io, tags, (size_t)n * RPMB_TAG_SIZE,
				      s->tag_off + (uint64_t)(addr + done) * RPMB_TAG_SIZE);
		done += n;
	}
	return r;
}

int rpmb_store_read(struct rpmb_store *s, uint32_t addr, uint32_t nblk, uint8_t *out)
{
	rpmb_store_apply(s);
	if (s->failed)
		return -EIO;
	if (addr > s->blocks || nblk > s->blocks - addr)
		return -ERANGE;
	int r = rpmb_io_read_all(&s->io, out, (size_t)nblk * RPMB_BLOCK_SIZE,
			 s->data_off + (uint64_t)addr * RPMB_BLOCK_SIZE);
	uint8_t have[64 * RPMB_TAG_SIZE], want[RPMB_TAG_SIZE];
	for (uint32_t done = 0; r == 0 && done < nblk;) {
		uint32_t n = VT_MIN(nblk - done, 64u);
		r = rpmb_io_read_all(&s->io, have, (size_t)n * RPMB_TAG_SIZE,
			     s->tag_off + (uint64_t)(addr + done) * RPMB_TAG_SIZE);
		for (uint32_t i = 0; r == 0 && i < n; i++) {
			uint32_t a = addr + done + i;
			r = rpmb_tag(&s->md, s->store_uuid, a, out + (size_t)(done + i) * RPMB_BLOCK_SIZE,
				     want);
			if (r == 0 && vt_ct_memcmp(want, have + i * RPMB_TAG_SIZE, RPMB_TAG_SIZE) != 0) {
				s->damaged_blocks++;
				/* One line per damaged read, but a guest re-reading cannot flood the log. */
				if ((s->damaged_blocks & (s->damaged_blocks - 1)) == 0)
					vt_err("rpmb store: block %u is damaged at rest (its checksum "
					       "does not match; %llu damaged reads so far): answering "
					       "READ_FAILURE; restore the device from a migration export "
					       "or re-provision it",
					       a, (unsigned long long)s->damaged_blocks);
				r = -EBADMSG;
			}
		}
		done += n;
	}
	return r;
}
