// SPDX-License-Identifier: Apache-2.0
/* The closure type: actions, rules, canonical form, semantics, algebra, digest. */
#include <capgate/closure.h>
#include <errno.h>
#include <linux/seccomp.h>
#include "core/crypto.h"
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "closure/closure_internal.h"
#include "core/json.h"

#ifndef SECCOMP_RET_KILL_PROCESS
#define SECCOMP_RET_KILL_PROCESS 0x80000000U
#endif
#ifndef SECCOMP_RET_USER_NOTIF
#define SECCOMP_RET_USER_NOTIF 0x7fc00000U
#endif
#ifndef SECCOMP_RET_LOG
#define SECCOMP_RET_LOG 0x7ffc0000U
#endif
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

/* ---- actions ------------------------------------------------------------ */

static const struct {
	const char *oci;
	const char *human;
	uint32_t ret;
} action_table[] = {
	[CG_ACT_KILL_PROCESS] = { "SCMP_ACT_KILL_PROCESS", "kill-process", SECCOMP_RET_KILL_PROCESS },
	[CG_ACT_KILL_THREAD] = { "SCMP_ACT_KILL_THREAD", "kill-thread", SECCOMP_RET_KILL_THREAD },
	[CG_ACT_TRAP] = { "SCMP_ACT_TRAP", "trap", SECCOMP_RET_TRAP },
	[CG_ACT_ERRNO] = { "SCMP_ACT_ERRNO", "errno", SECCOMP_RET_ERRNO },
	[CG_ACT_NOTIFY] = { "SCMP_ACT_NOTIFY", "notify", SECCOMP_RET_USER_NOTIF },
	[CG_ACT_TRACE] = { "SCMP_ACT_TRACE", "trace", SECCOMP_RET_TRACE },
	[CG_ACT_LOG] = { "SCMP_ACT_LOG", "log", SECCOMP_RET_LOG },
	[CG_ACT_ALLOW] = { "SCMP_ACT_ALLOW", "allow", SECCOMP_RET_ALLOW },
};

uint32_t cg_action_ret(struct cg_action a)
{
	uint32_t base = action_table[a.kind].ret;
	if (a.kind == CG_ACT_ERRNO || a.kind == CG_ACT_TRACE)
		return base | (a.data & SECCOMP_RET_DATA);
	return base;
}

struct cg_action cg_action_from_ret(uint32_t ret)
{
	struct cg_action a = { CG_ACT_KILL_PROCESS, 0 };
	uint32_t act = ret & SECCOMP_RET_ACTION_FULL;
	for (size_t k = 0; k < CG_ARRAY_SIZE(action_table); k++)
		if (action_table[k].ret == act) {
			a.kind = (enum cg_action_kind)k;
			if (a.kind == CG_ACT_ERRNO || a.kind == CG_ACT_TRACE)
				a.data = ret & SECCOMP_RET_DATA;
			return a;
		}
	return a;
}

/* The kernel picks the action with the lowest value, kill-process first
 * (seccomp_run_filters: ACTION_ONLY(cur) < ACTION_ONLY(ret), signed). */
int cg_action_cmp(struct cg_action a, struct cg_action b)
{
	int32_t ra = (int32_t)cg_action_ret(a), rb = (int32_t)cg_action_ret(b);
	if ((ra & (int32_t)SECCOMP_RET_ACTION_FULL) != (rb & (int32_t)SECCOMP_RET_ACTION_FULL))
		return (ra & (int32_t)SECCOMP_RET_ACTION_FULL) < (rb & (int32_t)SECCOMP_RET_ACTION_FULL) ? -1 : 1;
	/* same action: the kernel keeps the first filter's; order by data for determinism */
	return ra < rb ? -1 : ra > rb ? 1
				      : 0;
}

bool cg_action_permits(struct cg_action a)
{
	return a.kind == CG_ACT_ALLOW || a.kind == CG_ACT_LOG || a.kind == CG_ACT_TRACE ||
	       a.kind == CG_ACT_NOTIFY;
}

const char *cg_action_name(enum cg_action_kind k)
{
	return (unsigned)k < CG_ARRAY_SIZE(action_table) ? action_table[k].oci : "?";
}

int cg_action_parse(const char *s)
{
	for (size_t k = 0; k < CG_ARRAY_SIZE(action_table); k++)
		if (strcmp(s, action_table[k].oci) == 0)
			return (int)k;
	if (strcmp(s, "SCMP_ACT_KILL") == 0) /* libseccomp alias: kill thread */
		return CG_ACT_KILL_THREAD;
	return -1;
}

const char *cg_action_describe(struct cg_action a, char *buf, size_t n)
{
	if (a.kind == CG_ACT_ERRNO) {
		const char *e = cg_errno_name(a.data);
		if (e)
			snprintf(buf, n, "errno(%s)", e);
		else
			snprintf(buf, n, "errno(%u)", a.data);
	} else if (a.kind == CG_ACT_TRACE) {
		snprintf(buf, n, "trace(%u)", a.data);
	} else {
		snprintf(buf, n, "%s", action_table[a.kind].human);
	}
	return buf;
}

static const char *const op_names[] = {
	[CG_OP_NE] = "SCMP_CMP_NE",
	[CG_OP_LT] = "SCMP_CMP_LT",
	[CG_OP_LE] = "SCMP_CMP_LE",
	[CG_OP_EQ] = "SCMP_CMP_EQ",
	[CG_OP_GE] = "SCMP_CMP_GE",
	[CG_OP_GT] = "SCMP_CMP_GT",
	[CG_OP_MASKED_EQ] = "SCMP_CMP_MASKED_EQ",
};

const char *cg_op_name(enum cg_cmp_op op)
{
	return (op >= CG_OP_NE && op <= CG_OP_MASKED_EQ) ? op_names[op] : "?";
}

/* The operator as people write it (the OCI name is cg_op_name's). */
static const char *op_symbol(enum cg_cmp_op op)
{
	static const char *const sym[] = {
		[CG_OP_NE] = "!=",
		[CG_OP_LT] = "<",
		[CG_OP_LE] = "<=",
		[CG_OP_EQ] = "==",
		[CG_OP_GE] = ">=",
		[CG_OP_GT] = ">",
	};
	return op >= CG_OP_NE && op <= CG_OP_GT && sym[op] ? sym[op] : "?";
}

void cg_arg_cond_describe(struct cg_strbuf *out, const struct cg_arg_cond *k)
{
	if (k->op == CG_OP_MASKED_EQ)
		cg_strbuf_addf(out, "arg%u & %#llx == %#llx", k->index, (unsigned long long)k->value,
			       (unsigned long long)k->value_two);
	else
		cg_strbuf_addf(out, "arg%u %s %#llx", k->index, op_symbol(k->op), (unsigned long long)k->value);
}

int cg_op_parse(const char *s)
{
	for (int i = CG_OP_NE; i <= CG_OP_MASKED_EQ; i++)
		if (strcmp(s, op_names[i]) == 0)
			return i;
	return -1;
}

/* ---- errno and flag names ---------------------------------------------- */

static const char *const errno_names[] = {
	[1] = "EPERM",
	[2] = "ENOENT",
	[3] = "ESRCH",
	[4] = "EINTR",
	[5] = "EIO",
	[6] = "ENXIO",
	[7] = "E2BIG",
	[8] = "ENOEXEC",
	[9] = "EBADF",
	[10] = "ECHILD",
	[11] = "EAGAIN",
	[12] = "ENOMEM",
	[13] = "EACCES",
	[14] = "EFAULT",
	[15] = "ENOTBLK",
	[16] = "EBUSY",
	[17] = "EEXIST",
	[18] = "EXDEV",
	[19] = "ENODEV",
	[20] = "ENOTDIR",
	[21] = "EISDIR",
	[22] = "EINVAL",
	[23] = "ENFILE",
	[24] = "EMFILE",
	[25] = "ENOTTY",
	[26] = "ETXTBSY",
	[27] = "EFBIG",
	[28] = "ENOSPC",
	[29] = "ESPIPE",
	[30] = "EROFS",
	[31] = "EMLINK",
	[32] = "EPIPE",
	[33] = "EDOM",
	[34] = "ERANGE",
	[35] = "EDEADLK",
	[36] = "ENAMETOOLONG",
	[37] = "ENOLCK",
	[38] = "ENOSYS",
	[39] = "ENOTEMPTY",
	[40] = "ELOOP",
	[42] = "ENOMSG",
	[43] = "EIDRM",
	[61] = "ENODATA",
	[62] = "ETIME",
	[71] = "EPROTO",
	[74] = "EBADMSG",
	[75] = "EOVERFLOW",
	[84] = "EILSEQ",
	[88] = "ENOTSOCK",
	[89] = "EDESTADDRREQ",
	[90] = "EMSGSIZE",
	[91] = "EPROTOTYPE",
	[92] = "ENOPROTOOPT",
	[93] = "EPROTONOSUPPORT",
	[94] = "ESOCKTNOSUPPORT",
	[95] = "EOPNOTSUPP",
	[96] = "EPFNOSUPPORT",
	[97] = "EAFNOSUPPORT",
	[98] = "EADDRINUSE",
	[99] = "EADDRNOTAVAIL",
	[100] = "ENETDOWN",
	[101] = "ENETUNREACH",
	[102] = "ENETRESET",
	[103] = "ECONNABORTED",
	[104] = "ECONNRESET",
	[105] = "ENOBUFS",
	[106] = "EISCONN",
	[107] = "ENOTCONN",
	[110] = "ETIMEDOUT",
	[111] = "ECONNREFUSED",
	[113] = "EHOSTUNREACH",
	[114] = "EALREADY",
	[115] = "EINPROGRESS",
	[116] = "ESTALE",
	[122] = "EDQUOT",
	[125] = "ECANCELED",
	[126] = "ENOKEY",
};

const char *cg_errno_name(uint32_t e)
{
	return e < CG_ARRAY_SIZE(errno_names) ? errno_names[e] : NULL;
}

int cg_errno_parse(const char *s)
{
	static const struct {
		const char *n;
		int v;
	} aliases[] = {
		{ "EWOULDBLOCK", 11 },
		{ "ENOTSUP", 95 },
		{ "EDEADLOCK", 35 },
	};
	for (size_t i = 1; i < CG_ARRAY_SIZE(errno_names); i++)
		if (errno_names[i] && strcmp(s, errno_names[i]) == 0)
			return (int)i;
	for (size_t i = 0; i < CG_ARRAY_SIZE(aliases); i++)
		if (strcmp(s, aliases[i].n) == 0)
			return aliases[i].v;
	return -1;
}

static const struct {
	const char *name;
	enum cg_closure_flag flag;
} flag_table[] = {
	{ "SECCOMP_FILTER_FLAG_TSYNC", CG_FLAG_TSYNC },
	{ "SECCOMP_FILTER_FLAG_LOG", CG_FLAG_LOG },
	{ "SECCOMP_FILTER_FLAG_SPEC_ALLOW", CG_FLAG_SPEC_ALLOW },
	{ "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", CG_FLAG_WAIT_KILLABLE },
};

int cg_flag_parse(const char *s)
{
	for (size_t i = 0; i < CG_ARRAY_SIZE(flag_table); i++)
		if (strcmp(s, flag_table[i].name) == 0)
			return (int)flag_table[i].flag;
	return -1;
}

const char *cg_flag_name(enum cg_closure_flag f)
{
	for (size_t i = 0; i < CG_ARRAY_SIZE(flag_table); i++)
		if (flag_table[i].flag == f)
			return flag_table[i].name;
	return NULL;
}

/* ---- lifecycle ----------------------------------------------------------- */

/* A closure with what only this file needs: the capacity of its rules
 * array (the public struct shows the rules and their number, not how much
 * room is behind them). Every closure is made by cg_closure_new. */
struct closure_alloc {
	struct cg_closure c; /* first: a struct cg_closure * is this allocation */
	size_t cap_rules;
};

static size_t *cap_rules(struct cg_closure *c) { return &((struct closure_alloc *)c)->cap_rules; }

struct cg_closure *cg_closure_new(void)
{
	struct closure_alloc *a = calloc(1, sizeof(*a));
	struct cg_closure *c = a ? &a->c : NULL;
	if (!c)
		return NULL;
	c->default_action = (struct cg_action){ CG_ACT_ERRNO, EPERM };
	c->arch_mask = CG_ARCH_BIT(cg_arch_native());
	return c;
}

static void rule_release(struct cg_rule *r)
{
	free(r->name);
	free(r->origin);
}

void cg_closure_free(struct cg_closure *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_rules; i++)
		rule_release(&c->rules[i]);
	free(c->rules);
	for (unsigned i = 0; i < c->n_phases; i++)
		free(c->phase_names[i]);
	free(c->listener_path);
	free(c->listener_metadata);
	free(c->serve_when);
	free(c);
}

int cg_closure_reserve(struct cg_closure *c, size_t n)
{
	struct cg_rule *v;

	if (n <= *cap_rules(c))
		return 0;
	if (n > SIZE_MAX / sizeof(*v))
		return -ENOMEM;
	v = realloc(c->rules, n * sizeof(*v));
	if (!v)
		return -ENOMEM;
	c->rules = v;
	*cap_rules(c) = n;
	return 0;
}

int cg_closure_add_rule(struct cg_closure *c, const struct cg_rule *r)
{
	struct cg_rule *dst;

	if (!r->name || r->n_args > CG_MAX_CONDS)
		return -EINVAL;
	for (unsigned i = 0; i < r->n_args; i++)
		if (r->args[i].index > 5 || r->args[i].op < CG_OP_NE || r->args[i].op > CG_OP_MASKED_EQ)
			return -EINVAL;
	if (c->n_rules == *cap_rules(c) && cg_closure_reserve(c, *cap_rules(c) ? *cap_rules(c) * 2 : 64) < 0)
		return -ENOMEM;
	dst = &c->rules[c->n_rules];
	*dst = *r;
	dst->name = strdup(r->name);
	dst->origin = r->origin ? strdup(r->origin) : NULL;
	if (!dst->name || (r->origin && !dst->origin)) {
		rule_release(dst);
		return -ENOMEM;
	}
	c->n_rules++;
	return 0;
}

struct cg_closure *cg_closure_dup_reserve(const struct cg_closure *c, size_t extra)
{
	struct cg_closure *d = cg_closure_new();
	if (!d)
		return NULL;
	/* one allocation of the final size: a rule is ~240 bytes, and every
	 * page of heap touched is a page fault on the way to the program */
	if (cg_closure_reserve(d, c->n_rules + extra) < 0)
		goto fail;
	d->default_action = c->default_action;
	d->arch_mask = c->arch_mask;
	d->flags = c->flags;
	if (c->listener_path && !(d->listener_path = strdup(c->listener_path)))
		goto fail;
	if (c->listener_metadata && !(d->listener_metadata = strdup(c->listener_metadata)))
		goto fail;
	if (c->serve_when && !(d->serve_when = strdup(c->serve_when)))
		goto fail;
	d->worker_startup = c->worker_startup;
	for (unsigned i = 0; i < c->n_phases; i++) {
		if (!(d->phase_names[i] = strdup(c->phase_names[i])))
			goto fail;
		d->n_phases = i + 1;
	}
	for (size_t i = 0; i < c->n_rules; i++)
		if (cg_closure_add_rule(d, &c->rules[i]) < 0)
			goto fail;
	return d;
fail:
	cg_closure_free(d);
	return NULL;
}

struct cg_closure *cg_closure_dup(const struct cg_closure *c) { return cg_closure_dup_reserve(c, 0); }

int cg_closure_phase(struct cg_closure *c, const char *name, bool create)
{
	for (unsigned i = 0; i < c->n_phases; i++)
		if (strcmp(c->phase_names[i], name) == 0)
			return (int)i;
	if (!create || c->n_phases >= CG_MAX_PHASES)
		return -1;
	if (!(c->phase_names[c->n_phases] = strdup(name)))
		return -1;
	return (int)c->n_phases++;
}

/* ---- canonical order ------------------------------------------------------ */

static int cond_cmp(const struct cg_arg_cond *a, const struct cg_arg_cond *b)
{
	if (a->index != b->index)
		return a->index < b->index ? -1 : 1;
	if (a->op != b->op)
		return a->op < b->op ? -1 : 1;
	if (a->value != b->value)
		return a->value < b->value ? -1 : 1;
	if (a->value_two != b->value_two)
		return a->value_two < b->value_two ? -1 : 1;
	return 0;
}

static int cond_qsort(const void *a, const void *b) { return cond_cmp(a, b); }

/* Where a rule holds: its argument conditions, arches and phases. */
static int rule_scope_cmp(const struct cg_rule *a, const struct cg_rule *b)
{
	int r;
	if (a->n_args != b->n_args)
		return a->n_args < b->n_args ? -1 : 1;
	for (unsigned i = 0; i < a->n_args; i++)
		if ((r = cond_cmp(&a->args[i], &b->args[i])))
			return r;
	if (a->arch_mask != b->arch_mask)
		return a->arch_mask < b->arch_mask ? -1 : 1;
	if (a->phases != b->phases)
		return a->phases < b->phases ? -1 : 1;
	return 0;
}

/* Order of everything that decides enforcement (not count/origin). */
static int rule_key_cmp(const struct cg_rule *a, const struct cg_rule *b)
{
	int r = strcmp(a->name, b->name);
	if (r)
		return r;
	if ((r = cg_action_cmp(a->action, b->action)))
		return r;
	return rule_scope_cmp(a, b);
}

static int rule_qsort(const void *a, const void *b) { return rule_key_cmp(a, b); }

/* Sort rules [run, n) and merge them into the sorted [0, run), as a stable
 * sort of the whole would (the earlier of two equal rules first). */
static int merge_tail(struct cg_rule *v, size_t run, size_t n)
{
	struct cg_rule *tmp = malloc(n * sizeof(*tmp));
	size_t i = 0, j = run, o = 0;

	if (!tmp)
		return -ENOMEM;
	qsort(v + run, n - run, sizeof(*v), rule_qsort);
	while (i < run && j < n)
		tmp[o++] = rule_key_cmp(&v[j], &v[i]) < 0 ? v[j++] : v[i++];
	while (i < run)
		tmp[o++] = v[i++];
	while (j < n)
		tmp[o++] = v[j++];
	memcpy(v, tmp, n * sizeof(*tmp));
	free(tmp);
	return 0;
}

static bool same_but_phases(const struct cg_rule *a, const struct cg_rule *b)
{
	struct cg_rule x = *b;
	x.phases = a->phases;
	return rule_key_cmp(a, &x) == 0;
}

void cg_closure_canonicalize(struct cg_closure *c)
{
	size_t out = 0;
	bool sorted = true;

	for (size_t i = 0; i < c->n_rules; i++)
		if (c->rules[i].n_args > 1)
			qsort(c->rules[i].args, c->rules[i].n_args, sizeof(struct cg_arg_cond), cond_qsort);
	/* a closure made from a canonical one plus a few rules (the compiler's
	 * socketcall rules) is a sorted run and a short tail: sort the tail and
	 * merge, instead of sorting everything again */
	size_t run = 1;
	while (run < c->n_rules && rule_key_cmp(&c->rules[run - 1], &c->rules[run]) <= 0)
		run++;
	sorted = run >= c->n_rules;
	if (!sorted && c->n_rules - run <= c->n_rules / 4 && merge_tail(c->rules, run, c->n_rules) == 0)
		sorted = true;
	if (!sorted)
		qsort(c->rules, c->n_rules, sizeof(*c->rules), rule_qsort);
	for (size_t i = 0; i < c->n_rules; i++) {
		/* same call, action, arguments and arches in two phases: one rule
		 * for both (0 = every phase absorbs the rest) */
		if (out > 0 && same_but_phases(&c->rules[out - 1], &c->rules[i])) {
			struct cg_rule *keep = &c->rules[out - 1];
			keep->phases = (keep->phases && c->rules[i].phases) ? (keep->phases | c->rules[i].phases) : 0;
			keep->count += c->rules[i].count;
			if (!keep->origin) {
				keep->origin = TAKE_PTR(c->rules[i].origin);
			}
			rule_release(&c->rules[i]);
			continue;
		}
		c->rules[out++] = c->rules[i];
	}
	c->n_rules = out;
}

/* ---- semantics ------------------------------------------------------------ */

/* Compare at the argument's real width: both the register and the rule's
 * operands are truncated to it. */
static bool cond_holds(const struct cg_arg_cond *k, uint64_t x, unsigned bits)
{
	uint64_t m = bits >= 64 ? UINT64_MAX : ((UINT64_C(1) << bits) - 1);
	uint64_t v = k->value & m;
	x &= m;
	switch (k->op) {
	case CG_OP_NE:
		return x != v;
	case CG_OP_LT:
		return x < v;
	case CG_OP_LE:
		return x <= v;
	case CG_OP_EQ:
		return x == v;
	case CG_OP_GE:
		return x >= v;
	case CG_OP_GT:
		return x > v;
	case CG_OP_MASKED_EQ:
		return (x & v) == (k->value_two & m);
	}
	return false;
}

bool cg_arg_cond_holds(const struct cg_arg_cond *k, enum cg_arch_id arch, const char *name, const uint64_t args[6])
{
	unsigned bits = cg_arch_info(arch)->bits == 32 ? 32 : cg_syscall_arg_bits(name, k->index);
	return k->index < 6 && cond_holds(k, args[k->index], bits);
}

/* All indexes ANDed; several conditions on one index ORed (runc). */
static bool cg_rule_matches(const struct cg_rule *r, enum cg_arch_id arch, const uint64_t args[6])
{
	const struct cg_arch_info *ai = cg_arch_info(arch);
	for (unsigned idx = 0; idx < 6; idx++) {
		bool seen = false, any = false;
		unsigned bits = ai->bits == 32 ? 32 : cg_syscall_arg_bits(r->name, idx);
		for (unsigned i = 0; i < r->n_args; i++) {
			if (r->args[i].index != idx)
				continue;
			seen = true;
			if (cond_holds(&r->args[i], args[idx], bits))
				any = true;
		}
		if (seen && !any)
			return false;
	}
	return true;
}

static size_t first_rule(const struct cg_closure *c, const char *name)
{
	size_t lo = 0, hi = c->n_rules;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (strcmp(c->rules[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct cg_action cg_closure_decide(const struct cg_closure *c, enum cg_arch_id arch, const char *name,
				   const uint64_t args[6], int phase, const struct cg_rule **ret_rule)
{
	const struct cg_rule *best = NULL;

	if (ret_rule)
		*ret_rule = NULL;
	if ((unsigned)arch >= CG_ARCH_COUNT || !(c->arch_mask & CG_ARCH_BIT(arch)))
		return (struct cg_action){ CG_ACT_KILL_PROCESS, 0 };
	if (name) {
		for (size_t i = first_rule(c, name); i < c->n_rules && strcmp(c->rules[i].name, name) == 0; i++) {
			const struct cg_rule *r = &c->rules[i];
			if (!cg_rule_in_scope(r, CG_ARCH_BIT(arch), phase) || !cg_rule_matches(r, arch, args))
				continue;
			if (!best || cg_action_cmp(r->action, best->action) < 0)
				best = r;
		}
	}
	if (!best)
		return c->default_action;
	if (ret_rule)
		*ret_rule = best;
	return best->action;
}

/* ---- names and algebra ------------------------------------------------------ */

static int str_qsort(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int cg_closure_permitted_names(const struct cg_closure *c, int phase, const char ***ret_names, size_t *ret_n)
{
	const char **v = malloc((c->n_rules + 1) * sizeof(*v));
	size_t n = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_rules; i++) {
		const struct cg_rule *r = &c->rules[i];
		if (!cg_action_permits(r->action))
			continue;
		if (phase >= 0 && r->phases && !(r->phases & (1u << phase)))
			continue;
		v[n++] = r->name;
	}
	if (n)
		qsort(v, n, sizeof(*v), str_qsort);
	size_t u = 0;
	for (size_t i = 0; i < n; i++)
		if (u == 0 || strcmp(v[u - 1], v[i]) != 0)
			v[u++] = v[i];
	*ret_names = v;
	*ret_n = u;
	return 0;
}

static bool name_in(const char *const *v, size_t n, const char *name)
{
	return n && bsearch(&name, v, n, sizeof(*v), str_qsort) != NULL;
}

int cg_closure_outside(const struct cg_closure *a, const struct cg_closure *b, int phase,
		       const char ***ret_outside, size_t *ret_n)
{
	const char **na = NULL, **nb = NULL;
	size_t ca, cb, n = 0;
	int r;

	if ((r = cg_closure_permitted_names(a, phase, &na, &ca)) < 0)
		return r;
	if ((r = cg_closure_permitted_names(b, -1, &nb, &cb)) < 0) {
		free(na);
		return r;
	}
	if (!cg_action_permits(b->default_action)) {
		for (size_t i = 0; i < ca; i++)
			if (!name_in(nb, cb, na[i]))
				na[n++] = na[i];
	}
	free(nb);
	*ret_outside = na;
	*ret_n = n;
	return 0;
}

/* Add @from's phase names to @to; -1 if they do not fit. */
static int phases_merge(struct cg_closure *to, const struct cg_closure *from)
{
	for (unsigned i = 0; i < from->n_phases; i++)
		if (cg_closure_phase(to, from->phase_names[i], true) < 0)
			return -1;
	return 0;
}

/* A phase mask of @from, renumbered by name for @to (after phases_merge). */
static uint32_t phases_translate(uint32_t mask, const struct cg_closure *from, struct cg_closure *to)
{
	uint32_t out = 0;
	for (unsigned p = 0; p < from->n_phases; p++)
		if (mask & (1u << p))
			out |= 1u << cg_closure_phase(to, from->phase_names[p], false);
	return out;
}

int cg_closure_union(const struct cg_closure *a, const struct cg_closure *b, struct cg_closure **ret)
{
	struct cg_closure *u = cg_closure_dup(a);
	if (!u)
		return -ENOMEM;
	u->arch_mask |= b->arch_mask;
	if (phases_merge(u, b) < 0)
		goto fail;
	if (!u->serve_when && b->serve_when && !(u->serve_when = strdup(b->serve_when)))
		goto fail;
	if (b->worker_startup > u->worker_startup)
		u->worker_startup = b->worker_startup;
	for (size_t i = 0; i < b->n_rules; i++) {
		struct cg_rule r = b->rules[i];
		r.phases = phases_translate(r.phases, b, u);
		if (cg_closure_add_rule(u, &r) < 0)
			goto fail;
	}
	cg_closure_canonicalize(u);
	*ret = u;
	return 0;
fail:
	cg_closure_free(u);
	return -ENOMEM;
}

int cg_closure_intersect(const struct cg_closure *a, const struct cg_closure *b, struct cg_closure **ret)
{
	struct cg_closure *x = cg_closure_new();
	bool a_def = cg_action_permits(a->default_action), b_def = cg_action_permits(b->default_action);

	if (!x)
		return -ENOMEM;
	/* the more restrictive default */
	x->default_action = cg_action_cmp(a->default_action, b->default_action) <= 0 ? a->default_action
										     : b->default_action;
	x->arch_mask = a->arch_mask & b->arch_mask;
	x->flags = a->flags | b->flags;
	if (phases_merge(x, a) < 0 || phases_merge(x, b) < 0)
		goto fail;
	for (int side = 0; side < 2; side++) {
		const struct cg_closure *p = side ? b : a, *q = side ? a : b;
		bool q_def = side ? a_def : b_def;
		for (size_t i = 0; i < p->n_rules; i++) {
			const struct cg_rule *r = &p->rules[i];
			/* denials of either side stay; a permit stays as is
			 * where the other side permits by default */
			if (!cg_action_permits(r->action) || q_def) {
				struct cg_rule k = *r;
				k.phases = phases_translate(r->phases, p, x);
				if (cg_closure_add_rule(x, &k) < 0)
					goto fail;
				continue;
			}
			if (side == 1)
				continue; /* pairs of permits are made from a's side */
			for (size_t j = first_rule(q, r->name); j < q->n_rules && strcmp(q->rules[j].name, r->name) == 0;
			     j++) {
				const struct cg_rule *s = &q->rules[j];
				struct cg_rule m = *r;
				if (!cg_action_permits(s->action))
					continue;
				if (r->n_args + s->n_args > CG_MAX_CONDS)
					goto fail;
				memcpy(m.args + m.n_args, s->args, s->n_args * sizeof(*s->args));
				m.n_args = (uint8_t)(m.n_args + s->n_args);
				if (cg_action_cmp(s->action, r->action) < 0)
					m.action = s->action;
				m.arch_mask = r->arch_mask && s->arch_mask ? (r->arch_mask & s->arch_mask)
									   : (r->arch_mask | s->arch_mask);
				uint32_t rp = phases_translate(r->phases, a, x), sp = phases_translate(s->phases, b, x);
				m.phases = rp && sp ? (rp & sp) : (rp | sp);
				if (cg_closure_add_rule(x, &m) < 0)
					goto fail;
			}
		}
	}
	cg_closure_canonicalize(x);
	*ret = x;
	return 0;
fail:
	cg_closure_free(x);
	return -ENOMEM;
}

/* ---- serialization ------------------------------------------------------------- */

/* "action" and, where the action carries one, "errnoRet" on the same line. */
void cg_closure_write_args(struct cg_json *j, const struct cg_arg_cond *args, size_t n)
{
	if (!n)
		return;
	cg_json_key(j, "args");
	cg_json_arr_open(j);
	for (size_t a = 0; a < n; a++) {
		cg_json_obj_open(j);
		cg_json_kv_uint(j, "index", args[a].index);
		cg_json_kv_uint(j, "value", args[a].value);
		cg_json_kv_uint(j, "valueTwo", args[a].value_two);
		cg_json_kv_str(j, "op", cg_op_name(args[a].op));
		cg_json_obj_close(j);
	}
	cg_json_arr_close(j);
}

static void add_action_fields(struct cg_json *j, const char *key, const char *errkey, struct cg_action a)
{
	cg_json_kv_str(j, key, cg_action_name(a.kind));
	if (a.kind == CG_ACT_ERRNO || (a.kind == CG_ACT_TRACE && a.data)) {
		cg_json_key_same_line(j, errkey);
		cg_json_uint(j, a.data);
	}
}

static void add_mask_names(struct cg_json *j, const char *key, uint32_t mask)
{
	cg_json_key(j, key);
	cg_json_arr_open_inline(j);
	for (int a = 0; a < CG_ARCH_COUNT; a++)
		if (mask & CG_ARCH_BIT(a))
			cg_json_str(j, cg_arch_info(a)->oci);
	cg_json_arr_close(j);
}

/* Two rules that differ only in name share one "names" entry. */
static bool same_group(const struct cg_rule *a, const struct cg_rule *b, bool for_digest)
{
	if (cg_action_cmp(a->action, b->action) != 0 || rule_scope_cmp(a, b) != 0)
		return false;
	if (!for_digest && (a->count || b->count))
		return false;
	if (!for_digest && !!a->origin != !!b->origin)
		return false;
	if (!for_digest && a->origin && strcmp(a->origin, b->origin) != 0)
		return false;
	return true;
}

static int group_qsort(const void *pa, const void *pb, void *ctx)
{
	const struct cg_rule *a = *(const struct cg_rule *const *)pa, *b = *(const struct cg_rule *const *)pb;
	bool for_digest = *(const bool *)ctx;
	int r = cg_action_cmp(b->action, a->action); /* permits first, like Docker's files */
	if (r || (r = rule_scope_cmp(a, b)))
		return r;
	if (!for_digest) { /* the digest names what is enforced, not provenance */
		if ((r = strcmp(a->origin ? a->origin : "", b->origin ? b->origin : "")))
			return r;
		if (a->count != b->count)
			return a->count < b->count ? -1 : 1;
	}
	return strcmp(a->name, b->name);
}

/* One group of rules (same action and scope) as one "syscalls" entry. */
static void add_group(struct cg_json *j, const struct cg_closure *c, const struct cg_rule *const *g, size_t n,
		      bool for_digest)
{
	const struct cg_rule *r = g[0];

	cg_json_obj_open_inline(j);
	cg_json_key(j, "names");
	cg_json_arr_open(j);
	for (size_t k = 0; k < n; k++)
		cg_json_str(j, g[k]->name);
	cg_json_arr_close(j);
	add_action_fields(j, "action", "errnoRet", r->action);
	cg_closure_write_args(j, r->args, r->n_args);
	if (r->arch_mask)
		add_mask_names(j, "arches", r->arch_mask);
	if (r->phases) {
		cg_json_key(j, "phases");
		cg_json_arr_open(j);
		for (unsigned p = 0; p < c->n_phases; p++)
			if (r->phases & (1u << p))
				cg_json_str(j, c->phase_names[p]);
		cg_json_arr_close(j);
	}
	if (!for_digest && r->count)
		cg_json_kv_uint(j, "count", r->count);
	if (!for_digest && r->origin)
		cg_json_kv_str(j, "comment", r->origin);
	cg_json_obj_close(j);
}

static void add_closure(struct cg_json *j, const struct cg_closure *c, const struct cg_rule **order, bool for_digest)
{
	cg_json_obj_open(j);
	add_action_fields(j, "defaultAction", "defaultErrnoRet", c->default_action);
	add_mask_names(j, "architectures", c->arch_mask);
	if (c->flags) {
		cg_json_key(j, "flags");
		cg_json_arr_open_inline(j);
		for (unsigned f = 1; f && f <= CG_FLAG_WAIT_KILLABLE; f <<= 1)
			if (c->flags & f)
				cg_json_str(j, cg_flag_name(f));
		cg_json_arr_close(j);
	}
	if (c->listener_path)
		cg_json_kv_str(j, "listenerPath", c->listener_path);
	if (c->listener_metadata)
		cg_json_kv_str(j, "listenerMetadata", c->listener_metadata);
	if (c->n_phases) {
		cg_json_key(j, "capgate");
		cg_json_obj_open_inline(j);
		cg_json_key(j, "phases");
		cg_json_arr_open(j);
		for (unsigned i = 0; i < c->n_phases; i++)
			cg_json_str(j, c->phase_names[i]);
		cg_json_arr_close(j);
		if (c->serve_when)
			cg_json_kv_str(j, "serveWhen", c->serve_when);
		if (c->worker_startup)
			cg_json_kv_uint(j, "workerStartup", c->worker_startup);
		cg_json_obj_close(j);
	}
	cg_json_key(j, "syscalls");
	cg_json_arr_open(j);
	for (size_t i = 0; i < c->n_rules;) {
		size_t n = 1;
		while (i + n < c->n_rules && same_group(order[i], order[i + n], for_digest))
			n++;
		add_group(j, c, order + i, n, for_digest);
		i += n;
	}
	cg_json_arr_close(j);
	cg_json_obj_close(j);
}

int cg_closure_serialize(const struct cg_closure *c0, bool for_digest, struct cg_strbuf *sb)
{
	_cleanup_(cg_closure_freep) struct cg_closure *c = cg_closure_dup(c0);
	_cleanup_free_ const struct cg_rule **order = NULL;
	struct cg_json j;

	if (!c || !(order = malloc((c->n_rules + 1) * sizeof(*order)))) {
		sb->oom = true;
		return -ENOMEM;
	}
	cg_closure_canonicalize(c);
	for (size_t i = 0; i < c->n_rules; i++)
		order[i] = &c->rules[i];
	if (c->n_rules)
		qsort_r(order, c->n_rules, sizeof(*order), group_qsort, &for_digest);
	if (for_digest)
		cg_json_init(&j, sb, 0);
	else
		cg_json_init_tight(&j, sb, 2);
	add_closure(&j, c, order, for_digest);
	return cg_json_finish(&j);
}

int cg_closure_digest(const struct cg_closure *c, char ret[72])
{
	struct cg_strbuf sb;
	unsigned char md[32];
	int r;

	cg_strbuf_init(&sb);
	r = cg_closure_serialize(c, true, &sb);
	if (r == 0)
		r = cg_crypto_sha256(sb.buf, sb.len, md, NULL);
	cg_strbuf_release(&sb);
	if (r < 0)
		return r;
	strcpy(ret, "sha256:");
	for (unsigned i = 0; i < sizeof(md); i++)
		sprintf(ret + 7 + 2 * i, "%02x", md[i]);
	return 0;
}

static int u32_qsort(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

int cg_closure_arch_numbers(const struct cg_closure *c, enum cg_arch_id arch, int phase, uint32_t **ret_nrs,
			    size_t *ret_n)
{
	uint32_t *v = malloc((c->n_rules + 1) * sizeof(*v));
	size_t n = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_rules; i++) {
		const struct cg_rule *r = &c->rules[i];
		int nr;
		if (!cg_action_permits(r->action) || !cg_rule_in_scope(r, CG_ARCH_BIT(arch), phase))
			continue;
		nr = cg_syscall_nr(arch, r->name);
		if (nr >= 0)
			v[n++] = (uint32_t)nr;
	}
	if (n)
		qsort(v, n, sizeof(*v), u32_qsort);
	size_t u = 0;
	for (size_t i = 0; i < n; i++)
		if (u == 0 || v[u - 1] != v[i])
			v[u++] = v[i];
	*ret_nrs = v;
	*ret_n = u;
	return 0;
}

void cg_closure_strip_extensions(struct cg_closure *c)
{
	for (unsigned i = 0; i < c->n_phases; i++) {
		free(c->phase_names[i]);
		c->phase_names[i] = NULL;
	}
	c->n_phases = 0;
	for (size_t i = 0; i < c->n_rules; i++) {
		struct cg_rule *r = &c->rules[i];
		r->phases = 0;
		r->count = 0;
		r->arch_mask = 0;
		free(r->origin);
		r->origin = NULL;
	}
	cg_closure_canonicalize(c);
}
