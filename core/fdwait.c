/* SPDX-License-Identifier: Apache-2.0 */
#include "fdwait.h"

#include <errno.h>
#include <poll.h>

#include "clock.h"

int vt_fd_wait(int fd, short events, int cancel_fd, uint64_t until_ns)
{
	for (;;) {
		uint64_t now = vt_now_ns();
		if (now >= until_ns)
			return -ETIMEDOUT;
		uint64_t left_ms = (until_ns - now + 999999) / 1000000;
		struct pollfd p[2] = {{.fd = fd, .events = events},
				      {.fd = cancel_fd, .events = POLLIN}};
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
			return 0;
	}
}
