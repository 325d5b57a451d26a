// SPDX-License-Identifier: Apache-2.0
/*
 * Phases: the serving trigger's text form, the profile field that carries
 * it, and the filter closure of phase-aware enforcement -- checked through
 * the compiled program in the emulator: serving calls allowed by the
 * filter alone (and constant for the kernel's action cache), start-up
 * calls and the trigger call sent to the supervisor, the rest denied.
 */
#include <capgate/compile.h>
#include <capgate/phase.h>
#include <capgate/profile.h>
#include <linux/audit.h>
#include <linux/seccomp.h>

#include "runtime/phases.h"
#include "t.h"

static int test_trigger_text(void)
{
	static const char *good[] = { "listening:8080", "call:accept4", "after:5", "sd-notify", "signal" };
	static const char *bad[] = { "listening:0", "listening:65536", "listening:", "listening:80x", "call:opne",
				     "after:-1", "after:", "soon", "" };
	struct cg_serve_trigger t;
	struct cg_error err = { 0 };
	char buf[48];

	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++) {
		CHECKF(cg_serve_trigger_parse(good[i], &t, &err) == 0, "%s: %s", good[i], err.msg);
		CHECK_STR(cg_serve_trigger_format(&t, buf, sizeof(buf)), good[i]);
	}
	CHECK(cg_serve_trigger_parse("listening:443", &t, NULL) == 0 && t.kind == CG_SERVE_LISTENING && t.port == 443);
	CHECK(cg_serve_trigger_parse("after:2", &t, NULL) == 0 && t.ms == 2000);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		CHECKF(cg_serve_trigger_parse(bad[i], &t, &err) == -EINVAL, "'%s' accepted", bad[i]);
	CHECK(cg_serve_trigger_parse("call:opne", &t, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "unknown system call 'opne'");
	return 0;
}

static const char closure_json[] =
	"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\n"
	" \"capgate\":{\"phases\":[\"startup\",\"serving\"],\"serveWhen\":\"listening:8080\"},\n"
	" \"syscalls\":[\n"
	"  {\"names\":[\"bind\",\"execve\",\"listen\"],\"action\":\"SCMP_ACT_ALLOW\",\"phases\":[\"startup\"]},\n"
	"  {\"names\":[\"read\",\"accept4\"],\"action\":\"SCMP_ACT_ALLOW\",\"phases\":[\"serving\"]},\n"
	"  {\"names\":[\"write\",\"exit_group\"],\"action\":\"SCMP_ACT_ALLOW\"},\n"
	"  {\"names\":[\"ptrace\"],\"action\":\"SCMP_ACT_KILL_PROCESS\"}]}\n";

static int load(const char *json, struct cg_closure **ret)
{
	struct cg_profile *p = NULL;
	struct cg_error err = { 0 };
	int r = cg_profile_parse(json, strlen(json), "t.json", &p, &err);
	CHECKF(r == 0, "parse: %s", err.msg);
	if (r == 0) {
		r = cg_profile_resolve(p, NULL, ret, &err);
		CHECKF(r == 0, "resolve: %s", err.msg);
	}
	cg_profile_free(p);
	return r;
}

static int test_profile_keeps_trigger(void)
{
	_cleanup_(cg_closure_freep) struct cg_closure *c = NULL, *back = NULL;
	struct cg_strbuf sb;

	if (load(closure_json, &c) < 0)
		return 0;
	CHECK_STR(c->serve_when, "listening:8080");
	cg_strbuf_init(&sb);
	CHECK(cg_closure_serialize(c, false, &sb) == 0);
	CHECK_CONTAINS(sb.buf, "\"serveWhen\":\"listening:8080\"");
	if (load(sb.buf, &back) == 0)
		CHECK_STR(back->serve_when, "listening:8080");
	cg_strbuf_release(&sb);
	return 0;
}

static uint32_t run_prog(const struct cg_bpf_prog *prog, const char *name)
{
	struct seccomp_data d = { .arch = AUDIT_ARCH_X86_64, .nr = cg_syscall_nr(CG_ARCH_X86_64, name) };
	uint32_t got = 0;
	struct cg_error err = { 0 };
	CHECKF(cg_bpf_run(prog->insns, prog->len, &d, NULL, &got, &err) == 0, "%s", err.msg);
	return got;
}

static int test_filter_closure(void)
{
	_cleanup_(cg_closure_freep) struct cg_closure *c = NULL, *f = NULL;
	struct cg_serve_trigger t;
	struct cg_bpf_prog prog = { 0 };
	struct cg_error err = { 0 };
	uint8_t cache[64] = { 0 };

	if (load(closure_json, &c) < 0)
		return 0;
	CHECK(cg_serve_trigger_parse(c->serve_when, &t, NULL) == 0);
	CHECK(cg_phases_filter_closure(c, 1, &t, 0, &f, &err) == 0);
	if (!f)
		return 0;
	CHECK(cg_compile(f, NULL, &prog, &err) == 0);
	CHECK_EQ_INT(run_prog(&prog, "read"), SECCOMP_RET_ALLOW);
	CHECK_EQ_INT(run_prog(&prog, "accept4"), SECCOMP_RET_ALLOW);
	CHECK_EQ_INT(run_prog(&prog, "write"), SECCOMP_RET_ALLOW);
	CHECK_EQ_INT(run_prog(&prog, "bind"), SECCOMP_RET_USER_NOTIF);
	CHECK_EQ_INT(run_prog(&prog, "execve"), SECCOMP_RET_USER_NOTIF);
	CHECK_EQ_INT(run_prog(&prog, "listen"), SECCOMP_RET_USER_NOTIF);
	CHECK_EQ_INT(run_prog(&prog, "ptrace"), SECCOMP_RET_KILL_PROCESS);
	CHECK_EQ_INT(run_prog(&prog, "socket"), SECCOMP_RET_ERRNO | EPERM);
	/* the serving path costs nothing: the kernel's action cache answers it */
	cg_bpf_cache_predict(prog.insns, prog.len, AUDIT_ARCH_X86_64, 512, cache);
	for (const char *const *n = (const char *const[]){ "read", "accept4", "write", NULL }; *n; n++) {
		int nr = cg_syscall_nr(CG_ARCH_X86_64, *n);
		CHECKF(cache[nr / 8] & (1u << (nr % 8)), "%s not in the action cache", *n);
	}
	cg_bpf_prog_release(&prog);

	/* a trigger call that is a serving call is notified too (the supervisor
	 * must see it), and one the closure never allows is refused */
	cg_closure_free(f);
	f = NULL;
	CHECK(cg_serve_trigger_parse("call:accept4", &t, NULL) == 0);
	CHECK(cg_phases_filter_closure(c, 1, &t, 0, &f, &err) == 0);
	if (f && cg_compile(f, NULL, &prog, &err) == 0) {
		CHECK_EQ_INT(run_prog(&prog, "accept4"), SECCOMP_RET_USER_NOTIF);
		CHECK_EQ_INT(run_prog(&prog, "read"), SECCOMP_RET_ALLOW);
		cg_bpf_prog_release(&prog);
	}
	cg_closure_free(f);
	f = NULL;
	CHECK(cg_serve_trigger_parse("call:connect", &t, NULL) == 0);
	CHECK(cg_phases_filter_closure(c, 1, &t, 0, &f, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "does not allow connect");
	return 0;
}

static const char window_json[] =
	"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\n"
	" \"capgate\":{\"phases\":[\"startup\",\"serving\"],\"serveWhen\":\"listening:8080\",\"workerStartup\":3},\n"
	" \"syscalls\":[\n"
	"  {\"names\":[\"setuid\",\"listen\"],\"action\":\"SCMP_ACT_ALLOW\",\"phases\":[\"startup\"]},\n"
	"  {\"names\":[\"clone\",\"clone3\",\"prctl\",\"read\"],\"action\":\"SCMP_ACT_ALLOW\"}]}\n";

static uint32_t run_args(const struct cg_bpf_prog *prog, const char *name, uint64_t a0)
{
	struct seccomp_data d = { .arch = AUDIT_ARCH_X86_64,
				  .nr = cg_syscall_nr(CG_ARCH_X86_64, name),
				  .args = { a0 } };
	uint32_t got = 0;
	struct cg_error err = { 0 };
	CHECKF(cg_bpf_run(prog->insns, prog->len, &d, NULL, &got, &err) == 0, "%s", err.msg);
	return got;
}

/* Start-up windows: the closure keeps the window, and the filter sends the
 * calls that could hand a window to another process to the supervisor:
 * clone with CLONE_PARENT (only those), every clone3, and prctl(36); the
 * guard answers them once serving. */
static int test_windows(void)
{
	_cleanup_(cg_closure_freep) struct cg_closure *c = NULL, *f = NULL, *back = NULL;
	struct cg_serve_trigger t;
	struct cg_bpf_prog prog = { 0 };
	struct cg_error err = { 0 };
	struct cg_strbuf sb;
	const char *why = NULL;

	if (load(window_json, &c) < 0)
		return 0;
	CHECK_EQ_INT(c->worker_startup, 3);
	cg_strbuf_init(&sb);
	CHECK(cg_closure_serialize(c, false, &sb) == 0);
	CHECK_CONTAINS(sb.buf, "\"workerStartup\":3");
	if (load(sb.buf, &back) == 0)
		CHECK_EQ_INT(back->worker_startup, 3);
	cg_strbuf_release(&sb);
	CHECK(cg_serve_trigger_parse(c->serve_when, &t, NULL) == 0);
	CHECK(cg_phases_filter_closure(c, 1, &t, 3, &f, &err) == 0);
	if (f && cg_compile(f, NULL, &prog, &err) == 0) {
		CHECK_EQ_INT(run_args(&prog, "clone", 0x11 /* SIGCHLD */), SECCOMP_RET_ALLOW);
		CHECK_EQ_INT(run_args(&prog, "clone", 0x3d0f00 /* pthread_create's */), SECCOMP_RET_ALLOW);
		CHECK_EQ_INT(run_args(&prog, "clone", CG_CLONE_PARENT | 0x11), SECCOMP_RET_USER_NOTIF);
		CHECK_EQ_INT(run_args(&prog, "clone3", 0), SECCOMP_RET_USER_NOTIF);
		CHECK_EQ_INT(run_args(&prog, "prctl", 15 /* PR_SET_NAME */), SECCOMP_RET_ALLOW);
		CHECK_EQ_INT(run_args(&prog, "prctl", CG_PR_SET_CHILD_SUBREAPER), SECCOMP_RET_USER_NOTIF);
		CHECK_EQ_INT(run_args(&prog, "setuid", 0), SECCOMP_RET_USER_NOTIF);
		CHECK_EQ_INT(run_args(&prog, "read", 0), SECCOMP_RET_ALLOW);
		cg_bpf_prog_release(&prog);
	}
	/* without windows none of them is notified */
	cg_closure_free(f);
	f = NULL;
	CHECK(cg_phases_filter_closure(c, 1, &t, 0, &f, &err) == 0);
	if (f && cg_compile(f, NULL, &prog, &err) == 0) {
		CHECK_EQ_INT(run_args(&prog, "clone", CG_CLONE_PARENT | 0x11), SECCOMP_RET_ALLOW);
		CHECK_EQ_INT(run_args(&prog, "clone3", 0), SECCOMP_RET_ALLOW);
		cg_bpf_prog_release(&prog);
	}
	/* the guard: before serving only the subreaper is refused */
	struct cg_phases ph = { .window_s = 3 };
	uint64_t parent[6] = { CG_CLONE_PARENT | 0x11 }, plain[6] = { 0x11 }, reaper[6] = { 36, 1 };
	CHECK_EQ_INT(cg_phases_window_guard(&ph, "clone", parent, &why), 0);
	CHECK_EQ_INT(cg_phases_window_guard(&ph, "clone3", plain, &why), 0);
	CHECK_EQ_INT(cg_phases_window_guard(&ph, "prctl", reaper, &why), -EPERM);
	ph.ready = true;
	CHECK_EQ_INT(cg_phases_window_guard(&ph, "clone", parent, &why), -EPERM);
	CHECK_EQ_INT(cg_phases_window_guard(&ph, "clone", plain, &why), 0);
	CHECK_EQ_INT(cg_phases_window_guard(&ph, "clone3", plain, &why), -ENOSYS);
	ph.window_s = 0;
	CHECK_EQ_INT(cg_phases_window_guard(&ph, "clone", parent, &why), 0);
	/* an unknown spawner leaves every process without a window */
	ph.window_s = 3;
	CHECK_EQ_INT(cg_phases_window(&ph, getpid(), NULL), CG_WINDOW_UNKNOWN);
	/* this process, a child of its parent, within an hour of its start */
	CHECK(cg_phases_window_init(&ph, 3600, getppid()) == 0);
	CHECK_EQ_INT(cg_phases_window(&ph, getpid(), NULL), CG_WINDOW_OPEN);
	/* the spawner itself has none, unless a reload opened one */
	CHECK(cg_phases_window_init(&ph, 3600, getpid()) == 0);
	CHECK_EQ_INT(cg_phases_window(&ph, getpid(), NULL), CG_WINDOW_NOT_CHILD);
	cg_phases_reload(&ph);
	CHECK_EQ_INT(cg_phases_window(&ph, getpid(), NULL), CG_WINDOW_RELOAD);
	/* a spawner that is gone: nobody */
	CHECK(cg_phases_window_init(&ph, 3600, 0) == -ESRCH);
	CHECK_EQ_INT(cg_phases_window(&ph, getpid(), NULL), CG_WINDOW_UNKNOWN);
	return 0;
}

int main(void)
{
	RUN(test_trigger_text);
	RUN(test_profile_keeps_trigger);
	RUN(test_filter_closure);
	RUN(test_windows);
	T_DONE();
}
