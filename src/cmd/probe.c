// SPDX-License-Identifier: Apache-2.0
/*
 * The syscall probe behind `capgate policy probe-gvisor`: run inside a
 * sandbox (runsc do ...), it calls every x86_64 syscall number with
 * several sets of invalid arguments, each in its own child, and prints the
 * numbers for which every attempt answered ENOSYS: the calls the sandbox
 * does not implement. Calls that would end or block the probe itself are
 * not made (they are implemented by any runtime that can run it).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../cli.h"

/* rt_sigreturn, pause, clone, fork, vfork, exit, rt_sigsuspend, exit_group, clone3 */
static const int never_call[] = { 15, 34, 56, 57, 58, 60, 130, 231, 435 };

static bool answers_enosys(int nr, long a)
{
	pid_t p = fork();
	int st = 0;
	if (p < 0)
		return false;
	if (p == 0) {
		long r = syscall(nr, a, a, a, a, a, a);
		_exit(r == -1 ? (errno & 0xff) : 0);
	}
	for (int i = 0; i < 200; i++) { /* at most 2 s: a blocking call is implemented */
		pid_t w = waitpid(p, &st, WNOHANG);
		if (w == p)
			return WIFEXITED(st) && WEXITSTATUS(st) == ENOSYS;
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	}
	kill(p, SIGKILL);
	waitpid(p, &st, 0);
	return false;
}

int cmd_probe_syscalls(int argc, char **argv)
{
	int max = cg_syscall_max_nr(CG_ARCH_X86_64);
	(void)argc;
	(void)argv;
	if (cg_arch_native() != CG_ARCH_X86_64) {
		fprintf(stderr, "capgate: the syscall probe runs on x86_64 only\n");
		return EXIT_USAGE;
	}
	printf("# syscalls answering ENOSYS to every probe\n");
	for (int nr = 0; nr <= max; nr++) {
		bool skip = false;
		const char *name = cg_syscall_name(CG_ARCH_X86_64, (uint32_t)nr);
		for (size_t i = 0; i < CG_ARRAY_SIZE(never_call); i++)
			skip |= never_call[i] == nr;
		if (skip || !name)
			continue;
		if (answers_enosys(nr, -1) && answers_enosys(nr, 0) && answers_enosys(nr, 1))
			printf("%s\n", name);
		fflush(stdout);
	}
	return EXIT_OK;
}
