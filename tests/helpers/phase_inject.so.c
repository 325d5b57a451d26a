// SPDX-License-Identifier: Apache-2.0
/*
 * LD_PRELOAD library for tests/cli/phases.sh: plays the attacker who has
 * taken over a serving process. On SIGRTMIN+3 it makes the start-up call
 * named by $CG_INJECT ("bind" or "execve", both harmless: bind on fd -1,
 * execve of a path that does not exist, so an allowed call fails with
 * EBADF / ENOENT and a denied one with the filter's answer) and appends
 * "NAME errno=N" to $CG_INJECT_OUT. It makes the same call once at load,
 * so that a trace records it as a start-up call. SIGRTMIN+4 does nothing:
 * a trace sends it while serving, so that the closure has the
 * rt_sigreturn a handler's return needs (a server that got no signal while
 * it was traced cannot return from one under its closure).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int out_fd = -1;
static char what[16]; /* copied: some servers (redis) rewrite their environment */

static void inject(const char *tag)
{
	static char *const none[] = { NULL };
	char line[96];
	long r = -1;
	int e;

	errno = 0;
	if (strcmp(what, "bind") == 0)
		r = syscall(SYS_bind, -1, NULL, 0);
	else if (strcmp(what, "execve") == 0)
		r = syscall(SYS_execve, "/nonexistent-capgate-inject", none, none);
	e = r < 0 ? errno : 0;
	if (out_fd >= 0) {
		/* by hand: only async-signal-safe work in a handler */
		size_t n = 0;
		char num[12];
		int k = 0;
		for (const char *p = tag; *p && n < 40; p++)
			line[n++] = *p;
		line[n++] = ' ';
		for (const char *p = what; *p && n < 60; p++)
			line[n++] = *p;
		memcpy(line + n, " errno=", 7);
		n += 7;
		do
			num[k++] = (char)('0' + e % 10);
		while ((e /= 10) && k < 11);
		while (k)
			line[n++] = num[--k];
		line[n++] = '\n';
		if (write(out_fd, line, n) < 0)
			_exit(99);
	}
}

static void on_nothing(int sig) { (void)sig; }

static void on_signal(int sig)
{
	int saved = errno;
	(void)sig;
	inject("serving");
	errno = saved;
}

__attribute__((constructor)) static void phase_inject_init(void)
{
	const char *out = getenv("CG_INJECT_OUT");
	struct sigaction sa;

	const char *w = getenv("CG_INJECT");
	/* capgate itself is started with the same environment: not a target */
	if (!w || !out || strcmp(program_invocation_short_name, "capgate") == 0)
		return;
	snprintf(what, sizeof(what), "%s", w);
	out_fd = open(out, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGRTMIN + 3, &sa, NULL);
	sa.sa_handler = on_nothing;
	sigaction(SIGRTMIN + 4, &sa, NULL);
	inject("startup");
}
