/* SPDX-License-Identifier: Apache-2.0 */
/* Internal: the built-in baselines (generated), sorted by name. */
#ifndef CAPGATE_BASELINES_TABLE_H
#define CAPGATE_BASELINES_TABLE_H

#include <stddef.h>

struct cg_baseline {
	const char *name;
	const char *origin;
	const char *const *calls; /* sorted */
	size_t n_calls;
};

extern const struct cg_baseline cg_baselines[];
extern const size_t cg_baselines_len;

#endif
