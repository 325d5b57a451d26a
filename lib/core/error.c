// SPDX-License-Identifier: Apache-2.0
#include <capgate/error.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/error_internal.h"

int cg_error_set(struct cg_error *err, int code, const char *fmt, ...)
{
	if (code >= 0)
		code = -EINVAL;
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
		err->code = code;
	}
	return code;
}

int cg_error_prefix(struct cg_error *err, const char *fmt, ...)
{
	char pre[CG_ERROR_MAX], old[CG_ERROR_MAX];
	va_list ap;

	if (!err)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	size_t n = strnlen(pre, sizeof(err->msg) - 1);
	memcpy(err->msg, pre, n);
	size_t m = strnlen(old, sizeof(err->msg) - 1 - n);
	memcpy(err->msg + n, old, m);
	err->msg[n + m] = '\0';
	return err->code ? err->code : -EINVAL;
}

int cg_opts_error(struct cg_error *err, int code, const char *type)
{
	if (code == -E2BIG)
		return cg_error_set(err, code, "%s: options this version of capgate does not know are set", type);
	return cg_error_set(err, code, "%s: sz is %s", type, code == -EINVAL ? "too small" : "invalid");
}

void cg_error_clear(struct cg_error *err)
{
	if (err) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}

static cg_log_fn log_fn;
static void *log_user;

void cg_set_log(cg_log_fn fn, void *user)
{
	log_fn = fn;
	log_user = user;
}

void cg_log(enum cg_log_level level, const char *fmt, ...)
{
	char buf[CG_ERROR_MAX];
	va_list ap;

	if (!log_fn)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_fn(level, buf, log_user);
}
