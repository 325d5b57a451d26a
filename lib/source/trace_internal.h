/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal to the trace recorder: the generic recorder (trace.c) drives one
 * of two backends, eBPF (trace_bpf.c) or ptrace (trace_ptrace.c), through a
 * table of operations chosen once in cg_trace_new, so that the generic code
 * never asks which one it has. Both fill the record of trace_data.c.
 */
#ifndef CAPGATE_TRACE_INTERNAL_H
#define CAPGATE_TRACE_INTERNAL_H

#include <capgate/trace.h>
#include <stdint.h>
#include <time.h>

/* ---- the record (trace_data.c) ---------------------------------------- */

#define CG_TRACE_NARCH 3     /* slots: 0 x86_64, 1 i386, 2 x32 */
#define CG_TRACE_NR_MAX 1024 /* numbers per arch (x32 bit stripped) */
#define CG_TRACE_NPHASE 2

/* The architecture of a slot (CG_ARCH_X86_64, CG_ARCH_X86, CG_ARCH_X32). */
enum cg_arch_id cg_trace_slot_arch(unsigned slot);

/* One recorded argument value of a call. What "value" means depends on
 * the call (cg_trace_arg_describe): e.g. domain << 32 | type for socket. */
struct cg_trace_argval {
	uint8_t slot;  /* arch slot */
	uint8_t phase; /* enum cg_trace_phase */
	uint16_t nr;   /* syscall number (x32 bit stripped) */
	uint64_t value;
	uint64_t count;
};

/* What a run recorded. Both recorders fill the same structure. */
struct cg_trace_data {
	uint64_t counts[CG_TRACE_NARCH][CG_TRACE_NR_MAX][CG_TRACE_NPHASE];
	struct cg_trace_argval *vals; /* sorted by slot, nr, phase, value */
	size_t n_vals;
	bool phased;         /* a serving trigger was armed: phases are meaningful */
	bool serving;        /* the serving phase was reached */
	bool exec_seen;      /* the workload's exec was seen (spawn mode) */
	uint64_t lost_tasks; /* processes that could not be followed: the record may be incomplete */
	uint64_t lost_args;  /* argument values that could not be kept */
	uint64_t bad_nr;     /* calls with an impossible number (they fail with ENOSYS) */
	/* start-up windows (cg_trace_opts.worker_startup) */
	uint64_t spawner_accepts; /* accept/accept4 by the program's first process while serving */
	uint64_t spawner_reaper;  /* prctl(PR_SET_CHILD_SUBREAPER) by it */
	uint64_t window_calls;    /* calls counted in the start-up phase by a window while serving */
	bool window_open_at_end;  /* the recording ended while a window was open */
};

/* An empty record (calloc'd). */
struct cg_trace_data *cg_trace_data_new(void);
/* Count one call (used by the ptrace recorder and by tests). @args may be
 * NULL (no argument values kept). Returns 0 or -ENOMEM / -ERANGE. */
int cg_trace_data_add(struct cg_trace_data *d, unsigned slot, uint32_t nr, unsigned phase,
		      const uint64_t args[6], pid_t tgid);
/* Sort and merge the value list (after adding). */
void cg_trace_data_finish(struct cg_trace_data *d);

/* Which argument values are kept for @name (enum, see lib/source/trace_shared.h);
 * 0 for none. On i386 "mmap" is old_mmap (a struct): none. */
int cg_trace_argkind(enum cg_arch_id arch, const char *name);

/* One value in words: "AF_INET, SOCK_STREAM|SOCK_CLOEXEC", "PR_SET_NAME (15)",
 * "SIGTERM to another process". */
void cg_trace_arg_describe(const char *name, int kind, uint64_t value, struct cg_strbuf *out);

/* ---- the steps of cg_trace_record (trace.c), also driven by the tests ---- */

/* True if a TCP socket (IPv4 or IPv6) is listening on @port in this
 * network namespace (/proc/net/tcp and /proc/net/tcp6). */
bool cg_trace_port_listening(unsigned port);

/* Let the workload run (spawn mode: release it to its exec). */
int cg_trace_start(struct cg_trace *t, struct cg_error *err);

/* Run the recording for up to @timeout_ms (ptrace: this is where the
 * tracees are served). Waits for the signals in @sigs too (they must be
 * blocked by the caller). Returns 0 on timeout, 1 when the workload has
 * ended (*ret_end filled), 2 when a signal of @sigs arrived (*ret_si), or
 * a negative errno. */
int cg_trace_wait(struct cg_trace *t, int timeout_ms, const sigset_t *sigs, siginfo_t *ret_si,
		  struct cg_trace_end *ret_end, struct cg_error *err);

/* Send @sig to the workload (spawn mode: the program; with ptrace, every
 * tracee if the program is gone). */
int cg_trace_kill(struct cg_trace *t, int sig);

/* Switch to the serving phase now (a user trigger: time, port, signal). */
void cg_trace_serve(struct cg_trace *t);

/* ---- the backends --------------------------------------------------------- */

/* What cg_trace_new has checked and worked out, for the backend. */
struct cg_trace_setup {
	const struct cg_trace_opts *opts;
	const char *path;   /* spawn mode: the program, found on PATH */
	uint64_t cgroup_id; /* cgroup mode: the cgroup's id */
};

struct cg_trace_ops {
	enum cg_trace_backend id;
	/* Make the recorder ready (t->be); with CG_TRACE_AUTO, a failure of
	 * the eBPF backend here falls back to ptrace. On failure nothing is
	 * left in t->be. */
	int (*load)(struct cg_trace *t, const struct cg_trace_setup *s, struct cg_error *err);
	/* Create the workload blocked before its exec, or take hold of the
	 * running one; set t->pid. */
	int (*prepare)(struct cg_trace *t, const struct cg_trace_setup *s, struct cg_error *err);
	/* Let the workload run. */
	int (*start)(struct cg_trace *t, struct cg_error *err);
	/* cg_trace_wait. */
	int (*wait)(struct cg_trace *t, int timeout_ms, const sigset_t *sigs, siginfo_t *ret_si,
		    struct cg_trace_end *ret_end, struct cg_error *err);
	/* cg_trace_kill. */
	int (*kill)(struct cg_trace *t, int sig);
	/* Switch to the serving phase; is it on? */
	void (*serve)(struct cg_trace *t);
	bool (*serving)(const struct cg_trace *t);
	/* Fill @d's start-up counts only, fast (may be NULL: snapshot then). */
	int (*startup_counts)(struct cg_trace *t, struct cg_trace_data *d);
	/* Fill @d (empty) with what has been recorded so far; phased and
	 * serving are the generic code's. */
	int (*snapshot)(struct cg_trace *t, struct cg_trace_data *d, struct cg_error *err);
	/* Stop recording and free t->be (NULL is fine). */
	void (*free)(struct cg_trace *t);
};

extern const struct cg_trace_ops cg_trace_bpf_ops;
extern const struct cg_trace_ops cg_trace_ptrace_ops;

struct cg_trace {
	const struct cg_trace_ops *ops;
	void *be;                          /* the backend's state */
	char *fallback;                    /* why AUTO chose ptrace */
	bool spawned;                      /* capgate started the workload (spawn mode) */
	bool from_exec;                    /* attached: counting starts at the next exec */
	bool started;                      /* cg_trace_start was called */
	bool phased;                       /* phases are meaningful */
	pid_t pid;                         /* spawned or attached root; 0 in cgroup mode */
	uint32_t serve_nr[CG_TRACE_NARCH]; /* --serve-after-syscall per arch slot, UINT32_MAX = none */
	/* cg_trace_record: triggers, limit, signals, events */
	bool serve_timer;
	uint64_t serve_after_ms, duration_ms;
	unsigned serve_port;
	int serve_signal;
	char serve_when[48]; /* the trigger as the closure records it (capgate/phase.h) */
	int notify_fd;       /* the sd-notify trigger's socket, else -1 */
	char **notify_env;   /* the program's environment with NOTIFY_SOCKET */
	/* the counts of the look before the last (the READY=1 a look finds was
	 * sent after them), and the calls counted between them and the switch:
	 * made before or after READY=1, they count in both phases */
	struct cg_trace_data *notify_prev;
	bool *notify_both;       /* [CG_TRACE_NARCH * CG_TRACE_NR_MAX], NULL until the switch */
	unsigned worker_startup; /* start-up windows, seconds (0 = none) */
	bool have_signals;
	sigset_t signals;
	void (*on_event)(struct cg_trace *t, enum cg_trace_event ev, uint64_t ms, void *userdata);
	void *userdata;
};

/* Name of (slot, nr) in capgate's table (x32 numbers carry the x32 bit there). */
const char *cg_trace_slot_name(unsigned slot, uint32_t nr);
/* Add one value to the record's sorted list (counts add up). 0 or -ENOMEM. */
int cg_trace_data_add_value(struct cg_trace_data *d, const struct cg_trace_argval *v);

/* The signals a backend's wait takes: the caller's @sigs (may be NULL) and
 * SIGCHLD. */
static inline void cg_trace_wait_signals(const sigset_t *sigs, sigset_t *ret)
{
	if (sigs)
		*ret = *sigs;
	else
		sigemptyset(ret);
	sigaddset(ret, SIGCHLD);
}

/* Monotonic milliseconds. */
static inline int64_t cg_trace_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
