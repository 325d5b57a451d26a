/* SPDX-License-Identifier: Apache-2.0 */
/* Internal: the built-in baselines (generated), sorted by name. */
#ifndef CAPGATE_BASELINES_TABLE_H
#define CAPGATE_BASELINES_TABLE_H

#include <stddef.h>

#include "closure/syscalls_table.h"

/* The names are stored in place (a table of pointers is relocated at every
 * start of the program: syscalls_table.h); cg_baseline_calls() makes the
 * pointer array its API hands out on first use. */
struct cg_baseline {
	const char *name;
	const char *origin;
	const char (*calls)[CG_SYSCALL_NAME_CAP]; /* sorted */
	size_t n_calls;
};

extern const struct cg_baseline cg_baselines[];
extern const size_t cg_baselines_len;

#endif
