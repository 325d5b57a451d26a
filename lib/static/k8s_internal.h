/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal: the manifest reader over a document stream that is already open,
 * so that a caller can look at a file's first document (is it a profile?)
 * and then read the file one document at a time without reading it whole.
 */
#ifndef CAPGATE_K8S_INTERNAL_H
#define CAPGATE_K8S_INTERNAL_H

#include <capgate/k8s.h>

#include "core/doc.h"

/* cg_k8s_parse_each() over @st (open it with CG_DOC_ALLOW_DUPLICATE_KEYS:
 * the reader finds duplicates itself); the caller closes @st. */
int cg_k8s_parse_stream_each(struct cg_doc_stream *st, const char *source, unsigned flags, cg_k8s_each_fn fn,
			     void *user, size_t *ret_skipped, struct cg_error *err);

#endif
