/* SPDX-License-Identifier: Apache-2.0 */
/*
 * I/O on a DEVICE_STATE transfer fd, for devices' save_state/load_state.
 *
 * The fd comes from the front-end: a pipe or socket (checked), switched to
 * O_NONBLOCK. Read and write it ONLY through these two functions: each waits
 * in poll() for the fd or for the transfer's cancellation (disconnect,
 * daemon stop) until the transfer's deadline. A plain read()/write() would
 * get EAGAIN and fail the transfer; it can never block.
 */
#ifndef VTRUST_STATEFD_H
#define VTRUST_STATEFD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "compiler.h"

/*
 * Reads up to n bytes (n > 0): the count, 0 at end of stream, or -ETIMEDOUT
 * (deadline), -ECANCELED (disconnect or stop), -errno.
 */
ssize_t vt_state_read(int fd, void *buf, size_t n) VT_MUST_USE;
/* Writes all n bytes: 0, or -ETIMEDOUT, -ECANCELED, -EPIPE, -errno. */
int vt_state_write(int fd, const void *buf, size_t n) VT_MUST_USE;

/*
 * The core's transfer thread (vu_dispatch.c) sets what bounds the calls of
 * this thread: cancel_fd becomes readable to cancel (-1: none), deadline in
 * CLOCK_MONOTONIC ns. Without it (tests calling a device directly): no
 * cancellation, 30 s from each call.
 */
void vt_state_bind(int cancel_fd, uint64_t deadline_ns);
void vt_state_unbind(void);

#endif
