/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The static gate at Kubernetes admission: an AdmissionReview
 * (admission.k8s.io/v1) in, the answer the API server expects out. The
 * object is read by the same code as `capgate check` reads a manifest and
 * judged by the same cg_policy_eval_workload(), so the two cannot disagree.
 * No network here: the HTTP server is the command's (capgate webhook).
 */
#ifndef CAPGATE_ADMISSION_H
#define CAPGATE_ADMISSION_H

#include <capgate/policy.h>

/* The largest body read by default (the API server limits an object to
 * 3 MiB; an AdmissionReview may carry it twice, object and oldObject). */
#define CG_ADMISSION_MAX_BODY (7u << 20)

/* The pod annotation /mutate records a container's closure digest in:
 * io.capgate.closure.digest/<container name> = sha256:<hex>. */
#define CG_ADMISSION_ANN_DIGEST "io.capgate.closure.digest/"
/* Where /mutate points a container at its closure (node-sync installs it
 * there): localhostProfile capgate/sha256-<hex>.json. */
#define CG_ADMISSION_PROFILE_DIR "capgate/"

struct cg_admission_opts {
	size_t sz;
	const struct cg_eval_env *env; /* profiles, layouts, resolve options; NULL = none */
	bool mutate;                   /* answer as a mutating webhook (JSONPatch) rather than a validating one */
	/* mutate: a container whose image has no closure digest in env's
	 * layouts gets this profile type ("RuntimeDefault"); NULL = left unset
	 * (with a warning), for /validate to judge */
	const char *fallback_profile;
	/* mutate: set spec.runtimeClassName to this where it is unset ("gvisor");
	 * NULL = never */
	const char *runtime_class;
	size_t max_body; /* 0 = CG_ADMISSION_MAX_BODY */
	/* called once with request.uid as soon as it is read, before the
	 * object is judged (a server that gives up waiting can still answer
	 * under that uid, with cg_admission_deny); NULL = not called */
	void (*on_uid)(const char *uid, void *user);
	void *user;
};

/* What the answer was, for logs and metrics. */
struct cg_admission_result {
	char *uid;        /* request.uid, or NULL when it could not be read */
	bool allowed;     /* false for every body that is not a valid AdmissionReview */
	int code;         /* status.code: 200, 400 (bad request), 403 (policy), 500 (policy error), 429/504 (the server gave up) */
	char reason[64];  /* the first finding's rule id, or "allowed", "exempt", "bad-request", "policy-error" */
	char *message;    /* status.message (or the allow's summary) */
	size_t n_patches; /* mutate: JSONPatch operations */
	bool dry_run;
	char *response; /* the AdmissionReview to send back (JSON, NUL-terminated) */
	size_t response_len;
};

/* Answer the AdmissionReview @body (@len bytes) under policy @p. Every body
 * gets an answer: one that is not JSON, not an admission.k8s.io/v1
 * AdmissionReview, has no request.uid, is larger than the limit, or whose
 * object cannot be read, is denied with a message that says why (code 400);
 * a policy that cannot decide denies (500). The response carries
 * response.uid = request.uid, allowed, status.code and status.message
 * (naming each finding), warnings, auditAnnotations (verdict, rules) and,
 * for @opts->mutate, patchType JSONPatch with a base64 patch: a container
 * whose effective seccomp setting is unset gets the Localhost profile of
 * its image's closure (never a change to a setting that exists), the
 * closure digest is recorded in an annotation, and runtimeClassName is set
 * when asked and unset. dryRun requests get the same answer (nothing here
 * has side effects). Returns 0 with *ret filled (release it with
 * cg_admission_result_release), or -ENOMEM / -EINVAL (a NULL argument). */
CAPGATE_API int cg_admission_review(const struct cg_policy *p, const char *body, size_t len,
				    const struct cg_admission_opts *opts, struct cg_admission_result *ret,
				    struct cg_error *err);
/* A deny that needs no review: the AdmissionReview answer for @uid (NULL or
 * "" when it is not known: the API server then refuses the answer, which
 * under failurePolicy Fail is a deny too) with status @code (400, 403, 429,
 * 500 or 504), the rule id or cause @reason (for logs and metrics, at most
 * 63 bytes) and the person-readable @message. For a server that gives up on
 * an evaluation (a deadline, a full queue) and must still answer. Returns
 * 0 with *ret filled, or -ENOMEM / -EINVAL. */
CAPGATE_API int cg_admission_deny(const char *uid, int code, const char *reason, const char *message,
				  struct cg_admission_result *ret, struct cg_error *err);
/* Free what cg_admission_review() put in @r (NULL-safe). */
CAPGATE_API void cg_admission_result_release(struct cg_admission_result *r);

#endif
