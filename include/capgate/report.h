/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The static gate's report: the verdicts of one run, written for a person
 * (text), for programs (JSON), for code scanning (SARIF 2.1.0) or for CI test
 * views (JUnit XML). `capgate check` and anything else that gates on a policy
 * write the same report from the same verdicts.
 *
 * A report either keeps its verdicts (cg_report_new: for callers that look
 * at them) or streams them (cg_report_open with an output: each verdict is
 * written as it is added and then dropped, so a run over 40,000 Pods holds
 * one verdict at a time). JUnit needs its counts before its test cases: a
 * streamed JUnit report spools the cases to a temporary file and assembles
 * the document at the end.
 */
#ifndef CAPGATE_REPORT_H
#define CAPGATE_REPORT_H

#include <capgate/policy.h>

enum cg_report_format { CG_REPORT_TEXT,
			CG_REPORT_JSON,
			CG_REPORT_SARIF,
			CG_REPORT_JUNIT };

/* cg_report_write flags */
#define CG_REPORT_QUIET 0x1u /* text: only failures and the summary */

/* The rule id of the verdict for an input that could not be read. */
#define CG_RULE_INPUT_ERROR "input-error"

struct cg_report;

struct cg_report_opts {
	size_t sz;                    /* sizeof(struct cg_report_opts) */
	enum cg_report_format format; /* for a streamed report */
	unsigned flags;               /* CG_REPORT_QUIET */
	/* Stream to this file ("-" = stdout). A file is written beside its
	 * final name and renamed into place by cg_report_finish(), so a run
	 * that does not finish leaves no partial report. NULL: keep the
	 * verdicts in memory (cg_report_write). */
	const char *output;
	/* SARIF: artifact URIs relative to this directory, under the base id
	 * %SRCROOT% (NULL: the current directory). Files outside it keep their
	 * absolute path. */
	const char *base;
};

/* An empty report for verdicts under the policy read from @policy_source
 * (@o may be NULL: keep the verdicts, base = the current directory). A
 * streamed report's output is opened here. */
CAPGATE_API int cg_report_open(const char *policy_source, const struct cg_report_opts *o, struct cg_report **ret,
			       struct cg_error *err);
/* cg_report_open(@policy_source, NULL, ...): a report that keeps its verdicts. */
CAPGATE_API int cg_report_new(const char *policy_source, struct cg_report **ret, struct cg_error *err);
/* Free @r; a streamed report that was not finished removes its partial file. */
CAPGATE_API void cg_report_free(struct cg_report *r);
static inline void cg_report_freep(struct cg_report **r) { cg_report_free(*r); }

/* Move @v into the report (@v is left empty): kept, or written and dropped.
 * On failure (out of memory, the output cannot be written) @v is released. */
CAPGATE_API int cg_report_add(struct cg_report *r, struct cg_verdict *v, struct cg_error *err);
/* Write the end of a streamed report (summary, closing brackets, JUnit's
 * assembled document) and put its file in place. 0 or the write error. */
CAPGATE_API int cg_report_finish(struct cg_report *r, struct cg_error *err);

/* What a run found, verdict by verdict: an input error (the input could not
 * be read: rule input-error), not checked (an object the policy has no rule
 * for), exempt, passed or failed. checked counts the verdicts that were
 * checked (passed, failed or exempt); a not-checked object the policy
 * denies counts as not checked and as failed. */
struct cg_report_counts {
	size_t checked, passed, failed, exempt, not_checked, errors;
};
CAPGATE_API void cg_report_counts(const struct cg_report *r, struct cg_report_counts *ret);
/* Every verdict added so far, streamed or kept. */
CAPGATE_API size_t cg_report_count(const struct cg_report *r);
/* The @i-th verdict, in the order they were added (NULL for a streamed report). */
CAPGATE_API const struct cg_verdict *cg_report_verdict(const struct cg_report *r, size_t i);
/* Does any verdict fail (not allowed and not exempt; an input error fails)? */
CAPGATE_API bool cg_report_failed(const struct cg_report *r);

/* "text", "json", "sarif" or "junit"; -EINVAL otherwise. */
CAPGATE_API int cg_report_format_parse(const char *name, enum cg_report_format *ret);
/* Append a report that keeps its verdicts in format @f to @sb; 0, -EINVAL
 * (a streamed report) or -ENOMEM. */
CAPGATE_API int cg_report_write(const struct cg_report *r, enum cg_report_format f, unsigned flags,
				struct cg_strbuf *sb);

#endif
