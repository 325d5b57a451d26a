// SPDX-License-Identifier: Apache-2.0
/*
 * The runtime gate's orchestration: prepare everything that can fail in the
 * parent (paths, the Landlock plan, the compiled filter, the capability and
 * namespace plans), clone the program's outer process into its namespaces
 * and session (an init when there is a PID namespace), then in the
 * program's process take the steps in the order sandbox.h gives -- network
 * namespace, mount view, limits/user/capabilities, no_new_privs, Landlock,
 * seccomp -- and execve. Each step lives in its own file (netns.c,
 * fsview.c, caps.c, rlimit.c, landlock.c; namespaces.c and pidinit.c for the process
 * layout; notify.c for the explain supervisor); this file holds the order
 * and loads the filter.
 */
#include <capgate/compile.h>
#include <capgate/sandbox.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <sys/socket.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/error_internal.h"
#include "core/proc.h"
#include "core/sdnotify.h"
#include "runtime/landlock.h"
#include "runtime/bpf_stack.h"
#include "runtime/netns.h"
#include "runtime/pty.h"
#include "runtime/pidinit.h"
#include "runtime/sandbox_internal.h"

/* ---- preparing ----------------------------------------------------------- */

static const char *const system_ro[] = { "/usr", "/lib", "/lib64", "/bin", "/sbin", "/etc" };
static const char *const system_rw[] = { "/dev/null", "/dev/zero", "/dev/urandom" };

void cg_sandbox_free(struct cg_sandbox *sb)
{
	if (!sb)
		return;
	cg_closure_free(sb->closure);
	cg_bpf_prog_release(&sb->prog);
	cg_landlock_release(&sb->ll);
	if (sb->net)
		cg_netns_release(sb->net);
	free(sb->net);
	cg_fsview_release(&sb->fsview);
	free(sb->missing);
	free(sb);
}

/* Explain mode: every denial of @c (rules and default) becomes a notification. */
static struct cg_closure *closure_for_explain(const struct cg_closure *c)
{
	struct cg_closure *x = cg_closure_dup(c);
	if (!x)
		return NULL;
	struct cg_action notify = { .kind = CG_ACT_NOTIFY, .data = 0 };
	if (!cg_action_permits(x->default_action))
		x->default_action = notify;
	for (size_t i = 0; i < x->n_rules; i++)
		if (!cg_action_permits(x->rules[i].action))
			x->rules[i].action = notify;
	return x;
}

/* Explain mode and the socket rules: a process can have one filter with a
 * listener only, and a notification goes to the filter that returned it.
 * So the socket rules are put at the head of the closure's program: where
 * they allow, they jump to its first instruction; where they deny, they
 * notify the supervisor, which answers with the denial they stand for
 * (cg_sandbox_original_action). The separate socket filter is not loaded. */
static int fold_socket_rules(struct cg_sandbox *sb, struct cg_error *err)
{
	const struct cg_bpf_prog *sp = &sb->net->prog;
	size_t n = sp->len + sb->prog.len;
	struct sock_filter *v;

	if (n > BPF_MAXINSNS)
		return cg_error_set(err, -E2BIG,
				    "--explain: the socket rules and the filter together exceed %d instructions",
				    BPF_MAXINSNS);
	v = calloc(n, sizeof(*v));
	if (!v)
		return cg_error_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < sp->len; i++) {
		struct sock_filter f = sp->insns[i];
		if (BPF_CLASS(f.code) == BPF_RET && BPF_RVAL(f.code) == BPF_K) {
			if (f.k == SECCOMP_RET_ALLOW)
				f = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JA, (uint32_t)(sp->len - i - 1), 0, 0);
			else
				f = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF);
		}
		v[i] = f;
	}
	memcpy(v + sp->len, sb->prog.insns, sb->prog.len * sizeof(*v));
	if (cg_bpf_validate(v, n, err) < 0) {
		free(v);
		return cg_error_prefix(err, "internal error, the folded socket rules are invalid: ");
	}
	cg_bpf_prog_release(&sb->prog);
	sb->prog.insns = v;
	sb->prog.len = n;
	sb->sockets_folded = true;
	return 0;
}

/* Otherwise the socket rules and the closure's program are one filter too
 * (runtime/bpf_stack.h): the same answers as the two filters loaded one
 * after the other, for one load and one run per call. Not with
 * SECCOMP_FILTER_FLAG_LOG, which would then log the socket rules' denials
 * as well; and two filters whenever the fold cannot be made. */
static int stack_socket_rules(struct cg_sandbox *sb, struct cg_error *err)
{
	struct cg_bpf_prog one = { 0 };
	struct cg_error e2 = { 0 };
	int r;

	if (sb->flags & SECCOMP_FILTER_FLAG_LOG)
		return 0;
	if ((r = cg_bpf_stack(&sb->net->prog, &sb->prog, &one, &e2)) < 0)
		return r == -ENOMEM ? cg_error_set(err, r, "out of memory") : 0;
	cg_bpf_prog_release(&sb->prog);
	sb->prog = one;
	sb->sockets_folded = true;
	sb->sockets_stacked = true;
	return 0;
}

/* Phases: the trigger in force and the filter's closure (runtime/phases.h). */
static int phased_plan(struct cg_sandbox *sb, const struct cg_sandbox_opts *opts, struct cg_closure **ret,
		       struct cg_error *err)
{
	int r;

	sb->serving = cg_closure_phase(sb->closure, "serving", false);
	sb->startup = cg_closure_phase(sb->closure, "startup", false);
	if (sb->serving < 0)
		return cg_error_set(err, -EINVAL, "phases: the closure has no 'serving' phase");
	sb->trig = opts->serve;
	if (sb->trig.kind == CG_SERVE_NONE && sb->closure->serve_when &&
	    (r = cg_serve_trigger_parse(sb->closure->serve_when, &sb->trig, err)) < 0)
		return cg_error_prefix(err, "the closure's serveWhen: ");
	if (sb->trig.kind == CG_SERVE_NONE)
		sb->trig.kind = CG_SERVE_SIGNAL;
	if (sb->trig.kind == CG_SERVE_SD_NOTIFY) {
		/* sd_notify(3) makes an AF_UNIX datagram socket for each message:
		 * refuse now rather than wait for a READY=1 that cannot come */
		const struct cg_arch_info *ai = cg_arch_info(cg_arch_native());
		const uint64_t a[6] = { AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0 };
		int nr = cg_syscall_nr(cg_arch_native(), "socket");
		if (ai && nr >= 0 && cg_sandbox_socket_denies(sb, ai->audit, (uint32_t)nr, a))
			return cg_error_set(err, -EPERM,
					    "phases: the sd-notify trigger needs an AF_UNIX datagram socket in the "
					    "program (sd_notify(3) makes one per message), which the socket rules "
					    "deny: give --net unix (AF_UNIX sockets) or another serving trigger");
	}
	if (opts->worker_startup > CG_WORKER_STARTUP_MAX)
		return cg_error_set(err, -EINVAL, "--worker-startup: a start-up window must be 1..%d seconds",
				    CG_WORKER_STARTUP_MAX);
	sb->window_s = opts->worker_startup < 0 ? 0
		       : opts->worker_startup   ? (unsigned)opts->worker_startup
						: sb->closure->worker_startup;
	if ((r = cg_phases_filter_closure(sb->closure, sb->serving, &sb->trig, sb->window_s, ret, err)) < 0)
		return r;
	sb->phased = true;
	sb->copts.phase = -1;
	return 0;
}

int cg_sandbox_new(const struct cg_closure *c, const struct cg_sandbox_opts *user_opts, struct cg_sandbox **ret,
		   struct cg_error *err)
{
	struct cg_sandbox_opts o = { .sz = sizeof(o), .phase = -1 };
	const struct cg_sandbox_opts *opts = &o;
	_cleanup_(cg_sandbox_freep) struct cg_sandbox *sb = NULL;
	struct cg_closure *compiled = NULL;
	int r;

	if ((r = CG_OPTS_COPY(&o, user_opts)) < 0)
		return cg_opts_error(err, r, "cg_sandbox_opts");
	if (!c && !opts->no_seccomp)
		return cg_error_set(err, -EINVAL, "no closure to enforce");
	sb = calloc(1, sizeof(*sb));
	if (!sb)
		return cg_error_set(err, -ENOMEM, "out of memory");
	sb->opts = *opts;
	sb->opts.fs_ro = sb->opts.fs_rw = NULL;
	sb->opts.n_fs_ro = sb->opts.n_fs_rw = 0;
	sb->opts.cap_add = sb->opts.cap_drop = sb->opts.rlimits = NULL;
	sb->opts.n_cap_add = sb->opts.n_cap_drop = sb->opts.n_rlimits = 0;
	sb->opts.user = NULL;

	/* the process: namespaces, user and capabilities, limits */
	cg_ns_plan(opts, &sb->ns);
	if ((r = cg_caps_plan(opts, &sb->caps, err)) < 0)
		return r;
	sb->caps.rootless = sb->ns.rootless;
	if (opts->n_rlimits > CG_SANDBOX_MAX_RLIMITS)
		return cg_error_set(err, -E2BIG, "more than %d --rlimit values", CG_SANDBOX_MAX_RLIMITS);
	for (size_t i = 0; i < opts->n_rlimits; i++)
		if ((r = cg_rlimit_parse(opts->rlimits[i], &sb->rlimits[sb->n_rlimits++], err)) < 0)
			return r;
	sb->opts.tmpfs = NULL, sb->opts.n_tmpfs = 0;
	cg_landlock_init(&sb->ll, opts->landlock_abi_max);
	sb->net = calloc(1, sizeof(*sb->net));
	if (!sb->net)
		return cg_error_set(err, -ENOMEM, "out of memory");
	if ((r = cg_netns_plan(sb->net, opts, c && !opts->no_seccomp ? c->arch_mask : 0, err)) < 0)
		return r;
	sb->net->sandbox_pidns = (sb->ns.flags & CLONE_NEWPID) != 0;

	for (size_t i = 0; i < opts->n_fs_ro; i++)
		if ((r = cg_landlock_add_path(&sb->ll, opts->fs_ro[i], false, false, err)) < 0)
			return r;
	for (size_t i = 0; i < opts->n_fs_rw; i++)
		if ((r = cg_landlock_add_path(&sb->ll, opts->fs_rw[i], true, false, err)) < 0)
			return r;
	if (opts->fs_system) {
		for (size_t i = 0; i < CG_ARRAY_SIZE(system_ro); i++)
			if ((r = cg_landlock_add_path(&sb->ll, system_ro[i], false, true, err)) < 0)
				return r;
		for (size_t i = 0; i < CG_ARRAY_SIZE(system_rw); i++)
			if ((r = cg_landlock_add_path(&sb->ll, system_rw[i], true, true, err)) < 0)
				return r;
	}
	/* the view mounts a fresh /proc and sets vm.memfd_noexec only in the
	 * program's own PID namespace; without one it says what that leaves open */
	if ((r = cg_fsview_plan(&sb->fsview, opts, (sb->ns.flags & CLONE_NEWPID) != 0, &sb->ll, err)) < 0)
		return r;
	if (sb->fsview.memfd_seccomp && (r = cg_netns_deny_memfd_exec(sb->net, err)) < 0)
		return r;
	if ((r = cg_landlock_plan(&sb->ll, opts, err)) < 0)
		return r;
	sb->missing = calloc(sb->ll.n_missing + sb->fsview.n_missing + 1, sizeof(*sb->missing));
	if (!sb->missing)
		return cg_error_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < sb->ll.n_missing; i++)
		sb->missing[sb->n_missing++] = sb->ll.missing[i];
	for (size_t i = 0; i < sb->fsview.n_missing; i++)
		sb->missing[sb->n_missing++] = sb->fsview.missing[i];

	if (c && !opts->no_seccomp) {
		sb->closure = cg_closure_dup(c);
		if (!sb->closure)
			return cg_error_set(err, -ENOMEM, "out of memory");
		sb->copts = (struct cg_compile_opts){ .sz = sizeof(sb->copts), .phase = opts->phase, .audit = opts->audit };
		if (opts->phased && opts->phase < 0) {
			if ((r = phased_plan(sb, opts, &compiled, err)) < 0)
				return r;
		}
		if (opts->explain || compiled) {
			struct cg_closure *src = compiled ? compiled : sb->closure;
			compiled = opts->explain ? closure_for_explain(src) : cg_closure_dup(src);
			if (src != sb->closure)
				cg_closure_free(src);
			if (!compiled)
				return cg_error_set(err, -ENOMEM, "out of memory");
			struct cg_compile_opts xo = sb->copts;
			if (opts->explain)
				xo.audit = false; /* the supervisor lets audited calls through */
			r = cg_compile(compiled, &xo, &sb->prog, err);
		} else {
			r = cg_compile(sb->closure, &sb->copts, &sb->prog, err);
		}
		if (r < 0) {
			cg_closure_free(compiled);
			return cg_error_prefix(err, "compiling the filter: ");
		}
		sb->flags = cg_compile_seccomp_flags(compiled ? compiled : sb->closure);
		cg_closure_free(compiled);
		/* Only explain mode has someone to answer notifications; without a
		 * listener the kernel answers a notify action with ENOSYS. */
		if (opts->explain || sb->phased) {
			sb->flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
			if (sb->flags & SECCOMP_FILTER_FLAG_TSYNC)
				sb->flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
		} else {
			sb->flags &= ~(unsigned)SECCOMP_FILTER_FLAG_NEW_LISTENER;
		}
		sb->listener = sb->flags & SECCOMP_FILTER_FLAG_NEW_LISTENER;
		if (opts->explain && sb->net->filter && (r = fold_socket_rules(sb, err)) < 0)
			return r;
		if (!sb->sockets_folded && sb->net->filter && (r = stack_socket_rules(sb, err)) < 0)
			return r;
	}

	if (opts->strict && sb->n_missing) {
		struct cg_strbuf sbuf;
		cg_strbuf_init(&sbuf);
		for (size_t i = 0; i < sb->n_missing; i++)
			cg_strbuf_addf(&sbuf, "%s%s", i ? "; " : "", sb->missing[i]);
		r = cg_error_set(err, -EOPNOTSUPP, "--strict: cannot enforce every requested protection: %s",
				 sbuf.buf ? sbuf.buf : "");
		cg_strbuf_release(&sbuf);
		return r;
	}
	*ret = TAKE_PTR(sb);
	return 0;
}

const char *const *cg_sandbox_missing(const struct cg_sandbox *sb, size_t *ret_n)
{
	*ret_n = sb->n_missing;
	return (const char *const *)sb->missing;
}

const struct cg_bpf_prog *cg_sandbox_prog(const struct cg_sandbox *sb)
{
	return sb->closure ? &sb->prog : NULL;
}

unsigned int cg_sandbox_seccomp_flags(const struct cg_sandbox *sb) { return sb->flags; }

struct cg_action cg_sandbox_phase_action(const struct cg_sandbox *sb, int phase, uint32_t audit_arch, uint32_t nr,
					 const uint64_t args[6])
{
	struct cg_compile_opts o = sb->copts;
	o.audit = false;
	o.phase = phase;
	return cg_action_from_ret(cg_compile_expect(sb->closure, &o, audit_arch, nr, args));
}

struct cg_action cg_sandbox_original_action(const struct cg_sandbox *sb, uint32_t audit_arch, uint32_t nr,
					    const uint64_t args[6], bool with_audit)
{
	struct cg_compile_opts o = sb->copts;
	o.audit = with_audit && sb->copts.audit;
	uint32_t ret = cg_compile_expect(sb->closure, &o, audit_arch, nr, args);
	/* the socket rules are a filter of their own: the kernel takes the
	 * action of higher precedence, the closure's (the later filter) on a tie */
	if (sb->net && sb->net->filter) {
		struct cg_socket_rules sr = sb->net->rules;
		sr.audit = with_audit && sr.audit;
		uint32_t s = cg_compile_socket_expect(&sr, audit_arch, nr, args);
		if ((int32_t)(s & SECCOMP_RET_ACTION_FULL) < (int32_t)(ret & SECCOMP_RET_ACTION_FULL))
			ret = s;
	}
	return cg_action_from_ret(ret);
}

bool cg_sandbox_socket_denies(const struct cg_sandbox *sb, uint32_t audit_arch, uint32_t nr, const uint64_t args[6])
{
	if (!sb->net || !sb->net->filter)
		return false;
	struct cg_socket_rules sr = sb->net->rules;
	sr.audit = false;
	return cg_compile_socket_expect(&sr, audit_arch, nr, args) != SECCOMP_RET_ALLOW;
}

int cg_sandbox_check_exec(const struct cg_sandbox *sb, struct cg_error *err)
{
	static const uint64_t zero[6];
	enum cg_arch_id native = cg_arch_native();
	int nr;
	char buf[64];

	if (!sb->closure)
		return 0;
	nr = cg_syscall_nr(native, "execve");
	if (nr < 0)
		return 0;
	struct cg_action a = cg_sandbox_original_action(sb, cg_arch_info(native)->audit, (uint32_t)nr, zero, true);
	/* Only allow and log run the call: notify and trace have no agent here. */
	if (a.kind != CG_ACT_ALLOW && a.kind != CG_ACT_LOG)
		return cg_error_set(err, -EPERM,
				    "profile does not allow execve: the program could not even start (execve -> %s)",
				    cg_action_describe(a, buf, sizeof(buf)));
	return 0;
}

static void describe_flags(struct cg_strbuf *out, unsigned int flags)
{
	static const struct {
		unsigned int bit;
		const char *name;
	} names[] = {
		{ SECCOMP_FILTER_FLAG_TSYNC, "TSYNC" },
		{ SECCOMP_FILTER_FLAG_LOG, "LOG" },
		{ SECCOMP_FILTER_FLAG_SPEC_ALLOW, "SPEC_ALLOW" },
		{ SECCOMP_FILTER_FLAG_NEW_LISTENER, "NEW_LISTENER" },
		{ SECCOMP_FILTER_FLAG_TSYNC_ESRCH, "TSYNC_ESRCH" },
		{ SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, "WAIT_KILLABLE_RECV" },
	};
	if (!flags)
		cg_strbuf_addf(out, " none");
	for (size_t i = 0; i < CG_ARRAY_SIZE(names); i++)
		if (flags & names[i].bit)
			cg_strbuf_addf(out, " %s", names[i].name);
	cg_strbuf_addf(out, "\n");
}

/* Phase-aware enforcement in words: the trigger, the two sets, the answer. */
static void describe_phases(const struct cg_sandbox *sb, struct cg_strbuf *out)
{
	const struct cg_closure *c = sb->closure;
	_cleanup_free_ const char **all = NULL, **serving = NULL;
	size_t n_all = 0, n_serving = 0;
	char trig[48], act[48];

	if (cg_closure_permitted_names(c, -1, &all, &n_all) < 0 ||
	    cg_closure_permitted_names(c, sb->serving, &serving, &n_serving) < 0)
		return;
	cg_strbuf_addf(out, "phases: startup until %s (or SIGUSR1 to capgate), then serving\n",
		       cg_serve_trigger_format(&sb->trig, trig, sizeof(trig)));
	cg_strbuf_addf(out, "serving calls (the filter answers them): %zu:", n_serving);
	for (size_t i = 0; i < n_serving; i++)
		cg_strbuf_addf(out, " %s", serving[i]);
	cg_strbuf_addf(out, "\nstart-up-only calls (the supervisor lets them run until serving): %zu\n",
		       n_all - n_serving);
	cg_strbuf_addf(out, "a start-up call while serving: %s\n",
		       sb->opts.phase_kill ? "kill-process"
					   : cg_action_describe(c->default_action, act, sizeof(act)));
	if (sb->window_s)
		cg_strbuf_addf(out, "start-up windows: %us for each child of the program's first process; while "
				    "serving clone(CLONE_PARENT) and PR_SET_CHILD_SUBREAPER are denied, clone3 "
				    "answers ENOSYS\n",
			       sb->window_s);
	else
		cg_strbuf_addf(out, "start-up windows: none\n");
}

void cg_sandbox_describe(const struct cg_sandbox *sb, struct cg_strbuf *out)
{
	const struct cg_sandbox_opts *o = &sb->opts;
	char buf[64];

	if (sb->closure) {
		const struct cg_closure *c = sb->closure;
		/* computed here, not at every start: the digest is for people, and
		 * hashing initialises libcrypto (its configuration file included) */
		char digest[72];
		if (cg_closure_digest(c, digest) < 0)
			snprintf(digest, sizeof(digest), "(cannot be computed)");
		cg_strbuf_addf(out, "digest: %s\n", digest);
		cg_strbuf_addf(out, "mode: %s\n", o->explain && o->audit ? "audit + explain (nothing is denied, denials are reported)" : o->audit ? "audit (denials are logged, not enforced)"
																 : o->explain     ? "enforce + explain (denials are reported)"
																		  : "enforce");
		if (o->phase >= 0 && (unsigned)o->phase < c->n_phases)
			cg_strbuf_addf(out, "phase: %s\n", c->phase_names[o->phase]);
		else if (sb->phased)
			describe_phases(sb, out);
		else
			cg_strbuf_addf(out, "phase: all\n");
		cg_strbuf_addf(out, "seccomp default action: %s\n", cg_action_describe(c->default_action, buf, sizeof(buf)));
		for (int a = 0; a < CG_ARCH_COUNT; a++) {
			uint32_t *nrs = NULL;
			size_t n = 0;
			if (!(c->arch_mask & CG_ARCH_BIT(a)))
				continue;
			if (cg_closure_arch_numbers(c, (enum cg_arch_id)a, o->phase, &nrs, &n) < 0)
				continue;
			cg_strbuf_addf(out, "seccomp allowed calls on %s: %zu\n", cg_arch_info((enum cg_arch_id)a)->name, n);
			free(nrs);
		}
		cg_strbuf_addf(out, "seccomp filter: %zu instructions%s, flags:", sb->prog.len,
			       sb->sockets_stacked ? " (the socket rules and the closure in one program)" : "");
		describe_flags(out, sb->flags);
	} else {
		cg_strbuf_addf(out, "seccomp: none\n");
	}

	cg_fsview_describe(&sb->fsview, out);
	cg_landlock_describe(&sb->ll, o, out);
	cg_netns_describe(sb->net, out);
	cg_ns_describe(&sb->ns, out);
	cg_strbuf_addf(out, "session: %s\n",
		       o->tty ? "new (setsid), a new pty as controlling terminal, stdin, stdout and stderr (--tty), "
				"relayed by capgate: the caller's terminal cannot be driven with TIOCSTI"
			      : "new (setsid), no controlling terminal: the caller's terminal cannot be "
				"driven with TIOCSTI");
	cg_caps_describe(&sb->caps, out);
	cg_rlimit_describe(sb->rlimits, sb->n_rlimits, out);
	if (!sb->n_missing)
		cg_strbuf_addf(out, "missing protections: none\n");
	else
		cg_strbuf_addf(out, "missing protections: %zu\n", sb->n_missing);
	for (size_t i = 0; i < sb->n_missing; i++)
		cg_strbuf_addf(out, "  %s\n", sb->missing[i]);
}

int cg_sandbox_parse_net(struct cg_sandbox_opts *o, const char *spec, struct cg_error *err)
{
	uint16_t **ports;
	size_t *n;
	const char *p;

	if (strcmp(spec, "none") == 0) {
		o->netns = CG_NETNS_NONE;
		o->net_tcp = true;
		return 0;
	}
	if (strcmp(spec, "loopback") == 0) {
		o->netns = CG_NETNS_LOOPBACK;
		return 0;
	}
	if (strcmp(spec, "host") == 0) {
		o->netns = CG_NETNS_HOST;
		return 0;
	}
	if (strcmp(spec, "unix") == 0) {
		o->net_unix = true;
		return 0;
	}
	if (strncmp(spec, "tcp-connect=", 12) == 0) {
		ports = &o->tcp_connect, n = &o->n_tcp_connect, p = spec + 12;
	} else if (strncmp(spec, "tcp-bind=", 9) == 0) {
		ports = &o->tcp_bind, n = &o->n_tcp_bind, p = spec + 9;
	} else {
		return cg_error_set(err, -EINVAL,
				    "--net: unknown mode '%s' (none, loopback, host, unix, tcp-connect=PORT[,PORT], "
				    "tcp-bind=PORT[,PORT])",
				    spec);
	}
	o->net_tcp = true;
	do {
		char *end;
		errno = 0;
		unsigned long v = strtoul(p, &end, 10);
		if (errno || end == p || v > 65535 || (*end && *end != ','))
			return cg_error_set(err, -EINVAL, "--net %s: bad port list (numbers 0-65535 separated by commas)",
					    spec);
		if (*n >= CG_NETNS_MAX_PORTS)
			return cg_error_set(err, -E2BIG, "--net %s: more than %d ports", spec, CG_NETNS_MAX_PORTS);
		uint16_t *nv = realloc(*ports, (*n + 1) * sizeof(*nv));
		if (!nv)
			return cg_error_set(err, -ENOMEM, "out of memory");
		*ports = nv;
		nv[(*n)++] = (uint16_t)v;
		p = end;
	} while (*p++ == ',');
	return 0;
}

/* ---- before a start -------------------------------------------------------- */

int cg_sandbox_prefault_heap(size_t bytes)
{
	const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t lo, hi;
	char *p;
	int r = 0;

	if (!bytes || bytes > INT_MAX / 2)
		return -EINVAL;
	/* below the mmap threshold the block comes from the heap's top, and
	 * freed it goes back there, untrimmed, for the profile's allocations */
	if (mallopt(M_MMAP_THRESHOLD, (int)(2 * bytes)) != 1 || mallopt(M_TRIM_THRESHOLD, (int)(2 * bytes)) != 1)
		return -EOPNOTSUPP; /* another allocator (ASan's): nothing to keep */
	p = malloc(bytes);
	if (!p)
		return -ENOMEM;
	lo = ((uintptr_t)p + page - 1) & ~(page - 1);
	hi = ((uintptr_t)p + bytes) & ~(page - 1);
	if (hi > lo && madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE) < 0)
		r = -errno;
	free(p);
	return r;
}

/* ---- applying it --------------------------------------------------------- */

/* The sd-notify trigger's socket is made by the program's process in its
 * own network namespace and Landlock domain (so the program may send to it
 * whatever the scopes) and before the socket rules, which may deny AF_UNIX
 * to the program itself. capgate takes it with pidfd_getfd; the program's
 * own descriptor closes at its execve. */
static int sandbox_apply(const struct cg_sandbox *sb, int *ret_listener, struct cg_sandbox_shared *sh,
			 struct cg_error *err)
{
	int r;

	if (sb->listener && !ret_listener)
		return cg_error_set(err, -EINVAL, "the filter creates a listener but no place to put it");
	if ((r = cg_netns_enter(sb->net, err)) < 0)
		return r;
	/* the mount view needs CAP_SYS_ADMIN, dropped next */
	if ((r = cg_fsview_apply(&sb->fsview, &sb->ll, err)) < 0)
		return r;
	if ((r = cg_rlimit_apply(sb->rlimits, sb->n_rlimits, err)) < 0)
		return r;
	if ((r = cg_caps_apply(&sb->caps, err)) < 0)
		return r;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return cg_error_set(err, -errno, "prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
	if ((r = cg_landlock_apply(&sb->ll, &sb->opts, err)) < 0)
		return r;
	if (sh && sh->notify_name[0]) {
		if ((r = cg_sdnotify_bind(sh->notify_name, err)) < 0)
			return r;
		sh->notify_child_fd = r;
	}
	if (!sb->sockets_folded && (r = cg_netns_apply_filter(sb->net, err)) < 0)
		return r;
	if (sb->closure) {
		struct sock_fprog fprog = { .len = (unsigned short)sb->prog.len, .filter = sb->prog.insns };
		long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, sb->flags, &fprog);
		if (fd < 0)
			return cg_error_set(err, -errno, "seccomp(SECCOMP_SET_MODE_FILTER, %#x): %s", sb->flags,
					    strerror(errno));
		if (ret_listener)
			*ret_listener = sb->listener ? (int)fd : -1;
	} else if (ret_listener) {
		*ret_listener = -1;
	}
	return 0;
}

int cg_sandbox_apply(const struct cg_sandbox *sb, int *ret_listener, struct cg_error *err)
{
	return sandbox_apply(sb, ret_listener, NULL, err);
}

/* ---- spawning ------------------------------------------------------------ */

static void child_exit(int code)
{
	/* The profile may deny exit_group; never return into the caller. */
	syscall(SYS_exit_group, code);
	syscall(SYS_exit, code);
	for (;;)
		__builtin_trap();
}

/* What the program's process needs: it is the outer child itself, or the
 * init's child with a PID namespace. */
struct program_ctx {
	const struct cg_sandbox *sb;
	const char *path;
	char *const *argv;
	char *const *envp;
	struct cg_sandbox_shared *sh;
};

static void setup_failed(struct cg_sandbox_shared *sh, const struct cg_error *e)
{
	sh->setup_errno = -e->code ? -e->code : EINVAL;
	snprintf(sh->setup_msg, sizeof(sh->setup_msg), "%s", e->msg);
	child_exit(125);
}

static void program_run(void *arg)
{
	const struct program_ctx *x = arg;
	struct cg_sandbox_shared *sh = x->sh;
	struct cg_error cerr = { 0 };
	char *const *envp = x->envp;
	int lfd = -1;

	/* NOTIFY_SOCKET for the sd-notify trigger (made now: the closure
	 * need not allow what building it calls) */
	if (sh->notify_name[0] && !(envp = cg_sdnotify_env(x->envp, sh->notify_name))) {
		cg_error_set(&cerr, -ENOMEM, "out of memory");
		setup_failed(sh, &cerr);
	}
	if (sandbox_apply(x->sb, &lfd, sh, &cerr) < 0)
		setup_failed(sh, &cerr);
	/* From here on only the profile's calls: no syscalls until execve.
	 * With a listener or a before_exec hook, wait for capgate's go. */
	if (lfd >= 0 || x->sb->opts.before_exec) {
		atomic_store_explicit(&sh->listener_fd, lfd >= 0 ? lfd : CG_SANDBOX_HELD, memory_order_release);
		while (!atomic_load_explicit(&sh->acked, memory_order_acquire))
			__builtin_ia32_pause();
	}
	execve(x->path, x->argv, envp);
	sh->exec_errno = errno;
	child_exit(errno == ENOENT ? 127 : 126);
}

/* The pid a pidfd refers to, as capgate sees it (0 if unknown). */
static pid_t pidfd_pid(int pidfd)
{
	char path[64], line[128];
	pid_t pid = 0;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Pid: %d", &pid) == 1)
			break;
	fclose(f);
	return pid > 0 ? pid : 0;
}

/* capgate could not take @what from the program: both processes go, and
 * the setup failure says why (cg_sandbox_supervise reports it). */
static void take_failed(struct cg_sandbox_child *ret, struct cg_sandbox_shared *sh, const char *what, int e)
{
	kill(ret->pid, SIGKILL);
	if (ret->program > 0)
		kill(ret->program, SIGKILL);
	atomic_store_explicit(&sh->acked, 1, memory_order_release);
	snprintf(sh->setup_msg, sizeof(sh->setup_msg), "cannot take %s from the program (pidfd_getfd): %s", what,
		 strerror(e));
	sh->setup_errno = e;
}

/* The program waits before its execve: run the before_exec hook (a failure
 * kills it and becomes its setup failure), then let it go on. */
static void hold_release(const struct cg_sandbox *sb, struct cg_sandbox_child *ch, struct cg_sandbox_shared *sh)
{
	int r = 0;

	if (sb->opts.before_exec && (r = sb->opts.before_exec(ch->program, sb->opts.before_exec_user)) < 0) {
		kill(ch->pid, SIGKILL);
		if (ch->program > 0)
			kill(ch->program, SIGKILL);
		snprintf(sh->setup_msg, sizeof(sh->setup_msg), "cannot prepare the program before its execve: %s",
			 strerror(-r));
		sh->setup_errno = -r;
	}
	atomic_store_explicit(&sh->acked, 1, memory_order_release);
}

int cg_sandbox_spawn(const struct cg_sandbox *sb, char *const argv[], char *const envp[],
		     struct cg_sandbox_child *ret, struct cg_error *err)
{
	_cleanup_free_ char *path = NULL;
	struct cg_sandbox_shared *sh;
	bool pidns = sb->ns.flags & CLONE_NEWPID;
	int socks[2] = { -1, -1 }, pty[2] = { -1, -1 };
	int r;

	if (!argv || !argv[0])
		return cg_error_set(err, -EINVAL, "no command to run");
	if ((r = cg_sandbox_check_exec(sb, err)) < 0)
		return r;
	if ((r = cg_exec_find(argv[0], &path, err)) < 0)
		return r;
	if ((r = cg_netns_spawn_prepare(sb->net, err)) < 0)
		return r;
	if (sb->opts.tty && (r = cg_pty_open(&pty[0], &pty[1], err)) < 0)
		return r;
	if (pidns && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, socks) < 0) {
		r = cg_error_set(err, -errno, "socketpair: %s", strerror(errno));
		goto fail;
	}
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		r = cg_error_set(err, -errno, "mmap: %s", strerror(errno));
		goto fail;
	}
	atomic_init(&sh->listener_fd, -1);
	atomic_init(&sh->acked, 0);
	atomic_init(&sh->program_done, 0);
	sh->notify_child_fd = sh->notify_fd = -1;
	if (sb->phased && sb->trig.kind == CG_SERVE_SD_NOTIFY) {
		uint64_t rnd = 0;
		if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
			r = cg_error_set(err, -errno, "sd-notify trigger: getrandom: %s", strerror(errno));
			munmap(sh, sizeof(*sh));
			goto fail;
		}
		snprintf(sh->notify_name, sizeof(sh->notify_name), "capgate-notify-%d-%016llx", (int)getpid(),
			 (unsigned long long)rnd);
	}

	fflush(NULL);
	pid_t parent = getpid();
	pid_t pid = cg_ns_clone(&sb->ns, err);
	if (pid < 0) {
		r = pid;
		munmap(sh, sizeof(*sh));
		goto fail;
	}
	if (pid == 0) {
		struct cg_error cerr = { 0 };
		struct program_ctx x = { sb, path, argv, envp, sh };
		if (socks[0] >= 0)
			close(socks[0]);
		/* With a listener the program depends on capgate to answer: if
		 * capgate dies, the program goes too (and never spins forever
		 * waiting for a hand-over that cannot come). With a PID
		 * namespace the parent is outside it (getppid() is 0): the
		 * init's hand-over of the pidfd fails instead if capgate is gone. */
		if ((sb->listener || sb->opts.before_exec) && (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || (!pidns && getppid() != parent)))
			child_exit(125);
		if (cg_ns_map_self(&sb->ns, &cerr) < 0)
			setup_failed(sh, &cerr);
		if (setsid() < 0) {
			cg_error_set(&cerr, -errno, "setsid: %s", strerror(errno));
			setup_failed(sh, &cerr);
		}
		if (pty[0] >= 0) {
			close(pty[0]);
			if (cg_pty_attach(pty[1], &cerr) < 0)
				setup_failed(sh, &cerr);
		}
		if (pidns)
			cg_pidinit_run(socks[1], sh, !(sb->listener || sb->opts.before_exec), program_run, &x);
		program_run(&x);
		child_exit(125);
	}

	*ret = (struct cg_sandbox_child){
		.pid = pid, .pidfd = -1, .listener = -1, .shared = sh, .program_pidfd = -1, .pty_master = pty[0]
	};
	if (pty[1] >= 0)
		close(pty[1]);
	/* the forwarder, once the child's network namespace exists; a failure
	 * is told to the child, which reports it as its setup failure */
	(void)cg_netns_spawn_parent(sb->net, pid, NULL);
	ret->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (ret->pidfd < 0)
		ret->pidfd = -1;
	if (pidns) {
		close(socks[1]);
		ret->program_pidfd = cg_pidinit_recv_pidfd(socks[0]);
		close(socks[0]);
		ret->program = ret->program_pidfd >= 0 ? pidfd_pid(ret->program_pidfd) : 0;
	} else {
		ret->program = pid;
	}
	int ppidfd = pidns ? ret->program_pidfd : ret->pidfd;
	if (sb->listener || sb->opts.before_exec) {
		/* Wait for the program to load its filter (or to fail), then
		 * take its listener: pidfd_getfd needs no call from it. */
		for (;;) {
			int lfd = atomic_load_explicit(&sh->listener_fd, memory_order_acquire);
			siginfo_t si = { 0 };
			if (lfd == CG_SANDBOX_HELD) {
				hold_release(sb, ret, sh);
				break;
			}
			if (lfd >= 0) {
				if (ppidfd >= 0)
					ret->listener = (int)syscall(SYS_pidfd_getfd, ppidfd, lfd, 0);
				if (ret->listener < 0) {
					take_failed(ret, sh, "the seccomp listener", ppidfd < 0 ? ENOSYS : errno);
					return 0; /* cg_sandbox_supervise reports it */
				}
				fcntl(ret->listener, F_SETFD, FD_CLOEXEC);
				if (sh->notify_child_fd >= 0 &&
				    (sh->notify_fd = (int)syscall(SYS_pidfd_getfd, ppidfd, sh->notify_child_fd, 0)) < 0) {
					/* fail closed: without it serving would never start by the trigger
					 * the user chose, and nobody would be told */
					take_failed(ret, sh, "the sd-notify socket", errno);
					return 0;
				}
				if (sh->notify_fd >= 0)
					fcntl(sh->notify_fd, F_SETFD, FD_CLOEXEC);
				hold_release(sb, ret, sh);
				break;
			}
			if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid)
				break; /* setup failed: reported by cg_sandbox_supervise */
			struct timespec ts = { 0, 20000 };
			nanosleep(&ts, NULL);
		}
	}
	return 0;
fail:
	if (socks[0] >= 0) {
		close(socks[0]);
		close(socks[1]);
	}
	for (int i = 0; i < 2; i++)
		if (pty[i] >= 0)
			close(pty[i]);
	return r;
}
