/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One worker thread per started queue: epoll on the kick eventfd, the
 * queue's wake eventfd (stop requests, cross-thread wake-ups) and its timer.
 * With a busy-poll window the worker spins on the avail index for that long
 * after each batch, with driver kicks suppressed, before it sleeps again.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include "clock.h"
#include "device.h"
#include "log.h"

static void drain(int fd)
{
	uint64_t v;
	ssize_t r = read(fd, &v, sizeof(v));
	(void)r;
}

static bool servable(const struct vt_queue *q)
{
	return q->started && !q->broken && (q->enabled || q->dev->ops->serve_without_enable);
}

/* The benchmark floor's handler: the whole writable length, a zero status byte, no work. */
static int no_work_chain(void *priv, struct vt_queue *q, struct vt_chain *c)
{
	(void)priv;
	(void)q;
	size_t wr = vt_chain_writable(c);
	if (wr == 0)
		return -1;
	uint8_t ok = 0;
	if (vt_chain_write_tail(c, &ok, 1) < 0)
		return -1;
	return (int)VT_MIN(wr, (size_t)INT32_MAX);
}

static void serve(struct vt_queue *q)
{
	struct vt_device *d = q->dev;
	pthread_mutex_lock(&q->lock);
	q->deferred = false;
	if (servable(q)) {
		if (d->bench_no_work)
			vt_queue_serve(q, no_work_chain, NULL);
		else
			d->ops->queue_handle(d->priv, q);
	}
	pthread_mutex_unlock(&q->lock);
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

/* Spins for up to the busy-poll window; true if work arrived. */
static bool busy_poll(struct vt_queue *q)
{
	uint64_t deadline = vt_now_ns() + (uint64_t)q->busy_poll_us * 1000ull;
	bool found = false;
	pthread_mutex_lock(&q->lock);
	if (servable(q))
		vt_queue_disable_notify(q);
	pthread_mutex_unlock(&q->lock);
	while (!atomic_load(&q->stop_requested) && vt_now_ns() < deadline) {
		pthread_mutex_lock(&q->lock);
		found = servable(q) && vt_queue_has_avail(q);
		pthread_mutex_unlock(&q->lock);
		if (found)
			break;
		cpu_relax();
	}
	pthread_mutex_lock(&q->lock);
	if (servable(q))
		found |= vt_queue_enable_notify(q);
	pthread_mutex_unlock(&q->lock);
	return found;
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
		ev.data.fd = q->kick_fd;
		(void)epoll_ctl(ep, EPOLL_CTL_ADD, q->kick_fd, &ev);
	}
	/* Without a kick fd the ring must be polled. */
	int timeout = q->kick_fd >= 0 ? -1 : 1;

	/* Buffers may already be waiting (restart after stop/cont). */
	serve(q);
	while (!atomic_load(&q->stop_requested)) {
		/* Deferred chains would make the busy-poll spin: wait for an event instead. */
		if (q->busy_poll_us && !q->deferred && busy_poll(q)) {
			serve(q);
			continue;
		}
		struct epoll_event evs[3];
		int n = epoll_wait(ep, evs, 3, timeout);
		if (n < 0 && errno != EINTR) {
			vt_err("queue %u: epoll_wait: %s", q->index, strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			drain(evs[i].data.fd);
			if (evs[i].data.fd == q->kick_fd)
				atomic_fetch_add_explicit(&q->stats.kicks, 1, memory_order_relaxed);
		}
		if (atomic_load(&q->stop_requested))
			break;
		atomic_store(&q->wake_pending, false);
		serve(q);
	}
	/* Shutdown (not a ring stop): complete what the driver already handed us. */
	if (atomic_load(&q->dev->draining))
		serve(q);
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
