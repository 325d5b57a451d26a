// SPDX-License-Identifier: Apache-2.0
/* The trace record, the closure built from it, and both recorders live. */
#include <capgate/profile.h>
#include <capgate/trace.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "source/trace_internal.h"
#include "source/trace_shared.h"
#include "t.h"
#include "testing.h"

static int nr(enum cg_arch_id a, const char *name)
{
	return cg_syscall_nr(a, name) & ~(int)CG_X32_SYSCALL_BIT;
}

static const struct cg_rule *find_rule(const struct cg_closure *c, const char *name, enum cg_arch_id a)
{
	for (size_t i = 0; i < c->n_rules; i++)
		if (strcmp(c->rules[i].name, name) == 0 && (c->rules[i].arch_mask & CG_ARCH_BIT(a)))
			return &c->rules[i];
	return NULL;
}

static int test_tables(void)
{
	CHECK(cg_trace_argkinds_sorted());
	CHECK_EQ_INT(cg_trace_argkind(CG_ARCH_X86_64, "socket"), CGT_ARG_SOCKET);
	CHECK_EQ_INT(cg_trace_argkind(CG_ARCH_X86_64, "mmap"), CGT_ARG_PROT_EXEC);
	CHECK_EQ_INT(cg_trace_argkind(CG_ARCH_X86, "mmap"), 0); /* old_mmap: a struct */
	CHECK_EQ_INT(cg_trace_argkind(CG_ARCH_X86, "mmap2"), CGT_ARG_PROT_EXEC);
	CHECK_EQ_INT(cg_trace_argkind(CG_ARCH_X86_64, "read"), 0);
	CHECK_EQ_INT(cg_trace_slot_arch(1), CG_ARCH_X86);
	CHECK_EQ_INT(cg_trace_slot_arch(2), CG_ARCH_X32);
	return 0;
}

/* Arches are kept apart, phases carried, the exec added, counts kept. */
static int test_closure_arches_phases(void)
{
	_cleanup_(cg_trace_data_freep) struct cg_trace_data *d = cg_trace_data_new();
	_cleanup_(cg_closure_freep) struct cg_closure *c = NULL;
	struct cg_trace_closure_opts o = { .sz = sizeof(o) };
	struct cg_error err = { 0 };
	const struct cg_rule *r;

	d->phased = true;
	d->exec_seen = true;
	CHECK_EQ_INT(cg_trace_data_add(d, 0, (uint32_t)nr(CG_ARCH_X86_64, "read"), 0, NULL, 1), 0);
	CHECK_EQ_INT(cg_trace_data_add(d, 0, (uint32_t)nr(CG_ARCH_X86_64, "read"), 1, NULL, 1), 0);
	CHECK_EQ_INT(cg_trace_data_add(d, 0, (uint32_t)nr(CG_ARCH_X86_64, "accept4"), 1, NULL, 1), 0);
	CHECK_EQ_INT(cg_trace_data_add(d, 1, (uint32_t)nr(CG_ARCH_X86, "read"), 0, NULL, 1), 0);
	CHECK_EQ_INT(cg_trace_data_add(d, 2, (uint32_t)nr(CG_ARCH_X32, "write"), 0, NULL, 1), 0);
	CHECK_EQ_INT(cg_trace_data_add(d, 0, 5000, 0, NULL, 1), -ERANGE);
	CHECK_EQ_INT(d->bad_nr, 1);
	cg_trace_data_finish(d);
	CHECK_EQ_INT(cg_trace_data_closure(d, &o, NULL, &c, &err), 0);
	if (!c)
		return 0;
	CHECK_EQ_INT(c->n_phases, 2);
	CHECK_STR(c->phase_names[0], "startup");
	CHECK_STR(c->phase_names[1], "serving");
	CHECK_EQ_INT(c->arch_mask, CG_ARCH_BIT(CG_ARCH_X86_64) | CG_ARCH_BIT(CG_ARCH_X86) | CG_ARCH_BIT(CG_ARCH_X32));
	CHECK((r = find_rule(c, "read", CG_ARCH_X86_64)) && r->phases == 3 && r->count == 2 &&
	      r->arch_mask == CG_ARCH_BIT(CG_ARCH_X86_64));
	CHECK((r = find_rule(c, "read", CG_ARCH_X86)) && r->phases == 1 && r->arch_mask == CG_ARCH_BIT(CG_ARCH_X86));
	CHECK((r = find_rule(c, "accept4", CG_ARCH_X86_64)) && r->phases == 2);
	CHECK(find_rule(c, "accept4", CG_ARCH_X86) == NULL);
	CHECK((r = find_rule(c, "write", CG_ARCH_X32)) && r->arch_mask == CG_ARCH_BIT(CG_ARCH_X32));
	CHECK(find_rule(c, "write", CG_ARCH_X86_64) == NULL);
	CHECK((r = find_rule(c, "execve", CG_ARCH_X86_64)) && r->phases == 1 && r->count == 1);

	/* the decision follows: i386 read allowed only where recorded */
	uint64_t a[6] = { 0 };
	CHECK(cg_action_permits(cg_closure_decide(c, CG_ARCH_X86, "read", a, -1, NULL)));
	CHECK(!cg_action_permits(cg_closure_decide(c, CG_ARCH_X86, "accept4", a, -1, NULL)));
	CHECK(!cg_action_permits(cg_closure_decide(c, CG_ARCH_X86_64, "accept4", a, 0, NULL)));
	CHECK(cg_action_permits(cg_closure_decide(c, CG_ARCH_X86_64, "accept4", a, 1, NULL)));

	/* the file round-trips: same digest, phases kept */
	struct cg_strbuf sb;
	struct cg_profile *p = NULL;
	struct cg_closure *back = NULL;
	char d1[72], d2[72];
	cg_strbuf_init(&sb);
	cg_closure_serialize(c, false, &sb);
	CHECK_EQ_INT(cg_profile_parse(sb.buf, sb.len, "t.json", &p, &err), 0);
	if (p) {
		struct cg_resolve_opts ro = { .sz = sizeof(ro), .native_arch = -1, .default_caps = true };
		CHECK_EQ_INT(cg_profile_resolve(p, &ro, &back, &err), 0);
	}
	if (back) {
		CHECK_EQ_INT(cg_closure_digest(c, d1), 0);
		CHECK_EQ_INT(cg_closure_digest(back, d2), 0);
		CHECK_STR(d1, d2);
		CHECK_EQ_INT(back->n_phases, 2);
	}
	cg_closure_free(back);
	cg_profile_free(p);
	cg_strbuf_release(&sb);
	return 0;
}

/* Value sets become argument rules where OCI can express them. */
static int test_closure_args(void)
{
	_cleanup_(cg_trace_data_freep) struct cg_trace_data *d = cg_trace_data_new();
	_cleanup_(cg_closure_freep) struct cg_closure *c = NULL;
	struct cg_trace_closure_opts o = { .sz = sizeof(o), .args = true };
	struct cg_error err = { 0 };
	struct cg_strbuf notes;
	uint64_t inet[6] = { AF_INET, SOCK_STREAM | SOCK_CLOEXEC }, unixs[6] = { AF_UNIX, SOCK_DGRAM };
	uint64_t prot_rw[6] = { 0, 4096, 3 }, clone3[6] = { 0 }, kill_other[6] = { 1234, SIGTERM };
	uint64_t a[6] = { 0 };

	cg_strbuf_init(&notes);
	cg_trace_data_add(d, 0, (uint32_t)nr(CG_ARCH_X86_64, "socket"), 0, inet, 1);
	cg_trace_data_add(d, 0, (uint32_t)nr(CG_ARCH_X86_64, "socket"), 0, inet, 1);
	cg_trace_data_add(d, 0, (uint32_t)nr(CG_ARCH_X86_64, "socket"), 0, unixs, 1);
	cg_trace_data_add(d, 0, (uint32_t)nr(CG_ARCH_X86_64, "mprotect"), 0, prot_rw, 1);
	cg_trace_data_add(d, 0, (uint32_t)nr(CG_ARCH_X86_64, "clone3"), 0, clone3, 1);
	cg_trace_data_add(d, 0, (uint32_t)nr(CG_ARCH_X86_64, "kill"), 0, kill_other, 1);
	cg_trace_data_finish(d);
	CHECK_EQ_INT(d->n_vals, 5);
	CHECK_EQ_INT(cg_trace_data_closure(d, &o, &notes, &c, &err), 0);
	if (!c)
		return 0;
	a[0] = AF_INET, a[1] = SOCK_STREAM | SOCK_CLOEXEC;
	CHECK(cg_action_permits(cg_closure_decide(c, CG_ARCH_X86_64, "socket", a, -1, NULL)));
	a[1] = SOCK_RAW;
	CHECK(!cg_action_permits(cg_closure_decide(c, CG_ARCH_X86_64, "socket", a, -1, NULL)));
	a[0] = AF_PACKET, a[1] = SOCK_STREAM | SOCK_CLOEXEC;
	CHECK(!cg_action_permits(cg_closure_decide(c, CG_ARCH_X86_64, "socket", a, -1, NULL)));
	a[0] = AF_UNIX, a[1] = SOCK_DGRAM;
	CHECK(cg_action_permits(cg_closure_decide(c, CG_ARCH_X86_64, "socket", a, -1, NULL)));
	a[0] = 0, a[1] = 4096, a[2] = 1; /* PROT_READ */
	CHECK(cg_action_permits(cg_closure_decide(c, CG_ARCH_X86_64, "mprotect", a, -1, NULL)));
	a[2] = 5; /* PROT_READ|PROT_EXEC was never seen */
	CHECK(!cg_action_permits(cg_closure_decide(c, CG_ARCH_X86_64, "mprotect", a, -1, NULL)));
	a[0] = 99, a[1] = SIGTERM;
	CHECK(cg_action_permits(cg_closure_decide(c, CG_ARCH_X86_64, "kill", a, -1, NULL)));
	a[1] = SIGKILL;
	CHECK(!cg_action_permits(cg_closure_decide(c, CG_ARCH_X86_64, "kill", a, -1, NULL)));
	/* clone3 cannot be expressed: allowed, and said so */
	a[0] = 0x7fff0000;
	CHECK(cg_action_permits(cg_closure_decide(c, CG_ARCH_X86_64, "clone3", a, -1, NULL)));
	CHECK_CONTAINS(notes.buf, "clone3");
	/* the value sets in words, kept in the comment */
	const struct cg_rule *r = find_rule(c, "socket", CG_ARCH_X86_64);
	CHECK(r && r->origin && strstr(r->origin, "AF_INET, SOCK_STREAM|SOCK_CLOEXEC (2)"));
	r = find_rule(c, "kill", CG_ARCH_X86_64);
	CHECK(r && r->origin && strstr(r->origin, "SIGTERM to another process"));
	cg_strbuf_release(&notes);

	/* a value set that may be incomplete never becomes a rule */
	_cleanup_(cg_closure_freep) struct cg_closure *c2 = NULL;
	d->lost_args = 1;
	cg_strbuf_init(&notes);
	CHECK_EQ_INT(cg_trace_data_closure(d, &o, &notes, &c2, &err), 0);
	a[0] = AF_PACKET, a[1] = SOCK_RAW;
	CHECK(c2 && cg_action_permits(cg_closure_decide(c2, CG_ARCH_X86_64, "socket", a, -1, NULL)));
	CHECK_CONTAINS(notes.buf, "may be incomplete");
	cg_strbuf_release(&notes);
	return 0;
}

static int test_port_listening(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	unsigned port;

	CHECK(s >= 0);
	CHECK_EQ_INT(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	CHECK_EQ_INT(getsockname(s, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	CHECK(!cg_trace_port_listening(port));
	CHECK_EQ_INT(listen(s, 1), 0);
	CHECK(cg_trace_port_listening(port));
	close(s);
	CHECK(!cg_trace_port_listening(port));
	return 0;
}

/* Record `sh -c 'exit 7'` start to end; returns the record or NULL. */
static struct cg_trace_data *record(enum cg_trace_backend b, struct cg_trace_end *end, struct cg_error *err, int *rc)
{
	char *argv[] = { "/bin/sh", "-c", "exit 7", NULL };
	struct cg_trace_opts o = { .sz = sizeof(o), .backend = b, .argv = argv };
	struct cg_trace *t = NULL;
	struct cg_trace_data *d = NULL;
	int r;

	*rc = cg_trace_new(&o, &t, err);
	if (*rc < 0)
		return NULL;
	if ((r = cg_trace_start(t, err)) == 0) {
		for (int i = 0; i < 300 && (r = cg_trace_wait(t, 100, NULL, NULL, end, err)) == 0; i++)
			;
		if (r == 1)
			cg_trace_snapshot(t, &d, err);
	}
	*rc = r;
	cg_trace_free(t);
	return d;
}

static int check_live(enum cg_trace_backend b)
{
	struct cg_trace_end end = { 0 };
	struct cg_error err = { 0 };
	int rc;
	_cleanup_(cg_trace_data_freep) struct cg_trace_data *d = record(b, &end, &err, &rc);

	if (!d && (rc == -EPERM || rc == -EOPNOTSUPP))
		SKIP("%s", err.msg);
	CHECKF(d, "record failed: %d %s", rc, err.msg);
	if (!d)
		return 0;
	CHECK(d->exec_seen);
	CHECK(end.have_status && WIFEXITED(end.status) && WEXITSTATUS(end.status) == 7);
	CHECK(d->counts[0][nr(CG_ARCH_X86_64, "exit_group")][0] == 1);
	/* counting starts at the exec: the pipe read that held the child is not in it */
	CHECK(d->counts[0][nr(CG_ARCH_X86_64, "execve")][0] == 0);
	CHECK(d->counts[0][nr(CG_ARCH_X86_64, "brk")][0] >= 1);
	CHECK(!d->lost_tasks && !d->lost_args);
	return 0;
}

static int test_live_ebpf(void)
{
	if (geteuid() != 0)
		SKIP("not root: the eBPF recorder needs CAP_BPF and CAP_PERFMON");
	return check_live(CG_TRACE_BPF);
}

static int test_live_ptrace(void) { return check_live(CG_TRACE_PTRACE); }

static int test_missing_command(void)
{
	char *argv[] = { "capgate-no-such-command", NULL };
	struct cg_trace_opts o = { .sz = sizeof(o), .backend = CG_TRACE_PTRACE, .argv = argv };
	struct cg_trace *t = NULL;
	struct cg_error err = { 0 };
	CHECK_EQ_INT(cg_trace_new(&o, &t, &err), -ENOENT);
	CHECK_CONTAINS(err.msg, "cannot execute capgate-no-such-command: No such file or directory");
	CHECK(t == NULL);
	return 0;
}

struct seen {
	unsigned ticks, serving, done;
};

static void count_event(struct cg_trace *t, enum cg_trace_event ev, uint64_t ms, void *userdata)
{
	struct seen *s = userdata;
	s->ticks += ev == CG_TRACE_EV_TICK;
	s->serving += ev == CG_TRACE_EV_SERVING;
	s->done += ev == CG_TRACE_EV_DONE;
}

/* The whole recording in the library: a timer flips to serving, the
 * duration ends the run with SIGTERM, and the closure comes out phased. */
static int check_record(enum cg_trace_backend b)
{
	char *argv[] = { "sleep", "30", NULL };
	struct seen seen = { 0 };
	struct cg_trace_opts o = { .sz = sizeof(o), .backend = b, .argv = argv, .serve_timer = true, .serve_after_ms = 0, .duration_ms = 300, .on_event = count_event, .userdata = &seen };
	struct cg_trace_closure_opts co = { .sz = sizeof(co) };
	_cleanup_(cg_trace_freep) struct cg_trace *t = NULL;
	_cleanup_(cg_trace_data_freep) struct cg_trace_data *d = NULL;
	_cleanup_(cg_closure_freep) struct cg_closure *c = NULL;
	struct cg_trace_end end = { 0 };
	struct cg_error err = { 0 };
	int r = cg_trace_new(&o, &t, &err);

	if (r == -EPERM || r == -EOPNOTSUPP)
		SKIP("%s", err.msg);
	CHECKF(r == 0, "cg_trace_new: %d %s", r, err.msg);
	if (r < 0)
		return 0;
	CHECK_EQ_INT(cg_trace_backend_used(t), b);
	CHECK(cg_trace_pid(t) > 0);
	CHECK_EQ_INT(cg_trace_record(t, &co, NULL, &end, &d, &c, &err), 0);
	if (!d || !c)
		return 0;
	CHECK(end.have_status && WIFSIGNALED(end.status) && WTERMSIG(end.status) == SIGTERM);
	CHECK(seen.ticks >= 1 && seen.serving == 1 && seen.done == 1);
	CHECK(d->phased && d->serving && d->exec_seen);
	CHECK_EQ_INT(c->n_phases, 2);
	CHECK(find_rule(c, "execve", CG_ARCH_X86_64) != NULL);
	CHECK(find_rule(c, "clock_nanosleep", CG_ARCH_X86_64) || find_rule(c, "nanosleep", CG_ARCH_X86_64));
	return 0;
}

static int test_record_ebpf(void)
{
	if (geteuid() != 0)
		SKIP("not root: the eBPF recorder needs CAP_BPF and CAP_PERFMON");
	return check_record(CG_TRACE_BPF);
}

static int test_record_ptrace(void) { return check_record(CG_TRACE_PTRACE); }

int main(void)
{
	RUN(test_tables);
	RUN(test_closure_arches_phases);
	RUN(test_closure_args);
	RUN(test_port_listening);
	RUN(test_live_ebpf);
	RUN(test_live_ptrace);
	RUN(test_missing_command);
	RUN(test_record_ebpf);
	RUN(test_record_ptrace);
	T_DONE();
}
