/* SPDX-License-Identifier: Apache-2.0 */
/* Internal: the workload reader of k8s.c for a document someone else
 * parsed (an AdmissionReview's request.object), so the object is read by
 * the same code as a manifest file and never parsed twice. */
#ifndef CAPGATE_K8S_INTERNAL_H
#define CAPGATE_K8S_INTERNAL_H

#include <capgate/k8s.h>
#include <libfyaml.h>

/* Read the one resource at @root (a List's items, or not-checked objects
 * with CG_K8S_KEEP_UNCHECKED, as cg_k8s_parse_flags). @path is where @root
 * sits ("request.object"); field paths in errors and workloads start with
 * it. @json: the document was read as strict JSON. *ret and *ret_n as
 * cg_k8s_parse(). */
int cg_k8s_parse_node(struct fy_node *root, bool json, const char *source, const char *path, unsigned flags,
		      struct cg_k8s_workload ***ret, size_t *ret_n, struct cg_error *err);

#endif
