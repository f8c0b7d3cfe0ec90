/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Listening Unix sockets for every socket vtrustd serves (vhost-user device
 * sockets, the control socket): the one place that decides what happens to
 * whatever is already at the path.
 */
#ifndef VTRUST_UNIX_LISTEN_H
#define VTRUST_UNIX_LISTEN_H

#include <sys/types.h>

#include "compiler.h"

/*
 * Binds and listens on path with the given permission bits (created with
 * them: no window where others could connect) and socket type flags
 * (SOCK_NONBLOCK; SOCK_STREAM | SOCK_CLOEXEC are implied). A stale socket
 * left by a crashed process is replaced; a live one (something accepts
 * connections) is refused with -EADDRINUSE, anything that is not a socket
 * with -EEXIST. Log lines read "<who>: <what> <path> ..." (who may be NULL).
 * Returns the listening fd or negative errno.
 */
int vt_unix_listen(const char *path, mode_t mode, int backlog, int type_flags, const char *who,
		   const char *what) VT_MUST_USE;

#endif
