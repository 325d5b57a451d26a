// SPDX-License-Identifier: Apache-2.0
/*
 * The eBPF recorder: the loader of trace.bpf.c through its libbpf skeleton
 * (open, set rodata, size maps, load, fill the argument map, attach), and
 * the userspace side of a recording. All counting happens in the kernel, in
 * per-CPU counters and a hash of value sets; here we only register the
 * workload's tgids, release it, notice when it has ended and read the maps.
 *
 * The workload is forked blocked on a pipe and registered as "pending
 * exec" before it is released, so counting starts exactly at its exec.
 * The end of a tree is seen by polling (the tasks map empties; a cgroup's
 * "populated" goes to 0): no event tells us.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/error_internal.h"
#include "core/proc.h"
#include "source/trace_internal.h"
#include "source/trace_shared.h"
#include "trace.skel.h"

_Static_assert(CG_TRACE_NARCH == CGT_NARCH && CG_TRACE_NR_MAX == CGT_NR_MAX && CG_TRACE_NPHASE == CGT_NPHASE,
	       "trace.h and trace_shared.h disagree");

struct bpf_rec {
	struct trace_bpf *skel;
	int mode;       /* CGT_MODE_* */
	bool root_done; /* the spawned program has been reaped */
	int release_fd, exec_err_fd, pidfd;
	char *cgroup_events;
	bool cgroup_was_populated;
	struct cg_trace_end end;
};

static struct bpf_rec *rec(const struct cg_trace *t) { return t->be; }

/* libbpf hands us its own format strings. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void libbpf_to_log(const char *fmt, va_list ap, char *buf, size_t n)
{
	vsnprintf(buf, n, fmt, ap);
#pragma GCC diagnostic pop
	size_t l = strlen(buf);
	while (l && buf[l - 1] == '\n')
		buf[--l] = 0;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char buf[512];
	libbpf_to_log(fmt, ap, buf, sizeof(buf));
	cg_log(CG_LOG_DEBUG, "libbpf%s: %s", level == LIBBPF_WARN ? " warning" : "", buf);
	return 0;
}

static int bpf_fail(struct cg_error *err, int r, const char *what)
{
	if (r == -EPERM || r == -EACCES)
		return cg_error_set(err, -EPERM, "%s: permission denied (eBPF recording needs root: CAP_BPF and "
						 "CAP_PERFMON)",
				    what);
	return cg_error_set(err, r, "%s: %s", what, strerror(-r));
}

static int bpf_setup(struct cg_trace *t, struct bpf_rec *b, const struct cg_trace_setup *s, struct cg_error *err)
{
	const struct cg_trace_opts *o = s->opts;
	struct trace_bpf *skel;
	int r;

	if (access("/sys/kernel/btf/vmlinux", R_OK) < 0)
		return cg_error_set(err, -EOPNOTSUPP, "the kernel has no BTF (/sys/kernel/btf/vmlinux): the eBPF "
						      "recorder cannot be loaded");
	libbpf_set_print(libbpf_print);
	skel = trace_bpf__open();
	if (!skel)
		return bpf_fail(err, -errno, "cannot open the eBPF recorder");
	b->skel = skel;
	skel->rodata->mode = (uint32_t)b->mode;
	skel->rodata->cgroup_id = s->cgroup_id;
	for (unsigned i = 0; i < CG_TRACE_NARCH; i++)
		skel->rodata->serve_nr[i] = t->serve_nr[i];
	skel->rodata->window_ns = (uint64_t)o->worker_startup * 1000000000ull;
	for (unsigned i = 0; i < CG_TRACE_NARCH; i++) {
		enum cg_arch_id a = cg_trace_slot_arch(i);
		int n0 = cg_syscall_nr(a, "accept"), n1 = cg_syscall_nr(a, "accept4"), np = cg_syscall_nr(a, "prctl");
		skel->rodata->accept_nr[i][0] = n0 >= 0 ? (uint32_t)n0 & ~CG_X32_SYSCALL_BIT : UINT32_MAX;
		skel->rodata->accept_nr[i][1] = n1 >= 0 ? (uint32_t)n1 & ~CG_X32_SYSCALL_BIT : UINT32_MAX;
		skel->rodata->prctl_nr[i] = np >= 0 ? (uint32_t)np & ~CG_X32_SYSCALL_BIT : UINT32_MAX;
	}
	if ((r = bpf_map__set_max_entries(skel->maps.tasks, o->max_tasks ? o->max_tasks : 32768)) < 0 ||
	    (r = bpf_map__set_max_entries(skel->maps.argvals, o->max_values ? o->max_values : 8192)) < 0)
		return bpf_fail(err, r, "cannot size the eBPF maps");
	if ((r = trace_bpf__load(skel)) < 0)
		return bpf_fail(err, r, "cannot load the eBPF recorder");
	for (unsigned i = 0; i < CG_TRACE_NARCH; i++)
		for (uint32_t nr = 0; nr < CG_TRACE_NR_MAX; nr++) {
			uint8_t kind = (uint8_t)cg_trace_argkind(cg_trace_slot_arch(i), cg_trace_slot_name(i, nr));
			uint32_t idx = i * CG_TRACE_NR_MAX + nr;
			if (kind && (r = bpf_map__update_elem(skel->maps.argkind, &idx, sizeof(idx), &kind,
							      sizeof(kind), BPF_ANY)) < 0)
				return bpf_fail(err, r, "cannot fill the argument map");
		}
	if ((r = trace_bpf__attach(skel)) < 0)
		return bpf_fail(err, r, "cannot attach the eBPF recorder");
	return 0;
}

static void rec_free(struct bpf_rec *b)
{
	if (!b)
		return;
	trace_bpf__destroy(b->skel);
	free(b->cgroup_events);
	free(b);
}

static int bpf_load(struct cg_trace *t, const struct cg_trace_setup *s, struct cg_error *err)
{
	struct bpf_rec *b = calloc(1, sizeof(*b));
	int r;

	if (!b)
		return cg_error_set(err, -ENOMEM, "out of memory");
	b->release_fd = b->exec_err_fd = b->pidfd = -1;
	b->mode = s->opts->cgroup ? CGT_MODE_CGROUP : CGT_MODE_TREE;
	if (s->opts->cgroup && asprintf(&b->cgroup_events, "%s/cgroup.events", s->opts->cgroup) < 0) {
		b->cgroup_events = NULL;
		rec_free(b);
		return cg_error_set(err, -ENOMEM, "out of memory");
	}
	if ((r = bpf_setup(t, b, s, err)) < 0) {
		rec_free(b);
		return r;
	}
	t->be = b;
	return 0;
}

static int task_add(struct bpf_rec *b, pid_t pid, uint8_t state)
{
	uint32_t k = (uint32_t)pid;
	int r = bpf_map__update_elem(b->skel->maps.tasks, &k, sizeof(k), &state, sizeof(state), BPF_ANY);
	/* After the map: tasks that cached their state under the old
	 * generation read it again (see tcache in trace.bpf.c). */
	__atomic_fetch_add(&b->skel->bss->gen, 1, __ATOMIC_SEQ_CST);
	return r;
}

/* Register every descendant of @pid in @state (later forks are seen by
 * the sched_process_fork program, which is attached before). */
static int add_descendants(struct bpf_rec *b, pid_t pid, uint8_t state)
{
	pid_t *v;
	size_t n;
	int r = cg_proc_descendants(pid, &v, &n);

	if (r < 0)
		return r;
	for (size_t i = 0; r == 0 && i < n; i++)
		r = task_add(b, v[i], state);
	free(v);
	return r;
}

static int spawn_blocked(struct cg_trace *t, struct bpf_rec *b, const char *path, char *const argv[],
			 char *const envp[], struct cg_error *err)
{
	int rel[2], ex[2];
	pid_t pid;

	if (pipe2(rel, O_CLOEXEC) < 0)
		return cg_error_set(err, -errno, "pipe: %s", strerror(errno));
	if (pipe2(ex, O_CLOEXEC) < 0) {
		int e = errno;
		close(rel[0]);
		close(rel[1]);
		return cg_error_set(err, -e, "pipe: %s", strerror(e));
	}
	pid = fork();
	if (pid < 0) {
		int e = errno;
		close(rel[0]), close(rel[1]), close(ex[0]), close(ex[1]);
		return cg_error_set(err, -e, "fork: %s", strerror(e));
	}
	if (pid == 0) {
		sigset_t none;
		char c;
		close(rel[1]);
		close(ex[0]);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* blocked until capgate has registered us as "pending exec" */
		if (read(rel[0], &c, 1) != 1)
			_exit(125); /* capgate went away */
		cg_exec_or_report(path, argv, envp, ex[1]);
	}
	close(rel[0]);
	close(ex[1]);
	t->pid = pid;
	b->release_fd = rel[1];
	b->exec_err_fd = ex[0];
	return 0;
}

static int bpf_prepare(struct cg_trace *t, const struct cg_trace_setup *s, struct cg_error *err)
{
	const struct cg_trace_opts *o = s->opts;
	struct bpf_rec *b = rec(t);
	int r;

	if (o->argv) {
		if ((r = spawn_blocked(t, b, s->path, o->argv, o->envp, err)) < 0)
			return r;
		if ((r = task_add(b, t->pid, CGT_TASK_PENDING)) < 0)
			return cg_error_set(err, r, "cannot register the workload: %s", strerror(-r));
		b->skel->bss->spawner = (uint32_t)t->pid; /* the start-up windows' spawner */
	} else if (o->pid > 0) {
		t->pid = o->pid;
		b->pidfd = (int)syscall(SYS_pidfd_open, o->pid, 0);
		uint8_t st = o->from_exec ? CGT_TASK_PENDING : CGT_TASK_TRACED;
		if ((r = task_add(b, t->pid, st)) < 0 || (r = add_descendants(b, t->pid, st)) < 0)
			return cg_error_set(err, r, "cannot register pid %d: %s", (int)o->pid, strerror(-r));
		b->skel->bss->spawner = (uint32_t)t->pid;
	}
	return 0;
}

static void bpf_free(struct cg_trace *t)
{
	struct bpf_rec *b = rec(t);

	if (!b)
		return;
	if (b->release_fd >= 0)
		close(b->release_fd); /* a child never released reads EOF and exits */
	if (b->exec_err_fd >= 0)
		close(b->exec_err_fd);
	if (b->pidfd >= 0)
		close(b->pidfd);
	if (t->spawned && !t->started && t->pid > 0)
		waitpid(t->pid, NULL, 0);
	rec_free(b);
	t->be = NULL;
}

static int bpf_start(struct cg_trace *t, struct cg_error *err)
{
	struct bpf_rec *b = rec(t);
	int e = 0;
	ssize_t n;

	if (b->release_fd < 0)
		return 0;
	if (write(b->release_fd, "x", 1) != 1)
		return cg_error_set(err, -errno, "cannot release the workload: %s", strerror(errno));
	close(b->release_fd);
	b->release_fd = -1;
	/* EOF: the exec succeeded (close-on-exec); else its errno */
	do
		n = read(b->exec_err_fd, &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(b->exec_err_fd);
	b->exec_err_fd = -1;
	if (n == sizeof(e))
		b->end.exec_errno = e;
	return 0;
}

static bool tasks_empty(struct bpf_rec *b)
{
	uint32_t k;
	return bpf_map__get_next_key(b->skel->maps.tasks, NULL, &k, sizeof(k)) < 0;
}

static int cgroup_populated(const char *events)
{
	FILE *f = fopen(events, "re");
	char line[128];
	int pop = -1;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "populated %d", &pop) == 1)
			break;
	fclose(f);
	return pop;
}

/* Has the workload ended? */
static bool bpf_ended(struct cg_trace *t, struct bpf_rec *b)
{
	if (t->spawned && !b->root_done) {
		int st;
		pid_t r = waitpid(t->pid, &st, WNOHANG);
		if (r == t->pid || (r < 0 && errno == ECHILD)) {
			b->root_done = true;
			if (r == t->pid) {
				b->end.status = st;
				b->end.have_status = true;
			}
		}
	}
	if (b->mode == CGT_MODE_CGROUP) {
		int pop = cgroup_populated(b->cgroup_events);
		if (pop > 0)
			b->cgroup_was_populated = true;
		return pop < 0 || (pop == 0 && b->cgroup_was_populated);
	}
	if (t->spawned && !b->root_done)
		return false;
	return tasks_empty(b);
}

static int bpf_wait(struct cg_trace *t, int timeout_ms, const sigset_t *sigs, siginfo_t *ret_si,
		    struct cg_trace_end *ret_end, struct cg_error *err)
{
	int64_t deadline = cg_trace_now_ms() + (timeout_ms < 0 ? 0 : timeout_ms);
	struct bpf_rec *b = rec(t);
	sigset_t set;

	cg_trace_wait_signals(sigs, &set);
	for (;;) {
		int64_t left;
		struct timespec ts;
		siginfo_t si;
		int s;

		if (bpf_ended(t, b)) {
			b->end.exited = true;
			if (ret_end)
				*ret_end = b->end;
			return 1;
		}
		left = deadline - cg_trace_now_ms();
		if (left <= 0)
			return 0;
		if (left > 100)
			left = 100; /* re-check the tasks map / cgroup: no event tells us */
		ts.tv_sec = left / 1000;
		ts.tv_nsec = (left % 1000) * 1000000;
		s = sigtimedwait(&set, &si, &ts);
		if (s < 0 && errno != EAGAIN && errno != EINTR)
			return cg_error_set(err, -errno, "sigtimedwait: %s", strerror(errno));
		if (s > 0 && s != SIGCHLD && sigs && sigismember(sigs, s)) {
			if (ret_si)
				*ret_si = si;
			return 2;
		}
	}
}

static int bpf_kill(struct cg_trace *t, int sig)
{
	if (!t->spawned || rec(t)->root_done)
		return -ESRCH;
	return kill(t->pid, sig) < 0 ? -errno : 0;
}

static void bpf_serve(struct cg_trace *t)
{
	__atomic_store_n(&rec(t)->skel->bss->serving, 1, __ATOMIC_RELAXED);
}

static bool bpf_serving(const struct cg_trace *t)
{
	return __atomic_load_n(&rec(t)->skel->bss->serving, __ATOMIC_RELAXED) != 0;
}

static int bpf_snapshot(struct cg_trace *t, struct cg_trace_data *d, struct cg_error *err)
{
	struct trace_bpf *skel = rec(t)->skel;
	int ncpu = libbpf_num_possible_cpus();
	_cleanup_free_ uint64_t *per = NULL;
	struct cgt_argkey key, next;
	bool first = true;

	if (ncpu <= 0 || !(per = calloc((size_t)ncpu, sizeof(*per))))
		return cg_error_set(err, -ENOMEM, "out of memory");
	for (uint32_t i = 0; i < CGT_SLOTS; i++) {
		uint64_t sum = 0;
		int r = bpf_map__lookup_elem(skel->maps.counts, &i, sizeof(i), per, (size_t)ncpu * sizeof(*per), 0);
		if (r < 0)
			return cg_error_set(err, r, "cannot read the counters: %s", strerror(-r));
		for (int c = 0; c < ncpu; c++)
			sum += per[c];
		if (sum) {
			unsigned nr = i % CGT_NR_MAX, arch = (i / CGT_NR_MAX) % CGT_NARCH, ph = i / (CGT_NR_MAX * CGT_NARCH);
			d->counts[arch][nr][ph] = sum;
		}
	}
	while (bpf_map__get_next_key(skel->maps.argvals, first ? NULL : &key, &next, sizeof(next)) == 0) {
		uint64_t cnt;
		first = false;
		key = next;
		if (bpf_map__lookup_elem(skel->maps.argvals, &key, sizeof(key), &cnt, sizeof(cnt), 0) < 0)
			continue;
		unsigned nr = key.slot % CGT_NR_MAX, arch = (key.slot / CGT_NR_MAX) % CGT_NARCH,
			 ph = key.slot / (CGT_NR_MAX * CGT_NARCH);
		struct cg_trace_argval v = { (uint8_t)arch, (uint8_t)ph, (uint16_t)nr, key.value, cnt };
		if (cg_trace_data_add_value(d, &v) < 0)
			return cg_error_set(err, -ENOMEM, "out of memory");
	}
	d->exec_seen = (t->spawned || t->from_exec) && skel->bss->execs > 0;
	d->lost_tasks = skel->bss->lost_tasks;
	d->lost_args = skel->bss->lost_args;
	d->bad_nr = skel->bss->bad_nr;
	d->spawner_accepts = skel->bss->spawner_accepts;
	d->spawner_reaper = skel->bss->spawner_reaper;
	d->window_calls = skel->bss->window_calls;
	struct timespec now;
	clock_gettime(CLOCK_BOOTTIME, &now);
	uint64_t now_ns = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
	d->window_open_at_end = skel->bss->window_last > now_ns;
	return 0;
}

/* The start-up counters in one batch lookup (the sd-notify trigger looks
 * every millisecond; a lookup per slot would take longer than that). */
static int bpf_startup_counts(struct cg_trace *t, struct cg_trace_data *d)
{
	struct trace_bpf *skel = rec(t)->skel;
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(skel->maps.counts);
	uint32_t n = CGT_NR_MAX * CGT_NARCH, out = 0;
	_cleanup_free_ uint32_t *keys = NULL;
	_cleanup_free_ uint64_t *vals = NULL;
	LIBBPF_OPTS(bpf_map_batch_opts, o);

	if (ncpu <= 0 || !(keys = calloc(n, sizeof(*keys))) || !(vals = calloc((size_t)n * (size_t)ncpu, sizeof(*vals))))
		return -ENOMEM;
	/* phase 0 (start-up) is the first CGT_NR_MAX * CGT_NARCH slots */
	if (bpf_map_lookup_batch(fd, NULL, &out, keys, vals, &n, &o) < 0 && errno != ENOENT)
		return -errno;
	for (uint32_t k = 0; k < n; k++) {
		uint64_t sum = 0;
		if (keys[k] >= CGT_NR_MAX * CGT_NARCH)
			continue;
		for (int c = 0; c < ncpu; c++)
			sum += vals[(size_t)k * (size_t)ncpu + (size_t)c];
		d->counts[(keys[k] / CGT_NR_MAX) % CGT_NARCH][keys[k] % CGT_NR_MAX][0] = sum;
	}
	return 0;
}

const struct cg_trace_ops cg_trace_bpf_ops = {
	.id = CG_TRACE_BPF,
	.load = bpf_load,
	.prepare = bpf_prepare,
	.start = bpf_start,
	.wait = bpf_wait,
	.kill = bpf_kill,
	.serve = bpf_serve,
	.serving = bpf_serving,
	.snapshot = bpf_snapshot,
	.startup_counts = bpf_startup_counts,
	.free = bpf_free,
};
