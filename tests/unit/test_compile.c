// SPDX-License-Identifier: Apache-2.0
/* The compiler checked against the closure semantics: for every profile in
 * the corpus, every arch, every syscall number up to the highest known plus
 * 64, x32 and negative numbers, and boundary argument values, the emulated
 * program must return exactly what cg_compile_expect() says. */
#include <capgate/compile.h>
#include <capgate/profile.h>
#include <dirent.h>
#include <errno.h>
#include <linux/audit.h>

#include "closure/closure_internal.h"
#include "t.h"

static const enum cg_arch_id test_arches[] = { CG_ARCH_X86_64, CG_ARCH_X86, CG_ARCH_X32, CG_ARCH_AARCH64 };

struct vecs {
	uint64_t v[512][6];
	size_t n;
};

static void add_vec(struct vecs *vs, const uint64_t a[6])
{
	if (vs->n < 512)
		memcpy(vs->v[vs->n++], a, sizeof(uint64_t) * 6);
}

/* Boundary values around every condition of the call's rules. */
static void make_vecs(const struct cg_closure *c, const char *name, struct vecs *vs)
{
	uint64_t z[6] = { 0 }, ones[6], sat[6] = { 0 };
	vs->n = 0;
	add_vec(vs, z);
	for (int i = 0; i < 6; i++)
		ones[i] = UINT64_MAX;
	add_vec(vs, ones);
	for (size_t i = 0; i < c->n_rules; i++) {
		const struct cg_rule *r = &c->rules[i];
		if (strcmp(r->name, name) != 0)
			continue;
		memset(sat, 0, sizeof(sat));
		for (unsigned k = 0; k < r->n_args; k++) {
			const struct cg_arg_cond *a = &r->args[k];
			uint64_t base = a->op == CG_OP_MASKED_EQ ? a->value_two : a->value;
			uint64_t cand[] = { base, base - 1, base + 1, base | (UINT64_C(1) << 32),
					    base | UINT64_C(0xffffffff00000000), base & 0xffffffff, ~base,
					    a->op == CG_OP_MASKED_EQ ? (base | ~a->value) : base ^ 0x80000000,
					    UINT64_C(0xffffffff), UINT64_C(0x100000000) };
			sat[a->index] = base;
			for (size_t j = 0; j < CG_ARRAY_SIZE(cand); j++) {
				uint64_t v[6] = { 0 };
				v[a->index] = cand[j];
				add_vec(vs, v);
			}
		}
		add_vec(vs, sat);
		for (unsigned k = 0; k < r->n_args; k++) {
			uint64_t v[6];
			memcpy(v, sat, sizeof(v));
			v[r->args[k].index] ^= UINT64_C(1) << 32;
			add_vec(vs, v);
			memcpy(v, sat, sizeof(v));
			v[r->args[k].index] += 1;
			add_vec(vs, v);
		}
	}
}

static long check_closure(const struct cg_closure *c, const struct cg_compile_opts *o, const char *what)
{
	struct cg_bpf_prog prog = { 0 };
	struct cg_error err = { 0 };
	long mismatches = 0, checked = 0;
	struct vecs *vs = malloc(sizeof(*vs));

	if (cg_compile(c, o, &prog, &err) < 0) {
		CHECKF(0, "%s: compile failed: %s", what, err.msg);
		free(vs);
		return -1;
	}
	for (size_t ai = 0; ai < CG_ARRAY_SIZE(test_arches); ai++) {
		enum cg_arch_id arch = test_arches[ai];
		const struct cg_arch_info *inf = cg_arch_info(arch);
		uint32_t base = inf->nr_base, max = (uint32_t)cg_syscall_max_nr(arch) + 64;
		for (int64_t nr = (int64_t)base - 3; nr <= (int64_t)max; nr++) {
			struct seccomp_data d = { .arch = inf->audit };
			const char *name;
			d.nr = (int)(uint32_t)nr;
			name = cg_syscall_name(arch, (uint32_t)nr);
			make_vecs(c, name ? name : "", vs);
			for (size_t v = 0; v < vs->n; v++) {
				uint32_t got = 0, want;
				memcpy(d.args, vs->v[v], sizeof(d.args));
				if (inf->bits == 32)
					for (int k = 0; k < 6; k++)
						d.args[k] &= 0xffffffff; /* the kernel zero-extends */
				want = cg_compile_expect(c, o, d.arch, (uint32_t)d.nr, (const uint64_t *)d.args);
				if (cg_bpf_run(prog.insns, prog.len, &d, NULL, &got, &err) < 0) {
					CHECKF(0, "%s: emulator: %s", what, err.msg);
					mismatches++;
					break;
				}
				checked++;
				if (got != want) {
					if (mismatches < 5)
						CHECKF(0, "%s: %s nr %u (%s) args %llx,%llx,%llx: program 0x%x, expected 0x%x",
						       what, inf->name, (uint32_t)d.nr, name ? name : "?",
						       (unsigned long long)d.args[0], (unsigned long long)d.args[1],
						       (unsigned long long)d.args[2], got, want);
					mismatches++;
				}
			}
		}
	}
	/* odd numbers: negative, huge, x32 bit on other arches */
	uint32_t odd[] = { 0xffffffff, 0x7fffffff, 0x3fffffff, 0x40000000, 0x80000000, 0xfffffffe, 999, 4096 };
	for (size_t ai = 0; ai < CG_ARRAY_SIZE(test_arches); ai++)
		for (size_t k = 0; k < CG_ARRAY_SIZE(odd); k++) {
			struct seccomp_data d = { .nr = (int)odd[k], .arch = cg_arch_info(test_arches[ai])->audit };
			uint32_t got = 0, want = cg_compile_expect(c, o, d.arch, odd[k], (const uint64_t *)d.args);
			cg_bpf_run(prog.insns, prog.len, &d, NULL, &got, &err);
			checked++;
			if (got != want) {
				CHECKF(0, "%s: odd nr 0x%x arch 0x%x: program 0x%x, expected 0x%x", what, odd[k], d.arch,
				       got, want);
				mismatches++;
			}
		}
	/* an arch nobody listed */
	struct seccomp_data d = { .nr = 1, .arch = AUDIT_ARCH_PPC64LE };
	uint32_t got = 0;
	cg_bpf_run(prog.insns, prog.len, &d, NULL, &got, &err);
	if (!(c->arch_mask & CG_ARCH_BIT(CG_ARCH_PPC64LE)))
		CHECKF(got == (o->audit ? SECCOMP_RET_LOG : SECCOMP_RET_KILL_PROCESS), "%s: foreign arch gets 0x%x", what, got);
	cg_bpf_prog_release(&prog);
	free(vs);
	printf("  %s: %ld evaluations, %ld mismatches\n", what, checked, mismatches);
	return mismatches;
}

static int for_each_profile(const char *dir, long *total)
{
	DIR *dp = opendir(dir);
	struct dirent *de;
	int n = 0;
	if (!dp)
		return -1;
	while ((de = readdir(dp))) {
		char path[1024];
		struct cg_profile **ps = NULL;
		size_t np = 0;
		char *buf = NULL;
		size_t len;
		struct cg_error err = { 0 };
		size_t l = strlen(de->d_name);
		if (l < 5 || (strcmp(de->d_name + l - 5, ".json") && strcmp(de->d_name + l - 5, ".yaml")))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (cg_read_file(path, &buf, &len, &err) < 0 || cg_profile_parse_all(buf, len, path, &ps, &np, &err) < 0) {
			/* the invalid fixtures are expected to fail elsewhere */
			free(buf);
			continue;
		}
		for (size_t i = 0; i < np; i++) {
			struct cg_closure *c = NULL;
			const char *caps_admin[] = { "CAP_SYS_ADMIN" };
			struct cg_resolve_opts ro = { .sz = sizeof(ro), .native_arch = -1, .default_caps = true };
			for (int variant = 0; variant < 2; variant++) {
				if (variant == 1) {
					ro.caps = caps_admin;
					ro.n_caps = 1;
				}
				if (cg_profile_resolve(ps[i], &ro, &c, &err) < 0) {
					CHECKF(0, "%s: resolve: %s", path, err.msg);
					continue;
				}
				/* make every profile exercise the four arches */
				c->arch_mask |= CG_ARCH_BIT(CG_ARCH_X86) | CG_ARCH_BIT(CG_ARCH_X32) |
						CG_ARCH_BIT(CG_ARCH_AARCH64);
				struct cg_compile_opts o = { .sz = sizeof(o), .phase = -1 };
				char what[1100];
				snprintf(what, sizeof(what), "%s%s%s%s", de->d_name, ps[i]->name ? "#" : "",
					 ps[i]->name ? ps[i]->name : "", variant ? " +CAP_SYS_ADMIN" : "");
				*total += check_closure(c, &o, what);
				o.no_enosys_stub = true;
				o.audit = variant;
				*total += check_closure(c, &o, "  (no stub / audit)");
				cg_closure_free(c);
				c = NULL;
			}
			cg_profile_free(ps[i]);
			n++;
		}
		free(ps);
		free(buf);
	}
	closedir(dp);
	return n;
}

static int test_corpus_agreement(void)
{
	NEED_SHARED("mission/profiles");
	NEED_SHARED("corpus/profiles");
	char dir[1024];
	long total = 0;
	int n;
	snprintf(dir, sizeof(dir), "%s/corpus/profiles", t_shared());
	n = for_each_profile(dir, &total);
	CHECKF(n >= 15, "only %d corpus profiles compiled", n);
	snprintf(dir, sizeof(dir), "%s/mission/profiles", t_shared());
	n = for_each_profile(dir, &total);
	CHECKF(n == 5, "mission profiles: %d", n);
	CHECK_EQ_INT(total, 0);
	return 0;
}

/* Hand-made closures that stress precedence, widths and OR-ed indexes. */
static int test_tricky_rules(void)
{
	struct cg_profile *p = NULL;
	struct cg_closure *c = NULL;
	struct cg_error err = { 0 };
	const char *json =
		"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"architectures\":[\"SCMP_ARCH_X86\",\"SCMP_ARCH_X32\"],"
		"\"syscalls\":["
		"{\"names\":[\"socket\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":40,\"op\":\"SCMP_CMP_NE\"}]},"
		"{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":0,\"op\":\"SCMP_CMP_EQ\"},{\"index\":0,\"value\":8,\"op\":\"SCMP_CMP_EQ\"},{\"index\":0,\"value\":4294967295,\"op\":\"SCMP_CMP_EQ\"}]},"
		"{\"names\":[\"openat\"],\"action\":\"SCMP_ACT_ALLOW\"},"
		"{\"names\":[\"openat\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":13,\"args\":[{\"index\":2,\"value\":64,\"valueTwo\":64,\"op\":\"SCMP_CMP_MASKED_EQ\"}]},"
		"{\"names\":[\"mmap\"],\"action\":\"SCMP_ACT_KILL_PROCESS\",\"args\":[{\"index\":2,\"value\":4,\"valueTwo\":4,\"op\":\"SCMP_CMP_MASKED_EQ\"},{\"index\":3,\"value\":32,\"op\":\"SCMP_CMP_GT\"}]},"
		"{\"names\":[\"mmap\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":1,\"value\":4096,\"op\":\"SCMP_CMP_LE\"}]},"
		"{\"names\":[\"mmap\"],\"action\":\"SCMP_ACT_TRAP\",\"args\":[{\"index\":1,\"value\":1099511627776,\"op\":\"SCMP_CMP_GE\"}]},"
		"{\"names\":[\"read\"],\"action\":\"SCMP_ACT_LOG\",\"args\":[{\"index\":2,\"value\":18446744073709551615,\"op\":\"SCMP_CMP_LT\"}]},"
		"{\"names\":[\"write\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":5,\"args\":[{\"index\":0,\"value\":2,\"op\":\"SCMP_CMP_EQ\"}]},"
		"{\"names\":[\"write\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":3,\"args\":[{\"index\":2,\"value\":0,\"op\":\"SCMP_CMP_EQ\"}]},"
		"{\"names\":[\"write\"],\"action\":\"SCMP_ACT_ALLOW\"},"
		"{\"names\":[\"chmod\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":1,\"value\":511,\"op\":\"SCMP_CMP_LE\"}]}"
		"]}";
	if (cg_profile_parse(json, strlen(json), "tricky.json", &p, &err) < 0 ||
	    cg_profile_resolve(p, NULL, &c, &err) < 0) {
		CHECKF(0, "%s", err.msg);
		cg_profile_free(p);
		return 0;
	}
	c->arch_mask |= CG_ARCH_BIT(CG_ARCH_AARCH64);
	struct cg_compile_opts o = { .sz = sizeof(o), .phase = -1 };
	CHECK_EQ_INT(check_closure(c, &o, "tricky"), 0);

	/* the real-width cases, spelled out */
	uint64_t a[6] = { 0x100000028, 1, 0 };
	struct cg_action act = cg_closure_decide(c, CG_ARCH_X86_64, "socket", a, -1, NULL);
	CHECKF(act.kind == CG_ACT_ERRNO, "socket(AF_VSOCK with high bits) must be denied, got %d", act.kind);
	uint64_t b[6] = { 3, 0, 0x40 };
	act = cg_closure_decide(c, CG_ARCH_X86_64, "openat", b, -1, NULL);
	CHECKF(act.kind == CG_ACT_ERRNO && act.data == 13, "openat O_CREAT must be denied despite the broad allow");
	uint64_t w[6] = { 2, 0, 0 };
	act = cg_closure_decide(c, CG_ARCH_X86_64, "write", w, -1, NULL);
	CHECKF(act.kind == CG_ACT_ERRNO && act.data == 3, "lower errno wins among matching errnos, got %u", act.data);

	/* the same call through cg_compile_sim: program, reference and rule agree */
	struct cg_compile_sim sim;
	int nr = cg_syscall_nr(CG_ARCH_X86_64, "openat");
	CHECK(cg_compile_sim(c, &o, CG_ARCH_X86_64, (uint32_t)nr, b, &sim, &err) == 0);
	CHECK_EQ_INT(sim.ret, SECCOMP_RET_ERRNO | 13);
	CHECK_EQ_INT(sim.expect, sim.ret);
	CHECK(sim.rule && strcmp(sim.rule->name, "openat") == 0 && sim.rule->n_args == 1);
	CHECK(sim.trace.n > 0 && sim.trace.n <= sim.prog.len);
	cg_compile_sim_release(&sim);
	cg_closure_free(c);
	cg_profile_free(p);
	return 0;
}

static int test_enosys_stub(void)
{
	struct cg_closure *c = cg_closure_new();
	struct cg_rule r = { .name = "read", .action = { CG_ACT_ALLOW, 0 } };
	uint64_t z[6] = { 0 };
	cg_closure_add_rule(c, &r);
	r.name = "openat";
	cg_closure_add_rule(c, &r);
	cg_closure_canonicalize(c);
	struct cg_compile_opts o = { .sz = sizeof(o), .phase = -1 };
	/* openat is 257: 258 and above answer ENOSYS, 100 gets the default */
	CHECK_EQ_INT(cg_compile_expect(c, &o, AUDIT_ARCH_X86_64, 258, z), SECCOMP_RET_ERRNO | ENOSYS);
	CHECK_EQ_INT(cg_compile_expect(c, &o, AUDIT_ARCH_X86_64, 100, z), SECCOMP_RET_ERRNO | EPERM);
	CHECK_EQ_INT(cg_compile_expect(c, &o, AUDIT_ARCH_X86_64, 0x40000000 + 39, z), SECCOMP_RET_KILL_PROCESS);
	CHECK_EQ_INT(cg_compile_expect(c, &o, AUDIT_ARCH_I386, 3, z), SECCOMP_RET_KILL_PROCESS);
	CHECK_EQ_INT(check_closure(c, &o, "small"), 0);
	cg_closure_free(c);
	return 0;
}

/* The rule-scope test the decision, the compiler and the lint share. One
 * call: the rule's arches hold the call's arch (0 = all), its phases hold the
 * phase (0 = all; phase -1 = any). The lint asks with the closure's whole
 * arch_mask and phase -1: "can this rule decide anything at all". */
static int test_rule_in_scope(void)
{
	uint32_t x86_64 = CG_ARCH_BIT(CG_ARCH_X86_64), x86 = CG_ARCH_BIT(CG_ARCH_X86);
	struct cg_rule any = { .name = (char *)"read" };
	struct cg_rule r64 = { .name = (char *)"read", .arch_mask = x86_64 };
	struct cg_rule p1 = { .name = (char *)"read", .phases = 1u << 1 };

	CHECK(cg_rule_in_scope(&any, x86, -1));
	CHECK(cg_rule_in_scope(&any, x86, 3));
	CHECK(cg_rule_in_scope(&r64, x86_64, -1));
	CHECK(!cg_rule_in_scope(&r64, x86, -1));
	CHECK(cg_rule_in_scope(&r64, x86 | x86_64, -1)); /* the lint's question */
	CHECK(!cg_rule_in_scope(&r64, 0, -1));           /* no accepted arch: never */
	CHECK(cg_rule_in_scope(&p1, x86, 1));
	CHECK(!cg_rule_in_scope(&p1, x86, 0));
	CHECK(cg_rule_in_scope(&p1, x86, -1)); /* any phase */
	return 0;
}

int main(void)
{
	RUN(test_rule_in_scope);
	RUN(test_enosys_stub);
	RUN(test_tricky_rules);
	RUN(test_corpus_agreement);
	T_DONE();
}
