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
#include <capgate/bundle.h>
#include <capgate/image.h>
#include <capgate/profile.h>
#include <capgate/learn.h>
#include <capgate/sandbox.h>
#include <capgate/trace.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <limits.h>
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

/* --coverage: the eBPF recorder, attached to the program while it waits
 * before its execve (so nothing it calls is missed). */
struct coverage {
	struct cg_trace *t;
	struct cg_error err;
};

static int coverage_attach(pid_t program, void *user)
{
	struct coverage *cov = user;
	struct cg_trace_opts to = { .sz = sizeof(to), .backend = CG_TRACE_BPF, .pid = program };
	return cg_trace_new(&to, &cov->t, &cov->err);
}

/* Write the coverage report of the run; 0 or -1 (printed). */
static int coverage_write(struct coverage *cov, const struct cg_closure *c, const char *path)
{
	_cleanup_(cg_trace_data_freep) struct cg_trace_data *d = NULL;
	_cleanup_(cg_closure_freep) struct cg_closure *used = NULL;
	struct cg_trace_closure_opts co = { .sz = sizeof(co), .no_execve = true, .origin = "coverage" };
	struct cg_strbuf out, text;
	size_t n_used = 0, total = 0;
	int r;

	if (cg_trace_snapshot(cov->t, &d, &cov->err) < 0 || cg_trace_data_closure(d, &co, NULL, &used, &cov->err) < 0) {
		cli_error("run", "coverage: %s", cov->err.msg);
		return -1;
	}
	cg_strbuf_init(&out);
	cg_strbuf_init(&text);
	r = cg_learn_coverage(c, used, true, &out, &n_used, &total);
	if (r == 0)
		r = cg_learn_coverage(c, used, false, &text, NULL, NULL);
	if (r == 0 && (r = cli_write("run", path, &out)) == 0) {
		fprintf(stderr, "capgate run: coverage: %zu of %zu calls of the profile used (%s)", n_used, total, path);
		bool first = true;
		for (char *l = text.buf; l && *l; l = strchr(l, '\n') + 1) {
			if (strncmp(l, "unused ", 7) == 0) {
				fprintf(stderr, "%s%.*s", first ? "; never called: " : ", ", (int)strcspn(l + 7, "\n"), l + 7);
				first = false;
			}
		}
		fprintf(stderr, "\n");
	} else if (r != -1) {
		cli_error("run", "coverage: %s", strerror(-r));
	}
	cg_strbuf_release(&out);
	cg_strbuf_release(&text);
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
	_cleanup_(cg_closure_freep) struct cg_closure *k = NULL, *u = NULL;
	struct cg_error err = { 0 };
	struct cg_strbuf notes, sb;
	char digest[72] = "", merged[4096] = "";
	int r = 0;

	cg_strbuf_init(&notes);
	cg_strbuf_init(&sb);
	if (cg_learn_closure(w->learn, &notes, &k, &err) < 0) {
		cli_error("run", "learn: %s", err.msg);
		r = -1;
		goto out;
	}
	if (notes.len)
		fprintf(stderr, "capgate run: learn: %.*s", (int)notes.len, notes.buf);
	if (lo->out) {
		cg_closure_serialize(k, false, &sb);
		if ((r = cli_write("run", lo->out, &sb)) < 0)
			goto out;
		cg_closure_digest(k, digest);
		fprintf(stderr, "capgate run: learned %zu rules (%llu calls outside the profile): wrote %s (%s)\n",
			k->n_rules, (unsigned long long)cg_learn_n_events(w->learn), lo->out, digest);
	}
	if (lo->merge_into) {
		if (cg_closure_union(c, k, &u) < 0) {
			cli_error("run", "learn: cannot merge: out of memory or too many phases");
			r = -1;
			goto out;
		}
		cg_closure_canonicalize(u);
		sb.len = 0;
		cg_closure_serialize(u, false, &sb);
		if ((r = cli_write("run", lo->merge_into, &sb)) < 0)
			goto out;
		cg_closure_digest(u, digest);
		fprintf(stderr, "capgate run: merged %zu learned rules into %s (%s)\n", k->n_rules, lo->merge_into,
			digest);
	}
	fprintf(stderr, "capgate run: run with them: ");
	if (!lo->merge_into) {
		size_t n = strlen(lo->profile);
		if (n > 5 && strcmp(lo->profile + n - 5, ".json") == 0)
			n -= 5;
		snprintf(merged, sizeof(merged), "%.*s.learned.json", (int)n, lo->profile);
		fprintf(stderr, "capgate merge %s %s -o %s && ", lo->profile, lo->out, merged);
	}
	fprintf(stderr, "capgate run --profile %s", lo->merge_into ? lo->merge_into : merged);
	fprintf(stderr, " --");
	for (int i = 0; i < nargs; i++)
		fprintf(stderr, " %s", args[i]);
	fprintf(stderr, "\n");
out:
	cg_strbuf_release(&notes);
	cg_strbuf_release(&sb);
	return r;
}

/* Start the program, supervise it until it ends; its exit status. */
static int run_program(const struct cg_sandbox *sb, const struct cg_closure *c, char **args, int nargs,
		       const struct cg_sandbox_opts *so, const struct run_mode *m, struct coverage *cov)
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
	struct relay rl;
	int master = child.pty_master;
	install_forwarding(child.pid, master);
	if (relay_start(&rl, &child) < 0)
		kill(child.pid, SIGKILL); /* no terminal: the supervisor reports the end */
	r = cg_sandbox_supervise(sb, &child, w.learn ? on_event : NULL, &w, &st, &err);
	forward_pid = 0;
	relay_stop(&rl);
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
			 const struct cg_image *img, char **args, int nargs)
{
	struct cg_bundle_opts bo = { .sz = sizeof(bo), .runtime = runtime, .rootfs = rootfs, .args = args };
	struct cg_error err = { 0 };
	char tmp[] = "/tmp/capgate-rootfs-XXXXXX";
	int status = 0, r;

	if (!runtime || !!rootfs == !!img) {
		cli_error("run", "--runtime goes with one of --rootfs or --image");
		return EXIT_USAGE;
	}
	if (img) {
		if (!mkdtemp(tmp)) {
			cli_error("run", "cannot make a root directory: %s", strerror(errno));
			return EXIT_SETUP;
		}
		if (cg_image_unpack(layout, img, tmp, &err) < 0) {
			cli_error("run", "--image %s: %s: nothing run", layout, err.msg);
			cg_image_rootfs_remove(tmp);
			return err.code == -ENOMEM || err.code == -EIO ? EXIT_SETUP : EXIT_USAGE;
		}
		bo.rootfs = tmp;
	}
	bo.n_args = (size_t)nargs;
	r = cg_bundle_run(c, &bo, &status, &err);
	if (img)
		cg_image_rootfs_remove(tmp);
	if (r < 0) {
		cli_error("run", "%s", err.msg);
		return err.code == -EINVAL ? EXIT_USAGE : EXIT_SETUP;
	}
	return status;
}

/* --image LAYOUT[:REF]: open it; its attached closure (checked against
 * the digest its label names) when no --profile is given. */
static int image_open(const char *spec, char **ret_layout, struct cg_image **ret_img, const struct cli_resolve *ro,
		      bool want_closure, struct cg_closure **ret_c)
{
	_cleanup_free_ char *layout = strdup(spec);
	struct cg_profile *prof = NULL;
	struct cg_resolve_opts rop;
	struct cg_error err = { 0 };
	char *colon = layout ? strrchr(layout, ':') : NULL, digest[72];
	const char *want;

	if (!layout)
		return cli_error("run", "out of memory"), -1;
	if (colon && !strchr(colon, '/'))
		*colon++ = '\0';
	else
		colon = NULL;
	if (cg_image_open_layout(layout, colon, ret_img, &err) < 0) {
		cli_error("run", "--image %s: %s", spec, err.msg);
		return -1;
	}
	*ret_layout = layout;
	layout = NULL;
	if (!want_closure)
		return 0;
	if (!(*ret_img)->closure_json) {
		cli_error("run", "--image %s carries no closure: give --profile", spec);
		return -1;
	}
	want = cg_image_label(*ret_img, CG_LABEL_CLOSURE_DIGEST);
	if (cli_resolve_opts("run", ro, &rop) < 0)
		return -1;
	if (cg_profile_parse((*ret_img)->closure_json, (*ret_img)->closure_len, "attached closure", &prof, &err) < 0 ||
	    cg_profile_resolve(prof, &rop, ret_c, &err) < 0) {
		cg_profile_free(prof);
		cli_error("run", "--image %s: attached closure: %s", spec, err.msg);
		return -1;
	}
	cg_profile_free(prof);
	cg_closure_digest(*ret_c, digest);
	if (!want || strcmp(want, digest) != 0) {
		cli_error("run", "--image %s: the attached closure has digest %s but the image label %s says %s: refused",
			  spec, digest, CG_LABEL_CLOSURE_DIGEST, want ? want : "nothing");
		return -1;
	}
	fprintf(stderr, "capgate run: enforcing the closure attached to the image (%s)\n", digest);
	return 0;
}

int cmd_run(int argc, char **argv)
{
	static const char usage[] = "--profile P.json [options] -- CMD [ARGS...]";
	const char *profile = NULL, *phase = NULL, *runtime = NULL, *rootfs = NULL, *image = NULL;
	_cleanup_free_ char *layout = NULL;
	struct cg_image *img = NULL;
	const char *serve_port = NULL, *serve_call = NULL, *serve_after = NULL;
	bool no_phases = false;
	long worker_startup = -1;
	struct opt_list fs_ro = { 0 }, fs_rw = { 0 }, nets = { 0 }, share = { 0 }, tmpfs = { 0 };
	struct opt_list cap_add = { 0 }, cap_drop = { 0 }, rlimits = { 0 };
	const char *cap_names[64];
	uint64_t caps = 0;
	struct cg_sandbox_opts so = { .sz = sizeof(so), .phase = -1 };
	bool dry_run = false;
	struct cli_resolve ro = { 0 };
	long abi_max = 0;
	struct run_mode m = { 0 };
	const char *explain_format = NULL;
	struct coverage cov = { 0 };
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
		{ OPT_STRING, 0, "explain-format", &explain_format, "FORMAT", "text (default) or json: one JSON line per reported call and a summary line per call", NULL },
		{ OPT_BOOL, 0, "learn", &m.learn, NULL, "let calls outside the profile through (log-only) and write them as a closure (-o, --merge-into)", NULL },
		{ OPT_STRING, 'o', "output", &m.lo.out, "FILE", "--learn: write the learned closure here (atomically), ready for 'capgate merge'", NULL },
		{ OPT_STRING, 0, "merge-into", &m.lo.merge_into, "FILE", "--learn: write the profile with the learned calls merged in (may be the profile itself)", NULL },
		{ OPT_STRING, 0, "coverage", &m.coverage, "FILE", "write which calls of the profile the run used (JSON; needs the eBPF recorder)", NULL },
		{ OPT_STRING, 0, "phase", &phase, "NAME", "enforce only the calls of this phase of the profile", NULL },
		{ OPT_STRING, 0, "serve-when-listening", &serve_port, "PORT", "phases: serving starts at listen() on PORT (default: the trigger the closure was traced with)", NULL },
		{ OPT_STRING, 0, "serve-after-call", &serve_call, "NAME", "phases: serving starts at the first call of NAME", NULL },
		{ OPT_STRING, 0, "serve-after", &serve_after, "SECONDS", "phases: serving starts SECONDS after the start (SIGUSR1 to capgate always starts it)", NULL },
		{ OPT_BOOL, 0, "phase-kill", &so.phase_kill, NULL, "phases: kill a process that makes a start-up call while serving (default: the profile's action)", NULL },
		{ OPT_BOOL, 0, "no-phases", &no_phases, NULL, "enforce the whole-life closure even if it has phases", NULL },
		{ OPT_INT, 0, "worker-startup", &worker_startup, "SECONDS", "phases: start-up windows of SECONDS for the children of the program's first process, 0 = none (default: the closure's)", NULL },
		{ OPT_INT, 0, "landlock-abi", &abi_max, "N", "use at most Landlock ABI N (what an older kernel would miss)", NULL },
		{ OPT_LIST, 0, "cap-add", &cap_add, "CAP", "give the program this capability too (NET_ADMIN or CAP_NET_ADMIN, ALL; repeatable)", NULL },
		{ OPT_LIST, 0, "cap-drop", &cap_drop, "CAP", "take this capability away (ALL: every one; repeatable)", NULL },
		{ OPT_STRING, 0, "user", &so.user, "UID[:GID]", "run as this user and group, supplementary groups cleared (root only)", NULL },
		{ OPT_LIST, 0, "share-ns", &share, "NS", "keep capgate's namespace: pid, ipc, uts, cgroup, all (comma-separated, repeatable)", NULL },
		{ OPT_BOOL, 0, "tty", &so.tty, NULL, "give the program a terminal of its own (a new pty, relayed to capgate's): interactive programs", NULL },
		{ OPT_LIST, 0, "rlimit", &rlimits, "NAME=SOFT[:HARD]", "resource limit as prlimit(1) names it: nofile, nproc, as, core, ... (repeatable)", NULL },
		{ OPT_STRING, 0, "kernel", &ro.kernel, "X.Y", "kernel version for minKernel (default: the running kernel)", NULL },
		{ OPT_STRING, 0, "arch", &ro.arch, "ARCH", "native architecture for archMap (default: this machine's)", NULL },
		{ OPT_STRING, 0, "runtime", &runtime, "NAME", "run CMD in a container of this OCI runtime (runsc, crun, runc) over --rootfs", NULL },
		{ OPT_STRING, 0, "rootfs", &rootfs, "DIR", "--runtime: the container's root file system (read-only)", NULL },
		{ OPT_STRING, 0, "image", &image, "LAYOUT[:REF]", "--runtime: unpack this OCI layout's image into a private root instead (its attached closure if no --profile)", NULL },
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
	if (!profile && !image) {
		cli_error("run", "--profile is required (see 'capgate run --help')");
		goto out;
	}
	if (nargs == 0 && !dry_run) {
		cli_error("run", "no command given: capgate run --profile P.json -- CMD [ARGS...]");
		goto out;
	}
	if (explain_format && strcmp(explain_format, "json") != 0 && strcmp(explain_format, "text") != 0) {
		cli_error("run", "--explain-format: expected text or json, not '%s'", explain_format);
		goto out;
	}
	if (m.learn && !m.lo.out && !m.lo.merge_into) {
		cli_error("run", "--learn needs -o FILE or --merge-into FILE (where the learned calls go)");
		goto out;
	}
	if (!m.learn && (m.lo.out || m.lo.merge_into)) {
		cli_error("run", "-o and --merge-into only go with --learn");
		goto out;
	}
	m.json = explain_format && strcmp(explain_format, "json") == 0;
	m.explain = so.explain;
	m.lo.profile = profile;
	if (m.learn)
		so.audit = so.explain = true; /* log-only, through the supervisor */
	if (m.json)
		so.explain = true;
	if (m.coverage) {
		so.before_exec = coverage_attach;
		so.before_exec_user = &cov;
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
	if (image && image_open(image, &layout, &img, &ro, !profile, &c) < 0)
		goto out;
	if (profile && cli_load_closure("run", profile, &ro, &c) < 0)
		goto out;
	if (phase && (so.phase = phase_index(c, phase)) < 0)
		goto out;
	if (runtime || rootfs || image) {
		rc = run_container(c, runtime, rootfs, layout, img, args, nargs);
		goto out;
	}
	if (!phase && !no_phases && cg_closure_phase(c, "serving", false) >= 0 &&
	    phase_trigger(&so, serve_port, serve_call, serve_after) < 0)
		goto out;
	so.worker_startup = worker_startup < 0 ? 0 : worker_startup == 0 ? -1
									 : (int)(worker_startup > INT_MAX ? INT_MAX : worker_startup);
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
		rc = dry_run ? print_plan(sb, profile, args, nargs) : run_program(sb, c, args, nargs, &so, &m, &cov);
	}
out:
	cg_image_free(img);
	cg_trace_free(cov.t);
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
