// SPDX-License-Identifier: Apache-2.0
#include <capgate/strbuf.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/json.h"

void cg_strbuf_init(struct cg_strbuf *sb) { memset(sb, 0, sizeof(*sb)); }

void cg_strbuf_release(struct cg_strbuf *sb)
{
	free(sb->buf);
	memset(sb, 0, sizeof(*sb));
}

static bool grow(struct cg_strbuf *sb, size_t extra)
{
	size_t need, ncap;
	char *n;

	if (sb->oom)
		return false;
	need = sb->len + extra + 1;
	if (need <= sb->cap)
		return true;
	ncap = sb->cap ? sb->cap : 256;
	while (ncap < need)
		ncap *= 2;
	n = realloc(sb->buf, ncap);
	if (!n) {
		sb->oom = true;
		return false;
	}
	sb->buf = n;
	sb->cap = ncap;
	return true;
}

void cg_strbuf_add(struct cg_strbuf *sb, const void *p, size_t n)
{
	if (!grow(sb, n))
		return;
	memcpy(sb->buf + sb->len, p, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
}

void cg_strbuf_addf(struct cg_strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !grow(sb, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
}

void cg_strbuf_add_json_str(struct cg_strbuf *sb, const char *s)
{
	cg_strbuf_add(sb, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			cg_strbuf_add(sb, "\\\"", 2);
			break;
		case '\\':
			cg_strbuf_add(sb, "\\\\", 2);
			break;
		case '\n':
			cg_strbuf_add(sb, "\\n", 2);
			break;
		case '\t':
			cg_strbuf_add(sb, "\\t", 2);
			break;
		case '\r':
			cg_strbuf_add(sb, "\\r", 2);
			break;
		default:
			if (*p < 0x20)
				cg_strbuf_addf(sb, "\\u%04x", *p);
			else
				cg_strbuf_add(sb, p, 1);
		}
	}
	cg_strbuf_add(sb, "\"", 1);
}
