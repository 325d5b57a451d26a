// SPDX-License-Identifier: Apache-2.0
/*
 * The filesystem view of the runtime gate (see fsview.h for why mounts and
 * not only Landlock).
 *
 * Built with the new mount API (open_tree, mount_setattr, move_mount,
 * fsopen/fsmount, Linux 5.12): the whole tree is cloned once and made
 * read-only, nosuid and nodev recursively by one mount_setattr() call -- no
 * walk over /proc/self/mountinfo that a mount racing with it could slip
 * through, and mounts the host adds later are not in the clone at all. The
 * clone is attached at a staging directory of the (private) old tree, the
 * grants are bound into it by paths resolved with RESOLVE_IN_ROOT (a symlink
 * in the tree cannot point a bind at the host), then pivot_root(".", ".")
 * makes it the root and the old tree is detached.
 *
 * Landlock rules are attached to inodes, and the sandbox mounts new ones
 * (/proc, /dev/shm, --tmpfs): after the pivot every Landlock path is opened
 * again in the view and its descriptor re-pointed there, so the rules name
 * what the program sees.
 */
#include <capgate/strbuf.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/fsview.h"

#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#define MOUNT_ATTR_NOSUID 0x00000002
#define MOUNT_ATTR_NODEV 0x00000004
#define MOUNT_ATTR_NOEXEC 0x00000008
#endif

#define ATTR_RO (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV)
#define ATTR_RW (MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)

/* The device nodes of the minimal /dev (bubblewrap's --dev set). */
static const char *const dev_nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };
static const struct {
	const char *name, *target;
} dev_links[] = {
	{ "fd", "/proc/self/fd" },
	{ "stdin", "/proc/self/fd/0" },
	{ "stdout", "/proc/self/fd/1" },
	{ "stderr", "/proc/self/fd/2" },
	{ "ptmx", "pts/ptmx" },
};
/* Docker's read-only and masked /proc paths: the kernel's knobs and what
 * leaks the host (kernel memory, keys, timers). */
static const char *const proc_ro[] = { "sys", "sysrq-trigger", "irq", "bus", "fs", "asound" };
static const char *const proc_masked[] = { "kcore", "keys", "timer_list", "sched_debug",
					   "latency_stats", "timer_stats", "acpi", "scsi" };

/* ---- planning (parent) ------------------------------------------------------ */

__attribute__((format(printf, 2, 3))) static int add_missing(struct cg_fsview *fv, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	char **n = realloc(fv->missing, (fv->n_missing + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	fv->missing = n;
	va_start(ap, fmt);
	int r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	fv->missing[fv->n_missing++] = s;
	return 0;
}

void cg_fsview_release(struct cg_fsview *fv)
{
	for (size_t i = 0; i < fv->n_binds; i++)
		free(fv->binds[i].path);
	for (size_t i = 0; i < fv->n_tmpfs; i++)
		free(fv->tmpfs[i].path);
	for (size_t i = 0; i < fv->n_missing; i++)
		free(fv->missing[i]);
	free(fv->binds);
	free(fv->tmpfs);
	free(fv->missing);
	*fv = (struct cg_fsview){ 0 };
}

static bool beneath(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	if (strcmp(dir, "/") == 0)
		return true;
	return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

static int cmp_bind(const void *a, const void *b)
{
	return strcmp(((const struct cg_fsview_bind *)a)->path, ((const struct cg_fsview_bind *)b)->path);
}

/* The canonical form of a granted path, and what it is. */
static int resolve(const char *opt, const char *path, char **ret, struct stat *st, struct cg_error *err)
{
	char *c = realpath(path, NULL);
	if (!c)
		return cg_error_set(err, -errno, "%s %s: %s", opt, path, strerror(errno));
	if (stat(c, st) < 0) {
		int e = errno;
		free(c);
		return cg_error_set(err, -e, "%s %s: %s", opt, path, strerror(e));
	}
	*ret = c;
	return 0;
}

static int add_bind(struct cg_fsview *fv, const char *opt, const char *path, bool rw, struct cg_error *err)
{
	struct stat st;
	char *c;
	int r = resolve(opt, path, &c, &st, err);
	if (r < 0)
		return r;
	bool in_dev = beneath(c, "/dev");
	if (rw && strcmp(c, "/") == 0) {
		r = cg_error_set(err, -EINVAL, "%s %s: the whole tree cannot be granted read-write in the view", opt,
				 path);
		free(c);
		return r;
	}
	/* /proc is the sandbox's own: Landlock's rules follow it there, and
	 * the mount flags are those of that /proc. */
	if (beneath(c, "/proc")) {
		free(c);
		return 0;
	}
	/* A read-only grant needs no mount (the view is read-only), unless it
	 * lies beneath a read-write one or in the minimal /dev. */
	struct cg_fsview_bind *n = realloc(fv->binds, (fv->n_binds + 1) * sizeof(*n));
	if (!n) {
		free(c);
		return cg_error_set(err, -ENOMEM, "out of memory");
	}
	fv->binds = n;
	fv->binds[fv->n_binds++] = (struct cg_fsview_bind){
		.path = c,
		.rw = rw,
		.in_dev = in_dev,
		.device = S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode),
	};
	return 0;
}

/* Does the calling process hold CAP_SYS_ADMIN (in its user namespace)? */
static bool have_sys_admin(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = { 0 };
	if (syscall(SYS_capget, &h, d) < 0)
		return false;
	return d[CAP_TO_INDEX(CAP_SYS_ADMIN)].effective & CAP_TO_MASK(CAP_SYS_ADMIN);
}

/* Does the kernel have this system call? (-1 arguments: EBADF/EINVAL if so.) */
static bool have_syscall(long nr)
{
	errno = 0;
	long r = syscall(nr, -1, NULL, 0, NULL, 0);
	return !(r < 0 && errno == ENOSYS);
}

int cg_fsview_plan(struct cg_fsview *fv, const struct cg_sandbox_opts *o, bool pid_ns, struct cg_landlock *ll,
		   struct cg_error *err)
{
	static const struct {
		long nr;
		const char *name;
	} calls[] = {
		{ SYS_open_tree, "open_tree" },
		{ SYS_move_mount, "move_mount" },
		{ SYS_mount_setattr, "mount_setattr" },
		{ SYS_fsopen, "fsopen" },
		{ SYS_fsmount, "fsmount" },
		{ SYS_openat2, "openat2" },
	};
	struct stat st;
	int r;

	*fv = (struct cg_fsview){ .mount_ns = !o->no_mount_ns, .pid_ns = pid_ns };
	fv->view = fv->mount_ns && (o->n_fs_ro || o->n_fs_rw || o->fs_system);
	if (stat("/proc/self/ns/pid", &st) == 0)
		fv->host_pid_ns = st.st_ino;
	/* Without CAP_SYS_ADMIN over capgate's mount namespace the program
	 * cannot mount in it either (a user namespace of its own comes with a
	 * mount namespace of its own): a new one adds nothing unless there is
	 * a view, a tmpfs or a /proc to set up. */
	fv->mount_ns_optional = fv->mount_ns && !fv->view && !o->n_tmpfs && !pid_ns;
	fv->unprivileged = !have_sys_admin();
	if (!fv->mount_ns) {
		if (o->n_tmpfs)
			return cg_error_set(err, -EINVAL, "--tmpfs needs the sandbox's mount namespace (--no-mount-ns "
							  "turns it off)");
		return 0;
	}
	if (fv->view)
		for (size_t i = 0; i < CG_ARRAY_SIZE(calls); i++)
			if (!have_syscall(calls[i].nr))
				return cg_error_set(err, -EOPNOTSUPP,
						    "read-only filesystem view: the kernel lacks %s() (Linux 5.12 has "
						    "every call it needs); --no-mount-ns runs with Landlock alone",
						    calls[i].name);

	for (size_t i = 0; fv->view && i < o->n_fs_rw; i++)
		if ((r = add_bind(fv, "--fs-rw", o->fs_rw[i], true, err)) < 0)
			return r;
	for (size_t i = 0; fv->view && i < o->n_fs_ro; i++)
		if ((r = add_bind(fv, "--fs-ro", o->fs_ro[i], false, err)) < 0)
			return r;
	/* Keep the read-only grants that need a mount: beneath a read-write
	 * one, or in /dev. */
	size_t k = 0;
	for (size_t i = 0; i < fv->n_binds; i++) {
		struct cg_fsview_bind *b = &fv->binds[i];
		bool keep = b->rw || b->in_dev;
		for (size_t j = 0; j < fv->n_binds && !keep; j++)
			keep = fv->binds[j].rw && j != i && beneath(b->path, fv->binds[j].path) &&
			       strcmp(b->path, fv->binds[j].path) != 0;
		if (keep)
			fv->binds[k++] = *b;
		else
			free(b->path);
	}
	fv->n_binds = k;
	if (fv->n_binds > 1)
		qsort(fv->binds, fv->n_binds, sizeof(*fv->binds), cmp_bind); /* parents first */

	for (size_t i = 0; i < o->n_tmpfs; i++) {
		char *c;
		if ((r = resolve("--tmpfs", o->tmpfs[i], &c, &st, err)) < 0)
			return r;
		if (!S_ISDIR(st.st_mode) || strcmp(c, "/") == 0 || beneath(c, "/proc")) {
			r = cg_error_set(err, S_ISDIR(st.st_mode) ? -EINVAL : -ENOTDIR, "--tmpfs %s: %s", o->tmpfs[i],
					 !S_ISDIR(st.st_mode)  ? "not a directory"
					 : strcmp(c, "/") == 0 ? "cannot cover the whole tree"
							       : "the sandbox has a /proc of its own");
			free(c);
			return r;
		}
		struct cg_fsview_tmpfs *n = realloc(fv->tmpfs, (fv->n_tmpfs + 1) * sizeof(*n));
		if (!n) {
			free(c);
			return cg_error_set(err, -ENOMEM, "out of memory");
		}
		fv->tmpfs = n;
		fv->tmpfs[fv->n_tmpfs++] = (struct cg_fsview_tmpfs){ .path = c, .mode = st.st_mode & 07777 };
		/* Under --fs-* rules the tmpfs is usable only with a rule of its own. */
		if (fv->view && (r = cg_landlock_add_path(ll, c, true, false, err)) < 0)
			return r;
	}

	fv->memfd_sysctl = access("/proc/sys/vm/memfd_noexec", F_OK) == 0;
	if (fv->view && !o->allow_memfd_exec) {
		/* vm.memfd_noexec = 2 where it can be set: root with a PID namespace
		 * of its own. The sysctl is per PID namespace, but its file checks
		 * the host's root uid, so an ordinary user cannot write it even in
		 * its own user and PID namespaces; without a PID namespace it would
		 * change the host's. There a seccomp rule does it instead: every
		 * memfd_create must ask for MFD_NOEXEC_SEAL (the same flag, 6.3). */
		r = 0;
		if (!fv->memfd_sysctl)
			r = add_missing(fv, "memfd exec not blocked: the kernel has no vm.memfd_noexec nor "
					    "MFD_NOEXEC_SEAL (Linux 6.3); a program written to a memfd can run");
		else if (pid_ns && geteuid() == 0)
			fv->memfd_noexec = true;
		else
			fv->memfd_seccomp = true;
		if (r < 0)
			return cg_error_set(err, -ENOMEM, "out of memory");
	}
	return 0;
}

static void describe_attr(struct cg_strbuf *out, unsigned attr)
{
	cg_strbuf_addf(out, "%s%s%s%s", attr & MOUNT_ATTR_RDONLY ? "ro" : "rw", attr & MOUNT_ATTR_NOSUID ? ",nosuid" : "",
		       attr & MOUNT_ATTR_NODEV ? ",nodev" : "", attr & MOUNT_ATTR_NOEXEC ? ",noexec" : "");
}

void cg_fsview_describe(const struct cg_fsview *fv, struct cg_strbuf *out)
{
	static const char masked[] = "/proc/{kcore,keys,timer_list,sched_debug,latency_stats,timer_stats,acpi,scsi}";
	if (!fv->mount_ns) {
		cg_strbuf_addf(out, "mounts: the caller's mount namespace (--no-mount-ns): no read-only view, "
				    "metadata outside --fs-rw is not protected\n");
		return;
	}
	if (fv->mount_ns_optional && fv->unprivileged)
		cg_strbuf_addf(out, "mounts: capgate's mount namespace unless the program can mount (it holds no "
				    "CAP_SYS_ADMIN over it, so it cannot mount there)\n");
	else
		cg_strbuf_addf(out, "mounts: new mount namespace, private propagation (nothing mounted inside reaches "
				    "the host)\n");
	if (fv->view) {
		cg_strbuf_addf(out, "  / (everything else): ");
		describe_attr(out, ATTR_RO);
		cg_strbuf_addf(out, " (recursive, pivot_root into the view)\n");
		for (size_t i = 0; i < fv->n_binds; i++) {
			const struct cg_fsview_bind *b = &fv->binds[i];
			cg_strbuf_addf(out, "  %s: ", b->path);
			describe_attr(out, b->device ? MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC
					   : b->rw   ? ATTR_RW
						     : ATTR_RO);
			cg_strbuf_addf(out, "%s\n", b->device ? " (device node)" : "");
		}
	}
	if (fv->pid_ns)
		cg_strbuf_addf(out, "  /proc: new proc, rw,nosuid,nodev,noexec, shows the sandbox's processes only; "
				    "read-only: /proc/{sys,sysrq-trigger,irq,bus,fs,asound}; masked: %s\n",
			       masked);
	else if (fv->view)
		cg_strbuf_addf(out, "  /proc: the host's, ro,nosuid,nodev (no PID namespace: it shows the host's "
				    "processes); masked: %s\n",
			       masked);
	else
		cg_strbuf_addf(out, "  /proc: the host's\n");
	if (fv->view) {
		cg_strbuf_addf(out, "  /dev: new tmpfs, ro,nosuid,nodev,noexec, with");
		for (size_t i = 0; i < CG_ARRAY_SIZE(dev_nodes); i++)
			cg_strbuf_addf(out, " %s", dev_nodes[i]);
		cg_strbuf_addf(out, " (host nodes bound ro,nosuid,noexec), fd/std* links, pts (new devpts, "
				    "rw,nosuid,noexec), shm (new tmpfs, rw,nosuid,nodev,noexec)\n");
	}
	for (size_t i = 0; i < fv->n_tmpfs; i++) {
		cg_strbuf_addf(out, "  %s: new tmpfs, ", fv->tmpfs[i].path);
		describe_attr(out, ATTR_RW);
		cg_strbuf_addf(out, "\n");
	}
	if (fv->view)
		cg_strbuf_addf(out, "  memfd exec: %s\n",
			       fv->memfd_noexec    ? "denied (vm.memfd_noexec = 2 in the PID namespace)"
			       : fv->memfd_seccomp ? "denied (seccomp: memfd_create must ask for MFD_NOEXEC_SEAL; "
						     "vm.memfd_noexec cannot be set here)"
			       : fv->n_missing     ? "not blocked (see missing protections)"
						   : "allowed (--allow-memfd-exec)");
}

/* ---- applying (child) ------------------------------------------------------- */

static int fail(struct cg_error *err, int e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct cg_error *err, int e, const char *fmt, ...)
{
	char msg[CG_ERROR_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return cg_error_set(err, -e, "%s: %s", msg, strerror(e));
}

static int setattr(int fd, unsigned flags, uint64_t set, uint64_t clr)
{
	struct mount_attr a = { .attr_set = set, .attr_clr = clr };
	return (int)syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | flags, &a, sizeof(a));
}

/* @path (absolute) inside the tree rooted at @root, never outside it. */
static int open_in(int root, const char *path, int flags)
{
	struct open_how how = { .flags = (uint64_t)(flags | O_CLOEXEC),
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	return (int)syscall(SYS_openat2, root, path, &how, sizeof(how));
}

/* Attach the detached mount @src at @path in the tree @root. */
static int attach(int src, int root, const char *path)
{
	int t = open_in(root, path, O_PATH);
	if (t < 0)
		return -1;
	int r = move_mount(src, "", t, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
	int e = errno;
	close(t);
	errno = e;
	return r;
}

/* A new detached instance of @type with @opts ("key=value,flag"). */
static int new_fs(const char *type, const char *opts, unsigned attr)
{
	int fc = fsopen(type, FSOPEN_CLOEXEC), m = -1, e;
	char buf[128];
	if (fc < 0)
		return -1;
	snprintf(buf, sizeof(buf), "%s", opts ? opts : "");
	for (char *save = NULL, *kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *v = strchr(kv, '=');
		if (v)
			*v++ = '\0';
		if (fsconfig(fc, v ? FSCONFIG_SET_STRING : FSCONFIG_SET_FLAG, kv, v, 0) < 0)
			goto out;
	}
	if (fsconfig(fc, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		goto out;
	m = fsmount(fc, FSMOUNT_CLOEXEC, attr);
out:
	e = errno;
	close(fc);
	errno = e;
	return m;
}

/* A clone of the host's @path (one mount, or the tree beneath with @flags
 * AT_RECURSIVE) with @set/@clr applied. */
static int clone_path(int dirfd, const char *path, unsigned flags, uint64_t set, uint64_t clr)
{
	int m = open_tree(dirfd, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | flags);
	if (m < 0)
		return -1;
	if (setattr(m, flags & AT_RECURSIVE, set, 0) < 0 || (clr && setattr(m, 0, 0, clr) < 0)) {
		int e = errno;
		close(m);
		errno = e;
		return -1;
	}
	return m;
}

static int write_at(int root, const char *path, const char *s)
{
	int fd = open_in(root, path, O_WRONLY);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, s, strlen(s));
	int e = errno;
	close(fd);
	errno = e;
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

/* /proc in @root, with Docker's read-only and masked paths: a new proc in
 * a PID namespace of the program's own; else the host's, which the view
 * already made read-only (a new one would show the same processes, and
 * cannot be mounted from a user namespace that does not own the PID
 * namespace). */
static int setup_proc(const struct cg_fsview *fv, int root, bool in_pid_ns, struct cg_error *err)
{
	int pm, r = 0;
	if (!in_pid_ns) {
		pm = open_in(root, "/proc", O_PATH | O_DIRECTORY);
		if (pm < 0)
			return fail(err, errno, "/proc: opening it in the view");
		goto mask;
	}
	pm = new_fs("proc", NULL, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
	if (pm < 0)
		return fail(err, errno, "/proc: mounting a new proc");
	if (attach(pm, root, "/proc") < 0) {
		r = fail(err, errno, "/proc: attaching the new proc");
		goto out;
	}
	if (fv->memfd_noexec && in_pid_ns) {
		char v[8] = { 0 };
		int fd;
		if (write_at(pm, "sys/vm/memfd_noexec", "2") < 0) {
			r = fail(err, errno, "memfd exec: setting vm.memfd_noexec = 2 in the PID namespace");
			goto out;
		}
		/* Read it back: the value must hold in this namespace. */
		fd = open_in(pm, "sys/vm/memfd_noexec", O_RDONLY);
		if (fd < 0 || read(fd, v, sizeof(v) - 1) < 1 || v[0] != '2') {
			r = cg_error_set(err, -EIO, "memfd exec: vm.memfd_noexec reads '%s' after setting 2",
					 v[0] ? v : "(unreadable)");
			if (fd >= 0)
				close(fd);
			goto out;
		}
		close(fd);
	}
	for (size_t i = 0; i < CG_ARRAY_SIZE(proc_ro); i++) {
		if (faccessat(pm, proc_ro[i], F_OK, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		int m = clone_path(pm, proc_ro[i], 0, ATTR_RO | MOUNT_ATTR_NOEXEC, 0);
		if (m < 0 || move_mount(m, "", pm, proc_ro[i], MOVE_MOUNT_F_EMPTY_PATH) < 0) {
			r = fail(err, errno, "/proc/%s: binding it read-only", proc_ro[i]);
			if (m >= 0)
				close(m);
			goto out;
		}
		close(m);
	}
mask:
	for (size_t i = 0; i < CG_ARRAY_SIZE(proc_masked); i++) {
		struct stat st;
		int m;
		if (fstatat(pm, proc_masked[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			m = new_fs("tmpfs", "size=0,mode=0555", ATTR_RO | MOUNT_ATTR_NOEXEC);
		else
			m = clone_path(AT_FDCWD, "/dev/null", 0, ATTR_RO | MOUNT_ATTR_NOEXEC, 0);
		if (m < 0 || move_mount(m, "", pm, proc_masked[i], MOVE_MOUNT_F_EMPTY_PATH) < 0) {
			r = fail(err, errno, "/proc/%s: masking it", proc_masked[i]);
			if (m >= 0)
				close(m);
			goto out;
		}
		close(m);
	}
out:
	close(pm);
	return r;
}

/* A bind of a host device node (or a granted path in /dev) into the new /dev. */
static int bind_dev(int devdir, const char *name, const char *host, bool rw_dir, bool is_dir, struct cg_error *err)
{
	int fd;
	/* the mount point: a file or a directory in the new /dev */
	if (is_dir)
		fd = mkdirat(devdir, name, 0755) < 0 && errno != EEXIST ? -1 : 0;
	else if ((fd = openat(devdir, name, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600)) >= 0)
		close(fd);
	if (fd < 0)
		return fail(err, errno, "/dev/%s: making the mount point", name);
	int m = clone_path(AT_FDCWD, host, is_dir ? AT_RECURSIVE : 0,
			   rw_dir ? ATTR_RW : MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC,
			   rw_dir ? MOUNT_ATTR_RDONLY : 0);
	if (m < 0 || move_mount(m, "", devdir, name, MOVE_MOUNT_F_EMPTY_PATH) < 0) {
		int r = fail(err, errno, "/dev/%s: binding %s", name, host);
		if (m >= 0)
			close(m);
		return r;
	}
	close(m);
	return 0;
}

/* The minimal /dev in @root, plus the grants beneath /dev; then read-only. */
static int setup_dev(const struct cg_fsview *fv, int root, struct cg_error *err)
{
	int dm = new_fs("tmpfs", "mode=0755,size=64k", MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
	int r = 0, m;
	char host[PATH_MAX];
	if (dm < 0)
		return fail(err, errno, "/dev: mounting a new tmpfs");
	if (attach(dm, root, "/dev") < 0) {
		r = fail(err, errno, "/dev: attaching the new tmpfs");
		goto out;
	}
	for (size_t i = 0; i < CG_ARRAY_SIZE(dev_nodes); i++) {
		snprintf(host, sizeof(host), "/dev/%s", dev_nodes[i]);
		if ((r = bind_dev(dm, dev_nodes[i], host, false, false, err)) < 0)
			goto out;
	}
	for (size_t i = 0; i < CG_ARRAY_SIZE(dev_links); i++)
		if (symlinkat(dev_links[i].target, dm, dev_links[i].name) < 0) {
			r = fail(err, errno, "/dev/%s: symlink to %s", dev_links[i].name, dev_links[i].target);
			goto out;
		}
	if (mkdirat(dm, "shm", 01777) < 0 || mkdirat(dm, "pts", 0755) < 0) {
		r = fail(err, errno, "/dev: making shm and pts");
		goto out;
	}
	m = new_fs("tmpfs", "mode=1777", ATTR_RW);
	if (m < 0 || move_mount(m, "", dm, "shm", MOVE_MOUNT_F_EMPTY_PATH) < 0) {
		r = fail(err, errno, "/dev/shm: mounting a new tmpfs");
		if (m >= 0)
			close(m);
		goto out;
	}
	close(m);
	m = new_fs("devpts", "newinstance,ptmxmode=0666,mode=0620", MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
	if (m < 0 || move_mount(m, "", dm, "pts", MOVE_MOUNT_F_EMPTY_PATH) < 0) {
		r = fail(err, errno, "/dev/pts: mounting a new devpts");
		if (m >= 0)
			close(m);
		goto out;
	}
	close(m);
	/* Grants beneath /dev: device nodes as on the host (read-only mount:
	 * the node's mode and owner cannot change), directories rw or ro. */
	for (size_t i = 0; i < fv->n_binds; i++) {
		const struct cg_fsview_bind *b = &fv->binds[i];
		struct stat st;
		const char *name = b->path + strlen("/dev/");
		if (!b->in_dev)
			continue;
		if (strcmp(b->path, "/dev") == 0) {
			r = cg_error_set(err, -EINVAL, "--fs-%s /dev: the sandbox has a minimal /dev of its own; grant "
						       "the devices beneath it",
					 b->rw ? "rw" : "ro");
			goto out;
		}
		if (stat(b->path, &st) < 0) {
			r = fail(err, errno, "%s", b->path);
			goto out;
		}
		/* parent directories of a nested grant */
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s", name);
		for (char *s = strchr(dir, '/'); s; s = strchr(s + 1, '/')) {
			*s = '\0';
			if (mkdirat(dm, dir, 0755) < 0 && errno != EEXIST) {
				r = fail(err, errno, "/dev/%s: making the directory", dir);
				goto out;
			}
			*s = '/';
		}
		if ((r = bind_dev(dm, name, b->path, b->rw && !b->device, S_ISDIR(st.st_mode), err)) < 0)
			goto out;
	}
	if (setattr(dm, 0, MOUNT_ATTR_RDONLY, 0) < 0)
		r = fail(err, errno, "/dev: making it read-only");
out:
	close(dm);
	return r;
}

/* Point each Landlock descriptor at what its path names in the view. */
static void repoint_landlock(const struct cg_landlock *ll)
{
	for (size_t i = 0; ll && i < ll->n_paths; i++) {
		struct stat a, b;
		int fd = open(ll->paths[i].path, O_PATH | O_CLOEXEC);
		if (fd < 0)
			continue; /* not in the view: the rule names nothing reachable */
		if (fstat(fd, &a) == 0 && fstat(ll->paths[i].fd, &b) == 0 && (a.st_mode & S_IFMT) == (b.st_mode & S_IFMT) &&
		    (a.st_dev != b.st_dev || a.st_ino != b.st_ino))
			dup3(fd, ll->paths[i].fd, O_CLOEXEC);
		close(fd);
	}
}

/* Attach @tree at a directory of the old tree so that pivot_root can take it. */
static int stage(int tree, struct cg_error *err)
{
	static const char *const dirs[] = { "/tmp", "/mnt", "/run", "/var/tmp", "/root", "/srv", "/opt", "/home" };
	int e = ENOENT;
	for (size_t i = 0; i < CG_ARRAY_SIZE(dirs); i++) {
		struct stat st;
		if (lstat(dirs[i], &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		if (move_mount(tree, "", AT_FDCWD, dirs[i], MOVE_MOUNT_F_EMPTY_PATH) == 0)
			return 0;
		e = errno;
	}
	return fail(err, e, "read-only view: attaching the cloned tree (no staging directory among /tmp, /mnt, /run, ...)");
}

int cg_fsview_apply(const struct cg_fsview *fv, const struct cg_landlock *ll, struct cg_error *err)
{
	int root = -1, *rw = NULL, r = 0;
	bool in_pid_ns = false;
	char cwd[PATH_MAX];
	struct stat st;

	if (!fv->mount_ns)
		return 0;
	if (!getcwd(cwd, sizeof(cwd)))
		snprintf(cwd, sizeof(cwd), "/");
	if (unshare(CLONE_NEWNS) < 0) {
		if (errno == EPERM && fv->mount_ns_optional && !have_sys_admin())
			return 0; /* see cg_fsview_plan */
		return fail(err, errno, "mount namespace: unshare(CLONE_NEWNS) (needs CAP_SYS_ADMIN in the user namespace)");
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return fail(err, errno, "mount namespace: making every mount private");
	if (stat("/proc/self/ns/pid", &st) == 0)
		in_pid_ns = fv->host_pid_ns && st.st_ino != fv->host_pid_ns;
	/* Without the view nothing planned here depends on the PID namespace
	 * (a direct cg_sandbox_apply caller keeps its /proc); with it, the
	 * fresh /proc and vm.memfd_noexec do: refuse rather than claim them. */
	if (fv->pid_ns && !in_pid_ns && fv->view)
		return cg_error_set(err, -EINVAL, "mount namespace: the program is not in a new PID namespace: its "
						  "/proc and vm.memfd_noexec cannot be set up");

	if (fv->view) {
		/* Clone the grants before the view hides the host tree. */
		rw = calloc(fv->n_binds + 1, sizeof(*rw));
		if (!rw)
			return cg_error_set(err, -ENOMEM, "out of memory");
		for (size_t i = 0; i < fv->n_binds; i++)
			rw[i] = -1;
		root = open_tree(AT_FDCWD, "/", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
		if (root < 0) {
			r = fail(err, errno, "read-only view: cloning the mount tree");
			goto out;
		}
		if (setattr(root, AT_RECURSIVE, ATTR_RO, 0) < 0) {
			r = fail(err, errno, "read-only view: mount_setattr(ro,nosuid,nodev, recursive)");
			goto out;
		}
		for (size_t i = 0; i < fv->n_binds; i++) {
			const struct cg_fsview_bind *b = &fv->binds[i];
			if (b->in_dev)
				continue;
			rw[i] = clone_path(AT_FDCWD, b->path, AT_RECURSIVE, b->rw ? ATTR_RW : ATTR_RO,
					   b->rw ? MOUNT_ATTR_RDONLY : 0);
			if (rw[i] < 0) {
				r = fail(err, errno, "--fs-%s %s: binding it %s", b->rw ? "rw" : "ro", b->path,
					 b->rw ? "rw,nosuid,nodev,noexec" : "ro,nosuid,nodev");
				goto out;
			}
		}
		if ((r = stage(root, err)) < 0)
			goto out;
		for (size_t i = 0; i < fv->n_binds; i++)
			if (rw[i] >= 0 && attach(rw[i], root, fv->binds[i].path) < 0) {
				r = fail(err, errno, "--fs-%s %s: attaching it in the view", fv->binds[i].rw ? "rw" : "ro",
					 fv->binds[i].path);
				goto out;
			}
	} else {
		root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (root < 0)
			return fail(err, errno, "mount namespace: opening /");
	}
	if ((fv->view || in_pid_ns) && (r = setup_proc(fv, root, in_pid_ns, err)) < 0)
		goto out;
	if (fv->view && (r = setup_dev(fv, root, err)) < 0)
		goto out;
	for (size_t i = 0; i < fv->n_tmpfs; i++) {
		char opts[32];
		snprintf(opts, sizeof(opts), "mode=%04o", (unsigned)fv->tmpfs[i].mode);
		int m = new_fs("tmpfs", opts, ATTR_RW);
		if (m < 0 || attach(m, root, fv->tmpfs[i].path) < 0) {
			r = fail(err, errno, "--tmpfs %s: mounting it", fv->tmpfs[i].path);
			if (m >= 0)
				close(m);
			goto out;
		}
		close(m);
	}
	if (fv->view) {
		if (fchdir(root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0) {
			r = fail(err, errno, "read-only view: pivot_root into it");
			goto out;
		}
		if (umount2(".", MNT_DETACH) < 0) {
			r = fail(err, errno, "read-only view: detaching the old root");
			goto out;
		}
		if (chdir(cwd) < 0 && chdir("/") < 0) {
			r = fail(err, errno, "read-only view: chdir");
			goto out;
		}
		repoint_landlock(ll);
	} else if (fv->n_tmpfs || in_pid_ns) {
		repoint_landlock(ll);
	}
out:
	for (size_t i = 0; rw && i < fv->n_binds; i++)
		if (rw[i] >= 0)
			close(rw[i]);
	free(rw);
	if (root >= 0)
		close(root);
	return r;
}
