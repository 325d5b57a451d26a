// SPDX-License-Identifier: Apache-2.0
/*
 * Classic BPF: validator (checked against the running kernel), emulator
 * (hand-assembled programs, libseccomp output, and a differential run of
 * random ALU programs against the kernel), disassembler, cache predictor.
 */
#include <capgate/bpf.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <seccomp.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "runtime/bpf_stack.h"
#include "t.h"

#define ALLOW SECCOMP_RET_ALLOW
#define ERRNO(e) (SECCOMP_RET_ERRNO | (e))
#define LD_NR BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))
#define LD_ARCH BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch))
#define LD_ARG_LO(i) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 16 + 8 * (i) + (ARG_HI_FIRST ? 4 : 0))
#define LD_ARG_HI(i) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 16 + 8 * (i) + (ARG_HI_FIRST ? 0 : 4))
#define RET(k) BPF_STMT(BPF_RET | BPF_K, (k))
#define N(a) CG_ARRAY_SIZE(a)

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ARG_HI_FIRST 0
#else
#define ARG_HI_FIRST 1
#endif

/* A syscall number no architecture uses: the live probes filter only it. */
#define PROBE_NR 999

static struct seccomp_data mk(int nr, uint32_t arch, uint64_t a0, uint64_t a1, uint64_t a2)
{
	struct seccomp_data d = { .nr = nr, .arch = arch, .instruction_pointer = 0x401000 };

	d.args[0] = a0;
	d.args[1] = a1;
	d.args[2] = a2;
	return d;
}

/* Run and return the action, or a value no test expects on failure. */
static uint32_t run(const struct sock_filter *p, size_t n, const struct seccomp_data *d)
{
	struct cg_error err = { 0 };
	uint32_t act = 0xdeadbeef;
	int r = cg_bpf_run(p, n, d, NULL, &act, &err);

	if (r < 0) {
		printf("  run failed: %s\n", err.msg);
		return 0xdeadbeef;
	}
	return act;
}

/* ---- validator -------------------------------------------------------- */

struct vcase {
	const char *what;
	struct sock_filter insns[8];
	size_t len;
	const char *err; /* NULL: valid */
};

#define P(...) { __VA_ARGS__ }, N(((struct sock_filter[]){ __VA_ARGS__ }))

static const struct vcase vcases[] = {
	{ "allow all", P(RET(ALLOW)), NULL },
	{ "ret a", P(BPF_STMT(BPF_RET | BPF_A, 0)), NULL },
	{ "arch check", P(LD_ARCH, BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0), RET(SECCOMP_RET_KILL_PROCESS), RET(ALLOW)), NULL },
	{ "ld len", P(BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0), BPF_STMT(BPF_RET | BPF_A, 0)), NULL },
	{ "ldx len", P(BPF_STMT(BPF_LDX | BPF_W | BPF_LEN, 0), BPF_STMT(BPF_MISC | BPF_TXA, 0), BPF_STMT(BPF_RET | BPF_A, 0)), NULL },
	{ "last arg word", P(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 60), RET(ALLOW)), NULL },
	{ "div by x", P(BPF_STMT(BPF_ALU | BPF_DIV | BPF_X, 0), RET(ALLOW)), NULL },
	{ "shift by 31", P(BPF_STMT(BPF_ALU | BPF_LSH | BPF_K, 31), RET(ALLOW)), NULL },
	{ "scratch on both paths",
	  P(LD_NR, BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 2), BPF_STMT(BPF_ST, 3),
	    BPF_JUMP(BPF_JMP | BPF_JA, 1, 0, 0), BPF_STMT(BPF_ST, 3),
	    BPF_STMT(BPF_LD | BPF_MEM, 3), BPF_STMT(BPF_RET | BPF_A, 0)),
	  NULL },
	/* The kernel's check keeps the write seen before a return. */
	{ "scratch after ret", P(BPF_STMT(BPF_ST, 0), RET(ALLOW), BPF_STMT(BPF_LD | BPF_MEM, 0), BPF_STMT(BPF_RET | BPF_A, 0)), NULL },
	{ "ja to last", P(BPF_STMT(BPF_JMP | BPF_JA, 1), RET(0), RET(ALLOW)), NULL },

	{ "empty", { { 0 } }, 0, "empty program" },
	{ "unknown opcode", P(BPF_STMT(0xff, 0), RET(ALLOW)), "insn 0: unknown opcode 0x00ff" },
	{ "16-bit load", P(BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 0), RET(ALLOW)),
	  "insn 0: 16-bit absolute load (opcode 0x28) not allowed in seccomp filters" },
	{ "8-bit load", P(BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0), RET(ALLOW)), "insn 0: 8-bit absolute load" },
	{ "indirect load", P(RET(ALLOW), BPF_STMT(BPF_LD | BPF_W | BPF_IND, 0), RET(ALLOW)),
	  "insn 1: indirect load" },
	{ "msh", P(BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0), RET(ALLOW)), "insn 0: ldx msh load" },
	{ "mod", P(BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, 3), RET(ALLOW)), "insn 0: mod" },
	{ "mod x", P(BPF_STMT(BPF_ALU | BPF_MOD | BPF_X, 0), RET(ALLOW)), "insn 0: mod" },
	{ "ldx abs", P(BPF_STMT(BPF_LDX | BPF_W | BPF_ABS, 0), RET(ALLOW)), "insn 0: unknown opcode" },
	{ "load past end", P(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 64), RET(ALLOW)),
	  "insn 0: load offset 64 outside struct seccomp_data" },
	{ "load far", P(LD_NR, BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0xfffff000), RET(ALLOW)),
	  "insn 1: load offset 4294963200 outside" },
	{ "unaligned load", P(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 2), RET(ALLOW)),
	  "insn 0: load offset 2 not 4-byte aligned" },
	{ "div by 0", P(BPF_STMT(BPF_ALU | BPF_DIV | BPF_K, 0), RET(ALLOW)),
	  "insn 0: division by constant zero" },
	{ "lsh 32", P(BPF_STMT(BPF_ALU | BPF_LSH | BPF_K, 32), RET(ALLOW)), "insn 0: shift by 32" },
	{ "rsh 40", P(BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 40), RET(ALLOW)), "insn 0: shift by 40" },
	{ "neg x", P(BPF_STMT(BPF_ALU | BPF_NEG | BPF_X, 0), RET(ALLOW)), "insn 0: unknown opcode" },
	{ "st M[16]", P(BPF_STMT(BPF_ST, 16), RET(ALLOW)), "insn 0: scratch memory index 16 out of range" },
	{ "stx M[16]", P(BPF_STMT(BPF_STX, 16), RET(ALLOW)), "insn 0: scratch memory index 16" },
	{ "ld M[99]", P(BPF_STMT(BPF_LD | BPF_MEM, 99), RET(ALLOW)), "insn 0: scratch memory index 99" },
	{ "ldx M[16]", P(BPF_STMT(BPF_LDX | BPF_MEM, 16), RET(ALLOW)), "insn 0: scratch memory index 16" },
	{ "ja past end", P(BPF_STMT(BPF_JMP | BPF_JA, 1), RET(ALLOW)), "insn 0: jump out of range" },
	{ "ja huge", P(LD_NR, BPF_STMT(BPF_JMP | BPF_JA, 0xffffffff), RET(ALLOW)),
	  "insn 1: jump out of range" },
	{ "jt past end", P(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0), RET(ALLOW)),
	  "insn 0: jump out of range" },
	{ "jf past end", P(LD_NR, BPF_JUMP(BPF_JMP | BPF_JSET | BPF_X, 0, 0, 200), RET(ALLOW)),
	  "insn 1: jump out of range" },
	{ "jgt x past end", P(BPF_JUMP(BPF_JMP | BPF_JGT | BPF_X, 0, 0, 1), RET(ALLOW)),
	  "insn 0: jump out of range" },
	{ "no final ret", P(RET(ALLOW), LD_NR), "insn 1: last insn is not a return" },
	{ "ret x", P(BPF_STMT(BPF_RET | BPF_X, 0)), "insn 0: unknown opcode" },
	{ "scratch unwritten", P(BPF_STMT(BPF_LD | BPF_MEM, 0), BPF_STMT(BPF_RET | BPF_A, 0)),
	  "insn 0: reads M[0] before it is written on every path" },
	{ "scratch other slot", P(BPF_STMT(BPF_STX, 1), BPF_STMT(BPF_LDX | BPF_MEM, 2), RET(ALLOW)),
	  "insn 1: reads M[2]" },
	{ "scratch one path",
	  P(LD_NR, BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 1), BPF_STMT(BPF_ST, 3),
	    BPF_STMT(BPF_LD | BPF_MEM, 3), BPF_STMT(BPF_RET | BPF_A, 0)),
	  "insn 3: reads M[3] before it is written on every path" },
	{ "scratch over ja",
	  P(BPF_STMT(BPF_JMP | BPF_JA, 1), BPF_STMT(BPF_ST, 5), BPF_STMT(BPF_LD | BPF_MEM, 5),
	    BPF_STMT(BPF_RET | BPF_A, 0)),
	  "insn 2: reads M[5]" },
};

static int test_validate(void)
{
	for (size_t i = 0; i < N(vcases); i++) {
		const struct vcase *c = &vcases[i];
		struct cg_error err = { 0 };
		int r = cg_bpf_validate(c->len ? c->insns : NULL, c->len, &err);

		if (!c->err) {
			CHECKF(r == 0, "%s: rejected: %s", c->what, err.msg);
			continue;
		}
		CHECKF(r == -EINVAL, "%s: validate returned %d", c->what, r);
		CHECKF(strncmp(err.msg, c->err, strlen(c->err)) == 0, "%s: message \"%s\", expected \"%s...\"",
		       c->what, err.msg, c->err);
		CHECK_EQ_INT(err.code, -EINVAL);
	}
	return 0;
}

static int test_validate_lengths(void)
{
	struct sock_filter *p = calloc(CG_BPF_MAXINSNS + 1, sizeof(*p));
	struct cg_error err = { 0 };

	if (!p)
		return 0;
	for (size_t i = 0; i <= CG_BPF_MAXINSNS; i++)
		p[i] = (struct sock_filter)RET(ALLOW);
	CHECK_EQ_INT(cg_bpf_validate(p, CG_BPF_MAXINSNS, &err), 0);
	CHECK_EQ_INT(cg_bpf_validate(p, CG_BPF_MAXINSNS + 1, &err), -EINVAL);
	CHECK_STR(err.msg, "program has 4097 insns, more than 4096");
	CHECK_EQ_INT(cg_bpf_validate(p, 0, &err), -EINVAL);
	CHECK_STR(err.msg, "empty program");
	/* A long jump to the very last insn is in range, one further is not. */
	p[0] = (struct sock_filter)BPF_STMT(BPF_JMP | BPF_JA, CG_BPF_MAXINSNS - 2);
	CHECK_EQ_INT(cg_bpf_validate(p, CG_BPF_MAXINSNS, &err), 0);
	p[0].k++;
	CHECK_EQ_INT(cg_bpf_validate(p, CG_BPF_MAXINSNS, &err), -EINVAL);
	CHECK_CONTAINS(err.msg, "insn 0: jump out of range");
	free(p);
	return 0;
}

/* ---- the live kernel ----------------------------------------------------- */

static long sys_seccomp(unsigned op, unsigned flags, const void *arg)
{
	return syscall(SYS_seccomp, op, flags, arg);
}

/* Results shared with the forked children that run under a filter. */
#define MAX_PROBES 32
struct shared {
	atomic_int done;
	int install_errno; /* 0: kernel accepted the filter */
	int started;       /* probes begun (a killed child leaves one open) */
	long ret[MAX_PROBES];
	int err[MAX_PROBES]; /* errno, or -1: killed by the filter */
	uint64_t args[MAX_PROBES][6];
	int nprobes;
	struct sock_fprog prog;
	struct sock_filter insns[CG_BPF_MAXINSNS];
};

/* Child: install the filter, make the probe calls, report through @s and
 * spin until the parent kills it. Once filtered it makes no system call
 * but the probes: the filter under test may deny every other one. */
static void __attribute__((noreturn)) filtered_child(struct shared *s)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || sys_seccomp(SECCOMP_SET_MODE_FILTER, 0, &s->prog) < 0) {
		s->install_errno = errno;
		atomic_store(&s->done, 1);
		for (;;)
			__builtin_ia32_pause();
	}
	for (; s->started < s->nprobes; s->started++) {
		uint64_t *a = s->args[s->started];
		long r = syscall(PROBE_NR, a[0], a[1], a[2], a[3], a[4], a[5]);

		s->ret[s->started] = r;
		s->err[s->started] = r < 0 ? errno : 0;
	}
	atomic_store(&s->done, 1);
	for (;;)
		__builtin_ia32_pause();
}

/* Run @p in forked children until every probe in @s has a result: a child
 * the filter kills leaves its probe open, which is marked killed, and the
 * next child goes on from there. Returns 0, or -1 if a child misbehaved. */
static int kernel_run(struct shared *s, const struct sock_filter *p, size_t n)
{
	memcpy(s->insns, p, n * sizeof(*p));
	s->prog.len = (unsigned short)n;
	s->prog.filter = s->insns;
	s->started = 0;
	s->install_errno = 0;
	for (;;) {
		int status, waited;
		pid_t pid, w = 0;

		atomic_store(&s->done, 0);
		fflush(stdout);
		pid = fork();
		if (pid < 0)
			return -1;
		if (pid == 0)
			filtered_child(s);
		for (waited = 0; !atomic_load(&s->done) && waited < 5000; waited++) {
			w = waitpid(pid, &status, WNOHANG);
			if (w != 0)
				break;
			usleep(1000);
		}
		if (w == pid) { /* died under its filter */
			if (atomic_load(&s->done) || s->started >= s->nprobes || !WIFSIGNALED(status)) {
				printf("  filtered child ended early, status 0x%x\n", status);
				return -1;
			}
			s->ret[s->started] = -1;
			s->err[s->started] = -1;
			s->started++;
			continue;
		}
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		if (!atomic_load(&s->done)) {
			printf("  filtered child timed out\n");
			return -1;
		}
		return 0;
	}
}

static struct shared *shared_new(void)
{
	void *m = mmap(NULL, sizeof(struct shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	return m == MAP_FAILED ? NULL : m;
}

/* Does the kernel let us add a filter at all? */
static bool kernel_has_seccomp(struct shared *s)
{
	struct sock_filter allow[] = { RET(ALLOW) };

	s->nprobes = 0;
	return kernel_run(s, allow, 1) == 0 && s->install_errno == 0;
}

/* The validator accepts exactly what the running kernel accepts. */
static int test_validate_kernel(void)
{
	struct shared *s = shared_new();

	if (!s)
		SKIP("mmap failed");
	if (!kernel_has_seccomp(s)) {
		munmap(s, sizeof(*s));
		SKIP("this kernel or sandbox does not let a process install a seccomp filter");
	}
	int accepted = 0, rejected = 0;

	for (size_t i = 0; i < N(vcases); i++) {
		const struct vcase *c = &vcases[i];
		bool ours = cg_bpf_validate(c->insns, c->len, NULL) == 0;

		if (c->len == 0)
			continue;
		ours ? accepted++ : rejected++;
		s->nprobes = 0;
		if (kernel_run(s, c->insns, c->len) < 0) {
			CHECKF(false, "%s: kernel probe failed", c->what);
			continue;
		}
		CHECKF(ours == (s->install_errno == 0), "%s: validator says %s, kernel says %s", c->what,
		       ours ? "valid" : "invalid", strerror(s->install_errno));
		if (!ours)
			CHECKF(s->install_errno == EINVAL, "%s: kernel errno %d", c->what, s->install_errno);
	}
	printf("  kernel agrees on %d valid and %d invalid programs\n", accepted, rejected);
	munmap(s, sizeof(*s));
	return 0;
}

/* xorshift64*: reproducible random programs. */
static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state >> 12;
	rnd_state ^= rnd_state << 25;
	rnd_state ^= rnd_state >> 27;
	return rnd_state * 2685821657736338717ull;
}

static uint32_t rnd_k(void)
{
	static const uint32_t special[] = { 0, 1, 2, 3, 31, 32, 0x7fffffff, 0x80000000, 0xffffffff, 0xfff };

	return rnd() % 3 ? special[rnd() % N(special)] : (uint32_t)rnd();
}

/* A random body of ALU, load, scratch and forward jumps between a probe
 * prologue and an "ERRNO(A & 0xfff)" epilogue. */
static size_t gen_program(struct sock_filter *p)
{
	static const uint16_t alu_ops[] = { BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_OR,
					    BPF_AND, BPF_LSH, BPF_RSH, BPF_XOR };
	static const uint16_t jmp_ops[] = { BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET };
	size_t body = 4 + rnd() % 20, n = 0, end;

	p[n++] = (struct sock_filter)LD_NR;
	p[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PROBE_NR, 1, 0);
	p[n++] = (struct sock_filter)RET(ALLOW);
	end = n + body;
	while (n < end) {
		uint32_t k = rnd_k();
		uint16_t op = alu_ops[rnd() % N(alu_ops)];

		switch (rnd() % 12) {
		case 0:
		case 1:
			p[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
							      rnd() % 2 ? 16 + 4 * (rnd() % 12) : 0);
			break;
		case 2:
			p[n++] = (struct sock_filter)BPF_STMT(rnd() % 2 ? BPF_LD | BPF_IMM : BPF_LDX | BPF_IMM, k);
			break;
		case 3:
			p[n++] = (struct sock_filter)BPF_STMT(BPF_MISC | (rnd() % 2 ? BPF_TAX : BPF_TXA), 0);
			break;
		case 4: /* scratch round trip */
			p[n++] = (struct sock_filter)BPF_STMT(rnd() % 2 ? BPF_ST : BPF_STX, k & 15);
			p[n++] = (struct sock_filter)BPF_STMT(rnd() % 2 ? BPF_LD | BPF_MEM : BPF_LDX | BPF_MEM, k & 15);
			break;
		case 5:
			p[n++] = (struct sock_filter)BPF_STMT(rnd() % 2 ? BPF_LD | BPF_W | BPF_LEN
									: BPF_LDX | BPF_W | BPF_LEN,
							      0);
			break;
		case 6:
			p[n++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_NEG, 0);
			break;
		case 7:
		case 8: /* ALU with a constant the validator accepts */
			if ((op == BPF_LSH || op == BPF_RSH))
				k &= 31;
			if (op == BPF_DIV && k == 0)
				k = 7;
			p[n++] = (struct sock_filter)BPF_STMT(BPF_ALU | op | BPF_K, k);
			break;
		case 9:
		case 10:
			p[n++] = (struct sock_filter)BPF_STMT(BPF_ALU | op | BPF_X, 0);
			break;
		default: { /* forward jump inside the body or onto the epilogue */
			uint16_t src = rnd() % 2 ? BPF_X : BPF_K;
			uint8_t room = (uint8_t)(end - n);
			uint8_t jt = (uint8_t)(rnd() % room), jf = (uint8_t)(rnd() % room);

			p[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | jmp_ops[rnd() % N(jmp_ops)] | src, k, jt, jf);
			break;
		}
		}
	}
	p[n++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xfff);
	p[n++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_OR | BPF_K, SECCOMP_RET_ERRNO);
	p[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_A, 0);
	return n;
}

/* The emulator computes what the kernel computes: random ALU programs run
 * in both, the result comes back as the probe call's errno. */
static int test_run_kernel_differential(void)
{
	struct shared *s = shared_new();
	struct sock_filter p[64];
	int programs = 0, probes = 0, killed = 0;

	if (!s)
		SKIP("mmap failed");
	if (!kernel_has_seccomp(s)) {
		munmap(s, sizeof(*s));
		SKIP("this kernel or sandbox does not let a process install a seccomp filter");
	}
	for (int iter = 0; iter < 60; iter++) {
		uint64_t seed;
		size_t n;

		/* Scratch reads across jumps can be invalid: draw again. */
		do {
			seed = rnd_state;
			n = gen_program(p);
		} while (cg_bpf_validate(p, n, NULL) < 0);
		s->nprobes = 12;
		for (int i = 0; i < s->nprobes; i++)
			for (int j = 0; j < 6; j++)
				s->args[i][j] = i == 0 ? 0 : rnd() % 3 ? rnd()
								       : rnd() % 4;
		if (kernel_run(s, p, n) < 0 || s->install_errno) {
			CHECKF(false, "kernel run failed (seed 0x%llx, install errno %d)",
			       (unsigned long long)seed, s->install_errno);
			continue;
		}
		programs++;
		for (int i = 0; i < s->nprobes; i++) {
			struct seccomp_data d = { .nr = PROBE_NR, .arch = AUDIT_ARCH_X86_64 };
			uint32_t act;
			int want_err;

			memcpy(d.args, s->args[i], sizeof(d.args));
			act = run(p, n, &d);
			probes++;
			if (act == SECCOMP_RET_KILL_THREAD) {
				killed++;
				CHECKF(s->err[i] == -1, "seed 0x%llx probe %d: emulator says killed, kernel returned %ld/%d",
				       (unsigned long long)seed, i, s->ret[i], s->err[i]);
				continue;
			}
			CHECKF((act & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_ERRNO, "action 0x%x", act);
			want_err = (int)(act & SECCOMP_RET_DATA);
			CHECKF(s->err[i] == want_err && s->ret[i] == (want_err ? -1 : 0),
			       "seed 0x%llx probe %d: emulator ERRNO(%d), kernel returned %ld errno %d",
			       (unsigned long long)seed, i, want_err, s->ret[i], s->err[i]);
		}
	}
	CHECK(programs >= 50);
	printf("  %d programs, %d probes (%d killed by division by zero) agree with the kernel\n",
	       programs, probes, killed);
	munmap(s, sizeof(*s));
	return 0;
}

/* ---- emulator --------------------------------------------------------- */

static const struct sock_filter allowlist[] = {
	/* 0 */ LD_ARCH,
	/* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 8),
	/* 2 */ LD_NR,
	/* 3 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 59, 4, 0),  /* execve -> 8 */
	/* 4 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 3, 0),   /* read -> 8 */
	/* 5 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 2, 0),   /* write -> 8 */
	/* 6 */ BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 400, 0, 2), /* >= 400 -> 7, else 9 */
	/* 7 */ RET(SECCOMP_RET_TRAP | 7),
	/* 8 */ RET(ALLOW),
	/* 9 */ RET(ERRNO(1)),
	/* 10 */ RET(SECCOMP_RET_KILL_PROCESS),
};

static int test_run_arch_and_nr(void)
{
	struct seccomp_data d;

	d = mk(59, AUDIT_ARCH_X86_64, 0, 0, 0);
	CHECK_EQ_INT(run(allowlist, N(allowlist), &d), ALLOW);
	d = mk(0, AUDIT_ARCH_X86_64, 0, 0, 0);
	CHECK_EQ_INT(run(allowlist, N(allowlist), &d), ALLOW);
	d = mk(1, AUDIT_ARCH_X86_64, 0, 0, 0);
	CHECK_EQ_INT(run(allowlist, N(allowlist), &d), ALLOW);
	d = mk(2, AUDIT_ARCH_X86_64, 0, 0, 0);
	CHECK_EQ_INT(run(allowlist, N(allowlist), &d), ERRNO(1));
	d = mk(400, AUDIT_ARCH_X86_64, 0, 0, 0);
	CHECK_EQ_INT(run(allowlist, N(allowlist), &d), SECCOMP_RET_TRAP | 7);
	/* unsigned compare: -1 is above 400 */
	d = mk(-1, AUDIT_ARCH_X86_64, 0, 0, 0);
	CHECK_EQ_INT(run(allowlist, N(allowlist), &d), SECCOMP_RET_TRAP | 7);
	d = mk(59, AUDIT_ARCH_I386, 0, 0, 0);
	CHECK_EQ_INT(run(allowlist, N(allowlist), &d), SECCOMP_RET_KILL_PROCESS);
	return 0;
}

static int test_run_args(void)
{
	/* ioctl(fd, 0x5401) allowed only with the whole 64-bit request equal */
	static const struct sock_filter p[] = {
		LD_NR,
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 16, 0, 5),
		LD_ARG_HI(1),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 3),
		LD_ARG_LO(1),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x5401, 0, 1),
		RET(ALLOW),
		RET(ERRNO(EPERM)),
	};
	/* args[5] and instruction_pointer halves */
	static const struct sock_filter q[] = {
		LD_ARG_HI(5),
		BPF_STMT(BPF_MISC | BPF_TAX, 0),
		LD_ARG_LO(5),
		BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
		BPF_STMT(BPF_RET | BPF_A, 0),
	};
	struct seccomp_data d;

	d = mk(16, AUDIT_ARCH_X86_64, 3, 0x5401, 0);
	CHECK_EQ_INT(run(p, N(p), &d), ALLOW);
	d = mk(16, AUDIT_ARCH_X86_64, 3, 0x100005401ull, 0);
	CHECK_EQ_INT(run(p, N(p), &d), ERRNO(EPERM));
	d = mk(16, AUDIT_ARCH_X86_64, 3, 0x5402, 0);
	CHECK_EQ_INT(run(p, N(p), &d), ERRNO(EPERM));
	d = mk(17, AUDIT_ARCH_X86_64, 3, 0x5402, 0);
	CHECK_EQ_INT(run(p, N(p), &d), ERRNO(EPERM));
	d = mk(0, 0, 0, 0, 0);
	d.args[5] = 0x1234567800ff00ffull;
	CHECK_EQ_INT(run(q, N(q), &d), 0x12345678u ^ 0x00ff00ffu);
	return 0;
}

/* One ALU step on A = a, X = x; returns A. */
static uint32_t alu(uint16_t code, uint32_t a, uint32_t x, uint32_t k)
{
	struct sock_filter p[] = {
		BPF_STMT(BPF_LDX | BPF_IMM, x),
		BPF_STMT(BPF_LD | BPF_IMM, a),
		BPF_STMT(code, k),
		BPF_STMT(BPF_RET | BPF_A, 0),
	};
	struct seccomp_data d = { 0 };

	return run(p, N(p), &d);
}

static int test_run_alu(void)
{
	CHECK_EQ_INT(alu(BPF_ALU | BPF_ADD | BPF_K, 0xffffffff, 0, 2), 1);
	CHECK_EQ_INT(alu(BPF_ALU | BPF_ADD | BPF_X, 5, 7, 0), 12);
	CHECK_EQ_INT(alu(BPF_ALU | BPF_SUB | BPF_K, 1, 0, 2), 0xffffffff);
	CHECK_EQ_INT(alu(BPF_ALU | BPF_SUB | BPF_X, 10, 3, 0), 7);
	CHECK_EQ_INT(alu(BPF_ALU | BPF_MUL | BPF_K, 0x10000, 0, 0x10001), 0x10000);
	CHECK_EQ_INT(alu(BPF_ALU | BPF_MUL | BPF_X, 6, 7, 0), 42);
	CHECK_EQ_INT(alu(BPF_ALU | BPF_DIV | BPF_K, 0xffffffff, 0, 2), 0x7fffffff);
	CHECK_EQ_INT(alu(BPF_ALU | BPF_DIV | BPF_X, 100, 7, 0), 14);
	CHECK_EQ_INT(alu(BPF_ALU | BPF_AND | BPF_K, 0xf0f0, 0, 0xff00), 0xf000);
	CHECK_EQ_INT(alu(BPF_ALU | BPF_AND | BPF_X, 6, 3, 0), 2);
	CHECK_EQ_INT(alu(BPF_ALU | BPF_OR | BPF_K, 0x50000, 0, 13), ERRNO(13));
	CHECK_EQ_INT(alu(BPF_ALU | BPF_OR | BPF_X, 4, 1, 0), 5);
	CHECK_EQ_INT(alu(BPF_ALU | BPF_XOR | BPF_K, 0xff, 0, 0x0f), 0xf0);
	CHECK_EQ_INT(alu(BPF_ALU | BPF_XOR | BPF_X, 0xff, 0xff, 0), 0);
	CHECK_EQ_INT(alu(BPF_ALU | BPF_LSH | BPF_K, 3, 0, 31), 0x80000000);
	CHECK_EQ_INT(alu(BPF_ALU | BPF_LSH | BPF_X, 3, 4, 0), 48);
	CHECK_EQ_INT(alu(BPF_ALU | BPF_LSH | BPF_X, 3, 33, 0), 6); /* kernel masks X to 5 bits */
	CHECK_EQ_INT(alu(BPF_ALU | BPF_RSH | BPF_K, 0x80000000, 0, 31), 1);
	CHECK_EQ_INT(alu(BPF_ALU | BPF_RSH | BPF_X, 0x80000000, 32, 0), 0x80000000);
	CHECK_EQ_INT(alu(BPF_ALU | BPF_NEG, 1, 0, 0), 0xffffffff);
	CHECK_EQ_INT(alu(BPF_MISC | BPF_TXA, 1, 9, 0), 9);
	CHECK_EQ_INT(alu(BPF_LD | BPF_W | BPF_LEN, 1, 9, 0), 64);
	return 0;
}

static int test_run_div_zero(void)
{
	static const struct sock_filter p[] = {
		LD_ARG_LO(0),
		BPF_STMT(BPF_MISC | BPF_TAX, 0),
		BPF_STMT(BPF_LD | BPF_IMM, 100),
		BPF_STMT(BPF_ALU | BPF_DIV | BPF_X, 0),
		BPF_STMT(BPF_ALU | BPF_OR | BPF_K, SECCOMP_RET_ERRNO),
		BPF_STMT(BPF_RET | BPF_A, 0),
	};
	struct seccomp_data d = mk(0, 0, 10, 0, 0);
	struct cg_bpf_trace t = { 0 };
	uint32_t act = 1;

	CHECK_EQ_INT(run(p, N(p), &d), ERRNO(10));
	d.args[0] = 0x100000000ull; /* low half 0: division by zero */
	CHECK_EQ_INT(cg_bpf_run(p, N(p), &d, &t, &act, NULL), 0);
	CHECK_EQ_INT(act, 0);
	CHECK_EQ_INT(t.n, 4); /* stops at the division */
	if (t.n == 4)
		CHECK_EQ_INT(t.steps[3].pc, 3);
	cg_bpf_trace_release(&t);
	return 0;
}

static int test_run_scratch(void)
{
	static const struct sock_filter p[] = {
		LD_NR,
		BPF_STMT(BPF_ST, 0),
		BPF_STMT(BPF_LDX | BPF_IMM, 5),
		BPF_STMT(BPF_STX, 15),
		BPF_STMT(BPF_LD | BPF_IMM, 0),
		BPF_STMT(BPF_LDX | BPF_MEM, 0), /* X = nr */
		BPF_STMT(BPF_LD | BPF_MEM, 15), /* A = 5 */
		BPF_STMT(BPF_ALU | BPF_ADD | BPF_X, 0),
		BPF_STMT(BPF_RET | BPF_A, 0),
	};
	struct seccomp_data d = mk(37, 0, 0, 0, 0);

	CHECK_EQ_INT(run(p, N(p), &d), 42);
	return 0;
}

static int test_run_jumps_and_trace(void)
{
	static const struct sock_filter p[] = {
		/* 0 */ LD_ARG_LO(0),
		/* 1 */ BPF_STMT(BPF_LDX | BPF_IMM, 8),
		/* 2 */ BPF_JUMP(BPF_JMP | BPF_JSET | BPF_X, 0, 0, 2),
		/* 3 */ BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, 10, 2, 0),
		/* 4 */ BPF_STMT(BPF_JMP | BPF_JA, 2),
		/* 5 */ RET(1),
		/* 6 */ RET(2),
		/* 7 */ BPF_JUMP(BPF_JMP | BPF_JGE | BPF_X, 0, 0, 1),
		/* 8 */ RET(3),
		/* 9 */ RET(4),
	};
	struct seccomp_data d = mk(0, 0, 8, 0, 0);
	struct cg_bpf_trace t = { 0 };
	uint32_t act = 0;

	static const uint32_t want_pc[] = { 0, 1, 2, 3, 4, 7, 8 };
	static const bool want_taken[] = { false, false, true, false, true, true, false };

	CHECK_EQ_INT(run(p, N(p), &d), 3); /* 8&8 set, 8>10 no, ja -> 7, 8>=8 */
	d.args[0] = 12;
	CHECK_EQ_INT(run(p, N(p), &d), 2); /* 12&8 set, 12>10 -> 6 */
	d.args[0] = 7;
	CHECK_EQ_INT(run(p, N(p), &d), 1); /* 7&8 clear -> 5 */
	d.args[0] = 0xffffffff00000008ull; /* only the low half is loaded */
	CHECK_EQ_INT(cg_bpf_run(p, N(p), &d, &t, &act, NULL), 0);
	CHECK_EQ_INT(act, 3);
	CHECK_EQ_INT(t.n, N(want_pc));
	for (size_t i = 0; i < t.n && i < N(want_pc); i++) {
		CHECKF(t.steps[i].pc == want_pc[i], "step %zu at pc %u, expected %u", i, t.steps[i].pc, want_pc[i]);
		CHECKF(t.steps[i].taken == want_taken[i], "step %zu taken %d", i, t.steps[i].taken);
		CHECK_EQ_INT(t.steps[i].a, 8);
	}
	/* a second run reuses the trace from the start */
	d.args[0] = 7;
	CHECK_EQ_INT(cg_bpf_run(p, N(p), &d, &t, &act, NULL), 0);
	CHECK_EQ_INT(act, 1);
	CHECK_EQ_INT(t.n, 4);
	cg_bpf_trace_release(&t);
	CHECK(t.steps == NULL && t.n == 0);
	cg_bpf_trace_release(NULL);
	return 0;
}

static int test_run_invalid(void)
{
	static const struct sock_filter bad[] = { BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 3), RET(ALLOW) };
	struct seccomp_data d = { 0 };
	struct cg_error err = { 0 };
	uint32_t act = 77;

	CHECK_EQ_INT(cg_bpf_run(bad, N(bad), &d, NULL, &act, &err), -EINVAL);
	CHECK_STR(err.msg, "insn 0: load offset 3 not 4-byte aligned");
	CHECK_EQ_INT(act, 77); /* outputs untouched on failure */
	CHECK_EQ_INT(cg_bpf_run(NULL, 0, &d, NULL, &act, &err), -EINVAL);
	CHECK_STR(err.msg, "empty program");
	return 0;
}

/* ---- libseccomp cross-check --------------------------------------------- */

/* Export @ctx as raw BPF through a memfd and read it back with cg_bpf_read. */
static int export_prog(scmp_filter_ctx ctx, struct cg_bpf_prog *prog)
{
	struct cg_error err = { 0 };
	char path[64];
	int fd = memfd_create("capgate-bpf-test", MFD_CLOEXEC), r;

	if (fd < 0)
		return -errno;
	r = seccomp_export_bpf(ctx, fd);
	if (r == 0) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		r = cg_bpf_read(path, prog, &err);
		if (r < 0)
			printf("  cg_bpf_read: %s\n", err.msg);
	}
	close(fd);
	return r;
}

static int test_libseccomp(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	struct cg_bpf_prog prog = { 0 };
	struct cg_strbuf sb;
	struct seccomp_data d;
	uint8_t bitmap[64] = { 0 };
	pid_t pid;
	int status, r;

	CHECK(ctx != NULL);
	if (!ctx)
		return 0;
	r = seccomp_arch_add(ctx, SCMP_ARCH_X86);
	CHECK(r == 0 || r == -EEXIST);
	CHECK_EQ_INT(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(mkdirat), 0), 0);
	CHECK_EQ_INT(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(dup3), 1, SCMP_A2(SCMP_CMP_EQ, 5)), 0);
	CHECK_EQ_INT(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOTTY), SCMP_SYS(personality), 1,
				      SCMP_A0(SCMP_CMP_MASKED_EQ, 0xff00, 0x4200)),
		     0);
	r = export_prog(ctx, &prog);
	CHECK_EQ_INT(r, 0);
	if (r < 0) {
		seccomp_release(ctx);
		return 0;
	}

	d = mk(258, AUDIT_ARCH_X86_64, -100, 0, 0755); /* mkdirat */
	CHECK_EQ_INT(run(prog.insns, prog.len, &d), ERRNO(EPERM));
	d = mk(292, AUDIT_ARCH_X86_64, 0, 100, 5); /* dup3(0, 100, 5) */
	CHECK_EQ_INT(run(prog.insns, prog.len, &d), ERRNO(EACCES));
	d = mk(292, AUDIT_ARCH_X86_64, 0, 100, 0x100000005ull); /* high half differs */
	CHECK_EQ_INT(run(prog.insns, prog.len, &d), ALLOW);
	d = mk(292, AUDIT_ARCH_X86_64, 0, 100, 6);
	CHECK_EQ_INT(run(prog.insns, prog.len, &d), ALLOW);
	d = mk(135, AUDIT_ARCH_X86_64, 0x42ff, 0, 0); /* personality */
	CHECK_EQ_INT(run(prog.insns, prog.len, &d), ERRNO(ENOTTY));
	d = mk(135, AUDIT_ARCH_X86_64, 0x43ff, 0, 0);
	CHECK_EQ_INT(run(prog.insns, prog.len, &d), ALLOW);
	d = mk(39, AUDIT_ARCH_X86_64, 0, 0, 0); /* getpid */
	CHECK_EQ_INT(run(prog.insns, prog.len, &d), ALLOW);
	d = mk(330, AUDIT_ARCH_I386, 0, 100, 5); /* dup3 on x86 */
	CHECK_EQ_INT(run(prog.insns, prog.len, &d), ERRNO(EACCES));
	d = mk(296, AUDIT_ARCH_I386, 0, 0, 0); /* mkdirat on x86 */
	CHECK_EQ_INT(run(prog.insns, prog.len, &d), ERRNO(EPERM));
	d = mk(59, AUDIT_ARCH_AARCH64, 0, 0, 0); /* foreign arch: bad-arch action */
	CHECK_EQ_INT(run(prog.insns, prog.len, &d), SECCOMP_RET_KILL_THREAD);

	/* Cache: everything but the three filtered calls on x86_64. */
	CHECK_EQ_INT(cg_bpf_cache_predict(prog.insns, prog.len, AUDIT_ARCH_X86_64, 512, bitmap), 509);
	CHECK(!(bitmap[258 / 8] & (1 << (258 % 8))));
	CHECK(!(bitmap[292 / 8] & (1 << (292 % 8))));
	CHECK(!(bitmap[135 / 8] & (1 << (135 % 8))));
	CHECK(bitmap[59 / 8] & (1 << (59 % 8)));
	memset(bitmap, 0, sizeof(bitmap));
	CHECK_EQ_INT(cg_bpf_cache_predict(prog.insns, prog.len, AUDIT_ARCH_AARCH64, 512, bitmap), 0);

	cg_strbuf_init(&sb);
	cg_bpf_disasm(prog.insns, prog.len, -1, &sb);
	CHECK_CONTAINS(sb.buf, "ld  [4]");
	CHECK_CONTAINS(sb.buf, "; AUDIT_ARCH_X86_64");
	CHECK_CONTAINS(sb.buf, "; AUDIT_ARCH_I386");
	CHECK_CONTAINS(sb.buf, "; mkdirat");
	CHECK_CONTAINS(sb.buf, "; dup3");
	CHECK_CONTAINS(sb.buf, "; personality");
	CHECK_CONTAINS(sb.buf, "; X32_SYSCALL_BIT");
	CHECK_CONTAINS(sb.buf, "; args[2] lo");
	CHECK_CONTAINS(sb.buf, "; args[2] hi");
	CHECK_CONTAINS(sb.buf, "; ERRNO(1)");
	CHECK_CONTAINS(sb.buf, "; ERRNO(13)");
	CHECK_CONTAINS(sb.buf, "; ALLOW");
	/* On x86, 296 is mkdirat and 330 dup3: named from the arch matched. */
	{
		char line[64];
		snprintf(line, sizeof(line), "jeq #296,");
		CHECK_CONTAINS(sb.buf, line);
	}
	if (t_cur_failed)
		printf("%s", sb.buf);
	cg_strbuf_release(&sb);

	/* The kernel agrees: the child runs under the exported filter. */
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct sock_fprog fp = { .len = (unsigned short)prog.len, .filter = prog.insns };

		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			_exit(10);
		if (sys_seccomp(SECCOMP_SET_MODE_FILTER, 0, &fp) < 0)
			_exit(errno == EINVAL ? 11 : 12);
		if (mkdirat(AT_FDCWD, "/nonexistent-capgate/x", 0755) != -1 || errno != EPERM)
			_exit(20);
		if (syscall(SYS_dup3, 0, 100, 5) != -1 || errno != EACCES)
			_exit(21);
		/* allowed through: the kernel's own EINVAL for bad flags */
		if (syscall(SYS_dup3, 0, 100, 6) != -1 || errno != EINVAL)
			_exit(22);
		if (syscall(SYS_personality, 0x42ffUL) != -1 || errno != ENOTTY)
			_exit(23);
		if (getpid() <= 0)
			_exit(24);
		_exit(0);
	}
	CHECK(pid > 0);
	if (pid > 0) {
		CHECK(waitpid(pid, &status, 0) == pid);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 12) {
			cg_bpf_prog_release(&prog);
			seccomp_release(ctx);
			SKIP("this kernel or sandbox does not let a process install a seccomp filter");
		}
		CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status 0x%x", status);
	}
	cg_bpf_prog_release(&prog);
	CHECK(prog.insns == NULL && prog.len == 0);
	seccomp_release(ctx);
	return 0;
}

/* ---- disassembler ------------------------------------------------------ */

/* Is there a line "<insn>  ; <comment>" (any padding), or "<insn>" alone
 * when @comment is NULL? */
static bool has_line(const char *buf, const char *insn, const char *comment)
{
	size_t il = strlen(insn);

	for (const char *l = buf; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		const char *end = strchr(l, '\n'), *rest = l + il;

		if (!end)
			end = l + strlen(l);
		if ((size_t)(end - l) < il || strncmp(l, insn, il) != 0)
			continue;
		if (!comment) {
			if (rest == end)
				return true;
			continue;
		}
		while (rest < end && *rest == ' ')
			rest++;
		if (rest + 2 + strlen(comment) == end && strncmp(rest, "; ", 2) == 0 &&
		    strncmp(rest + 2, comment, strlen(comment)) == 0)
			return true;
	}
	return false;
}

#define CHECK_LINE(buf, insn, comment) \
	CHECKF(has_line(buf, insn, comment), "no line \"%s ; %s\"", insn, (comment) ? (comment) : "")

static int test_disasm(void)
{
	static const struct sock_filter p[] = {
		/* 0 */ LD_ARCH,
		/* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 2),
		/* 2 */ LD_NR,
		/* 3 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 59, 5, 6),
		/* 4 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_I386, 0, 5),
		/* 5 */ LD_NR,
		/* 6 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 11, 2, 0),
		/* 7 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x40000208, 1, 0),
		/* 8 */ BPF_STMT(BPF_JMP | BPF_JA, 2),
		/* 9 */ RET(ALLOW),
		/* 10 */ RET(SECCOMP_RET_KILL_PROCESS),
		/* 11 */ RET(ERRNO(1)),
	};
	static const struct sock_filter q[] = {
		LD_NR,
		BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, 221, 0, 1),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x40000208, 0, 0),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 8),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 12),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 60),
		BPF_STMT(BPF_LDX | BPF_W | BPF_LEN, 0),
		BPF_STMT(BPF_ST, 2),
		BPF_STMT(BPF_LDX | BPF_MEM, 2),
		BPF_STMT(BPF_ALU | BPF_AND | BPF_X, 0),
		BPF_STMT(BPF_ALU | BPF_NEG, 0),
		BPF_STMT(BPF_MISC | BPF_TAX, 0),
		RET(SECCOMP_RET_TRAP | 3),
		RET(SECCOMP_RET_TRACE),
		RET(SECCOMP_RET_LOG),
		RET(SECCOMP_RET_USER_NOTIF),
		RET(SECCOMP_RET_KILL_THREAD),
		RET(ERRNO(5000)),
		RET(0x12340000),
		BPF_STMT(BPF_RET | BPF_A, 0),
		BPF_STMT(0xffff, 0),
	};
	struct cg_strbuf sb;

	cg_strbuf_init(&sb);
	cg_bpf_disasm(p, N(p), -1, &sb);
	CHECK_LINE(sb.buf, "  0: ld  [4]", "arch");
	CHECK_LINE(sb.buf, "  1: jeq #0xc000003e, 2, 4", "AUDIT_ARCH_X86_64");
	CHECK_LINE(sb.buf, "  2: ld  [0]", "nr");
	CHECK_LINE(sb.buf, "  3: jeq #59, 9, 10", "execve");
	/* reached by the false edge of the x86_64 check: A still holds arch */
	CHECK_LINE(sb.buf, "  4: jeq #0x40000003, 5, 10", "AUDIT_ARCH_I386");
	/* 11 is execve on i386 (munmap on x86_64): the arch matched wins */
	CHECK_LINE(sb.buf, "  6: jeq #11, 9, 7", "execve");
	/* not a number on i386 */
	CHECK_LINE(sb.buf, "  7: jeq #0x40000208, 9, 8", NULL);
	CHECK_LINE(sb.buf, "  8: ja  11", NULL);
	CHECK_LINE(sb.buf, "  9: ret #0x7fff0000", "ALLOW");
	CHECK_LINE(sb.buf, " 10: ret #0x80000000", "KILL_PROCESS");
	CHECK_LINE(sb.buf, " 11: ret #0x50001", "ERRNO(1)");
	CHECK_CONTAINS(sb.buf, "  1: jeq #0xc000003e, 2, 4    ; AUDIT_ARCH_X86_64\n");
	if (t_cur_failed)
		printf("%s", sb.buf);
	cg_strbuf_release(&sb);

	cg_strbuf_init(&sb);
	cg_bpf_disasm(q, N(q), CG_ARCH_AARCH64, &sb);
	CHECK_LINE(sb.buf, "  1: jgt #221, 2, 3", "execve"); /* via the hint */
	CHECK_LINE(sb.buf, "  3: ld  [8]", "instruction_pointer lo");
	CHECK_LINE(sb.buf, "  4: ld  [12]", "instruction_pointer hi");
	CHECK_LINE(sb.buf, "  5: ld  [60]", "args[5] hi");
	CHECK_LINE(sb.buf, "  6: ldx #len", "sizeof(struct seccomp_data) = 64");
	CHECK_LINE(sb.buf, "  7: st  M[2]", NULL);
	CHECK_LINE(sb.buf, "  8: ldx M[2]", NULL);
	CHECK_LINE(sb.buf, "  9: and x", NULL);
	CHECK_LINE(sb.buf, " 10: neg", NULL);
	CHECK_LINE(sb.buf, " 11: tax", NULL);
	CHECK_LINE(sb.buf, " 12: ret #0x30003", "TRAP(3)");
	CHECK_LINE(sb.buf, " 13: ret #0x7ff00000", "TRACE(0)");
	CHECK_LINE(sb.buf, " 14: ret #0x7ffc0000", "LOG");
	CHECK_LINE(sb.buf, " 15: ret #0x7fc00000", "USER_NOTIF");
	CHECK_LINE(sb.buf, " 16: ret #0x0", "KILL_THREAD");
	CHECK_LINE(sb.buf, " 17: ret #0x51388", "ERRNO(5000, capped to 4095)");
	CHECK_LINE(sb.buf, " 18: ret #0x12340000", "unknown action, acts as KILL_PROCESS");
	CHECK_LINE(sb.buf, " 19: ret a", NULL);
	CHECK_LINE(sb.buf, " 20: .insn 0xffff, 0, 0, 0x0", NULL);
	if (t_cur_failed)
		printf("%s", sb.buf);
	cg_strbuf_release(&sb);

	/* x32 numbers resolve through the x32 table under an x86_64 hint. */
	cg_strbuf_init(&sb);
	cg_bpf_disasm(q, N(q), CG_ARCH_X86_64, &sb);
	CHECK_LINE(sb.buf, "  1: jgt #221, 2, 3", "fadvise64");
	CHECK_LINE(sb.buf, "  2: jeq #0x40000208, 3, 3", "execve");
	cg_strbuf_release(&sb);

	/* No hint, no arch check: numbers stay unnamed. */
	cg_strbuf_init(&sb);
	cg_bpf_disasm(q, N(q), -1, &sb);
	CHECK_LINE(sb.buf, "  1: jgt #221, 2, 3", NULL);
	cg_strbuf_release(&sb);

	/* Wide listings widen the pc column. */
	{
		struct sock_filter *big = calloc(1200, sizeof(*big));

		if (big) {
			for (size_t i = 0; i < 1200; i++)
				big[i] = (struct sock_filter)RET(ALLOW);
			cg_strbuf_init(&sb);
			cg_bpf_disasm(big, 1200, -1, &sb);
			CHECK_LINE(sb.buf, "   0: ret #0x7fff0000", "ALLOW");
			CHECK_LINE(sb.buf, "1199: ret #0x7fff0000", "ALLOW");
			cg_strbuf_release(&sb);
			free(big);
		}
	}
	return 0;
}

/* ---- cache predictor --------------------------------------------------- */

static bool bit(const uint8_t *b, unsigned nr) { return b[nr / 8] & (1u << (nr % 8)); }

static int test_cache_predict(void)
{
	uint8_t b[16];
	static const struct sock_filter args[] = {
		LD_NR,
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 5, 0, 2),
		LD_ARG_LO(0), /* only nr 5 reaches a load of args */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 0),
		RET(ALLOW),
	};
	static const struct sock_filter masked[] = {
		LD_NR,
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xfe),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 2, 1, 0),
		RET(ERRNO(1)),
		RET(ALLOW),
	};
	static const struct sock_filter ops[] = {
		LD_NR,
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x40, 4, 0), /* 64..127 -> ERRNO */
		BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, 100, 3, 0),
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 10, 0, 1),
		BPF_STMT(BPF_JMP | BPF_JA, 2), /* 10..63 -> ALLOW */
		RET(SECCOMP_RET_LOG),          /* 0..9: LOG is not ALLOW */
		RET(ERRNO(1)),
		RET(ALLOW),
	};
	static const struct sock_filter not_const[] = {
		LD_NR,
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 1),
		RET(ALLOW),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 2, 0, 2),
		BPF_STMT(BPF_ALU | BPF_ADD | BPF_K, 0), /* any other ALU: not const */
		RET(ALLOW),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 3, 0, 2),
		BPF_STMT(BPF_LD | BPF_IMM, 0x7fff0000), /* immediates: not const either */
		BPF_STMT(BPF_RET | BPF_A, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_X, 0, 0, 1), /* jump on X: not const */
		RET(ALLOW),
		RET(ALLOW),
	};
	static const struct sock_filter bad[] = { LD_NR };

	memset(b, 0, sizeof(b));
	CHECK_EQ_INT(cg_bpf_cache_predict(allowlist, N(allowlist), AUDIT_ARCH_X86_64, 128, b), 3);
	CHECK(bit(b, 0) && bit(b, 1) && bit(b, 59) && !bit(b, 2));
	memset(b, 0, sizeof(b));
	CHECK_EQ_INT(cg_bpf_cache_predict(allowlist, N(allowlist), AUDIT_ARCH_I386, 128, b), 0);

	memset(b, 0, sizeof(b));
	CHECK_EQ_INT(cg_bpf_cache_predict(args, N(args), AUDIT_ARCH_X86_64, 128, b), 127);
	CHECK(!bit(b, 5) && bit(b, 4) && bit(b, 6));

	memset(b, 0, sizeof(b));
	CHECK_EQ_INT(cg_bpf_cache_predict(masked, N(masked), AUDIT_ARCH_X86_64, 128, b), 2);
	CHECK(bit(b, 2) && bit(b, 3) && !bit(b, 1) && !bit(b, 4));

	memset(b, 0, sizeof(b));
	CHECK_EQ_INT(cg_bpf_cache_predict(ops, N(ops), AUDIT_ARCH_X86_64, 128, b), 54);
	CHECK(bit(b, 10) && bit(b, 63) && !bit(b, 9) && !bit(b, 64) && !bit(b, 100) && !bit(b, 127));

	memset(b, 0, sizeof(b));
	CHECK_EQ_INT(cg_bpf_cache_predict(not_const, N(not_const), AUDIT_ARCH_X86_64, 128, b), 1);
	CHECK(bit(b, 1));

	/* The kernel never sees invalid programs; neither does the predictor. */
	memset(b, 0, sizeof(b));
	CHECK_EQ_INT(cg_bpf_cache_predict(bad, N(bad), AUDIT_ARCH_X86_64, 128, b), 0);
	CHECK_EQ_INT(cg_bpf_cache_predict(allowlist, N(allowlist), AUDIT_ARCH_X86_64, 0, b), 0);
	return 0;
}

/* ---- raw I/O ---------------------------------------------------------------- */

static int test_parse(void)
{
	struct cg_bpf_prog prog = { 0 };
	struct cg_error err = { 0 };
	char buf[16] = { 0 };

	CHECK_EQ_INT(cg_bpf_parse(allowlist, sizeof(allowlist), &prog, &err), 0);
	CHECK_EQ_INT(prog.len, N(allowlist));
	CHECK(prog.insns && memcmp(prog.insns, allowlist, sizeof(allowlist)) == 0);
	cg_bpf_prog_release(&prog);
	cg_bpf_prog_release(NULL);

	CHECK_EQ_INT(cg_bpf_parse(allowlist, 12, &prog, &err), -EINVAL);
	CHECK_STR(err.msg, "size 12 is not a multiple of 8 (struct sock_filter)");
	CHECK_EQ_INT(cg_bpf_parse(allowlist, 0, &prog, &err), -EINVAL);
	CHECK_STR(err.msg, "empty program");
	CHECK_EQ_INT(cg_bpf_parse(buf, 16, &prog, &err), -EINVAL); /* two "ld #0" */
	CHECK_STR(err.msg, "insn 1: last insn is not a return");
	CHECK(prog.insns == NULL);
	{
		size_t n = (CG_BPF_MAXINSNS + 1) * sizeof(struct sock_filter);
		void *big = calloc(1, n);
		if (big) {
			CHECK_EQ_INT(cg_bpf_parse(big, n, &prog, &err), -EINVAL);
			CHECK_STR(err.msg, "program has 4097 insns, more than 4096");
			free(big);
		}
	}

	CHECK_EQ_INT(cg_bpf_read("/nonexistent/capgate.bpf", &prog, &err), -ENOENT);
	{
		char path[] = "/tmp/capgate-bpf-XXXXXX";
		int fd = mkstemp(path);

		CHECK(fd >= 0);
		if (fd >= 0) {
			CHECK(write(fd, allowlist, 20) == 20);
			close(fd);
			CHECK_EQ_INT(cg_bpf_read(path, &prog, &err), -EINVAL);
			CHECK_CONTAINS(err.msg, path);
			CHECK_CONTAINS(err.msg, ": size 20 is not a multiple of 8");
			unlink(path);
		}
	}
	return 0;
}

static int test_action_format(void)
{
	char buf[64];

	CHECK_STR(cg_bpf_action_format(SECCOMP_RET_ALLOW, buf, sizeof(buf)), "ALLOW");
	CHECK_STR(cg_bpf_action_format(ERRNO(38), buf, sizeof(buf)), "ERRNO(38)");
	CHECK_STR(cg_bpf_action_format(SECCOMP_RET_KILL_PROCESS | 5, buf, sizeof(buf)), "KILL_PROCESS");
	CHECK_STR(cg_bpf_action_format(0, buf, sizeof(buf)), "KILL_THREAD");
	CHECK_STR(cg_bpf_action_format(SECCOMP_RET_TRAP, buf, sizeof(buf)), "TRAP(0)");
	return 0;
}

/* The sniffing `disasm` uses, and the path listing `sim` prints. */
static int test_looks_like_profile_and_trace(void)
{
	static const struct sock_filter p[] = {
		LD_ARCH,
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 3),
		LD_NR,
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 59, 0, 1),
		RET(ERRNO(1)),
		RET(SECCOMP_RET_ALLOW),
	};
	struct seccomp_data d = mk(59, AUDIT_ARCH_X86_64, 0, 0, 0);
	struct cg_bpf_trace t = { 0 };
	struct cg_strbuf sb;
	uint32_t ret = 0;

	CHECK(cg_bpf_looks_like_profile("{\"defaultAction\":1}", 18));
	CHECK(cg_bpf_looks_like_profile("\n  ---\nkind: x", 14));
	CHECK(cg_bpf_looks_like_profile("apiVersion: v1", 14));
	CHECK(!cg_bpf_looks_like_profile("", 0));
	CHECK(!cg_bpf_looks_like_profile("  \n", 3));
	CHECK(!cg_bpf_looks_like_profile("{\0", 2));
	CHECK(!cg_bpf_looks_like_profile(p, sizeof(p)));

	CHECK(cg_bpf_run(p, N(p), &d, &t, &ret, NULL) == 0);
	CHECK_EQ_INT(ret, ERRNO(1));
	cg_strbuf_init(&sb);
	cg_bpf_disasm_trace(p, N(p), &t, -1, "> ", &sb);
	CHECK_CONTAINS(sb.buf, "> ");
	CHECK_CONTAINS(sb.buf, "execve");
	size_t lines = 0;
	for (const char *q = sb.buf; q && *q; q++)
		lines += *q == '\n';
	CHECK_EQ_INT(lines, t.n);
	CHECK(!strstr(sb.buf, "ALLOW")); /* the instruction not run is not listed */
	cg_strbuf_release(&sb);
	cg_bpf_trace_release(&t);
	return 0;
}

/*
 * Two filters as one (runtime/bpf_stack.h), held to the kernel: the same
 * calls under the two filters loaded one after the other and under the
 * folded program give the same results, live. Errno values tell which
 * filter answered: on a tie of actions the later filter's answer wins.
 */
static const int stack_calls[] = { SYS_getppid, SYS_getpgrp, SYS_getuid, SYS_geteuid, SYS_getsid };

static int stack_child(const struct cg_bpf_prog *a, const struct cg_bpf_prog *b, int wfd)
{
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	for (int i = 0; i < 2; i++) {
		const struct cg_bpf_prog *p = i ? b : a;
		struct sock_fprog fp = { .len = (unsigned short)(p ? p->len : 0), .filter = p ? p->insns : NULL };
		if (p && syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fp) < 0)
			_exit(100);
	}
	for (size_t i = 0; i < N(stack_calls); i++) {
		int e = syscall(stack_calls[i], 0) < 0 ? errno : 0;
		if (write(wfd, &e, sizeof(e)) != sizeof(e))
			_exit(101);
	}
	_exit(0);
}

/* Results of stack_calls under @a then @b: errnos, and how the child ended. */
static int stack_run(const struct cg_bpf_prog *a, const struct cg_bpf_prog *b, int *errs, int *status)
{
	int fd[2], n = 0;
	if (pipe(fd) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		close(fd[0]);
		stack_child(a, b, fd[1]);
	}
	close(fd[1]);
	while (n < (int)N(stack_calls) && read(fd[0], &errs[n], sizeof(int)) == sizeof(int))
		n++;
	close(fd[0]);
	waitpid(pid, status, 0);
	return n;
}

static int test_stack(void)
{
	/* first: getppid ERRNO(11), getpgrp ERRNO(12), getsid ERRNO(13), else allow */
	struct sock_filter fa[] = {
		LD_NR,
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
		RET(ERRNO(11)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getpgrp, 0, 1),
		RET(ERRNO(12)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getsid, 0, 1),
		RET(ERRNO(13)),
		RET(ALLOW),
	};
	/* later: getppid ERRNO(22) (a tie: the later wins), getuid ERRNO(23),
	 * getsid ERRNO(24) unless arg0 is 0, where it kills (stricter); it
	 * reads X before writing it, which a program may do */
	struct sock_filter fb[] = {
		BPF_STMT(BPF_MISC | BPF_TXA, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0),
		RET(SECCOMP_RET_KILL_PROCESS),
		LD_NR,
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
		RET(ERRNO(22)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getuid, 0, 1),
		RET(ERRNO(23)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getsid, 0, 4),
		LD_ARG_LO(0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),
		RET(SECCOMP_RET_KILL_PROCESS),
		RET(ERRNO(24)),
		RET(ALLOW),
	};
	struct cg_bpf_prog a = { fa, N(fa) }, b = { fb, N(fb) }, one = { 0 };
	struct cg_error err = { 0 };
	int e2[8] = { 0 }, e1[8] = { 0 }, st2 = 0, st1 = 0;

	CHECK(cg_bpf_stack_ret(ERRNO(11), ERRNO(22)) == ERRNO(22));
	CHECK(cg_bpf_stack_ret(ERRNO(11), ALLOW) == ERRNO(11));
	CHECK(cg_bpf_stack_ret(SECCOMP_RET_KILL_PROCESS, ERRNO(1)) == SECCOMP_RET_KILL_PROCESS);
	CHECK(cg_bpf_stack_ret(SECCOMP_RET_LOG, SECCOMP_RET_USER_NOTIF) == SECCOMP_RET_USER_NOTIF);
	CHECKF(cg_bpf_stack(&a, &b, &one, &err) == 0, "%s", err.msg);
	if (!one.insns)
		return 0;
	/* every answer of the emulator, on a few inputs */
	for (size_t i = 0; i < N(stack_calls); i++)
		for (uint64_t arg = 0; arg < 2; arg++) {
			struct seccomp_data d = { .nr = stack_calls[i], .arch = AUDIT_ARCH_X86_64, .args = { arg } };
			uint32_t ra = 0, rb = 0, r1 = 0;
			CHECK(cg_bpf_run(a.insns, a.len, &d, NULL, &ra, &err) == 0);
			CHECK(cg_bpf_run(b.insns, b.len, &d, NULL, &rb, &err) == 0);
			CHECK(cg_bpf_run(one.insns, one.len, &d, NULL, &r1, &err) == 0);
			CHECKF(r1 == cg_bpf_stack_ret(ra, rb), "nr %d arg %llu: folded %#x, stacked %#x", d.nr,
			       (unsigned long long)arg, r1, cg_bpf_stack_ret(ra, rb));
		}
	/* and the kernel's: two filters against the folded one (getsid(0) kills) */
	int n2 = stack_run(&a, &b, e2, &st2), n1 = stack_run(&one, NULL, e1, &st1);
	CHECK_EQ_INT(n2, 4);
	CHECK_EQ_INT(n1, n2);
	CHECK(WIFSIGNALED(st2) && WTERMSIG(st2) == SIGSYS);
	CHECK(WIFSIGNALED(st1) && WTERMSIG(st1) == SIGSYS);
	for (int i = 0; i < n2 && i < n1; i++)
		CHECKF(e1[i] == e2[i], "call %d: folded errno %d, two filters %d", i, e1[i], e2[i]);
	CHECKF(n2 == 4 && e2[0] == 22 && e2[1] == 12 && e2[2] == 23 && e2[3] == 0, "two filters: %d calls, errnos %d %d %d %d, status %#x; folded status %#x",
	       n2, e2[0], e2[1], e2[2], e2[3], st2, st1);
	cg_bpf_prog_release(&one);

	/* what cannot be folded */
	struct sock_filter fret_a[] = { BPF_STMT(BPF_LD | BPF_IMM, ALLOW), BPF_STMT(BPF_RET | BPF_A, 0) };
	struct cg_bpf_prog ra = { fret_a, N(fret_a) };
	CHECK(cg_bpf_stack(&ra, &b, &one, &err) == -EINVAL);
	CHECK(cg_bpf_stack(&a, &ra, &one, &err) == -EINVAL);
	static struct sock_filter big[3000];
	for (size_t i = 0; i + 1 < N(big); i++)
		big[i] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_IMM, 0);
	big[N(big) - 1] = (struct sock_filter)RET(ALLOW);
	struct cg_bpf_prog pb = { big, N(big) };
	CHECK(cg_bpf_stack(&a, &pb, &one, &err) == -E2BIG);
	return 0;
}

int main(void)
{
	RUN(test_validate);
	RUN(test_validate_lengths);
	RUN(test_validate_kernel);
	RUN(test_run_arch_and_nr);
	RUN(test_run_args);
	RUN(test_run_alu);
	RUN(test_run_div_zero);
	RUN(test_run_scratch);
	RUN(test_run_jumps_and_trace);
	RUN(test_run_invalid);
	RUN(test_run_kernel_differential);
	RUN(test_libseccomp);
	RUN(test_disasm);
	RUN(test_cache_predict);
	RUN(test_stack);
	RUN(test_parse);
	RUN(test_action_format);
	RUN(test_looks_like_profile_and_trace);
	T_DONE();
}
