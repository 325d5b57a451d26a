// SPDX-License-Identifier: Apache-2.0
/*
 * The runtime gate's orchestration: prepare everything that can fail in the
 * parent (paths, the Landlock plan, the compiled filter), then in a forked
 * child take the steps in the order sandbox.h gives -- network namespace,
 * mounts, no_new_privs, Landlock, seccomp -- and execve. Landlock lives in
 * landlock.c, the network namespace in netns.c, the mounts in fsview.c, the explain supervisor in
 * notify.c; this file holds the order and loads the filter.
 */
#include <capgate/compile.h>
#include <capgate/sandbox.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/proc.h"
#include "runtime/landlock.h"
#include "runtime/netns.h"
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

int cg_sandbox_new(const struct cg_closure *c, const struct cg_sandbox_opts *opts, struct cg_sandbox **ret,
		   struct cg_error *err)
{
	_cleanup_(cg_sandbox_freep) struct cg_sandbox *sb = NULL;
	struct cg_closure *compiled = NULL;
	int r;

	if (!opts || opts->sz < sizeof(*opts))
		return cg_error_set(err, -EINVAL, "cg_sandbox_opts: size mismatch");
	if (!c && !opts->no_seccomp)
		return cg_error_set(err, -EINVAL, "no closure to enforce");
	sb = calloc(1, sizeof(*sb));
	if (!sb)
		return cg_error_set(err, -ENOMEM, "out of memory");
	sb->opts = *opts;
	sb->opts.fs_ro = sb->opts.fs_rw = NULL;
	sb->opts.n_fs_ro = sb->opts.n_fs_rw = 0;
	sb->opts.tmpfs = NULL, sb->opts.n_tmpfs = 0;
	cg_landlock_init(&sb->ll, opts->landlock_abi_max);

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
	/* No PID namespace yet: the view reports what that leaves open. */
	if ((r = cg_fsview_plan(&sb->fsview, opts, false, &sb->ll, err)) < 0)
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
		if ((r = cg_closure_digest(sb->closure, sb->digest)) < 0)
			return cg_error_set(err, r, "cannot compute the closure digest");
		sb->copts = (struct cg_compile_opts){ .sz = sizeof(sb->copts), .phase = opts->phase, .audit = opts->audit };
		if (opts->explain) {
			compiled = closure_for_explain(sb->closure);
			if (!compiled)
				return cg_error_set(err, -ENOMEM, "out of memory");
			struct cg_compile_opts xo = sb->copts;
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
		if (opts->explain) {
			sb->flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
			if (sb->flags & SECCOMP_FILTER_FLAG_TSYNC)
				sb->flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
		} else {
			sb->flags &= ~(unsigned)SECCOMP_FILTER_FLAG_NEW_LISTENER;
		}
		sb->listener = sb->flags & SECCOMP_FILTER_FLAG_NEW_LISTENER;
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

struct cg_action cg_sandbox_original_action(const struct cg_sandbox *sb, uint32_t audit_arch, uint32_t nr,
					    const uint64_t args[6], bool with_audit)
{
	struct cg_compile_opts o = sb->copts;
	o.audit = with_audit && sb->copts.audit;
	return cg_action_from_ret(cg_compile_expect(sb->closure, &o, audit_arch, nr, args));
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

void cg_sandbox_describe(const struct cg_sandbox *sb, struct cg_strbuf *out)
{
	const struct cg_sandbox_opts *o = &sb->opts;
	char buf[64];

	if (sb->closure) {
		const struct cg_closure *c = sb->closure;
		cg_strbuf_addf(out, "digest: %s\n", sb->digest);
		cg_strbuf_addf(out, "mode: %s\n", o->explain && o->audit ? "audit + explain (nothing is denied, denials are reported)" : o->audit ? "audit (denials are logged, not enforced)"
																 : o->explain     ? "enforce + explain (denials are reported)"
																		  : "enforce");
		if (o->phase >= 0 && (unsigned)o->phase < c->n_phases)
			cg_strbuf_addf(out, "phase: %s\n", c->phase_names[o->phase]);
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
		cg_strbuf_addf(out, "seccomp filter: %zu instructions, flags:", sb->prog.len);
		describe_flags(out, sb->flags);
	} else {
		cg_strbuf_addf(out, "seccomp: none\n");
	}

	cg_fsview_describe(&sb->fsview, out);
	cg_landlock_describe(&sb->ll, o, out);
	cg_strbuf_addf(out, "network: %s\n", o->netns == CG_NETNS_NONE ? "none (new empty network namespace)" : o->netns == CG_NETNS_LOOPBACK ? "loopback (new network namespace, lo up)"
																	      : "host");
	if (!sb->n_missing)
		cg_strbuf_addf(out, "missing protections: none\n");
	else
		cg_strbuf_addf(out, "missing protections: %zu\n", sb->n_missing);
	for (size_t i = 0; i < sb->n_missing; i++)
		cg_strbuf_addf(out, "  %s\n", sb->missing[i]);
}

int cg_sandbox_parse_net(struct cg_sandbox_opts *o, const char *spec, struct cg_error *err)
{
	uint16_t *ports;
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
	if (strncmp(spec, "tcp-connect=", 12) == 0) {
		ports = o->tcp_connect, n = &o->n_tcp_connect, p = spec + 12;
	} else if (strncmp(spec, "tcp-bind=", 9) == 0) {
		ports = o->tcp_bind, n = &o->n_tcp_bind, p = spec + 9;
	} else {
		return cg_error_set(err, -EINVAL,
				    "--net: unknown mode '%s' (none, loopback, host, tcp-connect=PORT[,PORT], "
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
		if (*n >= CG_SANDBOX_MAX_PORTS)
			return cg_error_set(err, -E2BIG, "--net %s: more than %d ports", spec, CG_SANDBOX_MAX_PORTS);
		ports[(*n)++] = (uint16_t)v;
		p = end;
	} while (*p++ == ',');
	return 0;
}

/* ---- applying it --------------------------------------------------------- */

int cg_sandbox_apply(const struct cg_sandbox *sb, int *ret_listener, struct cg_error *err)
{
	int r;

	if (sb->listener && !ret_listener)
		return cg_error_set(err, -EINVAL, "the filter creates a listener but no place to put it");
	if ((r = cg_netns_enter(sb->opts.netns, err)) < 0)
		return r;
	if ((r = cg_fsview_apply(&sb->fsview, &sb->ll, err)) < 0)
		return r;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return cg_error_set(err, -errno, "prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
	if ((r = cg_landlock_apply(&sb->ll, &sb->opts, err)) < 0)
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

/* ---- spawning ------------------------------------------------------------ */

static void child_exit(int code)
{
	/* The profile may deny exit_group; never return into the caller. */
	syscall(SYS_exit_group, code);
	syscall(SYS_exit, code);
	for (;;)
		__builtin_trap();
}

int cg_sandbox_spawn(const struct cg_sandbox *sb, char *const argv[], char *const envp[],
		     struct cg_sandbox_child *ret, struct cg_error *err)
{
	_cleanup_free_ char *path = NULL;
	struct cg_sandbox_shared *sh;
	int r;

	if (!argv || !argv[0])
		return cg_error_set(err, -EINVAL, "no command to run");
	if ((r = cg_sandbox_check_exec(sb, err)) < 0)
		return r;
	if ((r = cg_exec_find(argv[0], &path, err)) < 0)
		return r;
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return cg_error_set(err, -errno, "mmap: %s", strerror(errno));
	atomic_init(&sh->listener_fd, -1);
	atomic_init(&sh->acked, 0);

	fflush(NULL);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		r = cg_error_set(err, -errno, "fork: %s", strerror(errno));
		munmap(sh, sizeof(*sh));
		return r;
	}
	if (pid == 0) {
		struct cg_error cerr = { 0 };
		int lfd = -1;
		/* With a listener the program depends on capgate to answer: if
		 * capgate dies, the program goes too (and never spins forever
		 * waiting for a hand-over that cannot come). */
		if (sb->listener && (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent))
			child_exit(125);
		if (cg_sandbox_apply(sb, &lfd, &cerr) < 0) {
			sh->setup_errno = -cerr.code ? -cerr.code : EINVAL;
			snprintf(sh->setup_msg, sizeof(sh->setup_msg), "%s", cerr.msg);
			child_exit(125);
		}
		/* From here on only the profile's calls: no syscalls until execve. */
		if (lfd >= 0) {
			atomic_store_explicit(&sh->listener_fd, lfd, memory_order_release);
			while (!atomic_load_explicit(&sh->acked, memory_order_acquire))
				__builtin_ia32_pause();
		}
		execve(path, argv, envp);
		sh->exec_errno = errno;
		child_exit(errno == ENOENT ? 127 : 126);
	}

	*ret = (struct cg_sandbox_child){ .pid = pid, .pidfd = -1, .listener = -1, .shared = sh };
	ret->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (ret->pidfd < 0)
		ret->pidfd = -1;
	if (sb->listener) {
		/* Wait for the child to load its filter (or to fail), then take
		 * its listener: pidfd_getfd needs no call from the child. */
		for (;;) {
			int lfd = atomic_load_explicit(&sh->listener_fd, memory_order_acquire);
			siginfo_t si = { 0 };
			if (lfd >= 0) {
				if (ret->pidfd >= 0)
					ret->listener = (int)syscall(SYS_pidfd_getfd, ret->pidfd, lfd, 0);
				if (ret->listener < 0) {
					int e = ret->pidfd < 0 ? ENOSYS : errno;
					kill(pid, SIGKILL);
					atomic_store_explicit(&sh->acked, 1, memory_order_release);
					snprintf(sh->setup_msg, sizeof(sh->setup_msg),
						 "cannot take the seccomp listener from the child (pidfd_getfd): %s",
						 strerror(e));
					sh->setup_errno = e;
					return 0; /* cg_sandbox_supervise reports it */
				}
				fcntl(ret->listener, F_SETFD, FD_CLOEXEC);
				atomic_store_explicit(&sh->acked, 1, memory_order_release);
				break;
			}
			if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid)
				break; /* setup failed: reported by cg_sandbox_supervise */
			struct timespec ts = { 0, 20000 };
			nanosleep(&ts, NULL);
		}
	}
	return 0;
}
