/* SPDX-License-Identifier: Apache-2.0 */
/* The bounded cursor: exact reads and writes that never move on failure. */
#include <stdint.h>

#include "chain.h"
#include "test_util.h"

static uint8_t mem[256];

static void setup(struct vt_chain *c, struct iovec *seg)
{
	for (int i = 0; i < 256; i++)
		mem[i] = (uint8_t)i;
	/* readable: 3 + 0 + 5 bytes; writable: 4 + 6 bytes */
	seg[0] = (struct iovec){mem + 0, 3};
	seg[1] = (struct iovec){mem + 10, 0};
	seg[2] = (struct iovec){mem + 20, 5};
	seg[3] = (struct iovec){mem + 100, 4};
	seg[4] = (struct iovec){mem + 200, 6};
	vt_chain_init(c, 7, seg, 3, 2);
}

static void test_read(void)
{
	struct iovec seg[5];
	struct vt_chain c;
	setup(&c, seg);
	CHECK_EQ(c.head, 7);
	CHECK_EQ(vt_chain_readable(&c), 8);
	CHECK_EQ(vt_chain_writable(&c), 10);
	uint8_t buf[16];
	CHECK_EQ(vt_chain_read(&c, buf, 9), -EMSGSIZE);
	CHECK_EQ(vt_chain_readable(&c), 8); /* unmoved */
	CHECK_EQ(vt_chain_read(&c, buf, 4), 0);
	CHECK(buf[0] == 0 && buf[1] == 1 && buf[2] == 2 && buf[3] == 20);
	CHECK_EQ(vt_chain_skip(&c, 5), -EMSGSIZE);
	CHECK_EQ(vt_chain_skip(&c, 2), 0);
	CHECK_EQ(vt_chain_read(&c, buf, 2), 0);
	CHECK(buf[0] == 23 && buf[1] == 24);
	CHECK_EQ(vt_chain_readable(&c), 0);
	CHECK_EQ(vt_chain_read(&c, buf, 1), -EMSGSIZE);
	CHECK_EQ(vt_chain_read(&c, buf, 0), 0);
	const uint8_t *p;
	CHECK_EQ(vt_chain_read_span(&c, 10, &p), 0);
}

static void test_spans(void)
{
	struct iovec seg[5];
	struct vt_chain c;
	setup(&c, seg);
	const uint8_t *p;
	CHECK_EQ(vt_chain_read_span(&c, 2, &p), 2);
	CHECK(p == mem);
	CHECK_EQ(vt_chain_read_span(&c, 100, &p), 1);
	CHECK(p == mem + 2);
	CHECK_EQ(vt_chain_read_span(&c, 100, &p), 5); /* empty segment skipped */
	CHECK(p == mem + 20);
	uint8_t *w;
	CHECK_EQ(vt_chain_write_span(&c, 100, &w), 4);
	CHECK(w == mem + 100);
	CHECK_EQ(vt_chain_write_span(&c, 3, &w), 3);
	CHECK(w == mem + 200);
	CHECK_EQ(vt_chain_written(&c), 7);
}

static void test_write(void)
{
	struct iovec seg[5];
	struct vt_chain c;
	setup(&c, seg);
	uint8_t src[11] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa};
	CHECK_EQ(vt_chain_write(&c, src, 11), -EMSGSIZE);
	CHECK_EQ(vt_chain_written(&c), 0);
	CHECK(mem[100] == 100); /* nothing written on failure */
	CHECK_EQ(vt_chain_write(&c, src, 6), 0);
	CHECK(mem[100] == 0xa0 && mem[103] == 0xa3 && mem[200] == 0xa4 && mem[201] == 0xa5);
	CHECK(mem[202] == 202);
	CHECK_EQ(vt_chain_written(&c), 6);
	/* Readable segments are never written. */
	CHECK(mem[0] == 0 && mem[20] == 20);
}

static void test_write_tail(void)
{
	struct iovec seg[5];
	struct vt_chain c;
	setup(&c, seg);
	uint8_t st = 0x5a;
	CHECK_EQ(vt_chain_write_tail(&c, &st, 1), 0);
	CHECK(mem[205] == 0x5a);
	uint8_t seven[7] = {1, 2, 3, 4, 5, 6, 7};
	CHECK_EQ(vt_chain_write_tail(&c, seven, 7), 0); /* spans both writable segments */
	CHECK(mem[103] == 1 && mem[200] == 2 && mem[205] == 7);
	uint8_t big[11] = {0};
	CHECK_EQ(vt_chain_write_tail(&c, big, 11), -EMSGSIZE);
	CHECK_EQ(vt_chain_written(&c), 0); /* the cursor is independent */
}

static void test_copy(void)
{
	struct iovec seg[5];
	struct vt_chain c;
	setup(&c, seg);
	CHECK_EQ(vt_chain_copy(&c, 9), -EMSGSIZE);
	CHECK_EQ(vt_chain_readable(&c), 8);
	CHECK_EQ(vt_chain_copy(&c, 8), 0);
	CHECK(mem[100] == 0 && mem[101] == 1 && mem[102] == 2 && mem[103] == 20 && mem[200] == 21 &&
	      mem[203] == 24);
	CHECK_EQ(vt_chain_written(&c), 8);
	CHECK_EQ(vt_chain_copy(&c, 1), -EMSGSIZE);
}

static void test_empty(void)
{
	struct vt_chain c;
	vt_chain_init(&c, 0, NULL, 0, 0);
	uint8_t b;
	CHECK_EQ(vt_chain_read(&c, &b, 1), -EMSGSIZE);
	CHECK_EQ(vt_chain_write(&c, &b, 1), -EMSGSIZE);
	CHECK_EQ(vt_chain_write_tail(&c, &b, 1), -EMSGSIZE);
	CHECK_EQ(vt_chain_write(&c, &b, 0), 0);
}

int main(void)
{
	TEST_RUN(test_read);
	TEST_RUN(test_spans);
	TEST_RUN(test_write);
	TEST_RUN(test_write_tail);
	TEST_RUN(test_copy);
	TEST_RUN(test_empty);
	TEST_DONE();
}
