// SPDX-License-Identifier: Apache-2.0
/*
 * Phase-aware enforcement, the parts beside the supervisor's loop: which
 * rules the kernel answers alone and which it hands to the supervisor, the
 * run's phase state, and the one fact the supervisor reads from a program
 * (the port of the socket a listen() is made on) -- read from the kernel's
 * socket object, never from memory the program could change afterwards.
 *
 * Why notifications and not a second filter loaded at readiness: a
 * filter can only be added by the process itself, so switching phases
 * would need the program's cooperation (or code injected into it). With
 * user notification the program is unchanged, the serving set costs
 * nothing (the filter allows it, the action cache answers it), and only
 * calls outside the serving set -- start-up calls -- reach the supervisor.
 * Its answer depends on the call's number, arch and register arguments
 * (copied by the kernel at entry) and on the phase, never on the
 * program's memory, so the TOCTOU limit of SECCOMP_USER_NOTIF_FLAG_CONTINUE
 * does not apply.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core/proc.h"
#include "runtime/phases.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

static bool is_trigger(const struct cg_serve_trigger *t, const char *name)
{
	if (t->kind == CG_SERVE_LISTENING)
		return strcmp(name, "listen") == 0;
	return t->kind == CG_SERVE_CALL && strcmp(name, t->call) == 0;
}

int cg_phases_filter_closure(const struct cg_closure *c, int serving, const struct cg_serve_trigger *trig,
			     struct cg_closure **ret, struct cg_error *err)
{
	_cleanup_(cg_closure_freep) struct cg_closure *x = cg_closure_dup(c);
	const struct cg_action notify = { .kind = CG_ACT_NOTIFY, .data = 0 };
	const char *tname = trig->kind == CG_SERVE_LISTENING ? "listen" : trig->kind == CG_SERVE_CALL ? trig->call
												      : NULL;
	bool trig_permitted = false;

	if (!x)
		return cg_error_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < x->n_rules; i++) {
		struct cg_rule *r = &x->rules[i];
		bool permits = cg_action_permits(r->action);
		if (tname && is_trigger(trig, r->name)) {
			trig_permitted |= permits;
			if (permits)
				r->action = notify;
		} else if (r->phases && !(permits && (r->phases & (1u << serving)))) {
			/* holds in some phases only, or permits outside serving only */
			r->action = notify;
		}
		r->phases = 0;
	}
	if (tname && !trig_permitted) {
		if (!cg_action_permits(c->default_action))
			return cg_error_set(err, -EINVAL,
					    "serving trigger: the closure does not allow %s, so the program can never "
					    "become ready",
					    tname);
		struct cg_rule r = { .name = (char *)tname, .action = notify };
		if (cg_closure_add_rule(x, &r) < 0)
			return cg_error_set(err, -ENOMEM, "out of memory");
	}
	cg_closure_canonicalize(x);
	*ret = TAKE_PTR(x);
	return 0;
}

uint64_t cg_phases_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void cg_phases_serve(struct cg_phases *p, const char *why)
{
	if (p->ready)
		return;
	p->ready = true;
	p->ready_ms = cg_phases_now_ms() - p->t0_ms;
	snprintf(p->why, sizeof(p->why), "%s", why);
}

int cg_phases_socket_port(pid_t tid, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int pidfd, sfd, r;

	if (fd < 0)
		return -EBADF;
	pidfd = (int)syscall(SYS_pidfd_open, cg_proc_tgid(tid), 0);
	if (pidfd < 0)
		return -errno;
	sfd = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	r = sfd < 0 ? -errno : 0;
	close(pidfd);
	if (r < 0)
		return r;
	memset(&ss, 0, sizeof(ss));
	if (getsockname(sfd, (struct sockaddr *)&ss, &len) < 0)
		r = -errno;
	else if (ss.ss_family == AF_INET)
		r = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	else if (ss.ss_family == AF_INET6)
		r = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	close(sfd);
	return r;
}
