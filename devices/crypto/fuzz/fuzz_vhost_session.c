/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: VHOST_USER_CREATE_CRYPTO_SESSION payloads (QEMU 7.2's
 * 632-byte layout, newer QEMU's 1072-byte layout with symmetric and RSA
 * sessions, any other size) and CLOSE_CRYPTO_SESSION, through
 * vc_vhost_message as the protocol thread calls it. Byte 0 picks CREATE or
 * CLOSE; the rest is the payload. A reply, when given, has the request's
 * size, and a positive id names a live session.
 */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_common.h"
#include "vhost_user_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t reply[VHOST_USER_PAYLOAD_MAX];
	fz_init();
	if (size < 1 || size - 1 > VHOST_USER_PAYLOAD_MAX)
		return 0;
	uint32_t req = data[0] & 1 ? VHOST_USER_CLOSE_CRYPTO_SESSION
				   : VHOST_USER_CREATE_CRYPTO_SESSION;
	uint32_t rs = 0;
	int e = vc_vhost_message(fz_dev, req, data + 1, (uint32_t)(size - 1), reply, &rs);
	if (req == VHOST_USER_CLOSE_CRYPTO_SESSION) {
		if (rs != 0)
			__builtin_trap();
	} else if (e == 0) {
		if (rs != size - 1)
			__builtin_trap();
		int64_t id;
		memcpy(&id, reply + (rs == 632 ? 0 : 1064), sizeof(id));
		if (getenv("FZ_VERBOSE"))
			fprintf(stderr, "id %lld\n", (long long)id);
		if (id > 0 && vc_destroy_session(fz_dev, (uint64_t)id) != VC_OK)
			__builtin_trap();
		if (id == 0)
			__builtin_trap(); /* ids are never 0 */
	} else if (rs != 0) {
		__builtin_trap();
	}
	if (vc_table_used(&fz_dev->table) != 12) {
		vc_dev_free(fz_dev);
		fz_dev = NULL;
	}
	return 0;
}
