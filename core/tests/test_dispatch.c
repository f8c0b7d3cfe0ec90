/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The request table: each refusal is the exact rule that refused it (and is
 * counted by that rule), secret payloads (crypto session keys) are wiped on
 * every path including rejects, and request names come from the table.
 */
#include <sys/socket.h>

#include "device.h"
#include "log.h"
#include "stub_device.h"
#include "test_util.h"

static int session_reply(void *priv, uint32_t request, const void *payload, uint32_t size,
			 void *reply, uint32_t *reply_size)
{
	(void)priv;
	(void)request;
	(void)payload;
	(void)size;
	memset(reply, 0x5a, 8); /* a session id */
	*reply_size = 8;
	return 0;
}

static const struct vt_device_ops ops = {
	.type = "dispatch-test",
	.num_queues = stub_one_queue,
	.queue_handle = stub_handle,
	.extra_message = session_reply,
};

struct fixture {
	struct vt_device *d;
	int peer;
	struct vt_vu_msg m;
};

static void fx_init(struct fixture *f)
{
	f->d = vt_device_new("dispatch-test", &ops, NULL);
	CHECK(f->d != NULL);
	f->d->manual_queues = true;
	int sp[2];
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	f->d->conn_fd = sp[0];
	f->peer = sp[1];
}

static void fx_free(struct fixture *f)
{
	close(f->peer);
	vt_device_free(f->d);
}

/* Builds f->m (kept for inspection after the call) and dispatches it. */
static int send_msg(struct fixture *f, uint32_t req, const void *p, uint32_t size, int fd)
{
	struct vt_vu_msg *m = &f->m;
	memset(m, 0, sizeof(*m));
	m->hdr.request = req;
	m->hdr.flags = VHOST_USER_VERSION;
	m->hdr.size = size;
	if (size)
		memcpy(m->p.raw, p, size);
	for (unsigned i = 0; i < VHOST_USER_MAX_FDS; i++)
		m->fds[i] = -1;
	if (fd >= 0) {
		m->fds[0] = fd;
		m->nfds = 1;
	}
	return vt_device_handle_message(f->d, m);
}

static void expect_reject(struct fixture *f, enum vt_msg_reject why, uint64_t count)
{
	CHECK_EQ(f->d->last_reject, why);
	CHECK_EQ(atomic_load(&f->d->stats.rejected[why]), count);
}

static void test_rejects_are_typed(void)
{
	struct fixture f;
	fx_init(&f);
	uint64_t v = 0;
	CHECK_EQ(send_msg(&f, 999, NULL, 0, -1), 0);
	expect_reject(&f, VT_REJECT_UNSUPPORTED, 1);
	CHECK_EQ(send_msg(&f, VHOST_USER_SET_LOG_BASE, &v, 8, -1), 0); /* named, not served */
	expect_reject(&f, VT_REJECT_UNSUPPORTED, 2);
	CHECK_EQ(send_msg(&f, VHOST_USER_SET_FEATURES, &v, 4, -1), 0);
	expect_reject(&f, VT_REJECT_SIZE, 1);
	struct vhost_vring_state st = {.index = 1, .num = 8}; /* one queue: index 0 only */
	CHECK_EQ(send_msg(&f, VHOST_USER_SET_VRING_NUM, &st, sizeof(st), -1), 0);
	expect_reject(&f, VT_REJECT_QUEUE_INDEX, 1);
	v = 0; /* no NOFD bit and no fd */
	CHECK_EQ(send_msg(&f, VHOST_USER_SET_VRING_KICK, &v, 8, -1), 0);
	expect_reject(&f, VT_REJECT_VRING_FD_MISSING, 1);
	v = VHOST_USER_VRING_NOFD_MASK | 0x1000;
	CHECK_EQ(send_msg(&f, VHOST_USER_SET_VRING_CALL, &v, 8, -1), 0);
	expect_reject(&f, VT_REJECT_VRING_FD_BITS, 1);
	CHECK_EQ(send_msg(&f, VHOST_USER_SET_FEATURES, &v, 8, dup(0)), 0);
	expect_reject(&f, VT_REJECT_FDS, 1);
	/* A request with a typed reply cannot be answered "rejected": the front-end is dropped. */
	struct vhost_user_config cfg = {.offset = 0, .size = 4};
	CHECK_EQ(send_msg(&f, VHOST_USER_GET_CONFIG, &cfg, VHOST_USER_CONFIG_HDR_SIZE + 4, -1),
		 -EPROTO);
	expect_reject(&f, VT_REJECT_NO_CONFIG, 1);
	CHECK_EQ(atomic_load(&f.d->stats.bad_messages), 8);
	CHECK(strcmp(vt_msg_reject_label(VT_REJECT_QUEUE_INDEX), "queue_index") == 0);
	fx_free(&f);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;
	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

static void test_secret_payload_wiped(void)
{
	struct fixture f;
	fx_init(&f);
	uint8_t key[64];
	memset(key, 0xa5, sizeof(key));
	/* Served: the device answered, the key bytes are gone. */
	CHECK_EQ(send_msg(&f, VHOST_USER_CREATE_CRYPTO_SESSION, key, sizeof(key), -1), 0);
	CHECK(all_zero(f.m.p.raw, sizeof(key)));
	struct vhost_user_header h;
	uint8_t id[8];
	CHECK_EQ(read(f.peer, &h, sizeof(h)), (ssize_t)sizeof(h));
	CHECK_EQ(h.size, 8);
	CHECK_EQ(read(f.peer, id, sizeof(id)), (ssize_t)sizeof(id));
	/* Rejected by the table (an fd it never carries): wiped all the same. */
	CHECK_EQ(send_msg(&f, VHOST_USER_CREATE_CRYPTO_SESSION, key, sizeof(key), dup(0)), -EPROTO);
	expect_reject(&f, VT_REJECT_FDS, 1);
	CHECK(all_zero(f.m.p.raw, sizeof(key)));
	fx_free(&f);
}

static void test_names_from_the_table(void)
{
	CHECK(strcmp(vt_vu_request_name(VHOST_USER_SET_MEM_TABLE), "SET_MEM_TABLE") == 0);
	CHECK(strcmp(vt_vu_request_name(VHOST_USER_SET_LOG_BASE), "SET_LOG_BASE") == 0);
	CHECK(strcmp(vt_vu_request_name(VHOST_USER_CHECK_DEVICE_STATE), "CHECK_DEVICE_STATE") ==
	      0);
	CHECK(strcmp(vt_vu_request_name(999), "UNKNOWN") == 0);
}

int main(void)
{
	vt_log_set_level(VT_LOG_ERR);
	TEST_RUN(test_rejects_are_typed);
	TEST_RUN(test_secret_payload_wiped);
	TEST_RUN(test_names_from_the_table);
	TEST_DONE();
}
