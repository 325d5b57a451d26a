/* SPDX-License-Identifier: Apache-2.0 */
/* Internal: naming a system call and its arguments for people
 * (lib/runtime/syscall_fmt.c), for the explain supervisor and learn mode. */
#ifndef CAPGATE_RUNTIME_SYSCALL_FMT_H
#define CAPGATE_RUNTIME_SYSCALL_FMT_H

#include <capgate/strbuf.h>
#include <capgate/syscalls.h>
#include <sys/types.h>

/* Append one call: "openat(AT_FDCWD, \"/etc/passwd\", O_RDONLY|O_CLOEXEC)
 * [x86_64 nr 257]". @arch is an enum cg_arch_id, or -1 when the audit arch
 * is unknown; calls the table does not know get six hexadecimal arguments.
 * Strings are read from thread @pid's memory for display (0: never read,
 * pointers are printed as addresses). */
void cg_syscall_fmt_call(int arch, uint32_t nr, const uint64_t args[6], pid_t pid, struct cg_strbuf *out);
/* The same without the " [arch nr N]" tail. */
void cg_syscall_fmt_args(int arch, uint32_t nr, const uint64_t args[6], pid_t pid, struct cg_strbuf *out);

/* The number of arguments the call @name takes, -1 if the table does not
 * know it. */
int cg_syscall_fmt_nargs(const char *name);

/* Read up to @n bytes at @addr of process @pid (process_vm_readv, then
 * /proc/PID/mem), stopping at the first unreadable page: the bytes read,
 * or -EFAULT / -EINVAL. For display and for learning values the filter
 * cannot see: never for a decision. */
ssize_t cg_syscall_fmt_read(pid_t pid, uint64_t addr, void *buf, size_t n);

#endif
