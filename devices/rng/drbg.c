/* SPDX-License-Identifier: Apache-2.0 */
#include "drbg.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "log.h"
#include "secmem.h"

static void wipe_buffer(struct rng_drbg *g)
{
	if (g->buf_len)
		OPENSSL_cleanse(g->buf, g->buf_len);
	g->buf_off = g->buf_len = 0;
}

/* Enters the failed state (lock held). */
static void set_failed(struct rng_drbg *g, const char *why)
{
	wipe_buffer(g);
	ERR_clear_error();
	if (!g->failed) {
		atomic_fetch_add(&g->stats.degraded_events, 1);
		vt_err("%s: entropy generator DEGRADED: %s; requests wait until a healthy reseed",
		       g->name, why);
	}
	g->failed = true;
	atomic_store(&g->degraded, true);
	snprintf(g->reason, sizeof(g->reason), "%s", why);
	g->next_retry_ns = vt_now_ns() + g->cfg.retry_ns;
}

/* Draws a seed and mixes it in as entropy input. Lock held. */
static int reseed_fresh(struct rng_drbg *g, const void *adin, size_t adin_len)
{
	uint8_t *seed = g->seed_buf;
	int e = rng_seed_draw(&g->seed, seed, RNG_DRBG_SEED_LEN);
	if (e < 0) {
		atomic_fetch_add(
		    e == -EBADMSG ? &g->stats.health_failures : &g->stats.seed_failures, 1);
		char why[128];
		snprintf(why, sizeof(why), "seed source: %s", g->seed.last_error);
		set_failed(g, why);
		return -EIO;
	}
	int ok = EVP_RAND_reseed(g->ctx, 0, seed, RNG_DRBG_SEED_LEN, adin, adin_len);
	OPENSSL_cleanse(seed, RNG_DRBG_SEED_LEN);
	if (!ok || EVP_RAND_get_state(g->ctx) != EVP_RAND_STATE_READY) {
		atomic_fetch_add(&g->stats.drbg_failures, 1);
		set_failed(g, "EVP_RAND_reseed failed");
		return -EIO;
	}
	wipe_buffer(g);
	g->small_refill = true;
	g->since_reseed = 0;
	g->clock_check_at = RNG_DRBG_CLOCK_EVERY;
	g->last_reseed_ns = vt_now_ns();
	atomic_fetch_add(&g->stats.reseeds, 1);
	return 0;
}

/* (Re)instantiates from scratch and seeds. Lock held. */
static int instantiate(struct rng_drbg *g)
{
	if (g->instantiated) {
		(void)EVP_RAND_uninstantiate(g->ctx);
		g->instantiated = false;
	}
	char pers[128];
	int n = snprintf(pers, sizeof(pers), "vtrust-rng/%s/%s", g->name,
			 g->cfg.own_libctx ? "privileged" : "shared");
	if (!EVP_RAND_instantiate(g->ctx, 256, 0, (const unsigned char *)pers, (size_t)n, NULL) ||
	    EVP_RAND_get_state(g->ctx) != EVP_RAND_STATE_READY) {
		atomic_fetch_add(&g->stats.drbg_failures, 1);
		set_failed(g, "EVP_RAND_instantiate failed");
		return -EIO;
	}
	g->instantiated = true;
	int e = reseed_fresh(g, NULL, 0);
	if (e < 0)
		return e;
	if (g->failed)
		vt_notice("%s: entropy generator healthy again", g->name);
	g->failed = false;
	atomic_store(&g->degraded, false);
	g->reason[0] = '\0';
	return 0;
}

int rng_drbg_new(const struct rng_drbg_cfg *cfg, struct rng_drbg **ret)
{
	struct rng_drbg *g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	pthread_mutex_init(&g->mu, NULL);
	g->cfg = *cfg;
	snprintf(g->name, sizeof(g->name), "%s", cfg->name ? cfg->name : "rng");
	g->cfg.name = g->name;
	rng_seed_init(&g->seed, cfg->fault, cfg->fault_after);
	g->buf = vt_secmem_alloc(RNG_DRBG_BUF);
	g->seed_buf = vt_secmem_alloc(RNG_DRBG_SEED_LEN);
	int err = -ENOMEM;
	if (!g->buf || !g->seed_buf)
		goto fail;
	if (cfg->own_libctx) {
		g->libctx = OSSL_LIB_CTX_new();
		if (!g->libctx)
			goto fail;
	}
	err = -ENOSYS;
	g->rand = EVP_RAND_fetch(g->libctx, "CTR-DRBG", NULL);
	if (!g->rand)
		goto fail;
	g->ctx = EVP_RAND_CTX_new(g->rand, NULL);
	if (!g->ctx)
		goto fail;
	unsigned zero = 0;
	time_t no_time = 0;
	char cipher[] = "AES-256-CTR";
	int use_df = 1;
	OSSL_PARAM p[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_DRBG_PARAM_CIPHER, cipher, 0),
	    OSSL_PARAM_construct_int(OSSL_DRBG_PARAM_USE_DF, &use_df),
	    OSSL_PARAM_construct_uint(OSSL_DRBG_PARAM_RESEED_REQUESTS, &zero),
	    OSSL_PARAM_construct_time_t(OSSL_DRBG_PARAM_RESEED_TIME_INTERVAL, &no_time),
	    OSSL_PARAM_construct_end(),
	};
	if (!EVP_RAND_CTX_set_params(g->ctx, p))
		goto fail;
	size_t maxreq = 0;
	OSSL_PARAM q[] = {
	    OSSL_PARAM_construct_size_t(OSSL_RAND_PARAM_MAX_REQUEST, &maxreq),
	    OSSL_PARAM_construct_end(),
	};
	if (!EVP_RAND_CTX_get_params(g->ctx, q) || maxreq == 0)
		maxreq = 4096; /* be safe if the provider does not say */
	g->max_request = maxreq;
	pthread_mutex_lock(&g->mu);
	(void)instantiate(g); /* failure: starts degraded, retried later */
	pthread_mutex_unlock(&g->mu);
	*ret = g;
	return 0;
fail:
	ERR_clear_error();
	rng_drbg_free(g);
	return err;
}

void rng_drbg_free(struct rng_drbg *g)
{
	if (!g)
		return;
	if (g->ctx) {
		if (g->instantiated)
			(void)EVP_RAND_uninstantiate(g->ctx);
		EVP_RAND_CTX_free(g->ctx);
	}
	EVP_RAND_free(g->rand);
	OSSL_LIB_CTX_free(g->libctx);
	vt_secmem_free(g->buf);
	vt_secmem_free(g->seed_buf);
	OPENSSL_cleanse(&g->seed, sizeof(g->seed));
	pthread_mutex_destroy(&g->mu);
	free(g);
}

/* The time-based reseed, checked once per batch or per RNG_DRBG_CLOCK_EVERY bytes. */
static bool reseed_time_due(struct rng_drbg *g)
{
	if (!g->cfg.reseed_ns ||
	    (!atomic_exchange_explicit(&g->clock_check, false, memory_order_relaxed) &&
	     g->since_reseed < g->clock_check_at))
		return false;
	g->clock_check_at = g->since_reseed + RNG_DRBG_CLOCK_EVERY;
	return vt_now_ns() - g->last_reseed_ns >= g->cfg.reseed_ns;
}

int rng_drbg_begin(struct rng_drbg *g, uint64_t *retry_ns)
{
	pthread_mutex_lock(&g->mu);
	if (g->failed) {
		uint64_t now = vt_now_ns();
		if (now < g->next_retry_ns || instantiate(g) < 0) {
			*retry_ns = g->next_retry_ns > now ? g->next_retry_ns - now : 1000000;
			pthread_mutex_unlock(&g->mu);
			return -EAGAIN;
		}
	} else if (g->since_reseed >= g->cfg.reseed_bytes || reseed_time_due(g)) {
		if (reseed_fresh(g, NULL, 0) < 0) {
			*retry_ns = g->cfg.retry_ns;
			pthread_mutex_unlock(&g->mu);
			return -EAGAIN;
		}
	}
	return 0;
}

void rng_drbg_end(struct rng_drbg *g)
{
	pthread_mutex_unlock(&g->mu);
}

/* One generate call of n ≤ max_request bytes. Lock held. */
static int generate(struct rng_drbg *g, uint8_t *out, size_t n)
{
	if (!EVP_RAND_generate(g->ctx, out, n, 256, 0, NULL, 0)) {
		OPENSSL_cleanse(out, n);
		atomic_fetch_add(&g->stats.drbg_failures, 1);
		set_failed(g, "EVP_RAND_generate failed");
		return -EIO;
	}
	g->since_reseed += n;
	atomic_fetch_add_explicit(&g->stats.generated, n, memory_order_relaxed);
	atomic_fetch_add_explicit(&g->stats.generate_calls, 1, memory_order_relaxed);
	return 0;
}

int rng_drbg_bytes(struct rng_drbg *g, uint8_t *out, size_t n)
{
	if (g->failed)
		return -EIO;
	while (n) {
		size_t have = g->buf_len - g->buf_off;
		if (have == 0) {
			if (n >= RNG_DRBG_BUF) {
				/* Large spans: straight into the destination. */
				size_t k = VT_MIN(n, g->max_request);
				if (generate(g, out, k) < 0)
					return -EIO;
				out += k;
				n -= k;
				continue;
			}
			size_t k = VT_MIN((size_t)RNG_DRBG_BUF, g->max_request);
			if (g->small_refill && n <= RNG_DRBG_FIRST_REFILL)
				k = RNG_DRBG_FIRST_REFILL;
			g->small_refill = false;
			if (generate(g, g->buf, k) < 0)
				return -EIO;
			g->buf_off = 0;
			g->buf_len = k;
			have = k;
		}
		size_t k = VT_MIN(n, have);
		memcpy(out, g->buf + g->buf_off, k);
		g->buf_off += k;
		out += k;
		n -= k;
	}
	return 0;
}

void rng_drbg_prefill(struct rng_drbg *g)
{
	uint64_t retry;
	if (rng_drbg_begin(g, &retry) < 0)
		return; /* degraded: the retry timer handles it */
	size_t have = g->buf_len - g->buf_off;
	size_t cap = VT_MIN((size_t)RNG_DRBG_BUF, g->max_request);
	if (have < cap / 2) {
		/* Keep the unread bytes first (their order), then fresh output after them. */
		if (have && g->buf_off)
			memmove(g->buf, g->buf + g->buf_off, have);
		g->buf_off = 0;
		g->buf_len = have;
		/* On failure generate() wipes the new part and set_failed() the rest. */
		if (generate(g, g->buf + have, cap - have) == 0) {
			g->buf_len = cap;
			g->small_refill = false;
			atomic_fetch_add_explicit(&g->stats.prefills, 1, memory_order_relaxed);
		}
	}
	rng_drbg_end(g);
}

int rng_drbg_reseed(struct rng_drbg *g, const void *adin, size_t adin_len)
{
	if (g->failed)
		return -EIO;
	return reseed_fresh(g, adin, adin_len);
}

int rng_drbg_reseed_for_event(struct rng_drbg *g, uint64_t epoch, uint64_t *retry_ns)
{
	if (rng_drbg_begin(g, retry_ns) < 0)
		return -EAGAIN;
	int e = 0;
	if (g->event_epoch < epoch) {
		uint8_t adin[24] = "vtrust-leak-epoch";
		memcpy(adin + 16, &epoch, sizeof(epoch));
		e = reseed_fresh(g, adin, sizeof(adin));
		if (e == 0)
			g->event_epoch = epoch;
		else
			*retry_ns = g->cfg.retry_ns;
	}
	rng_drbg_end(g);
	return e < 0 ? -EAGAIN : 0;
}

void rng_drbg_reason(struct rng_drbg *g, char *buf, size_t len)
{
	pthread_mutex_lock(&g->mu);
	snprintf(buf, len, "%s", g->reason);
	pthread_mutex_unlock(&g->mu);
}

void rng_drbg_set_fault(struct rng_drbg *g, enum rng_seed_fault fault, uint64_t after)
{
	pthread_mutex_lock(&g->mu);
	g->seed.fault = fault;
	g->seed.fault_after = g->seed.draws + after;
	pthread_mutex_unlock(&g->mu);
}
