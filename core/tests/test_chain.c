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
	CHECK_EQ(vt_chain_raw_read_span(&c, 10, &p), 0);
}

static void test_spans(void)
{
	struct iovec seg[5];
	struct vt_chain c;
	setup(&c, seg);
	const uint8_t *p;
	CHECK_EQ(vt_chain_raw_read_span(&c, 2, &p), 2);
	CHECK(p == mem);
	CHECK_EQ(vt_chain_raw_read_span(&c, 100, &p), 1);
	CHECK(p == mem + 2);
	CHECK_EQ(vt_chain_raw_read_span(&c, 100, &p), 5); /* empty segment skipped */
	CHECK(p == mem + 20);
	uint8_t *w;
	CHECK_EQ(vt_chain_raw_write_span(&c, 100, &w), 4);
	CHECK(w == mem + 100);
	CHECK_EQ(vt_chain_raw_write_span(&c, 3, &w), 3);
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

/* out = in ^ 0xff, counting calls and the largest piece. */
struct xor_ctx {
	unsigned calls;
	size_t largest;
	int fail_after; /* calls before returning -EIO (0: never) */
};

static int xor_ff(void *ctx, uint8_t *out, const uint8_t *in, size_t len)
{
	struct xor_ctx *x = ctx;
	if (x->fail_after && ++x->calls > (unsigned)x->fail_after)
		return -EIO;
	if (!x->fail_after)
		x->calls++;
	x->largest = len > x->largest ? len : x->largest;
	for (size_t i = 0; i < len; i++)
		out[i] = in[i] ^ 0xff;
	return 0;
}

static void test_transform(void)
{
	struct iovec seg[5];
	struct vt_chain c;
	setup(&c, seg);
	struct xor_ctx x = {0};
	/* Sizes first: nothing moves on failure. */
	CHECK_EQ(vt_chain_transform(&c, 9, 1, NULL, xor_ff, &x), -EMSGSIZE);
	CHECK_EQ(vt_chain_transform(&c, 8, 3, NULL, xor_ff, &x), -EINVAL);
	CHECK_EQ(vt_chain_transform(&c, 8, 0, NULL, xor_ff, &x), -EINVAL);
	CHECK_EQ(vt_chain_readable(&c), 8);
	CHECK_EQ(vt_chain_written(&c), 0);
	x = (struct xor_ctx){0};
	/* Readable 3|5, writable 4|6, units of 2: the unit at readable 2..3 straddles. */
	CHECK_EQ(vt_chain_transform(&c, 8, 2, NULL, xor_ff, &x), 0);
	CHECK(mem[100] == (0 ^ 0xff) && mem[101] == (1 ^ 0xff) && mem[102] == (2 ^ 0xff) &&
	      mem[103] == (20 ^ 0xff) && mem[200] == (21 ^ 0xff) && mem[203] == (24 ^ 0xff));
	CHECK(mem[204] == 204); /* exactly n written */
	CHECK(x.largest % 2 == 0);
	CHECK_EQ(vt_chain_readable(&c), 0);
	CHECK_EQ(vt_chain_written(&c), 8);
}

static void test_transform_whole(void)
{
	struct iovec seg[5];
	struct vt_chain c;
	setup(&c, seg);
	struct xor_ctx x = {0};
	uint8_t bounce[128];
	CHECK(!vt_chain_contiguous(&c, 3 + 1));
	CHECK(vt_chain_contiguous(&c, 3));
	/* A unit larger than the cursor's own block needs a bounce unless contiguous. */
	CHECK_EQ(vt_chain_transform(&c, 8, 8, bounce, xor_ff, &x), 0);
	CHECK_EQ(x.calls, 1);
	CHECK_EQ(x.largest, 8);
	CHECK(mem[100] == (0 ^ 0xff) && mem[203] == (24 ^ 0xff));
	/* Contiguous on both sides: no bounce needed, fn runs on guest memory. */
	for (int i = 0; i < 256; i++)
		mem[i] = (uint8_t)i;
	seg[0] = (struct iovec){mem, 100};
	seg[1] = (struct iovec){mem + 128, 100};
	vt_chain_init(&c, 0, seg, 1, 1);
	CHECK(vt_chain_contiguous(&c, 100));
	x = (struct xor_ctx){0};
	CHECK_EQ(vt_chain_transform(&c, 100, 100, NULL, xor_ff, &x), 0);
	CHECK(mem[128] == 0xff && mem[227] == (99 ^ 0xff));
	/* Not contiguous and no bounce: refused before anything moved. */
	seg[0] = (struct iovec){mem, 50};
	seg[1] = (struct iovec){mem + 60, 50};
	seg[2] = (struct iovec){mem + 128, 100};
	vt_chain_init(&c, 0, seg, 2, 1);
	CHECK_EQ(vt_chain_transform(&c, 100, 100, NULL, xor_ff, &x), -EINVAL);
	CHECK_EQ(vt_chain_readable(&c), 100);
	CHECK_EQ(vt_chain_written(&c), 0);
	/* A failing callback's error comes back as is. */
	x = (struct xor_ctx){.fail_after = 1};
	setup(&c, seg);
	CHECK_EQ(vt_chain_transform(&c, 8, 1, NULL, xor_ff, &x), -EIO);
}

static int sum_in(void *ctx, const uint8_t *in, size_t len)
{
	unsigned *sum = ctx;
	for (size_t i = 0; i < len; i++)
		*sum += in[i];
	return 0;
}

static int fill_7(void *ctx, uint8_t *out, size_t len)
{
	(void)ctx;
	memset(out, 7, len);
	return 0;
}

static void test_consume_peek_produce(void)
{
	struct iovec seg[5];
	struct vt_chain c;
	setup(&c, seg);
	unsigned sum = 0;
	uint8_t b[4];
	/* Read ahead without moving: bytes 3..4 of the readable area are mem[20], mem[21]. */
	CHECK_EQ(vt_chain_read_at(&c, 3, b, 2), 0);
	CHECK(b[0] == 20 && b[1] == 21);
	CHECK_EQ(vt_chain_read_at(&c, 7, b, 2), -EMSGSIZE);
	CHECK_EQ(vt_chain_read_at(&c, SIZE_MAX, b, 2), -EMSGSIZE); /* off + n overflows */
	CHECK_EQ(vt_chain_peek(&c, 2, 3, sum_in, &sum), 0);
	CHECK_EQ(sum, 2 + 20 + 21);
	CHECK_EQ(vt_chain_readable(&c), 8);
	sum = 0;
	CHECK_EQ(vt_chain_consume(&c, 9, sum_in, &sum), -EMSGSIZE);
	CHECK_EQ(vt_chain_readable(&c), 8);
	CHECK_EQ(vt_chain_consume(&c, 4, sum_in, &sum), 0);
	CHECK_EQ(sum, 0 + 1 + 2 + 20);
	CHECK_EQ(vt_chain_readable(&c), 4);
	CHECK_EQ(vt_chain_produce(&c, 11, fill_7, NULL), -EMSGSIZE);
	CHECK_EQ(vt_chain_written(&c), 0);
	CHECK(mem[100] == 100);
	CHECK_EQ(vt_chain_produce(&c, 5, fill_7, NULL), 0);
	CHECK(mem[100] == 7 && mem[103] == 7 && mem[200] == 7 && mem[201] == 201);
	CHECK_EQ(vt_chain_written(&c), 5);
}

int main(void)
{
	TEST_RUN(test_read);
	TEST_RUN(test_spans);
	TEST_RUN(test_write);
	TEST_RUN(test_write_tail);
	TEST_RUN(test_copy);
	TEST_RUN(test_empty);
	TEST_RUN(test_transform);
	TEST_RUN(test_transform_whole);
	TEST_RUN(test_consume_peek_produce);
	TEST_DONE();
}
