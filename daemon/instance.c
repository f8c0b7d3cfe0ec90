/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One device instance: its device type's private state, its vt_device on one
 * vhost-user socket, and its protocol thread (vt_device_run). Queue workers
 * are started by the core when the front-end starts rings.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "device.h"
#include "log.h"
#include "vtrustd.h"

const char *vtd_instance_state_name(int state)
{
	switch (state) {
	case VTD_INST_NEW:
		return "new";
	case VTD_INST_RUNNING:
		return "running";
	case VTD_INST_STOPPED:
		return "stopped";
	case VTD_INST_FAILED:
		return "failed";
	}
	return "unknown";
}

struct vtd_instance *vtd_instance_find(struct vtd_config *c, const char *name)
{
	for (unsigned i = 0; i < c->ninst; i++)
		if (!strcmp(c->inst[i]->name, name))
			return c->inst[i];
	return NULL;
}

int vtd_instance_create(struct vtd_config *c, struct vtd_instance *in)
{
	(void)c;
	unsigned long errors = vt_log_errors();
	int r = in->type->create(&in->cfg, &in->priv);
	if (r < 0) {
		/* One line per failure: the type's own, which says why, or else this one. */
		if (vt_log_errors() == errors)
			vt_err("%s: cannot create the %s device: %s", in->name, in->type->type,
			       strerror(-r));
		return r;
	}
	in->dev = vt_device_new(in->name, in->type->ops, in->priv);
	if (!in->dev) {
		vt_err("%s: out of memory", in->name);
		in->type->destroy(in->priv);
		in->priv = NULL;
		return -ENOMEM;
	}
	vt_device_set_busy_poll(in->dev, in->busy_poll_us);
	if (in->bench_no_work) {
		vt_device_set_bench_no_work(in->dev, true);
		vt_warn("%s: --bench-no-work: requests are answered WITHOUT doing their work "
			"(a benchmark floor; never serve a real guest like this)",
			in->name);
	}
	if (in->type->attach)
		in->type->attach(in->priv, in->dev);
	return 0;
}

int vtd_instance_listen(struct vtd_instance *in)
{
	int r;
	if (in->dev->listen_fd >= 0) {
		/* Back from the fd store: the previous process's listening socket. */
		if (in->fd >= 0 && in->fd != in->dev->listen_fd)
			close(in->fd);
		in->fd = -1;
		return 0;
	}
	if (in->fd >= 0) {
		r = vt_device_adopt_fd(in->dev, in->fd);
		if (r < 0) {
			vt_err("%s: cannot serve on fd %d: %s", in->name, in->fd, strerror(-r));
			return r;
		}
		in->fd = -1; /* the device owns it now */
		in->inherited = true;
		/* Its real path (for the attach line and status), when it has one. */
		struct sockaddr_un sa;
		socklen_t len = sizeof(sa);
		in->socket_path[0] = '\0';
		if (getsockname(in->dev->listen_fd >= 0 ? in->dev->listen_fd : in->dev->conn_fd,
				(struct sockaddr *)&sa, &len) == 0 &&
		    sa.sun_family == AF_UNIX && len > offsetof(struct sockaddr_un, sun_path) &&
		    sa.sun_path[0] != '\0') {
			size_t n = strnlen(sa.sun_path, len - offsetof(struct sockaddr_un, sun_path));
			if (n < sizeof(in->socket_path)) {
				memcpy(in->socket_path, sa.sun_path, n);
				in->socket_path[n] = '\0';
			}
		}
		return 0;
	}
	r = vt_device_listen(in->dev, in->socket_path, in->socket_mode);
	if (r < 0) {
		vt_err("%s: cannot listen on %s: %s", in->name, in->socket_path, strerror(-r));
		return r;
	}
	/* Owner/group after bind: the mode already keeps everyone else out meanwhile. */
	if ((in->socket_uid != (uid_t)-1 || in->socket_gid != (gid_t)-1) &&
	    lchown(in->socket_path, in->socket_uid, in->socket_gid) < 0) {
		r = -errno;
		vt_err("%s: cannot change the owner of %s: %s", in->name, in->socket_path,
		       strerror(errno));
		return r;
	}
	return 0;
}

struct thread_arg {
	struct vtd_instance *in;
	enum vtd_seccomp_action sc;
};

static void *protocol_main(void *arg)
{
	struct thread_arg a = *(struct thread_arg *)arg;
	free(arg);
	struct vtd_instance *in = a.in;
	if (a.sc != VTD_SECCOMP_OFF && vtd_seccomp_load(VTD_THREAD_PROTOCOL, a.sc) < 0) {
		atomic_store(&in->run_error, -EPERM);
		atomic_store(&in->state, VTD_INST_FAILED);
		vtd_signals_notify_instance();
		return NULL;
	}
	int r = vt_device_run(in->dev);
	if (r < 0) {
		vt_err("%s: protocol loop failed: %s", in->name, strerror(-r));
		atomic_store(&in->run_error, r);
		atomic_store(&in->state, VTD_INST_FAILED);
	} else {
		atomic_store(&in->state, VTD_INST_STOPPED);
	}
	vtd_signals_notify_instance();
	return NULL;
}

int vtd_instance_start(struct vtd_instance *in, enum vtd_seccomp_action sc)
{
	struct thread_arg *a = malloc(sizeof(*a));
	if (!a)
		return -ENOMEM;
	*a = (struct thread_arg){.in = in, .sc = sc};
	atomic_store(&in->state, VTD_INST_RUNNING);
	int r = pthread_create(&in->thread, NULL, protocol_main, a);
	if (r) {
		free(a);
		atomic_store(&in->state, VTD_INST_FAILED);
		return -r;
	}
	char tname[16] = "vtp-";
	size_t nl = strlen(in->name);
	if (nl > sizeof(tname) - 5)
		nl = sizeof(tname) - 5;
	memcpy(tname + 4, in->name, nl);
	tname[4 + nl] = '\0';
	(void)pthread_setname_np(in->thread, tname);
	in->thread_started = true;
	return 0;
}

void vtd_instance_stop(struct vtd_instance *in)
{
	if (in->dev)
		vt_device_stop(in->dev);
}

void vtd_instance_join(struct vtd_instance *in)
{
	if (in->thread_started) {
		pthread_join(in->thread, NULL);
		in->thread_started = false;
	}
}

int vtd_instance_join_until(struct vtd_instance *in, const struct timespec *deadline)
{
	if (!in->thread_started)
		return 0;
	int r = pthread_timedjoin_np(in->thread, NULL, deadline);
	if (r)
		return -r;
	in->thread_started = false;
	return 0;
}

void vtd_instance_destroy(struct vtd_instance *in)
{
	vt_device_free(in->dev);
	in->dev = NULL;
	if (in->priv)
		in->type->destroy(in->priv);
	in->priv = NULL;
	if (in->fd >= 0)
		close(in->fd);
	in->fd = -1;
}
