/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal: the program's user and capability sets (lib/runtime/caps.c),
 * planned in cg_sandbox_new and applied by cg_sandbox_apply.
 */
#ifndef CAPGATE_RUNTIME_CAPS_H
#define CAPGATE_RUNTIME_CAPS_H

#include <capgate/sandbox.h>
#include <stdint.h>
#include <sys/types.h>

struct cg_caps_plan {
	uint64_t set;     /* every set (bounding ... ambient) becomes this */
	bool switch_user; /* --user: setgroups(0), setresgid, setresuid */
	uid_t uid;
	gid_t gid;
	bool rootless; /* in a user namespace with setgroups denied: groups stay */
};

/* Compute the plan from opts->user, cap_add and cap_drop. */
int cg_caps_plan(const struct cg_sandbox_opts *o, struct cg_caps_plan *ret, struct cg_error *err);

/* Switch the user and set the five capability sets of the calling thread;
 * then read them back: any difference is an error (fail closed). */
int cg_caps_apply(const struct cg_caps_plan *p, struct cg_error *err);

/* "user: ..." and one "capabilities SET: ..." line per set. */
void cg_caps_describe(const struct cg_caps_plan *p, struct cg_strbuf *out);

/* Append the names of @set ("CHOWN KILL", or "none"), without "CAP_". */
void cg_caps_names(uint64_t set, struct cg_strbuf *out);

#endif
