/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal: the namespaces the program's outer process is cloned into
 * (lib/runtime/namespaces.c): user (for an ordinary caller), PID, IPC, UTS,
 * cgroup.
 */
#ifndef CAPGATE_RUNTIME_NAMESPACES_H
#define CAPGATE_RUNTIME_NAMESPACES_H

#include <capgate/sandbox.h>
#include <sys/types.h>

struct cg_ns_plan {
	unsigned long flags; /* CLONE_NEW* */
	bool rootless;       /* CLONE_NEWUSER: the caller's ids mapped to themselves */
	uid_t uid;           /* the caller's, for the maps */
	gid_t gid;
};

/* Which namespaces: all but opts->share_ns, and a user namespace when
 * capgate lacks CAP_SYS_ADMIN (an ordinary user). */
void cg_ns_plan(const struct cg_sandbox_opts *o, struct cg_ns_plan *ret);

/* clone(2) into the plan's namespaces, like fork: 0 in the child. On
 * failure -errno, with a message naming the namespace that cannot be made. */
pid_t cg_ns_clone(const struct cg_ns_plan *p, struct cg_error *err);

/* In the cloned child of a rootless plan: deny setgroups, map the ids. */
int cg_ns_map_self(const struct cg_ns_plan *p, struct cg_error *err);

/* Create the namespaces in a short-lived child; 0 or cg_ns_clone's error. */
int cg_ns_check(const struct cg_ns_plan *p, struct cg_error *err);

/* "namespaces: ..." as checked by cg_ns_check, and what is shared. */
void cg_ns_describe(const struct cg_ns_plan *p, struct cg_strbuf *out);

#endif
