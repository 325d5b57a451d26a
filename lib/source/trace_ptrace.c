// SPDX-License-Identifier: Apache-2.0
/*
 * The ptrace recorder: the fallback when eBPF cannot be used (not root, no
 * BTF) or when asked for. Same record as the eBPF recorder, much slower:
 * every system call of every tracee costs two stops.
 *
 * The workload is started with PTRACE_TRACEME and stopped before its exec;
 * counting starts at the exec event. Options: TRACESYSGOOD (syscall stops
 * are SIGTRAP|0x80), TRACEFORK/VFORK/CLONE (the whole tree), TRACEEXEC and
 * EXITKILL: if capgate dies, the tracees are killed rather than left
 * stopped or traced.
 *
 * A running workload (--pid, --cgroup) is attached with PTRACE_SEIZE and
 * PTRACE_INTERRUPT, thread by thread, without EXITKILL: it is not capgate's.
 * When recording ends every tracee is detached; if capgate dies, the kernel
 * detaches them and they run on. A process that joins a --cgroup from
 * outside the traced tree is seized when the cgroup is next scanned; what
 * it called before that is lost, and counted as lost (the run says it may
 * be incomplete).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>

#include "core/proc.h"
#include "source/trace_internal.h"
#include "source/trace_shared.h"

struct cg_ptrace {
	struct cg_trace_data *d; /* the record, filled here as the calls come */
	pid_t root;
	bool started; /* the root's exec was seen: counting */
	bool serving;
	bool root_done;
	bool exec_seen;
	bool attached;      /* seized running processes (--pid, --cgroup) */
	char *cgroup_procs; /* --cgroup: its cgroup.procs, scanned for newcomers */
	uint64_t late;      /* processes seized after they had already run */
	int exec_err_fd;
	const uint32_t *serve_nr; /* the generic recorder's, per arch slot */
	struct cg_trace_end end;
	pid_t *pids; /* tracees seen at least once (first SIGSTOP is the attach stop) */
	size_t n_pids, cap_pids;
};

static bool pid_known(const struct cg_ptrace *p, pid_t pid)
{
	for (size_t i = 0; i < p->n_pids; i++)
		if (p->pids[i] == pid)
			return true;
	return false;
}

static void pid_add(struct cg_ptrace *p, pid_t pid)
{
	if (p->n_pids == p->cap_pids) {
		size_t n = p->cap_pids ? p->cap_pids * 2 : 64;
		pid_t *v = realloc(p->pids, n * sizeof(*v));
		if (!v)
			return; /* worst case: a new tracee's attach SIGSTOP is delivered */
		p->pids = v;
		p->cap_pids = n;
	}
	p->pids[p->n_pids++] = pid;
}

static struct cg_ptrace *rec(const struct cg_trace *t) { return t->be; }

static void pid_del(struct cg_ptrace *p, pid_t pid)
{
	for (size_t i = 0; i < p->n_pids; i++)
		if (p->pids[i] == pid) {
			p->pids[i] = p->pids[--p->n_pids];
			return;
		}
}

static int spawn(struct cg_ptrace *p, const char *path, char *const argv[], char *const envp[],
		 struct cg_error *err)
{
	int ex[2], st, e;
	pid_t pid;

	if (pipe2(ex, O_CLOEXEC) < 0)
		return cg_error_set(err, -errno, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0) {
		e = errno;
		close(ex[0]);
		close(ex[1]);
		return cg_error_set(err, -e, "fork: %s", strerror(e));
	}
	if (pid == 0) {
		sigset_t none;
		close(ex[0]);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0) {
			e = errno;
			if (write(ex[1], &e, sizeof(e)) < 0)
				_exit(125);
			_exit(125);
		}
		raise(SIGSTOP);
		cg_exec_or_report(path, argv, envp, ex[1]);
	}
	close(ex[1]);
	if (waitpid(pid, &st, __WALL) != pid || !WIFSTOPPED(st)) {
		int r = 0;
		if (read(ex[0], &e, sizeof(e)) == sizeof(e))
			r = e;
		close(ex[0]);
		return cg_error_set(err, -(r ? r : ECHILD), "cannot ptrace the workload: %s",
				    r ? strerror(r) : "it did not stop");
	}
	if (ptrace(PTRACE_SETOPTIONS, pid, NULL,
		   (void *)(long)(PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
				  PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL)) < 0) {
		e = errno;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, __WALL);
		close(ex[0]);
		return cg_error_set(err, -e, "PTRACE_SETOPTIONS: %s", strerror(e));
	}
	p->exec_err_fd = ex[0];
	p->root = pid;
	pid_add(p, pid);
	return 0;
}

#define ATTACH_OPTIONS                                                                            \
	(PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE | \
	 PTRACE_O_TRACEEXEC)

/* Seize every thread of process @pid not seized yet; again until a pass
 * finds no new thread (one may be created by a thread not seized yet).
 * Returns how many were seized, or -errno if none could be. */
static int seize_process(struct cg_ptrace *p, pid_t pid)
{
	char path[64];
	int total = 0, r = -ESRCH;
	bool again = true;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	while (again) {
		DIR *dir = opendir(path);
		struct dirent *de;
		again = false;
		if (!dir)
			return total ? total : -errno;
		while ((de = readdir(dir))) {
			char *end;
			pid_t tid = (pid_t)strtol(de->d_name, &end, 10);
			if (*end || tid <= 0 || pid_known(p, tid))
				continue;
			if (ptrace(PTRACE_SEIZE, tid, NULL, (void *)(long)ATTACH_OPTIONS) < 0) {
				if (errno != ESRCH)
					r = -errno;
				continue;
			}
			ptrace(PTRACE_INTERRUPT, tid, NULL, NULL);
			pid_add(p, tid);
			total++;
			again = true;
		}
		closedir(dir);
	}
	return total ? total : r;
}

/* Is @pid already traced by us (an auto-attached child whose first stop
 * has not been reaped yet counts too)? One that is gone needs no seizing. */
static bool traced_by_us(pid_t pid)
{
	long tracer;
	return cg_proc_status(pid, "TracerPid", &tracer) < 0 || tracer == getpid();
}

/* Seize the processes of the cgroup that are not traced yet. @first: the
 * initial scan (nothing is late then). */
static int scan_cgroup(struct cg_ptrace *p, bool first)
{
	FILE *f = fopen(p->cgroup_procs, "re");
	int pid, seized = 0, r = 0;

	if (!f)
		return -errno;
	while (fscanf(f, "%d", &pid) == 1) {
		if (pid <= 0 || pid_known(p, pid) || traced_by_us(pid))
			continue;
		int n = seize_process(p, pid);
		if (n > 0) {
			seized++;
			if (!first)
				p->late++;
		} else if (n != -ESRCH) {
			r = n;
		}
	}
	fclose(f);
	return seized ? seized : r;
}

/* Attach to running processes (--pid: @pid and its descendants; --cgroup:
 * every process in @cgroup_dir, which is watched for newcomers). The
 * workload is not capgate's: no EXITKILL, and ptrace_free detaches. */
static int attach(struct cg_ptrace *p, pid_t pid, const char *cgroup_dir, struct cg_error *err)
{
	int r;

	p->attached = true;
	p->started = true; /* running already: counting starts now */
	if (cgroup_dir) {
		if (asprintf(&p->cgroup_procs, "%s/cgroup.procs", cgroup_dir) < 0) {
			p->cgroup_procs = NULL;
			return cg_error_set(err, -ENOMEM, "out of memory");
		}
		r = scan_cgroup(p, true);
		if (r < 0)
			return cg_error_set(err, r, "cannot ptrace the processes of %s: %s", cgroup_dir, strerror(-r));
	} else {
		pid_t *kids = NULL;
		size_t n = 0;
		p->root = pid;
		r = seize_process(p, pid);
		if (r < 0)
			return cg_error_set(err, r, "cannot ptrace pid %d: %s", (int)pid, strerror(-r));
		if ((r = cg_proc_descendants(pid, &kids, &n)) < 0)
			return cg_error_set(err, r, "cannot list the children of pid %d: %s", (int)pid, strerror(-r));
		for (size_t i = 0; i < n; i++)
			if (!traced_by_us(kids[i]))
				seize_process(p, kids[i]); /* one that just exited is no loss */
		free(kids);
	}
	return 0;
}

static int ptrace_load(struct cg_trace *t, const struct cg_trace_setup *s, struct cg_error *err)
{
	struct cg_ptrace *p = calloc(1, sizeof(*p));

	if (!p || !(p->d = cg_trace_data_new())) {
		free(p);
		return cg_error_set(err, -ENOMEM, "out of memory");
	}
	p->serve_nr = t->serve_nr;
	p->exec_err_fd = -1;
	t->be = p;
	return 0;
}

static int ptrace_prepare(struct cg_trace *t, const struct cg_trace_setup *s, struct cg_error *err)
{
	const struct cg_trace_opts *o = s->opts;
	struct cg_ptrace *p = rec(t);
	int r;

	if (o->argv)
		r = spawn(p, s->path, o->argv, o->envp, err);
	else
		r = attach(p, o->pid, o->cgroup, err);
	t->pid = p->root;
	return r;
}

static int ptrace_start(struct cg_trace *t, struct cg_error *err)
{
	struct cg_ptrace *p = rec(t);

	if (p->attached)
		return 0; /* each tracee is resumed at its first (interrupt) stop */
	if (ptrace(PTRACE_SYSCALL, p->root, NULL, NULL) < 0)
		return cg_error_set(err, -errno, "PTRACE_SYSCALL: %s", strerror(errno));
	return 0;
}

static void on_syscall(struct cg_ptrace *p, pid_t pid)
{
	struct cg_trace_data *d = p->d;
	struct __ptrace_syscall_info info;
	uint64_t args[6];
	unsigned slot;
	uint64_t nr;
	const char *name;
	int kind;

	memset(&info, 0, sizeof(info));
	if (ptrace(PTRACE_GET_SYSCALL_INFO, pid, (void *)sizeof(info), &info) <= 0)
		return;
	if (info.op != PTRACE_SYSCALL_INFO_ENTRY || !p->started)
		return;
	nr = info.entry.nr;
	if (info.arch == AUDIT_ARCH_I386) {
		slot = 1;
	} else if (nr & CG_X32_SYSCALL_BIT) {
		slot = 2;
		nr &= ~(uint64_t)CG_X32_SYSCALL_BIT;
	} else {
		slot = 0;
	}
	if (nr >= CG_TRACE_NR_MAX) {
		d->bad_nr++;
		return;
	}
	if (!p->serving && nr == p->serve_nr[slot])
		p->serving = true;
	for (int i = 0; i < 6; i++)
		args[i] = info.entry.args[i];
	name = cg_syscall_name(cg_trace_slot_arch(slot), slot == 2 ? (uint32_t)nr | CG_X32_SYSCALL_BIT : (uint32_t)nr);
	kind = cg_trace_argkind(cg_trace_slot_arch(slot), name);
	if (kind == CGT_ARG_CLONE3) {
		errno = 0;
		long flags = ptrace(PTRACE_PEEKDATA, pid, (void *)args[0], NULL);
		args[0] = errno ? ~0ull : (uint64_t)flags;
	}
	cg_trace_data_add(d, slot, (uint32_t)nr, p->serving ? 1 : 0, args,
			  kind >= CGT_ARG_SIG_A1 && kind <= CGT_ARG_SIG_PIDFD ? cg_proc_tgid(pid) : pid);
}

static void on_exit_of(struct cg_ptrace *p, pid_t pid, int st)
{
	pid_del(p, pid);
	if (pid != p->root)
		return;
	p->root_done = true;
	p->end.status = st;
	p->end.have_status = true;
	if (p->exec_err_fd >= 0) {
		int e;
		if (read(p->exec_err_fd, &e, sizeof(e)) == sizeof(e))
			p->end.exec_errno = e;
		close(p->exec_err_fd);
		p->exec_err_fd = -1;
	}
}

static void on_stop(struct cg_ptrace *p, pid_t pid, int st)
{
	int sig = WSTOPSIG(st), event = st >> 16, inject = 0;
	bool first = !pid_known(p, pid);

	if (first)
		pid_add(p, pid);
	if (event == PTRACE_EVENT_STOP && sig != SIGTRAP) {
		/* a group-stop of a seized tracee: it stays stopped until SIGCONT */
		ptrace(PTRACE_LISTEN, pid, NULL, NULL);
		return;
	}
	if (sig == (SIGTRAP | 0x80)) {
		on_syscall(p, pid);
	} else if (sig == SIGTRAP && event) {
		if (event == PTRACE_EVENT_EXEC && !p->started) {
			p->started = true;
			p->d->exec_seen = true;
			if (p->exec_err_fd >= 0) {
				close(p->exec_err_fd);
				p->exec_err_fd = -1;
			}
		}
	} else if (first && sig == SIGSTOP) {
		/* the stop every auto-attached tracee starts with */
	} else {
		siginfo_t si;
		/* a group-stop (no siginfo) is resumed; a real signal is delivered */
		if (ptrace(PTRACE_GETSIGINFO, pid, NULL, &si) == 0)
			inject = sig;
	}
	ptrace(PTRACE_SYSCALL, pid, NULL, (void *)(long)inject);
}

static int ptrace_wait(struct cg_trace *t, int timeout_ms, const sigset_t *sigs, siginfo_t *ret_si,
		       struct cg_trace_end *ret_end, struct cg_error *err)
{
	struct cg_ptrace *p = rec(t);
	struct timespec start, now;
	sigset_t set;

	cg_trace_wait_signals(sigs, &set);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct timespec ts;
		siginfo_t si;
		long left;
		int s;

		for (;;) {
			int st;
			pid_t pid = waitpid(-1, &st, __WALL | WNOHANG);
			if (pid == 0)
				break;
			if (pid < 0) {
				if (errno == EINTR)
					continue;
				if (errno != ECHILD)
					return cg_error_set(err, -errno, "waitpid: %s", strerror(errno));
				if (p->cgroup_procs && scan_cgroup(p, false) > 0)
					continue; /* the cgroup got new processes */
				/* nothing left to wait for: the whole tree has exited */
				p->end.exited = true;
				if (ret_end)
					*ret_end = p->end;
				return 1;
			}
			if (WIFEXITED(st) || WIFSIGNALED(st))
				on_exit_of(p, pid, st);
			else if (WIFSTOPPED(st))
				on_stop(p, pid, st);
		}
		if (p->cgroup_procs)
			scan_cgroup(p, false);
		p->d->lost_tasks = p->late;
		clock_gettime(CLOCK_MONOTONIC, &now);
		left = timeout_ms - ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
		if (left <= 0)
			return 0;
		ts.tv_sec = left / 1000;
		ts.tv_nsec = (left % 1000) * 1000000;
		s = sigtimedwait(&set, &si, &ts);
		if (s > 0 && s != SIGCHLD && sigs && sigismember(sigs, s)) {
			if (ret_si)
				*ret_si = si;
			return 2;
		}
	}
}

static int ptrace_kill(struct cg_trace *t, int sig)
{
	struct cg_ptrace *p = rec(t);

	if (p->attached)
		return -ESRCH; /* not capgate's to signal (as with the eBPF recorder) */
	if (!p->root_done)
		return kill(p->root, sig) < 0 ? -errno : 0;
	for (size_t i = 0; i < p->n_pids; i++)
		kill(p->pids[i], sig);
	return p->n_pids ? 0 : -ESRCH;
}

static void ptrace_serve(struct cg_trace *t) { rec(t)->serving = true; }
static bool ptrace_serving(const struct cg_trace *t) { return rec(t)->serving; }

static int ptrace_snapshot(struct cg_trace *t, struct cg_trace_data *d, struct cg_error *err)
{
	const struct cg_trace_data *src = rec(t)->d;

	*d = *src;
	d->vals = NULL;
	if (src->n_vals) {
		if (!(d->vals = malloc(src->n_vals * sizeof(*d->vals)))) {
			d->n_vals = 0;
			return cg_error_set(err, -ENOMEM, "out of memory");
		}
		memcpy(d->vals, src->vals, src->n_vals * sizeof(*d->vals));
	}
	return 0;
}

/* Stop every tracee and let it go, delivering a signal it was stopped
 * for. Bounded: a tracee that does not stop within ~2 s is left to the
 * kernel, which detaches it when capgate exits. */
static void detach_all(struct cg_ptrace *p)
{
	for (size_t i = 0; i < p->n_pids; i++)
		ptrace(PTRACE_INTERRUPT, p->pids[i], NULL, NULL);
	for (size_t i = 0; i < p->n_pids; i++) {
		pid_t tid = p->pids[i];
		for (int tries = 0; tries < 200; tries++) {
			int st, sig = 0;
			siginfo_t si;
			pid_t w = waitpid(tid, &st, __WALL | WNOHANG);
			if (w < 0 || (w == tid && !WIFSTOPPED(st)))
				break; /* gone */
			if (w == 0) {
				struct timespec ts = { 0, 10 * 1000 * 1000 };
				nanosleep(&ts, NULL);
				continue;
			}
			if (WSTOPSIG(st) != (SIGTRAP | 0x80) && !(st >> 16) &&
			    ptrace(PTRACE_GETSIGINFO, tid, NULL, &si) == 0)
				sig = WSTOPSIG(st);
			ptrace(PTRACE_DETACH, tid, NULL, (void *)(long)sig);
			break;
		}
	}
}

static void ptrace_free(struct cg_trace *t)
{
	struct cg_ptrace *p = rec(t);

	if (!p)
		return;
	if (!p->started && !p->root_done && p->root > 0) {
		/* never released: it is stopped before its exec */
		kill(p->root, SIGKILL);
		waitpid(p->root, NULL, __WALL);
	}
	if (p->attached)
		detach_all(p);
	if (p->exec_err_fd >= 0)
		close(p->exec_err_fd);
	free(p->cgroup_procs);
	free(p->pids);
	cg_trace_data_free(p->d);
	free(p);
	t->be = NULL;
}

const struct cg_trace_ops cg_trace_ptrace_ops = {
	.id = CG_TRACE_PTRACE,
	.load = ptrace_load,
	.prepare = ptrace_prepare,
	.start = ptrace_start,
	.wait = ptrace_wait,
	.kill = ptrace_kill,
	.serve = ptrace_serve,
	.serving = ptrace_serving,
	.snapshot = ptrace_snapshot,
	.free = ptrace_free,
};
