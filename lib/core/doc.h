/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal: position-aware access to JSON and YAML documents (libfyaml).
 * Every error names source:line:column and the field path.
 */
#ifndef CAPGATE_DOC_H
#define CAPGATE_DOC_H

#include <capgate/error.h>
#include <libfyaml.h>

struct cg_json;

/*
 * Bounds on what one parse may cost, whatever the input (docs/LIBFYAML.md).
 * libfyaml 0.7 spends 300-550 bytes per node or token, and queues every
 * token of a line that could still turn out to be an implicit key, so the
 * memory a document costs follows its structure, not its size.
 *
 * CG_DOC_MAX_SEPARATORS: the most ',' ':' '-' '?' '[' '{' bytes in one
 * document of a stream (in the whole input for cg_doc_parse_all, which holds
 * every document). Every node but the first is introduced by one of them,
 * and one introduces at most three, so this bounds nodes and tokens (about
 * 280 MB in the worst case) without a lexer that could be fooled; it counts
 * them inside strings and comments too, so real documents stay far below.
 * CG_DOC_MAX_DOCS: documents in one stream (cg_doc_parse_all: 10000).
 * Nesting: libfyaml's own limit of 64 levels, reported as such.
 */
#define CG_DOC_MAX_SEPARATORS 500000
#define CG_DOC_MAX_DOCS 1000000
#define CG_DOC_MAX_DOCS_HELD 10000
#define CG_DOC_MAX_DEPTH 64

struct cg_pos;

/* Parse @buf as a stream of documents. JSON input (first non-blank byte '{'
 * or '[') is parsed in strict JSON mode. *ret_docs is a malloc'd array of
 * documents; free each with fy_document_destroy and the array with free. */
int cg_doc_parse_all(const char *buf, size_t len, const char *source, struct fy_document ***ret_docs,
		     size_t *ret_n, bool *ret_json, struct cg_error *err);

/* A stream of documents read one at a time, with the same checks and error
 * format as cg_doc_parse_all (which is a loop over it). */
struct cg_doc_stream;
enum {
	CG_DOC_ALLOW_DUPLICATE_KEYS = 1, /* the caller detects duplicates (libfyaml's check is quadratic) */
	CG_DOC_WHOLE = 2,                /* the caller holds every document: bound the input, not each one */
};
int cg_doc_stream_open(const char *buf, size_t len, const char *source, unsigned flags, struct cg_doc_stream **ret,
		       struct cg_error *err);
/* 1: *ret_doc is the next document (free it with cg_doc_stream_destroy_doc);
 * 0: end of the stream; < 0: a syntax error, or no document at all. */
int cg_doc_stream_next(struct cg_doc_stream *s, struct fy_document **ret_doc, struct cg_error *err);
void cg_doc_stream_destroy_doc(struct cg_doc_stream *s, struct fy_document *d);
bool cg_doc_stream_json(const struct cg_doc_stream *s);
/* A file (or "-": standard input) read one document at a time: memory
 * follows the largest document, not the file. The file is cut at "---" and
 * "..." lines and each piece gets a parser of its own; positions stay the
 * file's. A document must be destroyed before the next one is asked for.
 * A document (all of a JSON file) longer than @max_doc bytes is an error. */
int cg_doc_stream_open_file(const char *path, unsigned flags, size_t max_doc, struct cg_doc_stream **ret,
			    struct cg_error *err);
/* The bytes of the first document of a file stream (read if needed), for a
 * look before parsing: borrowed until the stream moves on. */
int cg_doc_stream_head(struct cg_doc_stream *s, const char **ret_buf, size_t *ret_len, struct cg_error *err);
/* The whole file of a stream no document was taken from, as one malloc'd
 * NUL-terminated buffer (at most the stream's @max_doc bytes); the stream
 * has nothing left to read afterwards. */
int cg_doc_stream_slurp(struct cg_doc_stream *s, char **ret, size_t *ret_len, struct cg_error *err);
void cg_doc_stream_close(struct cg_doc_stream *s);

/* Refuse malformed YAML directive lines (libfyaml 0.7 can loop forever on
 * them). cg_doc_parse_all calls it for YAML. */
int cg_doc_check_directives(const char *buf, size_t len, const char *source, struct cg_error *err);

/* Refuse a mapping anywhere below @n that has a key twice (O(n log n) per
 * mapping), naming the second one: "source:L:C: path: duplicate key 'k'". */
int cg_doc_check_duplicates(struct fy_node *n, const char *source, struct cg_error *err);

/* 1-based line and column of a node (0/0 if unknown). */
void cg_doc_pos(struct fy_node *n, int *line, int *col);

/* Set an error "source:line:col: path: message". */
int cg_doc_error(struct cg_error *err, const char *source, struct fy_node *n, const char *path,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Scalar text of @n (NUL-terminated copy into @buf), or NULL if not a scalar
 * or longer than @n_buf-1. */
const char *cg_doc_scalar(struct fy_node *n, char *buf, size_t n_buf);

/* Kind checks. In JSON mode a string must be quoted and a number unquoted. */
bool cg_doc_is_null(struct fy_node *n);
bool cg_doc_is_string(struct fy_node *n, bool json);
bool cg_doc_is_mapping(struct fy_node *n);
bool cg_doc_is_sequence(struct fy_node *n);

/* Read an unsigned integer (decimal, or 0x hex in YAML); error otherwise. */
int cg_doc_u64(struct fy_node *n, bool json, const char *source, const char *path, uint64_t *ret,
	       struct cg_error *err);
/* Read a string into a new malloc'd copy. */
int cg_doc_strdup(struct fy_node *n, bool json, const char *source, const char *path, char **ret,
		  struct cg_error *err);
/* Read a sequence of strings (null = empty) into a malloc'd array. */
int cg_doc_strv(struct fy_node *n, bool json, const char *source, const char *path, char ***ret,
		size_t *ret_n, struct cg_error *err);
/* Read a bool (true/false). */
int cg_doc_bool(struct fy_node *n, bool json, const char *source, const char *path, bool *ret,
		struct cg_error *err);

/* Key text of a mapping pair (borrowed, NUL-terminated in @buf). */
const char *cg_doc_key(struct fy_node_pair *p, char *buf, size_t n_buf);

/* Write @n as JSON into @j the way Kubernetes reads YAML: aliases expanded
 * (at most CG_DOC_MAX_SEPARATORS nodes in all, nesting at most @max_depth),
 * plain true/false/null/numbers unquoted, an empty plain scalar null,
 * everything else a string. libfyaml's JSON emitter refuses aliases. */
int cg_doc_json(struct fy_node *n, struct cg_json *j, unsigned max_depth, const char *source, const char *path,
		struct cg_error *err);

/* One member of a mapping written into @j as it was: its key, then its
 * value as cg_doc_json writes it (a key that is not a string, or is too
 * long, is -EINVAL). For documents edited member by member. */
int cg_doc_json_pair(struct fy_node_pair *p, struct cg_json *j, const char *source, struct cg_error *err);

/* The same, compact, into a new malloc'd string (free it). */
int cg_doc_json_string(struct fy_node *n, const char *source, char **ret, struct cg_error *err);

/* Free a string vector. */
void cg_strv_free(char **v, size_t n);

#endif
