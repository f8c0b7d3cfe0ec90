/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The service manager's file-descriptor store (systemd's FILE_DESCRIPTOR_STORE,
 * sd_notify(3), sd_listen_fds_with_names(3)): vtrustd's way through its own
 * crash or upgrade without the front-end ever seeing a hang-up.
 *
 * The store is there when NOTIFY_SOCKET names a socket and FDSTORE (the
 * unit's FileDescriptorStoreMax=, set by systemd ≥ 254 and by our unit) is
 * positive: no flag of ours. Each device reports the fds it needs to resume
 * (core/resume.h) whenever they change; this file keeps what is stored in
 * step: `FDSTORE=1` + `FDNAME=` for a new one, then `FDSTOREREMOVE=1` +
 * `FDNAME=` for one no longer needed (a replaced call eventfd, memory the
 * front-end removed), always from the main process (threads share its
 * pid). Guest memory is stored once per file (its name is its identity),
 * shared by every device that maps it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "device.h"
#include "log.h"
#include "vtrustd.h"

#define STORE_NAME_MAX 128

struct entry {
	char name[STORE_NAME_MAX];
	uint64_t owners; /* bit per instance index; 0 = inherited, not claimed yet */
};

static struct {
	pthread_mutex_t lock;
	bool active;
	unsigned max;
	int sock;
	struct sockaddr_un addr;
	socklen_t addr_len;
	struct entry *e;
	unsigned n, cap;
	struct vtd_config *cfg;
} st = {.lock = PTHREAD_MUTEX_INITIALIZER, .sock = -1};

bool vtd_fdstore_probe(void)
{
	const char *path = getenv("NOTIFY_SOCKET"), *max = getenv("FDSTORE");
	if (!path || (path[0] != '/' && path[0] != '@') || !max)
		return false;
	char *end;
	unsigned long m = strtoul(max, &end, 10);
	if (*end || m == 0)
		return false;
	size_t n = strlen(path);
	if (n >= sizeof(st.addr.sun_path))
		return false;
	st.addr.sun_family = AF_UNIX;
	memcpy(st.addr.sun_path, path, n);
	if (st.addr.sun_path[0] == '@')
		st.addr.sun_path[0] = '\0';
	st.addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	st.sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (st.sock < 0) {
		vt_err("fd store: cannot create a notification socket: %s", strerror(errno));
		return false;
	}
	st.max = (unsigned)(m > 100000 ? 100000 : m);
	st.active = true;
	return true;
}

bool vtd_fdstore_active(void)
{
	return st.active;
}

/* One notification, with at most one fd. */
static int notify(const char *text, int fd)
{
	/* The notification text (our own bytes, not guest memory). */
	struct iovec iov = {(void *)(uintptr_t)text, strlen(text)};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {
		.msg_name = &st.addr,
		.msg_namelen = st.addr_len,
		.msg_iov = &iov,
		.msg_iovlen = 1,
	};
	if (fd >= 0) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	for (;;) {
		if (sendmsg(st.sock, &mh, MSG_NOSIGNAL) >= 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

static struct entry *find(const char *name)
{
	for (unsigned i = 0; i < st.n; i++)
		if (!strcmp(st.e[i].name, name))
			return &st.e[i];
	return NULL;
}

static struct entry *add(const char *name)
{
	if (st.n == st.cap) {
		unsigned cap = st.cap ? st.cap * 2 : 32;
		struct entry *e = realloc(st.e, cap * sizeof(*e));
		if (!e)
			return NULL;
		st.e = e;
		st.cap = cap;
	}
	struct entry *e = &st.e[st.n++];
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", name);
	return e;
}

static void drop(struct entry *e)
{
	char msg[STORE_NAME_MAX + 40];
	snprintf(msg, sizeof(msg), "FDSTOREREMOVE=1\nFDNAME=%s", e->name);
	int r = notify(msg, -1);
	if (r < 0)
		vt_warn("fd store: cannot remove %s: %s", e->name, strerror(-r));
	*e = st.e[--st.n];
}

struct visit_ctx {
	uint64_t bit;
	char (*seen)[STORE_NAME_MAX];
	unsigned nseen, cap;
};

static void visit(void *ctx, const char *name, int fd)
{
	struct visit_ctx *v = ctx;
	if (v->nseen < v->cap)
		snprintf(v->seen[v->nseen++], STORE_NAME_MAX, "%s", name);
	struct entry *e = find(name);
	if (e) {
		e->owners |= v->bit;
		return;
	}
	if (st.n >= st.max) {
		vt_err("fd store: FileDescriptorStoreMax=%u is too small: %s not stored; a "
		       "restart now costs this front-end its device (raise FileDescriptorStoreMax=)",
		       st.max, name);
		return;
	}
	char msg[STORE_NAME_MAX + 64];
	/* FDPOLL=0: a connection QEMU closes is dropped by us, not by the manager's poll. */
	snprintf(msg, sizeof(msg), "FDSTORE=1\nFDNAME=%s%s", name,
		 strstr(name, ".conn.") ? "\nFDPOLL=0" : "");
	int r = notify(msg, fd);
	if (r < 0) {
		vt_err("fd store: cannot store %s: %s", name, strerror(-r));
		return;
	}
	if ((e = add(name)))
		e->owners = v->bit;
}

static unsigned instance_index(struct vt_device *d)
{
	for (unsigned i = 0; st.cfg && i < st.cfg->ninst; i++)
		if (st.cfg->inst[i]->dev == d)
			return i;
	return 63;
}

/* Stores d's new fds; with drop_unused also removes those it no longer needs. */
static void sync_device(struct vt_device *d, bool drop_unused)
{
	struct visit_ctx v = {.bit = 1ull << instance_index(d), .cap = 512};
	v.seen = calloc(v.cap, STORE_NAME_MAX);
	if (!v.seen)
		return;
	vt_device_visit_fds(d, visit, &v);
	for (unsigned i = 0; drop_unused && i < st.n;) {
		struct entry *e = &st.e[i];
		bool still = false;
		for (unsigned j = 0; j < v.nseen && !still; j++)
			still = !strcmp(v.seen[j], e->name);
		if (!still && (e->owners & v.bit)) {
			e->owners &= ~v.bit;
			if (!e->owners) {
				drop(e);
				continue; /* e now holds the last entry */
			}
		}
		i++;
	}
	free(v.seen);
}

static void observer(void *ctx, struct vt_device *d, bool drop_unused)
{
	(void)ctx;
	pthread_mutex_lock(&st.lock);
	sync_device(d, drop_unused);
	pthread_mutex_unlock(&st.lock);
}

void vtd_fdstore_adopt(struct vtd_config *c, struct vt_inherited_fd *fds, unsigned n)
{
	pthread_mutex_lock(&st.lock);
	st.cfg = c;
	/* What the previous process stored is in the store now: known, not yet claimed. */
	for (unsigned i = 0; i < n; i++)
		if (!find(fds[i].name))
			(void)add(fds[i].name);
	pthread_mutex_unlock(&st.lock);
}

void vtd_fdstore_start(struct vtd_config *c, struct vt_inherited_fd *fds, unsigned n)
{
	pthread_mutex_lock(&st.lock);
	st.cfg = c;
	/* Inherited fds no device took (a state it could not use): gone before anything is
	 * stored again under the same name. */
	for (unsigned i = 0; i < n; i++) {
		struct entry *e = fds[i].used ? NULL : find(fds[i].name);
		if (e) {
			vt_info("fd store: %s is no longer needed", e->name);
			drop(e);
		}
	}
	for (unsigned i = 0; i < c->ninst; i++) {
		struct vt_device *d = c->inst[i]->dev;
		vt_device_set_fd_observer(d, observer, NULL);
		sync_device(d, true);
	}
	/* Inherited entries nobody claimed: the store lets go of them, and so do we. */
	for (unsigned i = 0; i < st.n;) {
		if (!st.e[i].owners) {
			vt_info("fd store: %s is no longer needed", st.e[i].name);
			drop(&st.e[i]);
			continue;
		}
		i++;
	}
	pthread_mutex_unlock(&st.lock);
	for (unsigned i = 0; i < n; i++)
		if ((!fds[i].used || fds[i].borrowed) && fds[i].fd >= 0) {
			close(fds[i].fd);
			fds[i].fd = -1;
		}
}
