/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One bounded wait on a non-blocking fd, for every read or write loop that
 * talks to a peer which may stall (the vhost-user socket, device-state
 * pipes): a stalled peer costs a deadline, never a thread.
 */
#ifndef VT_FDWAIT_H
#define VT_FDWAIT_H

#include <stdint.h>

/*
 * Waits until fd is ready for events (POLLIN/POLLOUT; a hang-up or an error
 * counts as ready: the next call says which), until cancel_fd (if >= 0) is
 * readable, or until until_ns (vt_now_ns clock) has passed.
 * Returns 0, -ETIMEDOUT, -ECANCELED, -EBADF (fd not open) or -errno.
 */
int vt_fd_wait(int fd, short events, int cancel_fd, uint64_t until_ns);

#endif
