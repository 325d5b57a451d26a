/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The static gate: a policy, and one pure function from (policy, input) to a
 * verdict with reasons. `capgate check` and the admission webhook call the
 * same functions, so they cannot disagree.
 */
#ifndef CAPGATE_POLICY_H
#define CAPGATE_POLICY_H

#include <capgate/image.h>
#include <capgate/k8s.h>
#include <capgate/syscalls.h>

/* namespaces.<name>: the seccomp profiles a tenant's workloads may use,
 * and the one /mutate gives a container that names none. An entry is
 * "RuntimeDefault", "Unconfined", or a Localhost profile path relative to
 * <kubelet-root>/seccomp, which may be a glob (fnmatch, '*' does not cross
 * '/'): "capgate/" followed by a star. */
struct cg_policy_namespace {
	char *name; /* a namespace, or "*": every namespace not named */
	char **allowed_profiles;
	size_t n_allowed_profiles;
	bool has_allowed;      /* allowedProfiles was given (an empty list allows nothing) */
	char *default_profile; /* NULL: the webhook's own default */
};

struct cg_policy {
	char *source;        /* file, or "<built-in>" */
	char *baseline;      /* "gvisor", "docker-default", "example", "none" */
	char *baseline_file; /* a probed baseline (capgate policy probe-gvisor -o FILE) */
	char **allow;        /* added to the baseline */
	size_t n_allow;
	char **deny; /* removed from it */
	size_t n_deny;
	char **deny_classes; /* risk classes (see cg_risk_classes) or "all" */
	size_t n_deny_classes;
	long max_calls;                /* <= 0: no bound */
	char *bound_phase;             /* the phase the bound applies to, when a closure has phases */
	enum cg_pss_level pss;         /* seccomp rule level for manifests */
	bool require_profile_contents; /* Localhost profiles must be found and pass */
	bool deny_permissive_default;  /* a profile whose default action permits fails */
	int node_runtime;              /* enum cg_cond_runtime: what the nodes' runtime does with a profile's
					* includes/excludes (profiles.runtime); default CG_COND_ANY, the worst case */
	bool require_startable;        /* a profile no program can start under fails (capgate lint's cannot-start) */
	bool require_signature;
	char **key_files; /* PEM public keys (paths as written) */
	size_t n_keys;
	char **key_pems;           /* their contents, loaded with the policy */
	char **trusted_registries; /* "host[:port][/path]" */
	size_t n_trusted;
	bool require_digest;
	char **exempt_namespaces;
	size_t n_exempt_namespaces;
	/* exemptions.labels: a label the manifest's own author can set, so
	 * never on by default (see docs/POLICY.md) */
	char **exempt_label_keys, **exempt_label_values;
	size_t n_exempt_labels;
	struct cg_policy_namespace *namespaces; /* per-namespace profiles (namespaces:) */
	size_t n_namespaces;
	bool ignore_unknown_kinds; /* unknownKinds: ignore (default deny: an object not checked fails) */
	/* computed: the allowed calls, sorted */
	char **allowed;
	size_t n_allowed;
	/* phaseBounds: a bound per named phase (<= 0: that phase is not
	 * bounded). A phase of a closure that has the bound phase and is not
	 * named here (a maintenance phase, say) is held to max_calls. Every
	 * policy starts with startup: not bounded. */
	char **phase_bound_names;
	long *phase_bound_max;
	size_t n_phase_bounds;
};

/* The built-in default (gVisor baseline, at most 35
 * calls in the serving phase and in any maintenance phase, the start-up
 * phase not bounded, every risk class denied, every Pod names a
 * seccomp profile at the restricted level, permissive profiles denied). */
CAPGATE_API int cg_policy_default(struct cg_policy **ret, struct cg_error *err);
/* Parse a policy (YAML or JSON). Errors name file:line:col and field path. */
CAPGATE_API int cg_policy_parse(const char *buf, size_t len, const char *source, struct cg_policy **ret,
				struct cg_error *err);
CAPGATE_API int cg_policy_load(const char *path, struct cg_policy **ret, struct cg_error *err);
CAPGATE_API void cg_policy_free(struct cg_policy *p);
static inline void cg_policy_freep(struct cg_policy **p) { cg_policy_free(*p); }

/* The bound on phase @name of a closure that has @p's bound phase: its
 * phaseBounds entry, else max_calls; <= 0 when the phase is not bounded. */
CAPGATE_API long cg_policy_phase_bound(const struct cg_policy *p, const char *name);

/* The namespaces: entry for namespace @ns: its own, else the "*" entry, else
 * NULL. A NULL @ns (a manifest with no metadata.namespace) is "default". */
CAPGATE_API const struct cg_policy_namespace *cg_policy_namespace_find(const struct cg_policy *p, const char *ns);
/* Does @n allow a seccomp setting written as @profile ("RuntimeDefault",
 * "Unconfined", or a Localhost path)? True when @n is NULL or has no
 * allowedProfiles. */
CAPGATE_API bool cg_policy_namespace_allows(const struct cg_policy_namespace *n, const char *profile);

/* Is @name in the policy's allowed set (baseline + allow - deny - classes)? */
CAPGATE_API bool cg_policy_allows(const struct cg_policy *p, const char *name);

/* Built-in baselines. */
CAPGATE_API const char *const *cg_baseline_names(size_t *ret_n);
/* The calls of a built-in baseline (sorted, static); -ENOENT if unknown. */
CAPGATE_API int cg_baseline_calls(const char *name, const char *const **ret, size_t *ret_n);
/* Where a baseline's list comes from (for --help and docs). */
CAPGATE_API const char *cg_baseline_origin(const char *name);

/* One rule of the static gate: the stable id a finding carries, a short
 * name (SARIF's reportingDescriptor.name), one line of help, what to do
 * about it, and how serious a finding is (SARIF's level: critical and high
 * are errors, medium a warning, low and info a note). */
struct cg_policy_rule {
	const char *id;   /* "syscall-not-allowed" */
	const char *name; /* "SyscallNotAllowed" */
	const char *help;
	const char *fix; /* what a person does about a finding */
	enum cg_severity severity;
};

/* Every rule a verdict can carry, sorted by id; *ret_n receives the count. */
CAPGATE_API const struct cg_policy_rule *cg_policy_rules(size_t *ret_n);
/* The rule with id @id, or NULL. */
CAPGATE_API const struct cg_policy_rule *cg_policy_rule_find(const char *id);

struct cg_finding {
	char *rule;    /* id from cg_policy_rules(): "syscall-not-allowed", ... */
	char *msg;     /* "syscall ptrace is not in the allowed list (baseline: gvisor)" */
	char *subject; /* "Pod default/web, container app", "image ...", "profile.json" */
	char *file;    /* where, if known */
	struct cg_pos pos;
	char *path; /* field path, if known */
};

struct cg_verdict {
	char *subject;
	char *kind; /* "closure", "Pod", "Deployment", "image", ... */
	char *file;
	struct cg_pos pos;
	bool exempt; /* exempted by namespace or label: allowed, findings dropped */
	/* Nothing in it could be checked: an object of a kind capgate does not
	 * read (with a finding "unknown-kind" unless the policy says
	 * unknownKinds: ignore), or a file with no object at all (always a
	 * finding, "nothing-checked"). Counted as not checked, never as passed;
	 * it fails the run when it has findings, as any verdict does. */
	bool not_checked;
	struct cg_finding *findings;
	size_t n_findings;
	/* What the verdict rests on that the input did not say, for the person
	 * reading it: "image registry.example.com/app:1 resolved to sha256:..."
	 * (a tag is judged by the digest it named in the layout). Not findings. */
	char **notes;
	size_t n_notes;
};

/* A verdict allows iff it has no findings. */
static inline bool cg_verdict_allowed(const struct cg_verdict *v) { return v->n_findings == 0; }
CAPGATE_API void cg_verdict_release(struct cg_verdict *v);

/* Loaded Localhost profiles, shared across the workloads of one run, so a
 * profile named by 10,000 Pods is read and resolved once. */
struct cg_closure_cache;
CAPGATE_API struct cg_closure_cache *cg_closure_cache_new(void);
CAPGATE_API void cg_closure_cache_free(struct cg_closure_cache *cache);

/* Where Localhost profiles and images come from when checking manifests. */
struct cg_eval_env {
	size_t sz;
	const char *profiles_dir;   /* kubelet-style: DIR/<localhostProfile> */
	const char *const *layouts; /* OCI layouts that can satisfy image references */
	size_t n_layouts;
	/* How profiles are resolved. A kernel of 0.0 and an arch of -1 mean the
	 * node's, which the static gate does not know: the closure is the worst
	 * case over kernels and arches. A Localhost profile is resolved with
	 * its container's capabilities (cg_caps_effective), not these. */
	const struct cg_resolve_opts *resolve;
	struct cg_closure_cache *cache; /* optional */
};

/* The checks on a closure alone: baseline, bound, risk classes, default. */
CAPGATE_API int cg_policy_eval_closure(const struct cg_policy *p, const struct cg_closure *c, const char *subject,
				       struct cg_verdict *v, struct cg_error *err);
/* A Kubernetes workload: exemptions, the Pod Security Standards fields that
 * bear on the closure (seccomp, privileged, allowPrivilegeEscalation, host
 * namespaces, added capabilities) at the policy's level, Localhost profile
 * contents, image registries, digests and signatures. A not-checked object
 * (w->not_checked) gets a not_checked verdict, with an "unknown-kind"
 * finding unless the policy ignores unknown kinds. */
CAPGATE_API int cg_policy_eval_workload(const struct cg_policy *p, const struct cg_k8s_workload *w,
					const struct cg_eval_env *env, struct cg_verdict *v, struct cg_error *err);
/* An image from a layout or archive: labels (required syscalls, closure
 * digest), attached closure, registry, signature (@layout_dir may be NULL for
 * an archive: a required signature then cannot be verified and fails). */
CAPGATE_API int cg_policy_eval_image(const struct cg_policy *p, const struct cg_image *img, const char *ref,
				     const char *layout_dir, struct cg_verdict *v, struct cg_error *err);
/* An image reference alone (registry and digest rules). */
CAPGATE_API int cg_policy_eval_imageref(const struct cg_policy *p, const char *ref, const char *subject,
					struct cg_verdict *v, struct cg_error *err);

struct cg_report;
/* Whatever @path holds, decided by looking at it: an OCI layout directory
 * (one with an oci-layout file) or a docker-archive (*.tar) is an image; any
 * other directory is walked (recursively, names in byte order, hidden
 * entries skipped, as kubectl -f DIR: *.yaml, *.yml, *.json, *.tar); a
 * seccomp profile or capgate closure (a list of them too) is evaluated as
 * closures, resolved with @env->resolve, and also fails when no program
 * could start under it (the policy's requireStartable: capgate lint's
 * cannot-start); anything else must be a Kubernetes manifest, evaluated one
 * document at a time. Appends one verdict per subject to @into (see
 * capgate/report.h). An input that cannot be read or parsed, or is none of
 * these, is an input-error verdict at the position of the error, and the
 * walk goes on. Fails only when the run cannot go on (out of memory, the
 * report cannot be written). */
CAPGATE_API int cg_policy_eval_path(const struct cg_policy *p, const char *path, const struct cg_eval_env *env,
				    struct cg_report *into, struct cg_error *err);

/* ---- for other engines: OPA, Gatekeeper ---------------------------------- */

/* The policy as a Rego module (package capgate.admission, rego.v1): the
 * rules capgate check applies to manifests, less cosign signatures and the
 * contents of Localhost profiles. Appends to @sb; 0 or -ENOMEM. */
CAPGATE_API int cg_policy_export_rego(const struct cg_policy *p, struct cg_strbuf *sb);
/* The same rules as a Gatekeeper ConstraintTemplate plus its Constraint. */
CAPGATE_API int cg_policy_export_gatekeeper(const struct cg_policy *p, struct cg_strbuf *sb);
/* An OPA test module: for each workload in the @manifests files, capgate's
 * verdict under the rules the Rego export implements, asserted against
 * data.capgate.admission. Errors name the manifest and position. */
CAPGATE_API int cg_policy_export_rego_tests(const struct cg_policy *p, const char *const *manifests,
					    size_t n_manifests, struct cg_strbuf *sb, struct cg_error *err);

/* ---- the gVisor baseline, measured ----------------------------------------- */

struct cg_policy_probe {
	char *runtime;            /* first line of `runsc --version` */
	const char **implemented; /* x86_64 calls capgate knows that did not answer ENOSYS (static names) */
	size_t n_implemented;
	char **unimplemented; /* calls that answered ENOSYS to every attempt */
	size_t n_unimplemented;
	size_t n_builtin;    /* calls in the built-in gvisor baseline */
	size_t only_probe;   /* implemented, but not in the built-in baseline */
	size_t only_builtin; /* in the built-in baseline, but not implemented */
};

/* Run @probe_exe __probe-syscalls inside @runsc (a path, or a name looked up
 * in PATH; no shell) and compare what it finds with the built-in gvisor
 * baseline. Fails if runsc does not run or the probe does not finish. */
CAPGATE_API int cg_policy_probe_gvisor(const char *runsc, const char *probe_exe, struct cg_policy_probe *ret,
				       struct cg_error *err);
CAPGATE_API void cg_policy_probe_release(struct cg_policy_probe *pr);
/* The probe as a baseline file for a policy's baselineFile: JSON with
 * runtime, arch, implemented and unimplemented. Appends to @sb. */
CAPGATE_API int cg_policy_probe_write(const struct cg_policy_probe *pr, struct cg_strbuf *sb);

#endif
