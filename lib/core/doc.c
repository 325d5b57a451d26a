// SPDX-License-Identifier: Apache-2.0
#include "core/doc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct diag_capture {
	char first[512];
};

static void diag_out(struct fy_diag *diag, void *user, const char *buf, size_t len)
{
	struct diag_capture *cap = user;
	(void)diag;
	if (cap->first[0])
		return;
	/* first line only: "source:line:col: error: message" */
	size_t n = 0;
	while (n < len && buf[n] != '\n')
		n++;
	if (n >= sizeof(cap->first))
		n = sizeof(cap->first) - 1;
	memcpy(cap->first, buf, n);
	cap->first[n] = '\0';
}

/* libfyaml 0.7 can loop forever scanning a malformed directive line
 * ("%(\xff..."): a line starting with '%' must be a well-formed directive
 * before the parser sees it. */
int cg_doc_check_directives(const char *buf, size_t len, const char *source, struct cg_error *err)
{
	int line = 1;
	for (size_t i = 0; i < len; i++) {
		bool bol = i == 0 || buf[i - 1] == '\n' || (buf[i - 1] == '\r' && buf[i] != '\n');
		if (i > 0 && buf[i - 1] == '\n')
			line++;
		else if (i > 0 && buf[i - 1] == '\r' && buf[i] != '\n')
			line++;
		if (!bol || buf[i] != '%')
			continue;
		size_t end = i;
		while (end < len && buf[end] != '\n' && buf[end] != '\r')
			end++;
		/* a well-formed directive: %NAME [params], printable ASCII; YAML
		 * says unknown ones are ignored, libfyaml does that */
		size_t k = i + 1;
		bool ok = k < end && ((buf[k] >= 'A' && buf[k] <= 'Z') || (buf[k] >= 'a' && buf[k] <= 'z'));
		while (ok && k < end && buf[k] != ' ' && buf[k] != '\t') {
			char ch = buf[k++];
			ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-';
		}
		for (; ok && k < end; k++)
			ok = (unsigned char)buf[k] >= 0x20 && (unsigned char)buf[k] < 0x7f;
		if (!ok)
			return cg_error_set(err, -EINVAL, "%s:%d:1: malformed YAML directive (expected %%NAME and printable parameters)",
					    source, line);
	}
	return 0;
}

/* libfyaml 0.7 can also loop on invalid UTF-8 after a directive: the text
 * must be valid UTF-8 (no overlongs, no surrogates) before it is parsed. */
static int check_utf8(const char *buf, size_t len, const char *source, struct cg_error *err)
{
	const unsigned char *s = (const unsigned char *)buf;
	int line = 1, col = 1;
	for (size_t i = 0; i < len;) {
		unsigned char c = s[i];
		size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2
				  : (c & 0xf0) == 0xe0       ? 3
				  : (c & 0xf8) == 0xf0       ? 4
							     : 0;
		uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1fu)
				   : n == 3       ? (c & 0x0fu)
						  : (c & 0x07u);
		bool ok = n && i + n <= len;
		for (size_t k = 1; ok && k < n; k++) {
			ok = (s[i + k] & 0xc0) == 0x80;
			cp = (cp << 6) | (s[i + k] & 0x3fu);
		}
		if (ok && ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
			   (cp >= 0xd800 && cp <= 0xdfff)))
			ok = false;
		if (!ok)
			return cg_error_set(err, -EINVAL, "%s:%d:%d: not valid UTF-8 (byte 0x%02x)", source, line, col, c);
		if (c == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
		i += n;
	}
	return 0;
}

struct cg_doc_stream {
	const char *source;
	bool json;
	size_t n_docs;
	struct diag_capture cap;
	struct fy_diag *diag;
	struct fy_parser *fyp;
};

void cg_doc_stream_close(struct cg_doc_stream *s)
{
	if (!s)
		return;
	if (s->fyp)
		fy_parser_destroy(s->fyp);
	fy_diag_destroy(s->diag);
	free(s);
}

int cg_doc_stream_open(const char *buf, size_t len, const char *source, unsigned flags, struct cg_doc_stream **ret,
		       struct cg_error *err)
{
	struct fy_diag_cfg dcfg;
	struct fy_parse_cfg cfg = { 0 };
	struct cg_doc_stream *s;
	size_t i = 0;
	bool json = false;
	int r;

	while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r'))
		i++;
	if (i < len && (buf[i] == '{' || buf[i] == '['))
		json = true;
	if (i == len)
		return cg_error_set(err, -EINVAL, "%s: empty document", source);
	if (memchr(buf, '\0', len))
		return cg_error_set(err, -EINVAL, "%s: contains a NUL byte: not a text document", source);
	if ((r = check_utf8(buf, len, source, err)) < 0)
		return r;
	if (!json && (r = cg_doc_check_directives(buf, len, source, err)) < 0)
		return r;

	if (!(s = calloc(1, sizeof(*s))))
		return cg_error_set(err, -ENOMEM, "out of memory");
	s->source = source;
	s->json = json;
	fy_diag_cfg_default(&dcfg);
	dcfg.fp = NULL;
	dcfg.output_fn = diag_out;
	dcfg.user = &s->cap;
	dcfg.colorize = false;
	dcfg.show_source = false;
	dcfg.show_position = true;
	dcfg.show_type = false;
	dcfg.show_module = false;
	dcfg.level = FYET_ERROR;
	cfg.flags = FYPCF_QUIET | (json ? FYPCF_JSON_FORCE : FYPCF_JSON_NONE);
	if (flags & CG_DOC_ALLOW_DUPLICATE_KEYS)
		cfg.flags |= FYPCF_ALLOW_DUPLICATE_KEYS;
	if (!(s->diag = fy_diag_create(&dcfg)) || (cfg.diag = s->diag, !(s->fyp = fy_parser_create(&cfg))) ||
	    fy_parser_set_string(s->fyp, buf, len) != 0) {
		cg_doc_stream_close(s);
		return cg_error_set(err, -ENOMEM, "out of memory");
	}
	*ret = s;
	return 0;
}

bool cg_doc_stream_json(const struct cg_doc_stream *s) { return s->json; }

void cg_doc_stream_destroy_doc(struct cg_doc_stream *s, struct fy_document *d)
{
	fy_parse_document_destroy(s->fyp, d);
}

/* libfyaml writes "<source>:L:C: error: msg"; keep "source:L:C: msg". */
static int syntax_error(const char *source, const char *m, struct cg_error *err)
{
	const char *p = strstr(m, ": error: "), *q;
	size_t skip = 9;
	int colons = 0;

	if (!p) {
		p = strstr(m, ": warning: ");
		skip = 11;
	}
	if (!p)
		return cg_error_set(err, -EINVAL, "%s: %s", source, m[0] ? m : "parse error");
	for (q = p; q > m && colons < 2;)
		if (*--q == ':')
			colons++;
	q = colons == 2 ? q + 1 : m;
	return cg_error_set(err, -EINVAL, "%s:%.*s: %s", source, (int)(p - q), q, p + skip);
}

int cg_doc_stream_next(struct cg_doc_stream *s, struct fy_document **ret_doc, struct cg_error *err)
{
	struct fy_document *d = fy_parse_load_document(s->fyp);
	if (d) {
		s->n_docs++;
		*ret_doc = d;
		return 1;
	}
	if (fy_parser_get_stream_error(s->fyp) || s->cap.first[0])
		return syntax_error(s->source, s->cap.first, err);
	if (s->n_docs == 0)
		return cg_error_set(err, -EINVAL, "%s: no document", s->source);
	return 0;
}

/* Duplicate keys, found in O(n log n) per mapping: libfyaml's own check
 * compares every key with every other, which a hostile file with a huge
 * mapping turns into minutes. The error names the second occurrence. */
struct keyent {
	const char *s;
	size_t len, order;
	struct fy_node *key;
};

static int keyent_cmp(const void *a, const void *b)
{
	const struct keyent *x = a, *y = b;
	int c = memcmp(x->s, y->s, x->len < y->len ? x->len : y->len);
	if (c)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return (x->order > y->order) - (x->order < y->order);
}

#define DUP_MAX_DEPTH 256

static int check_duplicates(struct fy_node *n, const char *source, char *path, size_t plen, size_t cap, int depth,
			    struct cg_error *err)
{
	void *it = NULL;
	int r = 0;

	if (!n || (!fy_node_is_sequence(n) && !fy_node_is_mapping(n)))
		return 0;
	if (depth > DUP_MAX_DEPTH)
		return cg_doc_error(err, source, n, path, "nested deeper than %d levels", DUP_MAX_DEPTH);
	if (fy_node_is_sequence(n)) {
		struct fy_node *item;
		size_t i = 0;
		while (r == 0 && (item = fy_node_sequence_iterate(n, &it)) != NULL) {
			int l = snprintf(path + plen, cap - plen, "[%zu]", i++);
			size_t nl = l < 0 ? plen : plen + (size_t)l < cap ? plen + (size_t)l
									  : cap - 1;
			r = check_duplicates(item, source, path, nl, cap, depth + 1, err);
			path[plen] = '\0';
		}
		return r;
	}
	int cnt = fy_node_mapping_item_count(n);
	struct keyent *v = cnt > 1 ? calloc((size_t)cnt, sizeof(*v)) : NULL;
	struct fy_node_pair *pair;
	size_t nk = 0;
	if (cnt > 1 && !v)
		return cg_error_set(err, -ENOMEM, "out of memory");
	while (v && (pair = fy_node_mapping_iterate(n, &it)) != NULL && nk < (size_t)cnt) {
		struct fy_node *k = fy_node_pair_key(pair);
		const char *ks;
		size_t kl;
		if (k && fy_node_is_scalar(k) && (ks = fy_node_get_scalar(k, &kl)) != NULL) {
			v[nk] = (struct keyent){ ks, kl, nk, k };
			nk++;
		}
	}
	if (nk > 1) {
		struct keyent *dup = NULL;
		qsort(v, nk, sizeof(*v), keyent_cmp);
		for (size_t i = 1; i < nk; i++)
			if (v[i].len == v[i - 1].len && memcmp(v[i].s, v[i - 1].s, v[i].len) == 0 &&
			    (!dup || v[i].order < dup->order))
				dup = &v[i];
		if (dup)
			r = cg_doc_error(err, source, dup->key, path, "duplicate key '%.*s'", (int)(dup->len > 64 ? 64 : dup->len),
					 dup->s);
	}
	free(v);
	it = NULL;
	while (r == 0 && (pair = fy_node_mapping_iterate(n, &it)) != NULL) {
		struct fy_node *k = fy_node_pair_key(pair);
		const char *ks;
		size_t kl = 0;
		ks = k && fy_node_is_scalar(k) ? fy_node_get_scalar(k, &kl) : NULL;
		int l = snprintf(path + plen, cap - plen, "%s%.*s", plen ? "." : "", ks ? (int)kl : 1, ks ? ks : "?");
		size_t nl = l < 0 ? plen : plen + (size_t)l < cap ? plen + (size_t)l
								  : cap - 1;
		r = check_duplicates(fy_node_pair_value(pair), source, path, nl, cap, depth + 1, err);
		path[plen] = '\0';
	}
	return r;
}

int cg_doc_parse_all(const char *buf, size_t len, const char *source, struct fy_document ***ret_docs,
		     size_t *ret_n, bool *ret_json, struct cg_error *err)
{
	struct cg_doc_stream *s = NULL;
	struct fy_document **docs = NULL, *d;
	size_t n = 0;
	int r;

	if ((r = cg_doc_stream_open(buf, len, source, CG_DOC_ALLOW_DUPLICATE_KEYS, &s, err)) < 0)
		return r;
	while ((r = cg_doc_stream_next(s, &d, err)) > 0) {
		struct fy_document **nd;
		char path[512] = "";
		if ((r = check_duplicates(fy_document_root(d), source, path, 0, sizeof(path), 0, err)) < 0) {
			cg_doc_stream_destroy_doc(s, d);
			break;
		}
		if (n >= 10000) {
			cg_doc_stream_destroy_doc(s, d);
			r = cg_error_set(err, -E2BIG, "%s: more than 10000 documents", source);
			break;
		}
		if (!(nd = realloc(docs, (n + 1) * sizeof(*nd)))) {
			cg_doc_stream_destroy_doc(s, d);
			r = cg_error_set(err, -ENOMEM, "out of memory");
			break;
		}
		docs = nd;
		docs[n++] = d;
	}
	if (r == 0) {
		*ret_docs = TAKE_PTR(docs);
		*ret_n = n;
		if (ret_json)
			*ret_json = s->json;
		n = 0;
	}
	for (size_t k = 0; k < n; k++)
		fy_document_destroy(docs[k]);
	free(docs);
	cg_doc_stream_close(s);
	return r;
}

/* libfyaml 0.7 marks scalars only: a collection is located by its first
 * scalar (its first key or item), which is where a reader looks anyway. */
void cg_doc_pos(struct fy_node *n, int *line, int *col)
{
	const struct fy_mark *m = NULL;
	int depth = 0;

	while (n && !m && depth++ < 64) {
		void *it = NULL;
		if (fy_node_is_scalar(n)) {
			struct fy_token *t = fy_node_get_scalar_token(n);
			enum fy_node_style st = fy_node_get_style(n);
			m = t ? fy_token_start_mark(t) : NULL;
			if (m) {
				/* point at the opening quote, not the first character */
				*line = m->line + 1;
				*col = m->column + 1 -
				       ((st == FYNS_DOUBLE_QUOTED || st == FYNS_SINGLE_QUOTED) && m->column > 0);
				return;
			}
			break;
		}
		if (fy_node_is_mapping(n)) {
			struct fy_node_pair *p = fy_node_mapping_iterate(n, &it);
			n = p ? fy_node_pair_key(p) : NULL;
		} else if (fy_node_is_sequence(n)) {
			n = fy_node_sequence_iterate(n, &it);
		} else {
			n = NULL;
		}
	}
	*line = m ? m->line + 1 : 0;
	*col = m ? m->column + 1 : 0;
}

int cg_doc_error(struct cg_error *err, const char *source, struct fy_node *n, const char *path, const char *fmt,
		 ...)
{
	char msg[CG_ERROR_MAX];
	int line, col;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cg_doc_pos(n, &line, &col);
	if (line)
		return cg_error_set(err, -EINVAL, "%s:%d:%d: %s%s%s", source, line, col, path ? path : "",
				    path && *path ? ": " : "", msg);
	return cg_error_set(err, -EINVAL, "%s: %s%s%s", source, path ? path : "", path && *path ? ": " : "", msg);
}

const char *cg_doc_scalar(struct fy_node *n, char *buf, size_t n_buf)
{
	const char *s;
	size_t len;
	if (!n || !fy_node_is_scalar(n))
		return NULL;
	s = fy_node_get_scalar(n, &len);
	if (!s || len >= n_buf || memchr(s, '\0', len))
		return NULL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return buf;
}

bool cg_doc_is_null(struct fy_node *n)
{
	char b[8];
	if (!n)
		return true;
	if (!fy_node_is_scalar(n) || fy_node_get_style(n) != FYNS_PLAIN)
		return false;
	return cg_doc_scalar(n, b, sizeof(b)) && (strcmp(b, "null") == 0 || strcmp(b, "~") == 0 || b[0] == '\0');
}

bool cg_doc_is_string(struct fy_node *n, bool json)
{
	if (!n || !fy_node_is_scalar(n))
		return false;
	if (json)
		return fy_node_get_style(n) == FYNS_DOUBLE_QUOTED;
	return !cg_doc_is_null(n);
}

bool cg_doc_is_mapping(struct fy_node *n) { return n && fy_node_is_mapping(n); }
bool cg_doc_is_sequence(struct fy_node *n) { return n && fy_node_is_sequence(n); }

static const char *kind_of(struct fy_node *n)
{
	if (!n || cg_doc_is_null(n))
		return "null";
	if (fy_node_is_mapping(n))
		return "an object";
	if (fy_node_is_sequence(n))
		return "a list";
	if (fy_node_get_style(n) == FYNS_PLAIN)
		return "a bare value";
	return "a string";
}

int cg_doc_u64(struct fy_node *n, bool json, const char *source, const char *path, uint64_t *ret,
	       struct cg_error *err)
{
	char b[32], *end;
	const char *s;
	unsigned long long v;

	if (!n || !fy_node_is_scalar(n) || (json && fy_node_get_style(n) != FYNS_PLAIN) ||
	    !(s = cg_doc_scalar(n, b, sizeof(b))) || !*s)
		return cg_doc_error(err, source, n, path, "expected an unsigned integer, got %s", kind_of(n));
	if (s[0] == '-' || s[0] == '+' || (json && (s[0] == '0' && s[1])))
		return cg_doc_error(err, source, n, path, "expected an unsigned integer, got '%s'", s);
	errno = 0;
	v = strtoull(s, &end, json ? 10 : 0);
	if (errno == ERANGE)
		return cg_doc_error(err, source, n, path, "'%s' does not fit in 64 bits", s);
	if (errno || *end)
		return cg_doc_error(err, source, n, path, "expected an unsigned integer, got '%s'", s);
	*ret = v;
	return 0;
}

int cg_doc_strdup(struct fy_node *n, bool json, const char *source, const char *path, char **ret,
		  struct cg_error *err)
{
	const char *s;
	size_t len;
	char *d;

	if (!cg_doc_is_string(n, json))
		return cg_doc_error(err, source, n, path, "expected a string, got %s", kind_of(n));
	s = fy_node_get_scalar(n, &len);
	if (memchr(s, '\0', len))
		return cg_doc_error(err, source, n, path, "string contains a NUL character");
	d = strndup(s, len);
	if (!d)
		return cg_error_set(err, -ENOMEM, "out of memory");
	*ret = d;
	return 0;
}

void cg_strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int cg_doc_strv(struct fy_node *n, bool json, const char *source, const char *path, char ***ret, size_t *ret_n,
		struct cg_error *err)
{
	char **v;
	size_t cnt = 0, i = 0;
	void *it = NULL;
	struct fy_node *item;
	char sub[256];

	if (cg_doc_is_null(n)) {
		*ret = NULL;
		*ret_n = 0;
		return 0;
	}
	if (!fy_node_is_sequence(n))
		return cg_doc_error(err, source, n, path, "expected a list of strings, got %s", kind_of(n));
	cnt = (size_t)fy_node_sequence_item_count(n);
	v = calloc(cnt + 1, sizeof(*v));
	if (!v)
		return cg_error_set(err, -ENOMEM, "out of memory");
	while ((item = fy_node_sequence_iterate(n, &it)) != NULL) {
		int r;
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		r = cg_doc_strdup(item, json, source, sub, &v[i], err);
		if (r < 0) {
			cg_strv_free(v, i);
			return r;
		}
		i++;
	}
	*ret = v;
	*ret_n = i;
	return 0;
}

int cg_doc_bool(struct fy_node *n, bool json, const char *source, const char *path, bool *ret,
		struct cg_error *err)
{
	char b[8];
	const char *s = (n && fy_node_get_style(n) == FYNS_PLAIN) ? cg_doc_scalar(n, b, sizeof(b)) : NULL;
	(void)json;
	if (s && strcmp(s, "true") == 0)
		*ret = true;
	else if (s && strcmp(s, "false") == 0)
		*ret = false;
	else
		return cg_doc_error(err, source, n, path, "expected true or false, got %s", kind_of(n));
	return 0;
}

const char *cg_doc_key(struct fy_node_pair *p, char *buf, size_t n_buf)
{
	return cg_doc_scalar(fy_node_pair_key(p), buf, n_buf);
}
