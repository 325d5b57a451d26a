/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal: the mount side of the sandbox (lib/runtime/fsview.c).
 *
 * Landlock decides which paths a program may open, but not what it may do to
 * an inode's metadata (chmod, chown, utimensat, setxattr), nor whether a
 * device node it makes can be opened, nor whether ld.so may map code written
 * in a granted directory. Mount flags decide those, for every call at once:
 * a read-only, nosuid, nodev view of the whole tree, the --fs-rw paths bound
 * back read-write but nodev,nosuid,noexec, a fresh /proc, a minimal /dev and
 * private propagation so nothing mounted inside reaches the host.
 *
 * As with Landlock, the plan is made in the parent (paths resolved and
 * checked, kernel support probed) and applied in the child, which must hold
 * CAP_SYS_ADMIN in its user namespace.
 */
#ifndef CAPGATE_RUNTIME_FSVIEW_H
#define CAPGATE_RUNTIME_FSVIEW_H

#include <capgate/sandbox.h>
#include <sys/types.h>

#include "runtime/landlock.h"

/* A grant that needs a mount of its own: an --fs-rw path, an --fs-ro path
 * beneath one, or any grant beneath /dev (bound into the minimal /dev). */
struct cg_fsview_bind {
	char *path;  /* canonical */
	bool rw;     /* rw,nosuid,nodev,noexec (else ro,nosuid,nodev) */
	bool in_dev; /* beneath /dev */
	bool device; /* a device node: bound ro,nosuid,noexec, devices allowed */
};

/* One --tmpfs path. */
struct cg_fsview_tmpfs {
	char *path;  /* canonical */
	mode_t mode; /* the directory's mode, given to the tmpfs root */
};

struct cg_fsview {
	bool mount_ns;                /* a new mount namespace, private propagation */
	bool mount_ns_optional;       /* nothing to mount: a program that cannot mount may stay in the caller's */
	bool unprivileged;            /* capgate itself holds no CAP_SYS_ADMIN */
	bool view;                    /* the read-only view is built (any --fs-* option) */
	bool pid_ns;                  /* the orchestrator puts the program in a new PID namespace */
	bool memfd_noexec;            /* vm.memfd_noexec = 2 is set in that PID namespace */
	bool memfd_sysctl;            /* the kernel has vm.memfd_noexec */
	bool memfd_seccomp;           /* instead: a seccomp rule requires MFD_NOEXEC_SEAL */
	ino_t host_pid_ns;            /* the parent's PID namespace, to tell a new one apart */
	struct cg_fsview_bind *binds; /* sorted: parents first */
	size_t n_binds;
	struct cg_fsview_tmpfs *tmpfs;
	size_t n_tmpfs;
	char **missing; /* one sentence per protection that is not in force */
	size_t n_missing;
};

/* Plan the view for @o. @pid_ns: the program will run in a new PID
 * namespace (needed for a /proc that shows only the sandbox and for
 * vm.memfd_noexec). Each --tmpfs path is also granted read-write in the
 * Landlock plan @ll when it holds --fs-* rules (call before
 * cg_landlock_plan). Fails, naming the option and the path, when a path is
 * missing or of the wrong type, and with -EOPNOTSUPP when the kernel cannot
 * build the view (and the user did not turn it off). */
int cg_fsview_plan(struct cg_fsview *fv, const struct cg_sandbox_opts *o, bool pid_ns, struct cg_landlock *ll,
		   struct cg_error *err);

/* Free what the plan holds (not @fv itself). */
void cg_fsview_release(struct cg_fsview *fv);

/* Append the mounts for a dry run: each with its flags, /proc, /dev, the
 * tmpfs mounts and memfd_noexec -- only what is in force. */
void cg_fsview_describe(const struct cg_fsview *fv, struct cg_strbuf *out);

/* In the child: enter a new mount namespace and build the view, then
 * pivot_root into it. @ll is the Landlock plan (may be NULL): each of its
 * descriptors is re-pointed at what its path names in the view (a new /proc,
 * /dev/shm or tmpfs has new inodes). Every step that fails
 * is named in @err; the process is then partly set up: call it in a child. */
int cg_fsview_apply(const struct cg_fsview *fv, const struct cg_landlock *ll, struct cg_error *err);

#endif
