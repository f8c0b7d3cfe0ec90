/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Clone safety. A live generator's state is copied (as a VM snapshot
 * would) into two clones, each clone gets its own leak report, and 4 MiB
 * from each clone and from the original must share no 16-byte block, at
 * any offset. Two ways of copying:
 *   - "memory snapshot": memcpy of struct vtf_state plus copies of the pool
 *     hash contexts (vtf__snapshot_copy), within one process;
 *   - fork() of a generator that opted out of fork detection, so the whole
 *     process memory is copied and nothing but the leak report differs.
 * Controls show the detector and the setup can fail: clones given the same
 * leak bytes, or no signal at all, do repeat each other's output.
 * RDRAND, getrandom and call jitter are disabled in these generators, so
 * the leak bytes are the only difference and the tests measure what they
 * claim; one test repeats the snapshot case with the default inputs.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/wait.h>

#include "blockset.h"
#include "internal.h"
#include "tutil.h"

#define STREAM (4u << 20)
#define LEAK_ONLY (VTF_OPT_NO_RDRAND | VTF_OPT_NO_GETRANDOM | VTF_OPT_NO_JITTER)

static uint8_t *s1, *s2, *s3;

/* Fills buf through requests of mixed, partly odd sizes. */
static int gen_stream(struct vtf_ctx *c, uint8_t *buf, size_t len)
{
	static const size_t sizes[] = {16, 4096, 48, 65536, 1000, 32, 100003, 4096, 7};
	size_t off = 0;
	for (unsigned i = 0; off < len; i++) {
		size_t m = sizes[i % 9];
		if (m > len - off)
			m = len - off;
		int r = vtf_generate(c, buf + off, m);
		if (r < 0) {
			fprintf(stderr, "vtf_generate: %s\n", vtf_strerror(r));
			return r;
		}
		off += m;
	}
	return 0;
}

static void fill_random(void *b, size_t n)
{
	if (getrandom(b, n, 0) != (ssize_t)n)
		abort();
}

static struct vtf_ctx *snapshot_of(struct vtf_ctx *a, uint32_t flags)
{
	struct vtf_ctx *c = new_ctx(flags);
	if (c && vtf__snapshot_copy(c, a) != 0) {
		vtf_free(c);
		return NULL;
	}
	return c;
}

static void check_disjoint3(void)
{
	CHECK_EQ(shared_blocks(s1, STREAM, s2, STREAM), 0);
	CHECK_EQ(shared_blocks(s1, STREAM, s3, STREAM), 0);
	CHECK_EQ(shared_blocks(s2, STREAM, s3, STREAM), 0);
	CHECK_EQ(self_repeats(s1, STREAM), 0);
	CHECK_EQ(self_repeats(s2, STREAM), 0);
	CHECK_EQ(self_repeats(s3, STREAM), 0);
}

static void test_snapshot_leak_reports_diverge(void)
{
	struct vtf_ctx *a = new_ctx(LEAK_ONLY), *b, *c;
	uint8_t warm[1000], l1[32], l2[32];
	if (!a)
		return;
	CHECK_EQ(vtf_generate(a, warm, sizeof(warm)), 0); /* a live state */
	b = snapshot_of(a, LEAK_ONLY);
	c = snapshot_of(a, LEAK_ONLY);
	CHECK(b && c);
	if (!b || !c)
		return;
	fill_random(l1, sizeof(l1));
	fill_random(l2, sizeof(l2));
	CHECK_EQ(vtf_leak_filled(b, l1, sizeof(l1)), 0);
	CHECK_EQ(vtf_leak_filled(c, l2, sizeof(l2)), 0);
	CHECK_EQ(gen_stream(a, s1, STREAM), 0); /* the original carries on */
	CHECK_EQ(gen_stream(b, s2, STREAM), 0);
	CHECK_EQ(gen_stream(c, s3, STREAM), 0);
	check_disjoint3();
	vtf_free(a);
	vtf_free(b);
	vtf_free(c);
}

static void test_control_same_leak_repeats(void)
{
	/* Same leak bytes in both clones: the detector must see the repeat. */
	struct vtf_ctx *a = new_ctx(LEAK_ONLY), *b, *c;
	uint8_t l[32];
	if (!a)
		return;
	b = snapshot_of(a, LEAK_ONLY);
	c = snapshot_of(a, LEAK_ONLY);
	if (!b || !c)
		return;
	fill_random(l, sizeof(l));
	CHECK_EQ(vtf_leak_filled(b, l, sizeof(l)), 0);
	CHECK_EQ(vtf_leak_filled(c, l, sizeof(l)), 0);
	CHECK_EQ(gen_stream(b, s2, STREAM), 0);
	CHECK_EQ(gen_stream(c, s3, STREAM), 0);
	CHECK(memcmp(s2, s3, STREAM) == 0);
	CHECK(shared_blocks(s2, STREAM, s3, STREAM) >= STREAM / 16);
	vtf_free(a);
	vtf_free(b);
	vtf_free(c);
}

static void test_control_no_signal_repeats(void)
{
	/* Without any generation signal no generator can tell: clones repeat. */
	struct vtf_ctx *a = new_ctx(LEAK_ONLY), *b, *c;
	uint8_t o1[4096], o2[4096];
	if (!a)
		return;
	b = snapshot_of(a, LEAK_ONLY);
	c = snapshot_of(a, LEAK_ONLY);
	if (!b || !c)
		return;
	CHECK_EQ(vtf_generate(b, o1, sizeof(o1)), 0);
	CHECK_EQ(vtf_generate(c, o2, sizeof(o2)), 0);
	CHECK(memcmp(o1, o2, sizeof(o1)) == 0);
	vtf_free(a);
	vtf_free(b);
	vtf_free(c);
}

static void test_no_fresh_input_no_output(void)
{
	struct vtf_ctx *a = new_ctx(LEAK_ONLY), *h, *old;
	uint8_t out[256], zero[256] = {0}, prev[256], l[8];
	struct vtf_status st;
	if (!a)
		return;
	h = snapshot_of(a, LEAK_ONLY);
	old = snapshot_of(a, LEAK_ONLY); /* shows what the old state would output */
	if (!h || !old)
		return;
	CHECK_EQ(vtf_new_generation(h), -ESTALE);
	memset(out, 0xAA, sizeof(out));
	CHECK_EQ(vtf_generate(h, out, sizeof(out)), -ESTALE);
	CHECK_MEM(out, zero, sizeof(out));
	vtf_get_status(h, &st);
	CHECK(st.state & VTF_STATE_WAITING_RESEED);
	uint64_t before = st.bytes_out;

	/* 8 leak bytes are below VTF_FRESH_MIN: still nothing. */
	fill_random(l, sizeof(l));
	CHECK_EQ(vtf_leak_filled(h, l, sizeof(l)), -ESTALE);
	CHECK_EQ(vtf_generate(h, out, sizeof(out)), -ESTALE);
	vtf_get_status(h, &st);
	CHECK_EQ(st.bytes_out, before);
	CHECK_EQ(st.generations, 1); /* one generation, however many attempts */
	/* 8 more make 16: the fast reseed goes through with all 16. */
	fill_random(l, sizeof(l));
	CHECK_EQ(vtf_leak_filled(h, l, sizeof(l)), 0);
	CHECK_EQ(vtf_generate(h, out, sizeof(out)), 0);
	CHECK_EQ(vtf_generate(old, prev, sizeof(prev)), 0);
	CHECK_EQ(shared_blocks(prev, sizeof(prev), out, sizeof(out)), 0);
	vtf_get_status(h, &st);
	CHECK(!(st.state & VTF_STATE_WAITING_RESEED));
	CHECK_EQ(st.fast_reseeds, 1);
	vtf_free(a);
	vtf_free(h);
	vtf_free(old);
}

static void test_snapshot_default_sources(void)
{
	/* Default inputs: RDRAND or getrandom supply the fresh bytes. */
	struct vtf_ctx *a = new_ctx(0), *b, *c;
	struct vtf_status st;
	if (!a)
		return;
	vtf_get_status(a, &st);
	if (!(st.inputs & (VTF_INPUT_RDRAND | VTF_INPUT_GETRANDOM))) {
		printf("skip: no RDRAND or getrandom\n");
		vtf_free(a);
		return;
	}
	b = snapshot_of(a, 0);
	c = snapshot_of(a, 0);
	if (!b || !c)
		return;
	CHECK_EQ(vtf_new_generation(b), 0);
	CHECK_EQ(vtf_new_generation(c), 0);
	CHECK_EQ(gen_stream(a, s1, STREAM), 0);
	CHECK_EQ(gen_stream(b, s2, STREAM), 0);
	CHECK_EQ(gen_stream(c, s3, STREAM), 0);
	check_disjoint3();
	vtf_free(a);
	vtf_free(b);
	vtf_free(c);
}

/* Child: optional leak report, then STREAM bytes to fd. */
static void child_stream(struct vtf_ctx *a, int fd, bool leak)
{
	uint8_t l[32];
	int rc = 0;
	if (leak) {
		fill_random(l, sizeof(l)); /* each clone's device fills its own buffer */
		rc |= vtf_leak_filled(a, l, sizeof(l)) != 0;
	}
	rc |= gen_stream(a, s2, STREAM) != 0;
	for (size_t off = 0; off < STREAM && !rc;) {
		ssize_t n = write(fd, s2 + off, STREAM - off);
		if (n <= 0)
			rc = 1;
		else
			off += (size_t)n;
	}
	_exit(rc);
}

static int read_all(int fd, uint8_t *buf, size_t len)
{
	for (size_t off = 0; off < len;) {
		ssize_t n = read(fd, buf + off, len - off);
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

static void fork_two(struct vtf_ctx *a, bool leak)
{
	int p[2][2];
	pid_t pid[2];
	uint8_t *dst[2] = {s2, s3};
	for (int i = 0; i < 2; i++) {
		if (pipe(p[i]) < 0)
			abort();
		pid[i] = fork();
		if (pid[i] == 0) {
			close(p[i][0]);
			child_stream(a, p[i][1], leak);
		}
		close(p[i][1]);
	}
	for (int i = 0; i < 2; i++) {
		int status = 0;
		CHECK_EQ(read_all(p[i][0], dst[i], STREAM), 0);
		close(p[i][0]);
		CHECK(waitpid(pid[i], &status, 0) == pid[i]);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
}

static void test_fork_as_vm_snapshot(void)
{
	/* The whole process is copied; fork detection is off, as in a VM. */
	struct vtf_ctx *a = new_ctx(LEAK_ONLY | VTF_OPT_NO_FORK_DETECT);
	uint8_t warm[100];
	if (!a)
		return;
	CHECK_EQ(vtf_generate(a, warm, sizeof(warm)), 0);
	fork_two(a, true);
	CHECK_EQ(gen_stream(a, s1, STREAM), 0);
	check_disjoint3();

	/* Control: the same fork without leak reports repeats exactly. */
	fork_two(a, false);
	CHECK(memcmp(s2, s3, STREAM) == 0);
	vtf_free(a);
}

int main(void)
{
	s1 = malloc(STREAM);
	s2 = malloc(STREAM);
	s3 = malloc(STREAM);
	if (!s1 || !s2 || !s3)
		return 2;
	TEST_RUN(test_snapshot_leak_reports_diverge);
	TEST_RUN(test_control_same_leak_repeats);
	TEST_RUN(test_control_no_signal_repeats);
	TEST_RUN(test_no_fresh_input_no_output);
	TEST_RUN(test_snapshot_default_sources);
	TEST_RUN(test_fork_as_vm_snapshot);
	free(s1);
	free(s2);
	free(s3);
	TEST_DONE();
}
