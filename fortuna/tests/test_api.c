/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API contract: argument checks, status flags (seeded, degraded, waiting
 * for reseed), sources (fd and callback: registration limits, periodic
 * polls, fresh pulls, timeouts), and the optional collector thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/random.h>

#include "internal.h"
#include "tutil.h"

#define BOOT_ONLY (VTF_OPT_NO_RDRAND | VTF_OPT_NO_GETRANDOM)
#define LEAK_ONLY (BOOT_ONLY | VTF_OPT_NO_JITTER)

static void test_arguments(void)
{
	struct vtf_options o = {0};
	struct vtf_ctx *c = NULL;
	uint8_t b[16];

	CHECK_EQ(vtf_new(NULL, NULL), -EINVAL);
	o.flags = 1u << 20;
	CHECK_EQ(vtf_new(&o, &c), -EINVAL);
	CHECK(c == NULL);
	o.flags = 0;
	o.reserved[2] = 1;
	CHECK_EQ(vtf_new(&o, &c), -EINVAL);
	CHECK_EQ(vtf_new(NULL, &c), 0);
	if (!c)
		return;
	CHECK_EQ(vtf_generate(NULL, b, 1), -EINVAL);
	CHECK_EQ(vtf_generate(c, NULL, 1), -EINVAL);
	CHECK_EQ(vtf_generate(c, NULL, 0), 0);
	CHECK_EQ(vtf_add_event(c, 240, b, 1), -EINVAL); /* library ids are reserved */
	CHECK_EQ(vtf_add_event(c, 239, b, 1), 0);
	CHECK_EQ(vtf_add_event(c, 1, NULL, 1), -EINVAL);
	CHECK_EQ(vtf_add_event(c, 1, NULL, 0), 0);
	CHECK_EQ(vtf_add_entropy(NULL, 1, b, 1), -EINVAL);
	CHECK_EQ(vtf_leak_filled(c, NULL, 4), -EINVAL);
	CHECK_EQ(vtf_add_source_fd(c, 1, -1), -EINVAL);
	CHECK_EQ(vtf_add_source_callback(c, 1, NULL, NULL), -EINVAL);
	CHECK_EQ(vtf_add_source_fd(c, VTF_SRC_RDRAND, 0), -EINVAL);
	CHECK_EQ(vtf_remove_source(c, 5), -ENOENT);
	CHECK_EQ(vtf_get_status(c, NULL), -EINVAL);
	CHECK_EQ(vtf_reseed_now(NULL), -EINVAL);
	CHECK_EQ(vtf_new_generation(NULL), -EINVAL);
	vtf_free(NULL);
	vtf_free(c);

	/* Every error this library returns has its own description. */
	const int errs[] = {0, -EINVAL, -ENOMEM, -EAGAIN, -ESTALE, -EIO, -EEXIST, -ENOSPC,
			    -ENOENT, -ENOTSUP};
	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++)
		for (size_t j = 0; j < i; j++)
			CHECK(strcmp(vtf_strerror(errs[i]), vtf_strerror(errs[j])) != 0);
	CHECK(strstr(vtf_strerror(-ESTALE), "nothing output") != NULL);
}

static void test_default_status(void)
{
	struct vtf_ctx *c = new_ctx(0);
	struct vtf_status st;
	uint8_t b[64];
	if (!c)
		return;
	CHECK_EQ(vtf_get_status(c, &st), 0);
	CHECK(st.state & VTF_STATE_SEEDED);
	CHECK(!(st.state & VTF_STATE_WAITING_RESEED));
	/* With RDRAND or getrandom the first state is not degraded. */
	if (st.inputs & (VTF_INPUT_RDRAND | VTF_INPUT_GETRANDOM))
		CHECK(!(st.state & VTF_STATE_DEGRADED));
	CHECK(st.inputs & VTF_INPUT_JITTER);
	CHECK_EQ(vtf_generate(c, b, sizeof(b)), 0);
	vtf_get_status(c, &st);
	CHECK_EQ(st.bytes_out, sizeof(b));
	printf("inputs: rdrand=%d rdseed=%d getrandom=%d wipeonfork=%d mlocked=%d\n",
	       !!(st.inputs & VTF_INPUT_RDRAND), !!(st.inputs & VTF_INPUT_RDSEED),
	       !!(st.inputs & VTF_INPUT_GETRANDOM), !!(st.inputs & VTF_INPUT_WIPEONFORK),
	       !!(st.inputs & VTF_INPUT_MLOCKED));
	vtf_free(c);
}

static void test_degraded_until_real_source(void)
{
	/* Only the timing loop: seeded but degraded. */
	struct vtf_ctx *c = new_ctx(LEAK_ONLY);
	struct vtf_status st;
	uint8_t ev[64];
	int p[2];
	if (!c || pipe(p) < 0)
		return;
	vtf_get_status(c, &st);
	CHECK(st.state & VTF_STATE_SEEDED);
	CHECK(st.state & VTF_STATE_DEGRADED);
	CHECK_EQ(vtf_generate(c, ev, sizeof(ev)), 0); /* usable, if weak */

	/* Application events feed the pools but are not a real source. */
	memset(ev, 1, sizeof(ev));
	CHECK_EQ(vtf_add_event(c, 3, ev, sizeof(ev)), 0);
	CHECK_EQ(vtf_reseed_now(c), 0);
	vtf_get_status(c, &st);
	CHECK(st.state & VTF_STATE_DEGRADED);

	/* An entropy device (a pipe standing in for /dev/hwrng) clears it. */
	CHECK_EQ(vtf_add_source_fd(c, 10, p[0]), 0);
	vtf_get_status(c, &st);
	CHECK(st.inputs & VTF_INPUT_FD);
	CHECK_EQ(vtf_reseed_now(c), 0); /* empty pipe: polled, nothing read */
	vtf_get_status(c, &st);
	CHECK(st.state & VTF_STATE_DEGRADED);
	CHECK_EQ(write(p[1], ev, 32), 32);
	CHECK_EQ(vtf_reseed_now(c), 0); /* reads the pipe into pool k, reseeds */
	vtf_get_status(c, &st);
	/* The device event lands in its first pool (0), used by every reseed. */
	CHECK(!(st.state & VTF_STATE_DEGRADED));
	CHECK_EQ(vtf_remove_source(c, 10), 0);
	vtf_get_status(c, &st);
	CHECK(!(st.inputs & VTF_INPUT_FD));
	close(p[0]);
	close(p[1]);
	vtf_free(c);

	/* vtf_add_entropy() counts as a real source once reseeded in. */
	c = new_ctx(LEAK_ONLY);
	if (!c)
		return;
	CHECK_EQ(vtf_add_entropy(c, 4, ev, 32), 0);
	vtf_get_status(c, &st);
	CHECK(st.state & VTF_STATE_DEGRADED);
	CHECK_EQ(vtf_reseed_now(c), 0);
	vtf_get_status(c, &st);
	CHECK(!(st.state & VTF_STATE_DEGRADED));
	vtf_free(c);
}

struct cb_state {
	unsigned calls;
	unsigned fresh_calls;
	ssize_t ret; /* 0: getrandom; else this value */
};

static ssize_t cb(void *arg, void *buf, size_t len, unsigned flags)
{
	struct cb_state *s = arg;
	s->calls++;
	if (flags & VTF_PULL_FRESH)
		s->fresh_calls++;
	if (s->ret)
		return s->ret;
	return getrandom(buf, len, 0);
}

static void test_callback_sources(void)
{
	struct vtf_ctx *c = new_ctx(LEAK_ONLY);
	struct cb_state a = {0}, bad = {.ret = -EIO}, liar = {.ret = 1 << 20};
	struct vtf_status st;
	uint8_t out[32];
	if (!c)
		return;
	CHECK_EQ(vtf_add_source_callback(c, 1, cb, &a), 0);
	CHECK_EQ(vtf_add_source_callback(c, 1, cb, &a), -EEXIST);
	CHECK_EQ(vtf_add_source_callback(c, 2, cb, &bad), 0);
	CHECK_EQ(vtf_add_source_callback(c, 3, cb, &liar), 0);
	for (uint8_t id = 4; id < 4 + VTF_MAX_SOURCES - 3; id++)
		CHECK_EQ(vtf_add_source_callback(c, id, cb, &a), 0);
	CHECK_EQ(vtf_add_source_callback(c, 100, cb, &a), -ENOSPC);
	for (uint8_t id = 4; id < 4 + VTF_MAX_SOURCES - 3; id++)
		CHECK_EQ(vtf_remove_source(c, id), 0);

	/* A periodic poll (here forced by reseed_now) pulls without FRESH. */
	CHECK_EQ(vtf_reseed_now(c), 0);
	CHECK_EQ(a.calls, 1);
	CHECK_EQ(a.fresh_calls, 0);
	vtf_get_status(c, &st);
	CHECK_EQ(st.source_errors, 1); /* the -EIO source */
	CHECK(!(st.state & VTF_STATE_DEGRADED));

	/* A new generation pulls every source with VTF_PULL_FRESH. */
	CHECK_EQ(vtf_new_generation(c), 0);
	CHECK_EQ(a.fresh_calls, 1);
	CHECK_EQ(bad.fresh_calls, 1);
	CHECK_EQ(liar.fresh_calls, 1); /* its over-long claim was clamped */
	CHECK_EQ(vtf_generate(c, out, sizeof(out)), 0);

	/* Only the failing and the lying source left: 1 MiB "claimed"
	 * is clamped to the 32 bytes asked, which is enough to reseed. */
	CHECK_EQ(vtf_remove_source(c, 1), 0);
	CHECK_EQ(vtf_new_generation(c), 0);
	CHECK_EQ(vtf_remove_source(c, 3), 0);
	CHECK_EQ(vtf_new_generation(c), -ESTALE); /* only -EIO left */
	CHECK_EQ(vtf_generate(c, out, sizeof(out)), -ESTALE);
	vtf_free(c);
}

static void test_fd_fresh_timeout(void)
{
	struct vtf_options o = {.flags = LEAK_ONLY, .fresh_timeout_ms = 30};
	struct vtf_ctx *c = NULL;
	uint8_t b[32] = {7};
	int p[2];
	if (vtf_new(&o, &c) != 0 || pipe(p) < 0)
		return;
	CHECK_EQ(vtf_add_source_fd(c, 11, p[0]), 0);
	/* Empty device: the fast reseed waits fresh_timeout_ms, then gives up. */
	uint64_t t0 = mono_ms();
	CHECK_EQ(vtf_new_generation(c), -ESTALE);
	uint64_t dt = mono_ms() - t0;
	CHECK(dt >= 25 && dt < 1000);
	/* Bytes arrive: the next attempt reads them. */
	CHECK_EQ(write(p[1], b, sizeof(b)), (ssize_t)sizeof(b));
	CHECK_EQ(vtf_generate(c, b, sizeof(b)), 0);
	/* A closed device counts as an error, not as input. */
	close(p[1]);
	CHECK_EQ(vtf_new_generation(c), -ESTALE);
	struct vtf_status st;
	vtf_get_status(c, &st);
	CHECK(st.source_errors >= 1);
	close(p[0]);
	vtf_free(c);
}

static void test_generation_all(void)
{
	struct vtf_ctx *a = new_ctx(0), *b = new_ctx(0);
	struct vtf_status st;
	uint8_t out[16];
	if (!a || !b)
		return;
	vtf_get_status(a, &st);
	if (!(st.inputs & (VTF_INPUT_RDRAND | VTF_INPUT_GETRANDOM))) {
		printf("skip: no RDRAND or getrandom\n");
		vtf_free(a);
		vtf_free(b);
		return;
	}
	vtf_new_generation_all();
	CHECK(vtf__check_generation(a));
	CHECK(vtf__check_generation(b));
	vtf_get_status(a, &st);
	CHECK(st.state & VTF_STATE_WAITING_RESEED);
	CHECK_EQ(vtf_generate(a, out, sizeof(out)), 0);
	CHECK_EQ(vtf_generate(b, out, sizeof(out)), 0);
	vtf_get_status(a, &st);
	CHECK_EQ(st.fast_reseeds, 1);
	CHECK_EQ(st.generations, 1);
	CHECK(!vtf__check_generation(a));
	/* A generator created after the event is not affected by it. */
	struct vtf_ctx *c = new_ctx(0);
	if (c) {
		CHECK(!vtf__check_generation(c));
		vtf_free(c);
	}
	vtf_free(a);
	vtf_free(b);
}

static void test_rdseed_opt_in(void)
{
	/* RDSEED is used only when asked for and when CPUID + timing allow. */
	struct vtf_ctx *d = new_ctx(0), *c = new_ctx(VTF_OPT_RDSEED | VTF_OPT_NO_RDRAND |
						    VTF_OPT_NO_GETRANDOM);
	struct vtf_status st;
	uint8_t out[64];
	if (!c || !d)
		return;
	vtf_get_status(d, &st);
	CHECK(!(st.inputs & VTF_INPUT_RDSEED));
	vtf_get_status(c, &st);
	CHECK_EQ(!!(st.inputs & VTF_INPUT_RDSEED), vtf_rdseed_usable());
	printf("rdseed: cpuid=%d usable=%d\n", vtf_cpu()->rdseed_cpuid, vtf_rdseed_usable());
	if (vtf_rdseed_usable()) {
		CHECK(!(st.state & VTF_STATE_DEGRADED)); /* RDSEED seeded it */
		CHECK_EQ(vtf_new_generation(c), 0);      /* and serves fast reseeds */
	}
	CHECK_EQ(vtf_generate(c, out, sizeof(out)), 0);
	vtf_free(c);
	vtf_free(d);
}

static void test_collector(void)
{
	struct vtf_options o = {.flags = LEAK_ONLY, .collector_interval_ms = 5};
	struct vtf_ctx *c = NULL;
	struct vtf_status st;
	if (vtf_new(&o, &c) != 0)
		return;
	vtf_get_status(c, &st);
	CHECK(st.inputs & VTF_INPUT_COLLECTOR);
	uint64_t before = 0, after = 0;
	pthread_mutex_lock(&c->lock);
	for (int i = 0; i < 32; i++)
		before += c->st.pool_len[i];
	pthread_mutex_unlock(&c->lock);
	/* Five wake-ups' samples (34 bytes each) within 2 s, even on a busy host. */
	for (int t = 0; t < 200 && after < before + 5 * 34; t++) {
		sleep_ms(10);
		after = 0;
		pthread_mutex_lock(&c->lock);
		for (int i = 0; i < 32; i++)
			after += c->st.pool_len[i];
		pthread_mutex_unlock(&c->lock);
	}
	CHECK(after >= before + 5 * 34);
	vtf_free(c);                     /* stops and joins the thread */
}

int main(void)
{
	TEST_RUN(test_arguments);
	TEST_RUN(test_default_status);
	TEST_RUN(test_degraded_until_real_source);
	TEST_RUN(test_callback_sources);
	TEST_RUN(test_fd_fresh_timeout);
	TEST_RUN(test_generation_all);
	TEST_RUN(test_rdseed_opt_in);
	TEST_RUN(test_collector);
	TEST_DONE();
}
