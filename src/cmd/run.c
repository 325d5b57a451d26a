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
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "../cli.h"
#include "runtime/run.h"

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
	"--explain reports each call the profile denies, decoded (paths, flag names), with\n"
	"why: the rule that came closest when the call is allowed with other arguments;\n"
	"repeats are counted, not printed (a summary per call at the end).\n"
	"--learn lets the calls outside the profile through (log-only), writes them as a\n"
	"closure (-o FILE) ready for 'capgate merge', or merges them at once into the\n"
	"profile (--merge-into FILE), and prints the command that runs with them.\n"
	"--coverage FILE records (eBPF) which calls of the profile the run used.\n"
	"--runtime runsc|crun|runc runs CMD in a container of that OCI runtime over --rootfs DIR,\n"
	"or over --image LAYOUT[:REF]: the image's layers (digests checked, whiteouts honoured,\n"
	"members leaving the root refused) unpacked into a private root removed afterwards;\n"
	"without --profile the closure attached to the image (capgate image attach) is enforced.\n\n"
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

/* What the supervisor's events become: grouped, explained, learned. */
struct watch {
	struct cg_learn *learn;
	bool json;
	bool quiet; /* learn mode without --explain: only new calls, no forms */
	const struct cg_closure *c;
	int err; /* first error of the learner */
};

static void print_form(const struct watch *w, const struct cg_learn_call *call, const struct cg_learn_form *f)
{
	if (w->json) {
		struct cg_strbuf line;
		cg_strbuf_init(&line);
		if (cg_learn_json_line(call, f, (const char *const *)w->c->phase_names, &line) == 0)
			fputs(line.buf, stderr);
		cg_strbuf_release(&line);
		return;
	}
	if (f)
		fprintf(stderr, "capgate run: %s %s -- %s\n", call->allowed ? "would deny" : "denied", f->text, f->why);
	else
		fprintf(stderr, "capgate run:   %llu x %s [%s]%s%s%s%.0llu%s\n", (unsigned long long)call->count,
			call->name ? call->name : "(no name)", call->arch >= 0 ? cg_arch_info(call->arch)->name : "?",
			call->phase >= 0 ? " in phase " : "", call->phase >= 0 ? w->c->phase_names[call->phase] : "",
			call->unshown ? " (" : "", (unsigned long long)call->unshown,
			call->unshown ? " with other arguments not shown)" : "");
}

static void on_event(const struct cg_sandbox_event *ev, void *user)
{
	struct watch *w = user;
	const struct cg_learn_call *call = NULL;
	enum cg_learn_seen seen;
	int r = cg_learn_add(w->learn, ev, &seen, &call);

	if (r < 0) {
		if (!w->err)
			w->err = r;
		return;
	}
	if (seen == CG_LEARN_NEW_CALL || (seen == CG_LEARN_NEW_FORM && !w->quiet))
		print_form(w, call, &call->forms[call->n_forms - 1]);
}

/* The per-call counts, once the program has ended. */
static void print_summary(const struct watch *w)
{
	size_t n = cg_learn_n_calls(w->learn);
	if (!n)
		return;
	if (!w->json)
		fprintf(stderr, "capgate run: %llu calls outside the profile, %zu distinct:\n",
			(unsigned long long)cg_learn_n_events(w->learn), n);
	for (size_t i = 0; i < n; i++)
		print_form(w, cg_learn_call_at(w->learn, i), NULL);
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

/* Write the coverage report of the run; 0 or -1 (printed). */
static int coverage_write(struct cg_run_coverage *cov, const struct cg_closure *c, const char *path)
{
	struct cg_error err = { 0 };
	struct cg_strbuf out, unused;
	size_t n_used = 0, total = 0;
	int r;

	cg_strbuf_init(&out);
	cg_strbuf_init(&unused);
	r = cg_run_coverage_report(cov, c, &out, &unused, &n_used, &total, &err);
	if (r < 0)
		cli_error("run", "%s", err.msg);
	else if ((r = cli_write("run", path, &out)) == 0)
		fprintf(stderr, "capgate run: coverage: %zu of %zu calls of the profile used (%s)%s%s\n", n_used, total,
			path, unused.len ? "; never called: " : "", unused.len ? unused.buf : "");
	cg_strbuf_release(&out);
	cg_strbuf_release(&unused);
	return r < 0 ? -1 : 0;
}

struct learn_out {
	const char *out, *merge_into, *profile;
};

/* What this run does beside enforcing. */
struct run_mode {
	bool learn, explain, json;
	const char *coverage;
	struct learn_out lo;
};

/* Write what learn mode found: the learned closure and/or the merge; say
 * how to run with it. 0 or -1 (printed). */
static int learn_write(const struct watch *w, const struct cg_closure *c, const struct learn_out *lo, char **args,
		       int nargs)
{
	struct cg_run_learned res;
	struct cg_error err = { 0 };
	struct cg_strbuf notes;
	char merged[4096] = "";
	int r;

	cg_strbuf_init(&notes);
	r = cg_run_learn_write(w->learn, c, lo->out, lo->merge_into, &notes, &res, &err);
	if (notes.len)
		fprintf(stderr, "capgate run: learn: %.*s", (int)notes.len, notes.buf);
	cg_strbuf_release(&notes);
	if (lo->out && res.digest[0])
		fprintf(stderr, "capgate run: learned %zu rules (%llu calls outside the profile): wrote %s (%s)\n",
			res.n_rules, (unsigned long long)cg_learn_n_events(w->learn), lo->out, res.digest);
	if (r < 0)
		return cli_error("run", "%s", err.msg), -1;
	if (lo->merge_into)
		fprintf(stderr, "capgate run: merged %zu learned rules into %s (%s)\n", res.n_rules, lo->merge_into,
			res.merged);
	fprintf(stderr, "capgate run: run with them: ");
	if (!lo->merge_into) {
		size_t n = strlen(lo->profile);
		if (n > 5 && strcmp(lo->profile + n - 5, ".json") == 0)
			n -= 5;
		snprintf(merged, sizeof(merged), "%.*s.learned.json", (int)n, lo->profile);
		fprintf(stderr, "capgate merge %s %s -o %s && ", lo->profile, lo->out, merged);
	}
	fprintf(stderr, "capgate run --profile %s --", lo->merge_into ? lo->merge_into : merged);
	for (int i = 0; i < nargs; i++)
		fprintf(stderr, " %s", args[i]);
	fprintf(stderr, "\n");
	return 0;
}

/* Start the program, supervise it until it ends; its exit status. */
static int run_program(const struct cg_sandbox *sb, const struct cg_closure *c, char **args, int nargs,
		       const struct cg_sandbox_opts *so, const struct run_mode *m, struct cg_run_coverage *cov)
{
	struct cg_sandbox_child child;
	struct cg_sandbox_status st;
	struct cg_error err = { 0 };
	struct cg_strbuf why;
	size_t n_missing;
	const char *const *missing = cg_sandbox_missing(sb, &n_missing);
	struct cg_learn_opts lopts = { .sz = sizeof(lopts), .closure = c };
	struct watch w = { .json = m->json, .quiet = m->learn && !m->explain, .c = c };
	int r, rc;

	for (size_t i = 0; i < n_missing; i++)
		fprintf(stderr, "capgate run: warning: missing protection: %s\n", missing[i]);
	if (so->audit && !so->explain)
		fprintf(stderr, "capgate run: audit mode: denials are logged by the kernel (audit log / dmesg), "
				"not enforced\n");
	if (m->learn)
		fprintf(stderr, "capgate run: learn mode: calls outside the profile are let through and recorded\n");
	if ((so->explain || so->phased) && cg_learn_new(&lopts, &w.learn, &err) < 0) {
		cli_error("run", "%s", err.msg);
		return EXIT_SETUP;
	}
	r = cg_sandbox_spawn(sb, args, environ, &child, &err);
	if (r < 0) {
		cli_error("run", "%s", err.msg);
		cg_learn_free(w.learn);
		return r == -ENOENT ? 127 : 126;
	}
	struct cg_run_relay rl;
	int master = child.pty_master;
	install_forwarding(child.pid, master);
	if (cg_run_relay_start(&rl, &child, &err) < 0) {
		cli_error("run", "--tty: %s", err.msg);
		kill(child.pid, SIGKILL); /* no terminal: the supervisor reports the end */
	}
	r = cg_sandbox_supervise(sb, &child, w.learn ? on_event : NULL, &w, &st, &err);
	forward_pid = 0;
	if (cg_run_relay_stop(&rl, &err) < 0)
		cli_error("run", "%s", err.msg);
	pty_master = -1;
	if (master >= 0)
		close(master);
	if (r < 0)
		cli_error("run", "supervisor: %s", err.msg);
	if (cov->err.code && st.setup_errno)
		cli_error("run", "coverage: %s", cov->err.msg);
	if (so->phased && st.serving)
		fprintf(stderr, "capgate run: phases: serving from %.1fs (%s); notifications: %llu before, %llu while serving (%llu in start-up windows)\n",
			(double)st.serving_ms / 1000, st.serving_why, (unsigned long long)st.n_notified_startup,
			(unsigned long long)st.n_notified_serving, (unsigned long long)st.n_notified_window);
	else if (so->phased)
		fprintf(stderr, "capgate run: phases: the serving phase was never reached\n");
	cg_strbuf_init(&why);
	cg_sandbox_status_describe(&st, args[0], &why);
	if (why.len)
		cli_error("run", "%s", why.buf);
	cg_strbuf_release(&why);
	if ((so->n_tcp_connect || so->n_tcp_bind) && cg_sandbox_status_exit(&st) != 0)
		fprintf(stderr, "capgate run: note: under --net tcp-connect/tcp-bind only TCP leaves the sandbox; "
				"name lookups (DNS) are not offered: give addresses, not names\n");
	rc = cg_sandbox_status_exit(&st);
	if (w.learn)
		print_summary(&w);
	if (w.err) {
		/* the record is incomplete: no closure that looks whole */
		cli_error("run", "learn: %s: nothing written", strerror(-w.err));
		rc = EXIT_SETUP;
	} else if (m->learn && !st.setup_errno && !st.exec_errno && learn_write(&w, c, &m->lo, args, nargs) < 0) {
		rc = EXIT_USAGE;
	}
	if (cov->t && !st.setup_errno && coverage_write(cov, c, m->coverage) < 0)
		rc = EXIT_USAGE;
	cg_learn_free(w.learn);
	return rc;
}

/* --runtime: the closure enforced by an OCI runtime, in a bundle over
 * --rootfs or over the layers of --image unpacked into a private root. */
static int run_container(const struct cg_closure *c, const char *runtime, const char *rootfs, const char *layout,
			 const struct cg_image *img, const struct cg_unpack_opts *uo, char **args, int nargs)
{
	struct cg_bundle_opts bo = {
		.sz = sizeof(bo), .runtime = runtime, .rootfs = rootfs, .args = args, .n_args = (size_t)nargs
	};
	struct cg_error err = { 0 };
	int status = 0;

	if (cg_run_container(c, &bo, layout, img, uo, &status, &err) < 0) {
		cli_error("run", "%s", err.msg);
		return err.code == -EINVAL ? EXIT_USAGE : EXIT_SETUP;
	}
	return status;
}

/* --image LAYOUT[:REF]: open it; its attached closure (checked against
 * the digest its label names) when no --profile is given. */
static int image_open(const char *spec, const char *platform, char **ret_layout, struct cg_image **ret_img,
		      const struct cli_resolve *ro, bool want_closure, struct cg_closure **ret_c)
{
	struct cg_resolve_opts rop;
	struct cg_error err = { 0 };
	char digest[72];

	if (cg_run_image_open(spec, platform, ret_layout, ret_img, &err) < 0) {
		cli_error("run", "--image %s: %s", spec, err.msg);
		return -1;
	}
	if (!want_closure)
		return 0;
	if (cli_resolve_opts("run", ro, &rop) < 0)
		return -1;
	if (cg_run_image_closure(*ret_img, &rop, ret_c, digest, &err) < 0) {
		cli_error("run", "--image %s%s%s%s", spec, err.code == -ENOENT ? " " : ": ", err.msg,
			  err.code == -ENOENT ? ": give --profile" : "");
		return -1;
	}
	fprintf(stderr, "capgate run: enforcing the closure attached to the image (%s)\n", digest);
	return 0;
}

/* The command's options, where the option table puts them. */
struct run_args {
	const char *profile, *phase, *runtime, *rootfs, *image, *explain_format;
	const char *platform, *image_max_size, *image_max_entries;
	struct cg_unpack_opts uo;
	const char *serve_port, *serve_call, *serve_after;
	bool no_phases, dry_run, serve_notify;
	long worker_startup;
	struct opt_list fs_ro, fs_rw, nets, share, tmpfs, cap_add, cap_drop, rlimits;
	struct cg_sandbox_opts so;
	struct cli_resolve ro;
	long abi_max;
	struct run_mode m;
	char **args;
	int nargs;
};

static void run_args_release(struct run_args *a)
{
	struct opt_list *lists[] = { &a->fs_ro, &a->fs_rw, &a->tmpfs, &a->nets, &a->share, &a->cap_add, &a->cap_drop, &a->rlimits };
	for (size_t i = 0; i < CG_ARRAY_SIZE(lists); i++)
		opt_list_release(lists[i]);
	free(a->so.tcp_connect);
	free(a->so.tcp_bind);
	free(a->args);
}

/* The options that must go together, and the modes they imply; 0 or -1
 * (printed). */
static int check_modes(struct run_args *a)
{
	if (!a->profile && !a->image)
		return cli_error("run", "--profile is required (see 'capgate run --help')"), -1;
	if (a->nargs == 0 && !a->dry_run)
		return cli_error("run", "no command given: capgate run --profile P.json -- CMD [ARGS...]"), -1;
	if (a->explain_format && strcmp(a->explain_format, "json") != 0 && strcmp(a->explain_format, "text") != 0)
		return cli_error("run", "--explain-format: expected text or json, not '%s'", a->explain_format), -1;
	if (a->m.learn && !a->m.lo.out && !a->m.lo.merge_into)
		return cli_error("run", "--learn needs -o FILE or --merge-into FILE (where the learned calls go)"), -1;
	if (!a->m.learn && (a->m.lo.out || a->m.lo.merge_into))
		return cli_error("run", "-o and --merge-into only go with --learn"), -1;
	a->m.json = a->explain_format && strcmp(a->explain_format, "json") == 0;
	a->m.explain = a->so.explain;
	a->m.lo.profile = a->profile;
	if (a->m.learn)
		a->so.audit = a->so.explain = true; /* log-only, through the supervisor */
	if (a->m.json)
		a->so.explain = true;
	return 0;
}

/* The closure to enforce, from --profile or the image, resolved with
 * exactly the capabilities the program will have; 0 or -1 (printed). */
static int load_closure(struct run_args *a, char **layout, struct cg_image **img, struct cg_closure **c)
{
	const char *cap_names[64];
	struct cg_error err = { 0 };
	size_t n = 0;

	for (size_t i = 0; i < a->share.n; i++)
		if (cg_sandbox_parse_share_ns(&a->so, a->share.items[i], &err) < 0)
			return cli_error("run", "%s", err.msg), -1;
	a->so.cap_add = a->cap_add.items, a->so.n_cap_add = a->cap_add.n;
	a->so.cap_drop = a->cap_drop.items, a->so.n_cap_drop = a->cap_drop.n;
	a->so.rlimits = a->rlimits.items, a->so.n_rlimits = a->rlimits.n;
	if (cg_run_cap_names(&a->so, cap_names, &n, &err) < 0)
		return cli_error("run", "%s", err.msg), -1;
	a->ro.caps.items = cap_names, a->ro.caps.n = n;
	a->ro.no_default_caps = true;
	if ((a->platform || a->image_max_size || a->image_max_entries) && !a->image)
		return cli_error("run", "--platform, --image-max-size and --image-max-entries go with --image"), -1;
	if (a->image && (image_unpack_limits("run", a->image_max_size, a->image_max_entries, &a->uo) < 0 ||
			 image_open(a->image, a->platform, layout, img, &a->ro, !a->profile, c) < 0))
		return -1;
	if (a->profile && cli_load_closure("run", a->profile, &a->ro, c) < 0)
		return -1;
	a->ro.caps.items = NULL, a->ro.caps.n = 0;
	if (a->phase && (a->so.phase = phase_index(*c, a->phase)) < 0)
		return -1;
	return 0;
}

/* The sandbox of a run under @c (phases, network, file system); 0, or the
 * exit status when it cannot be made (printed). */
static int make_sandbox(struct run_args *a, struct cg_closure *c, struct cg_sandbox **sb)
{
	struct cg_error err = { 0 };
	int r;

	if (!a->phase && !a->no_phases && cg_closure_phase(c, "serving", false) >= 0 &&
	    cg_run_serve_trigger(&a->so, a->serve_port, a->serve_call, a->serve_after, a->serve_notify, &err) < 0)
		return cli_error("run", "%s", err.msg), EXIT_USAGE;
	a->so.worker_startup = a->worker_startup < 0    ? 0
			       : a->worker_startup == 0 ? -1
							: (int)(a->worker_startup > INT_MAX ? INT_MAX : a->worker_startup);
	for (size_t i = 0; i < a->nets.n; i++)
		if (cg_sandbox_parse_net(&a->so, a->nets.items[i], &err) < 0)
			return cli_error("run", "%s", err.msg), EXIT_USAGE;
	a->so.fs_ro = a->fs_ro.items, a->so.n_fs_ro = a->fs_ro.n;
	a->so.fs_rw = a->fs_rw.items, a->so.n_fs_rw = a->fs_rw.n;
	a->so.tmpfs = a->tmpfs.items, a->so.n_tmpfs = a->tmpfs.n;
	a->so.landlock_abi_max = a->abi_max > 0 && a->abi_max < 1000 ? (int)a->abi_max : 0;
	if ((r = cg_sandbox_new(c, &a->so, sb, &err)) < 0) {
		cli_error("run", "%s", err.msg);
		return r == -EOPNOTSUPP ? EXIT_SETUP : EXIT_USAGE;
	}
	return 0;
}

int cmd_run(int argc, char **argv)
{
	static const char usage[] = "--profile P.json [options] -- CMD [ARGS...]";
	struct run_args a = { .so = { .sz = sizeof(a.so), .phase = -1 }, .uo = { .sz = sizeof(a.uo) }, .worker_startup = -1 };
	_cleanup_free_ char *layout = NULL;
	struct cg_image *img = NULL;
	struct cg_run_coverage cov = { 0 };
	const struct opt opts[] = {
		{ OPT_STRING, 'p', "profile", &a.profile, "FILE", "OCI/Docker seccomp profile or capgate closure (required)", NULL },
		{ OPT_LIST, 0, "fs-ro", &a.fs_ro, "PATH", "allow reading and executing beneath PATH (repeatable)", NULL },
		{ OPT_LIST, 0, "fs-rw", &a.fs_rw, "PATH", "allow reading, writing, creating, removing beneath PATH -- not executing (repeatable)", NULL },
		{ OPT_BOOL, 0, "fs-system", &a.so.fs_system, NULL, "add read-only /usr /lib /lib64 /bin /sbin /etc and rw /dev/null,/dev/zero,/dev/urandom", NULL },
		{ OPT_LIST, 0, "tmpfs", &a.tmpfs, "DIR", "mount a new tmpfs (rw,nosuid,nodev,noexec) on DIR (repeatable)", NULL },
		{ OPT_BOOL, 0, "no-mount-ns", &a.so.no_mount_ns, NULL, "keep capgate's mount namespace: no read-only view, /proc, /dev or --tmpfs (Landlock alone guards --fs-*)", NULL },
		{ OPT_BOOL, 0, "allow-memfd-exec", &a.so.allow_memfd_exec, NULL, "let the program run code from a memfd (vm.memfd_noexec is not set)", NULL },
		{ OPT_LIST, 0, "net", &a.nets, "MODE", "loopback (default) | none | host | unix | tcp-connect=PORT[,PORT] | tcp-bind=PORT[,PORT] (repeatable)", NULL },
		{ OPT_BOOL, 0, "strict", &a.so.strict, NULL, "refuse to run if any requested protection cannot be enforced", NULL },
		{ OPT_BOOL, 'n', "dry-run", &a.dry_run, NULL, "print what would be enforced and exit", NULL },
		{ OPT_BOOL, 0, "audit", &a.so.audit, NULL, "log denials (SCMP_ACT_LOG) instead of enforcing them", NULL },
		{ OPT_BOOL, 0, "explain", &a.so.explain, NULL, "report every denied call on stderr (seccomp user notification)", NULL },
		{ OPT_STRING, 0, "explain-format", &a.explain_format, "FORMAT", "text (default) or json: one JSON line per reported call and a summary line per call", NULL },
		{ OPT_BOOL, 0, "learn", &a.m.learn, NULL, "let calls outside the profile through (log-only) and write them as a closure (-o, --merge-into)", NULL },
		{ OPT_STRING, 'o', "output", &a.m.lo.out, "FILE", "--learn: write the learned closure here (atomically), ready for 'capgate merge'", NULL },
		{ OPT_STRING, 0, "merge-into", &a.m.lo.merge_into, "FILE", "--learn: write the profile with the learned calls merged in (may be the profile itself)", NULL },
		{ OPT_STRING, 0, "coverage", &a.m.coverage, "FILE", "write which calls of the profile the run used (JSON; needs the eBPF recorder)", NULL },
		{ OPT_STRING, 0, "phase", &a.phase, "NAME", "enforce only the calls of this phase of the profile", NULL },
		{ OPT_STRING, 0, "serve-when-listening", &a.serve_port, "PORT", "phases: serving starts at listen() on PORT (default: the trigger the closure was traced with)", NULL },
		{ OPT_STRING, 0, "serve-after-call", &a.serve_call, "NAME", "phases: serving starts at the first call of NAME", NULL },
		{ OPT_BOOL, 0, "serve-when-notified", &a.serve_notify, NULL, "phases: serving starts when the program says READY=1 on $NOTIFY_SOCKET (sd_notify(3)), which capgate sets", NULL },
		{ OPT_STRING, 0, "serve-after", &a.serve_after, "SECONDS", "phases: serving starts SECONDS after the start (SIGUSR1 to capgate always starts it)", NULL },
		{ OPT_BOOL, 0, "phase-kill", &a.so.phase_kill, NULL, "phases: kill a process that makes a start-up call while serving (default: the profile's action)", NULL },
		{ OPT_BOOL, 0, "no-phases", &a.no_phases, NULL, "enforce the whole-life closure even if it has phases", NULL },
		{ OPT_INT, 0, "worker-startup", &a.worker_startup, "SECONDS", "phases: start-up windows of SECONDS for the children of the program's first process, 0 = none (default: the closure's)", NULL },
		{ OPT_INT, 0, "landlock-abi", &a.abi_max, "N", "use at most Landlock ABI N (what an older kernel would miss)", NULL },
		{ OPT_LIST, 0, "cap-add", &a.cap_add, "CAP", "give the program this capability too (NET_ADMIN or CAP_NET_ADMIN, ALL; repeatable)", NULL },
		{ OPT_LIST, 0, "cap-drop", &a.cap_drop, "CAP", "take this capability away (ALL: every one; repeatable)", NULL },
		{ OPT_STRING, 0, "user", &a.so.user, "UID[:GID]", "run as this user and group, supplementary groups cleared (root only)", NULL },
		{ OPT_LIST, 0, "share-ns", &a.share, "NS", "keep capgate's namespace: pid, ipc, uts, cgroup, all (comma-separated, repeatable)", NULL },
		{ OPT_BOOL, 0, "tty", &a.so.tty, NULL, "give the program a terminal of its own (a new pty, relayed to capgate's): interactive programs", NULL },
		{ OPT_LIST, 0, "rlimit", &a.rlimits, "NAME=SOFT[:HARD]", "resource limit as prlimit(1) names it: nofile, nproc, as, core, ... (repeatable)", NULL },
		{ OPT_STRING, 0, "kernel", &a.ro.kernel, "X.Y", "kernel version for minKernel (default: the running kernel)", NULL },
		{ OPT_STRING, 0, "arch", &a.ro.arch, "ARCH", "native architecture for archMap (default: this machine's)", NULL },
		{ OPT_STRING, 0, "runtime", &a.runtime, "NAME", "run CMD in a container of this OCI runtime (runsc, crun, runc) over --rootfs", NULL },
		{ OPT_STRING, 0, "rootfs", &a.rootfs, "DIR", "--runtime: the container's root file system (read-only)", NULL },
		{ OPT_STRING, 0, "image", &a.image, "LAYOUT[:REF]", "--runtime: unpack this OCI layout's image into a private root instead (its attached closure if no --profile)", NULL },
		{ OPT_STRING, 0, "platform", &a.platform, "OS/ARCH[/VARIANT]", "--image: the platform chosen in a multi-platform image (default: linux/<this machine's>)", NULL },
		{ OPT_STRING, 0, "image-max-size", &a.image_max_size, "SIZE", "--image: at most SIZE uncompressed bytes of layers (K, M, G; default 16G)", NULL },
		{ OPT_STRING, 0, "image-max-entries", &a.image_max_entries, "N", "--image: at most N files, directories and links (default 1000000)", NULL },
		OPT_END_MARK,
	};
	_cleanup_(cg_closure_freep) struct cg_closure *c = NULL;
	_cleanup_(cg_sandbox_freep) struct cg_sandbox *sb = NULL;
	int rc = EXIT_USAGE, r;

	r = opt_parse("run", usage, run_desc, argc, argv, opts, true, &a.args, &a.nargs);
	if (r != 0)
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	(void)cg_sandbox_prefault_heap(512 * 1024); /* the profile's heap at once (bench/README.md) */
	if (check_modes(&a) < 0 || load_closure(&a, &layout, &img, &c) < 0)
		goto out;
	if (a.m.coverage) {
		a.so.before_exec = cg_run_coverage_attach;
		a.so.before_exec_user = &cov;
	}
	if (a.runtime || a.rootfs || a.image)
		rc = run_container(c, a.runtime, a.rootfs, layout, img, &a.uo, a.args, a.nargs);
	else if ((rc = make_sandbox(&a, c, &sb)) == 0)
		rc = a.dry_run ? print_plan(sb, a.profile, a.args, a.nargs)
			       : run_program(sb, c, a.args, a.nargs, &a.so, &a.m, &cov);
out:
	cg_image_free(img);
	cg_run_coverage_release(&cov);
	run_args_release(&a);
	return rc;
}
