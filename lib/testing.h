/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test hooks: functions the library defines only so that the unit tests can
 * hold its tables to their rules (sorted, unique, complete). They are not
 * part of the API: not exported from libcapgate.so, never declared in
 * include/capgate/, and a test declares none of them itself -- it includes
 * this header. Each hook lives in the .c file that owns the table.
 */
#ifndef CAPGATE_TESTING_H
#define CAPGATE_TESTING_H

#include <stdbool.h>

/* lib/closure/syscalls.c: the argument-width table is sorted by name,
 * unique, and names only known calls. */
bool cg__arg_width_table_sorted(void);

/* lib/runtime/syscall_fmt.c: the table of call shapes is sorted by name,
 * names only known calls and has at most six arguments per call. */
bool cg_syscall_fmt_table_valid(void);

/* lib/runtime/syscall_fmt.c: how many calls were decoded (arguments named,
 * strings read from the workload) since the process started. */
unsigned long long cg_syscall_fmt_n_decoded(void);

/* lib/source/trace_data.c: the argument-kind table is sorted and unique. */
bool cg_trace_argkinds_sorted(void);

#endif
