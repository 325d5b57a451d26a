/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Phases at run time: when does a workload stop starting up and start
 * serving? A closure traced with phases records the trigger it was traced
 * with (cg_closure.serve_when, "capgate": {"serveWhen": ...} in the file),
 * and `capgate run` switches on the same trigger, so the calls the trace
 * saw after the switch are exactly the calls run allows after it.
 *
 * The text form, one per closure:
 *   "listening:PORT"  a listen() on a socket bound to PORT (start-up call);
 *   "call:NAME"       the first call of NAME (x86_64 name);
 *   "after:SECONDS"   SECONDS after the program was started;
 *   "sd-notify"       READY=1 on $NOTIFY_SOCKET;
 *   "signal"          SIGUSR1 to capgate (always available as well).
 */
#ifndef CAPGATE_PHASE_H
#define CAPGATE_PHASE_H

#include <capgate/common.h>
#include <capgate/error.h>

enum cg_serve_kind {
	CG_SERVE_NONE,      /* not given */
	CG_SERVE_LISTENING, /* listen() on a socket bound to port */
	CG_SERVE_CALL,      /* first call of call */
	CG_SERVE_AFTER,     /* ms after the start */
	CG_SERVE_SD_NOTIFY, /* READY=1 on NOTIFY_SOCKET */
	CG_SERVE_SIGNAL,    /* SIGUSR1 to capgate */
};

struct cg_serve_trigger {
	enum cg_serve_kind kind;
	unsigned port; /* LISTENING: 1..65535 */
	char call[32]; /* CALL: a system call name */
	uint64_t ms;   /* AFTER */
};

/* The longest per-process start-up window ("capgate": {"workerStartup":
 * SECONDS}, trace/run --worker-startup), in seconds. */
#define CG_WORKER_STARTUP_MAX 3600

/* Parse the text form above into @ret. -EINVAL with a message naming what
 * is wrong (unknown kind, port out of range, unknown call, bad number). */
CAPGATE_API int cg_serve_trigger_parse(const char *s, struct cg_serve_trigger *ret, struct cg_error *err);

/* The text form of @t into @buf of @n bytes (48 is enough); "" for NONE.
 * Returns @buf. */
CAPGATE_API const char *cg_serve_trigger_format(const struct cg_serve_trigger *t, char *buf, size_t n);

#endif
