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
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

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
	"the host's PORTS (every address) reach 127.0.0.1:PORT inside. Only TCP, no name\n"
	"lookups (DNS over UDP would be a second way out): give addresses. --net unix\n"
	"grants AF_UNIX sockets (socketpair always works).\n"
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
	"(--share-ns to keep capgate's), a new session (--tty: with a terminal of its own), and\n"
	"Docker's 14 capabilities as root, none as any other user (--cap-add, --cap-drop);\n"
	"an ordinary user runs it in a user namespace mapping only its own ids. A\n"
	"protection that cannot be set up stops the run (exit 125) and is named.\n\n"
	"exit status: CMD's (128+N if killed by signal N; 159 = seccomp kill), 2 usage or\n"
	"input error, 125 sandbox setup failed or --strict refused, 126 cannot execute\n"
	"(permission, or the profile does not allow execve), 127 command not found";

static volatile sig_atomic_t forward_pid, pty_master = -1;

/* Forward signals sent to capgate (kill, systemd, a supervisor) and the
 * terminal's (^C): the program is in another session and does not get
 * them. With --tty the caller's terminal is in raw mode (^C reaches the
 * program's pty as a byte) and a window size change is copied to the pty,
 * whose kernel side signals the program. */
static void forward_signal(int sig, siginfo_t *si, void *uctx)
{
	(void)si, (void)uctx;
	if (sig == SIGWINCH && pty_master >= 0) {
		struct winsize ws;
		if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 || ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0)
			(void)ioctl(pty_master, TIOCSWINSZ, &ws);
		return;
	}
	if (forward_pid > 0)
		kill((pid_t)forward_pid, sig);
}

static void install_forwarding(pid_t pid, int master)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
	struct sigaction sa = { 0 };
	forward_pid = pid;
	pty_master = master;
	sa.sa_sigaction = forward_signal;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < CG_ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
}

/* --tty: the relay runs beside the supervisor. */
struct relay {
	const struct cg_sandbox_child *child;
	int stop[2];
	pthread_t thread;
	bool running;
};

static void *relay_main(void *arg)
{
	struct relay *rl = arg;
	struct cg_error err = { 0 };
	if (cg_sandbox_tty_relay(rl->child, STDIN_FILENO, STDOUT_FILENO, rl->stop[0], &err) < 0)
		cli_error("run", "%s", err.msg);
	return NULL;
}

static int relay_start(struct relay *rl, const struct cg_sandbox_child *child)
{
	sigset_t all, old;
	int r;
	*rl = (struct relay){ .child = child, .stop = { -1, -1 } };
	if (child->pty_master < 0)
		return 0;
	if (pipe2(rl->stop, O_CLOEXEC) < 0) {
		cli_error("run", "--tty: pipe: %s", strerror(errno));
		return -1;
	}
	/* signals stay with the main thread (the forwarding handler) */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = pthread_create(&rl->thread, NULL, relay_main, rl);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		cli_error("run", "--tty: cannot start the terminal relay: %s", strerror(r));
		return -1;
	}
	rl->running = true;
	return 0;
}

static void relay_stop(struct relay *rl)
{
	if (rl->running) {
		(void)!write(rl->stop[1], "", 1);
		pthread_join(rl->thread, NULL);
	}
	for (int i = 0; i < 2; i++)
		if (rl->stop[i] >= 0)
			close(rl->stop[i]);
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
	struct relay rl;
	int master = child.pty_master;
	install_forwarding(child.pid, master);
	if (relay_start(&rl, &child) < 0)
		kill(child.pid, SIGKILL); /* no terminal: the supervisor reports the end */
	r = cg_sandbox_supervise(sb, &child, so->explain ? print_event : NULL, NULL, &st, &err);
	forward_pid = 0;
	relay_stop(&rl);
	pty_master = -1;
	if (master >= 0)
		close(master);
	if (r < 0)
		cli_error("run", "supervisor: %s", err.msg);
	cg_strbuf_init(&why);
	cg_sandbox_status_describe(&st, args[0], &why);
	if (why.len)
		cli_error("run", "%s", why.buf);
	cg_strbuf_release(&why);
	if ((so->n_tcp_connect || so->n_tcp_bind) && cg_sandbox_status_exit(&st) != 0)
		fprintf(stderr, "capgate run: note: under --net tcp-connect/tcp-bind only TCP leaves the sandbox; "
				"name lookups (DNS) are not offered: give addresses, not names\n");
	return cg_sandbox_status_exit(&st);
}

int cmd_run(int argc, char **argv)
{
	static const char usage[] = "--profile P.json [options] -- CMD [ARGS...]";
	const char *profile = NULL, *phase = NULL;
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
		{ OPT_INT, 0, "landlock-abi", &abi_max, "N", "use at most Landlock ABI N (what an older kernel would miss)", NULL },
		{ OPT_LIST, 0, "cap-add", &cap_add, "CAP", "give the program this capability too (NET_ADMIN or CAP_NET_ADMIN, ALL; repeatable)", NULL },
		{ OPT_LIST, 0, "cap-drop", &cap_drop, "CAP", "take this capability away (ALL: every one; repeatable)", NULL },
		{ OPT_STRING, 0, "user", &so.user, "UID[:GID]", "run as this user and group, supplementary groups cleared (root only)", NULL },
		{ OPT_LIST, 0, "share-ns", &share, "NS", "keep capgate's namespace: pid, ipc, uts, cgroup, all (comma-separated, repeatable)", NULL },
		{ OPT_BOOL, 0, "tty", &so.tty, NULL, "give the program a terminal of its own (a new pty, relayed to capgate's): interactive programs", NULL },
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
