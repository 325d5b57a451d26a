// SPDX-License-Identifier: Apache-2.0
/*
 * Every JSON and YAML input capgate reads goes through here, so this is where
 * the parser is kept from being turned against capgate: libfyaml 0.7.12
 * (Debian 12) loops on some malformed directives, misreads and leaks on
 * single-quoted strings with adjacent '' escapes, crashes when a parser is
 * freed after one tab error, and costs memory by structure rather than size.
 * Each of these is refused here, before or right after libfyaml reads the
 * document and before anyone reads a value from it, with a positioned error.
 * docs/LIBFYAML.md has the details, reproducers and the upstream fixes.
 */
#include "core/doc.h"
#include "core/json.h"
#include "core/tree.h"
#include "core/utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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
static int check_directives(const char *buf, size_t len, const char *source, int line0, struct cg_error *err)
{
	int line = line0 + 1;
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

int cg_doc_check_directives(const char *buf, size_t len, const char *source, struct cg_error *err)
{
	return check_directives(buf, len, source, 0, err);
}

/* libfyaml 0.7 can also loop on invalid UTF-8 after a directive: the text
 * must be valid UTF-8 (no overlongs, no surrogates) before it is parsed. */
/* Line and column (in characters) of byte @at, for a message. */
static void utf8_pos(const unsigned char *s, size_t at, int line0, int *line, int *col)
{
	size_t bol = 0;
	*line = line0 + 1;
	for (size_t i = 0; i < at; i++)
		if (s[i] == '\n')
			(*line)++, bol = i + 1;
	*col = 1;
	for (size_t i = bol; i < at; i++)
		*col += (s[i] & 0xc0) != 0x80;
}

static int check_utf8(const char *buf, size_t len, const char *source, int line0, struct cg_error *err)
{
	const unsigned char *s = (const unsigned char *)buf;
	for (size_t i = 0; i < len;) {
		/* ASCII eight bytes at a time: most documents are all ASCII */
		uint64_t w;
		while (i + 8 <= len && (memcpy(&w, s + i, 8), !(w & 0x8080808080808080ull)))
			i += 8;
		if (i >= len)
			break;
		uint32_t cp;
		size_t n = cg_utf8_decode(s + i, s + len, &cp);
		bool ok = n > 0;
		if (!ok) {
			int line, col;
			utf8_pos(s, i, line0, &line, &col);
			return cg_error_set(err, -EINVAL, "%s:%d:%d: not valid UTF-8 (byte 0x%02x)", source, line, col, s[i]);
		}
		i += n;
	}
	return 0;
}

/*
 * Bounds and a crash, found byte by byte before libfyaml sees the input.
 *
 * Size: CG_DOC_MAX_SEPARATORS per document (per input when @whole), counted
 * without a lexer so that no quoting trick can hide structure from it. YAML
 * documents are split at "---" and "..." lines: the spec forbids those in
 * content, so nothing libfyaml reads as one document spans one.
 *
 * Crash: libfyaml 0.7.12 recycles a simple key twice when a ':' that follows
 * a key inside an explicit '?' key is followed by blanks with a tab and then
 * one of ?:|>- (its "tab used for indentation" error path), and the parser
 * then crashes in fy_parser_destroy(). The input is an error anyway wherever
 * the '?' really opens a key; where it does not (a '?' in a comment or a
 * string), a tab there is rare enough that refusing it costs nothing.
 */
static bool is_blankz(const char *buf, size_t len, size_t i)
{
	return i >= len || buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n';
}

static int check_bounds(const char *buf, size_t len, const char *source, int line0, bool json, bool whole,
			struct cg_error *err)
{
	size_t seps = 0;
	int line = line0 + 1, col = 1, doc_line = line0 + 1;
	bool qmark = false;

	for (size_t i = 0; i < len; i++, col++) {
		char c = buf[i];
		if (c == '\n') {
			line++;
			col = 0;
			continue;
		}
		if (!json && !whole && col == 1 && i + 3 <= len &&
		    (memcmp(buf + i, "---", 3) == 0 || memcmp(buf + i, "...", 3) == 0) && is_blankz(buf, len, i + 3)) {
			seps = 0;
			doc_line = line;
		}
		if (c == '?' && is_blankz(buf, len, i + 1))
			qmark = true;
		if (c == ':' && qmark) {
			size_t k = i + 1;
			bool tab = false;
			while (k < len && (buf[k] == ' ' || buf[k] == '\t'))
				tab |= buf[k++] == '\t';
			if (tab && k < len && (strchr("?:|>", buf[k]) || (buf[k] == '-' && is_blankz(buf, len, k + 1))))
				return cg_error_set(err, -EINVAL,
						    "%s:%d:%d: a tab between ':' and '%c' in a document with explicit '?' "
						    "keys: libfyaml 0.7 crashes on it (use spaces)",
						    source, line, col, buf[k]);
		}
		if (c == ',' || c == ':' || c == '-' || c == '?' || c == '[' || c == '{') {
			if (++seps <= CG_DOC_MAX_SEPARATORS)
				continue;
			if (whole)
				return cg_error_set(err, -E2BIG,
						    "%s:%d:%d: more than %d separators (',' ':' '-' '?' '[' '{') in one "
						    "file: capgate parses at most that many, to bound its memory",
						    source, line, col, CG_DOC_MAX_SEPARATORS);
			return cg_error_set(err, -E2BIG,
					    "%s:%d:%d: more than %d separators (',' ':' '-' '?' '[' '{') in the "
					    "document that starts on line %d: capgate parses at most that many in one "
					    "document, to bound its memory",
					    source, line, col, CG_DOC_MAX_SEPARATORS, doc_line);
		}
	}
	return 0;
}

/*
 * A stream is a buffer the caller holds (cg_doc_stream_open: one parser over
 * all of it) or a file read one document at a time (cg_doc_stream_open_file).
 * A file is not handed to libfyaml as a FILE *: the workarounds above look at
 * the bytes before libfyaml does (check_utf8, check_directives, check_bounds)
 * and at a scalar's raw bytes by its marks after (check_scalars), so capgate
 * must hold the bytes of the document being read. The file is cut into
 * pieces of one document each, at "---" and "..." lines (which YAML forbids
 * inside content, so no document spans one), and each piece gets the checks
 * and a parser of its own, destroyed with the piece. The piece's first line
 * is kept in the parser's userdata, which every document of that parser
 * carries: positions in errors are the file's (cg_doc_pos, syntax_error).
 */
#define ORIGIN_MAGIC 0x63676f72u

struct doc_origin {
	uint32_t magic;
	int line0; /* lines before the piece (0-based line of its first byte) */
};

struct cg_doc_stream {
	const char *source;
	const char *buf; /* the whole buffer, or the current piece */
	size_t len;
	bool json;
	unsigned flags;
	size_t n_docs;
	struct diag_capture cap;
	struct fy_diag *diag;
	struct fy_parser *fyp;
	struct doc_origin origin;
	/* file mode */
	int fd;   /* -1: a buffer */
	char *rb; /* read buffer: the current piece starts at rb_off */
	size_t rb_off, rb_len, rb_cap;
	size_t max_doc;    /* the longest piece read */
	bool eof, started; /* started: the first non-blank byte was seen */
};

void cg_doc_stream_close(struct cg_doc_stream *s)
{
	if (!s)
		return;
	if (s->fyp)
		fy_parser_destroy(s->fyp);
	fy_diag_destroy(s->diag);
	if (s->fd >= 0)
		close(s->fd);
	free(s->rb);
	free(s);
}

static struct cg_doc_stream *stream_new(const char *source, unsigned flags, struct cg_error *err)
{
	struct fy_diag_cfg dcfg;
	struct cg_doc_stream *s = calloc(1, sizeof(*s));

	if (!s) {
		cg_error_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	s->source = source;
	s->flags = flags;
	s->fd = -1;
	s->origin.magic = ORIGIN_MAGIC;
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
	if (!(s->diag = fy_diag_create(&dcfg))) {
		free(s);
		cg_error_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	return s;
}

/* The byte checks of one piece (or the whole buffer), then its parser. */
static int stream_start(struct cg_doc_stream *s, const char *buf, size_t len, int line0, struct cg_error *err)
{
	struct fy_parse_cfg cfg = { 0 };
	int r;

	if (memchr(buf, '\0', len))
		return cg_error_set(err, -EINVAL, "%s: contains a NUL byte: not a text document", s->source);
	if ((r = check_utf8(buf, len, s->source, line0, err)) < 0)
		return r;
	if (!s->json && (r = check_directives(buf, len, s->source, line0, err)) < 0)
		return r;
	if ((r = check_bounds(buf, len, s->source, line0, s->json, s->flags & CG_DOC_WHOLE, err)) < 0)
		return r;
	s->buf = buf;
	s->len = len;
	s->origin.line0 = line0;
	s->cap.first[0] = '\0';
	cfg.flags = FYPCF_QUIET | (s->json ? FYPCF_JSON_FORCE : FYPCF_JSON_NONE);
	if (s->flags & CG_DOC_ALLOW_DUPLICATE_KEYS)
		cfg.flags |= FYPCF_ALLOW_DUPLICATE_KEYS;
	cfg.diag = s->diag;
	/* a file's pieces only: documents of a buffer may outlive the stream
	 * (cg_doc_parse_all), and their lines need no shift */
	cfg.userdata = s->fd >= 0 ? &s->origin : NULL;
	if (!(s->fyp = fy_parser_create(&cfg)) || fy_parser_set_string(s->fyp, buf, len) != 0)
		return cg_error_set(err, -ENOMEM, "out of memory");
	return 0;
}

static bool json_start(const char *buf, size_t len, size_t *ret_i)
{
	size_t i = 0;
	while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r'))
		i++;
	*ret_i = i;
	return i < len && (buf[i] == '{' || buf[i] == '[');
}

int cg_doc_stream_open(const char *buf, size_t len, const char *source, unsigned flags, struct cg_doc_stream **ret,
		       struct cg_error *err)
{
	struct cg_doc_stream *s;
	size_t i;
	bool json = json_start(buf, len, &i);
	int r;

	if (i == len)
		return cg_error_set(err, -EINVAL, "%s: empty document", source);
	if (!(s = stream_new(source, flags, err)))
		return -ENOMEM;
	s->json = json;
	if ((r = stream_start(s, buf, len, 0, err)) < 0) {
		cg_doc_stream_close(s);
		return r;
	}
	*ret = s;
	return 0;
}

int cg_doc_stream_open_file(const char *path, unsigned flags, size_t max_doc, struct cg_doc_stream **ret,
			    struct cg_error *err)
{
	struct cg_doc_stream *s;
	int fd = strcmp(path, "-") == 0 ? dup(STDIN_FILENO) : open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return cg_error_set(err, -errno, "%s: %m", path);
	if (!(s = stream_new(path, flags & ~CG_DOC_WHOLE, err))) {
		close(fd);
		return -ENOMEM;
	}
	s->fd = fd;
	s->max_doc = max_doc;
	*ret = s;
	return 0;
}

bool cg_doc_stream_json(const struct cg_doc_stream *s) { return s->json; }

void cg_doc_stream_destroy_doc(struct cg_doc_stream *s, struct fy_document *d)
{
	fy_parse_document_destroy(s->fyp, d);
}

/* Read more of the file into rb: 0, or -EFBIG once a piece would be longer
 * than max_doc. */
static int read_more(struct cg_doc_stream *s, int line0, struct cg_error *err)
{
	ssize_t k;

	if (s->rb_off) { /* drop what was parsed: once per read, not per piece */
		memmove(s->rb, s->rb + s->rb_off, s->rb_len - s->rb_off);
		s->rb_len -= s->rb_off;
		s->rb_off = 0;
	}
	if (s->rb_len >= s->max_doc)
		return cg_error_set(err, -EFBIG,
				    "%s:%d: a document of more than %zu bytes: capgate reads at most that much at "
				    "once",
				    s->source, line0 + 1, s->max_doc);
	if (s->rb_cap - s->rb_len < 65536) {
		size_t nc = s->rb_cap ? s->rb_cap * 2 : 131072;
		char *n;
		if (nc > s->max_doc + 65536)
			nc = s->max_doc + 65536;
		if (!(n = realloc(s->rb, nc)))
			return cg_error_set(err, -ENOMEM, "out of memory");
		s->rb = n;
		s->rb_cap = nc;
	}
	do
		k = read(s->fd, s->rb + s->rb_len, s->rb_cap - s->rb_len);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return cg_error_set(err, -errno, "%s: %m", s->source);
	if (k == 0)
		s->eof = true;
	s->rb_len += (size_t)k;
	return 0;
}

static bool marker_at(const char *b, size_t len, size_t i, const char *m)
{
	return i + 3 <= len && memcmp(b + i, m, 3) == 0 && is_blankz(b, len, i + 3);
}

/* Line breaks as libfyaml counts them: \n, \r\n and a lone \r. */
static int count_lines(const char *b, size_t len)
{
	int n = 0;
	for (size_t i = 0; i < len; i++)
		n += b[i] == '\n' || (b[i] == '\r' && (i + 1 >= len || b[i + 1] != '\n'));
	return n;
}

/*
 * The next piece of the file into rb[0, *ret_len): 1, or 0 at the end.
 * A piece ends before a "---" line once it holds content (a line that is not
 * blank, a comment or a directive: directives belong to the document after
 * them), or after a "..." line that follows content. JSON is one document: the whole file.
 */
static int next_piece(struct cg_doc_stream *s, int line0, size_t *ret_len, struct cg_error *err)
{
	size_t pos = 0, i;
	bool content = false;
	int r;

	/* the unparsed bytes (read_more moves them to the front of rb) */
#define B (s->rb + s->rb_off)
#define N (s->rb_len - s->rb_off)
	if (!s->rb && (r = read_more(s, line0, err)) < 0)
		return r;
	while (!s->started) {
		bool json = json_start(B, N, &i);
		if (i < N) {
			s->started = true;
			s->json = json;
		} else if (s->eof) {
			if (s->n_docs == 0 && line0 == 0)
				return cg_error_set(err, -EINVAL, "%s: empty document", s->source);
			return 0;
		} else if ((r = read_more(s, line0, err)) < 0) {
			return r;
		}
	}
	if (s->json) {
		while (!s->eof)
			if ((r = read_more(s, line0, err)) < 0)
				return r;
		*ret_len = N;
		return N > 0;
	}
	for (;;) {
		char *nl = memchr(B + pos, '\n', N - pos);
		size_t end;
		if (!nl && !s->eof) {
			if ((r = read_more(s, line0, err)) < 0)
				return r;
			continue;
		}
		if (pos == N) { /* the end of the file */
			*ret_len = pos;
			return pos > 0;
		}
		end = nl ? (size_t)(nl - B) + 1 : N;
		if (content && marker_at(B, N, pos, "---")) {
			*ret_len = pos;
			return 1;
		}
		/* a "..." before any content stays with what follows (so a file
		 * of end markers is one bounded piece, not a parser each) */
		if (marker_at(B, N, pos, "...")) {
			if (content) {
				*ret_len = end;
				return 1;
			}
			pos = end;
			continue;
		}
		for (i = pos; i < end && (B[i] == ' ' || B[i] == '\t' || B[i] == '\r' || B[i] == '\n');)
			i++;
		if (i < end && B[i] != '#' && !(i == pos && B[i] == '%'))
			content = true;
		pos = end;
	}
#undef B
#undef N
}

/* The current piece is done: drop it from rb and start the next. */
static int stream_advance(struct cg_doc_stream *s, struct cg_error *err)
{
	int line0 = s->origin.line0, r;
	size_t len = 0;

	if (s->fyp) {
		line0 += count_lines(s->buf, s->len);
		s->rb_off += s->len;
		fy_parser_destroy(s->fyp);
		s->fyp = NULL;
		s->buf = NULL;
		s->len = 0;
	}
	s->origin.line0 = line0;
	if ((r = next_piece(s, line0, &len, err)) <= 0)
		return r;
	if ((r = stream_start(s, s->rb + s->rb_off, len, line0, err)) < 0)
		return r;
	return 1;
}

int cg_doc_stream_head(struct cg_doc_stream *s, const char **ret_buf, size_t *ret_len, struct cg_error *err)
{
	int r;

	if (s->fd >= 0 && !s->fyp && !s->started && (r = stream_advance(s, err)) < 0)
		return r;
	*ret_buf = s->buf ? s->buf : "";
	*ret_len = s->len;
	return 0;
}

int cg_doc_stream_slurp(struct cg_doc_stream *s, char **ret, size_t *ret_len, struct cg_error *err)
{
	int r;

	if (s->fd < 0 || s->n_docs > 0 || s->origin.line0 > 0 || s->rb_off > 0)
		return cg_error_set(err, -EINVAL, "invalid argument");
	if (s->fyp) {
		fy_parser_destroy(s->fyp);
		s->fyp = NULL;
	}
	while (!s->eof)
		if ((r = read_more(s, 0, err)) < 0)
			return r;
	if (s->rb_cap == s->rb_len) {
		char *n = realloc(s->rb, s->rb_len + 1);
		if (!n)
			return cg_error_set(err, -ENOMEM, "out of memory");
		s->rb = n;
	}
	s->rb[s->rb_len] = '\0';
	*ret = s->rb;
	*ret_len = s->rb_len;
	s->rb = NULL;
	s->rb_len = s->rb_cap = 0;
	s->buf = NULL;
	s->len = 0;
	return 0;
}

/* libfyaml writes "<source>:L:C: error: msg"; keep "source:L:C: msg", with
 * L the file's line, not the piece's. */
static int syntax_error(const char *source, int line0, const char *m, struct cg_error *err)
{
	const char *p = strstr(m, ": error: "), *q;
	size_t skip = 9;
	int colons = 0, line, col;
	char depth[96], at[48];

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
	if (sscanf(q, "%d:%d", &line, &col) == 2)
		snprintf(at, sizeof(at), "%d:%d", line + line0, col);
	else
		snprintf(at, sizeof(at), "%.*s", (int)(p - q), q);
	if (strstr(p + skip, "Max depth")) {
		snprintf(depth, sizeof(depth), "nested deeper than %d levels (the most capgate parses)", CG_DOC_MAX_DEPTH);
		return cg_error_set(err, -E2BIG, "%s:%s: %s", source, at, depth);
	}
	return cg_error_set(err, -EINVAL, "%s:%s: %s", source, at, p + skip);
}

/*
 * libfyaml 0.7.12 formats a single-quoted scalar wrongly when two '' escapes
 * follow each other: 'a''''b' reads as a''' instead of a''b (the unescaping
 * loop steps one byte past the first pair instead of two, so the second
 * quote of the pair starts another escape), and the chunk array is then
 * leaked because the longer text does not fit the buffer sized for the right
 * one: 8 KB and more per scalar, 400 MB for a 12 MB file. A value capgate
 * read would not be the value Kubernetes reads, so such a scalar is refused
 * before anyone asks libfyaml for its text. The raw bytes between the
 * token's marks are the scalar's content without its quotes.
 */
static int check_scalars(struct cg_doc_stream *s, struct fy_node *n, int depth, struct cg_error *err)
{
	void *it = NULL;
	int r = 0;

	if (!n || depth > 2 * CG_DOC_MAX_DEPTH)
		return 0;
	if (fy_node_is_scalar(n)) {
		struct fy_token *t = fy_node_get_style(n) == FYNS_SINGLE_QUOTED ? fy_node_get_scalar_token(n) : NULL;
		const struct fy_mark *a = t ? fy_token_start_mark(t) : NULL, *b = t ? fy_token_end_mark(t) : NULL;
		if (!a || !b || b->input_pos > s->len || a->input_pos > b->input_pos)
			return 0;
		if (memmem(s->buf + a->input_pos, b->input_pos - a->input_pos, "''''", 4))
			return cg_doc_error(err, s->source, n, NULL,
					    "a single-quoted string with two '' escapes in a row, which libfyaml 0.7 "
					    "misreads: write it double-quoted");
		return 0;
	}
	if (fy_node_is_sequence(n)) {
		struct fy_node *item;
		while (r == 0 && (item = fy_node_sequence_iterate(n, &it)) != NULL)
			r = check_scalars(s, item, depth + 1, err);
		return r;
	}
	if (fy_node_is_mapping(n)) {
		struct fy_node_pair *p;
		while (r == 0 && (p = fy_node_mapping_iterate(n, &it)) != NULL)
			if ((r = check_scalars(s, fy_node_pair_key(p), depth + 1, err)) == 0)
				r = check_scalars(s, fy_node_pair_value(p), depth + 1, err);
	}
	return r;
}

int cg_doc_stream_next(struct cg_doc_stream *s, struct fy_document **ret_doc, struct cg_error *err)
{
	struct fy_document *d;
	int r;

	if (s->n_docs >= CG_DOC_MAX_DOCS)
		return cg_error_set(err, -E2BIG, "%s: more than %d documents in one stream (the most capgate reads)",
				    s->source, CG_DOC_MAX_DOCS);
	for (;;) {
		if (!s->fyp) {
			r = s->fd >= 0 ? stream_advance(s, err) : 0;
			if (r < 0)
				return r;
			if (r == 0)
				break;
		}
		d = fy_parse_load_document(s->fyp);
		if (d) {
			if ((r = check_scalars(s, fy_document_root(d), 0, err)) < 0) {
				fy_parse_document_destroy(s->fyp, d);
				return r;
			}
			s->n_docs++;
			*ret_doc = d;
			return 1;
		}
		if (fy_parser_get_stream_error(s->fyp) || s->cap.first[0])
			return syntax_error(s->source, s->origin.line0, s->cap.first, err);
		if (s->fd < 0)
			break;
		/* this piece is done: the next one */
		if ((r = stream_advance(s, err)) < 0)
			return r;
		if (r == 0)
			break;
	}
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

/* Where the walk is: one link per level on the stack, turned into the
 * "a.b[0]" field path only when an error is reported (building it for every
 * key was a fifth of the CPU time of reading a profile). */
struct dup_at {
	const struct dup_at *up;
	const char *key; /* NULL: the index of a sequence item */
	size_t key_len, index;
};

static void dup_path(const struct dup_at *at, char *buf, size_t cap)
{
	const struct dup_at *chain[DUP_MAX_DEPTH + 2];
	size_t n = 0, len = 0;

	buf[0] = '\0';
	for (; at && at->up && n < sizeof(chain) / sizeof(chain[0]); at = at->up)
		chain[n++] = at;
	while (n-- > 0 && len < cap - 1) {
		const struct dup_at *a = chain[n];
		int l = a->key ? snprintf(buf + len, cap - len, "%s%.*s", len ? "." : "", (int)a->key_len, a->key)
			       : snprintf(buf + len, cap - len, "[%zu]", a->index);
		len = l < 0 ? len : len + (size_t)l < cap ? len + (size_t)l
							  : cap - 1;
	}
}

/* @key NULL: nesting too deep; else a duplicate @key */
static int dup_error(struct cg_error *err, const char *source, struct fy_node *n, const struct dup_at *at,
		     const char *key, size_t key_len)
{
	char path[512];

	dup_path(at, path, sizeof(path));
	if (!key)
		return cg_doc_error(err, source, n, path, "nested deeper than %d levels", DUP_MAX_DEPTH);
	return cg_doc_error(err, source, n, path, "duplicate key '%.*s'", (int)(key_len > 64 ? 64 : key_len), key);
}

static int check_duplicates(struct fy_node *n, const char *source, const struct dup_at *at, int depth,
			    struct cg_error *err)
{
	void *it = NULL;
	int r = 0;

	if (!n || (!fy_node_is_sequence(n) && !fy_node_is_mapping(n)))
		return 0;
	if (depth > DUP_MAX_DEPTH)
		return dup_error(err, source, n, at, NULL, 0);
	if (fy_node_is_sequence(n)) {
		struct fy_node *item;
		struct dup_at here = { .up = at };
		while (r == 0 && (item = fy_node_sequence_iterate(n, &it)) != NULL) {
			r = check_duplicates(item, source, &here, depth + 1, err);
			here.index++;
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
			r = dup_error(err, source, dup->key, at, dup->s, dup->len);
	}
	free(v);
	it = NULL;
	while (r == 0 && (pair = fy_node_mapping_iterate(n, &it)) != NULL) {
		struct fy_node *k = fy_node_pair_key(pair), *val = fy_node_pair_value(pair);
		struct dup_at here = { .up = at, .key = "?", .key_len = 1 };
		const char *ks;
		size_t kl = 0;
		if (!val || (!fy_node_is_sequence(val) && !fy_node_is_mapping(val)))
			continue;
		if (k && fy_node_is_scalar(k) && (ks = fy_node_get_scalar(k, &kl)) != NULL) {
			here.key = ks;
			here.key_len = kl;
		}
		r = check_duplicates(val, source, &here, depth + 1, err);
	}
	return r;
}

int cg_doc_check_duplicates(struct fy_node *n, const char *source, struct cg_error *err)
{
	struct dup_at top = { 0 };
	return check_duplicates(n, source, &top, 0, err);
}

int cg_doc_parse_all(const char *buf, size_t len, const char *source, struct fy_document ***ret_docs,
		     size_t *ret_n, bool *ret_json, struct cg_error *err)
{
	struct cg_doc_stream *s = NULL;
	struct fy_document **docs = NULL, *d;
	size_t n = 0;
	int r;

	if ((r = cg_doc_stream_open(buf, len, source, CG_DOC_ALLOW_DUPLICATE_KEYS | CG_DOC_WHOLE, &s, err)) < 0)
		return r;
	while ((r = cg_doc_stream_next(s, &d, err)) > 0) {
		struct fy_document **nd;
		if ((r = cg_doc_check_duplicates(fy_document_root(d), source, err)) < 0) {
			cg_doc_stream_destroy_doc(s, d);
			break;
		}
		if (n >= CG_DOC_MAX_DOCS_HELD) {
			cg_doc_stream_destroy_doc(s, d);
			r = cg_error_set(err, -E2BIG, "%s: more than %d documents (the most capgate reads from one file)",
					 source, CG_DOC_MAX_DOCS_HELD);
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
	struct fy_document *d = n ? fy_node_document(n) : NULL;
	const struct fy_parse_cfg *cfg = d ? fy_document_get_cfg(d) : NULL;
	const struct doc_origin *o = cfg ? cfg->userdata : NULL;
	int depth = 0, line0 = o && o->magic == ORIGIN_MAGIC ? o->line0 : 0;

	while (n && !m && depth++ < 64) {
		void *it = NULL;
		if (fy_node_is_scalar(n)) {
			struct fy_token *t = fy_node_get_scalar_token(n);
			enum fy_node_style st = fy_node_get_style(n);
			m = t ? fy_token_start_mark(t) : NULL;
			if (m) {
				/* point at the opening quote, not the first character */
				*line = line0 + m->line + 1;
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
	*line = m ? line0 + m->line + 1 : 0;
	*col = m ? m->column + 1 : 0;
}

/* A libfyaml node as a one-node tree view (no items: collections only say
 * what they are), for the rules of tree.c: one implementation of what a
 * value means and what the message says, whichever reader built the node. */
static const struct cg_tnode *view(struct fy_node *n, struct cg_tnode *v)
{
	if (!n)
		return NULL;
	*v = (struct cg_tnode){ .kind = CG_TN_SCALAR, .style = CG_TN_PLAIN, .text = "" };
	if (fy_node_is_scalar(n)) {
		enum fy_node_style st = fy_node_get_style(n);
		const char *t = fy_node_get_scalar(n, &v->len);
		v->style = st == FYNS_PLAIN ? CG_TN_PLAIN : st == FYNS_DOUBLE_QUOTED ? CG_TN_DQUOTED
										     : CG_TN_QUOTED;
		if (t)
			v->text = t;
		else
			v->len = 0;
	} else {
		v->kind = fy_node_is_mapping(n) ? CG_TN_MAP : CG_TN_SEQ;
	}
	v->fy = n; /* the position, only if an error asks */
	return v;
}

int cg_doc_error(struct cg_error *err, const char *source, struct fy_node *n, const char *path, const char *fmt,
		 ...)
{
	char msg[CG_ERROR_MAX];
	struct cg_tnode v;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* the position only: never the text of the node, which may be the
	 * single-quoted scalar check_scalars refuses (libfyaml leaks formatting it) */
	v = (struct cg_tnode){ .text = "", .fy = n };
	return cg_tn_error(err, source, &v, path, "%s", msg);
}

const char *cg_doc_scalar(struct fy_node *n, char *buf, size_t n_buf)
{
	struct cg_tnode v;
	return cg_tn_scalar(view(n, &v), buf, n_buf);
}

bool cg_doc_is_null(struct fy_node *n)
{
	struct cg_tnode v;
	return cg_tn_is_null(view(n, &v));
}

bool cg_doc_is_string(struct fy_node *n, bool json)
{
	struct cg_tnode v;
	return cg_tn_is_string(view(n, &v), json);
}

bool cg_doc_is_mapping(struct fy_node *n) { return n && fy_node_is_mapping(n); }
bool cg_doc_is_sequence(struct fy_node *n) { return n && fy_node_is_sequence(n); }

int cg_doc_u64(struct fy_node *n, bool json, const char *source, const char *path, uint64_t *ret,
	       struct cg_error *err)
{
	struct cg_tnode v;
	return cg_tn_u64(view(n, &v), json, source, path, ret, err);
}

int cg_doc_strdup(struct fy_node *n, bool json, const char *source, const char *path, char **ret,
		  struct cg_error *err)
{
	struct cg_tnode v;
	return cg_tn_strdup(view(n, &v), json, source, path, ret, err);
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
	struct cg_tree *t = NULL;
	struct cg_tnode v;
	int r;

	if (!n || !fy_node_is_sequence(n))
		return cg_tn_strv(view(n, &v), json, source, path, ret, ret_n, err);
	if ((r = cg_tree_from_fy(n, &t, err)) < 0)
		return r;
	r = cg_tn_strv(cg_tree_root(t), json, source, path, ret, ret_n, err);
	cg_tree_free(t);
	return r;
}

int cg_doc_bool(struct fy_node *n, bool json, const char *source, const char *path, bool *ret,
		struct cg_error *err)
{
	struct cg_tnode v;
	return cg_tn_bool(view(n, &v), json, source, path, ret, err);
}

const char *cg_doc_key(struct fy_node_pair *p, char *buf, size_t n_buf)
{
	return cg_doc_scalar(fy_node_pair_key(p), buf, n_buf);
}

/* JSON's number grammar: what may be written unquoted. */
static bool json_number(const char *s, size_t n)
{
	size_t i = 0;
	if (i < n && s[i] == '-')
		i++;
	if (i < n && s[i] == '0')
		i++;
	else if (i < n && s[i] >= '1' && s[i] <= '9')
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	else
		return false;
	if (i < n && s[i] == '.') {
		size_t d = ++i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == d)
			return false;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		size_t d;
		if (++i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		d = i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == d)
			return false;
	}
	return i == n;
}

struct json_walk {
	struct cg_json *j;
	const char *source;
	size_t nodes;
	unsigned max_depth;
	struct cg_error *err;
};

static int json_node(struct json_walk *w, struct fy_node *n, const char *path, unsigned depth)
{
	void *it = NULL;
	size_t len;
	const char *s;
	int r = 0;

	for (int hops = 0; n && fy_node_is_alias(n); hops++) {
		struct fy_node *t = hops < CG_DOC_MAX_DEPTH ? fy_node_resolve_alias(n) : NULL;
		if (!t)
			return cg_doc_error(w->err, w->source, n, path, "an alias that names no anchor before it");
		n = t;
	}
	if (++w->nodes > CG_DOC_MAX_SEPARATORS)
		return cg_doc_error(w->err, w->source, n, path, "aliases expand to more than %d nodes",
				    CG_DOC_MAX_SEPARATORS);
	if (depth > w->max_depth)
		return cg_doc_error(w->err, w->source, n, path,
				    "nested deeper than %u levels once aliases are expanded", w->max_depth);
	if (!n) {
		cg_json_null(w->j);
		return 0;
	}
	if (fy_node_is_sequence(n)) {
		struct fy_node *item;
		cg_json_arr_open(w->j);
		while (r == 0 && (item = fy_node_sequence_iterate(n, &it)) != NULL)
			r = json_node(w, item, path, depth + 1);
		cg_json_arr_close(w->j);
		return r;
	}
	if (fy_node_is_mapping(n)) {
		struct fy_node_pair *p;
		cg_json_obj_open(w->j);
		while (r == 0 && (p = fy_node_mapping_iterate(n, &it)) != NULL) {
			struct fy_node *k = fy_node_pair_key(p);
			while (k && fy_node_is_alias(k) && fy_node_resolve_alias(k) && fy_node_is_scalar(fy_node_resolve_alias(k)))
				k = fy_node_resolve_alias(k);
			if (!k || !fy_node_is_scalar(k) || fy_node_is_alias(k) || !(s = fy_node_get_scalar(k, &len)) ||
			    memchr(s, '\0', len))
				return cg_doc_error(w->err, w->source, k ? k : n, path,
						    "a key that is not a string cannot be written as JSON");
			_cleanup_free_ char *key = strndup(s, len);
			if (!key)
				return cg_error_set(w->err, -ENOMEM, "out of memory");
			cg_json_key(w->j, key);
			r = json_node(w, fy_node_pair_value(p), path, depth + 1);
		}
		cg_json_obj_close(w->j);
		return r;
	}
	s = fy_node_get_scalar(n, &len);
	if (!s)
		return cg_error_set(w->err, -ENOMEM, "out of memory");
	if (fy_node_get_style(n) == FYNS_PLAIN) {
		size_t tl = 0;
		const char *tag = fy_node_get_tag(n, &tl);
		bool str_tag = tag && ((tl == 1 && tag[0] == '!') || (tl == 21 && memcmp(tag, "tag:yaml.org,2002:str", 21) == 0) ||
				       (tl == 5 && memcmp(tag, "!!str", 5) == 0));
		if (len == 0 && !str_tag) {
			cg_json_null(w->j);
			return 0;
		}
		if (!str_tag && ((len == 4 && (memcmp(s, "true", 4) == 0 || memcmp(s, "null", 4) == 0)) ||
				 (len == 5 && memcmp(s, "false", 5) == 0) || json_number(s, len))) {
			cg_json_raw(w->j, s, len);
			return 0;
		}
	}
	cg_json_strn(w->j, s, len);
	return 0;
}

int cg_doc_json(struct fy_node *n, struct cg_json *j, unsigned max_depth, const char *source, const char *path,
		struct cg_error *err)
{
	struct json_walk w = { .j = j, .source = source, .max_depth = max_depth, .err = err };
	return json_node(&w, n, path ? path : "", 0);
}

int cg_doc_json_pair(struct fy_node_pair *p, struct cg_json *j, const char *source, struct cg_error *err)
{
	char kb[1024];
	const char *k = cg_doc_key(p, kb, sizeof(kb));

	if (!k)
		return cg_error_set(err, -EINVAL, "%s: a member name is not a string or is too long", source);
	cg_json_key(j, k);
	return cg_doc_json(fy_node_pair_value(p), j, CG_JSON_MAX_DEPTH - 4, source, k, err);
}

int cg_doc_json_string(struct fy_node *n, const char *source, char **ret, struct cg_error *err)
{
	struct cg_strbuf sb;
	struct cg_json j;
	int r;

	/* a duplicate key would make the JSON mean whatever its reader picks;
	 * Kubernetes refuses them */
	if ((r = cg_doc_check_duplicates(n, source, err)) < 0)
		return r;
	cg_strbuf_init(&sb);
	cg_json_init(&j, &sb, 0);
	/* two levels spare: callers wrap the object ({"review": {"object": ...}}) */
	if ((r = cg_doc_json(n, &j, CG_JSON_MAX_DEPTH - 3, source, NULL, err)) == 0 && (r = cg_json_finish(&j)) < 0)
		r = cg_error_set(err, r, r == -ENOMEM ? "out of memory" : "%s: cannot write the document as JSON", source);
	if (r < 0) {
		cg_strbuf_release(&sb);
		return r;
	}
	*ret = sb.buf ? sb.buf : strdup("null");
	return *ret ? 0 : cg_error_set(err, -ENOMEM, "out of memory");
}
