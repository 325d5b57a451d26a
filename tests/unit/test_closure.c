// SPDX-License-Identifier: Apache-2.0
/* The closure type and the syscall tables: algebra with witnesses, a
 * deterministic digest, and tables cross-checked against the kernel's
 * syscall_64.tbl, libseccomp's CSV and the installed libseccomp. */
#include <capgate/profile.h>
#include <capgate/summary.h>
#include <errno.h>
#include <seccomp.h>

#include "closure/closure_internal.h"
#include "t.h"
#include "testing.h"

static struct cg_closure *from_json(const char *json)
{
	struct cg_profile *p = NULL;
	struct cg_closure *c = NULL;
	struct cg_error err = { 0 };
	if (cg_profile_parse(json, strlen(json), "t.json", &p, &err) < 0 || cg_profile_resolve(p, NULL, &c, &err) < 0)
		printf("  %s\n", err.msg);
	cg_profile_free(p);
	return c;
}

static int test_algebra(void)
{
	struct cg_closure *a = from_json("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\",\"write\",\"ptrace\",\"mount\"],\"action\":\"SCMP_ACT_ALLOW\"}]}");
	struct cg_closure *b = from_json("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\",\"write\",\"openat\"],\"action\":\"SCMP_ACT_ALLOW\"}]}");
	struct cg_closure *u = NULL, *x = NULL;
	const char **out = NULL;
	size_t n = 0;
	uint64_t z[6] = { 0 };

	CHECK(a && b);
	if (!a || !b)
		return 0;
	CHECK(cg_closure_outside(a, b, -1, &out, &n) == 0);
	CHECK_EQ_INT(n, 2);
	if (n == 2) {
		CHECK_STR(out[0], "mount");
		CHECK_STR(out[1], "ptrace");
	}
	free(out);
	CHECK(cg_closure_outside(b, a, -1, &out, &n) == 0);
	CHECK_EQ_INT(n, 1);
	free(out);
	CHECK(cg_closure_union(a, b, &u) == 0);
	CHECK(cg_closure_intersect(a, b, &x) == 0);
	if (u && x) {
		const char **names = NULL;
		cg_closure_permitted_names(u, -1, &names, &n);
		CHECK_EQ_INT(n, 5);
		free(names);
		cg_closure_permitted_names(x, -1, &names, &n);
		CHECK_EQ_INT(n, 2);
		free(names);
		CHECK(cg_closure_decide(x, CG_ARCH_X86_64, "mount", z, -1, NULL).kind == CG_ACT_ERRNO);
		CHECK(cg_closure_decide(u, CG_ARCH_X86_64, "mount", z, -1, NULL).kind == CG_ACT_ALLOW);
	}
	/* a denylist contains everything it does not deny */
	struct cg_closure *deny = from_json("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mount\"],\"action\":\"SCMP_ACT_ERRNO\"}]}");
	CHECK(cg_closure_outside(a, deny, -1, &out, &n) == 0 && n == 0);
	free(out);
	/* intersecting conditional permits ANDs the conditions */
	struct cg_closure *c1 = from_json("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"socket\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}]}");
	struct cg_closure *c2 = from_json("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"socket\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":1,\"value\":2,\"op\":\"SCMP_CMP_EQ\"}]}]}");
	struct cg_closure *c12 = NULL;
	CHECK(cg_closure_intersect(c1, c2, &c12) == 0);
	if (c12) {
		uint64_t both[6] = { 1, 2 }, one[6] = { 1, 3 };
		CHECK(cg_closure_decide(c12, CG_ARCH_X86_64, "socket", both, -1, NULL).kind == CG_ACT_ALLOW);
		CHECK(cg_closure_decide(c12, CG_ARCH_X86_64, "socket", one, -1, NULL).kind == CG_ACT_ERRNO);
	}
	/* phases keep their names through an intersection */
	int pa = cg_closure_phase(c1, "startup", true), pb1 = cg_closure_phase(c2, "other", true),
	    pb2 = cg_closure_phase(c2, "startup", true);
	(void)pb1;
	c1->rules[0].phases = 1u << pa;
	c2->rules[0].phases = 1u << pb2;
	cg_closure_free(c12);
	c12 = NULL;
	CHECK(cg_closure_intersect(c1, c2, &c12) == 0);
	if (c12) {
		uint64_t both[6] = { 1, 2 };
		int ps = cg_closure_phase(c12, "startup", false);
		CHECK(ps >= 0);
		CHECK(cg_closure_decide(c12, CG_ARCH_X86_64, "socket", both, ps, NULL).kind == CG_ACT_ALLOW);
		CHECK(cg_closure_decide(c12, CG_ARCH_X86_64, "socket", both, cg_closure_phase(c12, "other", false), NULL).kind ==
		      CG_ACT_ERRNO);
	}
	cg_closure_free(c1);
	cg_closure_free(c2);
	cg_closure_free(c12);
	cg_closure_free(deny);
	cg_closure_free(a);
	cg_closure_free(b);
	cg_closure_free(u);
	cg_closure_free(x);
	return 0;
}

static int test_digest(void)
{
	/* same enforcement, different order, grouping and comments: same digest */
	struct cg_closure *a = from_json("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"write\",\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"comment\":\"x\"}]}");
	struct cg_closure *b = from_json("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":1,\"syscalls\":[{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\"},{\"names\":[\"write\",\"read\"],\"action\":\"SCMP_ACT_ALLOW\"}]}");
	struct cg_closure *c = from_json("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":38,\"syscalls\":[{\"names\":[\"write\",\"read\"],\"action\":\"SCMP_ACT_ALLOW\"}]}");
	char da[72], db[72], dc[72];
	CHECK(a && b && c);
	if (!a || !b || !c)
		return 0;
	cg_closure_digest(a, da);
	cg_closure_digest(b, db);
	cg_closure_digest(c, dc);
	CHECK_STR(da, db);
	CHECK(strcmp(da, dc) != 0);
	CHECK(strncmp(da, "sha256:", 7) == 0 && strlen(da) == 71);
	cg_closure_free(a);
	cg_closure_free(b);
	cg_closure_free(c);
	return 0;
}

/* Provenance and grouping never change the digest; phases of one rule merge. */
static int test_digest_ignores_provenance(void)
{
	struct cg_closure *a = from_json("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"comment\":\"zzz\",\"count\":9},{\"names\":[\"write\"],\"action\":\"SCMP_ACT_ALLOW\",\"comment\":\"aaa\"}]}");
	struct cg_closure *b = from_json("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"write\"],\"action\":\"SCMP_ACT_ALLOW\",\"count\":3},{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"comment\":\"b\"}]}");
	struct cg_closure *ab = NULL, *ba = NULL;
	char d1[72], d2[72], d3[72];
	CHECK(a && b && cg_closure_union(a, b, &ab) == 0 && cg_closure_union(b, a, &ba) == 0);
	if (!ab || !ba)
		return 0;
	cg_closure_digest(a, d1);
	cg_closure_digest(ab, d2);
	cg_closure_digest(ba, d3);
	CHECK_STR(d1, d2);
	CHECK_STR(d2, d3);
	/* the same call in two phases is one rule in both */
	int s = cg_closure_phase(ab, "startup", true), v = cg_closure_phase(ab, "serving", true);
	struct cg_rule r = { .name = "openat", .action = { CG_ACT_ALLOW, 0 }, .phases = 1u << s };
	cg_closure_add_rule(ab, &r);
	r.phases = 1u << v;
	cg_closure_add_rule(ab, &r);
	cg_closure_canonicalize(ab);
	size_t n = 0;
	for (size_t i = 0; i < ab->n_rules; i++)
		if (strcmp(ab->rules[i].name, "openat") == 0) {
			n++;
			CHECK_EQ_INT(ab->rules[i].phases, (1u << s) | (1u << v));
		}
	CHECK_EQ_INT(n, 1);
	cg_closure_free(a);
	cg_closure_free(b);
	cg_closure_free(ab);
	cg_closure_free(ba);
	return 0;
}

static int test_tables_sorted(void)
{
	size_t n;
	const struct cg_risk_class *rc = cg_risk_classes(&n);
	CHECK(cg__arg_width_table_sorted());
	for (size_t i = 0; i < n; i++) {
		if (i)
			CHECKF(strcmp(rc[i - 1].name, rc[i].name) < 0, "risk classes not sorted at %s", rc[i].name);
		for (const char *const *c = rc[i].calls; *c; c++) {
			CHECKF(cg_syscall_known(*c), "risk class %s names unknown call %s", rc[i].name, *c);
			if (c != rc[i].calls)
				CHECKF(strcmp(c[-1], c[0]) < 0, "class %s not sorted at %s", rc[i].name, *c);
		}
	}
	for (size_t i = 1; cg_syscall_name_at(i); i++)
		CHECKF(strcmp(cg_syscall_name_at(i - 1), cg_syscall_name_at(i)) < 0, "name table not sorted");
	return 0;
}

/* Every row of the kernel's syscall_64.tbl agrees with capgate's table. */
static int test_kernel_tbl(void)
{
	NEED_SHARED("corpus/syscall-tables");
	char path[1024], line[512];
	FILE *f;
	int rows = 0;
	snprintf(path, sizeof(path), "%s/corpus/syscall-tables/linux-x86-syscall_64.tbl", t_shared());
	f = fopen(path, "r");
	CHECKF(f != NULL, "cannot open %s", path);
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned nr;
		char abi[32], name[128];
		if (line[0] == '#' || sscanf(line, "%u %31s %127s", &nr, abi, name) != 3)
			continue;
		enum cg_arch_id arch = strcmp(abi, "x32") == 0 ? CG_ARCH_X32 : CG_ARCH_X86_64;
		uint32_t want = arch == CG_ARCH_X32 ? nr + CG_X32_SYSCALL_BIT : nr;
		int got = cg_syscall_nr(arch, name);
		/* x32 "common" rows are reachable on both numberings */
		CHECKF(got == (int)want || (strcmp(abi, "common") == 0 && cg_syscall_nr(CG_ARCH_X32, name) == (int)(nr + CG_X32_SYSCALL_BIT)),
		       "%s %s: table says %d, kernel %u", abi, name, got, nr);
		rows++;
	}
	fclose(f);
	CHECKF(rows > 370, "only %d rows read", rows);
	return 0;
}

/* Where the installed libseccomp knows a name, it agrees with capgate. */
static int test_libseccomp_agrees(void)
{
	static const struct {
		enum cg_arch_id a;
		uint32_t tok;
	} arches[] = {
		{ CG_ARCH_X86_64, SCMP_ARCH_X86_64 },
		{ CG_ARCH_X86, SCMP_ARCH_X86 },
		{ CG_ARCH_AARCH64, SCMP_ARCH_AARCH64 },
		{ CG_ARCH_ARM, SCMP_ARCH_ARM },
	};
	int compared = 0;
	for (size_t k = 0; k < CG_ARRAY_SIZE(arches); k++)
		for (size_t i = 0; cg_syscall_name_at(i); i++) {
			const char *name = cg_syscall_name_at(i);
			int lib = seccomp_syscall_resolve_name_arch(arches[k].tok, name);
			int ours = cg_syscall_nr(arches[k].a, name);
			if (lib < 0 || ours < 0)
				continue; /* unknown to one side, or a libseccomp pseudo call */
			CHECKF(lib == ours, "%s on %s: libseccomp %d, capgate %d", name, cg_arch_info(arches[k].a)->name,
			       lib, ours);
			compared++;
		}
	CHECKF(compared > 1200, "only %d numbers compared", compared);
	return 0;
}

static int test_actions(void)
{
	char buf[64];
	struct cg_action kill = { CG_ACT_KILL_PROCESS, 0 }, err1 = { CG_ACT_ERRNO, 1 }, err38 = { CG_ACT_ERRNO, 38 };
	struct cg_action allow = { CG_ACT_ALLOW, 0 }, logx = { CG_ACT_LOG, 0 };
	CHECK(cg_action_cmp(kill, err1) < 0);
	CHECK(cg_action_cmp(err1, err38) < 0);
	CHECK(cg_action_cmp(logx, allow) < 0);
	CHECK_STR(cg_action_describe(err38, buf, sizeof(buf)), "errno(ENOSYS)");
	CHECK_EQ_INT(cg_action_from_ret(cg_action_ret(err38)).data, 38);
	CHECK_EQ_INT(cg_action_parse("SCMP_ACT_KILL"), CG_ACT_KILL_THREAD);
	CHECK_EQ_INT(cg_errno_parse("EWOULDBLOCK"), EAGAIN);
	return 0;
}

/* A closure stripped to a plain OCI profile: no phases, counts, comments
 * or per-rule arches; rules that become equal merge, others stay. */
static int test_strip_extensions(void)
{
	_cleanup_(cg_closure_freep) struct cg_closure *c = cg_closure_new();
	struct cg_rule r = { .name = "read", .action = { CG_ACT_ALLOW, 0 }, .arch_mask = CG_ARCH_BIT(CG_ARCH_X86_64), .phases = 1, .count = 3, .origin = "trace" };
	uint64_t a[6] = { 0 };

	CHECK(c);
	if (!c)
		return 0;
	c->arch_mask |= CG_ARCH_BIT(CG_ARCH_X86);
	CHECK_EQ_INT(cg_closure_phase(c, "startup", true), 0);
	CHECK_EQ_INT(cg_closure_phase(c, "serving", true), 1);
	CHECK_EQ_INT(cg_closure_add_rule(c, &r), 0);
	r.arch_mask = CG_ARCH_BIT(CG_ARCH_X86), r.phases = 2, r.count = 1;
	CHECK_EQ_INT(cg_closure_add_rule(c, &r), 0);
	r.name = "socket", r.n_args = 1, r.args[0] = (struct cg_arg_cond){ 0, CG_OP_EQ, 2, 0 };
	CHECK_EQ_INT(cg_closure_add_rule(c, &r), 0);
	r.args[0].value = 1;
	CHECK_EQ_INT(cg_closure_add_rule(c, &r), 0);
	cg_closure_canonicalize(c);
	CHECK_EQ_INT(c->n_rules, 4);
	CHECK(!cg_action_permits(cg_closure_decide(c, CG_ARCH_X86_64, "socket", a, -1, NULL)));

	cg_closure_strip_extensions(c);
	CHECK_EQ_INT(c->n_phases, 0);
	CHECK_EQ_INT(c->n_rules, 3); /* the two reads are one rule now */
	for (size_t i = 0; i < c->n_rules; i++)
		CHECK(!c->rules[i].phases && !c->rules[i].count && !c->rules[i].arch_mask && !c->rules[i].origin);
	CHECK_EQ_INT(c->arch_mask, CG_ARCH_BIT(CG_ARCH_X86_64) | CG_ARCH_BIT(CG_ARCH_X86));
	/* socket(AF_INET) now holds on x86_64 too; socket(AF_INET6) still not */
	a[0] = 2;
	CHECK(cg_action_permits(cg_closure_decide(c, CG_ARCH_X86_64, "socket", a, 0, NULL)));
	a[0] = 10;
	CHECK(!cg_action_permits(cg_closure_decide(c, CG_ARCH_X86_64, "socket", a, 0, NULL)));
	return 0;
}

/* The canonical layout, byte for byte: stored closures and their digests
 * depend on it. */
static int test_serialize_layout(void)
{
	struct cg_closure *c = from_json(
		"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"architectures\":[\"SCMP_ARCH_X86_64\"],"
		"\"capgate\":{\"phases\":[\"startup\",\"serving\"]},\"syscalls\":["
		"{\"names\":[\"write\",\"read\"],\"action\":\"SCMP_ACT_ALLOW\"},"
		"{\"names\":[\"openat\"],\"action\":\"SCMP_ACT_ALLOW\",\"phases\":[\"startup\"],\"count\":4},"
		"{\"names\":[\"kill\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":13,"
		"\"args\":[{\"index\":1,\"value\":9,\"op\":\"SCMP_CMP_EQ\"}]}]}");
	struct cg_strbuf sb;

	if (!c)
		return 0;
	cg_strbuf_init(&sb);
	CHECK_EQ_INT(cg_closure_serialize(c, false, &sb), 0);
	CHECK_STR(sb.buf, "{\n"
			  "  \"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":1,\n"
			  "  \"architectures\":[\"SCMP_ARCH_X86_64\"],\n"
			  "  \"capgate\":{\"phases\":[\"startup\",\"serving\"]},\n"
			  "  \"syscalls\":[\n"
			  "    {\"names\":[\"read\",\"write\"],\"action\":\"SCMP_ACT_ALLOW\"},\n"
			  "    {\"names\":[\"openat\"],\"action\":\"SCMP_ACT_ALLOW\",\"phases\":[\"startup\"],\"count\":4},\n"
			  "    {\"names\":[\"kill\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":13,\"args\":[{\"index\":1,"
			  "\"value\":9,\"valueTwo\":0,\"op\":\"SCMP_CMP_EQ\"}]}\n"
			  "  ]\n"
			  "}\n");
	cg_strbuf_release(&sb);
	cg_strbuf_init(&sb);
	CHECK_EQ_INT(cg_closure_serialize(c, true, &sb), 0);
	CHECK_STR(sb.buf, "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":1,"
			  "\"architectures\":[\"SCMP_ARCH_X86_64\"],\"capgate\":{\"phases\":[\"startup\",\"serving\"]},"
			  "\"syscalls\":[{\"names\":[\"read\",\"write\"],\"action\":\"SCMP_ACT_ALLOW\"},"
			  "{\"names\":[\"openat\"],\"action\":\"SCMP_ACT_ALLOW\",\"phases\":[\"startup\"]},"
			  "{\"names\":[\"kill\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":13,\"args\":[{\"index\":1,"
			  "\"value\":9,\"valueTwo\":0,\"op\":\"SCMP_CMP_EQ\"}]}]}");
	cg_strbuf_release(&sb);
	cg_closure_free(c);
	return 0;
}

static int test_diff(void)
{
	struct cg_closure *a = from_json("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":["
					 "{\"names\":[\"read\",\"write\",\"kill\"],\"action\":\"SCMP_ACT_ALLOW\"}]}");
	struct cg_closure *b = from_json("{\"defaultAction\":\"SCMP_ACT_KILL_PROCESS\",\"architectures\":"
					 "[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\"],\"syscalls\":["
					 "{\"names\":[\"read\",\"openat\"],\"action\":\"SCMP_ACT_ALLOW\"},"
					 "{\"names\":[\"kill\"],\"action\":\"SCMP_ACT_ERRNO\"}]}");
	struct cg_closure_diff *d = NULL;

	if (!a || !b)
		goto out;
	CHECK_EQ_INT(cg_closure_diff(a, b, &d), 0);
	if (!d)
		goto out;
	CHECK(d->default_differs && !d->arches_only_a && d->arches_only_b == CG_ARCH_BIT(CG_ARCH_X86));
	CHECK_EQ_INT(d->n_calls, 3);
	if (d->n_calls == 3) {
		CHECK_STR(d->calls[0].name, "kill");
		CHECK_STR(d->calls[0].a, "allow");
		CHECK_STR(d->calls[0].b, "errno(EPERM)");
		CHECK_STR(d->calls[1].name, "openat");
		CHECK(!d->calls[1].a && d->calls[1].b);
		CHECK_STR(d->calls[2].name, "write");
		CHECK(d->calls[2].a && !d->calls[2].b);
	}
	CHECK(!cg_closure_diff_empty(d));
	cg_closure_diff_free(d);
	d = NULL;
	CHECK_EQ_INT(cg_closure_diff(a, a, &d), 0);
	CHECK(d && cg_closure_diff_empty(d));
out:
	cg_closure_diff_free(d);
	cg_closure_free(a);
	cg_closure_free(b);
	return 0;
}

/* The summary's per-phase and per-arch figures, sized by the closure (the
 * public struct holds no capacity of its own). */
static int test_summary(void)
{
	static const char js[] = "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"architectures\": [\"SCMP_ARCH_X86\", "
				 "\"SCMP_ARCH_X86_64\"], \"capgate\": {\"phases\": [\"start\", \"serve\"]},\n"
				 " \"syscalls\": [{\"names\": [\"execve\", \"brk\", \"exit_group\"], \"action\": \"SCMP_ACT_ALLOW\", "
				 "\"phases\": [\"start\"]},\n"
				 "  {\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\", \"phases\": [\"serve\"], \"arches\": [\"x86_64\"]}]}";
	struct cg_profile *p = NULL;
	struct cg_closure *c = NULL;
	struct cg_summary *s = NULL;
	struct cg_error err = { 0 };

	CHECKF(cg_profile_parse(js, sizeof(js) - 1, "t.json", &p, &err) == 0, "%s", err.msg);
	CHECKF(p && cg_profile_resolve(p, NULL, &c, &err) == 0, "%s", err.msg);
	CHECKF(c && cg_summary_closure(c, &s, &err) == 0, "%s", err.msg);
	if (s) {
		CHECK_EQ_INT(s->n_names, 4);
		CHECK_EQ_INT(s->n_phases, 2);
		CHECK(s->n_phases == 2 && s->phase_permitted[0] == 3 && s->phase_permitted[1] == 1);
		CHECK_EQ_INT(s->n_arches, 2);
		if (s->n_arches == 2) {
			CHECK(s->arches[0].arch == CG_ARCH_X86_64 && s->arches[1].arch == CG_ARCH_X86);
			CHECK_EQ_INT(s->arches[0].permitted, 4); /* read only here */
			CHECK_EQ_INT(s->arches[1].permitted, 3);
			CHECK(s->arches[0].cache_known && s->arches[0].cached <= s->arches[0].permitted);
		}
	}
	cg_summary_free(s);
	cg_closure_free(c);
	cg_profile_free(p);
	return 0;
}

int main(void)
{
	RUN(test_algebra);
	RUN(test_digest);
	RUN(test_digest_ignores_provenance);
	RUN(test_tables_sorted);
	RUN(test_kernel_tbl);
	RUN(test_libseccomp_agrees);
	RUN(test_actions);
	RUN(test_strip_extensions);
	RUN(test_serialize_layout);
	RUN(test_diff);
	RUN(test_summary);
	T_DONE();
}
