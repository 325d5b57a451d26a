/* SPDX-License-Identifier: Apache-2.0 */
/* Shared macros: export control and visible ownership (cleanup attributes). */
#ifndef CAPGATE_COMMON_H
#define CAPGATE_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdlib.h>
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

#endif
