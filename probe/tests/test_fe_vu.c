/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The front-end against the test-only mock back-end (tests/mock_backend.c):
 * the exact QEMU 7.2 message sequences, data round trips, device state,
 * crypto sessions, config, and the checks on a hostile back-end's replies
 * and used ring.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "fe_dev.h"
#include "mock_backend.h"
#include "test_util.h"

struct mock_thread {
	pthread_t t;
	int lfd;
	char dir[64];
	char path[108];
	struct mock_opts o;
	struct mock_log log;
};

static void *mock_thread_main(void *arg)
{
	struct mock_thread *mt = arg;
	int c = accept4(mt->lfd, NULL, NULL, SOCK_CLOEXEC);
	if (c >= 0)
		(void)mock_serve(c, &mt->o, &mt->log);
	return NULL;
}

/* Listens before returning, so the client's connect cannot race the thread. */
static struct mock_thread *mock_start(const struct mock_opts *o)
{
	struct mock_thread *mt = calloc(1, sizeof(*mt));
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	CHECK(mt);
	if (o)
		mt->o = *o;
	snprintf(mt->dir, sizeof(mt->dir), "/tmp/probe-test-XXXXXX");
	CHECK(mkdtemp(mt->dir));
	snprintf(mt->path, sizeof(mt->path), "%s/vu.sock", mt->dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", mt->path);
	mt->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(mt->lfd >= 0);
	CHECK_EQ(bind(mt->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	CHECK_EQ(listen(mt->lfd, 4), 0);
	CHECK_EQ(pthread_create(&mt->t, NULL, mock_thread_main, mt), 0);
	return mt;
}

/* Waits for the mock to see our hang-up; copies its log out (if asked) and frees it. */
static void mock_join(struct mock_thread *mt, struct mock_log *ret_log)
{
	CHECK_EQ(pthread_join(mt->t, NULL), 0);
	if (ret_log)
		*ret_log = mt->log;
	(void)close(mt->lfd);
	(void)unlink(mt->path);
	(void)rmdir(mt->dir);
	free(mt);
}

static struct fe_dev_opts opts_for(const struct mock_thread *mt)
{
	struct fe_dev_opts o;
	fe_dev_opts_init(&o);
	o.socket_path = mt->path;
	o.mem.size = 4 << 20;
	o.mem.no_populate = true;
	o.timeout_ms = 2000;
	return o;
}

static void copy_request(struct fe_dev *d, unsigned flags)
{
	uint64_t in, out;
	uint8_t *pi = fe_mem_alloc_ptr(d->mem, 64, 8, &in);
	uint8_t *po = fe_mem_alloc_ptr(d->mem, 64, 8, &out);
	CHECK(pi && po);
	for (int i = 0; i < 64; i++)
		pi[i] = (uint8_t)(i * 3 + 1);
	memset(po, 0, 64);
	struct fe_seg s[2] = {{in, 40, false}, {out, 64, true}};
	struct fe_used u;
	CHECK_EQ(fe_vq_submit(d->vqs[0], s, 2, flags, 2000, &u), 0);
	CHECK_EQ(u.len, 40);
	CHECK(memcmp(pi, po, 40) == 0);
	CHECK_EQ(po[40], 0);
	CHECK_EQ(fe_mem_release(d->mem, in, 64), 0);
	CHECK_EQ(fe_mem_release(d->mem, out, 64), 0);
}

static unsigned count_req(const struct mock_log *l, uint32_t req)
{
	unsigned n = 0;
	for (unsigned i = 0; i < l->n; i++)
		n += l->req[i] == req;
	return n;
}

TEST(qemu72_sequence)
{
	struct mock_thread *mt = mock_start(NULL);
	struct fe_dev_opts o = opts_for(mt);
	struct fe_dev *d;

	CHECK_EQ(fe_dev_open(&o, &d), 0);
	CHECK_EQ(fe_dev_start(d), 0);
	copy_request(d, 0);
	CHECK_EQ(fe_dev_stop(d), 0);
	CHECK_EQ(d->vqs[0]->base, 1);
	fe_dev_close(d);
	struct mock_log log;
	mock_join(mt, &log);

	static const uint32_t want[] = {
	    /* init */
	    VHOST_USER_GET_FEATURES,
	    VHOST_USER_GET_PROTOCOL_FEATURES,
	    VHOST_USER_SET_PROTOCOL_FEATURES,
	    VHOST_USER_GET_QUEUE_NUM,
	    VHOST_USER_SET_OWNER,
	    VHOST_USER_GET_FEATURES,
	    VHOST_USER_SET_VRING_CALL,
	    VHOST_USER_SET_VRING_ERR,
	    /* start */
	    VHOST_USER_SET_FEATURES,
	    VHOST_USER_GET_STATUS,
	    VHOST_USER_SET_STATUS,
	    VHOST_USER_SET_MEM_TABLE,
	    VHOST_USER_SET_VRING_NUM,
	    VHOST_USER_SET_VRING_BASE,
	    VHOST_USER_SET_VRING_ADDR,
	    VHOST_USER_SET_VRING_KICK,
	    VHOST_USER_SET_VRING_ENABLE,
	    VHOST_USER_SET_VRING_CALL,
	    /* stop */
	    VHOST_USER_SET_VRING_ENABLE,
	    VHOST_USER_GET_VRING_BASE,
	};
	const struct mock_log *l = &log;
	CHECK_EQ(l->n, VT_ARRAY_SIZE(want));
	for (unsigned i = 0; i < VT_ARRAY_SIZE(want); i++) {
		if (l->req[i] != want[i])
			fprintf(stderr, "message %u: got %u want %u\n", i, l->req[i], want[i]);
		CHECK_EQ(l->req[i], want[i]);
	}
	/* Requests use flags 0x1, with NEED_REPLY (0x9) only where QEMU asks an ack. */
	for (unsigned i = 0; i < l->n; i++) {
		bool acked =
		    l->req[i] == VHOST_USER_SET_MEM_TABLE || l->req[i] == VHOST_USER_SET_STATUS;
		CHECK_EQ(l->flags[i], acked ? 0x9 : 0x1);
	}
	/* CONFIGURE_MEM_SLOTS offered but not asked for: not acked. */
	CHECK_EQ(l->u64[2], 0x90289);
	CHECK_EQ(l->u64[8], 0x170000000); /* SET_FEATURES: offered & what our driver does */
	CHECK_EQ(l->u64[10], VIRTIO_STATUS_FEATURES_OK);
	CHECK_EQ(l->u64[16], 0x100000000); /* SET_VRING_ENABLE {0, 1} */
	CHECK_EQ(l->u64[18], 0);	   /* SET_VRING_ENABLE {0, 0} */
	CHECK_EQ(l->chains, 1);
	/* The init call fd (masked notifier) differs from the start one: both were sent. */
	CHECK_EQ(count_req(l, VHOST_USER_SET_VRING_CALL), 2);
}

/* QEMU 7.2 cryptodev: SET_FEATURES is bit 30 only, no SET_VRING_ENABLE, guest uses indirect. */
TEST(qemu72_crypto_preset)
{
	struct mock_thread *mt = mock_start(NULL);
	struct fe_dev_opts o = opts_for(mt);
	struct fe_dev *d;

	CHECK_EQ(fe_feat_parse("qemu-crypto", &o.feat_mode, &o.features), 0);
	o.ring_features_set = true;
	o.ring_features = VT_BIT(VIRTIO_RING_F_INDIRECT_DESC) | VT_BIT(VIRTIO_RING_F_EVENT_IDX);
	o.no_vring_enable = true;
	CHECK_EQ(fe_dev_open(&o, &d), 0);
	CHECK_EQ(fe_dev_start(d), 0);
	CHECK(d->vqs[0]->event_idx);
	for (int i = 0; i < 5; i++)
		copy_request(d, FE_VQ_ADD_INDIRECT);
	CHECK_EQ(fe_dev_stop(d), 0);
	fe_dev_close(d);
	struct mock_log log;
	mock_join(mt, &log);
	CHECK_EQ(count_req(&log, VHOST_USER_SET_VRING_ENABLE), 0);
	for (unsigned i = 0; i < log.n; i++)
		if (log.req[i] == VHOST_USER_SET_FEATURES)
			CHECK_EQ(log.u64[i], 0x40000000);
}

TEST(mem_slots_and_restart)
{
	struct mock_thread *mt = mock_start(NULL);
	struct fe_dev_opts o = opts_for(mt);
	struct fe_dev *d;

	o.init.mem_slots = true;
	CHECK_EQ(fe_dev_open(&o, &d), 0);
	CHECK_EQ(d->vu->max_mem_slots, 8);
	CHECK_EQ(fe_dev_start(d), 0);
	copy_request(d, 0);
	/* VM stop / cont: full restart from GET_VRING_BASE's answer. */
	CHECK_EQ(fe_dev_stop(d), 0);
	CHECK_EQ(fe_dev_start(d), 0);
	copy_request(d, 0);
	/* Guest reset of one ring: fresh rings, base 0. */
	uint64_t old_desc = d->vqs[0]->desc_gpa;
	CHECK_EQ(fe_dev_restart_vq(d, 0), 0);
	CHECK(d->vqs[0]->desc_gpa != old_desc);
	copy_request(d, 0);
	fe_dev_close(d);
	struct mock_log log;
	mock_join(mt, &log);
	const struct mock_log *l = &log;
	CHECK_EQ(l->req[4], VHOST_USER_GET_MAX_MEM_SLOTS);
	CHECK_EQ(count_req(l, VHOST_USER_SET_MEM_TABLE), 0);
	/* Two regions, added once: the restart found them in place. */
	CHECK_EQ(count_req(l, VHOST_USER_ADD_MEM_REG), 2);
	CHECK_EQ(l->chains, 3);
}

TEST(straddling_buffers)
{
	struct mock_thread *mt = mock_start(NULL);
	struct fe_dev_opts o = opts_for(mt);
	struct fe_dev *d;

	o.mem.layout = FE_MEM_LAYOUT_ADJACENT;
	o.mem.nregions = 3;
	CHECK_EQ(fe_dev_open(&o, &d), 0);
	CHECK_EQ(fe_dev_start(d), 0);
	uint64_t in, out;
	CHECK_EQ(fe_mem_alloc_straddle(d->mem, 1000, 300, &in), 0);
	CHECK_EQ(fe_mem_alloc_straddle(d->mem, 1000, 700, &out), 0);
	uint8_t src[1000], dst[1000];
	for (int i = 0; i < 1000; i++)
		src[i] = (uint8_t)(i ^ 0x5a);
	CHECK_EQ(fe_mem_write(d->mem, in, src, sizeof(src)), 0);
	struct fe_seg s[2] = {{in, 1000, false}, {out, 1000, true}};
	struct fe_used u;
	CHECK_EQ(fe_dev_submit(d, 0, s, 2, &u), 0);
	CHECK_EQ(u.len, 1000);
	CHECK_EQ(fe_mem_read(d->mem, out, dst, sizeof(dst)), 0);
	CHECK(memcmp(src, dst, sizeof(src)) == 0);
	fe_dev_close(d);
	mock_join(mt, NULL);
}

TEST(device_state_crypto_config)
{
	struct mock_thread *mt = mock_start(NULL);
	struct fe_dev_opts o = opts_for(mt);
	struct fe_dev *d;

	CHECK_EQ(fe_dev_open(&o, &d), 0);
	struct fe_vu *vu = d->vu;

	uint8_t *state;
	size_t len;
	CHECK_EQ(fe_vu_save_state(vu, &state, &len), 0);
	CHECK_EQ(len, 100000);
	CHECK_EQ(state[99999], (uint8_t)(99999 * 7));
	CHECK_EQ(fe_vu_load_state(vu, state, len), 0);
	state[5] ^= 1;
	CHECK_EQ(fe_vu_load_state(vu, state, len), -EREMOTEIO);
	free(state);

	uint8_t sess[VHOST_USER_CRYPTO_SESSION_SIZE_72] = {0}, out[sizeof(sess)];
	sess[8] = 3; /* cipher_alg AES_CBC */
	CHECK_EQ(fe_vu_create_crypto_session(vu, sess, sizeof(sess), out), 0);
	int64_t id;
	memcpy(&id, out, sizeof(id));
	CHECK_EQ(id, 1);
	CHECK_EQ(out[8], 3);
	CHECK_EQ(fe_vu_close_crypto_session(vu, (uint64_t)id), 0);

	uint8_t cfg[8];
	CHECK_EQ(fe_vu_get_config(vu, 0, 8, 0, cfg), 0);
	CHECK(memcmp(cfg, "mockcfg!", 8) == 0);
	CHECK_EQ(fe_vu_get_config(vu, 4, 4, 0, cfg), 0);
	CHECK(memcmp(cfg, "cfg!", 4) == 0);
	CHECK_EQ(fe_vu_get_config(vu, 0, 9, 0, cfg), -EREMOTEIO);
	uint64_t f;
	CHECK_EQ(fe_vu_get_features(vu, &f), 0);
	fe_dev_close(d);
	mock_join(mt, NULL);
}

/* One GET_FEATURES against a mock configured to misbehave. */
static int hostile_get_features(const struct mock_opts *mo, struct fe_vu **ret_vu,
				struct mock_thread **ret_mt)
{
	struct mock_thread *mt = mock_start(mo);
	struct fe_vu *vu;
	uint64_t f;
	CHECK_EQ(fe_vu_connect(mt->path, 300, &vu), 0);
	int r = fe_vu_get_features(vu, &f);
	*ret_vu = vu;
	*ret_mt = mt;
	return r;
}

TEST(hostile_replies)
{
	struct mock_thread *mt;
	struct fe_vu *vu;

	struct mock_opts echo = {.reply_flags = 0xd};
	CHECK_EQ(hostile_get_features(&echo, &vu, &mt), -EPROTO);
	CHECK(strstr(vu->error, "flags 0xd"));
	fe_vu_close(vu);
	mock_join(mt, NULL);

	struct mock_opts wrong = {.reply_wrong_request = true};
	CHECK_EQ(hostile_get_features(&wrong, &vu, &mt), -EPROTO);
	CHECK(vu->desync);
	uint64_t f;
	CHECK_EQ(fe_vu_get_features(vu, &f), -ENOTCONN);
	fe_vu_close(vu);
	mock_join(mt, NULL);

	struct mock_opts longer = {.reply_size_delta = 4};
	CHECK_EQ(hostile_get_features(&longer, &vu, &mt), -EPROTO);
	CHECK(strstr(vu->error, "size 12"));
	fe_vu_close(vu);
	mock_join(mt, NULL);

	struct mock_opts mute = {.mute = true};
	CHECK_EQ(hostile_get_features(&mute, &vu, &mt), -ETIMEDOUT);
	CHECK(vu->desync);
	fe_vu_close(vu);
	mock_join(mt, NULL);
}

TEST(hostile_used_ring)
{
	struct mock_opts bad_id = {.used_bad_id = true}, big_len = {.used_big_len = true};
	const struct mock_opts *cases[] = {&bad_id, &big_len};
	const char *expect[] = {">= queue size", "writable"};

	for (unsigned k = 0; k < 2; k++) {
		struct mock_thread *mt = mock_start(cases[k]);
		struct fe_dev_opts o = opts_for(mt);
		struct fe_dev *d;
		CHECK_EQ(fe_dev_open(&o, &d), 0);
		CHECK_EQ(fe_dev_start(d), 0);
		uint64_t b;
		CHECK_EQ(fe_mem_alloc(d->mem, 64, 8, &b), 0);
		struct fe_seg s[2] = {{b, 32, false}, {b + 32, 32, true}};
		struct fe_used u;
		CHECK_EQ(fe_dev_submit(d, 0, s, 2, &u), -EPROTO);
		CHECK(d->vqs[0]->broken);
		CHECK(strstr(fe_dev_error(d, 0), expect[k]));
		fe_dev_close(d);
		mock_join(mt, NULL);
	}
}

int main(void)
{
	(void)signal(SIGPIPE, SIG_IGN);
	RUN(qemu72_sequence);
	RUN(qemu72_crypto_preset);
	RUN(mem_slots_and_restart);
	RUN(straddling_buffers);
	RUN(device_state_crypto_config);
	RUN(hostile_replies);
	RUN(hostile_used_ring);
	return 0;
}
