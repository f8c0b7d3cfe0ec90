/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What an fd from a front-end must be, checked before we keep it.
 *
 * A front-end chooses every fd it sends. A datagram socket as a call fd, a
 * stream socket with SO_RCVLOWAT as a kick fd or a pipe held open as a
 * device-state fd each made a thread block forever. So: kick, call and err
 * fds must be eventfds; device-state fds a pipe or a socket open in the
 * right direction; and every one of them is switched to O_NONBLOCK (the
 * front-end's own eventfds are non-blocking already in QEMU), so no read or
 * write on them can ever wait.
 */
#ifndef VTRUST_FDCHECK_H
#define VTRUST_FDCHECK_H

#include <stdbool.h>

#include "compiler.h"

/*
 * NULL if fd is an eventfd (judged by /proc/self/fd, or where /proc is not
 * readable by the anonymous inode eventfds share); else why not.
 */
const char *vt_fd_not_eventfd(int fd);
/* NULL if fd is a pipe or a socket we may read (write=false) or write; else why not. */
const char *vt_fd_not_stream(int fd, bool write);
/* Sets O_NONBLOCK; 0 or -errno. */
int vt_fd_set_nonblock(int fd) VT_MUST_USE;

#endif
