/* SPDX-License-Identifier: Apache-2.0 */
/* A minimal program built against the installed library via pkg-config. */
#include <stdio.h>

#include <vtrust/fortuna.h>

int main(void)
{
	struct vtf_ctx *c;
	struct vtf_status st;
	unsigned char b[16];
	int r = vtf_new(NULL, &c);
	if (r == 0)
		r = vtf_generate(c, b, sizeof(b));
	if (r == 0)
		r = vtf_get_status(c, &st);
	if (r != 0) {
		fprintf(stderr, "consumer: %s\n", vtf_strerror(r));
		return 1;
	}
	vtf_free(c);
	if (!(st.state & VTF_STATE_SEEDED))
		return 1;
	printf("consumer: %02x%02x%02x%02x... ok\n", b[0], b[1], b[2], b[3]);
	return 0;
}
