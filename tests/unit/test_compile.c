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
#include <sys/socket.h>

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
	struct cg_compile_sim *sim = NULL;
	int nr = cg_syscall_nr(CG_ARCH_X86_64, "openat");
	CHECK(cg_compile_sim(c, &o, CG_ARCH_X86_64, (uint32_t)nr, b, &sim, &err) == 0);
	if (sim) {
		CHECK_EQ_INT(sim->ret, SECCOMP_RET_ERRNO | 13);
		CHECK_EQ_INT(sim->expect, sim->ret);
		CHECK(sim->rule && strcmp(sim->rule->name, "openat") == 0 && sim->rule->n_args == 1);
		CHECK(sim->trace.n > 0 && sim->trace.n <= sim->prog.len);
	}
	cg_compile_sim_free(sim);
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

/* ---- the socket filter ------------------------------------------------------ */

static uint32_t run_sock(const struct cg_bpf_prog *p, uint32_t audit, uint32_t nr, const uint64_t a[6])
{
	struct seccomp_data d = { .nr = (int)nr, .arch = audit };
	uint32_t ret = 0;
	memcpy(d.args, a, sizeof(d.args));
	if (cg_bpf_run(p->insns, p->len, &d, NULL, &ret, NULL) < 0)
		return 0xdeadbeef;
	return ret;
}

static const struct cg_socket_grant g_loopback[] = {
	{ AF_INET, SOCK_STREAM, 0 },
	{ AF_INET, SOCK_STREAM, 6 },
	{ AF_INET, SOCK_DGRAM, 0 },
	{ AF_INET, SOCK_DGRAM, 17 },
	{ AF_INET6, SOCK_STREAM, 0 },
	{ AF_INET6, SOCK_STREAM, 6 },
	{ AF_INET6, SOCK_DGRAM, 0 },
	{ AF_INET6, SOCK_DGRAM, 17 },
};
static const struct cg_socket_grant g_tcp_unix[] = {
	{ AF_INET, SOCK_STREAM, 0 },
	{ AF_INET, SOCK_STREAM, 6 },
	{ AF_INET6, SOCK_STREAM, 0 },
	{ AF_INET6, SOCK_STREAM, 6 },
	{ AF_UNIX, CG_SOCK_ANY, CG_SOCK_ANY },
};

#define DENY (SECCOMP_RET_ERRNO | EACCES)

/* Every family, type and protocol through socket and socketpair, the
 * socketcall sub-calls and the send calls' flags, on every arch with a
 * table: the emulated program must say what cg_compile_socket_expect says,
 * and a few answers are pinned outright. */
static int test_socket_filter(void)
{
	struct {
		const struct cg_socket_grant *g;
		size_t n;
		bool fastopen;
		uint32_t arch_mask;
		bool memfd, sockets_free;
	} cases[] = {
		{ g_loopback, CG_ARRAY_SIZE(g_loopback), false, 0, false, false },
		{ g_tcp_unix, CG_ARRAY_SIZE(g_tcp_unix), true, 0, true, false },
		{ NULL, 0, false, 0, false, false },
		{ g_tcp_unix, CG_ARRAY_SIZE(g_tcp_unix), true, CG_ARCH_BIT(CG_ARCH_X86_64) | CG_ARCH_BIT(CG_ARCH_X86),
		  true, false },
		/* --net host with memfd exec denied: only memfd_create is decided */
		{ NULL, 0, false, 0, true, true },
	};
	static const uint32_t types[] = { 0, 1, 2, 3, 4, 5, 6, 10, 1 | 04000, 2 | 02000000, 1 | 0x100, 0xf };
	static const uint64_t protos[] = { 0, 1, 6, 17, 58, 132, 136, 255, 262, 0x100000006ull, 0xffffffffull };
	size_t evals = 0, mismatches = 0;

	for (size_t ci = 0; ci < CG_ARRAY_SIZE(cases); ci++) {
		struct cg_socket_rules r = { .sz = sizeof(r),
					     .grants = cases[ci].g,
					     .n_grants = cases[ci].n,
					     .unix_pairs = true,
					     .deny_fastopen = cases[ci].fastopen,
					     .deny_io_uring = true,
					     .arch_mask = cases[ci].arch_mask,
					     .memfd_noexec = cases[ci].memfd,
					     .sockets_free = cases[ci].sockets_free };
		struct cg_bpf_prog p = { 0 };
		struct cg_error err = { 0 };
		CHECKF(cg_compile_socket_filter(&r, &p, &err) == 0, "%s", err.msg);
		for (int a = 0; a < CG_ARCH_COUNT; a++) {
			if (cg_syscall_max_nr(a) < 0)
				continue;
			uint32_t audit = cg_arch_info(a)->audit;
			static const char *const calls[] = { "socket", "socketpair" };
			for (size_t k = 0; k < 2; k++) {
				int nr = cg_syscall_nr(a, calls[k]);
				if (nr < 0)
					continue;
				for (uint64_t fam = 0; fam <= 48; fam++)
					for (size_t t = 0; t < CG_ARRAY_SIZE(types); t++)
						for (size_t q = 0; q < CG_ARRAY_SIZE(protos); q++) {
							uint64_t args[6] = { fam | (fam == 2 ? 0x500000000ull : 0), types[t],
									     protos[q] };
							uint32_t got = run_sock(&p, audit, (uint32_t)nr, args);
							uint32_t want = cg_compile_socket_expect(&r, audit, (uint32_t)nr, args);
							evals++;
							if (got != want && mismatches++ < 5)
								printf("  %s %s(%llu, %#x, %#llx): got %#x want %#x\n",
								       cg_arch_info(a)->name, calls[k], (unsigned long long)fam,
								       types[t], (unsigned long long)protos[q], got, want);
						}
			}
			/* socketcall sub-calls and the send calls' flags */
			int sc = cg_syscall_nr(a, "socketcall");
			for (uint64_t call = 0; sc >= 0 && call <= 22; call++) {
				uint64_t args[6] = { call, 0x1000 };
				uint32_t got = run_sock(&p, audit, (uint32_t)sc, args);
				evals++;
				mismatches += got != cg_compile_socket_expect(&r, audit, (uint32_t)sc, args);
			}
			/* memfd_create's flags (MFD_CLOEXEC 1, MFD_ALLOW_SEALING 2, MFD_NOEXEC_SEAL 8,
			 * MFD_EXEC 0x10), upper bits set to show they are ignored */
			static const uint64_t mfd[] = { 0, 1, 2, 3, 8, 9, 0x10, 0x11, 0x18, 0x100000000ull, 0x100000008ull };
			int mc = cg_syscall_nr(a, "memfd_create");
			for (size_t k = 0; mc >= 0 && k < CG_ARRAY_SIZE(mfd); k++) {
				uint64_t args[6] = { 0x1000, mfd[k] };
				uint32_t got = run_sock(&p, audit, (uint32_t)mc, args);
				evals++;
				mismatches += got != cg_compile_socket_expect(&r, audit, (uint32_t)mc, args);
			}
			static const char *const sends[] = { "sendto", "sendmsg", "sendmmsg", "send", "io_uring_setup", "read" };
			for (size_t k = 0; k < CG_ARRAY_SIZE(sends); k++) {
				int nr = cg_syscall_nr(a, sends[k]);
				for (unsigned idx = 0; nr >= 0 && idx < 6; idx++) {
					uint64_t args[6] = { 3, 0, 0, 0, 0, 0 };
					args[idx] = 0x20000000 | 0x40; /* MSG_FASTOPEN | MSG_DONTWAIT */
					uint32_t got = run_sock(&p, audit, (uint32_t)nr, args);
					evals++;
					mismatches += got != cg_compile_socket_expect(&r, audit, (uint32_t)nr, args);
				}
			}
		}
		/* pinned answers, x86_64 */
		uint32_t x64 = AUDIT_ARCH_X86_64, x86 = AUDIT_ARCH_I386;
		int sock = cg_syscall_nr(CG_ARCH_X86_64, "socket"), pair = cg_syscall_nr(CG_ARCH_X86_64, "socketpair");
		int sendto = cg_syscall_nr(CG_ARCH_X86_64, "sendto"), sc86 = cg_syscall_nr(CG_ARCH_X86, "socketcall");
		uint64_t mptcp[6] = { AF_INET, SOCK_STREAM, 262 }, tcp[6] = { AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 6 },
			 udp[6] = { AF_INET, SOCK_DGRAM, 0 }, raw[6] = { AF_INET, SOCK_RAW, 1 },
			 packet[6] = { AF_PACKET, SOCK_RAW, 0x300 }, vsock[6] = { AF_VSOCK, SOCK_STREAM, 0 },
			 unix_[6] = { AF_UNIX, SOCK_STREAM, 0 }, nl[6] = { AF_NETLINK, SOCK_RAW, 0 },
			 tfo[6] = { 3, 0, 1, 0x20000000 }, sys_socket[6] = { 1, 0 }, sys_pair[6] = { 8, 0 },
			 sys_connect[6] = { 3, 0 }, sys_sendto[6] = { 11, 0 };
		bool tcp_rules = cases[ci].fastopen, any = cases[ci].n > 0, free_ = cases[ci].sockets_free;
		int mfd = cg_syscall_nr(CG_ARCH_X86_64, "memfd_create");
		uint64_t mfd_plain[6] = { 0x1000, 1 /* MFD_CLOEXEC */ }, mfd_exec[6] = { 0x1000, 0x10 },
			 mfd_seal[6] = { 0x1000, 0x9 };
		CHECK_EQ_INT(run_sock(&p, x64, (uint32_t)mfd, mfd_plain), cases[ci].memfd ? DENY : SECCOMP_RET_ALLOW);
		CHECK_EQ_INT(run_sock(&p, x64, (uint32_t)mfd, mfd_exec), cases[ci].memfd ? DENY : SECCOMP_RET_ALLOW);
		CHECK_EQ_INT(run_sock(&p, x64, (uint32_t)mfd, mfd_seal), SECCOMP_RET_ALLOW);
		if (free_) { /* --net host: the socket calls are not decided here */
			CHECK_EQ_INT(run_sock(&p, x64, (uint32_t)sock, mptcp), SECCOMP_RET_ALLOW);
			CHECK_EQ_INT(run_sock(&p, x64, (uint32_t)sock, packet), SECCOMP_RET_ALLOW);
			CHECK_EQ_INT(run_sock(&p, x86, (uint32_t)sc86, sys_socket), SECCOMP_RET_ALLOW);
		}
		for (int pin = 0; pin < !free_; pin++) {
			CHECK_EQ_INT(run_sock(&p, x64, (uint32_t)sock, mptcp), DENY);
			CHECK_EQ_INT(run_sock(&p, x64, (uint32_t)sock, tcp), any ? SECCOMP_RET_ALLOW : DENY);
			CHECK_EQ_INT(run_sock(&p, x64, (uint32_t)sock, udp), any && !tcp_rules ? SECCOMP_RET_ALLOW : DENY);
			CHECK_EQ_INT(run_sock(&p, x64, (uint32_t)sock, raw), DENY);
			CHECK_EQ_INT(run_sock(&p, x64, (uint32_t)sock, packet), DENY);
			CHECK_EQ_INT(run_sock(&p, x64, (uint32_t)sock, vsock), DENY);
			CHECK_EQ_INT(run_sock(&p, x64, (uint32_t)sock, nl), DENY);
			CHECK_EQ_INT(run_sock(&p, x64, (uint32_t)sock, unix_), tcp_rules ? SECCOMP_RET_ALLOW : DENY);
			CHECK_EQ_INT(run_sock(&p, x64, (uint32_t)pair, unix_), SECCOMP_RET_ALLOW);
			CHECK_EQ_INT(run_sock(&p, x64, (uint32_t)pair, vsock), DENY);
			CHECK_EQ_INT(run_sock(&p, x64, (uint32_t)sendto, tfo), tcp_rules ? DENY : SECCOMP_RET_ALLOW);
			CHECK_EQ_INT(run_sock(&p, x86, (uint32_t)sc86, sys_socket), DENY);
			CHECK_EQ_INT(run_sock(&p, x86, (uint32_t)sc86, sys_pair), DENY);
			CHECK_EQ_INT(run_sock(&p, x86, (uint32_t)sc86, sys_connect), SECCOMP_RET_ALLOW);
			CHECK_EQ_INT(run_sock(&p, x86, (uint32_t)sc86, sys_sendto), tcp_rules ? DENY : SECCOMP_RET_ALLOW);
			/* x32: socket | 0x40000000 under AUDIT_ARCH_X86_64 */
			int x32sock = cg_syscall_nr(CG_ARCH_X32, "socket");
			if (x32sock >= 0 && (!cases[ci].arch_mask || (cases[ci].arch_mask & CG_ARCH_BIT(CG_ARCH_X32))))
				CHECK_EQ_INT(run_sock(&p, x64, (uint32_t)x32sock, mptcp), DENY);
		}
		/* the kernel's action cache: everything but the calls decided here */
		for (int a = 0; a < CG_ARCH_COUNT; a++) {
			int max = cg_syscall_max_nr(a);
			if (max < 0 || a == CG_ARCH_X32 || cg_arch_info(a)->nr_base)
				continue;
			if (cases[ci].arch_mask && !(cases[ci].arch_mask & CG_ARCH_BIT(a)))
				continue;
			uint8_t *bits = calloc((size_t)max / 8 + 1, 1);
			if (!bits)
				return -1;
			size_t set = cg_bpf_cache_predict(p.insns, p.len, cg_arch_info(a)->audit, (uint32_t)max + 1, bits);
			size_t decided = 0;
			for (int nr = 0; nr <= max; nr++) {
				const char *name = cg_syscall_name(a, (uint32_t)nr);
				bool here = name && ((!free_ && (!strcmp(name, "socket") || !strcmp(name, "socketpair") ||
								 !strcmp(name, "socketcall"))) ||
						     !strcmp(name, "io_uring_setup") ||
						     (cases[ci].memfd && !strcmp(name, "memfd_create")) ||
						     (tcp_rules && (!strcmp(name, "sendto") || !strcmp(name, "sendmsg") ||
								    !strcmp(name, "sendmmsg") || !strcmp(name, "send"))));
				bool cached = bits[nr / 8] & (1u << (nr % 8));
				decided += here;
				CHECKF(cached == !here, "%s nr %d (%s): cached %d", cg_arch_info(a)->name, nr,
				       name ? name : "?", cached);
			}
			free(bits);
			CHECK_EQ_INT(set, (size_t)max + 1 - decided);
		}
		cg_bpf_prog_release(&p);
	}
	printf("  socket filter: %zu evaluations, %zu mismatches\n", evals, mismatches);
	CHECK_EQ_INT(mismatches, 0);
	return 0;
}

/* A closure that denies socket and accepts x86: socketcall(SYS_SOCKET) is
 * denied too, in the reference and in the program alike. */
static int test_socketcall_follows_socket(void)
{
	static const char *const profiles[] = {
		"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\"],"
		"\"syscalls\":[{\"names\":[\"socket\"],\"action\":\"SCMP_ACT_ERRNO\"}]}",
		"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\"],"
		"\"syscalls\":[{\"names\":[\"socketcall\",\"connect\"],\"action\":\"SCMP_ACT_ALLOW\"},"
		"{\"names\":[\"socket\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":2,\"op\":\"SCMP_CMP_EQ\"}]}]}",
	};
	for (size_t i = 0; i < CG_ARRAY_SIZE(profiles); i++) {
		struct cg_profile *p = NULL;
		struct cg_closure *c = NULL;
		struct cg_error err = { 0 };
		CHECKF(cg_profile_parse(profiles[i], strlen(profiles[i]), "t.json", &p, &err) == 0 &&
			       cg_profile_resolve(p, NULL, &c, &err) == 0,
		       "%s", err.msg);
		cg_profile_free(p);
		if (!c)
			continue;
		int sc = cg_syscall_nr(CG_ARCH_X86, "socketcall");
		for (uint64_t call = 0; call <= 21; call++) {
			uint64_t args[6] = { call, 0x1000 };
			struct cg_compile_sim *s = NULL;
			CHECK(cg_compile_sim(c, NULL, CG_ARCH_X86, (uint32_t)sc, args, &s, &err) == 0);
			if (!s)
				continue;
			CHECK_EQ_INT(s->ret, s->expect);
			const char *direct = cg_compile_socketcall_name((uint32_t)call);
			bool denied = (s->ret & SECCOMP_RET_ACTION_FULL) != SECCOMP_RET_ALLOW;
			bool want = direct && (!strcmp(direct, "socket") || (i == 1 && strcmp(direct, "connect") != 0));
			CHECKF(denied == want, "profile %zu: socketcall(%llu) (%s) denied=%d", i, (unsigned long long)call,
			       direct ? direct : "-", denied);
			if (call == 1)
				CHECK(s->rule && s->rule->origin && strstr(s->rule->origin, "stands for socket"));
			cg_compile_sim_free(s);
		}
		cg_closure_free(c);
	}
	return 0;
}

int main(void)
{
	RUN(test_rule_in_scope);
	RUN(test_socket_filter);
	RUN(test_socketcall_follows_socket);
	RUN(test_enosys_stub);
	RUN(test_tricky_rules);
	RUN(test_corpus_agreement);
	T_DONE();
}
