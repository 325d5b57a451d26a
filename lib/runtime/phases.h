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
 * for LISTENING, the call for CALL), so the supervisor sees it. -EINVAL
 * when the trigger call is allowed in no phase (it could never fire). */
int cg_phases_filter_closure(const struct cg_closure *c, int serving, const struct cg_serve_trigger *trig,
			     struct cg_closure **ret, struct cg_error *err);

/* The run's phase state, owned by the supervisor. */
struct cg_phases {
	int serving, startup;         /* phase indexes ("startup" may be -1) */
	struct cg_serve_trigger trig; /* the trigger in force */
	int trig_nr;                  /* its call's native number (LISTENING, CALL), else -1 */
	bool ready;                   /* the serving phase was reached */
	uint64_t t0_ms, ready_ms;     /* monotonic start, readiness after t0 */
	char why[64];                 /* what made it ready */
};

/* Monotonic milliseconds. */
uint64_t cg_phases_now_ms(void);

/* Switch to serving (once) because of @why. */
void cg_phases_serve(struct cg_phases *p, const char *why);

/* The port the socket @fd of thread @tid is bound to, read from the kernel's
 * socket (pidfd_getfd + getsockname), never from the program's memory;
 * 0 when it is not an inet socket, or a negative errno. */
int cg_phases_socket_port(pid_t tid, int fd);

#endif
