/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal: phase-aware enforcement (docs/PHASES.md). sandbox.c compiles
 * the filter closure of cg_phases_filter_closure; notify.c keeps a
 * struct cg_phases per run and asks cg_phases_decide for every
 * notification.
 */
#ifndef CAPGATE_RUNTIME_PHASES_H
#define CAPGATE_RUNTIME_PHASES_H

#include <capgate/closure.h>
#include <capgate/phase.h>
#include <sys/types.h>

/* The closure the filter is compiled from (all phases, phases cleared):
 * a rule that holds in every phase, or permits in @serving, is kept as it
 * is -- the kernel answers it, its action cache too; every other rule
 * becomes a notification, and so does the trigger call of @trig (listen
 * for LISTENING, the call for CALL), so the supervisor sees it. With
 * start-up windows (@window_s) the calls that could open a window to a
 * process that should not have one go to the supervisor too: clone with
 * CLONE_PARENT, every clone3 (its flags are in memory), and
 * prctl(PR_SET_CHILD_SUBREAPER). -EINVAL
 * when the trigger call is allowed in no phase (it could never fire). */
int cg_phases_filter_closure(const struct cg_closure *c, int serving, const struct cg_serve_trigger *trig,
			     unsigned window_s, struct cg_closure **ret, struct cg_error *err);

/* The run's phase state, owned by the supervisor. */
struct cg_phases {
	int serving, startup;         /* phase indexes ("startup" may be -1) */
	struct cg_serve_trigger trig; /* the trigger in force */
	int trig_nr;                  /* its call's native number (LISTENING, CALL), else -1 */
	bool ready;                   /* the serving phase was reached */
	uint64_t t0_ms, ready_ms;     /* monotonic start, readiness after t0 */
	char why[64];                 /* what made it ready */
	/* per-process start-up windows */
	unsigned window_s;      /* seconds, 0 = none */
	pid_t spawner;          /* the program's first process, as capgate sees it */
	uint64_t spawner_start; /* its start time (clock ticks after boot, /proc/PID/stat) */
	uint64_t reload_until;  /* the spawner's reload window ends then (boot clock, ms) */
	unsigned n_reloads;     /* reload windows opened */
	uint64_t n_window;      /* notifications decided in a window */
};

#define CG_CLONE_PARENT 0x00008000ull
#define CG_PR_SET_CHILD_SUBREAPER 36

/* Windows of @window_s seconds for the children of @spawner (its start
 * time is read now); -ESRCH when it cannot be read: then no process gets
 * a window. */
int cg_phases_window_init(struct cg_phases *p, unsigned window_s, pid_t spawner);

/* Open the spawner's reload window now (SIGHUP to capgate, forwarded to
 * the program: nginx's master re-reads its configuration and forks new
 * workers). Only while serving and with windows on. */
void cg_phases_reload(struct cg_phases *p);

/* What a start-up window says about process @tid (cg_phases_window). */
enum cg_window_state {
	CG_WINDOW_NONE,      /* windows are off, or the run is not serving yet */
	CG_WINDOW_OPEN,      /* a child of the spawner in its first window_s seconds */
	CG_WINDOW_RELOAD,    /* the spawner, in its reload window (SIGHUP to capgate) */
	CG_WINDOW_CLOSED,    /* a child of the spawner whose window has ended */
	CG_WINDOW_NOT_CHILD, /* not a child of the spawner (or it is the spawner): no window */
	CG_WINDOW_UNKNOWN,   /* /proc could not be read: no window (fail closed) */
};

/* Where @tid stands with its start-up window; @ret_age_ms gets its age
 * (ms since its thread group started) when known. Reads /proc/PID/stat:
 * the caller checks SECCOMP_IOCTL_NOTIF_ID_VALID afterwards (pid reuse). */
enum cg_window_state cg_phases_window(const struct cg_phases *p, pid_t tid, uint64_t *ret_age_ms);

/* clone(CLONE_PARENT), clone3 and prctl(PR_SET_CHILD_SUBREAPER) with
 * windows on: the answer while serving (or always, for the subreaper)
 * as a negative errno, 0 to decide the call as any other. @why gets the
 * reason. */
int cg_phases_window_guard(const struct cg_phases *p, const char *name, const uint64_t args[6],
			   const char **why);

/* Monotonic milliseconds. */
uint64_t cg_phases_now_ms(void);

/* Switch to serving (once) because of @why. */
void cg_phases_serve(struct cg_phases *p, const char *why);

/* The port the socket @fd of thread @tid is bound to, read from the kernel's
 * socket (pidfd_getfd + getsockname), never from the program's memory;
 * 0 when it is not an inet socket, or a negative errno. */
int cg_phases_socket_port(pid_t tid, int fd);

#endif
