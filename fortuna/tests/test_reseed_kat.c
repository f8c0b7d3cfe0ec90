/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Known-answer tests of the accumulator and reseeds, against the naive
 * reference (ref_fortuna.h):
 *   - pool scheduling: which pools feed reseed k, from the definition;
 *   - 130 scheduled reseeds with events of many sources and sizes in
 *     between, comparing the key after each one and which pools emptied;
 *   - the automatic gate: pool 0 >= 64 bytes and >= 100 ms since the last
 *     reseed, checked on the generate path;
 *   - the fast reseed after a leak report: K = SHAd-256(K || leak events).
 */
#include <errno.h>
#include <stdlib.h>

#include "internal.h"
#include "ref_fortuna.h"
#include "tutil.h"

static void check_key(struct vtf_ctx *c, const struct ref *r)
{
	uint8_t key[32], ctr[16];
	vtf__get_state(c, key, ctr);
	CHECK_MEM(key, r->key, 32);
	CHECK_MEM(ctr, r->ctr, 16);
}

static void test_pool_mask(void)
{
	/* Every k up to 2^16, then the boundaries of the high pools. */
	for (uint64_t k = 1; k <= 65536; k++) {
		uint32_t want = 0;
		for (int i = 0; i < 32; i++)
			if (ref_uses_pool(k, i))
				want |= 1u << i;
		if (vtf_pool_mask(k) != want) {
			CHECK_EQ(vtf_pool_mask(k), want);
			break;
		}
	}
	CHECK_EQ(vtf_pool_mask(1), 0x1);
	CHECK_EQ(vtf_pool_mask(2), 0x3);
	CHECK_EQ(vtf_pool_mask(3), 0x1);
	CHECK_EQ(vtf_pool_mask(4), 0x7);
	CHECK_EQ(vtf_pool_mask(96), 0x3f);
	CHECK_EQ(vtf_pool_mask((uint64_t)1 << 30), 0x7fffffff);
	CHECK_EQ(vtf_pool_mask(((uint64_t)1 << 30) * 3), 0x7fffffff);
	CHECK_EQ(vtf_pool_mask((uint64_t)1 << 31), 0xffffffff);
	CHECK_EQ(vtf_pool_mask((uint64_t)1 << 32), 0xffffffff); /* there is no pool 32 */
	CHECK_EQ(vtf_pool_mask(((uint64_t)1 << 31) + 1), 0x1);
	CHECK_EQ(vtf_pool_mask((uint64_t)1 << 63), 0xffffffff);
}

static void test_schedule_kat(void)
{
	struct vtf_ctx *c = new_ctx(DET_FLAGS);
	struct ref r;
	uint8_t ev[200];
	if (!c)
		return;
	ref_init(&r);
	for (int k = 1; k <= 130; k++) {
		/* A few events from different sources; sizes 0..199 */
		for (int s = 0; s < 3; s++) {
			size_t n = (size_t)((k * 37 + s * 11) % 200);
			for (size_t i = 0; i < n; i++)
				ev[i] = (uint8_t)(k ^ (s << 5) ^ (int)i);
			uint8_t src = (uint8_t)(s * 50 + k % 3);
			CHECK_EQ(vtf_add_event(c, src, ev, n), 0);
			ref_event(&r, src, ev, n);
		}
		uint64_t before[32];
		memcpy(before, c->st.pool_len, sizeof(before));
		CHECK_EQ(vtf_reseed_now(c), 0);
		ref_reseed(&r);
		check_key(c, &r);
		CHECK_EQ(c->st.reseed_count, (uint64_t)k);
		/* Exactly the scheduled pools were emptied. */
		for (int i = 0; i < 32; i++) {
			if (ref_uses_pool((uint64_t)k, i))
				CHECK_EQ(c->st.pool_len[i], 0);
			else
				CHECK_EQ(c->st.pool_len[i], before[i]);
		}
		/* The reference's pool lengths match the library's accounting. */
		for (int i = 0; i < 32; i++)
			CHECK_EQ(c->st.pool_len[i], r.plen[i]);
	}
	/* Output after all that is still the reference's. */
	uint8_t a[777], b[777];
	CHECK_EQ(vtf_generate(c, a, sizeof(a)), 0);
	ref_generate(&r, b, sizeof(b));
	CHECK_MEM(a, b, sizeof(a));
	vtf_free(c);
	ref_free(&r);
}

static void test_gate(void)
{
	struct vtf_ctx *c = new_ctx(DET_FLAGS);
	struct ref r;
	struct vtf_status st;
	uint8_t ev[32], out[64], want[64];
	if (!c)
		return;
	ref_init(&r);
	memset(ev, 0x5a, sizeof(ev));

	/* 34 bytes in pool 0 (< 64): no reseed, still unseeded. */
	CHECK_EQ(vtf_add_event(c, 9, ev, 32), 0);
	ref_event(&r, 9, ev, 32);
	CHECK_EQ(vtf_generate(c, out, 16), -EAGAIN);
	vtf_get_status(c, &st);
	CHECK_EQ(st.reseeds, 0);
	CHECK_EQ(st.pool0_bytes, 34);
	CHECK(!(st.state & VTF_STATE_SEEDED));

	/* Pool 0 reaches 68 bytes (source 9 wrapped round all 32 pools). */
	for (int i = 0; i < 32; i++) {
		CHECK_EQ(vtf_add_event(c, 9, ev, 32), 0);
		ref_event(&r, 9, ev, 32);
	}
	vtf_get_status(c, &st);
	CHECK_EQ(st.pool0_bytes, 68);
	CHECK_EQ(vtf_generate(c, out, sizeof(out)), 0);
	ref_reseed(&r);
	ref_generate(&r, want, sizeof(want));
	CHECK_MEM(out, want, sizeof(out)); /* reseeded before output, as FSK */
	vtf_get_status(c, &st);
	CHECK_EQ(st.reseeds, 1);
	CHECK(st.state & VTF_STATE_SEEDED);

	/* Pool 0 full again at once: the 100 ms gate holds the reseed back. */
	for (int i = 0; i < 64; i++) {
		CHECK_EQ(vtf_add_event(c, 9, ev, 32), 0);
		ref_event(&r, 9, ev, 32);
	}
	uint64_t t0 = mono_ms();
	CHECK_EQ(vtf_generate(c, out, sizeof(out)), 0);
	ref_generate(&r, want, sizeof(want));
	vtf_get_status(c, &st);
	if (mono_ms() - t0 < 90) { /* meaningful only if the host did not stall */
		CHECK_EQ(st.reseeds, 1);
		CHECK_MEM(out, want, sizeof(out));
	}
	/* After 100 ms (plus the gate clock's resolution) the next request
	 * reseeds first. */
	sleep_ms(130);
	CHECK_EQ(vtf_generate(c, out, sizeof(out)), 0);
	vtf_get_status(c, &st);
	CHECK_EQ(st.reseeds, 2);
	ref_reseed(&r);
	ref_generate(&r, want, sizeof(want));
	CHECK_MEM(out, want, sizeof(out));
	check_key(c, &r);
	vtf_free(c);
	ref_free(&r);
}

static void test_fast_reseed_kat(void)
{
	struct vtf_ctx *c = new_ctx(DET_FLAGS);
	struct ref r;
	uint8_t leak[40], s[80], out[48], want[48];
	if (!c)
		return;
	ref_init(&r);
	CHECK_EQ(vtf_add_event(c, 3, "abc", 3), 0);
	ref_event(&r, 3, "abc", 3);
	CHECK_EQ(vtf_reseed_now(c), 0);
	ref_reseed(&r);
	for (int i = 0; i < 40; i++)
		leak[i] = (uint8_t)(0xc0 + i);
	CHECK_EQ(vtf_leak_filled(c, leak, sizeof(leak)), 0);
	/* s = (LEAK, 32, leak[0..32)) || (LEAK, 8, leak[32..40)) */
	s[0] = VTF_SRC_LEAK;
	s[1] = 32;
	memcpy(s + 2, leak, 32);
	s[34] = VTF_SRC_LEAK;
	s[35] = 8;
	memcpy(s + 36, leak + 32, 8);
	ref_reseed_with(&r, s, 44);
	check_key(c, &r);
	CHECK_EQ(vtf_generate(c, out, sizeof(out)), 0);
	ref_generate(&r, want, sizeof(want));
	CHECK_MEM(out, want, sizeof(out));

	struct vtf_status st;
	vtf_get_status(c, &st);
	CHECK_EQ(st.fast_reseeds, 1);
	CHECK_EQ(st.reseeds, 1); /* a fast reseed leaves the schedule alone */
	CHECK(!(st.state & VTF_STATE_WAITING_RESEED));
	vtf_free(c);
	ref_free(&r);
}

int main(void)
{
	TEST_RUN(test_pool_mask);
	TEST_RUN(test_schedule_kat);
	TEST_RUN(test_gate);
	TEST_RUN(test_fast_reseed_kat);
	TEST_DONE();
}
