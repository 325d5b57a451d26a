// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz the classic BPF toolkit with raw struct sock_filter arrays: parse,
 * validate, run, disassemble and predict the action cache, and check that
 * they agree with each other:
 *   - whatever parses validates, and runs to a return;
 *   - a run with a trace gives the action a run without one gives;
 *   - every (arch, nr) the cache predictor allows runs to ALLOW whatever
 *     the arguments and instruction pointer;
 *   - invalid programs are refused by the emulator, never run;
 *   - the listing has one line per insn;
 *   - the program stacked with a small filter, before it and after it, into
 *     one program (runtime/bpf_stack.h) answers as the kernel answers for
 *     the two filters loaded one after the other.
 * Inputs whose size is not a multiple of 8 also run truncated.
 */
#include <capgate/bpf.h>

#include <errno.h>
#include <linux/audit.h>
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "runtime/bpf_stack.h"

/* Values worth trying: the program's own constants hit its branches. */
static uint32_t pick(const struct sock_filter *insns, size_t len, size_t i)
{
	static const uint32_t fixed[] = { 0, 1, 59, AUDIT_ARCH_X86_64, AUDIT_ARCH_I386, 0xffffffff };

	if (i % 3 == 0 || len == 0)
		return fixed[(i / 3) % CG_ARRAY_SIZE(fixed)];
	return insns[(i * 7) % len].k;
}

static void check_runs(const struct sock_filter *insns, size_t len, bool valid)
{
	struct cg_bpf_trace trace = { 0 };
	struct cg_error err = { 0 };

	for (size_t round = 0; round < 4; round++) {
		struct seccomp_data d = { 0 };
		uint32_t act = 0, act2 = 0;
		size_t j = round * 11;
		int r;

		d.nr = (int)pick(insns, len, j++);
		d.arch = pick(insns, len, j++);
		d.instruction_pointer = (uint64_t)pick(insns, len, j) << 32 | pick(insns, len, j + 1);
		j += 2;
		for (int a = 0; a < 6; a++, j++)
			d.args[a] = (uint64_t)pick(insns, len, j) << (round & 1 ? 32 : 0) | pick(insns, len, j + 5);

		r = cg_bpf_run(insns, len, &d, round & 1 ? &trace : NULL, &act, &err);
		if (!valid) {
			if (r != -EINVAL)
				FAIL("emulator ran an invalid program (%d)", r);
			continue;
		}
		if (r != 0)
			FAIL("emulator refused a valid program: %s", err.msg);
		if (cg_bpf_run(insns, len, &d, &trace, &act2, &err) != 0 || act != act2)
			FAIL("traced run differs: 0x%x vs 0x%x", act, act2);
		if (trace.n == 0 || trace.n > len)
			FAIL("trace of %zu steps for %zu insns", trace.n, len);
		for (size_t s = 1; s < trace.n; s++)
			if (trace.steps[s].pc <= trace.steps[s - 1].pc)
				FAIL("trace goes backwards at step %zu", s);
	}
	cg_bpf_trace_release(&trace);
}

static void check_cache(const struct sock_filter *insns, size_t len)
{
	uint8_t bitmap[64];
	uint32_t arches[2] = { AUDIT_ARCH_X86_64, insns[0].k };
	uint32_t nr_count = len <= 256 ? 512 : 64;

	for (size_t i = 0; i < CG_ARRAY_SIZE(arches); i++) {
		size_t set;

		memset(bitmap, 0, sizeof(bitmap));
		set = cg_bpf_cache_predict(insns, len, arches[i], nr_count, bitmap);
		for (uint32_t nr = 0; nr < nr_count && set; nr++) {
			struct seccomp_data d = { .nr = (int)nr, .arch = arches[i] };
			uint32_t act = 0;

			if (!(bitmap[nr / 8] & (1u << (nr % 8))))
				continue;
			set--;
			/* Arguments the filter might look at if it were not constant. */
			d.instruction_pointer = 0xdeadbeefcafef00dull;
			for (int a = 0; a < 6; a++)
				d.args[a] = insns[(nr + (uint32_t)a) % len].k * 0x100000001ull;
			if (cg_bpf_run(insns, len, &d, NULL, &act, NULL) != 0 || act != SECCOMP_RET_ALLOW)
				FAIL("cache predicts ALLOW for nr %u arch 0x%x, program returns 0x%x", nr,
				     arches[i], act);
		}
	}
}

/* A small filter with several answers, on nr and an argument. */
static const struct sock_filter other[] = {
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 1),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 5),
	BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 59, 0, 1),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 16),
	BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 1, 0, 1),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_LOG),
};

static void check_stack(const struct sock_filter *insns, size_t len)
{
	struct cg_bpf_prog p = { (struct sock_filter *)insns, len }, o = { (struct sock_filter *)other, CG_ARRAY_SIZE(other) };
	struct cg_error err = { 0 };

	for (int order = 0; order < 2; order++) {
		const struct cg_bpf_prog *first = order ? &o : &p, *later = order ? &p : &o;
		struct cg_bpf_prog one = { 0 };
		int r = cg_bpf_stack(first, later, &one, &err);
		if (r == -EINVAL || r == -E2BIG || r == -ENOMEM)
			continue; /* returns A, or too large: the caller loads two filters */
		if (r != 0)
			FAIL("cg_bpf_stack: %d %s", r, err.msg);
		for (size_t i = 0; i < 8; i++) {
			struct seccomp_data d = { .nr = (int)pick(insns, len, i), .arch = pick(insns, len, i + 1) };
			uint32_t a = 0, b = 0, s = 0;
			for (int k = 0; k < 6; k++)
				d.args[k] = pick(insns, len, i + 2 + (size_t)k) ^ (i & 1);
			if (cg_bpf_run(first->insns, first->len, &d, NULL, &a, NULL) != 0 ||
			    cg_bpf_run(later->insns, later->len, &d, NULL, &b, NULL) != 0 ||
			    cg_bpf_run(one.insns, one.len, &d, NULL, &s, NULL) != 0)
				FAIL("a stacked program does not run");
			if (s != cg_bpf_stack_ret(a, b))
				FAIL("stacked program answers 0x%x, the two filters 0x%x and 0x%x", s, a, b);
		}
		cg_bpf_prog_release(&one);
	}
}

static void check_disasm(const struct sock_filter *insns, size_t len)
{
	struct cg_strbuf sb;
	size_t lines = 0;

	cg_strbuf_init(&sb);
	cg_bpf_disasm(insns, len, (int)(len % (CG_ARCH_COUNT + 1)) - 1, &sb);
	for (size_t i = 0; i < sb.len; i++)
		lines += sb.buf[i] == '\n';
	if (!sb.oom && lines != len)
		FAIL("listing has %zu lines for %zu insns", lines, len);
	cg_strbuf_release(&sb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cg_bpf_prog prog = { 0 };
	struct cg_error err = { 0 };
	size_t whole = size / sizeof(struct sock_filter) * sizeof(struct sock_filter);
	struct sock_filter *raw;
	size_t n = whole / sizeof(struct sock_filter);
	bool valid;
	int r;

	r = cg_bpf_parse(data, size, &prog, &err);
	if (r == 0) {
		if (cg_bpf_validate(prog.insns, prog.len, &err) != 0)
			FAIL("parsed program does not validate: %s", err.msg);
		if (size != prog.len * sizeof(struct sock_filter))
			FAIL("parse accepted %zu bytes as %zu insns", size, prog.len);
	} else if (r != -EINVAL || err.msg[0] == '\0') {
		FAIL("parse failed with %d \"%s\"", r, err.msg);
	}
	cg_bpf_prog_release(&prog);

	if (n == 0 || n > CG_BPF_MAXINSNS)
		return 0;
	/* Own, aligned copy: the raw (maybe invalid) array goes everywhere. */
	raw = malloc(whole);
	if (!raw)
		return 0;
	memcpy(raw, data, whole);
	valid = cg_bpf_validate(raw, n, &err) == 0;
	if (!valid && (err.code != -EINVAL || strncmp(err.msg, "insn ", 5) != 0))
		FAIL("validation error without a pc: \"%s\"", err.msg);
	check_runs(raw, n, valid);
	check_disasm(raw, n);
	if (valid) {
		check_cache(raw, n);
		check_stack(raw, n);
	} else if (cg_bpf_cache_predict(raw, n, AUDIT_ARCH_X86_64, 64, (uint8_t[8]){ 0 }) != 0)
		FAIL("cache predicted for an invalid program");
	free(raw);
	return 0;
}
