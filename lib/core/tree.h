/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal: a parsed document as a tree of nodes with positions, whoever
 * read it. Two readers build it:
 *   - cg_tree_parse_json(): capgate's own reader for strict JSON (RFC 8259),
 *     one pass and one allocation block; it takes on only input it can read
 *     exactly as libfyaml does, and says "not mine" for anything else;
 *   - cg_tree_from_fy(): a libfyaml document (YAML, and every input the JSON
 *     reader declines, including every malformed one: libfyaml's error
 *     messages stay the ones users see).
 * Kinds, scalar styles, texts and positions are the ones the cg_doc_*
 * accessors give for the same input (doc.c implements them on this type),
 * so a reader written against the tree reads a file the same way whichever
 * reader built it. tests/unit/test_profile.c and fuzz/fuzz_tree.c hold the
 * two readers to that on every input they have.
 */
#ifndef CAPGATE_TREE_H
#define CAPGATE_TREE_H

#include <capgate/error.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fy_node;

enum { CG_TN_SCALAR,
       CG_TN_MAP,
       CG_TN_SEQ };
enum {
	CG_TN_PLAIN,   /* written without quotes: numbers, true, false, null, YAML's bare words */
	CG_TN_DQUOTED, /* "double-quoted" (every JSON string) */
	CG_TN_QUOTED,  /* any other YAML style: 'single', | literal, > folded, an alias */
};

struct cg_tnode {
	struct cg_tnode *next;  /* the next item; in a mapping keys and values alternate */
	struct cg_tnode *first; /* a collection's first item (or first key) */
	const char *text;       /* a scalar's text, NUL-terminated (len: it may hold a NUL) */
	size_t len;             /* a scalar's bytes; a collection's items (pairs for a mapping) */
	int line, col;          /* 1-based; a quoted scalar's opening quote; a collection's first scalar; 0 0: none */
	uint8_t kind, style;
	struct fy_node *fy; /* doc.c's one-node views only: the position is asked of it when needed */
};

#define CG_TN_FOREACH(n, it) for (struct cg_tnode *it = (n)->first; it; it = it->next)
/* keys and values of a mapping */
#define CG_TN_FOREACH_PAIR(n, k, v) \
	for (struct cg_tnode *k = (n)->first, *v = k ? k->next : NULL; k && v; k = v->next, v = k ? k->next : NULL)

struct cg_tree;

/* Bounds of the JSON reader: deeper or larger input goes to libfyaml, whose
 * limits (doc.h) are the ones reported. */
#define CG_TREE_JSON_MAX_DEPTH 32

/* Read @buf as one strict JSON value (an object or an array). 1: *ret is the
 * tree; 0: not taken on (malformed, or a spelling libfyaml might read
 * otherwise: the caller parses it with libfyaml); -ENOMEM. */
int cg_tree_parse_json(const char *buf, size_t len, struct cg_tree **ret);

/* The tree of a libfyaml node (texts copied: the tree outlives the document). */
int cg_tree_from_fy(struct fy_node *root, struct cg_tree **ret, struct cg_error *err);

struct cg_tnode *cg_tree_root(const struct cg_tree *t);
void cg_tree_free(struct cg_tree *t);

/* The value of key @key in mapping @n, or NULL (the first, if several). */
struct cg_tnode *cg_tn_lookup(const struct cg_tnode *n, const char *key);

/* The accessors, with the cg_doc_* semantics and messages (doc.h). */
void cg_tn_pos(const struct cg_tnode *n, int *line, int *col);
int cg_tn_error(struct cg_error *err, const char *source, const struct cg_tnode *n, const char *path,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));
const char *cg_tn_scalar(const struct cg_tnode *n, char *buf, size_t n_buf);
/* A scalar's text without a copy, NULL if not a scalar or it holds a NUL. */
const char *cg_tn_str(const struct cg_tnode *n);
bool cg_tn_is_null(const struct cg_tnode *n);
bool cg_tn_is_string(const struct cg_tnode *n, bool json);
static inline bool cg_tn_is_mapping(const struct cg_tnode *n) { return n && n->kind == CG_TN_MAP; }
static inline bool cg_tn_is_sequence(const struct cg_tnode *n) { return n && n->kind == CG_TN_SEQ; }
int cg_tn_u64(const struct cg_tnode *n, bool json, const char *source, const char *path, uint64_t *ret,
	      struct cg_error *err);
int cg_tn_strdup(const struct cg_tnode *n, bool json, const char *source, const char *path, char **ret,
		 struct cg_error *err);
int cg_tn_strv(const struct cg_tnode *n, bool json, const char *source, const char *path, char ***ret,
	       size_t *ret_n, struct cg_error *err);
int cg_tn_bool(const struct cg_tnode *n, bool json, const char *source, const char *path, bool *ret,
	       struct cg_error *err);

#endif
