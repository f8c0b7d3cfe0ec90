/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Core conformance cases, hostile front-end: fds of the wrong kind where a
 * back-end expects eventfds or a state pipe, guest memory that shrinks under
 * the back-end, a device-state pipe held open, and a huge sparse memory
 * file. Each of them crashed or wedged a back-end once (vtrust issue 17).
 *
 * A back-end may refuse the bad fd (the expected answer) or accept it and
 * still never block on it; either way it must stay responsive: the same
 * connection stops and restarts its ring and serves again, and a fresh
 * connection is served (the harness's post-check).
 */
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "conformance.h"
#include "clock.h"

/* Sleeps ms milliseconds (the back-end gets to act on what we sent). */
static void settle(int ms)
{
	(void)poll(NULL, 0, ms);
}

/* A completion of any kind on queue 0: makes the back-end notify (the call fd). */
static int kick_a_request(struct fe_dev *d)
{
	struct fe_vq *vq = d->vqs[0];
	uint64_t rd, wr;
	void *a = fe_mem_alloc_ptr(d->mem, 64, 8, &rd);
	void *b = fe_mem_alloc_ptr(d->mem, 64, 8, &wr);
	if (!a || !b)
		return -ENOMEM;
	memset(a, 0, 64);
	struct fe_seg segs[] = {{rd, 64, false}, {wr, 64, true}};
	int r = fe_vq_add(vq, segs, 2, 0, NULL);
	if (r < 0)
		return r;
	return fe_vq_notify(vq);
}

/* A datagram socket whose send buffer is full and which blocks: a write never returns. */
static int full_dgram_socket(int *ret_peer)
{
	int s[2];
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, s) < 0)
		return -errno;
	int small = 1;
	(void)setsockopt(s[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	uint64_t v = 1;
	for (int i = 0; i < 100000 && write(s[0], &v, sizeof(v)) == (ssize_t)sizeof(v); i++)
		;
	int fl = fcntl(s[0], F_GETFL);
	(void)fcntl(s[0], F_SETFL, fl & ~O_NONBLOCK);
	*ret_peer = s[1];
	return s[0];
}

/* A stream socket that looks readable (1 byte queued) but whose read waits for 8. */
static int lowat_stream_socket(int *ret_peer)
{
	int s[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s) < 0)
		return -errno;
	int eight = 8;
	(void)setsockopt(s[0], SOL_SOCKET, SO_RCVLOWAT, &eight, sizeof(eight));
	if (write(s[1], "x", 1) != 1) {
		close(s[0]);
		close(s[1]);
		return -EIO;
	}
	*ret_peer = s[1];
	return s[0];
}

enum bad_fd {
	BAD_CALL_DGRAM,
	BAD_ERR_DGRAM,
	BAD_KICK_STREAM,
};

static enum conf_result run_bad_vring_fd(struct conf_ctx *c)
{
	enum bad_fd kind = (enum bad_fd)(uintptr_t)c->cur->arg;
	struct fe_dev *d = c->dev;
	struct fe_vq *vq = d->vqs[0];
	uint32_t req = kind == BAD_CALL_DGRAM  ? VHOST_USER_SET_VRING_CALL
		       : kind == BAD_ERR_DGRAM ? VHOST_USER_SET_VRING_ERR
					       : VHOST_USER_SET_VRING_KICK;
	_cleanup_close_ int peer = -1;
	_cleanup_close_ int fd = kind == BAD_KICK_STREAM ? lowat_stream_socket(&peer)
							 : full_dgram_socket(&peer);
	if (fd < 0)
		return conf_fail(c, "socketpair: %s", strerror(-fd));

	uint64_t v = vq->index;
	int r = fe_vu_request(d->vu, req, &v, sizeof(v), &fd, 1, FE_VU_REQ_ACK);
	if (r == -ECONNRESET) {
		conf_outcome(c, "closed");
		return CONF_PASS;
	}
	if (r == -EREMOTEIO)
		conf_outcome(c, "refused");
	else if (r == 0)
		conf_outcome(c, "accepted");
	else
		return conf_fail(c, "%s: %s", fe_vu_request_name(req), d->vu->error);
	(void)close(fd);
	fd = -1;

	/* Make the back-end use the fd if it kept it. */
	if (kind == BAD_CALL_DGRAM) {
		r = kick_a_request(d);
	} else if (kind == BAD_ERR_DGRAM) {
		/* A broken ring: a descriptor whose next is out of range. */
		uint64_t g;
		if (!fe_mem_alloc_ptr(d->mem, 64, 16, &g))
			return conf_fail(c, "out of guest memory");
		fe_vq_raw_desc(vq, 0, g, 16, VRING_DESC_F_NEXT, vq->num);
		fe_vq_raw_push(vq, 0);
		fe_vq_raw_publish(vq, vq->avail_idx);
		r = fe_vq_notify(vq);
	} else {
		r = 0; /* the queued byte makes the kick fd readable already */
	}
	if (r < 0)
		return conf_fail(c, "submitting: %s", strerror(-r));
	settle(c->settle_ms);
	/* Stopping the ring must be answered: nothing may wait on our fd. */
	enum conf_result res = conf_expect_alive(c);
	if (res != CONF_PASS)
		return res;
	return conf_restart_and_serve(c);
}

/*
 * Guest memory shrinks after SET_MEM_TABLE, then the ring is kicked. With a
 * sealable memfd the back-end may have applied F_SEAL_SHRINK (the truncate
 * then fails: passed, "sealed"). Otherwise it must survive touching the
 * vanished pages: no crash, the connection answers, a fresh one is served.
 */
static enum conf_result run_mem_shrink(struct conf_ctx *c)
{
	bool sealable = c->cur->arg != NULL;
	struct fe_dev_opts o = c->opts;
	o.mem.allow_sealing = sealable;
	if (conf_open(c, &o, CONF_SETUP_STARTED, &c->dev) < 0)
		return CONF_FAIL;
	struct fe_dev *d = c->dev;
	enum conf_result res = conf_sanity(c, d, 0, "before the shrink");
	if (res != CONF_PASS)
		return res;
	int seals = fcntl(d->mem->fd, F_GET_SEALS);
	if (sealable && seals >= 0 && (seals & F_SEAL_SHRINK)) {
		if (ftruncate(d->mem->fd, 0) == 0 || errno != EPERM)
			return conf_fail(c, "F_SEAL_SHRINK is set but the memfd still shrinks");
		conf_outcome(c, "sealed by the back-end (F_SEAL_SHRINK)");
		return conf_sanity(c, d, 0, "after the refused shrink");
	}
	/* A request waits in the ring; from now on we never touch our mapping. */
	struct fe_vq *vq = d->vqs[0];
	uint64_t g;
	if (!fe_mem_alloc_ptr(d->mem, 64, 8, &g))
		return conf_fail(c, "out of guest memory");
	struct fe_seg seg = {g, 64, true};
	if (fe_vq_add(vq, &seg, 1, 0, NULL) < 0)
		return conf_fail(c, "cannot queue a request");
	if (ftruncate(d->mem->fd, 0) < 0)
		return conf_fail(c, "ftruncate: %m");
	conf_outcome(c, "shrunk to 0 bytes");
	if (fe_vq_notify(vq) < 0)
		return conf_fail(c, "kick: %m");
	settle(c->settle_ms);
	res = conf_expect_alive(c);
	if (res != CONF_PASS)
		return res;
	/* Stopping the ring must still be answered (rings read nothing now). */
	uint32_t base;
	int r = fe_vu_get_vring_base(d->vu, vq->index, &base);
	if (r < 0 && r != -ECONNRESET)
		return conf_fail(c, "GET_VRING_BASE after the shrink: %s", d->vu->error);
	return CONF_PASS; /* the harness checks a fresh connection */
}

/*
 * SET_DEVICE_STATE_FD (load) with a pipe whose write end we keep open and
 * never write: the back-end must not wait for it when the front-end goes
 * away. A fresh connection is served while we still hold the pipe.
 */
static enum conf_result run_state_pipe_held(struct conf_ctx *c)
{
	struct fe_dev *d = c->dev;
	if (!fe_vu_has_protocol(d->vu, VHOST_USER_PROTOCOL_F_DEVICE_STATE))
		return conf_skip(c, "DEVICE_STATE not offered");
	if (fe_dev_stop(d) < 0)
		return conf_fail(c, "stop sequence: %s", d->vu->error);
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return conf_fail(c, "pipe: %m");
	_cleanup_close_ int held = p[1];
	(void)held; /* the write end stays open until we return (clang: not "unused") */
	int back = -1;
	int r = fe_vu_set_device_state_fd(d->vu, VHOST_USER_TRANSFER_STATE_DIRECTION_LOAD,
					  VHOST_USER_TRANSFER_STATE_PHASE_STOPPED, p[0], &back);
	(void)close(p[0]);
	if (back >= 0)
		(void)close(back);
	if (r == -EREMOTEIO)
		conf_outcome(c, "refused");
	else if (r == 0)
		conf_outcome(c, "transfer started, then hung up");
	else if (r != -ECONNRESET)
		return conf_fail(c, "SET_DEVICE_STATE_FD: %s", d->vu->error);
	c->dev = fe_dev_close(c->dev);
	struct fe_dev *fresh;
	if (conf_open(c, &c->probe->dev, CONF_SETUP_STARTED, &fresh) < 0) {
		char why[sizeof(c->reason)];
		snprintf(why, sizeof(why), "%s", c->reason);
		return conf_fail(c, "a new front-end is not served while the old one's state "
				    "pipe is held open: %s",
				 why);
	}
	enum conf_result res = conf_sanity(c, fresh, 0, "new front-end, old state pipe held");
	fe_dev_close(fresh);
	return res;
}

/*
 * One region backed by a 1 GiB sparse memfd. The table must be answered in
 * time, and the back-end must not fill the file's holes (a pre-fault of
 * everything would allocate 1 GiB of shared memory on the front-end's word).
 */
static enum conf_result run_sparse_memory(struct conf_ctx *c)
{
	struct fe_dev *d = c->dev;
	const uint64_t size = 1ull << 30, allowed = 64ull << 20;
	_cleanup_close_ int fd = memfd_create("vtrust-probe-sparse", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
		return conf_fail(c, "memfd: %m");
	int r = fe_vu_set_features(d->vu, d->vu->features & FE_DRIVER_FEATURES);
	if (r < 0)
		return conf_fail(c, "SET_FEATURES: %s", d->vu->error);
	struct vhost_user_mem_region reg = {
	    .guest_phys_addr = 0, .memory_size = size, .userspace_addr = 1ull << 40};
	uint64_t t0 = vt_now_ns();
	r = fe_vu_set_mem_table_raw(d->vu, 1, &reg, &fd, 1);
	uint64_t ms = (vt_now_ns() - t0) / 1000000;
	if (r == -ETIMEDOUT)
		return conf_fail(c, "SET_MEM_TABLE of a sparse 1 GiB file not answered in %d ms",
				 d->vu->timeout_ms);
	if (r == -ECONNRESET) {
		conf_outcome(c, "closed");
		return CONF_PASS;
	}
	struct stat st;
	if (fstat(fd, &st) < 0)
		return conf_fail(c, "fstat: %m");
	uint64_t filled = (uint64_t)st.st_blocks * 512;
	conf_outcome(c, "%s in %llu ms, %llu MiB of the file allocated",
		     r == 0 ? "accepted" : "refused", (unsigned long long)ms,
		     (unsigned long long)(filled >> 20));
	if (filled > allowed)
		return conf_fail(c, "the back-end allocated %llu MiB of a sparse 1 GiB file "
				    "(pre-faulting holes)",
				 (unsigned long long)(filled >> 20));
	return conf_expect_alive(c);
}

#define ARG(v) ((const void *)(uintptr_t)(v))

const struct conf_case conf_hostile_cases[] = {
    {"hostile.call_fd_dgram", "SET_VRING_CALL with a full blocking datagram socket",
     CONF_SETUP_STARTED, run_bad_vring_fd, ARG(BAD_CALL_DGRAM)},
    {"hostile.err_fd_dgram", "SET_VRING_ERR with a full blocking datagram socket, then a ring error",
     CONF_SETUP_STARTED, run_bad_vring_fd, ARG(BAD_ERR_DGRAM)},
    {"hostile.kick_fd_stream", "SET_VRING_KICK with a stream socket (SO_RCVLOWAT 8, 1 byte queued)",
     CONF_SETUP_STARTED, run_bad_vring_fd, ARG(BAD_KICK_STREAM)},
    {"hostile.mem_shrink", "guest memory (unsealable memfd) truncated to 0, then a kick",
     CONF_SETUP_NONE, run_mem_shrink, NULL},
    {"hostile.mem_shrink_sealable", "guest memory (sealable memfd) truncated to 0, then a kick",
     CONF_SETUP_NONE, run_mem_shrink, ARG(1)},
    {"hostile.state_pipe_held", "device-state load pipe held open, front-end hangs up",
     CONF_SETUP_STARTED, run_state_pipe_held, NULL},
    {"hostile.sparse_memory", "a region backed by a 1 GiB sparse memfd: no holes filled",
     CONF_SETUP_NEGOTIATED, run_sparse_memory, NULL},
};
const size_t conf_hostile_ncases = VT_ARRAY_SIZE(conf_hostile_cases);
