/* SPDX-License-Identifier: Apache-2.0 */
/* Shared macros: export control, visible ownership (cleanup attributes) and
 * the options-struct convention. */
#ifndef CAPGATE_COMMON_H
#define CAPGATE_COMMON_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CAPGATE_API __attribute__((visibility("default")))

#define CG_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static inline void cg_freep(void *p) { free(*(void **)p); }
static inline void cg_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(cg_freep)
#define _cleanup_close_ _cleanup_(cg_closep)

/* Hand ownership out of a cleanup-scoped variable. */
#define TAKE_PTR(p)                     \
	({                              \
		__typeof__(p) _p = (p); \
		(p) = NULL;             \
		_p;                     \
	})
#define TAKE_FD(fd)             \
	({                      \
		int _fd = (fd); \
		(fd) = -1;      \
		_fd;            \
	})

/*
 * Options structs: every one starts with `size_t sz`, which the caller sets
 * to sizeof the struct it was compiled with, so that the struct can grow
 * (as libbpf's OPTS_VALID). A function taking one fills a local copy with
 * its defaults and calls CG_OPTS_COPY(&local, opts), which returns 0 or a
 * negative errno:
 *   - @src NULL or src->sz == 0: the defaults stay;
 *   - an older caller (sz smaller): its fields are copied, the fields it
 *     does not know keep their defaults;
 *   - a newer caller (sz larger): the bytes this library does not know must
 *     all be zero, else -E2BIG (an option it cannot honour is never dropped
 *     silently);
 *   - sz smaller than the sz field itself: -EINVAL.
 * Afterwards dst->sz is sizeof(*dst).
 */
static inline int cg_opts_copy(void *dst, size_t dst_sz, const void *src)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t sz;

	if (!src)
		return 0;
	memcpy(&sz, src, sizeof(sz));
	if (sz == 0)
		return 0;
	if (sz < sizeof(size_t))
		return -EINVAL;
	for (size_t i = dst_sz; i < sz; i++)
		if (s[i])
			return -E2BIG;
	memcpy(dst, src, sz < dst_sz ? sz : dst_sz);
	memcpy(dst, &dst_sz, sizeof(dst_sz));
	return 0;
}

#define CG_OPTS_COPY(dst, src)                                                                                    \
	({                                                                                                        \
		_Static_assert(__builtin_types_compatible_p(__typeof__(*(dst)), __typeof__(*(src))),              \
			       "CG_OPTS_COPY: different option structs");                                         \
		_Static_assert(offsetof(__typeof__(*(dst)), sz) == 0, "CG_OPTS_COPY: sz is not the first field"); \
		cg_opts_copy((dst), sizeof(*(dst)), (src));                                                       \
	})

#endif
