// SPDX-License-Identifier: Apache-2.0
/*
 * PID 1 of the program's PID namespace. The kernel gives PID 1 jobs no
 * ordinary program expects: orphans are re-parented to it (and must be
 * reaped), signals without a handler do not reach it, and when it exits
 * everything in the namespace is killed. So the program does not run as
 * PID 1: this small init does, forwards the signals capgate sends it to the
 * program, reaps every child, and exits when the program does -- giving
 * capgate the program's own wait status through the shared page.
 *
 * The init runs outside the program's seccomp filter, so it is made
 * useless to the program before it waits: it closes every descriptor,
 * keeps at most CAP_KILL, is not dumpable, sets no_new_privs and loads a
 * filter of its own that allows waiting, signalling and exiting only --
 * a program that manages to ptrace it gains nothing.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/pidinit.h"

static volatile pid_t program_pid;

/* Forward what a process sent (capgate's forwarding, kill(1) by someone in
 * the namespace); what the kernel sent (a terminal's ^C with --tty) reached
 * the program's process group already. */
static void forward(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (program_pid > 0 && si->si_code <= 0)
		kill(program_pid, sig);
}

static void send_pidfd(int sock, pid_t pid)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	char byte = 'p';
	struct iovec iov = { &byte, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		m.msg_control = cbuf;
		m.msg_controllen = sizeof(cbuf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	(void)sendmsg(sock, &m, MSG_NOSIGNAL);
}

int cg_pidinit_recv_pidfd(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	char byte;
	struct iovec iov = { &byte, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	ssize_t n;
	int fd = -1;

	while ((n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	if (n <= 0)
		return -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

#define ALLOW_NR(nr) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

/* Make the init worthless to a program that gets hold of it. Best effort
 * by design: a step that fails leaves the init as it was, which is what a
 * program outside a PID namespace would live next to anyway. */
static void harden(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2] = { 0 };
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0), /* [1].k: the native audit arch */
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		ALLOW_NR(SYS_wait4),
		ALLOW_NR(SYS_waitid),
		ALLOW_NR(SYS_kill),
		ALLOW_NR(SYS_rt_sigreturn),
		ALLOW_NR(SYS_rt_sigprocmask),
		ALLOW_NR(SYS_restart_syscall),
		ALLOW_NR(SYS_exit),
		ALLOW_NR(SYS_exit_group),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
	};
	struct sock_fprog prog = { .len = (unsigned short)CG_ARRAY_SIZE(f), .filter = f };

	f[1].k = cg_arch_info(cg_arch_native())->audit;
	(void)syscall(SYS_close_range, 0, ~0U, 0);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (syscall(SYS_capget, &h, d) == 0) {
		/* CAP_KILL stays if it was there: --user gives the program another uid */
		uint32_t keep = d[0].permitted & CAP_TO_MASK(CAP_KILL);
		struct __user_cap_data_struct nd[2] = { { keep, keep, 0 }, { 0, 0, 0 } };
		(void)syscall(SYS_capset, &h, nd);
	}
	(void)prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	(void)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

/* AddressSanitizer keeps per-thread state (allocator caches, stack bounds,
 * its report lock) in memory that a child sharing the init's would change
 * under it: a child that fails and exits can leave the init spinning on a
 * lock. Sanitizer builds fork. */
#if defined(__SANITIZE_ADDRESS__)
#define SHARE_VM_OK 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SHARE_VM_OK 0
#endif
#endif
#ifndef SHARE_VM_OK
#define SHARE_VM_OK 1
#endif

/* The program's process, before its execve. */
struct program_start {
	int sock;
	const sigset_t *mask;
	void (*program)(void *);
	void *arg;
};

static int program_entry(void *p)
{
	const struct program_start *ps = p;

	close(ps->sock);
	sigprocmask(SIG_SETMASK, ps->mask, NULL);
	ps->program(ps->arg);
	_exit(125);
}

/* Start the program's process. With @share_vm it shares the init's memory
 * until its execve (CLONE_VM | CLONE_VFORK, on a stack of its own, as
 * posix_spawn does) and the init is stopped meanwhile: no copy of the
 * init's page tables, no write-protecting them, no copy-on-write fault for
 * each page the setup or the init writes, and no copy to tear down at the
 * execve -- each a trip through the hypervisor on a virtual machine, most
 * of what a fork costs here. The setup takes the same steps either way; the
 * init runs nothing until the program has exec'd or ended. Without it (the
 * program waits for capgate before its execve, which needs the init to hand
 * over the pidfd first) a plain fork. */
static pid_t program_spawn(bool share_vm, struct program_start *ps)
{
	const size_t size = 256 * 1024, guard = 4096;
	char *stack;
	pid_t pid;

	if (!share_vm) {
		pid = fork();
		if (pid == 0)
			program_entry(ps);
		return pid;
	}
	stack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1,
		     0);
	if (stack == MAP_FAILED)
		return -1;
	if (mprotect(stack, guard, PROT_NONE) < 0) {
		int e = errno;
		munmap(stack, size);
		errno = e;
		return -1;
	}
	pid = clone(program_entry, stack + size, CLONE_VM | CLONE_VFORK | SIGCHLD, ps);
	int e = errno;
	munmap(stack, size);
	errno = e;
	return pid;
}

_Noreturn void cg_pidinit_run(int sock, struct cg_sandbox_shared *sh, bool share_vm, void (*program)(void *),
			      void *arg)
{
	sigset_t all, old;
	struct sigaction sa = { 0 };
	int st = 0;

	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	struct program_start ps = { sock, &old, program, arg };
	share_vm = share_vm && SHARE_VM_OK;
	pid_t pid = program_spawn(share_vm, &ps);
	if (pid < 0) {
		sh->setup_errno = errno;
		snprintf(sh->setup_msg, sizeof(sh->setup_msg), "init: %s: %s", share_vm ? "clone" : "fork",
			 strerror(errno));
		_exit(125);
	}
	program_pid = pid;
	send_pidfd(sock, pid);

	sa.sa_sigaction = forward;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigfillset(&sa.sa_mask);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGCHLD && sig != SIGKILL && sig != SIGSTOP)
			(void)sigaction(sig, &sa, NULL); /* glibc's own signals: EINVAL, fine */
	signal(SIGCHLD, SIG_DFL);
	harden();
	sigprocmask(SIG_SETMASK, &old, NULL);

	for (;;) {
		pid_t w = waitpid(-1, &st, 0);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			_exit(125); /* no children left without having seen the program: cannot happen */
	}
	sh->program_status = st;
	atomic_store_explicit(&sh->program_done, 1, memory_order_release);
	_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}
