/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The public API: generator lifetime, generate, inputs, reseed and status.
 * Each function takes the generator's lock once and calls into pool.c,
 * generator.c, sources.c and clone.c with it held.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "internal.h"

enum {
	BOOTSTRAP_SAMPLES = 128, /* timing-loop rounds at creation */
	KNOWN_FLAGS = VTF_OPT_NO_RDRAND | VTF_OPT_RDSEED | VTF_OPT_NO_GETRANDOM |
		      VTF_OPT_NO_JITTER | VTF_OPT_NO_BOOTSTRAP | VTF_OPT_NO_FORK_DETECT |
		      VTF_OPT_NO_VMGENID,
};

/*
 * First state: K = SHAd-256(0 || s), C = 1, where s holds timing-loop
 * samples, clocks and addresses (weak) and, when available, RDSEED/RDRAND
 * and getrandom bytes (strong). Degraded if only the weak part exists.
 */
static int bootstrap(struct vtf_ctx *ctx)
{
	uint8_t s[VTF_SEED_MAX], ww[BOOTSTRAP_SAMPLES * 4];
	size_t off = 0;
	uint64_t fresh = 0;
	struct {
		struct timespec rt, mono, boot;
		uint64_t cycles;
		pid_t pid;
		uintptr_t addr;
	} misc;
	int r;

	vtf_whirlwind(ww, BOOTSTRAP_SAMPLES);
	for (size_t i = 0; i < sizeof(ww); i += VTF_EVENT_MAX)
		off += vtf_event_encode(s + off, VTF_SRC_BOOTSTRAP, ww + i, VTF_EVENT_MAX);
	memset(&misc, 0, sizeof(misc));
	clock_gettime(CLOCK_REALTIME, &misc.rt);
	clock_gettime(CLOCK_MONOTONIC, &misc.mono);
	clock_gettime(CLOCK_BOOTTIME, &misc.boot);
	misc.cycles = vtf_cycles();
	misc.pid = getpid();
	misc.addr = (uintptr_t)ctx; /* ASLR */
	for (size_t i = 0; i < sizeof(misc); i += VTF_EVENT_MAX)
		off += vtf_event_encode(s + off, VTF_SRC_BOOTSTRAP, (const uint8_t *)&misc + i,
					VTF_MIN(sizeof(misc) - i, (size_t)VTF_EVENT_MAX));
	off += vtf_sources_fresh(ctx, s + off, sizeof(s) - off, &fresh);

	r = vtf_gen_reseed(ctx, s, off);
	if (r == 0)
		ctx->st.degraded = fresh < VTF_FRESH_MIN;
	OPENSSL_cleanse(s, sizeof(s));
	OPENSSL_cleanse(ww, sizeof(ww));
	OPENSSL_cleanse(&misc, sizeof(misc));
	return r;
}

int vtf_new(const struct vtf_options *opt, struct vtf_ctx **out)
{
	struct vtf_options o = {0};
	struct vtf_ctx *ctx;
	pthread_condattr_t ca;
	bool locked = false;
	int r;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (opt)
		o = *opt;
	if (o.flags & ~(uint32_t)KNOWN_FLAGS)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(o.reserved) / sizeof(o.reserved[0]); i++)
		if (o.reserved[i])
			return -EINVAL;

	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size_t len = (sizeof(*ctx) + pg - 1) / pg * pg;
	ctx = vtf_secmem_alloc(len, &locked);
	if (!ctx)
		return -ENOMEM;
	/* mmap memory is zeroed: key 0, counter 0 (unseeded), all pools at 0. */
	ctx->map_len = len;
	pthread_mutex_init(&ctx->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ctx->collector_cond, &ca);
	pthread_condattr_destroy(&ca);
	ctx->marker = NULL;
	ctx->opt_flags = o.flags;
	ctx->fresh_timeout_ms = o.fresh_timeout_ms ? o.fresh_timeout_ms : 20;
	ctx->collector_interval_ms = o.collector_interval_ms;
	ctx->kernel_wait_ms = o.kernel_wait_ms ? o.kernel_wait_ms : VTF_KERNEL_WAIT_MS_DEFAULT;
	vtf_genid_detached(ctx);
	ctx->st.degraded = true;
	struct timespec res = {0, 0};
#ifdef CLOCK_MONOTONIC_COARSE
	clock_getres(CLOCK_MONOTONIC_COARSE, &res);
#else
	clock_getres(CLOCK_MONOTONIC, &res);
#endif
	ctx->gate_slack_ns = (uint64_t)res.tv_sec * 1000000000ull + (uint64_t)res.tv_nsec;
	if (locked)
		ctx->inputs |= VTF_INPUT_MLOCKED;
	vtf_detect_inputs(ctx);

	r = vtf_pool_setup(ctx);
	if (r == 0)
		r = vtf_gen_setup(ctx);
	if (r == 0 && !(o.flags & VTF_OPT_NO_BOOTSTRAP))
		r = bootstrap(ctx);
	if (r == 0)
		vtf_genid_attach(ctx, false);
	/* Registered last: fork handlers only ever see finished generators. */
	if (r == 0)
		r = vtf_clone_setup(ctx);
	if (r == 0 && o.collector_interval_ms)
		r = vtf_collector_start(ctx);
	if (r < 0) {
		vtf_free(ctx);
		return r;
	}
	*out = ctx;
	return 0;
}

void vtf_free(struct vtf_ctx *ctx)
{
	if (!ctx)
		return;
	vtf_collector_stop(ctx);
	vtf_clone_teardown(ctx);
	vtf_gen_teardown(ctx);
	vtf_pool_teardown(ctx);
	pthread_cond_destroy(&ctx->collector_cond);
	pthread_mutex_destroy(&ctx->lock);
	vtf_secmem_free(ctx, ctx->map_len);
}

int vtf_tick(struct vtf_ctx *ctx)
{
	struct vtf_state *st = &ctx->st;

	/*
	 * Whirlwind-style jitter: every fourth call contributes the low byte
	 * of the cycle count since the previous sample (reading the counter
	 * costs 15-20 ns in a VM, too much for every small request).
	 */
	if ((ctx->inputs & VTF_INPUT_JITTER) && (++st->calls & (VTF_JITTER_EVERY - 1)) == 0) {
		uint64_t c = vtf_cycles();
		st->jitter[st->jitter_n] = (uint8_t)(c - st->jitter_prev);
		st->jitter_prev = c;
		if (++st->jitter_n == VTF_JITTER_SAMPLES) {
			st->jitter_n = 0;
			int r = vtf_pool_add(ctx, VTF_SRC_JITTER, st->jitter, sizeof(st->jitter),
					     false);
			if (r < 0)
				return r;
		}
	}

	uint64_t now = vtf_gate_ns();
	if (VTF_UNLIKELY(ctx->kernel_wait) && !ctx->genid_has_fork &&
	    now - ctx->kernel_wait_since_ns >=
		(uint64_t)ctx->kernel_wait_ms * 1000000u + ctx->gate_slack_ns) {
		int r = vtf_kernel_wait_expired(ctx);
		if (r < 0)
			return r;
	}
	if (vtf_gate_open(ctx, st->last_poll_ns, now)) {
		st->last_poll_ns = now;
		vtf_sources_poll(ctx);
	}
	if (st->pool_len[0] >= VTF_MIN_POOL0 &&
	    (!st->seeded || vtf_gate_open(ctx, st->last_reseed_ns, now)))
		return vtf_pool_reseed(ctx, now);
	return 0;
}

int vtf_generate(struct vtf_ctx *ctx, void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t left = len;
	int r;

	if (!ctx || (!buf && len))
		return -EINVAL;
	pthread_mutex_lock(&ctx->lock);
	do {
		/* Checked per request, so a long call cannot straddle a fork. */
		if (VTF_UNLIKELY(vtf_stale(ctx)) && (r = vtf_fast_reseed(ctx)) < 0)
			break;
		if ((r = vtf_tick(ctx)) < 0)
			break;
		if (VTF_UNLIKELY(!ctx->st.seeded)) {
			r = -EAGAIN;
			break;
		}
		if (!left)
			break;
		size_t m = VTF_MIN(left, (size_t)VTF_MAX_REQUEST);
		if ((r = vtf_gen_request(ctx, p, m)) < 0)
			break;
		p += m;
		left -= m;
	} while (left);
	pthread_mutex_unlock(&ctx->lock);
	if (r < 0 && len)
		OPENSSL_cleanse(buf, len); /* never hand out part of a failed call */
	return r;
}

static int add_input(struct vtf_ctx *ctx, uint8_t source, const void *data, size_t len, bool real)
{
	if (!ctx || (!data && len) || source > VTF_SRC_APP_MAX)
		return -EINVAL;
	pthread_mutex_lock(&ctx->lock);
	int r = vtf_pool_add(ctx, source, data, len, real);
	pthread_mutex_unlock(&ctx->lock);
	return r;
}

int vtf_add_event(struct vtf_ctx *ctx, uint8_t source, const void *data, size_t len)
{
	return add_input(ctx, source, data, len, false);
}

int vtf_add_entropy(struct vtf_ctx *ctx, uint8_t source, const void *data, size_t len)
{
	return add_input(ctx, source, data, len, true);
}

int vtf_reseed_now(struct vtf_ctx *ctx)
{
	int r = 0;

	if (!ctx)
		return -EINVAL;
	pthread_mutex_lock(&ctx->lock);
	if (vtf_stale(ctx))
		r = vtf_fast_reseed(ctx);
	if (r == 0) {
		uint64_t now = vtf_gate_ns();
		ctx->st.last_poll_ns = now;
		vtf_sources_poll(ctx);
		r = vtf_pool_reseed(ctx, now);
	}
	pthread_mutex_unlock(&ctx->lock);
	return r;
}

static void update_source_inputs(struct vtf_ctx *ctx)
{
	ctx->inputs &= ~(uint32_t)(VTF_INPUT_FD | VTF_INPUT_CALLBACK);
	for (unsigned i = 0; i < VTF_MAX_SOURCES; i++) {
		if (ctx->sources[i].kind == VTF_SOURCE_FD)
			ctx->inputs |= VTF_INPUT_FD;
		else if (ctx->sources[i].kind == VTF_SOURCE_CALLBACK)
			ctx->inputs |= VTF_INPUT_CALLBACK;
	}
}

static int add_source(struct vtf_ctx *ctx, uint8_t id, uint8_t kind, int fd, vtf_source_fn fn,
		      void *arg)
{
	struct vtf_source *slot = NULL;
	int r = 0;

	if (!ctx || id > VTF_SRC_APP_MAX)
		return -EINVAL;
	pthread_mutex_lock(&ctx->lock);
	for (unsigned i = 0; i < VTF_MAX_SOURCES; i++) {
		struct vtf_source *s = &ctx->sources[i];
		if (s->kind && s->id == id) {
			r = -EEXIST;
			goto out;
		}
		if (!s->kind && !slot)
			slot = s;
	}
	if (!slot) {
		r = -ENOSPC;
		goto out;
	}
	*slot = (struct vtf_source){.id = id, .kind = kind, .fd = fd, .fn = fn, .arg = arg};
	update_source_inputs(ctx);
out:
	pthread_mutex_unlock(&ctx->lock);
	return r;
}

int vtf_add_source_callback(struct vtf_ctx *ctx, uint8_t id, vtf_source_fn fn, void *arg)
{
	if (!fn)
		return -EINVAL;
	return add_source(ctx, id, VTF_SOURCE_CALLBACK, -1, fn, arg);
}

int vtf_add_source_fd(struct vtf_ctx *ctx, uint8_t id, int fd)
{
	if (fd < 0)
		return -EINVAL;
	return add_source(ctx, id, VTF_SOURCE_FD, fd, NULL, NULL);
}

int vtf_remove_source(struct vtf_ctx *ctx, uint8_t id)
{
	int r = -ENOENT;

	if (!ctx)
		return -EINVAL;
	pthread_mutex_lock(&ctx->lock);
	for (unsigned i = 0; i < VTF_MAX_SOURCES; i++) {
		if (ctx->sources[i].kind && ctx->sources[i].id == id) {
			memset(&ctx->sources[i], 0, sizeof(ctx->sources[i]));
			r = 0;
		}
	}
	update_source_inputs(ctx);
	pthread_mutex_unlock(&ctx->lock);
	return r;
}

int vtf_get_status(struct vtf_ctx *ctx, struct vtf_status *st)
{
	if (!ctx || !st)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&ctx->lock);
	if (!ctx->genid_attached)
		vtf_genid_attach(ctx, false);
	if (ctx->st.seeded)
		st->state |= VTF_STATE_SEEDED;
	if (ctx->st.degraded)
		st->state |= VTF_STATE_DEGRADED;
	if (vtf_stale(ctx))
		st->state |= VTF_STATE_WAITING_RESEED;
	if (ctx->kernel_wait)
		st->state |= VTF_STATE_WAITING_KERNEL;
	if (ctx->genid_attached)
		st->signals |= VTF_SIGNAL_VMGENID;
	if (ctx->genid_has_fork)
		st->signals |= VTF_SIGNAL_VMFORK;
	if (!(ctx->opt_flags & VTF_OPT_NO_FORK_DETECT))
		st->signals |= VTF_SIGNAL_FORK;
	if (ctx->leak_seen)
		st->signals |= VTF_SIGNAL_LEAK;
	st->vmgenid_changes = ctx->st.vmgenid_changes;
	st->kernel_reseeds = ctx->st.kernel_reseeds;
	st->inputs = ctx->inputs;
	if (ctx->collector_running)
		st->inputs |= VTF_INPUT_COLLECTOR;
	st->reseeds = ctx->st.reseed_count;
	st->fast_reseeds = ctx->st.fast_reseeds;
	/* A stale check while waiting for the kernel is its follow-up, not a generation. */
	st->generations =
	    ctx->st.generations + (vtf_stale(ctx) && !ctx->pending && !ctx->kernel_wait);
	st->bytes_out = ctx->st.bytes_out;
	st->pool0_bytes = ctx->st.pool_len[0];
	st->source_errors = ctx->st.source_errors;
	pthread_mutex_unlock(&ctx->lock);
	return 0;
}

const char *vtf_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case -EINVAL:
		return "invalid argument";
	case -ENOMEM:
		return "out of memory";
	case -EAGAIN:
		return "generator not seeded yet (no reseed has happened)";
	case -ESTALE:
		return "new generation (fork, VM snapshot or clone): no fresh input for the "
		       "required reseed, nothing output";
	case -EIO:
		return "OpenSSL failure, nothing output";
	case -EEXIST:
		return "a source with this id is already registered";
	case -ENOSPC:
		return "too many sources";
	case -ENOENT:
		return "no source with this id";
	case -ENOTSUP:
		return "not supported on this system";
	case -ENODEV:
		return "no /dev/vtrust-vmgenid: load the vtrust_vmgenid module (guest/vmgenid) in "
		       "a VM "
		       "started with -device vmgenid; without it a VM restore or clone is not "
		       "noticed";
	case -EPROTO:
		return "/dev/vtrust-vmgenid is not the vtrust_vmgenid module this library knows "
		       "(magic or version differ): rebuild the module from this source tree";
	}
	return err < 0 ? strerror(-err) : "unknown result";
}

/* ---- test hooks ---- */

void vtf__get_state(struct vtf_ctx *ctx, uint8_t key[32], uint8_t ctr[16])
{
	pthread_mutex_lock(&ctx->lock);
	memcpy(key, ctx->st.key, VTF_KEY_LEN);
	memcpy(ctr, ctx->st.ctr, VTF_BLOCK);
	pthread_mutex_unlock(&ctx->lock);
}

int vtf__set_counter(struct vtf_ctx *ctx, const uint8_t ctr[16])
{
	pthread_mutex_lock(&ctx->lock);
	memcpy(ctx->st.ctr, ctr, VTF_BLOCK);
	int r = vtf_gen_load(ctx);
	pthread_mutex_unlock(&ctx->lock);
	return r;
}

bool vtf__check_generation(struct vtf_ctx *ctx)
{
	return vtf_stale(ctx);
}
