/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal: the Landlock part of the sandbox (lib/runtime/landlock.c).
 *
 * A plan is made in the parent (paths opened, rights reduced to the ABI the
 * kernel offers, every right the ABI lacks written down as a missing
 * protection) and applied in the child, where nothing may fail quietly.
 */
#ifndef CAPGATE_RUNTIME_LANDLOCK_H
#define CAPGATE_RUNTIME_LANDLOCK_H

#include <capgate/sandbox.h>

/* Landlock constants Debian 12's headers lack (they stop at ABI 2); values
 * are the kernel's include/uapi/linux/landlock.h. */
#define CG_LANDLOCK_ACCESS_FS_REFER (1ULL << 13)           /* ABI 2 */
#define CG_LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)        /* ABI 3 */
#define CG_LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)       /* ABI 5 */
#define CG_LANDLOCK_ACCESS_NET_BIND_TCP (1ULL << 0)        /* ABI 4 */
#define CG_LANDLOCK_ACCESS_NET_CONNECT_TCP (1ULL << 1)     /* ABI 4 */
#define CG_LANDLOCK_RULE_NET_PORT 2                        /* ABI 4 */
#define CG_LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0) /* ABI 6 */
#define CG_LANDLOCK_SCOPE_SIGNAL (1ULL << 1)               /* ABI 6 */

/* Which field of the ruleset a right belongs to (the bits overlap). */
enum cg_landlock_kind {
	CG_LANDLOCK_FS,    /* handled_access_fs */
	CG_LANDLOCK_NET,   /* handled_access_net */
	CG_LANDLOCK_SCOPE, /* scoped */
};

/* Every right capgate knows, with the first ABI that has it. */
struct cg_landlock_right {
	enum cg_landlock_kind kind;
	uint64_t bit;
	const char *name;
	int min_abi;
};
extern const struct cg_landlock_right cg_landlock_rights[];
extern const size_t cg_landlock_n_rights;

/* The rights of @kind that ABI @abi has (every right for a large @abi). */
uint64_t cg_landlock_rights_for(enum cg_landlock_kind kind, int abi);
/* The first ABI that has right @bit of @kind (0 if the table lacks it). */
int cg_landlock_min_abi(enum cg_landlock_kind kind, uint64_t bit);

/* One --fs-ro/--fs-rw path, held open (O_PATH) from planning to applying. */
struct cg_landlock_path {
	char *path;
	int fd;
	bool is_dir;
	bool rw;
	uint64_t access; /* after reduction to the ABI and to the file type */
};

struct cg_landlock {
	int abi;      /* the ABI used, or -errno */
	bool enabled; /* a ruleset is applied */
	uint64_t handled_fs, handled_net, scoped;
	struct cg_landlock_path *paths;
	size_t n_paths;
	char **missing; /* one sentence per protection the ABI lacks */
	size_t n_missing;
};

/* Start a plan: ask the kernel for its ABI, at most @abi_max (0 = any). */
void cg_landlock_init(struct cg_landlock *ll, int abi_max);
/* Close the paths and free the plan (not @ll itself). */
void cg_landlock_release(struct cg_landlock *ll);

/* Open @path for a read-only or read-write rule; a missing @optional path
 * is skipped. The error names the option and the path. */
int cg_landlock_add_path(struct cg_landlock *ll, const char *path, bool rw, bool optional,
			 struct cg_error *err);

/* Decide the handled rights for the paths added and @o's network rules,
 * reduced to the ABI, and list what the ABI cannot enforce. Fails only for
 * lack of memory. */
int cg_landlock_plan(struct cg_landlock *ll, const struct cg_sandbox_opts *o, struct cg_error *err);

/* Append the plan for a dry run: ABI, handled rights, every rule. */
void cg_landlock_describe(const struct cg_landlock *ll, const struct cg_sandbox_opts *o,
			  struct cg_strbuf *out);

/* Create the ruleset, add the path and port rules, restrict the calling
 * thread. Nothing to do when the plan is not enabled. */
int cg_landlock_apply(const struct cg_landlock *ll, const struct cg_sandbox_opts *o, struct cg_error *err);

#endif
