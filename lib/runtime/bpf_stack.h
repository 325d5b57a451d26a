/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal: two seccomp filters as one program. The kernel runs every filter
 * a process has loaded and keeps the answer with the lowest action (compared
 * as signed values: kill first, allow last), the filter loaded later on a
 * tie (kernel/seccomp.c, seccomp_run_filters). One program that answers
 * exactly that costs one load (a check, a JIT compilation and a run per
 * syscall number for the action cache) and one filter run per call, instead
 * of two of each.
 */
#ifndef CAPGATE_BPF_STACK_H
#define CAPGATE_BPF_STACK_H

#include <capgate/bpf.h>
#include <capgate/error.h>

/* The kernel's choice between the answers of a filter loaded first and one
 * loaded after it. */
uint32_t cg_bpf_stack_ret(uint32_t first, uint32_t later);

/* One program that answers what loading @first and then @later answers:
 * @first, each of its returns turned into a jump to a copy of @later whose
 * returns are cg_bpf_stack_ret(that return, theirs). -EINVAL if either
 * program is invalid, returns A (a value not known when folding), divides
 * by X (a division by 0 ends a program with 0, past any jump) or reads
 * scratch memory (the second would see the first's); -E2BIG
 * if the result would pass CG_BPF_MAXINSNS or @first has more than 8 distinct
 * returns; the caller then loads the two programs. */
int cg_bpf_stack(const struct cg_bpf_prog *first, const struct cg_bpf_prog *later, struct cg_bpf_prog *ret,
		 struct cg_error *err);

#endif
