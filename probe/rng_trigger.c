/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Leak events from the driver's side (rng_probe.h): a VM restore played on
 * the rings (DEVICE_STATE save + load) or vtrustd's control socket. Used by
 * the `rng` command (cmd_rng.c) and the `rng` device profile (dev_rng.c).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fe_time.h"
#include "rng_probe.h"

void rng_probe_leak_opts(struct fe_dev_opts *o)
{
	o->nvqs = 3;
	if (o->feat_mode == FE_FEAT_EXACT)
		o->features |= RNG_PROBE_F_LEAK;
	else
		o->device_features |= RNG_PROBE_F_LEAK;
}

/* A connected control-socket fd, or -errno. */
int rng_probe_control_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

int rng_probe_control(const char *path, const char *line, char *reply, size_t len, int timeout_ms)
{
	_cleanup_close_ int fd = rng_probe_control_connect(path);
	if (fd < 0)
		return fd;
	size_t n = strlen(line);
	if (write(fd, line, n) != (ssize_t)n || write(fd, "\n", 1) != 1)
		return -errno;
	uint64_t deadline = fe_deadline(timeout_ms);
	size_t got = 0;
	while (got + 1 < len) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r = poll(&p, 1, fe_remaining_ms(deadline));
		if (r == 0)
			return -ETIMEDOUT;
		if (r < 0)
			return -errno;
		ssize_t k = read(fd, reply + got, len - 1 - got);
		if (k <= 0)
			return k == 0 ? -ECONNRESET : -errno;
		got += (size_t)k;
		reply[got] = '\0';
		char *nl = strchr(reply, '\n');
		if (nl) {
			*nl = '\0';
			return 0;
		}
	}
	return -EMSGSIZE;
}

int rng_probe_trigger(struct fe_dev *d, const struct rng_trigger *t, char *err, size_t errlen)
{
	if (t->kind == RNG_TRIGGER_CONTROL) {
		char line[256], reply[512];
		snprintf(line, sizeof(line), "{\"cmd\":\"leak\",\"device\":\"%s\"}",
			 t->device_name ? t->device_name : "rng0");
		int r = rng_probe_control(t->control_path, line, reply, sizeof(reply),
					  d->opts.timeout_ms);
		if (r < 0) {
			snprintf(err, errlen, "control socket %s: %s", t->control_path,
				 strerror(-r));
			return r;
		}
		if (!strstr(reply, "\"ok\":true") && !strstr(reply, "\"ok\": true")) {
			snprintf(err, errlen, "control socket refused the leak command: %.200s",
				 reply);
			return -EREMOTEIO;
		}
		return 0;
	}
	/* A VM snapshot + restore as QEMU >= 8.2 does it: rings stopped, state out and in. */
	uint8_t *blob = NULL;
	size_t len = 0;
	int r = fe_dev_stop(d);
	if (r == 0)
		r = fe_vu_save_state(d->vu, &blob, &len);
	if (r == 0)
		r = fe_vu_load_state(d->vu, blob, len);
	free(blob);
	if (r == 0)
		r = fe_dev_start(d);
	if (r < 0)
		snprintf(err, errlen, "DEVICE_STATE restore: %s", d->vu->error);
	return r;
}

