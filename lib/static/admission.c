// SPDX-License-Identifier: Apache-2.0
/*
 * AdmissionReview in, AdmissionReview out: the static gate where the API
 * server asks.
 *
 * Why here and not in the command: the decision must be the one `capgate
 * check` makes, so the object is handed to k8s.c's reader as a node of the
 * parsed review (nothing is parsed twice, nothing is re-encoded) and judged
 * by cg_policy_eval_workload(); the HTTP server only moves bytes. Keeping
 * the decoding here also lets it be unit-tested and fuzzed without sockets.
 *
 * Fail closed: whatever the body is, the answer is an AdmissionReview, and
 * anything but a well-formed review whose objects all pass is a deny that
 * says why. A body without a readable uid still gets one (with an empty
 * uid, which the API server refuses as a mismatch: under failurePolicy
 * Fail that is a deny too). Envelope keys given twice are refused: the Go
 * decoder keeps the last, libfyaml would hand over either.
 */
#include <capgate/admission.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"

#include "core/doc.h"
#include "core/error_internal.h"
#include "core/json.h"
#include "static/k8s_internal.h"

#define OBJ_PATH "request.object"
#define MSG_MAX 4096    /* status.message: the API server shows it to a person */
#define WARN_MAX 16     /* warnings per answer */
#define FINDINGS_MAX 32 /* findings named in one message */

struct answer {
	struct cg_admission_result *res;
	struct cg_strbuf msg;
	char *warnings[WARN_MAX];
	size_t n_warnings;
	struct cg_strbuf rules; /* comma-separated rule ids, for auditAnnotations */
	struct cg_strbuf patch; /* the JSONPatch array, compact */
	struct cg_json pj;
	bool patch_open;
	bool oom;
};

static void warn(struct answer *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(struct answer *a, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (a->n_warnings >= WARN_MAX)
		return;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		a->oom = true;
	else
		a->warnings[a->n_warnings++] = s;
	va_end(ap);
}

/* Deny: the body is not something the gate can judge. */
static void deny(struct answer *a, int code, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void deny(struct answer *a, int code, const char *reason, const char *fmt, ...)
{
	char msg[MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	a->res->allowed = false;
	a->res->code = code;
	snprintf(a->res->reason, sizeof(a->res->reason), "%s", reason);
	a->msg.len = 0;
	cg_strbuf_addf(&a->msg, "capgate: %s", msg);
}

/* Pick @nk keys of mapping @m into @out (NULL when absent); a key given
 * twice is an error. */
static int pick(struct fy_node *m, const char *const *keys, size_t nk, struct fy_node **out, const char **dup)
{
	void *it = NULL;
	struct fy_node_pair *p;
	char kb[64];

	memset(out, 0, nk * sizeof(*out));
	while ((p = fy_node_mapping_iterate(m, &it)) != NULL) {
		const char *k = cg_doc_key(p, kb, sizeof(kb));
		for (size_t i = 0; k && i < nk; i++) {
			if (strcmp(k, keys[i]) != 0)
				continue;
			if (out[i]) {
				*dup = keys[i];
				return -EINVAL;
			}
			out[i] = fy_node_pair_value(p);
		}
	}
	return 0;
}

/* The scalar string at @n into @buf, or NULL when it is not a JSON string. */
static const char *str_of(struct fy_node *n, char *buf, size_t n_buf)
{
	if (!n || !cg_doc_is_string(n, true))
		return NULL;
	return cg_doc_scalar(n, buf, n_buf);
}

/* ---- mutation ------------------------------------------------------------------ */

/* "request.object.spec.containers[0]" -> "/spec/containers/0" (the field
 * names k8s.c writes are plain: no '/', '~', '.' or '[' inside them). */
static void json_pointer(const char *path, char *buf, size_t n)
{
	size_t o = 0;

	if (strncmp(path, OBJ_PATH, strlen(OBJ_PATH)) == 0)
		path += strlen(OBJ_PATH);
	if (*path == '.')
		path++;
	if (n)
		buf[o++] = '/';
	for (; *path && o + 1 < n; path++) {
		if (*path == ']')
			continue;
		buf[o++] = (*path == '.' || *path == '[') ? '/' : *path;
	}
	buf[o < n ? o : n - 1] = '\0';
	if (o == 1 && n)
		buf[0] = '\0'; /* the root itself */
}

/* The node at JSON pointer @ptr below @root (plain segments only, as
 * json_pointer() writes them), or NULL when absent or null. */
static struct fy_node *node_at(struct fy_node *root, const char *ptr)
{
	struct fy_node *n = root;
	char seg[256];

	while (n && *ptr == '/') {
		size_t l = strcspn(ptr + 1, "/");
		if (l >= sizeof(seg))
			return NULL;
		memcpy(seg, ptr + 1, l);
		seg[l] = '\0';
		ptr += 1 + l;
		if (fy_node_is_mapping(n))
			n = fy_node_mapping_lookup_by_string(n, seg, l);
		else if (fy_node_is_sequence(n))
			n = fy_node_sequence_get_by_index(n, atoi(seg));
		else
			n = NULL;
	}
	return n && !cg_doc_is_null(n) ? n : NULL;
}

static void patch_op(struct answer *a, const char *path, const char *suffix)
{
	if (!a->patch_open) {
		cg_json_init(&a->pj, &a->patch, 0);
		cg_json_arr_open(&a->pj);
		a->patch_open = true;
	}
	cg_json_obj_open(&a->pj);
	cg_json_kv_str(&a->pj, "op", "add");
	cg_json_key(&a->pj, "path");
	{
		struct cg_strbuf p;
		cg_strbuf_init(&p);
		cg_strbuf_addf(&p, "%s%s", path, suffix);
		cg_json_strn(&a->pj, p.buf ? p.buf : "", p.len);
		a->oom |= p.oom;
		cg_strbuf_release(&p);
	}
	cg_json_key(&a->pj, "value");
	a->res->n_patches++;
}

/* The closure digest of @image from the first layout that holds it, into
 * @hex (64 hex digits); false when none says. */
static bool image_closure_hex(const struct cg_eval_env *env, const char *image, char hex[65])
{
	for (size_t i = 0; env && image && i < env->n_layouts; i++) {
		struct cg_image *img = NULL;
		struct cg_error e = { 0 };
		const char *d;
		bool ok;

		if (cg_image_open_layout(env->layouts[i], image, &img, &e) < 0)
			continue;
		d = cg_image_label(img, CG_LABEL_CLOSURE_DIGEST);
		ok = d && strncmp(d, "sha256:", 7) == 0 && strlen(d) == 71 && strspn(d + 7, "0123456789abcdef") == 64;
		if (ok)
			memcpy(hex, d + 7, 65);
		cg_image_free(img);
		if (ok)
			return true;
	}
	return false;
}

/* The JSON pointer of the escaped annotation key (RFC 6901: '~' and '/'). */
static void ptr_escape(struct cg_strbuf *sb, const char *s)
{
	for (; *s; s++) {
		if (*s == '~')
			CG_STRBUF_LIT(sb, "~0");
		else if (*s == '/')
			CG_STRBUF_LIT(sb, "~1");
		else
			cg_strbuf_add(sb, s, 1);
	}
}

static void mutate_workload(struct answer *a, struct fy_node *obj, const struct cg_k8s_workload *w,
			    const struct cg_admission_opts *o, const struct cg_policy_namespace *nsr)
{
	char spec_ptr[512], meta_ptr[512], cptr[600], hex[65];
	const char *fallback;
	bool have_meta, have_ann;
	size_t plen;

	if (w->not_checked || !w->pod_spec_path)
		return;
	json_pointer(w->pod_spec_path, spec_ptr, sizeof(spec_ptr));
	/* the pod's metadata sits beside its spec: "/spec/template/spec" -> "/spec/template/metadata" */
	plen = strlen(spec_ptr);
	if (plen >= 5 && strcmp(spec_ptr + plen - 5, "/spec") == 0)
		snprintf(meta_ptr, sizeof(meta_ptr), "%.*s/metadata", (int)(plen - 5), spec_ptr);
	else
		snprintf(meta_ptr, sizeof(meta_ptr), "/metadata");
	have_meta = node_at(obj, meta_ptr) != NULL;
	snprintf(cptr, sizeof(cptr), "%s/annotations", meta_ptr);
	have_ann = node_at(obj, cptr) != NULL;

	for (size_t i = 0; i < w->n_containers; i++) {
		const struct cg_k8s_container *c = &w->containers[i];
		bool digest, have_sc;

		if (c->kind == CG_CONTAINER_EPHEMERAL || cg_k8s_seccomp_enforced(w, c))
			continue; /* a setting exists: never changed */
		digest = image_closure_hex(o->env, c->image, hex);
		if (digest) {
			char prof[128];
			snprintf(prof, sizeof(prof), CG_ADMISSION_PROFILE_DIR "sha256-%s.json", hex);
			/* never set what /validate then denies in this namespace */
			if (!cg_policy_namespace_allows(nsr, prof)) {
				digest = false;
				if (!nsr->default_profile)
					warn(a, "container %s: closure profile %s is not allowed in namespace %s and the namespace "
						"has no defaultProfile; seccompProfile left unset",
					     c->name ? c->name : "?", prof, w->namespace ? w->namespace : "default");
			}
		}
		/* the namespace's defaultProfile overrides the webhook's own */
		fallback = nsr && nsr->default_profile ? nsr->default_profile : o->fallback_profile;
		if (!digest && !fallback) {
			warn(a, "container %s: image %s has no closure digest in the configured layouts; seccompProfile left unset",
			     c->name ? c->name : "?", c->image ? c->image : "(none)");
			continue;
		}
		json_pointer(c->path, cptr, sizeof(cptr));
		strcat(cptr, "/securityContext");
		if ((have_sc = node_at(obj, cptr) != NULL)) {
			patch_op(a, cptr, "/seccompProfile");
		} else {
			patch_op(a, cptr, "");
			cg_json_obj_open(&a->pj);
			cg_json_key(&a->pj, "seccompProfile");
		}
		cg_json_obj_open(&a->pj);
		if (digest) {
			char prof[128];
			snprintf(prof, sizeof(prof), CG_ADMISSION_PROFILE_DIR "sha256-%s.json", hex);
			cg_json_kv_str(&a->pj, "type", "Localhost");
			cg_json_kv_str(&a->pj, "localhostProfile", prof);
		} else if (strcmp(fallback, "RuntimeDefault") == 0 || strcmp(fallback, "Unconfined") == 0) {
			cg_json_kv_str(&a->pj, "type", fallback);
		} else {
			cg_json_kv_str(&a->pj, "type", "Localhost");
			cg_json_kv_str(&a->pj, "localhostProfile", fallback);
		}
		cg_json_obj_close(&a->pj);
		if (!have_sc)
			cg_json_obj_close(&a->pj);
		cg_json_obj_close(&a->pj);
		if (!digest)
			continue;

		/* the annotation naming the closure the node must hold */
		char digest_str[80];
		snprintf(digest_str, sizeof(digest_str), "sha256:%s", hex);
		if (!have_meta || !have_ann) {
			patch_op(a, meta_ptr, have_meta ? "/annotations" : "");
			cg_json_obj_open(&a->pj);
			if (!have_meta) {
				cg_json_key(&a->pj, "annotations");
				cg_json_obj_open(&a->pj);
			}
		} else {
			struct cg_strbuf k;
			cg_strbuf_init(&k);
			CG_STRBUF_LIT(&k, "/annotations/");
			ptr_escape(&k, CG_ADMISSION_ANN_DIGEST);
			ptr_escape(&k, c->name ? c->name : "");
			patch_op(a, meta_ptr, k.buf ? k.buf : "");
			a->oom |= k.oom;
			cg_strbuf_release(&k);
			cg_json_str(&a->pj, digest_str);
			cg_json_obj_close(&a->pj);
			continue;
		}
		{
			struct cg_strbuf k;
			cg_strbuf_init(&k);
			cg_strbuf_addf(&k, "%s%s", CG_ADMISSION_ANN_DIGEST, c->name ? c->name : "");
			cg_json_kv_str(&a->pj, k.buf ? k.buf : "", digest_str);
			a->oom |= k.oom;
			cg_strbuf_release(&k);
		}
		if (!have_meta)
			cg_json_obj_close(&a->pj);
		cg_json_obj_close(&a->pj);
		cg_json_obj_close(&a->pj);
		have_meta = have_ann = true;
	}
	if (o->runtime_class) {
		snprintf(cptr, sizeof(cptr), "%s/runtimeClassName", spec_ptr);
		if (!node_at(obj, cptr)) {
			patch_op(a, cptr, "");
			cg_json_str(&a->pj, o->runtime_class);
			cg_json_obj_close(&a->pj);
		}
	}
}

/* ---- validation ---------------------------------------------------------------- */

static void judge(struct answer *a, const struct cg_policy *p, const struct cg_k8s_workload *w,
		  const struct cg_eval_env *env)
{
	struct cg_verdict v = { 0 };
	struct cg_error e = { 0 };

	if (cg_policy_eval_workload(p, w, env, &v, &e) < 0) {
		deny(a, 500, "policy-error", "the policy could not decide on %s %s: %s", w->kind,
		     w->name ? w->name : "(unnamed)", e.msg);
		return;
	}
	if (v.exempt)
		warn(a, "%s: exempt from the capgate policy", v.subject);
	for (size_t i = 0; i < v.n_notes; i++)
		warn(a, "%s", v.notes[i]);
	for (size_t i = 0; i < v.n_findings; i++) {
		const struct cg_finding *f = &v.findings[i];
		if (a->res->allowed) {
			a->res->allowed = false;
			a->res->code = 403;
			snprintf(a->res->reason, sizeof(a->res->reason), "%s", f->rule);
			a->msg.len = 0;
			cg_strbuf_addf(&a->msg, "capgate: %s denied:", v.subject);
		}
		if (a->rules.len < 512)
			cg_strbuf_addf(&a->rules, "%s%s", a->rules.len ? "," : "", f->rule);
		if (i < FINDINGS_MAX && a->msg.len < MSG_MAX)
			cg_strbuf_addf(&a->msg, " [%s] %s%s%s;", f->rule, f->path ? f->path : "", f->path ? ": " : "",
				       f->msg);
		else if (i == FINDINGS_MAX)
			cg_strbuf_addf(&a->msg, " and %zu more;", v.n_findings - i);
	}
	cg_verdict_release(&v);
}

/* ---- the review ---------------------------------------------------------------- */

static void review(struct answer *a, const struct cg_policy *p, const char *body, size_t len,
		   const struct cg_admission_opts *o)
{
	static const char *const top_keys[] = { "apiVersion", "kind", "request" };
	static const char *const req_keys[] = { "uid", "operation", "namespace", "object", "dryRun", "kind" };
	struct fy_node *top[3], *req[6], *obj;
	struct cg_doc_stream *st = NULL;
	struct fy_document *d = NULL, *d2 = NULL;
	struct cg_k8s_workload **wv = NULL;
	size_t nw = 0, limit = o->max_body ? o->max_body : CG_ADMISSION_MAX_BODY;
	struct cg_error e = { 0 };
	const char *dup = NULL, *s, *op;
	char b1[256], b2[256], ns[256];
	size_t i = 0;
	int r;

	if (len > limit) {
		deny(a, 400, "bad-request", "request body is %zu bytes, over the limit of %zu", len, limit);
		return;
	}
	while (i < len && strchr(" \t\r\n", body[i]))
		i++;
	if (i == len || body[i] != '{') {
		deny(a, 400, "bad-request", "request body is not a JSON object (an AdmissionReview)");
		return;
	}
	if (cg_doc_stream_open(body, len, "AdmissionReview", CG_DOC_ALLOW_DUPLICATE_KEYS, &st, &e) < 0 ||
	    cg_doc_stream_next(st, &d, &e) <= 0) {
		deny(a, 400, "bad-request", "request body is not valid JSON: %s", e.msg[0] ? e.msg : "empty");
		goto out;
	}
	if ((r = cg_doc_stream_next(st, &d2, &e)) != 0) {
		deny(a, 400, "bad-request", "request body holds more than one JSON value%s%s", r < 0 ? ": " : "",
		     r < 0 ? e.msg : "");
		goto out;
	}
	if (!cg_doc_is_mapping(fy_document_root(d)) || pick(fy_document_root(d), top_keys, 3, top, &dup) < 0) {
		deny(a, 400, "bad-request", "AdmissionReview: %s%s", dup ? "duplicate key " : "not an object",
		     dup ? dup : "");
		goto out;
	}
	if (!(s = str_of(top[0], b1, sizeof(b1))) || strcmp(s, "admission.k8s.io/v1") != 0) {
		deny(a, 400, "bad-request", "apiVersion: expected admission.k8s.io/v1, got %s", s ? s : "none");
		goto out;
	}
	if (!(s = str_of(top[1], b1, sizeof(b1))) || strcmp(s, "AdmissionReview") != 0) {
		deny(a, 400, "bad-request", "kind: expected AdmissionReview, got %s", s ? s : "none");
		goto out;
	}
	if (!top[2] || !cg_doc_is_mapping(top[2])) {
		deny(a, 400, "bad-request", "request: missing or not an object");
		goto out;
	}
	if (pick(top[2], req_keys, 6, req, &dup) < 0) {
		deny(a, 400, "bad-request", "request.%s: duplicate key", dup);
		goto out;
	}
	if (!(s = str_of(req[0], b1, sizeof(b1))) || !*s) {
		deny(a, 400, "bad-request", "request.uid: missing or not a string");
		goto out;
	}
	if (!(a->res->uid = strdup(s))) {
		a->oom = true;
		goto out;
	}
	if (o->on_uid)
		o->on_uid(a->res->uid, o->user);
	if (req[4] && !cg_doc_is_null(req[4])) {
		const char *dr = cg_doc_scalar(req[4], b2, sizeof(b2));
		if (!dr || fy_node_get_style(req[4]) != FYNS_PLAIN || (strcmp(dr, "true") && strcmp(dr, "false"))) {
			deny(a, 400, "bad-request", "request.dryRun: expected true or false");
			goto out;
		}
		a->res->dry_run = strcmp(dr, "true") == 0;
	}
	if (!(op = str_of(req[1], b2, sizeof(b2)))) {
		deny(a, 400, "bad-request", "request.operation: missing or not a string");
		goto out;
	}
	if (strcmp(op, "DELETE") == 0 || strcmp(op, "CONNECT") == 0) {
		cg_strbuf_addf(&a->msg, "capgate: nothing to check for %s", op);
		goto out; /* what runs is decided at CREATE and UPDATE */
	}
	if (strcmp(op, "CREATE") != 0 && strcmp(op, "UPDATE") != 0) {
		deny(a, 400, "bad-request", "request.operation: unknown operation %s", op);
		goto out;
	}
	ns[0] = '\0';
	if (req[2] && !cg_doc_is_null(req[2]) && !str_of(req[2], ns, sizeof(ns))) {
		deny(a, 400, "bad-request", "request.namespace: not a string");
		goto out;
	}
	obj = req[3];
	if (!obj || !cg_doc_is_mapping(obj)) {
		deny(a, 400, "bad-request", OBJ_PATH ": missing or not an object (%s needs one)", op);
		goto out;
	}
	/* one resource is admitted, never a list: k8s.c reads a document with
	 * "items" as a list, and a Pod that carried items would be judged by
	 * them rather than by its own spec */
	if (fy_node_mapping_lookup_by_string(obj, "items", FY_NT)) {
		deny(a, 400, "bad-request", OBJ_PATH ".items: an admitted object is one resource, not a list");
		goto out;
	}
	if (cg_k8s_parse_node(obj, true, "AdmissionReview", OBJ_PATH, CG_K8S_KEEP_UNCHECKED, &wv, &nw, &e) < 0) {
		if (e.code == -ENOMEM)
			a->oom = true;
		deny(a, 400, "bad-request", "%s", e.msg);
		goto out;
	}
	if (nw != 1) {
		deny(a, 400, "bad-request", OBJ_PATH ": expected one resource, read %zu", nw);
		goto out;
	}
	/* request.kind is what the API server admits; the object must say the same */
	if (req[5] && cg_doc_is_mapping(req[5])) {
		s = str_of(fy_node_mapping_lookup_by_string(req[5], "kind", FY_NT), b1, sizeof(b1));
		if (s && (!wv[0]->kind || strcmp(s, wv[0]->kind) != 0)) {
			deny(a, 400, "bad-request", OBJ_PATH ".kind: %s, but the request is for a %s",
			     wv[0]->kind ? wv[0]->kind : "unset", s);
			goto out;
		}
	}
	/* The namespace is the request's: the API server sets it, and a Pod
	 * created without metadata.namespace is in it. Never the object's own
	 * word, which would let a Pod claim an exempt namespace. */
	if (ns[0]) {
		char *n2 = strdup(ns);
		if (!n2) {
			a->oom = true;
			goto out;
		}
		free(wv[0]->namespace);
		wv[0]->namespace = n2;
	}
	if (o->mutate) {
		mutate_workload(a, obj, wv[0], o, cg_policy_namespace_find(p, wv[0]->namespace));
		cg_strbuf_addf(&a->msg, "capgate: %zu patch operation%s", a->res->n_patches,
			       a->res->n_patches == 1 ? "" : "s");
	} else {
		judge(a, p, wv[0], o->env);
		if (a->res->allowed) {
			snprintf(a->res->reason, sizeof(a->res->reason), "%s",
				 a->n_warnings && strstr(a->warnings[0], "exempt") ? "exempt" : "allowed");
			cg_strbuf_addf(&a->msg, "capgate: %s %s%s%s passes the policy", wv[0]->kind,
				       wv[0]->namespace ? wv[0]->namespace : "", wv[0]->namespace ? "/" : "",
				       wv[0]->name ? wv[0]->name : "(unnamed)");
		}
	}
out:
	cg_k8s_workloads_free(wv, nw);
	if (d2)
		cg_doc_stream_destroy_doc(st, d2);
	if (d)
		cg_doc_stream_destroy_doc(st, d);
	cg_doc_stream_close(st);
}

/* metav1.StatusReason for a status code */
static const char *status_reason(int code)
{
	switch (code) {
	case 400:
		return "BadRequest";
	case 403:
		return "Forbidden";
	case 429:
		return "TooManyRequests";
	case 504:
		return "Timeout";
	default:
		return "InternalError";
	}
}

static void write_response(struct answer *a, struct cg_strbuf *out)
{
	struct cg_admission_result *res = a->res;
	struct cg_json j;

	cg_json_init(&j, out, 0);
	cg_json_obj_open(&j);
	cg_json_kv_str(&j, "apiVersion", "admission.k8s.io/v1");
	cg_json_kv_str(&j, "kind", "AdmissionReview");
	cg_json_key(&j, "response");
	cg_json_obj_open(&j);
	cg_json_kv_str(&j, "uid", res->uid ? res->uid : "");
	cg_json_kv_bool(&j, "allowed", res->allowed);
	cg_json_key(&j, "status");
	cg_json_obj_open(&j);
	cg_json_kv_int(&j, "code", res->code);
	if (!res->allowed)
		cg_json_kv_str(&j, "reason", status_reason(res->code));
	cg_json_key(&j, "message");
	cg_json_strn(&j, a->msg.buf ? a->msg.buf : "", a->msg.len);
	cg_json_obj_close(&j);
	if (a->n_warnings) {
		cg_json_key(&j, "warnings");
		cg_json_arr_open(&j);
		for (size_t i = 0; i < a->n_warnings; i++)
			cg_json_str(&j, a->warnings[i]);
		cg_json_arr_close(&j);
	}
	cg_json_key(&j, "auditAnnotations");
	cg_json_obj_open(&j);
	cg_json_kv_str(&j, "verdict", res->allowed ? "allow" : "deny");
	cg_json_kv_str(&j, "reason", res->reason);
	if (a->rules.len) {
		cg_json_key(&j, "rules");
		cg_json_strn(&j, a->rules.buf, a->rules.len);
	}
	cg_json_obj_close(&j);
	if (res->allowed && a->res->n_patches && a->patch.len) {
		int n = 4 * ((int)a->patch.len + 2) / 3 + 1;
		/* no libcrypto: answered like a failed allocation (a deny, never an allow) */
		const struct cg_crypto *cr = cg_crypto(NULL);
		unsigned char *b64 = malloc(n);
		if (!b64 || !cr) {
			free(b64);
			a->oom = true;
		} else {
			n = cr->EVP_EncodeBlock(b64, (const unsigned char *)a->patch.buf, (int)a->patch.len);
			cg_json_kv_str(&j, "patchType", "JSONPatch");
			cg_json_key(&j, "patch");
			cg_json_strn(&j, (const char *)b64, (size_t)n);
			free(b64);
		}
	}
	cg_json_obj_close(&j);
	cg_json_obj_close(&j);
	if (cg_json_finish(&j) < 0)
		a->oom = true;
}

/* Build the response of @a into @ret (shared by review and deny). */
static int finish(struct answer *a, struct cg_admission_result *res, struct cg_admission_result *ret,
		  struct cg_error *err)
{
	struct cg_strbuf out;

	cg_strbuf_init(&out);
	if (a->patch_open) {
		cg_json_arr_close(&a->pj);
		if (cg_json_finish(&a->pj) < 0)
			a->oom = true;
	}
	if (a->msg.len > MSG_MAX) { /* cut on a character boundary */
		a->msg.len = MSG_MAX;
		while (a->msg.len && ((unsigned char)a->msg.buf[a->msg.len] & 0xc0) == 0x80)
			a->msg.len--;
	}
	write_response(a, &out);
	a->oom |= a->msg.oom || a->rules.oom || a->patch.oom || out.oom;
	if (!a->oom && a->msg.buf && !(res->message = strndup(a->msg.buf, a->msg.len)))
		a->oom = true;
	for (size_t i = 0; i < a->n_warnings; i++)
		free(a->warnings[i]);
	cg_strbuf_release(&a->msg);
	cg_strbuf_release(&a->rules);
	cg_strbuf_release(&a->patch);
	if (a->oom) {
		cg_strbuf_release(&out);
		cg_admission_result_release(res);
		return cg_error_set(err, -ENOMEM, "out of memory");
	}
	res->response = out.buf;
	res->response_len = out.len;
	*ret = *res;
	return 0;
}

int cg_admission_deny(const char *uid, int code, const char *reason, const char *message,
		      struct cg_admission_result *ret, struct cg_error *err)
{
	struct cg_admission_result res = { .allowed = false, .code = code };
	struct answer a = { .res = &res };

	if (!reason || !message || !ret || code < 400 || code > 599)
		return cg_error_set(err, -EINVAL, "invalid argument");
	cg_strbuf_init(&a.msg);
	cg_strbuf_init(&a.rules);
	cg_strbuf_init(&a.patch);
	snprintf(res.reason, sizeof(res.reason), "%s", reason);
	cg_strbuf_addf(&a.msg, "%s", message);
	if (uid && *uid && !(res.uid = strdup(uid)))
		a.oom = true;
	return finish(&a, &res, ret, err);
}

int cg_admission_review(const struct cg_policy *p, const char *body, size_t len,
			const struct cg_admission_opts *user_opts, struct cg_admission_result *ret,
			struct cg_error *err)
{
	struct cg_admission_opts o = { .sz = sizeof(o) };
	struct cg_admission_result res = { .allowed = true, .code = 200 };
	struct answer a = { .res = &res };
	int r;

	if (!p || (!body && len) || !ret)
		return cg_error_set(err, -EINVAL, "invalid argument");
	if ((r = CG_OPTS_COPY(&o, user_opts)) < 0)
		return cg_opts_error(err, r, "cg_admission_opts");
	cg_strbuf_init(&a.msg);
	cg_strbuf_init(&a.rules);
	cg_strbuf_init(&a.patch);
	snprintf(res.reason, sizeof(res.reason), "allowed");
	review(&a, p, body ? body : "", len, &o);
	return finish(&a, &res, ret, err);
}

void cg_admission_result_release(struct cg_admission_result *r)
{
	if (!r)
		return;
	free(r->uid);
	free(r->message);
	free(r->response);
	*r = (struct cg_admission_result){ 0 };
}
