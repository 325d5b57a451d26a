/* SPDX-License-Identifier: Apache-2.0 */
/* Internal: the generated name -> number table, sorted by name. */
#ifndef CAPGATE_SYSCALLS_TABLE_H
#define CAPGATE_SYSCALLS_TABLE_H

#include <stddef.h>
#include <stdint.h>

/* Columns: see the generated file header; struct cg_arch_info.col indexes them. */
#define CG_TABLE_COLS 17

/* The longest syscall name is 28 bytes. Names are stored in place, not as
 * pointers: a table of pointers is relocated by ld.so at every start of a
 * PIE (and its pages copied), which `capgate run` pays on every start. */
#define CG_SYSCALL_NAME_CAP 32

struct cg_syscall_row {
	char name[CG_SYSCALL_NAME_CAP];
	int32_t nr[CG_TABLE_COLS];
};

extern const struct cg_syscall_row cg_syscall_rows[];
extern const size_t cg_syscall_rows_len;

#endif
