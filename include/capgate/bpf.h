/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Classic BPF as seccomp uses it: a validator with the kernel's rules, an
 * emulator, a disassembler that names syscalls, and a re-implementation of
 * the kernel's constant-action cache predictor (kernel/seccomp.c,
 * seccomp_is_const_allow): which calls the kernel allows from its per-arch
 * bitmap without running the filter at all.
 */
#ifndef CAPGATE_BPF_H
#define CAPGATE_BPF_H

#include <capgate/common.h>
#include <capgate/error.h>
#include <capgate/strbuf.h>
#include <capgate/syscalls.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#define CG_BPF_MAXINSNS 4096

struct cg_bpf_prog {
	struct sock_filter *insns;
	size_t len;
};

/* Free the instruction array (NULL-safe); the struct itself is not freed. */
CAPGATE_API void cg_bpf_prog_release(struct cg_bpf_prog *p);

/* Check a program as the kernel's seccomp_check_filter()/bpf_check_classic()
 * would: 1..4096 insns, only opcodes seccomp accepts, aligned 32-bit loads
 * inside struct seccomp_data, jumps in range, scratch memory written before
 * read on every path, last insn a return. Error names the pc. */
CAPGATE_API int cg_bpf_validate(const struct sock_filter *insns, size_t len, struct cg_error *err);

/* One evaluation step, recorded when a trace is requested. */
struct cg_bpf_step {
	uint32_t pc;
	uint32_t a; /* accumulator after the insn */
	bool taken; /* for conditional jumps: condition true */
};

/* The steps of a run; start from { 0 }, and fill it only through
 * cg_bpf_run (it owns the allocation behind @steps). */
struct cg_bpf_trace {
	size_t n;
	struct cg_bpf_step *steps; /* malloc'd; free with cg_bpf_trace_release */
};
CAPGATE_API void cg_bpf_trace_release(struct cg_bpf_trace *t);

/* Run @insns on @data (kernel semantics: A/X/M[16], unsigned compares,
 * division by zero returns 0). *ret_action is the returned 32-bit value.
 * @trace may be NULL. Fails (-EINVAL) on invalid programs instead of
 * crashing: it is fed untrusted input by the fuzzer. */
CAPGATE_API int cg_bpf_run(const struct sock_filter *insns, size_t len,
			   const struct seccomp_data *data, struct cg_bpf_trace *trace,
			   uint32_t *ret_action, struct cg_error *err);

/* Append a listing of the program: one line per insn with pc, mnemonic,
 * operands, jump targets as absolute pcs, and comments that name
 * architectures (AUDIT_ARCH_*), syscalls (for JEQ after a nr load, using
 * the arch last compared, or @arch_hint if none) and actions. */
CAPGATE_API void cg_bpf_disasm(const struct sock_filter *insns, size_t len, int arch_hint,
			       struct cg_strbuf *out);

/* Append the listing lines (as cg_bpf_disasm writes them) of the
 * instructions @trace went through, in the order they ran, each after
 * @indent: the path one call took through the program. */
CAPGATE_API void cg_bpf_disasm_trace(const struct sock_filter *insns, size_t len,
				     const struct cg_bpf_trace *trace, int arch_hint, const char *indent,
				     struct cg_strbuf *out);

/* Name the action a filter return value asks for, as the disassembler
 * does: "ALLOW", "ERRNO(1)", "TRAP(0)", "KILL_PROCESS", ... Unknown actions
 * are said to act as KILL_PROCESS (the kernel's rule). Returns @buf. */
CAPGATE_API const char *cg_bpf_action_format(uint32_t ret, char *buf, size_t size);

/* The kernel's action-cache predictor: for every nr in [0, nr_count), set bit
 * nr of @ret_bitmap (nr_count bits, caller-zeroed) if the filter returns
 * SECCOMP_RET_ALLOW for (audit_arch, nr) using only the nr and arch fields,
 * exactly as seccomp_is_const_allow() decides. Returns how many bits it set
 * (0 for a program that fails cg_bpf_validate). Not modelled: recent
 * kernels also always allow uretprobe/uprobe on the native arch, ahead of
 * the filter; the kernel only caches nr below its own syscall count. */
CAPGATE_API size_t cg_bpf_cache_predict(const struct sock_filter *insns, size_t len,
					uint32_t audit_arch, uint32_t nr_count, uint8_t *ret_bitmap);

/* Does @buf look like a profile (JSON or YAML text) rather than a raw
 * program? Text without NUL bytes whose first non-blank character opens a
 * JSON object or a YAML document ('{', '-', "apiVersion", "kind"). */
CAPGATE_API bool cg_bpf_looks_like_profile(const void *buf, size_t len);

/* Raw program I/O: the kernel's struct sock_filter array, host byte order
 * (the format bwrap --seccomp and seccomp_export_bpf use). The program is
 * checked with cg_bpf_validate() before it is returned. */
CAPGATE_API int cg_bpf_read(const char *path, struct cg_bpf_prog *ret, struct cg_error *err);
CAPGATE_API int cg_bpf_parse(const void *buf, size_t len, struct cg_bpf_prog *ret, struct cg_error *err);

#endif
