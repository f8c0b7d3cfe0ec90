/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The adaptive poll window's policy (pollwin.h), fed synthetic gaps: how a
 * window starts, follows the driver and drops when the queue goes idle, and
 * the cost rule: spinning that costs more than twice a sleep is dropped and
 * held off for a doubling number of sleeps, cheap spinning keeps going.
 */
#include "pollwin.h"
#include "test_util.h"

#define US 1000ull

static void test_start_follow_idle(void)
{
	struct vt_pollwin p;
	vt_pollwin_init(&p, 200 * US);
	vt_pollwin_sleep_cost(&p, 10 * US);
	/* One short gap after a sleep starts nothing; the second does: twice it + 2 µs. */
	vt_pollwin_slept(&p, 4 * US, 0);
	CHECK_EQ(p.win_ns, 0);
	vt_pollwin_slept(&p, 4 * US, 0);
	CHECK_EQ(p.win_ns, 10 * US);
	/* Caught arrivals keep it, decaying by 1/8 towards twice their gap + 2 µs. */
	vt_pollwin_caught(&p, 1 * US);
	CHECK_EQ(p.win_ns, 10 * US - 10 * US / 8);
	for (int i = 0; i < 50; i++)
		vt_pollwin_caught(&p, 1 * US);
	CHECK_EQ(p.win_ns, 4 * US);
	/* A driver that got slower: the sleep after a spent window sets it from the new gap. */
	vt_pollwin_slept(&p, 8 * US, p.win_ns);
	CHECK_EQ(p.win_ns, 18 * US);
	/* A gap beyond the limit: idle, the window is gone... */
	vt_pollwin_slept(&p, 300 * US, 0);
	CHECK_EQ(p.win_ns, 0);
	/* ...and one short gap does not bring it back. */
	vt_pollwin_slept(&p, 4 * US, 0);
	CHECK_EQ(p.win_ns, 0);
	/* Never more than the limit. */
	vt_pollwin_slept(&p, 190 * US, 0);
	CHECK_EQ(p.win_ns, 200 * US);
	CHECK_EQ(p.gave_up, 0);
}

/* Gaps that are long next to a sleep: polling is dropped and held off, with backoff. */
static void test_too_dear(void)
{
	struct vt_pollwin p;
	vt_pollwin_init(&p, 400 * US);
	vt_pollwin_sleep_cost(&p, 10 * US);
	vt_pollwin_slept(&p, 100 * US, 0);
	vt_pollwin_slept(&p, 100 * US, 0);
	CHECK_EQ(p.win_ns, 202 * US);
	/* Catching an arrival 100 µs in costs 100 µs of spinning against a 10 µs sleep. */
	vt_pollwin_caught(&p, 100 * US);
	CHECK_EQ(p.win_ns, 0);
	CHECK_EQ(p.gave_up, 1);
	CHECK_EQ(p.holdoff, 16);
	/* 16 sleeps pass without a window, however short the gaps. */
	for (int i = 0; i < 16; i++) {
		vt_pollwin_slept(&p, 2 * US, 0);
		CHECK_EQ(p.win_ns, 0);
	}
	/* Then two short gaps start one again; dear again: held off twice as long. */
	vt_pollwin_slept(&p, 100 * US, 0);
	vt_pollwin_slept(&p, 100 * US, 0);
	CHECK(p.win_ns > 0);
	vt_pollwin_caught(&p, 100 * US);
	CHECK_EQ(p.gave_up, 2);
	CHECK_EQ(p.holdoff, 32);
	/* The backoff stops at 4096 sleeps. */
	for (int k = 0; k < 12; k++) {
		while (p.holdoff)
			vt_pollwin_slept(&p, 2 * US, 0);
		vt_pollwin_slept(&p, 100 * US, 0);
		vt_pollwin_slept(&p, 100 * US, 0);
		vt_pollwin_caught(&p, 100 * US);
	}
	CHECK_EQ(p.holdoff, 4096);
}

/* Windows that run out (nothing arrives while spinning) cost the whole window. */
static void test_missed_windows(void)
{
	struct vt_pollwin p;
	vt_pollwin_init(&p, 200 * US);
	vt_pollwin_sleep_cost(&p, 10 * US);
	vt_pollwin_slept(&p, 40 * US, 0);
	vt_pollwin_slept(&p, 40 * US, 0);
	CHECK_EQ(p.win_ns, 82 * US);
	int sleeps = 0;
	while (p.win_ns && sleeps < 10) {
		vt_pollwin_slept(&p, 60 * US, p.win_ns);
		sleeps++;
	}
	CHECK_EQ(p.win_ns, 0);
	CHECK_EQ(p.gave_up, 1);
	CHECK(sleeps <= 2);
}

/* Cheap spinning (arrivals within a few µs) keeps polling and forgets earlier failures. */
static void test_cheap_keeps_going(void)
{
	struct vt_pollwin p;
	vt_pollwin_init(&p, 200 * US);
	vt_pollwin_sleep_cost(&p, 10 * US);
	vt_pollwin_slept(&p, 100 * US, 0);
	vt_pollwin_slept(&p, 100 * US, 0);
	vt_pollwin_caught(&p, 100 * US); /* one give-up: backoff now 32 */
	while (p.holdoff)
		vt_pollwin_slept(&p, 3 * US, 0);
	vt_pollwin_slept(&p, 3 * US, 0);
	vt_pollwin_slept(&p, 3 * US, 0);
	for (int i = 0; i < 10000; i++)
		vt_pollwin_caught(&p, 2 * US);
	CHECK(p.win_ns >= 3 * US);
	CHECK_EQ(p.gave_up, 1);
	CHECK_EQ(p.backoff, 16);
	/* A first cheap arrival after a give-up does not reset the backoff; a run of them does. */
	vt_pollwin_caught(&p, 100 * US); /* dear: gave up twice, holdoff 32 */
	CHECK_EQ(p.gave_up, 2);
	while (p.holdoff)
		vt_pollwin_slept(&p, 3 * US, 0);
	vt_pollwin_slept(&p, 3 * US, 0);
	vt_pollwin_slept(&p, 3 * US, 0);
	vt_pollwin_caught(&p, 1 * US);
	CHECK_EQ(p.backoff, 32);
	for (int i = 0; i < 64; i++)
		vt_pollwin_caught(&p, 1 * US);
	CHECK_EQ(p.backoff, 16);
	/* A single dear arrival among cheap ones does not end it. */
	vt_pollwin_caught(&p, 30 * US);
	CHECK(p.win_ns > 0);
}

/* Before any sleep was measured nothing is judged too dear; a limit of 0 never polls. */
static void test_unknown_cost_and_off(void)
{
	struct vt_pollwin p;
	vt_pollwin_init(&p, 200 * US);
	vt_pollwin_slept(&p, 150 * US, 0);
	vt_pollwin_slept(&p, 150 * US, 0);
	vt_pollwin_caught(&p, 150 * US);
	CHECK(p.win_ns > 0);
	CHECK_EQ(p.gave_up, 0);
	vt_pollwin_init(&p, 0);
	vt_pollwin_sleep_cost(&p, 10 * US);
	for (int i = 0; i < 4; i++)
		vt_pollwin_slept(&p, 0, 0);
	CHECK_EQ(p.win_ns, 0);
}

int main(void)
{
	TEST_RUN(test_start_follow_idle);
	TEST_RUN(test_too_dear);
	TEST_RUN(test_missed_windows);
	TEST_RUN(test_cheap_keeps_going);
	TEST_RUN(test_unknown_cost_and_off);
	TEST_DONE();
}
