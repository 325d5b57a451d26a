// SPDX-License-Identifier: Apache-2.0
/*
 * The network part of the runtime gate: --net none and --net loopback give
 * the program a network namespace of its own. Without privileges the new
 * namespace needs a user namespace around it; that is created here too,
 * mapped to the caller's own ids so that nothing else about the program
 * changes.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime/netns.h"

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, s, strlen(s));
	int e = n < 0 ? -errno : 0;
	close(fd);
	return e;
}

/* Unprivileged: own a user namespace, mapped to ourselves. */
static int enter_userns(struct cg_error *err)
{
	uid_t uid = getuid();
	gid_t gid = getgid();
	char map[64];

	if (unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0)
		return cg_error_set(err, -errno, "cannot create a network namespace (also not through a user "
						 "namespace): %s",
				    strerror(errno));
	/* A process that changed its ids is not dumpable, and its /proc
	 * files belong to root: dumpable just long enough to map. */
	int dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
	if (dumpable == 0)
		(void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	int r = write_file("/proc/self/setgroups", "deny");
	if (r == 0) {
		snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
		r = write_file("/proc/self/uid_map", map);
	}
	if (r == 0) {
		snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
		r = write_file("/proc/self/gid_map", map);
	}
	if (dumpable == 0)
		(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (r < 0)
		return cg_error_set(err, r, "cannot map ids in the new user namespace: %s", strerror(-r));
	return 0;
}

static int loopback_up(struct cg_error *err)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return cg_error_set(err, -errno, "loopback: socket: %s", strerror(errno));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0 ||
	    (ifr.ifr_flags |= IFF_UP | IFF_RUNNING, ioctl(s, SIOCSIFFLAGS, &ifr) < 0)) {
		int e = errno;
		close(s);
		return cg_error_set(err, -e, "cannot bring lo up: %s", strerror(e));
	}
	close(s);
	return 0;
}

int cg_netns_enter(enum cg_sandbox_netns mode, struct cg_error *err)
{
	int r;

	if (mode == CG_NETNS_HOST)
		return 0;
	if (unshare(CLONE_NEWNET) < 0) {
		int e = errno;
		if (e != EPERM)
			return cg_error_set(err, -e, "cannot create a network namespace: %s", strerror(e));
		if ((r = enter_userns(err)) < 0)
			return r;
	}
	if (mode == CG_NETNS_LOOPBACK)
		return loopback_up(err);
	return 0;
}
