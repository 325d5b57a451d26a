/* SPDX-License-Identifier: Apache-2.0 */
/* Internal: naming a system call and its arguments for people
 * (lib/runtime/syscall_fmt.c), for the explain supervisor's messages. */
#ifndef CAPGATE_RUNTIME_SYSCALL_FMT_H
#define CAPGATE_RUNTIME_SYSCALL_FMT_H

#include <capgate/strbuf.h>
#include <capgate/syscalls.h>

/* Append one call: "socket(AF_INET=2, SOCK_STREAM=1, 0) [x86_64 nr 41]".
 * @arch is an enum cg_arch_id, or -1 when the audit arch is unknown; calls
 * the table does not know get six hexadecimal arguments. */
void cg_syscall_fmt_call(int arch, uint32_t nr, const uint64_t args[6], struct cg_strbuf *out);

#endif
