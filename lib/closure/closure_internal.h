/* SPDX-License-Identifier: Apache-2.0 */
/* Internal: closure semantics shared by the decision (closure.c), the
 * compiler (lib/runtime/compile.c) and the lint (lib/static/lint.c). */
#ifndef CAPGATE_CLOSURE_INTERNAL_H
#define CAPGATE_CLOSURE_INTERNAL_H

#include <capgate/closure.h>

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

#endif
