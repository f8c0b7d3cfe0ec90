/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Small compiler helpers shared by every vtrust component.
 *
 * Errors are negative errno values (systemd style); VT_MUST_USE makes a
 * forgotten check a build failure under -Werror.
 */
#ifndef VTRUST_COMPILER_H
#define VTRUST_COMPILER_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define VT_MUST_USE __attribute__((warn_unused_result))
#define VT_UNUSED __attribute__((unused))
#define VT_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define VT_NORETURN __attribute__((noreturn))
#define VT_LIKELY(x) __builtin_expect(!!(x), 1)
#define VT_UNLIKELY(x) __builtin_expect(!!(x), 0)

#define VT_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define VT_MIN(a, b) ((a) < (b) ? (a) : (b))
#define VT_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Compile-time layout checks for wire structs. */
#define VT_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)

/* Checked arithmetic: return true on overflow (never wrap silently). */
#define vt_add_overflow(a, b, res) __builtin_add_overflow(a, b, res)
#define vt_mul_overflow(a, b, res) __builtin_mul_overflow(a, b, res)

/* Cleanup helpers (systemd style). */
#define VT_CLEANUP(f) __attribute__((cleanup(f)))

static inline void vt_closep(int *fd)
{
	if (*fd >= 0)
		(void)close(*fd);
	*fd = -1;
}
#define _cleanup_close_ VT_CLEANUP(vt_closep)

static inline void vt_freep(void *p)
{
	free(*(void **)p);
	*(void **)p = NULL;
}
#define _cleanup_free_ VT_CLEANUP(vt_freep)

/* Move ownership out of a cleanup variable. */
#define VT_TAKE_FD(fd)                                                                             \
	({                                                                                         \
		int _fd_ = (fd);                                                                   \
		(fd) = -1;                                                                         \
		_fd_;                                                                              \
	})
#define VT_TAKE_PTR(p)                                                                             \
	({                                                                                         \
		__typeof__(p) _p_ = (p);                                                           \
		(p) = NULL;                                                                        \
		_p_;                                                                               \
	})

/* Byte order of wire and file fields: byteorder.h. */
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "vtrust assumes a little-endian host (virtio 1.x rings are little-endian)"
#endif

#endif
