// SPDX-License-Identifier: Apache-2.0
/*
 * A document as a tree of positioned nodes (tree.h): capgate's strict JSON
 * reader, the conversion of a libfyaml document, and the scalar rules every
 * reader of capgate applies (what is null, a string, an unsigned integer, a
 * bool, and the messages when a value is none of them).
 *
 * Why a JSON reader of capgate's own: a seccomp profile is JSON, and `capgate
 * run` reads one on every start. libfyaml reads JSON as YAML in a strict mode:
 * a token queue, a node and a few allocations per value, and most of the
 * instructions of a start (bench/README.md). The reader below makes one pass
 * and one allocation block. It takes on only what it reads exactly as
 * libfyaml does; everything else -- every malformed input, and spellings
 * whose reading by libfyaml it does not vouch for (a CR, NEL and the
 * Unicode line separators, a BOM, a NUL, duplicate keys, deep nesting, a very
 * large file) -- it declines, and the caller hands the bytes to libfyaml,
 * whose checks and messages (doc.c) are the ones users see.
 */
#include "core/tree.h"

#include "core/doc.h"
#include "core/error_internal.h"
#include "core/utf8.h"
#include "testing.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the arena: nodes and texts of one tree, freed together ---- */

struct chunk {
	struct chunk *next;
	size_t used, cap;
	max_align_t data[];
};

struct cg_tree {
	struct cg_tnode *root;
	struct chunk *chunks;
};

static void *arena_alloc(struct cg_tree *t, size_t n)
{
	struct chunk *c = t->chunks;
	n = (n + 15) & ~(size_t)15;
	if (!c || c->cap - c->used < n) {
		size_t cap = c ? 2 * c->cap : 1024;
		if (cap < n)
			cap = n;
		if (!(c = malloc(sizeof(*c) + cap)))
			return NULL;
		c->next = t->chunks;
		c->used = 0;
		c->cap = cap;
		t->chunks = c;
	}
	void *p = (char *)c->data + c->used;
	c->used += n;
	return p;
}

static struct cg_tree *tree_new(size_t hint)
{
	struct cg_tree *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	/* one block for a typical document: nodes plus texts come to about
	 * four times the bytes of a JSON profile */
	if (hint && !arena_alloc(t, hint < (1u << 20) ? 4 * hint + 4096 : hint)) {
		free(t);
		return NULL;
	}
	if (t->chunks)
		t->chunks->used = 0;
	return t;
}

void cg_tree_free(struct cg_tree *t)
{
	if (!t)
		return;
	for (struct chunk *c = t->chunks, *n; c; c = n) {
		n = c->next;
		free(c);
	}
	free(t);
}

struct cg_tnode *cg_tree_root(const struct cg_tree *t) { return t ? t->root : NULL; }

static struct cg_tnode *node_new(struct cg_tree *t, uint8_t kind, uint8_t style)
{
	struct cg_tnode *n = arena_alloc(t, sizeof(*n));
	if (n)
		*n = (struct cg_tnode){ .kind = kind, .style = style };
	return n;
}

/* ---- the JSON reader ---- */

enum { DECLINE = 0,
       NOMEM = -1 };

struct jr {
	const unsigned char *p, *end;
	int line;
	const unsigned char *bol; /* first byte of the line */
	int col_extra;            /* continuation bytes before p on this line (columns count characters) */
	struct cg_tree *t;
};

static inline int col_of(const struct jr *r, const unsigned char *at)
{
	return (int)(at - r->bol) + 1 - r->col_extra;
}

/* JSON whitespace. A CR is declined: libfyaml 0.7 counts a line at the CR
 * and another at the LF of a CRLF, and its positions are the ones reported. */
static int skip_ws(struct jr *r)
{
	for (; r->p < r->end; r->p++) {
		unsigned char c = *r->p;
		if (c == ' ' || c == '\t')
			continue;
		if (c == '\r')
			return DECLINE;
		if (c == '\n') {
			r->line++;
			r->bol = r->p + 1;
			r->col_extra = 0;
			continue;
		}
		break;
	}
	return 1;
}

static void put_utf8(char **o, uint32_t cp)
{
	unsigned char *u = (unsigned char *)*o;
	if (cp < 0x80) {
		*u++ = (unsigned char)cp;
	} else if (cp < 0x800) {
		*u++ = (unsigned char)(0xc0 | cp >> 6);
		*u++ = (unsigned char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*u++ = (unsigned char)(0xe0 | cp >> 12);
		*u++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		*u++ = (unsigned char)(0x80 | (cp & 0x3f));
	} else {
		*u++ = (unsigned char)(0xf0 | cp >> 18);
		*u++ = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		*u++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		*u++ = (unsigned char)(0x80 | (cp & 0x3f));
	}
	*o = (char *)u;
}

static int hex4(const unsigned char *p, const unsigned char *end, uint32_t *ret)
{
	uint32_t v = 0;
	if (end - p < 4)
		return DECLINE;
	for (int i = 0; i < 4; i++) {
		unsigned char c = p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return DECLINE;
	}
	*ret = v;
	return 1;
}

/* One UTF-8 character at p (not ASCII): its length, or 0 if invalid or one
 * libfyaml might read as a line break or a byte order mark. */
static size_t utf8_char(const unsigned char *p, const unsigned char *end)
{
	uint32_t cp = 0;
	size_t n = cg_utf8_decode(p, end, &cp);
	if (cp == 0x85 || cp == 0x2028 || cp == 0x2029 || cp == 0xfeff)
		return 0;
	return n;
}

static int read_string(struct jr *r, struct cg_tnode **ret)
{
	const unsigned char *q = r->p + 1, *s;
	struct cg_tnode *n = node_new(r->t, CG_TN_SCALAR, CG_TN_DQUOTED);
	size_t extra = 0;
	char *o;

	if (!n)
		return NOMEM;
	n->line = r->line;
	n->col = col_of(r, r->p);
	/* the plain run first: most strings have no escape */
	for (s = q; s < r->end && *s != '"' && *s != '\\' && *s >= 0x20 && *s < 0x80; s++)
		;
	if (s < r->end && *s == '"') {
		/* no escape, all ASCII: the text is the bytes */
		if (!(o = arena_alloc(r->t, (size_t)(s - q) + 1)))
			return NOMEM;
		memcpy(o, q, (size_t)(s - q));
		o[s - q] = '\0';
		n->text = o;
		n->len = (size_t)(s - q);
		r->p = s + 1;
		*ret = n;
		return 1;
	}
	/* the unescaped text is never longer than its spelling */
	const unsigned char *e = s;
	while (e < r->end && *e != '"')
		e += *e == '\\' && e + 1 < r->end ? 2 : 1;
	if (e >= r->end)
		return DECLINE;
	char *text = arena_alloc(r->t, (size_t)(e - q) + 1);
	if (!text)
		return NOMEM;
	o = text;
	for (s = q; s < e;) {
		unsigned char c = *s;
		if (c < 0x20)
			return DECLINE; /* a raw control character: not JSON */
		if (c >= 0x80) {
			size_t k = utf8_char(s, e);
			if (!k)
				return DECLINE;
			memcpy(o, s, k);
			o += k;
			s += k;
			extra += k - 1;
			continue;
		}
		if (c != '\\') {
			*o++ = (char)c;
			s++;
			continue;
		}
		static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
		const char *e1 = s[1] ? strchr(from, s[1]) : NULL;
		uint32_t cp, lo;
		if (e1) {
			*o++ = to[e1 - from];
		} else if (s[1] == 'u') {
			if (hex4(s + 2, e, &cp) != 1)
				return DECLINE;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return DECLINE; /* a lone low surrogate */
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (e - s < 12 || s[6] != '\\' || s[7] != 'u' || hex4(s + 8, e, &lo) != 1 || lo < 0xdc00 ||
				    lo > 0xdfff)
					return DECLINE;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				s += 6;
			}
			if (cp == 0x85 || cp == 0x2028 || cp == 0x2029 || cp == 0xfeff)
				return DECLINE;
			put_utf8(&o, cp);
			s += 4;
		} else {
			return DECLINE; /* YAML's own escapes (\0 \x \e ...) are not JSON */
		}
		s += 2;
	}
	*o = '\0';
	n->text = text;
	n->len = (size_t)(o - text);
	r->p = e + 1;
	r->col_extra += (int)extra;
	*ret = n;
	return 1;
}

static int read_number(struct jr *r, struct cg_tnode **ret)
{
	const unsigned char *s = r->p, *q = s;
	struct cg_tnode *n;
	char *o;

	if (q < r->end && *q == '-')
		q++;
	if (q < r->end && *q == '0')
		q++;
	else if (q < r->end && *q >= '1' && *q <= '9')
		while (q < r->end && *q >= '0' && *q <= '9')
			q++;
	else
		return DECLINE;
	if (q < r->end && *q == '.') {
		if (++q >= r->end || *q < '0' || *q > '9')
			return DECLINE;
		while (q < r->end && *q >= '0' && *q <= '9')
			q++;
	}
	if (q < r->end && (*q == 'e' || *q == 'E')) {
		q++;
		if (q < r->end && (*q == '+' || *q == '-'))
			q++;
		if (q >= r->end || *q < '0' || *q > '9')
			return DECLINE;
		while (q < r->end && *q >= '0' && *q <= '9')
			q++;
	}
	if (!(n = node_new(r->t, CG_TN_SCALAR, CG_TN_PLAIN)) || !(o = arena_alloc(r->t, (size_t)(q - s) + 1)))
		return NOMEM;
	memcpy(o, s, (size_t)(q - s));
	o[q - s] = '\0';
	n->text = o;
	n->len = (size_t)(q - s);
	n->line = r->line;
	n->col = col_of(r, s);
	r->p = q;
	*ret = n;
	return 1;
}

static int read_word(struct jr *r, const char *w, size_t wl, struct cg_tnode **ret)
{
	struct cg_tnode *n;
	if ((size_t)(r->end - r->p) < wl || memcmp(r->p, w, wl) != 0)
		return DECLINE;
	if (!(n = node_new(r->t, CG_TN_SCALAR, CG_TN_PLAIN)))
		return NOMEM;
	n->text = w; /* static storage */
	n->len = wl;
	n->line = r->line;
	n->col = col_of(r, r->p);
	r->p += wl;
	*ret = n;
	return 1;
}

static int key_cmp(const void *a, const void *b)
{
	const struct cg_tnode *x = *(struct cg_tnode *const *)a, *y = *(struct cg_tnode *const *)b;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->text, y->text, x->len);
}

/* Duplicate keys: declined (libfyaml's path names the second one). */
static int has_duplicates(const struct cg_tnode *m)
{
	if (m->len < 2)
		return 0;
	if (m->len <= 16) {
		for (const struct cg_tnode *a = m->first; a; a = a->next->next)
			for (const struct cg_tnode *b = a->next->next; b; b = b->next->next)
				if (a->len == b->len && memcmp(a->text, b->text, a->len) == 0)
					return 1;
		return 0;
	}
	const struct cg_tnode **v = malloc(m->len * sizeof(*v));
	size_t i = 0;
	int dup = 0;
	if (!v)
		return NOMEM;
	for (const struct cg_tnode *a = m->first; a; a = a->next->next)
		v[i++] = a;
	qsort(v, i, sizeof(*v), key_cmp);
	for (size_t k = 1; k < i && !dup; k++)
		dup = key_cmp(&v[k - 1], &v[k]) == 0;
	free(v);
	return dup;
}

static int read_value(struct jr *r, int depth, struct cg_tnode **ret);

static int read_container(struct jr *r, int depth, struct cg_tnode **ret)
{
	bool map = *r->p == '{';
	struct cg_tnode *n = node_new(r->t, map ? CG_TN_MAP : CG_TN_SEQ, CG_TN_PLAIN), **tail;
	int k;

	if (!n)
		return NOMEM;
	if (depth >= CG_TREE_JSON_MAX_DEPTH)
		return DECLINE;
	tail = &n->first;
	r->p++;
	if ((k = skip_ws(r)) != 1)
		return k;
	if (r->p < r->end && *r->p == (map ? '}' : ']')) {
		r->p++;
		*ret = n;
		return 1;
	}
	for (;;) {
		struct cg_tnode *item;
		if (map) {
			if (r->p >= r->end || *r->p != '"')
				return DECLINE;
			if ((k = read_string(r, &item)) != 1)
				return k;
			*tail = item;
			tail = &item->next;
			if ((k = skip_ws(r)) != 1)
				return k;
			if (r->p >= r->end || *r->p != ':')
				return DECLINE;
			r->p++;
			if ((k = skip_ws(r)) != 1)
				return k;
		}
		if ((k = read_value(r, depth + 1, &item)) != 1)
			return k;
		*tail = item;
		tail = &item->next;
		n->len++;
		if ((k = skip_ws(r)) != 1)
			return k;
		if (r->p < r->end && *r->p == ',') {
			r->p++;
			if ((k = skip_ws(r)) != 1)
				return k;
			continue;
		}
		if (r->p < r->end && *r->p == (map ? '}' : ']')) {
			r->p++;
			break;
		}
		return DECLINE;
	}
	/* located by its first scalar, as libfyaml locates a collection */
	n->line = n->first->line;
	n->col = n->first->col;
	if (map && (k = has_duplicates(n)) != 0)
		return k < 0 ? NOMEM : DECLINE;
	*ret = n;
	return 1;
}

static int read_value(struct jr *r, int depth, struct cg_tnode **ret)
{
	if (r->p >= r->end)
		return DECLINE;
	switch (*r->p) {
	case '{':
	case '[':
		return read_container(r, depth, ret);
	case '"':
		return read_string(r, ret);
	case 't':
		return read_word(r, "true", 4, ret);
	case 'f':
		return read_word(r, "false", 5, ret);
	case 'n':
		return read_word(r, "null", 4, ret);
	default:
		return read_number(r, ret);
	}
}

int cg_tree_parse_json(const char *buf, size_t len, struct cg_tree **ret)
{
	struct jr r = { .p = (const unsigned char *)buf, .end = (const unsigned char *)buf + len, .line = 1 };
	struct cg_tree *t;
	int k;

	/* past the separator bound, libfyaml's path gives the bound's message */
	if (len > CG_DOC_MAX_SEPARATORS)
		return DECLINE;
	r.bol = r.p;
	if (!(t = tree_new(len)))
		return -ENOMEM;
	r.t = t;
	if ((k = skip_ws(&r)) == 1) {
		if (r.p < r.end && (*r.p == '{' || *r.p == '['))
			k = read_value(&r, 0, &t->root);
		else
			k = DECLINE;
	}
	if (k == 1)
		k = skip_ws(&r);
	if (k == 1 && r.p != r.end)
		k = DECLINE; /* something after the value: libfyaml decides what it is */
	if (k != 1) {
		cg_tree_free(t);
		return k < 0 ? -ENOMEM : 0;
	}
	*ret = t;
	return 1;
}

/* ---- a libfyaml document as a tree ---- */

static struct cg_tnode *from_fy(struct cg_tree *t, struct fy_node *f, int depth)
{
	struct cg_tnode *n, **tail;
	void *it = NULL;

	if (depth > 2 * CG_DOC_MAX_DEPTH + 2)
		return NULL; /* libfyaml bounds nesting far below this */
	if (fy_node_is_scalar(f)) {
		enum fy_node_style st = fy_node_get_style(f);
		size_t len = 0;
		const char *s = fy_node_get_scalar(f, &len);
		char *o;
		if (!(n = node_new(t, CG_TN_SCALAR,
				   st == FYNS_PLAIN ? CG_TN_PLAIN : st == FYNS_DOUBLE_QUOTED ? CG_TN_DQUOTED
											     : CG_TN_QUOTED)) ||
		    !(o = arena_alloc(t, len + 1)))
			return NULL;
		if (len)
			memcpy(o, s, len);
		o[len] = '\0';
		n->text = o;
		n->len = len;
	} else if (!(n = node_new(t, fy_node_is_mapping(f) ? CG_TN_MAP : CG_TN_SEQ, CG_TN_PLAIN))) {
		return NULL;
	} else if (n->kind == CG_TN_MAP) {
		struct fy_node_pair *p;
		tail = &n->first;
		while ((p = fy_node_mapping_iterate(f, &it)) != NULL) {
			struct fy_node *kf = fy_node_pair_key(p), *vf = fy_node_pair_value(p);
			/* a missing key or value is null, as cg_doc_is_null(NULL) */
			struct cg_tnode *k = kf ? from_fy(t, kf, depth + 1) : node_new(t, CG_TN_SCALAR, CG_TN_PLAIN);
			struct cg_tnode *v = k && vf ? from_fy(t, vf, depth + 1) : k ? node_new(t, CG_TN_SCALAR, CG_TN_PLAIN)
										     : NULL;
			if (!v)
				return NULL;
			if (!k->text)
				k->text = "";
			if (!v->text && v->kind == CG_TN_SCALAR)
				v->text = "";
			*tail = k;
			k->next = v;
			tail = &v->next;
			n->len++;
		}
	} else {
		struct fy_node *item;
		tail = &n->first;
		while ((item = fy_node_sequence_iterate(f, &it)) != NULL) {
			struct cg_tnode *c = from_fy(t, item, depth + 1);
			if (!c)
				return NULL;
			*tail = c;
			tail = &c->next;
			n->len++;
		}
	}
	cg_doc_pos(f, &n->line, &n->col);
	return n;
}

int cg_tree_from_fy(struct fy_node *root, struct cg_tree **ret, struct cg_error *err)
{
	struct cg_tree *t = tree_new(0);
	if (!t || !root || !(t->root = from_fy(t, root, 0))) {
		cg_tree_free(t);
		return cg_error_set(err, -ENOMEM, "%s", root ? "out of memory" : "no document");
	}
	*ret = t;
	return 0;
}

/* ---- the scalar rules (cg_doc_* call these through a one-node view) ---- */

struct cg_tnode *cg_tn_lookup(const struct cg_tnode *n, const char *key)
{
	size_t kl = strlen(key);
	if (!cg_tn_is_mapping(n))
		return NULL;
	CG_TN_FOREACH_PAIR(n, k, v)
	if (k->kind == CG_TN_SCALAR && k->len == kl && memcmp(k->text, key, kl) == 0)
		return v;
	return NULL;
}

void cg_tn_pos(const struct cg_tnode *n, int *line, int *col)
{
	if (n && n->fy) { /* a view: only an error needs the position */
		cg_doc_pos(n->fy, line, col);
		return;
	}
	*line = n ? n->line : 0;
	*col = n ? n->col : 0;
}

int cg_tn_error(struct cg_error *err, const char *source, const struct cg_tnode *n, const char *path,
		const char *fmt, ...)
{
	char msg[CG_ERROR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	int line, col;
	cg_tn_pos(n, &line, &col);
	if (line)
		return cg_error_set(err, -EINVAL, "%s:%d:%d: %s%s%s", source, line, col, path ? path : "",
				    path && *path ? ": " : "", msg);
	return cg_error_set(err, -EINVAL, "%s: %s%s%s", source, path ? path : "", path && *path ? ": " : "", msg);
}

const char *cg_tn_str(const struct cg_tnode *n)
{
	if (!n || n->kind != CG_TN_SCALAR || memchr(n->text, '\0', n->len))
		return NULL;
	return n->text;
}

/* (texts of doc.c's one-node views are not NUL-terminated: copy len bytes) */
const char *cg_tn_scalar(const struct cg_tnode *n, char *buf, size_t n_buf)
{
	if (!n || n->kind != CG_TN_SCALAR || n->len >= n_buf || memchr(n->text, '\0', n->len))
		return NULL;
	memcpy(buf, n->text, n->len);
	buf[n->len] = '\0';
	return buf;
}

bool cg_tn_is_null(const struct cg_tnode *n)
{
	if (!n)
		return true;
	if (n->kind != CG_TN_SCALAR || n->style != CG_TN_PLAIN)
		return false;
	return n->len == 0 || (n->len == 4 && memcmp(n->text, "null", 4) == 0) || (n->len == 1 && n->text[0] == '~');
}

bool cg_tn_is_string(const struct cg_tnode *n, bool json)
{
	if (!n || n->kind != CG_TN_SCALAR)
		return false;
	if (json)
		return n->style == CG_TN_DQUOTED;
	return !cg_tn_is_null(n);
}

static const char *kind_of(const struct cg_tnode *n)
{
	if (cg_tn_is_null(n))
		return "null";
	if (n->kind == CG_TN_MAP)
		return "an object";
	if (n->kind == CG_TN_SEQ)
		return "a list";
	if (n->style == CG_TN_PLAIN)
		return "a bare value";
	return "a string";
}

int cg_tn_u64(const struct cg_tnode *n, bool json, const char *source, const char *path, uint64_t *ret,
	      struct cg_error *err)
{
	char b[32], *end;
	const char *s;
	unsigned long long v;

	if (!n || n->kind != CG_TN_SCALAR || (json && n->style != CG_TN_PLAIN) || !(s = cg_tn_scalar(n, b, sizeof(b))) ||
	    !*s)
		return cg_tn_error(err, source, n, path, "expected an unsigned integer, got %s", kind_of(n));
	if (s[0] == '-' || s[0] == '+' || (json && (s[0] == '0' && s[1])))
		return cg_tn_error(err, source, n, path, "expected an unsigned integer, got '%s'", s);
	errno = 0;
	v = strtoull(s, &end, json ? 10 : 0);
	if (errno == ERANGE)
		return cg_tn_error(err, source, n, path, "'%s' does not fit in 64 bits", s);
	if (errno || *end)
		return cg_tn_error(err, source, n, path, "expected an unsigned integer, got '%s'", s);
	*ret = v;
	return 0;
}

int cg_tn_strdup(const struct cg_tnode *n, bool json, const char *source, const char *path, char **ret,
		 struct cg_error *err)
{
	char *d;

	if (!cg_tn_is_string(n, json))
		return cg_tn_error(err, source, n, path, "expected a string, got %s", kind_of(n));
	if (memchr(n->text, '\0', n->len))
		return cg_tn_error(err, source, n, path, "string contains a NUL character");
	if (!(d = malloc(n->len + 1)))
		return cg_error_set(err, -ENOMEM, "out of memory");
	memcpy(d, n->text, n->len);
	d[n->len] = '\0';
	*ret = d;
	return 0;
}

int cg_tn_strv(const struct cg_tnode *n, bool json, const char *source, const char *path, char ***ret,
	       size_t *ret_n, struct cg_error *err)
{
	char **v, sub[256];
	size_t i = 0;

	if (cg_tn_is_null(n)) {
		*ret = NULL;
		*ret_n = 0;
		return 0;
	}
	if (n->kind != CG_TN_SEQ)
		return cg_tn_error(err, source, n, path, "expected a list of strings, got %s", kind_of(n));
	if (!(v = calloc(n->len + 1, sizeof(*v))))
		return cg_error_set(err, -ENOMEM, "out of memory");
	CG_TN_FOREACH(n, item)
	{
		int r = cg_tn_strdup(item, json, source, path, &v[i], err);
		if (r < 0) {
			/* again with the item's own path, for the message: the
			 * path is only built when it is needed */
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
			r = cg_tn_strdup(item, json, source, sub, &v[i], err);
			cg_strv_free(v, r < 0 ? i : i + 1); /* (out of memory the first time only) */
			return r < 0 ? r : cg_error_set(err, -ENOMEM, "out of memory");
		}
		i++;
	}
	*ret = v;
	*ret_n = i;
	return 0;
}

int cg_tn_bool(const struct cg_tnode *n, bool json, const char *source, const char *path, bool *ret,
	       struct cg_error *err)
{
	bool plain = n && n->kind == CG_TN_SCALAR && n->style == CG_TN_PLAIN;
	(void)json;
	if (plain && n->len == 4 && memcmp(n->text, "true", 4) == 0)
		*ret = true;
	else if (plain && n->len == 5 && memcmp(n->text, "false", 5) == 0)
		*ret = false;
	else
		return cg_tn_error(err, source, n, path, "expected true or false, got %s", kind_of(n));
	return 0;
}

/* ---- test hook: the JSON reader against libfyaml, node by node ---- */

static bool same_tree(const struct cg_tnode *a, const struct cg_tnode *b, char *why, size_t n_why, int depth)
{
	if (!a || !b || a->kind != b->kind || a->style != b->style || a->len != b->len || a->line != b->line ||
	    a->col != b->col || (a->kind == CG_TN_SCALAR && memcmp(a->text, b->text, a->len) != 0)) {
		snprintf(why, n_why,
			 "depth %d: capgate's reader: kind %d style %d len %zu at %d:%d '%.40s'; libfyaml: kind %d style %d "
			 "len %zu at %d:%d '%.40s'",
			 depth, a ? a->kind : -1, a ? a->style : -1, a ? a->len : 0, a ? a->line : 0, a ? a->col : 0,
			 a && a->kind == CG_TN_SCALAR ? a->text : "", b ? b->kind : -1, b ? b->style : -1, b ? b->len : 0,
			 b ? b->line : 0, b ? b->col : 0, b && b->kind == CG_TN_SCALAR ? b->text : "");
		return false;
	}
	if (a->kind == CG_TN_SCALAR)
		return true;
	for (const struct cg_tnode *x = a->first, *y = b->first; x || y; x = x->next, y = y->next)
		if (!same_tree(x, y, why, n_why, depth + 1))
			return false;
	return true;
}

bool cg__tree_json_agrees(const char *buf, size_t len, char *why, size_t n_why)
{
	struct cg_tree *a = NULL, *b = NULL;
	struct fy_document **docs = NULL;
	struct cg_error err = { 0 };
	size_t n = 0;
	bool json = false, ok;
	int r = cg_tree_parse_json(buf, len, &a);

	if (r <= 0)
		return true; /* declined (or out of memory): libfyaml reads it */
	if (cg_doc_parse_all(buf, len, "<in>", &docs, &n, &json, &err) < 0) {
		snprintf(why, n_why, "capgate's reader took on what libfyaml refuses: %s", err.msg);
		ok = false;
	} else if (n != 1 || !json) {
		snprintf(why, n_why, "libfyaml reads %zu documents (json: %d)", n, json);
		ok = false;
	} else if (cg_tree_from_fy(fy_document_root(docs[0]), &b, &err) < 0) {
		ok = true; /* out of memory */
	} else {
		ok = same_tree(cg_tree_root(a), cg_tree_root(b), why, n_why, 0);
	}
	for (size_t i = 0; i < n; i++)
		fy_document_destroy(docs[i]);
	free(docs);
	cg_tree_free(a);
	cg_tree_free(b);
	return ok;
}
