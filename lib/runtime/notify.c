// SPDX-License-Identifier: Apache-2.0
/*
 * The explain supervisor: the parent side of `run --explain`. Explain mode
 * compiles every denial into a user notification; the supervisor, outside
 * the sandbox, says what decided each denied call, reports it through the
 * caller's callback (undecoded: the caller decodes what it shows,
 * cg_sandbox_event_text), and then answers it with the effect the
 * profile's own action would have had -- so the program sees what it would
 * have seen without --explain. Without a listener it is a plain wait.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/proc.h"
#include "core/sdnotify.h"
#include "runtime/phases.h"
#include "runtime/sandbox_internal.h"

int cg_sandbox_status_exit(const struct cg_sandbox_status *st)
{
	if (st->setup_errno)
		return 125;
	if (st->exec_errno)
		return st->exec_errno == ENOENT ? 127 : 126;
	if (st->signal)
		return 128 + st->signal;
	return st->exit_code;
}

void cg_sandbox_status_describe(const struct cg_sandbox_status *st, const char *prog, struct cg_strbuf *out)
{
	if (st->setup_errno)
		cg_strbuf_addf(out, "cannot set up the sandbox: %s", st->setup_msg);
	else if (st->exec_errno)
		cg_strbuf_addf(out, "cannot execute %s: %s", prog, strerror(st->exec_errno));
	else if (st->seccomp_kill)
		cg_strbuf_addf(out, "%s was killed by seccomp (SIGSYS): a call outside the profile", prog);
}

static int arch_from_audit(uint32_t audit, uint32_t nr)
{
	for (int a = 0; a < CG_ARCH_COUNT; a++)
		if (cg_arch_info((enum cg_arch_id)a)->audit == audit) {
			if (a == CG_ARCH_X86_64 && (nr & CG_X32_SYSCALL_BIT))
				return CG_ARCH_X32;
			return a;
		}
	return -1;
}

/* Phases: decide a notification by the phase the run is in. Fills @ev's
 * action, rule and phase and @why; may switch to serving (the trigger
 * call, decided in the start-up phase first). Returns 1 when the call is
 * to be denied with ev->action, 0 when it runs, -1 when the caller is gone. */
static int phase_decide(const struct cg_sandbox *sb, struct cg_phases *ph, int listener, struct seccomp_notif *req,
			struct cg_sandbox_event *ev, struct cg_strbuf *why)
{
	char tbuf[48];
	bool fire = false;
	int port;
	const char *gwhy = NULL;
	int g = cg_phases_window_guard(ph, ev->name, ev->args, &gwhy);

	if (g < 0) {
		/* a call that would open a start-up window to a process that
		 * must not get one: denied whatever the closure says */
		ev->phase = ph->ready ? sb->serving : sb->startup;
		ev->action = (struct cg_action){ CG_ACT_ERRNO, (uint32_t)-g };
		ev->rule = NULL;
		cg_strbuf_addf(why, "%s", gwhy);
		return 1;
	}
	/* while serving, a child of the program's first process in its
	 * start-up window is decided as before readiness */
	uint64_t age_ms = 0;
	enum cg_window_state ws = ph->ready ? cg_phases_window(ph, ev->pid, &age_ms) : CG_WINDOW_NONE;
	if (ws != CG_WINDOW_NONE && ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &req->id) < 0)
		return -1; /* the caller is gone: its pid may be another process's now */
	bool serving = ph->ready && ws != CG_WINDOW_OPEN && ws != CG_WINDOW_RELOAD;
	if (ph->ready && !serving)
		ph->n_window++;
	ev->phase = serving ? sb->serving : sb->startup;
	ev->action = cg_sandbox_phase_action(sb, serving ? sb->serving : -1, req->data.arch, ev->nr, ev->args);
	if (!ph->ready && ph->trig_nr >= 0 && ev->arch == (int)cg_arch_native() && ev->nr == (uint32_t)ph->trig_nr) {
		if (ph->trig.kind != CG_SERVE_LISTENING) {
			fire = true;
		} else if ((port = cg_phases_socket_port(ev->pid, (int)ev->args[0])) < 0) {
			if (ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &req->id) < 0)
				return -1;
			/* fail closed: without the port capgate cannot tell readiness */
			ev->action = (struct cg_action){ CG_ACT_ERRNO, EPERM };
			cg_strbuf_addf(why, "cannot tell the port listen() is made on (%s), so not when serving "
					    "starts: denied",
				       strerror(-port));
			return 1;
		} else {
			fire = (unsigned)port == ph->trig.port;
		}
	}
	if (cg_action_permits(ev->action)) {
		if (fire)
			cg_phases_serve(ph, cg_serve_trigger_format(&ph->trig, tbuf, sizeof(tbuf)));
		return 0;
	}
	/* denied in this phase: a start-up call made while serving? */
	struct cg_action any = cg_sandbox_phase_action(sb, -1, req->data.arch, ev->nr, ev->args);
	const struct cg_rule *rule = NULL;
	if (ev->name && ev->arch >= 0)
		(void)cg_closure_decide(sb->closure, (enum cg_arch_id)ev->arch, ev->name, ev->args, -1, &rule);
	if (ph->ready && cg_action_permits(any)) {
		if (sb->opts.phase_kill)
			ev->action = (struct cg_action){ CG_ACT_KILL_PROCESS, 0 };
		cg_strbuf_addf(why, "a start-up call while serving (it belongs to phase");
		for (unsigned p = 0; rule && p < sb->closure->n_phases; p++)
			if (rule->phases & (1u << p))
				cg_strbuf_addf(why, " %s", sb->closure->phase_names[p]);
		cg_strbuf_addf(why, "%s; serving since %s at %.1fs, the closure's serving phase does not allow it",
			       rule && rule->phases ? "" : " startup", ph->why, (double)ph->ready_ms / 1000);
		if (ws == CG_WINDOW_CLOSED)
			cg_strbuf_addf(why, "; pid %d's start-up window of %us ended, it started %.1fs ago", (int)ev->pid,
				       ph->window_s, (double)age_ms / 1000);
		else if (ws == CG_WINDOW_NOT_CHILD && ev->pid == ph->spawner)
			cg_strbuf_addf(why, "; pid %d is the program's first process, outside a reload window (SIGHUP "
					    "to capgate opens one)",
				       (int)ev->pid);
		else if (ws == CG_WINDOW_NOT_CHILD)
			cg_strbuf_addf(why, "; pid %d is not a child of the program's first process: no start-up window",
				       (int)ev->pid);
		else if (ws == CG_WINDOW_UNKNOWN)
			cg_strbuf_addf(why, "; pid %d's parent cannot be read: no start-up window", (int)ev->pid);
		cg_strbuf_addf(why, ")");
		ev->rule = NULL;
		return 1;
	}
	ev->rule = rule;
	return 1;
}

/* One notification: report it, then answer with the original action's effect. */
static void serve_one(const struct cg_sandbox *sb, struct cg_phases *ph, int listener, struct seccomp_notif *req,
		      struct seccomp_notif_resp *resp, size_t resp_size, cg_sandbox_event_fn fn, void *user,
		      struct cg_sandbox_status *st, pid_t child, bool *killed_child)
{
	struct cg_sandbox_event ev = { .phase = -1 };
	struct cg_strbuf text, why;
	char abuf[64];
	const struct cg_rule *rule = NULL;
	bool report;

	ev.pid = (pid_t)req->pid;
	ev.nr = (uint32_t)req->data.nr;
	ev.arch = arch_from_audit(req->data.arch, ev.nr);
	ev.name = ev.arch >= 0 ? cg_syscall_name((enum cg_arch_id)ev.arch, ev.nr) : NULL;
	memcpy(ev.args, req->data.args, sizeof(ev.args));
	bool sock = cg_sandbox_socket_denies(sb, req->data.arch, ev.nr, ev.args);
	ev.socket_rules = sock;
	ev.allowed = sb->opts.audit;
	memset(resp, 0, resp_size);
	resp->id = req->id;
	cg_strbuf_init(&why);
	if (ph && !sock) {
		if (ph->ready)
			st->n_notified_serving++;
		else
			st->n_notified_startup++;
		int d = phase_decide(sb, ph, listener, req, &ev, &why);
		if (d < 0) {
			cg_strbuf_release(&why);
			return;
		}
		rule = ev.rule;
		/* a phase denial is always reported, any other one with --explain */
		report = why.len || sb->opts.explain;
	} else {
		/* the socket rules (--net, folded into the filter in explain
		 * mode) deny whatever the closure and the phase say */
		ev.action = cg_sandbox_original_action(sb, req->data.arch, ev.nr, ev.args, false);
		if (ev.name && ev.arch >= 0 && !sock)
			(void)cg_closure_decide(sb->closure, (enum cg_arch_id)ev.arch, ev.name, ev.args,
						sb->opts.phase, &rule);
		ev.rule = rule;
		ev.phase = sb->opts.phase;
		report = true;
	}
	if (ev.action.kind == CG_ACT_ALLOW || ev.action.kind == CG_ACT_LOG) {
		/* not a denial (e.g. a number above the floor that the rewritten
		 * program sends here, a start-up call before serving): let it
		 * run, say nothing */
		resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		(void)ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp);
		cg_strbuf_release(&why);
		return;
	}

	/* the outcome only: decoding the call is left to whoever shows it
	 * (cg_sandbox_event_text), so a busy loop is not decoded a million times */
	cg_strbuf_init(&text);
	if (why.len)
		cg_strbuf_addf(&text, "%s: %s", why.buf, cg_action_describe(ev.action, abuf, sizeof(abuf)));
	else
		cg_strbuf_addf(&text, "%s %s", sock ? "socket rules (--net)" : rule ? "rule"
										    : "default action",
			       cg_action_describe(ev.action, abuf, sizeof(abuf)));
	if (ev.allowed)
		cg_strbuf_addf(&text, " (audit: allowed)");
	ev.text = NULL;
	ev.outcome = text.buf ? text.buf : "";
	if (report) {
		st->n_denied++;
		if (fn)
			fn(&ev, user);
	}
	cg_strbuf_release(&text);
	cg_strbuf_release(&why);

	if (ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &req->id) < 0)
		return; /* the caller is gone (killed, or a signal interrupted it) */
	if (ev.allowed) {
		resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	} else {
		switch (ev.action.kind) {
		case CG_ACT_ERRNO:
			resp->error = -(int32_t)ev.action.data;
			break;
		case CG_ACT_KILL_PROCESS:
		case CG_ACT_KILL_THREAD: {
			/* Kill before answering, so the call never returns. A kill-thread
			 * is approximated by killing the process. */
			pid_t tgid = cg_proc_tgid(ev.pid);
			kill(tgid, SIGKILL);
			if (tgid == child)
				*killed_child = true;
			resp->error = -ENOSYS;
			break;
		}
		case CG_ACT_TRAP:
			/* The call fails with ENOSYS and SIGSYS is raised on the thread,
			 * as a seccomp trap does (without the SYS_SECCOMP siginfo). */
			resp->error = -ENOSYS;
			(void)ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp);
			syscall(SYS_tgkill, cg_proc_tgid(ev.pid), ev.pid, SIGSYS);
			return;
		default:
			/* notify / trace: no agent, no tracer -- the kernel would say ENOSYS */
			resp->error = -ENOSYS;
			break;
		}
	}
	(void)ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp);
}

static int serve(const struct cg_sandbox *sb, struct cg_phases *ph, int sigfd, struct cg_sandbox_child *ch,
		 cg_sandbox_event_fn fn, void *user, struct cg_sandbox_status *st, bool *killed_child,
		 struct cg_error *err)
{
	struct seccomp_notif_sizes sizes = { 0 };
	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0)
		return cg_error_set(err, -errno, "SECCOMP_GET_NOTIF_SIZES: %s", strerror(errno));
	size_t req_size = sizes.seccomp_notif > sizeof(struct seccomp_notif) ? sizes.seccomp_notif
									     : sizeof(struct seccomp_notif);
	size_t resp_size = sizes.seccomp_notif_resp > sizeof(struct seccomp_notif_resp)
				   ? sizes.seccomp_notif_resp
				   : sizeof(struct seccomp_notif_resp);
	_cleanup_free_ struct seccomp_notif *req = calloc(1, req_size);
	_cleanup_free_ struct seccomp_notif_resp *resp = calloc(1, resp_size);
	if (!req || !resp)
		return cg_error_set(err, -ENOMEM, "out of memory");

	const struct cg_sandbox_shared *sh = ch->shared;
	int notify_fd = sh && ph && ph->trig.kind == CG_SERVE_SD_NOTIFY ? sh->notify_fd : -1;

	for (;;) {
		struct pollfd pfd[4] = {
			{ .fd = ch->listener, .events = POLLIN },
			{ .fd = ch->pidfd, .events = POLLIN },
			{ .fd = sigfd, .events = POLLIN },
			{ .fd = ph && !ph->ready ? notify_fd : -1, .events = POLLIN },
		};
		int timeout = ch->pidfd >= 0 ? -1 : 100;
		if (ph && !ph->ready && ph->trig.kind == CG_SERVE_AFTER) {
			uint64_t now = cg_phases_now_ms() - ph->t0_ms;
			if (now >= ph->trig.ms) {
				char tbuf[48];
				cg_phases_serve(ph, cg_serve_trigger_format(&ph->trig, tbuf, sizeof(tbuf)));
			} else if (timeout < 0 || ph->trig.ms - now < (uint64_t)timeout) {
				timeout = (int)(ph->trig.ms - now);
			}
		}
		/* a negative fd (no pidfd, no signalfd, no sd-notify socket or
		 * serving already) is skipped by poll */
		int n = poll(pfd, 4, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return cg_error_set(err, -errno, "poll: %s", strerror(errno));
		}
		/* READY=1 first: a start-up call the program made after it is
		 * still waiting (drained below, next round) and is decided after
		 * the switch, as the trace records it */
		if ((pfd[3].revents & POLLIN) && cg_sdnotify_ready(notify_fd) && !ph->ready)
			cg_phases_serve(ph, "sd-notify READY=1");
		if (pfd[0].revents & POLLIN) {
			memset(req, 0, req_size);
			if (ioctl(ch->listener, SECCOMP_IOCTL_NOTIF_RECV, req) == 0)
				serve_one(sb, ph, ch->listener, req, resp, resp_size, fn, user, st, ch->program,
					  killed_child);
			continue; /* drain notifications before looking at exits */
		}
		if (sigfd >= 0 && (pfd[2].revents & POLLIN)) {
			struct signalfd_siginfo si;
			if (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				/* SIGUSR1: serving starts now; once serving, the program gets it.
				 * SIGHUP (windows on): the reload window opens, then the program
				 * gets it. */
				if (si.ssi_signo == SIGUSR1 && ph && !ph->ready) {
					cg_phases_serve(ph, "SIGUSR1 to capgate");
				} else {
					if (si.ssi_signo == SIGHUP && ph)
						cg_phases_reload(ph);
					kill(ch->pid, (int)si.ssi_signo);
				}
			}
		}
		if (pfd[0].revents & (POLLHUP | POLLERR | POLLNVAL))
			return 0; /* no task uses the filter any more */
		if (ch->pidfd >= 0 && (pfd[1].revents & (POLLIN | POLLHUP)))
			return 0;
		if (ch->pidfd < 0) {
			siginfo_t si = { 0 };
			if (waitid(P_PID, (id_t)ch->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == ch->pid)
				return 0;
		}
	}
}

int cg_sandbox_supervise(const struct cg_sandbox *sb, struct cg_sandbox_child *ch, cg_sandbox_event_fn fn,
			 void *user, struct cg_sandbox_status *ret, struct cg_error *err)
{
	struct cg_sandbox_status st = { 0 };
	struct cg_sandbox_shared *sh = ch->shared;
	bool killed_child = false;
	int r = 0, status = 0;

	struct cg_phases ph = { 0 };
	sigset_t usr1, oldmask;
	int sigfd = -1;
	if (sb->phased) {
		ph.serving = sb->serving;
		ph.startup = sb->startup;
		ph.trig = sb->trig;
		ph.trig_nr = -1;
		if (ph.trig.kind == CG_SERVE_LISTENING || ph.trig.kind == CG_SERVE_CALL)
			ph.trig_nr = cg_syscall_nr(cg_arch_native(),
						   ph.trig.kind == CG_SERVE_LISTENING ? "listen" : ph.trig.call);
		ph.t0_ms = cg_phases_now_ms();
		/* an unknown first process leaves nobody a window (fail closed) */
		(void)cg_phases_window_init(&ph, sb->window_s, ch->program);
		/* SIGUSR1 to capgate is always a way to say "serving now" */
		sigemptyset(&usr1);
		sigaddset(&usr1, SIGUSR1);
		if (ph.window_s)
			sigaddset(&usr1, SIGHUP); /* opens the reload window, then forwarded */
		sigprocmask(SIG_BLOCK, &usr1, &oldmask);
		sigfd = signalfd(-1, &usr1, SFD_CLOEXEC | SFD_NONBLOCK);
	}
	if (ch->listener >= 0)
		r = serve(sb, sb->phased ? &ph : NULL, sigfd, ch, fn, user, &st, &killed_child, err);
	if (sb->phased) {
		if (sigfd >= 0)
			close(sigfd);
		sigprocmask(SIG_SETMASK, &oldmask, NULL);
		st.serving = ph.ready;
		st.serving_ms = ph.ready_ms;
		st.n_notified_window = ph.n_window;
		snprintf(st.serving_why, sizeof(st.serving_why), "%s", ph.why);
	}
	for (;;) {
		pid_t w = waitpid(ch->pid, &status, 0);
		if (w == ch->pid)
			break;
		if (w < 0 && errno != EINTR) {
			r = cg_error_set(err, -errno, "waitpid: %s", strerror(errno));
			break;
		}
	}
	if (ch->listener >= 0)
		close(ch->listener);
	if (ch->pidfd >= 0)
		close(ch->pidfd);
	if (ch->program_pidfd >= 0)
		close(ch->program_pidfd);
	ch->listener = ch->pidfd = ch->program_pidfd = -1;
	/* With a PID namespace capgate's child is the init: the program's own
	 * status comes through the shared page (PID 1 cannot die of a signal
	 * it sends itself, so the init's exit status is only a summary). */
	if (sh && atomic_load_explicit(&sh->program_done, memory_order_acquire))
		status = sh->program_status;
	if (WIFEXITED(status))
		st.exit_code = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		st.signal = WTERMSIG(status);
	if (st.signal == SIGSYS || (st.signal == SIGKILL && killed_child)) {
		st.seccomp_kill = true;
		st.signal = SIGSYS; /* what the real filter would have done */
	}
	if (sh) {
		if (sh->notify_fd >= 0)
			close(sh->notify_fd);
		st.exec_errno = sh->exec_errno;
		st.setup_errno = sh->setup_errno;
		snprintf(st.setup_msg, sizeof(st.setup_msg), "%s", sh->setup_msg);
		munmap(sh, sizeof(*sh));
		ch->shared = NULL;
	}
	if (st.exec_errno || st.setup_errno)
		st.seccomp_kill = false;
	*ret = st;
	return r;
}
