/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Profile lint: what makes a seccomp profile unsafe or broken, each finding
 * with a severity, a stable rule id, the position in the file where it is
 * known, and a reason a person can act on. The library only collects
 * findings; commands print them (text or JSON writers below).
 *
 * The profile is judged as capgate resolves it for the given capabilities,
 * kernel and native architecture (Docker's default capability set unless
 * told otherwise), and also as other runtimes (runc / crun through
 * libseccomp) read it where they differ: 64-bit argument comparisons,
 * overlapping rules, fields they ignore.
 */
#ifndef CAPGATE_LINT_H
#define CAPGATE_LINT_H

#include <capgate/profile.h>

/* One rule of the linter: stable id, the severity it usually has, help. */
struct cg_lint_rule {
	const char *id;            /* "dangerous-call" */
	enum cg_severity severity; /* typical severity (some findings vary) */
	const char *help;
};

/* Every rule, sorted by id; *ret_n receives the count. */
CAPGATE_API const struct cg_lint_rule *cg_lint_rules(size_t *ret_n);

struct cg_lint_finding {
	enum cg_severity severity;
	const char *rule;  /* id from cg_lint_rules(), static */
	struct cg_pos pos; /* 0/0 = the profile as a whole */
	char *message;
	char **calls; /* the system calls concerned (may be empty) */
	size_t n_calls;
};

/* The findings about one profile (opaque). */
struct cg_lint_report;

struct cg_lint_opts {
	size_t sz;                             /* sizeof(struct cg_lint_opts) */
	const struct cg_resolve_opts *resolve; /* capabilities, kernel, arch; NULL = defaults */
	unsigned size_bound;                   /* bound on permitted calls; 0 = 35, the built-in policy's */
	/* The program the profile is for (an ELF file), or NULL. With it the
	 * start-up calls are judged by how it is linked: none for a static
	 * program, its loader's for one dynamically linked against glibc; an
	 * unreadable or non-ELF file is an error. */
	const char *binary;
};

/* Lint @p as resolved with @o (NULL = defaults). On success *ret is a new
 * report (possibly with no findings). Errors: the profile cannot be
 * resolved, the running kernel's version cannot be read, -ENOMEM. */
CAPGATE_API int cg_lint_profile(const struct cg_profile *p, const struct cg_lint_opts *o,
				struct cg_lint_report **ret, struct cg_error *err);

/* Free a report (NULL is fine). */
CAPGATE_API void cg_lint_report_free(struct cg_lint_report *r);
static inline void cg_lint_report_freep(struct cg_lint_report **r) { cg_lint_report_free(*r); }

/* The findings of @r, most severe first, then by position, into *ret (valid
 * until the report is freed); returns their number. */
CAPGATE_API size_t cg_lint_report_findings(const struct cg_lint_report *r, const struct cg_lint_finding **ret);

/* Number of findings at or above @min. */
CAPGATE_API size_t cg_lint_report_count(const struct cg_lint_report *r, enum cg_severity min);

/* First finding with rule @id (NULL if none): for tests and callers. */
CAPGATE_API const struct cg_lint_finding *cg_lint_report_find(const struct cg_lint_report *r, const char *id);

/* Append @r as text, one finding per line:
 * "file:line:col: severity: rule: [profile name: ]message" (no line:col for
 * a finding about the profile as a whole). */
CAPGATE_API void cg_lint_report_write_text(const struct cg_lint_report *r, struct cg_strbuf *out);

/* The reports of several profiles (of several files), in order. */
struct cg_lint_reports {
	struct cg_lint_report **v;
	size_t n;
};

/* Lint every profile in the file at @path ("-" = stdin; a multi-document
 * YAML file of SeccompProfile resources holds several) and append their
 * reports to @set. A file that cannot be read or parsed is an error naming
 * it; on any error @set is unchanged. */
CAPGATE_API int cg_lint_path(const char *path, const struct cg_lint_opts *o, struct cg_lint_reports *set,
			     struct cg_error *err);

/* Free the reports of @set and empty it. */
CAPGATE_API void cg_lint_reports_release(struct cg_lint_reports *set);

/* Number of findings at or above @min in all reports of @set. */
CAPGATE_API size_t cg_lint_reports_count(const struct cg_lint_reports *set, enum cg_severity min);

/* cg_lint_report_write_text() for each report of @set. */
CAPGATE_API void cg_lint_reports_write_text(const struct cg_lint_reports *set, struct cg_strbuf *out);

/* One JSON array of every finding of @set, one per line:
 * {file[,profile],line,column,severity,rule,message,calls}. Returns 0 or
 * -ENOMEM. */
CAPGATE_API int cg_lint_reports_write_json(const struct cg_lint_reports *set, struct cg_strbuf *out);

#endif
