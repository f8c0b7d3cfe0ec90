/* SPDX-License-Identifier: Apache-2.0 */
/* Test-only vhost-user back-end: see mock_backend.h. Single-threaded, poll()-driven. */
#include "mock_backend.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vhost_user_proto.h"
#include "virtio_ring.h"

#define MAX_SEGS 1024
#define MAX_PAYLOAD (64u << 10)

struct region {
	uint64_t gpa, size, uva;
	uint8_t *host;
	void *map;
	size_t maplen;
};

struct mock {
	const struct mock_opts *o;
	struct mock_log *log;
	int fd;
	uint64_t features, protocol, acked_protocol;
	uint8_t status;
	struct region regions[VT_MAX_MEM_SLOTS];
	unsigned nregions;
	/* queue 0 */
	uint32_t num;
	struct vhost_vring_addr addr;
	uint16_t last_avail, used_idx;
	int kick, call;
	bool started;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	bool state_ok;
	int64_t next_session;
};

static void closefd(const struct mock *m, int fd)
{
	if (fd >= 0 && !m->o->leak_fds)
		(void)close(fd);
}

static uint8_t *gpa_ptr(struct mock *m, uint64_t gpa, uint64_t len, uint64_t *ret_avail)
{
	for (unsigned i = 0; i < m->nregions; i++) {
		struct region *r = &m->regions[i];
		if (gpa >= r->gpa && gpa - r->gpa < r->size) {
			uint64_t avail = r->size - (gpa - r->gpa);
			if (ret_avail)
				*ret_avail = avail;
			else if (len > avail)
				return NULL;
			return r->host + (gpa - r->gpa);
		}
	}
	return NULL;
}

static uint8_t *uva_ptr(struct mock *m, uint64_t uva, uint64_t len)
{
	for (unsigned i = 0; i < m->nregions; i++) {
		struct region *r = &m->regions[i];
		if (uva >= r->uva && uva - r->uva < r->size && len <= r->size - (uva - r->uva))
			return r->host + (uva - r->uva);
	}
	return NULL;
}

static void unmap_all(struct mock *m)
{
	for (unsigned i = 0; i < m->nregions; i++)
		(void)munmap(m->regions[i].map, m->regions[i].maplen);
	m->nregions = 0;
}

static int add_region(struct mock *m, const struct vhost_user_mem_region *w, int fd)
{
	if (m->nregions >= VT_MAX_MEM_SLOTS || w->memory_size == 0 ||
	    w->memory_size + w->mmap_offset < w->memory_size)
		return -1;
	size_t len = (size_t)(w->memory_size + w->mmap_offset);
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -1;
	m->regions[m->nregions++] = (struct region){.gpa = w->guest_phys_addr,
						    .size = w->memory_size,
						    .uva = w->userspace_addr,
						    .host = (uint8_t *)p + w->mmap_offset,
						    .map = p,
						    .maplen = len};
	return 0;
}

static void reply(struct mock *m, uint32_t req, const void *p, uint32_t size)
{
	const struct mock_opts *o = m->o;
	uint8_t buf[sizeof(struct vhost_user_header) + VHOST_USER_PAYLOAD_MAX + 64] = {0};
	int64_t claimed = (int64_t)size + o->reply_size_delta;
	if (o->mute)
		return;
	if (claimed < 0)
		claimed = 0;
	struct vhost_user_header h = {
	    .request = req + (o->reply_wrong_request ? 1 : 0),
	    .flags = o->reply_flags ? o->reply_flags : VHOST_USER_VERSION | VHOST_USER_REPLY_MASK,
	    .size = (uint32_t)claimed,
	};
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), p, size);
	(void)!write(m->fd, buf, sizeof(h) + (size_t)claimed);
}

static void reply_u64(struct mock *m, uint32_t req, uint64_t v)
{
	reply(m, req, &v, sizeof(v));
}

static bool ring_map(struct mock *m)
{
	if (m->num == 0 || m->num > VIRTQ_MAX_SIZE || (m->num & (m->num - 1)))
		return false;
	m->desc = (void *)uva_ptr(m, m->addr.desc_user_addr, vring_desc_size(m->num));
	m->avail = (void *)uva_ptr(m, m->addr.avail_user_addr, vring_avail_size(m->num));
	m->used = (void *)uva_ptr(m, m->addr.used_user_addr, vring_used_size(m->num));
	return m->desc && m->avail && m->used;
}

struct seg {
	uint8_t *p;
	uint64_t len;
};

/* Walks one chain; -1 when malformed (what the strict mode skips). */
static int walk(struct mock *m, uint16_t head, struct seg *rd, unsigned *nrd, struct seg *wr,
		unsigned *nwr)
{
	const struct vring_desc *table = m->desc;
	uint32_t max = m->num, count = 0, i = head;
	bool indirect = false;

	*nrd = *nwr = 0;
	for (;;) {
		if (i >= max || ++count > max)
			return -1;
		struct vring_desc d = table[i];
		if (d.flags & VRING_DESC_F_INDIRECT) {
			if (indirect || (d.flags & VRING_DESC_F_NEXT) || d.len == 0 || d.len % 16)
				return -1;
			table = (const void *)gpa_ptr(m, d.addr, d.len, NULL);
			if (!table)
				return -1;
			indirect = true;
			max = d.len / 16;
			count = 0;
			i = 0;
			continue;
		}
		bool w = d.flags & VRING_DESC_F_WRITE;
		if (!w && *nwr)
			return -1;
		uint64_t a = d.addr, left = d.len;
		if (a + left < a)
			return -1;
		while (left) {
			uint64_t avail;
			uint8_t *p = gpa_ptr(m, a, 0, &avail);
			if (!p || *nrd + *nwr >= MAX_SEGS)
				return -1;
			uint64_t n = left < avail ? left : avail;
			struct seg *s = w ? &wr[(*nwr)++] : &rd[(*nrd)++];
			*s = (struct seg){p, n};
			a += n;
			left -= n;
		}
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		i = d.next;
	}
}

static uint64_t copy_segs(const struct seg *rd, unsigned nrd, const struct seg *wr, unsigned nwr)
{
	unsigned ri = 0, wi = 0;
	uint64_t roff = 0, woff = 0, done = 0;
	while (ri < nrd && wi < nwr) {
		uint64_t n = rd[ri].len - roff;
		if (wr[wi].len - woff < n)
			n = wr[wi].len - woff;
		memmove(wr[wi].p + woff, rd[ri].p + roff, n);
		done += n;
		roff += n;
		woff += n;
		if (roff == rd[ri].len) {
			ri++;
			roff = 0;
		}
		if (woff == wr[wi].len) {
			wi++;
			woff = 0;
		}
	}
	return done;
}

static void push(struct mock *m, uint32_t id, uint32_t len, uint64_t writable)
{
	if (m->o->used_bad_id)
		id = m->num + 5;
	if (m->o->used_big_len)
		len = (uint32_t)(writable + 100);
	m->used->ring[m->used_idx % m->num] = (struct vring_used_elem){.id = id, .len = len};
	m->used_idx++;
	__atomic_store_n(&m->used->idx, m->used_idx, __ATOMIC_RELEASE);
	if (m->log)
		m->log->chains++;
}

static void serve_ring(struct mock *m)
{
	static struct seg rd[MAX_SEGS], wr[MAX_SEGS];
	bool pushed = false;

	if (!m->started || !ring_map(m))
		return;
	for (;;) {
		uint16_t idx = __atomic_load_n(&m->avail->idx, __ATOMIC_ACQUIRE);
		if (idx == m->last_avail)
			break;
		if ((uint16_t)(idx - m->last_avail) > m->num && !m->o->naive)
			break;
		uint16_t head = m->avail->ring[m->last_avail % m->num];
		m->last_avail++;
		unsigned nrd, nwr;
		if (head >= m->num || walk(m, head, rd, &nrd, wr, &nwr) < 0) {
			if (m->o->naive) {
				push(m, head, 1, 1);
				pushed = true;
			}
			continue;
		}
		uint64_t writable = 0;
		for (unsigned i = 0; i < nwr; i++)
			writable += wr[i].len;
		push(m, head, (uint32_t)copy_segs(rd, nrd, wr, nwr), writable);
		pushed = true;
	}
	/* Ask for the next kick (EVENT_IDX drivers read this). */
	*(uint16_t *)(void *)&m->used->ring[m->num] = m->last_avail;
	if (pushed && m->call >= 0) {
		uint64_t one = 1;
		(void)!write(m->call, &one, sizeof(one));
	}
}

static void save_state(struct mock *m, int fd)
{
	uint32_t n = m->o->state_size ? m->o->state_size : 100000;
	uint8_t buf[4096];
	for (uint32_t off = 0; off < n;) {
		uint32_t k = n - off < sizeof(buf) ? n - off : (uint32_t)sizeof(buf);
		for (uint32_t i = 0; i < k; i++)
			buf[i] = (uint8_t)((off + i) * 7u);
		ssize_t w = write(fd, buf, k);
		if (w <= 0)
			break;
		off += (uint32_t)w;
	}
}

static bool load_state(struct mock *m, int fd)
{
	uint32_t want = m->o->state_size ? m->o->state_size : 100000, got = 0;
	uint8_t buf[4096];
	bool ok = true;
	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r <= 0)
			break;
		for (ssize_t i = 0; i < r; i++)
			ok &= buf[i] == (uint8_t)((got + (uint32_t)i) * 7u);
		got += (uint32_t)r;
	}
	return ok && got == want;
}

static void handle(struct mock *m, const struct vhost_user_header *h, uint8_t *p, int *fds,
		   unsigned nfds)
{
	uint64_t u64 = 0;
	bool ack = h->flags & VHOST_USER_NEED_REPLY_MASK;
	memcpy(&u64, p, h->size < 8 ? h->size : 8);

	if (m->log && m->log->n < MOCK_LOG_MAX) {
		m->log->req[m->log->n] = h->request;
		m->log->flags[m->log->n] = h->flags;
		m->log->u64[m->log->n] = u64;
		m->log->n++;
	}
	if (m->o->die_on && h->request == m->o->die_on)
		_exit(3);

	switch (h->request) {
	case VHOST_USER_GET_FEATURES:
		reply_u64(m, h->request, m->features);
		return;
	case VHOST_USER_GET_PROTOCOL_FEATURES:
		reply_u64(m, h->request, m->protocol);
		return;
	case VHOST_USER_SET_PROTOCOL_FEATURES:
		m->acked_protocol = u64;
		break;
	case VHOST_USER_GET_QUEUE_NUM:
		reply_u64(m, h->request, 1);
		return;
	case VHOST_USER_GET_MAX_MEM_SLOTS:
		reply_u64(m, h->request, 8);
		return;
	case VHOST_USER_GET_STATUS:
		reply_u64(m, h->request, m->status);
		return;
	case VHOST_USER_SET_STATUS:
		m->status = (uint8_t)u64;
		break;
	case VHOST_USER_SET_MEM_TABLE: {
		struct vhost_user_memory mt = {0};
		memcpy(&mt, p, h->size < sizeof(mt) ? h->size : sizeof(mt));
		unmap_all(m);
		for (unsigned i = 0; i < mt.nregions && i < nfds && i < 8; i++)
			(void)add_region(m, &mt.regions[i], fds[i]);
		break;
	}
	case VHOST_USER_ADD_MEM_REG: {
		struct vhost_user_mem_reg_single s = {0};
		memcpy(&s, p, h->size < sizeof(s) ? h->size : sizeof(s));
		if (nfds)
			(void)add_region(m, &s.region, fds[0]);
		break;
	}
	case VHOST_USER_REM_MEM_REG: {
		struct vhost_user_mem_reg_single s = {0};
		memcpy(&s, p, h->size < sizeof(s) ? h->size : sizeof(s));
		for (unsigned i = 0; i < m->nregions; i++) {
			if (m->regions[i].gpa == s.region.guest_phys_addr) {
				(void)munmap(m->regions[i].map, m->regions[i].maplen);
				m->regions[i] = m->regions[--m->nregions];
				break;
			}
		}
		break;
	}
	case VHOST_USER_SET_VRING_NUM:
		if ((uint32_t)u64 == 0)
			m->num = (uint32_t)(u64 >> 32);
		break;
	case VHOST_USER_SET_VRING_BASE:
		if ((uint32_t)u64 == 0) {
			m->last_avail = (uint16_t)(u64 >> 32);
			m->used_idx = m->last_avail;
		}
		break;
	case VHOST_USER_SET_VRING_ADDR:
		if ((uint32_t)u64 == 0)
			memcpy(&m->addr, p, h->size < sizeof(m->addr) ? h->size : sizeof(m->addr));
		break;
	case VHOST_USER_GET_VRING_BASE: {
		struct vhost_vring_state s = {.index = (uint32_t)u64, .num = m->last_avail};
		m->started = false;
		reply(m, h->request, &s, sizeof(s));
		return;
	}
	case VHOST_USER_SET_VRING_KICK:
	case VHOST_USER_SET_VRING_CALL:
		if ((u64 & 0xff) == 0 && !(u64 & VHOST_USER_VRING_NOFD_MASK) && nfds) {
			int *slot = h->request == VHOST_USER_SET_VRING_KICK ? &m->kick : &m->call;
			closefd(m, *slot);
			*slot = fds[0];
			fds[0] = -1;
			if (h->request == VHOST_USER_SET_VRING_KICK) {
				m->started = true;
				if (ring_map(m))
					m->used_idx = m->used->idx;
			}
		}
		break;
	case VHOST_USER_GET_CONFIG: {
		uint8_t out[VHOST_USER_CONFIG_HDR_SIZE + 8] = {0};
		struct vhost_user_config c;
		memcpy(&c, p, VHOST_USER_CONFIG_HDR_SIZE);
		if (c.offset + (uint64_t)c.size > 8) {
			reply(m, h->request, out, 0);
			return;
		}
		memcpy(out, p, VHOST_USER_CONFIG_HDR_SIZE);
		static const char config_space[] = "mockcfg!";
		memcpy(out + VHOST_USER_CONFIG_HDR_SIZE, &config_space[c.offset], c.size);
		reply(m, h->request, out, VHOST_USER_CONFIG_HDR_SIZE + c.size);
		return;
	}
	case VHOST_USER_SET_DEVICE_STATE_FD: {
		struct vhost_user_transfer_device_state t = {0};
		memcpy(&t, p, h->size < sizeof(t) ? h->size : sizeof(t));
		reply_u64(m, h->request, VHOST_USER_DEVICE_STATE_NOFD);
		if (nfds && t.direction == VHOST_USER_TRANSFER_STATE_DIRECTION_SAVE)
			save_state(m, fds[0]);
		else if (nfds)
			m->state_ok = load_state(m, fds[0]);
		if (t.direction == VHOST_USER_TRANSFER_STATE_DIRECTION_SAVE)
			m->state_ok = true;
		for (unsigned i = 0; i < nfds; i++)
			closefd(m, fds[i]);
		return;
	}
	case VHOST_USER_CHECK_DEVICE_STATE:
		reply_u64(m, h->request, m->state_ok ? 0 : 1);
		return;
	case VHOST_USER_CREATE_CRYPTO_SESSION: {
		int64_t id = ++m->next_session;
		if (h->size >= 8)
			memcpy(p, &id, sizeof(id));
		reply(m, h->request, p, h->size);
		return;
	}
	default:
		break;
	}
	for (unsigned i = 0; i < nfds; i++)
		closefd(m, fds[i]);
	if (ack)
		reply_u64(m, h->request, 0);
}

static int recv_all(int fd, void *buf, size_t len, int *fds, unsigned *nfds)
{
	size_t done = 0;
	while (done < len) {
		union {
			char b[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_FDS)];
			struct cmsghdr a;
		} ctl;
		struct iovec iov = {(uint8_t *)buf + done, len - done};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
		if (fds) {
			mh.msg_control = ctl.b;
			mh.msg_controllen = sizeof(ctl.b);
		}
		ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
		if (n <= 0)
			return -1;
		for (struct cmsghdr *c = fds ? CMSG_FIRSTHDR(&mh) : NULL; c;
		     c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_type != SCM_RIGHTS)
				continue;
			unsigned k = (unsigned)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			memcpy(fds + *nfds, CMSG_DATA(c), k * sizeof(int));
			*nfds += k;
		}
		done += (size_t)n;
	}
	return 0;
}

int mock_serve(int fd, const struct mock_opts *o, struct mock_log *log)
{
	struct mock m = {.o = o, .log = log, .fd = fd, .kick = -1, .call = -1};
	uint8_t *payload = malloc(MAX_PAYLOAD);

	if (!payload)
		return -1;
	m.features = o->features
			 ? o->features
			 : VT_BIT(VIRTIO_F_VERSION_1) | VT_BIT(VIRTIO_RING_F_INDIRECT_DESC) |
			       VT_BIT(VIRTIO_RING_F_EVENT_IDX) |
			       VT_BIT(VHOST_USER_F_PROTOCOL_FEATURES);
	m.protocol = o->protocol ? o->protocol
				 : VT_BIT(VHOST_USER_PROTOCOL_F_MQ) |
				       VT_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK) |
				       VT_BIT(VHOST_USER_PROTOCOL_F_CONFIG) |
				       VT_BIT(VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS) |
				       VT_BIT(VHOST_USER_PROTOCOL_F_STATUS) |
				       VT_BIT(VHOST_USER_PROTOCOL_F_CRYPTO_SESSION) |
				       VT_BIT(VHOST_USER_PROTOCOL_F_DEVICE_STATE);
	for (;;) {
		/* A stopped ring's kicks stay pending in the eventfd until it starts. */
		bool polling_kick = m.kick >= 0 && m.started;
		struct pollfd p[2] = {{.fd = fd, .events = POLLIN},
				      {.fd = m.kick, .events = POLLIN}};
		if (poll(p, polling_kick ? 2 : 1, -1) < 0)
			continue;
		if (polling_kick && (p[1].revents & POLLIN)) {
			uint64_t v;
			(void)!read(m.kick, &v, sizeof(v));
			serve_ring(&m);
		}
		if (!(p[0].revents & (POLLIN | POLLHUP)))
			continue;
		struct vhost_user_header h;
		int fds[VHOST_USER_MAX_FDS];
		unsigned nfds = 0;
		if (recv_all(fd, &h, sizeof(h), fds, &nfds) < 0 || h.size > MAX_PAYLOAD ||
		    recv_all(fd, payload, h.size, NULL, NULL) < 0) {
			for (unsigned i = 0; i < nfds; i++)
				closefd(&m, fds[i]);
			break;
		}
		handle(&m, &h, payload, fds, nfds);
	}
	closefd(&m, m.kick);
	closefd(&m, m.call);
	unmap_all(&m);
	free(payload);
	(void)close(fd);
	return 0;
}

int mock_listen_loop(const char *path, const struct mock_opts *o)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (s < 0 || strlen(path) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	(void)unlink(path);
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s, 16) < 0)
		return -1;
	for (;;) {
		int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
		if (c >= 0)
			(void)mock_serve(c, o, NULL);
	}
}
