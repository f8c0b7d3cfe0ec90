/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Entropy inputs: RDRAND/RDSEED, getrandom() (hosted only), and registered
 * fd or callback sources (an entropy device). Two ways to use them:
 *   - a periodic poll (at most every 100 ms on the generate path, or from
 *     the collector thread) adds 32 bytes per source to the pools;
 *   - a fast reseed after a new generation pulls fresh bytes from all of
 *     them straight into the key, bypassing the pools.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>

#include <openssl/crypto.h>

#include "internal.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

__attribute__((target("rdrnd"))) static bool rdrand64(uint64_t *v)
{
	unsigned long long x;
	/* Intel's guidance: retry up to 10 times on a transient underflow. */
	for (int i = 0; i < 10; i++) {
		if (_rdrand64_step(&x)) {
			*v = x;
			return true;
		}
	}
	return false;
}

__attribute__((target("rdseed"))) static bool rdseed64(uint64_t *v)
{
	unsigned long long x;
	for (int i = 0; i < 100; i++) {
		if (_rdseed64_step(&x)) {
			*v = x;
			return true;
		}
		_mm_pause();
	}
	return false;
}

static void cpu_detect(struct vtf_cpu *c)
{
	unsigned a, b, cx, d;
	if (__get_cpuid(1, &a, &b, &cx, &d))
		c->rdrand = (cx >> 30) & 1;
	if (__get_cpuid_max(0, NULL) >= 7 && __get_cpuid_count(7, 0, &a, &b, &cx, &d))
		c->rdseed_cpuid = (b >> 18) & 1;
	if (c->rdrand) {
		/*
		 * Some CPUs return all-ones with success after resume (AMD
		 * erratum); refuse an instruction that repeats itself.
		 */
		uint64_t s[8];
		for (int i = 0; i < 8 && c->rdrand; i++) {
			if (!rdrand64(&s[i]) || s[i] == 0 || s[i] == UINT64_MAX)
				c->rdrand = false;
			for (int j = 0; j < i && c->rdrand; j++)
				if (s[i] == s[j])
					c->rdrand = false;
		}
		OPENSSL_cleanse(s, sizeof(s));
	}
}

/*
 * RDSEED is trapped and emulated by some hypervisors (~20 us per call
 * measured on one); use it only if a few calls each take under 2 us.
 */
static bool rdseed_timing_ok(void)
{
	uint64_t v, worst = 0;
	for (int i = 0; i < 5; i++) {
		uint64_t t0 = vtf_now_ns();
		bool ok = rdseed64(&v);
		uint64_t dt = vtf_now_ns() - t0;
		if (!ok)
			return false;
		if (i > 0 && dt > worst) /* the first call may fault in code */
			worst = dt;
	}
	OPENSSL_cleanse(&v, sizeof(v));
	return worst < 2000;
}
#else
static void cpu_detect(struct vtf_cpu *c)
{
	(void)c;
}
static bool rdseed_timing_ok(void)
{
	return false;
}
#endif

static struct vtf_cpu cpu;
static pthread_once_t cpu_once = PTHREAD_ONCE_INIT;
static bool rdseed_ok;
static pthread_once_t rdseed_once = PTHREAD_ONCE_INIT;

static void cpu_init(void)
{
	cpu_detect(&cpu);
}

const struct vtf_cpu *vtf_cpu(void)
{
	pthread_once(&cpu_once, cpu_init);
	return &cpu;
}

static void rdseed_init(void)
{
	rdseed_ok = vtf_cpu()->rdseed_cpuid && rdseed_timing_ok();
}

bool vtf_rdseed_usable(void)
{
	pthread_once(&rdseed_once, rdseed_init);
	return rdseed_ok;
}

static size_t cpu_bytes(void *buf, size_t len, bool seed)
{
	uint8_t *p = buf;
	size_t done = 0;
#if defined(__x86_64__)
	while (done < len) {
		uint64_t v;
		if (!(seed ? rdseed64(&v) : rdrand64(&v)))
			break;
		size_t m = VTF_MIN(len - done, sizeof(v));
		memcpy(p + done, &v, m);
		done += m;
		OPENSSL_cleanse(&v, sizeof(v));
	}
#else
	(void)p;
	(void)len;
	(void)seed;
#endif
	return done;
}

size_t vtf_rdrand_bytes(void *buf, size_t len)
{
	return vtf_cpu()->rdrand ? cpu_bytes(buf, len, false) : 0;
}

size_t vtf_rdseed_bytes(void *buf, size_t len)
{
	return vtf_rdseed_usable() ? cpu_bytes(buf, len, true) : 0;
}

size_t vtf_getrandom_bytes(void *buf, size_t len)
{
	ssize_t n;
	do {
		/* Never block: before the kernel is seeded this yields nothing. */
		n = getrandom(buf, len, GRND_NONBLOCK);
	} while (n < 0 && errno == EINTR);
	return n > 0 ? (size_t)n : 0;
}

void vtf_detect_inputs(struct vtf_ctx *ctx)
{
	uint32_t f = ctx->opt_flags;
	uint8_t b;

	if (!(f & VTF_OPT_NO_RDRAND) && vtf_cpu()->rdrand)
		ctx->inputs |= VTF_INPUT_RDRAND;
	if ((f & VTF_OPT_RDSEED) && vtf_rdseed_usable())
		ctx->inputs |= VTF_INPUT_RDSEED;
	if (!(f & VTF_OPT_NO_GETRANDOM) && vtf_getrandom_bytes(&b, 1) == 1)
		ctx->inputs |= VTF_INPUT_GETRANDOM;
	if (!(f & VTF_OPT_NO_JITTER))
		ctx->inputs |= VTF_INPUT_JITTER;
	OPENSSL_cleanse(&b, sizeof(b));
}

/* CPU and OS inputs: RDSEED (if usable) or RDRAND, and getrandom. */
static size_t builtin_pull(struct vtf_ctx *ctx, int which, uint8_t *buf, size_t len, uint8_t *id)
{
	switch (which) {
	case 0:
		if (ctx->inputs & VTF_INPUT_RDSEED) {
			*id = VTF_SRC_RDSEED;
			return vtf_rdseed_bytes(buf, len);
		}
		if (ctx->inputs & VTF_INPUT_RDRAND) {
			*id = VTF_SRC_RDRAND;
			return vtf_rdrand_bytes(buf, len);
		}
		return 0;
	case 1: {
		/*
		 * Tried every time, not only if it worked at creation: the
		 * kernel RNG may become ready later (a guest without RDRAND
		 * in its first second). Left out while a new VM generation
		 * waits for the kernel's own reseed: until then every clone's
		 * kernel returns the same bytes.
		 */
		if ((ctx->opt_flags & VTF_OPT_NO_GETRANDOM) || ctx->kernel_wait)
			return 0;
		size_t n = vtf_getrandom_bytes(buf, len);
		if (n)
			ctx->inputs |= VTF_INPUT_GETRANDOM;
		*id = VTF_SRC_GETRANDOM;
		return n;
	}
	}
	return 0;
}

/* Reads one registered source; timeout_ms bounds the wait on an fd. */
static size_t source_pull(struct vtf_ctx *ctx, struct vtf_source *src, uint8_t *buf, size_t len,
			  unsigned flags, int timeout_ms)
{
	ssize_t n = 0;
	bool failed = false;

	if (src->kind == VTF_SOURCE_CALLBACK) {
		n = src->fn(src->arg, buf, len, flags);
		failed = n < 0;
	} else if (src->kind == VTF_SOURCE_FD) {
		struct pollfd pfd = {.fd = src->fd, .events = POLLIN};
		int pr;
		do {
			pr = poll(&pfd, 1, timeout_ms);
		} while (pr < 0 && errno == EINTR);
		if (pr < 0 || (pr > 0 && !(pfd.revents & POLLIN))) {
			failed = true;
		} else if (pr > 0) {
			do {
				n = read(src->fd, buf, len);
			} while (n < 0 && errno == EINTR);
			failed = n < 0 && errno != EAGAIN && errno != EWOULDBLOCK;
		}
	}
	if (failed)
		ctx->st.source_errors++;
	if (n <= 0)
		return 0;
	return (size_t)n > len ? len : (size_t)n; /* distrust an over-long claim */
}

void vtf_sources_poll(struct vtf_ctx *ctx)
{
	uint8_t buf[VTF_POLL_BYTES], id = 0;

	/* A VM generation ID device that appeared since (module loaded later). */
	if (!ctx->genid_attached)
		vtf_genid_attach(ctx, false);
	for (int w = 0; w < 2; w++) {
		size_t n = builtin_pull(ctx, w, buf, sizeof(buf), &id);
		if (n)
			vtf_pool_add(ctx, id, buf, n, true);
	}
	for (unsigned i = 0; i < VTF_MAX_SOURCES; i++) {
		struct vtf_source *src = &ctx->sources[i];
		if (!src->kind)
			continue;
		size_t n = source_pull(ctx, src, buf, sizeof(buf), 0, 0);
		if (n)
			vtf_pool_add(ctx, src->id, buf, n, true);
	}
	OPENSSL_cleanse(buf, sizeof(buf));
}

/* Appends one event to s if it fits; returns the data bytes taken. */
static size_t append_event(uint8_t *s, size_t cap, size_t *off, uint8_t id, const uint8_t *data,
			   size_t n)
{
	if (n == 0 || *off + VTF_EVENT_HDR + n > cap)
		return 0;
	*off += vtf_event_encode(s + *off, id, data, n);
	return n;
}

size_t vtf_sources_fresh(struct vtf_ctx *ctx, uint8_t *s, size_t cap, uint64_t *fresh)
{
	uint8_t buf[VTF_FRESH_BYTES], id = 0;
	size_t off = 0;

	for (int w = 0; w < 2; w++) {
		size_t n = builtin_pull(ctx, w, buf, sizeof(buf), &id);
		*fresh += append_event(s, cap, &off, id, buf, n);
	}
	/* Callbacks first: they may block on their own; fds only if needed. */
	for (int pass = 0; pass < 2; pass++) {
		for (unsigned i = 0; i < VTF_MAX_SOURCES; i++) {
			struct vtf_source *src = &ctx->sources[i];
			if (src->kind != (pass ? VTF_SOURCE_FD : VTF_SOURCE_CALLBACK))
				continue;
			int timeout = *fresh >= VTF_FRESH_MIN ? 0 : (int)ctx->fresh_timeout_ms;
			size_t n = source_pull(ctx, src, buf, sizeof(buf), VTF_PULL_FRESH, timeout);
			*fresh += append_event(s, cap, &off, src->id, buf, n);
		}
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	return off;
}
