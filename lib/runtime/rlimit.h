/* SPDX-License-Identifier: Apache-2.0 */
/* Internal: --rlimit NAME=SOFT[:HARD] (lib/runtime/rlimit.c). */
#ifndef CAPGATE_RUNTIME_RLIMIT_H
#define CAPGATE_RUNTIME_RLIMIT_H

#include <capgate/error.h>
#include <capgate/strbuf.h>
#include <sys/resource.h>

struct cg_rlimit {
	int resource;
	struct rlimit lim;
};

/* Parse "nofile=1024:4096" (a single value sets both; "unlimited" allowed). */
int cg_rlimit_parse(const char *spec, struct cg_rlimit *ret, struct cg_error *err);

/* setrlimit each, in order; the first failure names the limit. */
int cg_rlimit_apply(const struct cg_rlimit *l, size_t n, struct cg_error *err);

/* "rlimits: nofile=64:64 ..." or "rlimits: capgate's own (none set)". */
void cg_rlimit_describe(const struct cg_rlimit *l, size_t n, struct cg_strbuf *out);

#endif
