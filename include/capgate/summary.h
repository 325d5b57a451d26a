/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A closure summarised as both gates see it: what it permits per arch and
 * phase, which risk classes it lets through, how large its compiled filter
 * is and how many permitted calls the kernel answers from its action cache.
 * `capgate info` prints it; the numbers are computed here so that every
 * front end shows the same ones.
 */
#ifndef CAPGATE_SUMMARY_H
#define CAPGATE_SUMMARY_H

#include <capgate/closure.h>
#include <capgate/syscalls.h>

struct cg_summary_arch {
	enum cg_arch_id arch;
	size_t permitted; /* distinct permitted call numbers */
	size_t cached;    /* of those, answered from the kernel's action cache */
	bool cache_known; /* false for x32 (never cached) and unknown tables */
};

/* The calls of one risk class that the closure permits. */
struct cg_summary_risk {
	const struct cg_risk_class *cls;
	const char **calls; /* point into the class table */
	size_t n_calls;
	enum cg_severity severity; /* the class's, or lint's for this profile (cg_summary_apply_lint) */
};

/* Made by cg_summary_closure (fields may be added at the end: never
 * allocate one). */
struct cg_summary {
	char digest[72];    /* cg_closure_digest's "sha256:" and 64 hex digits */
	const char **names; /* permitted calls (any arch, any phase), sorted; point into the closure */
	size_t n_names;
	size_t *phase_permitted; /* permitted calls of each of the closure's phases, in its order */
	size_t n_phases;
	struct cg_summary_arch *arches; /* the arches of c->arch_mask, in enum cg_arch_id order */
	size_t n_arches;
	size_t prog_len;               /* instructions of the compiled filter */
	struct cg_summary_risk *risks; /* classes with a permitted call, in table order */
	size_t n_risks;
};

/* Summarise @c. A call counts as permitted for a risk class when a rule
 * permits it, or, under a permitting default, when @c permits it on the
 * native arch. The summary refers to names in @c: free it first. */
CAPGATE_API int cg_summary_closure(const struct cg_closure *c, struct cg_summary **ret, struct cg_error *err);
struct cg_lint_report;
/* Take each risk class's severity from capgate lint's report on the same
 * profile, so info and lint never disagree on how serious a class is. */
CAPGATE_API void cg_summary_apply_lint(struct cg_summary *s, const struct cg_lint_report *lr);
/* Free (NULL-safe). */
CAPGATE_API void cg_summary_free(struct cg_summary *s);
static inline void cg_summary_freep(struct cg_summary **s) { cg_summary_free(*s); }

#endif
