/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: migration tickets and void receipts as the control socket
 * receives them (rpmb-export and rpmb-arm "ticket", rpmb-cancel-export
 * "receipt" arguments, hostile text). What parses must format back to
 * exactly the input. The same bytes are a key file's text
 * (migration_key, master_key: rpmb_parse_key, what rpmb_read_key_file
 * parses): accepted only as 32 raw bytes or 64 hex digits and line ends,
 * giving exactly those bytes; refused with the key wiped and a reason.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "rpmb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	struct rpmb_ticket t;
	if (rpmb_ticket_parse(text, &t) == 0) {
		char back[RPMB_TICKET_STR_LEN + 1];
		rpmb_ticket_format(&t, back);
		if (strcmp(back, text) != 0)
			__builtin_trap();
	}
	uint8_t r[RPMB_RECEIPT_SIZE];
	if (rpmb_receipt_parse(text, r) == 0) {
		char back[RPMB_RECEIPT_STR_LEN + 1];
		rpmb_receipt_format(r, back);
		if (strcmp(back, text) != 0)
			__builtin_trap();
	}
	free(text);

	uint8_t key[RPMB_KEY_SIZE], zero[RPMB_KEY_SIZE] = {0};
	char err[256] = "";
	memset(key, 0xa5, sizeof(key));
	if (rpmb_parse_key(data, size, key, err, sizeof(err)) == 0) {
		if (size > RPMB_KEY_FILE_MAX)
			__builtin_trap();
		if (size == RPMB_KEY_SIZE) {
			if (memcmp(key, data, RPMB_KEY_SIZE) != 0)
				__builtin_trap();
		} else {
			if (size < 2 * RPMB_KEY_SIZE)
				__builtin_trap();
			for (size_t i = 0; i < 2 * RPMB_KEY_SIZE; i++) {
				static const char digits[] = "0123456789abcdef";
				uint8_t nib = i % 2 ? key[i / 2] & 15 : key[i / 2] >> 4;
				if (tolower(data[i]) != digits[nib])
					__builtin_trap();
			}
			for (size_t i = 2 * RPMB_KEY_SIZE; i < size; i++)
				if (data[i] != '\n' && data[i] != '\r' && data[i] != ' ')
					__builtin_trap();
		}
	} else if (memcmp(key, zero, sizeof(key)) != 0 || !err[0]) {
		__builtin_trap(); /* refused: no key bytes left, and a reason */
	}
	return 0;
}
