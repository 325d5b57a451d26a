// SPDX-License-Identifier: Apache-2.0
/*
 * capgate trace: record what a workload really calls and write its closure.
 *
 * Exit status: 0 the closure was written and nothing can have been lost;
 * 1 written, but the record may be incomplete (a map was full); 2 usage or
 * input error; 125 the recorder cannot run (permission, no BTF, no such
 * cgroup feature); 126 the program cannot be executed; 127 it cannot be
 * found. The workload's own exit status is reported, not returned.
 */
#include <capgate/trace.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "../cli.h"

#define EXIT_SETUP 125

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The closure as a plain OCI profile: no phases, counts, comments or
 * per-rule arches (a rule then holds on every listed arch). */
static struct cg_closure *closure_plain(const struct cg_closure *c)
{
	struct cg_closure *p = cg_closure_dup(c);
	if (!p)
		return NULL;
	for (unsigned i = 0; i < p->n_phases; i++)
		free(p->phase_names[i]);
	p->n_phases = 0;
	for (size_t i = 0; i < p->n_rules; i++) {
		struct cg_rule *r = &p->rules[i];
		r->phases = 0;
		r->count = 0;
		r->arch_mask = 0;
		free(r->origin);
		r->origin = NULL;
	}
	cg_closure_canonicalize(p);
	return p;
}

/* Write @c (plain or not) to @path; prints the error. */
static int write_closure(const char *cmd, const char *path, const struct cg_closure *c, bool plain)
{
	struct cg_closure *p = plain ? closure_plain(c) : NULL;
	struct cg_strbuf sb;
	int r;

	if (plain && !p) {
		cli_error(cmd, "out of memory");
		return -1;
	}
	cg_strbuf_init(&sb);
	cg_closure_serialize(plain ? p : c, false, &sb);
	r = cli_write(cmd, path, &sb);
	cg_strbuf_release(&sb);
	cg_closure_free(p);
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

int cmd_trace(int argc, char **argv)
{
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
	const char *out = NULL, *oci = NULL, *cgroup = NULL, *serve_sys = NULL;
	long pid = 0, serve_after = -1, serve_port = 0, duration = 0, max_tasks = 0, max_values = 0;
	bool use_ptrace = false, args_rules = false, quiet = false, phases = false;
	const struct opt opts[] = {
		{ OPT_STRING, 'o', "output", &out, "FILE", "write the closure here (atomically; '-' = stdout)", NULL },
		{ OPT_STRING, 0, "oci", &oci, "FILE", "also write it as a plain OCI profile (no capgate fields)", NULL },
		{ OPT_INT, 0, "pid", &pid, "PID", "record a running process and its descendants instead of CMD", NULL },
		{ OPT_STRING, 0, "cgroup", &cgroup, "PATH", "record every process of a cgroup v2 directory (a container)", NULL },
		{ OPT_STRING, 0, "serve-after-syscall", &serve_sys, "NAME", "serving starts at the first call of NAME in the traced tree (accept4, epoll_wait, ...)", NULL },
		{ OPT_INT, 0, "serve-after", &serve_after, "SECONDS", "serving starts SECONDS after the start", NULL },
		{ OPT_INT, 0, "serve-when-listening", &serve_port, "PORT", "serving starts once a TCP socket listens on PORT", NULL },
		{ OPT_BOOL, 0, "phases", &phases, NULL, "record phases even without a trigger option (SIGUSR1 to capgate switches)", NULL },
		{ OPT_BOOL, 0, "args", &args_rules, NULL, "turn recorded argument values into OCI argument rules where OCI can express them", NULL },
		{ OPT_BOOL, 0, "ptrace", &use_ptrace, NULL, "use the ptrace recorder (no eBPF; much slower)", NULL },
		{ OPT_INT, 0, "duration", &duration, "SECONDS", "stop after SECONDS (the program gets SIGTERM)", NULL },
		{ OPT_INT, 0, "max-tasks", &max_tasks, "N", "processes the eBPF recorder can follow at once (default 32768)", NULL },
		{ OPT_INT, 0, "max-values", &max_values, "N", "distinct argument values kept (default 8192)", NULL },
		{ OPT_BOOL, 'q', "quiet", &quiet, NULL, "no progress line and no summary", NULL },
		OPT_END_MARK,
	};
	_cleanup_(cg_trace_freep) struct cg_trace *t = NULL;
	_cleanup_(cg_trace_data_freep) struct cg_trace_data *d = NULL;
	_cleanup_(cg_closure_freep) struct cg_closure *c = NULL;
	struct cg_trace_opts to = { .sz = sizeof(to) };
	struct cg_trace_closure_opts co = { .sz = sizeof(co), .origin = "trace" };
	struct cg_trace_end end = { 0 };
	struct cg_error err = { 0 };
	struct cg_strbuf notes;
	sigset_t sigs, old;
	char **args = NULL;
	int nargs = 0, r, rc = EXIT_USAGE, stop_signals = 0;
	bool progress_on, serving_reported = false, stopping = false;
	int64_t t0, last_progress = 0, stop_at = 0;
	const char *what;
	static const int taken[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 };

	r = opt_parse("trace", usage, desc, argc, argv, opts, true, &args, &nargs);
	if (r != 0)
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	cg_strbuf_init(&notes);
	if (!out) {
		cli_error("trace", "-o FILE is required (see 'capgate trace --help')");
		goto out;
	}
	if ((nargs > 0) + (pid > 0) + (cgroup != NULL) != 1) {
		cli_error("trace", "give exactly one of: -- CMD [ARGS...], --pid PID, --cgroup PATH");
		goto out;
	}
	if (pid < 0 || serve_port < 0 || serve_port > 65535 || duration < 0 || max_tasks < 0 || max_values < 0) {
		cli_error("trace", "negative or out-of-range number");
		goto out;
	}
	what = nargs ? args[0] : pid ? "the process" : "the cgroup";
	progress_on = !quiet && isatty(STDERR_FILENO);

	/* Signals are taken synchronously (sigtimedwait) while recording. */
	sigemptyset(&sigs);
	for (size_t i = 0; i < CG_ARRAY_SIZE(taken); i++) {
		/* an ignored signal is never pending (a shell's background job
		 * ignores SIGINT): take it back, the program gets the default */
		signal(taken[i], SIG_DFL);
		sigaddset(&sigs, taken[i]);
	}
	sigprocmask(SIG_BLOCK, &sigs, &old);

	to.backend = use_ptrace ? CG_TRACE_PTRACE : CG_TRACE_AUTO;
	to.argv = nargs ? args : NULL;
	to.pid = (pid_t)pid;
	to.cgroup = cgroup;
	to.serve_after_syscall = serve_sys;
	to.phased = phases || serve_sys || serve_after >= 0 || serve_port > 0;
	to.max_tasks = (unsigned)max_tasks;
	to.max_values = (unsigned)max_values;
	r = cg_trace_new(&to, &t, &err);
	if (r < 0) {
		cli_error("trace", "%s", err.msg);
		rc = r == -ENOENT ? 127 : r == -EACCES ? 126 : r == -EINVAL || r == -ESRCH ? EXIT_USAGE : EXIT_SETUP;
		goto out_sig;
	}
	if (cg_trace_backend_used(t) == CG_TRACE_PTRACE)
		fprintf(stderr, "capgate trace: %s%s%susing the ptrace recorder: every call stops the program twice, "
				"expect it to run much slower\n",
			cg_trace_fallback_reason(t) ? "eBPF unavailable (" : "",
			cg_trace_fallback_reason(t) ? cg_trace_fallback_reason(t) : "",
			cg_trace_fallback_reason(t) ? "); " : "");
	if (cg_trace_start(t, &err) < 0) {
		cli_error("trace", "%s", err.msg);
		rc = EXIT_SETUP;
		goto out_sig;
	}
	t0 = mono_ms();
	if (duration > 0)
		stop_at = t0 + duration * 1000;

	for (;;) {
		siginfo_t si;
		int64_t now;

		r = cg_trace_wait(t, 200, &sigs, &si, &end, &err);
		if (r < 0) {
			cli_error("trace", "%s", err.msg);
			break;
		}
		if (r == 1)
			break;
		now = mono_ms();
		if (r == 2) {
			if (si.si_signo == SIGUSR1) {
				cg_trace_serve(t);
			} else if (!nargs) {
				break; /* --pid / --cgroup: stop recording, leave the workload alone */
			} else if (++stop_signals == 1) {
				/* from the terminal the program got it too (same process group) */
				if (si.si_code <= 0)
					cg_trace_kill(t, si.si_signo);
				stopping = true;
			} else {
				if (!quiet)
					fprintf(stderr, "%scapgate trace: second signal: killing %s\n",
						progress_on ? "\n" : "", what);
				cg_trace_kill(t, SIGKILL);
			}
		}
		if (serve_after >= 0 && now - t0 >= serve_after * 1000)
			cg_trace_serve(t);
		if (serve_port > 0 && cg_trace_phase_now(t) == CG_TRACE_STARTUP &&
		    cg_trace_port_listening((unsigned)serve_port))
			cg_trace_serve(t);
		if (stop_at && now >= stop_at && !stopping) {
			stopping = true;
			if (!nargs)
				break;
			cg_trace_kill(t, SIGTERM);
		}
		if (!serving_reported && cg_trace_phase_now(t) == CG_TRACE_SERVING) {
			serving_reported = true;
			if (!quiet && !progress_on)
				fprintf(stderr, "capgate trace: serving phase from %.1fs\n", (double)(now - t0) / 1000);
		}
		if (progress_on && now - last_progress >= 500) {
			last_progress = now;
			progress(t, false);
		}
	}
	if (progress_on)
		progress(t, true);

	if (cg_trace_snapshot(t, &d, &err) < 0) {
		cli_error("trace", "%s", err.msg);
		rc = EXIT_SETUP;
		goto out_sig;
	}
	cg_trace_data_finish(d);
	co.args = args_rules;
	if (cg_trace_data_closure(d, &co, &notes, &c, &err) < 0) {
		cli_error("trace", "%s", err.msg);
		rc = EXIT_SETUP;
		goto out_sig;
	}
	if (write_closure("trace", out, c, false) < 0 || (oci && write_closure("trace", oci, c, true) < 0)) {
		rc = EXIT_USAGE;
		goto out_sig;
	}
	rc = EXIT_OK;

	if (!quiet) {
		uint64_t calls;
		unsigned distinct;
		char digest[72] = "";
		describe_status(what, &end);
		cg_trace_data_totals(d, -1, &calls, &distinct);
		cg_closure_digest(c, digest);
		fprintf(stderr, "capgate trace: %s recorder: %llu calls, %zu in the closure", 
			cg_trace_backend_used(t) == CG_TRACE_BPF ? "eBPF" : "ptrace", (unsigned long long)calls,
			names_in_phase(c, -1));
		for (unsigned p = 0; p < c->n_phases; p++)
			fprintf(stderr, "%s%s %zu", p ? ", " : " (", c->phase_names[p], names_in_phase(c, (int)p));
		fprintf(stderr, "%s; arches:", c->n_phases ? ")" : "");
		for (int a = 0; a < CG_ARCH_COUNT; a++)
			if (c->arch_mask & CG_ARCH_BIT(a))
				fprintf(stderr, " %s", cg_arch_info(a)->name);
		fprintf(stderr, "\ncapgate trace: wrote %s (%s)\n", out, digest);
		if (d->phased && !d->serving)
			fprintf(stderr, "capgate trace: warning: the serving phase was never reached: every call is "
					"in the startup phase\n");
		if (d->n_vals) {
			struct cg_strbuf av;
			cg_strbuf_init(&av);
			cg_trace_data_describe_args(d, &av);
			fprintf(stderr, "capgate trace: argument values:\n%.*s", (int)av.len, av.buf ? av.buf : "");
			cg_strbuf_release(&av);
		}
	}
	if (notes.len)
		fprintf(stderr, "%.*s", (int)notes.len, notes.buf);
	if (d->bad_nr)
		fprintf(stderr, "capgate trace: warning: %llu calls with an impossible number (they fail with ENOSYS) "
				"are not in the closure\n",
			(unsigned long long)d->bad_nr);
	if (d->lost_tasks || d->lost_args) {
		if (d->lost_tasks && cg_trace_backend_used(t) == CG_TRACE_PTRACE)
			fprintf(stderr, "capgate trace: the record may be incomplete: %llu processes joined the cgroup "
					"from outside the traced tree and were attached when seen (their earlier calls "
					"are missing)\n",
				(unsigned long long)d->lost_tasks);
		else if (d->lost_tasks)
			fprintf(stderr, "capgate trace: the record may be incomplete: %llu processes could not be "
					"followed (raise --max-tasks)\n",
				(unsigned long long)d->lost_tasks);
		if (d->lost_args)
			fprintf(stderr, "capgate trace: the record may be incomplete: %llu argument values could not "
					"be kept (raise --max-values)\n",
				(unsigned long long)d->lost_args);
		rc = EXIT_FINDINGS;
	}
	if (end.exec_errno)
		rc = end.exec_errno == ENOENT ? 127 : 126;
out_sig:
	sigprocmask(SIG_SETMASK, &old, NULL);
out:
	cg_strbuf_release(&notes);
	free(args);
	return rc;
}
