/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Core conformance cases, lifecycle: the legitimate but less travelled paths
 * a VMM takes (reference §2.6, §9 and the summary's QEMU 7.2 quirks). Each
 * ends with the device profile's sanity request, so a back-end that loses
 * track of its rings, memory or fds on these paths fails here.
 */
#include <string.h>
#include <sys/eventfd.h>

#include "conformance.h"

/* Opens with o, started, and runs the sanity request. */
static enum conf_result open_and_serve(struct conf_ctx *c, const struct fe_dev_opts *o,
				       const char *what)
{
	if (conf_open(c, o, CONF_SETUP_STARTED, &c->dev) < 0)
		return CONF_FAIL;
	return conf_sanity(c, c->dev, 0, what);
}

/* VM stop + cont in QEMU 7.2: full stop, then a full start with the saved bases. */
static enum conf_result run_pause_resume(struct conf_ctx *c)
{
	struct fe_dev *d = c->dev;
	for (int i = 0; i < 3; i++) {
		enum conf_result r = conf_sanity(c, d, 0, "before the stop");
		if (r != CONF_PASS)
			return r;
		if (fe_dev_stop(d) < 0)
			return conf_fail(c, "stop sequence: %s", d->vu->error);
		if (fe_dev_start(d) < 0)
			return conf_fail(c, "start sequence after a stop: %s", d->vu->error);
	}
	return conf_sanity(c, d, 0, "after stop/start");
}

/* Guest reset: every ring comes back at base 0 with new addresses. */
static enum conf_result run_guest_reset(struct conf_ctx *c)
{
	struct fe_dev *d = c->dev;
	enum conf_result r = conf_sanity(c, d, 0, "before the reset");
	if (r != CONF_PASS)
		return r;
	if (fe_dev_stop(d) < 0)
		return conf_fail(c, "stop sequence: %s", d->vu->error);
	for (unsigned i = 0; i < d->nvqs; i++)
		if (fe_vq_reset(d->vqs[i], true) < 0)
			return conf_fail(c, "no memory for fresh rings");
	if (fe_dev_start(d) < 0)
		return conf_fail(c, "start sequence after a reset: %s", d->vu->error);
	return conf_sanity(c, d, 0, "after a guest reset");
}

static enum conf_result run_reconnect_burst(struct conf_ctx *c)
{
	for (int i = 0; i < 5; i++) {
		enum conf_result r = open_and_serve(c, &c->opts, "reconnect burst");
		c->dev = fe_dev_close(c->dev);
		if (r != CONF_PASS)
			return r;
	}
	return CONF_PASS;
}

/* Spurious kicks (QEMU 7.2 kicks crypto rings before any buffer exists). */
static enum conf_result run_spurious_kick(struct conf_ctx *c)
{
	for (int i = 0; i < 3; i++)
		if (fe_vq_notify(c->dev->vqs[0]) < 0)
			return conf_fail(c, "kick: %m");
	return conf_sanity(c, c->dev, 0, "after spurious kicks");
}

/* SET_VRING_CALL can change at any time while the ring runs. */
static enum conf_result run_call_fd_change(struct conf_ctx *c)
{
	struct fe_dev *d = c->dev;
	struct fe_vq *vq = d->vqs[0];
	int fresh = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	if (fresh < 0)
		return conf_fail(c, "eventfd: %m");
	if (fe_vu_set_vring_call(d->vu, vq->index, fresh) < 0) {
		(void)close(fresh);
		return conf_fail(c, "SET_VRING_CALL: %s", d->vu->error);
	}
	/* From now on only the new fd wakes us: the old one is gone. */
	(void)close(vq->call_fd);
	vq->call_fd = fresh;
	return conf_sanity(c, d, 0, "after SET_VRING_CALL with a new fd");
}

enum variant {
	V_ADJACENT,
	V_GAPPED_8,
	V_MEM_SLOTS,
	V_ACK_ALL,
	V_NO_REPLY_ACK,
	V_UNOFFERED_FEATURES,
	V_BIT30_ONLY,
};

/* A fresh connection with one option changed; it must serve all the same. */
static enum conf_result run_variant(struct conf_ctx *c)
{
	enum variant v = (enum variant)(uintptr_t)c->cur->arg;
	struct fe_dev_opts o = c->opts;

	switch (v) {
	case V_ADJACENT:
		o.mem.layout = FE_MEM_LAYOUT_ADJACENT;
		o.mem.nregions = 4;
		break;
	case V_GAPPED_8:
		o.mem.layout = FE_MEM_LAYOUT_GAPPED;
		o.mem.nregions = VHOST_MEMORY_BASELINE_NREGIONS;
		break;
	case V_MEM_SLOTS: {
		struct fe_vu *vu;
		uint64_t f, p;
		if (fe_vu_connect(o.socket_path, o.timeout_ms, &vu) < 0)
			return conf_fail(c, "cannot connect");
		int r = fe_vu_hello(vu, &f);
		if (r == 0 && (f & VT_BIT(VHOST_USER_F_PROTOCOL_FEATURES)))
			r = fe_vu_get_protocol_features(vu, &p);
		else
			p = 0;
		fe_vu_close(vu);
		if (r < 0)
			return conf_fail(c, "probing protocol features failed");
		if (!(p & VT_BIT(VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS)))
			return conf_skip(c, "CONFIGURE_MEM_SLOTS not offered");
		o.init.mem_slots = true;
		o.mem.layout = FE_MEM_LAYOUT_GAPPED;
		o.mem.nregions = 4;
		break;
	}
	case V_ACK_ALL:
		o.ack_policy = FE_VU_ACK_ALL;
		break;
	case V_NO_REPLY_ACK:
		o.init.protocol_mask &= ~VT_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK);
		break;
	case V_UNOFFERED_FEATURES:
		/* QEMU 7.2 rng passes guest features through unfiltered (summary item 7). */
		o.feat_mode = FE_FEAT_EXACT;
		o.features = FE_FEATURES_QEMU72_RNG;
		break;
	case V_BIT30_ONLY:
		/* QEMU 7.2 crypto acks only bit 30 while the guest uses both (summary item 1). */
		o.feat_mode = FE_FEAT_EXACT;
		o.features = FE_FEATURES_QEMU72_CRYPTO;
		o.ring_features_set = true;
		o.ring_features =
		    VT_BIT(VIRTIO_RING_F_EVENT_IDX) | VT_BIT(VIRTIO_RING_F_INDIRECT_DESC);
		o.indirect = true;
		break;
	}
	enum conf_result r = open_and_serve(c, &o, c->cur->summary);
	if (r != CONF_PASS)
		return r;
	/* A second request exercises EVENT_IDX bookkeeping past the first kick. */
	return conf_sanity(c, c->dev, 0, "second request");
}

/* Device state round trip on stopped rings (protocol feature 19). */
static enum conf_result run_device_state(struct conf_ctx *c)
{
	struct fe_dev *d = c->dev;
	uint8_t *state = NULL;
	size_t len = 0;

	if (!fe_vu_has_protocol(d->vu, VHOST_USER_PROTOCOL_F_DEVICE_STATE))
		return conf_skip(c, "DEVICE_STATE not offered");
	if (c->probe->device && strcmp(c->probe->device->name, "rpmb") == 0)
		return conf_skip(c, "rpmb state is single-use and destination-bound: a round trip "
				    "into the same device is refused by design (rpmb.device_state)");
	if (fe_dev_stop(d) < 0)
		return conf_fail(c, "stop sequence: %s", d->vu->error);
	if (fe_vu_save_state(d->vu, &state, &len) < 0)
		return conf_fail(c, "save: %s", d->vu->error);
	int r = fe_vu_load_state(d->vu, state, len);
	free(state);
	if (r < 0)
		return conf_fail(c, "loading what was saved: %s", d->vu->error);
	conf_outcome(c, "%zu bytes of state", len);
	if (fe_dev_start(d) < 0)
		return conf_fail(c, "start sequence after the transfer: %s", d->vu->error);
	return conf_sanity(c, d, 0, "after a state round trip");
}

#define ARG(v) ((const void *)(uintptr_t)(v))

const struct conf_case conf_flow_cases[] = {
    {"flow.pause_resume", "VM stop/cont three times: full stop and start with saved bases",
     CONF_SETUP_STARTED, run_pause_resume, NULL},
    {"flow.guest_reset", "all rings restarted at base 0 with new addresses", CONF_SETUP_STARTED,
     run_guest_reset, NULL},
    {"flow.reconnect_burst", "five connections in a row, each served", CONF_SETUP_NONE,
     run_reconnect_burst, NULL},
    {"flow.spurious_kick", "kicks with an empty ring", CONF_SETUP_STARTED, run_spurious_kick, NULL},
    {"flow.call_fd_change", "SET_VRING_CALL with a new fd while running", CONF_SETUP_STARTED,
     run_call_fd_change, NULL},
    {"flow.adjacent_regions", "4 regions touching in guest-physical space", CONF_SETUP_NONE,
     run_variant, ARG(V_ADJACENT)},
    {"flow.gapped_8_regions", "8 regions with gaps (the SET_MEM_TABLE maximum)", CONF_SETUP_NONE,
     run_variant, ARG(V_GAPPED_8)},
    {"flow.mem_slots", "memory through GET_MAX_MEM_SLOTS + ADD_MEM_REG", CONF_SETUP_NONE,
     run_variant, ARG(V_MEM_SLOTS)},
    {"flow.ack_all", "NEED_REPLY on every request: all acked 0", CONF_SETUP_NONE, run_variant,
     ARG(V_ACK_ALL)},
    {"flow.no_reply_ack", "REPLY_ACK not negotiated", CONF_SETUP_NONE, run_variant,
     ARG(V_NO_REPLY_ACK)},
    {"flow.unoffered_features", "SET_FEATURES 0x170000000 whatever was offered (QEMU 7.2 rng)",
     CONF_SETUP_NONE, run_variant, ARG(V_UNOFFERED_FEATURES)},
    {"flow.bit30_only",
     "SET_FEATURES bit 30 only, rings use EVENT_IDX + indirect "
     "(QEMU 7.2 crypto)",
     CONF_SETUP_NONE, run_variant, ARG(V_BIT30_ONLY)},
    {"flow.device_state", "save and load device state on stopped rings", CONF_SETUP_STARTED,
     run_device_state, NULL},
};
const size_t conf_flow_ncases = VT_ARRAY_SIZE(conf_flow_cases);
