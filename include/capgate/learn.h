/* SPDX-License-Identifier: Apache-2.0 */
/*
 * From "it broke" to "it works" without a second trace: the runtime gate's
 * learn mode, its readable explanations, and coverage.
 *
 * A learner (struct cg_learn) takes the supervisor's events (every call the
 * closure would deny, from every thread and process of the sandbox, see
 * cg_sandbox_supervise) and
 *   - groups them by call (arch, number, phase) with counts, keeping the
 *     first few distinct argument forms decoded as strace does, so a busy
 *     loop gives one line and a count instead of a line per call;
 *   - says for each form why the closure denies it, naming the rule that
 *     came closest when the call is allowed with other arguments, in
 *     another phase or on another architecture;
 *   - builds the closure of what was missing, with the argument detail and
 *     phases `capgate trace` records (the same record and the same
 *     record-to-closure step, lib/source/trace_data.c), ready for
 *     cg_closure_union / `capgate merge`.
 *
 * Coverage compares a closure with what a run really called (a trace
 * record of the sandboxed tree): which calls of the closure were used, and
 * which were never called on this run.
 */
#ifndef CAPGATE_LEARN_H
#define CAPGATE_LEARN_H

#include <capgate/closure.h>
#include <capgate/error.h>
#include <capgate/sandbox.h>
#include <capgate/strbuf.h>

struct cg_learn;

struct cg_learn_opts {
	size_t sz;                        /* sizeof(struct cg_learn_opts) */
	const struct cg_closure *closure; /* the enforced closure (required; borrowed, must outlive the learner) */
	unsigned max_forms;               /* distinct argument forms kept per call (0 = 3) */
};

/* A new learner for the events of one run. Returns 0, -EINVAL (no
 * closure) or -ENOMEM. */
CAPGATE_API int cg_learn_new(const struct cg_learn_opts *opts, struct cg_learn **ret, struct cg_error *err);
/* Free a learner (NULL is fine). */
CAPGATE_API void cg_learn_free(struct cg_learn *l);
static inline void cg_learn_freep(struct cg_learn **l) { cg_learn_free(*l); }

/* What an event was, beside the ones seen before. */
enum cg_learn_seen {
	CG_LEARN_NEW_CALL, /* the first event of its call (arch, number, phase) */
	CG_LEARN_NEW_FORM, /* a new argument form of a call seen before, one of the first max_forms */
	CG_LEARN_REPEAT,   /* counted only */
};

/* One call as the learner groups it. */
struct cg_learn_form {
	char *text; /* the event's text: the decoded call and the action */
	char *why;  /* why the closure denies it (cg_learn_explain) */
	uint64_t count;
	uint64_t args[6];
	pid_t pid; /* thread of its first occurrence */
};
struct cg_learn_call {
	const char *name; /* NULL: a number without a name */
	int arch;         /* enum cg_arch_id, -1 unknown */
	uint32_t nr;
	int phase; /* phase index, -1 = no phases */
	bool allowed;
	uint64_t count;   /* every occurrence */
	uint64_t unshown; /* occurrences whose form was not kept */
	size_t n_forms;   /* kept forms, at most max_forms */
	struct cg_learn_form *forms;
	uint64_t decoded; /* events decoded to tell forms apart: at most 2 x max_forms, whatever the count */
};

/* Count one supervisor event; *ret_seen (may be NULL) says whether it is
 * worth showing, *ret_call (may be NULL) gets its call (valid until the
 * next cg_learn_add; a new form is its last). Call it from the event
 * callback: an event that may become a new form is decoded then
 * (cg_sandbox_event_text; one whose text is set is taken as it is), and
 * only such events are. Returns 0 or -ENOMEM. */
CAPGATE_API int cg_learn_add(struct cg_learn *l, const struct cg_sandbox_event *ev, enum cg_learn_seen *ret_seen,
			     const struct cg_learn_call **ret_call);
/* The calls seen, in the order of their first event. */
CAPGATE_API size_t cg_learn_n_calls(const struct cg_learn *l);
CAPGATE_API const struct cg_learn_call *cg_learn_call_at(const struct cg_learn *l, size_t i);
/* Total events counted. */
CAPGATE_API uint64_t cg_learn_n_events(const struct cg_learn *l);

/* Append why @c does not allow the call of @ev (arch, name, args, phase)
 * in words: a denying rule, the default action with no rule for the name,
 * or the permitting rule that came closest and the conditions it failed
 * ("allowed with other arguments: closest rule allows socket when arg0 ==
 * 0x2: arg0 is 0x10"), or the phases or architectures it is allowed in. */
CAPGATE_API void cg_learn_explain(const struct cg_closure *c, const struct cg_sandbox_event *ev,
				  struct cg_strbuf *out);

/* Append one JSON line (compact, newline-terminated) for form @f of @call:
 * {"event":"denied"|"would-deny"|"summary", "call", "arch", "nr",
 * "phase", "count", "pid", "args", "text", "why"}; @f NULL for a summary of
 * the call (its count, forms shown and occurrences not shown). Returns 0
 * or -ENOMEM. */
CAPGATE_API int cg_learn_json_line(const struct cg_learn_call *call, const struct cg_learn_form *f,
				   const char *const *phase_names, struct cg_strbuf *out);

/* The closure of every call seen (allow rules with trace's argument
 * detail, in the phase of the enforced closure each was made in), default
 * errno(EPERM), ready to be merged into the enforced one. Calls that
 * cannot go into a profile (no name, an arch the recorder does not keep)
 * are named in @notes (may be NULL). Returns 0 or -ENOMEM. */
CAPGATE_API int cg_learn_closure(const struct cg_learn *l, struct cg_strbuf *notes, struct cg_closure **ret,
				 struct cg_error *err);

/* Coverage of closure @c by a run that called @used (a trace closure of
 * the run, rules carrying counts): appends the report to @out -- JSON with
 * @json ({"closure":digest, "used":{name:count}, "unused":[names],
 * "outside":{name:count}}), else one line per call. *ret_used and
 * *ret_total (may be NULL) get how many of @c's permitted calls were used.
 * Returns 0 or -ENOMEM. */
CAPGATE_API int cg_learn_coverage(const struct cg_closure *c, const struct cg_closure *used, bool json,
				  struct cg_strbuf *out, size_t *ret_used, size_t *ret_total);

#endif
