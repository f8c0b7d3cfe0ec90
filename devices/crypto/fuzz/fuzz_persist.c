/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: the sessions a previous process left in the core's resume
 * area (persist.c, vc_persist_attach with restored = true): the area's
 * header and one record per table slot (generation, live flag, parameters,
 * keys, DER keys for RSA), from which the next process rebuilds sessions.
 *
 * Input: byte 0 = flags, then edits [le16 offset][u8 length][length bytes]
 * (offset modulo the area's size):
 *   bit 0   the edits land on an area a real process wrote (8 sessions of
 *           every service, one destroyed), else on zeros;
 *   bit 1   the area's header (magic, slot count) is set right after the
 *           edits, so the records themselves are reached.
 *
 * Whatever the input: the attach succeeds or refuses (-EBADMSG/-EINVAL);
 * after a success the session table is consistent: every rebuilt session is
 * found at its id, the free list holds exactly the other slots that are not
 * retired (sessions can be created until the table is full, each at a free
 * slot, and destroyed again), and no memory is lost (ASan).
 * FUZZ_CRYPTO_PERSIST_LOG=1 prints what became of each input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "byteorder.h"
#include "crypto_dev.h"
#include "fuzz_keys.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An oracle failed: say which, then stop as a crash. */
#define BUG()                                                                                      \
	do {                                                                                       \
		fprintf(stderr, "fuzz_persist.c:%d: oracle failed\n", __LINE__);                   \
		__builtin_trap();                                                                  \
	} while (0)

#define SESSIONS 16

static struct vc_opts opts;
static uint8_t *written, *area;
static size_t area_size;
static const uint8_t k[64] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
			      17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
			      33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48,
			      49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64};

static const struct vc_sess_params cbc = {.service = VC_SERVICE_CIPHER,
					  .sym_op = VC_SYM_OP_CIPHER,
					  .op = VC_OP_ENCRYPT,
					  .cipher_algo = VC_CIPHER_AES_CBC,
					  .key_len = 16,
					  .key = k};

static void build(void)
{
	struct vc_dev *d;
	if (vc_dev_new("persist-src", &opts, &d) < 0)
		BUG();
	area_size = vc_persist_size(d);
	written = calloc(1, area_size);
	area = calloc(1, area_size);
	if (!written || !area || vc_persist_attach(d, written, area_size, false) < 0)
		BUG();
	const struct vc_sess_params sp[] = {
	    cbc,
	    {.service = VC_SERVICE_CIPHER, .sym_op = VC_SYM_OP_CIPHER, .op = VC_OP_DECRYPT,
	     .cipher_algo = VC_CIPHER_AES_XTS, .key_len = 64, .key = k},
	    {.service = VC_SERVICE_HASH, .hash_algo = VC_HASH_SHA_256},
	    {.service = VC_SERVICE_MAC, .hash_algo = VC_MAC_HMAC_SHA_256, .auth_key_len = 20,
	     .auth_key = k},
	    {.service = VC_SERVICE_AEAD, .aead_algo = VC_AEAD_GCM, .key_len = 16, .key = k,
	     .tag_len = 16, .op = VC_OP_ENCRYPT},
	    {.service = VC_SERVICE_CIPHER, .sym_op = VC_SYM_OP_ALGORITHM_CHAINING,
	     .op = VC_OP_ENCRYPT, .cipher_algo = VC_CIPHER_AES_CBC, .key_len = 16, .key = k,
	     .hash_mode = VC_SYM_HASH_MODE_AUTH,
	     .chain_order = VC_SYM_ALG_CHAIN_ORDER_CIPHER_THEN_HASH, .hash_algo = VC_MAC_HMAC_SHA1,
	     .auth_key_len = 20, .auth_key = k},
	    {.service = VC_SERVICE_AKCIPHER, .ak_algo = VC_AKCIPHER_RSA,
	     .key_type = VC_AKCIPHER_KEY_TYPE_PRIVATE, .key_len = sizeof(fuzz_rsa1024_der),
	     .key = fuzz_rsa1024_der, .padding_algo = VC_RSA_PKCS1_PADDING,
	     .rsa_hash = VC_RSA_SHA256},
	    cbc,
	};
	uint64_t id[VT_ARRAY_SIZE(sp)];
	for (size_t i = 0; i < VT_ARRAY_SIZE(sp); i++)
		if (vc_create_session(d, &sp[i], true, &id[i]) != VC_OK)
			BUG();
	if (vc_destroy_session(d, id[2]) != VC_OK) /* a free slot with a used generation */
		BUG();
	if (vc_persist_attach(d, NULL, 0, false) < 0) /* left to the next process */
		BUG();
	vc_dev_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!written) {
		vt_log_set_level(VT_LOG_ERR - 1);
		vc_opts_default(&opts);
		opts.secure_heap = 0;
		opts.max_sessions = SESSIONS;
		build();
	}
	if (size < 1)
		return 0;
	uint8_t flags = data[0];
	if (flags & 1)
		memcpy(area, written, area_size);
	else
		memset(area, 0, area_size);
	for (size_t i = 1; i + 3 <= size;) {
		size_t off = (size_t)vt_get_le16(data + i) % area_size;
		size_t len = data[i + 2];
		i += 3;
		len = VT_MIN(len, size - i);
		len = VT_MIN(len, area_size - off);
		memcpy(area + off, data + i, len);
		i += len;
	}
	if (flags & 2) {
		memcpy(area, written, 8); /* magic and slot count, as the source wrote them */
	}

	struct vc_dev *d;
	if (vc_dev_new("persist-dst", &opts, &d) < 0)
		BUG();
	int r = vc_persist_attach(d, area, area_size, true);
	if (r < 0 && getenv("FUZZ_CRYPTO_PERSIST_LOG"))
		fprintf(stderr, "refused: %d\n", r);
	if (r < 0) {
		if (r != -EBADMSG && r != -EINVAL)
			BUG();
		vc_dev_free(d);
		return 0;
	}
	/* Every rebuilt session is found at its id. */
	struct vc_table *t = &d->table;
	uint32_t live = 0, retired = 0;
	for (uint32_t i = 0; i < t->cap; i++) {
		struct vc_slot *sl = &t->slots[i];
		if (sl->s) {
			struct vc_session *s = vc_table_get(t, sl->gen << VC_ID_INDEX_BITS | i);
			if (s != sl->s)
				BUG();
			vc_session_put(s);
			live++;
		} else if (sl->gen >= VC_GEN_MAX) {
			retired++;
		}
	}
	if (live != t->live || retired != t->retired)
		BUG();
	/* The free list: new sessions fill exactly the slots left, each a free one. */
	uint64_t ids[SESSIONS];
	uint32_t made = 0;
	for (;;) {
		uint64_t id;
		uint8_t st = vc_create_session(d, &cbc, true, &id);
		if (st != VC_OK)
			break;
		if (made == SESSIONS)
			BUG();
		ids[made++] = id;
	}
	if (getenv("FUZZ_CRYPTO_PERSIST_LOG"))
		fprintf(stderr, "rebuilt %u, retired %u, created %u\n", live, retired, made);
	if (made != t->cap - live - retired)
		BUG();
	for (uint32_t i = 0; i < made; i++)
		if (vc_destroy_session(d, ids[i]) != VC_OK)
			BUG();
	if (vc_persist_attach(d, NULL, 0, false) < 0)
		BUG();
	vc_dev_free(d);
	return 0;
}
