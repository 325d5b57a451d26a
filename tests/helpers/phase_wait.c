// SPDX-License-Identifier: Apache-2.0
/*
 * A tiny two-process server stand-in for tests/cli/phases.sh: forks one
 * child at start-up, then both wait for signals; SIGUSR2 makes each write
 * a line to stdout (the "serving" work), SIGTERM ends them. The child
 * outlives its parent, so the test can see what the kernel answers a
 * surviving process once capgate's supervisor is gone.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t ticks, stop;

static void on_usr2(int sig) { (void)sig, ticks++; }
static void on_term(int sig) { (void)sig, stop = 1; }

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_usr2;
	sigaction(SIGUSR2, &sa, NULL);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	pid_t child = fork();
	if (child < 0)
		return 1;
	printf("%s %d\n", child ? "parent" : "child", (int)getpid());
	fflush(stdout);
	while (!stop) {
		int seen = ticks;
		pause();
		if (ticks != seen && write(1, "tick\n", 5) < 0)
			return 2;
	}
	return 0;
}
