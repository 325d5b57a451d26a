/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tp_floor: attach an empty program to tp_btf/sys_enter (bench only).
 *   tp_floor CMD [ARGS...]   run CMD with the program attached, exit with its status
 *   tp_floor                 stay attached until SIGINT or SIGTERM
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tp_floor.skel.h"

int main(int argc, char **argv)
{
	struct tp_floor_bpf *skel = tp_floor_bpf__open_and_load();
	int st = 0, sig;
	sigset_t set;
	pid_t pid;

	if (!skel || tp_floor_bpf__attach(skel) < 0) {
		fprintf(stderr, "tp_floor: cannot load or attach: %s\n", strerror(errno));
		return 125;
	}
	if (argc < 2) {
		sigemptyset(&set);
		sigaddset(&set, SIGINT);
		sigaddset(&set, SIGTERM);
		sigprocmask(SIG_BLOCK, &set, NULL);
		sigwait(&set, &sig);
	} else if ((pid = fork()) == 0) {
		execvp(argv[1], argv + 1);
		fprintf(stderr, "tp_floor: %s: %s\n", argv[1], strerror(errno));
		_exit(127);
	} else if (pid < 0 || waitpid(pid, &st, 0) < 0) {
		st = 125 << 8;
	}
	tp_floor_bpf__destroy(skel);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
