/* SPDX-License-Identifier: Apache-2.0 */
/* Internal: closure semantics shared by the decision (closure.c), the
 * compiler (lib/runtime/compile.c) and the lint (lib/static/lint.c), and
 * the names of the OCI format's enums for the profile reader and writer. */
#ifndef CAPGATE_CLOSURE_INTERNAL_H
#define CAPGATE_CLOSURE_INTERNAL_H

#include <capgate/closure.h>

/* Width in bits of argument @idx of @name as the kernel reads it on a 64-bit
 * architecture: 32 for int-sized arguments, 16 for umode_t, 64 otherwise
 * (also for calls not in the table and for @idx >= 6). On 32-bit
 * architectures every argument is 32: the caller applies that.
 * (lib/closure/syscalls.c) */
unsigned cg_syscall_arg_bits(const char *name, unsigned idx);

/* Does condition @k of a rule for @name hold for the call's @args on
 * @arch, compared at the argument's real width (cg_closure_decide's own
 * test, for explaining why a rule did not match)? */
bool cg_arg_cond_holds(const struct cg_arg_cond *k, enum cg_arch_id arch, const char *name, const uint64_t args[6]);

/* OCI name of @op ("SCMP_CMP_EQ"), "?" if out of range. */
const char *cg_op_name(enum cg_cmp_op op);
/* Parse an OCI operator name; -1 if unknown. */
int cg_op_parse(const char *s);

/* Append @k for people: "arg1 == 0x2", "arg2 & 0x3 == 0x1". */
struct cg_strbuf;
void cg_arg_cond_describe(struct cg_strbuf *out, const struct cg_arg_cond *k);

/* Write @n argument conditions as the OCI "args" member (nothing if @n is
 * 0): the closure and the profile writer share it. */
struct cg_json;
void cg_closure_write_args(struct cg_json *j, const struct cg_arg_cond *args, size_t n);

/* Errno name <-> number ("EPERM" <-> 1), for profiles and messages:
 * NULL for a number without a name, -1 for an unknown name. */
const char *cg_errno_name(uint32_t e);
int cg_errno_parse(const char *s);

/* Flag name ("SECCOMP_FILTER_FLAG_TSYNC") -> enum cg_closure_flag, -1 if
 * unknown; and back, NULL unless @f is a single known flag. */
int cg_flag_parse(const char *s);
const char *cg_flag_name(enum cg_closure_flag f);

/* Is rule @r in scope: does it apply to at least one architecture of
 * @arch_mask (CG_ARCH_BIT()s; a rule with arch_mask 0 applies to every
 * arch) during phase @phase (-1: any phase; a rule with phases 0 applies in
 * every phase)? Pass CG_ARCH_BIT(arch) and a phase to ask about one call;
 * the lint passes the closure's arch_mask and -1 to ask whether the rule can
 * ever decide. Inline: cg_closure_decide runs it for every rule it reads. */
static inline bool cg_rule_in_scope(const struct cg_rule *r, uint32_t arch_mask, int phase)
{
	if (r->arch_mask && !(r->arch_mask & arch_mask))
		return false;
	if (phase >= 0 && r->phases && !(r->phases & (1u << phase)))
		return false;
	return true;
}

/* Make room for at least @n rules in @c (exactly @n if it grows): 0 or
 * -ENOMEM. Readers that know how many rules they add call it first, so the
 * rule array is allocated once (closure.c). */
int cg_closure_reserve(struct cg_closure *c, size_t n);

/* cg_closure_dup with room for @extra more rules, allocated at once. */
struct cg_closure *cg_closure_dup_reserve(const struct cg_closure *c, size_t extra);

#endif
