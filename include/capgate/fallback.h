/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Calls that C libraries and runtimes probe and survive ENOSYS for. glibc
 * 2.36 registers rseq at every thread start and goes on without it when the
 * kernel (or gVisor, or a seccomp filter) answers ENOSYS; pthread_create
 * tries clone3 and falls back to clone; and so on. A closure can mark such a
 * call to be answered ENOSYS (a rule with action errno(ENOSYS)): the runtime
 * gate then answers it so, the program takes its fallback, and the static
 * gate reports the call as a warning instead of a denial, so both gates
 * agree. Each entry of the table names where its fallback is written, and
 * tests/cli/fallback.sh holds every entry to a real program that makes the
 * call and still works when it is answered ENOSYS.
 */
#ifndef CAPGATE_FALLBACK_H
#define CAPGATE_FALLBACK_H

#include <capgate/closure.h>

struct cg_policy;

struct cg_fallback {
	const char *call;   /* "rseq" */
	const char *who;    /* "glibc 2.36" (and others, comma separated) */
	const char *source; /* where the fallback is written: file and function */
	const char *then;   /* what the caller does when the call answers ENOSYS */
	const char *check;  /* the program tests/cli/fallback.sh checks it with */
	const char *needs;  /* calls the fallback path makes instead, space separated (x86_64 names) */
};

/* Every known fallback, sorted by call; *ret_n receives the count. */
CAPGATE_API const struct cg_fallback *cg_fallbacks(size_t *ret_n);
/* The entry for @call, or NULL when no fallback is known. */
CAPGATE_API const struct cg_fallback *cg_fallback_find(const char *call);

struct cg_fallback_opts {
	size_t sz; /* sizeof(struct cg_fallback_opts) */
	/* Mark the table's calls this policy does not allow (NULL: none) */
	const struct cg_policy *policy;
	/* ...and these calls, whatever the policy says; each must be in the
	 * table (a call without a known fallback is refused) */
	const char *const *calls;
	size_t n_calls;
};

/* Rewrite @c in place so that each selected call the closure permits is
 * answered ENOSYS: every rule for it is replaced by one errno(ENOSYS) rule
 * on every arch and in every phase, and the calls its fallback makes
 * instead (cg_fallback.needs) are allowed in the phases the call was (a
 * trace never saw them: the fallback did not run). Calls the closure does
 * not permit are left alone. On -ENOMEM @c may be partly rewritten. *ret_marked (optional) receives the calls rewritten, sorted
 * (static names from the table; free the array). Errors: a call of
 * @o->calls with no known fallback (-EINVAL, naming it), -ENOMEM. */
CAPGATE_API int cg_closure_fallback_enosys(struct cg_closure *c, const struct cg_fallback_opts *o,
					   const char ***ret_marked, size_t *ret_n, struct cg_error *err);

#endif
