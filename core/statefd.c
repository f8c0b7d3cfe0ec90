/* SPDX-License-Identifier: Apache-2.0 */
#include "statefd.h"

#include <poll.h>
#include <stdbool.h>

#include "clock.h"
#include "fdwait.h"

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
		int e = vt_fd_wait(fd, POLLIN, bound ? cancel : -1, end);
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
		int e = vt_fd_wait(fd, POLLOUT, bound ? cancel : -1, end);
		if (e < 0)
			return e;
	}
	return 0;
}
