/* SPDX-License-Identifier: Apache-2.0 */
#include "unix_listen.h"

#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "log.h"

/* True if something accepts connections at the address (a live daemon). */
static bool socket_is_live(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool live = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
	close(fd);
	return live;
}

int vt_unix_listen(const char *path, mode_t mode, int backlog, int type_flags, const char *who,
		   const char *what)
{
	const char *sep = who ? ": " : "";
	who = who ? who : "";
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);

	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			vt_err("%s%s%s %s exists and is not a socket", who, sep, what, path);
			return -EEXIST;
		}
		if (socket_is_live(&sa)) {
			vt_err("%s%s%s %s is served by another process", who, sep, what, path);
			return -EADDRINUSE;
		}
		vt_info("%s%sreplacing stale %s %s", who, sep, what, path);
		(void)unlink(path);
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | type_flags, 0);
	if (fd < 0)
		return -errno;
	mode_t old = umask((mode_t)~mode & 0777);
	int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || listen(fd, backlog) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}
