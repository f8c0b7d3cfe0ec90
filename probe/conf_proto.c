/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Core conformance cases, protocol level: messages with wrong sizes, fds
 * missing or extra, bad queue indexes, unknown requests, hostile memory
 * tables and ring addresses, bad ring sizes, torn messages. Each is refused
 * (failed ack or closed connection) without a crash or a hang.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>

#include "conformance.h"

#define PAYLOAD_SPACE 8192

/* ---- sizes ---------------------------------------------------------------- */

enum fill {
	FILL_ZERO,
	FILL_FEATURES, /* u64: the features the back-end offered */
	FILL_STATE,    /* vring state {0, queue size} */
	FILL_ADDR,     /* queue 0's real addresses */
	FILL_NOFD,     /* u64 vring 0 | NOFD */
};

struct size_case {
	uint32_t request;
	uint32_t claimed; /* header size */
	uint32_t sent;	  /* payload bytes actually written */
	enum fill fill;
};

static void fill_payload(struct conf_ctx *c, enum fill fill, uint8_t *buf)
{
	struct fe_dev *d = c->dev;
	uint64_t v;

	memset(buf, 0, PAYLOAD_SPACE);
	switch (fill) {
	case FILL_FEATURES:
		v = d->vu->features & FE_DRIVER_FEATURES;
		memcpy(buf, &v, sizeof(v));
		break;
	case FILL_STATE: {
		struct vhost_vring_state s = {.index = 0, .num = d->vqs[0]->num};
		memcpy(buf, &s, sizeof(s));
		break;
	}
	case FILL_ADDR: {
		struct vhost_vring_addr a;
		if (fe_vq_addr(d->vqs[0], &a) == 0)
			memcpy(buf, &a, sizeof(a));
		break;
	}
	case FILL_NOFD:
		v = VHOST_USER_VRING_NOFD_MASK;
		memcpy(buf, &v, sizeof(v));
		break;
	case FILL_ZERO:
	default:
		break;
	}
}

static enum conf_result run_size(struct conf_ctx *c)
{
	const struct size_case *s = c->cur->arg;
	_cleanup_free_ uint8_t *buf = malloc(PAYLOAD_SPACE);
	if (!buf)
		return conf_fail(c, "out of memory");
	fill_payload(c, s->fill, buf);
	return conf_expect_refusal(c, s->request, s->claimed, buf, s->sent, NULL, 0);
}

#define SIZE_CASE(req, claimed, sent, fill) (&(const struct size_case){req, claimed, sent, fill})

/* ---- fds ------------------------------------------------------------------ */

enum fd_shape {
	FD_MEMTABLE_NONE,   /* a valid one-region table without its fd */
	FD_MEMTABLE_EXTRA,  /* ... with its fd plus a canary */
	FD_VRING_NONE,	    /* vring 0 without NOFD and without fd */
	FD_VRING_NOFD_WITH, /* NOFD set but a canary attached */
	FD_VRING_TWO,	    /* two canaries */
	FD_VRING_TWELVE,    /* more than the 8 a back-end must accept */
	FD_NOPAYLOAD_WITH,  /* a request that takes no fd (SET_OWNER) with a canary */
};

struct fd_case {
	uint32_t request;
	enum fd_shape shape;
};

static enum conf_result run_fd(struct conf_ctx *c)
{
	const struct fd_case *f = c->cur->arg;
	struct fe_dev *d = c->dev;
	int fds[12];
	unsigned nfds = 0;
	uint8_t buf[sizeof(struct vhost_user_memory)] = {0};
	uint32_t size = 0;
	int canary = -1;
	enum conf_result res;

	if (f->shape != FD_MEMTABLE_NONE && f->shape != FD_VRING_NONE) {
		canary = conf_canary(c);
		if (canary < 0)
			return conf_fail(c, "pipe: %s", strerror(-canary));
	}
	switch (f->shape) {
	case FD_MEMTABLE_NONE:
	case FD_MEMTABLE_EXTRA: {
		struct vhost_user_memory *m = (struct vhost_user_memory *)buf;
		m->nregions = 1;
		fe_mem_region_wire(d->mem, d->mem->nregions - 1, &m->regions[0]);
		size = 8 + sizeof(m->regions[0]);
		if (f->shape == FD_MEMTABLE_EXTRA) {
			fds[nfds++] = d->mem->fd;
			fds[nfds++] = canary;
		}
		break;
	}
	case FD_VRING_NONE:
	case FD_VRING_TWO:
	case FD_VRING_TWELVE:
	case FD_VRING_NOFD_WITH: {
		uint64_t v = f->shape == FD_VRING_NOFD_WITH ? VHOST_USER_VRING_NOFD_MASK : 0;
		memcpy(buf, &v, sizeof(v));
		size = sizeof(v);
		unsigned n = f->shape == FD_VRING_TWO ? 2 : f->shape == FD_VRING_TWELVE ? 12 : 1;
		for (unsigned i = 0; canary >= 0 && i < n; i++)
			fds[nfds++] = canary;
		break;
	}
	case FD_NOPAYLOAD_WITH:
		fds[nfds++] = canary;
		break;
	}
	if (f->request == VHOST_USER_GET_FEATURES)
		res = conf_expect_survival(c, f->request, size, buf, size, fds, nfds);
	else if (size == 0)
		/* fds need a byte to travel with: send the bare header. */
		res = conf_expect_refusal(c, f->request, 0, NULL, 0, fds, nfds);
	else
		res = conf_expect_refusal(c, f->request, size, buf, size, fds, nfds);
	if (canary >= 0)
		(void)close(canary);
	if (res == CONF_PASS && canary >= 0)
		res = conf_expect_canary_closed(c);
	return res;
}

/* ---- queue index ------------------------------------------------------------ */

struct qidx_case {
	uint32_t request;
	bool max; /* 0xffffffff (u32) / 0xff (u64 low byte) instead of the first invalid index */
};

static enum conf_result run_qidx(struct conf_ctx *c)
{
	const struct qidx_case *q = c->cur->arg;
	struct fe_dev *d = c->dev;
	uint8_t buf[sizeof(struct vhost_vring_addr)] = {0};
	uint32_t size, idx;
	int fds[1], canary = -1;
	unsigned nfds = 0;
	enum conf_result res;

	if (q->max) {
		idx = 0xffffffffu;
	} else if (fe_vu_has_protocol(d->vu, VHOST_USER_PROTOCOL_F_MQ)) {
		/* GET_QUEUE_NUM told us the count, so the first invalid index is known. */
		idx = (uint32_t)d->vu->queue_num;
	} else {
		return conf_skip(c, "no MQ: the back-end's queue count is unknown");
	}
	switch (q->request) {
	case VHOST_USER_SET_VRING_KICK:
	case VHOST_USER_SET_VRING_CALL:
	case VHOST_USER_SET_VRING_ERR: {
		if (idx > VHOST_USER_VRING_IDX_MASK)
			idx = VHOST_USER_VRING_IDX_MASK;
		if (idx < d->nvqs)
			return conf_skip(c, "no invalid index below 256");
		uint64_t v = idx;
		memcpy(buf, &v, sizeof(v));
		size = sizeof(v);
		canary = conf_canary(c);
		if (canary < 0)
			return conf_fail(c, "pipe: %s", strerror(-canary));
		fds[nfds++] = canary;
		break;
	}
	case VHOST_USER_SET_VRING_ADDR: {
		struct vhost_vring_addr a;
		if (fe_vq_addr(d->vqs[0], &a) < 0)
			return conf_fail(c, "no ring addresses");
		a.index = idx;
		memcpy(buf, &a, sizeof(a));
		size = sizeof(a);
		break;
	}
	default: {
		struct vhost_vring_state s = {.index = idx,
					      .num =
						  q->request == VHOST_USER_SET_VRING_NUM
						      ? d->vqs[0]->num
						      : q->request == VHOST_USER_SET_VRING_ENABLE};
		memcpy(buf, &s, sizeof(s));
		size = sizeof(s);
		break;
	}
	}
	if (q->request == VHOST_USER_GET_VRING_BASE)
		res = conf_expect_survival(c, q->request, size, buf, size, NULL, 0);
	else
		res = conf_expect_refusal(c, q->request, size, buf, size, fds, nfds);
	if (canary >= 0) {
		(void)close(canary);
		if (res == CONF_PASS)
			res = conf_expect_canary_closed(c);
	}
	return res;
}

#define QIDX(req, max) (&(const struct qidx_case){req, max})

/* ---- unknown requests and header flags -------------------------------------- */

static enum conf_result run_unknown(struct conf_ctx *c)
{
	uint32_t req = (uint32_t)(uintptr_t)c->cur->arg;
	uint64_t v = 0;
	return conf_expect_refusal(c, req, sizeof(v), &v, sizeof(v), NULL, 0);
}

/* Header flags a front-end must not send: version 0 or 2, REPLY set. */
static enum conf_result run_bad_flags(struct conf_ctx *c)
{
	uint32_t flags = (uint32_t)(uintptr_t)c->cur->arg;
	struct vhost_user_header h = {.request = VHOST_USER_GET_FEATURES, .flags = flags};
	return conf_expect_survival_hdr(c, &h, NULL, 0, NULL, 0);
}

/* NEED_REPLY on a request with its own reply: exactly one reply, no extra ack. */
static enum conf_result run_need_reply_on_get(struct conf_ctx *c)
{
	struct fe_vu *vu = c->dev->vu;
	struct vhost_user_header h = {
	    .request = VHOST_USER_GET_FEATURES,
	    .flags = VHOST_USER_VERSION | VHOST_USER_NEED_REPLY_MASK,
	};
	uint64_t f;
	int r = fe_vu_send_msg(vu, &h, NULL, 0, NULL, 0);
	if (r == 0)
		r = fe_vu_recv_reply(vu, VHOST_USER_GET_FEATURES, &f, sizeof(f));
	if (r < 0)
		return conf_fail(c, "GET_FEATURES with NEED_REPLY: %s", vu->error);
	/* An extra ack would now be taken for this reply and fail the request check. */
	r = fe_vu_get_protocol_features(vu, &f);
	if (r < 0)
		return conf_fail(c, "the next request got a stray reply: %s", vu->error);
	return CONF_PASS;
}

/* ---- torn or garbage streams ------------------------------------------------- */

enum torn {
	TORN_HEADER,  /* 6 header bytes, then close */
	TORN_PAYLOAD, /* SET_MEM_TABLE header + half its payload + fds, then close */
	TORN_GARBAGE, /* 200 bytes of noise, then close */
};

static enum conf_result run_torn(struct conf_ctx *c)
{
	enum torn t = (enum torn)(uintptr_t)c->cur->arg;
	struct fe_dev *d = c->dev;
	uint8_t buf[256];
	int r;

	switch (t) {
	case TORN_HEADER: {
		struct vhost_user_header h = {.request = VHOST_USER_GET_FEATURES,
					      .flags = VHOST_USER_VERSION};
		r = fe_vu_send_raw(d->vu, &h, 6, NULL, 0);
		break;
	}
	case TORN_PAYLOAD: {
		struct vhost_user_header h = {
		    .request = VHOST_USER_SET_MEM_TABLE, .flags = VHOST_USER_VERSION, .size = 40};
		memcpy(buf, &h, sizeof(h));
		memset(buf + sizeof(h), 0, 20);
		buf[sizeof(h)] = 1;
		r = fe_vu_send_raw(d->vu, buf, sizeof(h) + 20, &d->mem->fd, 1);
		break;
	}
	case TORN_GARBAGE:
	default: {
		uint32_t x = 0x9e3779b9u;
		for (size_t i = 0; i < sizeof(buf); i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			buf[i] = (uint8_t)x;
		}
		r = fe_vu_send_raw(d->vu, buf, 200, NULL, 0);
		break;
	}
	}
	if (r < 0 && r != -ECONNRESET)
		return conf_fail(c, "send: %s", d->vu->error);
	/* Hang up mid-message; the harness then checks a fresh connection works. */
	c->dev = fe_dev_close(c->dev);
	return CONF_PASS;
}

/* ---- memory tables ------------------------------------------------------------ */

enum mt_shape {
	MT_NREGIONS_9,
	MT_OVERLAP,
	MT_BEYOND_FD,
	MT_OFFSET_BEYOND_FD,
	MT_OFFSET_WRAPS,
	MT_GPA_WRAPS,
	MT_UVA_WRAPS,
	MT_ZERO_SIZE,
	MT_NOT_MAPPABLE,
};

static enum conf_result run_mem_table(struct conf_ctx *c)
{
	enum mt_shape s = (enum mt_shape)(uintptr_t)c->cur->arg;
	struct fe_dev *d = c->dev;
	struct vhost_user_memory m = {0};
	int fds[VHOST_MEMORY_BASELINE_NREGIONS];
	_cleanup_close_ int small = -1;
	int canary = -1;
	unsigned n = 1;
	const uint64_t mib = 1 << 20;
	enum conf_result res;

	/* The order QEMU uses: features first, then the table. */
	int r = fe_vu_set_features(d->vu, d->vu->features & FE_DRIVER_FEATURES);
	if (r < 0)
		return conf_fail(c, "SET_FEATURES: %s", d->vu->error);
	fe_mem_region_wire(d->mem, d->mem->nregions - 1, &m.regions[0]);
	fds[0] = d->mem->fd;
	switch (s) {
	case MT_NREGIONS_9:
		/* The payload holds 8 regions (all it can); the count claims 9. */
		for (unsigned i = 1; i < VHOST_MEMORY_BASELINE_NREGIONS; i++) {
			m.regions[i] = m.regions[0];
			m.regions[i].guest_phys_addr += (uint64_t)i << 40;
			fds[i] = d->mem->fd;
		}
		n = VHOST_MEMORY_BASELINE_NREGIONS;
		break;
	case MT_OVERLAP:
		m.regions[0] =
		    (struct vhost_user_mem_region){.guest_phys_addr = 0,
						   .memory_size = mib,
						   .userspace_addr = d->mem->regions[0].uva,
						   .mmap_offset = 0};
		m.regions[1] = (struct vhost_user_mem_region){.guest_phys_addr = mib / 2,
							      .memory_size = mib,
							      .userspace_addr =
								  d->mem->regions[0].uva + 2 * mib,
							      .mmap_offset = 2 * mib};
		fds[1] = d->mem->fd;
		n = 2;
		break;
	case MT_BEYOND_FD:
	case MT_OFFSET_BEYOND_FD:
		small = memfd_create("vtrust-probe-small", MFD_CLOEXEC);
		if (small < 0 || ftruncate(small, (off_t)mib) < 0)
			return conf_fail(c, "memfd: %m");
		m.regions[0].memory_size = s == MT_BEYOND_FD ? 2 * mib : mib;
		m.regions[0].mmap_offset = s == MT_BEYOND_FD ? 0 : mib / 2;
		fds[0] = small;
		break;
	case MT_OFFSET_WRAPS:
		m.regions[0].mmap_offset = UINT64_MAX - 4095;
		break;
	case MT_GPA_WRAPS:
		m.regions[0].guest_phys_addr = UINT64_MAX - 4095;
		break;
	case MT_UVA_WRAPS:
		m.regions[0].userspace_addr = UINT64_MAX - 4095;
		break;
	case MT_ZERO_SIZE:
		m.regions[0].memory_size = 0;
		break;
	case MT_NOT_MAPPABLE:
		canary = conf_canary(c);
		if (canary < 0)
			return conf_fail(c, "pipe: %s", strerror(-canary));
		fds[0] = canary;
		break;
	}
	m.nregions = s == MT_NREGIONS_9 ? 9 : n;
	uint32_t size = (uint32_t)(8 + n * sizeof(m.regions[0]));
	res = conf_expect_refusal(c, VHOST_USER_SET_MEM_TABLE, size, &m, size, fds, n);
	if (canary >= 0) {
		(void)close(canary);
		if (res == CONF_PASS)
			res = conf_expect_canary_closed(c);
	}
	return res;
}

/* ---- ring addresses and sizes on a stopped ring ----------------------------- */

enum ring_cfg {
	RA_DESC_OUTSIDE,
	RA_AVAIL_OUTSIDE,
	RA_USED_OUTSIDE,
	RA_DESC_PARTIAL, /* the table starts inside a region and runs past its end */
	RA_DESC_MISALIGNED,
	RA_USED_WRAPS,
	RN_ZERO,
	RN_THREE,
	RN_HUNDRED,
	RN_65536,
	RN_MAX,
};

/* Stops queue 0 and gives it fresh areas, so the bad setting is all that changes. */
static int stop_ring(struct conf_ctx *c)
{
	struct fe_dev *d = c->dev;
	int r = fe_vu_vq_stop(d->vu, d->vqs[0], !d->opts.no_vring_enable);
	if (r < 0)
		return r;
	return fe_vq_reset(d->vqs[0], true);
}

static enum conf_result run_ring_cfg(struct conf_ctx *c)
{
	enum ring_cfg k = (enum ring_cfg)(uintptr_t)c->cur->arg;
	struct fe_dev *d = c->dev;
	struct fe_vq *vq = d->vqs[0];
	struct fe_vu *vu = d->vu;
	enum conf_result res;

	if (stop_ring(c) < 0)
		return conf_fail(c, "stopping the ring: %s", vu->error);
	if (k >= RN_ZERO) {
		static const uint32_t nums[] = {0, 3, 100, 65536, 0xffffffffu};
		struct vhost_vring_state s = {.index = vq->index, .num = nums[k - RN_ZERO]};
		res = conf_expect_refusal(c, VHOST_USER_SET_VRING_NUM, sizeof(s), &s, sizeof(s),
					  NULL, 0);
		if (res != CONF_PASS)
			return res;
		return conf_restart_and_serve(c);
	}

	struct vhost_vring_addr a;
	if (fe_vq_addr(vq, &a) < 0)
		return conf_fail(c, "no ring addresses");
	const struct fe_mem_region *last = &d->mem->regions[d->mem->nregions - 1];
	switch (k) {
	case RA_DESC_OUTSIDE:
		a.desc_user_addr = 0x1000;
		break;
	case RA_AVAIL_OUTSIDE:
		a.avail_user_addr = 0x1000;
		break;
	case RA_USED_OUTSIDE:
		a.used_user_addr = 0x1000;
		break;
	case RA_DESC_PARTIAL:
		a.desc_user_addr = last->uva + last->size - 16;
		break;
	case RA_DESC_MISALIGNED:
		a.desc_user_addr += 8;
		break;
	case RA_USED_WRAPS:
	default:
		a.used_user_addr = UINT64_MAX - 15;
		break;
	}
	int r = fe_vu_set_vring_num(vu, vq->index, vq->num);
	if (r == 0)
		r = fe_vu_set_vring_base(vu, vq->index, 0);
	if (r < 0)
		return conf_fail(c, "SET_VRING_NUM/BASE: %s", vu->error);
	/* Refused here, refused at the kick, or accepted and never served: all fine. */
	r = fe_vu_request(vu, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0, FE_VU_REQ_ACK);
	if (r == -EREMOTEIO) {
		conf_outcome(c, "nack on SET_VRING_ADDR");
	} else if (r == 0) {
		uint64_t v = vq->index;
		r = fe_vu_request(vu, VHOST_USER_SET_VRING_KICK, &v, sizeof(v), &vq->kick_fd, 1,
				  FE_VU_REQ_ACK);
		if (r == -EREMOTEIO)
			conf_outcome(c, "nack on SET_VRING_KICK");
		else if (r == 0)
			conf_outcome(c, "accepted, not served");
		if (r == 0 && fe_vq_notify(vq) < 0)
			return conf_fail(c, "kick: %m");
	}
	if (r == -ECONNRESET) {
		conf_outcome(c, "closed");
		return CONF_PASS;
	}
	if (r < 0 && r != -EREMOTEIO)
		return conf_fail(c, "%s", vu->error);
	res = conf_expect_alive(c);
	if (res != CONF_PASS)
		return res;
	return conf_restart_and_serve(c);
}

#define ARG(v) ((const void *)(uintptr_t)(v))

const struct conf_case conf_proto_cases[] = {
    /* Sizes. */
    {"proto.size.set_features_short", "SET_FEATURES with 4 payload bytes", CONF_SETUP_NEGOTIATED,
     run_size, SIZE_CASE(VHOST_USER_SET_FEATURES, 4, 4, FILL_FEATURES)},
    {"proto.size.set_features_long", "SET_FEATURES with 16 payload bytes", CONF_SETUP_NEGOTIATED,
     run_size, SIZE_CASE(VHOST_USER_SET_FEATURES, 16, 16, FILL_FEATURES)},
    {"proto.size.set_protocol_features_long", "SET_PROTOCOL_FEATURES with 12 bytes",
     CONF_SETUP_NEGOTIATED, run_size,
     SIZE_CASE(VHOST_USER_SET_PROTOCOL_FEATURES, 12, 12, FILL_ZERO)},
    {"proto.size.set_owner_with_payload", "SET_OWNER carrying 8 bytes", CONF_SETUP_NEGOTIATED,
     run_size, SIZE_CASE(VHOST_USER_SET_OWNER, 8, 8, FILL_ZERO)},
    {"proto.size.set_vring_num_short", "SET_VRING_NUM with 4 bytes", CONF_SETUP_NEGOTIATED,
     run_size, SIZE_CASE(VHOST_USER_SET_VRING_NUM, 4, 4, FILL_STATE)},
    {"proto.size.set_vring_num_long", "SET_VRING_NUM with 12 bytes", CONF_SETUP_NEGOTIATED,
     run_size, SIZE_CASE(VHOST_USER_SET_VRING_NUM, 12, 12, FILL_STATE)},
    {"proto.size.set_vring_base_short", "SET_VRING_BASE with 4 bytes", CONF_SETUP_NEGOTIATED,
     run_size, SIZE_CASE(VHOST_USER_SET_VRING_BASE, 4, 4, FILL_STATE)},
    {"proto.size.set_vring_enable_empty", "SET_VRING_ENABLE with no payload", CONF_SETUP_NEGOTIATED,
     run_size, SIZE_CASE(VHOST_USER_SET_VRING_ENABLE, 0, 0, FILL_ZERO)},
    {"proto.size.set_vring_addr_short", "SET_VRING_ADDR with 32 bytes", CONF_SETUP_NEGOTIATED,
     run_size, SIZE_CASE(VHOST_USER_SET_VRING_ADDR, 32, 32, FILL_ADDR)},
    {"proto.size.set_vring_addr_long", "SET_VRING_ADDR with 48 bytes", CONF_SETUP_NEGOTIATED,
     run_size, SIZE_CASE(VHOST_USER_SET_VRING_ADDR, 48, 48, FILL_ADDR)},
    {"proto.size.set_vring_call_short", "SET_VRING_CALL (NOFD) with 4 bytes", CONF_SETUP_NEGOTIATED,
     run_size, SIZE_CASE(VHOST_USER_SET_VRING_CALL, 4, 4, FILL_NOFD)},
    {"proto.size.over_4096", "a payload of 4097 bytes", CONF_SETUP_NEGOTIATED, run_size,
     SIZE_CASE(VHOST_USER_SET_FEATURES, VHOST_USER_PAYLOAD_MAX + 1, VHOST_USER_PAYLOAD_MAX + 1,
	       FILL_FEATURES)},
    {"proto.size.claims_4gib", "a header claiming 0xffffffff payload bytes, none sent",
     CONF_SETUP_NEGOTIATED, run_size,
     SIZE_CASE(VHOST_USER_SET_FEATURES, 0xffffffffu, 0, FILL_ZERO)},

    /* File descriptors. */
    {"proto.fd.mem_table_missing", "SET_MEM_TABLE without its fd", CONF_SETUP_NEGOTIATED, run_fd,
     &(const struct fd_case){VHOST_USER_SET_MEM_TABLE, FD_MEMTABLE_NONE}},
    {"proto.fd.mem_table_extra", "SET_MEM_TABLE with one fd too many (must be closed)",
     CONF_SETUP_NEGOTIATED, run_fd,
     &(const struct fd_case){VHOST_USER_SET_MEM_TABLE, FD_MEMTABLE_EXTRA}},
    {"proto.fd.vring_kick_missing", "SET_VRING_KICK without fd and without NOFD",
     CONF_SETUP_NEGOTIATED, run_fd,
     &(const struct fd_case){VHOST_USER_SET_VRING_KICK, FD_VRING_NONE}},
    {"proto.fd.vring_call_missing", "SET_VRING_CALL without fd and without NOFD",
     CONF_SETUP_NEGOTIATED, run_fd,
     &(const struct fd_case){VHOST_USER_SET_VRING_CALL, FD_VRING_NONE}},
    {"proto.fd.vring_err_missing", "SET_VRING_ERR without fd and without NOFD",
     CONF_SETUP_NEGOTIATED, run_fd,
     &(const struct fd_case){VHOST_USER_SET_VRING_ERR, FD_VRING_NONE}},
    {"proto.fd.vring_call_nofd_with_fd", "SET_VRING_CALL with NOFD and an fd",
     CONF_SETUP_NEGOTIATED, run_fd,
     &(const struct fd_case){VHOST_USER_SET_VRING_CALL, FD_VRING_NOFD_WITH}},
    {"proto.fd.vring_kick_two", "SET_VRING_KICK with two fds", CONF_SETUP_NEGOTIATED, run_fd,
     &(const struct fd_case){VHOST_USER_SET_VRING_KICK, FD_VRING_TWO}},
    {"proto.fd.vring_call_twelve", "SET_VRING_CALL with 12 fds (more than 8)",
     CONF_SETUP_NEGOTIATED, run_fd,
     &(const struct fd_case){VHOST_USER_SET_VRING_CALL, FD_VRING_TWELVE}},
    {"proto.fd.set_owner_with_fd", "SET_OWNER with an fd", CONF_SETUP_CONNECTED, run_fd,
     &(const struct fd_case){VHOST_USER_SET_OWNER, FD_NOPAYLOAD_WITH}},
    {"proto.fd.get_features_with_fd", "GET_FEATURES with an fd (must be closed)",
     CONF_SETUP_CONNECTED, run_fd,
     &(const struct fd_case){VHOST_USER_GET_FEATURES, FD_NOPAYLOAD_WITH}},

    /* Queue index out of range on every per-queue message. */
    {"proto.qidx.set_vring_num", "index = queue count", CONF_SETUP_NEGOTIATED, run_qidx,
     QIDX(VHOST_USER_SET_VRING_NUM, false)},
    {"proto.qidx.set_vring_addr", "index = queue count", CONF_SETUP_NEGOTIATED, run_qidx,
     QIDX(VHOST_USER_SET_VRING_ADDR, false)},
    {"proto.qidx.set_vring_base", "index = queue count", CONF_SETUP_NEGOTIATED, run_qidx,
     QIDX(VHOST_USER_SET_VRING_BASE, false)},
    {"proto.qidx.get_vring_base", "index = queue count", CONF_SETUP_NEGOTIATED, run_qidx,
     QIDX(VHOST_USER_GET_VRING_BASE, false)},
    {"proto.qidx.set_vring_kick", "index = queue count", CONF_SETUP_NEGOTIATED, run_qidx,
     QIDX(VHOST_USER_SET_VRING_KICK, false)},
    {"proto.qidx.set_vring_call", "index = queue count", CONF_SETUP_NEGOTIATED, run_qidx,
     QIDX(VHOST_USER_SET_VRING_CALL, false)},
    {"proto.qidx.set_vring_err", "index = queue count", CONF_SETUP_NEGOTIATED, run_qidx,
     QIDX(VHOST_USER_SET_VRING_ERR, false)},
    {"proto.qidx.set_vring_enable", "index = queue count", CONF_SETUP_NEGOTIATED, run_qidx,
     QIDX(VHOST_USER_SET_VRING_ENABLE, false)},
    {"proto.qidx_max.set_vring_num", "index 0xffffffff", CONF_SETUP_NEGOTIATED, run_qidx,
     QIDX(VHOST_USER_SET_VRING_NUM, true)},
    {"proto.qidx_max.set_vring_addr", "index 0xffffffff", CONF_SETUP_NEGOTIATED, run_qidx,
     QIDX(VHOST_USER_SET_VRING_ADDR, true)},
    {"proto.qidx_max.set_vring_base", "index 0xffffffff", CONF_SETUP_NEGOTIATED, run_qidx,
     QIDX(VHOST_USER_SET_VRING_BASE, true)},
    {"proto.qidx_max.get_vring_base", "index 0xffffffff", CONF_SETUP_NEGOTIATED, run_qidx,
     QIDX(VHOST_USER_GET_VRING_BASE, true)},
    {"proto.qidx_max.set_vring_kick", "index 0xff", CONF_SETUP_NEGOTIATED, run_qidx,
     QIDX(VHOST_USER_SET_VRING_KICK, true)},
    {"proto.qidx_max.set_vring_call", "index 0xff", CONF_SETUP_NEGOTIATED, run_qidx,
     QIDX(VHOST_USER_SET_VRING_CALL, true)},
    {"proto.qidx_max.set_vring_err", "index 0xff", CONF_SETUP_NEGOTIATED, run_qidx,
     QIDX(VHOST_USER_SET_VRING_ERR, true)},
    {"proto.qidx_max.set_vring_enable", "index 0xffffffff", CONF_SETUP_NEGOTIATED, run_qidx,
     QIDX(VHOST_USER_SET_VRING_ENABLE, true)},

    /* Unknown requests and odd headers. */
    {"proto.unknown.0", "request 0 (NONE)", CONF_SETUP_NEGOTIATED, run_unknown, ARG(0)},
    {"proto.unknown.44", "request 44 (first unassigned)", CONF_SETUP_NEGOTIATED, run_unknown,
     ARG(VHOST_USER_MAX_REQUEST)},
    {"proto.unknown.1000", "request 1000", CONF_SETUP_NEGOTIATED, run_unknown, ARG(1000)},
    {"proto.unknown.max", "request 0xffffffff", CONF_SETUP_NEGOTIATED, run_unknown,
     ARG(0xffffffffu)},
    {"proto.hdr.version_0", "GET_FEATURES with version 0 in flags", CONF_SETUP_CONNECTED,
     run_bad_flags, ARG(0)},
    {"proto.hdr.version_2", "GET_FEATURES with version 2 in flags", CONF_SETUP_CONNECTED,
     run_bad_flags, ARG(2)},
    {"proto.hdr.reply_bit", "GET_FEATURES with the REPLY bit set", CONF_SETUP_CONNECTED,
     run_bad_flags, ARG(VHOST_USER_VERSION | VHOST_USER_REPLY_MASK)},
    {"proto.hdr.need_reply_on_get", "NEED_REPLY on GET_FEATURES: one reply, no extra ack",
     CONF_SETUP_NEGOTIATED, run_need_reply_on_get, NULL},
    {"proto.torn.header", "6 header bytes, then hang up", CONF_SETUP_CONNECTED, run_torn,
     ARG(TORN_HEADER)},
    {"proto.torn.payload", "half a SET_MEM_TABLE (with its fd), then hang up",
     CONF_SETUP_NEGOTIATED, run_torn, ARG(TORN_PAYLOAD)},
    {"proto.torn.garbage", "200 bytes of noise, then hang up", CONF_SETUP_CONNECTED, run_torn,
     ARG(TORN_GARBAGE)},

    /* Memory tables. */
    {"proto.mem_table.nregions_9", "nregions 9 (max 8)", CONF_SETUP_NEGOTIATED, run_mem_table,
     ARG(MT_NREGIONS_9)},
    {"proto.mem_table.overlap", "two regions overlapping in guest-physical space",
     CONF_SETUP_NEGOTIATED, run_mem_table, ARG(MT_OVERLAP)},
    {"proto.mem_table.beyond_fd", "region size larger than its fd", CONF_SETUP_NEGOTIATED,
     run_mem_table, ARG(MT_BEYOND_FD)},
    {"proto.mem_table.offset_beyond_fd", "mmap_offset + size past the end of the fd",
     CONF_SETUP_NEGOTIATED, run_mem_table, ARG(MT_OFFSET_BEYOND_FD)},
    {"proto.mem_table.offset_wraps", "mmap_offset + size wraps 2^64", CONF_SETUP_NEGOTIATED,
     run_mem_table, ARG(MT_OFFSET_WRAPS)},
    {"proto.mem_table.gpa_wraps", "guest address + size wraps 2^64", CONF_SETUP_NEGOTIATED,
     run_mem_table, ARG(MT_GPA_WRAPS)},
    {"proto.mem_table.uva_wraps", "user address + size wraps 2^64", CONF_SETUP_NEGOTIATED,
     run_mem_table, ARG(MT_UVA_WRAPS)},
    {"proto.mem_table.zero_size", "a region of size 0", CONF_SETUP_NEGOTIATED, run_mem_table,
     ARG(MT_ZERO_SIZE)},
    {"proto.mem_table.not_mappable", "a pipe instead of a memory fd (must be closed)",
     CONF_SETUP_NEGOTIATED, run_mem_table, ARG(MT_NOT_MAPPABLE)},

    /* Ring configuration on a stopped ring, then a good restart on the same connection. */
    {"proto.vring_addr.desc_outside", "descriptor table outside every region", CONF_SETUP_STARTED,
     run_ring_cfg, ARG(RA_DESC_OUTSIDE)},
    {"proto.vring_addr.avail_outside", "avail ring outside every region", CONF_SETUP_STARTED,
     run_ring_cfg, ARG(RA_AVAIL_OUTSIDE)},
    {"proto.vring_addr.used_outside", "used ring outside every region", CONF_SETUP_STARTED,
     run_ring_cfg, ARG(RA_USED_OUTSIDE)},
    {"proto.vring_addr.desc_partial", "descriptor table running past a region's end",
     CONF_SETUP_STARTED, run_ring_cfg, ARG(RA_DESC_PARTIAL)},
    {"proto.vring_addr.desc_misaligned", "descriptor table 8-byte aligned (spec: 16)",
     CONF_SETUP_STARTED, run_ring_cfg, ARG(RA_DESC_MISALIGNED)},
    {"proto.vring_addr.used_wraps", "used ring at 2^64 - 16", CONF_SETUP_STARTED, run_ring_cfg,
     ARG(RA_USED_WRAPS)},
    {"proto.vring_num.zero", "SET_VRING_NUM 0", CONF_SETUP_STARTED, run_ring_cfg, ARG(RN_ZERO)},
    {"proto.vring_num.three", "SET_VRING_NUM 3 (not a power of two)", CONF_SETUP_STARTED,
     run_ring_cfg, ARG(RN_THREE)},
    {"proto.vring_num.hundred", "SET_VRING_NUM 100 (not a power of two)", CONF_SETUP_STARTED,
     run_ring_cfg, ARG(RN_HUNDRED)},
    {"proto.vring_num.65536", "SET_VRING_NUM 65536 (> 32768)", CONF_SETUP_STARTED, run_ring_cfg,
     ARG(RN_65536)},
    {"proto.vring_num.max", "SET_VRING_NUM 0xffffffff", CONF_SETUP_STARTED, run_ring_cfg,
     ARG(RN_MAX)},
};
const size_t conf_proto_ncases = VT_ARRAY_SIZE(conf_proto_cases);
