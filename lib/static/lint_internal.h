/* SPDX-License-Identifier: Apache-2.0 */
/* Internal: the lint report's layout, opaque to users of the library (who
 * read it through cg_lint_report_findings) so that it can change; the unit
 * tests look inside. */
#ifndef CAPGATE_LINT_INTERNAL_H
#define CAPGATE_LINT_INTERNAL_H

#include <capgate/lint.h>

struct cg_lint_report {
	char *source; /* the profile's file name */
	char *name;   /* metadata.name of a SeccompProfile, or NULL */
	size_t n, cap;
	struct cg_lint_finding *findings; /* most severe first, then by position */
};

#endif
