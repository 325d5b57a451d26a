/* SPDX-License-Identifier: Apache-2.0 */
/*
 * closure -> seccomp-BPF program, through libseccomp (binary-tree
 * optimisation on) plus a capgate prologue, closing the known bypasses:
 *  - the architecture is checked first; calls from arches not in the closure
 *    get the bad-arch action (kill process);
 *  - x32 calls (nr | 0x40000000 under AUDIT_ARCH_X86_64) are denied unless
 *    x32 is in the closure;
 *  - numbers above the highest the profile names answer ENOSYS (as runc
 *    does) so libc falls back, when the default action is a denial;
 *  - argument conditions are compared at the argument's real width;
 *  - overlapping rules resolve by kernel precedence (see closure.h).
 */
#ifndef CAPGATE_COMPILE_H
#define CAPGATE_COMPILE_H

#include <capgate/bpf.h>
#include <capgate/closure.h>

struct cg_compile_opts {
	size_t sz;                  /* sizeof(struct cg_compile_opts) */
	int phase;                  /* phase index to compile, -1 = all phases */
	bool no_enosys_stub;        /* disable the "newer than known -> ENOSYS" prologue */
	bool no_optimize;           /* libseccomp's default linear layout (for comparison) */
	bool audit;                 /* turn every denial into SCMP_ACT_LOG */
	struct cg_action bad_arch;  /* action for foreign arches; default kill process */
	bool has_bad_arch;
};

/* Compile @c into a classic BPF program. */
CAPGATE_API int cg_compile(const struct cg_closure *c, const struct cg_compile_opts *opts,
			   struct cg_bpf_prog *ret, struct cg_error *err);

/* Flags for seccomp(SECCOMP_SET_MODE_FILTER) implied by the closure
 * (SECCOMP_FILTER_FLAG_*), plus NEW_LISTENER if any rule notifies. */
CAPGATE_API unsigned int cg_compile_seccomp_flags(const struct cg_closure *c);

/* Highest syscall number the closure names on @arch (-1 if none): above it
 * the prologue answers ENOSYS. */
CAPGATE_API int cg_compile_enosys_floor(const struct cg_closure *c, enum cg_arch_id arch);

/* The reference decision including the prologue's ENOSYS rule and the x32
 * and bad-arch handling: what the compiled program must return for a raw
 * (audit_arch, nr, args). The compiler tests hold cg_bpf_run() to this. */
CAPGATE_API uint32_t cg_compile_expect(const struct cg_closure *c, const struct cg_compile_opts *opts,
				       uint32_t audit_arch, uint32_t nr, const uint64_t args[6]);

/* One call through the compiled program, as `capgate sim` shows it. */
struct cg_compile_sim {
	uint32_t ret;               /* what the program returned */
	uint32_t expect;            /* what cg_compile_expect() says; differs only on a compiler bug */
	const struct cg_rule *rule; /* the rule of the closure that decides, NULL: none */
	struct cg_bpf_prog prog;    /* the program that ran */
	struct cg_bpf_trace trace;  /* the instructions it went through */
};

/* Compile @c with @opts (NULL: defaults), run (@arch, @nr, @args) through
 * the program in the emulator, and say what decided it. Release the result
 * with cg_compile_sim_release(). */
CAPGATE_API int cg_compile_sim(const struct cg_closure *c, const struct cg_compile_opts *opts,
			       enum cg_arch_id arch, uint32_t nr, const uint64_t args[6],
			       struct cg_compile_sim *ret, struct cg_error *err);
/* Free the program and the trace (NULL is fine); the struct itself is not freed. */
CAPGATE_API void cg_compile_sim_release(struct cg_compile_sim *s);

#endif
