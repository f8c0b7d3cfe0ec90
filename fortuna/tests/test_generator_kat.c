/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Known-answer tests of the generator: a deterministic generator fed fixed
 * inputs must produce exactly what the naive reference (ref_fortuna.h: raw
 * SHA-256 and AES-256-ECB over counter blocks) produces, request by request,
 * including the rekey after every request, the 1 MiB request limit, and
 * counter carries across 32- and 64-bit boundaries.
 */
#include <errno.h>
#include <stdlib.h>

#include "internal.h"
#include "ref_fortuna.h"
#include "tutil.h"

static uint8_t *buf_lib, *buf_ref;

/* Seeds lib and ref identically: fixed events, one reseed. */
static struct vtf_ctx *seeded_pair(struct ref *r)
{
	struct vtf_ctx *c = new_ctx(DET_FLAGS);
	uint8_t ev[100];
	for (int i = 0; i < 100; i++)
		ev[i] = (uint8_t)(i * 7 + 1);
	ref_init(r);
	if (!c)
		return NULL;
	CHECK_EQ(vtf_add_event(c, 1, ev, 100), 0); /* 4 events: 32+32+32+4 */
	ref_event(r, 1, ev, 100);
	CHECK_EQ(vtf_add_event(c, 2, "fixed input", 11), 0);
	ref_event(r, 2, "fixed input", 11);
	CHECK_EQ(vtf_reseed_now(c), 0);
	ref_reseed(r);
	return c;
}

static void check_state(struct vtf_ctx *c, const struct ref *r)
{
	uint8_t key[32], ctr[16];
	vtf__get_state(c, key, ctr);
	CHECK_MEM(key, r->key, 32);
	CHECK_MEM(ctr, r->ctr, 16);
}

static void test_unseeded_fails_and_wipes(void)
{
	struct vtf_ctx *c = new_ctx(DET_FLAGS);
	uint8_t b[64];
	CHECK(c != NULL);
	if (!c)
		return;
	memset(b, 0xAA, sizeof(b));
	CHECK_EQ(vtf_generate(c, b, sizeof(b)), -EAGAIN);
	uint8_t z[64] = {0};
	CHECK_MEM(b, z, sizeof(b));
	vtf_free(c);
}

static void test_first_reseed_key(void)
{
	struct ref r;
	struct vtf_ctx *c = seeded_pair(&r);
	CHECK(c != NULL);
	if (!c)
		return;
	/* Reseed 1 uses pool 0 only; the events went to pools 0..3 and 0. */
	uint8_t one[16] = {0};
	one[15] = 1;
	CHECK_MEM(r.ctr, one, 16);
	check_state(c, &r);
	vtf_free(c);
	ref_free(&r);
}

static void test_requests(void)
{
	static const size_t sizes[] = {1,     15,     16,     17,     31,       32,
				       33,    1000,   4096,   65536,  100003,   VTF_MAX_REQUEST,
				       0,     48,     VTF_MAX_REQUEST + 5, 3 * VTF_MAX_REQUEST - 1};
	struct ref r;
	struct vtf_ctx *c = seeded_pair(&r);
	if (!c)
		return;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		CHECK_EQ(vtf_generate(c, buf_lib, n), 0);
		/* The library splits large calls into 1 MiB Fortuna requests. */
		for (size_t off = 0; off < n; off += VTF_MAX_REQUEST) {
			size_t m = n - off < VTF_MAX_REQUEST ? n - off : VTF_MAX_REQUEST;
			ref_generate(&r, buf_ref + off, m);
		}
		CHECK_MEM(buf_lib, buf_ref, n);
		check_state(c, &r);
	}
	vtf_free(c);
	ref_free(&r);
}

static void test_counter_carries(void)
{
	/* Counters just below a 32-bit, a 64-bit and a 96-bit carry. */
	static const uint8_t start[3][16] = {
		{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xf0},
		{0, 0, 0, 0, 0, 0, 0, 7, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfb},
		{0, 0, 0, 9, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe},
	};
	for (int t = 0; t < 3; t++) {
		struct ref r;
		struct vtf_ctx *c = seeded_pair(&r);
		if (!c)
			return;
		CHECK_EQ(vtf__set_counter(c, start[t]), 0);
		memcpy(r.ctr, start[t], 16);
		for (int k = 0; k < 3; k++) {
			size_t n = 100 + 37 * (size_t)k;
			CHECK_EQ(vtf_generate(c, buf_lib, n), 0);
			ref_generate(&r, buf_ref, n);
			CHECK_MEM(buf_lib, buf_ref, n);
			check_state(c, &r);
		}
		vtf_free(c);
		ref_free(&r);
	}
}

static void test_rekey_forgets_old_key(void)
{
	/* After a request the key must be the two blocks that followed it. */
	struct ref r;
	struct vtf_ctx *c = seeded_pair(&r);
	uint8_t k0[32], k1[32], ctr[16], out[20];
	if (!c)
		return;
	vtf__get_state(c, k0, ctr);
	CHECK_EQ(vtf_generate(c, out, sizeof(out)), 0);
	vtf__get_state(c, k1, ctr);
	CHECK(memcmp(k0, k1, 32) != 0);
	uint8_t c0[16] = {0}, blocks[64];
	c0[15] = 1; /* counter after the first reseed */
	ref_blocks(k0, c0, blocks, 4);
	CHECK_MEM(out, blocks, sizeof(out));
	CHECK_MEM(k1, blocks + 32, 32); /* blocks 2 and 3; block 1's tail discarded */
	vtf_free(c);
	ref_free(&r);
}

int main(void)
{
	buf_lib = malloc(3 * VTF_MAX_REQUEST);
	buf_ref = malloc(3 * VTF_MAX_REQUEST);
	if (!buf_lib || !buf_ref)
		return 2;
	TEST_RUN(test_unseeded_fails_and_wipes);
	TEST_RUN(test_first_reseed_key);
	TEST_RUN(test_requests);
	TEST_RUN(test_counter_carries);
	TEST_RUN(test_rekey_forgets_old_key);
	free(buf_lib);
	free(buf_ref);
	TEST_DONE();
}
