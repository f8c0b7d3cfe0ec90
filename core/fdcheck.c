/* SPDX-License-Identifier: Apache-2.0 */
#include "fdcheck.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static struct stat anon; /* the inode every eventfd shares (with timerfds, epoll, ...) */
static bool anon_known;

static void learn_anon_inode(void)
{
	int fd = eventfd(0, EFD_CLOEXEC);
	if (fd < 0)
		return;
	anon_known = fstat(fd, &anon) == 0;
	close(fd);
}

const char *vt_fd_not_eventfd(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return "fstat failed";
	if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISFIFO(st.st_mode) ||
	    S_ISSOCK(st.st_mode) || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ||
	    S_ISLNK(st.st_mode))
		return "not an eventfd (a file, pipe, socket or device)";
	char path[40], link[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(path, link, sizeof(link) - 1);
	if (n > 0) {
		link[n] = '\0';
		return strcmp(link, "anon_inode:[eventfd]") == 0 ? NULL : "not an eventfd";
	}
	/* No /proc: every eventfd shares one anonymous inode; so do a few other kinds. */
	(void)pthread_once(&once, learn_anon_inode);
	if (anon_known && (st.st_dev != anon.st_dev || st.st_ino != anon.st_ino))
		return "not an eventfd";
	return NULL;
}

const char *vt_fd_not_stream(int fd, bool write)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return "fstat failed";
	if (!S_ISFIFO(st.st_mode) && !S_ISSOCK(st.st_mode))
		return "not a pipe or socket";
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return "fcntl failed";
	int acc = fl & O_ACCMODE;
	if (write && acc == O_RDONLY)
		return "the read end of a pipe, where we must write";
	if (!write && acc == O_WRONLY)
		return "the write end of a pipe, where we must read";
	return NULL;
}

int vt_fd_set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -errno;
	if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}
