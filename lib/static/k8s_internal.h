/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal: the manifest reader over a document stream that is already open,
 * so that a caller can look at a file's first document (is it a profile?)
 * and then read the file one document at a time without reading it whole.
 */
/* Internal: the workload reader of k8s.c for a document someone else
 * parsed (an AdmissionReview's request.object), so the object is read by
 * the same code as a manifest file and never parsed twice. */
#ifndef CAPGATE_K8S_INTERNAL_H
#define CAPGATE_K8S_INTERNAL_H

#include <capgate/k8s.h>

#include "core/doc.h"

/* cg_k8s_parse_each() over @st (open it with CG_DOC_ALLOW_DUPLICATE_KEYS:
 * the reader finds duplicates itself); the caller closes @st. */
int cg_k8s_parse_stream_each(struct cg_doc_stream *st, const char *source, unsigned flags, cg_k8s_each_fn fn,
			     void *user, size_t *ret_skipped, struct cg_error *err);
#include <libfyaml.h>

/* Read the one resource at @root (a List's items, or not-checked objects
 * with CG_K8S_KEEP_UNCHECKED, as cg_k8s_parse_flags). @path is where @root
 * sits ("request.object"); field paths in errors and workloads start with
 * it. @json: the document was read as strict JSON. *ret and *ret_n as
 * cg_k8s_parse(). */
int cg_k8s_parse_node(struct fy_node *root, bool json, const char *source, const char *path, unsigned flags,
		      struct cg_k8s_workload ***ret, size_t *ret_n, struct cg_error *err);

#endif
