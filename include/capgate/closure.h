/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The capability closure: which system calls a workload may make, with what
 * arguments, on which architectures, in which phase of its life; what
 * happens to every other call; and where each entry came from.
 *
 * A closure is always *resolved*: no includes/excludes, one rule per
 * (syscall, action, argument set, phases). Rules are kept in canonical order
 * so that the serialization, and so the SHA-256 digest, is deterministic.
 *
 * Semantics of a call (name, arch, args) — the reference the compiler and
 * its tests are held to:
 *   1. an arch not in arch_mask gets the bad-arch action (kill process);
 *   2. among the rules for the name whose arch_mask contains arch and whose
 *      conditions all hold (compared at the argument's real width), the one
 *      with the highest kernel precedence wins (kill > trap > errno > notify
 *      > trace > log > allow; lower errno first) -- so a denial can never be
 *      shadowed by a broader allow;
 *   3. several conditions on the same argument index in one rule are ORed
 *      (runc's reading of the OCI format), conditions on different indexes
 *      are ANDed;
 *   4. nothing matches: the default action.
 */
#ifndef CAPGATE_CLOSURE_H
#define CAPGATE_CLOSURE_H

#include <capgate/common.h>
#include <capgate/error.h>
#include <capgate/strbuf.h>
#include <capgate/syscalls.h>

enum cg_action_kind {
	CG_ACT_KILL_PROCESS,
	CG_ACT_KILL_THREAD,
	CG_ACT_TRAP,
	CG_ACT_ERRNO,
	CG_ACT_NOTIFY,
	CG_ACT_TRACE,
	CG_ACT_LOG,
	CG_ACT_ALLOW,
};

struct cg_action {
	enum cg_action_kind kind;
	uint32_t data; /* errno for ERRNO, message for TRACE */
};

/* The seccomp return value (SECCOMP_RET_*) for an action. */
CAPGATE_API uint32_t cg_action_ret(struct cg_action a);
/* Inverse of cg_action_ret (unknown values map to kill process). */
CAPGATE_API struct cg_action cg_action_from_ret(uint32_t ret);
/* <0 if @a takes precedence over @b in the kernel (more restrictive). */
CAPGATE_API int cg_action_cmp(struct cg_action a, struct cg_action b);
/* True for actions that let the call run (allow, log, trace, notify may). */
CAPGATE_API bool cg_action_permits(struct cg_action a);
/* OCI name, e.g. "SCMP_ACT_ERRNO". */
CAPGATE_API const char *cg_action_name(enum cg_action_kind k);
/* Parse an OCI action name; -1 if unknown. */
CAPGATE_API int cg_action_parse(const char *s);
/* Human form into @buf of @n bytes (48 is enough): "errno(EPERM)",
 * "trace(7)", "kill-process", "allow". Returns @buf. */
CAPGATE_API const char *cg_action_describe(struct cg_action a, char *buf, size_t n);

/* Same numbering as libseccomp's enum scmp_compare. */
enum cg_cmp_op {
	CG_OP_NE = 1,
	CG_OP_LT = 2,
	CG_OP_LE = 3,
	CG_OP_EQ = 4,
	CG_OP_GE = 5,
	CG_OP_GT = 6,
	CG_OP_MASKED_EQ = 7,
};

struct cg_arg_cond {
	uint8_t index;      /* 0..5 */
	uint8_t op;         /* enum cg_cmp_op */
	uint64_t value;     /* for MASKED_EQ: the mask */
	uint64_t value_two; /* for MASKED_EQ: the value compared */
};

#define CG_MAX_CONDS 8
#define CG_MAX_PHASES 8

struct cg_rule {
	char *name;
	struct cg_action action;
	uint8_t n_args;
	struct cg_arg_cond args[CG_MAX_CONDS];
	uint32_t arch_mask; /* CG_ARCH_BIT()s this rule applies to; 0 = every arch */
	uint32_t phases;    /* bit i = phase_names[i]; 0 = every phase */
	uint64_t count;     /* observed calls (tracing), 0 if unknown */
	char *origin;       /* provenance: profile comment, binary, trace... */
};

enum cg_closure_flag {
	CG_FLAG_TSYNC = 1u << 0,         /* SECCOMP_FILTER_FLAG_TSYNC */
	CG_FLAG_LOG = 1u << 1,           /* SECCOMP_FILTER_FLAG_LOG */
	CG_FLAG_SPEC_ALLOW = 1u << 2,    /* SECCOMP_FILTER_FLAG_SPEC_ALLOW */
	CG_FLAG_WAIT_KILLABLE = 1u << 3, /* SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV */
};

struct cg_closure {
	struct cg_action default_action;
	uint32_t arch_mask;  /* architectures accepted by the filter */
	uint32_t flags;      /* enum cg_closure_flag */
	char *listener_path; /* seccomp notify agent socket (OCI) */
	char *listener_metadata;
	unsigned n_phases;
	char *phase_names[CG_MAX_PHASES];
	size_t n_rules;
	struct cg_rule *rules; /* canonical order after cg_closure_canonicalize; grown by cg_closure_add_rule */
	/* When the serving phase starts, as the closure was traced
	 * (capgate/phase.h's trigger text: "listening:8080", "call:accept4",
	 * "after:5", "sd-notify", "signal"); NULL = not recorded. */
	char *serve_when;
	/* Per-process start-up windows (docs/PHASES.md): a process whose
	 * parent is the program's first process is in the start-up phase for
	 * its first worker_startup seconds, whatever the run's phase; 0 = none
	 * ("capgate": {"workerStartup": SECONDS}). */
	unsigned worker_startup;
};

/* Allocate an empty closure (default: errno EPERM, native arch only). A
 * closure is only ever made here (or by cg_closure_dup): it carries state
 * the struct does not show. */
CAPGATE_API struct cg_closure *cg_closure_new(void);
/* Free a closure (NULL is fine). */
CAPGATE_API void cg_closure_free(struct cg_closure *c);
static inline void cg_closure_freep(struct cg_closure **c) { cg_closure_free(*c); }
/* Deep copy. */
CAPGATE_API struct cg_closure *cg_closure_dup(const struct cg_closure *c);

/* Append a copy of @r (name and origin duplicated); the order is not kept:
 * call cg_closure_canonicalize() after adding. Returns 0, -EINVAL (no name,
 * more than CG_MAX_CONDS conditions, a bad index or operator) or -ENOMEM. */
CAPGATE_API int cg_closure_add_rule(struct cg_closure *c, const struct cg_rule *r);

/* Index of phase @name, adding it if @create; -1 if absent, full
 * (CG_MAX_PHASES) or out of memory. */
CAPGATE_API int cg_closure_phase(struct cg_closure *c, const char *name, bool create);

/* Sort each rule's conditions and the rules canonically; merge rules that
 * differ only in their phases into one (phases united, a rule for every
 * phase absorbing the rest; counts add up; the first origin kept). */
CAPGATE_API void cg_closure_canonicalize(struct cg_closure *c);

/* Decide the call @name (NULL: a number with no name) with arguments @args on
 * @arch by the closure semantics above: the reference evaluator the compiled
 * BPF is checked against. @phase is a phase index or -1 (rules of every
 * phase). If @ret_rule is not NULL it receives the deciding rule, or NULL
 * when the default or the bad-arch action decides. */
CAPGATE_API struct cg_action cg_closure_decide(const struct cg_closure *c, enum cg_arch_id arch,
					       const char *name, const uint64_t args[6], int phase,
					       const struct cg_rule **ret_rule);

/* Names with at least one permitting rule (allow/log/trace/notify) on any
 * arch, for any arguments, in phase @phase (-1 = any; a rule without phases
 * is in every phase); sorted, unique. The default action is not looked at.
 * *ret_names is malloc'd, its strings borrowed from @c. Returns 0 or
 * -ENOMEM. */
CAPGATE_API int cg_closure_permitted_names(const struct cg_closure *c, int phase,
					   const char ***ret_names, size_t *ret_n);

/* Subset with witnesses, on permitted names: *ret_outside lists the names
 * @a permits in @phase (-1 = any) that @b permits in no phase (none = @a is
 * inside @b). If @b's default permits, nothing is outside. The array is
 * malloc'd, its strings borrowed from @a. Returns 0 or -ENOMEM. */
CAPGATE_API int cg_closure_outside(const struct cg_closure *a, const struct cg_closure *b,
				   int phase, const char ***ret_outside, size_t *ret_n);
/* Union: every rule of both, the architectures and phases of both, the
 * default action and flags of @a (its serving trigger, else @b's). Returns 0 or -ENOMEM (also when the
 * phases together are more than CG_MAX_PHASES). */
CAPGATE_API int cg_closure_union(const struct cg_closure *a, const struct cg_closure *b,
				 struct cg_closure **ret);
/* Intersection: calls permitted by both; permitting rules of @a and @b on the
 * same name are combined with their conditions ANDed (the stricter action,
 * the narrower arches and phases); a permitting default keeps the other
 * side's permits as they are. Denials of both are kept; the stricter
 * default, the architectures both accept, the flags of either. Returns 0 or -ENOMEM
 * (also when combined conditions exceed CG_MAX_CONDS or phases
 * CG_MAX_PHASES). */
CAPGATE_API int cg_closure_intersect(const struct cg_closure *a, const struct cg_closure *b,
				     struct cg_closure **ret);

/* How two closures differ, call by call (see cg_closure_diff()). */
struct cg_closure_diff_call {
	const char *name; /* points into the closures compared */
	char *a, *b;      /* its rules on each side as text; NULL where that side has none */
};
struct cg_closure_diff {
	bool default_differs;
	uint32_t arches_only_a, arches_only_b; /* CG_ARCH_BIT masks */
	struct cg_closure_diff_call *calls;    /* sorted by name */
	size_t n_calls;
};

/* Compare @a and @b: default actions, architectures, and every call whose
 * rules (actions, argument conditions, arch masks, phases by name) differ. Returns 0 or
 * -ENOMEM. The result refers to names in @a and @b: free it first. */
CAPGATE_API int cg_closure_diff(const struct cg_closure *a, const struct cg_closure *b,
				struct cg_closure_diff **ret);
/* Whether the two closures enforce the same thing. */
CAPGATE_API bool cg_closure_diff_empty(const struct cg_closure_diff *d);
/* Free (NULL-safe). */
CAPGATE_API void cg_closure_diff_free(struct cg_closure_diff *d);
static inline void cg_closure_diff_freep(struct cg_closure_diff **d) { cg_closure_diff_free(*d); }

/* Append the canonical JSON of @c to @out: an OCI profile with capgate's
 * extra fields, one rule group per line. With @for_digest, counts and
 * origins are left out and the output is compact (the bytes the digest is
 * taken of). Returns 0 or -ENOMEM. */
CAPGATE_API int cg_closure_serialize(const struct cg_closure *c, bool for_digest,
				     struct cg_strbuf *out);
/* SHA-256 of the digest serialization, as "sha256:<64 hex>" into @ret.
 * Returns 0, -ENOMEM, or -ELIBACC when OpenSSL's libcrypto (loaded on first
 * use) cannot be loaded. */
CAPGATE_API int cg_closure_digest(const struct cg_closure *c, char ret[72]);

/* Numbers on @arch of the calls with a permitting rule that holds on @arch
 * in @phase (-1 = any), as a malloc'd sorted array without duplicates; calls
 * permitted only for some arguments are included, names @arch lacks are
 * left out, the default action is not looked at. Returns 0 or -ENOMEM. */
CAPGATE_API int cg_closure_arch_numbers(const struct cg_closure *c, enum cg_arch_id arch, int phase,
					uint32_t **ret_nrs, size_t *ret_n);

/* Drop capgate's fields, in place, leaving what a plain OCI profile holds:
 * phases, per-rule counts, comments and per-rule arches go (a rule then
 * holds on every arch of the closure); rules that become equal merge. */
CAPGATE_API void cg_closure_strip_extensions(struct cg_closure *c);

#endif
