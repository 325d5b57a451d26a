// SPDX-License-Identifier: Apache-2.0
/*
 * The program's namespaces. Sharing capgate's PID namespace lets the
 * program ptrace, signal and read the memory of anything it can name by pid
 * (issue 10's first escape); IPC shares System V objects and POSIX queues;
 * UTS lets sethostname reach the host; cgroup shows the host's hierarchy.
 * So each is new by default, and shared only when the user says so
 * (--share-ns). An ordinary user gets them through a user namespace that
 * maps only its own uid and gid, with setgroups denied, so nothing about
 * its ids changes (no setuid helper).
 *
 * clone(2) rather than unshare(2): a new PID namespace only applies to the
 * children of the process that makes it, and cloning straight into it makes
 * capgate's child the namespace's init, with the program one fork below.
 * What cannot be created is an error that names the namespace and how to
 * run without it -- never a silent fallback.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/proc.h"
#include "runtime/namespaces.h"

static const struct {
	const char *name;
	unsigned share;
	unsigned long flag;
} ns_table[] = {
	{ "pid", CG_SHARE_PID, CLONE_NEWPID },
	{ "ipc", CG_SHARE_IPC, CLONE_NEWIPC },
	{ "uts", CG_SHARE_UTS, CLONE_NEWUTS },
	{ "cgroup", CG_SHARE_CGROUP, CLONE_NEWCGROUP },
};

int cg_sandbox_parse_share_ns(struct cg_sandbox_opts *o, const char *spec, struct cg_error *err)
{
	const char *p = spec;
	do {
		size_t len = strcspn(p, ",");
		bool found = false;
		if (len == 3 && strncmp(p, "all", 3) == 0) {
			o->share_ns |= CG_SHARE_ALL;
			found = true;
		}
		for (size_t i = 0; i < CG_ARRAY_SIZE(ns_table) && !found; i++)
			if (strlen(ns_table[i].name) == len && strncmp(p, ns_table[i].name, len) == 0) {
				o->share_ns |= ns_table[i].share;
				found = true;
			}
		if (!found)
			return cg_error_set(err, -EINVAL,
					    "--share-ns '%s': unknown namespace '%.*s' (pid, ipc, uts, cgroup, all; "
					    "the network is --net host's)",
					    spec, (int)len, p);
		p += len;
	} while (*p++ == ',');
	return 0;
}

static bool has_sys_admin(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2] = { 0 };
	if (syscall(SYS_capget, &h, d) < 0)
		return false;
	return d[CAP_TO_INDEX(CAP_SYS_ADMIN)].effective & CAP_TO_MASK(CAP_SYS_ADMIN);
}

void cg_ns_plan(const struct cg_sandbox_opts *o, struct cg_ns_plan *ret)
{
	struct cg_ns_plan p = { .uid = geteuid(), .gid = getegid() };
	for (size_t i = 0; i < CG_ARRAY_SIZE(ns_table); i++)
		if (!(o->share_ns & ns_table[i].share))
			p.flags |= ns_table[i].flag;
	p.rootless = p.uid != 0 || !has_sys_admin();
	if (p.rootless)
		p.flags |= CLONE_NEWUSER;
	*ret = p;
}

static pid_t raw_clone(unsigned long flags)
{
	/* No stack given: the child runs on a copy of ours, like fork(). */
	return (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0);
}

/* Which single namespace fails, for the message. */
static int explain_failure(const struct cg_ns_plan *p, int e, struct cg_error *err)
{
	unsigned long base = p->rootless ? CLONE_NEWUSER : 0;
	if (p->rootless) {
		pid_t pid = raw_clone(CLONE_NEWUSER);
		if (pid == 0)
			_exit(0);
		if (pid < 0)
			return cg_error_set(err, -errno,
					    "cannot create a user namespace, which an ordinary user needs for every other "
					    "namespace: %s (user.max_user_namespaces, or a security module, may forbid "
					    "it; run as root)",
					    strerror(errno));
		waitpid(pid, NULL, 0);
	}
	for (size_t i = 0; i < CG_ARRAY_SIZE(ns_table); i++) {
		if (!(p->flags & ns_table[i].flag))
			continue;
		pid_t pid = raw_clone(base | ns_table[i].flag);
		if (pid == 0)
			_exit(0);
		if (pid < 0)
			return cg_error_set(err, -errno, "cannot create the %s namespace: %s (--share-ns %s runs without it)",
					    ns_table[i].name, strerror(errno), ns_table[i].name);
		waitpid(pid, NULL, 0);
	}
	return cg_error_set(err, -e, "cannot create the namespaces: %s", strerror(e));
}

pid_t cg_ns_clone(const struct cg_ns_plan *p, struct cg_error *err)
{
	pid_t pid = raw_clone(p->flags);
	if (pid < 0) {
		int e = errno;
		return explain_failure(p, e, err);
	}
	return pid;
}

int cg_ns_map_self(const struct cg_ns_plan *p, struct cg_error *err)
{
	char map[64];
	int r;

	if (!p->rootless)
		return 0;
	/* A process that changed its ids is not dumpable, and its /proc files
	 * then belong to root: dumpable just long enough to map. */
	int dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
	if (dumpable == 0)
		(void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	if ((r = cg_proc_write("/proc/self/setgroups", "deny")) < 0) {
		cg_error_set(err, r, "user namespace: cannot deny setgroups: %s", strerror(-r));
	} else {
		snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)p->uid, (unsigned)p->uid);
		if ((r = cg_proc_write("/proc/self/uid_map", map)) < 0) {
			cg_error_set(err, r, "user namespace: cannot map uid %u: %s", (unsigned)p->uid, strerror(-r));
		} else {
			snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)p->gid, (unsigned)p->gid);
			if ((r = cg_proc_write("/proc/self/gid_map", map)) < 0)
				cg_error_set(err, r, "user namespace: cannot map gid %u: %s", (unsigned)p->gid,
					     strerror(-r));
		}
	}
	if (dumpable == 0)
		(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	return r;
}

int cg_ns_check(const struct cg_ns_plan *p, struct cg_error *err)
{
	int st = 0;
	if (!p->flags)
		return 0;
	fflush(NULL);
	pid_t pid = cg_ns_clone(p, err);
	if (pid < 0)
		return pid;
	if (pid == 0)
		_exit(cg_ns_map_self(p, NULL) < 0 ? 1 : 0);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return cg_error_set(err, -EPERM, "user namespace: cannot map the caller's ids %u:%u",
				    (unsigned)p->uid, (unsigned)p->gid);
	return 0;
}

void cg_ns_describe(const struct cg_ns_plan *p, struct cg_strbuf *out)
{
	struct cg_error err = { 0 };
	bool any = false;

	if (cg_ns_check(p, &err) < 0) {
		cg_strbuf_addf(out, "namespaces: NOT AVAILABLE: %s -- capgate run refuses to run\n", err.msg);
		return;
	}
	cg_strbuf_addf(out, "namespaces (created in a check just now):");
	if (p->rootless)
		cg_strbuf_addf(out, " user (caller's ids only)");
	for (size_t i = 0; i < CG_ARRAY_SIZE(ns_table); i++)
		if (p->flags & ns_table[i].flag)
			cg_strbuf_addf(out, "%s %s", p->rootless || any ? "," : "", ns_table[i].name), any = true;
	if (!p->flags)
		cg_strbuf_addf(out, " none new");
	cg_strbuf_addf(out, "\nnamespaces shared with capgate:");
	any = false;
	for (size_t i = 0; i < CG_ARRAY_SIZE(ns_table); i++)
		if (!(p->flags & ns_table[i].flag))
			cg_strbuf_addf(out, "%s %s", any ? "," : "", ns_table[i].name), any = true;
	if (!any)
		cg_strbuf_addf(out, " none of pid, ipc, uts, cgroup");
	cg_strbuf_addf(out, " (network: the network line; mount: the filesystem view)\n");
	if (p->flags & CLONE_NEWPID)
		cg_strbuf_addf(out, "init: capgate's init is PID 1 (forwards signals, reaps, exits with the program's "
				    "status); a process outside cannot be named by pid (kill, ptrace, pidfd_open)\n");
}
