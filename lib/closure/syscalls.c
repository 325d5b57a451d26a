// SPDX-License-Identifier: Apache-2.0
/* Architecture and syscall tables. */
#include <capgate/syscalls.h>

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/audit.h>
#include <string.h>
#include <strings.h>

#include "closure/closure_internal.h"
#include "closure/syscalls_table.h"
#include "testing.h"

/* Columns of the generated table (see lib/syscalls_table.c). */
enum { COL_X86_64,
       COL_X86,
       COL_X32,
       COL_AARCH64,
       COL_ARM,
       COL_RISCV64,
       COL_PPC64,
       COL_S390X,
       COL_LOONGARCH64,
       COL_MIPS64,
       COL_MIPS,
       COL_MIPS64N32,
       COL_PPC,
       COL_S390,
       COL_PARISC,
       COL_M68K,
       COL_SH };

#ifndef AUDIT_ARCH_LOONGARCH64
#define AUDIT_ARCH_LOONGARCH64 (258 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE)
#endif
#ifndef AUDIT_ARCH_RISCV64
#define AUDIT_ARCH_RISCV64 (243 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE)
#endif

/* x32 shares AUDIT_ARCH_X86_64 in seccomp_data; its calls carry bit 30. */
static const struct cg_arch_info arches[CG_ARCH_COUNT] = {
	{ CG_ARCH_X86_64, "SCMP_ARCH_X86_64", "x86_64", AUDIT_ARCH_X86_64, 64, COL_X86_64, 0 },
	{ CG_ARCH_X86, "SCMP_ARCH_X86", "x86", AUDIT_ARCH_I386, 32, COL_X86, 0 },
	{ CG_ARCH_X32, "SCMP_ARCH_X32", "x32", AUDIT_ARCH_X86_64, 64, COL_X32, CG_X32_SYSCALL_BIT },
	{ CG_ARCH_AARCH64, "SCMP_ARCH_AARCH64", "aarch64", AUDIT_ARCH_AARCH64, 64, COL_AARCH64, 0 },
	{ CG_ARCH_ARM, "SCMP_ARCH_ARM", "arm", AUDIT_ARCH_ARM, 32, COL_ARM, 0 },
	{ CG_ARCH_RISCV64, "SCMP_ARCH_RISCV64", "riscv64", AUDIT_ARCH_RISCV64, 64, COL_RISCV64, 0 },
	{ CG_ARCH_PPC64LE, "SCMP_ARCH_PPC64LE", "ppc64le", AUDIT_ARCH_PPC64LE, 64, COL_PPC64, 0 },
	{ CG_ARCH_PPC64, "SCMP_ARCH_PPC64", "ppc64", AUDIT_ARCH_PPC64, 64, COL_PPC64, 0 },
	{ CG_ARCH_PPC, "SCMP_ARCH_PPC", "ppc", AUDIT_ARCH_PPC, 32, COL_PPC, 0 },
	{ CG_ARCH_S390X, "SCMP_ARCH_S390X", "s390x", AUDIT_ARCH_S390X, 64, COL_S390X, 0 },
	{ CG_ARCH_S390, "SCMP_ARCH_S390", "s390", AUDIT_ARCH_S390, 32, COL_S390, 0 },
	{ CG_ARCH_LOONGARCH64, "SCMP_ARCH_LOONGARCH64", "loongarch64", AUDIT_ARCH_LOONGARCH64, 64, COL_LOONGARCH64, 0 },
	{ CG_ARCH_MIPS, "SCMP_ARCH_MIPS", "mips", AUDIT_ARCH_MIPS, 32, COL_MIPS, 4000 },
	{ CG_ARCH_MIPSEL, "SCMP_ARCH_MIPSEL", "mipsel", AUDIT_ARCH_MIPSEL, 32, COL_MIPS, 4000 },
	{ CG_ARCH_MIPS64, "SCMP_ARCH_MIPS64", "mips64", AUDIT_ARCH_MIPS64, 64, COL_MIPS64, 5000 },
	{ CG_ARCH_MIPSEL64, "SCMP_ARCH_MIPSEL64", "mipsel64", AUDIT_ARCH_MIPSEL64, 64, COL_MIPS64, 5000 },
	{ CG_ARCH_MIPS64N32, "SCMP_ARCH_MIPS64N32", "mips64n32", AUDIT_ARCH_MIPS64N32, 64, COL_MIPS64N32, 6000 },
	{ CG_ARCH_MIPSEL64N32, "SCMP_ARCH_MIPSEL64N32", "mipsel64n32", AUDIT_ARCH_MIPSEL64N32, 64, COL_MIPS64N32, 6000 },
	{ CG_ARCH_PARISC, "SCMP_ARCH_PARISC", "parisc", AUDIT_ARCH_PARISC, 32, COL_PARISC, 0 },
	{ CG_ARCH_PARISC64, "SCMP_ARCH_PARISC64", "parisc64", AUDIT_ARCH_PARISC64, 64, COL_PARISC, 0 },
	{ CG_ARCH_M68K, "SCMP_ARCH_M68K", "m68k", AUDIT_ARCH_M68K, 32, COL_M68K, 0 },
	{ CG_ARCH_SH, "SCMP_ARCH_SH", "sh", AUDIT_ARCH_SHEL, 32, COL_SH, 0 }, /* libseccomp: SH = little-endian */
};

const struct cg_arch_info *cg_arch_info(enum cg_arch_id arch)
{
	if ((unsigned)arch >= CG_ARCH_COUNT)
		return NULL;
	return &arches[arch];
}

int cg_arch_lookup(const char *name)
{
	static const struct {
		const char *alias;
		enum cg_arch_id id;
	} aliases[] = {
		{ "amd64", CG_ARCH_X86_64 },
		{ "arm64", CG_ARCH_AARCH64 },
		{ "i386", CG_ARCH_X86 },
		{ "i686", CG_ARCH_X86 },
	};
	for (int i = 0; i < CG_ARCH_COUNT; i++)
		if (strcmp(name, arches[i].oci) == 0 || strcasecmp(name, arches[i].name) == 0)
			return i;
	for (size_t i = 0; i < CG_ARRAY_SIZE(aliases); i++)
		if (strcasecmp(name, aliases[i].alias) == 0)
			return (int)aliases[i].id;
	return -1;
}

enum cg_arch_id cg_arch_native(void)
{
#if defined(__x86_64__) && defined(__ILP32__)
	return CG_ARCH_X32;
#elif defined(__x86_64__)
	return CG_ARCH_X86_64;
#elif defined(__i386__)
	return CG_ARCH_X86;
#elif defined(__aarch64__)
	return CG_ARCH_AARCH64;
#elif defined(__arm__)
	return CG_ARCH_ARM;
#elif defined(__riscv) && __riscv_xlen == 64
	return CG_ARCH_RISCV64;
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return CG_ARCH_PPC64LE;
#elif defined(__s390x__)
	return CG_ARCH_S390X;
#else
#error "capgate does not know this architecture yet"
#endif
}

/* Name -> row: a hash index over the generated table, built once. A
 * profile looks up each of its names once per arch and per compile; the
 * sorted table's binary search cost about nine string compares a lookup
 * (a tenth of capgate run's own start-up work on Docker's profile). */
#define NAME_SLOTS 2048u               /* a power of two, at least twice the rows */
static uint16_t name_slot[NAME_SLOTS]; /* row index + 1; 0: empty */
static bool name_indexed;
static pthread_once_t name_once = PTHREAD_ONCE_INIT;

static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static void name_index_build(void)
{
	if (cg_syscall_rows_len * 2 > NAME_SLOTS || cg_syscall_rows_len >= UINT16_MAX)
		return; /* a table this big: binary search */
	for (size_t i = 0; i < cg_syscall_rows_len; i++) {
		uint32_t h = name_hash(cg_syscall_rows[i].name) & (NAME_SLOTS - 1);
		while (name_slot[h])
			h = (h + 1) & (NAME_SLOTS - 1);
		name_slot[h] = (uint16_t)(i + 1);
	}
	name_indexed = true;
}

static const struct cg_syscall_row *row_by_name(const char *name)
{
	pthread_once(&name_once, name_index_build);
	if (name_indexed) {
		for (uint32_t h = name_hash(name) & (NAME_SLOTS - 1); name_slot[h]; h = (h + 1) & (NAME_SLOTS - 1))
			if (strcmp(cg_syscall_rows[name_slot[h] - 1].name, name) == 0)
				return &cg_syscall_rows[name_slot[h] - 1];
		return NULL;
	}
	size_t lo = 0, hi = cg_syscall_rows_len;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(name, cg_syscall_rows[mid].name);
		if (c == 0)
			return &cg_syscall_rows[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

int cg_syscall_nr(enum cg_arch_id arch, const char *name)
{
	const struct cg_syscall_row *r = row_by_name(name);
	const struct cg_arch_info *ai = cg_arch_info(arch);

	if (!r)
		return -ENOENT;
	if (!ai || r->nr[ai->col] < 0)
		return -ENOSYS;
	return r->nr[ai->col];
}

const char *cg_syscall_name(enum cg_arch_id arch, uint32_t nr)
{
	const struct cg_arch_info *ai = cg_arch_info(arch);
	if (!ai || nr > INT32_MAX)
		return NULL;
	for (size_t i = 0; i < cg_syscall_rows_len; i++)
		if (cg_syscall_rows[i].nr[ai->col] == (int32_t)nr)
			return cg_syscall_rows[i].name;
	return NULL;
}

bool cg_syscall_known(const char *name) { return row_by_name(name) != NULL; }

int cg_syscall_max_nr(enum cg_arch_id arch)
{
	const struct cg_arch_info *ai = cg_arch_info(arch);
	int max = -1;
	if (!ai)
		return -1;
	for (size_t i = 0; i < cg_syscall_rows_len; i++)
		if (cg_syscall_rows[i].nr[ai->col] > max)
			max = cg_syscall_rows[i].nr[ai->col];
	return max;
}

const char *cg_syscall_name_at(size_t i)
{
	return i < cg_syscall_rows_len ? cg_syscall_rows[i].name : NULL;
}

/*
 * Arguments the kernel reads narrower than a register on 64-bit arches, by
 * their SYSCALL_DEFINE types: int/unsigned/pid_t/uid_t = 32, umode_t = 16.
 * 0 = full register. Sorted by name (a test checks it).
 */
static const struct {
	char name[CG_SYSCALL_NAME_CAP]; /* in place: no relocation at start (syscalls_table.h) */
	uint8_t bits[6];
} arg_widths[] = {
	{ "accept4", { 32, 0, 0, 32 } },
	{ "bind", { 32, 0, 32 } },
	{ "bpf", { 32, 0, 32 } },
	{ "chmod", { 0, 16 } },
	{ "chown", { 0, 32, 32 } },
	{ "clock_settime", { 32 } },
	{ "close", { 32 } },
	{ "connect", { 32, 0, 32 } },
	{ "delete_module", { 0, 32 } },
	{ "dup", { 32 } },
	{ "dup2", { 32, 32 } },
	{ "dup3", { 32, 32, 32 } },
	{ "epoll_create1", { 32 } },
	{ "epoll_ctl", { 32, 32, 32 } },
	{ "eventfd2", { 32, 32 } },
	{ "execveat", { 32, 0, 0, 0, 32 } },
	{ "exit", { 32 } },
	{ "exit_group", { 32 } },
	{ "faccessat", { 32, 0, 32 } },
	{ "faccessat2", { 32, 0, 32, 32 } },
	{ "fchmod", { 32, 16 } },
	{ "fchmodat", { 32, 0, 16 } },
	{ "fchown", { 32, 32, 32 } },
	{ "fchownat", { 32, 0, 32, 32, 32 } },
	{ "fcntl", { 32, 32 } },
	{ "finit_module", { 32, 0, 32 } },
	{ "flock", { 32, 32 } },
	{ "fstat", { 32 } },
	{ "futex", { 0, 32, 32 } },
	{ "getdents64", { 32, 0, 32 } },
	{ "getrandom", { 0, 0, 32 } },
	{ "getsockopt", { 32, 32, 32 } },
	{ "inotify_add_watch", { 32, 0, 32 } },
	{ "io_uring_enter", { 32, 32, 32, 32 } },
	{ "io_uring_register", { 32, 32, 0, 32 } },
	{ "io_uring_setup", { 32 } },
	{ "ioctl", { 32, 32 } },
	{ "iopl", { 32 } },
	{ "ioprio_set", { 32, 32, 32 } },
	{ "kcmp", { 32, 32, 32 } },
	{ "keyctl", { 32 } },
	{ "kill", { 32, 32 } },
	{ "landlock_add_rule", { 32, 32, 0, 32 } },
	{ "landlock_create_ruleset", { 0, 0, 32 } },
	{ "landlock_restrict_self", { 32, 32 } },
	{ "lchown", { 0, 32, 32 } },
	{ "linkat", { 32, 0, 32, 0, 32 } },
	{ "listen", { 32, 32 } },
	{ "lseek", { 32, 0, 32 } },
	{ "madvise", { 0, 0, 32 } },
	{ "memfd_create", { 0, 32 } },
	{ "mkdir", { 0, 16 } },
	{ "mkdirat", { 32, 0, 16 } },
	{ "mknod", { 0, 16, 32 } },
	{ "mknodat", { 32, 0, 16, 32 } },
	{ "newfstatat", { 32, 0, 0, 32 } },
	{ "open", { 0, 32, 16 } },
	{ "open_by_handle_at", { 32, 0, 32 } },
	{ "openat", { 32, 0, 32, 16 } },
	{ "personality", { 32 } },
	{ "pidfd_open", { 32, 32 } },
	{ "pidfd_send_signal", { 32, 32, 0, 32 } },
	{ "pipe2", { 0, 32 } },
	{ "prctl", { 32 } },
	{ "pread64", { 32 } },
	{ "prlimit64", { 32, 32 } },
	{ "process_vm_readv", { 32 } },
	{ "process_vm_writev", { 32 } },
	{ "pwrite64", { 32 } },
	{ "quotactl", { 32, 0, 32 } },
	{ "read", { 32 } },
	{ "readlinkat", { 32, 0, 0, 32 } },
	{ "reboot", { 32, 32, 32 } },
	{ "recvfrom", { 32, 0, 0, 32 } },
	{ "recvmsg", { 32, 0, 32 } },
	{ "renameat2", { 32, 0, 32, 0, 32 } },
	{ "rt_sigaction", { 32 } },
	{ "rt_sigprocmask", { 32 } },
	{ "sched_setaffinity", { 32, 32 } },
	{ "sched_setscheduler", { 32, 32 } },
	{ "seccomp", { 32, 32 } },
	{ "sendmmsg", { 32, 0, 32, 32 } },
	{ "sendmsg", { 32, 0, 32 } },
	{ "sendto", { 32, 0, 0, 32, 0, 32 } },
	{ "setfsgid", { 32 } },
	{ "setfsuid", { 32 } },
	{ "setgid", { 32 } },
	{ "setns", { 32, 32 } },
	{ "setpriority", { 32, 32, 32 } },
	{ "setregid", { 32, 32 } },
	{ "setresgid", { 32, 32, 32 } },
	{ "setresuid", { 32, 32, 32 } },
	{ "setreuid", { 32, 32 } },
	{ "setsockopt", { 32, 32, 32, 0, 32 } },
	{ "setuid", { 32 } },
	{ "shutdown", { 32, 32 } },
	{ "signalfd4", { 32, 0, 0, 32 } },
	{ "socket", { 32, 32, 32 } },
	{ "socketpair", { 32, 32, 32 } },
	{ "statx", { 32, 0, 32, 32 } },
	{ "swapon", { 0, 32 } },
	{ "symlinkat", { 0, 32 } },
	{ "syslog", { 32, 0, 32 } },
	{ "tgkill", { 32, 32, 32 } },
	{ "timerfd_create", { 32, 32 } },
	{ "tkill", { 32, 32 } },
	{ "umount2", { 0, 32 } },
	{ "unlinkat", { 32, 0, 32 } },
	{ "userfaultfd", { 32 } },
	{ "wait4", { 32, 0, 32 } },
	{ "waitid", { 32, 32, 0, 32 } },
	{ "write", { 32 } },
};

unsigned cg_syscall_arg_bits(const char *name, unsigned idx)
{
	size_t lo = 0, hi = CG_ARRAY_SIZE(arg_widths);
	if (idx >= 6)
		return 64;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(name, arg_widths[mid].name);
		if (c == 0)
			return arg_widths[mid].bits[idx] ? arg_widths[mid].bits[idx] : 64;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 64;
}

bool cg__arg_width_table_sorted(void)
{
	for (size_t i = 1; i < CG_ARRAY_SIZE(arg_widths); i++)
		if (strcmp(arg_widths[i - 1].name, arg_widths[i].name) >= 0)
			return false;
	for (size_t i = 0; i < CG_ARRAY_SIZE(arg_widths); i++)
		if (!cg_syscall_known(arg_widths[i].name))
			return false;
	return true;
}

/* ---- risk classes ------------------------------------------------------ */

#define CALLS(...) ((const char *const[]){ __VA_ARGS__, NULL })

static const struct cg_risk_class risk_classes[] = {
	{ "accounting", CG_SEV_HIGH, "process accounting writes kernel records to any file", CALLS("acct") },
	{ "bpf", CG_SEV_HIGH, "loads programs into the kernel and reads kernel memory; a frequent privilege-escalation vector",
	  CALLS("bpf") },
	{ "clock", CG_SEV_HIGH, "sets the system clock for every process on the host",
	  CALLS("adjtimex", "clock_adjtime", "clock_adjtime64", "clock_settime", "clock_settime64", "settimeofday", "stime") },
	{ "io-uring", CG_SEV_HIGH, "io_uring submits operations the kernel performs without passing them through seccomp",
	  CALLS("io_uring_enter", "io_uring_register", "io_uring_setup") },
	{ "kernel-modules", CG_SEV_CRITICAL, "loads or removes code in the running kernel",
	  CALLS("create_module", "delete_module", "finit_module", "init_module") },
	{ "kexec", CG_SEV_CRITICAL, "replaces the running kernel", CALLS("kexec_file_load", "kexec_load") },
	{ "keyring", CG_SEV_HIGH, "the kernel keyring is not namespaced: keys of other containers can be reached",
	  CALLS("add_key", "keyctl", "request_key") },
	{ "mount", CG_SEV_CRITICAL, "changes the mount table, the usual first step of a container escape",
	  CALLS("fsconfig", "fsmount", "fsopen", "fspick", "mount", "mount_setattr", "move_mount", "open_tree", "pivot_root",
		"umount", "umount2") },
	{ "namespaces", CG_SEV_HIGH, "creates or joins namespaces, exposing kernel surface meant for root",
	  CALLS("setns", "unshare") },
	{ "open-by-handle", CG_SEV_HIGH, "opens files by handle, bypassing path checks (the 'shocker' escape)",
	  CALLS("name_to_handle_at", "open_by_handle_at") },
	{ "perf", CG_SEV_HIGH, "perf events read kernel and other processes' data", CALLS("perf_event_open") },
	{ "personality", CG_SEV_MEDIUM, "changes the execution domain, e.g. disables ASLR (READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE)",
	  CALLS("personality") },
	{ "process-memory", CG_SEV_HIGH, "reads or writes other processes' memory",
	  CALLS("kcmp", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace") },
	{ "quota", CG_SEV_MEDIUM, "administers disk quotas on host file systems", CALLS("quotactl", "quotactl_fd") },
	{ "raw-io", CG_SEV_CRITICAL, "grants direct access to I/O ports", CALLS("ioperm", "iopl") },
	{ "reboot", CG_SEV_CRITICAL, "reboots or halts the host", CALLS("reboot") },
	{ "swap", CG_SEV_HIGH, "adds or removes host swap devices", CALLS("swapoff", "swapon") },
	{ "syslog", CG_SEV_MEDIUM, "reads the kernel log, which leaks kernel addresses", CALLS("syslog") },
	{ "userfaultfd", CG_SEV_HIGH, "stalls kernel page faults, a building block of kernel exploits", CALLS("userfaultfd") },
	{ "vm86", CG_SEV_HIGH, "legacy virtual-8086 mode and obsolete interfaces with a history of bugs",
	  CALLS("lookup_dcookie", "nfsservctl", "uselib", "vm86", "vm86old") },
};

const struct cg_risk_class *cg_risk_classes(size_t *ret_n)
{
	*ret_n = CG_ARRAY_SIZE(risk_classes);
	return risk_classes;
}

const struct cg_risk_class *cg_risk_class_of(const char *name)
{
	for (size_t i = 0; i < CG_ARRAY_SIZE(risk_classes); i++)
		for (const char *const *c = risk_classes[i].calls; *c; c++)
			if (strcmp(*c, name) == 0)
				return &risk_classes[i];
	return NULL;
}

static const char *const severity_names[] = { "info", "low", "medium", "high", "critical" };

const char *cg_severity_name(enum cg_severity s)
{
	return (unsigned)s < CG_ARRAY_SIZE(severity_names) ? severity_names[s] : "?";
}

int cg_severity_parse(const char *s)
{
	for (size_t i = 0; i < CG_ARRAY_SIZE(severity_names); i++)
		if (strcasecmp(s, severity_names[i]) == 0)
			return (int)i;
	return -1;
}
