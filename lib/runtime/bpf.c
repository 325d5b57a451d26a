// SPDX-License-Identifier: Apache-2.0
/*
 * Classic BPF for seccomp: validator, emulator, disassembler, action-cache
 * predictor and raw program I/O.
 *
 * The validator follows the kernel in the order it checks a filter:
 * bpf_check_basics_ok() (length), bpf_check_classic() (opcodes, division
 * and shift constants, scratch indices, jump ranges, final return,
 * check_load_and_stores()) and seccomp_check_filter() (the seccomp opcode
 * subset and seccomp_data loads). A single pass per insn covers the first
 * two opcode tables, so for a program with several faults the message names
 * the first faulty insn; the kernel only ever says EINVAL.
 */
#include <capgate/bpf.h>

#include "runtime/bpf_stack.h"

#include <ctype.h>
#include <stdlib.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define SECCOMP_DATA_SIZE ((uint32_t)sizeof(struct seccomp_data))
#define OFF_NR ((uint32_t)offsetof(struct seccomp_data, nr))
#define OFF_ARCH ((uint32_t)offsetof(struct seccomp_data, arch))
#define OFF_IP ((uint32_t)offsetof(struct seccomp_data, instruction_pointer))
#define OFF_ARGS ((uint32_t)offsetof(struct seccomp_data, args))
#define MAX_ERRNO 4095u

void cg_bpf_prog_release(struct cg_bpf_prog *p)
{
	if (!p)
		return;
	free(p->insns);
	p->insns = NULL;
	p->len = 0;
}

void cg_bpf_trace_release(struct cg_bpf_trace *t)
{
	if (!t)
		return;
	free(t->steps);
	t->steps = NULL;
	t->n = 0;
}

static bool is_cond_jump(uint16_t code)
{
	switch (code) {
	case BPF_JMP | BPF_JEQ | BPF_K:
	case BPF_JMP | BPF_JEQ | BPF_X:
	case BPF_JMP | BPF_JGE | BPF_K:
	case BPF_JMP | BPF_JGE | BPF_X:
	case BPF_JMP | BPF_JGT | BPF_K:
	case BPF_JMP | BPF_JGT | BPF_X:
	case BPF_JMP | BPF_JSET | BPF_K:
	case BPF_JMP | BPF_JSET | BPF_X:
		return true;
	}
	return false;
}

/*
 * Opcodes bpf_check_classic() knows but seccomp_check_filter() refuses,
 * named for the error message. NULL: not a classic BPF opcode at all.
 */
static const char *classic_only_name(uint16_t code)
{
	switch (code) {
	case BPF_LD | BPF_H | BPF_ABS:
		return "16-bit absolute load";
	case BPF_LD | BPF_B | BPF_ABS:
		return "8-bit absolute load";
	case BPF_LD | BPF_W | BPF_IND:
	case BPF_LD | BPF_H | BPF_IND:
	case BPF_LD | BPF_B | BPF_IND:
		return "indirect load";
	case BPF_LDX | BPF_B | BPF_MSH:
		return "ldx msh load";
	case BPF_ALU | BPF_MOD | BPF_K:
	case BPF_ALU | BPF_MOD | BPF_X:
		return "mod";
	}
	return NULL;
}

/* The kernel's check_load_and_stores(): every M[k] read must follow a write
 * on all paths. Needs a program whose insns and jumps are already checked. */
static int check_scratch(const struct sock_filter *insns, size_t len, struct cg_error *err)
{
	uint16_t masks[CG_BPF_MAXINSNS];
	uint16_t memvalid = 0;

	memset(masks, 0xff, len * sizeof(masks[0]));
	for (size_t pc = 0; pc < len; pc++) {
		const struct sock_filter *f = &insns[pc];

		memvalid &= masks[pc];
		switch (f->code) {
		case BPF_ST:
		case BPF_STX:
			memvalid |= (uint16_t)(1u << f->k);
			break;
		case BPF_LD | BPF_MEM:
		case BPF_LDX | BPF_MEM:
			if (!(memvalid & (1u << f->k)))
				return cg_error_set(err, -EINVAL,
						    "insn %zu: reads M[%u] before it is written on every path",
						    pc, f->k);
			break;
		case BPF_JMP | BPF_JA:
			masks[pc + 1 + f->k] &= memvalid;
			memvalid = 0xffff;
			break;
		default:
			if (is_cond_jump(f->code)) {
				masks[pc + 1 + f->jt] &= memvalid;
				masks[pc + 1 + f->jf] &= memvalid;
				memvalid = 0xffff;
			}
			break;
		}
	}
	return 0;
}

static int check_insn(const struct sock_filter *f, size_t pc, size_t len, struct cg_error *err)
{
	const char *what;

	if (is_cond_jump(f->code)) {
		if (pc + f->jt + 1 >= len || pc + f->jf + 1 >= len)
			return cg_error_set(err, -EINVAL,
					    "insn %zu: jump out of range (targets %zu/%zu, program has %zu insns)",
					    pc, pc + 1 + f->jt, pc + 1 + f->jf, len);
		return 0;
	}
	switch (f->code) {
	case BPF_LD | BPF_W | BPF_ABS:
		if (f->k >= SECCOMP_DATA_SIZE)
			return cg_error_set(err, -EINVAL,
					    "insn %zu: load offset %u outside struct seccomp_data (%u bytes)",
					    pc, f->k, SECCOMP_DATA_SIZE);
		if (f->k & 3)
			return cg_error_set(err, -EINVAL, "insn %zu: load offset %u not 4-byte aligned",
					    pc, f->k);
		return 0;
	case BPF_ALU | BPF_DIV | BPF_K:
		if (f->k == 0)
			return cg_error_set(err, -EINVAL, "insn %zu: division by constant zero", pc);
		return 0;
	case BPF_ALU | BPF_LSH | BPF_K:
	case BPF_ALU | BPF_RSH | BPF_K:
		if (f->k >= 32)
			return cg_error_set(err, -EINVAL, "insn %zu: shift by %u (must be below 32)", pc,
					    f->k);
		return 0;
	case BPF_LD | BPF_MEM:
	case BPF_LDX | BPF_MEM:
	case BPF_ST:
	case BPF_STX:
		if (f->k >= BPF_MEMWORDS)
			return cg_error_set(err, -EINVAL,
					    "insn %zu: scratch memory index %u out of range (0..%d)", pc,
					    f->k, BPF_MEMWORDS - 1);
		return 0;
	case BPF_JMP | BPF_JA:
		if (f->k >= len - pc - 1)
			return cg_error_set(err, -EINVAL,
					    "insn %zu: jump out of range (ja +%u, program has %zu insns)",
					    pc, f->k, len);
		return 0;
	case BPF_LD | BPF_W | BPF_LEN:
	case BPF_LDX | BPF_W | BPF_LEN:
	case BPF_LD | BPF_IMM:
	case BPF_LDX | BPF_IMM:
	case BPF_RET | BPF_K:
	case BPF_RET | BPF_A:
	case BPF_ALU | BPF_ADD | BPF_K:
	case BPF_ALU | BPF_ADD | BPF_X:
	case BPF_ALU | BPF_SUB | BPF_K:
	case BPF_ALU | BPF_SUB | BPF_X:
	case BPF_ALU | BPF_MUL | BPF_K:
	case BPF_ALU | BPF_MUL | BPF_X:
	case BPF_ALU | BPF_DIV | BPF_X:
	case BPF_ALU | BPF_AND | BPF_K:
	case BPF_ALU | BPF_AND | BPF_X:
	case BPF_ALU | BPF_OR | BPF_K:
	case BPF_ALU | BPF_OR | BPF_X:
	case BPF_ALU | BPF_XOR | BPF_K:
	case BPF_ALU | BPF_XOR | BPF_X:
	case BPF_ALU | BPF_LSH | BPF_X:
	case BPF_ALU | BPF_RSH | BPF_X:
	case BPF_ALU | BPF_NEG:
	case BPF_MISC | BPF_TAX:
	case BPF_MISC | BPF_TXA:
		return 0;
	}
	what = classic_only_name(f->code);
	if (what)
		return cg_error_set(err, -EINVAL, "insn %zu: %s (opcode 0x%02x) not allowed in seccomp filters",
				    pc, what, f->code);
	return cg_error_set(err, -EINVAL, "insn %zu: unknown opcode 0x%04x", pc, f->code);
}

int cg_bpf_validate(const struct sock_filter *insns, size_t len, struct cg_error *err)
{
	int r;

	if (!insns || len == 0)
		return cg_error_set(err, -EINVAL, "empty program");
	if (len > CG_BPF_MAXINSNS)
		return cg_error_set(err, -EINVAL, "program has %zu insns, more than %d", len,
				    CG_BPF_MAXINSNS);
	for (size_t pc = 0; pc < len; pc++) {
		r = check_insn(&insns[pc], pc, len, err);
		if (r < 0)
			return r;
	}
	if (insns[len - 1].code != (BPF_RET | BPF_K) && insns[len - 1].code != (BPF_RET | BPF_A))
		return cg_error_set(err, -EINVAL, "insn %zu: last insn is not a return", len - 1);
	return check_scratch(insns, len, err);
}

static int trace_add(struct cg_bpf_trace *t, uint32_t pc, uint32_t a, bool taken,
		     struct cg_error *err)
{
	if (!t)
		return 0;
	/* the room behind steps follows from n (32, then doubled): full when
	 * n is 0 or a power of two from 32 on */
	if (t->n == 0 || (t->n >= 32 && (t->n & (t->n - 1)) == 0)) {
		size_t ncap = t->n ? t->n * 2 : 32;
		struct cg_bpf_step *n = realloc(t->steps, ncap * sizeof(*n));

		if (!n)
			return cg_error_set(err, -ENOMEM, "out of memory recording the trace");
		t->steps = n;
	}
	t->steps[t->n++] = (struct cg_bpf_step){ .pc = pc, .a = a, .taken = taken };
	return 0;
}

static bool jump_cond(uint16_t code, uint32_t a, uint32_t v)
{
	switch (BPF_OP(code)) {
	case BPF_JEQ:
		return a == v;
	case BPF_JGT:
		return a > v;
	case BPF_JGE:
		return a >= v;
	default: /* BPF_JSET */
		return (a & v) != 0;
	}
}

int cg_bpf_run(const struct sock_filter *insns, size_t len, const struct seccomp_data *data,
	       struct cg_bpf_trace *trace, uint32_t *ret_action, struct cg_error *err)
{
	uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = { 0 };
	int r;

	r = cg_bpf_validate(insns, len, err);
	if (r < 0)
		return r;
	if (!data || !ret_action)
		return cg_error_set(err, -EINVAL, "no seccomp data to run on or no place for the result");
	if (trace)
		trace->n = 0;

	/* Jumps only go forward and stay inside, so this ends within len steps. */
	for (size_t pc = 0; pc < len; pc++) {
		const struct sock_filter *f = &insns[pc];
		uint32_t v = BPF_SRC(f->code) == BPF_X ? x : f->k;
		bool taken = false;

		switch (f->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			memcpy(&a, (const char *)data + f->k, sizeof(a));
			break;
		case BPF_LD | BPF_W | BPF_LEN:
			a = SECCOMP_DATA_SIZE;
			break;
		case BPF_LDX | BPF_W | BPF_LEN:
			x = SECCOMP_DATA_SIZE;
			break;
		case BPF_LD | BPF_IMM:
			a = f->k;
			break;
		case BPF_LDX | BPF_IMM:
			x = f->k;
			break;
		case BPF_LD | BPF_MEM:
			a = mem[f->k];
			break;
		case BPF_LDX | BPF_MEM:
			x = mem[f->k];
			break;
		case BPF_ST:
			mem[f->k] = a;
			break;
		case BPF_STX:
			mem[f->k] = x;
			break;
		case BPF_MISC | BPF_TAX:
			x = a;
			break;
		case BPF_MISC | BPF_TXA:
			a = x;
			break;
		case BPF_ALU | BPF_ADD | BPF_K:
		case BPF_ALU | BPF_ADD | BPF_X:
			a += v;
			break;
		case BPF_ALU | BPF_SUB | BPF_K:
		case BPF_ALU | BPF_SUB | BPF_X:
			a -= v;
			break;
		case BPF_ALU | BPF_MUL | BPF_K:
		case BPF_ALU | BPF_MUL | BPF_X:
			a *= v;
			break;
		case BPF_ALU | BPF_DIV | BPF_K:
		case BPF_ALU | BPF_DIV | BPF_X:
			if (v == 0) {
				/* The kernel's conversion returns 0 from the program. */
				r = trace_add(trace, (uint32_t)pc, 0, false, err);
				if (r < 0)
					return r;
				*ret_action = 0;
				return 0;
			}
			a /= v;
			break;
		case BPF_ALU | BPF_AND | BPF_K:
		case BPF_ALU | BPF_AND | BPF_X:
			a &= v;
			break;
		case BPF_ALU | BPF_OR | BPF_K:
		case BPF_ALU | BPF_OR | BPF_X:
			a |= v;
			break;
		case BPF_ALU | BPF_XOR | BPF_K:
		case BPF_ALU | BPF_XOR | BPF_X:
			a ^= v;
			break;
		case BPF_ALU | BPF_LSH | BPF_K:
		case BPF_ALU | BPF_LSH | BPF_X:
			/* Constants are checked < 32; the kernel masks X the same way. */
			a <<= (v & 31);
			break;
		case BPF_ALU | BPF_RSH | BPF_K:
		case BPF_ALU | BPF_RSH | BPF_X:
			a >>= (v & 31);
			break;
		case BPF_ALU | BPF_NEG:
			a = 0u - a;
			break;
		case BPF_JMP | BPF_JA:
			r = trace_add(trace, (uint32_t)pc, a, true, err);
			if (r < 0)
				return r;
			pc += f->k;
			continue;
		case BPF_RET | BPF_K:
		case BPF_RET | BPF_A:
			r = trace_add(trace, (uint32_t)pc, a, false, err);
			if (r < 0)
				return r;
			*ret_action = f->code == (BPF_RET | BPF_K) ? f->k : a;
			return 0;
		default: /* conditional jumps: validation left nothing else */
			taken = jump_cond(f->code, a, v);
			r = trace_add(trace, (uint32_t)pc, a, taken, err);
			if (r < 0)
				return r;
			pc += taken ? f->jt : f->jf;
			continue;
		}
		r = trace_add(trace, (uint32_t)pc, a, false, err);
		if (r < 0)
			return r;
	}
	/* Unreachable for a validated program: the last insn is a return. */
	return cg_error_set(err, -EINVAL, "program ran off its end");
}

/* ---- disassembler ---------------------------------------------------- */

/* Architecture whose seccomp_data.arch is @audit; x86_64 wins over x32. */
static int arch_from_audit(uint32_t audit)
{
	for (int i = 0; i < CG_ARCH_COUNT; i++) {
		const struct cg_arch_info *ai = cg_arch_info((enum cg_arch_id)i);

		if (ai && ai->audit == audit)
			return i;
	}
	return -1;
}

/* "AUDIT_ARCH_X86_64" for an arch id (x86 is AUDIT_ARCH_I386). */
static void audit_arch_macro(int arch, char *buf, size_t size)
{
	const struct cg_arch_info *ai = cg_arch_info((enum cg_arch_id)arch);
	const char *name = arch == CG_ARCH_X86 ? "i386" : ai->name;
	size_t n = (size_t)snprintf(buf, size, "AUDIT_ARCH_%s", name);

	for (size_t i = strlen("AUDIT_ARCH_"); i < n && i < size; i++)
		buf[i] = (char)toupper((unsigned char)buf[i]);
}

const char *cg_bpf_action_format(uint32_t ret, char *buf, size_t size)
{
	uint32_t action = ret & SECCOMP_RET_ACTION_FULL, data = ret & SECCOMP_RET_DATA;

	switch (action) {
	case SECCOMP_RET_KILL_PROCESS:
		snprintf(buf, size, "KILL_PROCESS");
		break;
	case SECCOMP_RET_KILL_THREAD:
		snprintf(buf, size, "KILL_THREAD");
		break;
	case SECCOMP_RET_TRAP:
		snprintf(buf, size, "TRAP(%u)", data);
		break;
	case SECCOMP_RET_ERRNO:
		if (data > MAX_ERRNO)
			snprintf(buf, size, "ERRNO(%u, capped to %u)", data, MAX_ERRNO);
		else
			snprintf(buf, size, "ERRNO(%u)", data);
		break;
	case SECCOMP_RET_USER_NOTIF:
		snprintf(buf, size, "USER_NOTIF");
		break;
	case SECCOMP_RET_TRACE:
		snprintf(buf, size, "TRACE(%u)", data);
		break;
	case SECCOMP_RET_LOG:
		snprintf(buf, size, "LOG");
		break;
	case SECCOMP_RET_ALLOW:
		snprintf(buf, size, "ALLOW");
		break;
	default:
		snprintf(buf, size, "unknown action, acts as KILL_PROCESS");
		break;
	}
	return buf;
}

/* Name of the 32-bit word at @off of struct seccomp_data, host byte order. */
static void field_name(uint32_t off, char *buf, size_t size)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const char *halves[2] = { "lo", "hi" };
#else
	const char *halves[2] = { "hi", "lo" };
#endif
	if (off == OFF_NR)
		snprintf(buf, size, "nr");
	else if (off == OFF_ARCH)
		snprintf(buf, size, "arch");
	else if (off == OFF_IP || off == OFF_IP + 4)
		snprintf(buf, size, "instruction_pointer %s", halves[(off - OFF_IP) / 4]);
	else if (off >= OFF_ARGS && off < SECCOMP_DATA_SIZE && !(off & 3))
		snprintf(buf, size, "args[%u] %s", (off - OFF_ARGS) / 8,
			 halves[(off - OFF_ARGS) / 4 % 2]);
	else
		buf[0] = '\0';
}

/* What A is known to hold, for comments; forward-only jumps make one pass
 * over the insns enough to merge every predecessor. */
enum a_src { A_OTHER,
	     A_NR,
	     A_ARCH };
struct dis_state {
	uint8_t reached;
	uint8_t a;    /* enum a_src */
	int16_t arch; /* arch id last matched by jeq on arch, -1 unknown */
};

static void dis_merge(struct dis_state *st, size_t len, size_t to, uint8_t a, int16_t arch)
{
	struct dis_state *s;

	if (to >= len)
		return;
	s = &st[to];
	if (!s->reached) {
		s->reached = 1;
		s->a = a;
		s->arch = arch;
		return;
	}
	if (s->a != a)
		s->a = A_OTHER;
	if (s->arch != arch)
		s->arch = -1;
}

static void fmt_k(uint32_t k, char *buf, size_t size)
{
	if (k < 10000)
		snprintf(buf, size, "#%u", k);
	else
		snprintf(buf, size, "#0x%x", k);
}

static const char *syscall_name_for(uint32_t k, int arch)
{
	if (arch < 0)
		return NULL;
	if ((arch == CG_ARCH_X86_64 || arch == CG_ARCH_X32) && k >= CG_X32_SYSCALL_BIT)
		arch = CG_ARCH_X32;
	return cg_syscall_name((enum cg_arch_id)arch, k);
}

static void dis_one(const struct sock_filter *f, size_t pc, const struct dis_state *in,
		    int arch_hint, int width, struct cg_strbuf *out)
{
	static const char *const alu_names[16] = {
		[BPF_ADD >> 4] = "add",
		[BPF_SUB >> 4] = "sub",
		[BPF_MUL >> 4] = "mul",
		[BPF_DIV >> 4] = "div",
		[BPF_OR >> 4] = "or",
		[BPF_AND >> 4] = "and",
		[BPF_LSH >> 4] = "lsh",
		[BPF_RSH >> 4] = "rsh",
		[BPF_NEG >> 4] = "neg",
		[BPF_MOD >> 4] = "mod",
		[BPF_XOR >> 4] = "xor",
	};
	static const char *const jmp_names[16] = {
		[BPF_JA >> 4] = "ja",
		[BPF_JEQ >> 4] = "jeq",
		[BPF_JGT >> 4] = "jgt",
		[BPF_JGE >> 4] = "jge",
		[BPF_JSET >> 4] = "jset",
	};
	char mn[8] = "", ops[80] = "", text[112], comment[96] = "", kbuf[24];
	int arch = in->arch >= 0 ? in->arch : arch_hint;
	uint16_t code = f->code, op = BPF_OP(code);
	bool ok = true;
	const char *name;

	fmt_k(f->k, kbuf, sizeof(kbuf));
	switch (BPF_CLASS(code)) {
	case BPF_LD:
	case BPF_LDX: {
		bool ldx = BPF_CLASS(code) == BPF_LDX;
		uint16_t size = BPF_SIZE(code);

		snprintf(mn, sizeof(mn), "%s%s", ldx ? "ldx" : "ld",
			 size == BPF_H ? "h" : size == BPF_B ? "b"
							     : "");
		ok = size != 0x18;
		switch (BPF_MODE(code)) {
		case BPF_IMM:
			snprintf(ops, sizeof(ops), "%s", kbuf);
			break;
		case BPF_ABS:
			snprintf(ops, sizeof(ops), "[%u]", f->k);
			if (size == BPF_W && !ldx)
				field_name(f->k, comment, sizeof(comment));
			break;
		case BPF_IND:
			snprintf(ops, sizeof(ops), "[x+%u]", f->k);
			break;
		case BPF_MEM:
			snprintf(ops, sizeof(ops), "M[%u]", f->k);
			break;
		case BPF_LEN:
			snprintf(ops, sizeof(ops), "#len");
			snprintf(comment, sizeof(comment), "sizeof(struct seccomp_data) = %u",
				 SECCOMP_DATA_SIZE);
			break;
		case BPF_MSH:
			snprintf(ops, sizeof(ops), "4*([%u]&0xf)", f->k);
			break;
		default:
			ok = false;
			break;
		}
		break;
	}
	case BPF_ST:
	case BPF_STX:
		snprintf(mn, sizeof(mn), "%s", BPF_CLASS(code) == BPF_ST ? "st" : "stx");
		snprintf(ops, sizeof(ops), "M[%u]", f->k);
		ok = !(code & ~0x07);
		break;
	case BPF_ALU:
		ok = alu_names[op >> 4] != NULL;
		if (!ok)
			break;
		snprintf(mn, sizeof(mn), "%s", alu_names[op >> 4]);
		if (op != BPF_NEG)
			snprintf(ops, sizeof(ops), "%s", BPF_SRC(code) == BPF_X ? "x" : kbuf);
		break;
	case BPF_JMP:
		ok = jmp_names[op >> 4] != NULL;
		if (!ok)
			break;
		snprintf(mn, sizeof(mn), "%s", jmp_names[op >> 4]);
		if (op == BPF_JA) {
			snprintf(ops, sizeof(ops), "%zu", pc + 1 + (size_t)f->k);
			break;
		}
		snprintf(ops, sizeof(ops), "%s, %zu, %zu", BPF_SRC(code) == BPF_X ? "x" : kbuf,
			 pc + 1 + f->jt, pc + 1 + f->jf);
		if (BPF_SRC(code) == BPF_X)
			break;
		if (in->a == A_ARCH && op == BPF_JEQ) {
			int id = arch_from_audit(f->k);

			if (id >= 0)
				audit_arch_macro(id, comment, sizeof(comment));
		} else if (in->a == A_NR && (arch == CG_ARCH_X86_64 || arch == CG_ARCH_X32) &&
			   (op == BPF_JGE || op == BPF_JSET) && f->k == CG_X32_SYSCALL_BIT) {
			snprintf(comment, sizeof(comment), "X32_SYSCALL_BIT");
		} else if (in->a == A_NR && op != BPF_JSET) {
			name = syscall_name_for(f->k, arch);
			if (name)
				snprintf(comment, sizeof(comment), "%s", name);
		}
		break;
	case BPF_RET:
		snprintf(mn, sizeof(mn), "ret");
		if (code == (BPF_RET | BPF_K)) {
			snprintf(ops, sizeof(ops), "#0x%x", f->k);
			cg_bpf_action_format(f->k, comment, sizeof(comment));
		} else if (code == (BPF_RET | BPF_A)) {
			snprintf(ops, sizeof(ops), "a");
		} else {
			ok = false;
		}
		break;
	case BPF_MISC:
		if (code == (BPF_MISC | BPF_TAX))
			snprintf(mn, sizeof(mn), "tax");
		else if (code == (BPF_MISC | BPF_TXA))
			snprintf(mn, sizeof(mn), "txa");
		else
			ok = false;
		break;
	}
	if (!ok) {
		snprintf(text, sizeof(text), ".insn 0x%04x, %u, %u, 0x%x", code, f->jt, f->jf, f->k);
		comment[0] = '\0';
	} else if (ops[0]) {
		snprintf(text, sizeof(text), "%-3s %s", mn, ops);
	} else {
		snprintf(text, sizeof(text), "%s", mn);
	}
	if (comment[0])
		cg_strbuf_addf(out, "%*zu: %-24s ; %s\n", width, pc, text, comment);
	else
		cg_strbuf_addf(out, "%*zu: %s\n", width, pc, text);
}

void cg_bpf_disasm(const struct sock_filter *insns, size_t len, int arch_hint, struct cg_strbuf *out)
{
	struct dis_state *st;
	int width = 3;

	if (!insns || !out || len == 0)
		return;
	if (arch_hint < 0 || arch_hint >= CG_ARCH_COUNT)
		arch_hint = -1;
	for (size_t n = len - 1; n >= 1000; n /= 10)
		width++;
	st = calloc(len, sizeof(*st));
	if (!st) {
		out->oom = true;
		return;
	}
	st[0] = (struct dis_state){ .reached = 1, .a = A_OTHER, .arch = -1 };
	for (size_t pc = 0; pc < len; pc++) {
		const struct sock_filter *f = &insns[pc];
		struct dis_state in = st[pc];

		/* Code no path reaches (only after a return) knows nothing. */
		if (!in.reached)
			in = (struct dis_state){ .a = A_OTHER, .arch = -1 };
		dis_one(f, pc, &in, arch_hint, width, out);

		if (f->code == (BPF_LD | BPF_W | BPF_ABS))
			in.a = f->k == OFF_NR ? A_NR : f->k == OFF_ARCH ? A_ARCH
									: A_OTHER;
		else if (BPF_CLASS(f->code) == BPF_LD || BPF_CLASS(f->code) == BPF_ALU ||
			 f->code == (BPF_MISC | BPF_TXA))
			in.a = A_OTHER;

		if (BPF_CLASS(f->code) == BPF_RET) {
			continue;
		} else if (f->code == (BPF_JMP | BPF_JA)) {
			dis_merge(st, len, pc + 1 + (size_t)f->k, in.a, in.arch);
		} else if (is_cond_jump(f->code)) {
			int16_t arch_t = in.arch;

			/* Only the true edge of "jeq #AUDIT_ARCH_*" knows the arch. */
			if (in.a == A_ARCH && f->code == (BPF_JMP | BPF_JEQ | BPF_K))
				arch_t = (int16_t)arch_from_audit(f->k);
			dis_merge(st, len, pc + 1 + f->jt, in.a, arch_t);
			dis_merge(st, len, pc + 1 + f->jf, in.a, in.arch);
		} else {
			dis_merge(st, len, pc + 1, in.a, in.arch);
		}
	}
	free(st);
}

void cg_bpf_disasm_trace(const struct sock_filter *insns, size_t len, const struct cg_bpf_trace *trace,
			 int arch_hint, const char *indent, struct cg_strbuf *out)
{
	struct cg_strbuf l;
	const char **lines;
	size_t n_lines = 0;

	cg_strbuf_init(&l);
	cg_bpf_disasm(insns, len, arch_hint, &l);
	/* the listing has one line per instruction: keep the executed ones */
	lines = calloc(len + 1, sizeof(*lines));
	if (!lines)
		out->oom = true;
	for (char *p = l.buf; lines && p && *p && n_lines < len; n_lines++) {
		lines[n_lines] = p;
		p = strchr(p, '\n');
		if (p)
			*p++ = '\0';
	}
	for (size_t s = 0; lines && s < trace->n; s++)
		if (trace->steps[s].pc < n_lines)
			cg_strbuf_addf(out, "%s%s\n", indent, lines[trace->steps[s].pc]);
	free(lines);
	cg_strbuf_release(&l);
}

/* ---- action cache predictor ------------------------------------------ */

/* seccomp_is_const_allow() from kernel/seccomp.c (Linux >= 5.11), minus the
 * uprobe/uretprobe exception newer kernels add in front of it. */
static bool is_const_allow(const struct sock_filter *insns, size_t len, uint32_t nr, uint32_t arch)
{
	uint32_t reg = 0;

	for (size_t pc = 0; pc < len; pc++) {
		const struct sock_filter *f = &insns[pc];
		bool res;

		switch (f->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			if (f->k == OFF_NR)
				reg = nr;
			else if (f->k == OFF_ARCH)
				reg = arch;
			else
				return false;
			break;
		case BPF_RET | BPF_K:
			return f->k == SECCOMP_RET_ALLOW;
		case BPF_JMP | BPF_JA:
			pc += f->k;
			break;
		case BPF_JMP | BPF_JEQ | BPF_K:
		case BPF_JMP | BPF_JGE | BPF_K:
		case BPF_JMP | BPF_JGT | BPF_K:
		case BPF_JMP | BPF_JSET | BPF_K:
			res = jump_cond(f->code, reg, f->k);
			pc += res ? f->jt : f->jf;
			break;
		case BPF_ALU | BPF_AND | BPF_K:
			reg &= f->k;
			break;
		default:
			return false;
		}
	}
	return false;
}

size_t cg_bpf_cache_predict(const struct sock_filter *insns, size_t len, uint32_t audit_arch,
			    uint32_t nr_count, uint8_t *ret_bitmap)
{
	size_t set = 0;

	/* The kernel only ever sees programs that passed its checks. */
	if (!ret_bitmap || cg_bpf_validate(insns, len, NULL) < 0)
		return 0;
	for (uint32_t nr = 0; nr < nr_count; nr++) {
		if (is_const_allow(insns, len, nr, audit_arch)) {
			ret_bitmap[nr / 8] |= (uint8_t)(1u << (nr % 8));
			set++;
		}
	}
	return set;
}

/* ---- raw program I/O ------------------------------------------------- */

bool cg_bpf_looks_like_profile(const void *buf, size_t len)
{
	const char *b = buf;
	size_t i = 0;

	if (!len || memchr(b, '\0', len))
		return false;
	while (i < len && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r'))
		i++;
	/* JSON "{", a YAML document "---" or list "-", "apiVersion:", "kind:" */
	return i < len && (b[i] == '{' || b[i] == '-' || b[i] == 'a' || b[i] == 'k');
}

int cg_bpf_parse(const void *buf, size_t len, struct cg_bpf_prog *ret, struct cg_error *err)
{
	struct sock_filter *insns;
	size_t n;
	int r;

	if (len == 0)
		return cg_error_set(err, -EINVAL, "empty program");
	if (len % sizeof(struct sock_filter))
		return cg_error_set(err, -EINVAL,
				    "size %zu is not a multiple of %zu (struct sock_filter)", len,
				    sizeof(struct sock_filter));
	n = len / sizeof(struct sock_filter);
	if (n > CG_BPF_MAXINSNS)
		return cg_error_set(err, -EINVAL, "program has %zu insns, more than %d", n,
				    CG_BPF_MAXINSNS);
	insns = malloc(len);
	if (!insns)
		return cg_error_set(err, -ENOMEM, "out of memory");
	memcpy(insns, buf, len);
	r = cg_bpf_validate(insns, n, err);
	if (r < 0) {
		free(insns);
		return r;
	}
	ret->insns = insns;
	ret->len = n;
	return 0;
}

int cg_bpf_read(const char *path, struct cg_bpf_prog *ret, struct cg_error *err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r;

	r = cg_read_file(path, &buf, &len, err);
	if (r < 0)
		return r;
	r = cg_bpf_parse(buf, len, ret, err);
	if (r < 0 && err)
		cg_error_prefix(err, "%s: ", path);
	return r;
}

/* ---- two filters as one (runtime/bpf_stack.h) ------------------------------ */

uint32_t cg_bpf_stack_ret(uint32_t first, uint32_t later)
{
	return (int32_t)(first & SECCOMP_RET_ACTION_FULL) < (int32_t)(later & SECCOMP_RET_ACTION_FULL) ? first : later;
}

#define STACK_MAX_RETS 8

int cg_bpf_stack(const struct cg_bpf_prog *first, const struct cg_bpf_prog *later, struct cg_bpf_prog *ret,
		 struct cg_error *err)
{
	uint32_t ks[STACK_MAX_RETS];
	size_t at[STACK_MAX_RETS]; /* where the copy of @later for ks[i] starts */
	size_t nk = 0, na = first->len, nb = later->len, n;
	struct sock_filter *v;
	int r;

	if ((r = cg_bpf_validate(first->insns, na, err)) < 0 || (r = cg_bpf_validate(later->insns, nb, err)) < 0)
		return r;
	for (size_t i = 0; i < na + nb; i++) {
		const struct sock_filter *f = i < na ? &first->insns[i] : &later->insns[i - na];
		if (BPF_CLASS(f->code) == BPF_RET && BPF_RVAL(f->code) != BPF_K)
			return cg_error_set(err, -EINVAL, "a filter returns A: its answers are not known when folding");
		/* a division by X = 0 ends a program with 0, a return no jump can redirect */
		if (BPF_CLASS(f->code) == BPF_ALU && BPF_SRC(f->code) == BPF_X &&
		    (BPF_OP(f->code) == BPF_DIV || BPF_OP(f->code) == BPF_MOD))
			return cg_error_set(err, -EINVAL, "a filter divides by X: it may end without a return");
		/* scratch memory is not reset between the two */
		if ((BPF_CLASS(f->code) == BPF_LD || BPF_CLASS(f->code) == BPF_LDX) && BPF_MODE(f->code) == BPF_MEM)
			return cg_error_set(err, -EINVAL, "a filter reads scratch memory");
	}
	for (size_t i = 0; i < na; i++) {
		const struct sock_filter *f = &first->insns[i];
		bool seen = false;
		if (BPF_CLASS(f->code) != BPF_RET)
			continue;
		for (size_t k = 0; k < nk; k++)
			seen |= ks[k] == f->k;
		if (seen)
			continue;
		if (nk == STACK_MAX_RETS)
			return cg_error_set(err, -E2BIG, "the first filter has more than %d distinct answers",
					    STACK_MAX_RETS);
		ks[nk++] = f->k;
	}
	/* A program starts with A = X = 0; a copy of @later is entered with what
	 * @first left. A copy resets them only where @later could read them
	 * before writing: an "ld #0" on the way would also make every call
	 * uncacheable (the kernel's action cache follows only loads of nr and
	 * arch, jumps and returns), so it is left out wherever it can be. */
	bool need_a = BPF_CLASS(later->insns[0].code) != BPF_LD || BPF_MODE(later->insns[0].code) == BPF_IND;
	bool need_x = false;
	for (size_t i = 0; i < nb; i++) {
		uint16_t c = later->insns[i].code;
		need_x |= ((BPF_CLASS(c) == BPF_ALU || BPF_CLASS(c) == BPF_JMP) && BPF_SRC(c) == BPF_X && BPF_OP(c) != BPF_JA &&
			   BPF_OP(c) != BPF_NEG) ||
			  (BPF_CLASS(c) == BPF_LD && BPF_MODE(c) == BPF_IND) || c == (BPF_MISC | BPF_TXA) ||
			  BPF_CLASS(c) == BPF_STX;
	}
	size_t pre = (size_t)need_a + need_x;
	n = na + nk * (nb + pre);
	if (n > CG_BPF_MAXINSNS)
		return cg_error_set(err, -E2BIG, "the two filters together exceed %d instructions", CG_BPF_MAXINSNS);
	if (!(v = calloc(n, sizeof(*v))))
		return cg_error_set(err, -ENOMEM, "out of memory");
	for (size_t k = 0, o = na; k < nk; k++, o += nb + pre) {
		size_t p = o;
		at[k] = o;
		if (need_a)
			v[p++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_IMM, 0);
		if (need_x)
			v[p++] = (struct sock_filter)BPF_STMT(BPF_LDX | BPF_IMM, 0);
		for (size_t i = 0; i < nb; i++) {
			struct sock_filter f = later->insns[i];
			if (BPF_CLASS(f.code) == BPF_RET)
				f.k = cg_bpf_stack_ret(ks[k], f.k);
			v[p + i] = f;
		}
	}
	for (size_t i = 0; i < na; i++) {
		struct sock_filter f = first->insns[i];
		if (BPF_CLASS(f.code) == BPF_RET) {
			size_t k = 0;
			while (ks[k] != f.k)
				k++;
			f = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JA, (uint32_t)(at[k] - i - 1), 0, 0);
		}
		v[i] = f;
	}
	if ((r = cg_bpf_validate(v, n, err)) < 0) {
		free(v);
		return cg_error_prefix(err, "internal error, the folded filters are invalid: ");
	}
	ret->insns = v;
	ret->len = n;
	return 0;
}
