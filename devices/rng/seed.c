/* SPDX-License-Identifier: Apache-2.0 */
#include "seed.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>

void rng_seed_init(struct rng_seed *s, enum rng_seed_fault fault, uint64_t fault_after)
{
	memset(s, 0, sizeof(*s));
	rng_health_init(&s->health);
	s->fault = fault;
	s->fault_after = fault_after;
	s->fault_state = 0x9e3779b97f4a7c15ull;
}

/* The raw source: getrandom, or the injected fault once it is due. */
static int source_read(struct rng_seed *s, uint8_t *out, size_t n)
{
	if (s->fault != RNG_SEED_FAULT_NONE && s->draws >= s->fault_after) {
		switch (s->fault) {
		case RNG_SEED_FAULT_ERROR:
			return -EIO;
		case RNG_SEED_FAULT_STUCK:
			memset(out, 0x5a, n);
			return 0;
		case RNG_SEED_FAULT_BIASED:
			for (size_t i = 0; i < n; i++) {
				s->fault_state ^= s->fault_state << 13;
				s->fault_state ^= s->fault_state >> 7;
				s->fault_state ^= s->fault_state << 17;
				out[i] = (uint8_t)(0x40 + (s->fault_state >> 61));
			}
			return 0;
		case RNG_SEED_FAULT_NONE:
			break;
		}
	}
	size_t done = 0;
	while (done < n) {
		ssize_t r = getrandom(out + done, n - done, GRND_NONBLOCK);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -EIO;
		done += (size_t)r;
	}
	return 0;
}

static int fail(struct rng_seed *s, uint8_t *out, size_t n, int err, const char *why)
{
	OPENSSL_cleanse(out, n);
	s->started = false;
	s->last_error = why;
	if (err == -EBADMSG)
		s->health_failures++;
	else
		s->source_failures++;
	return err;
}

int rng_seed_draw(struct rng_seed *s, uint8_t *out, size_t n)
{
	if (n > RNG_SEED_MAX_DRAW)
		return -EINVAL;
	if (!s->started) {
		/* 90B start-up test: fresh test state, 1024 samples that must pass, discarded. */
		uint8_t tmp[RNG_SEED_MAX_DRAW];
		rng_health_init(&s->health);
		for (unsigned done = 0; done < RNG_HEALTH_STARTUP_SAMPLES; done += sizeof(tmp)) {
			int e = source_read(s, tmp, sizeof(tmp));
			if (e < 0) {
				OPENSSL_cleanse(tmp, sizeof(tmp));
				return fail(s, out, n, -EIO,
					    e == -EAGAIN ? "getrandom: kernel pool not initialised"
							 : "getrandom failed (start-up)");
			}
			enum rng_health_result h = rng_health_feed(&s->health, tmp, sizeof(tmp));
			OPENSSL_cleanse(tmp, sizeof(tmp));
			if (h != RNG_HEALTH_OK)
				return fail(s, out, n, -EBADMSG,
					    h == RNG_HEALTH_RCT_FAIL
						? "start-up repetition count test failed"
						: "start-up adaptive proportion test failed");
		}
		s->started = true;
	}
	int e = source_read(s, out, n);
	if (e < 0)
		return fail(s, out, n, -EIO,
			    e == -EAGAIN ? "getrandom: kernel pool not initialised"
					 : "getrandom failed");
	enum rng_health_result h = rng_health_feed(&s->health, out, n);
	if (h != RNG_HEALTH_OK)
		return fail(s, out, n, -EBADMSG, rng_health_result_name(h));
	s->draws++;
	return 0;
}

int rng_seed_fault_parse(const char *str, enum rng_seed_fault *ret)
{
	static const char *const names[] = {"none", "error", "stuck", "biased"};
	for (unsigned i = 0; i < VT_ARRAY_SIZE(names); i++) {
		if (strcmp(str, names[i]) == 0) {
			*ret = (enum rng_seed_fault)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *rng_seed_fault_name(enum rng_seed_fault f)
{
	switch (f) {
	case RNG_SEED_FAULT_NONE:
		return "none";
	case RNG_SEED_FAULT_ERROR:
		return "error";
	case RNG_SEED_FAULT_STUCK:
		return "stuck";
	case RNG_SEED_FAULT_BIASED:
		return "biased";
	}
	return "?";
}
