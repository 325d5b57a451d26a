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
	bool started;                      /* cg_trace_start was called */
	bool phased;                       /* phases are meaningful */
	pid_t pid;                         /* spawned or attached root; 0 in cgroup mode */
	uint32_t serve_nr[CG_TRACE_NARCH]; /* --serve-after-syscall per arch slot, UINT32_MAX = none */
	/* cg_trace_record: triggers, limit, signals, events */
	bool serve_timer;
	uint64_t serve_after_ms, duration_ms;
	unsigned serve_port;
	int serve_signal;
	bool have_signals;
	sigset_t signals;
	void (*on_event)(struct cg_trace *t, enum cg_trace_event ev, uint64_t ms, void *userdata);
	void *userdata;
};

/* Name of (slot, nr) in capgate's table (x32 numbers carry the x32 bit there). */
const char *cg_trace_slot_name(unsigned slot, uint32_t nr);
/* Add one value to the record's sorted list (counts add up). 0 or -ENOMEM. */
int cg_trace_data_add_value(struct cg_trace_data *d, const struct cg_trace_argval *v);

/* Monotonic milliseconds. */
static inline int64_t cg_trace_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Test hook: the argument-kind table is sorted and unique. */
bool cg_trace_argkinds_sorted(void);

#endif
