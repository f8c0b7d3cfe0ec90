/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The queue worker's adaptive poll window, in the spirit of KVM's
 * halt-polling: after a batch the worker spins for `win_ns` before it sleeps,
 * so a driver that answers quickly is served without a sleep and a wake-up.
 * This file is only the policy, a state machine fed with what happened; the
 * worker owns the clocks (worker.c), tests feed synthetic gaps
 * (tests/test_pollwin.c).
 *
 * Learning, from gaps between the end of a batch and the next arrival:
 *  - caught (the spin saw the arrival): the window keeps, decaying by 1/8
 *    towards twice the gap + 2 µs, so it follows a driver that got faster;
 *  - slept (the arrival came after the window ran out, or with none): the
 *    window becomes twice the gap + 2 µs in one step, from 0 only on the second
 *    such gap in a row (one short gap in a slow stream is no reason to spin);
 *    a gap beyond the limit drops it to 0 (the queue went idle);
 *  - cost: spinning must pay for itself. A caught arrival cost its gap of
 *    spinning, a window that ran out cost the whole window; the moving
 *    average of that is compared with what one sleep costs the thread (its
 *    own CPU time across a blocking wait, sampled by the worker). Above
 *    twice that, the window drops to 0 and no new window starts for a
 *    number of sleeps that doubles each time (16 up to 4096), and is reset
 *    once polling has been cheaper than sleeping for 64 arrivals in a row.
 *
 * So a driver whose gaps are long next to a sleep (a guest under TCG: 80-300
 * µs against a 10-14 µs sleep on the CI machines) costs almost no spinning,
 * an idle queue none, and a driver that comes back within a few µs is served
 * with no sleep at all.
 */
#ifndef VT_POLLWIN_H
#define VT_POLLWIN_H

#include <stdint.h>

/* The default limit (busy_poll_us) when an operator sets none. */
#define VT_POLLWIN_DEFAULT_US 200u

struct vt_pollwin {
	uint64_t max_ns;     /* limit; 0: never poll */
	uint64_t win_ns;     /* current window; 0: sleep at once */
	uint64_t sleep_ns;   /* moving average of one sleep's thread CPU; 0: not measured yet */
	uint64_t spend_ns;   /* moving average of the spinning spent per arrival */
	unsigned short_gaps; /* arrivals after a sleep in a row, within the limit */
	unsigned holdoff;    /* sleeps left before a new window may start */
	unsigned backoff;    /* the next holdoff */
	unsigned cheap;      /* arrivals in a row on which polling cost less than a sleep */
	uint64_t gave_up;    /* times polling was dropped as too dear (stats) */
};

void vt_pollwin_init(struct vt_pollwin *p, uint64_t max_ns);
/* One sample of the thread CPU a sleep (blocking wait that slept) cost. */
void vt_pollwin_sleep_cost(struct vt_pollwin *p, uint64_t ns);
/* The spin caught an arrival `gap` ns after the end of the batch. */
void vt_pollwin_caught(struct vt_pollwin *p, uint64_t gap);
/*
 * An arrival woke the worker from a sleep `gap` ns after the end of the
 * batch; `spun` is the window spent in vain before that sleep (0: none).
 */
void vt_pollwin_slept(struct vt_pollwin *p, uint64_t gap, uint64_t spun);

#endif
