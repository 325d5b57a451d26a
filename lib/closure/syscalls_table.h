/* SPDX-License-Identifier: Apache-2.0 */
/* Internal: the generated name -> number table, sorted by name. */
#ifndef CAPGATE_SYSCALLS_TABLE_H
#define CAPGATE_SYSCALLS_TABLE_H

#include <stddef.h>
#include <stdint.h>

/* Columns: see the generated file header; struct cg_arch_info.col indexes them. */
#define CG_TABLE_COLS 17

struct cg_syscall_row {
	const char *name;
	int32_t nr[CG_TABLE_COLS];
};

extern const struct cg_syscall_row cg_syscall_rows[];
extern const size_t cg_syscall_rows_len;

#endif
