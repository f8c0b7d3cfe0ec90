/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: migration tickets and void receipts as the control socket
 * receives them (rpmb-export and rpmb-arm "ticket", rpmb-cancel-export
 * "receipt" arguments, hostile text). What parses must format back to
 * exactly the input.
 */
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
	return 0;
}
