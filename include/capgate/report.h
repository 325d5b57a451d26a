/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The static gate's report: the verdicts of one run, written for a person
 * (text), for programs (JSON), for code scanning (SARIF 2.1.0) or for CI test
 * views (JUnit XML). `capgate check` and anything else that gates on a policy
 * write the same report from the same verdicts.
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

struct cg_report;

/* An empty report for verdicts under the policy read from @policy_source. */
CAPGATE_API int cg_report_new(const char *policy_source, struct cg_report **ret, struct cg_error *err);
CAPGATE_API void cg_report_free(struct cg_report *r);
static inline void cg_report_freep(struct cg_report **r) { cg_report_free(*r); }

/* Move @v into the report (@v is left empty). On failure @v is released. */
CAPGATE_API int cg_report_add(struct cg_report *r, struct cg_verdict *v, struct cg_error *err);
CAPGATE_API size_t cg_report_count(const struct cg_report *r);
/* The @i-th verdict, in the order they were added. */
CAPGATE_API const struct cg_verdict *cg_report_verdict(const struct cg_report *r, size_t i);
/* Does any verdict fail (not allowed and not exempt)? */
CAPGATE_API bool cg_report_failed(const struct cg_report *r);

/* "text", "json", "sarif" or "junit"; -EINVAL otherwise. */
CAPGATE_API int cg_report_format_parse(const char *name, enum cg_report_format *ret);
/* Append the report in format @f to @sb; 0 or -ENOMEM. */
CAPGATE_API int cg_report_write(const struct cg_report *r, enum cg_report_format f, unsigned flags,
				struct cg_strbuf *sb);

#endif
