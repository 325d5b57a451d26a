// SPDX-License-Identifier: Apache-2.0
/*
 * capgate trace: record what a workload really calls and write its closure.
 * The recording itself (triggers, --duration, stop signals) is the
 * library's cg_trace_record; this file parses, prints and writes.
 *
 * Exit status: 0 the closure was written and nothing can have been lost;
 * 1 written, but the record may be incomplete (a map was full); 2 usage or
 * input error; 125 the recorder cannot run (permission, no BTF, no such
 * cgroup feature); 126 the program cannot be executed; 127 it cannot be
 * found. The workload's own exit status is reported, not returned.
 */
#include <capgate/phase.h>
#include <capgate/trace.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../cli.h"

#define EXIT_SETUP 125

static const char usage[] = "-o FILE [options] (-- CMD [ARGS...] | --pid PID | --cgroup PATH)";
static const char desc[] =
	"Record every system call the workload's whole process tree makes, per architecture\n"
	"(x86_64, i386, x32 kept apart), with counts and argument values that matter, split\n"
	"into a start-up and a serving phase, and write it as a closure (an OCI profile with\n"
	"capgate's fields) ready for 'capgate run --profile'.\n\n"
	"Recording starts at the workload's exec (its execve is added to the profile) and\n"
	"ends when every traced process has exited, or on Ctrl-C / SIGTERM (forwarded to the\n"
	"program, which is waited for before the closure is written). SIGUSR1 switches to the\n"
	"serving phase. The eBPF recorder (root, kernel BTF) is lossless and costs little; if\n"
	"it cannot be loaded, ptrace is used (much slower; a program capgate started is killed\n"
	"if capgate dies, a --pid / --cgroup workload is detached and runs on).\n\n"
	"exit status: 0 written; 1 written but possibly incomplete (a map was full, or with\n"
	"ptrace a process joined the --cgroup from outside); 2 usage\n"
	"or input error; 125 the recorder cannot run; 126/127 the program cannot be executed\n"
	"/ found";

struct trace_args {
	const char *out, *oci, *cgroup, *serve_sys;
	long pid, serve_after, serve_port, duration, max_tasks, max_values, worker_startup;
	bool use_ptrace, args_rules, quiet, phases, serve_notify;
	char **cmd;
	int ncmd;
};

/* Parse and check the command line: true to go on, else false with the
 * exit status in *ret_rc (0 after --help). */
static bool parse_args(int argc, char **argv, struct trace_args *a, int *ret_rc)
{
	const struct opt opts[] = {
		{ OPT_STRING, 'o', "output", &a->out, "FILE", "write the closure here (atomically; '-' = stdout)", NULL },
		{ OPT_STRING, 0, "oci", &a->oci, "FILE", "also write it as a plain OCI profile (no capgate fields)", NULL },
		{ OPT_INT, 0, "pid", &a->pid, "PID", "record a running process and its descendants instead of CMD", NULL },
		{ OPT_STRING, 0, "cgroup", &a->cgroup, "PATH", "record every process of a cgroup v2 directory (a container)", NULL },
		{ OPT_STRING, 0, "serve-after-syscall", &a->serve_sys, "NAME", "serving starts at the first call of NAME in the traced tree (accept4, epoll_wait, ...)", NULL },
		{ OPT_INT, 0, "serve-after", &a->serve_after, "SECONDS", "serving starts SECONDS after the start", NULL },
		{ OPT_INT, 0, "serve-when-listening", &a->serve_port, "PORT", "serving starts once a TCP socket listens on PORT", NULL },
		{ OPT_BOOL, 0, "serve-when-notified", &a->serve_notify, NULL, "serving starts when the program says READY=1 on $NOTIFY_SOCKET (sd_notify(3)), which capgate sets", NULL },
		{ OPT_BOOL, 0, "phases", &a->phases, NULL, "record phases even without a trigger option (SIGUSR1 to capgate switches)", NULL },
		{ OPT_INT, 0, "worker-startup", &a->worker_startup, "SECONDS", "a process forked by the program's first process is in the start-up phase for its first SECONDS (docs/PHASES.md)", NULL },
		{ OPT_BOOL, 0, "args", &a->args_rules, NULL, "turn recorded argument values into OCI argument rules where OCI can express them", NULL },
		{ OPT_BOOL, 0, "ptrace", &a->use_ptrace, NULL, "use the ptrace recorder (no eBPF; much slower)", NULL },
		{ OPT_INT, 0, "duration", &a->duration, "SECONDS", "stop after SECONDS (the program gets SIGTERM)", NULL },
		{ OPT_INT, 0, "max-tasks", &a->max_tasks, "N", "processes the eBPF recorder can follow at once (default 32768)", NULL },
		{ OPT_INT, 0, "max-values", &a->max_values, "N", "distinct argument values kept (default 8192)", NULL },
		{ OPT_BOOL, 'q', "quiet", &a->quiet, NULL, "no progress line and no summary", NULL },
		OPT_END_MARK,
	};
	int r;

	a->serve_after = -1;
	*ret_rc = EXIT_USAGE;
	r = opt_parse("trace", usage, desc, argc, argv, opts, true, &a->cmd, &a->ncmd);
	if (r != 0) {
		*ret_rc = r > 0 ? EXIT_OK : EXIT_USAGE;
		return false;
	}
	if (!a->out) {
		cli_error("trace", "-o FILE is required (see 'capgate trace --help')");
		return false;
	}
	if ((a->ncmd > 0) + (a->pid > 0) + (a->cgroup != NULL) != 1) {
		cli_error("trace", "give exactly one of: -- CMD [ARGS...], --pid PID, --cgroup PATH");
		return false;
	}
	if ((a->serve_sys != NULL) + (a->serve_after >= 0) + (a->serve_port > 0) + a->serve_notify > 1) {
		cli_error("trace", "give at most one of --serve-after-syscall, --serve-after, --serve-when-listening, "
				   "--serve-when-notified");
		return false;
	}
	if (a->pid < 0 || a->serve_port < 0 || a->serve_port > 65535 || a->duration < 0 || a->max_tasks < 0 ||
	    a->max_values < 0 || a->worker_startup < 0 || a->worker_startup > CG_WORKER_STARTUP_MAX) {
		cli_error("trace", "negative or out-of-range number");
		return false;
	}
	return true;
}

/* Take the signals the recording waits for (synchronously, in the library)
 * and block them; @old gets the mask to restore. */
static void take_signals(sigset_t *sigs, sigset_t *old)
{
	static const int taken[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 };

	sigemptyset(sigs);
	for (size_t i = 0; i < CG_ARRAY_SIZE(taken); i++) {
		/* an ignored signal is never pending (a shell's background job
		 * ignores SIGINT): take it back, the program gets the default */
		signal(taken[i], SIG_DFL);
		sigaddset(sigs, taken[i]);
	}
	sigprocmask(SIG_BLOCK, sigs, old);
}

/* Write @c to @path, as a plain OCI profile with @plain; prints the error. */
static int write_closure(const char *path, const struct cg_closure *c, bool plain)
{
	_cleanup_(cg_closure_freep) struct cg_closure *p = plain ? cg_closure_dup(c) : NULL;
	struct cg_strbuf sb;
	int r;

	if (plain && !p) {
		cli_error("trace", "out of memory");
		return -1;
	}
	if (p)
		cg_closure_strip_extensions(p);
	cg_strbuf_init(&sb);
	cg_closure_serialize(p ? p : c, false, &sb);
	r = cli_write("trace", path, &sb);
	cg_strbuf_release(&sb);
	return r;
}

static size_t names_in_phase(const struct cg_closure *c, int phase)
{
	const char **names = NULL;
	size_t n = 0;
	if (cg_closure_permitted_names(c, phase, &names, &n) < 0)
		return 0;
	free(names);
	return n;
}

static void progress(struct cg_trace *t, bool final)
{
	struct cg_trace_data *d = NULL;
	uint64_t calls;
	unsigned distinct;

	if (cg_trace_snapshot(t, &d, NULL) < 0)
		return;
	cg_trace_data_totals(d, -1, &calls, &distinct);
	fprintf(stderr, "\r\033[Kcapgate trace: %llu calls, %u distinct, phase %s%s",
		(unsigned long long)calls, distinct, cg_trace_phase_now(t) == CG_TRACE_SERVING ? "serving" : "startup",
		final ? "\n" : "");
	fflush(stderr);
	cg_trace_data_free(d);
}

/* What a person sees while recording. */
struct view {
	bool quiet, progress_on, shown;
	uint64_t last_progress;
	const char *what;
};

static void on_event(struct cg_trace *t, enum cg_trace_event ev, uint64_t ms, void *userdata)
{
	struct view *v = userdata;

	switch (ev) {
	case CG_TRACE_EV_TICK:
		if (v->progress_on && (!v->shown || ms - v->last_progress >= 500)) {
			v->shown = true;
			v->last_progress = ms;
			progress(t, false);
		}
		break;
	case CG_TRACE_EV_SERVING:
		if (!v->quiet && !v->progress_on)
			fprintf(stderr, "capgate trace: serving phase from %.1fs\n", (double)ms / 1000);
		break;
	case CG_TRACE_EV_KILLING:
		if (!v->quiet)
			fprintf(stderr, "%scapgate trace: second signal: killing %s\n", v->progress_on ? "\n" : "",
				v->what);
		break;
	case CG_TRACE_EV_DONE:
		if (v->progress_on)
			progress(t, true);
		break;
	}
}

static void describe_status(const char *what, const struct cg_trace_end *end)
{
	if (end->exec_errno)
		fprintf(stderr, "capgate trace: cannot execute %s: %s\n", what, strerror(end->exec_errno));
	else if (end->have_status && WIFEXITED(end->status))
		fprintf(stderr, "capgate trace: %s exited with status %d\n", what, WEXITSTATUS(end->status));
	else if (end->have_status && WIFSIGNALED(end->status))
		fprintf(stderr, "capgate trace: %s was killed by signal %d (%s)\n", what, WTERMSIG(end->status),
			strsignal(WTERMSIG(end->status)));
}

static void summary(const struct trace_args *a, const struct cg_trace *t, const struct cg_trace_data *d,
		    const struct cg_closure *c, const struct cg_trace_end *end, const char *what)
{
	struct cg_trace_data_info di;
	uint64_t calls;
	unsigned distinct;
	char digest[72] = "";

	describe_status(what, end);
	cg_trace_data_totals(d, -1, &calls, &distinct);
	cg_closure_digest(c, digest);
	fprintf(stderr, "capgate trace: %s recorder: %llu calls, %zu in the closure",
		cg_trace_backend_used(t) == CG_TRACE_BPF ? "eBPF" : "ptrace", (unsigned long long)calls,
		names_in_phase(c, -1));
	for (unsigned p = 0; p < c->n_phases; p++)
		fprintf(stderr, "%s%s %zu", p ? ", " : " (", c->phase_names[p], names_in_phase(c, (int)p));
	fprintf(stderr, "%s; arches:", c->n_phases ? ")" : "");
	for (int i = 0; i < CG_ARCH_COUNT; i++)
		if (c->arch_mask & CG_ARCH_BIT(i))
			fprintf(stderr, " %s", cg_arch_info(i)->name);
	fprintf(stderr, "\ncapgate trace: wrote %s (%s)\n", a->out, digest);
	cg_trace_data_info(d, &di);
	if (di.phased && !di.serving)
		fprintf(stderr, "capgate trace: warning: the serving phase was never reached: every call is "
				"in the startup phase\n");
	if (c->worker_startup)
		fprintf(stderr, "capgate trace: start-up windows of %us: %llu calls made in one while serving\n",
			c->worker_startup, (unsigned long long)di.window_calls);
	if (c->worker_startup && di.window_open_at_end)
		fprintf(stderr, "capgate trace: warning: the recording ended inside a start-up window: what that "
				"process does after its window was not seen while serving (exercise the server longer "
				"than %us after its last worker started or reloaded)\n",
			c->worker_startup);
	if (di.n_values) {
		struct cg_strbuf av;
		cg_strbuf_init(&av);
		cg_trace_data_describe_args(d, &av);
		fprintf(stderr, "capgate trace: argument values:\n%.*s", (int)av.len, av.buf ? av.buf : "");
		cg_strbuf_release(&av);
	}
}

/* Warnings about what may be missing; the exit status. */
static int warnings(const struct cg_trace *t, const struct cg_trace_data *d, const struct cg_strbuf *notes)
{
	struct cg_trace_data_info di;

	cg_trace_data_info(d, &di);
	if (notes->len)
		fprintf(stderr, "%.*s", (int)notes->len, notes->buf);
	if (di.bad_nr)
		fprintf(stderr, "capgate trace: warning: %llu calls with an impossible number (they fail with ENOSYS) "
				"are not in the closure\n",
			(unsigned long long)di.bad_nr);
	if (!di.lost_tasks && !di.lost_args)
		return EXIT_OK;
	if (di.lost_tasks && cg_trace_backend_used(t) == CG_TRACE_PTRACE)
		fprintf(stderr, "capgate trace: the record may be incomplete: %llu processes joined the cgroup "
				"from outside the traced tree and were attached when seen (their earlier calls "
				"are missing)\n",
			(unsigned long long)di.lost_tasks);
	else if (di.lost_tasks)
		fprintf(stderr, "capgate trace: the record may be incomplete: %llu processes could not be "
				"followed (raise --max-tasks)\n",
			(unsigned long long)di.lost_tasks);
	if (di.lost_args)
		fprintf(stderr, "capgate trace: the record may be incomplete: %llu argument values could not "
				"be kept (raise --max-values)\n",
			(unsigned long long)di.lost_args);
	return EXIT_FINDINGS;
}

int cmd_trace(int argc, char **argv)
{
	struct trace_args a = { 0 };
	_cleanup_(cg_trace_freep) struct cg_trace *t = NULL;
	_cleanup_(cg_trace_data_freep) struct cg_trace_data *d = NULL;
	_cleanup_(cg_closure_freep) struct cg_closure *c = NULL;
	struct cg_trace_closure_opts co = { .sz = sizeof(co), .origin = "trace" };
	struct cg_trace_end end = { 0 };
	struct cg_error err = { 0 };
	struct view v = { 0 };
	struct cg_strbuf notes;
	sigset_t sigs, old;
	int r, rc;

	if (!parse_args(argc, argv, &a, &rc)) {
		free(a.cmd);
		return rc;
	}
	v.what = a.ncmd ? a.cmd[0] : a.pid ? "the process"
					   : "the cgroup";
	v.quiet = a.quiet;
	v.progress_on = !a.quiet && isatty(STDERR_FILENO);
	cg_strbuf_init(&notes);
	take_signals(&sigs, &old);
	struct cg_trace_opts to = {
		.sz = sizeof(to),
		.backend = a.use_ptrace ? CG_TRACE_PTRACE : CG_TRACE_AUTO,
		.argv = a.ncmd ? a.cmd : NULL,
		.pid = (pid_t)a.pid,
		.cgroup = a.cgroup,
		.serve_after_syscall = a.serve_sys,
		.serve_timer = a.serve_after >= 0,
		.serve_after_ms = a.serve_after >= 0 ? (uint64_t)a.serve_after * 1000 : 0,
		.serve_port = (unsigned)a.serve_port,
		.serve_signal = SIGUSR1,
		.phased = a.phases,
		.duration_ms = (uint64_t)a.duration * 1000,
		.signals = &sigs,
		.on_event = on_event,
		.userdata = &v,
		.max_tasks = (unsigned)a.max_tasks,
		.max_values = (unsigned)a.max_values,
		.worker_startup = (unsigned)a.worker_startup,
		.serve_notify = a.serve_notify,
	};
	if ((r = cg_trace_new(&to, &t, &err)) < 0) {
		cli_error("trace", "%s", err.msg);
		rc = r == -ENOENT ? 127 : r == -EACCES          ? 126
				  : r == -EINVAL || r == -ESRCH ? EXIT_USAGE
								: EXIT_SETUP;
		goto out;
	}
	if (cg_trace_backend_used(t) == CG_TRACE_PTRACE)
		fprintf(stderr, "capgate trace: %s%s%susing the ptrace recorder: every call stops the program twice, "
				"expect it to run much slower\n",
			cg_trace_fallback_reason(t) ? "eBPF unavailable (" : "",
			cg_trace_fallback_reason(t) ? cg_trace_fallback_reason(t) : "",
			cg_trace_fallback_reason(t) ? "); " : "");
	co.args = a.args_rules;
	if (cg_trace_record(t, &co, &notes, &end, &d, &c, &err) < 0) {
		cli_error("trace", "%s", err.msg);
		rc = EXIT_SETUP;
		goto out;
	}
	if (write_closure(a.out, c, false) < 0 || (a.oci && write_closure(a.oci, c, true) < 0)) {
		rc = EXIT_USAGE;
		goto out;
	}
	if (!a.quiet)
		summary(&a, t, d, c, &end, v.what);
	rc = warnings(t, d, &notes);
	if (end.exec_errno)
		rc = end.exec_errno == ENOENT ? 127 : 126;
out:
	sigprocmask(SIG_SETMASK, &old, NULL);
	cg_strbuf_release(&notes);
	free(a.cmd);
	return rc;
}
