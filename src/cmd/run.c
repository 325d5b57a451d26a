// SPDX-License-Identifier: Apache-2.0
/*
 * capgate run: run a program under a profile -- seccomp-BPF, Landlock, a
 * network namespace and socket rules, its own namespaces, session, user and
 * capabilities -- with capgate staying outside as the supervisor (and, with
 * tcp ports, as the network forwarder). The profile is resolved with
 * the capabilities the program gets (--cap-add/--cap-drop), so the filter
 * and the capabilities agree.
 *
 * Exit status: the program's own (128+N if it was killed by signal N, so a
 * seccomp kill gives 159 = 128+SIGSYS); 2 for usage and input errors (bad
 * option, unreadable profile, unknown phase, --fs path missing); 125 when
 * the sandbox cannot be set up or, with --strict, cannot be fully enforced;
 * 126 when the program cannot be executed (permission, or a profile that
 * does not allow execve); 127 when it cannot be found.
 */
#include <capgate/sandbox.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "../cli.h"

extern char **environ;

#define EXIT_SETUP 125

static const char run_desc[] =
	"Run CMD with exactly the calls of the profile (seccomp-BPF), and optionally only the\n"
	"listed paths (Landlock).\n"
	"Network: CMD always gets a network namespace of its own (default: only lo, up) and\n"
	"socket rules (every socket family, type and protocol not granted is denied), unless\n"
	"--net host. --net tcp-connect/tcp-bind=PORTS: capgate's forwarder is the only way\n"
	"out -- connections from inside to any address on those ports are made from the host;\n"
	"the host's PORTS (every address) reach 127.0.0.1:PORT inside. Only TCP: give\n"
	"addresses, not names. --net unix grants AF_UNIX sockets (socketpair always works).\n"
	"Landlock scopes (no signals, no abstract UNIX sockets outside the sandbox) are\n"
	"applied on every run where the kernel has them.\n"
	"CMD always runs in a mount namespace of its own. With any --fs-* option it sees a\n"
	"read-only, nosuid, nodev view of the tree (no chmod, chown, utimensat, setxattr\n"
	"outside --fs-rw), the --fs-rw paths mounted rw,nosuid,nodev,noexec, a new /proc and\n"
	"a minimal /dev; everything else on the filesystem is denied, including the\n"
	"program's binary and libraries: grant them, or use --fs-system.\n"
	"Landlock rights the kernel lacks are reported as missing protections (--strict\n"
	"refuses to run instead).\n"
	"The program gets new PID (under a small init), IPC, UTS and cgroup namespaces\n"
	"(--share-ns to keep capgate's), a new session (--tty to keep the terminal), and\n"
	"Docker's 14 capabilities as root, none as any other user (--cap-add, --cap-drop);\n"
	"an ordinary user runs it in a user namespace mapping only its own ids. A\n"
	"protection that cannot be set up stops the run (exit 125) and is named.\n\n"
	"exit status: CMD's (128+N if killed by signal N; 159 = seccomp kill), 2 usage or\n"
	"input error, 125 sandbox setup failed or --strict refused, 126 cannot execute\n"
	"(permission, or the profile does not allow execve), 127 command not found";

static volatile sig_atomic_t forward_pid, forward_all;

/* Forward signals sent to capgate (kill, systemd, a supervisor), and in its
 * own session also the terminal's (^C): the program is in another session
 * and does not get them. With --tty the terminal's signals (si_code
 * SI_KERNEL) reach the program's process group already: not sent twice. */
static void forward_signal(int sig, siginfo_t *si, void *uctx)
{
	(void)uctx;
	if (forward_pid > 0 && (forward_all || !si || si->si_code <= 0))
		kill((pid_t)forward_pid, sig);
}

static void install_forwarding(pid_t pid, bool tty)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
	struct sigaction sa = { 0 };
	forward_pid = pid;
	forward_all = !tty;
	sa.sa_sigaction = forward_signal;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < CG_ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
}

static void print_event(const struct cg_sandbox_event *ev, void *user)
{
	(void)user;
	fprintf(stderr, "capgate run: %s %s\n", ev->allowed ? "would deny" : "denied", ev->text);
}

static int phase_index(struct cg_closure *c, const char *name)
{
	int i = cg_closure_phase(c, name, false);
	if (i >= 0)
		return i;
	if (!c->n_phases) {
		cli_error("run", "unknown phase '%s': the profile names no phases", name);
		return -1;
	}
	fprintf(stderr, "capgate run: unknown phase '%s' (phases:", name);
	for (unsigned p = 0; p < c->n_phases; p++)
		fprintf(stderr, "%s %s", p ? "," : "", c->phase_names[p]);
	fprintf(stderr, ")\n");
	return -1;
}

/* Phase-aware enforcement (the closure has a serving phase): the trigger
 * given on the command line, at most one, else the closure's own. */
static int phase_trigger(struct cg_sandbox_opts *so, const char *port, const char *call, const char *after)
{
	struct cg_error err = { 0 };
	char spec[64];

	so->phased = true;
	if (!!port + !!call + !!after > 1) {
		cli_error("run", "give at most one of --serve-when-listening, --serve-after-call, --serve-after");
		return -1;
	}
	if (!port && !call && !after)
		return 0;
	snprintf(spec, sizeof(spec), "%s:%s", port ? "listening" : call ? "call"
									: "after",
		 port ? port : call ? call
				    : after);
	if (cg_serve_trigger_parse(spec, &so->serve, &err) < 0) {
		cli_error("run", "%s", err.msg);
		return -1;
	}
	return 0;
}

/* What would be enforced, without running anything. */
static int print_plan(const struct cg_sandbox *sb, const char *profile, char **args, int nargs)
{
	struct cg_error err = { 0 };
	struct cg_strbuf out;
	int rc;

	cg_strbuf_init(&out);
	cg_strbuf_addf(&out, "profile: %s\n", profile);
	if (nargs) {
		cg_strbuf_addf(&out, "command:");
		for (int i = 0; i < nargs; i++)
			cg_strbuf_addf(&out, " %s", args[i]);
		cg_strbuf_addf(&out, "\n");
	}
	cg_sandbox_describe(sb, &out);
	if (nargs && cg_sandbox_check_exec(sb, &err) < 0)
		cg_strbuf_addf(&out, "warning: %s\n", err.msg);
	rc = cli_write("run", "-", &out) < 0 ? EXIT_SETUP : EXIT_OK;
	cg_strbuf_release(&out);
	return rc;
}

/* Start the program, supervise it until it ends; its exit status. */
static int run_program(const struct cg_sandbox *sb, char **args, const struct cg_sandbox_opts *so)
{
	struct cg_sandbox_child child;
	struct cg_sandbox_status st;
	struct cg_error err = { 0 };
	struct cg_strbuf why;
	size_t n_missing;
	const char *const *missing = cg_sandbox_missing(sb, &n_missing);
	int r;

	for (size_t i = 0; i < n_missing; i++)
		fprintf(stderr, "capgate run: warning: missing protection: %s\n", missing[i]);
	if (so->audit && !so->explain)
		fprintf(stderr, "capgate run: audit mode: denials are logged by the kernel (audit log / dmesg), "
				"not enforced\n");
	r = cg_sandbox_spawn(sb, args, environ, &child, &err);
	if (r < 0) {
		cli_error("run", "%s", err.msg);
		return r == -ENOENT ? 127 : 126;
	}
	install_forwarding(child.pid, so->tty);
	r = cg_sandbox_supervise(sb, &child, so->explain || so->phased ? print_event : NULL, NULL, &st, &err);
	forward_pid = 0;
	if (r < 0)
		cli_error("run", "supervisor: %s", err.msg);
	if (so->phased && st.serving)
		fprintf(stderr, "capgate run: phases: serving from %.1fs (%s); notifications: %llu before, %llu while serving\n",
			(double)st.serving_ms / 1000, st.serving_why, (unsigned long long)st.n_notified_startup,
			(unsigned long long)st.n_notified_serving);
	else if (so->phased)
		fprintf(stderr, "capgate run: phases: the serving phase was never reached\n");
	cg_strbuf_init(&why);
	cg_sandbox_status_describe(&st, args[0], &why);
	if (why.len)
		cli_error("run", "%s", why.buf);
	cg_strbuf_release(&why);
	return cg_sandbox_status_exit(&st);
}

int cmd_run(int argc, char **argv)
{
	static const char usage[] = "--profile P.json [options] -- CMD [ARGS...]";
	const char *profile = NULL, *phase = NULL, *serve_port = NULL, *serve_call = NULL, *serve_after = NULL;
	bool no_phases = false;
	struct opt_list fs_ro = { 0 }, fs_rw = { 0 }, nets = { 0 }, share = { 0 }, tmpfs = { 0 };
	struct opt_list cap_add = { 0 }, cap_drop = { 0 }, rlimits = { 0 };
	const char *cap_names[64];
	uint64_t caps = 0;
	struct cg_sandbox_opts so = { .sz = sizeof(so), .phase = -1 };
	bool dry_run = false;
	struct cli_resolve ro = { 0 };
	long abi_max = 0;
	const struct opt opts[] = {
		{ OPT_STRING, 'p', "profile", &profile, "FILE", "OCI/Docker seccomp profile or capgate closure (required)", NULL },
		{ OPT_LIST, 0, "fs-ro", &fs_ro, "PATH", "allow reading and executing beneath PATH (repeatable)", NULL },
		{ OPT_LIST, 0, "fs-rw", &fs_rw, "PATH", "allow reading, writing, creating, removing beneath PATH -- not executing (repeatable)", NULL },
		{ OPT_BOOL, 0, "fs-system", &so.fs_system, NULL, "add read-only /usr /lib /lib64 /bin /sbin /etc and rw /dev/null,/dev/zero,/dev/urandom", NULL },
		{ OPT_LIST, 0, "tmpfs", &tmpfs, "DIR", "mount a new tmpfs (rw,nosuid,nodev,noexec) on DIR (repeatable)", NULL },
		{ OPT_BOOL, 0, "no-mount-ns", &so.no_mount_ns, NULL, "keep capgate's mount namespace: no read-only view, /proc, /dev or --tmpfs (Landlock alone guards --fs-*)", NULL },
		{ OPT_BOOL, 0, "allow-memfd-exec", &so.allow_memfd_exec, NULL, "let the program run code from a memfd (vm.memfd_noexec is not set)", NULL },
		{ OPT_LIST, 0, "net", &nets, "MODE", "loopback (default) | none | host | unix | tcp-connect=PORT[,PORT] | tcp-bind=PORT[,PORT] (repeatable)", NULL },
		{ OPT_BOOL, 0, "strict", &so.strict, NULL, "refuse to run if any requested protection cannot be enforced", NULL },
		{ OPT_BOOL, 'n', "dry-run", &dry_run, NULL, "print what would be enforced and exit", NULL },
		{ OPT_BOOL, 0, "audit", &so.audit, NULL, "log denials (SCMP_ACT_LOG) instead of enforcing them", NULL },
		{ OPT_BOOL, 0, "explain", &so.explain, NULL, "report every denied call on stderr (seccomp user notification)", NULL },
		{ OPT_STRING, 0, "phase", &phase, "NAME", "enforce only the calls of this phase of the profile", NULL },
		{ OPT_STRING, 0, "serve-when-listening", &serve_port, "PORT", "phases: serving starts at listen() on PORT (default: the trigger the closure was traced with)", NULL },
		{ OPT_STRING, 0, "serve-after-call", &serve_call, "NAME", "phases: serving starts at the first call of NAME", NULL },
		{ OPT_STRING, 0, "serve-after", &serve_after, "SECONDS", "phases: serving starts SECONDS after the start (SIGUSR1 to capgate always starts it)", NULL },
		{ OPT_BOOL, 0, "phase-kill", &so.phase_kill, NULL, "phases: kill a process that makes a start-up call while serving (default: the profile's action)", NULL },
		{ OPT_BOOL, 0, "no-phases", &no_phases, NULL, "enforce the whole-life closure even if it has phases", NULL },
		{ OPT_INT, 0, "landlock-abi", &abi_max, "N", "use at most Landlock ABI N (what an older kernel would miss)", NULL },
		{ OPT_LIST, 0, "cap-add", &cap_add, "CAP", "give the program this capability too (NET_ADMIN or CAP_NET_ADMIN, ALL; repeatable)", NULL },
		{ OPT_LIST, 0, "cap-drop", &cap_drop, "CAP", "take this capability away (ALL: every one; repeatable)", NULL },
		{ OPT_STRING, 0, "user", &so.user, "UID[:GID]", "run as this user and group, supplementary groups cleared (root only)", NULL },
		{ OPT_LIST, 0, "share-ns", &share, "NS", "keep capgate's namespace: pid, ipc, uts, cgroup, all (comma-separated, repeatable)", NULL },
		{ OPT_BOOL, 0, "tty", &so.tty, NULL, "keep capgate's session and terminal (interactive programs; gives up the TIOCSTI protection)", NULL },
		{ OPT_LIST, 0, "rlimit", &rlimits, "NAME=SOFT[:HARD]", "resource limit as prlimit(1) names it: nofile, nproc, as, core, ... (repeatable)", NULL },
		{ OPT_STRING, 0, "kernel", &ro.kernel, "X.Y", "kernel version for minKernel (default: the running kernel)", NULL },
		{ OPT_STRING, 0, "arch", &ro.arch, "ARCH", "native architecture for archMap (default: this machine's)", NULL },
		OPT_END_MARK,
	};
	char **args = NULL;
	int nargs = 0, rc = EXIT_USAGE, r;
	_cleanup_(cg_closure_freep) struct cg_closure *c = NULL;
	_cleanup_(cg_sandbox_freep) struct cg_sandbox *sb = NULL;
	struct cg_error err = { 0 };

	r = opt_parse("run", usage, run_desc, argc, argv, opts, true, &args, &nargs);
	if (r != 0)
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	if (!profile) {
		cli_error("run", "--profile is required (see 'capgate run --help')");
		goto out;
	}
	if (nargs == 0 && !dry_run) {
		cli_error("run", "no command given: capgate run --profile P.json -- CMD [ARGS...]");
		goto out;
	}
	for (size_t i = 0; i < share.n; i++)
		if (cg_sandbox_parse_share_ns(&so, share.items[i], &err) < 0) {
			cli_error("run", "%s", err.msg);
			goto out;
		}
	so.cap_add = cap_add.items, so.n_cap_add = cap_add.n;
	so.cap_drop = cap_drop.items, so.n_cap_drop = cap_drop.n;
	so.rlimits = rlimits.items, so.n_rlimits = rlimits.n;
	/* the profile sees exactly the capabilities the program will have */
	if (cg_sandbox_caps(&so, &caps, &err) < 0) {
		cli_error("run", "%s", err.msg);
		goto out;
	}
	ro.caps.items = cap_names;
	for (int i = 0; i < 64; i++)
		if ((caps >> i) & 1 && cg_cap_name(i))
			cap_names[ro.caps.n++] = cg_cap_name(i);
	ro.no_default_caps = true;
	if (cli_load_closure("run", profile, &ro, &c) < 0)
		goto out;
	if (phase && (so.phase = phase_index(c, phase)) < 0)
		goto out;
	if (!phase && !no_phases && cg_closure_phase(c, "serving", false) >= 0 &&
	    phase_trigger(&so, serve_port, serve_call, serve_after) < 0)
		goto out;
	for (size_t i = 0; i < nets.n; i++)
		if (cg_sandbox_parse_net(&so, nets.items[i], &err) < 0) {
			cli_error("run", "%s", err.msg);
			goto out;
		}
	so.fs_ro = fs_ro.items, so.n_fs_ro = fs_ro.n;
	so.fs_rw = fs_rw.items, so.n_fs_rw = fs_rw.n;
	so.tmpfs = tmpfs.items, so.n_tmpfs = tmpfs.n;
	so.landlock_abi_max = abi_max > 0 && abi_max < 1000 ? (int)abi_max : 0;
	r = cg_sandbox_new(c, &so, &sb, &err);
	if (r < 0) {
		cli_error("run", "%s", err.msg);
		rc = r == -EOPNOTSUPP ? EXIT_SETUP : EXIT_USAGE;
	} else {
		rc = dry_run ? print_plan(sb, profile, args, nargs) : run_program(sb, args, &so);
	}
out:
	opt_list_release(&fs_ro);
	opt_list_release(&fs_rw);
	opt_list_release(&tmpfs);
	opt_list_release(&nets);
	opt_list_release(&share);
	opt_list_release(&cap_add);
	opt_list_release(&cap_drop);
	opt_list_release(&rlimits);
	free(args);
	return rc;
}
