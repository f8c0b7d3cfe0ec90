/* SPDX-License-Identifier: Apache-2.0 */
#include "statefd.h"

#include <poll.h>
#include <stdbool.h>

#include "clock.h"

static _Thread_local bool bound;
static _Thread_local int cancel;
static _Thread_local uint64_t deadline;

#define UNBOUND_MS 30000

void vt_state_bind(int cancel_fd, uint64_t deadline_ns)
{
	bound = true;
	cancel = cancel_fd;
	deadline = deadline_ns;
}

void vt_state_unbind(void)
{
	bound = false;
}

/* Waits until fd is ready for events: 0, -ETIMEDOUT, -ECANCELED, -errno. */
static int wait_ready(int fd, short events, uint64_t until)
{
	for (;;) {
		uint64_t now = vt_now_ns();
		if (now >= until)
			return -ETIMEDOUT;
		uint64_t left_ms = (until - now + 999999) / 1000000;
		struct pollfd p[2] = {{.fd = fd, .events = events},
				      {.fd = bound ? cancel : -1, .events = POLLIN}};
		int r = poll(p, 2, left_ms > 60000 ? 60000 : (int)left_ms);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (p[1].revents)
			return -ECANCELED;
		if (p[0].revents & POLLNVAL)
			return -EBADF;
		if (p[0].revents)
			return 0; /* ready, hung up or in error: the next call says which */
	}
}

static uint64_t until(void)
{
	return bound ? deadline : vt_now_ns() + UNBOUND_MS * 1000000ull;
}

ssize_t vt_state_read(int fd, void *buf, size_t n)
{
	uint64_t end = until();
	for (;;) {
		ssize_t r = read(fd, buf, n);
		if (r >= 0)
			return r;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		int e = wait_ready(fd, POLLIN, end);
		if (e < 0)
			return e;
	}
}

int vt_state_write(int fd, const void *buf, size_t n)
{
	uint64_t end = until();
	const uint8_t *p = buf;
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w == 0 || errno != EAGAIN)
			return w == 0 ? -EIO : -errno;
		int e = wait_ready(fd, POLLOUT, end);
		if (e < 0)
			return e;
	}
	return 0;
}
