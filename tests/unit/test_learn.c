// SPDX-License-Identifier: Apache-2.0
/* Learn mode without a sandbox: supervisor events built by hand go into the
 * learner, which must group them with bounded memory, explain them (the
 * closest rule and what it failed on), and turn them into a closure with
 * trace's argument rules and the enforced closure's phases; the strace-like
 * decoder reads strings from a live process (this one). */
#include <capgate/learn.h>
#include <capgate/profile.h>
#include <fcntl.h>
#include <sys/socket.h>

#include "runtime/syscall_fmt.h"
#include "t.h"
#include "testing.h"

/* socket allowed only for AF_INET; openat everywhere; getpid only in
 * phase "serving"; two phases. */
static struct cg_closure *base(void)
{
	struct cg_closure *c = cg_closure_new();
	struct cg_rule r = { .action = { CG_ACT_ALLOW, 0 } };
	int serving;

	cg_closure_phase(c, "startup", true);
	serving = cg_closure_phase(c, "serving", true);
	r.name = "socket";
	r.n_args = 1;
	r.args[0] = (struct cg_arg_cond){ 0, CG_OP_EQ, AF_INET, 0 };
	cg_closure_add_rule(c, &r);
	r.n_args = 0;
	r.name = "openat";
	cg_closure_add_rule(c, &r);
	r.name = "getpid";
	r.phases = 1u << serving;
	cg_closure_add_rule(c, &r);
	cg_closure_canonicalize(c);
	return c;
}

static struct cg_sandbox_event event(const char *name, uint64_t a0, uint64_t a1, int phase)
{
	struct cg_sandbox_event ev = { .pid = getpid(), .arch = CG_ARCH_X86_64, .name = name, .phase = phase };
	ev.nr = (uint32_t)cg_syscall_nr(CG_ARCH_X86_64, name);
	ev.args[0] = a0;
	ev.args[1] = a1;
	ev.action = (struct cg_action){ CG_ACT_ERRNO, EPERM };
	ev.allowed = true;
	ev.text = name;
	return ev;
}

static int test_explain(void)
{
	_cleanup_(cg_closure_freep) struct cg_closure *c = base();
	struct cg_strbuf s;
	struct cg_sandbox_event ev = event("socket", AF_UNIX, SOCK_STREAM, -1);

	cg_strbuf_init(&s);
	cg_learn_explain(c, &ev, &s);
	CHECK_CONTAINS(s.buf, "allowed with other arguments");
	CHECK_CONTAINS(s.buf, "arg0 == 0x2");
	CHECK_CONTAINS(s.buf, "arg0 = 0x1");
	s.len = 0;
	ev = event("getpid", 0, 0, 0);
	cg_learn_explain(c, &ev, &s);
	CHECK_STR(s.buf, "allowed only in phase serving, not in startup");
	s.len = 0;
	ev = event("unlink", 0, 0, -1);
	cg_learn_explain(c, &ev, &s);
	CHECK_STR(s.buf, "no rule allows unlink: the default action decides");
	cg_strbuf_release(&s);
	return 0;
}

/* A busy loop: a million events keep three forms and one count. */
static int test_grouping(void)
{
	_cleanup_(cg_closure_freep) struct cg_closure *c = base();
	_cleanup_(cg_learn_freep) struct cg_learn *l = NULL;
	struct cg_learn_opts o = { .sz = sizeof(o), .closure = c };
	const struct cg_learn_call *call;
	enum cg_learn_seen seen;
	unsigned shown = 0;

	CHECK_EQ_INT(cg_learn_new(&o, &l, NULL), 0);
	for (uint64_t i = 0; i < 1000000; i++) {
		struct cg_sandbox_event ev = event("read", 3, i % 10, -1);
		char text[32];
		snprintf(text, sizeof(text), "read %llu", (unsigned long long)(i % 10));
		ev.text = text;
		CHECK_EQ_INT(cg_learn_add(l, &ev, &seen, &call), 0);
		shown += seen != CG_LEARN_REPEAT;
	}
	CHECK_EQ_INT(shown, 3);
	CHECK_EQ_INT(cg_learn_n_calls(l), 1);
	call = cg_learn_call_at(l, 0);
	CHECK_EQ_INT(call->count, 1000000);
	CHECK_EQ_INT(call->n_forms, 3);
	CHECK_EQ_INT(call->unshown, 700000);
	CHECK_EQ_INT(cg_learn_n_events(l), 1000000);
	return 0;
}

/* The learned closure: trace's argument rules, the phase of each call, and
 * merged into the base it allows exactly what was missing. */
static int test_closure(void)
{
	_cleanup_(cg_closure_freep) struct cg_closure *c = base(), *k = NULL, *u = NULL;
	_cleanup_(cg_learn_freep) struct cg_learn *l = NULL;
	struct cg_learn_opts o = { .sz = sizeof(o), .closure = c };
	struct cg_sandbox_event ev;
	const struct cg_rule *rule;
	uint64_t a[6] = { AF_UNIX, SOCK_STREAM }, b[6] = { AF_NETLINK, SOCK_RAW }, z[6] = { 0 };

	CHECK_EQ_INT(cg_learn_new(&o, &l, NULL), 0);
	ev = event("socket", AF_UNIX, SOCK_STREAM, -1);
	CHECK_EQ_INT(cg_learn_add(l, &ev, NULL, NULL), 0);
	ev = event("getpid", 0, 0, 0);
	CHECK_EQ_INT(cg_learn_add(l, &ev, NULL, NULL), 0);
	CHECK_EQ_INT(cg_learn_closure(l, NULL, &k, NULL), 0);
	CHECK_EQ_INT(k->n_rules, 2);
	CHECK_EQ_INT(k->n_phases, 1);
	CHECK_STR(k->phase_names[0], "startup");
	CHECK_EQ_INT(cg_closure_union(c, k, &u), 0);
	/* AF_UNIX now, AF_NETLINK still not: the rule carries the values */
	CHECK_EQ_INT(cg_closure_decide(u, CG_ARCH_X86_64, "socket", a, -1, &rule).kind, CG_ACT_ALLOW);
	CHECK_EQ_INT(cg_closure_decide(u, CG_ARCH_X86_64, "socket", b, -1, &rule).kind, CG_ACT_ERRNO);
	CHECK_EQ_INT(cg_closure_decide(u, CG_ARCH_X86_64, "getpid", z, 0, &rule).kind, CG_ACT_ALLOW);
	return 0;
}

static int test_coverage(void)
{
	_cleanup_(cg_closure_freep) struct cg_closure *c = base(), *used = cg_closure_new();
	struct cg_rule r = { .name = "openat", .action = { CG_ACT_ALLOW, 0 }, .count = 7 };
	struct cg_strbuf s;
	size_t n_used = 0, total = 0;

	cg_closure_add_rule(used, &r);
	r.name = "unlink";
	r.count = 1;
	cg_closure_add_rule(used, &r);
	cg_closure_canonicalize(used);
	cg_strbuf_init(&s);
	CHECK_EQ_INT(cg_learn_coverage(c, used, false, &s, &n_used, &total), 0);
	CHECK_EQ_INT(n_used, 1);
	CHECK_EQ_INT(total, 3);
	CHECK_CONTAINS(s.buf, "used openat 7\n");
	CHECK_CONTAINS(s.buf, "unused getpid\n");
	CHECK_CONTAINS(s.buf, "outside unlink 1\n");
	s.len = 0;
	CHECK_EQ_INT(cg_learn_coverage(c, used, true, &s, NULL, NULL), 0);
	CHECK_CONTAINS(s.buf, "\"unused\": [\n    \"getpid\",\n    \"socket\"\n  ]");
	cg_strbuf_release(&s);
	return 0;
}

/* Decoding reads the workload's memory: only events that may be shown are
 * decoded. The same registers are never decoded twice; a path at ever new
 * addresses, or ever new arguments, costs at most 2 x max_forms decodes. */
static int test_lazy_decode(void)
{
	_cleanup_(cg_closure_freep) struct cg_closure *c = base();
	_cleanup_(cg_learn_freep) struct cg_learn *l = NULL;
	struct cg_learn_opts o = { .sz = sizeof(o), .closure = c };
	static char paths[4096][16];
	const struct cg_learn_call *call = NULL;
	unsigned long long before;

	CHECK_EQ_INT(cg_learn_new(&o, &l, NULL), 0);
	for (size_t i = 0; i < 4096; i++)
		snprintf(paths[i], sizeof(paths[i]), "/etc/%s", i % 2 ? "same" : "same");
	/* one form, repeated: decoded once */
	before = cg_syscall_fmt_n_decoded();
	for (int i = 0; i < 100000; i++) {
		struct cg_sandbox_event ev = event("unlink", (uintptr_t)paths[0], 0, -1);
		ev.text = NULL;
		ev.outcome = "default action errno(EPERM)";
		CHECK_EQ_INT(cg_learn_add(l, &ev, NULL, &call), 0);
	}
	CHECK_EQ_INT(cg_syscall_fmt_n_decoded() - before, 1);
	CHECK_STR(call->forms[0].text, "unlink(\"/etc/same\") [x86_64 nr 87]: default action errno(EPERM)");
	/* the same path at 4095 other addresses: one form, a bounded number of decodes */
	before = cg_syscall_fmt_n_decoded();
	for (int i = 1; i < 4096; i++) {
		struct cg_sandbox_event ev = event("unlink", (uintptr_t)paths[i], 0, -1);
		ev.text = NULL;
		ev.outcome = "default action errno(EPERM)";
		CHECK_EQ_INT(cg_learn_add(l, &ev, NULL, &call), 0);
	}
	CHECK(cg_syscall_fmt_n_decoded() - before <= 6);
	CHECK_EQ_INT(call->n_forms, 1);
	CHECK_EQ_INT(call->count, 100000 + 4095);
	/* ever new arguments (a busy loop over modes): three forms, six decodes at most */
	before = cg_syscall_fmt_n_decoded();
	for (int i = 0; i < 100000; i++) {
		struct cg_sandbox_event ev = event("mkdir", (uintptr_t)paths[0], (uint64_t)i, -1);
		ev.text = NULL;
		ev.outcome = "default action errno(EPERM)";
		CHECK_EQ_INT(cg_learn_add(l, &ev, NULL, &call), 0);
	}
	CHECK(cg_syscall_fmt_n_decoded() - before <= 6);
	CHECK_EQ_INT(call->n_forms, 3);
	CHECK_EQ_INT(call->unshown, 100000 - 3);
	return 0;
}

struct live {
	struct cg_learn *learn;
	uint64_t events;
};
static void live_event(const struct cg_sandbox_event *ev, void *user)
{
	struct live *lv = user;
	lv->events += ev->name && strcmp(ev->name, "mkdir") == 0;
	(void)cg_learn_add(lv->learn, ev, NULL, NULL);
}

/* The same through the supervisor: a program making 3000 denied calls with
 * ever new arguments is decoded a handful of times, not 3000 (the
 * supervisor hands events over undecoded). Python's own start-up denials
 * (an AF_UNIX socket the --net none default refuses) add a form or two. */
static int test_lazy_decode_live(void)
{
	static const char json[] = "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_X86_64\"],"
				   "\"syscalls\":[{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_ERRNO\"}]}";
	_cleanup_(cg_closure_freep) struct cg_closure *c = NULL;
	_cleanup_(cg_learn_freep) struct cg_learn *l = NULL;
	struct cg_learn_opts lo = { .sz = sizeof(lo) };
	struct cg_sandbox_opts so = { .sz = sizeof(so), .phase = -1, .explain = true };
	struct cg_sandbox *sb = NULL;
	struct cg_sandbox_child ch;
	struct cg_sandbox_status st;
	struct cg_error err = { 0 };
	struct live lv = { 0 };
	char *argv[] = { "/usr/bin/python3", "-c",
			 "import os\nfor i in range(3000):\n    try: os.mkdir('/nonexistent-capgate', i & 0o777)\n"
			 "    except OSError: pass\n",
			 NULL };
	unsigned long long before;

	if (access(argv[0], X_OK) != 0) {
		CHECKF(0, "%s not installed", argv[0]);
		return 0;
	}
	struct cg_profile *prof = NULL;
	if (cg_profile_parse(json, sizeof(json) - 1, "live.json", &prof, &err) == 0)
		(void)cg_profile_resolve(prof, NULL, &c, &err);
	cg_profile_free(prof);
	if (!c) {
		CHECKF(0, "profile: %s", err.msg);
		printf("  %s\n", err.msg);
		return 0;
	}
	lo.closure = c;
	CHECK_EQ_INT(cg_learn_new(&lo, &l, NULL), 0);
	lv.learn = l;
	if (cg_sandbox_new(c, &so, &sb, &err) < 0) {
		CHECKF(0, "cg_sandbox_new: %s", err.msg);
		return 0;
	}
	before = cg_syscall_fmt_n_decoded();
	int r = cg_sandbox_spawn(sb, argv, (char *[]){ NULL }, &ch, &err);
	if (r == 0)
		r = cg_sandbox_supervise(sb, &ch, live_event, &lv, &st, &err);
	cg_sandbox_free(sb);
	CHECKF(r == 0, "spawn/supervise: %s", err.msg);
	CHECK_EQ_INT(cg_sandbox_status_exit(&st), 0);
	CHECK_EQ_INT(lv.events, 3000);
	CHECKF(cg_syscall_fmt_n_decoded() - before <= 10, "%llu decodes for %llu events",
	       cg_syscall_fmt_n_decoded() - before, (unsigned long long)lv.events);
	const struct cg_learn_call *mk = NULL;
	for (size_t i = 0; i < cg_learn_n_calls(l); i++)
		if (cg_learn_call_at(l, i)->name && strcmp(cg_learn_call_at(l, i)->name, "mkdir") == 0)
			mk = cg_learn_call_at(l, i);
	CHECK(mk != NULL);
	if (mk) {
		CHECK_EQ_INT(mk->count, 3000);
		CHECK_EQ_INT(mk->n_forms, 3);
		CHECK_CONTAINS(mk->forms[0].text, "mkdir(\"/nonexistent-capgate\", 0)");
	}
	return 0;
}

/* strace-like decoding, strings read from a live process (this one). */
static int test_decode(void)
{
	static const char path[] = "/etc/\"quoted\"";
	uint64_t o[6] = { (uint64_t)(int64_t)AT_FDCWD, (uintptr_t)path, O_RDONLY | O_CLOEXEC | O_CREAT, 0644 };
	uint64_t m[6] = { 0, 4096, 5, 0x22, (uint64_t)-1, 0 };
	struct cg_strbuf s;

	cg_strbuf_init(&s);
	cg_syscall_fmt_call(CG_ARCH_X86_64, 257, o, getpid(), &s);
	CHECK_STR(s.buf, "openat(AT_FDCWD, \"/etc/\\\"quoted\\\"\", O_RDONLY|O_CREAT|O_CLOEXEC, 0644) [x86_64 nr 257]");
	s.len = 0;
	cg_syscall_fmt_call(CG_ARCH_X86_64, 257, o, 0, &s); /* no pid: the address */
	CHECK(strstr(s.buf, "openat(AT_FDCWD, 0x") == s.buf);
	s.len = 0;
	cg_syscall_fmt_args(CG_ARCH_X86_64, 9, m, 0, &s);
	CHECK_STR(s.buf, "mmap(0, 0x1000, PROT_READ|PROT_EXEC, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)");
	CHECK_EQ_INT(cg_syscall_fmt_nargs("fsync"), 1);
	CHECK_EQ_INT(cg_syscall_fmt_nargs("nosuchcall"), -1);
	/* the pidfd calls: their real argument counts, a signal by name */
	uint64_t p[6] = { 1234, 0, 0, 0, 0, 0 }, k[6] = { 3, 15, 0, 0, 0, 0 };
	s.len = 0;
	cg_syscall_fmt_args(CG_ARCH_X86_64, 434, p, 0, &s);
	CHECK_STR(s.buf, "pidfd_open(1234, 0)");
	s.len = 0;
	cg_syscall_fmt_args(CG_ARCH_X86_64, 424, k, 0, &s);
	CHECK_STR(s.buf, "pidfd_send_signal(3, SIGTERM, 0, 0)");
	CHECK_EQ_INT(cg_syscall_fmt_nargs("pidfd_getfd"), 3);
	cg_strbuf_release(&s);
	return 0;
}

int main(void)
{
	RUN(test_explain);
	RUN(test_grouping);
	RUN(test_closure);
	RUN(test_coverage);
	RUN(test_decode);
	RUN(test_lazy_decode);
	RUN(test_lazy_decode_live);
	T_DONE();
}
