// SPDX-License-Identifier: Apache-2.0
/*
 * The recorder's generic half: what is the same whichever backend records
 * -- checking the request, choosing the backend once (eBPF, or ptrace when
 * asked for or when eBPF cannot be loaded), and the recording loop with its
 * phase triggers and time limit, so that every front end (the CLI today, an
 * agent tomorrow) records the same way. The backends sit behind the table
 * of trace_internal.h; nothing here asks which one is in use.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <capgate/phase.h>

#include "core/error_internal.h"
#include "core/proc.h"
#include "core/sdnotify.h"
#include "source/trace_internal.h"
#include "source/trace_shared.h"

/* ---- /proc/net/tcp{,6} ---------------------------------------------------------- */

static bool listening_in(const char *path, unsigned port)
{
	FILE *f = fopen(path, "re");
	char line[512];
	bool found = false;
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char local[128];
		unsigned st;
		/* "  sl  local_address rem_address   st ..." */
		if (sscanf(line, " %*u: %127s %*s %x", local, &st) != 2)
			continue;
		char *colon = strrchr(local, ':');
		if (colon && st == 0x0A && strtoul(colon + 1, NULL, 16) == port)
			found = true;
	}
	fclose(f);
	return found;
}

bool cg_trace_port_listening(unsigned port)
{
	return listening_in("/proc/net/tcp", port) || listening_in("/proc/net/tcp6", port);
}

/* ---- the recorder ---------------------------------------------------------- */

static int serve_numbers(const char *name, uint32_t nrs[CG_TRACE_NARCH], struct cg_error *err)
{
	bool any = false;
	for (unsigned s = 0; s < CG_TRACE_NARCH; s++)
		nrs[s] = UINT32_MAX;
	if (!name)
		return 0;
	for (unsigned s = 0; s < CG_TRACE_NARCH; s++) {
		int nr = cg_syscall_nr(cg_trace_slot_arch(s), name);
		if (nr >= 0) {
			nrs[s] = (uint32_t)nr & ~CG_X32_SYSCALL_BIT;
			any = true;
		}
	}
	if (!any)
		return cg_error_set(err, -EINVAL, "--serve-after-syscall: unknown system call '%s'", name);
	return 0;
}

/* The id of cgroup v2 directory @dir. */
static int cgroup_id(const char *dir, uint64_t *ret, struct cg_error *err)
{
	struct statfs sfs;
	struct stat st;

	if (statfs(dir, &sfs) < 0 || stat(dir, &st) < 0)
		return cg_error_set(err, -errno, "cgroup %s: %s", dir, strerror(errno));
	if (sfs.f_type != 0x63677270 /* CGROUP2_SUPER_MAGIC */ || !S_ISDIR(st.st_mode))
		return cg_error_set(err, -EINVAL, "%s is not a cgroup v2 directory", dir);
	*ret = st.st_ino; /* the kernfs node id is the inode number */
	return 0;
}

/* The sd-notify trigger: an abstract datagram socket with a random name in
 * capgate's network namespace (the program's), named in the program's
 * NOTIFY_SOCKET as sd_notify(3) reads it ("@name"). */
static int notify_open(struct cg_trace *t, char *const *envp, struct cg_error *err)
{
	uint64_t rnd = 0;
	char name[64];

	if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return cg_error_set(err, -errno, "sd-notify trigger: getrandom: %s", strerror(errno));
	snprintf(name, sizeof(name), "capgate-trace-notify-%d-%016llx", (int)getpid(), (unsigned long long)rnd);
	if ((t->notify_fd = cg_sdnotify_bind(name, err)) < 0)
		return t->notify_fd;
	if (!(t->notify_env = cg_sdnotify_env(envp, name)))
		return cg_error_set(err, -ENOMEM, "out of memory");
	return 0;
}

/* One look at the sd-notify socket while waiting for READY=1. The switch
 * comes a few milliseconds after the program sent it, and the calls it made
 * in between were counted as start-up calls; run's supervisor may switch
 * sooner and would deny them. So the calls counted since the look before
 * the last one (taken before that look found nothing, so before READY=1
 * was sent) count in the serving phase too: a switch recorded early never
 * breaks a run (before serving, run allows every phase's calls), a late one
 * would. */
static void notify_look(struct cg_trace *t)
{
	struct cg_error e = { 0 };
	struct cg_trace_data *cur = cg_trace_data_new(), *after = NULL;

	if (cur && (t->ops->startup_counts ? t->ops->startup_counts(t, cur) : t->ops->snapshot(t, cur, &e)) < 0) {
		cg_trace_data_free(cur);
		cur = NULL;
	}
	if (!cg_sdnotify_ready(t->notify_fd)) {
		cg_trace_data_free(t->notify_prev);
		t->notify_prev = cur; /* NULL: the next switch marks every start-up call */
		return;
	}
	cg_trace_serve(t);
	if ((after = cg_trace_data_new()) &&
	    (t->ops->startup_counts ? t->ops->startup_counts(t, after) : t->ops->snapshot(t, after, &e)) == 0 &&
	    (t->notify_both = calloc(CG_TRACE_NARCH * CG_TRACE_NR_MAX, sizeof(bool)))) {
		for (unsigned a = 0; a < CG_TRACE_NARCH; a++)
			for (unsigned nr = 0; nr < CG_TRACE_NR_MAX; nr++)
				t->notify_both[a * CG_TRACE_NR_MAX + nr] =
					after->counts[a][nr][0] > (t->notify_prev ? t->notify_prev->counts[a][nr][0] : 0);
	}
	cg_trace_data_free(after);
	cg_trace_data_free(cur);
	cg_trace_data_free(t->notify_prev);
	t->notify_prev = NULL;
}

/* The recording part of the options, kept for cg_trace_record. */
static void keep_record_opts(struct cg_trace *t, const struct cg_trace_opts *o)
{
	t->serve_timer = o->serve_timer;
	t->serve_after_ms = o->serve_after_ms;
	t->serve_port = o->serve_port;
	t->serve_signal = o->serve_signal;
	t->duration_ms = o->duration_ms;
	t->have_signals = o->signals != NULL;
	if (o->signals)
		t->signals = *o->signals;
	t->on_event = o->on_event;
	t->userdata = o->userdata;
}

int cg_trace_new(const struct cg_trace_opts *opts, struct cg_trace **ret, struct cg_error *err)
{
	_cleanup_free_ char *path = NULL;
	struct cg_trace_opts oc = { .sz = sizeof(oc) };
	const struct cg_trace_opts *o = &oc;
	struct cg_trace_setup s = { .opts = o };
	struct cg_trace *t;
	sigset_t chld;
	int r, modes;

	if ((r = CG_OPTS_COPY(&oc, opts)) < 0)
		return cg_opts_error(err, r, "cg_trace_opts");
	modes = (o->argv && o->argv[0]) + (o->pid > 0) + (o->cgroup != NULL);
	if (modes != 1)
		return cg_error_set(err, -EINVAL, "give exactly one of a command, a pid or a cgroup");
	if (o->from_exec && o->pid <= 0)
		return cg_error_set(err, -EINVAL, "counting from the exec needs a pid");
	if (o->from_exec && o->backend == CG_TRACE_PTRACE)
		return cg_error_set(err, -EINVAL, "counting from the exec needs the eBPF recorder");
	if (o->worker_startup > CG_WORKER_STARTUP_MAX)
		return cg_error_set(err, -EINVAL, "--worker-startup: a start-up window must be 1..%d seconds",
				    CG_WORKER_STARTUP_MAX);
	if (o->worker_startup && o->backend == CG_TRACE_PTRACE)
		return cg_error_set(err, -EINVAL, "start-up windows (--worker-startup) need the eBPF recorder");
	if (o->worker_startup && o->cgroup)
		return cg_error_set(err, -EINVAL, "start-up windows (--worker-startup) need a program or a pid "
						  "(its first process spawns the workers), not a cgroup");
	if (o->worker_startup &&
	    !(o->serve_after_syscall || o->serve_timer || o->serve_port || o->serve_notify || o->phased))
		return cg_error_set(err, -EINVAL, "start-up windows (--worker-startup) need a serving trigger");
	if (o->serve_notify && !o->argv)
		return cg_error_set(err, -EINVAL, "the sd-notify trigger needs a command to start (capgate gives it "
						  "NOTIFY_SOCKET), not a pid or a cgroup");
	if (!(t = calloc(1, sizeof(*t))))
		return cg_error_set(err, -ENOMEM, "out of memory");
	t->notify_fd = -1;
	if (o->serve_notify && (r = notify_open(t, o->envp, err)) < 0)
		goto fail;
	if (t->notify_env)
		oc.envp = t->notify_env;
	t->phased = o->phased || o->serve_after_syscall || o->serve_timer || o->serve_port || o->serve_notify;
	t->spawned = o->argv != NULL;
	t->from_exec = o->from_exec;
	keep_record_opts(t, o);
	t->worker_startup = o->worker_startup;
	/* --serve-when-listening also flips at the first listen(), in the
	 * kernel: polling /proc/net/tcp alone would let the calls made just
	 * after the listen land in the start-up phase, and run (which sees the
	 * listen itself) would then deny them as start-up calls after serving
	 * began. Flipping no later than run does keeps the two in step. */
	if ((r = serve_numbers(o->serve_after_syscall ? o->serve_after_syscall
			       : o->serve_port        ? "listen"
						      : NULL,
			       t->serve_nr, err)) < 0)
		goto fail;
	if (o->serve_port)
		snprintf(t->serve_when, sizeof(t->serve_when), "listening:%u", o->serve_port);
	else if (o->serve_after_syscall)
		snprintf(t->serve_when, sizeof(t->serve_when), "call:%s", o->serve_after_syscall);
	else if (o->serve_timer)
		snprintf(t->serve_when, sizeof(t->serve_when), "after:%llu",
			 (unsigned long long)(o->serve_after_ms / 1000));
	else if (o->serve_notify)
		snprintf(t->serve_when, sizeof(t->serve_when), "sd-notify");
	else if (t->phased)
		snprintf(t->serve_when, sizeof(t->serve_when), "signal");
	if (o->argv && (r = cg_exec_find(o->argv[0], &path, err)) < 0)
		goto fail;
	s.path = path;
	if (o->pid > 0 && kill(o->pid, 0) < 0 && errno == ESRCH) {
		r = cg_error_set(err, -ESRCH, "no process with pid %d", (int)o->pid);
		goto fail;
	}
	if (o->cgroup && (r = cgroup_id(o->cgroup, &s.cgroup_id, err)) < 0)
		goto fail;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);

	t->ops = o->backend == CG_TRACE_PTRACE ? &cg_trace_ptrace_ops : &cg_trace_bpf_ops;
	if (o->backend == CG_TRACE_AUTO) {
		struct cg_error berr = { 0 };
		if (t->ops->load(t, &s, &berr) < 0) {
			if (o->from_exec || o->worker_startup) { /* ptrace has neither */
				r = cg_error_set(err, -EOPNOTSUPP, "%s (%s needs the eBPF recorder)", berr.msg,
						 o->from_exec ? "counting from the exec" : "--worker-startup");
				goto fail;
			}
			if (!(t->fallback = strdup(berr.msg))) {
				r = cg_error_set(err, -ENOMEM, "out of memory");
				goto fail;
			}
			t->ops = &cg_trace_ptrace_ops;
			r = t->ops->load(t, &s, err);
		} else {
			r = 0;
		}
	} else {
		r = t->ops->load(t, &s, err);
	}
	if (r < 0 || (r = t->ops->prepare(t, &s, err)) < 0)
		goto fail;
	*ret = t;
	return 0;
fail:
	cg_trace_free(t);
	return r;
}

void cg_trace_free(struct cg_trace *t)
{
	if (!t)
		return;
	if (t->ops)
		t->ops->free(t);
	free(t->fallback);
	if (t->notify_fd >= 0)
		close(t->notify_fd);
	cg_trace_data_free(t->notify_prev);
	free(t->notify_both);
	cg_sdnotify_env_free(t->notify_env);
	free(t);
}

enum cg_trace_backend cg_trace_backend_used(const struct cg_trace *t) { return t->ops->id; }
const char *cg_trace_fallback_reason(const struct cg_trace *t) { return t->fallback; }
pid_t cg_trace_pid(const struct cg_trace *t) { return t->pid; }

int cg_trace_start(struct cg_trace *t, struct cg_error *err)
{
	if (t->started)
		return 0;
	t->started = true;
	return t->ops->start(t, err);
}

int cg_trace_wait(struct cg_trace *t, int timeout_ms, const sigset_t *sigs, siginfo_t *ret_si,
		  struct cg_trace_end *ret_end, struct cg_error *err)
{
	return t->ops->wait(t, timeout_ms, sigs, ret_si, ret_end, err);
}

int cg_trace_kill(struct cg_trace *t, int sig)
{
	return t->ops->kill(t, sig);
}

void cg_trace_serve(struct cg_trace *t)
{
	t->phased = true;
	t->ops->serve(t);
}

enum cg_trace_phase cg_trace_phase_now(const struct cg_trace *t)
{
	return t->ops->serving(t) ? CG_TRACE_SERVING : CG_TRACE_STARTUP;
}

int cg_trace_snapshot(struct cg_trace *t, struct cg_trace_data **ret, struct cg_error *err)
{
	_cleanup_(cg_trace_data_freep) struct cg_trace_data *d = cg_trace_data_new();
	int r;

	if (!d)
		return cg_error_set(err, -ENOMEM, "out of memory");
	if ((r = t->ops->snapshot(t, d, err)) < 0)
		return r;
	for (unsigned i = 0; t->notify_both && i < CG_TRACE_NARCH * CG_TRACE_NR_MAX; i++) {
		uint64_t *c = d->counts[i / CG_TRACE_NR_MAX][i % CG_TRACE_NR_MAX];
		if (t->notify_both[i] && c[0] && !c[1])
			c[1] = 1; /* see notify_look */
	}
	d->phased = t->phased;
	d->serving = t->ops->serving(t);
	*ret = TAKE_PTR(d);
	return 0;
}

/* ---- the whole recording ------------------------------------------------------ */

static void event(struct cg_trace *t, enum cg_trace_event ev, int64_t ms)
{
	if (t->on_event)
		t->on_event(t, ev, ms < 0 ? 0 : (uint64_t)ms, t->userdata);
}

/* Wait until the workload ends, the time is up or a stop signal says so,
 * switching phases on the triggers on the way. */
static int record_loop(struct cg_trace *t, struct cg_trace_end *end, struct cg_error *err)
{
	const sigset_t *sigs = t->have_signals ? &t->signals : NULL;
	int64_t t0 = cg_trace_now_ms();
	int64_t stop_at = t->duration_ms ? t0 + (int64_t)t->duration_ms : 0;
	bool serving_seen = false, stopping = false;
	int stop_signals = 0;

	for (;;) {
		siginfo_t si;
		int64_t now;
		/* waiting for READY=1: look often, so that the switch comes soon
		 * after it (run's supervisor switches as soon as it reads it) */
		bool notify = t->notify_fd >= 0 && cg_trace_phase_now(t) == CG_TRACE_STARTUP;
		int r = cg_trace_wait(t, notify ? 1 : 200, sigs, &si, end, err);

		if (r < 0)
			return r;
		if (r == 1)
			break;
		now = cg_trace_now_ms();
		if (r == 2) {
			if (t->serve_signal && si.si_signo == t->serve_signal) {
				cg_trace_serve(t);
			} else if (!t->spawned) {
				break; /* --pid / --cgroup: stop recording, leave the workload alone */
			} else if (++stop_signals == 1) {
				/* from the terminal the program got it too (same process group) */
				if (si.si_code <= 0)
					cg_trace_kill(t, si.si_signo);
				stopping = true;
			} else {
				event(t, CG_TRACE_EV_KILLING, now - t0);
				cg_trace_kill(t, SIGKILL);
			}
		}
		if (t->serve_timer && (uint64_t)(now - t0) >= t->serve_after_ms)
			cg_trace_serve(t);
		if (notify)
			notify_look(t);
		if (t->serve_port && cg_trace_phase_now(t) == CG_TRACE_STARTUP && cg_trace_port_listening(t->serve_port))
			cg_trace_serve(t);
		if (stop_at && now >= stop_at && !stopping) {
			stopping = true;
			if (!t->spawned)
				break;
			cg_trace_kill(t, SIGTERM);
		}
		if (!serving_seen && cg_trace_phase_now(t) == CG_TRACE_SERVING) {
			serving_seen = true;
			event(t, CG_TRACE_EV_SERVING, now - t0);
		}
		event(t, CG_TRACE_EV_TICK, now - t0);
	}
	event(t, CG_TRACE_EV_DONE, cg_trace_now_ms() - t0);
	return 0;
}

int cg_trace_record(struct cg_trace *t, const struct cg_trace_closure_opts *copts, struct cg_strbuf *notes,
		    struct cg_trace_end *ret_end, struct cg_trace_data **ret_data, struct cg_closure **ret_closure,
		    struct cg_error *err)
{
	_cleanup_(cg_trace_data_freep) struct cg_trace_data *d = NULL;
	struct cg_trace_end end = { 0 };
	int r;

	if ((r = cg_trace_start(t, err)) < 0 || (r = record_loop(t, &end, err)) < 0 ||
	    (r = cg_trace_snapshot(t, &d, err)) < 0)
		return r;
	cg_trace_data_finish(d);
	/* A window is safe only for the children of a first process that
	 * handles no request itself and adopts no orphan (docs/PHASES.md). */
	if (t->worker_startup && d->spawner_accepts)
		return cg_error_set(err, -EPERM,
				    "--worker-startup: the program's first process (pid %d) accepted connections "
				    "while serving (%llu accept calls), so a process it forks may be serving requests "
				    "and must not get start-up calls: trace without start-up windows",
				    (int)t->pid, (unsigned long long)d->spawner_accepts);
	if (t->worker_startup && d->spawner_reaper)
		return cg_error_set(err, -EPERM,
				    "--worker-startup: the program's first process (pid %d) made itself a child "
				    "subreaper, so any orphan would become its child and get a start-up window: "
				    "trace without start-up windows",
				    (int)t->pid);
	if ((r = cg_trace_data_closure(d, copts, notes, ret_closure, err)) < 0)
		return r;
	if ((*ret_closure)->n_phases && t->worker_startup)
		(*ret_closure)->worker_startup = t->worker_startup;
	/* the closure says which trigger its phases were recorded with: run
	 * switches on the same one */
	if ((*ret_closure)->n_phases && t->serve_when[0] && !((*ret_closure)->serve_when = strdup(t->serve_when))) {
		cg_closure_free(*ret_closure);
		*ret_closure = NULL;
		return cg_error_set(err, -ENOMEM, "out of memory");
	}
	if (ret_end)
		*ret_end = end;
	if (ret_data)
		*ret_data = TAKE_PTR(d);
	return 0;
}
