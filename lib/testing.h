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
#include <stddef.h>

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

/* lib/closure/profile.c: read every profile with libfyaml, as if capgate's
 * JSON reader declined every file (on: true), or go back to normal. */
void cg__profile_fyaml_only(bool on);

/* lib/closure/profile.c: whether both readers give the same result for
 * @buf: the same error message, or the same profiles (written back, with
 * every position, note and extension field). If not, @why says where they
 * part. */
bool cg__profile_readers_agree(const char *buf, size_t len, char *why, size_t n_why);

/* lib/core/tree.c: if capgate's JSON reader takes @buf on, libfyaml reads it
 * as one JSON document giving the same tree: node by node the same kind,
 * style, text and position. If not, @why says where they part. */
bool cg__tree_json_agrees(const char *buf, size_t len, char *why, size_t n_why);

#endif
