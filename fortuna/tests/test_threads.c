/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Thread safety: several threads generate from one generator while others
 * add events, poll status, force reseeds, report leaks and new generations,
 * and register and remove sources, with the collector thread running.
 * Every call must succeed, and no 16-byte block may appear twice across all
 * outputs. Registered in suite `tsan`, where ThreadSanitizer checks the
 * locking; also runs in the normal and ASan builds.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/random.h>

#include "blockset.h"
#include "tutil.h"

#define GEN_THREADS 3
#define ITERS 1500
#define PER_THREAD (ITERS * 1024)

static struct vtf_ctx *ctx;
static uint8_t *blocks[GEN_THREADS];
static size_t used[GEN_THREADS];
static atomic_int errors;
static atomic_int gen_done;
static atomic_int ctl_rounds; /* full rounds of the controller's calls */

static void fail(const char *what, int r)
{
	fprintf(stderr, "%s: %s\n", what, vtf_strerror(r));
	atomic_fetch_add(&errors, 1);
}

static void *generator(void *arg)
{
	int t = (int)(intptr_t)arg;
	uint8_t buf[2048];
	unsigned x = 12345u + (unsigned)t;
	/* Run until the controller has cycled through all its calls 3 times. */
	for (int i = 0; i < ITERS || atomic_load(&ctl_rounds) < 3; i++) {
		x = x * 1103515245u + 12345u;
		size_t n = 1 + (x >> 8) % sizeof(buf);
		int r = vtf_generate(ctx, buf, n);
		if (r != 0) {
			fail("vtf_generate", r);
			continue;
		}
		/* Keep whole blocks, realigned, for the repeat check. */
		size_t whole = n & ~(size_t)15;
		if (whole > 1024)
			whole = 1024;
		if (used[t] + whole > PER_THREAD)
			continue;
		memcpy(blocks[t] + used[t], buf, whole);
		used[t] += whole;
	}
	atomic_fetch_add(&gen_done, 1);
	return NULL;
}

static void *feeder(void *arg)
{
	uint8_t ev[64];
	(void)arg;
	for (unsigned i = 0; atomic_load(&gen_done) < GEN_THREADS; i++) {
		memset(ev, (int)i, sizeof(ev));
		int r = (i & 1) ? vtf_add_event(ctx, (uint8_t)(i % 200), ev, 1 + i % 64)
				: vtf_add_entropy(ctx, 201, ev, 32);
		if (r != 0)
			fail("vtf_add_event", r);
	}
	return NULL;
}

static ssize_t cb(void *arg, void *buf, size_t len, unsigned flags)
{
	(void)arg;
	(void)flags;
	return getrandom(buf, len, 0);
}

static void *controller(void *arg)
{
	uint8_t leak[32];
	struct vtf_status st;
	(void)arg;
	for (unsigned i = 0; atomic_load(&gen_done) < GEN_THREADS; i++) {
		int r = 0;
		switch (i % 7) {
		case 0:
			r = vtf_get_status(ctx, &st);
			break;
		case 1:
			r = vtf_reseed_now(ctx);
			break;
		case 2:
			r = vtf_new_generation(ctx);
			break;
		case 3:
			if (getrandom(leak, sizeof(leak), 0) != sizeof(leak))
				abort();
			r = vtf_leak_filled(ctx, leak, sizeof(leak));
			break;
		case 4:
			vtf_new_generation_all();
			break;
		case 5:
			r = vtf_add_source_callback(ctx, 77, cb, NULL);
			break;
		case 6:
			r = vtf_remove_source(ctx, 77);
			break;
		}
		if (r != 0)
			fail("controller call", r);
		if (i % 7 == 6)
			atomic_fetch_add(&ctl_rounds, 1);
		sleep_ms(1);
	}
	return NULL;
}

static void test_concurrent_use(void)
{
	struct vtf_options o = {.collector_interval_ms = 2};
	pthread_t g[GEN_THREADS], f, c;
	CHECK_EQ(vtf_new(&o, &ctx), 0);
	if (!ctx)
		return;
	for (int t = 0; t < GEN_THREADS; t++) {
		blocks[t] = malloc(PER_THREAD);
		if (!blocks[t])
			abort();
	}
	for (int t = 0; t < GEN_THREADS; t++)
		pthread_create(&g[t], NULL, generator, (void *)(intptr_t)t);
	pthread_create(&f, NULL, feeder, NULL);
	pthread_create(&c, NULL, controller, NULL);
	for (int t = 0; t < GEN_THREADS; t++)
		pthread_join(g[t], NULL);
	pthread_join(f, NULL);
	pthread_join(c, NULL);
	CHECK_EQ(atomic_load(&errors), 0);

	size_t total = 0;
	for (int t = 0; t < GEN_THREADS; t++)
		total += used[t];
	uint8_t *all = malloc(total);
	if (!all)
		abort();
	for (int t = 0, off = 0; t < GEN_THREADS; t++) {
		memcpy(all + off, blocks[t], used[t]);
		off += (int)used[t];
		free(blocks[t]);
	}
	CHECK(total > GEN_THREADS * ITERS * 256);
	CHECK_EQ(self_repeats(all, total), 0);
	free(all);

	struct vtf_status st;
	vtf_get_status(ctx, &st);
	CHECK(st.fast_reseeds > 0);
	CHECK(!(st.state & VTF_STATE_WAITING_RESEED) || st.generations > 0);
	printf("%zu bytes checked; %llu reseeds, %llu fast reseeds\n", total,
	       (unsigned long long)st.reseeds, (unsigned long long)st.fast_reseeds);
	vtf_free(ctx);
}

int main(void)
{
	TEST_RUN(test_concurrent_use);
	TEST_DONE();
}
