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
#include <fcntl.h>
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
			     unsigned window_s, struct cg_closure **ret, struct cg_error *err)
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
	if (window_s) {
		/* The most restrictive matching rule wins (cg_closure_decide),
		 * so these notify rules take the calls away from any allow
		 * rule; clone3's flags are in memory: every clone3. */
		struct cg_rule guards[] = {
			{ .name = (char *)"clone",
			  .action = notify,
			  .n_args = 1,
			  .args = { { .index = 0, .op = CG_OP_MASKED_EQ, .value = CG_CLONE_PARENT, .value_two = CG_CLONE_PARENT } } },
			{ .name = (char *)"clone3", .action = notify },
			{ .name = (char *)"prctl",
			  .action = notify,
			  .n_args = 1,
			  .args = { { .index = 0, .op = CG_OP_EQ, .value = CG_PR_SET_CHILD_SUBREAPER } } },
		};
		for (size_t i = 0; i < sizeof(guards) / sizeof(guards[0]); i++)
			if (cg_closure_add_rule(x, &guards[i]) < 0)
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

/* ppid and start time (clock ticks after boot) of @pid from /proc/PID/stat. */
static int proc_stat(pid_t pid, pid_t *ret_ppid, uint64_t *ret_start)
{
	char path[64], buf[1024];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	/* the command name may hold anything, ')' included: the last one ends it */
	char *p = strrchr(buf, ')');
	if (!p)
		return -EIO;
	p++;
	/* fields 3.. : state ppid pgrp session tty_nr tpgid flags minflt
	 * cminflt majflt cmajflt utime stime cutime cstime priority nice
	 * num_threads itrealvalue starttime (22) */
	int ppid;
	unsigned long long start;
	if (sscanf(p, " %*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu", &ppid,
		   &start) != 2)
		return -EIO;
	*ret_ppid = (pid_t)ppid;
	*ret_start = start;
	return 0;
}

int cg_phases_window_init(struct cg_phases *p, unsigned window_s, pid_t spawner)
{
	pid_t pp;

	p->window_s = window_s;
	p->spawner = spawner;
	if (!window_s)
		return 0;
	if (spawner <= 0 || proc_stat(spawner, &pp, &p->spawner_start) < 0) {
		p->spawner = 0; /* unknown: nobody gets a window (fail closed) */
		return -ESRCH;
	}
	return 0;
}

static uint64_t boot_ms(void)
{
	struct timespec now;
	clock_gettime(CLOCK_BOOTTIME, &now);
	return (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
}

void cg_phases_reload(struct cg_phases *p)
{
	if (!p->window_s || !p->ready || !p->spawner)
		return;
	p->reload_until = boot_ms() + (uint64_t)p->window_s * 1000;
	p->n_reloads++;
}

enum cg_window_state cg_phases_window(const struct cg_phases *p, pid_t tid, uint64_t *ret_age_ms)
{
	pid_t tgid = cg_proc_tgid(tid), ppid, spp;
	uint64_t start, sstart;

	if (!p->window_s || !p->ready)
		return CG_WINDOW_NONE;
	if (!p->spawner || proc_stat(tgid, &ppid, &start) < 0)
		return CG_WINDOW_UNKNOWN;
	long hz = sysconf(_SC_CLK_TCK);
	if (hz <= 0)
		return CG_WINDOW_UNKNOWN;
	uint64_t now_ms = boot_ms();
	/* /proc truncates the start to a tick: the true start is before the
	 * next tick, so counting from there never ends a window earlier than
	 * the trace (which reads the start in ns) does */
	uint64_t start_ms = (start + 1) * 1000 / (uint64_t)hz;
	if (ret_age_ms)
		*ret_age_ms = now_ms > start_ms ? now_ms - start_ms : 0;
	if (tgid == p->spawner)
		return now_ms < p->reload_until && start == p->spawner_start ? CG_WINDOW_RELOAD : CG_WINDOW_NOT_CHILD;
	if (ppid != p->spawner)
		return CG_WINDOW_NOT_CHILD;
	/* the parent is the spawner itself, not a process that took its pid */
	if (proc_stat(p->spawner, &spp, &sstart) < 0 || sstart != p->spawner_start)
		return CG_WINDOW_NOT_CHILD;
	return now_ms < start_ms + (uint64_t)p->window_s * 1000 ? CG_WINDOW_OPEN : CG_WINDOW_CLOSED;
}

int cg_phases_window_guard(const struct cg_phases *p, const char *name, const uint64_t args[6], const char **why)
{
	if (!p->window_s || !name)
		return 0;
	if (strcmp(name, "prctl") == 0 && args[0] == CG_PR_SET_CHILD_SUBREAPER) {
		*why = "with start-up windows no process may adopt orphans (PR_SET_CHILD_SUBREAPER): an orphan "
		       "adopted by the program's first process would get a start-up window";
		return -EPERM;
	}
	if (!p->ready)
		return 0;
	if (strcmp(name, "clone") == 0 && (args[0] & CG_CLONE_PARENT)) {
		*why = "clone(CLONE_PARENT) while serving would make a child of the program's first process, "
		       "with a start-up window";
		return -EPERM;
	}
	if (strcmp(name, "clone3") == 0) {
		*why = "clone3 while serving (its flags are in memory, CLONE_PARENT cannot be ruled out): answered "
		       "ENOSYS, libc falls back to clone";
		return -ENOSYS;
	}
	return 0;
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
