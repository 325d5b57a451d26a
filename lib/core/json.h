/* SPDX-License-Identifier: Apache-2.0 */
/* Internal: the one JSON writer every emitter uses (profiles, closures,
 * reports, AdmissionReview answers). It tracks commas, indentation and
 * string escapes so no caller writes a quote or a comma by hand.
 *
 * Layout: @indent 0 writes compact JSON ({"a":[1,2]}); @indent N writes one
 * member per line, N spaces per level, "key": value. A container opened with
 * the _inline variant keeps its members on one line in either layout
 * (["a", "b"] pretty, ["a","b"] compact). Empty containers are {} and [].
 * The tight variant of the pretty layout keeps its line structure but drops
 * the space after ':' and ',' (the closure's own layout).
 * Errors (a key outside an object, a value without a key in an object, a
 * second top-level value, unbalanced close, nesting deeper than
 * CG_JSON_MAX_DEPTH) are programming errors: they set @bad, which
 * cg_json_finish() reports as -EINVAL. An allocation failure is the
 * strbuf's sticky oom (-ENOMEM). */
#ifndef CAPGATE_CORE_JSON_H
#define CAPGATE_CORE_JSON_H

#include <capgate/strbuf.h>
#include <stdint.h>

#define CG_JSON_MAX_DEPTH 64

/* Append a string as a JSON string literal (with quotes and escapes);
 * lib/core/strbuf.c. */
void cg_strbuf_add_json_str(struct cg_strbuf *sb, const char *s);

struct cg_json {
	struct cg_strbuf *sb;
	unsigned indent;
	unsigned depth;
	bool tight; /* no space after ':' and ',' */
	bool bad;
	bool after_key;
	bool started;      /* the top-level value has begun */
	uint64_t nonempty; /* bit d: the container at depth d has a member */
	uint64_t inline_;  /* bit d: the container at depth d stays on one line */
	uint64_t is_obj;   /* bit d: the container at depth d is an object */
};

/* Write one JSON value into @sb: compact (@indent 0) or pretty (@indent
 * spaces per level). */
void cg_json_init(struct cg_json *j, struct cg_strbuf *sb, unsigned indent);
/* The pretty layout without the space after ':' and ',': one member per
 * line, compact tokens. */
void cg_json_init_tight(struct cg_json *j, struct cg_strbuf *sb, unsigned indent);
/* 0, -ENOMEM (the buffer ran out) or -EINVAL (unbalanced or misplaced
 * calls, or no value at all). A trailing newline is added in the pretty
 * layout. */
int cg_json_finish(struct cg_json *j);

void cg_json_obj_open(struct cg_json *j);
void cg_json_obj_open_inline(struct cg_json *j);
void cg_json_obj_close(struct cg_json *j);
void cg_json_arr_open(struct cg_json *j);
void cg_json_arr_open_inline(struct cg_json *j);
void cg_json_arr_close(struct cg_json *j);

/* A member name; the next value call is its value. */
void cg_json_key(struct cg_json *j, const char *key);
/* A member name that stays on the previous member's line in the pretty
 * layout ("defaultAction": "X", "defaultErrnoRet": 1); the same as
 * cg_json_key() for a container's first member and in one-line layouts. */
void cg_json_key_same_line(struct cg_json *j, const char *key);
void cg_json_str(struct cg_json *j, const char *s); /* NULL writes null */
void cg_json_strn(struct cg_json *j, const char *s, size_t n);
void cg_json_int(struct cg_json *j, long long v);
void cg_json_uint(struct cg_json *j, unsigned long long v);
void cg_json_bool(struct cg_json *j, bool v);
void cg_json_null(struct cg_json *j);
/* A value that is already JSON (e.g. a document read from a file). */
void cg_json_raw(struct cg_json *j, const char *json, size_t n);
/* A value written by printf; the caller promises it is valid JSON
 * (a number, usually). */
void cg_json_rawf(struct cg_json *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* key + value in one call */
static inline void cg_json_kv_str(struct cg_json *j, const char *k, const char *v)
{
	cg_json_key(j, k);
	cg_json_str(j, v);
}
static inline void cg_json_kv_int(struct cg_json *j, const char *k, long long v)
{
	cg_json_key(j, k);
	cg_json_int(j, v);
}
static inline void cg_json_kv_uint(struct cg_json *j, const char *k, unsigned long long v)
{
	cg_json_key(j, k);
	cg_json_uint(j, v);
}
static inline void cg_json_kv_bool(struct cg_json *j, const char *k, bool v)
{
	cg_json_key(j, k);
	cg_json_bool(j, v);
}

#endif
