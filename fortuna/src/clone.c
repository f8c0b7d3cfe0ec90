/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Generations: noticing that the state may have been duplicated, and the
 * fast reseed that makes each copy diverge before it outputs again.
 *
 * Signals, all read by vtf_stale() with plain loads:
 *   - ctx->marker, a word on a MADV_WIPEONFORK page holding 1: a child of
 *     fork() (or of a raw clone() that skips pthread_atfork) reads 0;
 *   - vtf_epoch, a process-wide counter bumped by vtf_new_generation_all();
 *   - the VM generation ID (genid.c), rewritten by the hypervisor before a
 *     restored VM runs, and the kernel's VM-fork counter, bumped once the
 *     guest kernel has reseeded its own generator for the new VM;
 *   - ctx->pending, set by the pthread_atfork child handler, leak reports
 *     and vtf_new_generation(), and kept until a fast reseed succeeds.
 *
 * A new ID is mixed in (with RDRAND/RDSEED and the cycle counter) before the
 * next output, so clones diverge at once; getrandom() is left out until the
 * VM-fork counter moves (or, without a counter, kernel_wait_ms has passed),
 * because before the kernel's own reseed every clone's getrandom() returns
 * the same bytes. That later reseed with getrandom is a follow-up, not a new
 * generation.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include <openssl/crypto.h>

#include "internal.h"

_Atomic uint64_t vtf_epoch;

/* Marker for generators that opted out of fork detection: never zero. */
static _Atomic uint64_t marker_static = 1;

/* Live generators, so fork handlers can lock and mark them. */
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vtf_ctx *reg_head;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/*
 * fork() with another thread inside vtf_generate() would leave the child
 * with a lock held forever; taking every generator's lock around fork()
 * also means the child never copies a half-updated state.
 */
static void atfork_prepare(void)
{
	pthread_mutex_lock(&reg_lock);
	for (struct vtf_ctx *c = reg_head; c; c = c->reg_next)
		pthread_mutex_lock(&c->lock);
}

static void atfork_parent(void)
{
	for (struct vtf_ctx *c = reg_head; c; c = c->reg_next)
		pthread_mutex_unlock(&c->lock);
	pthread_mutex_unlock(&reg_lock);
}

static void atfork_child(void)
{
	for (struct vtf_ctx *c = reg_head; c; c = c->reg_next) {
		if (!(c->opt_flags & VTF_OPT_NO_FORK_DETECT))
			vtf_mark_generation(c);
		if (c->collector_running) {
			/* The thread stayed in the parent; its condvar may
			 * still count it as a waiter, so start afresh. */
			c->collector_running = false;
			pthread_condattr_t ca;
			pthread_condattr_init(&ca);
			pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
			pthread_cond_init(&c->collector_cond, &ca);
			pthread_condattr_destroy(&ca);
		}
		pthread_mutex_unlock(&c->lock);
	}
	pthread_mutex_unlock(&reg_lock);
}

static void atfork_register(void)
{
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

int vtf_clone_setup(struct vtf_ctx *ctx)
{
	pthread_once(&atfork_once, atfork_register);

	ctx->marker = &marker_static;
	if (!(ctx->opt_flags & VTF_OPT_NO_FORK_DETECT)) {
		long pg = sysconf(_SC_PAGESIZE);
		void *p = mmap(NULL, (size_t)pg, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return -ENOMEM;
#ifdef MADV_WIPEONFORK
		/* Without it (Linux < 4.14) fork is still caught by atfork. */
		if (madvise(p, (size_t)pg, MADV_WIPEONFORK) == 0)
			ctx->inputs |= VTF_INPUT_WIPEONFORK;
#endif
		ctx->marker = p;
		ctx->marker_page = p;
		ctx->own_marker = true;
		atomic_store_explicit(ctx->marker, 1, memory_order_relaxed);
	}
	ctx->seen_epoch = atomic_load_explicit(&vtf_epoch, memory_order_acquire);

	pthread_mutex_lock(&reg_lock);
	ctx->reg_next = reg_head;
	ctx->reg_prev = NULL;
	if (reg_head)
		reg_head->reg_prev = ctx;
	reg_head = ctx;
	ctx->registered = true;
	pthread_mutex_unlock(&reg_lock);
	return 0;
}

void vtf_clone_teardown(struct vtf_ctx *ctx)
{
	if (ctx->registered) {
		pthread_mutex_lock(&reg_lock);
		if (ctx->reg_prev)
			ctx->reg_prev->reg_next = ctx->reg_next;
		else
			reg_head = ctx->reg_next;
		if (ctx->reg_next)
			ctx->reg_next->reg_prev = ctx->reg_prev;
		ctx->registered = false;
		pthread_mutex_unlock(&reg_lock);
	}
	if (ctx->own_marker)
		munmap(ctx->marker_page, (size_t)sysconf(_SC_PAGESIZE));
	ctx->marker = &marker_static;
	ctx->marker_page = NULL;
	ctx->own_marker = false;
}

void vtf_mark_generation(struct vtf_ctx *ctx)
{
	if (!ctx->pending) {
		ctx->pending = true;
		ctx->st.generations++;
	}
}

int vtf_fast_reseed(struct vtf_ctx *ctx)
{
	uint8_t s[VTF_SEED_MAX];
	size_t off = 0;
	uint64_t fresh = 0;
	/* Read first: an event arriving during the reseed forces another. */
	uint64_t epoch = atomic_load_explicit(&vtf_epoch, memory_order_acquire);
	/* The counter before the ID: the ID changes first (before the vCPUs run). */
	uint64_t fork = atomic_load_explicit(ctx->gfork, memory_order_acquire);
	uint64_t id[2] = {atomic_load_explicit(&ctx->gid[0], memory_order_relaxed),
			  atomic_load_explicit(&ctx->gid[1], memory_order_relaxed)};
	bool id_new = id[0] != ctx->seen_id[0] || id[1] != ctx->seen_id[1];
	bool fork_moved = fork != ctx->seen_fork;
	bool was_waiting = ctx->kernel_wait;
	int r;

	/* Only the kernel's counter moved: the follow-up to a new ID, not a new generation. */
	bool followup = !ctx->pending && !id_new && epoch == ctx->seen_epoch &&
			atomic_load_explicit(ctx->marker, memory_order_relaxed) != 0;
	if (!followup)
		vtf_mark_generation(ctx);
	if (id_new && !fork_moved && !ctx->kernel_wait) {
		ctx->kernel_wait = true;
		ctx->kernel_wait_since_ns = vtf_gate_ns();
	}
	if (fork_moved)
		ctx->kernel_wait = false;
	uint64_t id_bytes = 0;
	if (id_new) {
		/*
		 * Unique to this VM, so each clone's key diverges even without
		 * RDRAND; the cycle counter differs between clones too. Neither
		 * is secret: they count as fresh, not as a real source.
		 */
		uint64_t cycles = vtf_cycles();
		off += vtf_event_encode(s + off, VTF_SRC_VMGENID, (const uint8_t *)id, sizeof(id));
		off += vtf_event_encode(s + off, VTF_SRC_VMGENID, (const uint8_t *)&cycles,
					sizeof(cycles));
		id_bytes = sizeof(id);
		fresh += id_bytes;
	}
	for (uint32_t i = 0; i < ctx->st.leak_len; i += VTF_EVENT_MAX) {
		size_t m = VTF_MIN(ctx->st.leak_len - i, (uint32_t)VTF_EVENT_MAX);
		off += vtf_event_encode(s + off, VTF_SRC_LEAK, ctx->st.leak + i, m);
	}
	fresh += ctx->st.leak_fresh;
	off += vtf_sources_fresh(ctx, s + off, sizeof(s) - off, &fresh);

	/*
	 * A follow-up adds whatever it gets (getrandom, now that the kernel has
	 * reseeded): the new generation itself was already handled.
	 */
	if (fresh < VTF_FRESH_MIN && !followup) {
		r = -ESTALE;
		goto out;
	}
	r = vtf_gen_reseed(ctx, s, off);
	if (r < 0)
		goto out;
	OPENSSL_cleanse(ctx->st.leak, sizeof(ctx->st.leak));
	ctx->st.leak_len = 0;
	ctx->st.leak_fresh = 0;
	ctx->st.fast_reseeds++;
	if (fresh - id_bytes >= VTF_FRESH_MIN)
		ctx->st.degraded = false; /* a real source gave fresh bytes */
	ctx->seen_epoch = epoch;
	if (id_new)
		ctx->st.vmgenid_changes++;
	if (fork_moved && (was_waiting || id_new))
		ctx->st.kernel_reseeds++;
	ctx->seen_id[0] = id[0];
	ctx->seen_id[1] = id[1];
	ctx->seen_fork = fork;
	if (ctx->own_marker)
		atomic_store_explicit(ctx->marker, 1, memory_order_relaxed);
	ctx->pending = false;
out:
	OPENSSL_cleanse(s, sizeof(s));
	OPENSSL_cleanse(id, sizeof(id));
	return r;
}

int vtf_kernel_wait_expired(struct vtf_ctx *ctx)
{
	/* No VM-fork counter: assume the kernel has reseeded by now. */
	ctx->kernel_wait = false;
	int r = vtf_fast_reseed(ctx);
	if (r == 0)
		ctx->st.kernel_reseeds++;
	return r;
}

int vtf_new_generation(struct vtf_ctx *ctx)
{
	if (!ctx)
		return -EINVAL;
	pthread_mutex_lock(&ctx->lock);
	vtf_mark_generation(ctx);
	int r = vtf_fast_reseed(ctx);
	pthread_mutex_unlock(&ctx->lock);
	return r;
}

void vtf_new_generation_all(void)
{
	atomic_fetch_add_explicit(&vtf_epoch, 1, memory_order_release);
}

int vtf_leak_filled(struct vtf_ctx *ctx, const void *data, size_t len)
{
	int r = 0;

	if (!ctx || (!data && len))
		return -EINVAL;
	pthread_mutex_lock(&ctx->lock);
	vtf_mark_generation(ctx);
	ctx->leak_seen = true;
	struct vtf_state *st = &ctx->st;
	if (st->leak_len + len <= sizeof(st->leak)) {
		memcpy(st->leak + st->leak_len, data, len);
		st->leak_len += (uint32_t)len;
	} else {
		/* Keep everything received, compressed: leak = SHA-256(leak || data). */
		uint8_t h[32];
		r = vtf_sha256(ctx, st->leak, st->leak_len, data, len, h);
		if (r == 0) {
			OPENSSL_cleanse(st->leak, sizeof(st->leak));
			memcpy(st->leak, h, sizeof(h));
			st->leak_len = sizeof(h);
		}
		OPENSSL_cleanse(h, sizeof(h));
	}
	if (r == 0) {
		st->leak_fresh += len;
		r = vtf_fast_reseed(ctx);
	}
	pthread_mutex_unlock(&ctx->lock);
	return r;
}

int vtf__snapshot_copy(struct vtf_ctx *dst, struct vtf_ctx *src)
{
	int r = 0;

	if (dst == src)
		return -EINVAL;
	/* Fixed order, so two concurrent copies cannot deadlock. */
	struct vtf_ctx *a = dst < src ? dst : src, *b = dst < src ? src : dst;
	pthread_mutex_lock(&a->lock);
	pthread_mutex_lock(&b->lock);
	memcpy(&dst->st, &src->st, sizeof(dst->st));
	for (int i = 0; i < VTF_POOLS && r == 0; i++)
		if (EVP_MD_CTX_copy_ex(dst->pool[i], src->pool[i]) != 1)
			r = -EIO;
	if (r == 0)
		r = vtf_gen_load(dst);
	pthread_mutex_unlock(&b->lock);
	pthread_mutex_unlock(&a->lock);
	return r;
}
