/* SPDX-License-Identifier: Apache-2.0 */
/* The adaptive poll window's policy: see pollwin.h. */
#include <stdbool.h>

#include "pollwin.h"

#define BACKOFF_MIN 16u
#define BACKOFF_MAX 4096u
/* Arrivals in a row on which polling cost less than a sleep before the backoff is reset. */
#define CHEAP_RUN 64u

void vt_pollwin_init(struct vt_pollwin *p, uint64_t max_ns)
{
	*p = (struct vt_pollwin){.max_ns = max_ns, .backoff = BACKOFF_MIN};
}

/* Moving averages: sleep costs are steady (1/8), spending must react fast (1/4). */
static uint64_t avg(uint64_t cur, uint64_t sample, unsigned shift)
{
	if (cur == 0)
		return sample;
	return cur - (cur >> shift) + (sample >> shift);
}

void vt_pollwin_sleep_cost(struct vt_pollwin *p, uint64_t ns)
{
	p->sleep_ns = avg(p->sleep_ns, ns ? ns : 1, 3);
}

/* Twice the gap + 2 µs: generous (a missed arrival costs a sleep), as the cost rule bounds spending. */
static uint64_t want(const struct vt_pollwin *p, uint64_t gap)
{
	uint64_t w = 2 * gap + 2000;
	return w < p->max_ns ? w : p->max_ns;
}

static void give_up(struct vt_pollwin *p)
{
	p->win_ns = 0;
	p->short_gaps = 0;
	p->spend_ns = 0;
	p->cheap = 0;
	p->holdoff = p->backoff;
	p->backoff = p->backoff * 2 < BACKOFF_MAX ? p->backoff * 2 : BACKOFF_MAX;
	p->gave_up++;
}

/* Accounts spinning; false (and polling dropped) if it costs more than twice a sleep. */
static bool spent(struct vt_pollwin *p, uint64_t ns)
{
	/* The first sample counts as a quarter: one dear arrival alone decides nothing. */
	p->spend_ns = p->spend_ns ? avg(p->spend_ns, ns, 2) : ns / 4 + 1;
	if (p->sleep_ns == 0)
		return true; /* nothing to compare with yet */
	if (p->spend_ns > 2 * p->sleep_ns) {
		give_up(p);
		return false;
	}
	/* Polling has paid for a while: forget earlier failures. */
	if (p->spend_ns > p->sleep_ns)
		p->cheap = 0;
	else if (++p->cheap >= CHEAP_RUN)
		p->backoff = BACKOFF_MIN;
	return true;
}

void vt_pollwin_caught(struct vt_pollwin *p, uint64_t gap)
{
	if (!spent(p, gap))
		return;
	uint64_t w = p->win_ns - p->win_ns / 8, g = want(p, gap);
	p->win_ns = w > g ? w : g;
}

void vt_pollwin_slept(struct vt_pollwin *p, uint64_t gap, uint64_t spun)
{
	if (spun && !spent(p, spun))
		return;
	if (p->holdoff) {
		p->holdoff--;
		return;
	}
	if (gap > p->max_ns) {
		p->win_ns = 0;
		p->short_gaps = 0;
		return;
	}
	if (++p->short_gaps < 2 && p->win_ns == 0)
		return;
	p->win_ns = want(p, gap);
}
