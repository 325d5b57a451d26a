// SPDX-License-Identifier: Apache-2.0
/* The options-struct convention (CG_OPTS_COPY in capgate/common.h): an
 * older caller's smaller struct keeps the callee's defaults for the fields
 * it does not know, a newer caller's larger struct is refused (-E2BIG) when
 * it sets anything this library does not know, and NULL or sz 0 mean the
 * defaults. Then the same through the library's real entry points. */
#include <capgate/compile.h>
#include <capgate/lint.h>
#include <capgate/policy.h>
#include <capgate/profile.h>
#include <capgate/sandbox.h>
#include <capgate/trace.h>
#include <errno.h>
#include <linux/audit.h>

#include "source/trace_internal.h"
#include "t.h"

/* Version 1 of an options struct, and version 2 that added a field. */
struct demo_opts_v1 {
	size_t sz;
	int a;
	int b;
};
struct demo_opts {
	size_t sz;
	int a;
	int b;
	int c; /* new in version 2: default 7 */
};

/* What a function of the library does with its options. */
static int take(const struct demo_opts *opts, struct demo_opts *ret)
{
	struct demo_opts o = { .sz = sizeof(o), .a = 1, .b = 2, .c = 7 };
	int r = CG_OPTS_COPY(&o, opts);

	if (r == 0)
		*ret = o;
	return r;
}

static int test_macro(void)
{
	struct demo_opts got;
	struct demo_opts_v1 old = { .sz = sizeof(old), .a = 10, .b = 20 };
	struct {
		struct demo_opts cur;
		int d; /* a version 3 field */
	} newer = { .cur = { .sz = sizeof(newer), .a = 10, .b = 20, .c = 30 } };

	/* NULL and sz 0: the defaults */
	CHECK_EQ_INT(take(NULL, &got), 0);
	CHECK(got.sz == sizeof(got) && got.a == 1 && got.b == 2 && got.c == 7);
	CHECK_EQ_INT(take(&(struct demo_opts){ .sz = 0, .a = 99 }, &got), 0);
	CHECK(got.a == 1 && got.c == 7);
	/* the current caller: everything it says */
	CHECK_EQ_INT(take(&(struct demo_opts){ .sz = sizeof(struct demo_opts), .a = 10, .c = 0 }, &got), 0);
	CHECK(got.a == 10 && got.b == 0 && got.c == 0 && got.sz == sizeof(got));
	/* an older caller: its fields, and the default of the field it lacks */
	CHECK_EQ_INT(take((const struct demo_opts *)&old, &got), 0);
	CHECK(got.a == 10 && got.b == 20 && got.c == 7);
	CHECK_EQ_INT((int)got.sz, (int)sizeof(struct demo_opts));
	/* a newer caller that leaves the unknown field zero: fine */
	CHECK_EQ_INT(take(&newer.cur, &got), 0);
	CHECK(got.a == 10 && got.c == 30 && got.sz == sizeof(got));
	/* ... and one that sets it: refused, the output untouched */
	newer.d = 1;
	got.a = -5;
	CHECK_EQ_INT(take(&newer.cur, &got), -E2BIG);
	CHECK_EQ_INT(got.a, -5);
	/* a size smaller than the sz field itself */
	CHECK_EQ_INT(take(&(struct demo_opts){ .sz = 3 }, &got), -EINVAL);
	return 0;
}

static const char *allow_read = "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"architectures\": [\"SCMP_ARCH_X86_64\"],"
				"\"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\"}]}";

/* Every function that takes an options struct follows the convention. */
static int test_library(void)
{
	_cleanup_(cg_profile_freep) struct cg_profile *p = NULL;
	_cleanup_(cg_closure_freep) struct cg_closure *c = NULL;
	struct cg_error err = { 0 };
	struct {
		struct cg_resolve_opts o;
		uint64_t future;
	} ro = { .o = { .sz = sizeof(ro), .native_arch = -1, .default_caps = true }, .future = 1 };
	struct {
		struct cg_compile_opts o;
		uint64_t future;
	} co = { .o = { .sz = sizeof(co), .phase = -1 }, .future = 1 };
	struct {
		struct cg_lint_opts o;
		uint64_t future;
	} lo = { .o = { .sz = sizeof(lo) }, .future = 1 };
	struct {
		struct cg_trace_closure_opts o;
		uint64_t future;
	} tco = { .o = { .sz = sizeof(tco) }, .future = 1 };
	struct cg_bpf_prog prog = { 0 };
	struct cg_lint_report *rep = NULL;
	struct cg_closure *out = NULL;
	struct {
		struct cg_sandbox_opts o;
		uint64_t future;
	} so = { .o = { .sz = sizeof(so), .phase = -1, .no_seccomp = true }, .future = 1 };
	struct {
		struct cg_eval_env o;
		uint64_t future;
	} env = { .o = { .sz = sizeof(env) }, .future = 1 };
	_cleanup_(cg_trace_data_freep) struct cg_trace_data *d = cg_trace_data_new();
	struct cg_trace_opts to = { .sz = 1 };
	struct cg_trace *t = NULL;
	struct cg_sandbox *sb = NULL;

	CHECK_EQ_INT(cg_profile_parse(allow_read, strlen(allow_read), "t.json", &p, &err), 0);
	CHECK_EQ_INT(cg_profile_resolve(p, NULL, &c, &err), 0);
	if (!p || !c)
		return 1;
	/* an option this library does not know: refused, and said so */
	CHECK_EQ_INT(cg_profile_resolve(p, &ro.o, &out, &err), -E2BIG);
	CHECK(out == NULL);
	CHECK_CONTAINS(err.msg, "cg_resolve_opts: options this version of capgate does not know are set");
	CHECK_EQ_INT(cg_compile(c, &co.o, &prog, &err), -E2BIG);
	CHECK_CONTAINS(err.msg, "cg_compile_opts");
	CHECK(prog.insns == NULL);
	CHECK_EQ_INT(cg_compile_expect(c, &co.o, AUDIT_ARCH_X86_64, 0, (uint64_t[6]){ 0 }), SECCOMP_RET_KILL_PROCESS);
	CHECK_EQ_INT(cg_lint_profile(p, &lo.o, &rep, &err), -E2BIG);
	CHECK(rep == NULL);
	lo.future = 0;
	lo.o.resolve = &ro.o; /* nested: the resolve options are checked too */
	CHECK_EQ_INT(cg_lint_profile(p, &lo.o, &rep, &err), -E2BIG);
	CHECK_CONTAINS(err.msg, "cg_resolve_opts");
	CHECK(rep == NULL);
	CHECK_EQ_INT(cg_trace_new(&to, &t, &err), -EINVAL);
	CHECK_CONTAINS(err.msg, "cg_trace_opts: sz is too small");
	CHECK(t == NULL);
	CHECK(d != NULL);
	CHECK_EQ_INT(cg_trace_data_closure(d, &tco.o, NULL, &out, &err), -E2BIG);
	CHECK_CONTAINS(err.msg, "cg_trace_closure_opts");
	CHECK(out == NULL);
	CHECK_EQ_INT(cg_sandbox_new(NULL, &so.o, &sb, &err), -E2BIG);
	CHECK_CONTAINS(err.msg, "cg_sandbox_opts");
	CHECK(sb == NULL);
	CHECK_EQ_INT(cg_policy_eval_path(NULL, "/nonexistent", &env.o, NULL, &err), -E2BIG);
	CHECK_CONTAINS(err.msg, "cg_eval_env");
	/* the same options without the unknown field work; zero means defaults */
	ro.future = co.future = 0;
	CHECK_EQ_INT(cg_profile_resolve(p, &ro.o, &out, &err), 0);
	cg_closure_free(out);
	CHECK_EQ_INT(cg_compile(c, &co.o, &prog, &err), 0);
	cg_bpf_prog_release(&prog);
	CHECK_EQ_INT(cg_compile(c, &(struct cg_compile_opts){ .sz = 0, .phase = 5 }, &prog, &err), 0);
	cg_bpf_prog_release(&prog);
	tco.future = 0;
	CHECK_EQ_INT(cg_trace_data_closure(d, &tco.o, NULL, &out, &err), 0);
	cg_closure_free(out);
	return 0;
}

int main(void)
{
	RUN(test_macro);
	RUN(test_library);
	T_DONE();
}
