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
#include <dirent.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>

#include <capgate/fallback.h>
#include <capgate/lint.h>

#include "core/doc.h"
#include "core/error_internal.h"
#include "static/k8s_internal.h"
#include "static/policy_internal.h"

#define DECLARED_SEPARATORS ", \t\n\f\r[]\"" /* RE2's \s, as the Rego export splits */

/* ---- rules ------------------------------------------------------------------- */

/* Every finding carries one of these ids; tests/unit/test_policy.c checks that
 * each id used below (and by the Pod Security checks in k8s.c) is here and
 * each one here is used. */
static const struct cg_policy_rule policy_rules[] = {
	{ "cannot-start", "CannotStart", "no program can start or exit under the profile (what capgate lint reports)",
	  "allow the calls every program needs to start and exit (execve, brk or mmap, exit_group, arch_prctl on "
	  "x86_64); run capgate lint on the profile for the list, or record the closure from the program's start "
	  "rather than attaching to a running process",
	  CG_SEV_CRITICAL },
	{ "capability-added", "CapabilityAdded",
	  "a container adds a capability the Pod Security Standards level does not allow (baseline: beyond its list; "
	  "restricted: anything but NET_BIND_SERVICE)",
	  "drop the capability from securityContext.capabilities.add (restricted allows only NET_BIND_SERVICE); if "
	  "the workload truly needs it, run it under a policy at a lower podSecurity level",
	  CG_SEV_MEDIUM },
	{ "closure-digest-mismatch", "ClosureDigestMismatch",
	  "the attached closure is not the one the image label names",
	  "attach the closure the image was built with, or correct the io.capgate.closure.digest label",
	  CG_SEV_HIGH },
	{ "closure-missing", "ClosureMissing", "the image names a closure digest but carries no closure",
	  "attach the closure the label names to the image", CG_SEV_HIGH },
	{ "closure-too-large", "ClosureTooLarge", "the closure has more calls than the policy's bound",
	  "record the workload again and remove the calls it does not need in the phase the bound applies to, or "
	  "raise maxCalls in the policy",
	  CG_SEV_MEDIUM },
	{ "closure-unknown", "ClosureUnknown", "the image declares no syscalls and carries no closure",
	  "label the image with the calls it needs (io.capgate.syscalls) or attach its closure", CG_SEV_MEDIUM },
	{ "host-namespace", "HostNamespace",
	  "the pod shares the node's network, PID or IPC namespace",
	  "remove hostNetwork, hostPID and hostIPC from the pod spec (or set them to false)",
	  CG_SEV_HIGH },
	{ "image-not-pinned", "ImageNotPinned", "the image reference is not pinned by digest",
	  "refer to the image as name@sha256:... so the image that runs is the image that was checked",
	  CG_SEV_MEDIUM },
	{ CG_RULE_INPUT_ERROR, "InputError", "the input cannot be read or parsed, so nothing in it was checked",
	  "fix the syntax error at the position given; the other inputs were still checked", CG_SEV_HIGH },
	{ "invalid-closure", "InvalidClosure", "the attached closure does not parse",
	  "attach a closure written by capgate trace, resolve or merge", CG_SEV_HIGH },
	{ "invalid-image-reference", "InvalidImageReference", "the image reference does not parse",
	  "write the reference as [registry/]repository[:tag][@digest]", CG_SEV_HIGH },
	{ "nothing-checked", "NothingChecked",
	  "the file holds no object capgate could check",
	  "give a file with the workloads to check, or remove the empty file or list from the inputs",
	  CG_SEV_MEDIUM },
	{ "permissive-profile", "PermissiveProfile", "the profile's default action permits every call not listed",
	  "make the default action deny (SCMP_ACT_ERRNO) and list the calls the workload needs", CG_SEV_HIGH },
	{ "privilege-escalation", "PrivilegeEscalation",
	  "a container does not set allowPrivilegeEscalation: false (the restricted level requires it)",
	  "set securityContext.allowPrivilegeEscalation: false on every container",
	  CG_SEV_MEDIUM },
	{ "privileged-container", "PrivilegedContainer",
	  "a container is privileged: runtimes apply no seccomp filter to it, so no profile is enforced",
	  "remove securityContext.privileged (or set it to false) and add only the capabilities the container needs",
	  CG_SEV_HIGH },
	{ "profile-missing", "ProfileMissing", "the Localhost seccomp profile cannot be found or read",
	  "give the kubelet profile directory with --profiles, or correct localhostProfile", CG_SEV_HIGH },
	{ "profile-not-allowed", "ProfileNotAllowed",
	  "the container's seccomp profile is not one its namespace allows (the policy's namespaces.<ns>.allowedProfiles)",
	  "use a profile the namespace allows, or add it to namespaces.<ns>.allowedProfiles in the policy",
	  CG_SEV_HIGH },
	{ "profile-path", "ProfilePath", "the Localhost profile path leaves the profile directory",
	  "name the profile by a path inside the kubelet's seccomp directory, without .. or a leading /",
	  CG_SEV_HIGH },
	{ "profile-unchecked", "ProfileUnchecked", "the Localhost profile's contents cannot be checked",
	  "give the kubelet profile directory with --profiles, or set profiles.requireContents: false in the policy",
	  CG_SEV_MEDIUM },
	{ "risk-class-denied", "RiskClassDenied", "a call of a denied risk class is permitted",
	  "remove the call from the profile; if the workload truly needs it, allow it by name in the policy",
	  CG_SEV_HIGH },
	{ "seccomp-not-enforced", "SeccompNotEnforced",
	  "the Localhost profile checked is not what runs: the container is privileged, so no seccomp filter applies",
	  "do not run the container privileged: its Localhost profile applies only when privileged is false",
	  CG_SEV_HIGH },
	{ "seccomp-profile", "SeccompProfile", "the Pod Security Standards seccomp rule is not met",
	  "set securityContext.seccompProfile to RuntimeDefault or Localhost on the Pod or on every container",
	  CG_SEV_HIGH },
	{ "syscall-denied", "SyscallDenied", "a call the policy denies is permitted",
	  "remove the call from the profile or closure", CG_SEV_HIGH },
	{ "syscall-not-allowed", "SyscallNotAllowed", "a permitted call is outside the allowed baseline",
	  "remove the call, or add it to the policy's allow list if the workload needs it", CG_SEV_MEDIUM },
	{ "undeclared-call", "UndeclaredCall",
	  "the Localhost profile permits a call the pod's io.capgate.syscalls annotation does not declare",
	  "declare the call in the annotation, or remove it from the profile, so both gates judge the same calls",
	  CG_SEV_MEDIUM },
	{ "unknown-kind", "UnknownKind",
	  "an object is not a workload capgate reads and has no pod template, so it was not checked "
	  "(policy unknownKinds: ignore lets it pass)",
	  "check the kind for a typo; if the object is no workload, leave it out of the inputs or set unknownKinds: "
	  "ignore in the policy",
	  CG_SEV_MEDIUM },
	{ "unknown-syscall", "UnknownSyscall",
	  "an image label or pod annotation names a syscall capgate does not know",
	  "correct the name (see the system call table of the architecture)", CG_SEV_MEDIUM },
	{ "unsigned-image", "UnsignedImage", "the image has no valid signature from a trusted key",
	  "sign the image with a key the policy trusts (cosign sign) and give its OCI layout with --layout",
	  CG_SEV_HIGH },
	{ "untrusted-registry", "UntrustedRegistry", "the image is not from a trusted registry",
	  "pull the image from a registry in the policy's images.trustedRegistries", CG_SEV_HIGH },
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
	cg_strv_free(v->notes, v->n_notes);
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

static int add_note(struct cg_verdict *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int add_note(struct cg_verdict *v, const char *fmt, ...)
{
	char **n = realloc(v->notes, (v->n_notes + 1) * sizeof(*n));
	va_list ap;
	int r;
	if (!n)
		return -ENOMEM;
	v->notes = n;
	va_start(ap, fmt);
	r = vasprintf(&n[v->n_notes], fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	v->n_notes++;
	return 0;
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

/* Warnings, not denials: calls outside the allowed list that the closure
 * answers ENOSYS (the runtime gate answers them so too). */
static int fallback_notes(const struct cg_policy *p, const struct cg_closure *c, const char *prefix,
			  const char **permitted, size_t n_permitted, struct cg_verdict *v)
{
	const char *last = NULL;
	int r = 0;

	for (size_t i = 0; i < c->n_rules && r == 0; i++) {
		const struct cg_rule *rule = &c->rules[i];
		const struct cg_fallback *f;

		if (rule->action.kind != CG_ACT_ERRNO || rule->action.data != ENOSYS || cg_policy_allows(p, rule->name) ||
		    (last && strcmp(last, rule->name) == 0))
			continue;
		last = rule->name;
		if (policy_in_sorted((char *const *)permitted, n_permitted, rule->name))
			continue; /* permitted too: a finding already says so */
		if ((f = cg_fallback_find(rule->name)))
			r = add_note(v,
				     "%swarning: syscall %s is not in the allowed list (baseline: %s); the closure answers it "
				     "ENOSYS, and %s falls back (%s: %s)",
				     prefix, rule->name, baseline_label(p), f->who, f->source, f->then);
		else
			r = add_note(v,
				     "%swarning: syscall %s is answered ENOSYS by the closure, and capgate knows no fallback "
				     "for it (capgate fallback --list): the workload may fail where it makes it",
				     prefix, rule->name);
	}
	return r;
}

/* The size bounds: the bound phase (or the whole closure when it has no
 * such phase), and every other phase by its own bound when the closure has
 * the bound phase or the policy names the phase (cg_policy_phase_bound). */
static int bound_into(const struct cg_policy *p, const struct cg_closure *c, const char *subject, const char *file,
		      const char *prefix, struct cg_verdict *v)
{
	struct cg_pos none = { 0, 0 };
	int phase = p->bound_phase ? cg_closure_phase((struct cg_closure *)c, p->bound_phase, false) : -1;
	int r = 0;

	for (int ph = phase < 0 ? -1 : 0; ph < (int)c->n_phases && r == 0; ph++) {
		const char *name = ph >= 0 ? c->phase_names[ph] : NULL;
		bool named = false;
		const char **names = NULL;
		long bound;
		size_t n = 0;

		for (size_t i = 0; name && i < p->n_phase_bounds; i++)
			named |= strcmp(p->phase_bound_names[i], name) == 0;
		if (ph < 0)
			bound = p->max_calls;
		else if (phase < 0 && !named)
			continue; /* the whole closure is held to the bound already */
		else
			bound = cg_policy_phase_bound(p, name);
		if (bound <= 0)
			continue;
		if ((r = cg_closure_permitted_names(c, ph, &names, &n)) < 0)
			return r;
		free(names);
		if ((long)n <= bound)
			continue;
		if (ph < 0)
			r = add_finding(v, "closure-too-large", subject, file, none, NULL,
					"%sclosure has %zu calls; the bound is %ld", prefix, n, bound);
		else if (ph == phase || !named)
			r = add_finding(v, "closure-too-large", subject, file, none, NULL,
					"%sclosure has %zu calls in phase %s; the bound is %ld%s", prefix, n, name, bound,
					ph == phase || named ? "" : " (maxCalls: phaseBounds does not name the phase)");
		else
			r = add_finding(v, "closure-too-large", subject, file, none, NULL,
					"%sclosure has %zu calls in phase %s; the bound is %ld (phaseBounds)", prefix, n, name,
					bound);
	}
	return r;
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
	if (r == 0)
		r = fallback_notes(p, c, prefix, names, n, v);
	free(names);
	if (r < 0)
		return r;
	return bound_into(p, c, subject, file, prefix, v);
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

/* The signature of @img (found in @layout_dir for the reference @ref), bound
 * to the reference: the digest a pinned reference names is the digest that
 * was verified -- both the manifest's (what the layout holds under it) and
 * the signed payload's critical.image.docker-manifest-digest -- and the
 * payload's identity names the reference's repository. A tag-only
 * reference is judged by the digest the tag named in the layout, and the
 * verdict says which. @parsed NULL: a layout checked on its own, no
 * reference to bind to. */
static int sign_into(const struct cg_policy *p, const char *layout_dir, const struct cg_image *img, const char *ref,
		     const struct cg_imageref *parsed, const char *subject, const char *file, struct cg_pos pos,
		     const char *path, struct cg_verdict *v)
{
	struct cg_sign_result sr = { 0 };
	struct cg_error e = { 0 };
	const char *pinned = parsed ? parsed->digest : NULL;

	if (!layout_dir)
		return add_finding(v, "unsigned-image", subject, file, pos, path,
				   "image %s has no valid signature: no OCI layout holds it, so it cannot be verified", ref);
	if (pinned && strcmp(img->manifest_digest, pinned) != 0)
		return add_finding(v, "unsigned-image", subject, file, pos, path,
				   "image %s has no valid signature: it pins %s, but the image found in %s is %s", ref, pinned,
				   layout_dir, img->manifest_digest[0] ? img->manifest_digest : "without a manifest digest");
	if (cg_sign_verify_ref(layout_dir, img, parsed, (const char *const *)p->key_pems, p->n_keys, &sr, &e) < 0)
		return add_finding(v, "unsigned-image", subject, file, pos, path, "image %s has no valid signature: %s", ref,
				   e.msg);
	if (sr.status != CG_SIGN_VALID)
		return add_finding(v, "unsigned-image", subject, file, pos, path, "image %s has no valid signature: %s", ref,
				   sr.reason);
	if (strcmp(sr.digest, img->manifest_digest) != 0 || (pinned && strcmp(sr.digest, pinned) != 0))
		return add_finding(v, "unsigned-image", subject, file, pos, path,
				   "image %s has no valid signature: the signature is for %s, the reference pins %s", ref,
				   sr.digest, pinned ? pinned : img->manifest_digest);
	if (parsed && !pinned)
		return add_note(v, "image %s resolved to %s in %s (signed; the tag may name another image when the node pulls)",
				ref, sr.digest, layout_dir);
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

	struct cg_imageref parsed = { 0 };
	bool have_ref = false;

	if (r == 0 && ref) {
		size_t before = v->n_findings;
		r = eval_ref_into(p, ref, subject, img->source, none, NULL, v, &parsed);
		have_ref = r == 0 && v->n_findings == before;
	}
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
		r = sign_into(p, layout_dir, img, subject, have_ref ? &parsed : NULL, subject, img->source, none, NULL, v);
	cg_imageref_release(&parsed);
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

/* Which file a cached profile was loaded from: a profile that changed
 * (edited in place, or a new ConfigMap version behind the same name) is
 * loaded again, whoever watches the directory and however late. */
struct file_id {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
	bool ok; /* false: it could not be stat'ed */
};

struct cache_entry {
	char *path;
	struct cg_closure *closure; /* NULL: loading failed with msg */
	char *msg;
	char *nostart; /* capgate lint's cannot-start message, or NULL */
	struct file_id id;
};

static struct file_id file_id_of(const char *path)
{
	struct stat st;
	struct file_id id = { 0 };

	if (stat(path, &st) == 0)
		id = (struct file_id){ st.st_dev, st.st_ino, st.st_size, st.st_mtim, st.st_ctim, true };
	return id;
}

static bool file_id_eq(const struct file_id *a, const struct file_id *b)
{
	return a->ok == b->ok && (!a->ok || (a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
					     a->mtime.tv_sec == b->mtime.tv_sec &&
					     a->mtime.tv_nsec == b->mtime.tv_nsec &&
					     a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec));
}

static void entry_release(struct cache_entry *e)
{
	free(e->path);
	cg_closure_free(e->closure);
	free(e->msg);
	free(e->nostart);
	memset(e, 0, sizeof(*e));
}

struct cg_closure_cache {
	struct cache_entry *v;
	size_t n, cap; /* open addressing, cap a power of two */
};

struct cg_closure_cache *cg_closure_cache_new(void) { return calloc(1, sizeof(struct cg_closure_cache)); }

void cg_closure_cache_free(struct cg_closure_cache *cache)
{
	if (!cache)
		return;
	for (size_t i = 0; i < cache->cap; i++)
		entry_release(&cache->v[i]);
	free(cache->v);
	free(cache);
}

/* Profiles kept at once: a run naming more distinct profiles starts over
 * rather than growing with its input. */
#define CACHE_MAX 1024

static void cache_clear(struct cg_closure_cache *cache)
{
	for (size_t i = 0; i < cache->cap; i++)
		entry_release(&cache->v[i]);
	cache->n = 0;
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

/* How a profile the node loads is resolved: the node's kernel and arch
 * unless the run names them (then the worst case over every kernel and
 * arch), the policy's runtime, and @caps when not NULL (a container's
 * capabilities, cg_caps_effective) instead of the run's. */
static void node_resolve_opts(const struct cg_policy *p, const struct cg_eval_env *env, char *const *caps,
			      size_t n_caps, struct cg_resolve_opts *ret)
{
	struct cg_resolve_opts o = { .sz = sizeof(o), .native_arch = -1, .default_caps = true };

	if (env && env->resolve)
		memcpy(&o, env->resolve, env->resolve->sz < sizeof(o) ? env->resolve->sz : sizeof(o));
	o.sz = sizeof(o);
	o.any_kernel = o.kernel_major == 0;
	o.any_arch = o.native_arch < 0;
	o.runtime = p->node_runtime;
	if (caps) {
		o.caps = (const char *const *)caps;
		o.n_caps = n_caps;
		o.default_caps = false;
	}
	*ret = o;
}

/* A loaded Localhost profile: its closure (NULL when it cannot be loaded,
 * with msg), and lint's cannot-start message when the policy asks for it. */
struct loaded {
	const struct cg_closure *closure;
	const char *msg, *nostart;
};

/* Load (or find) a profile resolved with @ro; @key names it in the cache
 * (path, everything the resolution depends on, the capabilities: caps_key).
 * What it returns stays owned by the cache, or by *own when there is no
 * cache (release it with loaded_release). */
static int load_profile(const struct cg_policy *p, const struct cg_eval_env *env, const char *path, const char *key,
			const struct cg_resolve_opts *ro, struct loaded *ret, struct cache_entry *own)
{
	struct cg_error e = { 0 };
	struct cg_closure *c = NULL;
	struct cg_profile *prof = NULL;
	struct cg_closure_cache *cache = env->cache;
	struct cache_entry *slot = NULL, n = { 0 };
	int r;

	memset(own, 0, sizeof(*own));
	if (cache) {
		/* before the load: a change while it reads is seen next time */
		n.id = file_id_of(path);
		if (cache->n >= CACHE_MAX)
			cache_clear(cache);
		if ((cache->n + 1) * 2 > cache->cap && cache_grow(cache) < 0)
			return -ENOMEM;
		slot = cache_slot(cache, key);
		if (slot->path && file_id_eq(&slot->id, &n.id)) {
			*ret = (struct loaded){ slot->closure, slot->msg, slot->nostart };
			return 0;
		}
		if (slot->path) { /* the file changed: load it again into the same slot
				   * (its key stays: emptying it would break the probe chain) */
			cg_closure_free(slot->closure);
			free(slot->msg);
			free(slot->nostart);
			slot->closure = NULL, slot->msg = slot->nostart = NULL;
			/* until filled: equal to no file's, stat'ed or not */
			slot->id = (struct file_id){ .dev = (dev_t)-1, .ino = (ino_t)-1, .ok = true };
		}
	}
	r = cg_profile_load(path, &prof, &e);
	if (r == 0)
		r = cg_profile_resolve(prof, ro, &c, &e);
	if (r == 0 && p->require_startable) {
		struct cg_lint_opts lo = { .sz = sizeof(lo), .resolve = ro };
		struct cg_lint_report *lr = NULL;
		if ((r = cg_lint_profile(prof, &lo, &lr, &e)) == 0) {
			const struct cg_lint_finding *f = cg_lint_report_find(lr, "cannot-start");
			if (f && !(n.nostart = strdup(f->message)))
				r = cg_error_set(&e, -ENOMEM, "out of memory");
		}
		cg_lint_report_free(lr);
		if (r < 0) {
			cg_closure_free(c);
			c = NULL;
		}
	}
	cg_profile_free(prof);
	n.closure = c;
	if (r < 0 && !(n.msg = strdup(e.msg))) {
		free(n.nostart);
		return -ENOMEM;
	}
	if (slot && slot->path) { /* reloaded in place */
		n.path = slot->path;
		*slot = n;
	} else if (slot && (n.path = strdup(key))) {
		*slot = n;
		cache->n++;
	} else {
		*own = n;
	}
	*ret = (struct loaded){ n.closure, n.msg, n.nostart };
	return 0;
}

/* The cache key of a profile resolved with @ro: the path, everything the
 * resolution depends on, the capabilities, and whether it was linted. */
static int caps_key(const char *path, const struct cg_resolve_opts *ro, char *const *caps, size_t n_caps,
		    bool startable, char **ret)
{
	struct cg_strbuf sb;

	cg_strbuf_init(&sb);
	cg_strbuf_addf(&sb, "%s\x1f%d/%u.%u/%d/%d%d%d%d", path, ro->runtime, ro->kernel_major, ro->kernel_minor,
		       ro->native_arch, ro->any_kernel, ro->any_arch, ro->default_caps, startable);
	for (size_t i = 0; i < n_caps; i++)
		cg_strbuf_addf(&sb, "%c%s", i ? ',' : '\x1f', caps[i]);
	if (sb.oom) {
		cg_strbuf_release(&sb);
		return -ENOMEM;
	}
	*ret = sb.buf ? sb.buf : strdup("");
	return *ret ? 0 : -ENOMEM;
}

static void loaded_release(struct cache_entry *own)
{
	cg_closure_free(own->closure);
	free(own->msg);
	free(own->nostart);
}

/* ---- workloads ----------------------------------------------------------------- */

/* The image @ref names, from the first layout that holds it: by the digest
 * it pins, else by name (cg_image_open_layout). When none does, @why says
 * what a layout said about it -- a manifest named after the reference with
 * another digest, say -- or is left empty. */
static int find_layout_for(const struct cg_eval_env *env, const char *ref, struct cg_image **ret, const char **dir,
			   char *why, size_t n_why)
{
	int rank = 0; /* what @why holds: 1 not there, 2 the layout is broken, 3 a name that lies */

	why[0] = '\0';
	for (size_t i = 0; env && i < env->n_layouts; i++) {
		struct cg_image *img = NULL;
		struct cg_error e = { 0 };
		int r = cg_image_open_layout(env->layouts[i], ref, &img, &e);
		int k = r == -EBADMSG ? 3 : r == -ENOENT ? 1
							 : 2;
		if (r == 0) {
			*ret = img;
			*dir = env->layouts[i];
			return 0;
		}
		if (k > rank) {
			snprintf(why, n_why, "%s", e.msg);
			rank = k;
		}
	}
	return -ENOENT;
}

int cg_policy_eval_workload(const struct cg_policy *p, const struct cg_k8s_workload *w,
			    const struct cg_eval_env *user_env, struct cg_verdict *v, struct cg_error *err)
{
	char subject[512];
	struct cg_k8s_violation *viol = NULL;
	size_t n_viol = 0;
	struct cg_eval_env ec = { .sz = sizeof(ec) };
	const struct cg_eval_env *env = &ec;
	const struct cg_policy_namespace *ns_rules;
	int r;

	if ((r = CG_OPTS_COPY(&ec, user_env)) < 0)
		return cg_opts_error(err, r, "cg_eval_env");
	snprintf(subject, sizeof(subject), "%s %s%s%s", w->kind, w->namespace ? w->namespace : "",
		 w->namespace ? "/" : "", w->name ? w->name : "(unnamed)");
	if ((r = verdict_init(v, w->kind, subject, w->source)) < 0)
		goto oom;
	v->pos = w->pos;
	if (workload_exempt(p, w)) {
		v->exempt = true;
		return 0;
	}
	if (w->not_checked) {
		v->not_checked = true;
		if (!p->ignore_unknown_kinds &&
		    add_finding(v, "unknown-kind", subject, w->source, w->pos, NULL,
				"%s: it was not checked (the policy's unknownKinds is deny)",
				w->not_checked_reason ? w->not_checked_reason : "not a workload") < 0)
			goto oom;
		return 0;
	}
	if (p->pss != CG_PSS_PRIVILEGED) {
		if ((r = cg_k8s_check_pss(w, p->pss, &viol, &n_viol)) < 0)
			goto oom;
		for (size_t i = 0; i < n_viol && r == 0; i++)
			r = add_finding(v, viol[i].rule, subject, w->source, viol[i].pos, viol[i].path, "%s", viol[i].msg);
		cg_k8s_violations_free(viol, n_viol);
		if (r < 0)
			goto oom;
	}
	ns_rules = cg_policy_namespace_find(p, w->namespace);
	for (size_t i = 0; i < w->n_containers && r == 0; i++) {
		const struct cg_k8s_container *ct = &w->containers[i];
		/* what the node applies: the fields, never the legacy annotations */
		const struct cg_seccomp_setting *enf = cg_k8s_seccomp_enforced(w, ct);
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
		/* the namespace's allowed profiles (w->namespace is the request's
		 * at admission, never the object's own claim) */
		if (r == 0 && ns_rules && ns_rules->has_allowed) {
			const char *prof = !enf                                      ? NULL
					   : enf->kind == CG_SECCOMP_RUNTIME_DEFAULT ? "RuntimeDefault"
					   : enf->kind == CG_SECCOMP_UNCONFINED      ? "Unconfined"
					   : enf->kind == CG_SECCOMP_LOCALHOST && enf->localhost_profile &&
							   safe_relative(enf->localhost_profile)
						   ? enf->localhost_profile
						   : NULL;
			if (!prof || !cg_policy_namespace_allows(ns_rules, prof))
				r = add_finding(v, "profile-not-allowed", subject, w->source, enf ? enf->pos : ct->pos,
						enf ? enf->path : ct->path,
						"%sseccomp profile %s is not allowed in namespace %s (allowedProfiles of "
						"namespaces.%s)",
						prefix,
						!enf                     ? "(none)"
						: prof                   ? prof
						: enf->localhost_profile ? enf->localhost_profile
									 : "(invalid)",
						w->namespace ? w->namespace : "default", ns_rules->name);
		}
		/* privileged: the profile below would be checked but never applied
		 * (at baseline and restricted, privileged-container says so) */
		if (r == 0 && enf && enf->kind == CG_SECCOMP_LOCALHOST && p->require_profile_contents &&
		    p->pss == CG_PSS_PRIVILEGED && ct->privileged.value == CG_K8S_TRUE)
			r = add_finding(v, "seccomp-not-enforced", subject, w->source, ct->privileged.pos, ct->privileged.path,
					"%sprivileged is true: runtimes apply no seccomp filter to a privileged container, so "
					"Localhost profile %s is not enforced",
					prefix, enf->localhost_profile ? enf->localhost_profile : "");
		/* the contents of a Localhost profile */
		if (r == 0 && enf && enf->kind == CG_SECCOMP_LOCALHOST && p->require_profile_contents) {
			const char *lp = enf->localhost_profile ? enf->localhost_profile : "";
			char *path = NULL;
			if (!env || !env->profiles_dir) {
				r = add_finding(v, "profile-unchecked", subject, w->source, enf->pos, enf->path,
						"%sLocalhost profile %s cannot be checked: no profile directory given (--profiles)",
						prefix, lp);
			} else if (!safe_relative(lp)) {
				r = add_finding(v, "profile-path", subject, w->source, enf->pos, enf->path,
						"%slocalhostProfile '%s' leaves the profile directory", prefix, lp);
			} else if (asprintf(&path, "%s/%s", env->profiles_dir, lp) < 0) {
				r = -ENOMEM;
			} else {
				struct loaded ld = { 0 };
				struct cache_entry own = { 0 };
				char **caps = NULL, *key = NULL;
				size_t n_caps = 0;
				struct cg_resolve_opts ro;
				/* resolved as the node will: with the container's capabilities */
				r = cg_caps_effective((const char *const *)ct->caps_add, ct->n_caps_add,
						      (const char *const *)ct->caps_drop, ct->n_caps_drop,
						      ct->privileged.value == CG_K8S_TRUE, &caps, &n_caps);
				if (r == 0) {
					node_resolve_opts(p, env, caps, n_caps, &ro);
					r = caps_key(path, &ro, caps, n_caps, p->require_startable, &key);
				}
				if (r == 0)
					r = load_profile(p, env, path, key, &ro, &ld, &own);
				if (r == 0 && !ld.closure)
					r = add_finding(v, "profile-missing", subject, w->source, enf->pos, enf->path,
							"%sLocalhost profile %s: %s", prefix, lp, ld.msg);
				else if (r == 0) {
					char pre2[512];
					snprintf(pre2, sizeof(pre2), "%sprofile %s: ", prefix, lp);
					r = eval_closure_into(p, ld.closure, subject, w->source, pre2, v);
					if (r == 0 && ld.nostart)
						r = add_finding(v, "cannot-start", subject, w->source, enf->pos, enf->path,
								"%s%s", pre2, ld.nostart);
					if (r == 0 && ct->declared)
						r = declared_covers(ld.closure, declared, n_declared, what, subject, w->source, ct,
								    pre2, v);
				}
				loaded_release(&own);
				free(key);
				for (size_t k = 0; k < n_caps; k++)
					free(caps[k]);
				free(caps);
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
			char why[512];
			if (find_layout_for(env, ct->image, &img, &dir, why, sizeof(why)) < 0)
				r = add_finding(v, "unsigned-image", subject, w->source, ct->pos, ipath,
						"image %s has no valid signature: no OCI layout given (--layout) holds it%s%s",
						ct->image, why[0] ? "; " : "", why);
			else
				r = sign_into(p, dir, img, ct->image, &ref, subject, w->source, ct->pos, ipath, v);
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

/* One run over one input: where verdicts go, and the first error that is not
 * the input's fault (out of memory, the report cannot be written), which
 * stops the run instead of becoming the input's verdict. */
struct path_run {
	const struct cg_policy *p;
	const struct cg_eval_env *env;
	struct cg_report *into;
	struct cg_error *err;
	int fatal;
	size_t n_objects; /* objects of the current manifest, checked or not */
};

static int add_verdict(struct path_run *x, struct cg_verdict *v)
{
	int r = cg_report_add(x->into, v, x->err);
	if (r < 0 && !x->fatal)
		x->fatal = r;
	return r;
}

/* "file:12:7: rest" -> 12, 7 and "rest"; anything else has no position. */
static const char *split_position(const char *msg, const char *file, struct cg_pos *pos)
{
	size_t fl = strlen(file);
	const char *s = msg;
	char *end;

	pos->line = pos->col = 0;
	if (strncmp(s, file, fl) != 0 || s[fl] != ':')
		return msg;
	s += fl + 1;
	if (*s == ' ')
		return s + 1;
	long line = strtol(s, &end, 10);
	if (end == s || *end != ':' || line <= 0 || line > INT32_MAX)
		return msg;
	long col = strtol(end + 1, &end, 10);
	if (*end != ':' || col <= 0 || col > INT32_MAX)
		return msg;
	pos->line = (int)line;
	pos->col = (int)col;
	return end[1] == ' ' ? end + 2 : end + 1;
}

/* The verdict for an input that cannot be read: one input-error finding at
 * the position the error names. */
static int input_error(struct path_run *x, const char *path, const struct cg_error *why)
{
	struct cg_verdict v;
	struct cg_pos pos;
	const char *msg = split_position(why->msg[0] ? why->msg : "cannot be read", path, &pos);
	int r = verdict_init(&v, "input", path, path);

	v.pos = pos;
	if (r == 0)
		r = add_finding(&v, "input-error", path, path, pos, NULL, "%s", msg);
	if (r < 0) {
		cg_verdict_release(&v);
		x->fatal = cg_error_set(x->err, -ENOMEM, "out of memory");
		return x->fatal;
	}
	return add_verdict(x, &v);
}

static int eval_image_path(struct path_run *x, const char *path, bool layout)
{
	struct cg_image *img = NULL;
	struct cg_error e = { 0 };
	struct cg_verdict v;
	int r = layout ? cg_image_open_layout(path, NULL, &img, &e) : cg_image_open_archive(path, NULL, &img, &e);

	if (r < 0)
		return input_error(x, path, &e);
	if ((r = cg_policy_eval_image(x->p, img, NULL, layout ? path : NULL, &v, x->err)) < 0)
		x->fatal = r;
	else
		r = add_verdict(x, &v);
	cg_image_free(img);
	return r;
}

/* What capgate lint says about starting a program under @prof: a
 * cannot-start finding of lint's own becomes the policy's. */
static int startable_into(const struct cg_policy *p, const struct cg_profile *prof, const struct cg_resolve_opts *ro,
			  const char *subject, const char *file, struct cg_verdict *v, struct cg_error *err)
{
	struct cg_lint_opts lo = { .sz = sizeof(lo), .resolve = ro };
	struct cg_lint_report *lr = NULL;
	const struct cg_lint_finding *f;
	int r;

	if (!p->require_startable)
		return 0;
	if ((r = cg_lint_profile(prof, &lo, &lr, err)) < 0)
		return r;
	f = cg_lint_report_find(lr, "cannot-start");
	r = f ? add_finding(v, "cannot-start", subject, file, f->pos, NULL, "%s", f->message) : 0;
	cg_lint_report_free(lr);
	return r < 0 ? cg_error_set(err, r, "out of memory") : 0;
}

/* Each profile of the file is one subject: "file#name" when it has a name. */
static int eval_profiles_buf(struct path_run *x, const char *buf, size_t len, const char *path)
{
	struct cg_profile **ps = NULL;
	struct cg_error e = { 0 };
	size_t n = 0;
	int r = cg_profile_parse_all(buf, len, path, &ps, &n, &e);
	bool bad = r < 0;

	for (size_t i = 0; i < n; i++) {
		struct cg_closure *c = NULL;
		struct cg_verdict v;
		char subject[1024];
		snprintf(subject, sizeof(subject), "%s%s%s", path, ps[i]->name ? "#" : "", ps[i]->name ? ps[i]->name : "");
		struct cg_resolve_opts ro;
		node_resolve_opts(x->p, x->env, NULL, 0, &ro);
		if (!bad && cg_profile_resolve(ps[i], &ro, &c, &e) < 0)
			bad = true;
		else if (!bad && !x->fatal) {
			if ((r = cg_policy_eval_closure(x->p, c, subject, &v, x->err)) < 0)
				x->fatal = r;
			else if ((r = startable_into(x->p, ps[i], &ro, subject, path, &v, &e)) < 0) {
				cg_verdict_release(&v);
				bad = true;
			} else
				add_verdict(x, &v);
		}
		cg_closure_free(c);
		cg_profile_free(ps[i]);
	}
	free(ps);
	if (x->fatal)
		return x->fatal;
	return bad ? input_error(x, path, &e) : 0;
}

/* Every object gets a verdict as its document is read, a not-checked one
 * too (w->not_checked: a kind capgate does not know). */
static int each_workload(const struct cg_k8s_workload *w, void *user, struct cg_error *err)
{
	struct path_run *x = user;
	struct cg_verdict v;
	int r = cg_policy_eval_workload(x->p, w, x->env, &v, x->err);

	(void)err;
	x->n_objects++;
	if (r < 0)
		return x->fatal = r;
	return add_verdict(x, &v);
}

/* The objects of a manifest, evaluated and reported one document at a time,
 * so a cluster dump of any size is held one document at a time. A file with
 * no object at all is itself a failing (not-checked) verdict. */
static int eval_manifest_stream(struct path_run *x, struct cg_doc_stream *st, const char *path)
{
	struct cg_error e = { 0 };
	struct cg_verdict v;
	struct cg_pos none = { 0, 0 };
	int r;

	x->n_objects = 0;
	r = cg_k8s_parse_stream_each(st, path, CG_K8S_KEEP_UNCHECKED, each_workload, x, NULL, &e);
	if (x->fatal)
		return x->fatal;
	if (r < 0)
		return input_error(x, path, &e);
	if (x->n_objects > 0)
		return 0;
	if ((r = verdict_init(&v, "file", path, path)) < 0 ||
	    (v.not_checked = true,
	     r = add_finding(&v, "nothing-checked", path, path, none, NULL,
			     "the file holds no Kubernetes object (an empty list?): nothing in it was checked")) < 0) {
		cg_verdict_release(&v);
		return x->fatal = cg_error_set(x->err, -ENOMEM, "out of memory");
	}
	return add_verdict(x, &v);
}

/* A directory that is an OCI image layout rather than a tree of inputs. */
static bool is_oci_layout(const char *dir)
{
	char f[PATH_MAX];
	struct stat st;
	snprintf(f, sizeof(f), "%s/oci-layout", dir);
	return stat(f, &st) == 0 && S_ISREG(st.st_mode);
}

/* Files a directory walk reads, as kubectl does for -f DIR (and image
 * archives). */
static bool walk_wants(const char *name)
{
	static const char *const exts[] = { ".yaml", ".yml", ".json", ".tar" };
	size_t n = strlen(name);
	for (size_t i = 0; i < CG_ARRAY_SIZE(exts); i++) {
		size_t e = strlen(exts[i]);
		if (n > e && strcmp(name + n - e, exts[i]) == 0)
			return true;
	}
	return false;
}

static int name_cmp(const struct dirent **a, const struct dirent **b) { return strcmp((*a)->d_name, (*b)->d_name); }

static int eval_one(struct path_run *x, const char *path, int depth);

/* Every input below @dir in byte order of names, hidden entries skipped,
 * symbolic links to directories not followed (no cycles). */
static int eval_dir(struct path_run *x, const char *dir, int depth)
{
	struct dirent **ents = NULL;
	struct cg_error e = { 0 };
	int n = scandir(dir, &ents, NULL, name_cmp), r = 0;

	if (n < 0) {
		cg_error_set(&e, -errno, "%s: cannot read the directory: %m", dir);
		return input_error(x, dir, &e);
	}
	for (int i = 0; i < n; i++) {
		const char *name = ents[i]->d_name;
		char *child = NULL;
		struct stat st;
		if (r >= 0 && name[0] != '.' && asprintf(&child, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", name) >= 0 &&
		    lstat(child, &st) == 0) {
			if (S_ISDIR(st.st_mode))
				r = eval_one(x, child, depth + 1);
			else if ((S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) && walk_wants(name))
				r = eval_one(x, child, depth + 1);
		} else if (r >= 0 && name[0] != '.' && !child) {
			r = x->fatal = cg_error_set(x->err, -ENOMEM, "out of memory");
		}
		free(child);
		free(ents[i]);
	}
	free(ents);
	return r;
}

/* A file is read one document at a time (a cluster dump of any size costs
 * the memory of its largest document), after a look at the first document:
 * a seccomp profile file is read whole, as profiles are. */
static int eval_file(struct path_run *x, const char *path)
{
	struct cg_doc_stream *st = NULL;
	struct cg_error e = { 0 };
	const char *head;
	char *buf = NULL;
	size_t len;
	int r;

	if (cg_doc_stream_open_file(path, CG_DOC_ALLOW_DUPLICATE_KEYS, CG_READ_MANIFEST_MAX, &st, &e) < 0 ||
	    cg_doc_stream_head(st, &head, &len, &e) < 0) {
		cg_doc_stream_close(st);
		return input_error(x, path, &e);
	}
	if (!cg_profile_sniff(head, len)) {
		r = eval_manifest_stream(x, st, path);
		cg_doc_stream_close(st);
		return r;
	}
	r = cg_doc_stream_slurp(st, &buf, &len, &e);
	cg_doc_stream_close(st);
	if (r < 0)
		return input_error(x, path, &e);
	r = eval_profiles_buf(x, buf, len, path);
	free(buf);
	return r;
}

static int eval_one(struct path_run *x, const char *path, int depth)
{
	struct cg_error e = { 0 };
	size_t plen = strlen(path);
	struct stat st;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		if (is_oci_layout(path))
			return eval_image_path(x, path, true);
		if (depth >= 32) {
			cg_error_set(&e, -ELOOP, "%s: directories nested more than 32 deep", path);
			return input_error(x, path, &e);
		}
		return eval_dir(x, path, depth);
	}
	if (plen > 4 && strcmp(path + plen - 4, ".tar") == 0)
		return eval_image_path(x, path, false);
	return eval_file(x, path);
}

int cg_policy_eval_path(const struct cg_policy *p, const char *path, const struct cg_eval_env *user_env,
			struct cg_report *into, struct cg_error *err)
{
	struct cg_eval_env ec = { .sz = sizeof(ec) };
	struct path_run x = { .p = p, .env = &ec, .into = into, .err = err };
	int r;

	if ((r = CG_OPTS_COPY(&ec, user_env)) < 0)
		return cg_opts_error(err, r, "cg_eval_env");
	r = eval_one(&x, path, 0);
	return x.fatal ? x.fatal : r < 0 ? r
					 : 0;
}
