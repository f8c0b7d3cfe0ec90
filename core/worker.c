/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One worker thread per started queue: epoll on the kick eventfd (edge-
 * triggered, never read), the queue's wake eventfd (stop requests,
 * cross-thread wake-ups) and its timer. With a poll limit (busy_poll_us) the
 * worker spins on the avail index after each batch, with driver kicks
 * suppressed, for a window learned from the arrival gaps and held to what a
 * sleep costs (pollwin.h) before it sleeps again.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include "clock.h"
#include "device.h"
#include "log.h"
#include "pollwin.h"

static void drain(int fd)
{
	uint64_t v;
	ssize_t r = read(fd, &v, sizeof(v));
	(void)r;
}

/* The benchmark floor's handler: the whole writable length, a zero status byte, no work. */
static struct vt_verdict no_work_chain(void *priv, struct vt_queue *q, struct vt_chain *c)
{
	(void)priv;
	(void)q;
	size_t wr = vt_chain_writable(c);
	uint8_t ok = 0;
	if (wr == 0 || vt_chain_write_tail(c, &ok, 1) < 0)
		return vt_malformed();
	return vt_used(VT_MIN(wr, (size_t)INT32_MAX));
}

static const struct vt_server no_work = {.chain = no_work_chain};

/*
 * Runs the device's handler under the queue lock; true if it consumed chains
 * (read under the lock: vt_queue_try_run moves the ring from other threads).
 */
static bool serve(struct vt_queue *q)
{
	struct vt_device *d = q->dev;
	pthread_mutex_lock(&q->lock);
	uint16_t before = q->last_avail_idx;
	q->deferred = false;
	if (vt_queue_servable(q)) {
		if (d->bench_no_work)
			(void)vt_queue_serve(q, &no_work, NULL);
		else
			d->ops->queue_handle(d->priv, q);
		/* A fault contained during the batch: what was served went nowhere. */
		(void)vt_queue_memory_lost(q);
	}
	bool consumed = q->last_avail_idx != before;
	pthread_mutex_unlock(&q->lock);
	return consumed;
}

/* A spin-wait hint for the busy-poll loop (x86 PAUSE, arm64 YIELD). */
static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
}

/*
 * Spins for up to win_ns with driver kicks suppressed. Returns the time from
 * t_end (the end of the last batch) to the arrival seen, or 0 if nothing came.
 */
static uint64_t busy_poll(struct vt_queue *q, uint64_t t_end, uint64_t win_ns)
{
	uint64_t deadline = t_end + win_ns, t = 0;
	bool found = false;
	pthread_mutex_lock(&q->lock);
	if (vt_queue_servable(q))
		vt_queue_disable_notify(q);
	pthread_mutex_unlock(&q->lock);
	while (!atomic_load_explicit(&q->stop_requested, memory_order_relaxed) &&
	       (t = vt_now_ns()) < deadline) {
		pthread_mutex_lock(&q->lock);
		found = vt_queue_servable(q) && vt_queue_has_avail(q);
		pthread_mutex_unlock(&q->lock);
		if (found)
			break;
		cpu_relax();
	}
	pthread_mutex_lock(&q->lock);
	if (vt_queue_servable(q))
		found |= vt_queue_enable_notify(q);
	pthread_mutex_unlock(&q->lock);
	if (!found)
		return 0;
	return t > t_end ? t - t_end : 1;
}

/* This thread's CPU time (a system call: only for the sampled sleeps). */
static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Counts the policy's drops (spinning dearer than a sleep) into the queue's stats. */
static void count_drops(struct vt_queue *q, const struct vt_pollwin *pw, uint64_t *seen)
{
	if (pw->gave_up == *seen)
		return;
	atomic_fetch_add_explicit(&q->stats.poll_dropped, pw->gave_up - *seen, memory_order_relaxed);
	*seen = pw->gave_up;
}

static _Atomic(vt_worker_hook) thread_hook;

void vt_worker_set_thread_hook(vt_worker_hook fn)
{
	atomic_store(&thread_hook, fn);
}

static void *worker_main(void *arg)
{
	struct vt_queue *q = arg;
	vt_worker_hook hook = atomic_load(&thread_hook);
	if (hook)
		hook(q);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0) {
		vt_err("queue %u: epoll_create1: %s", q->index, strerror(errno));
		return NULL;
	}
	struct epoll_event ev = {.events = EPOLLIN};
	ev.data.fd = q->wake_fd;
	(void)epoll_ctl(ep, EPOLL_CTL_ADD, q->wake_fd, &ev);
	ev.data.fd = q->timer_fd;
	(void)epoll_ctl(ep, EPOLL_CTL_ADD, q->timer_fd, &ev);
	if (q->kick_fd >= 0) {
		/*
		 * Edge-triggered: every kick (eventfd write) is one event, and the
		 * counter is never read back: one system call less per request.
		 * The ring itself says what is to do; the counter means nothing.
		 */
		ev.events = EPOLLIN | EPOLLET;
		ev.data.fd = q->kick_fd;
		(void)epoll_ctl(ep, EPOLL_CTL_ADD, q->kick_fd, &ev);
	}
	/* Without a kick fd the ring must be polled. */
	int timeout = q->kick_fd >= 0 ? -1 : 1;
	struct vt_pollwin pw;
	vt_pollwin_init(&pw, (uint64_t)q->busy_poll_us * 1000ull);
	bool polling = pw.max_ns != 0;
	uint64_t fixed_cost = q->dev->poll_sleep_cost_ns;
	if (fixed_cost)
		vt_pollwin_sleep_cost(&pw, fixed_cost);
	unsigned sleeps = 0;
	uint64_t spun = 0; /* a window spent in vain before the coming sleep */
	uint64_t drops = 0; /* pw.gave_up already counted in the stats */

	/* Buffers may already be waiting (restart after stop/cont). */
	(void)serve(q);
	/* End of the last batch that consumed chains: arrival gaps are measured from it. */
	uint64_t t_end = polling ? vt_now_ns() : 0;
	bool poll_due = true; /* the window after t_end is not spent yet */
	while (!atomic_load(&q->stop_requested)) {
		/* Deferred chains would make the busy-poll spin: wait for an event instead. */
		if (pw.win_ns && poll_due && !q->deferred) {
			poll_due = false;
			uint64_t gap = busy_poll(q, t_end, pw.win_ns);
			if (gap) {
				vt_pollwin_caught(&pw, gap);
				count_drops(q, &pw, &drops);
				atomic_fetch_add_explicit(&q->stats.polled, 1, memory_order_relaxed);
				(void)serve(q);
				t_end = vt_now_ns();
				poll_due = true;
				continue;
			}
			spun = pw.win_ns;
		}
		/* What a sleep costs this thread: every sleep until known, then one in 16. */
		bool sample = polling && !fixed_cost && (pw.sleep_ns == 0 || (++sleeps & 15u) == 0);
		uint64_t c0 = sample ? thread_cpu_ns() : 0, w0 = sample ? vt_now_ns() : 0;
		struct epoll_event evs[3];
		int n = epoll_wait(ep, evs, 3, timeout);
		if (sample && n > 0) {
			uint64_t c = thread_cpu_ns() - c0, w = vt_now_ns() - w0;
			if (c0 && w > c + 2000) /* it slept (not an event already pending) */
				vt_pollwin_sleep_cost(&pw, c);
		}
		if (n < 0 && errno != EINTR) {
			vt_err("queue %u: epoll_wait: %s", q->index, strerror(errno));
			break;
		}
		bool kicked = false;
		for (int i = 0; i < n; i++) {
			if (evs[i].data.fd == q->kick_fd) {
				kicked = true;
				atomic_fetch_add_explicit(&q->stats.kicks, 1, memory_order_relaxed);
			} else {
				drain(evs[i].data.fd);
			}
		}
		if (atomic_load(&q->stop_requested))
			break;
		atomic_store(&q->wake_pending, false);
		uint64_t t_wake = polling ? vt_now_ns() : 0;
		bool consumed = serve(q);
		/*
		 * Learn only from wake-ups that found work: a kick that raced with a
		 * poll (the driver saw notifications on just before we turned them
		 * off) finds nothing and says nothing about the gaps.
		 */
		if (polling && consumed) {
			if (kicked && !q->deferred)
				vt_pollwin_slept(&pw, t_wake - t_end, spun);
			count_drops(q, &pw, &drops);
			spun = 0;
			t_end = vt_now_ns();
			poll_due = true;
		}
	}
	/* Shutdown (not a ring stop): complete what the driver already handed us. */
	if (atomic_load(&q->dev->draining))
		(void)serve(q);
	close(ep);
	return NULL;
}

int vt_queue_start_worker(struct vt_queue *q)
{
	if (q->thread_running)
		return 0;
	atomic_store(&q->stop_requested, false);
	q->busy_poll_us = q->dev->busy_poll_us;
	int r = pthread_create(&q->thread, NULL, worker_main, q);
	if (r != 0)
		return -r;
	char name[16];
	snprintf(name, sizeof(name), "vt-q%u", q->index);
	(void)pthread_setname_np(q->thread, name);
	q->thread_running = true;
	return 0;
}

void vt_queue_stop_worker(struct vt_queue *q)
{
	if (!q->thread_running)
		return;
	atomic_store(&q->stop_requested, true);
	uint64_t one = 1;
	ssize_t w = write(q->wake_fd, &one, sizeof(one));
	(void)w;
	pthread_join(q->thread, NULL);
	q->thread_running = false;
	drain(q->wake_fd);
}
