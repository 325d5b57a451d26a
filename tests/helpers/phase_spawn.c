// SPDX-License-Identifier: Apache-2.0
/*
 * A spawner and its workers, for the start-up window tests of
 * tests/cli/phases.sh: the shape of nginx (a first process that serves no
 * request and forks workers, which start up on their own), with the
 * attacks a compromised worker would try to get a start-up window it
 * should not have. Every result is a line on stdout ("NAME errno=N", 0 for
 * success); bind(-1) stands for a start-up call (EBADF when allowed, the
 * filter's errno when denied).
 *
 * Spawner: forks one worker at start; SIGUSR2 forks another (a reload);
 * SIGWINCH tries prctl(PR_SET_CHILD_SUBREAPER); SIGTERM ends everything.
 * Worker: bind(-1) at start ("worker PID bind errno=N"); SIGUSR2 starts and
 * joins a thread (clone3, or clone after ENOSYS: libc's fallback) and
 * makes the calls the orphan below waits with;
 * SIGUSR1 clone(CLONE_PARENT); SIGHUP clone3 with CLONE_PARENT (the child
 * of each reports its own bind); SIGURG forks a child and exits (the
 * orphan reports its bind once its parent is gone); SIGTERM ends it.
 */
#include <errno.h>
#include <linux/sched.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t got[65], stop;
static pid_t workers[64];
static int n_workers;

static void on_sig(int sig) { got[sig] = 1; }
static void on_term(int sig) { (void)sig, stop = 1; }

static void say(const char *what, long r)
{
	char line[128];
	int n = snprintf(line, sizeof(line), "%s errno=%d\n", what, r < 0 ? errno : 0);
	if (write(1, line, (size_t)n) < 0)
		_exit(2);
}

static void startup_call(const char *who)
{
	char what[64];
	long r = syscall(SYS_bind, -1, NULL, 0);
	snprintf(what, sizeof(what), "%s %d bind", who, (int)getpid());
	say(what, r);
}

static void *thread_main(void *arg) { return arg; }

/* a child of the spawner made by a worker: what does it get? */
static void child_of_clone(const char *who)
{
	startup_call(who);
	_exit(0);
}

/* Wait for a signal without losing one that came while the last was
 * handled: the handled signals are blocked outside sigsuspend. */
static sigset_t wait_mask;

static void wait_signal(void) { sigsuspend(&wait_mask); }

static void worker(void)
{
	startup_call("worker");
	while (!stop) {
		wait_signal();
		if (got[SIGUSR2]) {
			got[SIGUSR2] = 0;
			pthread_t t;
			int e = pthread_create(&t, NULL, thread_main, NULL);
			if (e == 0)
				pthread_join(t, NULL);
			errno = e;
			say("thread", e ? -1 : 0);
			/* what the orphan's wait below needs, while serving */
			if (getppid() > 0)
				usleep(1000);
		}
		if (got[SIGUSR1]) {
			got[SIGUSR1] = 0;
			long r = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
			if (r == 0)
				child_of_clone("cloneparent-child");
			say("cloneparent", r);
		}
		if (got[SIGHUP]) {
			got[SIGHUP] = 0;
			struct clone_args ca;
			memset(&ca, 0, sizeof(ca));
			ca.flags = CLONE_PARENT;
			ca.exit_signal = 0; /* CLONE_PARENT takes the parent's */
			long r = syscall(SYS_clone3, &ca, sizeof(ca));
			if (r == 0)
				child_of_clone("clone3parent-child");
			say("clone3parent", r);
		}
		if (got[SIGURG]) {
			got[SIGURG] = 0;
			pid_t w = getpid();
			pid_t g = fork();
			if (g == 0) {
				while (getppid() == w) /* until the worker (our parent) is gone */
					usleep(20000);
				usleep(100000);
				child_of_clone("orphan");
			}
			say("orphan-fork", g);
			_exit(0);
		}
	}
	_exit(0);
}

static void spawn(void)
{
	pid_t p = fork();
	if (p == 0)
		worker();
	if (p > 0 && n_workers < 64)
		workers[n_workers++] = p;
}

int main(void)
{
	struct sigaction sa;
	char line[64];

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_sig;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGURG, &sa, NULL);
	sigaction(SIGWINCH, &sa, NULL);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGCHLD, SIG_IGN); /* no zombies: reaped by the kernel */
	sigset_t block;
	sigemptyset(&block);
	for (const int *g = (const int[]){ SIGUSR1, SIGUSR2, SIGHUP, SIGURG, SIGWINCH, SIGTERM, 0 }; *g; g++)
		sigaddset(&block, *g);
	sigprocmask(SIG_BLOCK, &block, &wait_mask);
	int n = snprintf(line, sizeof(line), "spawner %d\n", (int)getpid());
	if (write(1, line, (size_t)n) < 0)
		return 2;
	spawn();
	while (!stop) {
		wait_signal();
		if (got[SIGUSR2]) {
			got[SIGUSR2] = 0;
			prctl(PR_SET_NAME, "spawner", 0, 0, 0); /* prctl in the serving set */
			spawn();
		}
		if (got[SIGWINCH]) {
			got[SIGWINCH] = 0;
			say("subreaper", prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0));
		}
	}
	for (int i = 0; i < n_workers; i++)
		kill(workers[i], SIGTERM);
	return 0;
}
