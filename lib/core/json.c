// SPDX-License-Identifier: Apache-2.0
/* The one JSON writer (see core/json.h). */
#include "core/json.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BIT(d) (UINT64_C(1) << (d))

void cg_json_init(struct cg_json *j, struct cg_strbuf *sb, unsigned indent)
{
	memset(j, 0, sizeof(*j));
	j->sb = sb;
	j->indent = indent;
}

void cg_json_init_tight(struct cg_json *j, struct cg_strbuf *sb, unsigned indent)
{
	cg_json_init(j, sb, indent);
	j->tight = true;
}

static bool in_inline(const struct cg_json *j)
{
	return j->indent == 0 || (j->depth && (j->inline_ & BIT(j->depth - 1)));
}

static void newline(struct cg_json *j, unsigned depth)
{
	cg_strbuf_add(j->sb, "\n", 1);
	for (unsigned i = 0; i < depth * j->indent; i++)
		cg_strbuf_add(j->sb, " ", 1);
}

/* The comma and line break before a member of the innermost container. */
static void before_member(struct cg_json *j, bool same_line)
{
	uint64_t bit = BIT(j->depth - 1);
	bool had = j->nonempty & bit;
	bool one_line = in_inline(j) || (same_line && had);

	if (had) {
		bool space = j->indent && !j->tight && one_line;
		cg_strbuf_add(j->sb, space ? ", " : ",", space ? 2 : 1);
	}
	j->nonempty |= bit;
	if (!one_line)
		newline(j, j->depth);
}

/* Before any value: the separator and line break its position needs. */
static void before_value(struct cg_json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (!j->depth) {
		if (j->started)
			j->bad = true; /* one document, one value */
		j->started = true;
		return;
	}
	if (j->is_obj & BIT(j->depth - 1)) {
		j->bad = true; /* a value in an object needs a key */
		return;
	}
	before_member(j, false);
}

static void key(struct cg_json *j, const char *k, bool same_line)
{
	if (!k || !j->depth || !(j->is_obj & BIT(j->depth - 1)) || j->after_key) {
		j->bad = true;
		return;
	}
	before_member(j, same_line);
	cg_strbuf_add_json_str(j->sb, k);
	cg_strbuf_add(j->sb, j->indent && !j->tight ? ": " : ":", j->indent && !j->tight ? 2 : 1);
	j->after_key = true;
}

void cg_json_key(struct cg_json *j, const char *k) { key(j, k, false); }
void cg_json_key_same_line(struct cg_json *j, const char *k) { key(j, k, true); }

static void open(struct cg_json *j, char c, bool obj, bool inl)
{
	before_value(j);
	if (j->depth >= CG_JSON_MAX_DEPTH) {
		j->bad = true;
		return;
	}
	/* a container inside an inline one is inline too */
	if (inl || (j->depth && (j->inline_ & BIT(j->depth - 1))))
		j->inline_ |= BIT(j->depth);
	else
		j->inline_ &= ~BIT(j->depth);
	if (obj)
		j->is_obj |= BIT(j->depth);
	else
		j->is_obj &= ~BIT(j->depth);
	j->nonempty &= ~BIT(j->depth);
	j->depth++;
	cg_strbuf_add(j->sb, &c, 1);
}

static void close_(struct cg_json *j, char c, bool obj)
{
	if (!j->depth || j->after_key || !!(j->is_obj & BIT(j->depth - 1)) != obj) {
		j->bad = true;
		return;
	}
	bool had = j->nonempty & BIT(j->depth - 1);
	bool inl = in_inline(j);
	j->depth--;
	if (had && !inl)
		newline(j, j->depth);
	cg_strbuf_add(j->sb, &c, 1);
}

void cg_json_obj_open(struct cg_json *j) { open(j, '{', true, false); }
void cg_json_obj_open_inline(struct cg_json *j) { open(j, '{', true, true); }
void cg_json_obj_close(struct cg_json *j) { close_(j, '}', true); }
void cg_json_arr_open(struct cg_json *j) { open(j, '[', false, false); }
void cg_json_arr_open_inline(struct cg_json *j) { open(j, '[', false, true); }
void cg_json_arr_close(struct cg_json *j) { close_(j, ']', false); }

void cg_json_str(struct cg_json *j, const char *s)
{
	if (!s) {
		cg_json_null(j);
		return;
	}
	before_value(j);
	cg_strbuf_add_json_str(j->sb, s);
}

void cg_json_strn(struct cg_json *j, const char *s, size_t n)
{
	char *copy = strndup(s, n);

	if (!copy) {
		j->sb->oom = true;
		return;
	}
	cg_json_str(j, copy);
	free(copy);
}

void cg_json_int(struct cg_json *j, long long v)
{
	before_value(j);
	cg_strbuf_addf(j->sb, "%lld", v);
}

void cg_json_uint(struct cg_json *j, unsigned long long v)
{
	before_value(j);
	cg_strbuf_addf(j->sb, "%llu", v);
}

void cg_json_bool(struct cg_json *j, bool v)
{
	before_value(j);
	cg_strbuf_add(j->sb, v ? "true" : "false", v ? 4 : 5);
}

void cg_json_null(struct cg_json *j)
{
	before_value(j);
	cg_strbuf_add(j->sb, "null", 4);
}

void cg_json_raw(struct cg_json *j, const char *json, size_t n)
{
	before_value(j);
	cg_strbuf_add(j->sb, json, n);
}

void cg_json_rawf(struct cg_json *j, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		j->sb->oom = true;
		return;
	}
	cg_json_raw(j, s, (size_t)n);
	free(s);
}

int cg_json_finish(struct cg_json *j)
{
	if (j->bad || j->depth || j->after_key || !j->started)
		return -EINVAL;
	if (j->indent)
		cg_strbuf_add(j->sb, "\n", 1);
	return j->sb->oom ? -ENOMEM : 0;
}
