/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Overlap detector for clone tests: shared_blocks(x, y) counts the 16-byte
 * windows of y, at every byte offset, that equal an aligned 16-byte block of
 * x. Zero means the two streams share no 16-byte block, aligned or not.
 */
#ifndef VTF_BLOCKSET_H
#define VTF_BLOCKSET_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct blockset {
	uint8_t (*slot)[16];
	uint8_t *used;
	size_t mask;
};

static inline uint64_t bs_hash(const uint8_t *b)
{
	uint64_t x, y;
	memcpy(&x, b, 8);
	memcpy(&y, b + 8, 8);
	x ^= y * 0x9e3779b97f4a7c15ull;
	return x ^ (x >> 29);
}

static inline bool bs_init(struct blockset *s, size_t n)
{
	size_t cap = 16;
	while (cap < 2 * n)
		cap *= 2;
	s->slot = malloc(cap * 16);
	s->used = calloc(cap, 1);
	s->mask = cap - 1;
	return s->slot && s->used;
}

static inline void bs_free(struct blockset *s)
{
	free(s->slot);
	free(s->used);
}

/* Returns true if the block was already present. */
static inline bool bs_add(struct blockset *s, const uint8_t *b)
{
	for (size_t i = bs_hash(b) & s->mask;; i = (i + 1) & s->mask) {
		if (!s->used[i]) {
			s->used[i] = 1;
			memcpy(s->slot[i], b, 16);
			return false;
		}
		if (memcmp(s->slot[i], b, 16) == 0)
			return true;
	}
}

static inline bool bs_has(const struct blockset *s, const uint8_t *b)
{
	for (size_t i = bs_hash(b) & s->mask; s->used[i]; i = (i + 1) & s->mask)
		if (memcmp(s->slot[i], b, 16) == 0)
			return true;
	return false;
}

/* Aligned blocks of x that repeat within x. */
static inline size_t self_repeats(const uint8_t *x, size_t len)
{
	struct blockset s;
	size_t n = 0;
	if (!bs_init(&s, len / 16))
		return (size_t)-1;
	for (size_t i = 0; i + 16 <= len; i += 16)
		n += bs_add(&s, x + i);
	bs_free(&s);
	return n;
}

static inline size_t shared_blocks(const uint8_t *x, size_t xlen, const uint8_t *y, size_t ylen)
{
	struct blockset s;
	size_t n = 0;
	if (!bs_init(&s, xlen / 16))
		return (size_t)-1;
	for (size_t i = 0; i + 16 <= xlen; i += 16)
		bs_add(&s, x + i);
	for (size_t j = 0; j + 16 <= ylen; j++)
		n += bs_has(&s, y + j);
	bs_free(&s);
	return n;
}

#endif
