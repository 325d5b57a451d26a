// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz the Kubernetes manifest reader and the PSS seccomp check: for any
 * input, cg_k8s_parse either fails with a message that names the source, or
 * gives workloads that hold together:
 *   - every container has a name and a path under the workload's pod spec;
 *   - a container's effective setting is its own, or the pod's when unset;
 *   - a set setting has a path, a Localhost one a profile name;
 *   - checks at every level succeed, restricted finds at least what baseline
 *     finds, privileged finds nothing, and every violation has a message and
 *     a path;
 *   - the same bytes read from a file, one document at a time (what `capgate
 *     check` does), give the same objects at the same positions.
 */
#include <capgate/k8s.h>

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/doc.h"
#include "static/k8s_internal.h"
#include "fuzz.h"

static void check_setting(const struct cg_seccomp_setting *s, const char *what)
{
	if (s->kind == CG_SECCOMP_UNSET)
		return;
	if (!s->path || !*s->path)
		FAIL("%s: setting without a path", what);
	if (s->kind == CG_SECCOMP_LOCALHOST && (!s->localhost_profile || !*s->localhost_profile))
		FAIL("%s: Localhost without a profile name", what);
}

static size_t check_level(const struct cg_k8s_workload *w, enum cg_pss_level level)
{
	struct cg_k8s_violation *v = NULL;
	size_t n = 0;

	if (cg_k8s_check_seccomp(w, level, &v, &n) < 0)
		return 0; /* out of memory */
	for (size_t i = 0; i < n; i++)
		if (!v[i].msg || !*v[i].msg || !v[i].path)
			FAIL("violation without a message or path");
	cg_k8s_violations_free(v, n);
	return n;
}

static void check_workload(const struct cg_k8s_workload *w)
{
	size_t nb, nr;

	if (!w->kind || !w->pod_spec_path || !w->source)
		FAIL("workload without kind, pod spec path or source");
	check_setting(&w->pod, "pod");
	for (size_t i = 0; i < w->n_containers; i++) {
		const struct cg_k8s_container *c = &w->containers[i];
		const struct cg_seccomp_setting *want = c->own.kind != CG_SECCOMP_UNSET ? &c->own : &w->pod;
		if (!c->name || !c->path || strncmp(c->path, w->pod_spec_path, strlen(w->pod_spec_path)) != 0)
			FAIL("container %zu: no name, or path '%s' outside '%s'", i, c->path ? c->path : "",
			     w->pod_spec_path);
		check_setting(&c->own, "container");
		check_setting(&c->effective, "effective");
		if (c->effective.kind != want->kind || c->effective.from_annotation != want->from_annotation)
			FAIL("container %zu: effective setting is not its own or the pod's", i);
	}
	for (size_t i = 0; i < w->n_labels; i++)
		if (!w->label_keys[i] || !w->label_values[i] || cg_k8s_label(w, w->label_keys[i]) == NULL)
			FAIL("label %zu unreadable", i);
	if (check_level(w, CG_PSS_PRIVILEGED) != 0)
		FAIL("privileged found violations");
	nb = check_level(w, CG_PSS_BASELINE);
	nr = check_level(w, CG_PSS_RESTRICTED);
	if (nr < nb)
		FAIL("restricted found %zu violations, baseline %zu", nr, nb);
}

struct same {
	struct cg_k8s_workload **w;
	size_t n, i;
};

static int same_each(const struct cg_k8s_workload *w, void *user, struct cg_error *err)
{
	struct same *x = user;
	const struct cg_k8s_workload *o = x->i < x->n ? x->w[x->i] : NULL;
	(void)err;
	if (!o)
		FAIL("the file stream gives more objects than the buffer (%zu)", x->n);
	if (o->pos.line != w->pos.line || o->pos.col != w->pos.col || o->n_containers != w->n_containers ||
	    (o->kind == NULL) != (w->kind == NULL) || (o->kind && strcmp(o->kind, w->kind) != 0))
		FAIL("object %zu: %s at %d:%d with %zu containers from the buffer, %s at %d:%d with %zu from the file",
		     x->i, o->kind ? o->kind : "?", o->pos.line, o->pos.col, o->n_containers, w->kind ? w->kind : "?",
		     w->pos.line, w->pos.col, w->n_containers);
	x->i++;
	return 0;
}

/* The bytes as a file, read one document at a time: wherever the buffer
 * reader accepts them, the same objects at the same positions. */
static void check_file_stream(const uint8_t *data, size_t size, struct cg_k8s_workload **w, size_t n)
{
	struct cg_doc_stream *st = NULL;
	struct cg_error err = { 0 };
	struct same x = { w, n, 0 };
	char path[64];
	int fd = memfd_create("fuzz", MFD_CLOEXEC);

	if (fd < 0 || write(fd, data, size) != (ssize_t)size) {
		if (fd >= 0)
			close(fd);
		return;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (cg_doc_stream_open_file(path, CG_DOC_ALLOW_DUPLICATE_KEYS, 1 << 20, &st, &err) < 0 ||
	    cg_k8s_parse_stream_each(st, path, 0, same_each, &x, NULL, &err) < 0)
		FAIL("the buffer reader accepts what the file stream refuses: %s", err.msg);
	if (x.i != n)
		FAIL("the file stream gives %zu objects, the buffer %zu", x.i, n);
	cg_doc_stream_close(st);
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cg_k8s_workload **w = NULL;
	size_t n = 0, skipped = 0;
	struct cg_error err = { 0 };

	if (size > 1 << 16)
		return 0;
	/* "out of memory" is not an answer here: the allocator does not fail
	 * under the fuzzer, so it can only be a mislabelled error (it hid the
	 * Rego-test alias bug) */
	if (cg_k8s_parse((const char *)data, size, "fuzz.yaml", &w, &n, &skipped, &err) < 0) {
		if (strncmp(err.msg, "fuzz.yaml", 9) != 0)
			FAIL("error does not name the source: %s", err.msg);
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		check_workload(w[i]);
	check_file_stream(data, size, w, n);
	cg_k8s_workloads_free(w, n);

	/* the objects kept as JSON (Rego tests, the webhook) are JSON that
	 * capgate itself reads back, or an error that names the source */
	w = NULL;
	n = 0;
	if (cg_k8s_parse_flags((const char *)data, size, "fuzz.yaml", CG_K8S_KEEP_JSON, &w, &n, NULL, &err) < 0) {
		if (strncmp(err.msg, "fuzz.yaml", 9) != 0)
			FAIL("error does not name the source: %s", err.msg);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		struct fy_document **docs = NULL;
		size_t nd = 0;
		bool json = false;
		if (!w[i]->object_json)
			FAIL("workload %zu kept no JSON", i);
		if (cg_doc_parse_all(w[i]->object_json, strlen(w[i]->object_json), "obj", &docs, &nd, &json, &err) < 0 &&
		    !strstr(err.msg, "more than"))
			FAIL("object JSON does not parse: %s: %s", err.msg, w[i]->object_json);
		if (nd && (nd != 1 || !json))
			FAIL("object JSON is %zu documents, json=%d", nd, json);
		for (size_t k = 0; k < nd; k++)
			fy_document_destroy(docs[k]);
		free(docs);
	}
	cg_k8s_workloads_free(w, n);
	return 0;
}
