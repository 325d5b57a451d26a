/* SPDX-License-Identifier: Apache-2.0 */
/* A growable byte buffer for building output before it is written atomically. */
#ifndef CAPGATE_STRBUF_H
#define CAPGATE_STRBUF_H

#include <capgate/common.h>
#include <capgate/error.h>
#include <capgate/file.h> /* the file reader and writer lived here; kept for callers */

struct cg_strbuf {
	char *buf;
	size_t len, cap;
	bool oom; /* sticky: an allocation failed, content is truncated */
};

CAPGATE_API void cg_strbuf_init(struct cg_strbuf *sb);
CAPGATE_API void cg_strbuf_release(struct cg_strbuf *sb);
/* Append formatted text. */
CAPGATE_API void cg_strbuf_addf(struct cg_strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Append raw bytes. */
CAPGATE_API void cg_strbuf_add(struct cg_strbuf *sb, const void *p, size_t n);
/* Append a string literal (length from sizeof). */
#define CG_STRBUF_LIT(sb, lit) cg_strbuf_add((sb), "" lit, sizeof(lit) - 1)

#endif
