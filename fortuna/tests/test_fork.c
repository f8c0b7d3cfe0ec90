/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fork() safety: a child never repeats its parent's output; a child without
 * fresh input outputs nothing; a raw clone() that bypasses pthread_atfork
 * is still caught by the MADV_WIPEONFORK marker; fork() while another
 * thread is inside vtf_generate() does not leave the child deadlocked.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "blockset.h"
#include "internal.h"
#include "tutil.h"

#define LEAK_ONLY (VTF_OPT_NO_RDRAND | VTF_OPT_NO_GETRANDOM | VTF_OPT_NO_JITTER)
#define N (64 * 1024)

static uint8_t parent_out[N], child_out[N];

static int wait_child(pid_t pid)
{
	int status = 0;
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFSIGNALED(status)) {
		fprintf(stderr, "child killed by signal %d\n", WTERMSIG(status));
		return -1;
	}
	return WEXITSTATUS(status);
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

static int write_all(int fd, const uint8_t *buf, size_t len)
{
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, buf + off, len - off);
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

static void test_child_diverges(void)
{
	struct vtf_ctx *c = new_ctx(0);
	struct vtf_status st;
	uint8_t warm[1000];
	int p[2];
	if (!c || pipe(p) < 0)
		return;
	vtf_get_status(c, &st);
	if (!(st.inputs & (VTF_INPUT_RDRAND | VTF_INPUT_GETRANDOM))) {
		printf("skip: no RDRAND or getrandom for the child's reseed\n");
		vtf_free(c);
		return;
	}
	CHECK_EQ(vtf_generate(c, warm, sizeof(warm)), 0);
	pid_t pid = fork();
	if (pid == 0) {
		int rc = 0;
		vtf_get_status(c, &st);
		if (!(st.state & VTF_STATE_WAITING_RESEED))
			rc |= 2; /* the fork must be visible before any call */
		if (vtf_generate(c, child_out, N) != 0)
			rc |= 4;
		vtf_get_status(c, &st);
		if (st.fast_reseeds != 1 || (st.state & VTF_STATE_WAITING_RESEED))
			rc |= 8;
		if (write_all(p[1], child_out, N) < 0)
			rc |= 16;
		_exit(rc);
	}
	close(p[1]);
	CHECK_EQ(vtf_generate(c, parent_out, N), 0);
	CHECK_EQ(read_all(p[0], child_out, N), 0);
	CHECK_EQ(wait_child(pid), 0);
	close(p[0]);
	CHECK_EQ(shared_blocks(parent_out, N, child_out, N), 0);
	vtf_get_status(c, &st);
	CHECK_EQ(st.fast_reseeds, 0); /* the parent is not disturbed */
	vtf_free(c);
}

static ssize_t cb_getrandom(void *arg, void *buf, size_t len, unsigned flags)
{
	unsigned *fresh_calls = arg;
	if (flags & VTF_PULL_FRESH)
		++*fresh_calls;
	return getrandom(buf, len, 0);
}

static void test_child_without_fresh_input(void)
{
	struct vtf_ctx *c = new_ctx(LEAK_ONLY);
	uint8_t warm[100];
	if (!c)
		return;
	CHECK_EQ(vtf_generate(c, warm, sizeof(warm)), 0);
	pid_t pid = fork();
	if (pid == 0) {
		uint8_t out[64], zero[64] = {0};
		unsigned fresh_calls = 0;
		int rc = 0;
		memset(out, 0xAA, sizeof(out));
		if (vtf_generate(c, out, sizeof(out)) != -ESTALE)
			rc |= 2;
		if (memcmp(out, zero, sizeof(out)) != 0)
			rc |= 4; /* failed calls hand out nothing */
		/* A device appears: the next call fast-reseeds from it. */
		if (vtf_add_source_callback(c, 7, cb_getrandom, &fresh_calls) != 0)
			rc |= 8;
		if (vtf_generate(c, out, sizeof(out)) != 0 || fresh_calls != 1)
			rc |= 16;
		_exit(rc);
	}
	CHECK_EQ(wait_child(pid), 0);
	vtf_free(c);
}

static void test_raw_clone_caught_by_marker(void)
{
	struct vtf_ctx *c = new_ctx(LEAK_ONLY);
	struct vtf_status st;
	uint8_t warm[100];
	if (!c)
		return;
	vtf_get_status(c, &st);
	if (!(st.inputs & VTF_INPUT_WIPEONFORK)) {
		printf("skip: no MADV_WIPEONFORK\n");
		vtf_free(c);
		return;
	}
	CHECK_EQ(vtf_generate(c, warm, sizeof(warm)), 0);
	CHECK(!vtf__check_generation(c));
	/* clone() without pthread_atfork handlers: only the marker can tell. */
	long pid = syscall(SYS_clone, (unsigned long)SIGCHLD, 0UL, 0UL, 0UL, 0UL);
	if (pid == 0) {
		uint8_t out[64];
		int rc = 0;
		if (c->pending)
			rc |= 2; /* proves the atfork handler did not run */
		if (!vtf__check_generation(c))
			rc |= 4;
		if (vtf_generate(c, out, sizeof(out)) != -ESTALE)
			rc |= 8;
		_exit(rc);
	}
	CHECK(pid > 0);
	CHECK_EQ(wait_child((pid_t)pid), 0);
	CHECK(!vtf__check_generation(c));
	vtf_free(c);
}

static volatile int spinning;

static void *spin(void *arg)
{
	struct vtf_ctx *c = arg;
	uint8_t b[4096];
	while (spinning)
		if (vtf_generate(c, b, sizeof(b)) != 0)
			abort();
	return NULL;
}

static void test_fork_during_generate(void)
{
	struct vtf_ctx *c = new_ctx(0);
	pthread_t t;
	if (!c)
		return;
	spinning = 1;
	pthread_create(&t, NULL, spin, c);
	for (int i = 0; i < 30; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			uint8_t b[32];
			alarm(2); /* a deadlock fails the test instead of hanging it */
			_exit(vtf_generate(c, b, sizeof(b)) == 0 ? 0 : 3);
		}
		int rc = wait_child(pid);
		CHECK_EQ(rc, 0);
		if (rc != 0)
			break;
	}
	spinning = 0;
	pthread_join(t, NULL);
	vtf_free(c);
}

int main(void)
{
	TEST_RUN(test_child_diverges);
	TEST_RUN(test_child_without_fresh_input);
	TEST_RUN(test_raw_clone_caught_by_marker);
	TEST_RUN(test_fork_during_generate);
	TEST_DONE();
}
