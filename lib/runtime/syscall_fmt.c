// SPDX-License-Identifier: Apache-2.0
/*
 * Naming a system call for people: "socket(AF_INET=2, SOCK_STREAM=1, 0)
 * [x86_64 nr 41]". The explain supervisor uses it for every denied call.
 * Argument counts and decoders are data: a sorted table (checked by a test).
 * Pointers are printed as addresses; the supervisor never reads the target's
 * memory (that would race with the target anyway).
 */
#include <string.h>
#include <sys/socket.h>

#include "closure/closure_internal.h"
#include "runtime/syscall_fmt.h"
#include "testing.h"

enum arg_kind {
	A_INT,      /* signed decimal */
	A_HEX,      /* pointer, flags, size */
	A_OCT,      /* mode */
	A_DOMAIN,   /* socket family */
	A_SOCKTYPE, /* socket type | SOCK_* flags */
};

struct call_shape {
	const char *name;
	uint8_t nargs;
	uint8_t kind[6];
};

#define I A_INT
#define H A_HEX
#define O A_OCT
/* Sorted by name (cg_syscall_fmt_table_valid checks it). */
static const struct call_shape call_shapes[] = {
	{ "accept", 3, { I, H, H } },
	{ "accept4", 4, { I, H, H, H } },
	{ "access", 2, { H, O } },
	{ "arch_prctl", 2, { H, H } },
	{ "bind", 3, { I, H, I } },
	{ "bpf", 3, { I, H, I } },
	{ "brk", 1, { H } },
	{ "chdir", 1, { H } },
	{ "chmod", 2, { H, O } },
	{ "chroot", 1, { H } },
	{ "clock_gettime", 2, { I, H } },
	{ "clock_nanosleep", 4, { I, H, H, H } },
	{ "clone", 5, { H, H, H, H, H } },
	{ "clone3", 2, { H, I } },
	{ "close", 1, { I } },
	{ "connect", 3, { I, H, I } },
	{ "dup", 1, { I } },
	{ "dup2", 2, { I, I } },
	{ "dup3", 3, { I, I, H } },
	{ "execve", 3, { H, H, H } },
	{ "execveat", 5, { I, H, H, H, H } },
	{ "exit", 1, { I } },
	{ "exit_group", 1, { I } },
	{ "faccessat", 3, { I, H, O } },
	{ "faccessat2", 4, { I, H, O, H } },
	{ "fchmod", 2, { I, O } },
	{ "fcntl", 3, { I, I, H } },
	{ "fstat", 2, { I, H } },
	{ "futex", 6, { H, I, I, H, H, I } },
	{ "getcwd", 2, { H, I } },
	{ "getdents64", 3, { I, H, I } },
	{ "getegid", 0, { 0 } },
	{ "geteuid", 0, { 0 } },
	{ "getgid", 0, { 0 } },
	{ "getpid", 0, { 0 } },
	{ "getppid", 0, { 0 } },
	{ "getrandom", 3, { H, I, H } },
	{ "gettid", 0, { 0 } },
	{ "getuid", 0, { 0 } },
	{ "io_uring_enter", 6, { I, I, I, H, H, I } },
	{ "io_uring_register", 4, { I, I, H, I } },
	{ "io_uring_setup", 2, { I, H } },
	{ "ioctl", 3, { I, H, H } },
	{ "kill", 2, { I, I } },
	{ "listen", 2, { I, I } },
	{ "lseek", 3, { I, I, I } },
	{ "madvise", 3, { H, H, I } },
	{ "mkdir", 2, { H, O } },
	{ "mkdirat", 3, { I, H, O } },
	{ "mmap", 6, { H, H, H, H, I, H } },
	{ "mount", 5, { H, H, H, H, H } },
	{ "mprotect", 3, { H, H, H } },
	{ "munmap", 2, { H, H } },
	{ "nanosleep", 2, { H, H } },
	{ "newfstatat", 4, { I, H, H, H } },
	{ "open", 3, { H, H, O } },
	{ "openat", 4, { I, H, H, O } },
	{ "pipe2", 2, { H, H } },
	{ "poll", 3, { H, I, I } },
	{ "prctl", 5, { I, H, H, H, H } },
	{ "pread64", 4, { I, H, I, I } },
	{ "prlimit64", 4, { I, I, H, H } },
	{ "ptrace", 4, { I, I, H, H } },
	{ "pwrite64", 4, { I, H, I, I } },
	{ "read", 3, { I, H, I } },
	{ "readlink", 3, { H, H, I } },
	{ "readlinkat", 4, { I, H, H, I } },
	{ "recvfrom", 6, { I, H, I, H, H, H } },
	{ "recvmsg", 3, { I, H, H } },
	{ "rename", 2, { H, H } },
	{ "renameat2", 5, { I, H, I, H, H } },
	{ "rseq", 4, { H, I, H, H } },
	{ "rt_sigaction", 4, { I, H, H, I } },
	{ "rt_sigprocmask", 4, { I, H, H, I } },
	{ "rt_sigreturn", 0, { 0 } },
	{ "sendmsg", 3, { I, H, H } },
	{ "sendto", 6, { I, H, I, H, H, I } },
	{ "set_robust_list", 2, { H, I } },
	{ "set_tid_address", 1, { H } },
	{ "setgid", 1, { I } },
	{ "setsockopt", 5, { I, I, I, H, I } },
	{ "setuid", 1, { I } },
	{ "socket", 3, { A_DOMAIN, A_SOCKTYPE, I } },
	{ "socketpair", 4, { A_DOMAIN, A_SOCKTYPE, I, H } },
	{ "stat", 2, { H, H } },
	{ "statx", 5, { I, H, H, H, H } },
	{ "symlink", 2, { H, H } },
	{ "umask", 1, { O } },
	{ "uname", 1, { H } },
	{ "unlink", 1, { H } },
	{ "unlinkat", 3, { I, H, H } },
	{ "unshare", 1, { H } },
	{ "wait4", 4, { I, H, H, H } },
	{ "write", 3, { I, H, I } },
	{ "writev", 3, { I, H, I } },
};
#undef I
#undef H
#undef O

static const struct {
	int value;
	const char *name;
} domains[] = {
	{ AF_UNIX, "AF_UNIX" },
	{ AF_INET, "AF_INET" },
	{ AF_INET6, "AF_INET6" },
	{ AF_NETLINK, "AF_NETLINK" },
	{ AF_PACKET, "AF_PACKET" },
	{ 40 /* AF_VSOCK */, "AF_VSOCK" },
	{ 44 /* AF_XDP */, "AF_XDP" },
	{ AF_ALG, "AF_ALG" },
	{ AF_BLUETOOTH, "AF_BLUETOOTH" },
},
  socktypes[] = {
	  { SOCK_STREAM, "SOCK_STREAM" },
	  { SOCK_DGRAM, "SOCK_DGRAM" },
	  { SOCK_RAW, "SOCK_RAW" },
	  { SOCK_SEQPACKET, "SOCK_SEQPACKET" },
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

static void format_arg(struct cg_strbuf *out, enum arg_kind kind, const char *name, unsigned idx, uint64_t v,
		       bool is64)
{
	/* What the kernel sees for an int-sized argument is the low 32 bits. */
	if (is64 && cg_syscall_arg_bits(name, idx) == 32 && (v >> 32)) {
		cg_strbuf_addf(out, "%#llx", (unsigned long long)v);
		return;
	}
	if (!is64 || cg_syscall_arg_bits(name, idx) == 32)
		v = (uint32_t)v;
	switch (kind) {
	case A_DOMAIN:
		for (size_t i = 0; i < CG_ARRAY_SIZE(domains); i++)
			if ((uint64_t)domains[i].value == v) {
				cg_strbuf_addf(out, "%s=%llu", domains[i].name, (unsigned long long)v);
				return;
			}
		cg_strbuf_addf(out, "%llu", (unsigned long long)v);
		return;
	case A_SOCKTYPE: {
		uint64_t base = v & 0xf;
		const char *tn = NULL;
		for (size_t i = 0; i < CG_ARRAY_SIZE(socktypes); i++)
			if ((uint64_t)socktypes[i].value == base)
				tn = socktypes[i].name;
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

void cg_syscall_fmt_call(int arch, uint32_t nr, const uint64_t args[6], struct cg_strbuf *out)
{
	const struct cg_arch_info *ai = arch >= 0 ? cg_arch_info((enum cg_arch_id)arch) : NULL;
	const char *name = ai ? cg_syscall_name((enum cg_arch_id)arch, nr) : NULL;
	const struct call_shape *sh = call_shape_find(name);
	bool is64 = ai && ai->bits == 64;
	unsigned n = sh ? sh->nargs : 6;

	cg_strbuf_addf(out, "%s(", name ? name : "syscall");
	if (!name)
		cg_strbuf_addf(out, "%u%s", nr, n ? ", " : "");
	for (unsigned i = 0; i < n; i++) {
		if (i)
			cg_strbuf_addf(out, ", ");
		format_arg(out, sh ? (enum arg_kind)sh->kind[i] : A_HEX, name ? name : "", i, args[i], is64);
	}
	cg_strbuf_addf(out, ") [%s nr %u]", ai ? ai->name : "unknown-arch", nr);
}
