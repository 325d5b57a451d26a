// SPDX-License-Identifier: Apache-2.0
/*
 * A server stand-in that says when it is ready the way systemd services do
 * (sd_notify(3): a datagram "READY=1" to the socket named by
 * $NOTIFY_SOCKET, '@' for an abstract name), for tests/cli/phases.sh. At
 * start it makes a start-up call (bind on fd -1: EBADF when allowed), takes
 * a quarter of a second (its start-up work), then says READY=1 and waits: SIGUSR2 writes "tick" (its serving work), SIGHUP
 * makes the start-up call again (the attacker's move once serving),
 * SIGTERM ends it. Exit 3 without $NOTIFY_SOCKET.
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t got_usr2, got_hup, stop;

static void on_sig(int sig)
{
	if (sig == SIGUSR2)
		got_usr2 = 1;
	else if (sig == SIGHUP)
		got_hup = 1;
	else
		stop = 1;
}

static void say(const char *what, long r)
{
	char line[96];
	int n = snprintf(line, sizeof(line), "%s errno=%d\n", what, r < 0 ? errno : 0);
	if (write(1, line, (size_t)n) < 0)
		_exit(2);
}

static int notify_ready(void)
{
	const char *ns = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n;
	int fd, r;

	if (!ns || !*ns || (n = strlen(ns)) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, ns, n);
	if (ns[0] == '@')
		sa.sun_path[0] = '\0';
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	r = (int)sendto(fd, "READY=1\nSTATUS=serving\n", 23, MSG_NOSIGNAL, (struct sockaddr *)&sa,
			(socklen_t)(offsetof(struct sockaddr_un, sun_path) + n));
	close(fd);
	return r < 0 ? -1 : 0;
}

int main(void)
{
	struct sigaction sa;
	sigset_t block, wait_mask;

	if (!getenv("NOTIFY_SOCKET")) {
		fprintf(stderr, "phase_notify: no NOTIFY_SOCKET\n");
		return 3;
	}
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_sig;
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR2);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &wait_mask);

	say("startup bind", syscall(SYS_bind, -1, NULL, 0));
	struct timespec ts = { 0, 250 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	say("ready", notify_ready());
	while (!stop) {
		sigsuspend(&wait_mask);
		if (got_usr2) {
			got_usr2 = 0;
			say("tick", 0);
		}
		if (got_hup) {
			got_hup = 0;
			say("serving bind", syscall(SYS_bind, -1, NULL, 0));
		}
	}
	return 0;
}
