/* SPDX-License-Identifier: Apache-2.0 */
/* Internal to the error model (lib/core/error.c): how the library logs --
 * it never prints, it hands a message to the callback the caller installed
 * with cg_set_log() -- and the one message for options a function refuses. */
#ifndef CAPGATE_CORE_ERROR_INTERNAL_H
#define CAPGATE_CORE_ERROR_INTERNAL_H

#include <capgate/error.h>

/* Log through the installed callback (nothing if none is installed). */
void cg_log(enum cg_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Set @err for a CG_OPTS_COPY() failure @code on the options struct named
 * @type ("cg_compile_opts") and return @code. */
int cg_opts_error(struct cg_error *err, int code, const char *type);

#endif
