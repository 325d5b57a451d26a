/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The dynamic closure: record every system call a workload really makes --
 * the whole process tree, per architecture, with counts, split into a
 * start-up and a serving phase -- and turn the record into a closure.
 *
 * Two recorders produce the same record (struct cg_trace_data):
 *   - eBPF (the default when root with BTF): a BTF raw tracepoint on
 *     sys_enter filtered in the kernel to the traced tree (a hash of tgids
 *     kept up to date on fork/exit) or to one cgroup; counters and value
 *     sets in maps, so nothing can be dropped -- a full map is counted and
 *     reported as possible loss;
 *   - ptrace (fallback, or on request): PTRACE_GET_SYSCALL_INFO at every
 *     syscall entry; much slower. Tracees are traced with
 *     PTRACE_O_EXITKILL: if capgate dies, the workload is killed rather
 *     than left stopped or traced.
 *
 * Counting starts at the workload's own exec: the child is created
 * blocked (BPF: reading a pipe, registered as "pending exec"; ptrace:
 * stopped), so nothing capgate does before the exec is recorded. The exec
 * itself is added to the closure (execve on the native arch), so the
 * recorded profile can start the program.
 *
 * Architectures are kept apart: i386 compat calls (TS_COMPAT set on the
 * task) and x32 calls (number with CG_X32_SYSCALL_BIT) are counted under
 * their own arch and number, never mixed into x86_64 numbers.
 *
 * This recorder is x86_64-only.
 */
#ifndef CAPGATE_TRACE_H
#define CAPGATE_TRACE_H

#include <capgate/closure.h>
#include <capgate/error.h>
#include <capgate/strbuf.h>
#include <signal.h>
#include <sys/types.h>

enum cg_trace_phase { CG_TRACE_STARTUP,
		      CG_TRACE_SERVING };

/* What a run recorded (opaque): both recorders fill the same record. */
struct cg_trace_data;

/* What a record says about itself, beside the calls it counted. */
struct cg_trace_data_info {
	bool phased;             /* a serving trigger was armed: phases are meaningful */
	bool serving;            /* the serving phase was reached */
	bool exec_seen;          /* the workload's exec was seen (spawn mode, from_exec) */
	uint64_t lost_tasks;     /* processes that could not be followed: the record may be incomplete */
	uint64_t lost_args;      /* argument values that could not be kept */
	uint64_t bad_nr;         /* calls with an impossible number (they fail with ENOSYS) */
	size_t n_values;         /* argument values kept (cg_trace_data_describe_args) */
	uint64_t window_calls;   /* calls counted in a start-up window while serving (worker_startup) */
	bool window_open_at_end; /* the recording ended inside a window: later calls of that process
				    were not seen in the serving phase */
};

/* Fill @ret from @d. */
CAPGATE_API void cg_trace_data_info(const struct cg_trace_data *d, struct cg_trace_data_info *ret);

/* Free a record (NULL is fine). */
CAPGATE_API void cg_trace_data_free(struct cg_trace_data *d);
static inline void cg_trace_data_freep(struct cg_trace_data **d) { cg_trace_data_free(*d); }
/* Number of calls and of distinct (arch, nr) pairs; per phase if
 * @phase >= 0. */
CAPGATE_API void cg_trace_data_totals(const struct cg_trace_data *d, int phase, uint64_t *ret_calls,
				      unsigned *ret_distinct);

struct cg_trace_closure_opts {
	size_t sz;          /* sizeof(struct cg_trace_closure_opts) */
	bool args;          /* turn value sets into OCI argument rules where OCI can express them */
	bool no_execve;     /* do not add the workload's own execve */
	const char *origin; /* provenance kept in each rule's comment ("trace") */
};

/* Build the closure of a record: one allow rule per (call, arch) -- or per
 * argument value with opts->args -- with its phases and count; default
 * action errno(EPERM); architectures = those seen plus the native one.
 * Where argument rules cannot express a value set (clone3's flags live in
 * a struct; a set that may be incomplete) the call stays unconditional and
 * a sentence is appended to @notes (may be NULL). */
CAPGATE_API int cg_trace_data_closure(const struct cg_trace_data *d, const struct cg_trace_closure_opts *opts,
				      struct cg_strbuf *notes, struct cg_closure **ret, struct cg_error *err);

/* Append the recorded value sets in words, one call per line (for people). */
CAPGATE_API void cg_trace_data_describe_args(const struct cg_trace_data *d, struct cg_strbuf *out);

/* ---- recording ------------------------------------------------------------ */

enum cg_trace_backend { CG_TRACE_AUTO,
			CG_TRACE_BPF,
			CG_TRACE_PTRACE };

struct cg_trace;

/* What cg_trace_record tells its caller while it runs (opts->on_event),
 * with the milliseconds since the workload was released. */
enum cg_trace_event {
	CG_TRACE_EV_TICK,    /* every round of the loop (about 5 a second): time for a progress line */
	CG_TRACE_EV_SERVING, /* the serving phase was reached (once) */
	CG_TRACE_EV_KILLING, /* a second stop signal: the program gets SIGKILL */
	CG_TRACE_EV_DONE,    /* recording has ended; the record is read next */
};

struct cg_trace_opts {
	size_t sz; /* sizeof(struct cg_trace_opts) */
	enum cg_trace_backend backend;
	/* Exactly one of: */
	char *const *argv;  /* spawn this program (PATH search) */
	pid_t pid;          /* attach to a running process and its descendants (BPF) */
	const char *cgroup; /* every process of a cgroup v2 directory (BPF) */
	char *const *envp;  /* for argv; NULL = environ */
	/* Triggers of the serving phase; any of them arms the phases. */
	const char *serve_after_syscall; /* first call of this name flips to serving, in the kernel */
	bool serve_timer;                /* serving starts serve_after_ms after the start */
	uint64_t serve_after_ms;
	unsigned serve_port;  /* serving starts once a TCP socket listens on this port */
	int serve_signal;     /* a signal of @signals that switches to serving (0 = none) */
	bool phased;          /* phases are meaningful even without a trigger */
	uint64_t duration_ms; /* cg_trace_record stops after this long (0 = no limit) */
	/* The signals cg_trace_record takes (blocked by the caller, NULL =
	 * none): serve_signal switches to serving; any other ends the
	 * recording -- in spawn mode the program gets it (unless it came from
	 * the terminal, which sent it already) and is waited for, a second one
	 * kills it; with --pid / --cgroup recording stops at once. */
	const sigset_t *signals;
	/* Called by cg_trace_record as it runs (may be NULL). */
	void (*on_event)(struct cg_trace *t, enum cg_trace_event ev, uint64_t ms, void *userdata);
	void *userdata;
	unsigned max_tasks;  /* size of the tasks map (0 = 32768) */
	unsigned max_values; /* size of the value-set map (0 = 8192) */
	/* With pid: counting starts at the process's next exec (and at the
	 * exec of each process it forks before), not at once -- an OCI hook's
	 * container, whose runtime start-up must not enter the closure.
	 * eBPF recorder only. */
	bool from_exec;
	/* Per-process start-up windows (docs/PHASES.md), seconds, 0 = none:
	 * while serving, a child of the program's first process is recorded
	 * in the start-up phase for its first worker_startup seconds; the
	 * closure keeps it ("workerStartup"). cg_trace_record refuses it
	 * (-EPERM) when the first process accepts connections while serving
	 * or adopts orphans (PR_SET_CHILD_SUBREAPER): its children must not
	 * then get start-up calls. eBPF recorder, spawn or pid mode only. */
	unsigned worker_startup;
	/* Serving starts when the program says READY=1 (sd_notify(3)) on the
	 * socket capgate names in its NOTIFY_SOCKET. Spawn mode only. */
	bool serve_notify;
};

struct cg_trace;

/* Prepare a recording: check the program exists (-ENOENT/-EACCES "cannot
 * execute"), load and attach the eBPF recorder (with AUTO, fall back to
 * ptrace when it cannot be loaded: cg_trace_fallback_reason says why), and
 * create the workload blocked before its exec. Nothing runs until
 * cg_trace_record. Call with the signals the caller waits for blocked;
 * SIGCHLD is blocked here (cg_trace_wait takes it synchronously). */
CAPGATE_API int cg_trace_new(const struct cg_trace_opts *opts, struct cg_trace **ret, struct cg_error *err);
/* Stop recording and free. A workload still running is left running and
 * untraced (BPF: the programs are detached; ptrace: a spawned program's
 * tracees are killed by PTRACE_O_EXITKILL when the tracer goes away -- wait
 * for them first; attached ones (--pid, --cgroup) are detached). */
CAPGATE_API void cg_trace_free(struct cg_trace *t);
static inline void cg_trace_freep(struct cg_trace **t) { cg_trace_free(*t); }

/* The recorder in use, and why AUTO fell back to ptrace (NULL if not). */
CAPGATE_API enum cg_trace_backend cg_trace_backend_used(const struct cg_trace *t);
CAPGATE_API const char *cg_trace_fallback_reason(const struct cg_trace *t);
/* The workload's pid (spawned or attached), 0 in cgroup mode. */
CAPGATE_API pid_t cg_trace_pid(const struct cg_trace *t);

/* How the recording ended. */
struct cg_trace_end {
	bool exited; /* every traced process has exited */
	int status;  /* wait status of the spawned program (spawn mode) */
	bool have_status;
	int exec_errno; /* the program's exec failed with this errno */
};

/* Current phase. */
CAPGATE_API enum cg_trace_phase cg_trace_phase_now(const struct cg_trace *t);

/* Snapshot of what has been recorded so far (cheap enough for a progress
 * line once or twice a second). */
CAPGATE_API int cg_trace_snapshot(struct cg_trace *t, struct cg_trace_data **ret, struct cg_error *err);

/* Run the whole recording of @t (after cg_trace_new): release the
 * workload, wait for it to end, for opts->duration_ms or for a stop signal,
 * flipping to the serving phase on the triggers of the options, then read
 * the record (finished) and build its closure (@copts, @notes as in
 * cg_trace_data_closure). @ret_end, @ret_data may be NULL. */
CAPGATE_API int cg_trace_record(struct cg_trace *t, const struct cg_trace_closure_opts *copts,
				struct cg_strbuf *notes, struct cg_trace_end *ret_end,
				struct cg_trace_data **ret_data, struct cg_closure **ret_closure,
				struct cg_error *err);

#endif
