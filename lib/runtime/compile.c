// SPDX-License-Identifier: Apache-2.0
/*
 * closure -> classic BPF for seccomp.
 *
 * capgate generates the program itself rather than through libseccomp's
 * rule API: libseccomp 2.5 reads rule numbers in the native numbering and
 * translates them by name (so a per-arch closure cannot be expressed
 * exactly), does not know calls newer than its release, and rewrites i386
 * socket calls into socketcall. The layout follows libseccomp's binary-tree
 * optimisation: arch dispatch first, then a balanced search over syscall
 * numbers, then per-call argument checks in kernel precedence order.
 *
 * The program is emitted back to front, so every jump target already
 * exists when the jump is written; targets beyond the 8-bit conditional
 * range get a `ja` trampoline.
 */
#include <capgate/compile.h>

#include <errno.h>
#include <linux/audit.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "closure/closure_internal.h"
#include "core/error_internal.h"

#ifndef SECCOMP_FILTER_FLAG_LOG
#define SECCOMP_FILTER_FLAG_LOG (1UL << 1)
#endif
#ifndef SECCOMP_FILTER_FLAG_SPEC_ALLOW
#define SECCOMP_FILTER_FLAG_SPEC_ALLOW (1UL << 2)
#endif
#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

#define OFF_NR 0
#define OFF_ARCH 4
#define OFF_ARG_LO(i) (16 + 8 * (i))
#define OFF_ARG_HI(i) (16 + 8 * (i) + 4)

/* ---- back-to-front emitter -------------------------------------------------- */

struct emitter {
	struct sock_filter *v; /* in emission order: v[0] is the program's last insn */
	uint32_t n, cap;
	int err;
	uint32_t ret_label[8][2]; /* small cache of return insns */
	uint32_t ret_k[8][2];
	unsigned n_ret;
};

/* A label is the emission count right after an insn was emitted. */
static uint32_t emit(struct emitter *e, struct sock_filter f)
{
	if (e->err)
		return e->n;
	if (e->n == e->cap) {
		uint32_t ncap = e->cap ? e->cap * 2 : 256;
		struct sock_filter *nv = realloc(e->v, ncap * sizeof(*nv));
		if (!nv) {
			e->err = -ENOMEM;
			return e->n;
		}
		e->v = nv;
		e->cap = ncap;
	}
	e->v[e->n++] = f;
	return e->n;
}

static uint32_t emit_stmt(struct emitter *e, uint16_t code, uint32_t k)
{
	return emit(e, (struct sock_filter)BPF_STMT(code, k));
}

static uint32_t emit_ja(struct emitter *e, uint32_t target)
{
	uint32_t p = e->n + 1;
	return emit(e, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JA, p - target - 1, 0, 0));
}

/* Make @label the instruction that follows the next one emitted. */
static uint32_t fall_to(struct emitter *e, uint32_t label)
{
	return label == e->n ? label : emit_ja(e, label);
}

static uint32_t emit_jmp(struct emitter *e, uint16_t op, uint32_t k, uint32_t t_true, uint32_t t_false)
{
	for (;;) {
		uint32_t p = e->n + 1;
		if (p - t_true - 1 > 255) {
			t_true = emit_ja(e, t_true);
			continue;
		}
		if (p - t_false - 1 > 255) {
			t_false = emit_ja(e, t_false);
			continue;
		}
		return emit(e, (struct sock_filter)BPF_JUMP(BPF_JMP | op | BPF_K, k, (uint8_t)(p - t_true - 1),
							    (uint8_t)(p - t_false - 1)));
	}
}

/* Returns are shared; a cached one is reused while it is still reachable
 * without a trampoline chain growing (re-emitted otherwise). */
static uint32_t emit_ret(struct emitter *e, uint32_t k)
{
	for (unsigned i = 0; i < e->n_ret; i++)
		if (e->ret_k[i][0] == k && e->n - e->ret_label[i][0] < 200)
			return e->ret_label[i][0];
	uint32_t l = emit_stmt(e, BPF_RET | BPF_K, k);
	unsigned slot = e->n_ret < 8 ? e->n_ret++ : (k % 8);
	e->ret_k[slot][0] = k;
	e->ret_label[slot][0] = l;
	return l;
}

/* ---- argument checks ------------------------------------------------------- */

static uint32_t emit_cond(struct emitter *e, const struct cg_arg_cond *c, unsigned bits, uint32_t ok,
			  uint32_t fail)
{
	uint64_t m = bits >= 64 ? UINT64_MAX : ((UINT64_C(1) << bits) - 1);
	uint32_t l;

	if (bits <= 32) {
		uint32_t v = (uint32_t)(c->value & m);
		switch (c->op) {
		case CG_OP_EQ:
			l = emit_jmp(e, BPF_JEQ, v, ok, fail);
			break;
		case CG_OP_NE:
			l = emit_jmp(e, BPF_JEQ, v, fail, ok);
			break;
		case CG_OP_GT:
			l = emit_jmp(e, BPF_JGT, v, ok, fail);
			break;
		case CG_OP_GE:
			l = emit_jmp(e, BPF_JGE, v, ok, fail);
			break;
		case CG_OP_LT:
			l = emit_jmp(e, BPF_JGE, v, fail, ok);
			break;
		case CG_OP_LE:
			l = emit_jmp(e, BPF_JGT, v, fail, ok);
			break;
		case CG_OP_MASKED_EQ: {
			uint32_t mask = (uint32_t)(c->value & m), want = (uint32_t)(c->value_two & m);
			if (want & ~mask)
				return fail; /* can never hold */
			l = emit_jmp(e, BPF_JEQ, want, ok, fail);
			l = emit_stmt(e, BPF_ALU | BPF_AND | BPF_K, mask);
			return emit_stmt(e, BPF_LD | BPF_W | BPF_ABS, OFF_ARG_LO(c->index));
		}
		default:
			return fail;
		}
		if (bits < 32)
			emit_stmt(e, BPF_ALU | BPF_AND | BPF_K, (uint32_t)m);
		return emit_stmt(e, BPF_LD | BPF_W | BPF_ABS, OFF_ARG_LO(c->index));
	}

	uint32_t vhi = (uint32_t)(c->value >> 32), vlo = (uint32_t)c->value;
	uint32_t lo;
	switch (c->op) {
	case CG_OP_EQ:
		lo = emit_jmp(e, BPF_JEQ, vlo, ok, fail);
		lo = emit_stmt(e, BPF_LD | BPF_W | BPF_ABS, OFF_ARG_LO(c->index));
		l = emit_jmp(e, BPF_JEQ, vhi, lo, fail);
		break;
	case CG_OP_NE:
		lo = emit_jmp(e, BPF_JEQ, vlo, fail, ok);
		lo = emit_stmt(e, BPF_LD | BPF_W | BPF_ABS, OFF_ARG_LO(c->index));
		l = emit_jmp(e, BPF_JEQ, vhi, lo, ok);
		break;
	case CG_OP_GT:
	case CG_OP_GE:
		lo = emit_jmp(e, c->op == CG_OP_GT ? BPF_JGT : BPF_JGE, vlo, ok, fail);
		lo = emit_stmt(e, BPF_LD | BPF_W | BPF_ABS, OFF_ARG_LO(c->index));
		l = emit_jmp(e, BPF_JEQ, vhi, lo, fail);
		l = emit_jmp(e, BPF_JGT, vhi, ok, l);
		break;
	case CG_OP_LT:
	case CG_OP_LE:
		lo = emit_jmp(e, c->op == CG_OP_LT ? BPF_JGE : BPF_JGT, vlo, fail, ok);
		lo = emit_stmt(e, BPF_LD | BPF_W | BPF_ABS, OFF_ARG_LO(c->index));
		l = emit_jmp(e, BPF_JEQ, vhi, lo, ok);
		l = emit_jmp(e, BPF_JGT, vhi, fail, l);
		break;
	case CG_OP_MASKED_EQ: {
		uint64_t mask = c->value, want = c->value_two;
		if (want & ~mask)
			return fail;
		lo = ok;
		if ((uint32_t)mask) {
			lo = emit_jmp(e, BPF_JEQ, (uint32_t)want, ok, fail);
			if ((uint32_t)mask != UINT32_MAX)
				emit_stmt(e, BPF_ALU | BPF_AND | BPF_K, (uint32_t)mask);
			lo = emit_stmt(e, BPF_LD | BPF_W | BPF_ABS, OFF_ARG_LO(c->index));
		}
		if (!(mask >> 32))
			return lo;
		l = emit_jmp(e, BPF_JEQ, (uint32_t)(want >> 32), lo, fail);
		if ((uint32_t)(mask >> 32) != UINT32_MAX)
			emit_stmt(e, BPF_ALU | BPF_AND | BPF_K, (uint32_t)(mask >> 32));
		return emit_stmt(e, BPF_LD | BPF_W | BPF_ABS, OFF_ARG_HI(c->index));
	}
	default:
		return fail;
	}
	return emit_stmt(e, BPF_LD | BPF_W | BPF_ABS, OFF_ARG_HI(c->index));
}

/* A rule holds when, for every argument index it names, one of its
 * conditions on that index holds. */
static uint32_t emit_rule_check(struct emitter *e, const struct cg_rule *r, const struct cg_arch_info *ai,
				uint32_t ok, uint32_t fail)
{
	uint32_t cur = ok;
	for (int idx = 5; idx >= 0; idx--) {
		unsigned bits = ai->bits == 32 ? 32 : cg_syscall_arg_bits(r->name, (unsigned)idx);
		uint32_t group_fail = fail, entry = 0;
		bool any = false;
		for (int i = r->n_args - 1; i >= 0; i--) {
			if (r->args[i].index != idx)
				continue;
			entry = emit_cond(e, &r->args[i], bits, cur, group_fail);
			group_fail = entry;
			any = true;
		}
		if (any)
			cur = entry;
	}
	return cur;
}

/* ---- per-arch program ------------------------------------------------------ */

struct leaf {
	uint32_t nr;
	const struct cg_rule **rules; /* rules for this nr, in scope */
	size_t n_rules;
	bool simple; /* decided without looking at arguments: ret_k */
	uint32_t ret_k;
	uint32_t label; /* entry of the argument checks, when !simple */
};

static int rule_prec_qsort(const void *a, const void *b)
{
	const struct cg_rule *x = *(const struct cg_rule *const *)a, *y = *(const struct cg_rule *const *)b;
	return cg_action_cmp(x->action, y->action);
}

static struct cg_action effective(const struct cg_compile_opts *o, struct cg_action a)
{
	if (o->audit && !cg_action_permits(a))
		return (struct cg_action){ CG_ACT_LOG, 0 };
	return a;
}

/* Whether rule @r names a call on @arch, for the ENOSYS floor. */
static bool names_on_arch(const struct cg_rule *r, enum cg_arch_id arch)
{
	return !r->arch_mask || (r->arch_mask & CG_ARCH_BIT(arch));
}

/* Highest syscall number the closure names on @arch (-1 if none): above it
 * the prologue answers ENOSYS. */
static int cg_compile_enosys_floor(const struct cg_closure *c, enum cg_arch_id arch)
{
	int max = -1;
	for (size_t i = 0; i < c->n_rules; i++) {
		int nr;
		if (!names_on_arch(&c->rules[i], arch))
			continue;
		nr = cg_syscall_nr(arch, c->rules[i].name);
		if (nr > max)
			max = nr;
	}
	return max;
}

static bool stub_applies(const struct cg_closure *c, const struct cg_compile_opts *o)
{
	return !o->no_enosys_stub && !cg_action_permits(c->default_action);
}

static int leaf_qsort(const void *a, const void *b)
{
	const struct leaf *x = a, *y = b;
	return x->nr < y->nr ? -1 : x->nr > y->nr;
}

/* A run of consecutive syscall numbers that share one decision. */
struct seg {
	uint32_t start;
	bool simple;
	uint32_t ret_k; /* when simple */
	uint32_t label; /* argument checks, when !simple */
};

static void seg_push(struct seg *v, size_t *n, uint32_t start, bool simple, uint32_t k, uint32_t label)
{
	if (*n && simple && v[*n - 1].simple && v[*n - 1].ret_k == k)
		return; /* extends the previous run */
	v[(*n)++] = (struct seg){ start, simple, k, label };
}

/* Binary search over the runs' start numbers: depth log2(runs). Returns are
 * emitted next to the jumps that use them (shared while near), so a leaf
 * costs no trampoline. Only jge and ret: the kernel's action-cache
 * predictor follows it. */
static uint32_t emit_segs(struct emitter *e, const struct seg *v, size_t lo, size_t hi)
{
	if (hi - lo == 1)
		return v[lo].simple ? emit_ret(e, v[lo].ret_k) : v[lo].label;
	size_t mid = lo + (hi - lo) / 2;
	uint32_t right = emit_segs(e, v, mid, hi);
	uint32_t left = emit_segs(e, v, lo, mid);
	return emit_jmp(e, BPF_JGE, v[mid].start, right, left);
}

/* The block for one arch, entered with nothing loaded. Returns its label. */
static int emit_arch(struct emitter *e, const struct cg_closure *c, const struct cg_compile_opts *o,
		     enum cg_arch_id arch, bool load_nr, uint32_t *ret_label, struct cg_error *err)
{
	const struct cg_arch_info *ai = cg_arch_info(arch);
	struct leaf *lv = calloc(c->n_rules + 1, sizeof(*lv));
	const struct cg_rule **pool = calloc(c->n_rules + 1, sizeof(*pool));
	size_t n_leaves = 0, used = 0;
	uint32_t def_k, entry;
	int r = 0, floor = -1; /* cg_compile_enosys_floor, from the same lookups */

	if (!lv || !pool) {
		r = cg_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	/* group in-scope rules by number (rules are sorted by name, so one
	 * name's rules are adjacent) */
	for (size_t i = 0; i < c->n_rules;) {
		size_t j = i;
		int nr = cg_syscall_nr(arch, c->rules[i].name);
		size_t start = used;
		while (j < c->n_rules && strcmp(c->rules[j].name, c->rules[i].name) == 0) {
			if (nr >= 0 && cg_rule_in_scope(&c->rules[j], CG_ARCH_BIT(arch), o->phase))
				pool[used++] = &c->rules[j];
			if (nr > floor && names_on_arch(&c->rules[j], arch))
				floor = nr;
			j++;
		}
		if (used > start) {
			lv[n_leaves].nr = (uint32_t)nr;
			lv[n_leaves].rules = &pool[start];
			lv[n_leaves].n_rules = used - start;
			n_leaves++;
		}
		i = j;
	}
	if (n_leaves)
		qsort(lv, n_leaves, sizeof(*lv), leaf_qsort);

	def_k = cg_action_ret(effective(o, c->default_action));
	/* leaves: rules in kernel precedence order, first match wins */
	for (size_t i = 0; i < n_leaves; i++) {
		struct leaf *l = &lv[i];
		uint32_t next;
		if (l->n_rules > 1) /* (glibc's qsort costs ~300 instructions even for one) */
			qsort(l->rules, l->n_rules, sizeof(*l->rules), rule_prec_qsort);
		if (l->rules[0]->n_args == 0) {
			/* the most restrictive rule holds unconditionally */
			l->simple = true;
			l->ret_k = cg_action_ret(effective(o, l->rules[0]->action));
			continue;
		}
		next = emit_ret(e, def_k);
		/* the first unconditional rule ends the chain */
		size_t last = l->n_rules;
		for (size_t k = 0; k < l->n_rules; k++)
			if (l->rules[k]->n_args == 0) {
				last = k + 1;
				next = emit_ret(e, cg_action_ret(effective(o, l->rules[k]->action)));
				last = k;
				break;
			}
		for (size_t k = last; k-- > 0;) {
			uint32_t ok = emit_ret(e, cg_action_ret(effective(o, l->rules[k]->action)));
			next = emit_rule_check(e, l->rules[k], ai, ok, next);
		}
		l->label = next;
	}
	/* the number line from the arch's base: runs of default, leaves, and
	 * ENOSYS above the highest number the profile names */
	struct seg *segs = calloc(2 * n_leaves + 3, sizeof(*segs));
	size_t n_segs = 0;
	uint32_t cur = ai->nr_base;
	if (!stub_applies(c, o))
		floor = -1;
	if (!segs) {
		r = cg_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n_leaves; i++) {
		if (lv[i].nr > cur)
			seg_push(segs, &n_segs, cur, true, def_k, 0);
		seg_push(segs, &n_segs, lv[i].nr, lv[i].simple, lv[i].ret_k, lv[i].label);
		cur = lv[i].nr + 1;
	}
	/* floor >= every leaf's number, so cur <= floor + 1 here */
	if (floor < 0 || cur <= (uint32_t)floor)
		seg_push(segs, &n_segs, cur, true, def_k, 0);
	if (floor >= 0)
		seg_push(segs, &n_segs, (uint32_t)floor + 1, true,
			 cg_action_ret(effective(o, (struct cg_action){ CG_ACT_ERRNO, ENOSYS })), 0);
	entry = emit_segs(e, segs, 0, n_segs);
	free(segs);
	if (load_nr) {
		fall_to(e, entry);
		entry = emit_stmt(e, BPF_LD | BPF_W | BPF_ABS, OFF_NR);
	}
	*ret_label = entry;
out:
	free(lv);
	free(pool);
	return r;
}

/* ---- socketcall sub-calls --------------------------------------------------- */

/* The direct call each socketcall(2) sub-call stands for (linux/net.h
 * SYS_*); SYS_SEND and SYS_RECV are what glibc makes of send/recv. */
static const char *const socketcall_names[CG_SOCKETCALL_MAX + 1] = {
	NULL,
	"socket",
	"bind",
	"connect",
	"listen",
	"accept",
	"getsockname",
	"getpeername",
	"socketpair",
	"sendto",
	"recvfrom",
	"sendto",
	"recvfrom",
	"shutdown",
	"setsockopt",
	"getsockopt",
	"sendmsg",
	"recvmsg",
	"accept4",
	"recvmmsg",
	"sendmmsg",
};

const char *cg_compile_socketcall_name(uint32_t call)
{
	return call <= CG_SOCKETCALL_MAX ? socketcall_names[call] : NULL;
}

/* What the closure does with a socketcall sub-call's direct call on one
 * arch when its arguments cannot be read: the most restrictive of its rules
 * (a conditional denial might hold), and the default action unless a rule
 * holds unconditionally. Gathered for every sub-call in one pass over the
 * rules (20 sub-calls x every rule, once per arch, was most of the
 * compiler's time on Docker's profile). */
struct blind {
	struct cg_action worst;
	bool any, uncond;
};

/* @c with, on every arch of it that has socketcall, a rule "socketcall with
 * argument 0 == SYS_X" carrying the blind action of X wherever that action
 * does not simply let the call run. *ret is NULL when nothing is added (use
 * @c as it is). Only where socketcall can run at all: a socketcall the
 * closure never names keeps its default, and the ENOSYS floor its place. */
static int socketcall_derive(const struct cg_closure *c, int phase, struct cg_closure **ret)
{
	struct blind b[CG_ARCH_COUNT][CG_SOCKETCALL_MAX + 1];
	bool named[CG_ARCH_COUNT] = { false };
	uint32_t archs = 0;
	struct cg_closure *d = NULL;

	*ret = NULL;
	for (int a = 0; a < CG_ARCH_COUNT; a++)
		if ((c->arch_mask & CG_ARCH_BIT(a)) && cg_syscall_nr((enum cg_arch_id)a, "socketcall") >= 0)
			archs |= CG_ARCH_BIT(a);
	if (!archs)
		return 0;
	memset(b, 0, sizeof(b));
	for (size_t i = 0; i < c->n_rules; i++) {
		const struct cg_rule *r = &c->rules[i];
		bool sc = strcmp(r->name, "socketcall") == 0;
		for (uint32_t call = 1; call <= CG_SOCKETCALL_MAX && !sc; call++) {
			/* (the first byte first: a call to strcmp per rule and sub-call
			 * was a tenth of a start's instructions) */
			if (r->name[0] != socketcall_names[call][0] || strcmp(r->name, socketcall_names[call]) != 0)
				continue;
			for (int a = 0; a < CG_ARCH_COUNT; a++) {
				struct blind *x = &b[a][call];
				if (!(archs & CG_ARCH_BIT(a)) || !cg_rule_in_scope(r, CG_ARCH_BIT(a), phase))
					continue;
				if (!x->any || cg_action_cmp(r->action, x->worst) < 0)
					x->worst = r->action;
				x->any = true;
				x->uncond |= r->n_args == 0;
			}
		}
		for (int a = 0; a < CG_ARCH_COUNT && sc; a++)
			named[a] |= (archs & CG_ARCH_BIT(a)) && cg_rule_in_scope(r, CG_ARCH_BIT(a), phase);
	}
	for (int a = 0; a < CG_ARCH_COUNT; a++) {
		if (!(archs & CG_ARCH_BIT(a)))
			continue;
		if (!named[a] && !cg_action_permits(c->default_action))
			continue;
		for (uint32_t call = 1; call <= CG_SOCKETCALL_MAX; call++) {
			struct blind *x = &b[a][call];
			struct cg_action act = x->any ? x->worst : c->default_action;
			char origin[96];
			if (!x->uncond && x->any && cg_action_cmp(c->default_action, act) < 0)
				act = c->default_action;
			if (act.kind == CG_ACT_ALLOW || act.kind == CG_ACT_LOG)
				continue;
			if (!d && !(d = cg_closure_dup_reserve(c, CG_SOCKETCALL_MAX * (size_t)__builtin_popcount(archs))))
				return -ENOMEM;
			snprintf(origin, sizeof(origin), "capgate: socketcall sub-call %u stands for %s, which the closure denies",
				 call, socketcall_names[call]);
			struct cg_rule r = {
				.name = (char *)"socketcall",
				.action = act,
				.n_args = 1,
				.args = { { .index = 0, .op = CG_OP_EQ, .value = call } },
				.arch_mask = CG_ARCH_BIT(a),
				.origin = origin,
			};
			if (cg_closure_add_rule(d, &r) < 0) {
				cg_closure_free(d);
				return -ENOMEM;
			}
		}
	}
	if (d)
		cg_closure_canonicalize(d);
	*ret = d;
	return 0;
}

static struct cg_action bad_arch_action(const struct cg_compile_opts *o)
{
	return o->has_bad_arch ? o->bad_arch : (struct cg_action){ CG_ACT_KILL_PROCESS, 0 };
}

int cg_compile(const struct cg_closure *c0, const struct cg_compile_opts *opts, struct cg_bpf_prog *ret,
	       struct cg_error *err)
{
	struct cg_compile_opts o = { .sz = sizeof(o), .phase = -1 };
	_cleanup_(cg_closure_freep) struct cg_closure *derived = NULL;
	const struct cg_closure *c = c0;
	struct emitter e = { 0 };
	uint32_t next, bad;
	int r;

	if ((r = CG_OPTS_COPY(&o, opts)) < 0)
		return cg_opts_error(err, r, "cg_compile_opts");
	if (o.phase >= (int)c->n_phases)
		return cg_error_set(err, -EINVAL, "phase %d does not exist", o.phase);
	if (!c->arch_mask)
		return cg_error_set(err, -EINVAL, "the closure accepts no architecture");
	for (int a = 0; a < CG_ARCH_COUNT; a++)
		if ((c->arch_mask & CG_ARCH_BIT(a)) && cg_syscall_max_nr(a) < 0)
			return cg_error_set(err, -EINVAL, "capgate has no syscall table for %s", cg_arch_info(a)->name);
	if (socketcall_derive(c0, o.phase, &derived) < 0)
		return cg_error_set(err, -ENOMEM, "out of memory");
	if (derived)
		c = derived;

	bad = emit_ret(&e, cg_action_ret(effective(&o, bad_arch_action(&o))));
	next = bad;
	/* arch dispatch, emitted back to front: the last arch tested first */
	for (int a = CG_ARCH_COUNT - 1; a >= 0; a--) {
		uint32_t block;
		if (!(c->arch_mask & CG_ARCH_BIT(a)) || a == CG_ARCH_X32)
			continue;
		if (a == CG_ARCH_X86_64) {
			/* x86_64 and x32 share AUDIT_ARCH_X86_64; x32 sets bit 30 */
			uint32_t x64 = bad, x32 = bad;
			if (c->arch_mask & CG_ARCH_BIT(CG_ARCH_X32))
				if ((r = emit_arch(&e, c, &o, CG_ARCH_X32, false, &x32, err)) < 0)
					goto fail;
			if ((r = emit_arch(&e, c, &o, CG_ARCH_X86_64, false, &x64, err)) < 0)
				goto fail;
			block = emit_jmp(&e, BPF_JGE, CG_X32_SYSCALL_BIT, x32, x64);
			block = emit_stmt(&e, BPF_LD | BPF_W | BPF_ABS, OFF_NR);
		} else if ((r = emit_arch(&e, c, &o, (enum cg_arch_id)a, true, &block, err)) < 0) {
			goto fail;
		}
		next = emit_jmp(&e, BPF_JEQ, cg_arch_info(a)->audit, block, next);
	}
	if (c->arch_mask == CG_ARCH_BIT(CG_ARCH_X32)) {
		/* x32 alone: x86_64-numbered calls are a foreign arch */
		uint32_t x32, block;
		if ((r = emit_arch(&e, c, &o, CG_ARCH_X32, false, &x32, err)) < 0)
			goto fail;
		block = emit_jmp(&e, BPF_JGE, CG_X32_SYSCALL_BIT, x32, bad);
		block = emit_stmt(&e, BPF_LD | BPF_W | BPF_ABS, OFF_NR);
		next = emit_jmp(&e, BPF_JEQ, AUDIT_ARCH_X86_64, block, next);
	}
	fall_to(&e, next);
	emit_stmt(&e, BPF_LD | BPF_W | BPF_ABS, OFF_ARCH);
	if (e.err) {
		r = cg_error_set(err, e.err, "out of memory");
		goto fail;
	}
	if (e.n > CG_BPF_MAXINSNS) {
		r = cg_error_set(err, -E2BIG, "the filter needs %u instructions; the kernel accepts at most %d", e.n,
				 CG_BPF_MAXINSNS);
		goto fail;
	}
	/* reverse into program order */
	for (uint32_t i = 0; i < e.n / 2; i++) {
		struct sock_filter t = e.v[i];
		e.v[i] = e.v[e.n - 1 - i];
		e.v[e.n - 1 - i] = t;
	}
	if ((r = cg_bpf_validate(e.v, e.n, err)) < 0) {
		cg_error_prefix(err, "internal error, generated program is invalid: ");
		goto fail;
	}
	ret->insns = e.v;
	ret->len = e.n;
	return 0;
fail:
	free(e.v);
	return r;
}

unsigned int cg_compile_seccomp_flags(const struct cg_closure *c)
{
	unsigned int f = 0;
	if (c->flags & CG_FLAG_TSYNC)
		f |= SECCOMP_FILTER_FLAG_TSYNC;
	if (c->flags & CG_FLAG_LOG)
		f |= SECCOMP_FILTER_FLAG_LOG;
	if (c->flags & CG_FLAG_SPEC_ALLOW)
		f |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
	if (c->flags & CG_FLAG_WAIT_KILLABLE)
		f |= SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
	bool notify = c->default_action.kind == CG_ACT_NOTIFY;
	for (size_t i = 0; i < c->n_rules && !notify; i++)
		notify = c->rules[i].action.kind == CG_ACT_NOTIFY;
	if (notify)
		f |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
	return f;
}

uint32_t cg_compile_expect(const struct cg_closure *c0, const struct cg_compile_opts *opts, uint32_t audit_arch,
			   uint32_t nr, const uint64_t args[6])
{
	struct cg_compile_opts o = { .sz = sizeof(o), .phase = -1 };
	_cleanup_(cg_closure_freep) struct cg_closure *derived = NULL;
	const struct cg_closure *c = c0;
	int arch = -1;
	const char *name;

	if (CG_OPTS_COPY(&o, opts) < 0)
		return SECCOMP_RET_KILL_PROCESS; /* options it cannot read: deny */
	for (int a = 0; a < CG_ARCH_COUNT; a++)
		if ((c->arch_mask & CG_ARCH_BIT(a)) && cg_arch_info(a)->audit == audit_arch) {
			if (audit_arch == AUDIT_ARCH_X86_64) /* as the program: nr >= bit 30 */
				arch = nr >= CG_X32_SYSCALL_BIT ? CG_ARCH_X32 : CG_ARCH_X86_64;
			else
				arch = a;
			break;
		}
	if (arch < 0 || !(c->arch_mask & CG_ARCH_BIT(arch)))
		return cg_action_ret(effective(&o, bad_arch_action(&o)));
	if (stub_applies(c, &o)) {
		int floor = cg_compile_enosys_floor(c, (enum cg_arch_id)arch);
		if (floor >= 0 && nr > (uint32_t)floor)
			return cg_action_ret(effective(&o, (struct cg_action){ CG_ACT_ERRNO, ENOSYS }));
	}
	name = cg_syscall_name((enum cg_arch_id)arch, nr);
	/* The derived rules are all "socketcall" rules for an arch that names
	 * socketcall already (or allows it by default, where no floor applies):
	 * they change neither the arch, nor the floor, nor any other call's
	 * decision -- so they are made only when the call is socketcall. */
	if (name && strcmp(name, "socketcall") == 0) {
		if (socketcall_derive(c0, o.phase, &derived) < 0)
			return cg_action_ret((struct cg_action){ CG_ACT_KILL_PROCESS, 0 }); /* out of memory: deny */
		if (derived)
			c = derived;
	}
	return cg_action_ret(effective(&o, cg_closure_decide(c, (enum cg_arch_id)arch, name, args, o.phase, NULL)));
}

/* The result and what only the library sees: the closure with the
 * socketcall rules, which the deciding rule may belong to. */
struct sim {
	struct cg_compile_sim pub;
	struct cg_closure *derived;
};

void cg_compile_sim_free(struct cg_compile_sim *s)
{
	struct sim *x = (struct sim *)s; /* pub is the first member */
	if (!s)
		return;
	cg_bpf_prog_release(&s->prog);
	cg_bpf_trace_release(&s->trace);
	cg_closure_free(x->derived);
	free(x);
}

int cg_compile_sim(const struct cg_closure *c, const struct cg_compile_opts *opts, enum cg_arch_id arch,
		   uint32_t nr, const uint64_t args[6], struct cg_compile_sim **ret, struct cg_error *err)
{
	struct seccomp_data d = { .nr = (int)nr };
	struct sim *x;
	int r;

	if ((unsigned)arch >= CG_ARCH_COUNT)
		return cg_error_set(err, -EINVAL, "unknown architecture %d", (int)arch);
	if (!(x = calloc(1, sizeof(*x))))
		return cg_error_set(err, -ENOMEM, "out of memory");
	struct cg_compile_sim *s = &x->pub;
	d.arch = cg_arch_info(arch)->audit;
	memcpy(d.args, args, sizeof(d.args));
	if ((r = cg_compile(c, opts, &s->prog, err)) < 0 ||
	    (r = cg_bpf_run(s->prog.insns, s->prog.len, &d, &s->trace, &s->ret, err)) < 0) {
		cg_compile_sim_free(s);
		return r;
	}
	s->expect = cg_compile_expect(c, opts, d.arch, nr, args);
	if ((r = socketcall_derive(c, opts ? opts->phase : -1, &x->derived)) < 0) {
		cg_compile_sim_free(s);
		return cg_error_set(err, r, "out of memory");
	}
	(void)cg_closure_decide(x->derived ? x->derived : c, arch, cg_syscall_name(arch, nr), args,
				opts ? opts->phase : -1, &s->rule);
	*ret = s;
	return 0;
}

/* ---- the socket filter ------------------------------------------------------ */

/* Only these bits may accompany a socket type (net/socket.c). */
#define SOCK_FLAGS_MASK 0x80800u /* SOCK_CLOEXEC | SOCK_NONBLOCK */
#define CG_MSG_FASTOPEN 0x20000000u
#define CG_MFD_NOEXEC_SEAL 0x8u /* linux/memfd.h, Linux 6.3 */
#define CG_SYS_SOCKET 1u
#define CG_SYS_SOCKETPAIR 8u

/* The send calls and which argument holds their flags. */
static const struct {
	const char *name;
	unsigned flags_idx;
} send_calls[] = {
	{ "send", 3 },
	{ "sendmmsg", 3 },
	{ "sendmsg", 2 },
	{ "sendto", 3 },
};
static const uint32_t socketcall_sends[] = { 9 /* SYS_SEND */, 11 /* SYS_SENDTO */, 16 /* SYS_SENDMSG */,
					     20 /* SYS_SENDMMSG */ };

static uint32_t sock_deny(const struct cg_socket_rules *r)
{
	if (r->audit)
		return SECCOMP_RET_LOG;
	return SECCOMP_RET_ERRNO | ((r->errno_val ? r->errno_val : EACCES) & SECCOMP_RET_DATA);
}

static bool grant_matches(const struct cg_socket_grant *g, uint32_t family, uint32_t type, uint32_t proto)
{
	return (uint32_t)g->family == family &&
	       (g->type == CG_SOCK_ANY || (uint32_t)g->type == (type & ~SOCK_FLAGS_MASK)) &&
	       (g->protocol == CG_SOCK_ANY || (uint32_t)g->protocol == proto);
}

static bool socket_granted(const struct cg_socket_rules *r, const uint64_t args[6])
{
	for (size_t i = 0; i < r->n_grants; i++)
		if (grant_matches(&r->grants[i], (uint32_t)args[0], (uint32_t)args[1], (uint32_t)args[2]))
			return true;
	return false;
}

static bool sock_arch_in(const struct cg_socket_rules *r, enum cg_arch_id a)
{
	return !r->arch_mask || (r->arch_mask & CG_ARCH_BIT(a));
}

static int send_flags_idx(enum cg_arch_id arch, uint32_t nr)
{
	for (size_t i = 0; i < CG_ARRAY_SIZE(send_calls); i++)
		if (cg_syscall_nr(arch, send_calls[i].name) == (int)nr)
			return (int)send_calls[i].flags_idx;
	return -1;
}

uint32_t cg_compile_socket_expect(const struct cg_socket_rules *r, uint32_t audit_arch, uint32_t nr,
				  const uint64_t args[6])
{
	int arch = -1;
	const char *name;

	for (int a = 0; a < CG_ARCH_COUNT; a++)
		if (a != CG_ARCH_X32 && cg_arch_info(a)->audit == audit_arch && cg_syscall_max_nr(a) >= 0)
			arch = a;
	if (arch == CG_ARCH_X86_64 && nr >= CG_X32_SYSCALL_BIT)
		arch = CG_ARCH_X32;
	if (arch < 0 || cg_syscall_max_nr(arch) < 0 || !sock_arch_in(r, (enum cg_arch_id)arch))
		return SECCOMP_RET_ALLOW; /* the closure's filter decides foreign arches */
	name = cg_syscall_name((enum cg_arch_id)arch, nr);
	if (!name)
		return SECCOMP_RET_ALLOW;
	if (strcmp(name, "io_uring_setup") == 0)
		return r->deny_io_uring ? sock_deny(r) : SECCOMP_RET_ALLOW;
	if (strcmp(name, "memfd_create") == 0) /* flags: an unsigned int */
		return r->memfd_noexec && !((uint32_t)args[1] & CG_MFD_NOEXEC_SEAL) ? sock_deny(r) : SECCOMP_RET_ALLOW;
	if (r->sockets_free)
		return SECCOMP_RET_ALLOW;
	if (strcmp(name, "socket") == 0)
		return socket_granted(r, args) ? SECCOMP_RET_ALLOW : sock_deny(r);
	if (strcmp(name, "socketpair") == 0)
		return (r->unix_pairs && (uint32_t)args[0] == AF_UNIX) || socket_granted(r, args) ? SECCOMP_RET_ALLOW
												  : sock_deny(r);
	if (strcmp(name, "socketcall") == 0) {
		uint32_t call = (uint32_t)args[0];
		if (call == CG_SYS_SOCKET || call == CG_SYS_SOCKETPAIR)
			return sock_deny(r);
		for (size_t i = 0; i < CG_ARRAY_SIZE(socketcall_sends) && r->deny_fastopen; i++)
			if (call == socketcall_sends[i])
				return sock_deny(r);
		return SECCOMP_RET_ALLOW;
	}
	int idx = send_flags_idx((enum cg_arch_id)arch, nr);
	if (idx >= 0 && r->deny_fastopen && ((uint32_t)args[idx] & CG_MSG_FASTOPEN))
		return sock_deny(r);
	return SECCOMP_RET_ALLOW;
}

/* socket(): the grants, each "family == F && type == T && protocol == P",
 * tried in turn; nothing matches: @fail. */
static uint32_t emit_grants(struct emitter *e, const struct cg_socket_rules *r, uint32_t ok, uint32_t fail)
{
	uint32_t next = fail;
	for (size_t i = r->n_grants; i-- > 0;) {
		const struct cg_socket_grant *g = &r->grants[i];
		uint32_t l = ok;
		if (g->protocol != CG_SOCK_ANY) {
			l = emit_jmp(e, BPF_JEQ, (uint32_t)g->protocol, l, next);
			l = emit_stmt(e, BPF_LD | BPF_W | BPF_ABS, OFF_ARG_LO(2));
		}
		if (g->type != CG_SOCK_ANY) {
			l = emit_jmp(e, BPF_JEQ, (uint32_t)g->type, l, next);
			emit_stmt(e, BPF_ALU | BPF_AND | BPF_K, ~SOCK_FLAGS_MASK);
			l = emit_stmt(e, BPF_LD | BPF_W | BPF_ABS, OFF_ARG_LO(1));
		}
		l = emit_jmp(e, BPF_JEQ, (uint32_t)g->family, l, next);
		next = emit_stmt(e, BPF_LD | BPF_W | BPF_ABS, OFF_ARG_LO(0));
	}
	return next;
}

/* The block for one arch (numbers of @arch), entered with nothing loaded
 * when @load_nr, else with the number in A. */
static uint32_t emit_socket_arch(struct emitter *e, const struct cg_socket_rules *r, enum cg_arch_id arch,
				 uint32_t grants, bool load_nr)
{
	uint32_t allow = emit_ret(e, SECCOMP_RET_ALLOW);
	uint32_t next = allow;
	int nr;

	if (!sock_arch_in(r, arch))
		return allow;

	/* a chain of "jeq nr" over the few calls decided here; every other
	 * number falls through to allow, decided on (arch, nr) alone */
	if ((nr = cg_syscall_nr(arch, "io_uring_setup")) >= 0 && r->deny_io_uring)
		next = emit_jmp(e, BPF_JEQ, (uint32_t)nr, emit_ret(e, sock_deny(r)), next);
	if ((nr = cg_syscall_nr(arch, "memfd_create")) >= 0 && r->memfd_noexec) {
		uint32_t l = emit_jmp(e, BPF_JSET, CG_MFD_NOEXEC_SEAL, emit_ret(e, SECCOMP_RET_ALLOW),
				      emit_ret(e, sock_deny(r)));
		l = emit_stmt(e, BPF_LD | BPF_W | BPF_ABS, OFF_ARG_LO(1));
		next = emit_jmp(e, BPF_JEQ, (uint32_t)nr, l, next);
	}
	if (r->sockets_free)
		goto out;
	for (size_t i = 0; i < CG_ARRAY_SIZE(send_calls) && r->deny_fastopen; i++) {
		if ((nr = cg_syscall_nr(arch, send_calls[i].name)) < 0)
			continue;
		uint32_t l = emit_jmp(e, BPF_JSET, CG_MSG_FASTOPEN, emit_ret(e, sock_deny(r)), emit_ret(e, SECCOMP_RET_ALLOW));
		l = emit_stmt(e, BPF_LD | BPF_W | BPF_ABS, OFF_ARG_LO(send_calls[i].flags_idx));
		/* the number is reloaded after an argument check: none follows here */
		next = emit_jmp(e, BPF_JEQ, (uint32_t)nr, l, next);
	}
	if ((nr = cg_syscall_nr(arch, "socketcall")) >= 0) {
		uint32_t deny = emit_ret(e, sock_deny(r)), l = emit_ret(e, SECCOMP_RET_ALLOW);
		for (size_t i = 0; i < CG_ARRAY_SIZE(socketcall_sends) && r->deny_fastopen; i++)
			l = emit_jmp(e, BPF_JEQ, socketcall_sends[i], deny, l);
		l = emit_jmp(e, BPF_JEQ, CG_SYS_SOCKETPAIR, deny, l);
		l = emit_jmp(e, BPF_JEQ, CG_SYS_SOCKET, deny, l);
		l = emit_stmt(e, BPF_LD | BPF_W | BPF_ABS, OFF_ARG_LO(0));
		next = emit_jmp(e, BPF_JEQ, (uint32_t)nr, l, next);
	}
	if ((nr = cg_syscall_nr(arch, "socketpair")) >= 0) {
		uint32_t ok = emit_ret(e, SECCOMP_RET_ALLOW);
		uint32_t l = grants;
		if (r->unix_pairs) {
			l = emit_jmp(e, BPF_JEQ, AF_UNIX, ok, l);
			l = emit_stmt(e, BPF_LD | BPF_W | BPF_ABS, OFF_ARG_LO(0));
		}
		next = emit_jmp(e, BPF_JEQ, (uint32_t)nr, l, next);
	}
	if ((nr = cg_syscall_nr(arch, "socket")) >= 0)
		next = emit_jmp(e, BPF_JEQ, (uint32_t)nr, grants, next);
out:
	if (load_nr) {
		fall_to(e, next);
		next = emit_stmt(e, BPF_LD | BPF_W | BPF_ABS, OFF_NR);
	}
	return next;
}

int cg_compile_socket_filter(const struct cg_socket_rules *r, struct cg_bpf_prog *ret, struct cg_error *err)
{
	struct emitter e = { 0 };
	uint32_t next;
	int rc;

	if (!r || r->sz < sizeof(*r))
		return cg_error_set(err, -EINVAL, "cg_socket_rules: size mismatch");
	/* the grants are the same on every arch (socket and socketpair take
	 * family, type, protocol alike): one copy, jumped to from each block */
	uint32_t grants = emit_grants(&e, r, emit_ret(&e, SECCOMP_RET_ALLOW), emit_ret(&e, sock_deny(r)));
	next = emit_ret(&e, SECCOMP_RET_ALLOW); /* foreign arches: the closure's filter decides */
	for (int a = CG_ARCH_COUNT - 1; a >= 0; a--) {
		uint32_t block;
		if (a == CG_ARCH_X32 || cg_syscall_max_nr(a) < 0)
			continue;
		if (!sock_arch_in(r, (enum cg_arch_id)a) &&
		    (a != CG_ARCH_X86_64 || !sock_arch_in(r, CG_ARCH_X32)))
			continue;
		if (a == CG_ARCH_X86_64) {
			/* x86_64 and x32 share AUDIT_ARCH_X86_64; x32 numbers carry bit 30 */
			uint32_t x32 = emit_socket_arch(&e, r, CG_ARCH_X32, grants, false);
			uint32_t x64 = emit_socket_arch(&e, r, CG_ARCH_X86_64, grants, false);
			block = emit_jmp(&e, BPF_JGE, CG_X32_SYSCALL_BIT, x32, x64);
			block = emit_stmt(&e, BPF_LD | BPF_W | BPF_ABS, OFF_NR);
		} else {
			block = emit_socket_arch(&e, r, (enum cg_arch_id)a, grants, true);
		}
		next = emit_jmp(&e, BPF_JEQ, cg_arch_info(a)->audit, block, next);
	}
	fall_to(&e, next);
	emit_stmt(&e, BPF_LD | BPF_W | BPF_ABS, OFF_ARCH);
	if (e.err) {
		free(e.v);
		return cg_error_set(err, e.err, "out of memory");
	}
	for (uint32_t i = 0; i < e.n / 2; i++) {
		struct sock_filter t = e.v[i];
		e.v[i] = e.v[e.n - 1 - i];
		e.v[e.n - 1 - i] = t;
	}
	if ((rc = cg_bpf_validate(e.v, e.n, err)) < 0) {
		free(e.v);
		return cg_error_prefix(err, "internal error, generated socket filter is invalid: ");
	}
	ret->insns = e.v;
	ret->len = e.n;
	return 0;
}
