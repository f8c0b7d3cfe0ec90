/* SPDX-License-Identifier: Apache-2.0 */
/* A connection to a crypto device from the guest driver's side (crypto_conn.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto_conn.h"

#define CP_MAX_SEGS 96
#define CP_UNTOUCHED 0xee

const char *cp_status_name(unsigned st)
{
	static const char *const n[] = {"OK", "ERR", "BADMSG", "NOTSUPP", "INVSESS", "NOSPC",
					"KEY_REJECTED", "IPSEC_SA_SOFT_EXPIRY"};
	return st < VT_ARRAY_SIZE(n) ? n[st] : "?";
}

static int read_config(struct cp_conn *c)
{
	uint8_t buf[sizeof(struct vc_config)];
	if (!fe_vu_has_protocol(c->d->vu, VHOST_USER_PROTOCOL_F_CONFIG)) {
		fe_vu_fail(c->d->vu, -EPROTONOSUPPORT,
			   "the back-end offers no config space (VHOST_USER_PROTOCOL_F_CONFIG); for "
			   "vtrustd's crypto device set the option config_space=true");
		return -EPROTONOSUPPORT;
	}
	int r = fe_vu_get_config(c->d->vu, 0, sizeof(buf), 0, buf);
	if (r < 0)
		return r;
	memcpy(&c->cfg, buf, sizeof(buf));
	return 0;
}

int cp_open(const struct fe_dev_opts *o, bool qemu, struct cp_conn *c)
{
	struct fe_dev_opts opts = *o;
	memset(c, 0, sizeof(*c));
	c->ctrlq = CP_NO_QUEUE;
	for (int attempt = 0; attempt < 2; attempt++) {
		int r = fe_dev_open(&opts, &c->d);
		if (r < 0) {
			snprintf(c->error, sizeof(c->error), "connect: %s", strerror(-r));
			return r;
		}
		r = read_config(c);
		if (r < 0) {
			snprintf(c->error, sizeof(c->error), "GET_CONFIG: %s", c->d->vu->error);
			c->d = fe_dev_close(c->d);
			return r;
		}
		unsigned want = c->cfg.max_dataqueues + 1;
		if (qemu || c->d->nvqs == want || want > FE_DEV_MAX_VQS)
			break;
		c->d = fe_dev_close(c->d);
		opts.nvqs = want;
	}
	int r = fe_dev_start(c->d);
	if (r < 0) {
		snprintf(c->error, sizeof(c->error), "start: %s", fe_dev_error(c->d, 0));
		c->d = fe_dev_close(c->d);
		return r;
	}
	c->features = c->d->vu->acked_features & 0xffffffull;
	if (!qemu && c->d->nvqs == c->cfg.max_dataqueues + 1)
		c->ctrlq = c->cfg.max_dataqueues;
	return 0;
}

int cp_attach(struct cp_conn *c, struct fe_dev *d)
{
	memset(c, 0, sizeof(*c));
	c->d = d;
	c->ctrlq = CP_NO_QUEUE;
	int r = read_config(c);
	if (r < 0) {
		snprintf(c->error, sizeof(c->error), "GET_CONFIG: %s", d->vu->error);
		return r;
	}
	c->features = d->vu->acked_features & 0xffffffull;
	if (d->nvqs == c->cfg.max_dataqueues + 1)
		c->ctrlq = c->cfg.max_dataqueues;
	return 0;
}

void cp_close(struct cp_conn *c)
{
	c->d = fe_dev_close(c->d);
}

int cp_submit(struct cp_conn *c, unsigned q, const uint8_t *rd, size_t rd_len, size_t wr_len,
	      uint8_t *out, uint32_t *used)
{
	struct fe_dev *d = c->d;
	struct fe_seg segs[CP_MAX_SEGS];
	unsigned n = 0;
	if (q >= d->nvqs || wr_len == 0 || rd_len > UINT32_MAX || wr_len > UINT32_MAX)
		return -EINVAL;
	size_t split = c->split;
	size_t body = wr_len - 1;
	/* At most CP_MAX_SEGS - 1 pieces: grow the split as needed. */
	while (split && (rd_len + split - 1) / split + (body + split - 1) / split > CP_MAX_SEGS - 2)
		split *= 2;
	uint64_t rgpa = 0, wgpa = 0;
	uint8_t *rp = NULL, *wp = NULL;
	int r = -ENOMEM;
	if (rd_len && !(rp = fe_mem_alloc_ptr(d->mem, rd_len, 8, &rgpa)))
		goto out;
	if (!(wp = fe_mem_alloc_ptr(d->mem, wr_len, 8, &wgpa)))
		goto out;
	if (rd_len)
		memcpy(rp, rd, rd_len);
	memset(wp, CP_UNTOUCHED, wr_len);
	for (size_t off = 0; off < rd_len; n++) {
		size_t l = split ? VT_MIN(split, rd_len - off) : rd_len;
		segs[n] = (struct fe_seg){rgpa + off, (uint32_t)l, false};
		off += l;
	}
	/* In place: the writable body is the tail of the readable bytes (src), as Linux does. */
	bool alias = c->in_place && rd_len >= body;
	uint64_t bgpa = alias ? rgpa + (rd_len - body) : wgpa;
	for (size_t off = 0; off < body; n++) {
		size_t l = split ? VT_MIN(split, body - off) : body;
		segs[n] = (struct fe_seg){bgpa + off, (uint32_t)l, true};
		off += l;
	}
	segs[n++] = (struct fe_seg){wgpa + body, 1, true}; /* the status byte, as Linux sends it */
	struct fe_used u;
	r = fe_dev_submit(d, q, segs, n, &u);
	if (r < 0) {
		snprintf(c->error, sizeof(c->error), "request not completed: %s",
			 r == -ETIMEDOUT ? "timeout" : fe_dev_error(d, q));
		goto out;
	}
	if (out && alias) {
		memcpy(out, rp + (rd_len - body), body);
		out[body] = wp[body];
	} else if (out) {
		memcpy(out, wp, wr_len);
	}
	if (used)
		*used = u.len;
out:
	if (rp)
		fe_mem_release(d->mem, rgpa, rd_len);
	if (wp)
		fe_mem_release(d->mem, wgpa, wr_len);
	return r;
}

int cp_ctrl_create(struct cp_conn *c, const uint8_t *hdr, size_t hlen, const uint8_t *keys,
		   size_t klen, uint64_t *id)
{
	if (c->ctrlq == CP_NO_QUEUE) {
		snprintf(c->error, sizeof(c->error), "no control queue");
		return -ENODEV;
	}
	uint8_t *req = malloc(hlen + klen + 1);
	if (!req)
		return -ENOMEM;
	memcpy(req, hdr, hlen);
	if (klen)
		memcpy(req + hlen, keys, klen);
	uint8_t out[sizeof(struct vc_session_input)];
	uint32_t used = 0;
	/* The outcome is one 16-byte buffer (Linux): no separate status descriptor. */
	size_t saved = c->split;
	c->split = 0;
	struct fe_dev *d = c->d;
	uint64_t rgpa, wgpa;
	uint8_t *rp = fe_mem_alloc_ptr(d->mem, hlen + klen, 8, &rgpa);
	uint8_t *wp = fe_mem_alloc_ptr(d->mem, sizeof(out), 8, &wgpa);
	int r = -ENOMEM;
	if (rp && wp) {
		memcpy(rp, req, hlen + klen);
		memset(wp, 0, sizeof(out));
		struct fe_seg segs[2] = {{rgpa, (uint32_t)(hlen + klen), false},
					 {wgpa, sizeof(out), true}};
		struct fe_used u;
		r = fe_dev_submit(d, c->ctrlq, segs, 2, &u);
		if (r == 0) {
			memcpy(out, wp, sizeof(out));
			used = u.len;
		} else {
			snprintf(c->error, sizeof(c->error), "control request not completed: %s",
				 fe_dev_error(d, c->ctrlq));
		}
	}
	if (rp)
		fe_mem_release(d->mem, rgpa, hlen + klen);
	if (wp)
		fe_mem_release(d->mem, wgpa, sizeof(out));
	c->split = saved;
	OPENSSL_cleanse(req, hlen + klen);
	free(req);
	if (r < 0)
		return r;
	if (used != sizeof(out)) {
		snprintf(c->error, sizeof(c->error), "session outcome: used len %u", used);
		return -EPROTO;
	}
	struct vc_session_input in;
	memcpy(&in, out, sizeof(in));
	if (id)
		*id = in.session_id;
	return (int)in.status;
}

int cp_ctrl_destroy(struct cp_conn *c, uint32_t opcode, uint64_t id)
{
	if (c->ctrlq == CP_NO_QUEUE)
		return -ENODEV;
	uint8_t h[VCB_HDR_MAX], st = 0xff;
	size_t l = vcb_ctrl_destroy(h, c->features, opcode, id);
	size_t saved = c->split;
	c->split = 0;
	uint32_t used = 0;
	int r = cp_submit(c, c->ctrlq, h, l, 1, &st, &used);
	c->split = saved;
	if (r < 0)
		return r;
	return used == 1 ? st : -EPROTO;
}

void cp_drop(struct cp_conn *c, uint32_t opcode, uint64_t id)
{
	int r = c->ctrlq == CP_NO_QUEUE ? fe_vu_close_crypto_session(c->d->vu, id)
					: cp_ctrl_destroy(c, opcode, id);
	if (r < 0 && getenv("VTRUST_PROBE_DEBUG"))
		fprintf(stderr, "crypto: dropping session %llu: %s\n", (unsigned long long)id,
			c->error);
}

int cp_vhost_create(struct cp_conn *c, const void *msg, uint32_t len, int64_t *id)
{
	uint8_t reply[sizeof(struct vc_vu_session_new)];
	if (len != 632 && len != 1072)
		return -EINVAL;
	int r = fe_vu_create_crypto_session(c->d->vu, msg, len, reply);
	if (r < 0) {
		snprintf(c->error, sizeof(c->error), "CREATE_CRYPTO_SESSION: %s", c->d->vu->error);
		return r;
	}
	memcpy(id, reply + (len == 632 ? 0 : 1064), sizeof(*id));
	return 0;
}
