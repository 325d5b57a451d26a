// SPDX-License-Identifier: Apache-2.0
/*
 * Naming a system call for people, as strace does: the call's real argument
 * count, flag and constant names, and the strings it points to --
 * `openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC) [x86_64 nr 257]`.
 * Learn mode uses it for the calls it reports, and only those: decoding
 * reads the workload's memory, so the supervisor hands events over
 * undecoded (cg_sandbox_event.text NULL) and the first few forms of each
 * call are decoded (cg_sandbox_event_text), never a busy loop's repeats.
 * Argument counts and decoders are data: a sorted table (checked by a test).
 *
 * Strings are read from the workload's memory (process_vm_readv, then
 * /proc/PID/mem) for display only: another thread of the workload can
 * change them between the read and the kernel's, so nothing is ever
 * decided on what is read here -- the decision is the filter's, on the
 * registers. An unreadable pointer is printed as its address.
 */
#include <capgate/sandbox.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "closure/closure_internal.h"
#include "closure/syscalls_table.h"
#include "runtime/syscall_fmt.h"
#include "source/trace_internal.h"
#include "source/trace_shared.h"
#include "testing.h"

enum arg_kind {
	A_INT,      /* signed decimal */
	A_HEX,      /* pointer, flags, size */
	A_OCT,      /* mode */
	A_DOMAIN,   /* socket family */
	A_SOCKTYPE, /* socket type | SOCK_* flags */
	A_PATH,     /* NUL-terminated string in the workload's memory */
	A_DIRFD,    /* directory fd: AT_FDCWD */
	A_OFLAGS,   /* O_* flags (also the O_CLOEXEC of pipe2, dup3, epoll_create1) */
	A_PROT,     /* PROT_* */
	A_MAPFLAGS, /* MAP_* */
	A_CLONE,    /* CLONE_* | exit signal */
	A_ATFLAGS,  /* AT_* */
	A_NAMED,    /* a command: fcntl's F_*, prctl's PR_*, ioctl's request */
	A_SIG,      /* a signal number */
};

struct call_shape {
	char name[CG_SYSCALL_NAME_CAP]; /* in place: no relocation at start (syscalls_table.h) */
	uint8_t nargs;
	uint8_t kind[6];
};

/* Sorted by name (cg_syscall_fmt_table_valid checks it). */
static const struct call_shape call_shapes[] = {
	{ "accept", 3, { A_INT, A_HEX, A_HEX } },
	{ "accept4", 4, { A_INT, A_HEX, A_HEX, A_HEX } },
	{ "access", 2, { A_PATH, A_OCT } },
	{ "arch_prctl", 2, { A_HEX, A_HEX } },
	{ "bind", 3, { A_INT, A_HEX, A_INT } },
	{ "bpf", 3, { A_INT, A_HEX, A_INT } },
	{ "brk", 1, { A_HEX } },
	{ "chdir", 1, { A_PATH } },
	{ "chmod", 2, { A_PATH, A_OCT } },
	{ "chown", 3, { A_PATH, A_INT, A_INT } },
	{ "chroot", 1, { A_PATH } },
	{ "clock_gettime", 2, { A_INT, A_HEX } },
	{ "clock_nanosleep", 4, { A_INT, A_HEX, A_HEX, A_HEX } },
	{ "clone", 5, { A_CLONE, A_HEX, A_HEX, A_HEX, A_HEX } },
	{ "clone3", 2, { A_HEX, A_INT } },
	{ "close", 1, { A_INT } },
	{ "close_range", 3, { A_INT, A_INT, A_HEX } },
	{ "connect", 3, { A_INT, A_HEX, A_INT } },
	{ "creat", 2, { A_PATH, A_OCT } },
	{ "dup", 1, { A_INT } },
	{ "dup2", 2, { A_INT, A_INT } },
	{ "dup3", 3, { A_INT, A_INT, A_OFLAGS } },
	{ "epoll_create1", 1, { A_OFLAGS } },
	{ "epoll_ctl", 4, { A_INT, A_INT, A_INT, A_HEX } },
	{ "epoll_pwait", 6, { A_INT, A_HEX, A_INT, A_INT, A_HEX, A_INT } },
	{ "epoll_wait", 4, { A_INT, A_HEX, A_INT, A_INT } },
	{ "eventfd2", 2, { A_INT, A_HEX } },
	{ "execve", 3, { A_PATH, A_HEX, A_HEX } },
	{ "execveat", 5, { A_DIRFD, A_PATH, A_HEX, A_HEX, A_ATFLAGS } },
	{ "exit", 1, { A_INT } },
	{ "exit_group", 1, { A_INT } },
	{ "faccessat", 3, { A_DIRFD, A_PATH, A_OCT } },
	{ "faccessat2", 4, { A_DIRFD, A_PATH, A_OCT, A_ATFLAGS } },
	{ "fadvise64", 4, { A_INT, A_INT, A_INT, A_INT } },
	{ "fallocate", 4, { A_INT, A_INT, A_INT, A_INT } },
	{ "fchdir", 1, { A_INT } },
	{ "fchmod", 2, { A_INT, A_OCT } },
	{ "fchmodat", 3, { A_DIRFD, A_PATH, A_OCT } },
	{ "fchown", 3, { A_INT, A_INT, A_INT } },
	{ "fchownat", 5, { A_DIRFD, A_PATH, A_INT, A_INT, A_ATFLAGS } },
	{ "fcntl", 3, { A_INT, A_NAMED, A_HEX } },
	{ "fdatasync", 1, { A_INT } },
	{ "flock", 2, { A_INT, A_INT } },
	{ "fstat", 2, { A_INT, A_HEX } },
	{ "fstatfs", 2, { A_INT, A_HEX } },
	{ "fsync", 1, { A_INT } },
	{ "ftruncate", 2, { A_INT, A_INT } },
	{ "futex", 6, { A_HEX, A_INT, A_INT, A_HEX, A_HEX, A_INT } },
	{ "getcwd", 2, { A_HEX, A_INT } },
	{ "getdents64", 3, { A_INT, A_HEX, A_INT } },
	{ "getegid", 0, { 0 } },
	{ "geteuid", 0, { 0 } },
	{ "getgid", 0, { 0 } },
	{ "getpgrp", 0, { 0 } },
	{ "getpid", 0, { 0 } },
	{ "getppid", 0, { 0 } },
	{ "getrandom", 3, { A_HEX, A_INT, A_HEX } },
	{ "getrlimit", 2, { A_INT, A_HEX } },
	{ "getsockname", 3, { A_INT, A_HEX, A_HEX } },
	{ "getsockopt", 5, { A_INT, A_INT, A_INT, A_HEX, A_HEX } },
	{ "gettid", 0, { 0 } },
	{ "getuid", 0, { 0 } },
	{ "inotify_add_watch", 3, { A_INT, A_PATH, A_HEX } },
	{ "inotify_init1", 1, { A_OFLAGS } },
	{ "io_uring_enter", 6, { A_INT, A_INT, A_INT, A_HEX, A_HEX, A_INT } },
	{ "io_uring_register", 4, { A_INT, A_INT, A_HEX, A_INT } },
	{ "io_uring_setup", 2, { A_INT, A_HEX } },
	{ "ioctl", 3, { A_INT, A_NAMED, A_HEX } },
	{ "kill", 2, { A_INT, A_SIG } },
	{ "lchown", 3, { A_PATH, A_INT, A_INT } },
	{ "link", 2, { A_PATH, A_PATH } },
	{ "linkat", 5, { A_DIRFD, A_PATH, A_DIRFD, A_PATH, A_ATFLAGS } },
	{ "listen", 2, { A_INT, A_INT } },
	{ "lseek", 3, { A_INT, A_INT, A_INT } },
	{ "lstat", 2, { A_PATH, A_HEX } },
	{ "madvise", 3, { A_HEX, A_HEX, A_INT } },
	{ "memfd_create", 2, { A_PATH, A_HEX } },
	{ "mkdir", 2, { A_PATH, A_OCT } },
	{ "mkdirat", 3, { A_DIRFD, A_PATH, A_OCT } },
	{ "mknod", 3, { A_PATH, A_OCT, A_HEX } },
	{ "mknodat", 4, { A_DIRFD, A_PATH, A_OCT, A_HEX } },
	{ "mmap", 6, { A_HEX, A_HEX, A_PROT, A_MAPFLAGS, A_INT, A_HEX } },
	{ "mount", 5, { A_PATH, A_PATH, A_PATH, A_HEX, A_HEX } },
	{ "mprotect", 3, { A_HEX, A_HEX, A_PROT } },
	{ "mremap", 5, { A_HEX, A_HEX, A_HEX, A_HEX, A_HEX } },
	{ "munmap", 2, { A_HEX, A_HEX } },
	{ "nanosleep", 2, { A_HEX, A_HEX } },
	{ "newfstatat", 4, { A_DIRFD, A_PATH, A_HEX, A_ATFLAGS } },
	{ "open", 3, { A_PATH, A_OFLAGS, A_OCT } },
	{ "openat", 4, { A_DIRFD, A_PATH, A_OFLAGS, A_OCT } },
	{ "pidfd_getfd", 3, { A_INT, A_INT, A_HEX } },
	{ "pidfd_open", 2, { A_INT, A_HEX } },
	{ "pidfd_send_signal", 4, { A_INT, A_SIG, A_HEX, A_HEX } },
	{ "pipe", 1, { A_HEX } },
	{ "pipe2", 2, { A_HEX, A_OFLAGS } },
	{ "pivot_root", 2, { A_PATH, A_PATH } },
	{ "poll", 3, { A_HEX, A_INT, A_INT } },
	{ "ppoll", 5, { A_HEX, A_INT, A_HEX, A_HEX, A_INT } },
	{ "prctl", 5, { A_NAMED, A_HEX, A_HEX, A_HEX, A_HEX } },
	{ "pread64", 4, { A_INT, A_HEX, A_INT, A_INT } },
	{ "prlimit64", 4, { A_INT, A_INT, A_HEX, A_HEX } },
	{ "ptrace", 4, { A_INT, A_INT, A_HEX, A_HEX } },
	{ "pwrite64", 4, { A_INT, A_HEX, A_INT, A_INT } },
	{ "read", 3, { A_INT, A_HEX, A_INT } },
	{ "readlink", 3, { A_PATH, A_HEX, A_INT } },
	{ "readlinkat", 4, { A_DIRFD, A_PATH, A_HEX, A_INT } },
	{ "recvfrom", 6, { A_INT, A_HEX, A_INT, A_HEX, A_HEX, A_HEX } },
	{ "recvmsg", 3, { A_INT, A_HEX, A_HEX } },
	{ "rename", 2, { A_PATH, A_PATH } },
	{ "renameat", 4, { A_DIRFD, A_PATH, A_DIRFD, A_PATH } },
	{ "renameat2", 5, { A_DIRFD, A_PATH, A_DIRFD, A_PATH, A_HEX } },
	{ "rmdir", 1, { A_PATH } },
	{ "rseq", 4, { A_HEX, A_INT, A_HEX, A_HEX } },
	{ "rt_sigaction", 4, { A_SIG, A_HEX, A_HEX, A_INT } },
	{ "rt_sigprocmask", 4, { A_INT, A_HEX, A_HEX, A_INT } },
	{ "rt_sigreturn", 0, { 0 } },
	{ "sched_getaffinity", 3, { A_INT, A_INT, A_HEX } },
	{ "sendfile", 4, { A_INT, A_INT, A_HEX, A_INT } },
	{ "sendmsg", 3, { A_INT, A_HEX, A_HEX } },
	{ "sendto", 6, { A_INT, A_HEX, A_INT, A_HEX, A_HEX, A_INT } },
	{ "set_robust_list", 2, { A_HEX, A_INT } },
	{ "set_tid_address", 1, { A_HEX } },
	{ "setgid", 1, { A_INT } },
	{ "setsid", 0, { 0 } },
	{ "setsockopt", 5, { A_INT, A_INT, A_INT, A_HEX, A_INT } },
	{ "setuid", 1, { A_INT } },
	{ "socket", 3, { A_DOMAIN, A_SOCKTYPE, A_INT } },
	{ "socketpair", 4, { A_DOMAIN, A_SOCKTYPE, A_INT, A_HEX } },
	{ "stat", 2, { A_PATH, A_HEX } },
	{ "statfs", 2, { A_PATH, A_HEX } },
	{ "statx", 5, { A_DIRFD, A_PATH, A_ATFLAGS, A_HEX, A_HEX } },
	{ "symlink", 2, { A_PATH, A_PATH } },
	{ "symlinkat", 3, { A_PATH, A_DIRFD, A_PATH } },
	{ "sync", 0, { 0 } },
	{ "sysinfo", 1, { A_HEX } },
	{ "tgkill", 3, { A_INT, A_INT, A_SIG } },
	{ "tkill", 2, { A_INT, A_SIG } },
	{ "truncate", 2, { A_PATH, A_INT } },
	{ "umask", 1, { A_OCT } },
	{ "uname", 1, { A_HEX } },
	{ "unlink", 1, { A_PATH } },
	{ "unlinkat", 3, { A_DIRFD, A_PATH, A_ATFLAGS } },
	{ "unshare", 1, { A_CLONE } },
	{ "utimensat", 4, { A_DIRFD, A_PATH, A_HEX, A_ATFLAGS } },
	{ "wait4", 4, { A_INT, A_HEX, A_HEX, A_HEX } },
	{ "write", 3, { A_INT, A_HEX, A_INT } },
	{ "writev", 3, { A_INT, A_HEX, A_INT } },
};

struct flag {
	uint64_t v;
	const char *name;
};

static const struct flag domains[] = {
	{ AF_UNIX, "AF_UNIX" },
	{ AF_INET, "AF_INET" },
	{ AF_INET6, "AF_INET6" },
	{ AF_NETLINK, "AF_NETLINK" },
	{ AF_PACKET, "AF_PACKET" },
	{ 40 /* AF_VSOCK */, "AF_VSOCK" },
	{ 44 /* AF_XDP */, "AF_XDP" },
	{ AF_ALG, "AF_ALG" },
	{ AF_BLUETOOTH, "AF_BLUETOOTH" },
};
static const struct flag socktypes[] = {
	{ SOCK_STREAM, "SOCK_STREAM" },
	{ SOCK_DGRAM, "SOCK_DGRAM" },
	{ SOCK_RAW, "SOCK_RAW" },
	{ SOCK_SEQPACKET, "SOCK_SEQPACKET" },
};
/* x86 values (asm-generic/fcntl.h); O_ACCMODE is printed apart. */
static const struct flag oflags[] = {
	{ 0100, "O_CREAT" },
	{ 0200, "O_EXCL" },
	{ 0400, "O_NOCTTY" },
	{ 01000, "O_TRUNC" },
	{ 02000, "O_APPEND" },
	{ 04000, "O_NONBLOCK" },
	{ 04010000, "O_SYNC" },
	{ 010000, "O_DSYNC" },
	{ 020000, "O_ASYNC" },
	{ 040000, "O_DIRECT" },
	{ 0100000, "O_LARGEFILE" },
	{ 020200000, "O_TMPFILE" },
	{ 0200000, "O_DIRECTORY" },
	{ 0400000, "O_NOFOLLOW" },
	{ 01000000, "O_NOATIME" },
	{ 02000000, "O_CLOEXEC" },
	{ 010000000, "O_PATH" },
};
static const struct flag prots[] = {
	{ 1, "PROT_READ" },
	{ 2, "PROT_WRITE" },
	{ 4, "PROT_EXEC" },
};
static const struct flag mapflags[] = {
	{ 0x01, "MAP_SHARED" },
	{ 0x02, "MAP_PRIVATE" },
	{ 0x10, "MAP_FIXED" },
	{ 0x20, "MAP_ANONYMOUS" },
	{ 0x100, "MAP_GROWSDOWN" },
	{ 0x800, "MAP_DENYWRITE" },
	{ 0x1000, "MAP_EXECUTABLE" },
	{ 0x2000, "MAP_LOCKED" },
	{ 0x4000, "MAP_NORESERVE" },
	{ 0x8000, "MAP_POPULATE" },
	{ 0x10000, "MAP_NONBLOCK" },
	{ 0x20000, "MAP_STACK" },
	{ 0x40000, "MAP_HUGETLB" },
	{ 0x100000, "MAP_FIXED_NOREPLACE" },
};
static const struct flag cloneflags[] = {
	{ 0x100, "CLONE_VM" },
	{ 0x200, "CLONE_FS" },
	{ 0x400, "CLONE_FILES" },
	{ 0x800, "CLONE_SIGHAND" },
	{ 0x1000, "CLONE_PIDFD" },
	{ 0x2000, "CLONE_PTRACE" },
	{ 0x4000, "CLONE_VFORK" },
	{ 0x8000, "CLONE_PARENT" },
	{ 0x10000, "CLONE_THREAD" },
	{ 0x20000, "CLONE_NEWNS" },
	{ 0x40000, "CLONE_SYSVSEM" },
	{ 0x80000, "CLONE_SETTLS" },
	{ 0x100000, "CLONE_PARENT_SETTID" },
	{ 0x200000, "CLONE_CHILD_CLEARTID" },
	{ 0x400000, "CLONE_DETACHED" },
	{ 0x800000, "CLONE_UNTRACED" },
	{ 0x1000000, "CLONE_CHILD_SETTID" },
	{ 0x2000000, "CLONE_NEWCGROUP" },
	{ 0x4000000, "CLONE_NEWUTS" },
	{ 0x8000000, "CLONE_NEWIPC" },
	{ 0x10000000, "CLONE_NEWUSER" },
	{ 0x20000000, "CLONE_NEWPID" },
	{ 0x40000000, "CLONE_NEWNET" },
	{ 0x80000000, "CLONE_IO" },
};
static const struct flag atflags[] = {
	{ 0x100, "AT_SYMLINK_NOFOLLOW" },
	{ 0x200, "AT_REMOVEDIR" },
	{ 0x400, "AT_SYMLINK_FOLLOW" },
	{ 0x800, "AT_NO_AUTOMOUNT" },
	{ 0x1000, "AT_EMPTY_PATH" },
};

static const struct call_shape *call_shape_find(const char *name)
{
	size_t lo = 0, hi = CG_ARRAY_SIZE(call_shapes);
	while (name && lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(name, call_shapes[mid].name);
		if (c == 0)
			return &call_shapes[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

bool cg_syscall_fmt_table_valid(void)
{
	for (size_t i = 1; i < CG_ARRAY_SIZE(call_shapes); i++)
		if (strcmp(call_shapes[i - 1].name, call_shapes[i].name) >= 0)
			return false;
	for (size_t i = 0; i < CG_ARRAY_SIZE(call_shapes); i++)
		if (!cg_syscall_known(call_shapes[i].name) || call_shapes[i].nargs > 6)
			return false;
	return true;
}

int cg_syscall_fmt_nargs(const char *name)
{
	const struct call_shape *sh = call_shape_find(name);
	return sh ? sh->nargs : -1;
}

ssize_t cg_syscall_fmt_read(pid_t pid, uint64_t addr, void *buf, size_t n)
{
	size_t got = 0;
	long page = sysconf(_SC_PAGESIZE);

	if (pid <= 0 || !addr || !n)
		return -EINVAL;
	/* page by page: one unmapped page must not hide the bytes before it */
	while (got < n) {
		uint64_t a = addr + got;
		size_t chunk = (size_t)page - (size_t)(a % (uint64_t)page);
		if (chunk > n - got)
			chunk = n - got;
		struct iovec local = { (char *)buf + got, chunk };
		struct iovec remote = { (void *)(uintptr_t)a, chunk };
		ssize_t r = process_vm_readv(pid, &local, 1, &remote, 1, 0);
		if (r <= 0) {
			char path[64];
			snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
			int fd = open(path, O_RDONLY | O_CLOEXEC);
			r = fd >= 0 ? pread(fd, (char *)buf + got, chunk, (off_t)a) : -1;
			if (fd >= 0)
				close(fd);
		}
		if (r <= 0)
			break;
		got += (size_t)r;
		if ((size_t)r < chunk)
			break;
	}
	return got ? (ssize_t)got : -EFAULT;
}

#define PATH_SHOWN 256

/* A string of the workload as a C literal, cut at PATH_SHOWN bytes; false
 * if it cannot be read. */
static bool add_string(struct cg_strbuf *out, pid_t pid, uint64_t addr)
{
	char buf[PATH_SHOWN + 1];
	size_t n = 0;

	/* short reads page by page until the NUL */
	while (n < PATH_SHOWN) {
		size_t want = PATH_SHOWN - n < 64 ? PATH_SHOWN - n : 64;
		ssize_t r = cg_syscall_fmt_read(pid, addr + n, buf + n, want);
		if (r <= 0)
			break;
		if (memchr(buf + n, 0, (size_t)r)) {
			n += strnlen(buf + n, (size_t)r);
			goto done;
		}
		n += (size_t)r;
	}
	if (n == 0)
		return false;
done:
	CG_STRBUF_LIT(out, "\"");
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)buf[i];
		if (ch == '"' || ch == '\\')
			cg_strbuf_addf(out, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			cg_strbuf_addf(out, "\\x%02x", ch);
		else
			cg_strbuf_addf(out, "%c", ch);
	}
	cg_strbuf_addf(out, "\"%s", n >= PATH_SHOWN ? "..." : "");
	return true;
}

static const char *flag_find(const struct flag *t, size_t n, uint64_t v)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].v == v)
			return t[i].name;
	return NULL;
}

/* "A|B|0x40" for the bits of @v; "0" for none. Multi-bit entries first
 * match as a whole (O_SYNC includes O_DSYNC). */
static void add_flags(struct cg_strbuf *out, const struct flag *t, size_t n, uint64_t v, bool first)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].v && (v & t[i].v) == t[i].v) {
			cg_strbuf_addf(out, "%s%s", first ? "" : "|", t[i].name);
			v &= ~t[i].v;
			first = false;
		}
	if (v || first)
		cg_strbuf_addf(out, "%s%#llx", first ? "" : "|", (unsigned long long)v);
}

#define FLAGS(out, t, v) add_flags((out), (t), CG_ARRAY_SIZE(t), (v), true)

static void format_arg(struct cg_strbuf *out, enum arg_kind kind, const char *name, unsigned idx, uint64_t v,
		       bool is64, pid_t pid)
{
	/* What the kernel sees for an int-sized argument is the low 32 bits;
	 * other high bits than a sign extension are shown as they are. */
	if (is64 && cg_syscall_arg_bits(name, idx) == 32 && (v >> 32) &&
	    !((v >> 32) == 0xffffffffu && (int32_t)(uint32_t)v < 0)) {
		cg_strbuf_addf(out, "%#llx", (unsigned long long)v);
		return;
	}
	if (!is64 || cg_syscall_arg_bits(name, idx) == 32)
		v = (uint32_t)v;
	switch (kind) {
	case A_DOMAIN: {
		const char *n = flag_find(domains, CG_ARRAY_SIZE(domains), v);
		if (n)
			cg_strbuf_addf(out, "%s=%llu", n, (unsigned long long)v);
		else
			cg_strbuf_addf(out, "%llu", (unsigned long long)v);
		return;
	}
	case A_SOCKTYPE: {
		const char *tn = flag_find(socktypes, CG_ARRAY_SIZE(socktypes), v & 0xf);
		if (!tn) {
			cg_strbuf_addf(out, "%#llx", (unsigned long long)v);
			return;
		}
		cg_strbuf_addf(out, "%s", tn);
		if (v & SOCK_CLOEXEC)
			cg_strbuf_addf(out, "|SOCK_CLOEXEC");
		if (v & SOCK_NONBLOCK)
			cg_strbuf_addf(out, "|SOCK_NONBLOCK");
		cg_strbuf_addf(out, "=%llu", (unsigned long long)v);
		return;
	}
	case A_PATH:
		if (!v)
			CG_STRBUF_LIT(out, "NULL");
		else if (!add_string(out, pid, v))
			cg_strbuf_addf(out, "%#llx", (unsigned long long)v);
		return;
	case A_DIRFD:
		if ((int)(uint32_t)v == -100)
			CG_STRBUF_LIT(out, "AT_FDCWD");
		else
			cg_strbuf_addf(out, "%d", (int)(uint32_t)v);
		return;
	case A_OFLAGS:
		if (strcmp(name, "open") == 0 || strcmp(name, "openat") == 0) {
			static const char *const acc[] = { "O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE" };
			cg_strbuf_addf(out, "%s", acc[v & 3]);
			if (v & ~3ull)
				add_flags(out, oflags, CG_ARRAY_SIZE(oflags), v & ~3ull, false);
		} else {
			FLAGS(out, oflags, v);
		}
		return;
	case A_PROT:
		if (!v)
			CG_STRBUF_LIT(out, "PROT_NONE");
		else
			FLAGS(out, prots, v);
		return;
	case A_MAPFLAGS:
		FLAGS(out, mapflags, v);
		return;
	case A_CLONE: {
		uint64_t sig = strcmp(name, "unshare") == 0 ? 0 : v & 0xff;
		const char *abbr = sig ? sigabbrev_np((int)sig) : NULL;
		if (v & ~0xffull || !sig)
			FLAGS(out, cloneflags, v & ~(uint64_t)(sig ? 0xff : 0));
		if (sig)
			cg_strbuf_addf(out, "%s%s%s", v & ~0xffull ? "|" : "", abbr ? "SIG" : "",
				       abbr ? abbr : "");
		if (sig && !abbr)
			cg_strbuf_addf(out, "%llu", (unsigned long long)sig);
		return;
	}
	case A_ATFLAGS:
		FLAGS(out, atflags, v);
		return;
	case A_NAMED:
		cg_trace_arg_describe(name, strcmp(name, "prctl") == 0 ? CGT_ARG_A0 : CGT_ARG_A1, v, out);
		return;
	case A_SIG: {
		const char *abbr = v && v < 65 ? sigabbrev_np((int)v) : NULL;
		if (abbr)
			cg_strbuf_addf(out, "SIG%s", abbr);
		else
			cg_strbuf_addf(out, "%d", (int)(uint32_t)v);
		return;
	}
	case A_INT:
		if (is64 && cg_syscall_arg_bits(name, idx) == 64)
			cg_strbuf_addf(out, "%lld", (long long)v);
		else
			cg_strbuf_addf(out, "%d", (int)(uint32_t)v);
		return;
	case A_OCT:
		cg_strbuf_addf(out, "%#llo", (unsigned long long)v);
		return;
	case A_HEX:
		if (v == 0)
			cg_strbuf_addf(out, "0");
		else
			cg_strbuf_addf(out, "%#llx", (unsigned long long)v);
		return;
	}
}

static unsigned long long n_decoded; /* for the tests: decoding must stay rare */

unsigned long long cg_syscall_fmt_n_decoded(void) { return __atomic_load_n(&n_decoded, __ATOMIC_RELAXED); }

void cg_syscall_fmt_args(int arch, uint32_t nr, const uint64_t args[6], pid_t pid, struct cg_strbuf *out)
{
	const struct cg_arch_info *ai = arch >= 0 ? cg_arch_info((enum cg_arch_id)arch) : NULL;
	const char *name = ai ? cg_syscall_name((enum cg_arch_id)arch, nr) : NULL;
	const struct call_shape *sh = call_shape_find(name);
	bool is64 = ai && ai->bits == 64;
	unsigned n = sh ? sh->nargs : 6;

	__atomic_add_fetch(&n_decoded, 1, __ATOMIC_RELAXED);
	cg_strbuf_addf(out, "%s(", name ? name : "syscall");
	if (!name)
		cg_strbuf_addf(out, "%u%s", nr, n ? ", " : "");
	for (unsigned i = 0; i < n; i++) {
		if (i)
			cg_strbuf_addf(out, ", ");
		format_arg(out, sh ? (enum arg_kind)sh->kind[i] : A_HEX, name ? name : "", i, args[i], is64, pid);
	}
	CG_STRBUF_LIT(out, ")");
}

void cg_syscall_fmt_call(int arch, uint32_t nr, const uint64_t args[6], pid_t pid, struct cg_strbuf *out)
{
	const struct cg_arch_info *ai = arch >= 0 ? cg_arch_info((enum cg_arch_id)arch) : NULL;
	cg_syscall_fmt_args(arch, nr, args, pid, out);
	cg_strbuf_addf(out, " [%s nr %u]", ai ? ai->name : "unknown-arch", nr);
}

int cg_sandbox_event_text(const struct cg_sandbox_event *ev, struct cg_strbuf *out)
{
	if (ev->text) {
		cg_strbuf_addf(out, "%s", ev->text);
	} else {
		cg_syscall_fmt_call(ev->arch, ev->nr, ev->args, ev->pid, out);
		if (ev->outcome)
			cg_strbuf_addf(out, ": %s", ev->outcome);
	}
	return out->oom ? -ENOMEM : 0;
}
