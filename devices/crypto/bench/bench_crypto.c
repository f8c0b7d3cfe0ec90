/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Device-side cost per request, against raw OpenSSL on the same buffers in
 * the same run (meson benchmark `crypto-device`).
 *
 * The device runs in this process on a mock guest (no sockets, no other
 * thread): `depth` chains are made available, then the data queue's handler
 * serves them exactly as a worker does (pop, parse, session lookup, EVP,
 * status, push, notify), and we time that call. Chains are Linux's in-place
 * shape: readable header+IV, readable src; writable dst over the same bytes,
 * then the tag (AEAD) and the status byte apart. Raw: the EVP calls the
 * device makes per request on a keyed context (IV re-init, update, final,
 * tag; digest/MAC re-init, update, final) over the same guest buffers.
 * Device and raw passes alternate (R rounds); medians are reported, with the
 * spread (max-min)/median of the device cost.
 *
 *   dev_ns   device time per request (handler time / requests)
 *   raw_ns   OpenSSL time per request
 *   over_ns  dev_ns - raw_ns: what the device adds per request
 *   ratio    raw_ns / dev_ns: device throughput as a fraction of raw
 *
 * Goals (issue 4): AES-256-GCM at 16 KiB ratio >= 0.90; at 64 B and depth
 * 64 over_ns <= 1000. The last line is ratio=<AES-256-GCM 16 KiB depth 64>.
 *
 * usage: bench_crypto [--rounds R] [--ms M] [--quick] [--alg A] [--size N] [--depth D]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "clock.h"
#include "crypto_dev.h"
#include "device.h"
#include "log.h"
#include "mock_guest.h"
#include "raw_evp.h"
#include "virtio_crypto_req.h"

#define QSIZE 256u
#define MAXD 64u

/* In vc_raw_alg's order. */
enum kind { K_GCM, K_CBC, K_SHA, K_HMAC };
static const char *const kname[] = {"aes-256-gcm", "aes-128-cbc", "sha256", "hmac-sha256"};
static uint8_t key[32];

struct env {
	struct mock_guest g;
	struct mock_ring r[2];
	struct vc_dev *d;
	struct vt_device *vd;
	uint64_t mark;
};

struct slot {
	uint64_t hdr, src, tail; /* gpas: header+iv, src (= dst), tag/hash + status */
	size_t hlen, iv, tail_len;
};

static void env_init(struct env *e)
{
	memset(e, 0, sizeof(*e));
	mock_guest_init(&e->g);
	struct vc_opts o;
	vc_opts_default(&o);
	o.secure_heap = 0;
	if (vc_dev_new("bench", &o, &e->d) < 0)
		abort();
	e->vd = vt_device_new("bench", &vc_crypto_ops, e->d);
	e->vd->manual_queues = true;
	for (unsigned i = 0; i < 2; i++) {
		struct vt_queue *q = &e->vd->queues[i];
		q->mem = &e->g.mem;
		mock_ring_init(&e->r[i], &e->g, QSIZE);
		mock_ring_attach(&e->r[i], q);
	}
	vc_crypto_ops.set_features(e->d, 0); /* Linux 6.1: legacy layouts */
	e->mark = e->g.next_gpa;
}

static void env_free(struct env *e)
{
	for (unsigned i = 0; i < 2; i++)
		e->vd->queues[i].mem = &e->vd->mem;
	vt_device_free(e->vd);
	vc_dev_free(e->d);
	mock_guest_free(&e->g);
}

/* A session through the control queue, as a driver makes it. */
static uint64_t make_session(struct env *e, enum kind k)
{
	uint8_t h[VCB_HDR_MAX + 64];
	size_t l, kl = 0;
	switch (k) {
	case K_GCM:
		l = vcb_ctrl_aead(h, 0, VC_AEAD_GCM, 32, 16, 0, VC_OP_ENCRYPT), kl = 32;
		break;
	case K_CBC:
		l = vcb_ctrl_cipher(h, 0, VC_CIPHER_AES_CBC, 16, VC_OP_ENCRYPT), kl = 16;
		break;
	case K_SHA:
		l = vcb_ctrl_hash(h, 0, VC_HASH_SHA_256, 32);
		break;
	default:
		l = vcb_ctrl_mac(h, 0, VC_MAC_HMAC_SHA_256, 32, 32), kl = 32;
		break;
	}
	memcpy(h + l, key, kl);
	e->g.next_gpa = e->mark;
	uint64_t a = mock_alloc(&e->g, l + kl, 64), w = mock_alloc(&e->g, 16, 64);
	memcpy(mock_gpa(&e->g, a), h, l + kl);
	uint64_t addr[2] = {a, w};
	uint32_t len[2] = {(uint32_t)(l + kl), 16};
	bool wr[2] = {false, true};
	mock_chain(&e->r[1], 0, 2, addr, len, wr);
	vc_crypto_ops.queue_handle(e->d, &e->vd->queues[1]);
	struct vc_session_input in;
	memcpy(&in, mock_gpa(&e->g, w), sizeof(in));
	if (in.status != VC_OK)
		abort();
	return in.session_id;
}

static void make_slots(struct env *e, enum kind k, uint64_t id, size_t size, struct slot *s,
		       unsigned depth)
{
	e->g.next_gpa = e->mark + 4096;
	for (unsigned i = 0; i < depth; i++) {
		struct vcb_data q = {.session_id = id, .src_len = (uint32_t)size};
		s[i].iv = 0;
		switch (k) {
		case K_GCM:
			q.opcode = VC_AEAD_ENCRYPT, q.iv_len = 12, q.dst_len = (uint32_t)size + 16;
			s[i].iv = 12, s[i].tail_len = 16 + 1;
			break;
		case K_CBC:
			q.opcode = VC_CIPHER_ENCRYPT, q.sym_op = VC_SYM_OP_CIPHER, q.iv_len = 16;
			q.dst_len = (uint32_t)size;
			s[i].iv = 16, s[i].tail_len = 1;
			break;
		case K_SHA:
			q.opcode = VC_HASH, q.hash_result_len = 32, s[i].tail_len = 33;
			break;
		default:
			q.opcode = VC_MAC, q.hash_result_len = 32, s[i].tail_len = 33;
			break;
		}
		uint8_t h[VCB_HDR_MAX];
		s[i].hlen = vcb_data_hdr(h, 0, &q);
		s[i].hdr = mock_alloc(&e->g, s[i].hlen + s[i].iv, 64);
		s[i].src = mock_alloc(&e->g, size, 64);
		s[i].tail = mock_alloc(&e->g, s[i].tail_len, 64);
		uint8_t *p = mock_gpa(&e->g, s[i].hdr);
		memcpy(p, h, s[i].hlen);
		for (size_t b = 0; b < s[i].iv; b++)
			p[s[i].hlen + b] = (uint8_t)(b + i);
		uint8_t *src = mock_gpa(&e->g, s[i].src);
		for (size_t b = 0; b < size; b++)
			src[b] = (uint8_t)(b * 7 + i);
	}
}

/* Makes the depth chains available (descriptors i*4..). */
static void post(struct env *e, enum kind k, struct slot *s, unsigned depth, size_t size)
{
	for (unsigned i = 0; i < depth; i++) {
		bool hashing = k == K_SHA || k == K_HMAC;
		uint64_t addr[4] = {s[i].hdr, s[i].src, s[i].src, s[i].tail};
		uint32_t len[4] = {(uint32_t)(s[i].hlen + s[i].iv), (uint32_t)size, (uint32_t)size,
				   (uint32_t)s[i].tail_len};
		bool wr[4] = {false, false, true, true};
		if (hashing) { /* no dst: header, src, result+status */
			addr[2] = s[i].tail;
			len[2] = (uint32_t)s[i].tail_len;
			mock_chain(&e->r[0], (uint16_t)(i * 4), 3, addr, len, wr);
		} else {
			mock_chain(&e->r[0], (uint16_t)(i * 4), 4, addr, len, wr);
		}
	}
}

/* The shared baseline (raw_evp.c) on this request's guest buffers, in place as the device. */
static void raw_one(struct vc_raw *r, struct env *e, enum kind k, const struct slot *s, size_t size)
{
	const uint8_t *iv = (const uint8_t *)mock_gpa(&e->g, s->hdr) + s->hlen;
	uint8_t *src = mock_gpa(&e->g, s->src), *tail = mock_gpa(&e->g, s->tail);
	(void)vc_raw_one(r, (enum vc_raw_alg)k, iv, src, src, size, tail);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int rounds = 7;
	double ms = 30;
	const char *only_alg = NULL;
	long only_size = 0, only_depth = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--alg") && i + 1 < argc)
			only_alg = argv[++i];
		else if (!strcmp(argv[i], "--size") && i + 1 < argc)
			only_size = atol(argv[++i]);
		else if (!strcmp(argv[i], "--depth") && i + 1 < argc)
			only_depth = atol(argv[++i]);
		else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			rounds = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--ms") && i + 1 < argc)
			ms = atof(argv[++i]);
		else if (!strcmp(argv[i], "--quick"))
			rounds = 3, ms = 5;
	}
	if (rounds < 1 || rounds > 31)
		rounds = 7;
	vt_log_set_level(VT_LOG_ERR);
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i + 1);
	static const size_t sizes[] = {64, 1024, 16384};
	static const unsigned depths[] = {1, 64};
	struct vc_raw raw;
	if (vc_raw_init(&raw, key) < 0)
		abort();
	printf("%-12s %6s %5s %9s %9s %9s %7s %7s\n", "alg", "bytes", "depth", "dev_ns", "raw_ns",
	       "over_ns", "ratio", "spread");
	double headline = 0, worst_over_64 = 0;
	for (int k = K_GCM; k <= K_HMAC; k++) {
		if (only_alg && strcmp(only_alg, kname[k]))
			continue;
		struct env e;
		env_init(&e);
		uint64_t id = make_session(&e, (enum kind)k);
		for (size_t si = 0; si < 3; si++) {
			for (size_t di = 0; di < 2; di++) {
				unsigned depth = depths[di];
				size_t size = sizes[si];
				if ((only_size && (size_t)only_size != size) ||
				    (only_depth && (unsigned)only_depth != depth))
					continue;
				static struct slot s[MAXD];
				make_slots(&e, (enum kind)k, id, size, s, depth);
				double dev[31], rw[31];
				struct vt_queue *q = &e.vd->queues[0];
				for (int r = 0; r < rounds; r++) {
					/* Device: batches of `depth` until ms elapsed. */
					uint64_t busy = 0, n = 0, t_end = vt_now_ns() + (uint64_t)(ms * 1e6);
					while (vt_now_ns() < t_end) {
						post(&e, (enum kind)k, s, depth, size);
						uint64_t t0 = vt_now_ns();
						vc_crypto_ops.queue_handle(e.d, q);
						busy += vt_now_ns() - t0;
						n += depth;
					}
					dev[r] = (double)busy / (double)n;
					uint8_t st = *((uint8_t *)mock_gpa(&e.g, s[0].tail) + s[0].tail_len - 1);
					if (st != VC_OK) {
						fprintf(stderr, "device status %u\n", st);
						return 1;
					}
					/* Raw: the same calls on the same buffers, same batches. */
					uint64_t rbusy = 0, rn = 0;
					t_end = vt_now_ns() + (uint64_t)(ms * 1e6);
					while (vt_now_ns() < t_end) {
						uint64_t t0 = vt_now_ns();
						for (unsigned i = 0; i < depth; i++)
							raw_one(&raw, &e, (enum kind)k, &s[i], size);
						rbusy += vt_now_ns() - t0;
						rn += depth;
					}
					rw[r] = (double)rbusy / (double)rn;
				}
				qsort(dev, (size_t)rounds, sizeof(double), cmp_d);
				qsort(rw, (size_t)rounds, sizeof(double), cmp_d);
				double dm = dev[rounds / 2], rm = rw[rounds / 2];
				printf("%-12s %6zu %5u %9.0f %9.0f %9.0f %7.3f %6.0f%%\n", kname[k], size,
				       depth, dm, rm, dm - rm, rm / dm,
				       100 * (dev[rounds - 1] - dev[0]) / dm);
				fflush(stdout);
				if (k == K_GCM && size == 16384 && depth == 64)
					headline = rm / dm;
				if (size == 64 && depth == 64 && dm - rm > worst_over_64)
					worst_over_64 = dm - rm;
			}
		}
		env_free(&e);
	}
	vc_raw_free(&raw);
	printf("worst device overhead at 64 B, depth 64: %.0f ns per request (goal <= 1000)\n",
	       worst_over_64);
	printf("ratio=%.3f\n", headline);
	return 0;
}
