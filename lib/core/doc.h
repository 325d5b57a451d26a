/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal: position-aware access to JSON and YAML documents (libfyaml).
 * Every error names source:line:column and the field path.
 */
#ifndef CAPGATE_DOC_H
#define CAPGATE_DOC_H

#include <capgate/error.h>
#include <libfyaml.h>

struct cg_pos;

/* Parse @buf as a stream of documents. JSON input (first non-blank byte '{'
 * or '[') is parsed in strict JSON mode. *ret_docs is a malloc'd array of
 * documents; free each with fy_document_destroy and the array with free. */
int cg_doc_parse_all(const char *buf, size_t len, const char *source, struct fy_document ***ret_docs,
		     size_t *ret_n, bool *ret_json, struct cg_error *err);

/* A stream of documents read one at a time, with the same checks and error
 * format as cg_doc_parse_all (which is a loop over it). */
struct cg_doc_stream;
enum { CG_DOC_ALLOW_DUPLICATE_KEYS = 1 }; /* the caller detects duplicates (libfyaml's check is quadratic) */
int cg_doc_stream_open(const char *buf, size_t len, const char *source, unsigned flags, struct cg_doc_stream **ret,
		       struct cg_error *err);
/* 1: *ret_doc is the next document (free it with cg_doc_stream_destroy_doc);
 * 0: end of the stream; < 0: a syntax error, or no document at all. */
int cg_doc_stream_next(struct cg_doc_stream *s, struct fy_document **ret_doc, struct cg_error *err);
void cg_doc_stream_destroy_doc(struct cg_doc_stream *s, struct fy_document *d);
bool cg_doc_stream_json(const struct cg_doc_stream *s);
void cg_doc_stream_close(struct cg_doc_stream *s);

/* Refuse malformed YAML directive lines (libfyaml 0.7 can loop forever on
 * them). cg_doc_parse_all calls it for YAML. */
int cg_doc_check_directives(const char *buf, size_t len, const char *source, struct cg_error *err);

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

/* Free a string vector. */
void cg_strv_free(char **v, size_t n);

#endif
