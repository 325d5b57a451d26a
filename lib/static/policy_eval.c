// SPDX-License-Identifier: Apache-2.0
/* The static gate's evaluators: pure functions from (policy, input) to a
 * verdict with reasons, one per kind of input (closure, image, image
 * reference, Kubernetes workload), and the cache that lets the Localhost
 * profile named by many workloads be read once. `capgate check` and the
 * admission webhook call the same functions, so they cannot disagree. */
#include <capgate/policy.h>
#include <capgate/report.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/doc.h"
#include "static/policy_internal.h"

#define DECLARED_SEPARATORS ", \t\n\f\r[]\"" /* RE2's \s, as the Rego export splits */

/* ---- rules ------------------------------------------------------------------- */

/* Every finding carries one of these ids; tests/unit/test_policy.c checks that
 * each id used below is here and each one here is used. */
static const struct cg_policy_rule policy_rules[] = {
	{ "closure-digest-mismatch", "ClosureDigestMismatch",
	  "the attached closure is not the one the image label names" },
	{ "closure-missing", "ClosureMissing", "the image names a closure digest but carries no closure" },
	{ "closure-too-large", "ClosureTooLarge", "the closure has more calls than the policy's bound" },
	{ "closure-unknown", "ClosureUnknown", "the image declares no syscalls and carries no closure" },
	{ "image-not-pinned", "ImageNotPinned", "the image reference is not pinned by digest" },
	{ "invalid-closure", "InvalidClosure", "the attached closure does not parse" },
	{ "invalid-image-reference", "InvalidImageReference", "the image reference does not parse" },
	{ "permissive-profile", "PermissiveProfile", "the profile's default action permits every call not listed" },
	{ "profile-missing", "ProfileMissing", "the Localhost seccomp profile cannot be found or read" },
	{ "profile-path", "ProfilePath", "the Localhost profile path leaves the profile directory" },
	{ "profile-unchecked", "ProfileUnchecked", "the Localhost profile's contents cannot be checked" },
	{ "risk-class-denied", "RiskClassDenied", "a call of a denied risk class is permitted" },
	{ "seccomp-profile", "SeccompProfile", "the Pod Security Standards seccomp rule is not met" },
	{ "syscall-denied", "SyscallDenied", "a call the policy denies is permitted" },
	{ "syscall-not-allowed", "SyscallNotAllowed", "a permitted call is outside the allowed baseline" },
	{ "undeclared-call", "UndeclaredCall",
	  "the Localhost profile permits a call the pod's io.capgate.syscalls annotation does not declare" },
	{ "unknown-syscall", "UnknownSyscall",
	  "an image label or pod annotation names a syscall capgate does not know" },
	{ "unsigned-image", "UnsignedImage", "the image has no valid signature from a trusted key" },
	{ "untrusted-registry", "UntrustedRegistry", "the image is not from a trusted registry" },
};

const struct cg_policy_rule *cg_policy_rules(size_t *ret_n)
{
	*ret_n = CG_ARRAY_SIZE(policy_rules);
	return policy_rules;
}

static int rule_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct cg_policy_rule *)elem)->id);
}

const struct cg_policy_rule *cg_policy_rule_find(const char *id)
{
	return bsearch(id, policy_rules, CG_ARRAY_SIZE(policy_rules), sizeof(policy_rules[0]), rule_cmp);
}

/* ---- verdicts ---------------------------------------------------------------- */

void cg_verdict_release(struct cg_verdict *v)
{
	for (size_t i = 0; i < v->n_findings; i++) {
		free(v->findings[i].rule);
		free(v->findings[i].msg);
		free(v->findings[i].subject);
		free(v->findings[i].file);
		free(v->findings[i].path);
	}
	free(v->findings);
	free(v->subject);
	free(v->kind);
	free(v->file);
	memset(v, 0, sizeof(*v));
}

static int add_finding(struct cg_verdict *v, const char *rule, const char *subject, const char *file,
		       struct cg_pos pos, const char *path, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
static int add_finding(struct cg_verdict *v, const char *rule, const char *subject, const char *file,
		       struct cg_pos pos, const char *path, const char *fmt, ...)
{
	struct cg_finding *n = realloc(v->findings, (v->n_findings + 1) * sizeof(*n));
	va_list ap;
	if (!n)
		return -ENOMEM;
	v->findings = n;
	n = &n[v->n_findings];
	memset(n, 0, sizeof(*n));
	va_start(ap, fmt);
	if (vasprintf(&n->msg, fmt, ap) < 0)
		n->msg = NULL;
	va_end(ap);
	n->rule = strdup(rule);
	n->subject = subject ? strdup(subject) : NULL;
	n->file = file ? strdup(file) : NULL;
	n->path = path ? strdup(path) : NULL;
	n->pos = pos;
	v->n_findings++;
	return n->msg && n->rule ? 0 : -ENOMEM;
}

static int verdict_init(struct cg_verdict *v, const char *kind, const char *subject, const char *file)
{
	memset(v, 0, sizeof(*v));
	v->kind = strdup(kind);
	v->subject = strdup(subject ? subject : "");
	v->file = file ? strdup(file) : NULL;
	return v->kind && v->subject ? 0 : -ENOMEM;
}

static const char *baseline_label(const struct cg_policy *p)
{
	return p->baseline_file ? p->baseline_file : p->baseline ? p->baseline
								 : "none";
}

/* ---- closures, images, references ------------------------------------------- */

/* Why @name is not allowed, as the person will read it. */
static int call_finding(const struct cg_policy *p, struct cg_verdict *v, const char *subject, const char *file,
			struct cg_pos pos, const char *path, const char *prefix, const char *name)
{
	const struct cg_risk_class *rc = NULL;
	if (policy_in_list(p->deny, p->n_deny, name))
		return add_finding(v, "syscall-denied", subject, file, pos, path, "%ssyscall %s is denied by the policy",
				   prefix, name);
	if (cg_policy_class_denied(p, name, &rc))
		return add_finding(v, "risk-class-denied", subject, file, pos, path,
				   "%ssyscall %s is in the denied risk class %s (%s)", prefix, name, rc->name, rc->reason);
	return add_finding(v, "syscall-not-allowed", subject, file, pos, path,
			   "%ssyscall %s is not in the allowed list (baseline: %s)", prefix, name, baseline_label(p));
}

static int eval_closure_into(const struct cg_policy *p, const struct cg_closure *c, const char *subject,
			     const char *file, const char *prefix, struct cg_verdict *v)
{
	const char **names = NULL;
	size_t n = 0;
	struct cg_pos none = { 0, 0 };
	int r;

	if (p->deny_permissive_default && cg_action_permits(c->default_action)) {
		char abuf[48];
		r = add_finding(v, "permissive-profile", subject, file, none, "defaultAction",
				"%sthe default action is %s: the profile is a denylist, every call not listed is permitted",
				prefix, cg_action_describe(c->default_action, abuf, sizeof(abuf)));
		if (r < 0)
			return r;
	}
	if ((r = cg_closure_permitted_names(c, -1, &names, &n)) < 0)
		return r;
	for (size_t i = 0; i < n && r == 0; i++)
		if (!cg_policy_allows(p, names[i]))
			r = call_finding(p, v, subject, file, none, NULL, prefix, names[i]);
	free(names);
	if (r < 0 || p->max_calls <= 0)
		return r;
	/* the bound: the serving phase when the closure has phases */
	int phase = p->bound_phase ? cg_closure_phase((struct cg_closure *)c, p->bound_phase, false) : -1;
	if ((r = cg_closure_permitted_names(c, phase, &names, &n)) < 0)
		return r;
	free(names);
	if ((long)n > p->max_calls) {
		if (phase >= 0)
			r = add_finding(v, "closure-too-large", subject, file, none, NULL,
					"%sclosure has %zu calls in phase %s; the bound is %ld", prefix, n, p->bound_phase,
					p->max_calls);
		else
			r = add_finding(v, "closure-too-large", subject, file, none, NULL,
					"%sclosure has %zu calls; the bound is %ld", prefix, n, p->max_calls);
	}
	return r;
}

int cg_policy_eval_closure(const struct cg_policy *p, const struct cg_closure *c, const char *subject,
			   struct cg_verdict *v, struct cg_error *err)
{
	int r = verdict_init(v, "closure", subject, subject);
	if (r == 0)
		r = eval_closure_into(p, c, subject, subject, "", v);
	if (r < 0) {
		cg_verdict_release(v);
		return cg_error_set(err, r, "out of memory");
	}
	return 0;
}

/* Registry, digest pinning; returns <0 only on OOM. */
static int eval_ref_into(const struct cg_policy *p, const char *ref, const char *subject, const char *file,
			 struct cg_pos pos, const char *path, struct cg_verdict *v, struct cg_imageref *out)
{
	struct cg_imageref r = { 0 };
	struct cg_error e = { 0 };
	int rc = 0;
	if (cg_imageref_parse(ref, &r, &e) < 0)
		return add_finding(v, "invalid-image-reference", subject, file, pos, path, "image %s: %s", ref, e.msg);
	if (p->n_trusted) {
		bool ok = false;
		for (size_t i = 0; i < p->n_trusted && !ok; i++)
			ok = cg_imageref_within(&r, p->trusted_registries[i]);
		if (!ok)
			rc = add_finding(v, "untrusted-registry", subject, file, pos, path,
					 "image %s is not from a trusted registry (registry %s, repository %s)", ref, r.registry,
					 r.repository);
	}
	if (rc == 0 && p->require_digest && !r.digest)
		rc = add_finding(v, "image-not-pinned", subject, file, pos, path, "image %s is not pinned by digest", ref);
	if (out)
		*out = r;
	else
		cg_imageref_release(&r);
	return rc;
}

int cg_policy_eval_imageref(const struct cg_policy *p, const char *ref, const char *subject, struct cg_verdict *v,
			    struct cg_error *err)
{
	struct cg_pos none = { 0, 0 };
	int r = verdict_init(v, "image", subject ? subject : ref, NULL);
	if (r == 0)
		r = eval_ref_into(p, ref, subject ? subject : ref, NULL, none, NULL, v, NULL);
	if (r == 0 && p->require_signature)
		r = add_finding(v, "unsigned-image", subject ? subject : ref, NULL, none, NULL,
				"image %s has no valid signature: it cannot be verified from a bare reference (give its OCI "
				"layout)",
				ref);
	if (r < 0) {
		cg_verdict_release(v);
		return cg_error_set(err, r, "out of memory");
	}
	return 0;
}

static int sign_into(const struct cg_policy *p, const char *layout_dir, const struct cg_image *img, const char *ref,
		     const char *subject, const char *file, struct cg_pos pos, const char *path, struct cg_verdict *v)
{
	struct cg_sign_result sr = { 0 };
	struct cg_error e = { 0 };
	if (!layout_dir)
		return add_finding(v, "unsigned-image", subject, file, pos, path,
				   "image %s has no valid signature: no OCI layout holds it, so it cannot be verified", ref);
	if (cg_sign_verify_layout(layout_dir, img, (const char *const *)p->key_pems, p->n_keys, &sr, &e) < 0)
		return add_finding(v, "unsigned-image", subject, file, pos, path,
				   "image %s has no valid signature: %s", ref, e.msg);
	if (sr.status != CG_SIGN_VALID)
		return add_finding(v, "unsigned-image", subject, file, pos, path, "image %s has no valid signature: %s", ref,
				   sr.reason);
	return 0;
}

/* A declared list of calls (an image label, a Pod annotation): names
 * separated by commas or white space (brackets and quotes, as in a JSON
 * list, are separators too). Sorted, without repeats. The Rego export
 * splits the same way, so both count the same names. */
static int declared_names(const char *list, char ***ret, size_t *ret_n)
{
	char *dup = strdup(list), *save = NULL;
	char **v = NULL;
	size_t n = 0;
	int r = dup ? 0 : -ENOMEM;

	for (char *t = dup ? strtok_r(dup, DECLARED_SEPARATORS, &save) : NULL; t && r == 0;
	     t = strtok_r(NULL, DECLARED_SEPARATORS, &save))
		r = policy_strv_push(&v, &n, t);
	free(dup);
	if (r < 0) {
		cg_strv_free(v, n);
		return r;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), policy_str_cmp);
	size_t u = 0;
	for (size_t i = 0; i < n; i++) {
		if (u && strcmp(v[u - 1], v[i]) == 0)
			free(v[i]);
		else
			v[u++] = v[i];
	}
	*ret = v;
	*ret_n = u;
	return 0;
}

/* Every declared name allowed, and no more of them than the bound. */
static int eval_declared_into(const struct cg_policy *p, char *const *names, size_t n, const char *what,
			      const char *subject, const char *file, struct cg_pos pos, const char *path,
			      const char *prefix, struct cg_verdict *v)
{
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		if (!cg_syscall_known(names[i]))
			r = add_finding(v, "unknown-syscall", subject, file, pos, path, "%s%s lists unknown syscall '%s'",
					prefix, what, names[i]);
		else if (!cg_policy_allows(p, names[i]))
			r = call_finding(p, v, subject, file, pos, path, prefix, names[i]);
	}
	if (r == 0 && p->max_calls > 0 && (long)n > p->max_calls)
		r = add_finding(v, "closure-too-large", subject, file, pos, path, "%s%s declares %zu calls; the bound is %ld",
				prefix, what, n, p->max_calls);
	return r;
}

int cg_policy_eval_image(const struct cg_policy *p, const struct cg_image *img, const char *ref, const char *layout_dir,
			 struct cg_verdict *v, struct cg_error *err)
{
	const char *subject = ref ? ref : img->ref_name ? img->ref_name
							: img->source;
	struct cg_pos none = { 0, 0 };
	const char *label;
	int r = verdict_init(v, "image", subject, img->source);

	if (r == 0 && ref)
		r = eval_ref_into(p, ref, subject, img->source, none, NULL, v, NULL);
	/* the syscalls the image declares it needs */
	label = cg_image_label(img, CG_LABEL_SYSCALLS);
	if (!label)
		label = cg_image_label(img, CG_LABEL_SYSCALLS_MISSION);
	if (r == 0 && label) {
		char **names = NULL;
		size_t n = 0;
		if ((r = declared_names(label, &names, &n)) == 0)
			r = eval_declared_into(p, names, n, "image label", subject, img->source, none, "labels", "", v);
		cg_strv_free(names, n);
	}
	/* an attached closure: it must match the digest label, and pass */
	if (r == 0 && img->closure_json) {
		struct cg_profile *prof = NULL;
		struct cg_closure *c = NULL;
		struct cg_error e = { 0 };
		char digest[72];
		if (cg_profile_parse(img->closure_json, img->closure_len, "attached closure", &prof, &e) < 0 ||
		    cg_profile_resolve(prof, NULL, &c, &e) < 0) {
			r = add_finding(v, "invalid-closure", subject, img->source, none, NULL, "attached closure: %s", e.msg);
		} else {
			const char *want = cg_image_label(img, CG_LABEL_CLOSURE_DIGEST);
			cg_closure_digest(c, digest);
			if (want && strcmp(want, digest) != 0)
				r = add_finding(v, "closure-digest-mismatch", subject, img->source, none, "labels",
						"attached closure has digest %s but the image label says %s", digest, want);
			if (r == 0)
				r = eval_closure_into(p, c, subject, img->source, "attached closure: ", v);
		}
		cg_closure_free(c);
		cg_profile_free(prof);
	} else if (r == 0 && cg_image_label(img, CG_LABEL_CLOSURE_DIGEST) && !label) {
		r = add_finding(v, "closure-missing", subject, img->source, none, "labels",
				"image names closure %s but carries no closure to check it against",
				cg_image_label(img, CG_LABEL_CLOSURE_DIGEST));
	}
	if (r == 0 && !label && !img->closure_json && p->max_calls > 0)
		r = add_finding(v, "closure-unknown", subject, img->source, none, "labels",
				"image declares no syscalls (label %s or %s) and carries no closure: its closure cannot be "
				"checked",
				CG_LABEL_SYSCALLS, CG_LABEL_SYSCALLS_MISSION);
	if (r == 0 && p->require_signature)
		r = sign_into(p, layout_dir, img, subject, subject, img->source, none, NULL, v);
	if (r < 0) {
		cg_verdict_release(v);
		return cg_error_set(err, r, "out of memory");
	}
	return 0;
}

/* The two gates must not disagree: a Localhost profile (what the runtime
 * enforces) may permit only calls the Pod declares (what admission checked). */
static int declared_covers(const struct cg_closure *c, char *const *declared, size_t n_declared, const char *what,
			   const char *subject, const char *file, const struct cg_k8s_container *ct, const char *prefix,
			   struct cg_verdict *v)
{
	const char **names = NULL;
	size_t n = 0;
	int r = cg_closure_permitted_names(c, -1, &names, &n);
	for (size_t i = 0; i < n && r == 0; i++)
		if (!policy_in_sorted(declared, n_declared, names[i]))
			r = add_finding(v, "undeclared-call", subject, file, ct->declared_pos, ct->declared_path,
					"%spermits %s, which %s does not declare", prefix, names[i], what);
	free(names);
	return r;
}

static bool workload_exempt(const struct cg_policy *p, const struct cg_k8s_workload *w)
{
	if (w->namespace && policy_in_list(p->exempt_namespaces, p->n_exempt_namespaces, w->namespace))
		return true;
	for (size_t i = 0; i < p->n_exempt_labels; i++) {
		const char *val = cg_k8s_label(w, p->exempt_label_keys[i]);
		if (val && strcmp(val, p->exempt_label_values[i]) == 0)
			return true;
	}
	return false;
}

/* A localhostProfile must stay inside the profile directory. */
static bool safe_relative(const char *path)
{
	if (!*path || path[0] == '/')
		return false;
	for (const char *s = path; s;) {
		const char *e = strchr(s, '/');
		size_t len = e ? (size_t)(e - s) : strlen(s);
		if (len == 2 && s[0] == '.' && s[1] == '.')
			return false;
		s = e ? e + 1 : NULL;
	}
	return true;
}

/* ---- the closure cache ------------------------------------------------------- */

struct cache_entry {
	char *path;
	struct cg_closure *closure; /* NULL: loading failed with msg */
	char *msg;
};

struct cg_closure_cache {
	struct cache_entry *v;
	size_t n, cap; /* open addressing, cap a power of two */
};

struct cg_closure_cache *cg_closure_cache_new(void) { return calloc(1, sizeof(struct cg_closure_cache)); }

void cg_closure_cache_free(struct cg_closure_cache *cache)
{
	if (!cache)
		return;
	for (size_t i = 0; i < cache->cap; i++) {
		free(cache->v[i].path);
		cg_closure_free(cache->v[i].closure);
		free(cache->v[i].msg);
	}
	free(cache->v);
	free(cache);
}

static size_t hash_str(const char *s)
{
	size_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static struct cache_entry *cache_slot(struct cg_closure_cache *c, const char *path)
{
	size_t i = hash_str(path) & (c->cap - 1);
	while (c->v[i].path && strcmp(c->v[i].path, path) != 0)
		i = (i + 1) & (c->cap - 1);
	return &c->v[i];
}

static int cache_grow(struct cg_closure_cache *c)
{
	struct cg_closure_cache n = { calloc(c->cap ? c->cap * 2 : 64, sizeof(struct cache_entry)), c->n,
				      c->cap ? c->cap * 2 : 64 };
	if (!n.v)
		return -ENOMEM;
	for (size_t i = 0; i < c->cap; i++)
		if (c->v[i].path)
			*cache_slot(&n, c->v[i].path) = c->v[i];
	free(c->v);
	*c = n;
	return 0;
}

/* Load (or find) a profile; *ret_msg is set when it cannot be loaded. The
 * closure and message stay owned by the cache (or by *ret_owned). */
static int load_profile(const struct cg_eval_env *env, const char *path, const struct cg_closure **ret,
			const char **ret_msg, struct cg_closure **ret_owned, char **ret_owned_msg)
{
	struct cg_error e = { 0 };
	struct cg_closure *c = NULL;
	struct cg_closure_cache *cache = env->cache;
	struct cache_entry *slot = NULL;

	*ret_owned = NULL;
	*ret_owned_msg = NULL;
	if (cache) {
		if ((cache->n + 1) * 2 > cache->cap && cache_grow(cache) < 0)
			return -ENOMEM;
		slot = cache_slot(cache, path);
		if (slot->path) {
			*ret = slot->closure;
			*ret_msg = slot->msg;
			return 0;
		}
	}
	int r = cg_closure_load(path, env->resolve, &c, &e);
	char *msg = r < 0 ? strdup(e.msg) : NULL;
	if (r < 0 && !msg)
		return -ENOMEM;
	if (slot && (slot->path = strdup(path))) {
		slot->closure = c;
		slot->msg = msg;
		cache->n++;
	} else {
		*ret_owned = c;
		*ret_owned_msg = msg;
	}
	*ret = c;
	*ret_msg = msg;
	return 0;
}

/* ---- workloads ----------------------------------------------------------------- */

static int find_layout_for(const struct cg_eval_env *env, const char *ref, struct cg_image **ret, const char **dir)
{
	for (size_t i = 0; env && i < env->n_layouts; i++) {
		struct cg_image *img = NULL;
		if (cg_image_open_layout(env->layouts[i], ref, &img, NULL) == 0) {
			*ret = img;
			*dir = env->layouts[i];
			return 0;
		}
	}
	return -ENOENT;
}

int cg_policy_eval_workload(const struct cg_policy *p, const struct cg_k8s_workload *w, const struct cg_eval_env *env,
			    struct cg_verdict *v, struct cg_error *err)
{
	char subject[512];
	struct cg_k8s_violation *viol = NULL;
	size_t n_viol = 0;
	int r;

	snprintf(subject, sizeof(subject), "%s %s%s%s", w->kind, w->namespace ? w->namespace : "",
		 w->namespace ? "/" : "", w->name ? w->name : "(unnamed)");
	if ((r = verdict_init(v, w->kind, subject, w->source)) < 0)
		goto oom;
	v->pos = w->pos;
	if (workload_exempt(p, w)) {
		v->exempt = true;
		return 0;
	}
	if (p->pss != CG_PSS_PRIVILEGED) {
		if ((r = cg_k8s_check_seccomp(w, p->pss, &viol, &n_viol)) < 0)
			goto oom;
		for (size_t i = 0; i < n_viol && r == 0; i++)
			r = add_finding(v, "seccomp-profile", subject, w->source, viol[i].pos, viol[i].path, "%s",
					viol[i].msg);
		cg_k8s_violations_free(viol, n_viol);
		if (r < 0)
			goto oom;
	}
	for (size_t i = 0; i < w->n_containers && r == 0; i++) {
		const struct cg_k8s_container *ct = &w->containers[i];
		char prefix[256], what[300];
		char **declared = NULL;
		size_t n_declared = 0;
		snprintf(prefix, sizeof(prefix), "container %s: ", ct->name ? ct->name : "?");
		snprintf(what, sizeof(what), "annotation %s%s", CG_K8S_ANN_DECLARED, ct->name ? ct->name : "?");
		/* the calls the Pod declares for the container (what the Rego export checks) */
		if (ct->declared) {
			if ((r = declared_names(ct->declared, &declared, &n_declared)) == 0)
				r = eval_declared_into(p, declared, n_declared, what, subject, w->source, ct->declared_pos,
						       ct->declared_path, prefix, v);
		}
		/* the contents of a Localhost profile */
		if (ct->effective.kind == CG_SECCOMP_LOCALHOST && p->require_profile_contents) {
			const char *lp = ct->effective.localhost_profile ? ct->effective.localhost_profile : "";
			char *path = NULL;
			if (!env || !env->profiles_dir) {
				r = add_finding(v, "profile-unchecked", subject, w->source, ct->effective.pos, ct->effective.path,
						"%sLocalhost profile %s cannot be checked: no profile directory given (--profiles)",
						prefix, lp);
			} else if (!safe_relative(lp)) {
				r = add_finding(v, "profile-path", subject, w->source, ct->effective.pos, ct->effective.path,
						"%slocalhostProfile '%s' leaves the profile directory", prefix, lp);
			} else if (asprintf(&path, "%s/%s", env->profiles_dir, lp) < 0) {
				r = -ENOMEM;
			} else {
				const struct cg_closure *c = NULL;
				const char *msg = NULL;
				struct cg_closure *owned = NULL;
				char *owned_msg = NULL;
				r = load_profile(env, path, &c, &msg, &owned, &owned_msg);
				if (r == 0 && !c)
					r = add_finding(v, "profile-missing", subject, w->source, ct->effective.pos,
							ct->effective.path, "%sLocalhost profile %s: %s", prefix, lp, msg);
				else if (r == 0) {
					char pre2[512];
					snprintf(pre2, sizeof(pre2), "%sprofile %s: ", prefix, lp);
					r = eval_closure_into(p, c, subject, w->source, pre2, v);
					if (r == 0 && ct->declared)
						r = declared_covers(c, declared, n_declared, what, subject, w->source, ct, pre2, v);
				}
				cg_closure_free(owned);
				free(owned_msg);
				free(path);
			}
		}
		cg_strv_free(declared, n_declared);
		if (r < 0 || !ct->image)
			continue;
		struct cg_imageref ref = { 0 };
		size_t before = v->n_findings;
		char ipath[300];
		snprintf(ipath, sizeof(ipath), "%s.image", ct->path ? ct->path : "");
		r = eval_ref_into(p, ct->image, subject, w->source, ct->pos, ipath, v, &ref);
		if (r == 0 && p->require_signature && v->n_findings == before) {
			struct cg_image *img = NULL;
			const char *dir = NULL;
			if (find_layout_for(env, ct->image, &img, &dir) < 0)
				r = add_finding(v, "unsigned-image", subject, w->source, ct->pos, ipath,
						"image %s has no valid signature: no OCI layout given (--layout) holds it",
						ct->image);
			else
				r = sign_into(p, dir, img, ct->image, subject, w->source, ct->pos, ipath, v);
			cg_image_free(img);
		}
		cg_imageref_release(&ref);
	}
	if (r < 0)
		goto oom;
	return 0;
oom:
	cg_verdict_release(v);
	return cg_error_set(err, -ENOMEM, "out of memory");
}

/* ---- paths -------------------------------------------------------------------- */

static int eval_image_path(const struct cg_policy *p, const char *path, bool layout, struct cg_report *into,
			   struct cg_error *err)
{
	struct cg_image *img = NULL;
	struct cg_verdict v;
	int r = layout ? cg_image_open_layout(path, NULL, &img, err) : cg_image_open_archive(path, NULL, &img, err);

	if (r == 0 && (r = cg_policy_eval_image(p, img, NULL, layout ? path : NULL, &v, err)) == 0)
		r = cg_report_add(into, &v, err);
	cg_image_free(img);
	return r;
}

/* Each profile of the file is one subject: "file#name" when it has a name. */
static int eval_profiles_buf(const struct cg_policy *p, const char *buf, size_t len, const char *path,
			     const struct cg_eval_env *env, struct cg_report *into, struct cg_error *err)
{
	struct cg_profile **ps = NULL;
	size_t n = 0;
	int r = cg_profile_parse_all(buf, len, path, &ps, &n, err);

	for (size_t i = 0; i < n; i++) {
		struct cg_closure *c = NULL;
		struct cg_verdict v;
		char subject[1024];
		snprintf(subject, sizeof(subject), "%s%s%s", path, ps[i]->name ? "#" : "", ps[i]->name ? ps[i]->name : "");
		if (r == 0 && (r = cg_profile_resolve(ps[i], env ? env->resolve : NULL, &c, err)) == 0 &&
		    (r = cg_policy_eval_closure(p, c, subject, &v, err)) == 0)
			r = cg_report_add(into, &v, err);
		cg_closure_free(c);
		cg_profile_free(ps[i]);
	}
	free(ps);
	return r;
}

static int eval_manifest_buf(const struct cg_policy *p, const char *buf, size_t len, const char *path,
			     const struct cg_eval_env *env, struct cg_report *into, struct cg_error *err)
{
	struct cg_k8s_workload **ws = NULL;
	size_t n = 0, skipped = 0;
	int r = cg_k8s_parse(buf, len, path, &ws, &n, &skipped, err);

	if (r < 0)
		return r;
	if (n == 0 && skipped == 0)
		r = cg_error_set(err, -EINVAL, "%s: neither a seccomp profile nor a Kubernetes workload", path);
	for (size_t i = 0; i < n && r == 0; i++) {
		struct cg_verdict v;
		if ((r = cg_policy_eval_workload(p, ws[i], env, &v, err)) == 0)
			r = cg_report_add(into, &v, err);
	}
	cg_k8s_workloads_free(ws, n);
	return r;
}

int cg_policy_eval_path(const struct cg_policy *p, const char *path, const struct cg_eval_env *env,
			struct cg_report *into, struct cg_error *err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len, plen = strlen(path);
	struct stat st;
	int r;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return eval_image_path(p, path, true, into, err);
	if (plen > 4 && strcmp(path + plen - 4, ".tar") == 0)
		return eval_image_path(p, path, false, into, err);
	if ((r = cg_read_file_max(path, CG_READ_MANIFEST_MAX, 0, &buf, &len, err)) < 0)
		return r;
	if (cg_profile_sniff(buf, len))
		return eval_profiles_buf(p, buf, len, path, env, into, err);
	return eval_manifest_buf(p, buf, len, path, env, into, err);
}
