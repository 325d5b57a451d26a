/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One error model for the whole library: functions return 0 or a negative
 * errno and fill an optional struct cg_error with a human-readable message.
 * Context is added by prefixing ("profile.json:12:7: syscalls[3].names[0]: ").
 * Messages are lowercase and carry no final full stop.
 */
#ifndef CAPGATE_ERROR_H
#define CAPGATE_ERROR_H

#include <capgate/common.h>

#define CG_ERROR_MAX 1024

struct cg_error {
	int code; /* negative errno, 0 when unset */
	char msg[CG_ERROR_MAX];
};

/* Set @err (may be NULL) and return @code (a negative errno). */
CAPGATE_API int cg_error_set(struct cg_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prepend context to an error already set, e.g. "file.json:3:5: ". */
CAPGATE_API int cg_error_prefix(struct cg_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Clear an error object. */
CAPGATE_API void cg_error_clear(struct cg_error *err);

/* Library log callback: the library never prints, it reports through this. */
enum cg_log_level { CG_LOG_DEBUG,
		    CG_LOG_INFO,
		    CG_LOG_WARN };
typedef void (*cg_log_fn)(enum cg_log_level level, const char *msg, void *user);

/* Install the log callback (NULL silences the library). */
CAPGATE_API void cg_set_log(cg_log_fn fn, void *user);

#endif
