/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DEVICE_STATE transfer through the dispatcher: the reply comes at once
 * (the front-end writes the pipe only after it), a ring started while a
 * load still runs waits for it (the device never serves a half-loaded
 * state), and CHECK_DEVICE_STATE reports the load's result either way.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>

#include "device.h"
#include "log.h"
#include "stub_device.h"
#include "test_util.h"

static _Atomic bool loaded;
static _Atomic bool started_after_load;
static _Atomic int load_result;

static void on_start(void *priv, struct vt_queue *q)
{
	(void)priv;
	(void)q;
	atomic_store(&started_after_load, atomic_load(&loaded));
}

static int save(void *priv, int fd)
{
	(void)priv;
	return vt_state_write(fd, "st", 2);
}

static int load(void *priv, int fd)
{
	(void)priv;
	char b[16];
	while (vt_state_read(fd, b, sizeof(b)) > 0)
		;
	struct timespec ts = {0, 100 * 1000000L}; /* a slow load */
	nanosleep(&ts, NULL);
	atomic_store(&loaded, true);
	return atomic_load(&load_result);
}

static const struct vt_device_ops ops = {
	.type = "state-test",
	.num_queues = stub_one_queue,
	.queue_handle = stub_handle,
	.queue_start = on_start,
	.save_state = save,
	.load_state = load,
};

static uint64_t reply_u64(int fd)
{
	struct vhost_user_header h;
	uint64_t v = UINT64_MAX;
	if (read(fd, &h, sizeof(h)) != sizeof(h) || h.flags != 0x5 || h.size != 8 ||
	    read(fd, &v, sizeof(v)) != sizeof(v))
		return UINT64_MAX;
	return v;
}

static int send_msg(struct vt_device *d, uint32_t req, const void *p, uint32_t size, int fd)
{
	struct vt_vu_msg m;
	memset(&m, 0, sizeof(m));
	m.hdr.request = req;
	m.hdr.flags = VHOST_USER_VERSION;
	m.hdr.size = size;
	if (size)
		memcpy(m.p.raw, p, size);
	for (unsigned i = 0; i < VHOST_USER_MAX_FDS; i++)
		m.fds[i] = -1;
	if (fd >= 0) {
		m.fds[0] = fd;
		m.nfds = 1;
	}
	return vt_device_handle_message(d, &m);
}

static void run(int result, bool kick_during_load)
{
	atomic_store(&loaded, false);
	atomic_store(&started_after_load, false);
	atomic_store(&load_result, result);
	struct vt_device *d = vt_device_new("state-test", &ops, NULL);
	CHECK(d != NULL);
	d->manual_queues = true;
	int sp[2];
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	d->conn_fd = sp[0];
	CHECK(d->offered_protocol & VT_BIT(VHOST_USER_PROTOCOL_F_DEVICE_STATE));

	int pipefd[2];
	CHECK_EQ(pipe(pipefd), 0);
	struct vhost_user_transfer_device_state x = {VHOST_USER_TRANSFER_STATE_DIRECTION_LOAD,
						     VHOST_USER_TRANSFER_STATE_PHASE_STOPPED};
	CHECK_EQ(send_msg(d, VHOST_USER_SET_DEVICE_STATE_FD, &x, sizeof(x), pipefd[0]), 0);
	CHECK_EQ(reply_u64(sp[1]), VHOST_USER_DEVICE_STATE_NOFD); /* ok, we use the given fd */
	CHECK_EQ(write(pipefd[1], "state", 5), 5);
	close(pipefd[1]);
	if (kick_during_load) {
		/* The ring starts while the load sleeps: it must wait for it. */
		uint64_t nofd = VHOST_USER_VRING_NOFD_MASK;
		CHECK_EQ(send_msg(d, VHOST_USER_SET_VRING_KICK, &nofd, sizeof(nofd), -1), 0);
		CHECK(atomic_load(&started_after_load));
	}
	CHECK_EQ(send_msg(d, VHOST_USER_CHECK_DEVICE_STATE, NULL, 0, -1), 0);
	CHECK_EQ(reply_u64(sp[1]), result < 0 ? 1 : 0);
	/* A second CHECK has no transfer behind it. */
	CHECK_EQ(send_msg(d, VHOST_USER_CHECK_DEVICE_STATE, NULL, 0, -1), 0);
	CHECK_EQ(reply_u64(sp[1]), 1);
	close(sp[1]);
	vt_device_free(d);
}

static void test_load_then_check(void)
{
	run(0, false);
}

static void test_kick_waits_for_load(void)
{
	run(0, true);
}

static void test_failed_load_reported_after_kick(void)
{
	run(-EINVAL, true);
}

int main(void)
{
	vt_log_set_level(VT_LOG_ERR - 1);
	TEST_RUN(test_load_then_check);
	TEST_RUN(test_kick_waits_for_load);
	TEST_RUN(test_failed_load_reported_after_kick);
	TEST_DONE();
}
